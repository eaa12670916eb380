/* diag.c — diagnostics.
 *
 * One format for everything nnc reports about a source file:
 *
 *   net.nn:3:11: error: unknown activation 'sigmod' (did you mean 'sigmoid'?)
 *       3 |     dense 2 sigmod
 *         |             ^~~~~~
 *
 * Errors are counted, never fatal: a stage reports and goes on, and the
 * driver decides the exit status.  After NNC_MAX_ERRORS errors the rest are
 * dropped with one line saying so. */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const level_name[] = {"error", "warning", "note"};
static const char *const level_color[] = {"\033[1;31m", "\033[1;35m", "\033[1;36m"};

void diag_init(Diag *d, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    const char *no_color = getenv("NO_COLOR");
    d->color = isatty(fileno(out)) && !(no_color && *no_color);
}

Loc loc_span(Loc a, Loc b)
{
    Loc l = a;
    l.last_line = b.last_line;
    l.last_column = b.last_column;
    return l;
}

/* Finds line `line` (1-based) of the source; returns its start and length. */
static bool find_line(const Source *src, int line, const char **start, size_t *len)
{
    if (!src || !src->text || line < 1)
        return false;
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            return false;
        p++;
    }
    if (p > end || (p == end && line > 1 && p[-1] == '\n'))
        return false;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *start = p;
    *len = (size_t)((nl ? nl : end) - p);
    if (*len > 0 && p[*len - 1] == '\r')
        (*len)--;
    return true;
}

enum { QUOTE_MAX = 120 };   /* longer lines are shown as a window around the column */

static void quote_line(Diag *d, Loc loc)
{
    const char *line;
    size_t len;
    if (d->src && d->src->len == 0)   /* nothing to show (a binary file's error stands in an empty one) */
        return;
    if (!find_line(d->src, loc.first_line, &line, &len))
        return;
    size_t col = loc.first_column > 0 ? (size_t)loc.first_column - 1 : 0;
    if (col > len)
        col = len;
    size_t span = 1;
    if (loc.last_line == loc.first_line && loc.last_column > loc.first_column)
        span = (size_t)(loc.last_column - loc.first_column);
    size_t from = 0, to = len;
    if (len > QUOTE_MAX) {
        from = col > QUOTE_MAX / 2 ? col - QUOTE_MAX / 2 : 0;
        to = from + QUOTE_MAX < len ? from + QUOTE_MAX : len;
    }
    if (span > to - col + 1)
        span = to > col ? to - col : 1;
    fprintf(d->out, "%5d | %s", loc.first_line, from > 0 ? "..." : "");
    for (size_t i = from; i < to; i++) {
        unsigned char ch = (unsigned char)line[i];
        fputc(ch == '\t' || (ch >= 32 && ch != 127) ? ch : '?', d->out);
    }
    fprintf(d->out, "%s\n      | %s", to < len ? "..." : "", from > 0 ? "   " : "");
    for (size_t i = from; i < col; i++)
        fputc(line[i] == '\t' ? '\t' : ' ', d->out);
    if (d->color)
        fputs("\033[1;32m", d->out);
    fputc('^', d->out);
    for (size_t i = 1; i < span; i++)
        fputc('~', d->out);
    if (d->color)
        fputs("\033[0m", d->out);
    fputc('\n', d->out);
}

static bool count(Diag *d, DiagLevel level)
{
    if (d->too_many)
        return false;
    if (level == DIAG_ERROR) {
        if (d->n_errors == NNC_MAX_ERRORS) {
            d->too_many = true;
            fprintf(d->out, "nnc: too many errors (%d); stopping\n", NNC_MAX_ERRORS);
            return false;
        }
        d->n_errors++;
    } else if (level == DIAG_WARNING) {
        d->n_warnings++;
    }
    return true;
}

static void print_level(Diag *d, DiagLevel level)
{
    if (d->color)
        fprintf(d->out, "%s%s:\033[0m ", level_color[level], level_name[level]);
    else
        fprintf(d->out, "%s: ", level_name[level]);
}

enum { QUOTED_MAX = 40 };   /* longer 'quoted' words in messages are clipped */

/* Prints the message, clipping any 'quoted' text longer than QUOTED_MAX, so a
 * 100,000-character word in the input gives a readable error. */
static void print_message(Diag *d, const char *fmt, va_list ap)
{
    char small[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    char *msg = small;
    if (n >= (int)sizeof small) {
        msg = malloc((size_t)n + 1);
        if (!msg) {
            fputs("(message too long)\n", d->out);
            return;
        }
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
    }
    for (const char *p = msg; *p;) {
        /* A quoted run with no blank in it is a word from the input. */
        const char *close = *p == '\'' ? strchr(p + 1, '\'') : NULL;
        if (close && close - p - 1 > QUOTED_MAX && !memchr(p + 1, ' ', (size_t)(close - p - 1))) {
            fprintf(d->out, "'%.*s...'", QUOTED_MAX, p + 1);
            p = close + 1;
        } else {
            fputc(*p++, d->out);
        }
    }
    fputc('\n', d->out);
    if (msg != small)
        free(msg);
}

void diag_vat(Diag *d, DiagLevel level, Loc loc, const char *fmt, va_list ap)
{
    if (!count(d, level))
        return;
    const char *path = d->src ? d->src->path : "nnc";
    if (loc.first_line > 0)
        fprintf(d->out, "%s:%d:%d: ", path, loc.first_line, loc.first_column);
    else
        fprintf(d->out, "%s: ", path);
    print_level(d, level);
    print_message(d, fmt, ap);
    if (loc.first_line > 0)
        quote_line(d, loc);
}

void diag_at(Diag *d, DiagLevel level, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(d, level, loc, fmt, ap);
    va_end(ap);
}

void diag_plain(Diag *d, DiagLevel level, const char *fmt, ...)
{
    if (!count(d, level))
        return;
    fputs("nnc: ", d->out);
    print_level(d, level);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    fputc('\n', d->out);
}

/* Edit distance, for "did you mean" hints. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of `choices` to `word`, if it is close enough to be a typo. */
const char *suggest_word(const char *word, const char *const *choices, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!choices[i])
            continue;
        size_t dist = edit_distance(word, choices[i]);
        if (dist < best_d) {
            best_d = dist;
            best = choices[i];
        }
    }
    size_t len = strlen(word);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}
