/* test_check.c — check_program (check.c): what each statement puts in the
 * Net, the defaults for what a network leaves out, and errors. */
#include "unit.h"

#include <string.h>

/* A network around `body` (which must not say input or loss). */
#define NET(body) "network n {\n  input 4\n" body "  loss mse\n}\n"

static const Net *checked(Fx *fx, const char *text)
{
    Module *m = fx_check(fx, text);
    assert_no_errors(fx);
    assert_non_null(m);
    assert_int_equal(m->n_nets, 1);
    return &m->nets[0];
}

static void check_defaults(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n"));
    assert_string_equal(n->name, "n");
    assert_int_equal(n->batch, 1);
    assert_int_equal(n->seed, 42);
    assert_int_equal(n->seed, NNC_DEFAULT_SEED);
    assert_false(n->has_seed);
    assert_int_equal(n->optim.kind, OPTIM_SGD);
    assert_double_eq(n->optim.lr, 0.01);
    assert_double_eq(n->optim.momentum, 0);
    assert_double_eq(n->optim.weight_decay, 0);
    assert_int_equal(n->init.kind, INIT_DEFAULT);
    assert_true(n->has_input);
    assert_true(n->has_loss);
    assert_int_equal(n->loss, LOSS_MSE);
}

static void check_input_vector(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 7\n  dense 1\n  loss mse\n}\n");
    assert_int_equal(n->input.c, 7);
    assert_int_equal(n->input.h, 1);
    assert_int_equal(n->input.w, 1);
}

static void check_input_image(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 3x28x32\n  flatten\n  dense 1\n  loss mse\n}\n");
    assert_int_equal(n->input.c, 3);
    assert_int_equal(n->input.h, 28);
    assert_int_equal(n->input.w, 32);
}

static void check_dense_units_and_activation(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 10 relu\n  dense 3\n"));
    assert_int_equal(n->n_layers, 2);
    const Layer *l = &n->layers[0];
    assert_int_equal(l->kind, LAYER_DENSE);
    assert_int_equal(l->units, 10);
    assert_int_equal(l->act, ACT_RELU);
    assert_int_equal(l->index, 1);
    assert_int_equal(l->line, 3);
    assert_int_equal(n->layers[1].act, ACT_LINEAR);   /* no activation: linear */
    assert_int_equal(n->layers[1].index, 2);
}

static void check_every_activation_keyword(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 2 linear\n  dense 2 sigmoid\n  dense 2 tanh\n  dense 2 relu\n"
                                   "  dense 2 leaky_relu\n"));
    static const ActKind want[] = {ACT_LINEAR, ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_LEAKY_RELU};
    assert_int_equal(n->n_layers, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(n->layers[i].act, want[i]);
}

static void check_leaky_relu_slope(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 4 leaky_relu(0.2)\n  dense 4 leaky_relu\n"));
    assert_double_eq(n->layers[0].act_param, 0.2);
    assert_double_eq(n->layers[1].act_param, 0.01);   /* the default slope */
}

static void check_softmax_last_with_cross_entropy(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 4\n  dense 3 softmax\n  loss cross_entropy\n}\n");
    assert_int_equal(n->loss, LOSS_CROSS_ENTROPY);
    assert_int_equal(n->layers[0].act, ACT_SOFTMAX);
}

static void check_conv_kernel_stride_pad(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 1x28x28\n  conv 8 5x3 stride 2 pad 1 relu\n"
                               "  conv 4 3 stride 2x1 pad=0\n  flatten\n  dense 1\n  loss mse\n}\n");
    const Layer *a = &n->layers[0], *b = &n->layers[1];
    assert_int_equal(a->kind, LAYER_CONV);
    assert_int_equal(a->units, 8);
    assert_int_equal(a->kh, 5);
    assert_int_equal(a->kw, 3);
    assert_int_equal(a->stride_h, 2);
    assert_int_equal(a->stride_w, 2);
    assert_int_equal(a->pad_h, 1);
    assert_int_equal(a->pad_w, 1);
    assert_int_equal(a->act, ACT_RELU);
    assert_int_equal(b->kh, 3);   /* "3" is a square kernel */
    assert_int_equal(b->kw, 3);
    assert_int_equal(b->stride_h, 2);
    assert_int_equal(b->stride_w, 1);
    assert_int_equal(b->pad_h, 0);
    assert_int_equal(b->act, ACT_LINEAR);
}

