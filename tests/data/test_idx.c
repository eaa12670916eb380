/* test_idx.c — rt_load_idx, rt_is_idx, rt_idx_labels_path: small IDX files
 * made here (raw and gzip-compressed), every kind of malformed one with its
 * exact message, and the real Fashion-MNIST files when they are installed. */
#include "data_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Three 2x2 images and their labels. */
static const unsigned char PIXELS[12] = {0, 255, 51, 102, 255, 0, 0, 0, 1, 2, 3, 254};
static const unsigned char LABELS[3] = {2, 0, 1};
static const uint32_t IMAGE_DIMS[3] = {3, 2, 2};
static const uint32_t LABEL_DIMS[1] = {3};

/* Writes name as an IDX file; gz: gzip-compressed. */
static void write_idx(const char *name, int n_dims, const uint32_t *dims, const unsigned char *data, size_t n_data,
                      bool gz)
{
    size_t n;
    unsigned char *b = idx_bytes(n_dims, dims, data, n_data, &n);
    if (gz)
        write_gz(name, b, n);
    else
        write_file(name, b, n);
    free(b);
}

static void write_good(bool gz)
{
    write_idx(gz ? "im.gz" : "im", 3, IMAGE_DIMS, PIXELS, sizeof PIXELS, gz);
    write_idx(gz ? "lb.gz" : "lb", 1, LABEL_DIMS, LABELS, sizeof LABELS, gz);
}

static void check_good(const RtData *d)
{
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_inputs, 4);
    assert_int_equal(d->n_outputs, 3);
    for (int i = 0; i < 12; i++)
        if (d->x[i] != (float)PIXELS[i] / 255.0f)
            fail_msg("pixel %d: %g", i, (double)d->x[i]);
    assert_true(d->x[1] == 1.0f && d->x[0] == 0.0f && d->x[2] == 0.2f);
    static const float onehot[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    for (int i = 0; i < 9; i++)
        assert_true(d->t[i] == onehot[i]);
    assert_non_null(d->label);
    for (int i = 0; i < 3; i++)
        assert_int_equal(d->label[i], LABELS[i]);
}

static void load_ok(const char *im, const char *lb, int64_t n_in, int64_t n_out, RtData *d)
{
    RtError err;
    if (!rt_load_idx(im, lb, n_in, n_out, d, &err))
        fail_msg("rt_load_idx: %s", err.msg);
}

/* ---- good files ---- */

static void raw(void **state)
{
    (void)state;
    write_good(false);
    RtData d;
    load_ok("im", "lb", 4, 3, &d);
    check_good(&d);
    assert_string_equal(d.source, "im");
    assert_true(d.image_c == 1 && d.image_h == 2 && d.image_w == 2);
    rt_data_free(&d);
}

/* The image shape is kept: rows, then columns (not only their product). */
static void image_shape(void **state)
{
    (void)state;
    uint32_t dims[3] = {2, 3, 5};
    unsigned char px[30] = {0};
    unsigned char lb[2] = {1, 0};
    uint32_t ldims[1] = {2};
    write_idx("wide", 3, dims, px, sizeof px, true);
    write_idx("wide-lb", 1, ldims, lb, sizeof lb, false);
    RtData d;
    load_ok("wide", "wide-lb", 15, 2, &d);
    assert_int_equal(d.image_c, 1);
    assert_int_equal(d.image_h, 3);
    assert_int_equal(d.image_w, 5);
    rt_data_free(&d);
    assert_true(d.image_c == 0 && d.image_h == 0 && d.image_w == 0);
    expect_idx_error("wide", "wide-lb", 16, 2, "wide: byte 8: the images are 3x5 (15 values), but the network has 16 "
                     "inputs");
}

static void gzip(void **state)
{
    (void)state;
    write_good(true);
    RtData d;
    load_ok("im.gz", "lb.gz", 4, 3, &d);
    check_good(&d);
    rt_data_free(&d);
}

static void gzip_and_raw_mixed(void **state)
{
    (void)state;
    write_good(false);
    write_good(true);
    RtData d;
    load_ok("im.gz", "lb", 4, 3, &d);
    check_good(&d);
    rt_data_free(&d);
}

/* One output: labels 0/1, the target the label itself. */
static void binary_labels(void **state)
{
    (void)state;
    static const unsigned char bits[3] = {1, 0, 1};
    write_idx("im", 3, IMAGE_DIMS, PIXELS, sizeof PIXELS, false);
    write_idx("lb1", 1, LABEL_DIMS, bits, 3, false);
    RtData d;
    load_ok("im", "lb1", 4, 1, &d);
    assert_true(d.t[0] == 1.0f && d.t[1] == 0.0f && d.t[2] == 1.0f);
    assert_int_equal(d.label[2], 1);
    rt_data_free(&d);
    write_idx("lb1", 1, LABEL_DIMS, LABELS, 3, false);
    expect_idx_error("im", "lb1", 4, 1, "lb1: byte 8: label 2 is not 0 or 1 (the network has 1 output)");
}

