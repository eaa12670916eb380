/* test_parse.c — parse_program (grammar/lexer.l, grammar/parser.y, ast.c):
 * statements and arguments of every kind, separators, comments, several
 * networks, locations, and recovery from syntax errors. */
#include "unit.h"

#include <string.h>

static int count_nets(const Program *p)
{
    int n = 0;
    for (const NetDecl *d = p->nets; d; d = d->next)
        n++;
    return n;
}

static int count_stmts(const NetDecl *d)
{
    int n = 0;
    for (const Stmt *s = d->stmts; s; s = s->next)
        n++;
    return n;
}

static int count_args(const Arg *a)
{
    int n = 0;
    for (; a; a = a->next)
        n++;
    return n;
}

static const Stmt *stmt_at(const NetDecl *d, int i)
{
    const Stmt *s = d->stmts;
    for (; s && i > 0; i--)
        s = s->next;
    assert_non_null(s);
    return s;
}

static const Arg *arg_at(const Stmt *s, int i)
{
    const Arg *a = s->args;
    for (; a && i > 0; i--)
        a = a->next;
    assert_non_null(a);
    return a;
}

/* The first statement of a one-network program that parses cleanly. */
static const Stmt *only_stmt(Fx *fx, const char *text)
{
    Program *p = fx_parse(fx, text);
    assert_no_errors(fx);
    assert_int_equal(count_nets(p), 1);
    return stmt_at(p->nets, 0);
}

static void parse_statements_in_order(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network xor {\n"
                              "    input 2\n"
                              "    dense 2 sigmoid\n"
                              "    dense 1 sigmoid\n"
                              "    loss mse\n"
                              "}\n");
    assert_no_errors(fx);
    assert_int_equal(count_nets(p), 1);
    assert_string_equal(p->nets->name, "xor");
    assert_int_equal(count_stmts(p->nets), 4);
    static const char *const kw[] = {"input", "dense", "dense", "loss"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(stmt_at(p->nets, i)->kw, kw[i]);
    assert_int_equal(count_args(stmt_at(p->nets, 1)->args), 2);
    assert_int_equal(count_args(stmt_at(p->nets, 3)->args), 1);
}

static void parse_statement_without_args(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  flatten\n}\n");
    assert_string_equal(s->kw, "flatten");
    assert_null(s->args);
}

static void parse_integer_number_arg(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  dense 10\n}\n")->args;
    assert_int_equal(a->kind, ARG_NUMBER);
    assert_string_equal(a->text, "10");
    assert_true(a->is_int);
    assert_false(a->out_of_range);
    assert_double_eq(a->num, 10);
}

static void parse_real_number_args(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  x 0.5 -2 1e-3 .25 -3.5E2 7.\n}\n");
    static const double want[] = {0.5, -2, 1e-3, 0.25, -350, 7};
    static const bool is_int[] = {false, true, false, false, false, false};
    assert_int_equal(count_args(s->args), 6);
    for (int i = 0; i < 6; i++) {
        const Arg *a = arg_at(s, i);
        assert_int_equal(a->kind, ARG_NUMBER);
        assert_double_eq(a->num, want[i]);
        assert_int_equal(a->is_int, is_int[i]);
    }
    assert_string_equal(arg_at(s, 3)->text, ".25");   /* the number as written */
}

static void parse_huge_integer_is_out_of_range(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  dense 99999999999999999999999 1e999\n}\n");
    assert_true(arg_at(s, 0)->out_of_range);
    assert_true(arg_at(s, 1)->out_of_range);
}

static void parse_dims_arg(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  conv 8 3x3\n  input 1x28x28\n}\n");
    const Arg *k = arg_at(s, 1);
    assert_int_equal(k->kind, ARG_DIMS);
    assert_string_equal(k->text, "3x3");
    assert_int_equal(k->n_dims, 2);
    assert_int_equal(k->dims[0], 3);
    assert_int_equal(k->dims[1], 3);
    const Arg *in = stmt_at(fx->prog->nets, 1)->args;
    assert_int_equal(in->kind, ARG_DIMS);
    assert_int_equal(in->n_dims, 3);
    assert_int_equal(in->dims[0], 1);
    assert_int_equal(in->dims[1], 28);
    assert_int_equal(in->dims[2], 28);
}

