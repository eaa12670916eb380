/* test_csv.c — rt_load_csv: good files, and every kind of malformed one,
 * each with its exact message. */
#include "data_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const RtCsvOptions AUTO = {RT_HEADER_AUTO, -1, 0};
static const RtCsvOptions YES = {RT_HEADER_YES, -1, 0};
static const RtCsvOptions NO = {RT_HEADER_NO, -1, 0};

static void expect_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("value %zu: %g, expected %g", i, (double)got[i], (double)want[i]);
}

/* ---- good files ---- */

static void header_auto_detected(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("x1,x2,y\n1,2,0.5\n3,4,-1.5\n", &AUTO, 2, 1, false, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.x, (const float[]){1, 2, 3, 4}, 4);
    expect_floats(d.t, (const float[]){0.5f, -1.5f}, 2);
    assert_null(d.label);
    rt_data_free(&d);
    assert_null(d.x);
    rt_data_free(&d);   /* twice is harmless */
}

static void no_header_auto(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("1,2,3\n4,5,6\n", &AUTO, 2, 1, false, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.x, (const float[]){1, 2, 4, 5}, 4);
    expect_floats(d.t, (const float[]){3, 6}, 2);
    rt_data_free(&d);
}

static void null_options_mean_auto(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("a,b\n1,2\n", NULL, 1, 1, false, &d);
    assert_int_equal(d.n, 1);
    rt_data_free(&d);
}

static void header_yes_skips_numeric_row(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("1,2,3\n4,5,6\n", &YES, 2, 1, false, &d);
    assert_int_equal(d.n, 1);
    expect_floats(d.x, (const float[]){4, 5}, 2);
    rt_data_free(&d);
}

static void label_mode_one_hot(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("a,b,class\n0.5,1,2\n1,0,0\n-1,7,1\n", &AUTO, 2, 3, true, &d);
    assert_int_equal(d.n, 3);
    expect_floats(d.x, (const float[]){0.5f, 1, 1, 0, -1, 7}, 6);
    expect_floats(d.t, (const float[]){0, 0, 1, 1, 0, 0, 0, 1, 0}, 9);
    assert_non_null(d.label);
    assert_int_equal(d.label[0], 2);
    assert_int_equal(d.label[1], 0);
    assert_int_equal(d.label[2], 1);
    rt_data_free(&d);
}

static void label_column_first(void **state)
{
    (void)state;
    RtCsvOptions opt = {RT_HEADER_NO, 0, 0};
    RtData d;
    load_csv_text("2,0.5,1\n0,1,0\n1.0,3,4\n", &opt, 2, 3, true, &d);
    assert_int_equal(d.n, 3);
    expect_floats(d.x, (const float[]){0.5f, 1, 1, 0, 3, 4}, 6);
    expect_floats(d.t, (const float[]){0, 0, 1, 1, 0, 0, 0, 1, 0}, 9);
    assert_int_equal(d.label[0], 2);
    assert_int_equal(d.label[2], 1);
    rt_data_free(&d);
}

static void label_column_middle(void **state)
{
    (void)state;
    RtCsvOptions opt = {RT_HEADER_AUTO, 1, 0};
    RtData d;
    load_csv_text("x,label,y\n5,1,6\n", &opt, 2, 2, true, &d);
    expect_floats(d.x, (const float[]){5, 6}, 2);
    expect_floats(d.t, (const float[]){0, 1}, 2);
    assert_int_equal(d.label[0], 1);
    rt_data_free(&d);
}

static void one_hot_targets_give_labels(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("1,2,0,0,1\n3,4,0,1,0\n", &AUTO, 2, 3, true, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.t, (const float[]){0, 0, 1, 0, 1, 0}, 6);
    assert_non_null(d.label);
    assert_int_equal(d.label[0], 2);
    assert_int_equal(d.label[1], 1);
    rt_data_free(&d);
}

static void soft_targets_give_no_labels(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("1,2,0,0,1\n3,4,0.1,0.9,0\n", &AUTO, 2, 3, true, &d);
    expect_floats(d.t, (const float[]){0, 0, 1, 0.1f, 0.9f, 0}, 6);
    assert_null(d.label);
    rt_data_free(&d);
}

