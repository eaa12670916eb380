/* rt_shared.h — what the runtime shares with the compiler: a growable text
 * buffer and files written whole or not at all.
 *
 * The compiler (compiler/nnc.h) and the runtime's own files include it; it
 * is not installed, and neither the emitted C nor a user's program sees it.
 * Its names carry the runtime's rt_ prefix because libnncrt.a holds them. */
#ifndef NNC_RT_SHARED_H
#define NNC_RT_SHARED_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- buf.c: a growable text buffer ----
 * Text is built in memory, so that nothing is written to disk unless the
 * whole of it could be made.  A zeroed RtBuf is empty; `data` is always
 * NUL-terminated once anything was added.  Running out of memory sets
 * `oom` and drops every later addition: check it once at the end. */
typedef struct RtBuf {
    char *data;
    size_t len, cap;
    bool oom;
} RtBuf;
void rt_buf_printf(RtBuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void rt_buf_vprintf(RtBuf *b, const char *fmt, va_list ap);
void rt_buf_puts(RtBuf *b, const char *s);
void rt_buf_putn(RtBuf *b, const char *s, size_t n);
void rt_buf_free(RtBuf *b);      /* back to empty; the buffer is usable again */

/* ---- atomic.c: files written whole or not at all ----
 * A file is written as a temporary file beside its target (same directory,
 * so the rename cannot cross file systems), given the umask's mode,
 * flushed to disk, and only then renamed over the target; then the
 * directory is flushed too.  A crash at any point leaves either the old
 * file or the new one. */

/* Writes all `len` bytes to fd; false with errno set on failure (a write
 * that makes no progress is a full disk: ENOSPC). */
bool rt_write_all(int fd, const void *p, size_t len);

typedef struct RtTempFile {
    const char *path;            /* the target */
    char *tmp;                   /* "PATH.tmp.XXXXXX", malloc'ed; NULL when none exists */
    int fd;                      /* open while being written, else -1 */
    bool direct;                 /* the target is no regular file (/dev/null, a pipe): written in place */
    char *real;                  /* a symbolic link's target, malloc'ed (path then points to it), else NULL */
} RtTempFile;
/* The folder of `path` into out: "." for a bare name, "/" for one in the
 * root; false when it does not fit in `size` bytes. */
bool rt_path_folder(const char *path, char *out, size_t size);
/* Whether `path` exists and is neither a regular file nor a directory (a
 * device, a FIFO): written in place, since a rename would replace it. */
bool rt_written_in_place(const char *path);
/* Creates the temporary file beside `path`, open for writing in f->fd.
 * False with errno set (ENOMEM when out of memory), and nothing created.
 * When `path` exists and is neither a regular file nor a directory (a
 * device such as /dev/null or /dev/stdout, a FIFO), there is nothing to
 * replace: it is opened for writing itself (f->direct, f->tmp NULL), and
 * finish and commit neither change its mode nor rename anything. */
bool rt_temp_open(RtTempFile *f, const char *path);
/* Gives it the umask's mode, flushes it to disk and closes it.  False with
 * errno set and `*what` saying which step failed ("cannot write it to disk
 * (fsync)", ...); the file is closed either way. */
bool rt_temp_finish(RtTempFile *f, const char **what);
/* Renames it over the target, then flushes the directory.  False with
 * errno set when the rename fails (the temporary file is left for
 * rt_temp_discard). */
bool rt_temp_commit(RtTempFile *f);
/* Removes the temporary file (if any) and frees f's memory; false with
 * errno set when it exists and cannot be removed.  Safe after commit. */
bool rt_temp_discard(RtTempFile *f);

#endif
