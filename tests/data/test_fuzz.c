/* test_fuzz.c — random byte mutations of small valid CSV and IDX files
 * (seeded, so a failure repeats) must never crash the loaders; errors are
 * fine, and must name the file.  Meant for the sanitizer build. */
#include "data_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NNC_FUZZ_ROUNDS=N runs N rounds of each instead. */
static int rounds(void)
{
    const char *env = getenv("NNC_FUZZ_ROUNDS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : 2000;
}

/* Applies 1..4 random edits to buf[0..*n) (capacity cap): overwrite a byte,
 * insert one, delete one, or cut the end. */
static void mutate(RtRng *r, unsigned char *buf, size_t *n, size_t cap)
{
    static const unsigned char interesting[] = {0, 0xFF, 0x7F, 0x80, '\n', '\r', ',', '.', '-', 'e', ' ', '"', 0x1F,
                                                0x8B, 0x08, 0x03, 0x01};
    int edits = 1 + (int)rt_rng_below(r, 4);
    for (int k = 0; k < edits; k++) {
        size_t at = *n ? (size_t)rt_rng_below(r, *n) : 0;
        unsigned char byte = rt_rng_below(r, 2) ? (unsigned char)rt_rng_next(r)
                                                : interesting[rt_rng_below(r, sizeof interesting)];
        switch (rt_rng_below(r, 6)) {
        case 0:
        case 1:
        case 2:
            if (*n)
                buf[at] = byte;
            break;
        case 3:
            if (*n < cap) {
                memmove(buf + at + 1, buf + at, *n - at);
                buf[at] = byte;
                (*n)++;
            }
            break;
        case 4:
            if (*n) {
                memmove(buf + at, buf + at + 1, *n - at - 1);
                (*n)--;
            }
            break;
        default:
            *n = at;
            break;
        }
    }
}

static void expect_named(bool ok, const RtError *err, const char *path)
{
    if (!ok && strncmp(err->msg, path, strlen(path)) != 0)
        fail_msg("message does not name %s: %s", path, err->msg);
}

static void csv_mutations(void **state)
{
    (void)state;
    static const char good[] = "x1, x2 ,label\r\n0.5,1e-3,2\n-1,+7.25,0\n3,4,1\n\n";
    unsigned char buf[256];
    RtRng r;
    rt_rng_seed(&r, 20240601);
    int loaded = 0, n_rounds = rounds();
    for (int round = 0; round < n_rounds; round++) {
        size_t n = sizeof good - 1;
        memcpy(buf, good, n);
        mutate(&r, buf, &n, sizeof buf);
        bool gz = round % 5 == 4;
        const char *path = gz ? "fz.csv.gz" : "fz.csv";
        if (gz)
            write_gz(path, buf, n);
        else
            write_file(path, buf, n);
        static const RtHeader headers[] = {RT_HEADER_AUTO, RT_HEADER_YES, RT_HEADER_NO};
        RtCsvOptions opt = {headers[round % 3], round % 7 == 0 ? 0 : -1, 0};
        RtData d;
        RtError err;
        bool ok = rt_load_csv(path, &opt, 2, 3, round % 2 == 0, &d, &err);
        expect_named(ok, &err, path);
        if (ok) {
            loaded++;
            assert_true(d.n >= 1);
            rt_data_free(&d);
        }
    }
    print_message("%d of %d mutated CSV files loaded\n", loaded, n_rounds);
}

/* Mutations of the images file, the labels file, or their gzip forms. */
static void idx_mutations(void **state)
{
    (void)state;
    static const unsigned char px[12] = {0, 255, 51, 102, 255, 0, 0, 0, 1, 2, 3, 254};
    static const unsigned char lb[3] = {2, 0, 1};
    uint32_t dims[3] = {3, 2, 2}, ldims[1] = {3};
    size_t im_n, lb_n;
    unsigned char *im = idx_bytes(3, dims, px, sizeof px, &im_n);
    unsigned char *lab = idx_bytes(1, ldims, lb, sizeof lb, &lb_n);
    size_t im_gz_n, lb_gz_n;
    unsigned char *im_gz = gzip_bytes(im, im_n, &im_gz_n);
    unsigned char *lb_gz = gzip_bytes(lab, lb_n, &lb_gz_n);
    unsigned char buf[256];
    RtRng r;
    rt_rng_seed(&r, 99);
    int loaded = 0, n_rounds = rounds();
    for (int round = 0; round < n_rounds; round++) {
        /* Which file is mutated: images, labels, images.gz, labels.gz;
         * the other one of the pair is good, compressed alike. */
        int which = round % 4;
        bool gz = which >= 2, mutate_images = which % 2 == 0;
        const unsigned char *good_im = gz ? im_gz : im, *good_lb = gz ? lb_gz : lab;
        size_t good_im_n = gz ? im_gz_n : im_n, good_lb_n = gz ? lb_gz_n : lb_n;
        size_t n = mutate_images ? good_im_n : good_lb_n;
        assert_true(n <= sizeof buf);
        memcpy(buf, mutate_images ? good_im : good_lb, n);
        mutate(&r, buf, &n, sizeof buf);
        if (mutate_images) {
            write_file("fz_im", buf, n);
            write_file("fz_lb", good_lb, good_lb_n);
        } else {
            write_file("fz_im", good_im, good_im_n);
            write_file("fz_lb", buf, n);
        }
        RtData d;
        RtError err;
        bool ok = rt_load_idx("fz_im", "fz_lb", 4, round % 3 == 0 ? 1 : 3, &d, &err);
        if (!ok && strncmp(err.msg, "fz_im", 5) != 0 && strncmp(err.msg, "fz_lb", 5) != 0)
            fail_msg("message names neither file: %s", err.msg);
        if (ok) {
            loaded++;
            for (int64_t i = 0; i < d.n * 4; i++)
                assert_true(d.x[i] >= 0.0f && d.x[i] <= 1.0f);
            rt_data_free(&d);
        }
        (void)rt_is_idx(mutate_images ? "fz_im" : "fz_lb");
    }
    print_message("%d of %d mutated IDX file pairs loaded\n", loaded, n_rounds);
    free(im);
    free(lab);
    free(im_gz);
    free(lb_gz);
}

#define T(f) {"fuzz_" #f, f, NULL, NULL, NULL}
const struct CMUnitTest fuzz_tests[] = {
    T(csv_mutations),
    T(idx_mutations),
};
const size_t fuzz_count = sizeof fuzz_tests / sizeof fuzz_tests[0];
