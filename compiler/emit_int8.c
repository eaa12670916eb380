/* emit_int8.c — int8 inference C (--quantize=int8): the quantized network
 * of quantize.c as portable C99 with int8_t and int32_t.
 *
 * The file has no float in its hot path: NAME_forward_q takes int8 inputs
 * and gives the output layer's int32 sums; every layer in between is int8
 * values, int32 sums and the integer requantization of nnc_requant (the
 * same bits on any machine and compiler).  NAME_forward wraps it with the
 * two float steps: the input's quantization, and the outputs' (their sums
 * times NAME_output_scale, then the output layer's activation).
 *
 * The constants (int8 weights, int32 biases and requantization multipliers,
 * shifts, the output scales) are one const struct, NAME_q, so that its size
 * is the flash they take; the RAM is the struct NAME, whose int8 buffers
 * take turns as plan.c places them. */
#include "emit.h"

#include <stdlib.h>
#include <string.h>

/* The name of one of the constants' members: layer i's weights "w3". */
static const char *member(char out[16], const char *what, int i)
{
    snprintf(out, 16, "%s%d", what, i);
    return out;
}

/* n values as C, 16 a line (int8) or 8 (wider), at an indent of 8. */
static void emit_values(Emitter *e, const char *type, int64_t n, const void *v)
{
    int per = strcmp(type, "int8_t") == 0 ? 16 : 8;
    for (int64_t k = 0; k < n; k++) {
        char f[32];
        if (k % per == 0)
            emit(e, "        ");
        if (strcmp(type, "int8_t") == 0)
            emit(e, "%d,", ((const int8_t *)v)[k]);
        else if (strcmp(type, "int32_t") == 0)
            emit(e, "%ld,", (long)((const int32_t *)v)[k]);
        else
            emit(e, "%s,", fmt_float(f, ((const float *)v)[k]));
        emit(e, k % per == per - 1 || k == n - 1 ? "\n" : " ");
    }
}

/* The zero point's subtraction, as C: "in[i] + 128", "in[i] - 3", "in[i]". */
static void minus_zp(char *out, size_t cap, const char *v, int32_t zp)
{
    if (zp == 0)
        snprintf(out, cap, "%s", v);
    else
        snprintf(out, cap, "(%s %c %ld)", v, zp < 0 ? '+' : '-', (long)(zp < 0 ? -(long)zp : (long)zp));
}

/* Where layer i reads its input and writes its output, as C. */
static void io(const QNet *q, int i, char in[64], char out[64])
{
    int prev = -1;
    for (int k = i - 1; k >= 0 && prev < 0; k--)
        if (q->layers[k].has_buffer)
            prev = k;
    if (prev < 0)
        snprintf(in, 64, "xq");
    else
        snprintf(in, 64, "net->act + %lld", (long long)q->layers[prev].off);
    if (i == q->net->n_layers - 1)
        snprintf(out, 64, "acc");
    else
        snprintf(out, 64, "net->act + %lld", (long long)q->layers[i].off);
}

/* Output `at` (an index expression) of a dense or conv layer from its int32
 * sum `sum`, of channel `c`: requantized, or for the output layer the sum. */
static void emit_store(Emitter *e, const QNet *q, int i, const char *ind, const char *at, const char *sum,
                       const char *c)
{
    const QLayer *ql = &q->layers[i];
    char m[16];
    if (i == q->net->n_layers - 1) {
        emit(e, "%sout[%s] = %s;\n", ind, at, sum);
        return;
    }
    emit(e, "%sout[%s] = nnc_requant(%s, %s_q.%s[%s], ", ind, at, sum, q->net->name, member(m, "m", i), c);
    emit(e, "%s_q.", q->net->name);
    emit(e, "%s[%s], %ld, %ld);\n", member(m, "s", i), c, (long)ql->out_zp, (long)ql->lo);
}

