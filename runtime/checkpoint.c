/* checkpoint.c — weight files (.nnw): saving atomically, loading with checks.
 *
 * Version 1, every field little-endian whatever the host (docs/weights-format.md):
 *
 *   offset  size  field
 *        0     4  magic "NNCW"
 *        4     4  u32 version (1)
 *        8     8  u64 fingerprint (the network's NAME_FINGERPRINT)
 *       16     8  u64 n_params
 *       24  4*n   f32 params[n], IEEE 754 binary32 bit patterns
 *   24+4*n     4  u32 CRC-32 (zlib's) of every byte before it
 *
 * Saving writes a temporary file beside the target, fsyncs it and renames it
 * over the target, so a crash or a full disk leaves the old file as it was.
 * Loading streams the file through a small buffer (the CRC is computed on
 * the way), keeps the parameter bytes only when their count is the caller's
 * (so nothing is ever allocated from a size the file claims), and writes the
 * caller's array only after every check has passed. */
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum {
    HEADER_BYTES = 24,               /* magic, version, fingerprint, n_params */
    MIN_BYTES = HEADER_BYTES + 4,    /* a file with no parameters */
    CHUNK_FLOATS = 16384             /* 64 KiB of parameters per write or read */
};

static const unsigned char MAGIC[4] = {'N', 'N', 'C', 'W'};

/* The largest parameter count whose file size, 28 + 4 n, fits in 64 bits. */
#define MAX_FILE_PARAMS ((UINT64_MAX - MIN_BYTES) / 4)

uint32_t rt_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uLong c = crc;
    /* zlib's length is an unsigned int: feed it pieces well below UINT_MAX. */
    while (len > 0) {
        uInt piece = len > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)len;
        c = crc32(c, p, piece);
        p += piece;
        len -= piece;
    }
    return (uint32_t)c;
}

/* ---- little-endian fields, byte by byte ---- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Floats go through their bit pattern (memcpy, no float arithmetic), so
 * -0.0, denormals, infinities and NaN payloads survive exactly. */
static void put_floats(unsigned char *p, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &f[i], 4);
        put32(p + 4 * i, bits);
    }
}

static void get_floats(float *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get32(p + 4 * i);
        memcpy(&f[i], &bits, 4);
    }
}

/* ---- saving ---- */

/* The file's bytes, written to fd; false with errno set. */
static bool write_weights(int fd, uint64_t fingerprint, const float *params, int64_t n_params)
{
    unsigned char head[HEADER_BYTES];
    memcpy(head, MAGIC, 4);
    put32(head + 4, RT_WEIGHTS_VERSION);
    put64(head + 8, fingerprint);
    put64(head + 16, (uint64_t)n_params);
    uint32_t crc = rt_crc32(0, head, sizeof head);
    if (!rt_write_all(fd, head, sizeof head))
        return false;

    unsigned char *buf = malloc(4 * CHUNK_FLOATS);
    if (!buf) {
        errno = ENOMEM;
        return false;
    }
    bool ok = true;
    for (int64_t done = 0; ok && done < n_params;) {
        size_t k = n_params - done < CHUNK_FLOATS ? (size_t)(n_params - done) : CHUNK_FLOATS;
        put_floats(buf, params + done, k);
        crc = rt_crc32(crc, buf, 4 * k);
        ok = rt_write_all(fd, buf, 4 * k);
        done += (int64_t)k;
    }
    int saved = errno;
    free(buf);
    errno = saved;
    if (!ok)
        return false;

    unsigned char tail[4];
    put32(tail, crc);
    return rt_write_all(fd, tail, sizeof tail);
}

typedef struct WeightsOut {
    uint64_t fingerprint;
    const float *params;
    int64_t n_params;
} WeightsOut;

static bool write_weights_cb(int fd, void *ctx)
{
    const WeightsOut *w = ctx;
    return write_weights(fd, w->fingerprint, w->params, w->n_params);
}

bool rt_save_weights(const char *path, uint64_t fingerprint, const float *params, int64_t n_params, RtError *err)
{
    if (n_params < 0 || (uint64_t)n_params > MAX_FILE_PARAMS || (n_params > 0 && !params))
        return rt_fail(err, "%s: not saved: invalid parameter count %" PRId64, path, n_params);
    WeightsOut w = {fingerprint, params, n_params};
    return rt_write_atomic(path, "not saved", write_weights_cb, &w, err);
}

/* ---- loading ---- */

/* What the loader gathers while streaming the file. */
typedef struct Load {
    uint64_t size;               /* bytes seen so far, in the end the file's size */
    uint64_t crc_end;            /* the CRC covers [0, crc_end); the stored CRC follows */
    uint32_t crc;                /* computed over [0, min(size, crc_end)) */
    unsigned char stored[4];     /* the stored CRC, bytes [crc_end, crc_end + 4) */
    unsigned char *keep;         /* the parameter bytes [24, crc_end), or NULL */
} Load;

/* Takes bytes [L->size, L->size + len) of the file. */
static void consume(Load *L, const unsigned char *p, size_t len)
{
    uint64_t at = L->size, end = at + len;
    if (at < L->crc_end) {
        uint64_t stop = end < L->crc_end ? end : L->crc_end;
        L->crc = rt_crc32(L->crc, p, (size_t)(stop - at));
        if (L->keep && stop > HEADER_BYTES) {
            uint64_t from = at > HEADER_BYTES ? at : HEADER_BYTES;
            memcpy(L->keep + (from - HEADER_BYTES), p + (from - at), (size_t)(stop - from));
        }
    }
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t o = L->crc_end + i;
        if (o >= at && o < end)
            L->stored[i] = p[o - at];
    }
    L->size = end;
}