/* Larger than the reader's chunks, gzip-compressed. */
static void many_images(void **state)
{
    (void)state;
    uint32_t n = 3000, dims[3] = {3000, 28, 28}, ldims[1] = {3000};
    unsigned char *px = malloc((size_t)n * 784), *lb = malloc(n);
    assert_non_null(px);
    assert_non_null(lb);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        px[i] = (unsigned char)(i * 31 % 256);
    for (uint32_t i = 0; i < n; i++)
        lb[i] = (unsigned char)(i % 10);
    write_idx("big.gz", 3, dims, px, (size_t)n * 784, true);
    write_idx("bigl", 1, ldims, lb, n, false);
    RtData d;
    load_ok("big.gz", "bigl", 784, 10, &d);
    assert_int_equal(d.n, 3000);
    assert_true(d.x[(size_t)n * 784 - 1] == (float)px[(size_t)n * 784 - 1] / 255.0f);
    assert_int_equal(d.label[2999], 9);
    assert_true(d.t[2999 * 10 + 9] == 1.0f);
    rt_data_free(&d);
    free(px);
    free(lb);
}

static void is_idx(void **state)
{
    (void)state;
    write_good(false);
    write_good(true);
    assert_true(rt_is_idx("im"));
    assert_true(rt_is_idx("lb"));
    assert_true(rt_is_idx("im.gz"));
    assert_true(rt_is_idx("lb.gz"));
    write_text("t.csv", "1,2,3\n");
    assert_false(rt_is_idx("t.csv"));
    write_gz("t.csv.gz", "1,2,3\n", 6);
    assert_false(rt_is_idx("t.csv.gz"));
    write_text("short", "");
    assert_false(rt_is_idx("short"));
    write_file("short", "\0\0\x08", 3);
    assert_false(rt_is_idx("short"));
    assert_false(rt_is_idx("missing"));
    assert_false(rt_is_idx("."));
    assert_false(rt_is_idx(NULL));
}

static void labels_path(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
        {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
        {"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
         "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"},
        {"data/train-images.idx3-ubyte", "data/train-labels.idx1-ubyte"},
        {"images/train-images-idx3-ubyte", "images/train-labels-idx1-ubyte"},
        {"data.csv", NULL},
        {"images/data.idx3", NULL},
        {"train-images.gz", NULL},
        {"idx3-images", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = rt_idx_labels_path(cases[i][0]);
        if (cases[i][1] == NULL) {
            if (got)
                fail_msg("%s: %s, expected NULL", cases[i][0], got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i][1]);
        }
        free(got);
    }
    assert_null(rt_idx_labels_path(NULL));
}

/* ---- malformed files ---- */

static void empty_and_short_header(void **state)
{
    (void)state;
    write_good(false);
    write_text("e", "");
    expect_idx_error("e", "lb", 4, 3, "e: byte 0: the file is empty");
    write_file("e", "\0\0\x08", 3);
    expect_idx_error("e", "lb", 4, 3, "e: byte 3: the file ends inside the IDX header (after 3 of 16 bytes)");
    write_file("e", "\0\0\x08\x03\0\0\0\x03\0\0", 10);
    expect_idx_error("e", "lb", 4, 3, "e: byte 10: the file ends inside the IDX header (after 10 of 16 bytes)");
    write_file("e", "\0\0\x08\x01\0\0", 6);
    expect_idx_error("im", "e", 4, 3, "e: byte 6: the file ends inside the IDX header (after 6 of 8 bytes)");
}

static void not_gzip_not_idx(void **state)
{
    (void)state;
    write_good(false);
    write_text("t.csv", "1,2,3\n");
    expect_idx_error("t.csv", "lb", 4, 3,
                     "t.csv: byte 0: not gzip-compressed and not an IDX file (it starts with 0x31 0x2c; IDX starts "
                     "with 0x00 0x00, gzip with 0x1f 0x8b)");
    expect_idx_error("im", "t.csv", 4, 3,
                     "t.csv: byte 0: not gzip-compressed and not an IDX file (it starts with 0x31 0x2c; IDX starts "
                     "with 0x00 0x00, gzip with 0x1f 0x8b)");
}