static void emit_dense_q(Emitter *e, const QNet *q, int i, const char *in, const char *out)
{
    const Layer *l = &q->net->layers[i];
    const QLayer *ql = &q->layers[i];
    char m[16], x[64];
    bool last = i == q->net->n_layers - 1;
    minus_zp(x, sizeof x, "in[i]", ql->in_zp);
    emit(e, "        const int8_t *in = %s;   /* [%lld] */\n", in, (long long)l->n_in);
    emit(e, "        %s *out = %s;   /* [%lld] */\n", last ? "int32_t" : "int8_t", out, (long long)l->n_out);
    emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
    emit(e, "            const int8_t *w = %s_q.%s + o * %lld;\n", q->net->name, member(m, "w", i), (long long)l->n_in);
    emit(e, "            int32_t sum = %s_q.%s[o];\n", q->net->name, member(m, "b", i));
    emit(e, "            for (int i = 0; i < %lld; i++)\n", (long long)l->n_in);
    emit(e, "                sum += %s * w[i];\n", x);
    emit_store(e, q, i, "            ", "o", "sum", "o");
    emit(e, "        }\n");
}

/* The outputs o in [0, n_out) whose input o * stride + k - pad lies in
 * [0, n_in): [*lo, *hi). */
static void tap_span(int64_t n_in, int64_t n_out, int64_t k, int64_t stride, int64_t pad, int64_t *lo, int64_t *hi)
{
    int64_t off = k - pad;   /* input = o * stride + off */
    *lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    *hi = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / stride + 1;
    *hi = *hi < n_out ? *hi : n_out;
    *lo = *lo < *hi ? *lo : *hi;
}

/* A convolution a row of outputs at a time: the row's int32 sums (a local
 * array of OW), each tap one loop over the outputs it reaches, its range
 * a literal (no test for the padding inside it), which compilers vectorize. */
static void emit_conv_q(Emitter *e, const QNet *q, int i, const char *in, const char *out)
{
    const Layer *l = &q->net->layers[i];
    const QLayer *ql = &q->layers[i];
    int64_t C = l->in.c, H = l->in.h, W = l->in.w, F = l->units, OH = l->out.h, OW = l->out.w;
    char m[16], x[96], v[64];
    bool last = i == q->net->n_layers - 1;
    emit(e, "        const int8_t *in = %s;   /* [%lld][%lld][%lld] */\n", in, (long long)C, (long long)H, (long long)W);
    emit(e, "        %s *out = %s;   /* [%lld][%lld][%lld] */\n", last ? "int32_t" : "int8_t", out, (long long)F,
         (long long)OH, (long long)OW);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)F);
    emit(e, "            const int8_t *w = %s_q.%s + f * %lld;\n", q->net->name, member(m, "w", i),
         (long long)(C * l->kh * l->kw));
    emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)OH);
    emit(e, "                int32_t sum[%lld];\n", (long long)OW);
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n                    sum[ox] = %s_q.%s[f];\n",
         (long long)OW, q->net->name, member(m, "b", i));
    emit(e, "                for (int c = 0; c < %lld; c++)\n", (long long)C);
    emit(e, "                    for (int ky = 0; ky < %lld; ky++) {\n", (long long)l->kh);
    if (l->pad_h)
        emit(e, "                        const int iy = oy * %lld + ky - %lld;\n", (long long)l->stride_h,
             (long long)l->pad_h);
    else
        emit(e, "                        const int iy = oy * %lld + ky;\n", (long long)l->stride_h);
    emit(e, "                        if (iy < 0 || iy >= %lld)\n                            continue;   /* padding: real 0 */\n",
         (long long)H);
    emit(e, "                        const int8_t *row = in + (c * %lld + iy) * %lld;\n", (long long)H, (long long)W);
    emit(e, "                        const int8_t *wr = w + (c * %lld + ky) * %lld;\n", (long long)l->kh, (long long)l->kw);
    for (int64_t kx = 0; kx < l->kw; kx++) {
        int64_t lo, hi;
        tap_span(W, OW, kx, l->stride_w, l->pad_w, &lo, &hi);
        if (lo >= hi)
            continue;   /* this tap only ever sees padding */
        int64_t off = kx - l->pad_w;
        if (l->stride_w == 1)
            snprintf(v, sizeof v, "row[ox %c %lld]", off < 0 ? '-' : '+', (long long)(off < 0 ? -off : off));
        else
            snprintf(v, sizeof v, "row[ox * %lld %c %lld]", (long long)l->stride_w, off < 0 ? '-' : '+',
                     (long long)(off < 0 ? -off : off));
        minus_zp(x, sizeof x, v, ql->in_zp);
        emit(e, "                        for (int ox = %lld; ox < %lld; ox++)   /* tap kx %lld */\n", (long long)lo,
             (long long)hi, (long long)kx);
        emit(e, "                            sum[ox] += %s * wr[%lld];\n", x, (long long)kx);
    }
    emit(e, "                    }\n");
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n", (long long)OW);
    char at[96];
    snprintf(at, sizeof at, "(f * %lld + oy) * %lld + ox", (long long)OH, (long long)OW);
    emit_store(e, q, i, "                    ", at, "sum[ox]", "f");
    emit(e, "            }\n        }\n");
}

