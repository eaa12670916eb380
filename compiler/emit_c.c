/* emit_c.c — IR -> specialized C: the forward pass, the backward pass and
 * the optimizer step of every network, as a .c file and its .h.
 *
 * Everything the IR knows is baked in: every size and offset is a literal,
 * layers of at most `unroll` multiply-adds become straight-line code, larger
 * ones become loops with literal bounds whose innermost loop has no serial
 * reduction (dot products keep 8 or 16 partial sums), so compilers
 * vectorize them without -ffast-math; with a batch, big dense layers work on
 * all its samples at once, as matrix products (see "dense layers over a
 * whole batch" below).  The code is meant to be read: a banner per layer naming
 * its source line, shape comments, and the same bytes for the same input.
 *
 * Conventions of the generated code (llm.c's): `in`/`out` are a layer's
 * input and output, `w`/`b` its weight [out][in] and bias, `gw`/`gb` their
 * gradients, `dz` dLoss/d(pre-activation) of a layer, `din` dLoss/d(input). */
#include "nnc.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

enum { NNC_LANES = 8 };          /* partial sums per dot product of a convolution's weight gradient */
enum { DOT_LANES = 16 };         /* partial sums per dot product of a dense layer, one sample at a time */

typedef struct Emitter {
    Buf *out;
    const Net *net;
    const Module *mod;
    const EmitOptions *opt;
    bool infer;                  /* inference only: constant weights, no training code */
    char param[128];             /* how the parameters are reached: "net->param" or "NAME_param" */
    /* How per-sample code reaches the sample in flight: its input and its
     * rows of the activations, deltas, softmax inputs and dropout masks
     * ("x", "net->act", ... for one sample, "xs", "act", ... in a loop over
     * the batch). */
    const char *x, *act, *delta, *logit, *mask, *t;
    bool single;                 /* NAME_run_one: one sample of a batched network, dropout off */
} Emitter;

static void emit(Emitter *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(e->out, fmt, ap);
    va_end(ap);
}

/* Expands an ops.def template: `$` becomes `operand`, `@` becomes `param`. */
static void emit_template(Emitter *e, const char *tmpl, const char *operand, const char *param)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p == '$')
            buf_puts(e->out, operand);
        else if (*p == '@')
            buf_puts(e->out, param);
        else
            buf_printf(e->out, "%c", *p);
    }
}

static const char *act_param_str(char out[32], const Layer *l)
{
    return fmt_float(out, l->act_param);
}

/* "[out][in]" for dense, "[out_c][in_c][kh][kw]" for conv. */
static void weight_shape(char *out, size_t cap, const Layer *l)
{
    if (l->kind == LAYER_CONV)
        snprintf(out, cap, "[%lld][%lld][%lld][%lld]", (long long)l->out.c, (long long)l->in.c, (long long)l->kh,
                 (long long)l->kw);
    else
        snprintf(out, cap, "[%lld][%lld]", (long long)l->n_out, (long long)l->n_in);
}

/* The layer whose output is layer i's input, skipping flattens; NULL for x. */
static const Layer *producer(const Net *n, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (!n->layers[j].aliases_input)
            return &n->layers[j];
    return NULL;
}

/* The layer whose act holds the network's outputs: the last one, or, when
 * the last passes its input through (flatten, dropout), its producer; NULL
 * when that is the network's input itself. */
static const Layer *output_layer(const Net *n)
{
    const Layer *last = &n->layers[n->n_layers - 1];
    return last->aliases_input ? producer(n, n->n_layers - 1) : last;
}

/* A pointer expression to the activations of the sample in flight starting
 * at `off` (-1: its input). */
static void act_ptr(const Emitter *e, char out[64], int64_t off)
{
    if (off < 0)
        snprintf(out, 64, "%s", e->x);
    else
        snprintf(out, 64, "%s + %lld", e->act, (long long)off);
}

static bool unrolled(const Emitter *e, const Layer *l)
{
    return l->n_in * l->n_out <= e->opt->unroll;
}

/* Element-wise work (loss, activation derivatives) is unrolled when short. */
static bool short_vector(const Emitter *e, int64_t n)
{
    return n <= e->opt->unroll / 16 || n == 1;
}

/* ---- helpers emitted once per file ---- */

/* Whether a network being emitted uses activation k (only the inference
 * network counts when emitting for inference). */
static bool module_uses_act(const Emitter *e, ActKind k)
{
    const Module *m = e->mod;
    for (int i = 0; i < m->n_nets; i++) {
        if (e->infer && &m->nets[i] != e->opt->infer_net)
            continue;
        for (int j = 0; j < m->nets[i].n_layers; j++)
            if (m->nets[i].layers[j].act == k)
                return true;
    }
    return false;
}

/* Whether any network of the file initializes with normal (or, when
 * `normal` is false, with a uniform distribution: everything else). */
static bool module_uses_init(const Module *m, bool normal)
{
    for (int i = 0; i < m->n_nets; i++)
        if ((m->nets[i].init.kind == INIT_NORMAL) == normal)
            return true;
    return false;
}

static bool conv_gw_lane_sums(const Layer *l);

static void emit_helpers(Emitter *e)
{
    const Module *m = e->mod;
    emit(e, "/* ---- helpers shared by the networks of this file ---- */\n\n");
    if (module_uses_act(e, ACT_SIGMOID))
        emit(e, "static float nnc_sigmoid(float z)\n{\n    return 1.0f / (1.0f + expf(-z));\n}\n\n");
    if (module_uses_act(e, ACT_RELU))
        emit(e, "static float nnc_relu(float z)\n{\n    return z > 0.0f ? z : 0.0f;\n}\n\n");
    if (module_uses_act(e, ACT_LEAKY_RELU))
        emit(e, "static float nnc_leaky_relu(float z, float slope)\n{\n    return z > 0.0f ? z : slope * z;\n}\n\n");
    bool v8 = false;   /* batched dense layers (training) or stride-1 convolutions */
    bool lane_sums = false;   /* the weight gradient of a stride-1 convolution */
    for (int i = 0; i < m->n_nets; i++) {
        const Net *n = &m->nets[i];
        if (e->infer && n != e->opt->infer_net)
            continue;
        for (int j = 0; j < n->n_layers; j++) {
            const Layer *l = &n->layers[j];
            v8 |= (l->gemm && n->batch > 1 && !e->infer) ||
                  (l->kind == LAYER_CONV && l->stride_h == 1 && l->stride_w == 1);
            lane_sums |= !e->infer && conv_gw_lane_sums(l);
        }
    }
    if (v8)
        emit(e, "/* Batched dense layers and convolutions keep their sums in vectors of 8 floats\n"
                " * where the compiler has them (GCC's and Clang's vector extension) and the\n"
                " * target has 8-float registers (AVX: -march=native on most x86-64, -mavx2):\n"
                " * registers, which plain arrays of accumulators are not always given.\n"
                " * Elsewhere (tcc, other targets, -DNNC_PLAIN_C) the same sums, in the same\n"
                " * order, are plain loops. */\n"
                "#if defined(__GNUC__) && !defined(__TINYC__) && defined(__AVX__) && !defined(NNC_PLAIN_C)\n"
                "#define NNC_V8 1\n"
                "typedef float nnc_v8 __attribute__((vector_size(32)));   /* moved with memcpy: any alignment */\n"
                "#if defined(__AVX512VL__)\n"
                "#define NNC_V8_WIDE 1   /* 32 vector registers: the convolutions' larger register blocks */\n"
                "#endif\n"
                "#endif\n\n");
    if (lane_sums)
        emit(e, "#ifdef NNC_V8\n"
                "/* The 8 lane sums of v0 .. v7, each ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7))\n"
                " * as the plain loops add them: two rounds of pairwise adds (AVX's vhaddps), then\n"
                " * the 128-bit halves (vperm2f128).  GCC's and Clang's builtins, not <immintrin.h>,\n"
                " * which brings <stdlib.h> and its names along. */\n"
                "static nnc_v8 nnc_lane_sums(nnc_v8 v0, nnc_v8 v1, nnc_v8 v2, nnc_v8 v3, nnc_v8 v4, nnc_v8 v5, nnc_v8 v6,\n"
                "                            nnc_v8 v7)\n"
                "{\n"
                "    nnc_v8 lo = __builtin_ia32_haddps256(__builtin_ia32_haddps256(v0, v1), __builtin_ia32_haddps256(v2, v3));\n"
                "    nnc_v8 hi = __builtin_ia32_haddps256(__builtin_ia32_haddps256(v4, v5), __builtin_ia32_haddps256(v6, v7));\n"
                "    return __builtin_ia32_vperm2f128_ps256(lo, hi, 0x20) + __builtin_ia32_vperm2f128_ps256(lo, hi, 0x31);\n"
                "}\n"
                "#endif\n\n");
    if (e->infer)
        return;
    emit(e, "/* splitmix64: the deterministic random numbers of NAME_init */\n"
            "static uint64_t nnc_rng_next(uint64_t *state)\n"
            "{\n"
            "    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));\n"
            "    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);\n"
            "    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);\n"
            "    return z ^ (z >> 31);\n"
            "}\n\n");
    if (module_uses_init(m, false))
        emit(e, "/* uniform in [lo, hi): 24 random bits, a uniform grid of 2^24 values */\n"
            "static float nnc_rng_uniform(uint64_t *state, float lo, float hi)\n"
            "{\n"
            "    float u = (float)(nnc_rng_next(state) >> 40) * (1.0f / 16777216.0f);\n"
            "    return lo + (hi - lo) * u;\n"
            "}\n\n");
    if (module_uses_init(m, true))
        emit(e, "/* normal(mean, std) by Box-Muller, in double for accuracy */\n"
                "static float nnc_rng_normal(uint64_t *state, float mean, float std)\n"
                "{\n"
                "    double u1 = ((double)(nnc_rng_next(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);\n"
                "    double u2 = (double)(nnc_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);\n"
                "    return mean + std * (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));\n"
                "}\n\n");
}

/* ---- init ---- */

/* The init a layer gets and its describing text. */
static void layer_init(const Net *n, const Layer *l, Init *out)
{
    *out = n->init;
    if (out->kind == INIT_DEFAULT)
        out->kind = act_info[l->act].default_init;
}

static void emit_fill(Emitter *e, const char *what, int64_t off, int64_t len, const Init *in, double bound_xh)
{
    char a[32], b[32];
    if (len == 1)
        emit(e, "    net->param[%lld] = ", (long long)off);
    else if (off == 0)
        emit(e, "    for (int i = 0; i < %lld; i++)\n        net->param[i] = ", (long long)len);
    else
        emit(e, "    for (int i = 0; i < %lld; i++)\n        net->param[%lld + i] = ", (long long)len, (long long)off);
    switch (in->kind) {
    case INIT_UNIFORM:
        emit(e, "nnc_rng_uniform(&rng, %s, %s);", fmt_float(a, in->a), fmt_float(b, in->b));
        break;
    case INIT_NORMAL:
        emit(e, "nnc_rng_normal(&rng, %s, %s);", fmt_float(a, in->a), fmt_float(b, in->b));
        break;
    default:
        emit(e, "nnc_rng_uniform(&rng, %s, %s);", fmt_float(a, -bound_xh), fmt_float(b, bound_xh));
        break;
    }
    emit(e, "   /* %s */\n", what);
}

static void emit_init(Emitter *e)
{
    const Net *n = e->net;
    char lr[32];
    emit(e, "void %s_init(%s *net, uint64_t seed)\n{\n", n->name, n->name);
    emit(e, "    uint64_t rng = seed;\n\n");
    emit(e, "    memset(net, 0, sizeof *net);\n");
    emit(e, "    net->lr = %s;\n", fmt_float(lr, n->optim.lr));
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!l->w_len)
            continue;
        Init in;
        layer_init(n, l, &in);
        double fan_in = (double)l->w_len / (double)l->units, fan_out = (double)l->units * (double)(l->kh ? l->kh * l->kw : 1);
        double bound = in.kind == INIT_HE ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
        emit(e, "    /* layer %d: %s (%s:%d): %s */\n", l->index, layer_info[l->kind].keyword, e->mod->src->name,
             l->line,
             in.kind == INIT_HE       ? "He uniform, bound sqrt(6 / fan_in); biases 0"
             : in.kind == INIT_XAVIER ? "Xavier uniform, bound sqrt(6 / (fan_in + fan_out)); biases 0"
             : in.kind == INIT_UNIFORM ? "weights and biases uniform"
                                       : "weights and biases normal");
        emit_fill(e, "weight", l->w_off, l->w_len, &in, bound);
        if (in.kind == INIT_UNIFORM || in.kind == INIT_NORMAL)
            emit_fill(e, "bias", l->b_off, l->b_len, &in, bound);
    }
    if (n->has_dropout)
        emit(e, "    net->rng = rng;   /* dropout masks continue the same random stream */\n");
    emit(e, "}\n\n");
}

/* ---- forward ---- */

/* z = b[o] + sum_i w[o][i] * in[i], as one expression, four terms a line. */
static void emit_dot_unrolled(Emitter *e, const Layer *l, int64_t o, int indent)
{
    emit(e, "b[%lld]", (long long)o);
    for (int64_t i = 0; i < l->n_in; i++) {
        if (i % 4 == 3)
            emit(e, "\n%*s", indent, "");
        emit(e, " + w[%lld] * in[%lld]", (long long)(o * l->n_in + i), (long long)i);
    }
}

static void emit_dense_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    const Net *n = e->net;
    bool softmax = l->act == ACT_SOFTMAX;
    const ActInfo *a = &act_info[l->act];
    char slope[32];
    act_param_str(slope, l);
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld] */\n", e->param, (long long)l->w_off,
         (long long)l->n_out, (long long)l->n_in);
    emit(e, "        const float *b = %s + %lld;   /* [%lld] */\n", e->param, (long long)l->b_off, (long long)l->n_out);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    const char *dest = softmax ? e->logit : "out";
    if (unrolled(e, l)) {
        for (int64_t o = 0; o < l->n_out; o++) {
            char lhs[64];
            snprintf(lhs, sizeof lhs, "        %s[%lld] = ", dest, (long long)o);
            emit(e, "%s", lhs);
            Buf dot = {0};
            Emitter sub = *e;
            sub.out = &dot;
            size_t indent = strlen(lhs);
            if (!softmax && a->forward && strcmp(a->forward, "$") != 0) {
                const char *open = strchr(a->forward, '$');
                indent += (size_t)(open - a->forward);
            }
            emit_dot_unrolled(&sub, l, o, (int)indent);
            if (!softmax && a->forward)
                emit_template(e, a->forward, dot.oom ? "" : dot.data, slope);
            else
                emit(e, "%s", dot.oom ? "" : dot.data);
            buf_free(&dot);
            emit(e, ";\n");
        }
    } else {
        emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
        emit(e, "            const float *wo = w + o * %lld;\n", (long long)l->n_in);
        int64_t main_len = l->n_in >= 2 * DOT_LANES ? l->n_in / DOT_LANES * DOT_LANES : 0;
        if (main_len) {
            emit(e, "            float acc[%d] = {0.0f};   /* %d partial sums: no serial dependence */\n", DOT_LANES,
                 DOT_LANES);
            emit(e, "            float z;\n");
            emit(e, "            for (int i = 0; i < %lld; i += %d)\n", (long long)main_len, DOT_LANES);
            emit(e, "                for (int k = 0; k < %d; k++)\n", DOT_LANES);
            emit(e, "                    acc[k] += wo[i + k] * in[i + k];\n");
            emit(e, "            for (int k = 0; k < 8; k++)   /* added up pairwise */\n                acc[k] += acc[k + 8];\n");
            emit(e, "            for (int k = 0; k < 4; k++)\n                acc[k] += acc[k + 4];\n");
            emit(e, "            z = b[o] + ((acc[0] + acc[2]) + (acc[1] + acc[3]));\n");
        } else {
            emit(e, "            float z = b[o];\n");
        }
        if (main_len < l->n_in)
            emit(e, "            for (int i = %lld; i < %lld; i++)\n                z += wo[i] * in[i];\n",
                 (long long)main_len, (long long)l->n_in);
        emit(e, "            %s[o] = ", dest);
        if (!softmax && a->forward)
            emit_template(e, a->forward, "z", slope);
        else
            emit(e, "z");
        emit(e, ";\n        }\n");
    }
    if (softmax) {
        emit(e, "        {   /* softmax: out = exp(z - max z) / sum */\n");
        emit(e, "            const float *z = %s;\n", e->logit);
        emit(e, "            float m = z[0], sum = 0.0f, inv;\n");
        emit(e, "            for (int o = 1; o < %lld; o++)\n                m = z[o] > m ? z[o] : m;\n",
             (long long)l->n_out);
        emit(e, "            for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
        emit(e, "                out[o] = expf(z[o] - m);\n                sum += out[o];\n            }\n");
        emit(e, "            inv = 1.0f / sum;\n");
        emit(e, "            for (int o = 0; o < %lld; o++)\n                out[o] *= inv;\n", (long long)l->n_out);
        emit(e, "        }\n");
    }
    (void)n;
}

