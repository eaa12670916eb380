/* emit_conv.c — convolutions over CHW tensors: forward, weight gradient,
 * input gradient.
 *
 * Two forms.  Any stride: direct convolution, each kernel tap its own block
 * with the rows and columns it reaches worked out here.  Stride 1: the input
 * on a zero-padded plane, every tap one contiguous loop; under GCC/Clang
 * with AVX (NNC_V8) the same sums in register blocks of 8-float vectors, in
 * two sizes (NNC_V8_WIDE: 32 vector registers), and with AVX-512 (NNC_V16)
 * the forward pass and input gradient in 16-float ones, all with the plain
 * loops' bits. */
#include "emit.h"

#include <string.h>

/* ---- any stride: direct convolution ----
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
    const char *guard = din_if(prod);   /* the first layer's din: only if dx */
    emit(e, "        const float *dz = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)(row * n->max_width), (long long)F, (long long)l->out.h, (long long)l->out.w);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)C, (long long)l->in.h, (long long)l->in.w);
    emit(e, "        %sfor (int i = 0; i < %lld; i++)\n            din[i] = 0.0f;\n", guard, (long long)(C * HW));
    emit_conv_bias_grad(e, F, OHW);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)F);
    emit(e, "            const float *df = dz + f * %lld;\n", (long long)OHW);
    emit(e, "            for (int c = 0; c < %lld; c++) {   /* gw += dz (*) in */\n", (long long)C);
    emit(e, "                const float *ic = in + c * %lld;\n", (long long)HW);
    emit(e, "                float *gwc = gw + (f * %lld + c) * %lld;\n", (long long)C, (long long)KK);
    emit_conv_taps(e, l, 1);
    emit(e, "            }\n");
    emit(e, "            %sfor (int c = 0; c < %lld; c++) {   /* din += w (*) dz, the transposed convolution */\n",
         guard, (long long)C);
    emit(e, "                float *dc = din + c * %lld;\n", (long long)HW);
    emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)C, (long long)KK);
    emit_conv_taps(e, l, 2);
    emit(e, "            }\n");
    emit(e, "        }\n");
    emit_din_through_act(e, prod, C * HW);
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
    int64_t pin_off;             /* inference: the padded input's place in net->act (plan.c) */
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
    g.pin_off = l->pin_off;
    return g;
}

/* pin = the input with a zero border (or the input itself, unpadded).  The
 * rows are copied with memcpy, here and where dz is laid out wider for the
 * backward pass: GCC made the float-by-float loops of 14 into scalar loads
 * and shuffles through the stack (perf: the CNN's copies of dz alone took
 * 2.5% of its step), where memcpy of a known size is a few vector moves. */
static void emit_padded_input(Emitter *e, const PlaneGeom *g)
{
    if (g->PH == 0 && g->PW == 0) {
        emit(e, "        const float *pin = in;   /* no padding: the input itself */\n");
        return;
    }
    if (e->infer)
        emit(e, "        float *pin = net->act + %lld;   /* [%lld][%lld][%lld]: the input inside a zero border */\n",
             (long long)g->pin_off, (long long)g->C, (long long)g->Hp, (long long)g->Wp);
    else
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
    emit(e, "                memcpy(pr + %lld, in + (c * %lld + iy) * %lld, %lld * sizeof(float));\n", (long long)g->PW,
         (long long)g->H, (long long)g->W, (long long)g->W);
    emit(e, "            }\n        }\n");
}

/* Every tap of a register block: Q vectors of the plane `base` at the tap's
 * offset (times `sign`: the input gradient reads dz shifted the other way)
 * into vec<k>, then acc<r>_<k> += w[r * wstride + tap] * vec<k>. */
static void emit_conv_taps_vec(Emitter *e, const Layer *l, const PlaneGeom *g, int64_t lanes, int64_t R, int64_t Q,
                               const char *ind, const char *acc, const char *vec, const char *base, int sign,
                               const char *w, int64_t wstride)
{
    for (int64_t ky = 0; ky < l->kh; ky++)
        for (int64_t kx = 0; kx < l->kw; kx++) {
            int64_t tap = ky * l->kw + kx, off = sign * (ky * g->Wp + kx);
            emit(e, "%s    /* tap %lld,%lld */\n", ind, (long long)ky, (long long)kx);
            for (int64_t k = 0; k < Q; k++)
                emit(e, "%s    memcpy(&%s%lld, %s + %lld, %lld);\n", ind, vec, (long long)k, base,
                     (long long)(off + lanes * k), (long long)(4 * lanes));
            for (int64_t r = 0; r < R; r++) {
                emit(e, "%s   ", ind);
                for (int64_t k = 0; k < Q; k++)
                    emit(e, " %s%lld_%lld += %s[%lld] * %s%lld;", acc, (long long)r, (long long)k, w,
                         (long long)(r * wstride + tap), vec, (long long)k);
                emit(e, "\n");
            }
        }
}

/* The register blocks of the vector paths: 8-float vectors in two sizes,
 * for targets with 32 vector registers (AVX-512VL; NNC_V8_WIDE) and for
 * those with 16 (AVX2), where the larger blocks spill (measured on this
 * project's Zen 4, the example CNN's training step at batch 32: with 16
 * registers (-mno-avx512f) 5.5 ms with the wide blocks, 4.2 ms with the
 * narrow ones; with 32, 3.0 ms with the wide ones); and 16-float vectors
 * (AVX-512F; NNC_V16) for the forward pass and the input gradient; the
 * weight gradient's lanes are the plain loops' 8 partial sums, so its
 * 16-lane vectors hold two filters' 8 (emit_conv_gw_block16).  The 16-lane
 * forward block is 8 filters x 2 vectors: a 14 x 14 output's 222 positions
 * (16 wide) are 7 such blocks, where blocks of 3 vectors left two blocks of
 * one vector, which do 8 broadcasts for 8 multiply-adds (measured on a Zen
 * 5, the example CNN: forward_batch 0.968-0.984 of its time with 3 vectors,
 * the training step 0.961-0.990; 4 filters x 7 vectors spilled: 1.7). */
