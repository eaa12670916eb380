/* rt_internal.h — what the runtime's files share and nobody else sees. */
#ifndef NNC_RT_INTERNAL_H
#define NNC_RT_INTERNAL_H

#include "nnc_rt.h"

/* Writes all `len` bytes to fd; false with errno set on failure (a write
 * that makes no progress is a full disk: ENOSPC). */
bool rt_write_all(int fd, const unsigned char *p, size_t len);

/* Writes `path` atomically: `write` fills a temporary file beside it (and
 * returns false with errno set on failure), then fchmod to the umask,
 * fsync, rename over `path`, fsync of the directory.  On failure the old
 * file is untouched, the temporary file removed, and `err` says
 * "PATH: <verb>: <what failed>: <why>" (verb: "not saved", "not written"). */
bool rt_write_atomic(const char *path, const char *verb, bool (*write)(int fd, void *ctx), void *ctx,
                     RtError *err);

#endif