/* ---- convolution and pooling ----
 *
 * Direct convolution over CHW tensors, one sample.  For every filter f and
 * input channel c, each kernel tap (ky, kx) is its own block with the rows
 * and columns it touches worked out here, so the innermost loop runs over
 * output columns with literal bounds and no branch: for stride 1 it is a
 * contiguous axpy, which compilers vectorize. */

typedef struct Range { int64_t lo, hi; } Range;   /* [lo, hi) */

/* Output positions o in [0, n_out) whose input o*stride + k - pad is in [0, n_in). */
static Range tap_range(int64_t n_in, int64_t n_out, int64_t k, int64_t stride, int64_t pad)
{
    int64_t off = k - pad;   /* input = o * stride + off */
    int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t hi = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / stride + 1;
    if (hi > n_out)
        hi = n_out;
    return (Range){lo, hi < lo ? lo : hi};
}

/* "ox * 2 + -1" reads badly: "ox * 2 - 1" */
static void index_expr(char *out, size_t cap, const char *var, int64_t stride, int64_t off)
{
    char mul[40];
    if (stride == 1)
        snprintf(mul, sizeof mul, "%s", var);
    else
        snprintf(mul, sizeof mul, "%s * %lld", var, (long long)stride);
    if (off > 0)
        snprintf(out, cap, "%s + %lld", mul, (long long)off);
    else if (off < 0)
        snprintf(out, cap, "%s - %lld", mul, (long long)-off);
    else
        snprintf(out, cap, "%s", mul);
}

/* The taps of one (filter, channel) pair, each with the output rows and
 * columns it reaches.  mode 0: forward, 1: weight gradient, 2: input
 * gradient. */
static void emit_conv_taps(Emitter *e, const Layer *l, int mode)
{
    int64_t H = l->in.h, W = l->in.w, OW = l->out.w;
    for (int64_t ky = 0; ky < l->kh; ky++) {
        Range ry = tap_range(H, l->out.h, ky, l->stride_h, l->pad_h);
        for (int64_t kx = 0; kx < l->kw; kx++) {
            Range rx = tap_range(W, OW, kx, l->stride_w, l->pad_w);
            if (ry.lo >= ry.hi || rx.lo >= rx.hi)
                continue;   /* this tap only ever sees padding */
            char iy[96], ix[96];
            index_expr(iy, sizeof iy, "oy", l->stride_h, ky - l->pad_h);
            index_expr(ix, sizeof ix, "ox", l->stride_w, kx - l->pad_w);
            int64_t tap = ky * l->kw + kx;
            const char *indent = "                ";
            switch (mode) {
            case 0:
                emit(e, "%sfor (int oy = %lld; oy < %lld; oy++) {   /* tap %lld,%lld */\n", indent, (long long)ry.lo,
                     (long long)ry.hi, (long long)ky, (long long)kx);
                emit(e, "%s    const float *ir = ic + (%s) * %lld;\n", indent, iy, (long long)W);
                emit(e, "%s    float *orow = of + oy * %lld;\n", indent, (long long)OW);
                emit(e, "%s    for (int ox = %lld; ox < %lld; ox++)\n", indent, (long long)rx.lo, (long long)rx.hi);
                emit(e, "%s        orow[ox] += wc[%lld] * ir[%s];\n", indent, (long long)tap, ix);
                emit(e, "%s}\n", indent);
                break;
            case 1:
                emit(e, "%s{   /* tap %lld,%lld */\n", indent, (long long)ky, (long long)kx);
                emit(e, "%s    float acc = 0.0f;\n", indent);
                emit(e, "%s    for (int oy = %lld; oy < %lld; oy++) {\n", indent, (long long)ry.lo, (long long)ry.hi);
                emit(e, "%s        const float *ir = ic + (%s) * %lld;\n", indent, iy, (long long)W);
                emit(e, "%s        const float *drow = df + oy * %lld;\n", indent, (long long)OW);
                emit(e, "%s        for (int ox = %lld; ox < %lld; ox++)\n", indent, (long long)rx.lo,
                     (long long)rx.hi);
                emit(e, "%s            acc += drow[ox] * ir[%s];\n", indent, ix);
                emit(e, "%s    }\n", indent);
                emit(e, "%s    gwc[%lld] += acc;\n", indent, (long long)tap);
                emit(e, "%s}\n", indent);
                break;
            default:
                emit(e, "%sfor (int oy = %lld; oy < %lld; oy++) {   /* tap %lld,%lld */\n", indent, (long long)ry.lo,
                     (long long)ry.hi, (long long)ky, (long long)kx);
                emit(e, "%s    float *dr = dc + (%s) * %lld;\n", indent, iy, (long long)W);
                emit(e, "%s    const float *drow = df + oy * %lld;\n", indent, (long long)OW);
                emit(e, "%s    for (int ox = %lld; ox < %lld; ox++)\n", indent, (long long)rx.lo, (long long)rx.hi);
                emit(e, "%s        dr[%s] += wc[%lld] * drow[ox];\n", indent, ix, (long long)tap);
                emit(e, "%s}\n", indent);
                break;
            }
        }
    }
}

static void emit_conv_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    int64_t C = l->in.c, HW = l->in.h * l->in.w, F = l->out.c, OHW = l->out.h * l->out.w, KK = l->kh * l->kw;
    char expr[96], slope[32];
    act_param_str(slope, l);
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld][%lld][%lld] */\n", e->param, (long long)l->w_off,
         (long long)F, (long long)C, (long long)l->kh, (long long)l->kw);
    emit(e, "        const float *b = %s + %lld;   /* [%lld] */\n", e->param, (long long)l->b_off, (long long)F);
    emit(e, "        const float *in = %s;   /* [%lld][%lld][%lld] */\n", in_ptr, (long long)C, (long long)l->in.h,
         (long long)l->in.w);
    snprintf(expr, sizeof expr, "%s + %lld", e->act, (long long)l->act_off);
    emit(e, "        float *out = %s;   /* [%lld][%lld][%lld] */\n", expr, (long long)F, (long long)l->out.h,
         (long long)l->out.w);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)F);
    emit(e, "            float *of = out + f * %lld;\n", (long long)OHW);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                of[i] = b[f];\n", (long long)OHW);
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)C);
    emit(e, "                const float *ic = in + c * %lld;\n", (long long)HW);
    emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)C, (long long)KK);
    emit_conv_taps(e, l, 0);
    emit(e, "            }\n");
    const ActInfo *a = &act_info[l->act];
    if (a->forward && strcmp(a->forward, "$") != 0) {
        emit(e, "            for (int i = 0; i < %lld; i++)\n                of[i] = ", (long long)OHW);
        emit_template(e, a->forward, "of[i]", slope);
        emit(e, ";\n");
    }
    emit(e, "        }\n");
}

static void emit_pool_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    bool max = l->kind == LAYER_MAXPOOL;
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    char iy[96], ix[96];
    index_expr(iy, sizeof iy, "oy", l->stride_h, 0);
    index_expr(ix, sizeof ix, "ox", l->stride_w, 0);
    emit(e, "        const float *in = %s;   /* [%lld][%lld][%lld] */\n", in_ptr, (long long)l->in.c, (long long)H,
         (long long)W);
    emit(e, "        float *out = %s + %lld;   /* [%lld][%lld][%lld] */\n", e->act, (long long)l->act_off,
         (long long)l->out.c, (long long)OH, (long long)OW);
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const float *win = in + c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy,
         (long long)W, ix);
    emit(e, "                    float v = %s;\n", max ? "win[0]" : "0.0f");
    emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
    emit(e, "                        for (int kx = 0; kx < %lld; kx++)\n", (long long)l->kw);
    if (max) {
        emit(e, "                            v = win[ky * %lld + kx] > v ? win[ky * %lld + kx] : v;\n", (long long)W,
             (long long)W);
        emit(e, "                    out[(c * %lld + oy) * %lld + ox] = v;\n", (long long)OH, (long long)OW);
    } else {
        emit(e, "                            v += win[ky * %lld + kx];\n", (long long)W);
        char inv[32];
        emit(e, "                    out[(c * %lld + oy) * %lld + ox] = v * %s;\n", (long long)OH, (long long)OW,
             fmt_float(inv, 1.0 / (double)(l->kh * l->kw)));
    }
    emit(e, "                }\n");
}

/* The derivative factor of activation of `l` at output expression `y`, as
 * " * (...)", or "" when it is 1. */
static void emit_deriv_factor(Emitter *e, const Layer *l, const char *y)
{
    const ActInfo *a = &act_info[l->act];
    if (!a->derivative)
        return;
    char slope[32];
    act_param_str(slope, l);
    emit(e, " * (");
    emit_template(e, a->derivative, y, slope);
    emit(e, ")");
}

/* din *= act'(producer's output), element-wise over n floats. */
static void emit_din_through_act_at(Emitter *e, const Layer *prod, int64_t n, const char *ind)
{
    if (!act_info[prod->act].derivative)
        return;
    char slope[32];
    act_param_str(slope, prod);
    emit(e, "%sfor (int i = 0; i < %lld; i++)   /* through the activation of layer %d */\n", ind, (long long)n,
         prod->index);
    emit(e, "%s    din[i] *= ", ind);
    emit_template(e, act_info[prod->act].derivative, "in[i]", slope);
    emit(e, ";\n");
}

/* ... at the indent of a layer's per-sample code */
static void emit_din_through_act(Emitter *e, const Layer *prod, int64_t n)
{
    emit_din_through_act_at(e, prod, n, "        ");
}

/* gb[f] += the sum of dz over filter f's output plane, in 8 lanes added
 * pairwise (a serial sum would be one long chain of dependent adds). */
static void emit_conv_bias_grad(Emitter *e, int64_t F, int64_t OHW)
{
    int64_t main_len = OHW / NNC_LANES * NNC_LANES;
    emit(e, "        for (int f = 0; f < %lld; f++) {   /* gb += the sum of dz, in %d lanes */\n", (long long)F,
         NNC_LANES);
    emit(e, "            const float *df = dz + f * %lld;\n", (long long)OHW);
    emit(e, "            float acc[%d] = {0.0f};\n", NNC_LANES);
    if (main_len)
        emit(e, "            for (int i = 0; i < %lld; i += %d)\n                for (int k = 0; k < %d; k++)\n"
                "                    acc[k] += df[i + k];\n", (long long)main_len, NNC_LANES, NNC_LANES);
    if (main_len < OHW)
        emit(e, "            for (int i = %lld; i < %lld; i++)\n                acc[i - %lld] += df[i];\n",
             (long long)main_len, (long long)OHW, (long long)main_len);
    emit(e, "            gb[f] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));\n");
    emit(e, "        }\n");
}

static void emit_conv_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    int64_t C = l->in.c, HW = l->in.h * l->in.w, F = l->out.c, OHW = l->out.h * l->out.w, KK = l->kh * l->kw;
    bool need_din = prod != NULL;
    emit(e, "        const float *dz = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)(row * n->max_width), (long long)F, (long long)l->out.h, (long long)l->out.w);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    if (need_din) {
        emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
        emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
             e->delta, (long long)((row ^ 1) * n->max_width), (long long)C, (long long)l->in.h, (long long)l->in.w);
        emit(e, "        for (int i = 0; i < %lld; i++)\n            din[i] = 0.0f;\n", (long long)(C * HW));
    }
    emit_conv_bias_grad(e, F, OHW);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)F);
    emit(e, "            const float *df = dz + f * %lld;\n", (long long)OHW);
    emit(e, "            for (int c = 0; c < %lld; c++) {   /* gw += dz (*) in */\n", (long long)C);
    emit(e, "                const float *ic = in + c * %lld;\n", (long long)HW);
    emit(e, "                float *gwc = gw + (f * %lld + c) * %lld;\n", (long long)C, (long long)KK);
    emit_conv_taps(e, l, 1);
    emit(e, "            }\n");
    if (need_din) {
        emit(e, "            for (int c = 0; c < %lld; c++) {   /* din += w (*) dz, the transposed convolution */\n",
             (long long)C);
        emit(e, "                float *dc = din + c * %lld;\n", (long long)HW);
        emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)C, (long long)KK);
        emit_conv_taps(e, l, 2);
        emit(e, "            }\n");
    }
    emit(e, "        }\n");
    if (need_din)
        emit_din_through_act(e, prod, C * HW);
}

static void emit_pool_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    bool max = l->kind == LAYER_MAXPOOL;
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    if (!prod) {
        emit(e, "        /* the input needs no gradient */\n");
        return;
    }
    char iy[96], ix[96];
    index_expr(iy, sizeof iy, "oy", l->stride_h, 0);
    index_expr(ix, sizeof ix, "ox", l->stride_w, 0);
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    if (max || act_info[prod->act].derivative)   /* avgpool reads its input only for the activation */
        emit(e, "        const float *in = %s;\n", in_ptr);
    if (max)
        emit(e, "        const float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)l->in.c, (long long)H, (long long)W);
    /* Windows that tile the input exactly: every input is in one window, so
     * each gets its value once, without clearing din first or branching. */
    bool tiles = l->stride_h == l->kh && l->stride_w == l->kw && OH * l->kh == H && OW * l->kw == W;
    if (tiles && max) {
        /* Row by row, so that the ox loop reads and writes contiguous rows and
         * vectorizes.  The first maximum of a window gets dz times the
         * producer's derivative there (the maximum is that input's value); the
         * other inputs get 0.  A NaN window matches nothing and gets 0. */
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the windows tile the input */\n", (long long)l->in.c);
        emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)OH);
        emit(e, "                const float *m = out + (c * %lld + oy) * %lld, *g = dz + (c * %lld + oy) * %lld;\n",
             (long long)OH, (long long)OW, (long long)OH, (long long)OW);
        /* one pointer per row of the windows: GCC vectorizes each row's
         * interleaved reads, not one group spanning rows */
        for (int64_t ky = 0; ky < l->kh; ky++)
            emit(e, "                const float *r%lld = in + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        for (int64_t ky = 0; ky < l->kh; ky++)
            emit(e, "                float *d%lld = din + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
        emit(e, "                    const float mx = m[ox], gv = g[ox]");
        emit_deriv_factor(e, prod, "mx");
        emit(e, ";\n");
        /* all reads first, then the tests, then the writes: GCC vectorizes
         * this order, not reads and writes interleaved */
        int64_t kk = l->kh * l->kw;
        char at[96];
        for (int64_t j = 0; j < kk; j++) {
            index_expr(at, sizeof at, "ox", l->kw, j % l->kw);
            emit(e, "%s v%lld = r%lld[%s]%s", j ? "," : "                    const float", (long long)j,
                 (long long)(j / l->kw), at, j == kk - 1 ? ";\n" : "");
        }
        emit(e, "                    int %sh0", kk > 1 ? "left, " : "");
        for (int64_t j = 1; j < kk; j++)
            emit(e, ", h%lld", (long long)j);
        emit(e, ";   /* the first maximum, in PyTorch's order */\n");
        emit(e, "                    h0 = v0 == mx;\n");
        if (kk > 1)
            emit(e, "                    left = !h0;\n");
        for (int64_t j = 1; j < kk; j++) {
            emit(e, "                    h%lld = left & (v%lld == mx);\n", (long long)j, (long long)j);
            if (j < kk - 1)
                emit(e, "                    left &= !h%lld;\n", (long long)j);
        }
        for (int64_t j = 0; j < kk; j++) {
            index_expr(at, sizeof at, "ox", l->kw, j % l->kw);
            emit(e, "                    d%lld[%s] = h%lld ? gv : 0.0f;\n", (long long)(j / l->kw), at, (long long)j);
        }
        emit(e, "                }\n            }\n");
        return;
    }
    if (tiles) {
        int64_t kk = l->kh * l->kw;
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the windows tile the input */\n", (long long)l->in.c);
        emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
        emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
        emit(e, "                    const int o = (c * %lld + oy) * %lld + ox;\n", (long long)OH, (long long)OW);
        emit(e, "                    const int at = c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy,
             (long long)W, ix);
        char inv[32];
        emit(e, "                    const float d = dz[o] * %s;\n", fmt_float(inv, 1.0 / (double)kk));
        for (int64_t j = 0; j < kk; j++)
            emit(e, "                    din[at + %lld] = d;\n", (long long)(j / l->kw * W + j % l->kw));
        emit(e, "                }\n");
        emit_din_through_act(e, prod, l->in.c * H * W);
        return;
    }
    emit(e, "        for (int i = 0; i < %lld; i++)\n            din[i] = 0.0f;\n", (long long)(l->in.c * H * W));
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const int o = (c * %lld + oy) * %lld + ox;\n", (long long)OH, (long long)OW);
    emit(e, "                    const int at = c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy, (long long)W,
         ix);
    if (max) {
        emit(e, "                    int done = 0;   /* the gradient goes to the first maximum, as in PyTorch */\n");
        emit(e, "                    for (int ky = 0; ky < %lld && !done; ky++)\n", (long long)l->kh);
        emit(e, "                        for (int kx = 0; kx < %lld && !done; kx++)\n", (long long)l->kw);
        emit(e, "                            if (in[at + ky * %lld + kx] == out[o]) {\n", (long long)W);
        emit(e, "                                din[at + ky * %lld + kx] += dz[o];\n", (long long)W);
        emit(e, "                                done = 1;\n");
        emit(e, "                            }\n");
    } else {
        char inv[32];
        emit(e, "                    const float d = dz[o] * %s;\n", fmt_float(inv, 1.0 / (double)(l->kh * l->kw)));
        emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
        emit(e, "                        for (int kx = 0; kx < %lld; kx++)\n", (long long)l->kw);
        emit(e, "                            din[at + ky * %lld + kx] += d;\n", (long long)W);
    }
    emit(e, "                }\n");
    emit_din_through_act(e, prod, l->in.c * H * W);
}


