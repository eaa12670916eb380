/* ir_print.c — the IR as text (`nnc --emit=ir`): every layer with its shapes
 * and parameter offsets, and the buffers of the emitted struct with their
 * sizes, so a user sees exactly how much memory the network takes. */
#include "nnc.h"

#include <string.h>

/* "relu", "leaky_relu(0.2)" */
static void describe_act(RtBuf *b, const Layer *l)
{
    const ActInfo *a = &act_info[l->act];
    if (a->takes_param && l->act_param != a->default_param)
        rt_buf_printf(b, "%s(%g)", a->keyword, l->act_param);
    else
        rt_buf_puts(b, a->keyword);
}

/* "2", "1x28x28", "[28][28]" (28 steps of 28) */
static const char *shape_text(char out[64], Shape s)
{
    if (s.steps)
        snprintf(out, 64, "[%lld][%lld]", (long long)s.steps, (long long)s.c);
    else if (s.image)
        snprintf(out, 64, "%lldx%lldx%lld", (long long)s.c, (long long)s.h, (long long)s.w);
    else
        snprintf(out, 64, "%lld", (long long)s.c);
    return out;
}

/* One line per layer kind, used in banners and the IR: "dense 2 -> 1 sigmoid" */
void ir_describe_layer(RtBuf *b, const Layer *l)
{
    char in[64], out[64];
    rt_buf_printf(b, "%s %s -> %s", layer_info[l->kind].keyword, shape_text(in, l->in), shape_text(out, l->out));
    if (l->kind == LAYER_DROPOUT)
        rt_buf_printf(b, " p=%g", l->rate);
    if (l->kind == LAYER_DENSE || l->kind == LAYER_CONV) {
        rt_buf_puts(b, " ");
        describe_act(b, l);
    }
    if (l->kind == LAYER_RNN)
        rt_buf_printf(b, " %s", act_info[l->cell_act].keyword);
}

/* "2 -> dense 2 sigmoid -> dense 1 sigmoid" */
void ir_describe_net(RtBuf *b, const Net *n)
{
    char in[64];
    rt_buf_puts(b, shape_text(in, n->input));
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        rt_buf_printf(b, " -> %s", layer_info[l->kind].keyword);
        if (l->kind == LAYER_DROPOUT)
            rt_buf_printf(b, " %g", l->rate);
        if (l->kind == LAYER_DENSE || l->kind == LAYER_CONV) {
            rt_buf_printf(b, " %lld ", (long long)l->units);
            describe_act(b, l);
        }
        if (layer_is_recurrent(l)) {
            rt_buf_printf(b, " %lld", (long long)l->units);
            if (l->kind == LAYER_RNN)
                rt_buf_printf(b, " %s", act_info[l->cell_act].keyword);
            if (l->return_all)
                rt_buf_puts(b, " return=all");
        }
        if (l->kind == LAYER_EMBED)
            rt_buf_printf(b, " %lld %lld", (long long)l->vocab, (long long)l->units);
    }
}

void ir_describe_optim(RtBuf *b, const Net *n)
{
    const Optim *o = &n->optim;
    rt_buf_printf(b, "%s lr=%g", optim_keyword[o->kind], o->lr);
    if (o->kind == OPTIM_SGD && o->momentum != 0)
        rt_buf_printf(b, " momentum=%g", o->momentum);
    if (o->kind == OPTIM_ADAM)
        rt_buf_printf(b, " beta1=%g beta2=%g eps=%g", o->beta1, o->beta2, o->eps);
    if (o->weight_decay != 0)
        rt_buf_printf(b, " weight_decay=%g", o->weight_decay);
    if (o->clip != 0)
        rt_buf_printf(b, " clip=%g", o->clip);
}

/* "step every=10 gamma=0.1", "exponential gamma=0.95 warmup=3", "cosine
 * min=0": every option with its value (the defaults too, but no warmup=0);
 * nothing without a schedule statement. */
void ir_describe_schedule(RtBuf *b, const Net *n)
{
    const Schedule *s = &n->sched;
    if (s->kind == SCHED_NONE)
        return;
    rt_buf_puts(b, sched_keyword[s->kind]);
    if (s->kind == SCHED_STEP)
        rt_buf_printf(b, " every=%lld", (long long)s->every);
    if (s->kind == SCHED_STEP || s->kind == SCHED_EXPONENTIAL)
        rt_buf_printf(b, " gamma=%g", s->gamma);
    if (s->kind == SCHED_COSINE)
        rt_buf_printf(b, " min=%g", s->min);
    if (s->warmup)
        rt_buf_printf(b, " warmup=%lld", (long long)s->warmup);
}

