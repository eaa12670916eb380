/* lower.c — Net -> IR: every shape resolved, every offset and buffer planned.
 *
 * After this stage each layer knows its input and output shape (CHW), where
 * its weights and bias sit in the flat parameter array (PyTorch's state_dict
 * order: layer by layer, weight then bias), and where its output sits in the
 * activation buffer.  The buffers of the emitted struct are planned here once
 * so that the emitter and the IR printer describe the same memory. */
#include "nnc.h"

#include <string.h>

/* a * b, or -1 when it would exceed `limit`. */
static int64_t mul_limited(int64_t a, int64_t b, int64_t limit)
{
    if (a < 0 || b < 0 || (a != 0 && b > limit / a))
        return -1;
    return a * b;
}

/* Floats of one sample of shape s. */
static int64_t shape_floats(Shape s)
{
    return s.c * s.h * s.w * (s.steps ? s.steps : 1);
}

bool layer_is_recurrent(const Layer *l)
{
    return l->kind == LAYER_RNN || l->kind == LAYER_LSTM || l->kind == LAYER_GRU;
}

/* The row stride of W_hh transposed ([H][GH]) in net->wt.  Where the
 * recurrent product takes the blocked path, rows of a multiple of 1 KiB
 * would map a column's walk down the rows onto a few L1 sets (a 2 KiB
 * stride: 2 of 64), so the stride is a whole number of 64-byte lines, odd:
 * the walk then visits every set (examples/fashion_lstm.nn: 512 -> 528
 * floats, its training step about 4% faster, measured A/B). */
static int64_t whh_stride(const Layer *l, int64_t batch)
{
    int64_t H = l->units, GH = recurrent_layout(l, batch).g * H;
    if (!matmul_blocked(batch, GH, H))   /* the recurrent product's shape, as emit_recurrent.c gives it */
        return GH;
    int64_t s = (GH + 15) / 16 * 16;
    return (s / 16) % 2 ? s : s + 16;
}

RecurrentLayout recurrent_layout(const Layer *l, int64_t batch)
{
    RecurrentLayout r = {0};
    int64_t T = l->in.steps, H = l->units, B = batch;
    bool lstm = l->kind == LAYER_LSTM, gru = l->kind == LAYER_GRU;
    r.g = lstm ? 4 : gru ? 3 : 1;
    int64_t GH = r.g * H, at = 0;
    r.x = at, at += T * B * l->in.c;
    r.gates = at, at += T * B * GH;
    at += B * H;   /* h_0 = 0, so step 1 reads h[t - 1] as the others do */
    r.h = at, at += T * B * H;
    at += lstm ? B * H : 0;   /* c_0 = 0 */
    r.c = at, at += lstm ? T * B * H : 0;
    r.hn = at, at += gru ? T * B * H : 0;
    r.dg = at, at += T * B * GH;
    r.dgh = at, at += gru ? T * B * GH : 0;
    r.dh = at, at += B * H;
    r.dc = at, at += lstm ? B * H : 0;
    r.scratch = at, at += B * GH;
    r.total = at;
    r.sample = at / B;
    return r;
}

/* "28 steps of 28", "784", "1x28x28" */
static const char *describe_shape(char out[64], Shape s)
{
    if (s.steps)
        snprintf(out, 64, "a sequence of %lld steps of %lld", (long long)s.steps, (long long)s.c);
    else if (s.image)
        snprintf(out, 64, "an image %lldx%lldx%lld", (long long)s.c, (long long)s.h, (long long)s.w);
    else
        snprintf(out, 64, "a vector of %lld", (long long)s.c);
    return out;
}

static const char *shape_str(char out[64], Shape s, bool image)
{
    if (image)
        snprintf(out, 64, "%lldx%lldx%lld", (long long)s.c, (long long)s.h, (long long)s.w);
    else
        snprintf(out, 64, "%lld", (long long)s.c);
    return out;
}