static void parse_dims_counts_more_than_stored(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  input 1x2x3x4x5\n}\n")->args;
    assert_int_equal(a->kind, ARG_DIMS);
    assert_int_equal(a->n_dims, 5);   /* so check.c can say how many were given */
    assert_int_equal(a->dims[3], 4);
}

static void parse_word_arg(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  loss cross_entropy\n}\n")->args;
    assert_int_equal(a->kind, ARG_WORD);
    assert_string_equal(a->text, "cross_entropy");
}

static void parse_call_arg(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  init uniform(-1, 1)\n}\n")->args;
    assert_int_equal(a->kind, ARG_CALL);
    assert_string_equal(a->text, "uniform");
    assert_int_equal(count_args(a->args), 2);
    assert_int_equal(a->args->kind, ARG_NUMBER);
    assert_double_eq(a->args->num, -1);
    assert_double_eq(a->args->next->num, 1);
    assert_null(a->next);
}

static void parse_call_without_args(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  init xavier()\n}\n")->args;
    assert_int_equal(a->kind, ARG_CALL);
    assert_string_equal(a->text, "xavier");
    assert_null(a->args);
}

static void parse_call_with_word_value(void **state)
{
    Fx *fx = *state;
    const Arg *a = only_stmt(fx, "network a {\n  init f(x, 2)\n}\n")->args;
    assert_int_equal(a->kind, ARG_CALL);
    assert_int_equal(count_args(a->args), 2);
    assert_int_equal(a->args->kind, ARG_WORD);
    assert_string_equal(a->args->text, "x");
    assert_int_equal(a->args->next->kind, ARG_NUMBER);
}

static void parse_keyval_arg(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  optimizer sgd lr=0.5 momentum = 0.9 mode=fast\n}\n");
    assert_int_equal(count_args(s->args), 4);
    const Arg *lr = arg_at(s, 1);
    assert_int_equal(lr->kind, ARG_KEYVAL);
    assert_string_equal(lr->text, "lr");
    assert_non_null(lr->args);
    assert_int_equal(lr->args->kind, ARG_NUMBER);
    assert_double_eq(lr->args->num, 0.5);
    const Arg *m = arg_at(s, 2);
    assert_string_equal(m->text, "momentum");
    assert_double_eq(m->args->num, 0.9);
    const Arg *mode = arg_at(s, 3);
    assert_int_equal(mode->args->kind, ARG_WORD);
    assert_string_equal(mode->args->text, "fast");
}

static void parse_keyval_with_dims_value(void **state)
{
    Fx *fx = *state;
    const Arg *a = arg_at(only_stmt(fx, "network a {\n  conv 2 3x3 stride=2x1\n}\n"), 2);
    assert_int_equal(a->kind, ARG_KEYVAL);
    assert_string_equal(a->text, "stride");
    assert_int_equal(a->args->kind, ARG_DIMS);
    assert_int_equal(a->args->n_dims, 2);
    assert_int_equal(a->args->dims[0], 2);
    assert_int_equal(a->args->dims[1], 1);
}

static void parse_arg_locations(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n  dense 10 leaky_relu(0.2)\n}\n");
    assert_int_equal(s->kw_loc.first_line, 2);
    assert_int_equal(s->kw_loc.first_column, 3);
    assert_int_equal(s->kw_loc.last_column, 8);
    const Arg *n = arg_at(s, 0), *call = arg_at(s, 1);
    assert_int_equal(n->loc.first_column, 9);
    assert_int_equal(n->loc.last_column, 11);
    assert_int_equal(call->loc.first_column, 12);
    assert_int_equal(call->loc.last_column, 27);   /* through the ')' */
    assert_int_equal(s->loc.first_column, 3);     /* the statement spans all of it */
    assert_int_equal(s->loc.last_column, 27);
}

