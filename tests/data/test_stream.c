/* test_stream.c — every loader reads its file once: data through pipes
 * (filled by a child process, read as "/dev/fd/N") and FIFOs loads as from a
 * regular file, CSV and IDX, gzip-compressed or not, past every internal
 * buffer; rt_load_data tells IDX from CSV on the stream it then parses; the
 * steps rt_data_open, rt_data_is_idx, rt_data_read_* and rt_data_close. */
#include "data_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pipe that a child process fills with data[0..n) and then closes. */
typedef struct Pipe {
    int fd;                      /* the read end */
    pid_t child;
    char path[32];               /* "/dev/fd/N", the read end as a file name */
} Pipe;

/* Writes data[0..n) to fd; in a child, so no cmocka here. */
static void write_all(int fd, const unsigned char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w <= 0)
            _exit(1);   /* the reader stopped early: nothing more to do */
        data += w;
        n -= (size_t)w;
    }
}

static void pipe_open(Pipe *p, const void *data, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    p->child = fork();
    assert_true(p->child >= 0);
    if (p->child == 0) {
        close(fds[0]);
        write_all(fds[1], data, n);
        _exit(0);
    }
    close(fds[1]);
    p->fd = fds[0];
    snprintf(p->path, sizeof p->path, "/dev/fd/%d", p->fd);
}

/* Closes the read end and waits for the writer (gone by SIGPIPE if the
 * reader stopped early). */
static void pipe_close(Pipe *p)
{
    close(p->fd);
    int status;
    assert_int_equal(waitpid(p->child, &status, 0), p->child);
}

/* A FIFO `name` that a child process opens and fills with data[0..n). */
static pid_t fifo_open(const char *name, const void *data, size_t n)
{
    unlink(name);
    assert_int_equal(mkfifo(name, 0600), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        FILE *f = fopen(name, "wb");
        if (!f)
            _exit(1);
        write_all(fileno(f), data, n);
        _exit(0);
    }
    return child;
}

static void fifo_close(pid_t child)
{
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
}

/* `rows` rows of XOR, "a,b,a^b", no header; malloc'd, its length in *n.
 * 200,000 rows are 1.2 MB: more than zlib's read buffer and a pipe's. */
static char *xor_rows(int rows, size_t *n)
{
    char *text = malloc((size_t)rows * 6 + 1);
    assert_non_null(text);
    size_t o = 0;
    for (int i = 0; i < rows; i++) {
        int a = i % 2, b = i / 2 % 2;
        o += (size_t)sprintf(text + o, "%d,%d,%d\n", a, b, a ^ b);
    }
    *n = o;
    return text;
}

static void check_xor_rows(const RtData *d, int rows)
{
    assert_int_equal(d->n, rows);
    assert_int_equal(d->n_inputs, 2);
    assert_int_equal(d->n_outputs, 1);
    assert_non_null(d->label);
    for (int i = 0; i < rows; i += rows / 7 + 1) {
        int a = i % 2, b = i / 2 % 2;
        assert_true(d->x[2 * i] == (float)a && d->x[2 * i + 1] == (float)b);
        assert_int_equal(d->label[i], a ^ b);
    }
    int last = rows - 1;
    assert_true(d->x[2 * last] == (float)(last % 2) && d->x[2 * last + 1] == (float)(last / 2 % 2));
    assert_int_equal(d->image_c, 0);
    assert_int_equal(d->image_h, 0);
    assert_int_equal(d->image_w, 0);
}

static void load_data_ok(const char *path, const char *labels, int64_t n_in, int64_t n_out, bool classify,
                         RtData *d)
{
    RtError err;
    memset(&err, 0, sizeof err);
    if (!rt_load_data(path, labels, NULL, n_in, n_out, classify, "give them with --labels", d, &err))
        fail_msg("rt_load_data(%s): %s", path, err.msg);
    assert_string_equal(d->source, path);
}

/* Three 2x3 images (two rows of three) and their labels. */
static const unsigned char PIXELS[18] = {0, 255, 51, 102, 255, 0, 0, 0, 1, 2, 3, 254, 9, 8, 7, 6, 5, 4};
static const unsigned char LABELS[3] = {2, 0, 1};
static const uint32_t IMAGE_DIMS[3] = {3, 2, 3};
static const uint32_t LABEL_DIMS[1] = {3};

static unsigned char *images_bytes(bool gz, size_t *n)
{
    size_t raw_n;
    unsigned char *raw = idx_bytes(3, IMAGE_DIMS, PIXELS, sizeof PIXELS, &raw_n);
    if (!gz) {
        *n = raw_n;
        return raw;
    }
    unsigned char *z = gzip_bytes(raw, raw_n, n);
    free(raw);
    return z;
}

