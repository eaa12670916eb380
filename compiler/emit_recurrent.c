/* emit_recurrent.c — rnn, lstm and gru layers: the forward pass over the
 * steps of a sequence and the backward pass through time, as PyTorch's
 * nn.RNN, nn.LSTM and nn.GRU compute them (batch_first, one layer, gates in
 * PyTorch's order and layout).
 *
 * Training works on the whole batch: the input part of every gate, for
 * every step and sample, is one matrix product (x W_ih^T + biases over all
 * T*B rows at once, since it does not depend on the recurrence); then each
 * step adds h_{t-1} W_hh^T for all the samples at once and runs the cell.
 * Every step's gates and states stay in net->seq, so the backward pass runs
 * the steps in reverse: dLoss/d(gates) of each step from the carried dh
 * (and dc), dh_{t-1} = dG_t W_hh for all samples at once, and afterwards the
 * weight gradients as products summed over chunks of steps
 * (steps_per_chunk).  The products are emit_matmul.c's, the weights
 * transposed once per pass into net->wt (W_hh^T's rows padded apart where
 * the product is blocked: Layer.whh_stride).  Inference-only code (and
 * NAME_forward) runs one sample with only the current step's state
 * (net->state), each step two products of a row by the transposed weights.
 *
 * In net->seq (RecurrentLayout, lower.c), step major, [T][B][...]: the
 * input x [F], gates [G*H], h [H], c [H] (lstm), hn [H] = W_hn h + b_hn
 * (gru), dG [G*H] (gru: its input part dG and hidden part dGh apart); then
 * the carried dh [B][H] and dc [B][H], and a scratch [B][G*H] (gru:
 * h_{t-1} W_hh^T). */
#include "emit.h"

#include <string.h>

/* The cell's equations, for the banner comment of its code. */
static const char *equations(const Layer *l)
{
    switch (l->kind) {
    case LAYER_LSTM:
        return "i = sigmoid(W_ii x + b_ii + W_hi h + b_hi), f = sigmoid(W_if x + b_if + W_hf h + b_hf),\n"
               "               g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = sigmoid(W_io x + b_io + W_ho h + b_ho),\n"
               "               c' = f * c + i * g, h' = o * tanh(c')";
    case LAYER_GRU:
        return "r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),\n"
               "               n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h";
    default:
        return l->cell_act == ACT_RELU ? "h' = relu(W_ih x + b_ih + W_hh h + b_hh)" : "h' = tanh(W_ih x + b_ih + W_hh h + b_hh)";
    }
}

typedef struct Rec {
    int64_t T, F, H, G, GH, B;   /* steps, input features, units, gates, gate units, batch */
    int64_t na, ds, mw;          /* floats per sample of net->act and net->delta; a delta half */
    RecurrentLayout r;           /* offsets from sq, the layer's part of net->seq */
    char x[96];                  /* the input of sample s, [T][F] */
} Rec;

static Rec rec_of(const Emitter *e, const Layer *l, const Layer *prod)
{
    const Net *n = e->net;
    Rec c;
    c.T = l->in.steps, c.F = l->in.c, c.H = l->units, c.B = n->batch;
    c.r = recurrent_layout(l, c.B);
    c.G = c.r.g, c.GH = c.G * c.H;
    c.na = n->n_act, c.ds = 2 * n->max_width, c.mw = n->max_width;
    if (prod)
        snprintf(c.x, sizeof c.x, "net->act + s * %lld + %lld", (long long)c.na, (long long)prod->act_off);
    else
        snprintf(c.x, sizeof c.x, "x + s * %lld", (long long)n->n_inputs);
    return c;
}

static void emit_params(Emitter *e, const Layer *l, const Rec *c, const char *p)
{
    emit(e, "        const float *w_ih = %s + %lld, *w_hh = w_ih + %lld;   /* [%lld][%lld], [%lld][%lld] */\n", p,
         (long long)l->w_off, (long long)(c->GH * c->F), (long long)c->GH, (long long)c->F, (long long)c->GH,
         (long long)c->H);
    emit(e, "        const float *b_ih = %s + %lld, *b_hh = b_ih + %lld;   /* [%lld] each */\n", p, (long long)l->b_off,
         (long long)c->GH, (long long)c->GH);
}

