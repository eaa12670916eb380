/* emit_dropout.c — dropout layers. */
#include "emit.h"

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

static void emit_dropout_din(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    emit(e, "        const float *mask = %s + %lld;\n", e->mask, (long long)l->mask_off);
    emit(e, "        float *din = %s + %lld;\n", e->delta, (long long)((row ^ 1) * n->max_width));
    if (through_act(prod))
        emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        for (int i = 0; i < %lld; i++)\n            din[i] = dz[i] * mask[i];\n", (long long)l->n_in);
    emit_din_through_act(e, prod, l->n_in);
}

/* All of its backward code is din: for the first layer only if dx. */
static void emit_dropout_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    emit_din_only(e, l, prod, row, in_ptr, emit_dropout_din);
}

const LayerEmitter dropout_emitter = {
    .forward = emit_dropout_forward,
    .backward = emit_dropout_backward,
};