/* ---- stride-1 convolution on a padded plane ----
 *
 * With stride 1, the input gets a zero border once (pin: [C][Hp][Wp]) and
 * the output is computed Wp wide (oext: [OH][Wp]; the last Wp - OW columns
 * of each row are never used).  Then every kernel tap (ky, kx) is ONE
 * contiguous loop of L = (OH - 1) * Wp + OW multiply-adds,
 *     oext[i] += w[f][c][ky][kx] * pin[c][ky * Wp + kx + i],
 * long enough to vectorize well even for small images.  The backward pass
 * runs the same loops transposed. */

typedef struct PlaneGeom {
    int64_t C, H, W, F, OH, OW, PH, PW, Hp, Wp, L, KK;
} PlaneGeom;

static PlaneGeom plane_geom(const Layer *l)
{
    PlaneGeom g;
    g.C = l->in.c, g.H = l->in.h, g.W = l->in.w;
    g.F = l->out.c, g.OH = l->out.h, g.OW = l->out.w;
    g.PH = l->pad_h, g.PW = l->pad_w;
    g.Hp = g.H + 2 * g.PH, g.Wp = g.W + 2 * g.PW;
    g.L = (g.OH - 1) * g.Wp + g.OW;
    g.KK = l->kh * l->kw;
    return g;
}

/* pin = the input with a zero border (or the input itself, unpadded). */
static void emit_padded_input(Emitter *e, const PlaneGeom *g)
{
    if (g->PH == 0 && g->PW == 0) {
        emit(e, "        const float *pin = in;   /* no padding: the input itself */\n");
        return;
    }
    emit(e, "        float *pin = net->pad;   /* [%lld][%lld][%lld]: the input inside a zero border */\n",
         (long long)g->C, (long long)g->Hp, (long long)g->Wp);
    emit(e, "        for (int c = 0; c < %lld; c++) {   /* each float once: the border's zeros, the input */\n",
         (long long)g->C);
    emit(e, "            float *pc = pin + c * %lld;\n", (long long)(g->Hp * g->Wp));
    if (g->PH)
        emit(e, "            for (int i = 0; i < %lld; i++)\n                pc[i] = pc[%lld + i] = 0.0f;\n",
             (long long)(g->PH * g->Wp), (long long)((g->PH + g->H) * g->Wp));
    emit(e, "            for (int iy = 0; iy < %lld; iy++) {\n", (long long)g->H);
    emit(e, "                float *pr = pc + (iy + %lld) * %lld;\n", (long long)g->PH, (long long)g->Wp);
    if (g->PW)
        emit(e, "                for (int k = 0; k < %lld; k++)\n                    pr[k] = pr[%lld + k] = 0.0f;\n",
             (long long)g->PW, (long long)(g->PW + g->W));
    emit(e, "                for (int ix = 0; ix < %lld; ix++)\n", (long long)g->W);
    emit(e, "                    pr[%lld + ix] = in[(c * %lld + iy) * %lld + ix];\n", (long long)g->PW, (long long)g->H,
         (long long)g->W);
    emit(e, "            }\n        }\n");
}

/* Every tap of a register block: Q vectors of the plane `base` at the tap's
 * offset (times `sign`: the input gradient reads dz shifted the other way)
 * into vec<k>, then acc<r>_<k> += w[r * wstride + tap] * vec<k>. */
static void emit_conv_taps_v8(Emitter *e, const Layer *l, const PlaneGeom *g, int64_t R, int64_t Q, const char *ind,
                              const char *acc, const char *vec, const char *base, int sign, const char *w,
                              int64_t wstride)
{
    for (int64_t ky = 0; ky < l->kh; ky++)
        for (int64_t kx = 0; kx < l->kw; kx++) {
            int64_t tap = ky * l->kw + kx, off = sign * (ky * g->Wp + kx);
            emit(e, "%s    /* tap %lld,%lld */\n", ind, (long long)ky, (long long)kx);
            for (int64_t k = 0; k < Q; k++)
                emit(e, "%s    memcpy(&%s%lld, %s + %lld, 32);\n", ind, vec, (long long)k, base,
                     (long long)(off + 8 * k));
            for (int64_t r = 0; r < R; r++) {
                emit(e, "%s   ", ind);
                for (int64_t k = 0; k < Q; k++)
                    emit(e, " %s%lld_%lld += %s[%lld] * %s%lld;", acc, (long long)r, (long long)k, w,
                         (long long)(r * wstride + tap), vec, (long long)k);
                emit(e, "\n");
            }
        }
}

/* The stride-1 convolution's forward pass in register blocks: R filters x
 * 8*Q positions of the wide plane at a time, summed over channels and taps
 * in the plain loops' order (so the two paths give the same bits), stored
 * into one wide plane per filter (ow, dx_stride apart); bias and activation
 * come on the way out to the compact output. */
static void emit_conv_fwd_block(Emitter *e, const Layer *l, const PlaneGeom *g, int64_t R, int64_t Q, const char *ind)
{
    int64_t ckk = g->C * g->KK, ps = l->dx_stride;
    if (Q == 0) {   /* one position: plain sums */
        emit(e, "%sfor (int r = 0; r < %lld; r++) {\n", ind, (long long)R);
        emit(e, "%s    const float *wr = w + (f + r) * %lld;\n", ind, (long long)ckk);
        emit(e, "%s    float z = 0.0f;\n", ind);
        emit(e, "%s    for (int c = 0; c < %lld; c++)\n", ind, (long long)g->C);
        emit(e, "%s        for (int k = 0; k < %lld; k++)\n", ind, (long long)g->KK);
        emit(e, "%s            z += wr[c * %lld + k] * pin[c * %lld + k / %lld * %lld + k %% %lld + i];\n", ind,
             (long long)g->KK, (long long)(g->Hp * g->Wp), (long long)l->kw, (long long)g->Wp, (long long)l->kw);
        emit(e, "%s    ow[(f + r) * %lld + i] = z;\n%s}\n", ind, (long long)ps, ind);
        return;
    }
    emit(e, "%sconst nnc_v8 zero = {0.0f};\n%snnc_v8 ", ind, ind);
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < Q; k++)
            emit(e, "%sa%lld_%lld = zero", !k ? (r ? ",\n       " : "") : ", ", (long long)r, (long long)k);
    emit(e, ";\n");
    emit(e, "%sfor (int c = 0; c < %lld; c++) {\n", ind, (long long)g->C);
    emit(e, "%s    const float *pc = pin + c * %lld + i, *wc = w + f * %lld + c * %lld;\n", ind,
         (long long)(g->Hp * g->Wp), (long long)ckk, (long long)g->KK);
    emit(e, "%s    nnc_v8 ", ind);
    for (int64_t k = 0; k < Q; k++)
        emit(e, "%sx%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    emit_conv_taps_v8(e, l, g, R, Q, ind, "a", "x", "pc", 1, "wc", ckk);
    emit(e, "%s}\n", ind);
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s", ind);
        for (int64_t k = 0; k < Q; k++)
            emit(e, "%smemcpy(ow + (f + %lld) * %lld + i + %lld, &a%lld_%lld, 32);", k ? " " : "", (long long)r,
                 (long long)ps, (long long)(8 * k), (long long)r, (long long)k);
        emit(e, "\n");
    }
}

/* The register blocks of the vector path, in two sizes: for targets with 32
 * vector registers (AVX-512VL; NNC_V8_WIDE) and for those with 16 (AVX2),
 * where the larger blocks spill.  Measured on this project's Zen 4, the
 * example CNN's training step at batch 32: with 16 registers (-mno-avx512f)
 * 5.5 ms with the wide blocks, 4.2 ms with the narrow ones; with 32, 3.0 ms
 * with the wide ones. */
typedef struct ConvBlocks {
    int64_t filters, vectors;          /* a forward block: filters x 8*vectors positions */
    int64_t gw_filters;                /* a weight-gradient block: filters x all taps */
    int64_t din_channels, din_vectors; /* an input-gradient block: channels x 8*vectors positions */
} ConvBlocks;

static const ConvBlocks conv_wide = {8, 3, 2, 4, 4}, conv_narrow = {6, 2, 1, 3, 3};

static void emit_conv_forward_v8(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBlocks *cbk)
{
    emit(e, "        float *ow = net->pad + %lld;   /* [%lld][%lld]: each filter's output, %lld wide */\n",
         (long long)(2 * g->C * g->Hp * g->Wp), (long long)g->F, (long long)l->dx_stride, (long long)g->Wp);
    int64_t R = g->F < cbk->filters ? g->F : cbk->filters, f_main = g->F / R * R;
    /* With a zero border, pin is scratch with room after it: the last vector
     * may read up to 7 floats past the plane, into the scratch that follows,
     * and the positions past L are dropped.  Unpadded, pin is the layer's
     * input itself, and the last L % 8 positions are summed one by one. */
    bool over = g->PH || g->PW;
    int64_t PB = 8 * cbk->vectors, l_main = g->L / PB * PB, l8 = g->L / 8 * 8;
    for (int part = 0; part < 2; part++) {
        int64_t r = part ? g->F - f_main : R;
        if (!r)
            continue;
        if (!part)
            emit(e, "        for (int f = 0; f < %lld; f += %lld) {   /* %lld filters at a time */\n", (long long)f_main,
                 (long long)R, (long long)R);
        else
            emit(e, "        {   /* the last %lld filters */\n            const int f = %lld;\n", (long long)r,
                 (long long)f_main);
        if (l_main) {
            emit(e, "            for (int i = 0; i < %lld; i += %lld) {   /* %lld positions at a time */\n",
                 (long long)l_main, (long long)PB, (long long)PB);
            emit_conv_fwd_block(e, l, g, r, cbk->vectors, "                ");
            emit(e, "            }\n");
        }
        if (l8 > l_main) {
            emit(e, "            for (int i = %lld; i < %lld; i += 8) {\n", (long long)l_main, (long long)l8);
            emit_conv_fwd_block(e, l, g, r, 1, "                ");
            emit(e, "            }\n");
        }
        if (g->L > l8 && over) {
            emit(e, "            {   /* the last %lld positions, in a vector that runs past them */\n"
                    "                const int i = %lld;\n", (long long)(g->L - l8), (long long)l8);
            emit_conv_fwd_block(e, l, g, r, 1, "                ");
            emit(e, "            }\n");
        } else if (g->L > l8) {
            emit(e, "            for (int i = %lld; i < %lld; i++) {\n", (long long)l8, (long long)g->L);
            emit_conv_fwd_block(e, l, g, r, 0, "                ");
            emit(e, "            }\n");
        }
        emit(e, "        }\n");
    }
    const ActInfo *a = &act_info[l->act];
    char slope[32], z[96];
    act_param_str(slope, l);
    emit(e, "        for (int f = 0; f < %lld; f++)   /* bias and activation, into the compact output */\n",
         (long long)g->F);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)g->OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n", (long long)g->OW);
    emit(e, "                    out[(f * %lld + oy) * %lld + ox] = ", (long long)g->OH, (long long)g->OW);
    snprintf(z, sizeof z, "ow[f * %lld + oy * %lld + ox] + b[f]", (long long)l->dx_stride, (long long)g->Wp);
    if (a->forward && strcmp(a->forward, "$") != 0)
        emit_template(e, a->forward, z, slope);
    else
        emit(e, "%s", z);
    emit(e, ";\n");
}

static void emit_conv_forward_s1(Emitter *e, const Layer *l, const char *in_ptr)
{
    PlaneGeom g = plane_geom(l);
    char slope[32];
    act_param_str(slope, l);
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld][%lld][%lld] */\n", e->param, (long long)l->w_off,
         (long long)g.F, (long long)g.C, (long long)l->kh, (long long)l->kw);
    emit(e, "        const float *b = %s + %lld;   /* [%lld] */\n", e->param, (long long)l->b_off, (long long)g.F);
    emit(e, "        const float *in = %s;   /* [%lld][%lld][%lld] */\n", in_ptr, (long long)g.C, (long long)g.H,
         (long long)g.W);
    emit(e, "        float *out = %s + %lld;   /* [%lld][%lld][%lld] */\n", e->act, (long long)l->act_off, (long long)g.F,
         (long long)g.OH, (long long)g.OW);
    emit_padded_input(e, &g);
    emit(e, "#ifdef NNC_V8\n#ifdef NNC_V8_WIDE\n");
    emit_conv_forward_v8(e, l, &g, &conv_wide);
    emit(e, "#else\n");
    emit_conv_forward_v8(e, l, &g, &conv_narrow);
    emit(e, "#endif\n#else\n");
    emit(e, "        float *oext = net->pad + %lld;   /* [%lld][%lld]: one output plane, %lld wide */\n",
         (long long)(2 * g.C * g.Hp * g.Wp), (long long)g.OH, (long long)g.Wp, (long long)g.Wp);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)g.F);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                oext[i] = 0.0f;\n", (long long)g.L);
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g.C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)(g.Hp * g.Wp));
    emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)g.C, (long long)g.KK);
    for (int64_t ky = 0; ky < l->kh; ky++)
        for (int64_t kx = 0; kx < l->kw; kx++) {
            int64_t tap = ky * l->kw + kx, off = ky * g.Wp + kx;
            emit(e, "                for (int i = 0; i < %lld; i++)   /* tap %lld,%lld */\n", (long long)g.L,
                 (long long)ky, (long long)kx);
            emit(e, "                    oext[i] += wc[%lld] * pc[%lld + i];\n", (long long)tap, (long long)off);
        }
    emit(e, "            }\n");
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)g.OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n", (long long)g.OW);
    emit(e, "                    out[(f * %lld + oy) * %lld + ox] = ", (long long)g.OH, (long long)g.OW);
    const ActInfo *a = &act_info[l->act];
    char z[96];
    snprintf(z, sizeof z, "oext[oy * %lld + ox] + b[f]", (long long)g.Wp);
    if (a->forward && strcmp(a->forward, "$") != 0)
        emit_template(e, a->forward, z, slope);
    else
        emit(e, "%s", z);
    emit(e, ";\n        }\n#endif\n");
}

/* The stride-1 convolution's backward pass in register blocks.  dz goes
 * into one wide plane per filter (dx: [F][PS], zeros in the gap columns and
 * in margins of M floats before and after), then
 *   gw: 2 filters x all taps of one channel at a time, each a vector of 8
 *       position lanes, added up like the plain loops' 8 partial sums;
 *   din: 4 channels x 32 positions of the padded plane at a time, summed
 *       over filters and taps (a convolution with the flipped kernel),
 *       stored whole into a wide plane (dpw), whose inside one more pass
 *       copies to din through the producer's activation.
 * Both give the plain loops' bits. */
typedef struct ConvBack {
    int64_t M, PS;   /* margin and plane stride of dx */
} ConvBack;

static ConvBack conv_back(const PlaneGeom *g, const Layer *l)
{
    ConvBack b;
    b.M = (l->kh - 1) * g->Wp + (l->kw - 1);
    b.PS = l->dx_stride;   /* lower.c's: OH * Wp + 2 M + 32, room for a block's reads past the end */
    return b;
}

/* Whether the vector path's weight gradient adds up its lanes with
 * nnc_lane_sums: every stride-1 convolution but an unpadded one whose last
 * positions are summed one by one into the lanes. */
static bool conv_gw_lane_sums(const Layer *l)
{
    if (l->kind != LAYER_CONV || l->stride_h != 1 || l->stride_w != 1)
        return false;
    PlaneGeom g = plane_geom(l);
    return g.PH || g.PW || g.L % 8 == 0;
}