/* Output size of a window sliding over `in` (with padding); reports errors. */
static bool window_out(Diag *diag, const Layer *l, int64_t in, int64_t pad, int64_t k, int64_t stride,
                       const char *axis, const char *in_desc, int64_t *out, bool *drops)
{
    int64_t span = in + 2 * pad;
    if (span < k) {
        diag_at(diag, DIAG_ERROR, l->loc, "the %lldx%lld %s does not fit the %s input %s (%s %lld%s)",
                (long long)l->kh, (long long)l->kw, l->kind == LAYER_CONV ? "kernel" : "window",
                l->kind == LAYER_CONV ? "layer's" : "pooled", in_desc, axis, (long long)in,
                pad ? " plus padding" : "");
        return false;
    }
    *out = (span - k) / stride + 1;
    if ((span - k) % stride != 0)
        *drops = true;
    return true;
}

/* Whether some window position along one axis reads an input, not only
 * padding: some output o and kernel offset k with 0 <= o*stride + k - pad < in. */
static bool window_sees_input(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad)
{
    for (int64_t t = 0; t < k; t++) {
        int64_t off = t - pad;   /* input = o * stride + off */
        int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
        if (lo < out && lo * stride + off < in)
            return true;
    }
    return false;
}

/* FNV-1a over the numbers that fix the parameter layout. */
static uint64_t fnv1a(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)(v >> (8 * i)) & 0xff;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t net_fingerprint(const Net *n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    h = fnv1a(h, n->input.c);
    h = fnv1a(h, n->input.h);
    h = fnv1a(h, n->input.w);
    if (n->input.steps)   /* (only then: the fingerprints of other networks stay as they were) */
        h = fnv1a(h, n->input.steps);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        int64_t fields[] = {l->kind, l->units, l->kh, l->kw, l->stride_h, l->stride_w, l->pad_h, l->pad_w};
        if (l->kind == LAYER_DROPOUT)
            continue;   /* no parameters: weights carry over with or without dropout */
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            h = fnv1a(h, fields[k]);
        if (l->kind == LAYER_EMBED)
            h = fnv1a(h, l->vocab);
        if (layer_is_recurrent(l))
            h = fnv1a(h, l->return_all);
    }
    return h;
}

