/* fuzz_csv.c — the CSV reader, rt_load_csv (runtime/data.c), and the same
 * reader on a pipe (rt_data_open, rt_data_read_csv).
 *
 * Input: the bytes of a CSV file, written to a file in a private directory.
 * Its first non-blank line's column count C sets the shapes tried, so most
 * inputs get past the column check:
 *   C-1 inputs, 1 output, as regression and as classification (0/1 labels)
 *   C-2 inputs, 2 outputs (one-hot targets), classification
 *   C-1 inputs, 3 and 10 classes with a label column (last, and column 0)
 *   and 2 inputs, 1 output whatever C is (the column count error)
 * each with the header detected (auto), and once with header yes and no.
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a failure leaves the RtData zeroed and a message naming the file;
 *   a success has n >= 1 rows, the shapes asked for, finite values, and
 *   labels (if any) within the classes and matching the one-hot targets;
 *   the same bytes gzip-compressed load to exactly the same data (inputs
 *   up to 64 KiB, not gzip data already), or, when the plain file was
 *   refused, are refused too;
 *   the same bytes read from a pipe (rt_data_open on "/dev/fd/N", inputs
 *   that fit a pipe's buffer, with the first shape tried) load to exactly
 *   the same data, or are refused
 *   with the same message but for the file's name: a loader reads its file
 *   once, the bytes it looked at included;
 *   CSV data has no image shape (image_c/h/w 0). */
#include "fuzz_common.h"

#include "nnc_rt.h"

#include <math.h>
#include <zlib.h>

static const char *plain_path, *gz_path;
static const uint8_t *input;   /* this run's bytes, for the pipe */
static size_t input_size;
static bool pipe_pending;      /* the run's first load also reads them through a pipe */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("csv");
    plain_path = fuzz_path(0, "data.csv");
    gz_path = fuzz_path(1, "data.csv.gz");
    return 0;
}

static void check_result(bool ok, const RtData *d, const RtError *err, const char *path, int64_t ni, int64_t no,
                         bool classify)
{
    if (!ok) {
        if (d->n || d->x || d->t || d->label || d->source)
            fuzz_bug("rt_load_csv failed but left data behind");
        if (!strstr(err->msg, path) && !strstr(err->msg, "network's shape"))
            fuzz_bug("the error does not name the file: %s", err->msg);
        return;
    }
    if (d->n < 1 || d->n_inputs != ni || d->n_outputs != no || !d->x || !d->t || !d->source)
        fuzz_bug("rt_load_csv succeeded with n=%lld, %lldx%lld", (long long)d->n, (long long)d->n_inputs,
                 (long long)d->n_outputs);
    if (d->image_c || d->image_h || d->image_w)
        fuzz_bug("CSV data with an image shape");
    if (d->label && !classify)
        fuzz_bug("labels from a regression load");
    for (int64_t i = 0; i < d->n * ni; i++)
        if (!isfinite(d->x[i]))
            fuzz_bug("a non-finite input at %lld", (long long)i);
    for (int64_t i = 0; i < d->n * no; i++)
        if (!isfinite(d->t[i]))
            fuzz_bug("a non-finite target at %lld", (long long)i);
    if (d->label) {
        for (int64_t s = 0; s < d->n; s++) {
            int32_t c = d->label[s];
            if (c < 0 || (no == 1 ? c > 1 : c >= no))
                fuzz_bug("label %d out of range for %lld outputs", c, (long long)no);
            const float *t = d->t + s * no;
            if (no == 1 ? t[0] != (float)c : t[c] != 1.0f)
                fuzz_bug("label %d does not match its targets at row %lld", c, (long long)s);
        }
    }
}

