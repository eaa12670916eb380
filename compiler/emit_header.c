/* emit_header.c — the .h of emitted C (the struct, its sizes and the API of
 * each network, for training or inference only), the banner comments of
 * both files, and the trained parameters baked into an inference-only .c. */
#include "emit.h"

#include <string.h>

static bool has_recurrent(const Net *n)
{
    for (int i = 0; i < n->n_layers; i++)
        if (layer_is_recurrent(&n->layers[i]))
            return true;
    return false;
}

/* One line of the parameter layout comment: "layer 1 dense: weight [2][2] at
 * 0, bias [2] at 4" (conv: [out_c][in_c][kh][kw]; recurrent layers: the four
 * tensors of PyTorch's state_dict; embed: its table). */
static void emit_layout_line(Emitter *e, const Layer *l)
{
    const char *kw = layer_info[l->kind].keyword;
    long long w = l->w_off, b = l->b_off;
    if (l->kind == LAYER_CONV) {
        emit(e, " *   layer %d %s: weight [%lld][%lld][%lld][%lld] at %lld, bias [%lld] at %lld\n", l->index, kw,
             (long long)l->out.c, (long long)l->in.c, (long long)l->kh, (long long)l->kw, w, (long long)l->b_len, b);
    } else if (layer_is_recurrent(l)) {
        long long gh = (long long)(recurrent_layout(l, 1).g * l->units), f = (long long)l->in.c, h = (long long)l->units;
        emit(e, " *   layer %d %s: weight_ih [%lld][%lld] at %lld, weight_hh [%lld][%lld] at %lld,\n"
                " *     bias_ih [%lld] at %lld, bias_hh [%lld] at %lld\n", l->index, kw, gh, f, w, gh, h, w + gh * f,
             gh, b, gh, b + gh);
    } else if (l->kind == LAYER_EMBED) {
        emit(e, " *   layer %d %s: weight [%lld][%lld] at %lld\n", l->index, kw, (long long)l->vocab,
             (long long)l->units, w);
    } else {
        long long in = (long long)(l->in.steps ? l->in.c : l->n_in);
        emit(e, " *   layer %d %s: weight [%lld][%lld] at %lld, bias [%lld] at %lld\n", l->index, kw,
             (long long)l->units, in, w, (long long)l->b_len, b);
    }
}

/* "The [NAME_N_PARAMS] trained parameters, in PyTorch's state_dict order"
 * (`count`: with the macro's name), and what the inference-only file bakes
 * in another order than the weight file's (baked_param), as one sentence
 * into b (whose oom the caller checks). */
static void baked_order_sentence(const Emitter *e, bool count, RtBuf *b)
{
    bool rec = has_recurrent(e->net), panels = false;
    for (int i = 0; i < e->net->n_layers; i++)
        panels |= dense_panels(e, &e->net->layers[i]);
    rt_buf_printf(b, "The %s%strained parameters, in PyTorch's state_dict order", count ? e->net->name : "",
                  count ? "_N_PARAMS " : "");
    if (rec || panels)
        rt_buf_puts(b, ", but for ");
    if (rec)
        rt_buf_puts(b, "the recurrent layers' weight_ih and weight_hh, which are transposed ([F][G*H] and "
                       "[H][G*H])");
    if (rec && panels)
        rt_buf_puts(b, ", and ");
    if (panels)
        rt_buf_puts(b, "the big dense layers' weights, which are in panels (8 rows' 16-float pieces side by side) "
                       "for one stream to read");
    rt_buf_puts(b, ".");
}