static void check_conv_defaults_stride_one_no_pad(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 1x8x8\n  conv 2 3x3\n  flatten\n  dense 1\n  loss mse\n}\n");
    assert_int_equal(n->layers[0].stride_h, 1);
    assert_int_equal(n->layers[0].stride_w, 1);
    assert_int_equal(n->layers[0].pad_h, 0);
    assert_int_equal(n->layers[0].pad_w, 0);
}

static void check_conv_zero_padding_on_one_axis(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 1x8x8\n  conv 2 3x3 pad 0x1\n  flatten\n  dense 1\n"
                               "  loss mse\n}\n");
    assert_int_equal(n->layers[0].pad_h, 0);
    assert_int_equal(n->layers[0].pad_w, 1);
}

static void check_conv_keyval_options_take_dims(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 1x8x8\n  conv 2 3x3 stride=2x1 pad=1x0\n  flatten\n"
                               "  dense 1\n  loss mse\n}\n");
    assert_int_equal(n->layers[0].stride_h, 2);
    assert_int_equal(n->layers[0].stride_w, 1);
    assert_int_equal(n->layers[0].pad_h, 1);
    assert_int_equal(n->layers[0].pad_w, 0);
}

static void check_error_zero_stride(void **state)
{
    Fx *fx = *state;
    Module *m = fx_check(fx, "network n {\n  input 1x8x8\n  conv 2 3x3 stride 1x0\n  flatten\n  dense 1\n"
                             "  loss mse\n}\n");
    assert_errors(fx, 1);
    assert_null(m);
    assert_contains(fx_output(fx), "t.nn:3:21: error: each dimension of the stride must be from 1 to");
}

static void check_pool_stride_defaults_to_window(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 1x8x8\n  maxpool 2x2\n  avgpool 3x3 stride 1\n"
                               "  flatten\n  dense 1\n  loss mse\n}\n");
    const Layer *mp = &n->layers[0], *ap = &n->layers[1];
    assert_int_equal(mp->kind, LAYER_MAXPOOL);
    assert_int_equal(mp->kh, 2);
    assert_int_equal(mp->stride_h, 2);
    assert_int_equal(mp->stride_w, 2);
    assert_int_equal(ap->kind, LAYER_AVGPOOL);
    assert_int_equal(ap->kh, 3);
    assert_int_equal(ap->stride_h, 1);
    assert_int_equal(ap->stride_w, 1);
}

static void check_flatten_layer(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, "network n {\n  input 2x3x3\n  flatten\n  dense 1\n  loss mse\n}\n");
    assert_int_equal(n->n_layers, 2);
    assert_int_equal(n->layers[0].kind, LAYER_FLATTEN);
}

static void check_sgd_options(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  optimizer sgd lr=0.5 momentum=0.9 weight_decay=0.001\n"));
    assert_int_equal(n->optim.kind, OPTIM_SGD);
    assert_double_eq(n->optim.lr, 0.5);
    assert_double_eq(n->optim.momentum, 0.9);
    assert_double_eq(n->optim.weight_decay, 0.001);
}

static void check_adam_defaults_and_options(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  optimizer adam beta1=0.8\n"));
    assert_int_equal(n->optim.kind, OPTIM_ADAM);
    assert_double_eq(n->optim.lr, 0.001);
    assert_double_eq(n->optim.beta1, 0.8);
    assert_double_eq(n->optim.beta2, 0.999);
    assert_double_eq(n->optim.eps, 1e-8);
}

static void check_batch_and_seed(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  batch 32\n  seed 18446744073709551615\n"));
    assert_int_equal(n->batch, 32);
    assert_true(n->has_seed);
    assert_true(n->seed == UINT64_MAX);
}

static void check_seed_zero(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  seed 0\n"));
    assert_true(n->has_seed);
    assert_int_equal(n->seed, 0);
}

static void check_init_uniform(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  init uniform(-1, 1)\n"));
    assert_int_equal(n->init.kind, INIT_UNIFORM);
    assert_double_eq(n->init.a, -1);
    assert_double_eq(n->init.b, 1);
}