/* Rows s = n .. B-1 of a [B][w] part set to zero (emitted only when a
 * batch can be partial): the products over the whole batch then add
 * nothing for them. */
static void emit_zero_rest(Emitter *e, const Rec *c, const char *part, int64_t w, const char *ind)
{
    if (c->B > 1)
        emit(e, "%sif (n < %lld)\n%s    memset(%s + n * %lld, 0, (size_t)(%lld - n) * %lld * sizeof(float));\n", ind,
             (long long)c->B, ind, part, (long long)w, (long long)c->B, (long long)w);
}

/* The cell of step t for sample s: the gates' pre-activations in g (the
 * input part plus, for lstm and rnn, the recurrent part), activated in
 * place; the new state into h (and c).  h[j - B*H] is h_{t-1}. */
static void emit_cell(Emitter *e, const Layer *l, const Rec *c, const char *ind)
{
    long long H = c->H, GH = c->GH, BH = c->B * c->H;
    emit(e, "%sfloat *restrict g = sq + %lld + (t * %lld + s) * %lld;   /* this step's gates */\n", ind,
         (long long)c->r.gates, (long long)c->B, GH);
    emit(e, "%sfloat *restrict h = sq + %lld + (t * %lld + s) * %lld;   /* and state */\n", ind, (long long)c->r.h,
         (long long)c->B, H);
    switch (l->kind) {
    case LAYER_LSTM:
        emit(e, "%sfloat *restrict cs = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.c,
             (long long)c->B, H);
        emit(e, "%sfor (int j = 0; j < %lld; j++) {\n", ind, H);
        emit(e, "%s    const float i = nnc_vsigmoid(g[j]), f = nnc_vsigmoid(g[%lld + j]), gg = nnc_vtanh(g[%lld + j]),\n"
                "%s                o = nnc_vsigmoid(g[%lld + j]);\n", ind, H, 2 * H, ind, 3 * H);
        emit(e, "%s    const float cp = cs[j - %lld];   /* c_{t-1} */\n", ind, BH);
        emit(e, "%s    g[j] = i, g[%lld + j] = f, g[%lld + j] = gg, g[%lld + j] = o;\n", ind, H, 2 * H, 3 * H);
        emit(e, "%s    cs[j] = f * cp + i * gg;\n%s    h[j] = o * nnc_vtanh(cs[j]);\n%s}\n", ind, ind, ind);
        break;
    case LAYER_GRU:
        emit(e, "%sconst float *restrict gh = sq + %lld + s * %lld;   /* h_{t-1} W_hh^T */\n", ind,
             (long long)c->r.scratch, GH);
        emit(e, "%sfloat *restrict hn = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.hn,
             (long long)c->B, H);
        emit(e, "%sfor (int j = 0; j < %lld; j++) {\n", ind, H);
        emit(e, "%s    const float r = nnc_vsigmoid(g[j] + gh[j]);\n", ind);
        emit(e, "%s    const float z = nnc_vsigmoid(g[%lld + j] + gh[%lld + j]);\n", ind, H, H);
        emit(e, "%s    const float hnj = gh[%lld + j] + b_hh[%lld + j];\n", ind, 2 * H, 2 * H);
        emit(e, "%s    const float nn = nnc_vtanh(g[%lld + j] + r * hnj);\n", ind, 2 * H);
        emit(e, "%s    const float hp = h[j - %lld];   /* h_{t-1} */\n", ind, BH);
        emit(e, "%s    g[j] = r, g[%lld + j] = z, g[%lld + j] = nn, hn[j] = hnj;\n", ind, H, 2 * H);
        emit(e, "%s    h[j] = (1.0f - z) * nn + z * hp;\n%s}\n", ind, ind);
        break;
    default:
        emit(e, "%sfor (int j = 0; j < %lld; j++)\n%s    h[j] = %s(g[j]);\n", ind, H, ind,
             l->cell_act == ACT_RELU ? "nnc_relu" : "nnc_vtanh");
        break;
    }
}