static void emit_header_net(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    RtBuf d = {0};
    ir_describe_net(&d, n);
    emit(e, "/* ---- network %s (%s:%d): %s ---- */\n\n", N, e->mod->src->name, n->loc.first_line, d.oom ? "" : d.data);
    rt_buf_free(&d);
    emit(e, "#define %s_N_INPUTS  %lld   /* floats per input sample%s */\n", N, (long long)n->n_inputs,
         n->input.image ? " (CHW order)" : "");
    emit(e, "#define %s_N_OUTPUTS %lld\n", N, (long long)n->n_outputs);
    emit(e, "#define %s_BATCH     %lld   /* most samples per train step */\n", N, (long long)n->batch);
    emit(e, "#define %s_N_PARAMS  %lld\n", N, (long long)n->n_params);
    emit(e, "#define %s_SEED      UINT64_C(%llu)%s\n", N, (unsigned long long)n->seed,
         n->has_seed ? "" : "   /* no `seed` statement: nnc's default */");
    emit(e, "#define %s_FINGERPRINT UINT64_C(0x%016llx)   /* of the layer shapes; weight files carry it */\n\n", N,
         (unsigned long long)n->fingerprint);
    emit(e, "/* Parameter layout (offsets into param[] and grad[]):\n");
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (!l->w_len)
            continue;
        emit_layout_line(e, l);
    }
    emit(e, " * sizeof(%s) is all the memory the network needs: %lld bytes. */\n", N, (long long)n->struct_bytes);
    emit(e, "typedef struct %s {\n", N);
    for (int i = 0; i < n->n_buffers; i++) {
        const Buffer *b = &n->buffers[i];
        char decl[96];
        snprintf(decl, sizeof decl, "float %s[%lld];", b->name, (long long)b->floats);
        emit(e, "    %-24s /* %s */\n", decl, b->what);
    }
    emit(e, "    %-24s /* learning rate: set by %s_init and %s_schedule; change it freely */\n", "float lr;", N, N);
    emit(e, "    %-24s /* optimizer steps taken */\n", "uint64_t step;");
    if (n->has_dropout)
        emit(e, "    %-24s /* state of the dropout masks' random numbers */\n", "uint64_t rng;");
    emit(e, "} %s;\n\n", N);
    emit(e, "/* Sets the parameters from `seed` (%s_SEED is the file's) and clears all other state. */\n", N);
    emit(e, "void %s_init(%s *net, uint64_t seed);\n", N, N);
    emit_schedule_decl(e);
    emit(e, "/* Runs one sample x[%s_N_INPUTS] through the network into y[%s_N_OUTPUTS]. */\n", N, N);
    emit(e, "void %s_forward(%s *net, const float *x, float *y);\n", N, N);
    emit(e, "/* Runs n samples (any n >= 0; rows of x) into n rows of y, a batch at a time:\n"
            " * %s_forward's outputs up to float rounding, faster for many samples. */\n", N);
    emit(e, "void %s_forward_batch(%s *net, const float *x, float *y, int n);\n", N, N);
    bool lossless = n->loss == LOSS_NONE;
    if (!lossless) {
        emit(e, "/* Trains on n samples (1..%s_BATCH): rows of x and of t (targets, one-hot for\n"
                " * classes) are contiguous.  Returns the mean loss before the update, or NaN\n"
                " * (and changes nothing) when n is out of range. */\n", N);
        emit(e, "float %s_train_step(%s *net, const float *x, const float *t, int n);\n", N, N);
    }
    emit(e, "/* All %s_N_PARAMS parameters, contiguous, in PyTorch's state_dict order. */\n", N);
    emit(e, "float *%s_params(%s *net);\n\n", N, N);
    if (!lossless) {
        emit(e, "/* The two halves of %s_train_step, for gradient checks and custom loops:\n"
                " * %s_backward fills grad[] with the mean gradient of n samples and returns\n"
                " * their mean loss; %s_update applies one optimizer step to it. */\n", N, N, N);
        emit(e, "float %s_backward(%s *net, const float *x, const float *t, int n);\n", N, N);
    } else {
        emit(e, "/* loss none: %s trains only from a gradient given at its outputs, by\n"
                " * %s_forward_train, %s_backward_from and %s_update. */\n", N, N, N, N);
    }
    emit(e, "void %s_update(%s *net);\n", N, N);
    emit(e, "float *%s_grads(%s *net);\n\n", N, N);
    emit(e, "/* The network as a part of a bigger one (docs/emitted-api.md, \"Composing\n"
            " * networks\"): %s_forward_train runs n samples (1..%s_BATCH) forward as\n"
            " * training does%s, keeping what the backward pass needs, with their\n"
            " * outputs into y (NULL: only kept).  %s_backward_from then sets grad[] to\n"
            " * the gradient for dLoss/dy = dy (n rows of %s_N_OUTPUTS, the caller's loss\n"
            " * and mean included), and writes dLoss/dx into dx (n rows of\n"
            " * %s_N_INPUTS; NULL: not computed).  Both return 0, or -1 (and change\n"
            " * nothing) when n is out of range or dy is NULL. */\n", N, N,
         n->has_dropout ? " (dropout on)" : "", N, N, N);
    emit(e, "int %s_forward_train(%s *net, const float *x, float *y, int n);\n", N, N);
    emit(e, "int %s_backward_from(%s *net, const float *x, const float *dy, float *dx, int n);\n\n", N, N);
}