static void wrong_magic(void **state)
{
    (void)state;
    write_good(false);
    write_gz("t.csv.gz", "1,2,3\n", 6);
    expect_idx_error("t.csv.gz", "lb", 4, 3,
                     "t.csv.gz: byte 0: wrong IDX magic: the uncompressed data starts with 0x31 0x2c, expected 0x00 "
                     "0x00");
    write_file("m", "\x01\0\x08\x03", 4);
    expect_idx_error("m", "lb", 4, 3,
                     "m: byte 0: not gzip-compressed and not an IDX file (it starts with 0x01 0x00; IDX starts with "
                     "0x00 0x00, gzip with 0x1f 0x8b)");
}

static void wrong_type_code(void **state)
{
    (void)state;
    write_good(false);
    size_t n;
    unsigned char *b = idx_bytes(3, IMAGE_DIMS, PIXELS, sizeof PIXELS, &n);
    b[2] = 0x0D;
    write_file("f", b, n);
    expect_idx_error("f", "lb", 4, 3, "f: byte 2: type code 0x0d (float), expected 0x08 (unsigned byte)");
    b[2] = 0x07;
    write_gz("f.gz", b, n);
    expect_idx_error("f.gz", "lb", 4, 3, "f.gz: byte 2: type code 0x07 (not an IDX type), expected 0x08 (unsigned byte)");
    free(b);
}

static void wrong_dimensions(void **state)
{
    (void)state;
    write_good(false);
    expect_idx_error("lb", "im", 4, 3,
                     "lb: byte 3: 1 dimension, expected 3 for an images file (count, rows, columns); is this a labels "
                     "file?");
    expect_idx_error("im", "im", 4, 3,
                     "im: byte 3: 3 dimensions, expected 1 for a labels file (count); is this an images file?");
    uint32_t dims[2] = {3, 4};
    write_idx("d2", 2, dims, PIXELS, sizeof PIXELS, false);
    expect_idx_error("d2", "lb", 4, 3, "d2: byte 3: 2 dimensions, expected 3 for an images file (count, rows, columns)");
}

static void image_size_mismatch(void **state)
{
    (void)state;
    write_good(true);
    expect_idx_error("im.gz", "lb.gz", 784, 3, "im.gz: byte 8: the images are 2x2 (4 values), but the network has 784 inputs");
    expect_idx_error("im.gz", "lb.gz", 1, 3, "im.gz: byte 8: the images are 2x2 (4 values), but the network has 1 input");
}

static void no_images(void **state)
{
    (void)state;
    write_good(false);
    uint32_t dims[3] = {0, 2, 2};
    write_idx("z", 3, dims, NULL, 0, false);
    expect_idx_error("z", "lb", 4, 3, "z: byte 4: the file holds no images");
}