/* Reads up to `len` bytes, fewer only at the end of the file; -1 on errors. */
static ssize_t read_full(int fd, unsigned char *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

bool rt_load_weights(const char *path, uint64_t fingerprint, float *params, int64_t n_params, RtError *err)
{
    if (n_params < 0 || (uint64_t)n_params > MAX_FILE_PARAMS || (uint64_t)n_params > SIZE_MAX / 4 ||
        (n_params > 0 && !params))
        return rt_fail(err, "%s: not loaded: invalid parameter count %" PRId64, path, n_params);

    int fd;
    while ((fd = open(path, O_RDONLY)) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        return rt_fail(err, "%s: cannot open: %s", path, strerror(errno));

    unsigned char head[HEADER_BYTES];
    unsigned char *buf = NULL;
    Load L = {0, 0, 0, {0, 0, 0, 0}, NULL};
    bool ok = false;

    ssize_t got = read_full(fd, head, sizeof head);
    if (got < 0) {
        rt_fail(err, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    /* The magic is judged on what there is of it: a text file of three
     * bytes is not a weight file, an empty one is a truncated one. */
    if (memcmp(head, MAGIC, (size_t)got < 4 ? (size_t)got : 4) != 0) {
        bool checkpoint = got >= 4 && memcmp(head, "NNCK", 4) == 0;
        rt_fail(err, "%s: not an nnc weight file%s", path,
                checkpoint ? " (it is a checkpoint, a whole training state: nnc train --resume continues its run)" : "");
        goto done;
    }
    /* The version comes before any size check: another version may have
     * another layout. */
    if (got >= 8 && get32(head + 4) != RT_WEIGHTS_VERSION) {
        rt_fail(err, "%s: unknown weight file version %" PRIu32 " (this nnc reads version %u)", path,
                get32(head + 4), RT_WEIGHTS_VERSION);
        goto done;
    }
    uint64_t file_fp = got == HEADER_BYTES ? get64(head + 8) : 0;
    uint64_t file_n = got == HEADER_BYTES ? get64(head + 16) : 0;
    bool overflow = file_n > MAX_FILE_PARAMS;
    uint64_t expected = overflow ? UINT64_MAX : MIN_BYTES + 4 * file_n;

    /* Stream the rest.  Parameter bytes are kept only when the file holds
     * as many as the caller wants: the allocation is the caller's size. */
    L.crc_end = expected - 4;
    /* A regular file of another size will be refused: keep nothing then,
     * whatever count the caller (or the header) says. */
    struct stat st;
    bool wrong_size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size != expected;
    if (got == HEADER_BYTES && file_n == (uint64_t)n_params && !wrong_size) {
        L.keep = malloc(4 * (size_t)n_params + 1);
        if (!L.keep) {
            rt_fail(err, "%s: not loaded: out of memory for %" PRId64 " parameters", path, n_params);
            goto done;
        }
    }
    consume(&L, head, (size_t)got);
    if (got == HEADER_BYTES) {
        buf = malloc(4 * CHUNK_FLOATS);
        if (!buf) {
            rt_fail(err, "%s: not loaded: out of memory", path);
            goto done;
        }
        for (;;) {
            ssize_t n = read_full(fd, buf, 4 * CHUNK_FLOATS);
            if (n < 0) {
                rt_fail(err, "%s: cannot read: %s", path, strerror(errno));
                goto done;
            }
            if (n == 0)
                break;
            consume(&L, buf, (size_t)n);
        }
    }

    if (L.size < MIN_BYTES) {
        rt_fail(err, "%s: too short: %" PRIu64 " bytes, a weight file has at least %d", path, L.size, MIN_BYTES);
    } else if (overflow) {
        rt_fail(err, "%s: truncated: %" PRIu64 " bytes, but its header claims %" PRIu64 " parameters", path, L.size,
                file_n);
    } else if (L.size < expected) {
        rt_fail(err, "%s: truncated: %" PRIu64 " bytes, expected %" PRIu64 " for %" PRIu64 " parameters", path,
                L.size, expected, file_n);
    } else if (get32(L.stored) != L.crc) {
        rt_fail(err, "%s: corrupt: checksum mismatch", path);
    } else if (file_fp != fingerprint) {
        rt_fail(err,
                "%s: weights for a different network (fingerprint 0x%016" PRIx64 ", this network 0x%016" PRIx64 ")",
                path, file_fp, fingerprint);
    } else if (file_n != (uint64_t)n_params) {
        rt_fail(err, "%s: holds %" PRIu64 " parameters, this network has %" PRId64, path, file_n, n_params);
    } else if (L.size > expected) {
        rt_fail(err, "%s: trailing bytes: %" PRIu64 " bytes, expected %" PRIu64 " for %" PRIu64 " parameters", path,
                L.size, expected, file_n);
    } else if (!L.keep) {
        rt_fail(err, "%s: changed while being read", path);
    } else {
        get_floats(params, L.keep, (size_t)n_params);
        ok = true;
    }
done:
    close(fd);
    free(buf);
    free(L.keep);
    return ok;
}
