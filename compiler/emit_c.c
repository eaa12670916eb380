/* emit_c.c — the C emitter's driver: IR -> specialized C.
 *
 * It writes the .h (emit_header.c), then for each network NAME_init,
 * NAME_schedule (emit_optim.c), the forward pass, the backward pass and the
 * entry points (NAME_forward, NAME_forward_batch, NAME_backward,
 * NAME_train_step, ...), reaching each layer's code through its family's
 * hooks (emit.h; ops.def names the family of each layer kind).  emit.h
 * describes the files of the emitter. */
#include "emit.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* Flatten keeps CHW order: its output is its input (lower.c gives it no
 * buffer of its own), so it has no code. */
const LayerEmitter flatten_emitter = {.no_code = ": CHW order is kept, nothing to do"};

const LayerEmitter *layer_emitter(LayerKind kind)
{
    static const LayerEmitter *const table[LAYER__COUNT] = {
#define LAYER(id, kw, hp, family) &family##_emitter,
#include "ops.def"
#undef LAYER
    };
    return table[kind];
}

/* ---- init ---- */

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
    /* NAME_init's work but the clearing, for a struct known to be zero:
     * the JIT's calloc'ed state, whose pages (megabytes of a batch's
     * activations) need not all be touched before training does. */
    emit(e, "/* NAME_init on a struct that is all zero already */\n");
    emit(e, "static void %s_init_zeroed(%s *net, uint64_t seed)\n{\n", n->name, n->name);
    emit(e, "    uint64_t rng = seed;\n\n");
    emit(e, "    net->lr = %s;\n", fmt_float(lr, n->optim.lr));
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!l->w_len)
            continue;
        Init in;
        bool torch_default = layer_init(n, l, &in);
        double fan_in = (double)l->w_len / (double)l->units, fan_out = (double)l->units * (double)(l->kh ? l->kh * l->kw : 1);
        double bound = in.kind == INIT_HE ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
        emit(e, "    /* layer %d: %s (%s:%d): %s */\n", l->index, layer_info[l->kind].keyword, e->mod->src->name,
             l->line,
             torch_default && l->kind == LAYER_EMBED ? "PyTorch's default: normal(0, 1)"
             : torch_default          ? "PyTorch's default: weights and biases uniform(-1/sqrt(H), 1/sqrt(H))"
             : in.kind == INIT_HE     ? "He uniform, bound sqrt(6 / fan_in); biases 0"
             : in.kind == INIT_XAVIER ? "Xavier uniform, bound sqrt(6 / (fan_in + fan_out)); biases 0"
             : in.kind == INIT_UNIFORM ? "weights and biases uniform"
                                       : "weights and biases normal");
        emit_fill(e, "weight", l->w_off, l->w_len, &in, bound);
        if ((in.kind == INIT_UNIFORM || in.kind == INIT_NORMAL) && l->b_len)
            emit_fill(e, "bias", l->b_off, l->b_len, &in, bound);
    }
    if (n->has_dropout)
        emit(e, "    net->rng = rng;   /* dropout masks continue the same random stream */\n");
    emit(e, "}\n\n");
    emit(e, "void %s_init(%s *net, uint64_t seed)\n{\n", n->name, n->name);
    emit(e, "    memset(net, 0, sizeof *net);\n    %s_init_zeroed(net, seed);\n}\n\n", n->name);
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

typedef enum { PASS_FORWARD, PASS_LOSS, PASS_OUTPUT_GRAD, PASS_BACKWARD } Pass;

/* The per-sample code of one layer and pass, for the sample in flight. */
static void emit_layer_code(Emitter *e, Pass pass, const Layer *l, int row)
{
    const Net *n = e->net;
    const Layer *p = l ? producer(n, (int)(l - n->layers)) : NULL;
    char in_ptr[64];
    act_ptr(e, in_ptr, p ? p->act_off : -1);
    if (pass == PASS_LOSS)
        emit_loss(e);
    else if (pass == PASS_OUTPUT_GRAD)
        emit_output_grad(e);
    else if (pass == PASS_FORWARD)
        layer_emitter(l->kind)->forward(e, l, in_ptr);
    else
        layer_emitter(l->kind)->backward(e, l, p, row, in_ptr);
}

