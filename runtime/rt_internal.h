/* rt_internal.h — what the runtime's files share and nobody else sees. */
#ifndef NNC_RT_INTERNAL_H
#define NNC_RT_INTERNAL_H

#include "nnc_rt.h"
#include "rt_shared.h"

/* Writes `path` atomically (rt_shared.h's RtTempFile): `write` fills the
 * temporary file (and returns false with errno set on failure).  On failure the old
 * file is untouched, the temporary file removed, and `err` says
 * "PATH: <verb>: <what failed>: <why>" (verb: "not saved", "not written"). */
bool rt_write_atomic(const char *path, const char *verb, bool (*write)(int fd, void *ctx), void *ctx,
                     RtError *err);

#endif