typedef struct ConvBlocks {
    int64_t lanes;                     /* floats a vector: 8 or 16 */
    int64_t filters, vectors;          /* a forward block: filters x lanes*vectors positions */
    int64_t gw_filters;                /* a weight-gradient block (8 lanes): filters x all taps */
    int64_t din_channels, din_vectors; /* an input-gradient block: channels x lanes*vectors positions */
} ConvBlocks;

static const ConvBlocks conv_v16 = {16, 8, 2, 2, 4, 3}, conv_wide = {8, 8, 3, 2, 4, 4},
                        conv_narrow = {8, 6, 2, 1, 3, 3};
static const ConvBlocks *const conv_paths[] = {&conv_v16, &conv_wide, &conv_narrow};
static const char *const conv_path_if[] = {"#if defined(NNC_V16)\n", "#elif defined(NNC_V8_WIDE)\n",
                                           "#elif defined(NNC_V8)\n"};



/* The floats between two filters' wide rows: training's dz planes' stride
 * (the rows are written into the scratch, dx_stride apart); inference's,
 * just the positions any path writes, L rounded up to whole 16-float
 * vectors (the rows are written over the output itself: plan.c). */
int64_t conv_infer_stride(const Layer *l)
{
    PlaneGeom g = plane_geom(l);
    return (g.L + 15) / 16 * 16;
}

/* Where training code's wide planes (a filter's output going forward, its
 * dz going backward) start in net->pad: after the zero-bordered input and,
 * on the plain path, that input's gradient. */
static int64_t wide_off(const PlaneGeom *g)
{
    return 2 * g->C * g->Hp * g->Wp;
}

static int64_t wide_stride(const Emitter *e, const Layer *l)
{
    return e->infer ? conv_infer_stride(l) : l->dx_stride;
}

void conv_infer_needs(const Layer *l, int64_t *pin, int64_t *spill)
{
    *pin = *spill = 0;
    if (l->stride_h != 1 || l->stride_w != 1)
        return;   /* (the plain loops write the output directly, and need nothing) */
    PlaneGeom g = plane_geom(l);
    if (g.PH || g.PW)
        *pin = g.C * g.Hp * g.Wp + 64;   /* + the vectors' reads past the plane (emit_conv_forward_vec) */
    int64_t most = 0;   /* the most filters of a block, of any path */
    for (size_t p = 0; p < sizeof conv_paths / sizeof conv_paths[0]; p++)
        most = conv_paths[p]->filters > most ? conv_paths[p]->filters : most;
    /* a block of R filters writes R wide rows from its first filter's place:
     * up to R * (stride - OH * OW) past the end (the plain path: one row) */
    *spill = (most < g.F ? most : g.F) * (conv_infer_stride(l) - g.OH * g.OW);
}

/* Whether the training code's register blocks add the bias and apply the
 * activation before they store a block (no activation, or relu: a vector's
 * lanes ANDed with the mask of those above zero, the bits of nnc_relu, NaN
 * and -0 included), so that the wide rows go to the compact output as plain
 * copies.  Measured on the CNN of examples/ (Zen 5, family 26 model 2, 16
 * lanes): 0.955-0.979 of the step's time, the forward pass 0.960, where
 * the pass over the output to add and clip took 3% of the step (its share
 * of the FMA peak: bench/README.md, 4 December).  Inference code moves its
 * rows down over themselves (emit_conv_forward_vec) and keeps the pass. */
bool conv_act_in_block(const Emitter *e, const Layer *l)
{
    const ActInfo *a = &act_info[l->act];
    return !e->infer && (l->act == ACT_RELU || !a->forward || strcmp(a->forward, "$") == 0);
}

/* The stride-1 convolution's forward pass in register blocks: R filters x
 * 8*Q positions of the wide plane at a time, summed over channels and taps
 * in the plain loops' order (so the two paths give the same bits), stored
 * into one wide plane per filter (ow, dx_stride apart); bias and activation
 * come before the stores (conv_act_in_block) or on the way out to the
 * compact output. */