static unsigned char *labels_bytes(size_t *n)
{
    return idx_bytes(1, LABEL_DIMS, LABELS, sizeof LABELS, n);
}

static void check_images(const RtData *d, bool with_labels)
{
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_inputs, 6);
    for (int i = 0; i < 18; i++)
        assert_true(d->x[i] == (float)PIXELS[i] / 255.0f);
    assert_int_equal(d->image_c, 1);
    assert_int_equal(d->image_h, 2);   /* rows */
    assert_int_equal(d->image_w, 3);   /* columns */
    if (!with_labels)
        return;
    assert_int_equal(d->n_outputs, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d->label[i], LABELS[i]);
        assert_true(d->t[i * 3 + LABELS[i]] == 1.0f);
    }
}

/* ---- CSV through a pipe ---- */

/* 200,000 rows: all of them (the first bytes were once read by a look at
 * the file that opened it on its own, and lost). */
static void csv_pipe_large(void **state)
{
    (void)state;
    size_t n;
    char *text = xor_rows(200000, &n);
    Pipe p;
    pipe_open(&p, text, n);
    RtData d;
    load_data_ok(p.path, NULL, 2, 1, true, &d);
    pipe_close(&p);
    check_xor_rows(&d, 200000);
    rt_data_free(&d);
    free(text);
}

static void csv_pipe_small(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "0,0,0\n1,0,1\n0,1,1\n1,1,0\n",
        "a,b,y\n0,0,0\n1,0,1\n0,1,1\n1,1,0",   /* a header; no newline at the end */
        "\xEF\xBB\xBF" "0,0,0\r\n1,0,1\r\n0,1,1\r\n1,1,0\r\n",   /* a byte order mark, CRLF */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        Pipe p;
        pipe_open(&p, texts[i], strlen(texts[i]));
        RtData d;
        load_data_ok(p.path, NULL, 2, 1, true, &d);
        pipe_close(&p);
        check_xor_rows(&d, 4);
        rt_data_free(&d);
    }
}

/* Files shorter than, as long as, and longer than the bytes read ahead. */
static void csv_pipe_tiny(void **state)
{
    (void)state;
    static const char *const texts[] = {"1,0", "1,0\n", "1,0\n\n", " 1,0", "7,1\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        Pipe p;
        pipe_open(&p, texts[i], strlen(texts[i]));
        RtData d;
        load_data_ok(p.path, NULL, 1, 1, false, &d);
        pipe_close(&p);
        assert_int_equal(d.n, 1);
        assert_true(d.x[0] == (i == 4 ? 7.0f : 1.0f));
        assert_true(d.t[0] == (i == 4 ? 1.0f : 0.0f));
        rt_data_free(&d);
    }
}

static void csv_pipe_errors(void **state)
{
    (void)state;
    RtData d;
    RtError err;
    char want[200];
    Pipe p;
    pipe_open(&p, "", 0);
    assert_false(rt_load_data(p.path, NULL, NULL, 2, 1, true, NULL, &d, &err));
    pipe_close(&p);
    snprintf(want, sizeof want, "%s: the file is empty", p.path);
    assert_string_equal(err.msg, want);
    assert_null(d.x);
    pipe_open(&p, "0,0,0\n0,x,1\n", 12);
    assert_false(rt_load_data(p.path, NULL, NULL, 2, 1, true, NULL, &d, &err));
    pipe_close(&p);
    snprintf(want, sizeof want, "%s:2:3: 'x' is not a number", p.path);
    assert_string_equal(err.msg, want);
    assert_null(d.x);
}

static void csv_gzip_pipe(void **state)
{
    (void)state;
    size_t n, gz_n;
    char *text = xor_rows(200000, &n);
    unsigned char *gz = gzip_bytes(text, n, &gz_n);
    Pipe p;
    pipe_open(&p, gz, gz_n);
    RtData d;
    load_data_ok(p.path, NULL, 2, 1, true, &d);
    pipe_close(&p);
    check_xor_rows(&d, 200000);
    rt_data_free(&d);
    /* gzip data cut short: an error, not fewer rows */
    pipe_open(&p, gz, gz_n / 2);
    RtError err;
    assert_false(rt_load_data(p.path, NULL, NULL, 2, 1, true, NULL, &d, &err));
    pipe_close(&p);
    if (strncmp(err.msg, p.path, strlen(p.path)) != 0 ||
        !strstr(err.msg, ": the gzip data is cut short (the file is truncated)"))
        fail_msg("unexpected message: %s", err.msg);
    free(gz);
    free(text);
}