static void emit_pool_q(Emitter *e, const QNet *q, int i, const char *in, const char *out)
{
    const Layer *l = &q->net->layers[i];
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w, k = l->kh * l->kw;
    bool max = l->kind == LAYER_MAXPOOL;
    emit(e, "        const int8_t *in = %s;   /* [%lld][%lld][%lld] */\n", in, (long long)l->in.c, (long long)H,
         (long long)W);
    emit(e, "        int8_t *out = %s;   /* [%lld][%lld][%lld]%s */\n", out, (long long)l->in.c, (long long)OH,
         (long long)OW, strcmp(in, out) == 0 ? ", over its input" : "");
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const int8_t *win = in + (c * %lld + oy * %lld) * %lld + ox * %lld;\n", (long long)H,
         (long long)l->stride_h, (long long)W, (long long)l->stride_w);
    emit(e, "                    int32_t v = %s;\n", max ? "win[0]" : "0");
    emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
    emit(e, "                        for (int kx = 0; kx < %lld; kx++)\n", (long long)l->kw);
    if (max)
        emit(e, "                            v = win[ky * %lld + kx] > v ? win[ky * %lld + kx] : v;\n", (long long)W,
             (long long)W);
    else
        emit(e, "                            v += win[ky * %lld + kx];\n", (long long)W);
    char v[48];
    snprintf(v, sizeof v, max ? "v" : "nnc_div_round(v, %lld)", (long long)k);
    emit(e, "                    out[(c * %lld + oy) * %lld + ox] = (int8_t)%s;\n", (long long)OH, (long long)OW, v);
    emit(e, "                }\n");
}

/* ---- the constants: one struct, NAME_q ---- */

/* The members of NAME_q, 4-byte ones first (no padding between them). */
static void emit_consts_type(Emitter *e, const QNet *q)
{
    const Net *n = q->net;
    char m[16];
    emit(e, "/* The constants, in flash: int32 biases (each in the scale of its sums) and\n"
            " * requantization multipliers, the output scales, int8 weights ([out][in],\n"
            " * or [filter][channel][ky][kx]) and shifts.  sizeof: %lld bytes. */\n", (long long)q->flash_bytes);
    emit(e, "typedef struct %s_consts {\n", n->name);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!q->layers[i].w)
            continue;
        emit(e, "    int32_t %s[%lld];\n", member(m, "b", i), (long long)l->b_len);
        if (q->layers[i].mult)
            emit(e, "    int32_t %s[%lld];\n", member(m, "m", i), (long long)l->b_len);
    }
    emit(e, "    float output_scale[%lld];\n", (long long)n->layers[n->n_layers - 1].b_len);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!q->layers[i].w)
            continue;
        emit(e, "    int8_t %s[%lld];\n", member(m, "w", i), (long long)l->w_len);
        if (q->layers[i].shift)
            emit(e, "    int8_t %s[%lld];\n", member(m, "s", i), (long long)l->b_len);
    }
    emit(e, "} %s_consts;\n\n", n->name);
}