static void print_init(RtBuf *b, const Init *in)
{
    switch (in->kind) {
    case INIT_UNIFORM:
        rt_buf_printf(b, "uniform(%g, %g)", in->a, in->b);
        break;
    case INIT_NORMAL:
        rt_buf_printf(b, "normal(%g, %g)", in->a, in->b);
        break;
    case INIT_DEFAULT:
        rt_buf_puts(b, "default (xavier, or he before relu/leaky_relu)");
        break;
    default:
        rt_buf_puts(b, init_keyword[in->kind]);
        break;
    }
}

/* The network's first line ("network xor (xor.nn:6)" and `how`), its input
 * and its layers with their shapes and offsets. */
static void print_layers(RtBuf *b, const Module *m, const Net *n, const char *how)
{
    rt_buf_printf(b, "network %s (%s:%d)%s\n", n->name, m->src->name, n->loc.first_line, how);
    if (n->input.steps)
        rt_buf_printf(b, "  input    [%lld][%lld] = %lld floats (%lld steps of %lld%s)\n", (long long)n->input.steps,
                      (long long)n->input.c, (long long)n->n_inputs, (long long)n->input.steps, (long long)n->input.c,
                      n->layers[0].kind == LAYER_EMBED ? ": one id each" : "");
    else if (n->input.image)
        rt_buf_printf(b, "  input    %lldx%lldx%lld = %lld floats\n", (long long)n->input.c, (long long)n->input.h,
                   (long long)n->input.w, (long long)n->n_inputs);
    else
        rt_buf_printf(b, "  input    %lld floats\n", (long long)n->n_inputs);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        rt_buf_printf(b, "  layer %d  ", l->index);
        ir_describe_layer(b, l);
        rt_buf_printf(b, "  (line %d)\n", l->line);
        if (l->kind == LAYER_CONV)
            rt_buf_printf(b, "           kernel %lldx%lld stride %lldx%lld pad %lldx%lld\n", (long long)l->kh,
                       (long long)l->kw, (long long)l->stride_h, (long long)l->stride_w, (long long)l->pad_h,
                       (long long)l->pad_w);
        else if (l->kind == LAYER_MAXPOOL || l->kind == LAYER_AVGPOOL)
            rt_buf_printf(b, "           window %lldx%lld stride %lldx%lld\n", (long long)l->kh, (long long)l->kw,
                       (long long)l->stride_h, (long long)l->stride_w);
        if (layer_is_recurrent(l)) {
            RecurrentLayout r = recurrent_layout(l, n->batch);
            int64_t gh = r.g * l->units, T = l->in.steps, H = l->units;
            rt_buf_printf(b, "           weight_ih @%lld [%lld][%lld]  weight_hh @%lld [%lld][%lld]\n",
                          (long long)l->w_off, (long long)gh, (long long)l->in.c, (long long)(l->w_off + gh * l->in.c),
                          (long long)gh, (long long)H);
            rt_buf_printf(b, "           bias_ih @%lld [%lld]  bias_hh @%lld [%lld]\n", (long long)l->b_off,
                          (long long)gh, (long long)(l->b_off + gh), (long long)gh);
            rt_buf_printf(b, "           steps seq@%lld [%lld] = %lld a sample, [step][sample] of: input [%lld], gates [%lld], "
                          "h [%lld]", (long long)l->seq_off, (long long)r.total, (long long)r.sample,
                          (long long)l->in.c, (long long)gh, (long long)H);
            if (l->kind == LAYER_LSTM)
                rt_buf_printf(b, ", c [%lld]", (long long)H);
            if (l->kind == LAYER_GRU)
                rt_buf_printf(b, ", hn [%lld]", (long long)H);
            rt_buf_printf(b, ",\n             their gradients [%lld]%s over %lld steps; per sample dh%s, scratch [%lld]\n",
                          (long long)gh, l->kind == LAYER_GRU ? " (input and hidden parts)" : "", (long long)T,
                          l->kind == LAYER_LSTM ? " and dc" : "", (long long)gh);
        } else if (l->w_len && l->b_len) {
            rt_buf_printf(b, "           weight @%lld [%lld]  bias @%lld [%lld]\n", (long long)l->w_off,
                       (long long)l->w_len, (long long)l->b_off, (long long)l->b_len);
        } else if (l->w_len) {
            rt_buf_printf(b, "           weight @%lld [%lld][%lld]\n", (long long)l->w_off, (long long)l->vocab,
                          (long long)l->units);
        }
        if (l->aliases_input)
            rt_buf_printf(b, "           output aliases its input\n");
        else
            rt_buf_printf(b, "           output act@%lld [%lld]\n", (long long)l->act_off, (long long)l->n_out);
    }
}

static void print_buffer(RtBuf *b, const char *name, int64_t floats, const char *what)
{
    rt_buf_printf(b, "    %-9s %10lld floats %12lld bytes  %s\n", name, (long long)floats, (long long)floats * 4, what);
}