static void emit_recurrent_forward_batch(Emitter *e, const Layer *l)
{
    const Layer *prod = producer(e->net, (int)(l - e->net->layers));
    Rec c = rec_of(e, l, prod);
    long long H = c.H, GH = c.GH, F = c.F, T = c.T, B = c.B;
    char a[160], cc[160], part[96];
    emit(e, "        /* %s */\n", equations(l));
    emit_params(e, l, &c, "net->param");
    long long S = l->whh_stride;   /* W_hh^T's rows: padded where the product is blocked (lower.c) */
    emit(e, "        float *wih_t = net->wt + %lld, *whh_t = wih_t + %lld, *bias = whh_t + %lld;   /* [%lld][%lld], "
            "[%lld][%lld]%s, [%lld] */\n", (long long)l->wt_off, F * GH, H * S, F, GH, H, GH,
         S != GH ? " (rows padded apart)" : "", GH);
    emit(e, "        float *sq = net->seq + %lld;   /* this layer's states, [step][sample] */\n", (long long)l->seq_off);
    emit_transpose(e, "wih_t", "w_ih", GH, F, GH, "        ");
    if (S != GH)
        emit(e, "        /* W_hh^T's rows %lld floats apart, not %lld: an odd number of cache lines, so that a walk\n"
                "           down a column uses every L1 set */\n", S, GH);
    emit_transpose(e, "whh_t", "w_hh", GH, H, S, "        ");
    if (l->kind == LAYER_GRU)
        emit(e, "        for (int j = 0; j < %lld; j++)   /* b_hn stays apart: it is inside r * (...) */\n"
                "            bias[j] = b_ih[j] + (j < %lld ? b_hh[j] : 0.0f);\n", GH, 2 * H);
    else
        emit(e, "        for (int j = 0; j < %lld; j++)\n            bias[j] = b_ih[j] + b_hh[j];\n", GH);
    emit(e, "        for (int t = 0; t < %lld; t++) {   /* the input, step major */\n", T);
    emit(e, "            float *xt = sq + %lld + t * %lld;\n", (long long)c.r.x, B * F);
    emit(e, "            for (int s = 0; s < n; s++)\n");
    emit(e, "                memcpy(xt + s * %lld, %s + t * %lld, %lld * sizeof(float));\n", F, c.x, F, F);
    emit_zero_rest(e, &c, "xt", F, "            ");
    emit(e, "        }\n");
    emit(e, "        memset(sq + %lld, 0, %lld * sizeof(float));   /* h_0 = 0 */\n", (long long)(c.r.h - B * H), B * H);
    if (l->kind == LAYER_LSTM)
        emit(e, "        memset(sq + %lld, 0, %lld * sizeof(float));   /* c_0 = 0 */\n", (long long)(c.r.c - B * H),
             B * H);
    snprintf(a, sizeof a, "(sq + %lld)", (long long)c.r.x);
    snprintf(cc, sizeof cc, "(sq + %lld)", (long long)c.r.gates);
    MatMul in = {"gates = x W_ih^T + bias, every step and sample", T * B, GH, F, NULL, a, "wih_t", cc, "bias",
                 F, 1, GH, GH, false};
    emit_matmul(e, &in, "        ");
    emit(e, "        for (int t = 0; t < %lld; t++) {\n", T);
    snprintf(a, sizeof a, "sq + %lld + (t - 1) * %lld", (long long)c.r.h, B * H);
    if (l->kind == LAYER_GRU) {
        snprintf(cc, sizeof cc, "sq + %lld", (long long)c.r.scratch);
        MatMul rec = {"h_{t-1} W_hh^T, all samples", B, GH, H, "n", a, "whh_t", cc, NULL, H, 1, S, GH, false};
        emit(e, "            if (t > 0) {\n");
        emit_matmul(e, &rec, "                ");
        emit(e, "            } else {   /* h_0 W_hh^T = 0 */\n");
        emit(e, "                memset(sq + %lld, 0, %lld * sizeof(float));\n", (long long)c.r.scratch, B * GH);
        emit(e, "            }\n");
    } else {
        snprintf(cc, sizeof cc, "sq + %lld + t * %lld", (long long)c.r.gates, B * GH);
        MatMul rec = {"gates += h_{t-1} W_hh^T, all samples", B, GH, H, "n", a, "whh_t", cc, NULL, H, 1, S, GH,
                      true};
        emit(e, "            if (t > 0)\n");
        emit_matmul(e, &rec, "                ");
    }
    emit(e, "            for (int s = 0; s < n; s++) {   /* the cell */\n");
    emit_cell(e, l, &c, "                ");
    emit(e, "            }\n");
    snprintf(part, sizeof part, "(sq + %lld + t * %lld)", (long long)c.r.h, B * H);
    emit_zero_rest(e, &c, part, H, "            ");
    emit(e, "        }\n");
    emit(e, "        for (int s = 0; s < n; s++)   /* the output: %s */\n",
         l->return_all ? "every step's h" : "the last step's h");
    if (l->return_all)
        emit(e, "            for (int t = 0; t < %lld; t++)\n"
                "                memcpy(net->act + s * %lld + %lld + t * %lld, sq + %lld + (t * %lld + s) * %lld, "
                "%lld * sizeof(float));\n", T, (long long)c.na, (long long)l->act_off, H, (long long)c.r.h, B, H, H);
    else
        emit(e, "            memcpy(net->act + s * %lld + %lld, sq + %lld + s * %lld, %lld * sizeof(float));\n",
             (long long)c.na, (long long)l->act_off, (long long)(c.r.h + (T - 1) * B * H), H, H);
}

