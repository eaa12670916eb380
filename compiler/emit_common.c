/* emit_common.c — what every layer family's emitter uses: printing into the
 * output, indentation, banners, the activation functions' C (ops.def's
 * templates), and the helpers emitted once at the top of each .c file. */
#include "emit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void emit(Emitter *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(e->out, fmt, ap);
    va_end(ap);
}

void emit_template(Emitter *e, const char *tmpl, const char *operand, const char *param)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p == '$')
            rt_buf_puts(e->out, operand);
        else if (*p == '@')
            rt_buf_puts(e->out, param);
        else
            rt_buf_printf(e->out, "%c", *p);
    }
}

void emit_indented(Emitter *e, const RtBuf *code)
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

void emit_din_code(Emitter *e, const Layer *prod, const RtBuf *code, const char *ind)
{
    if (prod) {
        if (code->oom)
            e->out->oom = true;
        emit(e, "%s", code->data ? code->data : "");
        return;
    }
    emit(e, "%sif (dx) {   /* the network's input gradient: only %s_backward_from asks for it */\n", ind,
         e->net->name);
    emit_indented(e, code);
    emit(e, "%s}\n", ind);
}

void emit_din_only(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in,
                   void (*din)(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in))
{
    RtBuf code = {0};
    Emitter sub = *e;
    sub.out = &code;
    din(&sub, l, prod, row, in);
    emit_din_code(e, prod, &code, "        ");
    rt_buf_free(&code);
}

void emit_banner(Emitter *e, const Layer *l, const char *suffix)
{
    RtBuf d = {0};
    ir_describe_layer(&d, l);
    emit(e, "    /* layer %d: %s (%s:%d)%s */\n", l->index, d.oom ? "" : d.data, e->mod->src->name, l->line, suffix);
    rt_buf_free(&d);
}

int64_t emit_block_open(Emitter *e, const char *ind, int part, const char *var, int64_t from, int64_t whole_end,
                        int64_t end, int64_t step, const char *whole, const char *rest)
{
    if (part == 0) {
        if (whole_end <= from)
            return 0;
        emit(e, "%sfor (int %s = %lld; %s < %lld; %s += %lld) {", ind, var, (long long)from, var, (long long)whole_end, var,
             (long long)step);
        if (whole)
            emit(e, "   /* %s */", whole);
        emit(e, "\n");
        return step;
    }
    if (end <= whole_end)
        return 0;
    emit(e, "%s{   /* %s */\n%s    const int %s = %lld;\n", ind, rest, ind, var, (long long)whole_end);
    return end - whole_end;
}

const char *act_param_str(char out[32], const Layer *l)
{
    return fmt_float(out, l->act_param);
}

/* The layer whose output is layer i's input, skipping flattens; NULL for x. */
const Layer *producer(const Net *n, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (!n->layers[j].aliases_input)
            return &n->layers[j];
    return NULL;
}

/* The layer whose act holds the network's outputs: the last one, or, when
 * the last passes its input through (flatten, dropout), its producer; NULL
 * when that is the network's input itself. */
const Layer *output_layer(const Net *n)
{
    const Layer *last = &n->layers[n->n_layers - 1];
    return last->aliases_input ? producer(n, n->n_layers - 1) : last;
}

/* A pointer expression to the activations of the sample in flight starting
 * at `off` (-1: its input). */