static void emit_conv_fwd_block(Emitter *e, const Layer *l, const PlaneGeom *g, int64_t lanes, int64_t R, int64_t Q,
                                const char *ind)
{
    int64_t ckk = g->C * g->KK, ps = wide_stride(e, l);
    if (Q == 0) {   /* one position: plain sums */
        emit(e, "%sfor (int r = 0; r < %lld; r++) {\n", ind, (long long)R);
        emit(e, "%s    const float *wr = w + (f + r) * %lld;\n", ind, (long long)ckk);
        emit(e, "%s    float z = 0.0f;\n", ind);
        emit(e, "%s    for (int c = 0; c < %lld; c++)\n", ind, (long long)g->C);
        emit(e, "%s        for (int k = 0; k < %lld; k++)\n", ind, (long long)g->KK);
        emit(e, "%s            z += wr[c * %lld + k] * pin[c * %lld + k / %lld * %lld + k %% %lld + i];\n", ind,
             (long long)g->KK, (long long)(g->Hp * g->Wp), (long long)l->kw, (long long)g->Wp, (long long)l->kw);
        if (!conv_act_in_block(e, l))
            emit(e, "%s    ow[%s * %lld + i] = z;\n%s}\n", ind, e->infer ? "r" : "(f + r)", (long long)ps, ind);
        else
            emit(e, "%s    ow[(f + r) * %lld + i] = %s(z + b[f + r]);\n%s}\n", ind, (long long)ps,
                 l->act == ACT_RELU ? "nnc_relu" : "", ind);
        return;
    }
    const char *vt = vec_type(lanes);
    emit(e, "%sconst %s zero = {0.0f};\n%s%s ", ind, vt, ind, vt);
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < Q; k++)
            emit(e, "%sa%lld_%lld = zero", !k ? (r ? ",\n       " : "") : ", ", (long long)r, (long long)k);
    emit(e, ";\n");
    emit(e, "%sfor (int c = 0; c < %lld; c++) {\n", ind, (long long)g->C);
    emit(e, "%s    const float *pc = pin + c * %lld + i, *wc = w + f * %lld + c * %lld;\n", ind,
         (long long)(g->Hp * g->Wp), (long long)ckk, (long long)g->KK);
    emit(e, "%s    %s ", ind, vt);
    for (int64_t k = 0; k < Q; k++)
        emit(e, "%sx%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    emit_conv_taps_vec(e, l, g, lanes, R, Q, ind, "a", "x", "pc", 1, "wc", ckk);
    emit(e, "%s}\n", ind);
    if (conv_act_in_block(e, l)) {
        emit(e, "%s/* the bias%s */\n", ind, l->act == ACT_RELU ? ", and relu: the lanes above zero" : "");
        for (int64_t r = 0; r < R; r++) {
            emit(e, "%s", ind);
            for (int64_t k = 0; k < Q; k++)
                emit(e, "%sa%lld_%lld += b[f + %lld];", k ? " " : "", (long long)r, (long long)k, (long long)r);
            emit(e, "\n");
            for (int64_t k = 0; k < Q && l->act == ACT_RELU; k++)
                emit(e, "%sa%lld_%lld = (%s)((%si)a%lld_%lld & (a%lld_%lld > zero));\n", ind, (long long)r, (long long)k,
                     vt, vt, (long long)r, (long long)k, (long long)r, (long long)k);
        }
    }
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s", ind);
        for (int64_t k = 0; k < Q; k++)
            if (e->infer)
                emit(e, "%smemcpy(ow + %lld + i + %lld, &a%lld_%lld, %lld);", k ? " " : "", (long long)(r * ps),
                     (long long)(lanes * k), (long long)r, (long long)k, (long long)(4 * lanes));
            else
                emit(e, "%smemcpy(ow + (f + %lld) * %lld + i + %lld, &a%lld_%lld, %lld);", k ? " " : "", (long long)r,
                     (long long)ps, (long long)(lanes * k), (long long)r, (long long)k, (long long)(4 * lanes));
        emit(e, "\n");
    }
}

/* Bias and activation on the way from the wide rows to the compact output:
 * for `count` filters (loop variable k), filter `fo`'s row k of ow,
 * `stride` floats apart, at indent `ind`. */
static void emit_wide_to_out(Emitter *e, const Layer *l, const PlaneGeom *g, const char *ind, const char *k,
                             int64_t count, const char *fo, int64_t stride)
{
    if (conv_act_in_block(e, l)) {
        emit(e, "%sfor (int %s = 0; %s < %lld; %s++)   /* into the compact output */\n", ind, k, k, (long long)count,
             k);
        emit(e, "%s    for (int oy = 0; oy < %lld; oy++)\n", ind, (long long)g->OH);
        emit(e, "%s        memcpy(out + (%s * %lld + oy) * %lld, ow + %s * %lld + oy * %lld, %lld * sizeof(float));\n",
             ind, fo, (long long)g->OH, (long long)g->OW, k, (long long)stride, (long long)g->Wp, (long long)g->OW);
        return;
    }
    const ActInfo *a = &act_info[l->act];
    char slope[32], z[128];
    act_param_str(slope, l);
    emit(e, "%sfor (int %s = 0; %s < %lld; %s++)   /* bias and activation, into the compact output */\n", ind, k, k,
         (long long)count, k);
    emit(e, "%s    for (int oy = 0; oy < %lld; oy++)\n", ind, (long long)g->OH);
    emit(e, "%s        for (int ox = 0; ox < %lld; ox++)\n", ind, (long long)g->OW);
    emit(e, "%s            out[(%s * %lld + oy) * %lld + ox] = ", ind, fo, (long long)g->OH, (long long)g->OW);
    snprintf(z, sizeof z, "ow[%s * %lld + oy * %lld + ox] + b[%s]", k, (long long)stride, (long long)g->Wp,
             strcmp(fo, "f") ? "f + r" : "f");
    if (a->forward && strcmp(a->forward, "$") != 0)
        emit_template(e, a->forward, z, slope);
    else
        emit(e, "%s", z);
    emit(e, ";\n");
}

/* Training writes every filter's wide rows into the scratch, then the
 * output; inference writes each block's rows over the output itself, from
 * the block's first filter's place on (the places of the filters still to
 * come, and room past the end: plan.c), and moves them to their compact
 * places before the next block (each float moves down, never onto one not
 * read yet). */
