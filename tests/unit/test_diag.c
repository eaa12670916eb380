/* test_diag.c — diag.c: message format, quoted line and caret, counting,
 * the error cap, and "did you mean" suggestions. */
#include "unit.h"

#include <string.h>

static Loc at(int line, int col, int last_col)
{
    Loc l = {line, col, line, last_col};
    return l;
}

/* The `n`th line (0-based) of `text`, without its newline, in `out`. */
static const char *nth_line(const char *text, int n, char *out, size_t cap)
{
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    size_t len = strcspn(p, "\n");
    assert_true(len < cap);
    memcpy(out, p, len);
    out[len] = '\0';
    return out;
}

static void diag_error_format_with_quote_and_caret(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "network x {\n  dense 2 sigmod\n}\n");
    diag_at(&fx->diag, DIAG_ERROR, at(2, 11, 17), "unknown activation '%s'", "sigmod");
    assert_string_equal(fx_output(fx),
                        "t.nn:2:11: error: unknown activation 'sigmod'\n"
                        "    2 |   dense 2 sigmod\n"
                        "      |           ^~~~~~\n");
}

static void diag_warning_and_note_levels(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "input 2\n");
    diag_at(&fx->diag, DIAG_WARNING, at(1, 1, 6), "w");
    diag_at(&fx->diag, DIAG_NOTE, at(1, 7, 8), "n");
    assert_string_equal(fx_output(fx),
                        "t.nn:1:1: warning: w\n"
                        "    1 | input 2\n"
                        "      | ^~~~~\n"
                        "t.nn:1:7: note: n\n"
                        "    1 | input 2\n"
                        "      |       ^\n");
}

static void diag_counts_errors_and_warnings_not_notes(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "x\n");
    diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "e1");
    diag_at(&fx->diag, DIAG_WARNING, at(1, 1, 2), "w1");
    diag_at(&fx->diag, DIAG_NOTE, at(1, 1, 2), "n1");
    diag_plain(&fx->diag, DIAG_ERROR, "e2");
    assert_int_equal(fx->diag.n_errors, 2);
    assert_int_equal(fx->diag.n_warnings, 1);
}

static void diag_single_caret_for_empty_span(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "abc def\n");
    diag_at(&fx->diag, DIAG_ERROR, at(1, 5, 5), "here");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 2, line, sizeof line), "      |     ^");
}

static void diag_multiline_span_marks_first_column_only(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "network a {\n  input 2\n}\n");
    Loc l = {1, 9, 3, 2};
    diag_at(&fx->diag, DIAG_ERROR, l, "block");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 1, line, sizeof line), "    1 | network a {");
    assert_string_equal(nth_line(fx_output(fx), 2, line, sizeof line), "      |         ^");
}

static void diag_caret_line_keeps_tabs(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "network a {\n\tdense\t2 bad\n}\n");
    diag_at(&fx->diag, DIAG_ERROR, at(2, 10, 13), "bad");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 1, line, sizeof line), "    2 | \tdense\t2 bad");
    assert_string_equal(nth_line(fx_output(fx), 2, line, sizeof line), "      | \t     \t  ^~~");
}

static void diag_span_clipped_at_end_of_line(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "dense 2\nloss mse\n");
    diag_at(&fx->diag, DIAG_ERROR, at(1, 7, 50), "too long a span");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 2, line, sizeof line), "      |       ^");
}

static void diag_quote_drops_carriage_return(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "network a {\r\n  input 2\r\n}\r\n");
    diag_at(&fx->diag, DIAG_ERROR, at(2, 3, 8), "crlf");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 1, line, sizeof line), "    2 |   input 2");
}

static void diag_control_bytes_shown_as_question_marks(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "a\x01" "b\n");
    diag_at(&fx->diag, DIAG_ERROR, at(1, 2, 3), "byte");
    char line[256];
    assert_string_equal(nth_line(fx_output(fx), 1, line, sizeof line), "    1 | a?b");
}