static void check_init_normal(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  init normal(0.5, 0.1)\n"));
    assert_int_equal(n->init.kind, INIT_NORMAL);
    assert_double_eq(n->init.a, 0.5);
    assert_double_eq(n->init.b, 0.1);
}

static void check_init_named(void **state)
{
    Fx *fx = *state;
    const Net *n = checked(fx, NET("  dense 1\n  init he\n"));
    assert_int_equal(n->init.kind, INIT_HE);
}

static void check_several_networks(void **state)
{
    Fx *fx = *state;
    Module *m = fx_check(fx, "network a { input 2; dense 1; loss mse }\n"
                             "network b { input 3; dense 2; dense 1; loss mse; batch 4 }\n");
    assert_no_errors(fx);
    assert_non_null(m);
    assert_int_equal(m->n_nets, 2);
    assert_string_equal(m->nets[0].name, "a");
    assert_string_equal(m->nets[1].name, "b");
    assert_int_equal(m->nets[0].batch, 1);   /* settings are per network */
    assert_int_equal(m->nets[1].batch, 4);
    assert_int_equal(m->nets[1].n_layers, 2);
    assert_ptr_equal(m->src, &fx->src);
}

static void check_many_layers_keep_order(void **state)
{
    Fx *fx = *state;
    char text[4096] = "network n {\n  input 2\n";
    for (int i = 1; i <= 40; i++) {   /* past the initial layer capacity */
        char line[32];
        snprintf(line, sizeof line, "  dense %d\n", i);
        strcat(text, line);
    }
    strcat(text, "  loss mse\n}\n");
    const Net *n = checked(fx, text);
    assert_int_equal(n->n_layers, 40);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(n->layers[i].units, i + 1);
        assert_int_equal(n->layers[i].index, i + 1);
    }
}

/* ---- errors ---- */

/* Checks `text` (which must parse), expecting it to be rejected with `n` errors. */
static void rejected(Fx *fx, const char *text, int n)
{
    Module *m = fx_check(fx, text);
    assert_errors(fx, n);
    assert_null(m);
}

static void check_error_missing_loss(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network n {\n  input 2\n  dense 1\n}\n", 1);
    assert_contains(fx_output(fx), "t.nn:1:9: error: network 'n' has no 'loss' statement");
}

static void check_error_missing_input_and_layers(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network n {\n  loss mse\n}\n", 2);
    assert_contains(fx_output(fx), "has no 'input' statement");
    assert_contains(fx_output(fx), "has no layers");
}

static void check_error_unknown_activation_suggests(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dense 2 sigmod\n"), 1);
    assert_contains(fx_output(fx), "t.nn:3:11: error: unknown activation 'sigmod' (did you mean 'sigmoid'?)");
}

static void check_error_unknown_statement_suggests(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dens 2\n  dense 1\n"), 1);
    assert_contains(fx_output(fx), "t.nn:3:3: error: unknown statement 'dens' (did you mean 'dense'?)");
}

static void check_error_duplicate_statement(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dense 1\n  input 3\n"), 1);
    const char *out = fx_output(fx);
    assert_contains(out, "t.nn:4:3: error: duplicate 'input' statement");
    assert_contains(out, "t.nn:2:3: note: the first 'input' is here");
}

static void check_error_layer_before_input(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network n {\n  dense 1\n  input 2\n  loss mse\n}\n", 1);
    assert_contains(fx_output(fx), "'dense' comes before 'input'");
}

static void check_error_counts_each_problem(void **state)
{
    Fx *fx = *state;
    /* Four independent mistakes, all reported in one run. */
    rejected(fx, "network n {\n"
                 "  input 0\n"                     /* 1: inputs from 1 */
                 "  dense 2.5\n"                   /* 2: whole number */
                 "  dense 3 relu tanh\n"           /* 3: extra argument */
                 "  optimizer sgd lr=-1\n"         /* 4: lr > 0 */
                 "  loss mse\n"
                 "}\n",
             4);
    const char *out = fx_output(fx);
    assert_contains(out, "t.nn:2:9: error: the number of inputs must be from 1 to");
    assert_contains(out, "t.nn:3:9: error: the number of units must be a whole number, not '2.5'");
    assert_contains(out, "t.nn:4:16: error: unexpected word 'tanh' in 'dense'");
    assert_contains(out, "t.nn:5:20: error: lr must be > 0");
}

