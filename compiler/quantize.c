/* quantize.c — post-training static int8 quantization (--quantize=int8).
 *
 * The scheme TensorFlow Lite and CMSIS-NN document, written from their
 * descriptions:
 *
 *   - weights: int8, symmetric, one scale per output channel:
 *     w_scale[c] = max |w[c][.]| / 127, q = round(w / w_scale[c]);
 *   - activations: int8, one scale and zero point per tensor, from the
 *     smallest and largest value each layer's output takes on the
 *     calibration samples (the range always holds 0, so that real 0 and
 *     the padding of a convolution are exact): real = scale * (q - zp);
 *   - a dense or conv output: an int32 sum of (x_q - x_zp) * w_q, plus the
 *     bias quantized at x_scale * w_scale[c]; then requantized to the
 *     output's scale by an integer multiply and shift (M = x_scale *
 *     w_scale[c] / y_scale = mult * 2^-shift, mult in [2^30, 2^31)),
 *     rounded half away from zero, plus y_zp, clamped to [-128, 127] (from
 *     y_zp up: a relu);
 *   - pooling works on the int8 values at the input's scale;
 *   - the last layer's int32 sums are the only way out: each times
 *     x_scale * w_scale[c] is the float output, then its activation (softmax,
 *     sigmoid, relu) in float.  The input's quantization is the only other
 *     float step.
 *
 * Calibration runs the float network (a plain interpreter of the IR, below)
 * on the first --calibrate-count samples, in order: the same samples give
 * the same numbers, and the same C, on any machine. */
#include "nnc.h"
#include "nnc_rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the float forward pass, layer by layer (calibration only) ---- */

static float act_fn(const Layer *l, float z)
{
    switch (l->act) {
    case ACT_RELU:
        return z > 0.0f ? z : 0.0f;
    case ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-z));
    case ACT_TANH:
        return tanhf(z);
    case ACT_LEAKY_RELU:
        return z > 0.0f ? z : (float)l->act_param * z;
    default:   /* linear; softmax is applied to the whole output below */
        return z;
    }
}

/* Layer l's output for input `in`, the parameters at w. */
static void run_layer(const Layer *l, const float *w, const float *in, float *out)
{
    switch (l->kind) {
    case LAYER_DENSE:
        for (int64_t o = 0; o < l->n_out; o++) {
            float z = w[l->b_off + o];
            for (int64_t i = 0; i < l->n_in; i++)
                z += w[l->w_off + o * l->n_in + i] * in[i];
            out[o] = act_fn(l, z);
        }
        break;
    case LAYER_CONV: {
        int64_t C = l->in.c, H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
        for (int64_t f = 0; f < l->units; f++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    float z = w[l->b_off + f];
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t ky = 0; ky < l->kh; ky++)
                            for (int64_t kx = 0; kx < l->kw; kx++) {
                                int64_t iy = oy * l->stride_h + ky - l->pad_h, ix = ox * l->stride_w + kx - l->pad_w;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    z += w[l->w_off + ((f * C + c) * l->kh + ky) * l->kw + kx] * in[(c * H + iy) * W + ix];
                            }
                    out[(f * OH + oy) * OW + ox] = act_fn(l, z);
                }
        break;
    }
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL: {
        int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
        for (int64_t c = 0; c < l->in.c; c++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    const float *win = in + (c * H + oy * l->stride_h) * W + ox * l->stride_w;
                    float v = l->kind == LAYER_MAXPOOL ? win[0] : 0.0f;
                    for (int64_t ky = 0; ky < l->kh; ky++)
                        for (int64_t kx = 0; kx < l->kw; kx++)
                            v = l->kind == LAYER_MAXPOOL ? (win[ky * W + kx] > v ? win[ky * W + kx] : v)
                                                         : v + win[ky * W + kx];
                    out[(c * OH + oy) * OW + ox] = l->kind == LAYER_MAXPOOL ? v : v / (float)(l->kh * l->kw);
                }
        break;
    }
    default:   /* flatten, dropout (off): the input passes on */
        memcpy(out, in, (size_t)l->n_out * sizeof *out);
        break;
    }
}

/* ---- what can be quantized ---- */

static bool hidden_act_ok(const Layer *l)
{
    return l->act == ACT_RELU || l->act == ACT_LINEAR;
}