static void diag_long_line_quoted_as_window(void **state)
{
    Fx *fx = *state;
    char text[400];
    for (int i = 0; i < 300; i++)
        text[i] = (char)('a' + i % 26);
    text[300] = '\n';
    text[301] = '\0';
    fx_source(fx, text);
    diag_at(&fx->diag, DIAG_ERROR, at(1, 200, 203), "far");
    char quoted[512], caret[512];
    nth_line(fx_output(fx), 1, quoted, sizeof quoted);
    nth_line(fx_output(fx), 2, caret, sizeof caret);
    assert_true(strlen(quoted) < 140);   /* not all 300 characters */
    assert_memory_equal(quoted, "    1 | ...", 11);
    assert_string_equal(quoted + strlen(quoted) - 3, "...");
    /* The caret is under column 200 of the source, the character text[199]. */
    const char *caret_at = strchr(caret, '^');
    assert_non_null(caret_at);
    size_t col = (size_t)(caret_at - caret);
    assert_true(col < strlen(quoted));
    assert_memory_equal(quoted + col, text + 199, 3);
    assert_string_equal(caret_at, "^~~");
}

static void diag_location_past_end_of_file_has_no_quote(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "input 2\n");
    diag_at(&fx->diag, DIAG_ERROR, at(5, 1, 2), "gone");
    assert_string_equal(fx_output(fx), "t.nn:5:1: error: gone\n");
}

static void diag_without_location_names_file_only(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "input 2\n");
    Loc none = {0, 0, 0, 0};
    diag_at(&fx->diag, DIAG_ERROR, none, "whole file");
    assert_string_equal(fx_output(fx), "t.nn: error: whole file\n");
}

static void diag_without_source_uses_nnc(void **state)
{
    Fx *fx = *state;
    diag_at(&fx->diag, DIAG_ERROR, at(3, 4, 5), "no source");
    assert_string_equal(fx_output(fx), "nnc:3:4: error: no source\n");
}

static void diag_plain_format(void **state)
{
    Fx *fx = *state;
    diag_plain(&fx->diag, DIAG_ERROR, "cannot open '%s': %s", "x.nn", "No such file or directory");
    diag_plain(&fx->diag, DIAG_WARNING, "careful");
    assert_string_equal(fx_output(fx), "nnc: error: cannot open 'x.nn': No such file or directory\n"
                                       "nnc: warning: careful\n");
}

static void diag_error_cap_stops_after_max_errors(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "x\n");
    for (int i = 0; i < NNC_MAX_ERRORS + 5; i++)
        diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "error number %d", i);
    const char *out = fx_output(fx);
    assert_int_equal(fx->diag.n_errors, NNC_MAX_ERRORS);
    assert_true(fx->diag.too_many);
    assert_int_equal(count_substr(out, ": error: "), NNC_MAX_ERRORS);
    assert_int_equal(count_substr(out, "too many errors"), 1);
    assert_contains(out, "nnc: too many errors (20); stopping\n");
    char last[32];
    snprintf(last, sizeof last, "error number %d\n", NNC_MAX_ERRORS - 1);
    assert_contains(out, last);
    snprintf(last, sizeof last, "error number %d\n", NNC_MAX_ERRORS);
    assert_not_contains(out, last);
}

static void diag_after_cap_everything_is_dropped(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "x\n");
    for (int i = 0; i < NNC_MAX_ERRORS + 1; i++)
        diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "e");
    size_t len = strlen(fx_output(fx));
    diag_at(&fx->diag, DIAG_WARNING, at(1, 1, 2), "late warning");
    diag_at(&fx->diag, DIAG_NOTE, at(1, 1, 2), "late note");
    diag_plain(&fx->diag, DIAG_ERROR, "late plain");
    assert_int_equal(strlen(fx_output(fx)), len);
    assert_int_equal(fx->diag.n_warnings, 0);
}

static void diag_exactly_max_errors_is_not_too_many(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "x\n");
    for (int i = 0; i < NNC_MAX_ERRORS; i++)
        diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "e");
    assert_false(fx->diag.too_many);
    assert_not_contains(fx_output(fx), "too many");
}

static void diag_color_wraps_level_and_caret(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "input 2\n");
    fx->diag.color = true;
    diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 6), "c");
    const char *out = fx_output(fx);
    assert_contains(out, "\033[1;31merror:\033[0m c\n");
    assert_contains(out, "\033[1;32m^~~~~\033[0m\n");
}

static void diag_clips_long_quoted_word(void **state)
{
    Fx *fx = *state;
    char word[101];
    memset(word, 'w', 100);
    word[100] = '\0';
    fx_source(fx, "x\n");
    diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "unknown activation '%s'; expected relu", word);
    char want[128];
    snprintf(want, sizeof want, "error: unknown activation '%.40s...'; expected relu\n", word);
    assert_contains(fx_output(fx), want);
}