/* One step of 8 positions from i of the weight gradient's block: dz of R
 * filters times the input under each tap, into the lanes a<r>_<tap>. */
static void emit_conv_gw_step(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R)
{
    emit(e, "                    nnc_v8 x, d0");
    for (int64_t r = 1; r < R; r++)
        emit(e, ", d%lld", (long long)r);
    emit(e, ";\n");
    for (int64_t r = 0; r < R; r++)
        emit(e, "                    memcpy(&d%lld, dx + (f + %lld) * %lld + %lld + i, 32);\n", (long long)r,
             (long long)r, (long long)cb->PS, (long long)cb->M);
    for (int64_t ky = 0; ky < l->kh; ky++)
        for (int64_t kx = 0; kx < l->kw; kx++) {
            int64_t tap = ky * l->kw + kx, off = ky * g->Wp + kx;
            emit(e, "                    memcpy(&x, pc + %lld + i, 32);   /* tap %lld,%lld */\n", (long long)off,
                 (long long)ky, (long long)kx);
            emit(e, "                   ");
            for (int64_t r = 0; r < R; r++)
                emit(e, " a%lld_%lld += d%lld * x;", (long long)r, (long long)tap, (long long)r);
            emit(e, "\n");
        }
}

/* gw += the lane sums of the block's accumulators a<r>_<tap>: 8 taps of a
 * filter at a time as one vector, the taps left over (KK % 8 per filter)
 * together, lane by lane. */
static void emit_conv_gw_lane_sums(Emitter *e, const PlaneGeom *g, int64_t R)
{
    int64_t KK = g->KK, ckk = g->C * KK, full = KK / 8 * 8;
    for (int64_t r = 0; r < R; r++)
        for (int64_t k0 = 0; k0 < full; k0 += 8) {
            emit(e, "                {   /* taps %lld .. %lld of filter f + %lld */\n", (long long)k0,
                 (long long)(k0 + 7), (long long)r);
            emit(e, "                    float *gk = gw + (f + %lld) * %lld + c * %lld + %lld;\n", (long long)r,
                 (long long)ckk, (long long)KK, (long long)k0);
            emit(e, "                    nnc_v8 old, sum = nnc_lane_sums(");
            for (int64_t k = 0; k < 8; k++)
                emit(e, "%sa%lld_%lld", k ? ", " : "", (long long)r, (long long)(k0 + k));
            emit(e, ");\n");
            emit(e, "                    memcpy(&old, gk, 32);\n                    old += sum;\n"
                    "                    memcpy(gk, &old, 32);\n                }\n");
        }
    int64_t n_left = R * (KK - full);
    for (int64_t q0 = 0; q0 < n_left; q0 += 8) {
        int64_t cnt = n_left - q0 < 8 ? n_left - q0 : 8;
        emit(e, "                {   /* the other taps */\n                    float t[8];\n");
        emit(e, "                    nnc_v8 sum = nnc_lane_sums(");
        for (int64_t q = 0; q < 8; q++) {
            int64_t idx = q0 + q, r = idx / (KK - full), k = full + idx % (KK - full);
            if (q < cnt)
                emit(e, "%sa%lld_%lld", q ? ", " : "", (long long)r, (long long)k);
            else
                emit(e, ", zero");
        }
        emit(e, ");\n                    memcpy(t, &sum, 32);\n");
        for (int64_t q = 0; q < cnt; q++) {
            int64_t idx = q0 + q, r = idx / (KK - full), k = full + idx % (KK - full);
            emit(e, "                    gw[(f + %lld) * %lld + c * %lld + %lld] += t[%lld];\n", (long long)r,
                 (long long)ckk, (long long)KK, (long long)k, (long long)q);
        }
        emit(e, "                }\n");
    }
}

static void emit_conv_gw_block(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R)
{
    int64_t KK = g->KK, l8 = g->L / 8 * 8, plane = g->Hp * g->Wp;
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g->C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)plane);
    emit(e, "                nnc_v8 ");
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < KK; k++)
            emit(e, "%sa%lld_%lld = zero", !k ? (r ? ",\n                       " : "") : ", ", (long long)r,
                 (long long)k);
    emit(e, ";\n");
    if (l8) {
        emit(e, "                for (int i = 0; i < %lld; i += 8) {\n", (long long)l8);
        emit_conv_gw_step(e, l, g, cb, R);
        emit(e, "                }\n");
    }
    bool over = g->PH || g->PW;
    if (g->L > l8 && over) {
        /* The last positions as one more vector: past L, dx is zero, and
         * pin's reads past its plane land in the scratch after it (dpw, or
         * another layer's planes): finite values times zero add nothing.
         * (Were that scratch Inf or NaN, training would have diverged.) */
        emit(e, "                {   /* the last %lld positions, in lanes 0.., the rest adding zeros */\n",
             (long long)(g->L - l8));
        emit(e, "                    const int i = %lld;\n", (long long)l8);
        emit_conv_gw_step(e, l, g, cb, R);
        emit(e, "                }\n");
    }
    if (conv_gw_lane_sums(l)) {
        emit_conv_gw_lane_sums(e, g, R);
        emit(e, "            }\n");
        return;
    }
    emit(e, "                float t[%lld][8];   /* the lanes of each tap of each filter */\n", (long long)(R * KK));
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < KK; k++)
            emit(e, "                memcpy(t[%lld], &a%lld_%lld, 32);\n", (long long)(r * KK + k), (long long)r,
                 (long long)k);
    emit(e, "                for (int r = 0; r < %lld; r++)\n", (long long)R);
    emit(e, "                    for (int k = 0; k < %lld; k++) {\n", (long long)KK);
    emit(e, "                        float *tk = t[r * %lld + k];\n", (long long)KK);
    if (g->L > l8 && !over)   /* unpadded: pin is the input itself, nothing to read past it */
        emit(e, "                        for (int i = %lld; i < %lld; i++)\n"
                "                            tk[i - %lld] += dx[(f + r) * %lld + %lld + i] * pc[k / %lld * %lld + k %% %lld + i];\n",
             (long long)l8, (long long)g->L, (long long)l8, (long long)cb->PS, (long long)cb->M, (long long)l->kw,
             (long long)g->Wp, (long long)l->kw);
    emit(e, "                        gw[(f + r) * %lld + c * %lld + k] += ((tk[0] + tk[1]) + (tk[2] + tk[3])) + "
            "((tk[4] + tk[5]) + (tk[6] + tk[7]));\n", (long long)(g->C * KK), (long long)KK);
    emit(e, "                    }\n");
    emit(e, "            }\n");
}

/* din for channels c .. c+R-1, positions j .. j+8Q-1 of the padded plane,
 * into dpw (the same layout): whole vectors, or, for the last block
 * (`full` false), only the positions before j_end. */
static void emit_conv_din_block(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R,
                                int64_t Q, int64_t j_end, bool full, const char *ind)
{
    int64_t KK = g->KK, ckk = g->C * KK, hw = g->Hp * g->Wp;
    emit(e, "%snnc_v8 ", ind);
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < Q; k++)
            emit(e, "%sb%lld_%lld = zero", !k ? (r ? ",\n       " : "") : ", ", (long long)r, (long long)k);
    emit(e, ";\n");
    emit(e, "%sfor (int f = 0; f < %lld; f++) {\n", ind, (long long)g->F);
    emit(e, "%s    const float *df = dx + f * %lld + %lld + j, *wf = w + f * %lld + c * %lld;\n", ind, (long long)cb->PS,
         (long long)cb->M, (long long)ckk, (long long)KK);
    emit(e, "%s    nnc_v8 ", ind);
    for (int64_t k = 0; k < Q; k++)
        emit(e, "%sy%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    emit_conv_taps_v8(e, l, g, R, Q, ind, "b", "y", "df", -1, "wf", KK);
    emit(e, "%s}\n", ind);
    if (!full)
        emit(e, "%sfloat t[%lld];\n", ind, (long long)(8 * Q));
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s", ind);
        for (int64_t k = 0; k < Q; k++) {
            if (full)
                emit(e, "%smemcpy(dpw + (c + %lld) * %lld + j + %lld, &b%lld_%lld, 32);", k ? " " : "", (long long)r,
                     (long long)hw, (long long)(8 * k), (long long)r, (long long)k);
            else
                emit(e, "%smemcpy(t + %lld, &b%lld_%lld, 32);", k ? " " : "", (long long)(8 * k), (long long)r,
                     (long long)k);
        }
        emit(e, "\n");
        if (!full)
            emit(e, "%sfor (int q = 0; q < %lld && j + q < %lld; q++)\n%s    dpw[(c + %lld) * %lld + j + q] = t[q];\n",
                 ind, (long long)(8 * Q), (long long)j_end, ind, (long long)r, (long long)hw);
    }
}

static void emit_conv_backward_v8(Emitter *e, const Layer *l, const Layer *prod, const PlaneGeom *g,
                                  const ConvBlocks *cbk)
{
    ConvBack cb = conv_back(g, l);
    int64_t plane = g->C * g->Hp * g->Wp;
    emit(e, "        const nnc_v8 zero = {0.0f};\n");
    emit(e, "        float *dx = net->pad + %lld;   /* [%lld][%lld]: dz of each filter, %lld wide, zeros around */\n",
         (long long)(2 * plane), (long long)g->F, (long long)cb.PS, (long long)g->Wp);
    emit_conv_bias_grad(e, g->F, g->OH * g->OW);
    emit(e, "        for (int f = 0; f < %lld; f++) {   /* each float once: dz, zeros in the gaps and margins */\n",
         (long long)g->F);
    emit(e, "            float *pf = dx + f * %lld;\n", (long long)cb.PS);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                pf[i] = 0.0f;\n", (long long)cb.M);
    emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)g->OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n", (long long)g->OW);
    emit(e, "                    pf[%lld + oy * %lld + ox] = dz[(f * %lld + oy) * %lld + ox];\n", (long long)cb.M,
         (long long)g->Wp, (long long)g->OH, (long long)g->OW);
    if (g->Wp > g->OW)
        emit(e, "                for (int ox = %lld; ox < %lld; ox++)\n                    pf[%lld + oy * %lld + ox] = 0.0f;\n",
             (long long)g->OW, (long long)g->Wp, (long long)cb.M, (long long)g->Wp);
    emit(e, "            }\n");
    emit(e, "            for (int i = %lld; i < %lld; i++)\n                pf[i] = 0.0f;\n",
         (long long)(cb.M + g->OH * g->Wp), (long long)cb.PS);
    emit(e, "        }\n");
    int64_t R = g->F < cbk->gw_filters ? g->F : cbk->gw_filters, f_main = g->F / R * R;
    for (int part = 0; part < 2; part++) {
        int64_t r = part ? g->F - f_main : R;
        if (!r)
            continue;
        if (!part)
            emit(e, "        for (int f = 0; f < %lld; f += %lld) {   /* gw, %lld filters at a time */\n",
                 (long long)f_main, (long long)R, (long long)R);
        else
            emit(e, "        {   /* gw of the last filter */\n            const int f = %lld;\n", (long long)f_main);
        emit_conv_gw_block(e, l, g, &cb, r);
        emit(e, "        }\n");
    }
    if (!prod)
        return;
    /* din: the interior rows of the padded plane, j in [J0, J1), into dpw */
    emit(e, "        float *dpw = net->pad + %lld;   /* [%lld][%lld][%lld]: din, %lld wide */\n", (long long)plane,
         (long long)g->C, (long long)g->Hp, (long long)g->Wp, (long long)g->Wp);
    int64_t J0 = g->PH * g->Wp, J1 = (g->PH + g->H) * g->Wp, PB = 8 * cbk->din_vectors;
    int64_t CR = g->C < cbk->din_channels ? g->C : cbk->din_channels, c_main = g->C / CR * CR;
    for (int part = 0; part < 2; part++) {
        int64_t r = part ? g->C - c_main : CR;
        if (!r)
            continue;
        if (!part)
            emit(e, "        for (int c = 0; c < %lld; c += %lld) {   /* din, %lld channels x %lld positions at a time */\n",
                 (long long)c_main, (long long)CR, (long long)CR, (long long)PB);
        else
            emit(e, "        {   /* din of the last %lld channels */\n            const int c = %lld;\n", (long long)r,
                 (long long)c_main);
        int64_t j_full = J0 + (J1 - J0) / PB * PB;
        if (j_full > J0) {
            emit(e, "            for (int j = %lld; j < %lld; j += %lld) {\n", (long long)J0, (long long)j_full,
                 (long long)PB);
            emit_conv_din_block(e, l, g, &cb, r, cbk->din_vectors, J1, true, "                ");
            emit(e, "            }\n");
        }
        if (j_full < J1) {
            emit(e, "            {   /* the last %lld positions */\n                const int j = %lld;\n",
                 (long long)(J1 - j_full), (long long)j_full);
            emit_conv_din_block(e, l, g, &cb, r, cbk->din_vectors, J1, false, "                ");
            emit(e, "            }\n");
        }
        emit(e, "        }\n");
    }
    char at[96];
    snprintf(at, sizeof at, "in[(c * %lld + iy) * %lld + ix]", (long long)g->H, (long long)g->W);
    emit(e, "        for (int c = 0; c < %lld; c++)   /* din: the inside of dpw", (long long)g->C);
    if (act_info[prod->act].derivative)
        emit(e, ", through the activation of layer %d", prod->index);
    emit(e, " */\n");
    emit(e, "            for (int iy = 0; iy < %lld; iy++)\n", (long long)g->H);
    emit(e, "                for (int ix = 0; ix < %lld; ix++)\n", (long long)g->W);
    emit(e, "                    din[(c * %lld + iy) * %lld + ix] = dpw[(c * %lld + iy + %lld) * %lld + ix + %lld]",
         (long long)g->H, (long long)g->W, (long long)g->Hp, (long long)g->PH, (long long)g->Wp, (long long)g->PW);
    emit_deriv_factor(e, prod, at);
    emit(e, ";\n");
}

static void emit_conv_backward_s1(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    PlaneGeom g = plane_geom(l);
    bool need_din = prod != NULL;
    int64_t plane = g.C * g.Hp * g.Wp;
    emit(e, "        const float *dz = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)(row * n->max_width), (long long)g.F, (long long)g.OH, (long long)g.OW);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    emit_padded_input(e, &g);
    emit(e, "#ifdef NNC_V8\n");
    if (need_din) {
        emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
        emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
             e->delta, (long long)((row ^ 1) * n->max_width), (long long)g.C, (long long)g.H, (long long)g.W);
    }
    emit(e, "#ifdef NNC_V8_WIDE\n");
    emit_conv_backward_v8(e, l, prod, &g, &conv_wide);
    emit(e, "#else\n");
    emit_conv_backward_v8(e, l, prod, &g, &conv_narrow);
    emit(e, "#endif\n#else\n");
    emit(e, "        float *dext = net->pad + %lld;   /* [%lld][%lld]: dz of one filter, %lld wide, zeros beyond */\n",
         (long long)(2 * plane), (long long)g.OH, (long long)g.Wp, (long long)g.Wp);
    if (need_din) {
        emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
        emit(e, "        float *dpin = net->pad + %lld;   /* [%lld][%lld][%lld]: gradient of pin */\n",
             (long long)plane, (long long)g.C, (long long)g.Hp, (long long)g.Wp);
        emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
             e->delta, (long long)((row ^ 1) * n->max_width), (long long)g.C, (long long)g.H, (long long)g.W);
        emit(e, "        for (int i = 0; i < %lld; i++)\n            dpin[i] = 0.0f;\n", (long long)plane);
    }
    emit_conv_bias_grad(e, g.F, g.OH * g.OW);
    emit(e, "        for (int i = 0; i < %lld; i++)\n            dext[i] = 0.0f;\n", (long long)(g.OH * g.Wp));
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)g.F);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)g.OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++)\n", (long long)g.OW);
    emit(e, "                    dext[oy * %lld + ox] = dz[(f * %lld + oy) * %lld + ox];\n", (long long)g.Wp,
         (long long)g.OH, (long long)g.OW);
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g.C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)(g.Hp * g.Wp));
    emit(e, "                float *gwc = gw + (f * %lld + c) * %lld;\n", (long long)g.C, (long long)g.KK);
    if (need_din) {
        emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)g.C, (long long)g.KK);
        emit(e, "                float *dc = dpin + c * %lld;\n", (long long)(g.Hp * g.Wp));
    }
    int64_t main_len = g.L / NNC_LANES * NNC_LANES;
    for (int64_t ky = 0; ky < l->kh; ky++)
        for (int64_t kx = 0; kx < l->kw; kx++) {
            int64_t tap = ky * l->kw + kx, off = ky * g.Wp + kx;
            emit(e, "                {   /* tap %lld,%lld: gw += dz . pin, dpin += w dz */\n", (long long)ky,
                 (long long)kx);
            emit(e, "                    float acc[%d] = {0.0f};\n", NNC_LANES);
            if (main_len) {
                emit(e, "                    for (int i = 0; i < %lld; i += %d)\n", (long long)main_len, NNC_LANES);
                emit(e, "                        for (int k = 0; k < %d; k++)\n", NNC_LANES);
                emit(e, "                            acc[k] += dext[i + k] * pc[%lld + i + k];\n", (long long)off);
            }
            if (main_len < g.L)
                emit(e, "                    for (int i = %lld; i < %lld; i++)   /* the rest in lanes too */\n"
                        "                        acc[i - %lld] += dext[i] * pc[%lld + i];\n", (long long)main_len,
                     (long long)g.L, (long long)main_len, (long long)off);
            emit(e, "                    gwc[%lld] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + "
                    "(acc[6] + acc[7]));\n", (long long)tap);
            if (need_din) {
                emit(e, "                    for (int i = 0; i < %lld; i++)\n", (long long)g.L);
                emit(e, "                        dc[%lld + i] += wc[%lld] * dext[i];\n", (long long)off, (long long)tap);
            }
            emit(e, "                }\n");
        }
    emit(e, "            }\n        }\n");
    if (need_din) {
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the inside of dpin is din */\n", (long long)g.C);
        emit(e, "            for (int iy = 0; iy < %lld; iy++)\n", (long long)g.H);
        emit(e, "                for (int ix = 0; ix < %lld; ix++)\n", (long long)g.W);
        emit(e, "                    din[(c * %lld + iy) * %lld + ix] = dpin[(c * %lld + iy + %lld) * %lld + ix + %lld];\n",
             (long long)g.H, (long long)g.W, (long long)g.Hp, (long long)g.PH, (long long)g.Wp, (long long)g.PW);
        emit_din_through_act(e, prod, g.C * g.H * g.W);
    }
    emit(e, "#endif\n");
}