static void check_error_softmax_not_last(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dense 3 softmax\n  dense 1\n"), 1);
    assert_contains(fx_output(fx), "softmax is only allowed on the last layer");
}

static void check_error_cross_entropy_needs_softmax(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network n {\n  input 2\n  dense 3 relu\n  loss cross_entropy\n}\n", 1);
    assert_contains(fx_output(fx), "cross_entropy needs a softmax output layer, but the last layer is dense relu");
}

static void check_error_optimizer_option_of_other_optimizer(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dense 1\n  optimizer sgd beta1=0.9\n"), 1);
    assert_contains(fx_output(fx), "error: optimizer sgd has no option 'beta1'");
}

static void check_error_init_arguments(void **state)
{
    Fx *fx = *state;
    rejected(fx, NET("  dense 1\n  init uniform(1, -1)\n"), 1);
    assert_contains(fx_output(fx), "uniform(LOW, HIGH) needs LOW < HIGH, not 1 and -1");
}

static void check_error_duplicate_network_name(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network a { input 2; dense 1; loss mse }\nnetwork a { input 2; dense 1; loss mse }\n", 1);
    assert_contains(fx_output(fx), "t.nn:2:9: error: a network named 'a' is already defined");
}

static void check_error_reserved_network_name(void **state)
{
    Fx *fx = *state;
    rejected(fx, "network int { input 2; dense 1; loss mse }\n", 1);
    assert_contains(fx_output(fx), "'int' cannot name a network");
}

static void check_error_no_network(void **state)
{
    Fx *fx = *state;
    rejected(fx, "# only a comment\n", 1);
    assert_contains(fx_output(fx), "t.nn:1:1: error: no network in this file");
}

static void check_warning_is_not_an_error(void **state)
{
    Fx *fx = *state;
    Module *m = fx_check(fx, NET("  dense 1 softmax\n"));
    assert_non_null(m);   /* a warning alone does not reject the program */
    assert_no_errors(fx);
    assert_int_equal(fx->diag.n_warnings, 1);
    assert_contains(fx_output(fx), "warning: softmax over 1 output is always 1");
}

UNIT_TESTS(check,
    FX_TEST(check_defaults),
    FX_TEST(check_input_vector),
    FX_TEST(check_input_image),
    FX_TEST(check_dense_units_and_activation),
    FX_TEST(check_every_activation_keyword),
    FX_TEST(check_leaky_relu_slope),
    FX_TEST(check_softmax_last_with_cross_entropy),
    FX_TEST(check_conv_kernel_stride_pad),
    FX_TEST(check_conv_defaults_stride_one_no_pad),
    FX_TEST(check_conv_zero_padding_on_one_axis),
    FX_TEST(check_conv_keyval_options_take_dims),
    FX_TEST(check_pool_stride_defaults_to_window),
    FX_TEST(check_flatten_layer),
    FX_TEST(check_sgd_options),
    FX_TEST(check_adam_defaults_and_options),
    FX_TEST(check_batch_and_seed),
    FX_TEST(check_seed_zero),
    FX_TEST(check_init_uniform),
    FX_TEST(check_init_normal),
    FX_TEST(check_init_named),
    FX_TEST(check_several_networks),
    FX_TEST(check_many_layers_keep_order),
    FX_TEST(check_error_missing_loss),
    FX_TEST(check_error_missing_input_and_layers),
    FX_TEST(check_error_unknown_activation_suggests),
    FX_TEST(check_error_unknown_statement_suggests),
    FX_TEST(check_error_duplicate_statement),
    FX_TEST(check_error_layer_before_input),
    FX_TEST(check_error_zero_stride),
    FX_TEST(check_error_counts_each_problem),
    FX_TEST(check_error_softmax_not_last),
    FX_TEST(check_error_cross_entropy_needs_softmax),
    FX_TEST(check_error_optimizer_option_of_other_optimizer),
    FX_TEST(check_error_init_arguments),
    FX_TEST(check_error_duplicate_network_name),
    FX_TEST(check_error_reserved_network_name),
    FX_TEST(check_error_no_network),
    FX_TEST(check_warning_is_not_an_error))