static void parse_network_locations(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "\n\nnetwork net1 {\n  input 2\n}\n");
    assert_no_errors(fx);
    assert_int_equal(p->nets->name_loc.first_line, 3);
    assert_int_equal(p->nets->name_loc.first_column, 9);
    assert_int_equal(p->nets->loc.first_line, 3);
    assert_int_equal(p->nets->loc.last_line, 5);
}

static void parse_several_networks_in_file_order(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network first {\n  input 1\n}\n\n"
                              "network second {\n  input 2\n  dense 3\n}\n"
                              "network third { input 3 }\n");
    assert_no_errors(fx);
    assert_int_equal(count_nets(p), 3);
    assert_string_equal(p->nets->name, "first");
    assert_string_equal(p->nets->next->name, "second");
    assert_string_equal(p->nets->next->next->name, "third");
    assert_int_equal(count_stmts(p->nets->next), 2);
}

static void parse_comments_are_ignored(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "# a file comment\n"
                              "network a { # after the brace\n"
                              "  # a whole-line comment\n"
                              "  input 2   # trailing\n"
                              "  dense 1 # dense 5 is commented out\n"
                              "}\n# the end");
    assert_no_errors(fx);
    assert_int_equal(count_stmts(p->nets), 2);
    assert_int_equal(count_args(stmt_at(p->nets, 1)->args), 1);
}

static void parse_semicolons_separate_statements(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a {\n  input 2; dense 3 relu;; dense 1\n  loss mse;\n}\n");
    assert_no_errors(fx);
    assert_int_equal(count_stmts(p->nets), 4);
    assert_string_equal(stmt_at(p->nets, 1)->kw, "dense");
    assert_int_equal(count_args(stmt_at(p->nets, 1)->args), 2);
    assert_string_equal(stmt_at(p->nets, 3)->kw, "loss");
}

static void parse_one_line_network(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a { input 2; dense 1 }");
    assert_no_errors(fx);
    assert_int_equal(count_nets(p), 1);
    assert_int_equal(count_stmts(p->nets), 2);
    assert_string_equal(stmt_at(p->nets, 1)->kw, "dense");
}

static void parse_brace_on_next_line(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a\n\n{\n  input 2\n}\n");
    assert_no_errors(fx);
    assert_int_equal(count_stmts(p->nets), 1);
}

static void parse_empty_network(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a {}\n");
    assert_no_errors(fx);
    assert_int_equal(count_nets(p), 1);
    assert_null(p->nets->stmts);
}

static void parse_file_without_networks(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "\n# nothing\n\n");
    assert_no_errors(fx);
    assert_non_null(p);
    assert_null(p->nets);
}

static void parse_recovers_and_reports_several_errors(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a {\n"
                              "  dense = 3\n"       /* syntax error, line 2 */
                              "  input 2\n"
                              "  dense ( 3\n"       /* syntax error, line 4 */
                              "  loss mse\n"
                              "}\n");
    const char *out = fx_output(fx);
    assert_errors(fx, 2);
    assert_contains(out, "t.nn:2:9: error: unexpected '='");
    assert_contains(out, "t.nn:4:9: error: unexpected '('");
    /* The good statements around the errors are kept. */
    assert_int_equal(count_nets(p), 1);
    assert_int_equal(count_stmts(p->nets), 2);
    assert_string_equal(stmt_at(p->nets, 0)->kw, "input");
    assert_string_equal(stmt_at(p->nets, 1)->kw, "loss");
}

static void parse_error_names_unexpected_token(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "network a {\n  input 2\n}\ndense 3\n");
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "t.nn:4:1: error: unexpected word 'dense'; expected");
}