static void print_net(RtBuf *b, const Module *m, const Net *n)
{
    print_layers(b, m, n, "");
    rt_buf_printf(b, "  loss     %s\n  optim    ", loss_keyword[n->loss]);
    ir_describe_optim(b, n);
    if (n->sched.kind != SCHED_NONE) {
        rt_buf_puts(b, "\n  schedule ");
        ir_describe_schedule(b, n);
    }
    rt_buf_printf(b, "\n  batch    %lld\n  epochs   %lld\n  init     ", (long long)n->batch, (long long)n->epochs);
    print_init(b, &n->init);
    rt_buf_printf(b, "\n  seed     %llu%s\n", (unsigned long long)n->seed, n->has_seed ? "" : " (default)");
    rt_buf_printf(b, "  params   %lld\n", (long long)n->n_params);
    rt_buf_printf(b, "  buffers\n");
    for (int i = 0; i < n->n_buffers; i++)
        print_buffer(b, n->buffers[i].name, n->buffers[i].floats, n->buffers[i].what);
    int64_t floats = 0;
    for (int i = 0; i < n->n_buffers; i++)
        floats += n->buffers[i].floats;
    rt_buf_printf(b, "    %-9s %10s        %12lld bytes  learning rate, step count (and alignment)\n", "scalars", "",
               (long long)(n->struct_bytes - floats * 4));
    rt_buf_printf(b, "  total    sizeof(%s) = %lld bytes (where uint64_t is 8-byte aligned)\n", n->name,
               (long long)n->struct_bytes);
}

/* The places of the buffers that take turns in act (plan.c), in `unit`s. */
static void print_plan(RtBuf *b, const Net *n, const InferPlan *p, const char *unit)
{
    if (p->keep_all)
        rt_buf_printf(b, "  plan     act: every layer's output in a place of its own (--keep-activations)\n");
    else if (p->kept)
        rt_buf_printf(b, "  plan     act: the buffers take turns (%lld %s; with every output kept, %lld)\n",
                      (long long)p->floats, unit, (long long)p->kept);
    else
        rt_buf_printf(b, "  plan     act: the buffers take turns (%lld %s)\n", (long long)p->floats, unit);
    for (int i = 0; i < p->n; i++) {
        const PlanBuf *pb = &p->buf[i];
        const Layer *l = &n->layers[pb->layer];
        char life[48], extra[64] = "";
        if (pb->last == n->n_layers && pb->last == pb->first + 1)
            snprintf(life, sizeof life, "layer %d, then y", pb->first + 1);
        else if (pb->last == n->n_layers)
            snprintf(life, sizeof life, "layers %d..%d, then y", pb->first + 1, pb->last);
        else if (pb->last > pb->first)
            snprintf(life, sizeof life, "layers %d..%d", pb->first + 1, pb->last + 1);
        else
            snprintf(life, sizeof life, "layer %d", pb->first + 1);
        if (strcmp(pb->what, "output") == 0 && pb->floats > l->n_out)
            snprintf(extra, sizeof extra, " (+%lld for its wide rows)", (long long)(pb->floats - l->n_out));
        char whose[48];
        if (strcmp(pb->what, "quantized input") == 0)
            snprintf(whose, sizeof whose, "the quantized input");
        else
            snprintf(whose, sizeof whose, "layer %d's %s", pb->layer + 1, pb->what);
        rt_buf_printf(b, "    act@%-6lld %8lld %-6s  alive %-18s %s%s%s\n", (long long)pb->off, (long long)pb->floats,
                      strcmp(unit, "bytes") == 0 ? (pb->floats == 1 ? "byte" : "bytes")
                                                 : (pb->floats == 1 ? "float" : "floats"),
                      life, whose, extra, pb->takes >= 0 ? ", written over its input" : "");
    }
}

/* What the inference-only C of the network needs: the one-sample struct
 * (RAM) and the const weights (flash), as its header comment says. */
void ir_print_infer(RtBuf *b, const Module *m, const Net *n)
{
    print_layers(b, m, n, ", inference only, with trained weights");
    rt_buf_printf(b, "  params   %lld, constants (%s_param)\n", (long long)n->n_params, n->name);
    rt_buf_printf(b, "  buffers  (one sample)\n");
    for (int i = 0; i < n->n_buffers; i++) {
        const Buffer *buf = &n->buffers[i];
        if (buffer_in_inference(buf))
            print_buffer(b, buf->name, buf->floats / buf->rows, buf->what);
    }
    if (n->plan)
        print_plan(b, n, n->plan, "floats");
    rt_buf_printf(b, "  RAM      sizeof(%s) = %lld bytes, besides the stack\n", n->name, (long long)infer_ram_bytes(n));
    rt_buf_printf(b, "  flash    %s_param = %lld bytes, besides the code\n", n->name, (long long)infer_flash_bytes(n));
}