static void emit_conv_forward_vec(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBlocks *cbk)
{
    if (!e->infer)
        emit(e, "        float *ow = net->pad + %lld;   /* [%lld][%lld]: each filter's output, %lld wide */\n",
             (long long)wide_off(g), (long long)g->F, (long long)l->dx_stride, (long long)g->Wp);
    int64_t R = g->F < cbk->filters ? g->F : cbk->filters, f_main = g->F / R * R;
    /* With a zero border, pin is scratch with room after it: the last vector
     * may read up to lanes - 1 floats past the plane, into the scratch that
     * follows, and the positions past L are dropped.  Unpadded, pin is the
     * layer's input itself, and the last L % lanes positions are summed one
     * by one. */
    bool over = g->PH || g->PW;
    int64_t V = cbk->lanes, PB = V * cbk->vectors, l_main = g->L / PB * PB, l8 = g->L / V * V;
    char whole[64], rest[64];
    snprintf(whole, sizeof whole, "%lld filters at a time", (long long)R);
    snprintf(rest, sizeof rest, "the last %lld filters", (long long)(g->F - f_main));
    for (int part = 0; part < 2; part++) {
        int64_t r = emit_block_open(e, "        ", part, "f", 0, f_main, g->F, R, whole, rest);
        if (!r)
            continue;
        if (e->infer)
            emit(e, "            float *ow = out + f * %lld;   /* [%lld][%lld]: these filters' rows, %lld wide */\n",
                 (long long)(g->OH * g->OW), (long long)r, (long long)wide_stride(e, l), (long long)g->Wp);
        if (l_main) {
            emit(e, "            for (int i = 0; i < %lld; i += %lld) {   /* %lld positions at a time */\n",
                 (long long)l_main, (long long)PB, (long long)PB);
            emit_conv_fwd_block(e, l, g, V, r, cbk->vectors, "                ");
            emit(e, "            }\n");
        }
        if (l8 > l_main) {
            emit(e, "            for (int i = %lld; i < %lld; i += %lld) {\n", (long long)l_main, (long long)l8,
                 (long long)V);
            emit_conv_fwd_block(e, l, g, V, r, 1, "                ");
            emit(e, "            }\n");
        }
        if (g->L > l8 && over) {
            emit(e, "            {   /* the last %lld positions, in a vector that runs past them */\n"
                    "                const int i = %lld;\n", (long long)(g->L - l8), (long long)l8);
            emit_conv_fwd_block(e, l, g, V, r, 1, "                ");
            emit(e, "            }\n");
        } else if (g->L > l8) {
            emit(e, "            for (int i = %lld; i < %lld; i++) {\n", (long long)l8, (long long)g->L);
            emit_conv_fwd_block(e, l, g, V, r, 0, "                ");
            emit(e, "            }\n");
        }
        if (e->infer)
            emit_wide_to_out(e, l, g, "            ", "r", r, "(f + r)", wide_stride(e, l));
        emit(e, "        }\n");
    }
    if (e->infer)
        return;
    bool pooled = conv_feeds_pool(e, l);
    if (pooled)   /* (emit.h: the pooling reads the wide rows) */
        emit(e, "#if !defined(NNC_SHUFFLE)   /* otherwise layer %d takes its windows from the wide rows */\n",
             l->index + 1);
    emit_wide_to_out(e, l, g, "        ", "f", g->F, "f", l->dx_stride);
    if (pooled)
        emit(e, "#endif\n");
}

void conv_wide_rows(const Layer *l, int64_t *off, int64_t *row, int64_t *plane)
{
    PlaneGeom g = plane_geom(l);
    *off = wide_off(&g);
    *row = g.Wp;
    *plane = l->dx_stride;
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
    if (conv_feeds_pool(e, l))
        emit(e, "        (void)out;   /* (under NNC_SHUFFLE, layer %d reads the wide rows instead) */\n", l->index + 1);
    emit_padded_input(e, &g);
    for (int p = 0; p < 3; p++) {
        emit(e, "%s", conv_path_if[p]);
        emit_conv_forward_vec(e, l, &g, conv_paths[p]);
    }
    emit(e, "#else\n");
    if (!e->infer)
        emit(e, "        float *oext = net->pad + %lld;   /* [%lld][%lld]: one output plane, %lld wide */\n",
             (long long)wide_off(&g), (long long)g.OH, (long long)g.Wp, (long long)g.Wp);
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)g.F);
    if (e->infer)   /* over the output, from this filter's place (see emit_conv_forward_vec) */
        emit(e, "            float *oext = out + f * %lld;   /* [%lld][%lld]: its output plane, %lld wide */\n",
             (long long)(g.OH * g.OW), (long long)g.OH, (long long)g.Wp, (long long)g.Wp);
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
    int64_t M, PS;   /* margin and plane stride of dzp */
} ConvBack;