/* ---- IDX through a pipe ---- */

static void idx_pipe(void **state)
{
    (void)state;
    size_t ln;
    unsigned char *lb = labels_bytes(&ln);
    write_file("lb", lb, ln);
    for (int gz = 0; gz < 2; gz++) {
        size_t n;
        unsigned char *im = images_bytes(gz, &n);
        /* the labels a file, then a second pipe */
        Pipe p, q;
        pipe_open(&p, im, n);
        RtData d;
        load_data_ok(p.path, "lb", 6, 3, true, &d);
        pipe_close(&p);
        check_images(&d, true);
        rt_data_free(&d);
        pipe_open(&p, im, n);
        pipe_open(&q, lb, ln);
        load_data_ok(p.path, q.path, 6, 3, true, &d);
        pipe_close(&p);
        pipe_close(&q);
        check_images(&d, true);
        rt_data_free(&d);
        free(im);
    }
    free(lb);
}

/* Larger than a pipe's buffer and zlib's: 3000 images of 28x28, gzip'ed. */
static void idx_pipe_large(void **state)
{
    (void)state;
    uint32_t count = 3000, dims[3] = {3000, 28, 28}, ldims[1] = {3000};
    unsigned char *px = malloc((size_t)count * 784), *labels = malloc(count);
    assert_non_null(px);
    assert_non_null(labels);
    for (size_t i = 0; i < (size_t)count * 784; i++)
        px[i] = (unsigned char)(i * 31 % 256);
    for (uint32_t i = 0; i < count; i++)
        labels[i] = (unsigned char)(i % 10);
    size_t n, gz_n, ln;
    unsigned char *raw = idx_bytes(3, dims, px, (size_t)count * 784, &n);
    unsigned char *gz = gzip_bytes(raw, n, &gz_n);
    unsigned char *lb = idx_bytes(1, ldims, labels, count, &ln);
    write_file("big-labels", lb, ln);
    Pipe p;
    for (int z = 0; z < 2; z++) {
        pipe_open(&p, z ? gz : raw, z ? gz_n : n);
        RtData d;
        load_data_ok(p.path, "big-labels", 784, 10, true, &d);
        pipe_close(&p);
        assert_int_equal(d.n, 3000);
        assert_true(d.x[0] == 0.0f);
        assert_true(d.x[(size_t)count * 784 - 1] == (float)px[(size_t)count * 784 - 1] / 255.0f);
        assert_int_equal(d.label[2999], 9);
        assert_int_equal(d.image_h, 28);
        assert_int_equal(d.image_w, 28);
        rt_data_free(&d);
    }
    free(lb);
    free(gz);
    free(raw);
    free(labels);
    free(px);
}

/* Without a labels file: a pipe has no name to find them by.  Refused
 * before the images are read. */
static void idx_pipe_no_labels(void **state)
{
    (void)state;
    size_t n;
    unsigned char *im = images_bytes(true, &n);
    Pipe p;
    pipe_open(&p, im, n);
    RtData d;
    RtError err;
    assert_false(rt_load_data(p.path, NULL, NULL, 6, 3, true, "give them with --labels", &d, &err));
    pipe_close(&p);
    char want[300];
    snprintf(want, sizeof want, "%s: cannot tell where its labels are (IDX images from a pipe have no file name to "
             "find them by); give them with --labels", p.path);
    assert_string_equal(err.msg, want);
    assert_null(d.x);
    assert_null(d.source);
    free(im);
}

/* ---- FIFOs ---- */

static void fifo(void **state)
{
    (void)state;
    alarm(120);   /* a loader that opened a FIFO twice would wait for a writer for ever */
    size_t n;
    char *text = xor_rows(200000, &n);
    pid_t child = fifo_open("data.fifo", text, n);
    RtData d;
    load_data_ok("data.fifo", NULL, 2, 1, true, &d);
    fifo_close(child);
    check_xor_rows(&d, 200000);
    rt_data_free(&d);
    free(text);
    /* IDX images by MNIST's names: the labels found beside the FIFO */
    size_t ln;
    unsigned char *im = images_bytes(true, &n), *lb = labels_bytes(&ln);
    write_file("f-labels-idx1-ubyte", lb, ln);
    child = fifo_open("f-images-idx3-ubyte", im, n);
    load_data_ok("f-images-idx3-ubyte", NULL, 6, 3, true, &d);
    fifo_close(child);
    check_images(&d, true);
    rt_data_free(&d);
    free(lb);
    free(im);
    alarm(0);
}

/* ---- rt_load_data on regular files ---- */