/* A layer's code for every sample: as it is for a single sample (inference,
 * batch 1), else in a loop over the n samples with each one's rows.  In a
 * batch, consecutive per-sample layers (ls[0 .. count-1], the rows each
 * uses going backward) share one loop: a sample goes through all of them
 * while its activations and gradients are in cache, instead of each layer
 * streaming the whole batch's through it.  Each layer's sums over the
 * samples still take them in order, so the results are the same bits. */
static void emit_per_sample(Emitter *e, Pass pass, const Layer *const *ls, const int *rows, int count)
{
    const Net *n = e->net;
    Emitter sub = *e;
    if (e->infer || e->single || n->batch == 1) {
        sub.x = "x", sub.act = "net->act", sub.delta = "net->delta", sub.logit = "net->logit";
        sub.mask = "net->mask", sub.t = pass == PASS_OUTPUT_GRAD ? "dy" : "t";
        emit(e, "    {\n");
        emit_layer_code(&sub, pass, ls[0], rows[0]);
        emit(e, "    }\n");
        return;
    }
    RtBuf body = {0};
    sub.out = &body;
    sub.x = "xs", sub.act = "act", sub.delta = "delta", sub.logit = "logit", sub.mask = "masks";
    sub.t = pass == PASS_OUTPUT_GRAD ? "dys" : "ts";
    for (int i = 0; i < count; i++) {
        if (count == 1) {   /* alone in its loop: as it always was */
            emit_layer_code(&sub, pass, ls[i], rows[i]);
            break;
        }
        RtBuf part = {0};   /* sharing it: each layer's names in a block of its own */
        Emitter ps = sub;
        ps.out = &part;
        emit_banner(&ps, ls[i], pass == PASS_BACKWARD ? " backward" : "");
        emit(&ps, "    {\n");
        emit_layer_code(&ps, pass, ls[i], rows[i]);
        emit(&ps, "    }\n");
        emit_indented(&sub, &part);
        rt_buf_free(&part);
    }
    const char *code = body.data ? body.data : "";
    emit(e, "    for (int s = 0; s < n; s++) {\n");
    if (mentions(code, "xs"))
        emit(e, "        const float *xs = x + s * %lld;\n", (long long)n->n_inputs);
    if (mentions(code, "ts"))
        emit(e, "        const float *ts = t + s * %lld;\n", (long long)n->n_outputs);
    if (mentions(code, "dys"))
        emit(e, "        const float *dys = dy + s * %lld;\n", (long long)n->n_outputs);
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
    rt_buf_free(&body);
}

/* emit_per_sample of one layer, or of none (the loss). */
static void emit_per_sample_one(Emitter *e, Pass pass, const Layer *l, int row)
{
    emit_per_sample(e, pass, &l, &row, 1);
}

static bool batched(const Emitter *e)
{
    return !e->infer && !e->single && e->net->batch > 1;
}

/* Whether the training code runs layer l over the whole batch at once, as
 * its family says (inference-only code and NAME_run_one never do). */
static bool whole_batch(const Emitter *e, const Layer *l)
{
    const LayerEmitter *le = layer_emitter(l->kind);
    return !e->infer && !e->single && le->whole_batch && le->whole_batch(e, l);
}

/* Whether layer l joins its neighbours' loop over the samples (see
 * emit_per_sample): per-sample code in a batch, and not dropout, whose masks
 * are drawn from net->rng layer by layer in sample order. */
static bool shares_sample_loop(const Emitter *e, const Layer *l)
{
    return batched(e) && layer_emitter(l->kind)->forward && !whole_batch(e, l) && l->kind != LAYER_DROPOUT;
}

enum { MAX_SHARED = 16 };   /* layers in one loop over the samples */

/* The banner of a loop that layers first .. last share. */
static void emit_shared_banner(Emitter *e, const Layer *first, const Layer *last, const char *what)
{
    emit(e, "    /* layers %d to %d%s, one sample at a time through all of them */\n", first->index, last->index, what);
}

/* A whole-batch layer's block; in a batch-1 network's functions, which take
 * no count, with `n` = 1. */