static ConvBack conv_back(const PlaneGeom *g, const Layer *l)
{
    ConvBack b;
    b.M = (l->kh - 1) * g->Wp + (l->kw - 1);
    b.PS = l->dx_stride;   /* lower.c's: OH * Wp + 2 M + 64, room for a block's reads past the end */
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
        emit(e, "                    memcpy(&d%lld, dzp + (f + %lld) * %lld + %lld + i, 32);\n", (long long)r,
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

/* gw += the lane sums of the block's accumulators a<r>_<tap>, for the taps
 * from `done` on (0, or a multiple of 8 the caller has added up itself):
 * 8 taps of a filter at a time as one vector, the taps left over (KK % 8
 * per filter) together, lane by lane. */
static void emit_conv_gw_lane_sums(Emitter *e, const PlaneGeom *g, int64_t R, int64_t done)
{
    int64_t KK = g->KK, ckk = g->C * KK, full = KK / 8 * 8;
    for (int64_t r = 0; r < R; r++)
        for (int64_t k0 = done; k0 < full; k0 += 8) {
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
                emit(e, ", zero8");
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

/* gw += the block's accumulators a<r>_<tap> (R filters, 8 lanes each),
 * and the channel loop's end. */
static void emit_conv_gw_sums(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R,
                              int64_t done)
{
    int64_t KK = g->KK, l8 = g->L / 8 * 8;
    bool over = g->PH || g->PW;
    if (conv_gw_lane_sums(l)) {
        emit_conv_gw_lane_sums(e, g, R, done);
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
                "                            tk[i - %lld] += dzp[(f + r) * %lld + %lld + i] * pc[k / %lld * %lld + k %% %lld + i];\n",
             (long long)l8, (long long)g->L, (long long)l8, (long long)cb->PS, (long long)cb->M, (long long)l->kw,
             (long long)g->Wp, (long long)l->kw);
    emit(e, "                        gw[(f + r) * %lld + c * %lld + k] += ((tk[0] + tk[1]) + (tk[2] + tk[3])) + "
            "((tk[4] + tk[5]) + (tk[6] + tk[7]));\n", (long long)(g->C * KK), (long long)KK);
    emit(e, "                    }\n");
    emit(e, "            }\n");
}

static void emit_conv_gw_block(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R)
{
    int64_t KK = g->KK, l8 = g->L / 8 * 8, plane = g->Hp * g->Wp;
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g->C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)plane);
    emit(e, "                const nnc_v8 zero8 = {0.0f};\n");
    emit(e, "                nnc_v8 ");
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < KK; k++)
            emit(e, "%sa%lld_%lld = zero8", !k ? (r ? ",\n                       " : "") : ", ", (long long)r,
                 (long long)k);
    emit(e, ";\n");
    if (l8) {
        emit(e, "                for (int i = 0; i < %lld; i += 8) {\n", (long long)l8);
        emit_conv_gw_step(e, l, g, cb, R);
        emit(e, "                }\n");
    }
    bool over = g->PH || g->PW;
    if (g->L > l8 && over) {
        /* The last positions as one more vector: past L, dzp is zero, and
         * pin's reads past its plane land in the scratch after it (dpw, or
         * another layer's planes): finite values times zero add nothing.
         * (Were that scratch Inf or NaN, training would have diverged.) */
        emit(e, "                {   /* the last %lld positions, in lanes 0.., the rest adding zeros */\n",
             (long long)(g->L - l8));
        emit(e, "                    const int i = %lld;\n", (long long)l8);
        emit_conv_gw_step(e, l, g, cb, R);
        emit(e, "                }\n");
    }
    emit_conv_gw_sums(e, l, g, cb, R, 0);
}

/* The weight gradient of 2P filters in 16-lane vectors (NNC_V16 with
 * NNC_SHUFFLE): each vector holds a pair of filters' 8 lanes, [f | f + 1],
 * times the input's 8 positions in both halves, so every lane adds the same
 * products in the same order as the 8-lane block (emit_conv_gw_block), in
 * half the operations; the sums of 8 taps of a pair come from nnc_pair_sums,
 * those of the other taps from the halves, through the 8-lane lane sums. */
static void emit_conv_gw_block16(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t P)
{
    int64_t KK = g->KK, l8 = g->L / 8 * 8, plane = g->Hp * g->Wp;
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g->C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)plane);
    if (conv_gw_lane_sums(l) && 2 * P * (KK % 8) % 8)   /* the lane sums' unused inputs */
        emit(e, "                const nnc_v8 zero8 = {0.0f};\n");
    emit(e, "                nnc_v16 ");
    for (int64_t p = 0; p < P; p++)
        for (int64_t k = 0; k < KK; k++)
            emit(e, "%sA%lld_%lld = zero16", !k ? (p ? ",\n                        " : "") : ", ", (long long)p,
                 (long long)k);
    emit(e, ";\n");
    bool over = g->PH || g->PW;
    for (int part = 0; part < 2; part++) {
        if (part == 0 && !l8)
            continue;
        if (part == 1 && !(g->L > l8 && over))
            continue;
        if (part == 0)
            emit(e, "                for (int i = 0; i < %lld; i += 8) {\n", (long long)l8);
        else   /* as in emit_conv_gw_block: past L, dzp is zero */
            emit(e, "                {   /* the last %lld positions, in lanes 0.., the rest adding zeros */\n"
                    "                    const int i = %lld;\n", (long long)(g->L - l8), (long long)l8);
        emit(e, "                    nnc_v8 x8, d8, e8;\n                    nnc_v16 x");
        for (int64_t p = 0; p < P; p++)
            emit(e, ", d%lld", (long long)p);
        emit(e, ";\n");
        for (int64_t p = 0; p < P; p++)
            emit(e, "                    memcpy(&d8, dzp + (f + %lld) * %lld + %lld + i, 32);\n"
                    "                    memcpy(&e8, dzp + (f + %lld) * %lld + %lld + i, 32);\n"
                    "                    d%lld = __builtin_shufflevector(d8, e8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);\n",
                 (long long)(2 * p), (long long)cb->PS, (long long)cb->M, (long long)(2 * p + 1), (long long)cb->PS,
                 (long long)cb->M, (long long)p);
        for (int64_t ky = 0; ky < l->kh; ky++)
            for (int64_t kx = 0; kx < l->kw; kx++) {
                int64_t tap = ky * l->kw + kx, off = ky * g->Wp + kx;
                emit(e, "                    memcpy(&x8, pc + %lld + i, 32);   /* tap %lld,%lld */\n", (long long)off,
                     (long long)ky, (long long)kx);
                emit(e, "                    x = __builtin_shufflevector(x8, x8, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);\n");
                emit(e, "                   ");
                for (int64_t p = 0; p < P; p++)
                    emit(e, " A%lld_%lld += d%lld * x;", (long long)p, (long long)tap, (long long)p);
                emit(e, "\n");
            }
        emit(e, "                }\n");
    }
    /* 8 taps of a pair at a time by nnc_pair_sums, where the lane sums
     * serve; the other taps' halves as the 8-lane block's accumulators */
    int64_t full = conv_gw_lane_sums(l) ? KK / 8 * 8 : 0, ckk = g->C * KK;
    for (int64_t p = 0; p < P; p++)
        for (int64_t k0 = 0; k0 < full; k0 += 8) {
            emit(e, "                {   /* taps %lld .. %lld of filters f + %lld and f + %lld */\n", (long long)k0,
                 (long long)(k0 + 7), (long long)(2 * p), (long long)(2 * p + 1));
            emit(e, "                    float *g0 = gw + (f + %lld) * %lld + c * %lld + %lld, *g1 = g0 + %lld;\n",
                 (long long)(2 * p), (long long)ckk, (long long)KK, (long long)k0, (long long)ckk);
            emit(e, "                    const nnc_v16 sum = nnc_pair_sums(");
            for (int64_t k = 0; k < 8; k++)
                emit(e, "%sA%lld_%lld", k ? ", " : "", (long long)p, (long long)(k0 + k));
            emit(e, ");\n");
            emit(e, "                    nnc_v8 old0, old1;\n"
                    "                    memcpy(&old0, g0, 32);\n                    memcpy(&old1, g1, 32);\n"
                    "                    old0 += __builtin_shufflevector(sum, sum, 0, 1, 2, 3, 4, 5, 6, 7);\n"
                    "                    old1 += __builtin_shufflevector(sum, sum, 8, 9, 10, 11, 12, 13, 14, 15);\n"
                    "                    memcpy(g0, &old0, 32);\n                    memcpy(g1, &old1, 32);\n"
                    "                }\n");
        }
    for (int64_t p = 0; p < P; p++)
        for (int64_t k = full; k < KK; k++)
            emit(e, "                const nnc_v8 a%lld_%lld = __builtin_shufflevector(A%lld_%lld, A%lld_%lld, 0, 1, 2, 3, 4, 5, 6, 7), "
                    "a%lld_%lld = __builtin_shufflevector(A%lld_%lld, A%lld_%lld, 8, 9, 10, 11, 12, 13, 14, 15);\n",
                 (long long)(2 * p), (long long)k, (long long)p, (long long)k, (long long)p, (long long)k,
                 (long long)(2 * p + 1), (long long)k, (long long)p, (long long)k, (long long)p, (long long)k);
    emit_conv_gw_sums(e, l, g, cb, 2 * P, full);
}