void act_ptr(const Emitter *e, char out[64], int64_t off)
{
    if (off < 0)
        snprintf(out, 64, "%s", e->x);
    else
        snprintf(out, 64, "%s + %lld", e->act, (long long)off);
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

bool layer_init(const Net *n, const Layer *l, Init *out)
{
    *out = n->init;
    if (out->kind == INIT_UNIFORM || out->kind == INIT_NORMAL)
        return false;
    if (layer_is_recurrent(l)) {
        double k = 1.0 / sqrt((double)l->units);
        *out = (Init){INIT_UNIFORM, out->loc, -k, k};
        return true;
    }
    if (l->kind == LAYER_EMBED) {
        *out = (Init){INIT_NORMAL, out->loc, 0.0, 1.0};
        return true;
    }
    if (out->kind == INIT_DEFAULT)
        out->kind = act_info[l->act].default_init;
    return false;
}

/* Whether any layer of the file initializes with normal (or, when `normal`
 * is false, with a uniform distribution: everything else), or a gan draws
 * its noise so. */
static bool module_uses_init(const Module *m, bool normal)
{
    for (int i = 0; i < m->n_gans; i++)   /* the generators' noise */
        if ((m->gans[i].noise == NOISE_NORMAL) == normal)
            return true;
    for (int i = 0; i < m->n_nets; i++)
        for (int j = 0; j < m->nets[i].n_layers; j++) {
            Init in;
            const Layer *l = &m->nets[i].layers[j];
            layer_init(&m->nets[i], l, &in);
            if (l->w_len && (in.kind == INIT_NORMAL) == normal)
                return true;
        }
    return false;
}

void emit_helpers(Emitter *e, unsigned needs)
{
    const Module *m = e->mod;
    emit(e, "/* ---- helpers shared by the networks of this file ---- */\n\n");
    if (module_uses_act(e, ACT_SIGMOID) || (needs & EMIT_NEEDS_SIGMOID))
        emit(e, "static float nnc_sigmoid(float z)\n{\n    return 1.0f / (1.0f + expf(-z));\n}\n\n");
    if (module_uses_act(e, ACT_RELU) || (needs & EMIT_NEEDS_RELU))
        emit(e, "static __attribute__((unused)) float nnc_relu(float z)   /* unused where vectors do every relu */\n{\n    return z > 0.0f ? z : 0.0f;\n}\n\n");
    if (module_uses_act(e, ACT_LEAKY_RELU))
        emit(e, "static float nnc_leaky_relu(float z, float slope)\n{\n    return z > 0.0f ? z : slope * z;\n}\n\n");
    if (needs & EMIT_NEEDS_V8)
        emit(e, "/* Batched dense layers, matrix products and convolutions keep their sums in\n"
                " * vectors where the compiler has them (GCC's and Clang's vector extension):\n"
                " * registers, which plain arrays of accumulators are not always given.  8\n"
                " * floats where the target has AVX (-march=native on most x86-64, -mavx2);\n"
                " * 16 where it has AVX-512 (NNC_V16; -DNNC_NO_V16 keeps all at 8, as suits\n"
                " * CPUs that split a 512-bit operation in two).  Elsewhere (tcc, other\n"
                " * targets, -DNNC_PLAIN_C) the same\n"
                " * sums, in the same order, are plain loops: every path gives the same bits. */\n"
                "#if defined(__GNUC__) && !defined(__TINYC__) && defined(__AVX__) && !defined(NNC_PLAIN_C)\n"
                "#define NNC_V8 1\n"
                "typedef float nnc_v8 __attribute__((vector_size(32)));   /* moved with memcpy: any alignment */\n"
                "typedef int32_t nnc_v8i __attribute__((vector_size(32)));   /* a comparison's lanes */\n"
                "#if defined(__AVX512VL__)\n"
                "#define NNC_V8_WIDE 1   /* 32 vector registers: the convolutions' larger register blocks */\n"
                "#endif\n"
                "#if defined(__AVX512F__) && !defined(NNC_NO_V16)\n"
                "#define NNC_V16 1\n"
                "typedef float nnc_v16 __attribute__((vector_size(64)));\n"
                "typedef int32_t nnc_v16i __attribute__((vector_size(64)));\n"
                "#endif\n"
                "#endif\n\n");
    if (needs & EMIT_NEEDS_SHUFFLE)
        emit(e, "/* Lanes moved across a vector (max pooling's backward, a batch transposed):\n"
                " * Clang's and GCC's (12 on) __builtin_shufflevector; without it, the plain\n"
                " * loops. */\n"
                "#if defined(NNC_V8) && defined(__has_builtin)\n"
                "#if __has_builtin(__builtin_shufflevector)\n"
                "#define NNC_SHUFFLE 1\n"
                "typedef float nnc_v4 __attribute__((vector_size(16)));\n"
                "typedef int32_t nnc_v4i __attribute__((vector_size(16)));   /* a comparison's lanes */\n"
                "#endif\n"
                "#endif\n\n");
    if (needs & EMIT_NEEDS_TRANSPOSE) {
        emit(e, "/* A block of L x L floats transposed in registers: rows src, src + ss, ...\n"
                " * into rows dst, dst + ds, ... (dst[j][k] = src[k][j]), in log2(L) rounds,\n"
                " * each pairing the vectors `gap` apart and trading their lanes `gap` apart.\n"
                " * Moves only: the same floats as the plain loops that copy one by one. */\n"
                "#if defined(NNC_SHUFFLE)\n");
        for (int L = 8; L <= 16; L *= 2) {
            const char *v = vec_type(L);
            if (L == 16)
                emit(e, "#if defined(NNC_V16)\n");
            emit(e, "%sstatic inline __attribute__((unused))\n"
                    "void nnc_transpose%d(float *dst, int ds, const float *src, int ss)\n{\n",
                 L == 8 ? "/* (unused where every batch takes 16 lanes) */\n" : "", L);
            emit(e, "    %s a[%d], b[%d];\n", v, L, L);
            emit(e, "    for (int k = 0; k < %d; k++)\n        memcpy(&a[k], src + k * ss, sizeof a[k]);\n", L);
            int round = 0;
            for (int gap = 1; gap < L; gap *= 2, round++) {   /* vectors gap apart, their lanes gap apart */
                const char *from = round % 2 ? "b" : "a", *to = round % 2 ? "a" : "b";
                const char *ind = "        ";
                if (gap == 1) {
                    emit(e, "    for (int k = 0; k < %d; k += 2) {\n", L);
                } else if (2 * gap == L) {
                    emit(e, "    for (int k = 0; k < %d; k++) {\n", gap);
                } else {
                    emit(e, "    for (int k0 = 0; k0 < %d; k0 += %d)\n", L, 2 * gap);
                    emit(e, "        for (int k = k0; k < k0 + %d; k++) {\n", gap);
                    ind = "            ";
                }
                for (int half = 0; half < 2; half++) {   /* to[k]: lanes c of from[k] with c & gap clear; to[k + gap]: the rest */
                    char at[16] = "";
                    if (half)
                        snprintf(at, sizeof at, " + %d", gap);
                    emit(e, "%s%s[k%s] = __builtin_shufflevector(%s[k], %s[k + %d]", ind, to, at, from, from, gap);
                    for (int c = 0; c < L; c++) {
                        int idx = !half ? ((c & gap) ? L + c - gap : c) : ((c & gap) ? L + c : c + gap);
                        emit(e, ", %d", idx);
                    }
                    emit(e, ");\n");
                }
                emit(e, "%s}\n", ind + 4);
            }
            emit(e, "    for (int k = 0; k < %d; k++)\n        memcpy(dst + k * ds, &%s[k], sizeof %s[k]);\n}\n", L,
                 round % 2 ? "b" : "a", round % 2 ? "b" : "a");
            if (L == 16)
                emit(e, "#endif\n");
        }
        emit(e, "#endif\n\n");
    }
    if (needs & (EMIT_NEEDS_VTANH | EMIT_NEEDS_VSIGMOID))
        emit(e, "/* e^x, sigmoid and tanh for the recurrent cells, in operations compilers\n"
                " * vectorize (no library call, no branch), so a cell's loop over its units\n"
                " * runs in vectors: e^x to about 1 ulp (|x| <= 87), by e^x = 2^k e^r with\n"
                " * k = round(x / ln 2), r = x - k ln 2 (ln 2 in two parts), e^r its Taylor\n"
                " * series to r^7 (|r| <= ln 2 / 2: the rest is below 1e-8); tanh from\n"
                " * e^(2|z|), or near 0 (|z| < 0.2) its series to z^9; 3 ulp at most.\n"
                " * Signs and choices go by the bits (nnc_vsel): GCC leaves a ?: with a\n"
                " * constant or computed arm as a branch, and a branch stops its vectorizer;\n"
                " * and inline, or GCC calls nnc_vexp where a cell uses it more than once. */\n"
                "static inline float nnc_vsel(int c, float a, float b)   /* c ? a : b */\n"
                "{\n"
                "    uint32_t ab, bb, m = -(uint32_t)(c != 0);\n"
                "    memcpy(&ab, &a, sizeof ab);\n"
                "    memcpy(&bb, &b, sizeof bb);\n"
                "    ab = (ab & m) | (bb & ~m);\n"
                "    memcpy(&a, &ab, sizeof a);\n"
                "    return a;\n"
                "}\n\n"
                "static inline float nnc_vexp(float x)\n"
                "{\n"
                "    float kf, r, p, scale;\n"
                "    int k;\n"
                "    int32_t bits;\n"
                "    x = nnc_vsel(x < -87.0f, -87.0f, x);\n"
                "    x = nnc_vsel(x > 88.0f, 88.0f, x);\n"
                "    kf = x * 1.44269502f;\n"
                "    k = (int)(kf + 128.5f) - 128;   /* round(kf): kf + 128.5 > 0, truncated is floored */\n"
                "    r = (x - (float)k * 0.693145752f) - (float)k * 1.42860677e-6f;\n"
                "    p = 1.0f / 5040.0f;\n"
                "    p = p * r + 1.0f / 720.0f;\n"
                "    p = p * r + 1.0f / 120.0f;\n"
                "    p = p * r + 1.0f / 24.0f;\n"
                "    p = p * r + 1.0f / 6.0f;\n"
                "    p = p * r + 0.5f;\n"
                "    p = p * r + 1.0f;\n"
                "    p = p * r + 1.0f;\n"
                "    bits = (int32_t)((uint32_t)(k + 127) << 23);   /* 2^k */\n"
                "    memcpy(&scale, &bits, sizeof scale);\n"
                "    return p * scale;\n"
                "}\n\n");
    if (needs & EMIT_NEEDS_VSIGMOID)
        emit(e, "static inline float nnc_vsigmoid(float z)\n"
                "{\n"
                "    return 1.0f / (1.0f + nnc_vexp(-z));\n"
                "}\n\n");
    if (needs & EMIT_NEEDS_VTANH)
        emit(e, "static inline float nnc_vtanh(float z)\n"
                "{\n"
                "    uint32_t zb, fb, sign;\n"
                "    float a, far;\n"
                "    const float z2 = z * z;\n"
                "    const float near0 = z * (1.0f + z2 * (-1.0f / 3.0f + z2 * (2.0f / 15.0f + z2 * (-17.0f / 315.0f +\n"
                "                                                                            z2 * (62.0f / 2835.0f)))));\n"
                "    memcpy(&zb, &z, sizeof zb);\n"
                "    sign = zb & 0x80000000u;\n"
                "    zb ^= sign;\n"
                "    memcpy(&a, &zb, sizeof a);   /* |z| */\n"
                "    far = 1.0f - 2.0f / (nnc_vexp(2.0f * a) + 1.0f);   /* tanh |z| */\n"
                "    memcpy(&fb, &far, sizeof fb);\n"
                "    fb ^= sign;\n"
                "    memcpy(&far, &fb, sizeof far);\n"
                "    return nnc_vsel(a < 0.2f, near0, far);\n"
                "}\n\n");
    if (needs & EMIT_NEEDS_LANE_SUMS)
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
                "#endif\n"
                "#if defined(NNC_V16) && defined(NNC_SHUFFLE)\n"
                "/* The same sums of 16 lane groups: v0 .. v7 each hold two filters' 8 lanes,\n"
                " * [a | b]; each round adds neighbouring lanes of two vectors, so three rounds\n"
                " * give [the sums of a of v0 .. v7 | those of b], in the plain loops' order. */\n"
                "static inline __attribute__((unused)) nnc_v16 nnc_pair_round(nnc_v16 x, nnc_v16 y)\n"
                "{\n"
                "    return __builtin_shufflevector(x, y, 0, 2, 4, 6, 16, 18, 20, 22, 8, 10, 12, 14, 24, 26, 28, 30) +\n"
                "           __builtin_shufflevector(x, y, 1, 3, 5, 7, 17, 19, 21, 23, 9, 11, 13, 15, 25, 27, 29, 31);\n"
                "}\n\n"
                "static __attribute__((unused))   /* where no convolution has 8 taps */\n"
                "nnc_v16 nnc_pair_sums(nnc_v16 v0, nnc_v16 v1, nnc_v16 v2, nnc_v16 v3, nnc_v16 v4, nnc_v16 v5, nnc_v16 v6,\n"
                "                      nnc_v16 v7)\n"
                "{\n"
                "    return nnc_pair_round(nnc_pair_round(nnc_pair_round(v0, v1), nnc_pair_round(v2, v3)),\n"
                "                          nnc_pair_round(nnc_pair_round(v4, v5), nnc_pair_round(v6, v7)));\n"
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

/* "ox * 2 + -1" reads badly: "ox * 2 - 1" */
void index_expr(char *out, size_t cap, const char *var, int64_t stride, int64_t off)
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

/* The derivative factor of activation of `l` at output expression `y`, as
 * " * (...)", or "" when it is 1. */
void emit_deriv_factor(Emitter *e, const Layer *l, const char *y)
{
    if (!l)   /* the network's input: no activation */
        return;
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
void emit_din_through_act_at(Emitter *e, const Layer *prod, int64_t n, const char *ind)
{
    if (!through_act(prod))
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
void emit_din_through_act(Emitter *e, const Layer *prod, int64_t n)
{
    emit_din_through_act_at(e, prod, n, "        ");
}

/* The shortest decimal that reads back as the same float, as a C float
 * literal: 0.5 -> "0.5f", 1 -> "1.0f", 0.1 -> "0.1f", 1e-8 -> "9.99999994e-09f"
 * style only when needed.  Deterministic, so emitted code is byte-stable. */
const char *fmt_float(char out[32], double v)
{
    float f = (float)v;
    if (isnan(f))
        return strcpy(out, "(0.0f / 0.0f)");
    if (isinf(f))
        return strcpy(out, f > 0 ? "HUGE_VALF" : "-HUGE_VALF");
    if (f == floorf(f) && fabsf(f) < 1e7f) {
        snprintf(out, 24, "%.1f", (double)f);   /* 100 -> "100.0", not "1e+02" */
    } else {
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(out, 24, "%.*g", prec, (double)f);
            if (strtof(out, NULL) == f)
                break;
        }
    }
    if (!strpbrk(out, ".eEn"))
        strcat(out, ".0");
    strcat(out, "f");
    return out;
}

/* The same for a double ("0.01", "1.0", "1e-06"): the shortest decimal that
 * reads back as the same double, with a '.' or an exponent. */
const char *fmt_double(char out[32], double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (!strpbrk(out, ".eEn"))
        strcat(out, ".0");
    return out;
}

/* `text` as the start of a block comment at column 0, its words wrapped so
 * that no line passes column 79 (a longer word stands alone on its line),
 * left open: the caller adds lines of its own and closes it. */
void emit_comment_open(Emitter *e, const char *text)
{
    enum { WIDTH = 79 };
    int col = 2;   /* after the opening slash and star, or the leading " *" */
    emit(e, "/*");
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        if (col > 3 && col + 1 + (int)len + (p[len] ? 0 : 3) > WIDTH) {
            emit(e, "\n *");
            col = 2;
        }
        emit(e, " %.*s", (int)len, p);
        col += 1 + (int)len;
        p += len;
    }
}

/* `text` as a block comment at column 0, wrapped as emit_comment_open does. */
void emit_comment(Emitter *e, const char *text)
{
    emit_comment_open(e, text);
    emit(e, " */\n");
}