static void binary_targets_are_labels(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("0,0,0\n0,1,1\n1,0,1\n1,1,0\n", &AUTO, 2, 1, true, &d);
    assert_int_equal(d.n, 4);
    assert_non_null(d.label);
    assert_int_equal(d.label[0], 0);
    assert_int_equal(d.label[1], 1);
    assert_int_equal(d.label[3], 0);
    rt_data_free(&d);
    load_csv_text("0,0,0\n0,1,0.5\n", &AUTO, 2, 1, true, &d);
    assert_null(d.label);
    rt_data_free(&d);
}

static void regression_targets(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("x,y1,y2\n0.25,1e3,-2.5E-1\n", &AUTO, 1, 2, false, &d);
    expect_floats(d.x, (const float[]){0.25f}, 1);
    expect_floats(d.t, (const float[]){1000, -0.25f}, 2);
    assert_null(d.label);
    rt_data_free(&d);
}

static void number_forms(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("+1,-.5,2.,1E-2,007,-0,1e-50\n", &NO, 6, 1, false, &d);
    expect_floats(d.x, (const float[]){1, -0.5f, 2, 0.01f, 7, 0}, 6);
    expect_floats(d.t, (const float[]){0}, 1);   /* underflows to zero: fine */
    rt_data_free(&d);
}

static void crlf_and_blanks(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("a , b ,c\r\n 1 ,\t2 , 3\r\n4,5,6\r\n\r\n", &AUTO, 2, 1, false, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.x, (const float[]){1, 2, 4, 5}, 4);
    expect_floats(d.t, (const float[]){3, 6}, 2);
    rt_data_free(&d);
}

static void trailing_blank_lines_and_no_final_newline(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("1,2\n3,4\n\n  \n\n", &AUTO, 1, 1, false, &d);
    assert_int_equal(d.n, 2);
    rt_data_free(&d);
    load_csv_text("1,2\n3,4", &AUTO, 1, 1, false, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.t, (const float[]){2, 4}, 2);
    rt_data_free(&d);
}

static void byte_order_mark(void **state)
{
    (void)state;
    RtData d;
    load_csv_text("\xEF\xBB\xBF" "1,2\n3,4\n", &NO, 1, 1, false, &d);
    assert_int_equal(d.n, 2);
    expect_floats(d.x, (const float[]){1, 3}, 2);
    rt_data_free(&d);
}

/* A row of 100000 columns: longer than any buffer's first size. */
static void very_long_lines(void **state)
{
    (void)state;
    int64_t n_in = 100000;
    size_t cap = 3 * ((size_t)n_in * 12 + 64), o = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int row = 0; row < 3; row++) {
        for (int64_t i = 0; i < n_in; i++)
            o += (size_t)snprintf(text + o, cap - o, "%.3f,", (double)(i % 1000) / 8.0);
        o += (size_t)snprintf(text + o, cap - o, "%d\n", row);
        assert_true(o < cap);
    }
    RtData d;
    load_csv_text(text, &NO, n_in, 3, true, &d);
    free(text);
    assert_int_equal(d.n, 3);
    assert_true(d.x[999] == 999.0f / 8.0f);
    assert_true(d.x[2 * n_in + 1001] == 1.0f / 8.0f);
    assert_int_equal(d.label[2], 2);
    rt_data_free(&d);
}