static void emit_consts(Emitter *e, const QNet *q)
{
    const Net *n = q->net;
    char m[16];
    emit(e, "static const %s_consts %s_q = {\n", n->name, n->name);
    for (int i = 0; i < n->n_layers; i++) {
        const QLayer *ql = &q->layers[i];
        const Layer *l = &n->layers[i];
        if (!ql->w)
            continue;
        emit(e, "    .%s = {   /* layer %d's biases */\n", member(m, "b", i), l->index);
        emit_values(e, "int32_t", l->b_len, ql->bias);
        emit(e, "    },\n");
        if (ql->mult) {
            emit(e, "    .%s = {   /* layer %d's multipliers: x %.9g and w_scale[c] over y %.9g, times 2^shift */\n",
                 member(m, "m", i), l->index, ql->in_scale, ql->out_scale);
            emit_values(e, "int32_t", l->b_len, ql->mult);
            emit(e, "    },\n");
        }
    }
    const QLayer *last = &q->layers[n->n_layers - 1];
    emit(e, "    .output_scale = {   /* the output layer's sums times these are its outputs */\n");
    emit_values(e, "float", n->layers[n->n_layers - 1].b_len, last->deq);
    emit(e, "    },\n");
    for (int i = 0; i < n->n_layers; i++) {
        const QLayer *ql = &q->layers[i];
        const Layer *l = &n->layers[i];
        if (!ql->w)
            continue;
        emit(e, "    .%s = {   /* layer %d's weights */\n", member(m, "w", i), l->index);
        emit_values(e, "int8_t", l->w_len, ql->w);
        emit(e, "    },\n");
        if (ql->shift) {
            emit(e, "    .%s = {   /* layer %d's shifts */\n", member(m, "s", i), l->index);
            emit_values(e, "int8_t", l->b_len, ql->shift);
            emit(e, "    },\n");
        }
    }
    emit(e, "};\n\n");
}

/* ---- the code ---- */

static void emit_helpers_q(Emitter *e, const QNet *q)
{
    emit(e, "/* acc * mult / 2^shift, rounded half away from zero (no shift of a negative\n"
            " * number: C leaves that to the compiler), plus zp, clamped to [lo, 127]. */\n"
            "static int8_t nnc_requant(int32_t acc, int32_t mult, int shift, int32_t zp, int32_t lo)\n{\n"
            "    const int64_t p = (int64_t)acc * mult, half = (int64_t)1 << (shift - 1);\n"
            "    const int64_t r = p >= 0 ? (p + half) >> shift : -((-p + half) >> shift);\n"
            "    const int64_t v = r + zp;\n"
            "    return (int8_t)(v < lo ? lo : v > 127 ? 127 : v);\n}\n\n");
    bool avg = false;
    for (int i = 0; i < q->net->n_layers; i++)
        avg = avg || q->net->layers[i].kind == LAYER_AVGPOOL;
    if (avg)
        emit(e, "/* v / k rounded half away from zero (k > 0). */\n"
                "static int32_t nnc_div_round(int32_t v, int32_t k)\n{\n"
                "    return v >= 0 ? (v + k / 2) / k : -((-v + k / 2) / k);\n}\n\n");
}

static void emit_run_q(Emitter *e, const QNet *q)
{
    const Net *n = q->net;
    const char *N = n->name;
    emit(e, "void %s_forward_q(%s *net, const int8_t *xq, int32_t *acc)\n{\n", N, N);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        char in[64], out[64];
        io(q, i, in, out);
        if (!q->layers[i].has_buffer && i < n->n_layers - 1) {
            emit_banner(e, l, l->kind == LAYER_DROPOUT ? ": off in inference, its input passes on"
                                                       : ": CHW order is kept, nothing to do");
            continue;
        }
        emit_banner(e, l, "");
        emit(e, "    {\n");
        if (l->kind == LAYER_DENSE)
            emit_dense_q(e, q, i, in, out);
        else if (l->kind == LAYER_CONV)
            emit_conv_q(e, q, i, in, out);
        else
            emit_pool_q(e, q, i, in, out);
        emit(e, "    }\n");
    }
    bool uses_net = false;   /* (a network of one dense layer reads xq and writes acc only) */
    for (int i = 0; i < n->n_layers - 1; i++)
        uses_net = uses_net || q->layers[i].has_buffer;
    emit(e, "%s}\n\n", uses_net ? "" : "    (void)net;\n");
}