static bool lower_net(Net *n, Diag *diag)
{
    Shape cur = n->input;
    int64_t n_params = 0, n_act = 0, max_width = shape_floats(cur);
    int64_t prev_act = -1;   /* where the current tensor lives: -1 is the input x */
    int64_t n_mask = 0;      /* dropout masks */
    int64_t n_pad = 0;       /* scratch of stride-1 convolutions: padded input, a wide plane, its gradient */
    n->n_inputs = max_width;
    if (max_width > NNC_MAX_ACT) {
        diag_at(diag, DIAG_ERROR, n->input_loc, "the input has %lld floats per sample; nnc's limit is %d",
                (long long)max_width, NNC_MAX_ACT);
        return false;
    }
    for (int i = 0; i < n->n_layers; i++) {
        Layer *l = &n->layers[i];
        char desc[64];
        l->in = cur;
        l->n_in = shape_floats(cur);
        switch (l->kind) {
        case LAYER_DENSE:
            if (cur.steps) {   /* the same dense layer at every step: [T][F] -> [T][units] */
                l->out = (Shape){l->units, 1, 1, false, cur.steps};
                l->w_len = mul_limited(l->units, cur.c, NNC_MAX_PARAMS);
            } else {
                l->out = (Shape){l->units, 1, 1, false, 0};
                l->w_len = mul_limited(l->units, l->n_in, NNC_MAX_PARAMS);
            }
            l->b_len = l->units;
            break;
        case LAYER_RNN:
        case LAYER_LSTM:
        case LAYER_GRU: {
            if (!cur.steps) {
                diag_at(diag, DIAG_ERROR, l->loc, "'%s' needs a sequence input ('input F steps=T', or a recurrent "
                        "layer with return=all before it), but its input is %s%s", layer_info[l->kind].keyword,
                        describe_shape(desc, cur), cur.image ? "; images are read row by row with 'input W steps=H' "
                        "(28x28 images: 'input 28 steps=28')" : "");
                return false;
            }
            int64_t g = l->kind == LAYER_LSTM ? 4 : l->kind == LAYER_GRU ? 3 : 1;
            int64_t gh = mul_limited(g, l->units, NNC_MAX_PARAMS);
            /* weight_ih [G*H][F] and weight_hh [G*H][H], then bias_ih and bias_hh [G*H]: PyTorch's order */
            l->w_len = gh < 0 ? -1 : mul_limited(gh, cur.c + l->units, NNC_MAX_PARAMS);
            l->b_len = gh < 0 ? 0 : 2 * gh;
            l->out = l->return_all ? (Shape){l->units, 1, 1, false, cur.steps} : (Shape){l->units, 1, 1, false, 0};
            break;
        }
        case LAYER_EMBED:
            if (!cur.steps || cur.c != 1) {
                diag_at(diag, DIAG_ERROR, l->loc, "'embed' reads one id per step: its input must be 'input steps=T' "
                        "(or 'input 1 steps=T'), not %s", describe_shape(desc, cur));
                return false;
            }
            l->out = (Shape){l->units, 1, 1, false, cur.steps};
            l->w_len = mul_limited(l->vocab, l->units, NNC_MAX_PARAMS);
            l->b_len = 0;
            break;
        case LAYER_CONV:
        case LAYER_MAXPOOL:
        case LAYER_AVGPOOL: {
            if (!cur.image) {
                diag_at(diag, DIAG_ERROR, l->loc, "'%s' needs an image (CxHxW) input, but its input is %s",
                        layer_info[l->kind].keyword, describe_shape(desc, cur));
                return false;
            }
            shape_str(desc, cur, true);
            bool drops = false;
            int64_t oh, ow;
            if (!window_out(diag, l, cur.h, l->pad_h, l->kh, l->stride_h, "height", desc, &oh, &drops) ||
                !window_out(diag, l, cur.w, l->pad_w, l->kw, l->stride_w, "width", desc, &ow, &drops))
                return false;
            if (drops)
                diag_at(diag, DIAG_WARNING, l->loc,
                        "with stride %lldx%lld the %lldx%lld %s leaves the last rows or columns of the %s input unused",
                        (long long)l->stride_h, (long long)l->stride_w, (long long)l->kh, (long long)l->kw,
                        l->kind == LAYER_CONV ? "kernel" : "window", desc);
            if (l->kind == LAYER_CONV) {
                if (l->pad_h >= l->kh || l->pad_w >= l->kw)
                    diag_at(diag, DIAG_WARNING, l->loc, "padding %lldx%lld is as large as the %lldx%lld kernel: the "
                            "outer outputs see only padding", (long long)l->pad_h, (long long)l->pad_w,
                            (long long)l->kh, (long long)l->kw);
                if (!window_sees_input(cur.h, oh, l->kh, l->stride_h, l->pad_h) ||
                    !window_sees_input(cur.w, ow, l->kw, l->stride_w, l->pad_w)) {
                    diag_at(diag, DIAG_ERROR, l->loc, "layer %d never sees its input: with stride %lldx%lld and "
                            "padding %lldx%lld, every window of the %lldx%lld kernel lies in the padding of the %s "
                            "input (make the padding or the stride smaller)", l->index, (long long)l->stride_h,
                            (long long)l->stride_w, (long long)l->pad_h, (long long)l->pad_w, (long long)l->kh,
                            (long long)l->kw, desc);
                    return false;
                }
                l->out = (Shape){l->units, oh, ow, true, 0};
                if (l->stride_h == 1 && l->stride_w == 1) {
                    int64_t hp = cur.h + 2 * l->pad_h, wp = cur.w + 2 * l->pad_w;
                    /* the padded input, its gradient, and dz of every filter as a
                     * wide plane with margins of (kh-1)*wp + kw-1 zeros and room
                     * for 64 floats of reads past the end (emit_conv.c's blocks: a
                     * 16-lane input-gradient block of 48 positions reads up to 47) */
                    l->dx_stride = oh * wp + 2 * ((l->kh - 1) * wp + l->kw - 1) + 64;   /* < 2^46: no overflow */
                    int64_t plane = mul_limited(cur.c, mul_limited(hp, wp, NNC_MAX_ACT), NNC_MAX_ACT);
                    int64_t planes = mul_limited(l->units, l->dx_stride, NNC_MAX_ACT);
                    int64_t need = plane < 0 || planes < 0 ? -1 : 2 * plane + planes;
                    if (need < 0 || need > NNC_MAX_ACT) {
                        if (need < 0)
                            diag_at(diag, DIAG_ERROR, l->loc, "layer %d needs more than %d floats of scratch, nnc's "
                                    "limit", l->index, NNC_MAX_ACT);
                        else
                            diag_at(diag, DIAG_ERROR, l->loc, "layer %d needs %lld floats of scratch; nnc's limit is %d",
                                    l->index, (long long)need, NNC_MAX_ACT);
                        return false;
                    }
                    n_pad = need > n_pad ? need : n_pad;
                }
                int64_t per_filter = mul_limited(cur.c, mul_limited(l->kh, l->kw, NNC_MAX_PARAMS), NNC_MAX_PARAMS);
                l->w_len = per_filter < 0 ? -1 : mul_limited(l->units, per_filter, NNC_MAX_PARAMS);
                l->b_len = l->units;
            } else {
                l->out = (Shape){cur.c, oh, ow, true, 0};
            }
            break;
        }
        case LAYER_DROPOUT:
            l->out = cur;
            l->mask_off = n_mask;
            n_mask += l->n_in;
            break;
        case LAYER_FLATTEN:
            l->out = (Shape){l->n_in, 1, 1, false, 0};
            l->aliases_input = true;
            break;
        default:
            break;
        }
        if (l->w_len < 0 || n_params + l->w_len + l->b_len > NNC_MAX_PARAMS) {
            diag_at(diag, DIAG_ERROR, l->loc, "layer %d takes the network over %d parameters, nnc's limit", l->index,
                    NNC_MAX_PARAMS);
            return false;
        }
        l->n_out = shape_floats(l->out);
        if (l->n_out == 0) {
            diag_at(diag, DIAG_ERROR, l->loc, "layer %d has an empty output", l->index);
            return false;
        }
        if (l->w_len) {
            l->w_off = n_params;
            n_params += l->w_len;
            l->b_off = n_params;
            n_params += l->b_len;
        }
        if (l->aliases_input) {
            l->act_off = prev_act;
        } else {
            if (n_act + l->n_out > NNC_MAX_ACT) {
                diag_at(diag, DIAG_ERROR, l->loc, "layer %d takes the activations of one sample over %d floats, nnc's limit",
                        l->index, NNC_MAX_ACT);
                return false;
            }
            l->act_off = n_act;
            n_act += l->n_out;
        }
        prev_act = l->act_off;
        l->pin_off = -1;   /* (inference-only code places its scratch: plan.c) */
        if (l->n_out > max_width)
            max_width = l->n_out;
        cur = l->out;
    }
    if (n_params == 0) {
        diag_at(diag, DIAG_ERROR, n->name_loc, "network '%s' has nothing to train: it needs a dense or conv layer",
                n->name);
        return false;
    }
    n->n_params = n_params;
    n->n_act = n_act;
    n->n_outputs = shape_floats(cur);
    n->out_steps = cur.steps ? cur.steps : 1;
    n->max_width = max_width;

    /* The buffers of the emitted struct, in struct order. */
    n->n_buffers = 0;
#define BUFFER(nm, wh, fl, r) (n->buffers[n->n_buffers < NNC_MAX_BUFFERS ? n->n_buffers++ : NNC_MAX_BUFFERS - 1] = \
                                   (Buffer){nm, wh, (fl) * (r), r})
    /* Dense layers big enough not to be unrolled work on the whole batch at
     * once (emit_c.c's matrix-product form): they need their input
     * transposed, one vector of `batch` floats per input. */
    int64_t n_xt = 0;
    for (int i = 0; i < n->n_layers; i++) {
        Layer *l = &n->layers[i];
        l->gemm = l->kind == LAYER_DENSE && !l->in.steps && n->batch >= NNC_GEMM_MIN_BATCH &&
                  l->n_in * l->n_out > NNC_DEFAULT_UNROLL;
        if (l->gemm && l->n_in > n_xt)
            n_xt = l->n_in;
    }
    /* Recurrent layers keep every step's states per sample (net->seq), and
     * their weights, and those of dense layers over a sequence, transposed
     * for the training code's matrix products (net->wt). */
    int64_t n_seq = 0, n_wt = 0, n_state = 0;
    for (int i = 0; i < n->n_layers; i++) {
        Layer *l = &n->layers[i];
        if (layer_is_recurrent(l)) {
            RecurrentLayout r = recurrent_layout(l, n->batch);
            l->seq_off = n_seq * n->batch;
            n_seq += r.sample;
            l->wt_off = n_wt;
            l->whh_stride = whh_stride(l, n->batch);
            n_wt += l->w_len - l->units * r.g * l->units + l->units * l->whh_stride + l->b_len / 2;
            l->state_off = n_state;
            n_state += l->units * (l->kind == LAYER_LSTM ? 2 : 1) + r.g * l->units * (l->kind == LAYER_GRU ? 2 : 1);
        } else if (l->kind == LAYER_DENSE && l->in.steps) {
            l->wt_off = n_wt;
            n_wt += l->w_len;
        }
        if (n_seq > NNC_MAX_ACT) {
            diag_at(diag, DIAG_ERROR, l->loc, "layer %d takes the per-step states of one sample over %d floats, "
                    "nnc's limit", l->index, NNC_MAX_ACT);
            return false;
        }
    }
    int64_t rows = n->batch;   /* the per-sample buffers hold a whole batch */
    BUFFER("param", "parameters, PyTorch state_dict order", n_params, 1);
    BUFFER("grad", "dLoss/dparam, mean over the last batch", n_params, 1);
    if (n->optim.kind == OPTIM_SGD && n->optim.momentum != 0)
        BUFFER("velocity", "SGD momentum buffer", n_params, 1);
    if (n->optim.kind == OPTIM_ADAM) {
        BUFFER("adam_m", "Adam first moment", n_params, 1);
        BUFFER("adam_v", "Adam second moment", n_params, 1);
    }
    BUFFER("act", "layer outputs, a row per sample", n_act, rows);
    BUFFER("delta", "dLoss/dz of the layer in flight, two halves used in turn, a row per sample", 2 * max_width, rows);
    if (n->layers[n->n_layers - 1].act == ACT_SOFTMAX)
        BUFFER("logit", "inputs of the softmax, a row per sample", n->n_outputs, rows);
    else if (n->loss == LOSS_BCE)   /* check.c: the last layer is dense sigmoid */
        BUFFER("logit", "inputs of the output sigmoid, for bce, a row per sample", n->n_outputs, rows);
    if (n_xt)
        BUFFER("xt", "scratch of batched dense layers: their input transposed", n_xt, rows);
    if (n_pad)
        BUFFER("pad", "scratch of stride-1 convolutions: zero-padded input, its gradient, a wide plane per filter",
               n_pad, 1);
    if (n_seq)
        BUFFER("seq", "recurrent layers: every step's gates, states and their gradients, step major", n_seq,
               rows);
    if (n_wt)
        BUFFER("wt", "scratch of recurrent and per-step dense layers: their weights transposed", n_wt, 1);
    if (n_state)
        BUFFER("state", "recurrent layers, one sample at a time (inference): h, c, the gates", n_state, 1);
    n->has_dropout = n_mask > 0;
    if (n->has_dropout)
        BUFFER("mask", "dropout masks: 0 or 1/(1-p), a row per sample", n_mask, rows);
