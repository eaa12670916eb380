/* fuzz_idx.c — the IDX reader, rt_load_idx (runtime/data.c), plain and
 * gzip-compressed, the same reader on a pipe (rt_data_open,
 * rt_data_read_idx), and its helpers rt_is_idx, rt_idx_labels_path and
 * rt_data_target_input.
 *
 * Input: a flags byte, a big-endian 16-bit length L, then an images file of
 * L bytes and a labels file of the rest (shorter inputs: all images).
 *   flags bit 0      images only (labels_path NULL), then rt_data_target_input
 *   flags bits 1-2   the network's outputs: 1, 2, 10 or 256
 *   flags bit 3      the network's inputs one more than the images' size
 * The network's inputs are otherwise rows x cols from the images' header
 * (4 when there is none).  The files get MNIST's names, and the labels are
 * found by rt_idx_labels_path, as `nnc train` finds them.
 *
 * Each input is loaded twice: as given, and both files gzip-compressed
 * (unless a part is gzip data already, or above 64 KiB).
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a failure leaves the RtData zeroed, with a message naming a file;
 *   a success has the count the header says, the image shape it says
 *   (rows x columns = the network's inputs, one channel), pixels in [0, 1],
 *   labels in range and matching one-hot targets, and rt_is_idx agrees;
 *   plain and gzip give the same outcome and the same data;
 *   the images read from a pipe (rt_data_open on "/dev/fd/N", when they fit
 *   a pipe's buffer) give the same data, or the same message but for the
 *   file's name, and rt_data_is_idx agrees with rt_is_idx;
 *   rt_idx_labels_path only swaps "images" -> "labels", "idx3" -> "idx1". */
#include "fuzz_common.h"

#include "nnc_rt.h"

#include <zlib.h>

static const char *images_path, *labels_path, *gz_images_path, *gz_labels_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("idx");
    images_path = fuzz_path(0, "train-images-idx3-ubyte");
    labels_path = fuzz_path(1, "train-labels-idx1-ubyte");
    gz_images_path = fuzz_path(2, "t10k-images-idx3-ubyte.gz");
    gz_labels_path = fuzz_path(3, "t10k-labels-idx1-ubyte.gz");
    return 0;
}

