/* output.c — writing the compiler's files so that nothing a user saved is
 * ever half-written.
 *
 * Each file goes to a temporary file beside its target, flushed to disk,
 * and only then renamed over it (the runtime's RtTempFile steps, which
 * weight files use too).  When several files belong together (net.c and
 * net.h), all are written before any is renamed, and on any failure every
 * temporary file is removed and the targets are left as they were. */
#include "nnc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_OUT_FILES = 4 };

static bool write_temp(const OutFile *f, RtTempFile *t, Diag *diag)
{
    if (!rt_temp_open(t, f->path)) {
        diag_plain(diag, DIAG_ERROR, "cannot create '%s': %s", f->path, strerror(errno));
        return false;
    }
    const char *what;
    if (!rt_write_all(t->fd, f->content->data ? f->content->data : "", f->content->len)) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", f->path, errno == ENOSPC ? "disk full" : strerror(errno));
        return false;
    }
    if (!rt_temp_finish(t, &what)) {
        diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s: %s", f->path, what, strerror(errno));
        return false;
    }
    return true;
}

bool output_write_all(const OutFile *files, int n, Diag *diag)
{
    RtTempFile tmp[MAX_OUT_FILES];
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
    int made = 0;   /* tmp[0, made) are set up */
    for (int i = 0; ok && i < n; i++) {
        made = i + 1;
        ok = write_temp(&files[i], &tmp[i], diag);
    }
    /* Renames come last and one after another: a failure here can only be
     * the directory vanishing or losing write permission mid-way. */
    for (int i = 0; ok && i < n; i++)
        if (!rt_temp_commit(&tmp[i])) {
            diag_plain(diag, DIAG_ERROR, "cannot write '%s': %s", files[i].path, strerror(errno));
            ok = false;
        }
    for (int i = 0; i < made; i++)
        rt_temp_discard(&tmp[i]);   /* after a commit: nothing left to remove */
    return ok;
}
