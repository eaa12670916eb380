/* test_lower.c — lower_module (lower.c): shapes, parameter offsets in
 * PyTorch state_dict order (layer by layer, weight then bias), activation
 * offsets, the buffers of the emitted struct and its size. */
#include "unit.h"

#include <string.h>

static const char *const mlp = "network m {\n"
                               "  input 2\n"
                               "  dense 3 sigmoid\n"
                               "  dense 1\n"
                               "  loss mse\n"
                               "}\n";

/* 1x28x28 -> conv -> 8x28x28 -> maxpool -> 8x14x14 -> conv -> 16x5x5 -> flatten -> 400 -> dense 10 */
static const char *const cnn = "network c {\n"
                               "  input 1x28x28\n"
                               "  conv 8 3x3 pad 1 relu\n"
                               "  maxpool 2x2\n"
                               "  conv 16 5x5 stride 2\n"
                               "  flatten\n"
                               "  dense 10 softmax\n"
                               "  loss cross_entropy\n"
                               "}\n";

static void expect_shape(Shape s, int64_t c, int64_t h, int64_t w)
{
    assert_int_equal(s.c, c);
    assert_int_equal(s.h, h);
    assert_int_equal(s.w, w);
}

/* A network that lowers, with the warnings it gives (the stride-2 conv of
 * `cnn` leaves a row unused, which is worth a warning). */
static Net *lowered(Fx *fx, const char *text, int warnings)
{
    assert_true(fx_lower(fx, text));
    assert_no_errors(fx);
    assert_int_equal(fx->diag.n_warnings, warnings);
    assert_int_equal(fx->mod->n_nets, 1);
    return &fx->mod->nets[0];
}

static void lower_dense_shapes(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    expect_shape(n->layers[0].in, 2, 1, 1);
    expect_shape(n->layers[0].out, 3, 1, 1);
    expect_shape(n->layers[1].in, 3, 1, 1);
    expect_shape(n->layers[1].out, 1, 1, 1);
    assert_int_equal(n->layers[0].n_in, 2);
    assert_int_equal(n->layers[0].n_out, 3);
    assert_int_equal(n->n_inputs, 2);
    assert_int_equal(n->n_outputs, 1);
}

static void lower_dense_param_offsets_weight_then_bias(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    const Layer *a = &n->layers[0], *b = &n->layers[1];
    assert_int_equal(a->w_off, 0);
    assert_int_equal(a->w_len, 3 * 2);   /* [out][in], as PyTorch's Linear.weight */
    assert_int_equal(a->b_off, 6);
    assert_int_equal(a->b_len, 3);
    assert_int_equal(b->w_off, 9);
    assert_int_equal(b->w_len, 3);
    assert_int_equal(b->b_off, 12);
    assert_int_equal(b->b_len, 1);
    assert_int_equal(n->n_params, 13);
}

static void lower_dense_activation_offsets(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    assert_int_equal(n->layers[0].act_off, 0);
    assert_int_equal(n->layers[1].act_off, 3);
    assert_int_equal(n->n_act, 4);
    assert_int_equal(n->max_width, 3);
}

static void lower_conv_same_padding_keeps_size(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    expect_shape(n->layers[0].in, 1, 28, 28);
    expect_shape(n->layers[0].out, 8, 28, 28);
    assert_int_equal(n->layers[0].n_out, 8 * 28 * 28);
    assert_true(n->layers[0].out.image);
}

static void lower_maxpool_halves_size(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    expect_shape(n->layers[1].in, 8, 28, 28);
    expect_shape(n->layers[1].out, 8, 14, 14);
    assert_int_equal(n->layers[1].w_len, 0);   /* pooling has no parameters */
    assert_int_equal(n->layers[1].b_len, 0);
}

static void lower_strided_conv_shape_and_warning(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    /* (14 - 5) / 2 + 1 = 5, with one row and column left over */
    expect_shape(n->layers[2].out, 16, 5, 5);
    assert_contains(fx_output(fx), "t.nn:5:3: warning: with stride 2x2 the 5x5 kernel leaves the last rows or "
                                   "columns of the 8x14x14 input unused");
}

static void lower_avgpool_with_stride(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network p {\n  input 3x9x7\n  avgpool 3x3 stride 2\n  flatten\n"
                         "  dense 1\n  loss mse\n}\n", 0);
    /* (9 - 3) / 2 + 1 = 4 rows, (7 - 3) / 2 + 1 = 3 columns, channels kept */
    expect_shape(n->layers[0].out, 3, 4, 3);
}

static void lower_conv_rectangular_kernel_and_padding(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network r {\n  input 2x10x6\n  conv 4 3x2 pad 2x1\n  flatten\n  dense 1\n  loss mse\n}\n",
                     0);
    /* height 10 + 4 - 3 + 1 = 12, width 6 + 2 - 2 + 1 = 7 */
    expect_shape(n->layers[0].out, 4, 12, 7);
    assert_int_equal(n->layers[0].w_len, 4 * 2 * 3 * 2);
}

