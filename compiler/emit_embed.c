/* emit_embed.c — embedding tables: each step's input is an id in [0, V),
 * and the layer's output at that step is row `id` of its table [V][D], as
 * PyTorch's nn.Embedding.  The ids arrive as floats (the data's numbers); an
 * id out of range (or not a number) reads row 0 rather than outside the
 * table, and the runtime's loaders refuse such data before it gets here.
 * Backward, each step's gradient is added into its row of the table's
 * gradient; the input needs none. */
#include "emit.h"

static void emit_id(Emitter *e, const Layer *l)
{
    emit(e, "            const float v = in[t];\n");
    emit(e, "            const int id = v >= 0.0f && v < %lld.0f ? (int)v : 0;   /* never outside the table */\n",
         (long long)l->vocab);
}

static void emit_embed_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    long long T = l->in.steps, D = l->units;
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld] */\n", e->param, (long long)l->w_off,
         (long long)l->vocab, D);
    emit(e, "        const float *in = %s;   /* [%lld] ids */\n", in_ptr, T);
    emit(e, "        float *out = %s + %lld;   /* [%lld][%lld] */\n", e->act, (long long)l->act_off, T, D);
    emit(e, "        for (int t = 0; t < %lld; t++) {\n", T);
    emit_id(e, l);
    emit(e, "            memcpy(out + t * %lld, w + id * %lld, %lld * sizeof(float));\n        }\n", D, D, D);
}

static void emit_embed_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    long long T = l->in.steps, D = l->units;
    (void)prod;   /* embed is the first layer: nothing comes before it */
    emit(e, "        const float *dz = %s + %lld;   /* [%lld][%lld] */\n", e->delta,
         (long long)(row * e->net->max_width), T, D);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(e, "        for (int t = 0; t < %lld; t++) {   /* the rows of this sample's ids */\n", T);
    emit_id(e, l);
    emit(e, "            for (int d = 0; d < %lld; d++)\n                gw[id * %lld + d] += dz[t * %lld + d];\n"
            "        }\n", D, D, D);
}

const LayerEmitter embed_emitter = {
    .forward = emit_embed_forward,
    .backward = emit_embed_backward,
};