/* The output layer's activation on y[0 .. k-1], in float. */
static void emit_output_act(Emitter *e, const Layer *l, int64_t k)
{
    switch (l->act) {
    case ACT_SOFTMAX:
        emit(e, "    float top = y[0], sum = 0.0f;\n"
                "    for (int j = 1; j < %lld; j++)\n        top = y[j] > top ? y[j] : top;\n"
                "    for (int j = 0; j < %lld; j++) {\n        y[j] = expf(y[j] - top);\n        sum += y[j];\n    }\n"
                "    for (int j = 0; j < %lld; j++)\n        y[j] /= sum;\n", (long long)k, (long long)k, (long long)k);
        break;
    case ACT_SIGMOID:
        emit(e, "    for (int j = 0; j < %lld; j++)\n        y[j] = 1.0f / (1.0f + expf(-y[j]));\n", (long long)k);
        break;
    case ACT_TANH:
        emit(e, "    for (int j = 0; j < %lld; j++)\n        y[j] = tanhf(y[j]);\n", (long long)k);
        break;
    case ACT_RELU:
        emit(e, "    for (int j = 0; j < %lld; j++)\n        y[j] = y[j] > 0.0f ? y[j] : 0.0f;\n", (long long)k);
        break;
    case ACT_LEAKY_RELU: {
        char s[32];
        emit(e, "    for (int j = 0; j < %lld; j++)\n        y[j] = y[j] > 0.0f ? y[j] : %s * y[j];\n", (long long)k,
             fmt_float(s, l->act_param));
        break;
    }
    default:
        break;
    }
}

static void emit_forward_q(Emitter *e, const QNet *q)
{
    const Net *n = q->net;
    const char *N = n->name;
    const Layer *last = &n->layers[n->n_layers - 1];
    char s[32];
    emit(e, "void %s_quantize_input(const float *x, int8_t *xq)\n{\n", N);
    emit(e, "    for (int i = 0; i < %lld; i++) {\n", (long long)n->n_inputs);
    emit(e, "        const float v = x[i] / %s;\n", fmt_float(s, q->in_scale));
    emit(e, "        const float r = v < 0.0f ? -floorf(-v + 0.5f) : floorf(v + 0.5f);   /* halves away from 0 */\n");
    emit(e, "        const float z = r %c %ld.0f;\n", q->in_zp < 0 ? '-' : '+', labs((long)q->in_zp));
    /* (a NaN fails both tests of the clamp that way round: it becomes -128, never (int)NaN) */
    emit(e, "        xq[i] = (int8_t)(z > 127.0f ? 127 : z >= -128.0f ? (int)z : -128);\n    }\n}\n\n");
    emit(e, "void %s_forward(%s *net, const float *x, float *y)\n{\n", N, N);
    emit(e, "    int8_t *xq = net->act + %lld;\n", (long long)q->xq_off);
    emit(e, "    %s_quantize_input(x, xq);\n", N);
    emit(e, "    %s_forward_q(net, xq, net->acc);\n", N);
    emit(e, "    for (int j = 0; j < %lld; j++)\n", (long long)n->n_outputs);
    if (last->kind == LAYER_CONV)   /* a scale per filter, for its OH x OW outputs */
        emit(e, "        y[j] = (float)net->acc[j] * %s_q.output_scale[j / %lld];\n", N,
             (long long)(last->out.h * last->out.w));
    else
        emit(e, "        y[j] = (float)net->acc[j] * %s_q.output_scale[j];\n", N);
    emit_output_act(e, last, n->n_outputs);
    emit(e, "}\n");
}

/* ---- the files ---- */

static void emit_top_comment(Emitter *e, const QNet *q, const char *file)
{
    const Net *n = q->net;
    RtBuf d = {0};
    ir_describe_net(&d, n);
    emit(e, "/* %s: generated by nnc %s from %s.\n * Do not edit: change the .nn file and run nnc again.\n *\n",
         file, NNC_VERSION, e->mod->src->name);
    emit(e, " * network %s: %s\n *   int8 inference, quantized after training (calibrated on %lld samples)\n"
            " *   RAM   sizeof(%s) = %lld bytes, besides the stack\n"
            " *   flash %s_q = %lld bytes, besides the code\n */\n",
         n->name, d.oom ? "" : d.data, (long long)q->n_calib, n->name, (long long)q->ram_bytes, n->name,
         (long long)q->flash_bytes);
    rt_buf_free(&d);
}