/* Dropout: in training each value is kept with probability 1-p and scaled
 * by 1/(1-p) (PyTorch's convention), the mask drawn from net->rng; outside
 * training, and in inference-only code, values pass through. */
static void emit_dropout_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    char p[32], keep[32];
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    if (e->infer || e->single) {
        emit(e, "        memcpy(out, in, %lld * sizeof(float));   /* dropout is off in inference */\n", (long long)l->n_out);
        return;
    }
    emit(e, "        float *mask = %s + %lld;\n", e->mask, (long long)l->mask_off);
    emit(e, "        for (int i = 0; i < %lld; i++) {\n", (long long)l->n_out);
    emit(e, "            if (train) {\n");
    emit(e, "                float u = (float)(nnc_rng_next(&net->rng) >> 40) * (1.0f / 16777216.0f);\n");
    emit(e, "                mask[i] = u < %s ? 0.0f : %s;\n", fmt_float(p, l->rate), fmt_float(keep, 1.0 / (1.0 - l->rate)));
    emit(e, "                out[i] = in[i] * mask[i];\n");
    emit(e, "            } else {\n");
    emit(e, "                out[i] = in[i];\n");
    emit(e, "            }\n");
    emit(e, "        }\n");
}

static void emit_dropout_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    if (!prod) {
        emit(e, "        /* the input needs no gradient */\n");
        return;
    }
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    emit(e, "        const float *mask = %s + %lld;\n", e->mask, (long long)l->mask_off);
    emit(e, "        float *din = %s + %lld;\n", e->delta, (long long)((row ^ 1) * n->max_width));
    if (act_info[prod->act].derivative)
        emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        for (int i = 0; i < %lld; i++)\n            din[i] = dz[i] * mask[i];\n", (long long)l->n_in);
    emit_din_through_act(e, prod, l->n_in);
}

static void emit_banner(Emitter *e, const Layer *l, const char *suffix)
{
    Buf d = {0};
    ir_describe_layer(&d, l);
    emit(e, "    /* layer %d: %s (%s:%d)%s */\n", l->index, d.oom ? "" : d.data, e->mod->src->name, l->line, suffix);
    buf_free(&d);
}

/* Emits `code` with every line indented by four more spaces (preprocessor
 * lines stay in column 0). */
static void emit_indented(Emitter *e, const Buf *code)
{
    if (code->oom)   /* a lost piece makes the whole output unusable */
        e->out->oom = true;
    for (const char *p = code->data ? code->data : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        emit(e, "%s%.*s", len > 1 && *p != '#' ? "    " : "", (int)len, p);
        p += len;
    }
}

/* ---- dense layers over a whole batch: matrix products ----
 *
 * A dense layer that lower.c marks `gemm` works on all the samples of the
 * batch at once, as three matrix products with every size a literal:
 *     forward      z[s][o]  = b[o] + sum_i w[o][i] in[s][i]
 *     weights      gw[o][i] = sum_s dz[s][o] in[s][i]
 *     input        din[s][i] = sum_o dz[s][o] w[o][i]
 * Each is written so that its innermost loop runs along a dimension that is
 * NOT summed over (samples for the forward product, inputs for the other
 * two), into a small block of accumulator arrays that stays in registers:
 * compilers vectorize that without reassociating a sum (no -ffast-math),
 * and every sum is still added in the order of the plain loops, so results
 * do not depend on the compiler or the vector width.  The forward product
 * reads its input transposed (net->xt: one vector of samples per input). */

enum {
    GEMM_BLOCK_FLOATS = 256,   /* accumulators of one forward block: 32 vectors of 8 (AVX-512 has 32 registers) */
    GEMM_MAX_LANES = 32,       /* samples per forward block */
    GEMM_ARRAY = 16,           /* floats per accumulator array of the backward products */
    GEMM_GW_ROWS = 8,          /* outputs per block of the weight gradient (8 x 16: 16 vectors) */
    GEMM_DIN_ARRAYS = 4,       /* accumulator arrays per block of the input gradient */
    GEMM_DIN_SAMPLES = 8,      /* vector path: samples per block of the input gradient ... */
    GEMM_DIN_VECTORS = 4,      /* ... times 8-float vectors of inputs: 32 accumulators, as the forward block */
};

/* Samples per forward block: the largest divisor of the batch up to 32. */
static int64_t gemm_lanes(int64_t batch)
{
    for (int64_t k = batch < GEMM_MAX_LANES ? batch : GEMM_MAX_LANES; k > 1; k--)
        if (batch % k == 0)
            return k;
    return 1;
}

/* " + off", or nothing when off is 0. */
static const char *plus(char out[32], int64_t off)
{
    if (off)
        snprintf(out, 32, " + %lld", (long long)off);
    else
        out[0] = '\0';
    return out;
}

/* Row s of a layer's input, as "BASE + s * STRIDE[ + OFF]" (its stride also
 * in *stride). */
static void gemm_input(const Emitter *e, const Layer *l, char row[64], int64_t *stride)
{
    const Layer *p = producer(e->net, (int)(l - e->net->layers));
    char o[32];
    *stride = p ? e->net->n_act : e->net->n_inputs;
    snprintf(row, 64, "%s + s * %lld%s", p ? "net->act" : "x", (long long)*stride, plus(o, p ? p->act_off : 0));
}

/* One forward block: outputs o .. o+R-1 of `lanes` samples from s0. */
static void emit_gemm_forward_block(Emitter *e, const Layer *l, int64_t R, int64_t lanes, bool s0_var)
{
    const Net *n = e->net;
    int64_t B = n->batch;
    bool softmax = l->act == ACT_SOFTMAX;
    const ActInfo *a = &act_info[l->act];
    char slope[32];
    act_param_str(slope, l);
    emit(e, "            const float *w0 = w + o * %lld", (long long)l->n_in);
    for (int64_t r = 1; r < R; r++)
        emit(e, ",%s*w%lld = w%lld + %lld", r % 4 ? " " : "\n                        ", (long long)r, (long long)(r - 1),
             (long long)l->n_in);
    emit(e, ";\n            float z0[%lld]", (long long)lanes);
    for (int64_t r = 1; r < R; r++)
        emit(e, ", z%lld[%lld]", (long long)r, (long long)lanes);
    emit(e, ";\n");
    if (lanes % 8 == 0) {
        int64_t q = lanes / 8;
        emit(e, "#ifdef NNC_V8\n");
        emit(e, "            {\n                const nnc_v8 zero = {0.0f};\n                nnc_v8 ");
        for (int64_t r = 0; r < R; r++)
            for (int64_t k = 0; k < q; k++)
                emit(e, "%sv%lld_%lld = zero + b[o + %lld]", !k ? (r ? ",\n                       " : "") : ", ",
                     (long long)r, (long long)k, (long long)r);
        emit(e, ";\n                for (int i = 0; i < %lld; i++) {\n", (long long)l->n_in);
        emit(e, "                    const float *xi = xt + i * %lld%s;\n", (long long)B, s0_var ? " + s0" : "");
        emit(e, "                    nnc_v8 ");
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sx%lld", k ? ", " : "", (long long)k);
        emit(e, ";\n");
        for (int64_t k = 0; k < q; k++)
            emit(e, "                    memcpy(&x%lld, xi + %lld, sizeof x%lld);\n", (long long)k, (long long)(8 * k),
                 (long long)k);
        for (int64_t r = 0; r < R; r++) {
            emit(e, "                    ");
            for (int64_t k = 0; k < q; k++)
                emit(e, "%sv%lld_%lld += w%lld[i] * x%lld;", k ? " " : "", (long long)r, (long long)k, (long long)r,
                     (long long)k);
            emit(e, "\n");
        }
        emit(e, "                }\n");
        for (int64_t r = 0; r < R; r++) {
            emit(e, "                ");
            for (int64_t k = 0; k < q; k++)
                emit(e, "%smemcpy(z%lld + %lld, &v%lld_%lld, 32);", k ? " " : "", (long long)r, (long long)(8 * k),
                     (long long)r, (long long)k);
            emit(e, "\n");
        }
        emit(e, "            }\n#else\n");
    }
    emit(e, "            for (int s = 0; s < %lld; s++) {\n", (long long)lanes);
    for (int64_t r = 0; r < R; r++)
        emit(e, "                z%lld[s] = b[o + %lld];\n", (long long)r, (long long)r);
    emit(e, "            }\n");
    emit(e, "            for (int i = 0; i < %lld; i++) {\n", (long long)l->n_in);
    emit(e, "                const float *xi = xt + i * %lld%s;\n", (long long)B, s0_var ? " + s0" : "");
    emit(e, "                const float ");
    for (int64_t r = 0; r < R; r++)
        emit(e, "%sw%lldi = w%lld[i]", r ? ", " : "", (long long)r, (long long)r);
    emit(e, ";\n                for (int s = 0; s < %lld; s++) {\n", (long long)lanes);
    for (int64_t r = 0; r < R; r++)
        emit(e, "                    z%lld[s] += w%lldi * xi[s];\n", (long long)r, (long long)r);
    emit(e, "                }\n            }\n");
    if (lanes % 8 == 0)
        emit(e, "#endif\n");
    if (s0_var)
        emit(e, "            for (int s = 0; s < %lld && s0 + s < n; s++) {\n", (long long)lanes);
    else
        emit(e, "            for (int s = 0; s < n; s++) {\n");
    const char *srow = s0_var ? "(s0 + s)" : "s";
    char off[32];
    if (softmax)
        emit(e, "                float *out = net->logit + %s * %lld;\n", srow, (long long)n->n_outputs);
    else
        emit(e, "                float *out = net->act + %s * %lld%s;\n", srow, (long long)n->n_act,
             plus(off, l->act_off));
    for (int64_t r = 0; r < R; r++) {
        char z[32];
        snprintf(z, sizeof z, "z%lld[s]", (long long)r);
        emit(e, "                out[o + %lld] = ", (long long)r);
        if (!softmax && a->forward)
            emit_template(e, a->forward, z, slope);
        else
            emit(e, "%s", z);
        emit(e, ";\n");
    }
    emit(e, "            }\n");
}

static void emit_gemm_forward(Emitter *e, const Layer *l)
{
    const Net *n = e->net;
    int64_t B = n->batch, ni = l->n_in, no = l->n_out;
    int64_t lanes = gemm_lanes(B);
    int64_t R = GEMM_BLOCK_FLOATS / lanes;
    R = R < 1 ? 1 : R > 8 ? 8 : R;
    R = R > no ? no : R;
    int64_t main_len = no / R * R;
    bool s0_var = lanes < B;
    char in[64];
    int64_t stride;
    gemm_input(e, l, in, &stride);
    emit(e, "        const float *w = net->param + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off, (long long)no,
         (long long)ni);
    emit(e, "        const float *b = net->param + %lld;   /* [%lld] */\n", (long long)l->b_off, (long long)no);
    emit(e, "        float *xt = net->xt;   /* [%lld][%lld]: the inputs transposed, a vector of samples each */\n",
         (long long)ni, (long long)B);
    int64_t ni8 = ni / 8 * 8;
    if (ni8) {   /* 8 inputs at a time: their 8 rows of xt stay in cache while every sample fills them */
        emit(e, "        for (int i0 = 0; i0 < %lld; i0 += 8)\n", (long long)ni8);
        emit(e, "            for (int s = 0; s < n; s++) {\n");
        emit(e, "                const float *in = %s + i0;\n", in);
        emit(e, "                for (int i = 0; i < 8; i++)\n                    xt[(i0 + i) * %lld + s] = in[i];\n",
             (long long)B);
        emit(e, "            }\n");
    }
    if (ni8 < ni) {
        emit(e, "        for (int s = 0; s < n; s++) {\n");
        emit(e, "            const float *in = %s;\n", in);
        emit(e, "            for (int i = %lld; i < %lld; i++)\n                xt[i * %lld + s] = in[i];\n",
             (long long)ni8, (long long)ni, (long long)B);
        emit(e, "        }\n");
    }
    emit(e, "        for (int s = n; s < %lld; s++)   /* samples beyond n: zeros, computed and dropped */\n",
         (long long)B);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                xt[i * %lld + s] = 0.0f;\n", (long long)ni,
         (long long)B);
    for (int part = 0; part < 2; part++) {
        int64_t r = part == 0 ? R : no - main_len;
        if (r == 0 || (part == 0 && main_len == 0))
            continue;
        if (part == 0)
            emit(e, "        for (int o = 0; o < %lld; o += %lld) {   /* %lld outputs of %lld samples at a time */\n",
                 (long long)main_len, (long long)R, (long long)R, (long long)lanes);
        else
            emit(e, "        {   /* the last %lld outputs */\n            const int o = %lld;\n", (long long)r,
                 (long long)main_len);
        if (s0_var) {
            emit(e, "            for (int s0 = 0; s0 < n; s0 += %lld) {\n", (long long)lanes);
            Buf blk = {0};
            Emitter sub = *e;
            sub.out = &blk;
            emit_gemm_forward_block(&sub, l, r, lanes, true);
            emit_indented(e, &blk);
            buf_free(&blk);
            emit(e, "            }\n");
        } else {
            emit_gemm_forward_block(e, l, r, lanes, false);
        }
        emit(e, "        }\n");
    }
    if (l->act == ACT_SOFTMAX) {
        emit(e, "        for (int s = 0; s < n; s++) {   /* softmax: out = exp(z - max z) / sum */\n");
        emit(e, "            const float *z = net->logit + s * %lld;\n", (long long)no);
        emit(e, "            float *out = net->act + s * %lld%s;\n", (long long)n->n_act, plus(in, l->act_off));
        emit(e, "            float m = z[0], sum = 0.0f, inv;\n");
        emit(e, "            for (int o = 1; o < %lld; o++)\n                m = z[o] > m ? z[o] : m;\n", (long long)no);
        emit(e, "            for (int o = 0; o < %lld; o++) {\n", (long long)no);
        emit(e, "                out[o] = expf(z[o] - m);\n                sum += out[o];\n            }\n");
        emit(e, "            inv = 1.0f / sum;\n");
        emit(e, "            for (int o = 0; o < %lld; o++)\n                out[o] *= inv;\n", (long long)no);
        emit(e, "        }\n");
    }
}