static void lower_flatten_aliases_previous_output(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    const Layer *conv2 = &n->layers[2], *flat = &n->layers[3], *dense = &n->layers[4];
    expect_shape(flat->out, 400, 1, 1);
    assert_false(flat->out.image);
    assert_true(flat->aliases_input);
    assert_int_equal(flat->act_off, conv2->act_off);
    assert_int_equal(dense->act_off, conv2->act_off + 400);   /* flatten takes no room */
    assert_int_equal(dense->n_in, 400);
}

static void lower_flatten_of_input_aliases_x(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network f {\n  input 2x2x2\n  flatten\n  dense 1\n  loss mse\n}\n", 0);
    assert_int_equal(n->layers[0].act_off, -1);   /* -1: the input itself */
    assert_int_equal(n->layers[1].act_off, 0);
    assert_int_equal(n->n_act, 1);
}

static void lower_conv_param_offsets(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    const Layer *c1 = &n->layers[0], *c2 = &n->layers[2], *d = &n->layers[4];
    assert_int_equal(c1->w_off, 0);
    assert_int_equal(c1->w_len, 8 * 1 * 3 * 3);   /* [out][in][kh][kw] */
    assert_int_equal(c1->b_off, 72);
    assert_int_equal(c1->b_len, 8);
    assert_int_equal(c2->w_off, 80);
    assert_int_equal(c2->w_len, 16 * 8 * 5 * 5);
    assert_int_equal(c2->b_off, 3280);
    assert_int_equal(c2->b_len, 16);
    assert_int_equal(d->w_off, 3296);
    assert_int_equal(d->w_len, 4000);
    assert_int_equal(d->b_off, 7296);
    assert_int_equal(n->n_params, 7306);
}

static void lower_cnn_activation_layout(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    static const int64_t off[] = {0, 6272, 7840, 7840, 8240};
    for (int i = 0; i < 5; i++)
        assert_int_equal(n->layers[i].act_off, off[i]);
    assert_int_equal(n->n_act, 8250);
    assert_int_equal(n->max_width, 6272);
    assert_int_equal(n->n_inputs, 784);
    assert_int_equal(n->n_outputs, 10);
}

static void lower_image_input_with_1x1_spatial(void **state)
{
    Fx *fx = *state;
    /* 4x1x1 is an image of 4 channels, so a 1x1 conv applies to it. */
    Net *n = lowered(fx, "network i {\n  input 4x1x1\n  conv 2 1x1\n  flatten\n  dense 1\n  loss mse\n}\n", 0);
    expect_shape(n->layers[0].out, 2, 1, 1);
    assert_true(n->layers[0].out.image);
}

/* ---- buffers ---- */

static void expect_buffers(const Net *n, const char *const *names, const int64_t *floats, int count)
{
    assert_int_equal(n->n_buffers, count);
    for (int i = 0; i < count; i++) {
        assert_string_equal(n->buffers[i].name, names[i]);
        assert_int_equal(n->buffers[i].floats, floats[i]);
    }
}

static void lower_buffers_plain_sgd(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    static const char *const names[] = {"param", "grad", "act", "delta"};
    static const int64_t floats[] = {13, 13, 4, 6};
    expect_buffers(n, names, floats, 4);
}

static void lower_buffers_sgd_momentum(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network m {\n  input 2\n  dense 3\n  loss mse\n  optimizer sgd lr=0.1 momentum=0.9\n}\n", 0);
    static const char *const names[] = {"param", "grad", "velocity", "act", "delta"};
    static const int64_t floats[] = {9, 9, 9, 3, 6};
    expect_buffers(n, names, floats, 5);
}

static void lower_buffers_adam(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network m {\n  input 2\n  dense 3\n  loss mse\n  optimizer adam\n}\n", 0);
    static const char *const names[] = {"param", "grad", "adam_m", "adam_v", "act", "delta"};
    static const int64_t floats[] = {9, 9, 9, 9, 3, 6};
    expect_buffers(n, names, floats, 6);
}

static void lower_buffers_softmax_logit(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    static const char *const names[] = {"param", "grad", "act", "delta", "logit", "pad"};
    /* pad: the stride-1 conv's zero-padded 1x30x30 input, its gradient, and
     * dz of its 8 filters as 28-row planes 30 wide, with margins of
     * 2 * 30 + 2 zeros on each side and 64 floats of room for reads */
    static const int64_t floats[] = {7306, 7306, 8250, 2 * 6272, 10, 2 * 30 * 30 + 8 * (28 * 30 + 2 * 62 + 64)};
    expect_buffers(n, names, floats, 6);
}

static void lower_struct_bytes(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    /* (13 + 13 + 4 + 6) floats and the float learning rate (148 bytes),
     * padded to 8 for the uint64_t step count, then the step count */
    assert_int_equal(n->struct_bytes, 152 + 8);
}

static void lower_struct_bytes_cnn(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, cnn, 1);
    /* the floats and lr, padded to 8, then the step */
    assert_int_equal(n->struct_bytes, (7306 + 7306 + 8250 + 12544 + 10 + 10024) * 4 + 4 + 4 + 8);
}

