/* resume.c — checkpoints (.nnck): the whole state of a training run, so that
 * a run stopped anywhere continues to the bits it would have reached.
 *
 * Version 1, every field little-endian whatever the host (docs/weights-format.md,
 * "Checkpoints"):
 *
 *   "NNCK"  u32 version
 *   u64 fingerprint  u64 settings  u64 batch  u64 data_n  u64 data_hash     what a resume must match
 *   u32 epoch  u64 pos  u64 shuffle_rng  f64 sum[2]  u64 batches  u64 seen   where the run is
 *   f64 best  u32 best_epoch  u32 since_best                                --save-best, --patience
 *   u64 n  u64 order[n]                                                      the epoch's shuffled order
 *   u32 blocks, then per block: u32 name_len, name, u32 kind (0 f32, 1 u64), u64 count, values
 *   u32 CRC-32 (zlib's) of every byte before it
 *
 * The blocks are the network's training state as the JIT's glue lists it
 * (RtStateFn): parameters, optimizer moments, learning rate, step count,
 * dropout RNG.  Saving builds the file in memory and writes it atomically
 * (rt_write_atomic).  Loading reads the file whole, checks everything (CRC,
 * identity, order, every block's name, kind and count) and only then writes
 * into the network and the run: a refused checkpoint changes nothing. */
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char MAGIC[4] = {'N', 'N', 'C', 'K'};

enum { MAX_NAME = 64 };   /* a block's name, in bytes */

/* ---- writing: little-endian fields appended to an RtBuf ---- */

static void put_u32(RtBuf *b, uint32_t v)
{
    char p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
    rt_buf_putn(b, p, 4);
}

static void put_u64(RtBuf *b, uint64_t v)
{
    char p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
    rt_buf_putn(b, p, 8);
}

static void put_f64(RtBuf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_u64(b, bits);
}

/* ---- reading: a cursor over the file's bytes that never reads past them ---- */

typedef struct Cursor {
    const unsigned char *p;
    size_t len, at;
    bool short_;                 /* a read went past the end */
} Cursor;

static const unsigned char *take(Cursor *c, size_t n)
{
    if (c->short_ || n > c->len - c->at) {
        c->short_ = true;
        return NULL;
    }
    c->at += n;
    return c->p + c->at - n;
}