static void load_data_files(void **state)
{
    (void)state;
    size_t n, ln;
    char *text = xor_rows(1000, &n);
    write_file("x.csv", text, n);
    RtData d;
    load_data_ok("x.csv", NULL, 2, 1, true, &d);
    check_xor_rows(&d, 1000);
    rt_data_free(&d);
    unsigned char *im = images_bytes(false, &n), *lb = labels_bytes(&ln);
    write_file("t-images-idx3-ubyte", im, n);
    write_file("t-labels-idx1-ubyte", lb, ln);
    load_data_ok("t-images-idx3-ubyte", NULL, 6, 3, true, &d);
    check_images(&d, true);
    rt_data_free(&d);
    write_file("pixels", im, n);
    RtError err;
    assert_false(rt_load_data("pixels", NULL, NULL, 6, 3, true, "give them with --labels", &d, &err));
    assert_string_equal(err.msg, "pixels: cannot tell where its labels are (the name does not follow MNIST's "
                                 "'...-images-idx3-ubyte'); give them with --labels");
    assert_false(rt_load_data(NULL, NULL, NULL, 6, 3, true, NULL, &d, &err));
    assert_string_equal(err.msg, "no data file given");
    free(lb);
    free(im);
    free(text);
}

/* ---- the steps: open, look, read, close ---- */

static void open_look_read(void **state)
{
    (void)state;
    size_t n;
    unsigned char *im = images_bytes(true, &n);
    Pipe p;
    pipe_open(&p, im, n);
    RtError err;
    RtDataFile *f = rt_data_open(p.path, &err);
    assert_non_null(f);
    assert_true(rt_data_is_idx(f));
    RtData d;
    if (!rt_data_read_idx(f, NULL, 6, 99, &d, &err))
        fail_msg("rt_data_read_idx: %s", err.msg);
    check_images(&d, false);
    assert_null(d.t);
    assert_null(d.label);
    assert_true(rt_data_target_input(&d, &err));
    assert_int_equal(d.image_h, 2);   /* kept */
    rt_data_free(&d);
    /* A file is read once. */
    char want[200];
    snprintf(want, sizeof want, "%s: already read (a data file is read once, front to back)", p.path);
    assert_false(rt_data_read_idx(f, NULL, 6, 3, &d, &err));
    assert_string_equal(err.msg, want);
    assert_false(rt_data_read_csv(f, NULL, 5, 1, false, &d, &err));
    assert_string_equal(err.msg, want);
    assert_null(d.x);
    rt_data_close(f);
    pipe_close(&p);
    free(im);

    /* CSV: not IDX, read from the same stream */
    size_t tn;
    char *text = xor_rows(50000, &tn);
    pipe_open(&p, text, tn);
    f = rt_data_open(p.path, &err);
    assert_non_null(f);
    assert_false(rt_data_is_idx(f));
    assert_true(rt_data_read_csv(f, NULL, 2, 1, true, &d, &err));
    check_xor_rows(&d, 50000);
    rt_data_free(&d);
    rt_data_close(f);
    pipe_close(&p);
    free(text);

    /* Bad arguments are refused before anything is read: the file can still be read. */
    pipe_open(&p, "1,0\n", 4);
    f = rt_data_open(p.path, &err);
    assert_non_null(f);
    static const RtCsvOptions bad_col = {RT_HEADER_AUTO, -2, 0};
    assert_false(rt_data_read_csv(f, &bad_col, 1, 1, false, &d, &err));
    assert_true(rt_data_read_csv(f, NULL, 1, 1, false, &d, &err));
    assert_int_equal(d.n, 1);
    rt_data_free(&d);
    rt_data_close(f);
    pipe_close(&p);

    assert_null(rt_data_open("missing", &err));
    assert_string_equal(err.msg, "missing: cannot open: No such file or directory");
    assert_null(rt_data_open(".", &err));
    assert_string_equal(err.msg, ".: is a directory, not a data file");
    assert_null(rt_data_open(NULL, &err));
    assert_string_equal(err.msg, "no data file given");
    assert_false(rt_data_is_idx(NULL));
    rt_data_close(NULL);
}

#define T(f) {"stream_" #f, f, NULL, NULL, NULL}
const struct CMUnitTest stream_tests[] = {
    T(csv_pipe_large),
    T(csv_pipe_small),
    T(csv_pipe_tiny),
    T(csv_pipe_errors),
    T(csv_gzip_pipe),
    T(idx_pipe),
    T(idx_pipe_large),
    T(idx_pipe_no_labels),
    T(fifo),
    T(load_data_files),
    T(open_look_read),
};
const size_t stream_count = sizeof stream_tests / sizeof stream_tests[0];
