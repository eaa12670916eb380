/* atomic.c — writing a file so that a crash never leaves it half-written:
 * a temporary file beside it, written, flushed to disk, then renamed over
 * it (rename is atomic on POSIX file systems).  Weight files and pictures
 * are written this way (rt_write_atomic), and so are the compiler's .c and
 * .h (compiler/output.c, with the RtTempFile steps). */
#define _XOPEN_SOURCE 700   /* POSIX 2008 with realpath (XSI) */
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool rt_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        if (n == 0) {
            errno = ENOSPC;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The process's umask.  Linux shows it in /proc/self/status, which reads it
 * without changing it; elsewhere umask() must set it to read it. */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned mask;
            if (sscanf(line, "Umask: %o", &mask) == 1) {
                fclose(f);
                return (mode_t)(mask & 0777);
            }
        }
        fclose(f);
    }
    mode_t mask = umask(022);
    umask(mask);
    return mask;
}

/* fsyncs the directory holding `path`, so the rename itself is on disk.
 * Best effort: the new file is complete either way. */
static void sync_dir(const char *path)
{
    char dir[4096];
    if (!rt_path_folder(path, dir, sizeof dir))
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        while (fsync(fd) != 0 && errno == EINTR)
            ;
        close(fd);
    }
}

bool rt_path_folder(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= size)
        return false;
    memcpy(out, slash ? path : ".", n);
    out[n] = '\0';
    return true;
}

bool rt_written_in_place(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

bool rt_temp_open(RtTempFile *f, const char *path)
{
    f->path = path;
    f->fd = -1;
    f->tmp = NULL;
    f->real = NULL;
    f->direct = rt_written_in_place(path);
    if (f->direct) {   /* renaming over /dev/null would make it a regular file */
        do
            f->fd = open(path, O_WRONLY | O_TRUNC);
        while (f->fd < 0 && errno == EINTR);
        return f->fd >= 0;
    }
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && (f->real = realpath(path, NULL)) != NULL)
        path = f->path = f->real;   /* a link's file is replaced, the link kept (/dev/stdout is one) */
    size_t len = strlen(path);
    f->tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!f->tmp) {
        free(f->real);
        f->real = NULL;
        errno = ENOMEM;
        return false;
    }
    do {
        memcpy(f->tmp, path, len);
        memcpy(f->tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
        f->fd = mkstemp(f->tmp);
    } while (f->fd < 0 && errno == EINTR);
    if (f->fd < 0) {
        int saved = errno;
        free(f->tmp);
        f->tmp = NULL;
        free(f->real);
        f->real = NULL;
        errno = saved;
        return false;
    }
    return true;
}

bool rt_temp_finish(RtTempFile *f, const char **what)
{
    /* mkstemp makes 0600 files; give the file the usual mode. */
    *what = "cannot set the file's mode";
    bool ok = f->direct || fchmod(f->fd, 0666 & ~current_umask()) == 0;
    if (ok && !f->direct) {
        *what = "cannot write it to disk (fsync)";
        int r;
        while ((r = fsync(f->fd)) != 0 && errno == EINTR)
            ;
        /* Not every file system can sync (EINVAL, EROFS): the data is written. */
        ok = r == 0 || errno == EINVAL || errno == EROFS;
    }
    int saved = errno;
    /* On Linux close always releases the descriptor, even on EINTR; after a
     * successful fsync an EINTR here loses nothing. */
    if (close(f->fd) != 0 && ok && errno != EINTR) {
        *what = "cannot close";
        saved = errno;
        ok = false;
    }
    f->fd = -1;
    errno = saved;
    return ok;
}

bool rt_temp_commit(RtTempFile *f)
{
    if (f->direct)
        return true;
    if (rename(f->tmp, f->path) != 0)
        return false;
    free(f->tmp);
    f->tmp = NULL;
    sync_dir(f->path);
    free(f->real);
    f->real = NULL;
    return true;
}

bool rt_temp_discard(RtTempFile *f)
{
    bool ok = true;
    free(f->real);
    f->real = NULL;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->tmp) {
        ok = unlink(f->tmp) == 0 || errno == ENOENT;
        int saved = errno;
        free(f->tmp);
        f->tmp = NULL;
        errno = saved;
    }
    return ok;
}

bool rt_write_atomic(const char *path, const char *verb, bool (*write)(int fd, void *ctx), void *ctx,
                     RtError *err)
{
    if (!*path)
        return rt_fail(err, "(empty file name): %s: no file name", verb);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rt_fail(err, "%s: %s: it is a directory", path, verb);

    RtTempFile f;
    if (!rt_temp_open(&f, path)) {
        if (errno == ENOMEM)
            return rt_fail(err, "%s: %s: out of memory", path, verb);
        return rt_fail(err, "%s: %s: cannot create a temporary file beside it: %s", path, verb, strerror(errno));
    }
    const char *what = "cannot write";
    bool ok = write(f.fd, ctx);
    if (!ok) {
        int saved = errno;
        close(f.fd);
        f.fd = -1;
        errno = saved;
    } else {
        ok = rt_temp_finish(&f, &what);
    }
    if (ok && !rt_temp_commit(&f)) {
        what = "cannot rename the temporary file over it";
        ok = false;
    }
    if (!ok) {
        char why[256];   /* strerror's buffer may be shared */
        snprintf(why, sizeof why, "%s", strerror(errno));
        char *tmp = f.tmp ? strdup(f.tmp) : NULL;
        /* Removing it can fail too, when the directory became read-only. */
        if (!rt_temp_discard(&f))
            rt_fail(err, "%s: %s: %s: %s; the temporary file %s is left behind (cannot remove it: %s)", path, verb,
                    what, why, tmp ? tmp : "", strerror(errno));
        else
            rt_fail(err, "%s: %s: %s: %s", path, verb, what, why);
        free(tmp);
    }
    return ok;
}
