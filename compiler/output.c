/* output.c — writing files so that nothing a user saved is ever half-written.
 *
 * Each file is written to a temporary file in the same directory, flushed
 * and fsync'ed, and only then renamed over its target (rename is atomic on
 * POSIX file systems).  When several files belong together (net.c and
 * net.h), all are written before any is renamed, and on any failure every
 * temporary file is removed and the targets are left as they were. */
#include "nnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_OUT_FILES = 4 };

static bool write_temp(const OutFile *f, char *tmp, size_t cap, Diag *diag)
{
    snprintf(tmp, cap, "%s.tmp.XXXXXX", f->path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_plain(diag, DIAG_ERROR, "cannot create '%s': %s", f->path, strerror(errno));
        tmp[0] = '\0';
        return false;
    }
    const char *p = f->content->data ? f->content->data : "";
    size_t left = f->content->len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", f->path, n < 0 ? strerror(errno) : "disk full");
            close(fd);
            return false;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", f->path, strerror(errno));
        close(fd);
        return false;
    }
    if (close(fd) != 0) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", f->path, strerror(errno));
        return false;
    }
    /* mkstemp makes 0600 files; give the output the usual mode. */
    mode_t mask = umask(0);
    umask(mask);
    chmod(tmp, 0666 & ~mask);
    return true;
}

bool output_write_all(const OutFile *files, int n, Diag *diag)
{
    char tmp[MAX_OUT_FILES][4096];
    if (n > MAX_OUT_FILES) {
        diag_plain(diag, DIAG_ERROR, "internal error: at most %d files can be written together", MAX_OUT_FILES);
        return false;
    }
    /* A target that is a directory would fail its rename after the others
     * had replaced theirs: refuse before writing anything. */
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i].path, &st) == 0 && S_ISDIR(st.st_mode)) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': it is a directory", files[i].path);
            return false;
        }
    }
    bool ok = true;
    int made = 0;   /* temporaries [0, made) may exist */
    for (int i = 0; ok && i < n; i++) {
        tmp[i][0] = '\0';
        if (strlen(files[i].path) + 16 > sizeof tmp[i]) {
            diag_plain(diag, DIAG_ERROR, "output path too long: '%.64s...'", files[i].path);
            ok = false;
            break;
        }
        made = i + 1;
        ok = write_temp(&files[i], tmp[i], sizeof tmp[i], diag);
    }
    /* Renames come last and one after another: a failure here can only be
     * the directory vanishing or losing write permission mid-way. */
    for (int i = 0; ok && i < n; i++) {
        if (rename(tmp[i], files[i].path) != 0) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", files[i].path, strerror(errno));
            ok = false;
        } else {
            tmp[i][0] = '\0';
        }
    }
    if (!ok)
        for (int i = 0; i < made; i++)
            if (tmp[i][0])
                unlink(tmp[i]);
    return ok;
}