/* The range a per-channel scale takes: "0.0012" or "0.0012 .. 0.0045". */
static void scale_range(RtBuf *b, const double *v, int64_t n)
{
    double lo = v[0], hi = v[0];
    for (int64_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    if (lo == hi)
        rt_buf_printf(b, "%.6g", lo);
    else
        rt_buf_printf(b, "%.6g .. %.6g", lo, hi);
}

void ir_print_int8(RtBuf *b, const Module *m, const QNet *q)
{
    const Net *n = q->net;
    char how[96];
    snprintf(how, sizeof how, ", int8, quantized after training (calibrated on %lld samples)", (long long)q->n_calib);
    rt_buf_printf(b, "network %s (%s:%d)%s\n", n->name, m->src->name, n->loc.first_line, how);
    rt_buf_printf(b, "  input    %lld values, x_q = round(x / %.6g) %c %ld\n", (long long)n->n_inputs, q->in_scale,
                  q->in_zp < 0 ? '-' : '+', (long)(q->in_zp < 0 ? -(long)q->in_zp : (long)q->in_zp));
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        const QLayer *ql = &q->layers[i];
        rt_buf_printf(b, "  layer %d  ", l->index);
        ir_describe_layer(b, l);
        rt_buf_printf(b, "  (line %d)\n", l->line);
        if (ql->w) {
            rt_buf_printf(b, "           weights int8, a scale per output channel (");
            scale_range(b, ql->w_scale, l->b_len);
            rt_buf_printf(b, "); biases int32\n");
        }
        if (i == n->n_layers - 1)
            rt_buf_printf(b, "           output: int32 sums (acc), times their scales, then %s in float\n",
                          act_info[l->act].keyword);
        else if (ql->has_buffer)
            rt_buf_printf(b, "           output int8 act@%lld [%lld], scale %.6g, zero point %ld%s\n", (long long)ql->off,
                          (long long)l->n_out, ql->out_scale, (long)ql->out_zp,
                          ql->w && l->act == ACT_RELU ? " (relu: nothing below the zero point)" : "");
        else
            rt_buf_printf(b, "           output aliases its input\n");
    }
    print_plan(b, n, q->plan, "bytes");
    rt_buf_printf(b, "  RAM      sizeof(%s) = %lld bytes, besides the stack\n", n->name, (long long)q->ram_bytes);
    rt_buf_printf(b, "  flash    %s_q = %lld bytes, besides the code (float weights: %lld)\n", n->name,
                  (long long)q->flash_bytes, (long long)infer_flash_bytes(n));
}

static void print_gan(RtBuf *b, const Module *m, const Gan *g)
{
    int64_t B = g->gen->batch, nz = g->gen->n_inputs, ns = g->disc->n_inputs;
    rt_buf_printf(b, "gan %s (%s:%d)\n", g->name, m->src->name, g->loc.first_line);
    rt_buf_printf(b, "  generator      %s (%lld -> %lld)\n", g->gen->name, (long long)nz, (long long)ns);
    rt_buf_printf(b, "  discriminator  %s (%lld -> 1)\n", g->disc->name, (long long)ns);
    rt_buf_printf(b, "  noise          %s(%g, %g)\n", g->noise == NOISE_NORMAL ? "normal" : "uniform", g->noise_a,
                  g->noise_b);
    rt_buf_printf(b, "  batch          %lld\n", (long long)B);
    rt_buf_printf(b, "  buffers (beside both networks)\n");
    char zwhat[200];
    snprintf(zwhat, sizeof zwhat, "the noise %.100s_step drew last", g->name);
    struct { const char *name; int64_t floats; const char *what; } bufs[] = {
        {"z", B * nz, zwhat},
        {"fake", B * ns, "G(z) of the last step"},
        {"dfake", B * ns, "dLoss_G/d(G(z)), from the discriminator"},
        {"dgrad", g->disc->n_params, "the discriminator's gradient on the real samples"},
        {"ones, zeros", 2 * B, "the targets"},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_buf_printf(b, "    %-12s %8lld floats %12lld bytes  %s\n", bufs[i].name, (long long)bufs[i].floats,
                      (long long)(4 * bufs[i].floats), bufs[i].what);
    rt_buf_printf(b, "  total    sizeof(%s) = %lld bytes (where uint64_t is 8-byte aligned)\n", g->name,
                  (long long)gan_struct_bytes(g));
}

void ir_print(RtBuf *b, const Module *m)
{
    for (int i = 0; i < m->n_nets; i++) {
        if (i)
            rt_buf_puts(b, "\n");
        print_net(b, m, &m->nets[i]);
    }
    for (int i = 0; i < m->n_gans; i++) {
        rt_buf_puts(b, "\n");
        print_gan(b, m, &m->gans[i]);
    }
}