static void write_gz(const char *path, const uint8_t *p, size_t n)
{
    gzFile gz = gzopen(path, "wb1");
    if (!gz || (n && gzwrite(gz, p, (unsigned)n) != (int)n) || gzclose(gz) != Z_OK)
        fuzz_bug("cannot write %s", path);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Loads images (and labels) and checks the result; returns whether it loaded. */
static bool load(const char *im, bool images_only, int64_t ni, int64_t no, const uint8_t *head, size_t head_len,
                 RtData *d, RtError *err)
{
    char *lb = images_only ? NULL : rt_idx_labels_path(im);
    if (!images_only && !lb)
        fuzz_bug("no labels path for %s", im);
    bool ok = rt_load_idx(im, lb, ni, no, d, err);
    if (!ok) {
        if (d->n || d->x || d->t || d->label || d->source)
            fuzz_bug("rt_load_idx failed but left data behind");
        if (!strstr(err->msg, im) && !(lb && strstr(err->msg, lb)))
            fuzz_bug("the error names no file: %s", err->msg);
        free(lb);
        return false;
    }
    free(lb);
    if (!rt_is_idx(im))
        fuzz_bug("rt_load_idx read %s, but rt_is_idx says it is not IDX", im);
    /* the header as the harness read it (plain data only) */
    if (head_len >= 16 && head[0] == 0 && head[1] == 0 && (uint64_t)d->n != be32(head + 4))
        fuzz_bug("loaded %lld images, the header says %u", (long long)d->n, be32(head + 4));
    if (d->n < 1 || d->n_inputs != ni || !d->x || !d->source)
        fuzz_bug("rt_load_idx succeeded with n=%lld", (long long)d->n);
    if (d->image_c != 1 || d->image_h < 1 || d->image_w < 1 || d->image_h * d->image_w != ni ||
        (head_len >= 16 && head[0] == 0 && head[1] == 0 &&
         (d->image_h != be32(head + 8) || d->image_w != be32(head + 12))))
        fuzz_bug("images of %lldx%lldx%lld for %lld inputs", (long long)d->image_c, (long long)d->image_h,
                 (long long)d->image_w, (long long)ni);
    for (int64_t i = 0; i < d->n * ni; i++)
        if (!(d->x[i] >= 0.0f && d->x[i] <= 1.0f))
            fuzz_bug("pixel %lld is %g, outside [0, 1]", (long long)i, d->x[i]);
    if (images_only) {
        if (d->t || d->label)
            fuzz_bug("targets from an images-only load");
        return true;
    }
    if (d->n_outputs != no || !d->t || !d->label)
        fuzz_bug("a labelled load without targets or labels");
    for (int64_t s = 0; s < d->n; s++) {
        int32_t c = d->label[s];
        if (c < 0 || (no == 1 ? c > 1 : c >= no))
            fuzz_bug("label %d out of range for %lld outputs", c, (long long)no);
        for (int64_t j = 0; j < no; j++) {
            float want = no == 1 ? (float)c : j == c ? 1.0f : 0.0f;
            if (d->t[s * no + j] != want)
                fuzz_bug("row %lld's targets do not match its label %d", (long long)s, c);
        }
    }
    return true;
}

static bool same_data(const RtData *a, const RtData *b)
{
    if (a->n != b->n || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || !a->t != !b->t ||
        !a->label != !b->label || a->image_c != b->image_c || a->image_h != b->image_h || a->image_w != b->image_w)
        return false;
    size_t nx = (size_t)(a->n * a->n_inputs), nt = (size_t)(a->n * a->n_outputs);
    return memcmp(a->x, b->x, nx * sizeof(float)) == 0 && (!a->t || memcmp(a->t, b->t, nt * sizeof(float)) == 0) &&
           (!a->label || memcmp(a->label, b->label, (size_t)a->n * sizeof(int32_t)) == 0);
}

/* `msg` with every `from` replaced by `to`, into out. */
static void replace_all(const char *msg, const char *from, const char *to, char *out, size_t size)
{
    size_t o = 0, fl = strlen(from), tl = strlen(to);
    while (*msg && o + 1 < size) {
        if (strncmp(msg, from, fl) == 0 && o + tl < size) {
            memcpy(out + o, to, tl);
            o += tl;
            msg += fl;
        } else {
            out[o++] = *msg++;
        }
    }
    out[o] = '\0';
}

/* Whether the file's and the pipe's messages say the same.  Corrupt gzip
 * data is named by its compressed offset in a file, which zlib cannot tell
 * in a pipe (no lseek): there the message is located where the reader was,
 * and only what zlib found must agree. */
static bool same_refusal(const char *file_msg, const char *pipe_msg)
{
    static const char corrupt[] = "the gzip data is corrupt (";
    const char *f = strstr(file_msg, corrupt), *p = strstr(pipe_msg, corrupt);
    if (f && strstr(file_msg, "compressed byte "))
        return p && strcmp(f, p) == 0;
    return strcmp(file_msg, pipe_msg) == 0;
}

/* The images (im[0..n), as written to images_path) through a pipe, the
 * labels from their file: what the file gave, message and all. */
static void load_pipe(const uint8_t *im, size_t n, bool images_only, int64_t ni, int64_t no, bool ok,
                      const RtData *d, const char *msg)
{
    char path[32];
    int fd = fuzz_pipe_with(im, n, path, sizeof path);
    if (fd < 0)
        return;
    RtData p;
    RtError perr;
    RtDataFile *f = rt_data_open(path, &perr);
    if (!f)
        fuzz_bug("rt_data_open(%s): %s", path, perr.msg);
    if (rt_data_is_idx(f) != rt_is_idx(images_path))
        fuzz_bug("rt_data_is_idx on the pipe and rt_is_idx on the file disagree");
    bool pok = rt_data_read_idx(f, images_only ? NULL : labels_path, ni, no, &p, &perr);
    rt_data_close(f);
    close(fd);
    if (ok != pok)
        fuzz_bug("the file %s, the pipe %s (%s)", ok ? "loads" : "is refused", pok ? "loads" : "is refused",
                 ok ? perr.msg : msg);
    if (!ok) {
        char want[sizeof perr.msg + 64];
        replace_all(msg, images_path, path, want, sizeof want);
        if (!same_refusal(want, perr.msg))
            fuzz_bug("the file and the pipe are refused differently: '%s', '%s'", msg, perr.msg);
    }
    if (ok && !same_data(d, &p))
        fuzz_bug("the pipe loads to other data than the file");
    if (!pok && (p.n || p.x || p.t || p.label || p.source))
        fuzz_bug("rt_data_read_idx failed but left data behind");
    rt_data_free(&p);
}

static void check_labels_path(const uint8_t *p, size_t n)
{
    char name[256];
    size_t len = 0;
    while (len < n && len + 1 < sizeof name && p[len])
        len++;
    memcpy(name, p, len);
    name[len] = '\0';
    char *l = rt_idx_labels_path(name);
    if (!l)
        return;
    if (strlen(l) != len)
        fuzz_bug("rt_idx_labels_path changed the length of '%s'", name);
    for (size_t i = 0; i < len; i++)
        if (l[i] != name[i] && !strchr("labelsimagesidx31", l[i]))
            fuzz_bug("rt_idx_labels_path('%s') = '%s'", name, l);
    free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return -1;
    uint8_t flags = 0;
    const uint8_t *im = data, *lb = NULL;
    size_t im_len = size, lb_len = 0;
    if (size >= 3) {
        flags = data[0];
        size_t l = (size_t)data[1] << 8 | data[2];
        im = data + 3;
        im_len = l < size - 3 ? l : size - 3;
        lb = im + im_len;
        lb_len = size - 3 - im_len;
    }
    bool images_only = flags & 1;
    static const int64_t outputs[4] = {1, 2, 10, 256};
    int64_t no = outputs[(flags >> 1) & 3];
    int64_t ni = 4;
    if (im_len >= 16) {
        uint64_t rc = (uint64_t)be32(im + 8) * be32(im + 12);
        if (rc >= 1 && rc <= ((uint64_t)1 << 31))
            ni = (int64_t)rc;
    }
    if (flags & 8)
        ni++;

    fuzz_write(images_path, im, im_len);
    fuzz_write(labels_path, lb, lb_len);
    RtData d, g;
    RtError derr, gerr;
    memset(&derr, 0, sizeof derr);
    bool ok = load(images_path, images_only, ni, no, im, im_len, &d, &derr);
    load_pipe(im, im_len, images_only, ni, no, ok, &d, derr.msg);
    if (ok && images_only) {
        RtError err;
        if (!rt_data_target_input(&d, &err))
            fuzz_bug("rt_data_target_input: %s", err.msg);
        if (d.n_outputs != ni || d.label || (d.n && memcmp(d.t, d.x, (size_t)(d.n * ni) * sizeof(float)) != 0))
            fuzz_bug("rt_data_target_input did not copy the inputs");
    }

    bool gzip_already = (im_len >= 2 && im[0] == 0x1f && im[1] == 0x8b) ||
                        (lb_len >= 2 && lb[0] == 0x1f && lb[1] == 0x8b);
    if (!gzip_already && size <= (64 << 10)) {
        write_gz(gz_images_path, im, im_len);
        write_gz(gz_labels_path, lb, lb_len);
        bool gok = load(gz_images_path, images_only, ni, no, NULL, 0, &g, &gerr);
        if (gok && images_only) {
            RtError err;
            if (!rt_data_target_input(&g, &err))
                fuzz_bug("rt_data_target_input: %s", err.msg);
        }
        if (ok != gok)
            fuzz_bug("the plain files %s, the gzip ones %s", ok ? "load" : "are refused", gok ? "load" : "are refused");
        if (ok && !same_data(&d, &g))
            fuzz_bug("the gzip files load to other data than the plain ones");
        rt_data_free(&g);
    }
    rt_data_free(&d);

    check_labels_path(lb ? lb : data, lb ? lb_len : size);
    return 0;
}