static void diag_keeps_short_quoted_words_far_apart(void **state)
{
    Fx *fx = *state;
    fx_source(fx, "x\n");
    /* Two short quoted words with more than 40 characters between them: the
     * text between is not a quoted word and must not be clipped. */
    const char *msg = "unexpected '='; expected a word, a number, dimensions, end of line or '}'";
    diag_at(&fx->diag, DIAG_ERROR, at(1, 1, 2), "%s", msg);
    char want[160];
    snprintf(want, sizeof want, "t.nn:1:1: error: %s\n", msg);
    assert_contains(fx_output(fx), want);
}

/* ---- loc_span and suggest_word ---- */

static void loc_span_joins_first_and_last(void **state)
{
    (void)state;
    Loc a = {2, 5, 2, 9}, b = {4, 1, 4, 3};
    Loc s = loc_span(a, b);
    assert_int_equal(s.first_line, 2);
    assert_int_equal(s.first_column, 5);
    assert_int_equal(s.last_line, 4);
    assert_int_equal(s.last_column, 3);
}

static const char *const keywords[] = {"input", "dense", "conv", "maxpool", "avgpool", "flatten",
                                       "loss", "optimizer", "batch", "init", "seed"};
enum { N_KEYWORDS = sizeof keywords / sizeof keywords[0] };

static void suggest_word_finds_close_keyword(void **state)
{
    (void)state;
    assert_string_equal(suggest_word("dens", keywords, N_KEYWORDS), "dense");
    assert_string_equal(suggest_word("optimiser", keywords, N_KEYWORDS), "optimizer");
    assert_string_equal(suggest_word("flaten", keywords, N_KEYWORDS), "flatten");
}

static void suggest_word_rejects_distant_word(void **state)
{
    (void)state;
    assert_null(suggest_word("xyz", keywords, N_KEYWORDS));
    assert_null(suggest_word("network", keywords, N_KEYWORDS));
}

static void suggest_word_short_words_allow_one_edit(void **state)
{
    (void)state;
    static const char *const losses[] = {"mse", "cross_entropy"};
    assert_string_equal(suggest_word("mae", losses, 2), "mse");
    assert_null(suggest_word("ab", losses, 2));   /* 3 edits from "mse" */
}

static void suggest_word_skips_null_choices(void **state)
{
    (void)state;
    static const char *const choices[] = {NULL, "momentum", NULL, "lr"};
    assert_string_equal(suggest_word("momentun", choices, 4), "momentum");
    assert_null(suggest_word("beta1", choices, 4));
}

UNIT_TESTS(diag,
    FX_TEST(diag_error_format_with_quote_and_caret),
    FX_TEST(diag_warning_and_note_levels),
    FX_TEST(diag_counts_errors_and_warnings_not_notes),
    FX_TEST(diag_single_caret_for_empty_span),
    FX_TEST(diag_multiline_span_marks_first_column_only),
    FX_TEST(diag_caret_line_keeps_tabs),
    FX_TEST(diag_span_clipped_at_end_of_line),
    FX_TEST(diag_quote_drops_carriage_return),
    FX_TEST(diag_control_bytes_shown_as_question_marks),
    FX_TEST(diag_long_line_quoted_as_window),
    FX_TEST(diag_location_past_end_of_file_has_no_quote),
    FX_TEST(diag_without_location_names_file_only),
    FX_TEST(diag_without_source_uses_nnc),
    FX_TEST(diag_plain_format),
    FX_TEST(diag_error_cap_stops_after_max_errors),
    FX_TEST(diag_after_cap_everything_is_dropped),
    FX_TEST(diag_exactly_max_errors_is_not_too_many),
    FX_TEST(diag_color_wraps_level_and_caret),
    FX_TEST(diag_clips_long_quoted_word),
    FX_TEST(diag_keeps_short_quoted_words_far_apart),
    cmocka_unit_test(loc_span_joins_first_and_last),
    cmocka_unit_test(suggest_word_finds_close_keyword),
    cmocka_unit_test(suggest_word_rejects_distant_word),
    cmocka_unit_test(suggest_word_short_words_allow_one_edit),
    cmocka_unit_test(suggest_word_skips_null_choices))