/* One block of the weight gradient: outputs o .. o+R-1, inputs i .. i+W-1. */
static void emit_gemm_gw_block(Emitter *e, const Layer *l, int64_t R, int64_t W, const char *in, int64_t dz_off,
                               const char *ind)
{
    const Net *n = e->net;
    char o[32];
    if (W % 8 == 0) {
        int64_t q = W / 8;
        emit(e, "#ifdef NNC_V8\n%sconst nnc_v8 zero = {0.0f};\n%snnc_v8 ", ind, ind);
        for (int64_t r = 0; r < R; r++)
            for (int64_t k = 0; k < q; k++)
                emit(e, "%sv%lld_%lld = zero", r || k ? ", " : "", (long long)r, (long long)k);
        emit(e, ";\n%sfor (int s = 0; s < n; s++) {\n", ind);
        emit(e, "%s    const float *in = %s + i;\n", ind, in);
        emit(e, "%s    const float *dz = net->delta + s * %lld%s + o;\n", ind, (long long)(2 * n->max_width),
             plus(o, dz_off));
        emit(e, "%s    nnc_v8 ", ind);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sx%lld", k ? ", " : "", (long long)k);
        emit(e, ";\n");
        for (int64_t k = 0; k < q; k++)
            emit(e, "%s    memcpy(&x%lld, in + %lld, sizeof x%lld);\n", ind, (long long)k, (long long)(8 * k),
                 (long long)k);
        for (int64_t r = 0; r < R; r++) {
            emit(e, "%s    ", ind);
            for (int64_t k = 0; k < q; k++)
                emit(e, "%sv%lld_%lld += dz[%lld] * x%lld;", k ? " " : "", (long long)r, (long long)k, (long long)r,
                     (long long)k);
            emit(e, "\n");
        }
        emit(e, "%s}\n", ind);
        for (int64_t r = 0; r < R; r++) {
            emit(e, "%s", ind);
            for (int64_t k = 0; k < q; k++)
                emit(e, "%smemcpy(gw + (o + %lld) * %lld + i + %lld, &v%lld_%lld, 32);", k ? " " : "", (long long)r,
                     (long long)l->n_in, (long long)(8 * k), (long long)r, (long long)k);
            emit(e, "\n");
        }
        emit(e, "#else\n");
    }
    emit(e, "%sfloat g0[%lld] = {0.0f}", ind, (long long)W);
    for (int64_t r = 1; r < R; r++)
        emit(e, ", g%lld[%lld] = {0.0f}", (long long)r, (long long)W);
    emit(e, ";\n%sfor (int s = 0; s < n; s++) {\n", ind);
    emit(e, "%s    const float *in = %s + i;\n", ind, in);
    emit(e, "%s    const float *dz = net->delta + s * %lld%s + o;\n", ind, (long long)(2 * n->max_width),
         plus(o, dz_off));
    emit(e, "%s    const float ", ind);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%sd%lld = dz[%lld]", r ? ", " : "", (long long)r, (long long)r);
    emit(e, ";\n%s    for (int k = 0; k < %lld; k++) {\n", ind, (long long)W);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%s        g%lld[k] += d%lld * in[k];\n", ind, (long long)r, (long long)r);
    emit(e, "%s    }\n%s}\n", ind, ind);
    emit(e, "%sfor (int k = 0; k < %lld; k++) {\n", ind, (long long)W);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%s    gw[(o + %lld) * %lld + i + k] = g%lld[k];\n", ind, (long long)r, (long long)l->n_in,
             (long long)r);
    emit(e, "%s}\n", ind);
    if (W % 8 == 0)
        emit(e, "#endif\n");
}

/* One block of the input gradient of sample s: inputs i .. i+W-1. */
static void emit_gemm_din_block(Emitter *e, const Layer *l, int64_t W, const char *ind)
{
    int64_t arrays = (W + GEMM_ARRAY - 1) / GEMM_ARRAY;
    if (W % 8 == 0) {
        int64_t q = W / 8;
        emit(e, "#ifdef NNC_V8\n%sconst nnc_v8 zero = {0.0f};\n%snnc_v8 ", ind, ind);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sv%lld = zero", k ? ", " : "", (long long)k);
        emit(e, ";\n%sfor (int o = 0; o < %lld; o++) {\n", ind, (long long)l->n_out);
        emit(e, "%s    const float d = dz[o], *wo = w + o * %lld + i;\n", ind, (long long)l->n_in);
        emit(e, "%s    nnc_v8 wk;\n", ind);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%s    memcpy(&wk, wo + %lld, 32);\n%s    v%lld += d * wk;\n", ind, (long long)(8 * k), ind,
                 (long long)k);
        emit(e, "%s}\n", ind);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%smemcpy(din + i + %lld, &v%lld, 32);\n", ind, (long long)(8 * k), (long long)k);
        emit(e, "#else\n");
    }
    emit(e, "%sfloat ", ind);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%sa%lld[%lld] = {0.0f}", q ? ", " : "", (long long)q, (long long)w);
    }
    emit(e, ";\n%sfor (int o = 0; o < %lld; o++) {\n", ind, (long long)l->n_out);
    emit(e, "%s    const float d = dz[o], *wo = w + o * %lld + i;\n", ind, (long long)l->n_in);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%s    for (int k = 0; k < %lld; k++)\n%s        a%lld[k] += d * wo[%lld + k];\n", ind, (long long)w,
             ind, (long long)q, (long long)(q * GEMM_ARRAY));
    }
    emit(e, "%s}\n", ind);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%sfor (int k = 0; k < %lld; k++)\n%s    din[i + %lld + k] = a%lld[k];\n", ind, (long long)w, ind,
             (long long)(q * GEMM_ARRAY), (long long)q);
    }
    if (W % 8 == 0)
        emit(e, "#endif\n");
}

/* The vector path's din = dz w: blocks of 8V inputs x S samples, the
 * samples inner, so that the block's panel of w (n_out x 8V floats) stays
 * in L1 for the whole batch instead of streaming all of w once per sample.
 * The sums are the plain loops' (over o in order): both paths give the same
 * bits.  Samples past n repeat sample s: they write the same values again. */