static void lower_net_buffer_lookup(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, mlp, 0);
    const Buffer *b = net_buffer(n, "act");
    assert_non_null(b);
    assert_string_equal(b->name, "act");
    assert_int_equal(b->floats, 4);
    assert_null(net_buffer(n, "velocity"));
    assert_null(net_buffer(n, "nope"));
}

static void lower_several_networks_independently(void **state)
{
    Fx *fx = *state;
    assert_true(fx_lower(fx, "network a { input 2; dense 1; loss mse }\n"
                             "network b { input 5; dense 4; dense 2; loss mse }\n"));
    assert_no_errors(fx);
    const Net *a = &fx->mod->nets[0], *b = &fx->mod->nets[1];
    assert_int_equal(a->n_params, 3);
    assert_int_equal(b->n_params, 5 * 4 + 4 + 4 * 2 + 2);
    assert_int_equal(b->layers[1].w_off, 24);   /* offsets restart in each network */
}

/* ---- errors ---- */

static void lower_error_kernel_does_not_fit(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network k {\n  input 1x4x6\n  conv 2 5x3\n  flatten\n  dense 1\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "t.nn:3:3: error: the 5x3 kernel does not fit the layer's input 1x4x6 (height 4)");
}

static void lower_padding_makes_kernel_fit(void **state)
{
    Fx *fx = *state;
    Net *n = lowered(fx, "network k {\n  input 1x4x4\n  conv 2 5x5 pad 1\n  flatten\n  dense 1\n  loss mse\n}\n", 0);
    expect_shape(n->layers[0].out, 2, 2, 2);
}

static void lower_error_pool_window_does_not_fit(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network k {\n  input 1x8x3\n  maxpool 2x4\n  flatten\n"
                              "  dense 1\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "the 2x4 window does not fit the pooled input 1x8x3 (width 3)");
}

static void lower_error_conv_on_vector(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network v {\n  input 16\n  dense 8\n  conv 2 3x3\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "t.nn:4:3: error: 'conv' needs an image (CxHxW) input, but its input is a "
                                   "vector of 8");
}

static void lower_error_nothing_to_train(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network z {\n  input 1x4x4\n  maxpool 2x2\n  flatten\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "network 'z' has nothing to train");
}

static void lower_error_too_many_params(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network big {\n  input 1048576\n  dense 1048576\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "layer 1 takes the network over 134217728 parameters");
}

static void lower_error_input_too_large(void **state)
{
    Fx *fx = *state;
    /* 2^40 floats per sample: refused before any size is computed from it */
    assert_false(fx_lower(fx, "network big {\n  input 1x1048576x1048576\n  maxpool 1024x1024\n"
                              "  maxpool 1024x1024\n  flatten\n  dense 1\n  loss mse\n}\n"));
    assert_errors(fx, 1);
    assert_contains(fx_output(fx), "t.nn:2:3: error: the input has 1099511627776 floats per sample; nnc's limit "
                                   "is 134217728");
}

static void lower_error_in_one_network_keeps_checking_others(void **state)
{
    Fx *fx = *state;
    assert_false(fx_lower(fx, "network a { input 1x2x2; conv 1 3x3; flatten; dense 1; loss mse }\n"
                              "network b { input 1x2x2; maxpool 3x3; flatten; dense 1; loss mse }\n"));
    assert_errors(fx, 2);
}

UNIT_TESTS(lower,
    FX_TEST(lower_dense_shapes),
    FX_TEST(lower_dense_param_offsets_weight_then_bias),
    FX_TEST(lower_dense_activation_offsets),
    FX_TEST(lower_conv_same_padding_keeps_size),
    FX_TEST(lower_maxpool_halves_size),
    FX_TEST(lower_strided_conv_shape_and_warning),
    FX_TEST(lower_avgpool_with_stride),
    FX_TEST(lower_conv_rectangular_kernel_and_padding),
    FX_TEST(lower_flatten_aliases_previous_output),
    FX_TEST(lower_flatten_of_input_aliases_x),
    FX_TEST(lower_conv_param_offsets),
    FX_TEST(lower_cnn_activation_layout),
    FX_TEST(lower_image_input_with_1x1_spatial),
    FX_TEST(lower_buffers_plain_sgd),
    FX_TEST(lower_buffers_sgd_momentum),
    FX_TEST(lower_buffers_adam),
    FX_TEST(lower_buffers_softmax_logit),
    FX_TEST(lower_struct_bytes),
    FX_TEST(lower_struct_bytes_cnn),
    FX_TEST(lower_net_buffer_lookup),
    FX_TEST(lower_several_networks_independently),
    FX_TEST(lower_error_kernel_does_not_fit),
    FX_TEST(lower_padding_makes_kernel_fit),
    FX_TEST(lower_error_pool_window_does_not_fit),
    FX_TEST(lower_error_conv_on_vector),
    FX_TEST(lower_error_nothing_to_train),
    FX_TEST(lower_error_too_many_params),
    FX_TEST(lower_error_input_too_large),
    FX_TEST(lower_error_in_one_network_keeps_checking_others))