/* The header of an inference-only network: no batch, no training state. */
static void emit_header_infer(Emitter *e)
{
    const Net *n = e->net;
    const char *N = n->name;
    RtBuf d = {0};
    ir_describe_net(&d, n);
    emit(e, "/* ---- network %s (%s:%d), inference only: %s ---- */\n\n", N, e->mod->src->name, n->loc.first_line,
         d.oom ? "" : d.data);
    rt_buf_free(&d);
    emit(e, "#define %s_N_INPUTS  %lld   /* floats per input sample%s */\n", N, (long long)n->n_inputs,
         n->input.image ? " (CHW order)" : "");
    emit(e, "#define %s_N_OUTPUTS %lld\n", N, (long long)n->n_outputs);
    emit(e, "#define %s_N_PARAMS  %lld   /* constants in the .c, not in the struct */\n", N, (long long)n->n_params);
    emit(e, "#define %s_FINGERPRINT UINT64_C(0x%016llx)\n\n", N, (unsigned long long)n->fingerprint);
    emit(e, "/* sizeof(%s) is all the RAM inference needs: %lld bytes. */\n", N, (long long)infer_ram_bytes(n));
    emit(e, "typedef struct %s {\n", N);
    for (int i = 0; i < n->n_buffers; i++) {
        const Buffer *b = &n->buffers[i];
        if (!buffer_in_inference(b))
            continue;
        char decl[96];
        snprintf(decl, sizeof decl, "float %s[%lld];", b->name, (long long)(b->floats / b->rows));
        emit(e, "    %-24s /* %s */\n", decl, b->what);
    }
    emit(e, "} %s;\n\n", N);
    emit(e, "/* Runs one sample x[%s_N_INPUTS] through the network into y[%s_N_OUTPUTS]. */\n", N, N);
    emit(e, "void %s_forward(%s *net, const float *x, float *y);\n", N, N);
    RtBuf sentence = {0};
    baked_order_sentence(e, true, &sentence);
    emit_comment(e, sentence.oom ? "" : sentence.data);
    rt_buf_free(&sentence);
    emit(e, "const float *%s_params(void);\n\n", N);
}

/* Parameter i of the baked array: the weight file's, but for a recurrent
 * layer's weight_ih and weight_hh, which are baked transposed ([F][G*H]
 * and [H][G*H]) for NAME_forward's products, and a big dense layer's
 * weight, baked in panels (emit_dense.c). */
static float baked_param(const Emitter *e, const float *w, int64_t i)
{
    const Net *n = e->net;
    for (int k = 0; k < n->n_layers; k++) {
        const Layer *l = &n->layers[k];
        if (i < l->w_off || i >= l->w_off + l->w_len)
            continue;
        if (dense_panels(e, l))
            return w[l->w_off + dense_panel_source(l, i - l->w_off)];
        if (!layer_is_recurrent(l))
            continue;
        int64_t gh = recurrent_layout(l, 1).g * l->units, f = l->in.c, at = i - l->w_off;
        int64_t base = l->w_off, cols = f;   /* weight_ih [gh][f], then weight_hh [gh][h] */
        if (at >= gh * f)
            base += gh * f, at -= gh * f, cols = l->units;
        /* baked [cols][gh]: element (c, r) is the file's (r, c) */
        return w[base + (at % gh) * cols + at / gh];
    }
    return w[i];
}

