/* plan.c — the RAM of inference-only code: one array for every buffer of
 * one sample's forward pass, sized by what is alive at once.
 *
 * Training keeps every layer's output, because the backward pass reads
 * them all.  Inference needs a layer's input only while that layer runs, so
 * the buffers take turns in one array, net->act:
 *
 *   - each layer's output, alive from its layer's step to the step of the
 *     last layer that reads it (the network's output until NAME_forward
 *     copies it into y).  Flatten, and dropout (off in inference), have
 *     none: their output is their input;
 *   - a padded stride-1 convolution's padded input, alive during its layer,
 *     with room for the vectors that read past its end;
 *   - a stride-1 convolution writes each block of filters' rows wide
 *     straight into its own output, over the places of the filters still to
 *     come (emit_conv.c), so its output has room past its end for one
 *     block's extra width (conv_infer_needs);
 *   - pooling writes its output over its input when the input dies there:
 *     each output is written after its window is read and before any input
 *     a later window reads (pools have no padding, so windows only move
 *     forward).
 *
 * Placement is greedy, biggest first, each at the lowest offset that
 * overlaps no placed buffer alive at a common step; a pool's output goes
 * where its input went, with it.  (Offsets are not rounded up to vector or
 * cache-line sizes: the vector code loads and stores through memcpy, and the
 * small networks of microcontrollers would pay for the padding.)  The
 * copy of the network gets every act_off (and pin_off) in the plan, so the
 * layers' code reaches its buffers as before. */
#include "nnc.h"

#include <string.h>

/* Whether layer l may write its output over its input (see above). */
static bool writes_over_input(const Layer *l)
{
    return l->kind == LAYER_MAXPOOL || l->kind == LAYER_AVGPOOL;
}

/* Whether layer l has no output of its own in inference code. */
static bool passes_input(const Layer *l)
{
    return l->aliases_input || l->kind == LAYER_DROPOUT;
}