/* din for channels c .. c+R-1, positions j .. j+8Q-1 of the padded plane,
 * into dpw (the same layout): whole vectors, or, for the last block
 * (`full` false), only the positions before j_end. */
static void emit_conv_din_block(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t V,
                                int64_t R, int64_t Q, int64_t j_end, bool full, const char *ind)
{
    int64_t KK = g->KK, ckk = g->C * KK, hw = g->Hp * g->Wp;
    const char *vt = vec_type(V), *zero = V == 16 ? "zero16" : "zero";
    emit(e, "%s%s ", ind, vt);
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < Q; k++)
            emit(e, "%sb%lld_%lld = %s", !k ? (r ? ",\n       " : "") : ", ", (long long)r, (long long)k, zero);
    emit(e, ";\n");
    emit(e, "%sfor (int f = 0; f < %lld; f++) {\n", ind, (long long)g->F);
    emit(e, "%s    const float *df = dzp + f * %lld + %lld + j, *wf = w + f * %lld + c * %lld;\n", ind, (long long)cb->PS,
         (long long)cb->M, (long long)ckk, (long long)KK);
    emit(e, "%s    %s ", ind, vt);
    for (int64_t k = 0; k < Q; k++)
        emit(e, "%sy%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    emit_conv_taps_vec(e, l, g, V, R, Q, ind, "b", "y", "df", -1, "wf", KK);
    emit(e, "%s}\n", ind);
    if (!full)
        emit(e, "%sfloat t[%lld];\n", ind, (long long)(V * Q));
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s", ind);
        for (int64_t k = 0; k < Q; k++) {
            if (full)
                emit(e, "%smemcpy(dpw + (c + %lld) * %lld + j + %lld, &b%lld_%lld, %lld);", k ? " " : "",
                     (long long)r, (long long)hw, (long long)(V * k), (long long)r, (long long)k, (long long)(4 * V));
            else
                emit(e, "%smemcpy(t + %lld, &b%lld_%lld, %lld);", k ? " " : "", (long long)(V * k), (long long)r,
                     (long long)k, (long long)(4 * V));
        }
        emit(e, "\n");
        if (!full)
            emit(e, "%sfor (int q = 0; q < %lld && j + q < %lld; q++)\n%s    dpw[(c + %lld) * %lld + j + q] = t[q];\n",
                 ind, (long long)(V * Q), (long long)j_end, ind, (long long)r, (long long)hw);
    }
}