static void many_rows(void **state)
{
    (void)state;
    FILE *f = fopen("many.csv", "w");
    assert_non_null(f);
    fprintf(f, "x,y\n");
    for (int i = 0; i < 50000; i++)
        fprintf(f, "%d,%d\n", i, i % 2);
    fclose(f);
    RtData d;
    RtError err;
    if (!rt_load_csv("many.csv", &AUTO, 1, 1, true, &d, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(d.n, 50000);
    assert_true(d.x[49999] == 49999.0f);
    assert_int_equal(d.label[49999], 1);
    rt_data_free(&d);
}

static void gzip_csv(void **state)
{
    (void)state;
    const char *text = "a,b,c\n1,2,1\n3,4,0\n";
    write_gz("t.csv.gz", text, strlen(text));
    RtData d;
    RtError err;
    if (!rt_load_csv("t.csv.gz", &AUTO, 2, 2, true, &d, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(d.n, 2);
    expect_floats(d.t, (const float[]){0, 1, 1, 0}, 4);
    rt_data_free(&d);
}

/* ---- malformed files ---- */

static void not_a_number(void **state)
{
    (void)state;
    write_text("bad.csv", "a,b,c\n1,2,3\n4,abc,6\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:3:3: 'abc' is not a number");
    write_text("bad.csv", "1,2,3\n 4 , 5x ,6\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:6: '5x' is not a number");
    write_text("bad.csv", "1,2,3\n1,2,0x10\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: '0x10' is not a number");
    write_text("bad.csv", "1,2,3\n1,2,\"3\"\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: '\"3\"' is not a number");
    write_text("bad.csv", "1,2,3\n1,2,1e\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: '1e' is not a number");
    write_text("bad.csv", "1,2,3\n1,.,3\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:3: '.' is not a number");
}

static void header_no_refuses_text(void **state)
{
    (void)state;
    write_text("bad.csv", "x1,x2,y\n1,2,3\n");
    expect_csv_error("bad.csv", &NO, 2, 1, false, "bad.csv:1:1: 'x1' is not a number");
}

static void empty_field(void **state)
{
    (void)state;
    write_text("bad.csv", "1,2,3\n1,,3\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:3: empty field, expected a number");
    write_text("bad.csv", "1,2,3\n1,2,  \n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: empty field, expected a number");
}

static void nan_and_inf_refused(void **state)
{
    (void)state;
    static const char *const words[] = {"nan", "NaN", "-inf", "Infinity", "+INF", "nan(0x1)"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char text[64], msg[160];
        snprintf(text, sizeof text, "1,2,3\n4,%s,6\n", words[i]);
        write_text("bad.csv", text);
        snprintf(msg, sizeof msg, "bad.csv:2:3: '%s' is not a finite number (NaN and infinity are refused)",
                 words[i]);
        expect_csv_error("bad.csv", &AUTO, 2, 1, false, msg);
    }
    /* Not taken for a header: a first row with NaN is data, and refused. */
    write_text("bad.csv", "1,nan,3\n4,5,6\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:1:3: 'nan' is not a finite number (NaN and infinity are refused)");
}

static void out_of_range(void **state)
{
    (void)state;
    write_text("bad.csv", "1,2,3\n4,5,1e39\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: '1e39' is out of range for a float (at most 3.4e38)");
    write_text("bad.csv", "1,2,3\n-1e999,5,6\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:2:1: '-1e999' is out of range for a float (at most 3.4e38)");
}

static void wrong_column_count(void **state)
{
    (void)state;
    /* The first row: either shape would do. */
    write_text("bad.csv", "a,b,c,d\n1,2,3,4,5,6\n");
    expect_csv_error("bad.csv", &AUTO, 2, 2, true,
                     "bad.csv:2: 6 columns, expected 4 (2 inputs + 2 targets) or 3 (2 inputs + 1 label)");
    /* Regression: only one shape. */
    expect_csv_error("bad.csv", &AUTO, 2, 2, false, "bad.csv:2: 6 columns, expected 4 (2 inputs + 2 targets)");
    write_text("bad.csv", "7\n");
    expect_csv_error("bad.csv", &AUTO, 1, 1, false, "bad.csv:1: 1 column, expected 2 (1 input + 1 target)");
    /* A later row: the shape of the first decides. */
    write_text("bad.csv", "a,b,c\n1,2,1\n3,4,1\n5,6,0,0\n");
    expect_csv_error("bad.csv", &AUTO, 2, 2, true,
                     "bad.csv:4: 4 columns, expected 3 (2 inputs + 1 label, as on line 2)");
    write_text("bad.csv", "1,2,1,0\n3,4,1\n");
    expect_csv_error("bad.csv", &AUTO, 2, 2, true,
                     "bad.csv:2: 3 columns, expected 4 (2 inputs + 2 targets, as on line 1)");
}

/* The file's features do not match the network's inputs. */
static void feature_count_mismatch(void **state)
{
    (void)state;
    write_text("iris.csv", "sl,sw,pl,pw,species\n5.1,3.5,1.4,0.2,0\n");
    expect_csv_error("iris.csv", &AUTO, 3, 3, true,
                     "iris.csv:2: 5 columns, expected 6 (3 inputs + 3 targets) or 4 (3 inputs + 1 label)");
    expect_csv_error("iris.csv", &AUTO, 784, 10, true,
                     "iris.csv:2: 5 columns, expected 794 (784 inputs + 10 targets) or 785 (784 inputs + 1 label)");
}

static void other_separators(void **state)
{
    (void)state;
    write_text("bad.csv", "a;b;c\n1;2;3\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:2: 1 column, expected 3 (2 inputs + 1 target); are the fields separated by ';'? nnc "
                     "reads comma-separated values");
    write_text("bad.csv", "1\t2\t3\n");
    expect_csv_error("bad.csv", &NO, 2, 1, false,
                     "bad.csv:1: 1 column, expected 3 (2 inputs + 1 target); are the fields separated by tabs? nnc "
                     "reads comma-separated values");
}

static void label_not_whole(void **state)
{
    (void)state;
    write_text("bad.csv", "a,b,c\n1,2,1\n3,4,1.5\n");
    expect_csv_error("bad.csv", &AUTO, 2, 3, true, "bad.csv:3:5: label 1.5 is not a whole class number");
}

static void label_outside_classes(void **state)
{
    (void)state;
    write_text("bad.csv", "a,b,c\n1,2,1\n3,4,7\n");
    expect_csv_error("bad.csv", &AUTO, 2, 3, true, "bad.csv:3:5: label 7 is outside the network's 3 classes (0..2)");
    write_text("bad.csv", "1,2,-1\n");
    expect_csv_error("bad.csv", &AUTO, 2, 3, true, "bad.csv:1:5: label -1 is outside the network's 3 classes (0..2)");
    write_text("bad.csv", "1,2,3.0\n");
    expect_csv_error("bad.csv", &AUTO, 2, 3, true, "bad.csv:1:5: label 3.0 is outside the network's 3 classes (0..2)");
    write_text("bad.csv", "1,2,1e300\n");
    expect_csv_error("bad.csv", &AUTO, 2, 3, true,
                     "bad.csv:1:5: label 1e300 is outside the network's 3 classes (0..2)");
}

static void label_column_beyond_row(void **state)
{
    (void)state;
    RtCsvOptions opt = {RT_HEADER_AUTO, 5, 0};
    write_text("bad.csv", "1,2,1\n");
    expect_csv_error("bad.csv", &opt, 2, 3, true, "bad.csv:1: label column 5 (0-based) is beyond the row's 3 columns");
    opt.label_col = -2;
    expect_csv_error("bad.csv", &opt, 2, 3, true,
                     "bad.csv: label column -2 is not a column (0-based, or -1 for the last)");
}

static void empty_files(void **state)
{
    (void)state;
    write_text("empty.csv", "");
    expect_csv_error("empty.csv", &AUTO, 2, 1, false, "empty.csv: the file is empty");
    write_text("blank.csv", "\n  \r\n\n");
    expect_csv_error("blank.csv", &AUTO, 2, 1, false, "blank.csv: no data rows, only blank lines");
    write_text("head.csv", "\nx1,x2,y\n\n");
    expect_csv_error("head.csv", &AUTO, 2, 1, false, "head.csv:2: a header and no data rows");
}

static void missing_file_and_directory(void **state)
{
    (void)state;
    expect_csv_error("nope.csv", &AUTO, 2, 1, false, "nope.csv: cannot open: No such file or directory");
    expect_csv_error(".", &AUTO, 2, 1, false, ".: is a directory, not a data file");
}

static void bad_shape(void **state)
{
    (void)state;
    write_text("t.csv", "1,2\n");
    expect_csv_error("t.csv", &AUTO, 0, 1, false, "t.csv: the network's shape (0 inputs, 1 outputs) is not usable");
}

static void control_bytes_and_long_fields_shown(void **state)
{
    (void)state;
    write_file("bad.csv", "1,2,3\n4,a\x02" "b\x01,6\n", 15);
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:3: 'a\\x02b\\x01' is not a number");
    /* A NUL byte: no text (a binary file given as data), said where it is. */
    write_file("bad.csv", "1,2,3\n4,a\0b\x01,6\n", 16);
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:2:4: a NUL byte: this is no CSV text (a binary file?), nor an IDX file, whose first "
                     "bytes are 00 00, a type code and its number of dimensions");
    write_text("bad.csv", "1,2,3\n4,5,12345678901234567890123456789012345678901234567890x\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:2:5: '1234567890123456789012345678901234567890...' is not a number");
    /* UTF-8 shown as it is; bytes that are not UTF-8 escaped. */
    write_text("bad.csv", "1,2,3\n4,5,gr\xC3\xB6\xC3\x9F" "e\xFF\xC3\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false, "bad.csv:2:5: 'gr\xC3\xB6\xC3\x9F" "e\\xff\\xc3' is not a number");
    /* A long field is not cut inside a UTF-8 character. */
    write_text("bad.csv", "1,2,3\n4,5,123456789012345678901234567890123456789\xC3\xB6xyz\n");
    expect_csv_error("bad.csv", &AUTO, 2, 1, false,
                     "bad.csv:2:5: '123456789012345678901234567890123456789\xC3\xB6...' is not a number");
}

static void gzip_csv_truncated(void **state)
{
    (void)state;
    char text[4096];
    size_t o = 0;
    o += (size_t)snprintf(text + o, sizeof text - o, "a,b\n");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%d,%d\n", i * 7919 % 1000, i % 2);
    size_t n;
    unsigned char *gz = gzip_bytes(text, o, &n);
    write_file("cut.csv.gz", gz, n - 12);   /* the trailer and some data gone */
    RtData d;
    RtError err;
    assert_false(rt_load_csv("cut.csv.gz", &AUTO, 1, 1, false, &d, &err));
    assert_non_null(strstr(err.msg, ": the gzip data is cut short (the file is truncated)"));
    assert_true(strncmp(err.msg, "cut.csv.gz:", 11) == 0);
    /* Only the trailer gone: still refused. */
    write_file("cut.csv.gz", gz, n - 4);
    expect_csv_error("cut.csv.gz", &AUTO, 1, 1, false,
                     "cut.csv.gz:302: the gzip data is cut short (the file is truncated)");
    /* A corrupt checksum. */
    gz[n - 8] ^= 0xFF;
    write_file("crc.csv.gz", gz, n);
    char msg[200];
    snprintf(msg, sizeof msg, "crc.csv.gz: compressed byte %zu: the gzip data is corrupt (incorrect data check)", n - 4);
    expect_csv_error("crc.csv.gz", &AUTO, 1, 1, false, msg);
    free(gz);
}

#define T(f) {"csv_" #f, f, NULL, NULL, NULL}
const struct CMUnitTest csv_tests[] = {
    T(header_auto_detected),
    T(no_header_auto),
    T(null_options_mean_auto),
    T(header_yes_skips_numeric_row),
    T(label_mode_one_hot),
    T(label_column_first),
    T(label_column_middle),
    T(one_hot_targets_give_labels),
    T(soft_targets_give_no_labels),
    T(binary_targets_are_labels),
    T(regression_targets),
    T(number_forms),
    T(crlf_and_blanks),
    T(trailing_blank_lines_and_no_final_newline),
    T(byte_order_mark),
    T(very_long_lines),
    T(many_rows),
    T(gzip_csv),
    T(not_a_number),
    T(header_no_refuses_text),
    T(empty_field),
    T(nan_and_inf_refused),
    T(out_of_range),
    T(wrong_column_count),
    T(feature_count_mismatch),
    T(other_separators),
    T(label_not_whole),
    T(label_outside_classes),
    T(label_column_beyond_row),
    T(empty_files),
    T(missing_file_and_directory),
    T(bad_shape),
    T(control_bytes_and_long_fields_shown),
    T(gzip_csv_truncated),
};
const size_t csv_count = sizeof csv_tests / sizeof csv_tests[0];
