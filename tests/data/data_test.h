/* data_test.h — shared by the tests of runtime/data.c (cmocka). */
#ifndef DATA_TEST_H
#define DATA_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nnc_rt.h"

/* The tests run in a fresh temporary directory (main.c makes it the working
 * directory), so files have short names and messages read "bad.csv:3:5: ...". */

void write_file(const char *name, const void *data, size_t n);
void write_text(const char *name, const char *text);
/* gzip-compresses data into the file `name`. */
void write_gz(const char *name, const void *data, size_t n);
/* The gzip-compressed form of data, malloc'd; its size in *out_n. */
unsigned char *gzip_bytes(const void *data, size_t n, size_t *out_n);

/* An IDX file of unsigned bytes in memory: the header for dims[0..n_dims)
 * and `n_data` bytes of data, malloc'd; its size in *out_n. */
unsigned char *idx_bytes(int n_dims, const uint32_t *dims, const unsigned char *data, size_t n_data, size_t *out_n);

/* Loads and expects failure with exactly `msg`. */
void expect_csv_error(const char *path, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs,
                      bool classify, const char *msg);
void expect_idx_error(const char *images, const char *labels, int64_t n_inputs, int64_t n_outputs,
                      const char *msg);

/* A CSV file from text, loaded; fails the test on an error. */
void load_csv_text(const char *text, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                   RtData *d);

extern const struct CMUnitTest csv_tests[], idx_tests[], fuzz_tests[], stream_tests[];
extern const size_t csv_count, idx_count, fuzz_count, stream_count;

#endif