/* The first layer that int8 code cannot run, with why; NULL if none. */
static const Layer *unsupported(const Net *n, const char **why)
{
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        bool last = i == n->n_layers - 1;
        switch (l->kind) {
        case LAYER_DENSE:
        case LAYER_CONV:
            if (l->in.steps) {
                *why = "a dense layer over a sequence has no int8 form";
                return l;
            }
            if (!last && !hidden_act_ok(l)) {
                *why = "int8 hidden layers take relu or no activation (a sigmoid, tanh, leaky_relu or softmax "
                       "is only for the output layer, which is computed in float)";
                return l;
            }
            break;
        case LAYER_MAXPOOL:
        case LAYER_AVGPOOL:
        case LAYER_FLATTEN:
        case LAYER_DROPOUT:
            break;
        default:
            *why = "int8 code has dense, conv, maxpool, avgpool, flatten and dropout layers";
            return l;
        }
    }
    const Layer *last = &n->layers[n->n_layers - 1];
    if (last->kind != LAYER_DENSE && last->kind != LAYER_CONV) {
        *why = "the output layer of int8 code must be a dense or conv layer (its sums become the float outputs)";
        return last;
    }
    return NULL;
}

/* ---- the numbers ---- */

/* v rounded to the nearest whole number, halves away from zero. */
static double round_half_away(double v)
{
    return v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
}

/* The scale and zero point of a tensor whose values lie in [lo, hi]. */
static void tensor_params(double lo, double hi, double *scale, int32_t *zp)
{
    lo = lo < 0 ? lo : 0;   /* real 0 must be exact */
    hi = hi > 0 ? hi : 0;
    if (hi - lo < 1e-30)
        hi = lo + 1.0;   /* all zeros: any scale */
    *scale = (hi - lo) / 255.0;
    double z = round_half_away(-128.0 - lo / *scale);
    *zp = (int32_t)(z < -128 ? -128 : z > 127 ? 127 : z);
}

/* M = mult * 2^-shift, mult in [2^30, 2^31) (0 for M = 0), shift in [1, 62]. */
static void multiplier(double m, int32_t *mult, int *shift)
{
    *mult = 0, *shift = 31;
    if (!(m > 0))
        return;
    int e;
    double f = frexp(m, &e);   /* m = f * 2^e, f in [0.5, 1) */
    int64_t q = (int64_t)round_half_away(f * 2147483648.0);   /* f * 2^31 */
    if (q == INT64_C(2147483648)) {
        q /= 2;
        e++;
    }
    int s = 31 - e;
    if (s > 62) {   /* too small to matter: the sums round to 0 */
        *mult = 0, *shift = 31;
        return;
    }
    if (s < 1) {    /* (an M of 2^30 or more: a scale gone wrong; keep it representable) */
        q = INT32_MAX;
        s = 1;
    }
    *mult = (int32_t)q, *shift = s;
}

static int32_t clamp32(double v)
{
    return v < -2147483647.0 ? -2147483647 : v > 2147483647.0 ? 2147483647 : (int32_t)v;
}

/* Where the int8 buffers go (plan.c), and the bytes of RAM and flash. */
static void place_and_size(const Net *n, Arena *arena, QNet *q)
{
    int *out = arena_alloc(arena, (size_t)n->n_layers * sizeof *out);
    const InferPlan *p = plan_int8(n, arena, out);
    q->plan = p;
    q->act_bytes = p->floats;   /* (elements: bytes here) */
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->buf[i].what, "quantized input") == 0)
            q->xq_off = p->buf[i].off;
    for (int i = 0; i < n->n_layers; i++) {
        bool own = out[i] >= 0 && p->buf[out[i]].layer == i && strcmp(p->buf[out[i]].what, "output") == 0;
        q->layers[i].has_buffer = own;
        q->layers[i].off = out[i] >= 0 ? p->buf[out[i]].off : 0;
    }
    /* struct NAME { int32_t acc[K]; int8_t act[A]; }: 4-byte aligned */
    int64_t act = q->act_bytes > 0 ? q->act_bytes : 1;
    q->ram_bytes = 4 * n->n_outputs + (act + 3) / 4 * 4;
    /* NAME_q: int32 biases and multipliers and float output scales, then int8 weights and shifts */
    int64_t wide = 0, narrow = 0;
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        const QLayer *ql = &q->layers[i];
        if (!ql->w)
            continue;
        int64_t units = l->b_len;
        wide += units * (ql->mult ? 2 : 1) + (ql->deq ? units : 0);
        narrow += l->w_len + (ql->shift ? units : 0);
    }
    q->flash_bytes = (4 * wide + narrow + 3) / 4 * 4;
}

