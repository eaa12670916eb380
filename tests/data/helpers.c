/* helpers.c — files and expectations shared by the data tests. */
#include "data_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void write_file(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(name, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void write_text(const char *name, const char *text)
{
    write_file(name, text, strlen(text));
}

unsigned char *gzip_bytes(const void *data, size_t n, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper, as gzip(1) writes. */
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

void write_gz(const char *name, const void *data, size_t n)
{
    size_t gz_n;
    unsigned char *gz = gzip_bytes(data, n, &gz_n);
    write_file(name, gz, gz_n);
    free(gz);
}

unsigned char *idx_bytes(int n_dims, const uint32_t *dims, const unsigned char *data, size_t n_data, size_t *out_n)
{
    size_t n = 4 + 4 * (size_t)n_dims + n_data;
    unsigned char *b = malloc(n);
    assert_non_null(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)n_dims;
    for (int d = 0; d < n_dims; d++) {
        unsigned char *p = b + 4 + 4 * d;
        p[0] = (unsigned char)(dims[d] >> 24);
        p[1] = (unsigned char)(dims[d] >> 16);
        p[2] = (unsigned char)(dims[d] >> 8);
        p[3] = (unsigned char)dims[d];
    }
    if (n_data > 0)
        memcpy(b + 4 + 4 * n_dims, data, n_data);
    *out_n = n;
    return b;
}

void expect_csv_error(const char *path, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs,
                      bool classify, const char *msg)
{
    RtData d;
    RtError err;
    memset(&err, 0, sizeof err);
    bool ok = rt_load_csv(path, opt, n_inputs, n_outputs, classify, &d, &err);
    if (ok)
        rt_data_free(&d);
    assert_false(ok);
    assert_string_equal(err.msg, msg);
    /* The failed load leaves nothing to free. */
    assert_null(d.x);
    assert_null(d.t);
    assert_null(d.label);
    assert_null(d.source);
}

void expect_idx_error(const char *images, const char *labels, int64_t n_inputs, int64_t n_outputs,
                      const char *msg)
{
    RtData d;
    RtError err;
    memset(&err, 0, sizeof err);
    bool ok = rt_load_idx(images, labels, n_inputs, n_outputs, &d, &err);
    if (ok)
        rt_data_free(&d);
    assert_false(ok);
    assert_string_equal(err.msg, msg);
    assert_null(d.x);
    assert_null(d.t);
    assert_null(d.label);
    assert_null(d.source);
}

void load_csv_text(const char *text, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                   RtData *d)
{
    write_text("t.csv", text);
    RtError err;
    memset(&err, 0, sizeof err);
    bool ok = rt_load_csv("t.csv", opt, n_inputs, n_outputs, classify, d, &err);
    if (!ok)
        fail_msg("rt_load_csv: %s", err.msg);
    assert_int_equal(d->n_inputs, n_inputs);
    assert_int_equal(d->n_outputs, n_outputs);
    assert_string_equal(d->source, "t.csv");
    assert_true(d->image_c == 0 && d->image_h == 0 && d->image_w == 0);   /* CSV has no image shape */
}