/* gw of every filter, R at a time (R = 4: in 16-lane pairs), the filters
 * left over in one 8-lane block. */
static void emit_conv_gw_filters(Emitter *e, const Layer *l, const PlaneGeom *g, const ConvBack *cb, int64_t R)
{
    int64_t f_main = g->F / R * R;
    char whole[64], rest[64];
    snprintf(whole, sizeof whole, "gw, %lld filters at a time%s", (long long)R, R == 4 ? ", in pairs" : "");
    snprintf(rest, sizeof rest, "gw of the last %lld filter%s", (long long)(g->F - f_main), g->F - f_main > 1 ? "s" : "");
    for (int part = 0; part < 2; part++) {
        int64_t r = emit_block_open(e, "        ", part, "f", 0, f_main, g->F, R, whole, rest);
        if (!r)
            continue;
        if (part == 0 && R == 4)
            emit_conv_gw_block16(e, l, g, cb, 2);
        else
            emit_conv_gw_block(e, l, g, cb, r);
        emit(e, "        }\n");
    }
}

static void emit_conv_din_vec(Emitter *e, const Layer *l, const Layer *prod, const PlaneGeom *g, const ConvBack *cbp,
                              const ConvBlocks *cbk);

static void emit_conv_backward_vec(Emitter *e, const Layer *l, const Layer *prod, const PlaneGeom *g,
                                  const ConvBlocks *cbk)
{
    ConvBack cb = conv_back(g, l);
    if (cbk->lanes == 16)
        emit(e, "        const nnc_v16 zero16 = {0.0f};\n");
    else
        emit(e, "        const nnc_v8 zero = {0.0f};\n");
    emit(e, "        float *dzp = net->pad + %lld;   /* [%lld][%lld]: dz of each filter, %lld wide, zeros around */\n",
         (long long)wide_off(g), (long long)g->F, (long long)cb.PS, (long long)g->Wp);
    emit_conv_bias_grad(e, g->F, g->OH * g->OW);
    emit(e, "        for (int f = 0; f < %lld; f++) {   /* each float once: dz, zeros in the gaps and margins */\n",
         (long long)g->F);
    emit(e, "            float *pf = dzp + f * %lld;\n", (long long)cb.PS);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                pf[i] = 0.0f;\n", (long long)cb.M);
    emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)g->OH);
    emit(e, "                memcpy(pf + %lld + oy * %lld, dz + (f * %lld + oy) * %lld, %lld * sizeof(float));\n",
         (long long)cb.M, (long long)g->Wp, (long long)g->OH, (long long)g->OW, (long long)g->OW);
    if (g->Wp > g->OW)
        emit(e, "                for (int ox = %lld; ox < %lld; ox++)\n                    pf[%lld + oy * %lld + ox] = 0.0f;\n",
             (long long)g->OW, (long long)g->Wp, (long long)cb.M, (long long)g->Wp);
    emit(e, "            }\n");
    emit(e, "            for (int i = %lld; i < %lld; i++)\n                pf[i] = 0.0f;\n",
         (long long)(cb.M + g->OH * g->Wp), (long long)cb.PS);
    emit(e, "        }\n");
    bool pairs = cbk->lanes == 16 && g->F >= 4;   /* 16 lanes: 2 pairs of filters at a time */
    if (pairs) {
        emit(e, "#if defined(NNC_SHUFFLE)\n");
        emit_conv_gw_filters(e, l, g, &cb, 4);
        emit(e, "#else\n");
    }
    emit_conv_gw_filters(e, l, g, &cb, g->F < cbk->gw_filters ? g->F : cbk->gw_filters);
    if (pairs)
        emit(e, "#endif\n");
    RtBuf code = {0};   /* din, for the first layer only if dx (emit_din_code) */
    Emitter sub = *e;
    sub.out = &code;
    emit_conv_din_vec(&sub, l, prod, g, &cb, cbk);
    emit_din_code(e, prod, &code, "        ");
    rt_buf_free(&code);
}