bool quantize_net(const Net *n, const float *w, const RtData *calib, int64_t count, Arena *arena, QNet *q,
                  Diag *diag)
{
    const char *why = NULL;
    const Layer *bad = unsupported(n, &why);
    if (bad) {
        RtBuf d = {0};
        ir_describe_layer(&d, bad);
        diag_at(diag, DIAG_ERROR, bad->loc, "layer %d (%s) cannot be quantized to int8: %s", bad->index,
                d.oom ? "" : d.data, why);
        rt_buf_free(&d);
        return false;
    }
    if (calib->n_inputs != n->n_inputs) {
        diag_plain(diag, DIAG_ERROR, "%s: calibration samples of %lld values, but network '%s' takes %lld",
                   calib->source ? calib->source : "--calibrate", (long long)calib->n_inputs, n->name,
                   (long long)n->n_inputs);
        return false;
    }
    if (count <= 0 || count > calib->n)
        count = calib->n;
    if (count == 0) {
        diag_plain(diag, DIAG_ERROR, "%s: no calibration samples", calib->source ? calib->source : "--calibrate");
        return false;
    }
    memset(q, 0, sizeof *q);
    q->net = n;
    q->n_calib = count;
    q->layers = arena_alloc(arena, (size_t)n->n_layers * sizeof *q->layers);

    /* the ranges: of the input, and of every layer's output */
    double *lo = arena_alloc(arena, (size_t)(n->n_layers + 1) * sizeof *lo);
    double *hi = arena_alloc(arena, (size_t)(n->n_layers + 1) * sizeof *hi);
    float **out = arena_alloc(arena, (size_t)n->n_layers * sizeof *out);
    for (int i = 0; i < n->n_layers; i++)
        out[i] = arena_alloc(arena, (size_t)n->layers[i].n_out * sizeof **out);
    for (int i = 0; i <= n->n_layers; i++)
        lo[i] = INFINITY, hi[i] = -INFINITY;
    for (int64_t s = 0; s < count; s++) {
        const float *x = calib->x + s * n->n_inputs;
        for (int64_t k = 0; k < n->n_inputs; k++) {
            lo[0] = x[k] < lo[0] ? x[k] : lo[0];
            hi[0] = x[k] > hi[0] ? x[k] : hi[0];
        }
        const float *in = x;
        for (int i = 0; i < n->n_layers; i++) {
            const Layer *l = &n->layers[i];
            run_layer(l, w, in, out[i]);
            for (int64_t k = 0; k < l->n_out; k++) {
                float v = out[i][k];
                if (!isfinite(v)) {
                    diag_at(diag, DIAG_ERROR, l->loc, "calibration sample %lld makes layer %d's output %s: "
                            "the weights or the samples are not those of this network", (long long)s + 1,
                            l->index, isnan(v) ? "NaN" : "infinite");
                    return false;
                }
                lo[i + 1] = v < lo[i + 1] ? v : lo[i + 1];
                hi[i + 1] = v > hi[i + 1] ? v : hi[i + 1];
            }
            in = out[i];
        }
    }

    tensor_params(lo[0], hi[0], &q->in_scale, &q->in_zp);
    double s_in = q->in_scale;
    int32_t zp_in = q->in_zp;
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        QLayer *ql = &q->layers[i];
        ql->in_scale = s_in, ql->in_zp = zp_in;
        bool last = i == n->n_layers - 1;
        if (l->kind == LAYER_DENSE || l->kind == LAYER_CONV) {
            int64_t units = l->b_len, fan = l->w_len / units;   /* (a bias per output channel) */
            ql->w = arena_alloc(arena, (size_t)l->w_len);
            ql->bias = arena_alloc(arena, (size_t)units * sizeof *ql->bias);
            ql->w_scale = arena_alloc(arena, (size_t)units * sizeof *ql->w_scale);
            if (!last) {
                tensor_params(lo[i + 1], hi[i + 1], &ql->out_scale, &ql->out_zp);
                ql->mult = arena_alloc(arena, (size_t)units * sizeof *ql->mult);
                ql->shift = arena_alloc(arena, (size_t)units * sizeof *ql->shift);
                /* relu: nothing below real 0 */
                ql->lo = l->act == ACT_RELU ? ql->out_zp : -128;
            } else {
                ql->deq = arena_alloc(arena, (size_t)units * sizeof *ql->deq);
            }
            for (int64_t c = 0; c < units; c++) {
                const float *wc = w + l->w_off + c * fan;
                double m = 0;
                for (int64_t k = 0; k < fan; k++)
                    m = fabs(wc[k]) > m ? fabs(wc[k]) : m;
                double ws = m > 0 ? m / 127.0 : 1.0;
                ql->w_scale[c] = ws;
                for (int64_t k = 0; k < fan; k++) {
                    double v = round_half_away(wc[k] / ws);
                    ql->w[c * fan + k] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
                }
                double acc_scale = s_in * ws;
                ql->bias[c] = clamp32(round_half_away(w[l->b_off + c] / acc_scale));
                if (last) {
                    ql->deq[c] = (float)acc_scale;
                } else {
                    int sh;
                    multiplier(acc_scale / ql->out_scale, &ql->mult[c], &sh);
                    ql->shift[c] = (int8_t)sh;
                }
            }
            s_in = ql->out_scale, zp_in = ql->out_zp;
        } else {
            /* pools, flatten, dropout: the input's scale goes on */
            ql->out_scale = s_in, ql->out_zp = zp_in;
        }
    }
    place_and_size(n, arena, q);
    return true;
}