/* The trained parameters as a constant array, eight a line. */
void emit_weights(Emitter *e)
{
    const Net *n = e->net;
    RtBuf sentence = {0};
    baked_order_sentence(e, false, &sentence);
    emit_comment_open(e, sentence.oom ? "" : sentence.data);
    emit(e, "\n");
    rt_buf_free(&sentence);
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        if (l->w_len)
            emit_layout_line(e, l);
    }
    emit(e, " */\nstatic const float %s_param[%lld] = {\n", n->name, (long long)n->n_params);
    for (int64_t i = 0; i < n->n_params; i++) {
        char f[32];
        emit(e, "%s%s,", i % 8 == 0 ? "    " : " ", fmt_float(f, baked_param(e, e->opt->weights, i)));
        if (i % 8 == 7 || i + 1 == n->n_params)
            emit(e, "\n");
    }
    emit(e, "};\n\n");
}

void emit_banner_comment(Emitter *e, const char *file)
{
    emit(e, "/* %s: generated by nnc %s from %s.\n * Do not edit: change the .nn file and run nnc again.\n",
         file, NNC_VERSION, e->mod->src->name);
    for (int i = 0; i < e->mod->n_nets; i++) {
        const Net *n = &e->mod->nets[i];
        if (e->infer && n != e->opt->infer_net)
            continue;
        RtBuf d = {0};
        ir_describe_net(&d, n);
        RtBuf o = {0};
        ir_describe_optim(&o, n);
        RtBuf sc = {0};
        ir_describe_schedule(&sc, n);
        if (e->infer)
            emit(e, " *\n * network %s: %s\n *   inference only, with trained weights\n"
                    " *   RAM   sizeof(%s) = %lld bytes, besides the stack\n"
                    " *   flash %s_param = %lld bytes, besides the code\n",
                 n->name, d.oom ? "" : d.data, n->name, (long long)infer_ram_bytes(n), n->name,
                 (long long)infer_flash_bytes(n));
        else
            emit(e, " *\n * network %s: %s\n *   loss %s, optimizer %s%s%s, batch %lld\n", n->name,
                 d.oom ? "" : d.data, loss_keyword[n->loss], o.oom ? "" : o.data, sc.len ? ", schedule " : "",
                 sc.len && !sc.oom ? sc.data : "", (long long)n->batch);
        rt_buf_free(&d);
        rt_buf_free(&o);
        rt_buf_free(&sc);
    }
    emit(e, " */\n");
}

/* NNC_<HEADER NAME>_INCLUDED: no network may be named with the NNC_ prefix
 * (in any case), so the guard cannot clash with a name the file defines. */
void emit_header_guard(char *out, size_t cap, const char *header_name)
{
    size_t j = (size_t)snprintf(out, cap, "NNC_");
    for (const char *p = header_name; *p && j + sizeof "_INCLUDED" < cap; p++) {
        char ch = *p;
        out[j++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) ? ch : '_';
    }
    out[j] = '\0';
    strcat(out, "_INCLUDED");
}

void emit_header(Emitter *e, const char *h_name)
{
    const Module *m = e->mod;
    char guard[256];
    emit_header_guard(guard, sizeof guard, h_name);
    emit_banner_comment(e, h_name);
    emit(e, "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n", guard, guard);
    emit(e, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    for (int i = 0; i < m->n_nets; i++) {
        e->net = &m->nets[i];
        if (!e->infer)
            emit_header_net(e);
        else if (e->net == e->opt->infer_net)
            emit_header_infer(e);
    }
    for (int i = 0; i < m->n_gans && !e->infer; i++)
        emit_gan_header(e, &m->gans[i]);
    emit(e, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}
