/* unit.h — shared by the unit tests of the compiler's parts (cmocka).
 *
 * Every test gets a fresh fixture (Fx) through its setup: an arena and a
 * Diag whose messages go to an in-memory stream, so tests can assert on the
 * exact text nnc would print.  The teardown frees both, also after a failed
 * assertion, so the sanitizer build sees no leaks. */
#ifndef NNC_UNIT_H
#define NNC_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nnc.h"

typedef struct Fx {
    Arena *arena;
    Diag diag;          /* writes to `out` */
    FILE *out;
    char *text;         /* what was written to `out` (open_memstream) */
    size_t text_len;
    Source src;
    Program *prog;
    Module *mod;
} Fx;

int fx_setup(void **state);
int fx_teardown(void **state);

/* A test with the fixture; its name is the function's name. */
#define FX_TEST(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/* Everything the Diag printed so far. */
const char *fx_output(Fx *fx);
/* Sets fx->src to `text` (named "t.nn") and points the Diag at it. */
void fx_source(Fx *fx, const char *text);
/* source -> parse; returns fx->prog. */
Program *fx_parse(Fx *fx, const char *text);
/* parse (which must give no errors) -> check; returns fx->mod (NULL on errors). */
Module *fx_check(Fx *fx, const char *text);
/* check (which must give no errors) -> lower; returns whether lowering worked. */
bool fx_lower(Fx *fx, const char *text);
/* The only network of a text that must check and lower without errors. */
Net *fx_net(Fx *fx, const char *text);

/* How often `needle` occurs in `hay`. */
int count_substr(const char *hay, const char *needle);

/* Assertions that show the diagnostics when they fail. */
void unit_assert_contains(const char *hay, const char *needle, const char *file, int line);
void unit_assert_not_contains(const char *hay, const char *needle, const char *file, int line);
void unit_assert_errors(Fx *fx, int n, const char *file, int line);
#define assert_contains(hay, needle) unit_assert_contains((hay), (needle), __FILE__, __LINE__)
#define assert_not_contains(hay, needle) unit_assert_not_contains((hay), (needle), __FILE__, __LINE__)
/* exactly n errors were reported */
#define assert_errors(fx, n) unit_assert_errors((fx), (n), __FILE__, __LINE__)
#define assert_no_errors(fx) unit_assert_errors((fx), 0, __FILE__, __LINE__)
/* two doubles equal within a relative 1e-12 */
#define assert_double_eq(a, b) assert_true(unit_close((a), (b)))
bool unit_close(double a, double b);

/* The groups, one per file; main.c runs them in this order. */
typedef struct UnitGroup {
    const char *name;
    const struct CMUnitTest *tests;
    const size_t *count;
} UnitGroup;

#define UNIT_GROUP(name)                            \
    extern const struct CMUnitTest name##_tests[];  \
    extern const size_t name##_count;
UNIT_GROUP(arena)
UNIT_GROUP(buf)
UNIT_GROUP(diag)
UNIT_GROUP(parse)
UNIT_GROUP(check)
UNIT_GROUP(lower)
UNIT_GROUP(output)
#undef UNIT_GROUP

/* Ends a test file: defines NAME_tests and NAME_count from the list. */
#define UNIT_TESTS(name, ...)                                          \
    const struct CMUnitTest name##_tests[] = {__VA_ARGS__};            \
    const size_t name##_count = sizeof name##_tests / sizeof name##_tests[0];

#endif