static void open_whole_batch(Emitter *e)
{
    emit(e, "    {\n");
    if (!batched(e))
        emit(e, "        const int n = 1;   /* a batch-1 network: one sample */\n");
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
    } else if (e->infer) {
        emit(e, "/* Forward pass of one sample: each layer's output into its place in net->act,\n"
                " * which the layers share by turns (the plan is in the header). */\n");
        emit(e, "static void %s_run(%s *net, const float *x)\n{\n", n->name, n->name);
    } else {
        emit(e, "/* Forward pass of one sample: every layer's output into net->act%s. */\n",
             train_flag ? "; `train` draws dropout masks, otherwise dropout passes values through" : "");
        emit(e, "static void %s_run(%s *net, const float *x%s)\n{\n", n->name, n->name, train_flag ? ", int train" : "");
    }
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!layer_emitter(l->kind)->forward) {
            emit_banner(e, l, layer_emitter(l->kind)->no_code);
            continue;
        }
        if (e->infer && l->aliases_input) {   /* dropout: plan.c gives it no buffer of its own */
            emit_banner(e, l, ": off in inference, its input passes on");
            continue;
        }
        if (whole_batch(e, l)) {
            emit_banner(e, l, batched(e) ? ", all samples at once" : "");
            open_whole_batch(e);
            layer_emitter(l->kind)->forward_batch(e, l);
            emit(e, "    }\n");
            continue;
        }
        const Layer *ls[MAX_SHARED] = {l};
        int rows[MAX_SHARED] = {0}, count = 1;
        while (count < MAX_SHARED && i + 1 < n->n_layers && shares_sample_loop(e, l) &&
               shares_sample_loop(e, &n->layers[i + 1]))
            ls[count++] = &n->layers[++i];
        if (count == 1)
            emit_banner(e, l, "");
        else
            emit_shared_banner(e, ls[0], ls[count - 1], "");
        emit_per_sample(e, PASS_FORWARD, ls, rows, count);
    }
    emit(e, "}\n\n");
}

/* The first layer with code of its own (not a flatten); NULL if none. */
static const Layer *first_layer(const Net *n)
{
    for (int i = 0; i < n->n_layers; i++)
        if (!n->layers[i].aliases_input)
            return &n->layers[i];
    return NULL;
}

/* The optimizer step of layer l where its gradient is complete (unless its
 * gradient code applies it, or clip makes it wait for the whole gradient). */
static void emit_layer_step(Emitter *e, const Layer *l, bool clip)
{
    if (l->w_len && gemm_block_step(e, l))
        emit(e, "    if (update)   /* its weights took their step block by block: now the bias */\n"
                "        %s_update_params(net, %lld, %lld%s);\n", e->net->name, (long long)l->b_off,
             (long long)(l->b_off + l->b_len), update_params_args(e));
    else if (l->w_len && !fused_update(e, l) && !clip)
        emit(e, "    if (update)   /* its gradient is complete: the optimizer step, while it is in cache */\n"
                "        %s_update_params(net, %lld, %lld%s);\n", e->net->name, (long long)l->w_off,
             (long long)(l->b_off + l->b_len), update_params_args(e));
}