static void emit_gemm_din_v8(Emitter *e, const Layer *l, const Layer *prod, int64_t rowlen, int64_t dz_off,
                             int64_t din_off, const char *in)
{
    int64_t ni = l->n_in, S = GEMM_DIN_SAMPLES, blk = 8 * GEMM_DIN_VECTORS;
    char o1[32];
    emit(e, "        {\n            const nnc_v8 zero = {0.0f};\n");
    for (int part = 0; part < 2; part++) {
        int64_t i_main = ni / blk * blk, W = part ? ni - i_main : blk, q = W / 8;
        if (!W || (!part && !i_main))
            continue;
        if (!part)
            emit(e, "            for (int i = 0; i < %lld; i += %lld) {   /* din = dz w, %lld inputs x %lld samples at a "
                    "time */\n", (long long)i_main, (long long)blk, (long long)blk, (long long)S);
        else
            emit(e, "            {   /* the last %lld inputs */\n                const int i = %lld;\n", (long long)W,
                 (long long)i_main);
        Buf blkbuf = {0};   /* the samples' loop, indented one more level by emit_indented */
        Emitter outer = *e;
        e->out = &blkbuf;
        emit(e, "            for (int s = 0; s < n; s += %lld) {\n", (long long)S);
        for (int64_t k = 0; k < S; k++) {
            if (k)
                emit(e, "                const int s%lld = s + %lld < n ? s + %lld : s;   /* past n: sample s again */\n",
                     (long long)k, (long long)k, (long long)k);
            else
                emit(e, "                const int s0 = s;\n");
        }
        for (int64_t k = 0; k < S; k++)
            emit(e, "                const float *dz%lld = net->delta + s%lld * %lld%s;\n", (long long)k, (long long)k,
                 (long long)rowlen, plus(o1, dz_off));
        emit(e, "                nnc_v8 ");
        for (int64_t k = 0; k < S; k++)
            for (int64_t v = 0; v < q; v++)
                emit(e, "%sv%lld_%lld = zero", !v ? (k ? ",\n                       " : "") : ", ", (long long)k,
                     (long long)v);
        emit(e, ";\n                for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
        emit(e, "                    const float *wo = w + o * %lld + i;\n                    const float ", (long long)ni);
        for (int64_t k = 0; k < S; k++)
            emit(e, "%sd%lld = dz%lld[o]", k ? ", " : "", (long long)k, (long long)k);
        emit(e, ";\n                    nnc_v8 wk;\n");
        for (int64_t v = 0; v < q; v++) {
            emit(e, "                    memcpy(&wk, wo + %lld, 32);\n                   ", (long long)(8 * v));
            for (int64_t k = 0; k < S; k++)
                emit(e, " v%lld_%lld += d%lld * wk;", (long long)k, (long long)v, (long long)k);
            emit(e, "\n");
        }
        emit(e, "                }\n");
        for (int64_t k = 0; k < S; k++) {
            emit(e, "               ");
            for (int64_t v = 0; v < q; v++)
                emit(e, " memcpy(net->delta + s%lld * %lld + %lld + i, &v%lld_%lld, 32);", (long long)k,
                     (long long)rowlen, (long long)(din_off + 8 * v), (long long)k, (long long)v);
            emit(e, "\n");
        }
        emit(e, "            }\n");
        *e = outer;
        emit_indented(e, &blkbuf);
        buf_free(&blkbuf);
        emit(e, "            }\n");
    }
    if (act_info[prod->act].derivative) {
        emit(e, "            for (int s = 0; s < n; s++) {\n");
        emit(e, "                float *din = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o1, din_off));
        emit(e, "                const float *in = %s;\n", in);
        emit_din_through_act_at(e, prod, ni, "                ");
        emit(e, "            }\n");
    }
    emit(e, "        }\n");
}

static void emit_gemm_backward(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    const Net *n = e->net;
    int64_t ni = l->n_in, no = l->n_out, rowlen = 2 * n->max_width;
    int64_t dz_off = row * n->max_width, din_off = (row ^ 1) * n->max_width;
    char in[64];
    int64_t stride;
    gemm_input(e, l, in, &stride);
    emit(e, "        float *gw = net->grad + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off, (long long)no,
         (long long)ni);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    /* gw = dz^T in, in blocks of R outputs x W inputs */
    int64_t R = no < GEMM_GW_ROWS ? no : GEMM_GW_ROWS, W = ni < GEMM_ARRAY ? ni : GEMM_ARRAY;
    int64_t o_main = no / R * R, i_main = ni / W * W;
    for (int po = 0; po < 2; po++)
        for (int pi = 0; pi < 2; pi++) {
            int64_t r = po ? no - o_main : R, w = pi ? ni - i_main : W;
            if (!r || !w)
                continue;
            char ind[32] = "            ";
            if (!po)
                emit(e, "        for (int o = 0; o < %lld; o += %lld)", (long long)o_main, (long long)R);
            if (!pi)
                emit(e, "%sfor (int i = 0; i < %lld; i += %lld)", po ? "        " : " ", (long long)i_main,
                     (long long)W);
            emit(e, "%s{", po && pi ? "        " : " ");
            if (po && pi)
                emit(e, "   /* the last outputs and inputs */\n            const int o = %lld, i = %lld;\n",
                     (long long)o_main, (long long)i_main);
            else if (po)
                emit(e, "   /* the last %lld outputs */\n            const int o = %lld;\n", (long long)r,
                     (long long)o_main);
            else if (pi)
                emit(e, "   /* the last %lld inputs */\n            const int i = %lld;\n", (long long)w,
                     (long long)i_main);
            else
                emit(e, "   /* gw = dz^T in, %lld outputs x %lld inputs at a time */\n", (long long)R, (long long)W);
            emit_gemm_gw_block(e, l, r, w, in, dz_off, ind);
            emit(e, "        }\n");
        }
    emit(e, "        for (int o = 0; o < %lld; o++) {   /* gb = the sum of dz over the samples */\n", (long long)no);
    emit(e, "            float sum = 0.0f;\n");
    char o1[32], o2[32];
    emit(e, "            for (int s = 0; s < n; s++)\n                sum += net->delta[s * %lld%s + o];\n",
         (long long)rowlen, plus(o1, dz_off));
    emit(e, "            gb[o] = sum;\n        }\n");
    if (!prod)
        return;
    /* din = dz w, sample by sample, in blocks of 64 inputs */
    int64_t blk = GEMM_ARRAY * GEMM_DIN_ARRAYS;
    blk = blk > ni ? ni : blk;
    int64_t d_main = ni / blk * blk;
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    bool v8 = ni % 8 == 0;
    if (v8) {
        emit(e, "#ifdef NNC_V8\n");
        emit_gemm_din_v8(e, l, prod, rowlen, dz_off, din_off, in);
        emit(e, "#else\n");
    }
    emit(e, "        for (int s = 0; s < n; s++) {   /* din = dz w */\n");
    emit(e, "            const float *dz = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o1, dz_off));
    emit(e, "            float *din = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o2, din_off));
    if (act_info[prod->act].derivative)
        emit(e, "            const float *in = %s;\n", in);
    emit(e, "            for (int i = 0; i < %lld; i += %lld) {\n", (long long)d_main, (long long)blk);
    emit_gemm_din_block(e, l, blk, "                ");
    emit(e, "            }\n");
    if (d_main < ni) {
        emit(e, "            {   /* the last %lld inputs */\n                const int i = %lld;\n",
             (long long)(ni - d_main), (long long)d_main);
        emit_gemm_din_block(e, l, ni - d_main, "                ");
        emit(e, "            }\n");
    }
    emit_din_through_act_at(e, prod, ni, "            ");
    emit(e, "        }\n");
    if (v8)
        emit(e, "#endif\n");
}

/* ---- backward ---- */

/* dLoss/dz of the output layer into dz (row 0 of net->delta); returns via
 * `loss` the sample's loss. */
static void emit_loss(Emitter *e)
{
    const Net *n = e->net;
    const Layer *prod = output_layer(n);
    int64_t no = n->n_outputs;
    bool unroll = short_vector(e, no);
    const char *t = e->t;
    char y[64];
    act_ptr(e, y, prod ? prod->act_off : -1);
    emit(e, "        const float *y = %s;   /* the output [%lld] */\n", y, (long long)no);
    emit(e, "        float *dz_out = %s;   /* dLoss/dz of the output layer */\n", e->delta);
    emit(e, "        float ls = 0.0f;   /* the sample's loss */\n\n");
    if (n->loss == LOSS_CROSS_ENTROPY) {
        /* softmax last is guaranteed by check.c */
        emit(e, "        {   /* loss cross_entropy: L = -sum t log softmax(z) = sum t (logsumexp(z) - z);\n"
                "               with softmax, dL/dz = y - t */\n");
        emit(e, "            const float *z = %s;\n", e->logit);
        emit(e, "            float m = z[0], sum = 0.0f, lse;\n");
        emit(e, "            for (int j = 1; j < %lld; j++)\n                m = z[j] > m ? z[j] : m;\n", (long long)no);
        emit(e, "            for (int j = 0; j < %lld; j++)\n                sum += expf(z[j] - m);\n", (long long)no);
        emit(e, "            lse = m + logf(sum);\n");
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "                ls += %s[j] * (lse - z[j]);\n", t);
        emit(e, "                dz_out[j] = (y[j] - %s[j]) * scale;\n", t);
        emit(e, "            }\n        }\n");
        emit(e, "        loss += ls;\n");
        return;
    }
    /* mse: L = 1/2 sum (t - y)^2, dL/dy = y - t = -Error */
    emit(e, "        /* loss mse: L = 1/2 sum (t - y)^2, so dL/dy = y - t (the negated Error t - y) */\n");
    if (prod && prod->act == ACT_SOFTMAX) {
        emit(e, "        {   /* through softmax: dz_j = y_j (g_j - sum_k g_k y_k) with g = dL/dy */\n");
        emit(e, "            float dot = 0.0f;\n");
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "                float err = y[j] - %s[j];\n", t);
        emit(e, "                ls += err * err;\n");
        emit(e, "                dz_out[j] = err * scale;\n");
        emit(e, "                dot += dz_out[j] * y[j];\n");
        emit(e, "            }\n");
        emit(e, "            for (int j = 0; j < %lld; j++)\n", (long long)no);
        emit(e, "                dz_out[j] = y[j] * (dz_out[j] - dot);\n");
        emit(e, "        }\n");
    } else if (unroll) {
        for (int64_t j = 0; j < no; j++) {
            char yj[32];
            snprintf(yj, sizeof yj, "y[%lld]", (long long)j);
            emit(e, "        {\n            float err = y[%lld] - %s[%lld];\n            ls += err * err;\n",
                 (long long)j, t, (long long)j);
            emit(e, "            dz_out[%lld] = err", (long long)j);
            if (prod)
                emit_deriv_factor(e, prod, yj);
            emit(e, " * scale;\n        }\n");
        }
    } else {
        emit(e, "        for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "            float err = y[j] - %s[j];\n            ls += err * err;\n", t);
        emit(e, "            dz_out[j] = err");
        if (prod)
            emit_deriv_factor(e, prod, "y[j]");
        emit(e, " * scale;\n        }\n");
    }
    emit(e, "        loss += ls * 0.5f;\n");
}

/* The optimizer's constants for one step, as locals. */
static void emit_update_consts(Emitter *e, const char *ind)
{
    const Optim *o = &e->net->optim;
    emit(e, "%sconst float lr = net->lr;\n", ind);
    if (o->kind == OPTIM_ADAM) {
        emit(e, "%sconst double bc1 = 1.0 - pow(%.17g, (double)(net->step + 1));   /* bias corrections */\n", ind,
             o->beta1);
        emit(e, "%sconst double bc2 = 1.0 - pow(%.17g, (double)(net->step + 1));\n", ind, o->beta2);
        emit(e, "%sconst float step_size = (float)((double)lr / bc1);\n", ind);
        emit(e, "%sconst float bc2_sqrt = (float)sqrt(bc2);\n", ind);
    } else if (o->momentum != 0) {
        emit(e, "%sconst int first = net->step == 0;\n", ind);
    }
}

/* One parameter's optimizer step: parameter `i` (an expression) with
 * gradient `grad` (an expression), in a block of its own. */
static void emit_update_element(Emitter *e, const char *ind, const char *i, const char *grad)
{
    const Optim *o = &e->net->optim;
    char f1[32], f2[32], f3[32];
    emit(e, "%sfloat g = %s;\n", ind, grad);
    if (o->weight_decay != 0)
        emit(e, "%sg += %s * net->param[%s];   /* weight decay */\n", ind, fmt_float(f1, o->weight_decay), i);
    if (o->kind == OPTIM_ADAM) {
        emit(e, "%snet->adam_m[%s] = net->adam_m[%s] * %s + g * %s;\n", ind, i, i, fmt_float(f1, o->beta1),
             fmt_float(f2, 1.0 - o->beta1));
        emit(e, "%snet->adam_v[%s] = net->adam_v[%s] * %s + %s * g * g;\n", ind, i, i, fmt_float(f1, o->beta2),
             fmt_float(f2, 1.0 - o->beta2));
        emit(e, "%snet->param[%s] -= step_size * (net->adam_m[%s] / (sqrtf(net->adam_v[%s]) / bc2_sqrt + %s));\n",
             ind, i, i, i, fmt_float(f3, o->eps));
    } else if (o->momentum != 0) {
        emit(e, "%snet->velocity[%s] = first ? g : net->velocity[%s] * %s + g;\n", ind, i, i,
             fmt_float(f1, o->momentum));
        emit(e, "%snet->param[%s] -= lr * net->velocity[%s];\n", ind, i, i);
    } else {
        emit(e, "%snet->param[%s] -= lr * g;\n", ind, i);
    }
}

/* Whether train_step applies a layer's optimizer step inside its backward
 * code, with no gradient buffer: dense layers of batch-1 networks, where
 * the gradient of one sample is the step's whole gradient. */
static bool fused_update(const Emitter *e, const Layer *l)
{
    return !e->infer && e->net->batch == 1 && l->kind == LAYER_DENSE && !l->gemm;
}

static void emit_dense_din(Emitter *e, const Layer *l, const Layer *prod)
{
    int64_t ni = l->n_in, no = l->n_out;
    if (unrolled(e, l)) {
        for (int64_t i = 0; i < ni; i++) {
            char yi[32];
            snprintf(yi, sizeof yi, "in[%lld]", (long long)i);
            emit(e, "        din[%lld] = (", (long long)i);
            for (int64_t o = 0; o < no; o++) {
                if (o > 0 && o % 4 == 0)
                    emit(e, "\n                  ");
                emit(e, "%sw[%lld] * dz[%lld]", o ? " + " : "", (long long)(o * ni + i), (long long)o);
            }
            emit(e, ")");
            emit_deriv_factor(e, prod, yi);
            emit(e, ";\n");
        }
        return;
    }
    emit(e, "        for (int i = 0; i < %lld; i++)   /* din = w^T dz */\n            din[i] = 0.0f;\n",
         (long long)ni);
    emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            const float *wo = w + o * %lld;\n", (long long)ni);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                din[i] += wo[i] * d;\n", (long long)ni);
    emit(e, "        }\n");
    emit_din_through_act(e, prod, ni);
}


static void emit_dense_gw(Emitter *e, const Layer *l)
{
    int64_t ni = l->n_in, no = l->n_out;
    if (unrolled(e, l)) {
        for (int64_t o = 0; o < no; o++) {
            for (int64_t i = 0; i < ni; i++)
                emit(e, "        gw[%lld] += dz[%lld] * in[%lld];\n", (long long)(o * ni + i), (long long)o,
                     (long long)i);
            emit(e, "        gb[%lld] += dz[%lld];\n", (long long)o, (long long)o);
        }
        return;
    }
    emit(e, "        for (int o = 0; o < %lld; o++) {   /* gw += dz in^T, gb += dz */\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            float *go = gw + o * %lld;\n", (long long)ni);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                go[i] += d * in[i];\n", (long long)ni);
    emit(e, "            gb[o] += d;\n        }\n");
}

/* train_step's version for a fused layer: the optimizer step of each
 * weight and bias straight from its gradient, which is never stored. */
static void emit_dense_fused_step(Emitter *e, const Layer *l)
{
    int64_t ni = l->n_in, no = l->n_out;
    char k[64];
    emit_update_consts(e, "        ");
    emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            for (int i = 0; i < %lld; i++) {\n", (long long)ni);
    snprintf(k, sizeof k, "%lld + o * %lld + i", (long long)l->w_off, (long long)ni);
    emit(e, "                const int k = %s;\n", k);
    emit_update_element(e, "                ", "k", "d * in[i]");
    emit(e, "            }\n            {\n");
    emit(e, "                const int k = %lld + o;\n", (long long)l->b_off);
    emit_update_element(e, "                ", "k", "d");
    emit(e, "            }\n        }\n");
}

static void emit_dense_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    bool need_din = prod != NULL;
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    if (need_din) {
        emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
        emit(e, "        float *din = %s + %lld;\n", e->delta, (long long)((row ^ 1) * n->max_width));
    }
    emit(e, "        const float *in = %s;\n", in_ptr);
    if (!fused_update(e, l)) {
        emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
        emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
        emit_dense_gw(e, l);
        if (need_din)
            emit_dense_din(e, l, prod);
        return;
    }
    Buf step = {0}, alone = {0};
    Emitter sub = *e;
    sub.out = &step;
    if (need_din)
        emit_dense_din(&sub, l, prod);   /* din first: it needs the weights before their step */
    emit_dense_fused_step(&sub, l);
    sub.out = &alone;
    emit(&sub, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(&sub, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    emit_dense_gw(&sub, l);
    if (need_din)
        emit_dense_din(&sub, l, prod);
    emit(e, "        if (update) {   /* train_step: the optimizer step on the spot, no gradient buffer */\n");
    emit_indented(e, &step);
    emit(e, "        } else {   /* backward alone: the gradient into grad[] */\n");
    emit_indented(e, &alone);
    emit(e, "        }\n");
    buf_free(&step);
    buf_free(&alone);
}

/* ---- the passes ---- */

/* Whether `code` mentions identifier `id`. */
static bool mentions(const char *code, const char *id)
{
    size_t len = strlen(id);
    for (const char *p = code; (p = strstr(p, id)) != NULL; p += len) {
        bool before = p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '>' || p[-1] == '.');
        bool after = isalnum((unsigned char)p[len]) || p[len] == '_';
        if (!before && !after)
            return true;
    }
    return false;
}

typedef enum { PASS_FORWARD, PASS_LOSS, PASS_BACKWARD } Pass;

/* The per-sample code of one layer and pass, for the sample in flight. */
static void emit_layer_code(Emitter *e, Pass pass, const Layer *l, int row)
{
    const Net *n = e->net;
    const Layer *p = l ? producer(n, (int)(l - n->layers)) : NULL;
    char in_ptr[64];
    act_ptr(e, in_ptr, p ? p->act_off : -1);
    if (pass == PASS_LOSS)
        emit_loss(e);
    else if (pass == PASS_FORWARD && l->kind == LAYER_DROPOUT)
        emit_dropout_forward(e, l, in_ptr);
    else if (pass == PASS_FORWARD && l->kind == LAYER_DENSE)
        emit_dense_forward(e, l, in_ptr);
    else if (pass == PASS_FORWARD && l->kind == LAYER_CONV && l->stride_h == 1 && l->stride_w == 1)
        emit_conv_forward_s1(e, l, in_ptr);
    else if (pass == PASS_FORWARD && l->kind == LAYER_CONV)
        emit_conv_forward(e, l, in_ptr);
    else if (pass == PASS_FORWARD)
        emit_pool_forward(e, l, in_ptr);
    else if (l->kind == LAYER_DROPOUT)
        emit_dropout_backward(e, l, p, row, in_ptr);
    else if (l->kind == LAYER_DENSE)
        emit_dense_backward(e, l, p, row, in_ptr);
    else if (l->kind == LAYER_CONV && l->stride_h == 1 && l->stride_w == 1)
        emit_conv_backward_s1(e, l, p, row, in_ptr);
    else if (l->kind == LAYER_CONV)
        emit_conv_backward(e, l, p, row, in_ptr);
    else
        emit_pool_backward(e, l, p, row, in_ptr);
}

/* A layer's code for every sample: as it is for a single sample (inference,
 * batch 1), else in a loop over the n samples with each one's rows. */
static void emit_per_sample(Emitter *e, Pass pass, const Layer *l, int row)
{
    const Net *n = e->net;
    Emitter sub = *e;
    if (e->infer || e->single || n->batch == 1) {
        sub.x = "x", sub.act = "net->act", sub.delta = "net->delta", sub.logit = "net->logit";
        sub.mask = "net->mask", sub.t = "t";
        emit(e, "    {\n");
        emit_layer_code(&sub, pass, l, row);
        emit(e, "    }\n");
        return;
    }
    Buf body = {0};
    sub.out = &body;
    sub.x = "xs", sub.act = "act", sub.delta = "delta", sub.logit = "logit", sub.mask = "masks", sub.t = "ts";
    emit_layer_code(&sub, pass, l, row);
    const char *code = body.data ? body.data : "";
    emit(e, "    for (int s = 0; s < n; s++) {\n");
    if (mentions(code, "xs"))
        emit(e, "        const float *xs = x + s * %lld;\n", (long long)n->n_inputs);
    if (mentions(code, "ts"))
        emit(e, "        const float *ts = t + s * %lld;\n", (long long)n->n_outputs);
    if (mentions(code, "act"))
        emit(e, "        float *act = net->act + s * %lld;\n", (long long)n->n_act);
    if (mentions(code, "delta"))
        emit(e, "        float *delta = net->delta + s * %lld;\n", (long long)(2 * n->max_width));
    if (mentions(code, "logit"))
        emit(e, "        float *logit = net->logit + s * %lld;\n", (long long)n->n_outputs);
    if (mentions(code, "masks"))
        emit(e, "        float *masks = net->mask + s * %lld;\n", (long long)net_buffer(n, "mask")->floats / n->batch);
    emit(e, "%s", code);
    emit(e, "    }\n");
    if (body.oom)   /* a lost piece makes the whole output unusable */
        e->out->oom = true;
    buf_free(&body);
}

static bool batched(const Emitter *e)
{
    return !e->infer && !e->single && e->net->batch > 1;
}

static void emit_run(Emitter *e)
{
    const Net *n = e->net;
    bool train_flag = n->has_dropout && !e->infer && !e->single;
    if (e->single) {
        bool gemm = false;
        for (int i = 0; i < n->n_layers; i++)
            gemm |= n->layers[i].gemm;
        emit(e, "/* Forward pass of one sample, for %s_forward%s%s. */\n", n->name,
             gemm ? ": the batched layers' matrix products would compute a whole batch's lanes for it" : "",
             n->has_dropout ? (gemm ? "; dropout passes values through" : ": dropout passes values through") : "");
        emit(e, "static void %s_run_one(%s *net, const float *x)\n{\n", n->name, n->name);
    } else if (batched(e)) {
        emit(e, "/* Forward pass of n samples (rows of x): every layer's outputs into net->act,\n"
                " * a row per sample%s. */\n", train_flag ? "; `train` draws dropout masks, otherwise dropout passes "
                "values through" : "");
        emit(e, "static void %s_run(%s *net, const float *x, int n%s)\n{\n", n->name, n->name,
             train_flag ? ", int train" : "");
    } else {
        emit(e, "/* Forward pass of one sample: every layer's output into net->act%s. */\n",
             train_flag ? "; `train` draws dropout masks, otherwise dropout passes values through" : "");
        emit(e, "static void %s_run(%s *net, const float *x%s)\n{\n", n->name, n->name, train_flag ? ", int train" : "");
    }
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (l->kind == LAYER_FLATTEN) {
            emit_banner(e, l, ": CHW order is kept, nothing to do");
            continue;
        }
        if (l->gemm && batched(e)) {
            emit_banner(e, l, ", all samples at once");
            emit(e, "    {\n");
            emit_gemm_forward(e, l);
            emit(e, "    }\n");
            continue;
        }
        emit_banner(e, l, "");
        emit_per_sample(e, PASS_FORWARD, l, 0);
    }
    emit(e, "}\n\n");
}

static void emit_backward_pass(Emitter *e)
{
    const Net *n = e->net;
    bool many = batched(e);
    bool stores = false;
    for (int i = 0; i < n->n_layers; i++)
        stores |= n->layers[i].gemm && many;
    emit(e, "/* Backward pass of the %s last run: adds %s gradient, times `scale`,\n"
            " * into net->grad%s,\n"
            " * and returns %s; with `update`, each layer's optimizer step follows its gradient. */\n", many ? "n samples" : "sample",
         many ? "their" : "its", stores ? " (the batched dense layers store theirs)" : "",
         many ? "the sum of their losses" : "its loss");
    emit(e, "static float %s_backward_pass(%s *net, const float *x, const float *t, %sfloat scale, int update)\n{\n",
         n->name, n->name, many ? "int n, " : "");
    emit(e, "    float loss = 0.0f;\n");
    /* A network that starts with a pooling or dropout layer never reads x
     * going backward: the input needs no gradient. */
    const Layer *first = NULL;
    for (int i = 0; i < n->n_layers && !first; i++)
        if (!n->layers[i].aliases_input)
            first = &n->layers[i];
    if (first && !first->w_len)
        emit(e, "    (void)x;   /* the first layer has no weights: nothing backward reads the input */\n");
    emit(e, "\n    /* the loss, and dLoss/dz of the output layer */\n");
    emit_per_sample(e, PASS_LOSS, NULL, 0);
    int row = 0;
    for (int i = n->n_layers - 1; i >= 0; i--) {
        const Layer *l = &n->layers[i];
        emit(e, "\n");
        if (l->kind == LAYER_FLATTEN) {
            emit_banner(e, l, " backward: nothing to do");
            continue;
        }
        if (l->gemm && many) {
            emit_banner(e, l, " backward, all samples at once");
            emit(e, "    {\n");
            emit_gemm_backward(e, l, producer(n, i), row);
            emit(e, "    }\n");
        } else {
            emit_banner(e, l, " backward");
            emit_per_sample(e, PASS_BACKWARD, l, row);
        }
        if (l->w_len && !fused_update(e, l))
            emit(e, "    if (update)   /* its gradient is complete: the optimizer step, while it is in cache */\n"
                    "        %s_update_params(net, %lld, %lld);\n", n->name, (long long)l->w_off,
                 (long long)(l->b_off + l->b_len));
        row ^= 1;
    }
    emit(e, "    return loss;\n}\n\n");
}

static void emit_update(Emitter *e)
{
    const Net *n = e->net;
    const Optim *o = &n->optim;
    emit(e, "/* One optimizer step over parameters lo .. hi-1, as torch.optim.%s does it;\n"
            " * the caller counts the step. */\n", o->kind == OPTIM_SGD ? "SGD" : "Adam");
    emit(e, "static void %s_update_params(%s *net, int lo, int hi)\n{\n", n->name, n->name);
    emit_update_consts(e, "    ");
    emit(e, "\n    for (int i = lo; i < hi; i++) {\n");
    emit_update_element(e, "        ", "i", "net->grad[i]");
    emit(e, "    }\n}\n\n");
    emit(e, "void %s_update(%s *net)\n{\n    %s_update_params(net, 0, %lld);\n    net->step++;\n}\n\n", n->name,
         n->name, n->name, (long long)n->n_params);
}

static void emit_forward(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    const Layer *prod = output_layer(n);
    char y[64];
    snprintf(y, sizeof y, "net->act + %lld", (long long)(prod ? prod->act_off : 0));
    emit(e, "void %s_forward(%s *net, const float *x, float *y)\n{\n", N, N);
    if (batched(e))
        emit(e, "    %s_run_one(net, x);\n", N);
    else
        emit(e, "    %s_run(net, x%s);\n", N, n->has_dropout && !e->infer ? ", 0" : "");
    emit(e, "    memcpy(y, %s, %lld * sizeof(float));\n}\n\n", prod ? y : "x", (long long)n->n_outputs);
}

/* NAME_forward_batch: n samples, a batch at a time through the training
 * code's forward pass (dropout off), the way evaluation is fastest. */
static void emit_forward_batch(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    const Layer *prod = output_layer(n);
    int64_t no = n->n_outputs, ni = n->n_inputs;
    emit(e, "void %s_forward_batch(%s *net, const float *x, float *y, int n)\n{\n", N, N);
    if (!batched(e)) {
        emit(e, "    for (; n > 0; n--, x += %lld, y += %lld)\n        %s_forward(net, x, y);\n}\n\n", (long long)ni,
             (long long)no, N);
        return;
    }
    emit(e, "    while (n > 0) {\n");
    emit(e, "        const int k = n < %lld ? n : %lld;\n", (long long)n->batch, (long long)n->batch);
    emit(e, "        %s_run(net, x, k%s);\n", N, n->has_dropout ? ", 0" : "");
    emit(e, "        for (int s = 0; s < k; s++)\n");
    if (prod)
        emit(e, "            memcpy(y + s * %lld, net->act + s * %lld + %lld, %lld * sizeof(float));\n", (long long)no,
             (long long)n->n_act, (long long)prod->act_off, (long long)no);
    else
        emit(e, "            memcpy(y + s * %lld, x + s * %lld, %lld * sizeof(float));\n", (long long)no,
             (long long)ni, (long long)no);
    emit(e, "        x += k * %lld;\n        y += k * %lld;\n        n -= k;\n    }\n}\n\n", (long long)ni,
         (long long)no);
}

/* Clears the gradients that backward adds up sample by sample (batched
 * dense layers write theirs whole), as runs of contiguous parameters. */
static void emit_clear_grads(Emitter *e, bool step)
{
    const Net *n = e->net;
    int64_t lo = -1, hi = -1;
    for (int i = 0; i <= n->n_layers; i++) {
        const Layer *l = i < n->n_layers ? &n->layers[i] : NULL;
        bool adds = l && l->w_len && !(l->gemm && batched(e)) && !(step && fused_update(e, l));
        if (adds && lo >= 0 && l->w_off == hi) {
            hi = l->b_off + l->b_len;
            continue;
        }
        if (lo >= 0 && (!l || adds || l->w_len)) {
            if (lo == 0 && hi == n->n_params)
                emit(e, "    memset(net->grad, 0, sizeof net->grad);\n");
            else
                emit(e, "    memset(net->grad + %lld, 0, %lld * sizeof(float));\n", (long long)lo,
                     (long long)(hi - lo));
            lo = -1;
        }
        if (adds) {
            lo = l->w_off;
            hi = l->b_off + l->b_len;
        }
    }
}

static void emit_entry_points(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    emit_forward(e);
    emit_forward_batch(e);

    for (int step = 0; step < 2; step++) {
        if (!step)
            emit(e, "float %s_backward(%s *net, const float *x, const float *t, int n)\n{\n", N, N);
        else
            emit(e, "/* backward and update in one pass: each layer's step as soon as its gradient\n"
                    " * is complete (the same numbers as %s_backward, then %s_update) */\n"
                    "float %s_train_step(%s *net, const float *x, const float *t, int n)\n{\n", N, N, N, N);
        emit(e, "    float loss, scale;\n\n");
        if (n->batch == 1)
            emit(e, "    if (n != 1)\n        return NAN;\n");
        else
            emit(e, "    if (n < 1 || n > %lld)\n        return NAN;\n", (long long)n->batch);
        emit(e, "    scale = 1.0f / (float)n;   /* the loss is the mean over the samples */\n");
        emit_clear_grads(e, step);
        if (batched(e)) {
            emit(e, "    %s_run(net, x, n%s);\n", N, n->has_dropout ? ", 1" : "");
            emit(e, "    loss = %s_backward_pass(net, x, t, n, scale, %d);\n", N, step);
        } else {
            emit(e, "    %s_run(net, x%s);\n", N, n->has_dropout ? ", 1" : "");
            emit(e, "    loss = %s_backward_pass(net, x, t, scale, %d);\n", N, step);
        }
        if (step)
            emit(e, "    net->step++;\n");
        emit(e, "    return loss / (float)n;\n}\n\n");
    }

    emit(e, "float *%s_params(%s *net)\n{\n    return net->param;\n}\n\n", N, N);
    emit(e, "float *%s_grads(%s *net)\n{\n    return net->grad;\n}\n", N, N);
}

/* ---- the header ---- */

static void emit_header_net(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    Buf d = {0};
    ir_describe_net(&d, n);
    emit(e, "/* ---- network %s (%s:%d): %s ---- */\n\n", N, e->mod->src->name, n->loc.first_line, d.oom ? "" : d.data);
    buf_free(&d);
    emit(e, "#define %s_N_INPUTS  %lld   /* floats per input sample%s */\n", N, (long long)n->n_inputs,
         n->input.image ? " (CHW order)" : "");
    emit(e, "#define %s_N_OUTPUTS %lld\n", N, (long long)n->n_outputs);
    emit(e, "#define %s_BATCH     %lld   /* most samples per train step */\n", N, (long long)n->batch);
    emit(e, "#define %s_N_PARAMS  %lld\n", N, (long long)n->n_params);
    emit(e, "#define %s_SEED      UINT64_C(%llu)%s\n", N, (unsigned long long)n->seed,
         n->has_seed ? "" : "   /* no `seed` statement: nnc's default */");
    emit(e, "#define %s_FINGERPRINT UINT64_C(0x%016llx)   /* of the layer shapes; weight files carry it */\n\n", N,
         (unsigned long long)n->fingerprint);
    emit(e, "/* Parameter layout (offsets into param[] and grad[]):\n");
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!l->w_len)
            continue;
        char shape[96];
        weight_shape(shape, sizeof shape, l);
        emit(e, " *   layer %d %s: weight %s at %lld, bias [%lld] at %lld\n", l->index, layer_info[l->kind].keyword,
             shape, (long long)l->w_off, (long long)l->b_len, (long long)l->b_off);
    }
    emit(e, " * sizeof(%s) is all the memory the network needs: %lld bytes. */\n", N, (long long)n->struct_bytes);
    emit(e, "typedef struct %s {\n", N);
    for (int i = 0; i < n->n_buffers; i++) {
        const Buffer *b = &n->buffers[i];
        char decl[96];
        snprintf(decl, sizeof decl, "float %s[%lld];", b->name, (long long)b->floats);
        emit(e, "    %-24s /* %s */\n", decl, b->what);
    }
    emit(e, "    %-24s /* learning rate: %s_init sets the file's; change it freely */\n", "float lr;", N);
    emit(e, "    %-24s /* optimizer steps taken */\n", "uint64_t step;");
    if (n->has_dropout)
        emit(e, "    %-24s /* state of the dropout masks' random numbers */\n", "uint64_t rng;");
    emit(e, "} %s;\n\n", N);
    emit(e, "/* Sets the parameters from `seed` (%s_SEED is the file's) and clears all other state. */\n", N);
    emit(e, "void %s_init(%s *net, uint64_t seed);\n", N, N);
    emit(e, "/* Runs one sample x[%s_N_INPUTS] through the network into y[%s_N_OUTPUTS]. */\n", N, N);
    emit(e, "void %s_forward(%s *net, const float *x, float *y);\n", N, N);
    emit(e, "/* Runs n samples (any n >= 0; rows of x) into n rows of y, a batch at a time:\n"
            " * %s_forward's outputs up to float rounding, faster for many samples. */\n", N);
    emit(e, "void %s_forward_batch(%s *net, const float *x, float *y, int n);\n", N, N);
    emit(e, "/* Trains on n samples (1..%s_BATCH): rows of x and of t (targets, one-hot for\n"
            " * classes) are contiguous.  Returns the mean loss before the update, or NaN\n"
            " * (and changes nothing) when n is out of range. */\n", N);
    emit(e, "float %s_train_step(%s *net, const float *x, const float *t, int n);\n", N, N);
    emit(e, "/* All %s_N_PARAMS parameters, contiguous, in PyTorch's state_dict order. */\n", N);
    emit(e, "float *%s_params(%s *net);\n\n", N, N);
    emit(e, "/* The two halves of %s_train_step, for gradient checks and custom loops:\n"
            " * %s_backward fills grad[] with the mean gradient of n samples and returns\n"
            " * their mean loss; %s_update applies one optimizer step to it. */\n", N, N, N);
    emit(e, "float %s_backward(%s *net, const float *x, const float *t, int n);\n", N, N);
    emit(e, "void %s_update(%s *net);\n", N, N);
    emit(e, "float *%s_grads(%s *net);\n\n", N, N);
}

