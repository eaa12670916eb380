/* test_buf.c — runtime/buf.c: the growable buffer (RtBuf); emit_common.c:
 * fmt_float. */
#include "unit.h"
#include "emit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void buf_printf_appends_formatted_text(void **state)
{
    (void)state;
    RtBuf b = {0};
    rt_buf_printf(&b, "%s %d", "dense", 10);
    rt_buf_printf(&b, "/%lld", (long long)-3);
    assert_string_equal(b.data, "dense 10/-3");
    assert_int_equal(b.len, strlen("dense 10/-3"));
    assert_false(b.oom);
    rt_buf_free(&b);
}

static void buf_printf_grows_past_initial_capacity(void **state)
{
    (void)state;
    RtBuf b = {0};
    enum { N = 5000 };   /* 5000 * 7 bytes: several doublings of 4096 */
    for (int i = 0; i < N; i++)
        rt_buf_printf(&b, "%06d,", i);
    assert_false(b.oom);
    assert_int_equal(b.len, (size_t)N * 7);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    for (int i = 0; i < N; i++) {
        char want[8];
        snprintf(want, sizeof want, "%06d,", i);
        assert_memory_equal(b.data + (size_t)i * 7, want, 7);
    }
    rt_buf_free(&b);
}

static void buf_printf_single_write_larger_than_capacity(void **state)
{
    (void)state;
    RtBuf b = {0};
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    rt_buf_puts(&b, "<");
    rt_buf_printf(&b, "%s>", big);
    free(big);
    assert_int_equal(b.len, n + 2);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[n], 'x');
    assert_int_equal(b.data[n + 1], '>');
    assert_int_equal(b.data[n + 2], '\0');
    rt_buf_free(&b);
}

static void buf_puts_appends(void **state)
{
    (void)state;
    RtBuf b = {0};
    rt_buf_puts(&b, "ab");
    rt_buf_puts(&b, "");
    rt_buf_puts(&b, "cd");
    assert_string_equal(b.data, "abcd");
    assert_int_equal(b.len, 4);
    rt_buf_free(&b);
}

static void buf_free_resets(void **state)
{
    (void)state;
    RtBuf b = {0};
    rt_buf_puts(&b, "something");
    rt_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    rt_buf_puts(&b, "again");   /* usable after free */
    assert_string_equal(b.data, "again");
    rt_buf_free(&b);
}

/* ---- fmt_float ---- */

static void check_fmt(double v, const char *want)
{
    char out[32];
    const char *got = fmt_float(out, v);
    assert_ptr_equal(got, out);
    assert_string_equal(got, want);
}

/* The literal (without its 'f') reads back as exactly (float)v. */
static void check_round_trip(double v)
{
    char out[32];
    fmt_float(out, v);
    size_t len = strlen(out);
    assert_true(len >= 2);
    assert_int_equal(out[len - 1], 'f');
    char *end;
    float back = strtof(out, &end);
    assert_ptr_equal(end, out + len - 1);   /* all but the suffix is the number */
    assert_true(back == (float)v);
}

static void fmt_float_half(void **state)
{
    (void)state;
    check_fmt(0.5, "0.5f");
}

static void fmt_float_one_gets_decimal_point(void **state)
{
    (void)state;
    check_fmt(1, "1.0f");
}

static void fmt_float_tenth_is_shortest(void **state)
{
    (void)state;
    check_fmt(0.1, "0.1f");
}

static void fmt_float_negative_one(void **state)
{
    (void)state;
    check_fmt(-1, "-1.0f");
}

static void fmt_float_nine_digits_round_trips(void **state)
{
    (void)state;
    /* 0x1.9999ap-4 is the float after 0.1f's neighbour; it needs all 9 digits. */
    double v = 0x1.9999ap-4;
    check_round_trip(v);
    check_fmt(v, "0.100000024f");
}

static void fmt_float_tiny_uses_exponent(void **state)
{
    (void)state;
    check_round_trip(1e-8);
    check_fmt(1e-8, "1e-08f");
}

static void fmt_float_round_trips_many_values(void **state)
{
    (void)state;
    static const double v[] = {0.3, 0.001, 0.9, 0.999, 1e-3, 3.14159265, 123456, 16777216, 1e20, -2.5e-7,
                               1.17549435e-38, 1e-45, 3.40282347e38};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        check_round_trip(v[i]);
    float f = 0.1f;   /* a run of neighbours: each gets its own shortest literal */
    for (int i = 0; i < 1000; i++) {
        f = nextafterf(f, 1.0f);
        check_round_trip(f);
    }
}

static void fmt_float_whole_number_is_float_literal(void **state)
{
    (void)state;
    /* Whatever the spelling, it must be a float literal, not an int with 'f'. */
    static const double v[] = {2, 10, 100, 1000, 123456, -7};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[32];
        fmt_float(out, v[i]);
        assert_non_null(strpbrk(out, ".eE"));
        check_round_trip(v[i]);
    }
}

static void fmt_float_non_finite(void **state)
{
    (void)state;
    check_fmt(INFINITY, "HUGE_VALF");
    check_fmt(-INFINITY, "-HUGE_VALF");
    check_fmt(1e39, "HUGE_VALF");   /* finite double, infinite float */
    check_fmt(NAN, "(0.0f / 0.0f)");
}

UNIT_TESTS(buf,
    cmocka_unit_test(buf_printf_appends_formatted_text),
    cmocka_unit_test(buf_printf_grows_past_initial_capacity),
    cmocka_unit_test(buf_printf_single_write_larger_than_capacity),
    cmocka_unit_test(buf_puts_appends),
    cmocka_unit_test(buf_free_resets),
    cmocka_unit_test(fmt_float_half),
    cmocka_unit_test(fmt_float_one_gets_decimal_point),
    cmocka_unit_test(fmt_float_tenth_is_shortest),
    cmocka_unit_test(fmt_float_negative_one),
    cmocka_unit_test(fmt_float_nine_digits_round_trips),
    cmocka_unit_test(fmt_float_tiny_uses_exponent),
    cmocka_unit_test(fmt_float_round_trips_many_values),
    cmocka_unit_test(fmt_float_whole_number_is_float_literal),
    cmocka_unit_test(fmt_float_non_finite))