/* dLoss/d(gates) of step t for sample s from the carried dh (and dc). */
static void emit_cell_backward(Emitter *e, const Layer *l, const Rec *c, const char *ind)
{
    long long H = c->H, GH = c->GH, B = c->B, BH = c->B * c->H;
    emit(e, "%sfloat *restrict dh = sq + %lld + s * %lld;\n", ind, (long long)c->r.dh, H);
    emit(e, "%sconst float *restrict g = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.gates, B, GH);
    emit(e, "%sconst float *restrict h = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.h, B, H);
    emit(e, "%sfloat *restrict dg = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.dg, B, GH);
    switch (l->kind) {
    case LAYER_LSTM:
        emit(e, "%sconst float *restrict cs = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.c, B, H);
        emit(e, "%sfloat *restrict dc = sq + %lld + s * %lld;\n", ind, (long long)c->r.dc, H);
        emit(e, "%s(void)h;\n", ind);
        emit(e, "%sfor (int j = 0; j < %lld; j++) {\n", ind, H);
        emit(e, "%s    const float i = g[j], f = g[%lld + j], gg = g[%lld + j], o = g[%lld + j];\n", ind, H, 2 * H,
             3 * H);
        emit(e, "%s    const float tc = nnc_vtanh(cs[j]), cp = cs[j - %lld];\n", ind, BH);
        emit(e, "%s    const float dcj = dc[j] + dh[j] * o * (1.0f - tc * tc);\n", ind);
        emit(e, "%s    dg[j] = dcj * gg * i * (1.0f - i);              /* d i */\n", ind);
        emit(e, "%s    dg[%lld + j] = dcj * cp * f * (1.0f - f);       /* d f */\n", ind, H);
        emit(e, "%s    dg[%lld + j] = dcj * i * (1.0f - gg * gg);      /* d g */\n", ind, 2 * H);
        emit(e, "%s    dg[%lld + j] = dh[j] * tc * o * (1.0f - o);     /* d o */\n", ind, 3 * H);
        emit(e, "%s    dc[j] = dcj * f;   /* dc_{t-1} */\n%s}\n", ind, ind);
        break;
    case LAYER_GRU:
        emit(e, "%sconst float *restrict hn = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.hn, B, H);
        emit(e, "%sfloat *restrict dgh = sq + %lld + (t * %lld + s) * %lld;\n", ind, (long long)c->r.dgh, B, GH);
        emit(e, "%sfor (int j = 0; j < %lld; j++) {\n", ind, H);
        emit(e, "%s    const float r = g[j], z = g[%lld + j], nn = g[%lld + j], hp = h[j - %lld];\n", ind, H, 2 * H,
             BH);
        emit(e, "%s    const float dn = dh[j] * (1.0f - z) * (1.0f - nn * nn);\n", ind);
        emit(e, "%s    const float dz = dh[j] * (hp - nn) * z * (1.0f - z);\n", ind);
        emit(e, "%s    const float dr = dn * hn[j] * r * (1.0f - r);\n", ind);
        emit(e, "%s    dg[j] = dr, dg[%lld + j] = dz, dg[%lld + j] = dn;          /* input part */\n", ind, H, 2 * H);
        emit(e, "%s    dgh[j] = dr, dgh[%lld + j] = dz, dgh[%lld + j] = dn * r;   /* hidden part */\n", ind, H,
             2 * H);
        emit(e, "%s    dh[j] = dh[j] * z;   /* dh_{t-1}: the direct part; W_hh's is added below */\n%s}\n", ind, ind);
        break;
    default:
        emit(e, "%s(void)g;\n", ind);
        if (l->cell_act == ACT_RELU)
            emit(e, "%sfor (int j = 0; j < %lld; j++)\n%s    dg[j] = h[j] > 0.0f ? dh[j] : 0.0f;\n", ind, H, ind);
        else
            emit(e, "%sfor (int j = 0; j < %lld; j++)\n%s    dg[j] = dh[j] * (1.0f - h[j] * h[j]);\n", ind, H, ind);
        break;
    }
}

/* Steps per chunk of a weight gradient's sum over T steps of B rows, a
 * divisor of T: about 32 rows, or 128 when the gradient itself passes
 * 256 KiB (it is read and written once a chunk). */
static int64_t steps_per_chunk(int64_t T, int64_t B, int64_t grad_floats)
{
    int64_t rows = grad_floats * 4 > 262144 ? 128 : 32;
    int64_t want = B >= rows ? 1 : rows / B;
    while (want > 1 && T % want != 0)
        want--;
    return want;
}

static void emit_recurrent_backward_batch(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    Rec c = rec_of(e, l, prod);
    long long H = c.H, GH = c.GH, F = c.F, T = c.T, B = c.B;
    bool gru = l->kind == LAYER_GRU;
    char a[160], b[160], cc[160], part[96];
    emit_params(e, l, &c, "net->param");
    emit(e, "        float *gw_ih = net->grad + %lld, *gw_hh = gw_ih + %lld;\n", (long long)l->w_off, F * GH);
    emit(e, "        float *gb_ih = net->grad + %lld, *gb_hh = gb_ih + %lld;\n", (long long)l->b_off, GH);
    emit(e, "        float *sq = net->seq + %lld;   /* this layer's states, [step][sample] */\n", (long long)l->seq_off);
    emit(e, "        (void)b_ih, (void)b_hh;\n");
    if (T == 1)
        emit(e, "        (void)gw_hh;   /* one step: W_hh never acts, its gradient stays 0 */\n");
    emit(e, "        for (int s = 0; s < n; s++) {   /* dh of the last step%s */\n",
         l->return_all ? ": its output's gradient, added step by step below" : ": the output's gradient");
    if (l->return_all)
        emit(e, "            memset(sq + %lld + s * %lld, 0, %lld * sizeof(float));\n", (long long)c.r.dh, H, H);
    else
        emit(e, "            memcpy(sq + %lld + s * %lld, net->delta + s * %lld + %lld, %lld * sizeof(float));\n",
             (long long)c.r.dh, H, (long long)c.ds, (long long)(row * c.mw), H);
    if (l->kind == LAYER_LSTM)
        emit(e, "            memset(sq + %lld + s * %lld, 0, %lld * sizeof(float));   /* dc */\n", (long long)c.r.dc, H,
             H);
    emit(e, "        }\n");
    emit(e, "        for (int t = %lld; t >= 0; t--) {   /* back through time */\n", T - 1);
    emit(e, "            for (int s = 0; s < n; s++) {\n");
    if (l->return_all)
        emit(e, "                {   /* dh += this step's output gradient */\n"
                "                    float *dh = sq + %lld + s * %lld;\n"
                "                    const float *dout = net->delta + s * %lld + %lld + t * %lld;\n"
                "                    for (int j = 0; j < %lld; j++)\n                        dh[j] += dout[j];\n"
                "                }\n", (long long)c.r.dh, H, (long long)c.ds, (long long)(row * c.mw), H, H);
    emit(e, "                {\n");
    emit_cell_backward(e, l, &c, "                    ");
    emit(e, "                }\n            }\n");
    snprintf(part, sizeof part, "(sq + %lld + t * %lld)", (long long)c.r.dg, B * GH);
    emit_zero_rest(e, &c, part, GH, "            ");
    if (gru) {
        snprintf(part, sizeof part, "(sq + %lld + t * %lld)", (long long)c.r.dgh, B * GH);
        emit_zero_rest(e, &c, part, GH, "            ");
    }
    snprintf(a, sizeof a, "sq + %lld + t * %lld", (long long)(gru ? c.r.dgh : c.r.dg), B * GH);
    snprintf(cc, sizeof cc, "sq + %lld", (long long)c.r.dh);
    MatMul back = {"dh_{t-1} = dG_t W_hh, all samples", B, H, GH, "n", a, "w_hh", cc, NULL, GH, 1, H, H, gru};
    emit(e, "            if (t > 0)\n");
    emit_matmul(e, &back, "                ");
    emit(e, "        }\n");
    /* The weight gradients: sums over every step and sample (rows past n
     * are 0), a few steps at a time (about 32 rows: B's rows stay in L1) */
    int64_t cs = steps_per_chunk(T, B, GH * F), cs1 = T > 1 ? steps_per_chunk(T - 1, B, GH * H) : 1;
    emit(e, "        for (int t0 = 0; t0 < %lld; t0 += %lld) {\n", T, (long long)cs);
    snprintf(a, sizeof a, "(sq + %lld + t0 * %lld)", (long long)c.r.dg, B * GH);
    snprintf(b, sizeof b, "(sq + %lld + t0 * %lld)", (long long)c.r.x, B * F);
    MatMul gih = {"gw_ih += dG^T x", GH, F, cs * B, NULL, a, b, "gw_ih", NULL, 1, GH, F, F, true};
    emit_matmul(e, &gih, "            ");
    emit(e, "        }\n");
    if (T > 1) {
        emit(e, "        for (int t0 = 1; t0 < %lld; t0 += %lld) {\n", T, (long long)cs1);
        snprintf(a, sizeof a, "(sq + %lld + t0 * %lld)", (long long)(gru ? c.r.dgh : c.r.dg), B * GH);
        snprintf(b, sizeof b, "(sq + %lld + (t0 - 1) * %lld)", (long long)c.r.h, B * H);
        MatMul ghh = {"gw_hh += dG_t^T h_{t-1}", GH, H, cs1 * B, NULL, a, b, "gw_hh", NULL, 1, GH, H, H, true};
        emit_matmul(e, &ghh, "            ");
        emit(e, "        }\n");
    }
    if (gru) {   /* b_hn sits inside the reset product: its gradient is dG's with r applied (dgh) */
        emit(e, "        for (int k = 0; k < %lld; k++)\n", T * B);
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", GH);
        emit(e, "                gb_ih[j] += sq[%lld + k * %lld + j];\n", (long long)c.r.dg, GH);
        emit(e, "                gb_hh[j] += sq[%lld + k * %lld + j];\n", (long long)c.r.dgh, GH);
        emit(e, "            }\n");
    } else {   /* both biases add to the same gates: one sum, two copies */
        emit(e, "        for (int k = 0; k < %lld; k++)\n", T * B);
        emit(e, "            for (int j = 0; j < %lld; j++)\n", GH);
        emit(e, "                gb_ih[j] += sq[%lld + k * %lld + j];\n", (long long)c.r.dg, GH);
        emit(e, "        for (int j = 0; j < %lld; j++)\n            gb_hh[j] = gb_ih[j];\n", GH);
    }
    RtBuf code = {0};   /* din, for the first layer only if dx (emit_din_code) */
    Emitter sub = *e;
    sub.out = &code;
    emit(&sub, "        for (int s = 0; s < n; s++) {   /* din = dG W_ih, every step */\n");
    emit(&sub, "            float *din = net->delta + s * %lld + %lld;\n", (long long)c.ds, (long long)((row ^ 1) * c.mw));
    snprintf(a, sizeof a, "(sq + %lld + s * %lld)", (long long)c.r.dg, GH);
    MatMul din = {"din = dG W_ih", T, F, GH, NULL, a, "w_ih", "din", NULL, B * GH, 1, F, F, false};
    emit_matmul(&sub, &din, "            ");
    if (through_act(prod)) {
        emit(&sub, "            const float *in = %s;\n", c.x);
        emit_din_through_act_at(&sub, prod, T * F, "            ");
    }
    emit(&sub, "        }\n");
    emit_din_code(e, prod, &code, "        ");
    rt_buf_free(&code);
}

/* One sample (inference, NAME_forward): the state of the current step only,
 * in net->state.  Each step is two products of a row by a matrix, the
 * transposed weights (baked so in an inference-only file; the training
 * file's NAME_forward transposes them into net->wt first), in the order of
 * the training code's sums: the same numbers. */
static void emit_recurrent_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    Rec c = rec_of(e, l, NULL);
    long long H = c.H, GH = c.GH, F = c.F, T = c.T;
    emit(e, "        /* %s */\n", equations(l));
    emit_params(e, l, &c, e->param);
    if (e->infer) {
        emit(e, "        const float *wih_t = w_ih, *whh_t = w_hh;   /* baked transposed: [%lld][%lld], [%lld][%lld] */\n",
             F, GH, H, GH);
    } else {
        emit(e, "        float *wih_t = net->wt + %lld, *whh_t = wih_t + %lld;   /* [%lld][%lld], [%lld][%lld] */\n",
             (long long)l->wt_off, F * GH, F, GH, H, GH);
        emit_transpose(e, "wih_t", "w_ih", GH, F, GH, "        ");
        emit_transpose(e, "whh_t", "w_hh", GH, H, GH, "        ");
    }
    emit(e, "        const float *in = %s;   /* [%lld][%lld] */\n", in_ptr, T, F);
    emit(e, "        float *out = %s + %lld;   /* %s */\n", e->act, (long long)l->act_off,
         l->return_all ? "every step's h" : "the last step's h");
    emit(e, "        float *h = net->state + %lld;   /* [%lld] */\n", (long long)l->state_off, H);
    int64_t at = l->state_off + H;
    if (l->kind == LAYER_LSTM) {
        emit(e, "        float *cs = net->state + %lld;   /* [%lld] */\n", (long long)at, H);
        at += H;
    }
    emit(e, "        float *g = net->state + %lld;   /* [%lld]: this step's gates */\n", (long long)at, GH);
    at += GH;
    if (l->kind == LAYER_GRU)
        emit(e, "        float *gh = net->state + %lld;   /* [%lld]: h W_hh^T */\n", (long long)at, GH);
    emit(e, "        for (int j = 0; j < %lld; j++)\n            h[j] = 0.0f;\n", H);
    if (l->kind == LAYER_LSTM)
        emit(e, "        for (int j = 0; j < %lld; j++)\n            cs[j] = 0.0f;\n", H);
    emit(e, "        for (int t = 0; t < %lld; t++) {\n", T);
    emit(e, "            const float *xt = in + t * %lld;\n", F);
    if (l->kind == LAYER_GRU)
        emit(e, "            for (int j = 0; j < %lld; j++)   /* b_hn stays apart */\n"
                "                g[j] = b_ih[j] + (j < %lld ? b_hh[j] : 0.0f);\n", GH, 2 * H);
    else
        emit(e, "            for (int j = 0; j < %lld; j++)\n                g[j] = b_ih[j] + b_hh[j];\n", GH);
    MatMul in = {"gates += x_t W_ih^T", 1, GH, F, NULL, "xt", "wih_t", "g", NULL, F, 1, GH, GH, true};
    emit_matmul(e, &in, "            ");
    if (l->kind == LAYER_GRU) {
        MatMul rec = {"gh = h W_hh^T", 1, GH, H, NULL, "h", "whh_t", "gh", NULL, H, 1, GH, GH, false};
        emit_matmul(e, &rec, "            ");
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", H);
        emit(e, "                const float r = nnc_vsigmoid(g[j] + gh[j]), z = nnc_vsigmoid(g[%lld + j] + gh[%lld + j]);\n",
             H, H);
        emit(e, "                const float nn = nnc_vtanh(g[%lld + j] + r * (gh[%lld + j] + b_hh[%lld + j]));\n", 2 * H, 2 * H,
             2 * H);
        emit(e, "                h[j] = (1.0f - z) * nn + z * h[j];\n            }\n");
    } else {
        MatMul rec = {"gates += h W_hh^T", 1, GH, H, NULL, "h", "whh_t", "g", NULL, H, 1, GH, GH, true};
        emit_matmul(e, &rec, "            ");
        if (l->kind == LAYER_LSTM) {
            emit(e, "            for (int j = 0; j < %lld; j++) {\n", H);
            emit(e, "                const float i = nnc_vsigmoid(g[j]), f = nnc_vsigmoid(g[%lld + j]), gg = nnc_vtanh(g[%lld + j]),\n"
                    "                            o = nnc_vsigmoid(g[%lld + j]);\n", H, 2 * H, 3 * H);
            emit(e, "                cs[j] = f * cs[j] + i * gg;\n                h[j] = o * nnc_vtanh(cs[j]);\n            }\n");
        } else {
            emit(e, "            for (int j = 0; j < %lld; j++)\n                h[j] = %s(g[j]);\n", H,
                 l->cell_act == ACT_RELU ? "nnc_relu" : "nnc_vtanh");
        }
    }
    if (l->return_all)
        emit(e, "            memcpy(out + t * %lld, h, %lld * sizeof(float));\n", H, H);
    emit(e, "        }\n");
    if (!l->return_all)
        emit(e, "        memcpy(out, h, %lld * sizeof(float));\n", H);
}

static void emit_recurrent_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    (void)e, (void)l, (void)prod, (void)row, (void)in_ptr;   /* training always takes the whole-batch form */
}

static bool recurrent_whole_batch(const Emitter *e, const Layer *l)
{
    (void)e, (void)l;
    return true;
}

/* The products use the vector type; the cells nnc_vexp and its kin. */
static unsigned recurrent_needs(const Emitter *e, const Layer *l)
{
    (void)e;
    bool relu = l->kind == LAYER_RNN && l->cell_act == ACT_RELU;
    return EMIT_NEEDS_V8 | (relu ? EMIT_NEEDS_RELU : EMIT_NEEDS_VTANH) |
           (l->kind == LAYER_RNN ? 0 : EMIT_NEEDS_VSIGMOID);
}

const LayerEmitter recurrent_emitter = {
    .forward = emit_recurrent_forward,
    .backward = emit_recurrent_backward,
    .whole_batch = recurrent_whole_batch,
    .forward_batch = emit_recurrent_forward_batch,
    .backward_batch = emit_recurrent_backward_batch,
    .needs = recurrent_needs,
};