static void parse_unterminated_block_mentions_opener_line(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "# header\n\nnetwork net {\n  input 2\n  dense 1\n");
    const char *out = fx_output(fx);
    assert_errors(fx, 1);
    assert_contains(out, "error: '}' expected at end of file (to close 'network net' at line 3)");
    assert_contains(out, "t.nn:3:1: note: the block of 'network net' starts here");
}

static void parse_nested_network_is_an_error(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "network a {\n  network b {\n  }\n}\n");
    const char *out = fx_output(fx);
    assert_true(fx->diag.n_errors >= 1);
    assert_contains(out, "t.nn:2:3: error: unexpected 'network'");
    assert_contains(out, "note: networks cannot be nested; 'network a' is still open here");
}

static void parse_missing_network_name(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "network {\n}\n");
    assert_true(fx->diag.n_errors >= 1);
    assert_contains(fx_output(fx), "t.nn:1:9: error: unexpected '{'; expected a word");
}

static void lex_malformed_number_is_reported(void **state)
{
    Fx *fx = *state;
    Program *p = fx_parse(fx, "network a {\n  dense 1.2.3\n  loss mse\n}\n");
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "t.nn:2:9: error: malformed number '1.2.3'");
    assert_int_equal(count_stmts(p->nets), 2);   /* and parsing goes on */
}

static void lex_unexpected_character_is_reported(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "network a {\n  dense 2 $\n  dense @@ 3\n}\n");
    const char *out = fx_output(fx);
    assert_errors(fx, 2);
    assert_contains(out, "t.nn:2:11: error: unexpected character '$'");
    assert_contains(out, "t.nn:3:9: error: unexpected characters starting with '@'");
}

static void lex_non_ascii_byte_is_reported(void **state)
{
    Fx *fx = *state;
    fx_parse(fx, "network a {\n  dense 2 \xc3\xa9\n}\n");
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "error: unexpected byte 0xc3");
}

static void lex_columns_count_tabs_as_one(void **state)
{
    Fx *fx = *state;
    const Stmt *s = only_stmt(fx, "network a {\n\tdense\t2\n}\n");
    assert_int_equal(s->kw_loc.first_column, 2);
    assert_int_equal(s->args->loc.first_column, 8);
}

UNIT_TESTS(parse,
    FX_TEST(parse_statements_in_order),
    FX_TEST(parse_statement_without_args),
    FX_TEST(parse_integer_number_arg),
    FX_TEST(parse_real_number_args),
    FX_TEST(parse_huge_integer_is_out_of_range),
    FX_TEST(parse_dims_arg),
    FX_TEST(parse_dims_counts_more_than_stored),
    FX_TEST(parse_word_arg),
    FX_TEST(parse_call_arg),
    FX_TEST(parse_call_without_args),
    FX_TEST(parse_call_with_word_value),
    FX_TEST(parse_keyval_arg),
    FX_TEST(parse_keyval_with_dims_value),
    FX_TEST(parse_arg_locations),
    FX_TEST(parse_network_locations),
    FX_TEST(parse_several_networks_in_file_order),
    FX_TEST(parse_comments_are_ignored),
    FX_TEST(parse_semicolons_separate_statements),
    FX_TEST(parse_one_line_network),
    FX_TEST(parse_brace_on_next_line),
    FX_TEST(parse_empty_network),
    FX_TEST(parse_file_without_networks),
    FX_TEST(parse_recovers_and_reports_several_errors),
    FX_TEST(parse_error_names_unexpected_token),
    FX_TEST(parse_unterminated_block_mentions_opener_line),
    FX_TEST(parse_nested_network_is_an_error),
    FX_TEST(parse_missing_network_name),
    FX_TEST(lex_malformed_number_is_reported),
    FX_TEST(lex_unexpected_character_is_reported),
    FX_TEST(lex_non_ascii_byte_is_reported),
    FX_TEST(lex_columns_count_tabs_as_one))