static bool same_data(const RtData *a, const RtData *b)
{
    if (a->n != b->n || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || !a->label != !b->label)
        return false;
    size_t nx = (size_t)(a->n * a->n_inputs), nt = (size_t)(a->n * a->n_outputs);
    return memcmp(a->x, b->x, nx * sizeof(float)) == 0 && memcmp(a->t, b->t, nt * sizeof(float)) == 0 &&
           (!a->label || memcmp(a->label, b->label, (size_t)a->n * sizeof(int32_t)) == 0);
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

/* The input through a pipe: what the file gave, message and all. */
static void load_pipe(const RtCsvOptions *opt, int64_t ni, int64_t no, bool classify, bool ok, const RtData *d,
                      const RtError *err)
{
    char path[32];
    int fd = fuzz_pipe_with(input, input_size, path, sizeof path);
    if (fd < 0)
        return;
    RtData p;
    RtError perr;
    RtDataFile *f = rt_data_open(path, &perr);
    if (!f)
        fuzz_bug("rt_data_open(%s): %s", path, perr.msg);
    bool pok = rt_data_read_csv(f, opt, ni, no, classify, &p, &perr);
    rt_data_close(f);
    close(fd);
    check_result(pok, &p, &perr, path, ni, no, classify);
    if (ok != pok)
        fuzz_bug("the file %s, the pipe %s (%s)", ok ? "loads" : "is refused", pok ? "loads" : "is refused",
                 ok ? perr.msg : err->msg);
    if (ok && !same_data(d, &p))
        fuzz_bug("the pipe loads to other data than the file");
    size_t fl = strlen(plain_path), pl = strlen(path);
    if (!ok && strncmp(err->msg, plain_path, fl) == 0 && !same_refusal(err->msg + fl, perr.msg + pl))
        fuzz_bug("the file and the pipe are refused differently: '%s', '%s'", err->msg, perr.msg);
    rt_data_free(&p);
}

static void load(const RtCsvOptions *opt, int64_t ni, int64_t no, bool classify, bool with_gz)
{
    RtData d, g;
    RtError err, gerr;
    bool ok = rt_load_csv(plain_path, opt, ni, no, classify, &d, &err);
    check_result(ok, &d, &err, plain_path, ni, no, classify);
    if (pipe_pending)
        load_pipe(opt, ni, no, classify, ok, &d, &err);
    pipe_pending = false;
    if (with_gz) {
        bool gok = rt_load_csv(gz_path, opt, ni, no, classify, &g, &gerr);
        check_result(gok, &g, &gerr, gz_path, ni, no, classify);
        if (ok != gok)
            fuzz_bug("the plain file %s, the gzip one %s (%s)", ok ? "loads" : "is refused",
                     gok ? "loads" : "is refused", ok ? gerr.msg : err.msg);
        if (ok && !same_data(&d, &g))
            fuzz_bug("the gzip file loads to other data than the plain one");
        rt_data_free(&g);
    }
    rt_data_free(&d);
    /* rt_data_free leaves it zeroed: a second call is safe */
    rt_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return -1;
    fuzz_write(plain_path, data, size);
    input = data;
    input_size = size;
    pipe_pending = true;
    /* (gzip data is decompressed by the plain load: compressing it again
     * would compare different things) */
    bool with_gz = size <= (64 << 10) && !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b);
    if (with_gz) {
        gzFile gz = gzopen(gz_path, "wb1");
        if (!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) || gzclose(gz) != Z_OK)
            fuzz_bug("cannot write %s", gz_path);
    }

    /* Columns of the first line that is not blank (a BOM is skipped). */
    size_t i = 0;
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    int64_t cols = 0;
    for (size_t line = i; line < size;) {
        size_t end = line;
        bool blank = true;
        while (end < size && data[end] != '\n') {
            blank &= data[end] == ' ' || data[end] == '\t' || data[end] == '\r';
            end++;
        }
        if (!blank) {
            cols = 1;
            for (size_t k = line; k < end; k++)
                cols += data[k] == ',';
            break;
        }
        line = end + 1;
    }
    if (cols > 4096)
        cols = 4096;

    RtCsvOptions autohead = {RT_HEADER_AUTO, -1, 0}, first = {RT_HEADER_AUTO, 0, 0};
    RtCsvOptions yes = {RT_HEADER_YES, -1, 0}, no = {RT_HEADER_NO, -1, 0};
    if (cols >= 2) {
        load(&autohead, cols - 1, 1, false, with_gz);
        load(&autohead, cols - 1, 1, true, false);
        load(&autohead, cols - 1, 3, true, with_gz);
        load(&first, cols - 1, 10, true, false);
        load(&yes, cols - 1, 1, false, false);
        load(&no, cols - 1, 1, false, false);
    }
    if (cols >= 3)
        load(&autohead, cols - 2, 2, true, with_gz);
    load(NULL, 2, 1, false, false);
    return 0;
}