/* The buffers the forward pass uses: layer outputs, softmax inputs, and the
 * scratch of stride-1 convolutions. */
static bool inference_buffer(const Buffer *b)
{
    return strcmp(b->name, "act") == 0 || strcmp(b->name, "logit") == 0 || strcmp(b->name, "pad") == 0;
}

/* The header of an inference-only network: no batch, no training state. */
static void emit_header_infer(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    Buf d = {0};
    ir_describe_net(&d, n);
    emit(e, "/* ---- network %s (%s:%d), inference only: %s ---- */\n\n", N, e->mod->src->name, n->loc.first_line,
         d.oom ? "" : d.data);
    buf_free(&d);
    emit(e, "#define %s_N_INPUTS  %lld   /* floats per input sample%s */\n", N, (long long)n->n_inputs,
         n->input.image ? " (CHW order)" : "");
    emit(e, "#define %s_N_OUTPUTS %lld\n", N, (long long)n->n_outputs);
    emit(e, "#define %s_N_PARAMS  %lld   /* constants in the .c, not in the struct */\n", N, (long long)n->n_params);
    emit(e, "#define %s_FINGERPRINT UINT64_C(0x%016llx)\n\n", N, (unsigned long long)n->fingerprint);
    int64_t floats = 0;
    for (int i = 0; i < n->n_buffers; i++)
        if (inference_buffer(&n->buffers[i]))
            floats += n->buffers[i].floats / n->buffers[i].rows;   /* one sample */
    emit(e, "/* sizeof(%s) is all the RAM inference needs: %lld bytes. */\n", N, (long long)floats * 4);
    emit(e, "typedef struct %s {\n", N);
    for (int i = 0; i < n->n_buffers; i++) {
        const Buffer *b = &n->buffers[i];
        if (!inference_buffer(b))
            continue;
        char decl[96];
        snprintf(decl, sizeof decl, "float %s[%lld];", b->name, (long long)(b->floats / b->rows));
        emit(e, "    %-24s /* %s */\n", decl, b->what);
    }
    emit(e, "} %s;\n\n", N);
    emit(e, "/* Runs one sample x[%s_N_INPUTS] through the network into y[%s_N_OUTPUTS]. */\n", N, N);
    emit(e, "void %s_forward(%s *net, const float *x, float *y);\n", N, N);
    emit(e, "/* The %s_N_PARAMS trained parameters, in PyTorch's state_dict order. */\n", N);
    emit(e, "const float *%s_params(void);\n\n", N);
}

/* The trained parameters as a constant array, eight a line. */
static void emit_weights(Emitter *e)
{
    const Net *n = e->net;
    emit(e, "/* The trained parameters (PyTorch's state_dict order):\n");
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (l->w_len) {
            char shape[96];
            weight_shape(shape, sizeof shape, l);
            emit(e, " *   layer %d %s: weight %s at %lld, bias [%lld] at %lld\n", l->index,
                 layer_info[l->kind].keyword, shape, (long long)l->w_off, (long long)l->b_len, (long long)l->b_off);
        }
    }
    emit(e, " */\nstatic const float %s_param[%lld] = {\n", n->name, (long long)n->n_params);
    for (int64_t i = 0; i < n->n_params; i++) {
        char f[32];
        emit(e, "%s%s,", i % 8 == 0 ? "    " : " ", fmt_float(f, e->opt->weights[i]));
        if (i % 8 == 7 || i + 1 == n->n_params)
            emit(e, "\n");
    }
    emit(e, "};\n\n");
}

static void emit_banner_comment(Emitter *e, const char *file)
{
    emit(e, "/* %s: generated by nnc %s from %s.\n * Do not edit: change the .nn file and run nnc again.\n",
         file, NNC_VERSION, e->mod->src->name);
    for (int i = 0; i < e->mod->n_nets; i++) {
        const Net *n = &e->mod->nets[i];
        if (e->infer && n != e->opt->infer_net)
            continue;
        Buf d = {0};
        ir_describe_net(&d, n);
        Buf o = {0};
        ir_describe_optim(&o, n);
        if (e->infer)
            emit(e, " *\n * network %s: %s\n *   inference only, with trained weights\n", n->name, d.oom ? "" : d.data);
        else
            emit(e, " *\n * network %s: %s\n *   loss %s, optimizer %s, batch %lld\n", n->name, d.oom ? "" : d.data,
                 loss_keyword[n->loss], o.oom ? "" : o.data, (long long)n->batch);
        buf_free(&d);
        buf_free(&o);
    }
    emit(e, " */\n");
}

static void header_guard(char *out, size_t cap, const char *header_name)
{
    size_t j = 0;
    if (header_name[0] >= '0' && header_name[0] <= '9')
        j = (size_t)snprintf(out, cap, "NNC_");
    for (const char *p = header_name; *p && j + 8 < cap; p++) {
        char ch = *p;
        out[j++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) ? ch : '_';
    }
    out[j] = '\0';
    strcat(out, "_INCLUDED");
}

static bool check_emittable(const Module *m, Diag *diag)
{
    bool ok = true;
    for (int i = 0; i < m->n_nets; i++) {
        const Net *n = &m->nets[i];
        for (int j = 0; j < n->n_layers; j++) {
            const Layer *l = &n->layers[j];
            if (!layer_info[l->kind].emitted) {
                diag_at(diag, DIAG_ERROR, l->loc,
                        "layer %d ('%s') cannot be emitted as C yet: this version of nnc emits dense and flatten "
                        "layers only (--emit=ir shows its shapes)",
                        l->index, layer_info[l->kind].keyword);
                ok = false;
            }
        }
    }
    return ok;
}

bool emit_c(const Module *m, const EmitOptions *opt, Buf *c, Buf *h, Diag *diag)
{
    if (!check_emittable(m, diag))
        return false;
    Emitter e = {.out = h, .mod = m, .opt = opt, .infer = opt->weights != NULL};
    const char *h_name = opt->header_name ? opt->header_name : "jit.h";
    char guard[256];
    header_guard(guard, sizeof guard, h_name);
    emit_banner_comment(&e, h_name);
    emit(&e, "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n", guard, guard);
    emit(&e, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    for (int i = 0; i < m->n_nets; i++) {
        e.net = &m->nets[i];
        if (!e.infer)
            emit_header_net(&e);
        else if (e.net == opt->infer_net)
            emit_header_infer(&e);
    }
    emit(&e, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");

    e.out = c;
    e.net = NULL;
    char c_name[256];
    snprintf(c_name, sizeof c_name, "%.*s.c", (int)(strlen(h_name) - 2), h_name);
    emit_banner_comment(&e, c_name);
    if (opt->header_name)
        emit(&e, "#include \"%s\"\n\n", opt->header_name);
    emit(&e, "#include <math.h>\n#include <string.h>\n\n");
    emit_helpers(&e);
    for (int i = 0; i < m->n_nets; i++) {
        e.net = &m->nets[i];
        if (e.infer)
            snprintf(e.param, sizeof e.param, "%s_param", e.net->name);
        else
            snprintf(e.param, sizeof e.param, "net->param");
        if (e.infer) {
            if (e.net != opt->infer_net)
                continue;
            emit(&e, "/* ---- network %s (%s:%d), inference only ---- */\n\n", e.net->name, m->src->name,
                 e.net->loc.first_line);
            emit_weights(&e);
            emit_run(&e);
            emit_forward(&e);
            emit(&e, "const float *%s_params(void)\n{\n    return %s_param;\n}\n", e.net->name, e.net->name);
            continue;
        }
        emit(&e, "/* ---- network %s (%s:%d) ---- */\n\n", e.net->name, m->src->name, e.net->loc.first_line);
        emit_init(&e);
        emit_run(&e);
        if (batched(&e)) {
            e.single = true;
            emit_run(&e);
            e.single = false;
        }
        emit_update(&e);
        emit_backward_pass(&e);
        emit_entry_points(&e);
        if (i + 1 < m->n_nets)
            emit(&e, "\n");
    }
    if (c->oom || h->oom) {
        diag_plain(diag, DIAG_ERROR, "out of memory while emitting C");
        return false;
    }
    return true;
}