static uint64_t get_n(Cursor *c, int bytes)
{
    const unsigned char *p = take(c, (size_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get_u32(Cursor *c) { return (uint32_t)get_n(c, 4); }
static uint64_t get_u64(Cursor *c) { return get_n(c, 8); }

static double get_f64(Cursor *c)
{
    uint64_t bits = get_u64(c);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* ---- the identity of a run ---- */

uint64_t rt_data_fingerprint(const RtData *d)
{
    enum { ROWS = 64 };          /* the first rows: enough to tell data sets apart, cheap for any size */
    int64_t rows = d->n < ROWS ? d->n : ROWS;
    uint32_t x = rt_crc32(0, d->x, (size_t)(rows * d->n_inputs) * sizeof *d->x), t = 0;
    if (d->t)
        t = rt_crc32(t, d->t, (size_t)(rows * d->n_outputs) * sizeof *d->t);
    if (d->label)
        t = rt_crc32(t, d->label, (size_t)(rows * (d->steps > 1 ? d->steps : 1)) * sizeof *d->label);
    return (uint64_t)x << 32 | t;
}

/* ---- saving ---- */

typedef struct BufOut {
    const RtBuf *b;
} BufOut;

static bool write_buf(int fd, void *ctx)
{
    const BufOut *o = ctx;
    return rt_write_all(fd, o->b->data, o->b->len);
}

static void put_block(RtBuf *b, const char *name, const void *p, int64_t count, bool is_u64)
{
    put_u32(b, (uint32_t)strlen(name));
    rt_buf_putn(b, name, strlen(name));
    put_u32(b, is_u64);
    put_u64(b, (uint64_t)count);
    for (int64_t i = 0; i < count; i++) {
        if (is_u64) {
            put_u64(b, ((const uint64_t *)p)[i]);
        } else {
            uint32_t bits;
            memcpy(&bits, (const float *)p + i, 4);
            put_u32(b, bits);
        }
    }
}

bool rt_save_checkpoint(const char *path, const RtCheckpointId *id, const RtRun *run, void *net, RtStateFn state,
                        RtError *err)
{
    RtBuf b = {0};
    rt_buf_putn(&b, (const char *)MAGIC, 4);
    put_u32(&b, RT_CHECKPOINT_VERSION);
    put_u64(&b, id->fingerprint);
    put_u64(&b, id->settings);
    put_u64(&b, (uint64_t)id->batch);
    put_u64(&b, (uint64_t)id->data_n);
    put_u64(&b, id->data_hash);
    put_u32(&b, (uint32_t)run->epoch);
    put_u64(&b, (uint64_t)run->pos);
    put_u64(&b, run->shuffle_rng);
    put_f64(&b, run->sum[0]);
    put_f64(&b, run->sum[1]);
    put_u64(&b, (uint64_t)run->batches);
    put_u64(&b, (uint64_t)run->seen);
    put_f64(&b, run->best);
    put_u32(&b, (uint32_t)run->best_epoch);
    put_u32(&b, (uint32_t)run->since_best);
    put_u64(&b, (uint64_t)run->n);
    for (int64_t i = 0; i < run->n; i++)
        put_u64(&b, (uint64_t)run->order[i]);
    uint32_t blocks = 0;
    void *p;
    int64_t count;
    int is_u64;
    while (state(net, (int)blocks, &p, &count, &is_u64))
        blocks++;
    put_u32(&b, blocks);
    for (uint32_t i = 0; i < blocks; i++) {
        const char *name = state(net, (int)i, &p, &count, &is_u64);
        put_block(&b, name, p, count, is_u64 != 0);
    }
    if (!b.oom)
        put_u32(&b, rt_crc32(0, b.data, b.len));
    if (b.oom) {
        rt_buf_free(&b);
        return rt_fail(err, "%s: not saved: out of memory", path);
    }
    BufOut o = {&b};
    bool ok = rt_write_atomic(path, "not saved", write_buf, &o, err);
    rt_buf_free(&b);
    return ok;
}

/* ---- loading ---- */

/* The whole file into memory (its real size, never a size it claims);
 * NULL with err set. */
static unsigned char *read_whole(const char *path, size_t *len, RtError *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        rt_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = malloc(cap);
    for (;;) {
        if (!p) {
            rt_fail(err, "%s: out of memory reading it", path);
            break;
        }
        if (n == cap) {
            unsigned char *bigger = cap <= SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
            if (!bigger) {
                free(p);
                p = NULL;
                continue;
            }
            p = bigger;
            cap *= 2;
        }
        ssize_t got = read(fd, p + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rt_fail(err, "%s: cannot read: %s", path, strerror(errno));
            free(p);
            p = NULL;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    *len = n;
    return p;
}

/* One block as the file has it. */
typedef struct Block {
    char name[MAX_NAME + 1];
    bool is_u64;
    uint64_t count;
    const unsigned char *values;
} Block;

static bool read_block(Cursor *c, Block *bl)
{
    uint32_t len = get_u32(c);
    const unsigned char *name = len <= MAX_NAME ? take(c, len) : NULL;
    if (!name)
        return false;
    memcpy(bl->name, name, len);
    bl->name[len] = '\0';
    uint32_t kind = get_u32(c);
    bl->is_u64 = kind == 1;
    bl->count = get_u64(c);
    if (c->short_ || kind > 1 || bl->count > (c->len - c->at) / (bl->is_u64 ? 8 : 4))
        return false;
    bl->values = take(c, (size_t)bl->count * (bl->is_u64 ? 8 : 4));
    return bl->values != NULL;
}

static const char *what_run(const RtCheckpointId *id)
{
    return id->what ? id->what : "network";
}

/* The checks of the run's identity, in the order a user can act on them. */
static bool check_identity(const char *path, const RtCheckpointId *want, const RtCheckpointId *got, RtError *err)
{
    if (got->fingerprint != want->fingerprint)
        return rt_fail(err, "%s: a checkpoint of another %s (fingerprint 0x%016" PRIx64 ", this one 0x%016" PRIx64
                       "): resume it with the .nn file it was trained from", path, what_run(want), got->fingerprint,
                       want->fingerprint);
    if (got->batch != want->batch)
        return rt_fail(err, "%s: written with batch %" PRId64 ", this %s has batch %" PRId64 ": a resumed run "
                       "keeps its batch size", path, got->batch, what_run(want), want->batch);
    if (got->settings != want->settings)
        return rt_fail(err, "%s: written with other training settings (optimizer, its options, loss, schedule "
                       "or dropout differ from the .nn file now): a resumed run keeps them", path);
    if (got->data_n != want->data_n)
        return rt_fail(err, "%s: written while training on %" PRId64 " samples, this data has %" PRId64
                       ": resume with the same --data (and --limit)", path, got->data_n, want->data_n);
    if (got->data_hash != want->data_hash)
        return rt_fail(err, "%s: written while training on other data (its first rows differ): resume with the "
                       "same --data", path);
    return true;
}

bool rt_load_checkpoint(const char *path, const RtCheckpointId *id, RtRun *run, void *net, RtStateFn state,
                        RtError *err)
{
    size_t len;
    unsigned char *data = read_whole(path, &len, err);
    if (!data)
        return false;
    bool ok = false;
    Cursor c = {data, len, 0, false};
    int64_t *order = NULL;
    Block *blocks = NULL;
    if (len < 8 || memcmp(data, MAGIC, 4) != 0) {
        bool weights = len >= 4 && memcmp(data, "NNCW", 4) == 0;
        rt_fail(err, "%s: not an nnc checkpoint%s", path,
                weights ? " (it is a weight file: start from it with --load)" : "");
        goto out;
    }
    take(&c, 4);
    uint32_t version = get_u32(&c);
    if (version != RT_CHECKPOINT_VERSION) {
        rt_fail(err, "%s: unknown checkpoint version %" PRIu32 " (this nnc reads version %u)", path, version,
                RT_CHECKPOINT_VERSION);
        goto out;
    }
    if (len < 12) {
        rt_fail(err, "%s: truncated: %zu bytes", path, len);
        goto out;
    }
    uint32_t stored = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 | (uint32_t)data[len - 2] << 16 |
                      (uint32_t)data[len - 1] << 24;
    if (rt_crc32(0, data, len - 4) != stored) {
        rt_fail(err, "%s: corrupt or truncated: checksum mismatch (%zu bytes)", path, len);
        goto out;
    }
    c.len = len - 4;   /* the fields end where the CRC begins */
    RtCheckpointId got = {.what = id->what};
    got.fingerprint = get_u64(&c);
    got.settings = get_u64(&c);
    got.batch = (int64_t)get_u64(&c);
    got.data_n = (int64_t)get_u64(&c);
    got.data_hash = get_u64(&c);
    RtRun r = {0};
    r.epoch = (int)get_u32(&c);
    r.pos = (int64_t)get_u64(&c);
    r.shuffle_rng = get_u64(&c);
    r.sum[0] = get_f64(&c);
    r.sum[1] = get_f64(&c);
    r.batches = (int64_t)get_u64(&c);
    r.seen = (int64_t)get_u64(&c);
    r.best = get_f64(&c);
    r.best_epoch = (int)get_u32(&c);
    r.since_best = (int)get_u32(&c);
    uint64_t n = get_u64(&c);
    if (c.short_) {
        rt_fail(err, "%s: corrupt: the header is cut short", path);
        goto out;
    }
    if (!check_identity(path, id, &got, err))
        goto out;
    if (n != (uint64_t)id->data_n || r.pos < 0 || r.pos > id->data_n || r.epoch < 0 || r.batches < 0 ||
        r.seen < 0 || r.best_epoch < 0 || r.best_epoch > r.epoch || r.since_best < 0 || r.since_best > r.epoch) {
        rt_fail(err, "%s: corrupt: inconsistent run position (epoch %d, sample %" PRId64 " of %" PRIu64 ")", path,
                r.epoch, r.pos, n);
        goto out;
    }
    /* the order: a permutation of 0 .. n-1, or the training would read out of bounds */
    order = malloc((size_t)(n ? n : 1) * sizeof *order);
    unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
    if (!order || !seen) {
        free(seen);
        rt_fail(err, "%s: out of memory for the order of %" PRIu64 " samples", path, n);
        goto out;
    }
    bool perm = true;
    for (uint64_t i = 0; i < n && perm; i++) {
        uint64_t v = get_u64(&c);
        perm = !c.short_ && v < n && !seen[v];
        if (perm) {
            seen[v] = 1;
            order[i] = (int64_t)v;
        }
    }
    free(seen);
    if (!perm) {
        rt_fail(err, "%s: corrupt: the shuffled order is not a permutation of the %" PRIu64 " samples", path, n);
        goto out;
    }
    /* the blocks: checked against the network's before any is copied */
    uint32_t n_blocks = get_u32(&c), want_blocks = 0;
    void *p;
    int64_t count;
    int is_u64;
    while (state(net, (int)want_blocks, &p, &count, &is_u64))
        want_blocks++;
    if (c.short_ || n_blocks != want_blocks) {
        rt_fail(err, "%s: holds %" PRIu32 " arrays of training state, this %s has %" PRIu32
                " (another optimizer, or dropout added or removed?)", path, n_blocks, what_run(id), want_blocks);
        goto out;
    }
    blocks = calloc(n_blocks ? n_blocks : 1, sizeof *blocks);
    if (!blocks) {
        rt_fail(err, "%s: out of memory", path);
        goto out;
    }
    for (uint32_t i = 0; i < n_blocks; i++) {
        const char *name = state(net, (int)i, &p, &count, &is_u64);
        if (!read_block(&c, &blocks[i])) {
            rt_fail(err, "%s: corrupt: array %" PRIu32 " of the training state is cut short or malformed", path,
                    i + 1);
            goto out;
        }
        if (strcmp(blocks[i].name, name) != 0 || blocks[i].is_u64 != (is_u64 != 0) ||
            blocks[i].count != (uint64_t)count) {
            rt_fail(err, "%s: its training state's array %" PRIu32 " is '%s' of %" PRIu64 " values; this %s's is "
                    "'%s' of %" PRId64 " (another optimizer?)", path, i + 1, blocks[i].name, blocks[i].count,
                    what_run(id), name, count);
            goto out;
        }
    }
    if (c.at != c.len) {
        rt_fail(err, "%s: corrupt: %zu unexpected bytes before the checksum", path, c.len - c.at);
        goto out;
    }
    /* every check passed: now the network and the run change */
    for (uint32_t i = 0; i < n_blocks; i++) {
        state(net, (int)i, &p, &count, &is_u64);
        Cursor v = {blocks[i].values, (size_t)count * (is_u64 ? 8 : 4), 0, false};
        for (int64_t k = 0; k < count; k++) {
            if (is_u64) {
                ((uint64_t *)p)[k] = get_u64(&v);
            } else {
                uint32_t bits = get_u32(&v);
                memcpy((float *)p + k, &bits, 4);
            }
        }
    }
    free(run->order);
    r.n = (int64_t)n;
    r.order = order;
    order = NULL;
    *run = r;
    ok = true;
out:
    free(order);
    free(blocks);
    free(data);
    return ok;
}

void rt_run_free(RtRun *run)
{
    free(run->order);
    memset(run, 0, sizeof *run);
}

/* ---- output paths, checked before any work ---- */

bool rt_check_writable(const char *path, RtError *err)
{
    if (!*path)
        return rt_fail(err, "(empty file name): no file name");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rt_fail(err, "%s: cannot be written: it is a directory", path);
    if (rt_written_in_place(path))   /* a device or a FIFO: opening a FIFO would wait for a reader */
        return access(path, W_OK) == 0 ? true : rt_fail(err, "%s: cannot be written: %s", path, strerror(errno));
    RtTempFile f;
    if (!rt_temp_open(&f, path))
        return rt_fail(err, "%s: cannot be written: %s", path,
                       errno == ENOMEM ? "out of memory" : strerror(errno));
    close(f.fd);
    f.fd = -1;
    if (!rt_temp_discard(&f))
        return rt_fail(err, "%s: cannot remove the test file written beside it: %s", path, strerror(errno));
    return true;
}