static void emit_header_q(Emitter *e, const QNet *q, const char *h_name)
{
    const Net *n = q->net;
    const char *N = n->name;
    char guard[256], s[32];
    emit_header_guard(guard, sizeof guard, h_name);
    emit_top_comment(e, q, h_name);
    emit(e, "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n", guard, guard);
    emit(e, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    emit(e, "#define %s_N_INPUTS  %lld   /* values per input sample%s */\n", N, (long long)n->n_inputs,
         n->input.image ? " (CHW order)" : "");
    emit(e, "#define %s_N_OUTPUTS %lld\n", N, (long long)n->n_outputs);
    emit(e, "#define %s_FINGERPRINT UINT64_C(0x%016llx)   /* of the float network */\n", N,
         (unsigned long long)n->fingerprint);
    emit(e, "/* An input x is x_q = round(x / %s_INPUT_SCALE) + %s_INPUT_ZERO_POINT, clamped to\n"
            " * [-128, 127] (%s_quantize_input does it). */\n", N, N, N);
    emit(e, "#define %s_INPUT_SCALE %s\n", N, fmt_float(s, q->in_scale));
    emit(e, "#define %s_INPUT_ZERO_POINT (%ld)\n\n", N, (long)q->in_zp);
    emit(e, "/* sizeof(%s) is all the RAM inference needs: %lld bytes. */\n", N, (long long)q->ram_bytes);
    emit(e, "typedef struct %s {\n", N);
    emit(e, "    int32_t acc[%lld];   /* the output layer's sums */\n", (long long)n->n_outputs);
    emit(e, "    int8_t act[%lld];   /* the quantized input and the layers' outputs, sharing places by turns */\n",
         (long long)(q->act_bytes > 0 ? q->act_bytes : 1));
    emit(e, "} %s;\n\n", N);
    emit(e, "/* Runs one sample x[%s_N_INPUTS] through the int8 network into y[%s_N_OUTPUTS]:\n"
            " * x quantized, the int8 layers, the output sums times their scales, then the\n"
            " * output layer's activation, in float. */\n", N, N);
    emit(e, "void %s_forward(%s *net, const float *x, float *y);\n", N, N);
    emit(e, "/* The int8 network alone, no float: quantized input xq[%s_N_INPUTS] in, the\n"
            " * output layer's int32 sums out, acc[%s_N_OUTPUTS] (output j is acc[j] times its\n"
            " * scale, then the activation: %s_forward). */\n", N, N, N);
    emit(e, "void %s_forward_q(%s *net, const int8_t *xq, int32_t *acc);\n", N, N);
    emit(e, "/* x[%s_N_INPUTS] as int8, as %s_forward quantizes it. */\n", N, N);
    emit(e, "void %s_quantize_input(const float *x, int8_t *xq);\n\n", N);
    emit(e, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

bool emit_int8(const Module *m, const QNet *q, const char *h_name, RtBuf *c, RtBuf *h, Diag *diag)
{
    EmitOptions opt = {0};
    Emitter e = {.out = h, .mod = m, .opt = &opt, .net = q->net, .infer = true};
    const char *hn = h_name ? h_name : "net.h";
    emit_header_q(&e, q, hn);
    e.out = c;
    char c_name[256];
    snprintf(c_name, sizeof c_name, "%.*s.c", (int)(strlen(hn) - 2), hn);
    emit_top_comment(&e, q, c_name);
    if (h_name)
        emit(&e, "#include \"%s\"\n\n", h_name);
    emit(&e, "#include <math.h>\n\n");
    emit_consts_type(&e, q);
    emit_consts(&e, q);
    emit_helpers_q(&e, q);
    emit_run_q(&e, q);
    emit_forward_q(&e, q);
    if (c->oom || h->oom) {
        diag_plain(diag, DIAG_ERROR, "out of memory while emitting C");
        return false;
    }
    return true;
}