static void too_large(void **state)
{
    (void)state;
    write_good(false);
    uint32_t dims[3] = {0x30000000u, 2, 2};
    write_idx("huge", 3, dims, PIXELS, sizeof PIXELS, false);
    expect_idx_error("huge", "lb", 4, 3,
                     "huge: byte 4: 805306368 images of 4 values is more than the limit of 2^31 values");
    uint32_t wide[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    write_idx("huge", 3, wide, PIXELS, sizeof PIXELS, false);
    expect_idx_error("huge", "lb", 4, 3,
                     "huge: byte 8: the images are 4294967295x4294967295 (18446744065119617025 values), but the "
                     "network has 4 inputs");
}

static void truncated_images(void **state)
{
    (void)state;
    write_good(false);
    write_idx("cut", 3, IMAGE_DIMS, PIXELS, 9, false);
    expect_idx_error("cut", "lb", 4, 3, "cut: byte 25: the file ends after 2 of 3 images");
    write_idx("cut", 3, IMAGE_DIMS, PIXELS, 0, false);
    expect_idx_error("cut", "lb", 4, 3, "cut: byte 16: the file ends after 0 of 3 images");
    /* A header that promises far more than the file holds. */
    uint32_t dims[3] = {100000000, 2, 2};
    uint32_t ldims[1] = {100000000};
    write_idx("cut", 3, dims, PIXELS, 12, false);
    write_idx("cutl", 1, ldims, LABELS, 3, false);
    expect_idx_error("cut", "cutl", 4, 3, "cut: byte 28: the file ends after 3 of 100000000 images");
}

static void truncated_gzip(void **state)
{
    (void)state;
    write_good(false);
    /* Enough data that cutting the compressed file loses images. */
    uint32_t dims[3] = {500, 8, 8}, ldims[1] = {500};
    unsigned char px[500 * 64];
    RtRng rng;
    rt_rng_seed(&rng, 7);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (unsigned char)rt_rng_next(&rng);
    size_t n, gz_n;
    unsigned char *b = idx_bytes(3, dims, px, sizeof px, &n);
    unsigned char *gz = gzip_bytes(b, n, &gz_n);
    write_file("cut.gz", gz, gz_n / 2);
    unsigned char lb[500] = {0};
    write_idx("l500", 1, ldims, lb, 500, false);
    RtData d;
    RtError err;
    assert_false(rt_load_idx("cut.gz", "l500", 64, 10, &d, &err));
    /* Where zlib stops depends on its buffering; the message's form does not. */
    unsigned long at, got;
    char rest[200];
    if (sscanf(err.msg, "cut.gz: byte %lu: the file ends after %lu of 500 images; %199[^\n]", &at, &got, rest) != 3)
        fail_msg("unexpected message: %s", err.msg);
    assert_string_equal(rest, "the gzip data is cut short (the file is truncated)");
    assert_true(got < 500);
    assert_true(at >= 16 + got * 64 && at < 16 + (got + 1) * 64);
    /* All the data there, only the gzip trailer cut. */
    write_file("cut.gz", gz, gz_n - 3);
    expect_idx_error("cut.gz", "l500", 64, 10,
                     "cut.gz: byte 32016: the gzip data is cut short (the file is truncated)");
    /* Cut inside the gzip header. */
    write_file("cut.gz", gz, 5);
    expect_idx_error("cut.gz", "l500", 64, 10, "cut.gz: byte 0: the gzip data is cut short (the file is truncated)");
    free(gz);
    free(b);
}

static void corrupt_gzip(void **state)
{
    (void)state;
    write_good(false);
    size_t n, gz_n;
    unsigned char *b = idx_bytes(3, IMAGE_DIMS, PIXELS, sizeof PIXELS, &n);
    unsigned char *gz = gzip_bytes(b, n, &gz_n);
    /* The first deflate block's type bits (after the 10-byte header) set to the reserved 11. */
    unsigned char *bad = malloc(gz_n);
    assert_non_null(bad);
    memcpy(bad, gz, gz_n);
    bad[10] |= 0x06;
    write_file("bad.gz", bad, gz_n);
    expect_idx_error("bad.gz", "lb", 4, 3, "bad.gz: compressed byte 11: the gzip data is corrupt (invalid block type)");
    /* A wrong CRC: found after all the data. */
    memcpy(bad, gz, gz_n);
    bad[gz_n - 8] ^= 0x55;
    write_file("bad.gz", bad, gz_n);
    char msg[200];
    snprintf(msg, sizeof msg, "bad.gz: compressed byte %zu: the gzip data is corrupt (incorrect data check)", gz_n - 4);
    expect_idx_error("bad.gz", "lb", 4, 3, msg);
    /* An unknown compression method in the gzip header. */
    memcpy(bad, gz, gz_n);
    bad[2] = 7;
    write_file("bad.gz", bad, gz_n);
    expect_idx_error("bad.gz", "lb", 4, 3,
                     "bad.gz: compressed byte 4: the gzip data is corrupt (unknown compression method)");
    /* In the labels file. */
    size_t ln, lgz_n;
    unsigned char *lb = idx_bytes(1, LABEL_DIMS, LABELS, 3, &ln);
    unsigned char *lgz = gzip_bytes(lb, ln, &lgz_n);
    lgz[lgz_n - 1] ^= 1;   /* the length in the trailer */
    write_file("badl.gz", lgz, lgz_n);
    snprintf(msg, sizeof msg, "badl.gz: compressed byte %zu: the gzip data is corrupt (incorrect length check)", lgz_n);
    expect_idx_error("im", "badl.gz", 4, 3, msg);
    free(lgz);
    free(lb);
    free(bad);
    free(gz);
    free(b);
}

static void extra_data(void **state)
{
    (void)state;
    write_good(false);
    unsigned char more[13];
    memcpy(more, PIXELS, 12);
    more[12] = 9;
    write_idx("more", 3, IMAGE_DIMS, more, 13, false);
    expect_idx_error("more", "lb", 4, 3, "more: byte 28: more data after the 3 images the header announces");
    unsigned char lmore[4] = {0, 1, 2, 0};
    write_idx("lmore", 1, LABEL_DIMS, lmore, 4, true);
    expect_idx_error("im", "lmore", 4, 3, "lmore: byte 11: more data after the 3 labels the header announces");
}

static void count_mismatch(void **state)
{
    (void)state;
    write_good(false);
    uint32_t ldims[1] = {5};
    unsigned char lb[5] = {0, 1, 2, 0, 1};
    write_idx("l5", 1, ldims, lb, 5, false);
    expect_idx_error("im", "l5", 4, 3, "l5: byte 4: 5 labels, but im has 3 images");
}

static void label_outside(void **state)
{
    (void)state;
    write_good(false);
    unsigned char lb[3] = {0, 9, 1};
    write_idx("l9", 1, LABEL_DIMS, lb, 3, true);
    expect_idx_error("im", "l9", 4, 3, "l9: byte 9: label 9 is outside the network's 3 classes (0..2)");
}

static void truncated_labels(void **state)
{
    (void)state;
    write_good(false);
    write_idx("lcut", 1, LABEL_DIMS, LABELS, 1, false);
    expect_idx_error("im", "lcut", 4, 3, "lcut: byte 9: the file ends after 1 of 3 labels");
}

static void missing_files(void **state)
{
    (void)state;
    write_good(false);
    expect_idx_error("nope", "lb", 4, 3, "nope: cannot open: No such file or directory");
    expect_idx_error("im", "nope", 4, 3, "nope: cannot open: No such file or directory");
    expect_idx_error(NULL, "lb", 4, 3, "no IDX images file given");
}

/* Without a labels file only the images are read; rt_data_target_input
 * then makes each image its own target (an autoencoder's data). */
static void images_only_and_target_input(void **state)
{
    (void)state;
    write_good(false);
    RtData d;
    RtError err;
    assert_true(rt_load_idx("im", NULL, 4, 3, &d, &err));
    assert_int_equal(d.n, 3);
    assert_int_equal(d.n_outputs, 0);
    assert_null(d.t);
    assert_null(d.label);
    assert_true(rt_data_target_input(&d, &err));
    assert_int_equal(d.n_outputs, 4);
    assert_memory_equal(d.t, d.x, (size_t)(d.n * d.n_inputs) * sizeof(float));
    rt_data_free(&d);
}

/* ---- the real thing ---- */

static void fashion_mnist(void **state)
{
    (void)state;
    const char *dir = getenv("NNC_FASHION_MNIST");
    if (!dir)
        dir = "/usr/share/datasets/fashion-mnist";
    static const char *const parts[2] = {"train", "t10k"};
    static const int64_t counts[2] = {60000, 10000};
    char images[2][4096];
    for (int p = 0; p < 2; p++) {
        snprintf(images[p], sizeof images[p], "%s/%s-images-idx3-ubyte.gz", dir, parts[p]);
        struct stat st;
        if (stat(images[p], &st) != 0) {
            print_message("skipped: %s is missing (Debian package dataset-fashion-mnist)\n", images[p]);
            skip();
        }
    }
    for (int p = 0; p < 2; p++) {
        assert_true(rt_is_idx(images[p]));
        char *labels = rt_idx_labels_path(images[p]);
        assert_non_null(labels);
        RtData d;
        RtError err;
        if (!rt_load_idx(images[p], labels, 784, 10, &d, &err))
            fail_msg("%s", err.msg);
        free(labels);
        assert_int_equal(d.n, counts[p]);
        float lo = 1, hi = 0;
        for (int64_t i = 0; i < d.n * 784; i++) {
            if (d.x[i] < lo)
                lo = d.x[i];
            if (d.x[i] > hi)
                hi = d.x[i];
        }
        assert_true(lo == 0.0f && hi == 1.0f);
        int64_t per_class[10] = {0};
        for (int64_t i = 0; i < d.n; i++) {
            assert_in_range(d.label[i], 0, 9);
            per_class[d.label[i]]++;
            assert_true(d.t[i * 10 + d.label[i]] == 1.0f);
        }
        for (int c = 0; c < 10; c++)   /* Fashion-MNIST is balanced */
            assert_int_equal(per_class[c], counts[p] / 10);
        rt_data_free(&d);
    }
}

#define T(f) {"idx_" #f, f, NULL, NULL, NULL}
const struct CMUnitTest idx_tests[] = {
    T(raw),
    T(image_shape),
    T(gzip),
    T(gzip_and_raw_mixed),
    T(binary_labels),
    T(many_images),
    T(is_idx),
    T(labels_path),
    T(empty_and_short_header),
    T(not_gzip_not_idx),
    T(wrong_magic),
    T(wrong_type_code),
    T(wrong_dimensions),
    T(image_size_mismatch),
    T(no_images),
    T(too_large),
    T(truncated_images),
    T(truncated_gzip),
    T(corrupt_gzip),
    T(extra_data),
    T(count_mismatch),
    T(label_outside),
    T(truncated_labels),
    T(missing_files),
    T(images_only_and_target_input),
    T(fashion_mnist),
};
const size_t idx_count = sizeof idx_tests / sizeof idx_tests[0];
