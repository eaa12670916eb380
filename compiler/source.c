/* source.c — loading a .nn file into memory.
 *
 * The whole file is read at once (it is small: NNC_MAX_SOURCE caps it) and
 * checked for what the lexer should never see: NUL bytes, which mean a binary
 * file was given. */
#include "nnc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void source_from_string(Source *src, const char *name, const char *text, size_t len)
{
    src->path = name;
    src->name = base_name(name);
    src->text = text;
    src->len = len;
}

/* Returns the location of byte offset `off`. */
static Loc loc_of_offset(const char *text, size_t off)
{
    Loc l = {1, 1, 1, 2};
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l.first_line++;
            l.first_column = 1;
        } else {
            l.first_column++;
        }
    }
    l.last_line = l.first_line;
    l.last_column = l.first_column + 1;
    return l;
}

bool source_load(Source *src, const char *path, Arena *arena, Diag *diag)
{
    source_from_string(src, path, "", 0);
    struct stat st;
    if (stat(path, &st) != 0) {
        diag_plain(diag, DIAG_ERROR, "cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        diag_plain(diag, DIAG_ERROR, "'%s' is a directory, not a .nn file", path);
        return false;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_plain(diag, DIAG_ERROR, "cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    /* Read in pieces rather than trusting st_size: pipes and /dev files work too. */
    size_t cap = 4096, len = 0;
    char *text = arena_alloc(arena, cap + 1);
    for (;;) {
        if (len == cap) {
            /* At the limit, a file of exactly NNC_MAX_SOURCE bytes is fine:
             * only a byte beyond it is too much. */
            if (cap >= NNC_MAX_SOURCE && getc(f) == EOF && !ferror(f))
                break;
            if (cap >= NNC_MAX_SOURCE) {
                fclose(f);
                diag_plain(diag, DIAG_ERROR, "'%s' is larger than %d MiB; nnc reads .nn files up to that size",
                           path, NNC_MAX_SOURCE >> 20);
                return false;
            }
            char *bigger = arena_alloc(arena, cap * 2 + 1);
            memcpy(bigger, text, len);
            text = bigger;
            cap *= 2;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        diag_plain(diag, DIAG_ERROR, "cannot read '%s'", path);
        return false;
    }
    text[len] = '\0';
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)   /* a UTF-8 byte-order mark (some editors write one) */
        text += 3, len -= 3;                                  /* is no part of the text: lines and columns after it */
    source_from_string(src, path, text, len);
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        /* Located, but the line is not quoted: it is binary. */
        Source named;
        source_from_string(&named, path, "", 0);
        const Source *saved = diag->src;
        diag->src = &named;
        diag_at(diag, DIAG_ERROR, loc_of_offset(text, (size_t)(nul - text)),
                "file contains a NUL byte; is it a binary file?");
        diag->src = saved;
        return false;
    }
    return true;
}