/* din: the interior rows of the padded plane, j in [J0, J1), into dpw */
static void emit_conv_din_vec(Emitter *e, const Layer *l, const Layer *prod, const PlaneGeom *g, const ConvBack *cbp,
                              const ConvBlocks *cbk)
{
    ConvBack cb = *cbp;
    int64_t plane = g->C * g->Hp * g->Wp;
    char whole[64], rest[64];
    emit(e, "        float *dpw = net->pad + %lld;   /* [%lld][%lld][%lld]: din, %lld wide */\n", (long long)plane,
         (long long)g->C, (long long)g->Hp, (long long)g->Wp, (long long)g->Wp);
    int64_t J0 = g->PH * g->Wp, J1 = (g->PH + g->H) * g->Wp, PB = cbk->lanes * cbk->din_vectors;
    int64_t CR = g->C < cbk->din_channels ? g->C : cbk->din_channels, c_main = g->C / CR * CR;
    int64_t j_full = J0 + (J1 - J0) / PB * PB;
    snprintf(whole, sizeof whole, "din, %lld channels x %lld positions at a time", (long long)CR, (long long)PB);
    snprintf(rest, sizeof rest, "din of the last %lld channels", (long long)(g->C - c_main));
    char last_j[64];
    snprintf(last_j, sizeof last_j, "the last %lld positions", (long long)(J1 - j_full));
    for (int part = 0; part < 2; part++) {
        int64_t r = emit_block_open(e, "        ", part, "c", 0, c_main, g->C, CR, whole, rest);
        if (!r)
            continue;
        for (int jpart = 0; jpart < 2; jpart++) {
            if (!emit_block_open(e, "            ", jpart, "j", J0, j_full, J1, PB, NULL, last_j))
                continue;
            emit_conv_din_block(e, l, g, &cb, cbk->lanes, r, cbk->din_vectors, J1, jpart == 0, "                ");
            emit(e, "            }\n");
        }
        emit(e, "        }\n");
    }
    char at[96];
    snprintf(at, sizeof at, "in[(c * %lld + iy) * %lld + ix]", (long long)g->H, (long long)g->W);
    emit(e, "        for (int c = 0; c < %lld; c++)   /* din: the inside of dpw", (long long)g->C);
    if (through_act(prod))
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
    const char *guard = din_if(prod);   /* the first layer's din: only if dx */
    int64_t plane = g.C * g.Hp * g.Wp;
    emit(e, "        const float *dz = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)(row * n->max_width), (long long)g.F, (long long)g.OH, (long long)g.OW);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    emit_padded_input(e, &g);
    emit(e, "#ifdef NNC_V8\n");
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)g.C, (long long)g.H, (long long)g.W);
    for (int p = 0; p < 3; p++) {
        emit(e, "%s", conv_path_if[p]);   /* inside #ifdef NNC_V8 */
        emit_conv_backward_vec(e, l, prod, &g, conv_paths[p]);
    }
    emit(e, "#endif\n#else\n");
    emit(e, "        float *dext = net->pad + %lld;   /* [%lld][%lld]: dz of one filter, %lld wide, zeros beyond */\n",
         (long long)wide_off(&g), (long long)g.OH, (long long)g.Wp, (long long)g.Wp);
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    emit(e, "        float *dpin = net->pad + %lld;   /* [%lld][%lld][%lld]: gradient of pin */\n",
         (long long)plane, (long long)g.C, (long long)g.Hp, (long long)g.Wp);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)g.C, (long long)g.H, (long long)g.W);
    emit(e, "        %sfor (int i = 0; i < %lld; i++)\n            dpin[i] = 0.0f;\n", guard, (long long)plane);
    emit_conv_bias_grad(e, g.F, g.OH * g.OW);
    emit(e, "        for (int i = 0; i < %lld; i++)\n            dext[i] = 0.0f;\n", (long long)(g.OH * g.Wp));
    emit(e, "        for (int f = 0; f < %lld; f++) {\n", (long long)g.F);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)g.OH);
    emit(e, "                memcpy(dext + oy * %lld, dz + (f * %lld + oy) * %lld, %lld * sizeof(float));\n",
         (long long)g.Wp, (long long)g.OH, (long long)g.OW, (long long)g.OW);
    emit(e, "            for (int c = 0; c < %lld; c++) {\n", (long long)g.C);
    emit(e, "                const float *pc = pin + c * %lld;\n", (long long)(g.Hp * g.Wp));
    emit(e, "                float *gwc = gw + (f * %lld + c) * %lld;\n", (long long)g.C, (long long)g.KK);
    emit(e, "                const float *wc = w + (f * %lld + c) * %lld;\n", (long long)g.C, (long long)g.KK);
    emit(e, "                float *dc = dpin + c * %lld;\n", (long long)(g.Hp * g.Wp));
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
            emit(e, "                    %sfor (int i = 0; i < %lld; i++)\n", guard, (long long)g.L);
            emit(e, "                        dc[%lld + i] += wc[%lld] * dext[i];\n", (long long)off, (long long)tap);
            emit(e, "                }\n");
        }
    emit(e, "            }\n        }\n");
    {
        emit(e, "        %sfor (int c = 0; c < %lld; c++)   /* the inside of dpin is din */\n", guard, (long long)g.C);
        emit(e, "            for (int iy = 0; iy < %lld; iy++)\n", (long long)g.H);
        emit(e, "                for (int ix = 0; ix < %lld; ix++)\n", (long long)g.W);
        emit(e, "                    din[(c * %lld + iy) * %lld + ix] = dpin[(c * %lld + iy + %lld) * %lld + ix + %lld];\n",
             (long long)g.H, (long long)g.W, (long long)g.Hp, (long long)g.PH, (long long)g.Wp, (long long)g.PW);
        emit_din_through_act(e, prod, g.C * g.H * g.W);
    }
    emit(e, "#endif\n");
}

static bool stride_1(const Layer *l)
{
    return l->stride_h == 1 && l->stride_w == 1;
}

static void conv_forward(Emitter *e, const Layer *l, const char *in)
{
    if (stride_1(l))
        emit_conv_forward_s1(e, l, in);
    else
        emit_conv_forward(e, l, in);
}

static void conv_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in)
{
    if (stride_1(l))
        emit_conv_backward_s1(e, l, prod, row, in);
    else
        emit_conv_backward(e, l, prod, row, in);
}

/* Stride-1 convolutions use the vector type, and their weight gradient
 * (training only) the lane sums. */
static unsigned conv_needs(const Emitter *e, const Layer *l)
{
    if (!stride_1(l))
        return 0;
    return EMIT_NEEDS_V8 | (!e->infer && conv_gw_lane_sums(l) ? EMIT_NEEDS_LANE_SUMS : 0) |
           (!e->infer && l->out.c >= 4 ? EMIT_NEEDS_SHUFFLE : 0);   /* emit_conv_gw_block16 */
}

const LayerEmitter conv_emitter = {
    .forward = conv_forward,
    .backward = conv_backward,
    .needs = conv_needs,
};