#undef BUFFER
    int64_t batch_floats = 0;
    for (int i = 0; i < n->n_buffers; i++)
        if (n->buffers[i].rows > 1)
            batch_floats += n->buffers[i].floats;
    if (batch_floats > NNC_MAX_BATCH_FLOATS) {
        diag_at(diag, DIAG_ERROR, n->name_loc, "network '%s' needs %lld floats for a batch of %lld samples in flight; "
                "nnc's limit is %d: make the batch smaller", n->name, (long long)batch_floats, (long long)n->batch,
                NNC_MAX_BATCH_FLOATS);
        return false;
    }
    n->struct_bytes = layout_step_offset(n->buffers, n->n_buffers) + 8 + (n->has_dropout ? 8 /* RNG state */ : 0);
    n->fingerprint = net_fingerprint(n);
    return true;
}

bool lower_module(Module *m, Arena *arena, Diag *diag)
{
    (void)arena;
    bool ok = true;
    for (int i = 0; i < m->n_nets; i++)
        ok &= lower_net(&m->nets[i], diag);
    for (int i = 0; ok && i < m->n_gans; i++) {
        const Gan *g = &m->gans[i];
        if (g->gen->n_outputs != g->disc->n_inputs) {
            diag_at(diag, DIAG_ERROR, g->disc_loc, "the generator '%s' makes %lld floats a sample, but the "
                    "discriminator '%s' takes %lld", g->gen->name, (long long)g->gen->n_outputs, g->disc->name,
                    (long long)g->disc->n_inputs);
            diag_at(diag, DIAG_NOTE, g->disc->input_loc, "the discriminator's input");
            ok = false;
        }
    }
    return ok;
}