static void emit_backward_pass(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    bool many = batched(e);
    bool stores = false;
    for (int i = 0; i < n->n_layers; i++)
        stores |= n->layers[i].gemm && many;
    bool clip = n->optim.clip != 0, lossless = n->loss == LOSS_NONE;
    const Layer *first = first_layer(n);
    bool ids = first && first->kind == LAYER_EMBED;
    emit(e, "/* Backward pass of the %s last run: adds %s gradient, times `scale`,\n"
            " * into net->grad%s,\n"
            " * and returns %s%s\n", many ? "n samples" : "sample",
         many ? "their" : "its", stores ? " (the batched dense layers store theirs)" : "",
         lossless ? "0 (loss none: dLoss/dy comes from the caller)" : many ? "the sum of their losses" : "its loss",
         clip ? " (with clip, the step needs the whole gradient: `update` is unused)." :
                "; with `update`, each layer's optimizer step follows its gradient.");
    emit(e, " * %s dLoss/dy at the outputs%s; with dx, also\n"
            " * dLoss/dx at the inputs (%s_backward_from). */\n",
         lossless ? "`dy` (not NULL) gives" : "Without `dy`, the loss against the targets t gives; with `dy`, that gives",
         many ? ", a row per sample" : "", N);
    emit(e, "static float %s_backward_pass(%s *net, const float *x, const float *t, const float *dy, float *dx, %s"
            "float scale, int update)\n{\n", N, N, many ? "int n, " : "");
    emit(e, "    float loss = 0.0f;\n");
    if (clip)
        emit(e, "    (void)update;   /* with clip, the update waits for the whole gradient */\n");
    else if (n->optim.kind == OPTIM_ADAM && n->n_params > 0)
        emit_adam_bias_call(e, "    ", "update");
    /* A network that starts with a pooling or dropout layer reads x going
     * backward only for dx; a recurrent layer reads its own copy. */
    if (first && !first->w_len)
        emit(e, "    (void)x;   /* the first layer has no weights: only dx would read the input */\n");
    else if (first && layer_is_recurrent(first))
        emit(e, "    (void)x;   /* the first layer kept its copy of the input in net->seq */\n");
    if (lossless) {
        emit(e, "    (void)t, (void)scale;   /* loss none: no targets, dy is the gradient */\n");
        emit(e, "\n    /* dLoss/dz of the output layer, from dLoss/dy */\n");
        emit_per_sample_one(e, PASS_OUTPUT_GRAD, NULL, 0);
    } else {
        emit(e, "\n    if (dy) {   /* dLoss/dz of the output layer, from dLoss/dy */\n");
        RtBuf code = {0};
        Emitter sub = *e;
        sub.out = &code;
        emit_per_sample_one(&sub, PASS_OUTPUT_GRAD, NULL, 0);
        emit_indented(e, &code);
        rt_buf_free(&code);
        emit(e, "    } else {   /* the loss, and dLoss/dz of the output layer */\n");
        code = (RtBuf){0};
        emit_per_sample_one(&sub, PASS_LOSS, NULL, 0);
        emit_indented(e, &code);
        rt_buf_free(&code);
        emit(e, "    }\n");
    }
    int row = 0;
    for (int i = n->n_layers - 1; i >= 0; i--) {
        const Layer *l = &n->layers[i];
        emit(e, "\n");
        if (!layer_emitter(l->kind)->forward) {
            emit_banner(e, l, " backward: nothing to do");
            continue;
        }
        if (whole_batch(e, l)) {
            emit_banner(e, l, many ? " backward, all samples at once" : " backward");
            open_whole_batch(e);
            layer_emitter(l->kind)->backward_batch(e, l, producer(n, i), row);
            emit(e, "    }\n");
            emit_layer_step(e, l, clip);
            row ^= 1;
            continue;
        }
        const Layer *ls[MAX_SHARED] = {l};
        int rows[MAX_SHARED] = {row}, count = 1;
        while (count < MAX_SHARED && i > 0 && shares_sample_loop(e, l) && shares_sample_loop(e, &n->layers[i - 1])) {
            ls[count] = &n->layers[--i];
            rows[count++] = row ^= 1;
        }
        if (count == 1)
            emit_banner(e, l, " backward");
        else
            emit_shared_banner(e, ls[0], ls[count - 1], " backward");
        emit_per_sample(e, PASS_BACKWARD, ls, rows, count);
        for (int k = 0; k < count; k++)   /* each layer's step once the loop has completed its gradient */
            emit_layer_step(e, ls[k], clip);
        row ^= 1;
    }
    int64_t ni = n->n_inputs, half = (int64_t)row * n->max_width, rowlen = 2 * n->max_width;
    emit(e, "\n");
    if (ids)
        emit(e, "    if (dx)   /* the inputs are ids (embed): no gradient, zeros */\n"
                "        memset(dx, 0, %s%lld * sizeof(float));\n", many ? "(size_t)n * " : "", (long long)ni);
    else if (!first)
        emit(e, "    if (dx)   /* no layers: the input is the output */\n"
                "        memcpy(dx, dy, %s%lld * sizeof(float));\n", many ? "(size_t)n * " : "", (long long)ni);
    else if (many)
        emit(e, "    if (dx)   /* dLoss/dx: the first layer's din */\n"
                "        for (int s = 0; s < n; s++)\n"
                "            memcpy(dx + s * %lld, net->delta + s * %lld + %lld, %lld * sizeof(float));\n",
             (long long)ni, (long long)rowlen, (long long)half, (long long)ni);
    else
        emit(e, "    if (dx)   /* dLoss/dx: the first layer's din */\n"
                "        memcpy(dx, net->delta + %lld, %lld * sizeof(float));\n", (long long)half, (long long)ni);
    emit(e, "    return loss;\n}\n\n");
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

/* NAME_forward_train and NAME_backward_from: the network as a part of a
 * bigger one, its gradient arriving at its outputs from elsewhere. */
static void emit_composing(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    const Layer *prod = output_layer(n);
    int64_t no = n->n_outputs;
    bool many = batched(e);
    emit(e, "int %s_forward_train(%s *net, const float *x, float *y, int n)\n{\n", N, N);
    if (n->batch == 1)
        emit(e, "    if (n != 1)\n        return -1;\n");
    else
        emit(e, "    if (n < 1 || n > %lld)\n        return -1;\n", (long long)n->batch);
    if (many)
        emit(e, "    %s_run(net, x, n%s);\n", N, n->has_dropout ? ", 1" : "");
    else
        emit(e, "    %s_run(net, x%s);\n", N, n->has_dropout ? ", 1" : "");
    emit(e, "    if (y)\n");
    if (!prod)
        emit(e, "        memcpy(y, x, %s%lld * sizeof(float));\n", many ? "(size_t)n * " : "", (long long)no);
    else if (many)
        emit(e, "        for (int s = 0; s < n; s++)\n"
                "            memcpy(y + s * %lld, net->act + s * %lld + %lld, %lld * sizeof(float));\n",
             (long long)no, (long long)n->n_act, (long long)prod->act_off, (long long)no);
    else
        emit(e, "        memcpy(y, net->act + %lld, %lld * sizeof(float));\n", (long long)prod->act_off, (long long)no);
    emit(e, "    return 0;\n}\n\n");

    emit(e, "int %s_backward_from(%s *net, const float *x, const float *dy, float *dx, int n)\n{\n", N, N);
    if (n->batch == 1)
        emit(e, "    if (n != 1 || !dy)\n        return -1;\n");
    else
        emit(e, "    if (n < 1 || n > %lld || !dy)\n        return -1;\n", (long long)n->batch);
    emit(e, "    memset(net->grad, 0, sizeof net->grad);\n");
    if (many)
        emit(e, "    %s_backward_pass(net, x, NULL, dy, dx, n, 1.0f, 0);\n", N);
    else
        emit(e, "    %s_backward_pass(net, x, NULL, dy, dx, 1.0f, 0);\n", N);
    emit(e, "    return 0;\n}\n\n");
}

static void emit_entry_points(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    emit_forward(e);
    emit_forward_batch(e);

    for (int step = 0; step < 2 && n->loss != LOSS_NONE; step++) {
        if (!step)
            emit(e, "/* %s_backward of n samples that are a share of a batch of `of` (of >= n): the\n"
                    " * gradient is their part of the batch's mean, their summed loss over `of`\n"
                    " * returned (the shares of one batch, summed, make %s_backward of it) */\n"
                    "static float %s_backward_share(%s *net, const float *x, const float *t, int n, int of)\n{\n",
                 N, N, N, N);
        else
            emit(e, "/* backward and update in one pass: each layer's step as soon as its gradient\n"
                    " * is complete (the same numbers as %s_backward, then %s_update) */\n"
                    "float %s_train_step(%s *net, const float *x, const float *t, int n)\n{\n", N, N, N, N);
        emit(e, "    float loss, scale;\n\n");
        if (n->batch == 1)
            emit(e, "    if (n != 1%s)\n        return NAN;\n", step ? "" : " || of < n");
        else
            emit(e, "    if (n < 1 || n > %lld%s)\n        return NAN;\n", (long long)n->batch, step ? "" : " || of < n");
        emit(e, "    scale = 1.0f / (float)%s;   /* the loss is the mean over the samples */\n", step ? "n" : "of");
        emit_clear_grads(e, step);
        if (batched(e)) {
            emit(e, "    %s_run(net, x, n%s);\n", N, n->has_dropout ? ", 1" : "");
            emit(e, "    loss = %s_backward_pass(net, x, t, NULL, NULL, n, scale, %d);\n", N, step);
        } else {
            emit(e, "    %s_run(net, x%s);\n", N, n->has_dropout ? ", 1" : "");
            emit(e, "    loss = %s_backward_pass(net, x, t, NULL, NULL, scale, %d);\n", N, step);
        }
        if (step && n->optim.clip != 0)
            emit(e, "    %s_update(net);   /* clipping needs the whole gradient before any step */\n", N);
        else if (step)
            emit(e, "    net->step++;\n");
        emit(e, "    return loss / (float)%s;\n}\n\n", step ? "n" : "of");
        if (!step)
            emit(e, "float %s_backward(%s *net, const float *x, const float *t, int n)\n{\n"
                    "    return %s_backward_share(net, x, t, n, n);\n}\n\n", N, N, N);
    }

    emit_composing(e);

    emit(e, "float *%s_params(%s *net)\n{\n    return net->param;\n}\n\n", N, N);
    emit(e, "float *%s_grads(%s *net)\n{\n    return net->grad;\n}\n", N, N);
}

/* What the layers' code calls of the helpers emitted once per file, as
 * their families say (only the inference network's, for inference). */
static unsigned module_needs(const Emitter *e)
{
    unsigned needs = 0;
    for (int i = 0; i < e->mod->n_nets; i++) {
        Emitter sub = *e;
        sub.net = &e->mod->nets[i];
        if (e->infer && sub.net != e->opt->infer_net)
            continue;
        for (int j = 0; j < sub.net->n_layers; j++) {
            const LayerEmitter *le = layer_emitter(sub.net->layers[j].kind);
            if (le->needs)
                needs |= le->needs(&sub, &sub.net->layers[j]);
        }
    }
    return needs;
}

static bool check_emittable(const Module *m, Diag *diag)
{
    bool ok = true;
    for (int i = 0; i < m->n_nets; i++) {
        const Net *n = &m->nets[i];
        for (int j = 0; j < n->n_layers; j++) {
            const Layer *l = &n->layers[j];
            const LayerEmitter *le = layer_emitter(l->kind);
            if (!le->forward && !le->no_code) {
                diag_at(diag, DIAG_ERROR, l->loc,
                        "layer %d ('%s') cannot be emitted as C yet (--emit=ir shows its shapes)", l->index,
                        layer_info[l->kind].keyword);
                ok = false;
            }
        }
    }
    return ok;
}

/* Weights to bake in must be numbers every compiler takes as constants:
 * the first NaN or infinity is reported, naming its parameter. */
static bool check_weights_finite(const Net *n, const float *w, Diag *diag)
{
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        for (int64_t k = l->w_off; l->w_len && k < l->b_off + l->b_len; k++) {
            if (isfinite(w[k]))
                continue;
            char at[96];
            int64_t j = k - l->w_off;
            if (k >= l->b_off)
                snprintf(at, sizeof at, "bias [%lld]", (long long)(k - l->b_off));
            else if (l->kind == LAYER_CONV)
                snprintf(at, sizeof at, "weight [%lld][%lld][%lld][%lld]", (long long)(j / (l->in.c * l->kh * l->kw)),
                         (long long)(j / (l->kh * l->kw) % l->in.c), (long long)(j / l->kw % l->kh),
                         (long long)(j % l->kw));
            else
                snprintf(at, sizeof at, "weight [%lld][%lld]", (long long)(j / l->n_in), (long long)(j % l->n_in));
            diag_at(diag, DIAG_ERROR, l->loc, "cannot bake the weights into C: layer %d's %s (parameter %lld of %lld) "
                    "is %s; the training that made them diverged (a smaller learning rate may help)", l->index, at,
                    (long long)k, (long long)n->n_params, isnan(w[k]) ? "NaN" : "infinite");
            return false;
        }
    }
    return true;
}

bool emit_c(const Module *m, const EmitOptions *opt, RtBuf *c, RtBuf *h, Diag *diag)
{
    if (!check_emittable(m, diag))
        return false;
    if (opt->weights && !check_weights_finite(opt->infer_net, opt->weights, diag))
        return false;
    Emitter e = {.out = h, .mod = m, .opt = opt, .infer = opt->weights != NULL};
    const char *h_name = opt->header_name ? opt->header_name : "jit.h";
    emit_header(&e, h_name);

    e.out = c;
    e.net = NULL;
    char c_name[256];
    snprintf(c_name, sizeof c_name, "%.*s.c", (int)(strlen(h_name) - 2), h_name);
    emit_banner_comment(&e, c_name);
    if (opt->header_name)
        emit(&e, "#include \"%s\"\n\n", opt->header_name);
    emit(&e, "#include <math.h>\n#include <string.h>\n\n");
    emit_helpers(&e, module_needs(&e));
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
        emit_schedule(&e);
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
    for (int i = 0; i < m->n_gans && !e.infer; i++)
        emit_gan(&e, &m->gans[i]);
    if (c->oom || h->oom) {
        diag_plain(diag, DIAG_ERROR, "out of memory while emitting C");
        return false;
    }
    return true;
}