static bool alive_together(const PlanBuf *a, const PlanBuf *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* The buffer at the head of i's chain of buffers that take one place. */
static int head_of(const InferPlan *p, int i)
{
    while (p->buf[i].takes >= 0)
        i = p->buf[i].takes;
    return i;
}

/* The lowest offset where every buffer of head's chain overlaps no
 * placed buffer alive with it. */
static int64_t lowest_fit(const InferPlan *p, int head, const bool *placed)
{
    int64_t off = 0;
    bool moved = true;
    while (moved) {
        moved = false;
        for (int k = 0; k < p->n; k++) {
            if (head_of(p, k) != head)
                continue;
            const PlanBuf *b = &p->buf[k];
            for (int i = 0; i < p->n; i++) {
                const PlanBuf *o = &p->buf[i];
                if (placed[i] && alive_together(b, o) && off < o->off + o->floats && o->off < off + b->floats) {
                    off = o->off + o->floats;
                    moved = true;
                }
            }
        }
    }
    return off;
}

/* The buffers of network c's forward pass, their lifetimes, and each
 * layer's output buffer (out[i]; -1: x, or none).  With p->keep_all every
 * output is alive from the first step to the last, and none is written
 * over another. */
static void list_buffers(const Net *c, InferPlan *p, int *out, bool int8)
{
    int prev = -1;   /* the buffer holding the input of the layer in flight; -1: x */
    if (int8)        /* int8: the quantized input is a buffer too */
        p->buf[prev = p->n++] = (PlanBuf){"quantized input", 0, 0, 0, c->n_inputs, 0, -1};
    for (int i = 0; i < c->n_layers; i++) {
        const Layer *l = &c->layers[i];
        if (prev >= 0)
            p->buf[prev].last = i;
        out[i] = prev;
        if (passes_input(l))
            continue;
        if (int8 && i == c->n_layers - 1) {   /* int8: the output layer's sums go to acc */
            out[i] = -1;
            return;
        }
        int64_t pin = 0, spill = 0;
        if (l->kind == LAYER_CONV && !int8)   /* (int8 convolutions need neither) */
            conv_infer_needs(l, &pin, &spill);
        if (pin)
            p->buf[p->n++] = (PlanBuf){"padded input", i, i, i, pin, 0, -1};
        int takes = prev >= 0 && writes_over_input(l) && !p->keep_all ? prev : -1;
        p->buf[p->n] = (PlanBuf){"output", i, i, p->keep_all ? c->n_layers : i, l->n_out + spill, 0, takes};
        if (p->keep_all)
            p->buf[p->n].first = 0;
        prev = out[i] = p->n++;
    }
    if (prev >= 0)
        p->buf[prev].last = c->n_layers;
    for (int k = 0; p->keep_all && k < p->n; k++)   /* (reads above shortened them) */
        if (strcmp(p->buf[k].what, "output") == 0)
            p->buf[k].last = c->n_layers;
}

static void place(InferPlan *p, bool *placed)
{
    p->floats = 0;
    for (;;) {
        int best = -1;
        int64_t best_size = -1;
        for (int i = 0; i < p->n; i++) {
            if (placed[i] || p->buf[i].takes >= 0)
                continue;
            int64_t size = 0;   /* the chain's biggest */
            for (int k = 0; k < p->n; k++)
                if (head_of(p, k) == i && p->buf[k].floats > size)
                    size = p->buf[k].floats;
            if (size > best_size)
                best = i, best_size = size;
        }
        if (best < 0)
            return;
        int64_t off = lowest_fit(p, best, placed);
        for (int k = 0; k < p->n; k++) {
            if (head_of(p, k) != best)
                continue;
            p->buf[k].off = off;
            placed[k] = true;
            if (off + p->buf[k].floats > p->floats)
                p->floats = off + p->buf[k].floats;
        }
    }
}

/* The plan of network c (its layers' offsets not yet set); out[i]: layer
 * i's output buffer. */
static InferPlan *make_plan(const Net *c, bool keep_all, bool int8, Arena *arena, int *out)
{
    InferPlan *p = arena_alloc(arena, sizeof *p);
    p->keep_all = keep_all;
    /* an output and a padded input a layer, and an int8 network's input */
    p->buf = arena_alloc(arena, (size_t)(2 * c->n_layers + 1) * sizeof *p->buf);
    list_buffers(c, p, out, int8);
    place(p, arena_alloc(arena, (size_t)(p->n ? p->n : 1) * sizeof(bool)));
    return p;
}

InferPlan *plan_int8(const Net *n, Arena *arena, int *out)
{
    return make_plan(n, false, true, arena, out);
}

Module *plan_inference(const Module *m, const Net *n, bool keep_all, Arena *arena, const Net **planned)
{
    Module *cm = arena_alloc(arena, sizeof *cm);
    *cm = *m;
    Net *nets = arena_alloc(arena, (size_t)m->n_nets * sizeof *nets);
    memcpy(nets, m->nets, (size_t)m->n_nets * sizeof *nets);
    cm->nets = nets;
    Net *c = &nets[n - m->nets];
    c->layers = arena_alloc(arena, (size_t)n->n_layers * sizeof *c->layers);
    memcpy(c->layers, n->layers, (size_t)n->n_layers * sizeof *c->layers);

    int *out = arena_alloc(arena, (size_t)n->n_layers * sizeof *out);
    InferPlan *p = make_plan(c, keep_all, false, arena, out);
    p->kept = keep_all ? p->floats
                       : make_plan(c, true, false, arena, arena_alloc(arena, (size_t)n->n_layers * sizeof *out))->floats;
    for (int i = 0; i < c->n_layers; i++)   /* (dropout too: the emitter writes no code for it) */
        c->layers[i].aliases_input = passes_input(&c->layers[i]);
    for (int i = 0; i < p->n; i++) {
        Layer *l = &c->layers[p->buf[i].layer];
        if (strcmp(p->buf[i].what, "output") == 0)
            l->act_off = p->buf[i].off;
        else
            l->pin_off = p->buf[i].off;
    }
    for (int i = 0; i < c->n_layers; i++)   /* a layer passing its input on: where that input is */
        if (c->layers[i].aliases_input)
            c->layers[i].act_off = out[i] >= 0 ? p->buf[out[i]].off : 0;

    /* the buffers: act becomes the plan's one array, for one sample; pad goes */
    c->n_buffers = 0;
    for (int i = 0; i < n->n_buffers; i++) {
        Buffer b = n->buffers[i];
        if (strcmp(b.name, "pad") == 0)
            continue;
        if (strcmp(b.name, "act") == 0)
            b = (Buffer){"act", keep_all ? "every layer's output and the scratch of one sample (--keep-activations)"
                                         : "layer outputs and scratch of one sample, sharing places by turns",
                         p->floats, 1};
        c->buffers[c->n_buffers++] = b;
    }
    c->n_act = p->floats;
    c->plan = p;
    *planned = c;
    return cm;
}