/* The emitted struct is the float arrays of the plan in order (no padding
 * between floats), then `float lr`, then `uint64_t step` at the next
 * multiple of 8, then (with dropout) `uint64_t rng`. */
int64_t layout_buffer_offset(const Buffer *b, int n, const char *name, int64_t *floats)
{
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(b[i].name, name) == 0) {
            *floats = b[i].floats;
            return off;
        }
        off += b[i].floats * 4;
    }
    return -1;
}

int64_t layout_step_offset(const Buffer *b, int n)
{
    int64_t floats = 0;
    for (int i = 0; i < n; i++)
        floats += b[i].floats;
    return (floats * 4 + 4 + 7) / 8 * 8;
}

const Buffer *net_buffer(const Net *net, const char *name)
{
    for (int i = 0; i < net->n_buffers; i++)
        if (strcmp(net->buffers[i].name, name) == 0)
            return &net->buffers[i];
    return NULL;
}

/* The forward pass of one sample keeps only its layer outputs, the softmax's
 * inputs, the stride-1 convolutions' scratch and the recurrent state. */
bool buffer_in_inference(const Buffer *b)
{
    return strcmp(b->name, "act") == 0 || strcmp(b->name, "logit") == 0 || strcmp(b->name, "pad") == 0 ||
           strcmp(b->name, "state") == 0;
}

int64_t infer_ram_bytes(const Net *n)
{
    int64_t floats = 0;
    for (int i = 0; i < n->n_buffers; i++)
        if (buffer_in_inference(&n->buffers[i]))
            floats += n->buffers[i].floats / n->buffers[i].rows;   /* one sample */
    return floats * 4;
}

int64_t infer_flash_bytes(const Net *n)
{
    return n->n_params * 4;
}

int64_t gan_struct_bytes(const Gan *g)
{
    int64_t B = g->gen->batch, floats = B * g->gen->n_inputs + 2 * B * g->disc->n_inputs + g->disc->n_params + 2 * B;
    return g->gen->struct_bytes + g->disc->struct_bytes + (4 * floats + 7) / 8 * 8 + 8;
}
