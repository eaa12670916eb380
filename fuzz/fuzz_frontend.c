/* fuzz_frontend.c — the front end: .nn source text -> diagnostics, or a
 * checked and lowered Module and then everything emitted from it.
 *
 * Input: the bytes of a .nn file (inputs with a NUL byte are skipped:
 * source_load refuses those before the lexer sees them).
 *
 * Per input:
 *   parse, check, lower (pipeline_module), diagnostics to /dev/null;
 *   on success: emit_c (the .c and .h as `nnc -o` writes them), ir_print,
 *   emit_dot, the inference-only C with weights baked in (small networks);
 *   and for networks of modest size, jit_compile with libtcc, then one
 *   forward pass and one training step of the JIT-compiled code.
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a rejected program has reported at least one error;
 *   emit_c fails only with an error reported;
 *   compiling the same text again gives byte-identical IR and C;
 *   accepted programs' C compiles (libtcc) — the JIT never fails. */
#include "fuzz_common.h"

#include "nnc.h"
#include "nnc_rt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* jit_compile with JIT_TCC needs no directory; nothing is written. */
    return 0;
}

/* Multiply-adds of one sample through the network (roughly), to decide
 * whether running the JIT-compiled code is cheap enough. */
static double net_work(const Net *n)
{
    double w = 0;
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        double spatial = l->kind == LAYER_CONV ? (double)l->out.h * (double)l->out.w : 1.0;
        w += (double)l->w_len * spatial + (double)l->n_in + (double)l->n_out;
    }
    return w;
}

static bool same_buf(const RtBuf *a, const RtBuf *b)
{
    return a->len == b->len && a->oom == b->oom && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* The IR text, the .c and the .h of module m (false when emit_c failed). */
static bool emit_texts(const Module *m, Diag *diag, RtBuf *ir, RtBuf *c, RtBuf *h)
{
    int errors = diag->n_errors;
    EmitOptions eo = {.unroll = NNC_DEFAULT_UNROLL, .header_name = "fuzz.h"};
    ir_print(ir, m);
    bool ok = emit_c(m, &eo, c, h, diag);
    if (!ok && diag->n_errors == errors)
        fuzz_bug("emit_c failed without reporting an error");
    return ok;
}

static void emit_everything(const Module *m, const Source *src, Diag *diag)
{
    int errors;
    RtBuf ir = {0}, c = {0}, h = {0};
    bool ok = emit_texts(m, diag, &ir, &c, &h);

    /* The same text compiled again, in a fresh arena: the same output. */
    Arena *again = arena_new();
    Diag quiet;
    diag_init(&quiet, fuzz_null());
    Module *m2 = pipeline_module(src, again, &quiet);
    if (!m2)
        fuzz_bug("the same program compiled a second time was rejected");
    RtBuf ir2 = {0}, c2 = {0}, h2 = {0};
    bool ok2 = emit_texts(m2, &quiet, &ir2, &c2, &h2);
    if (ok != ok2 || !same_buf(&ir, &ir2) || !same_buf(&c, &c2) || !same_buf(&h, &h2))
        fuzz_bug("compiling the same program twice gave different IR or C");
    rt_buf_free(&ir2);
    rt_buf_free(&c2);
    rt_buf_free(&h2);
    arena_free(again);
    rt_buf_free(&ir);
    rt_buf_free(&c);
    rt_buf_free(&h);

    RtBuf dot = {0};
    emit_dot(&dot, m);
    rt_buf_free(&dot);

    for (int k = 0; k < m->n_nets; k++) {
        const Net *n = &m->nets[k];
        RtBuf b = {0};
        ir_describe_net(&b, n);
        ir_describe_optim(&b, n);
        rt_buf_free(&b);
        /* Inference-only C with the weights baked in, for small networks. */
        if (n->n_params <= 4096) {
            float *w = malloc(((size_t)n->n_params + 1) * sizeof *w);
            if (!w)
                continue;
            for (int64_t i = 0; i < n->n_params; i++)
                w[i] = (float)((i * 7919) % 2001 - 1000) / 997.0f;
            EmitOptions io = {.unroll = NNC_DEFAULT_UNROLL, .header_name = "fuzz_infer.h", .infer_net = n,
                              .weights = w};
            RtBuf ic = {0}, ih = {0};
            errors = diag->n_errors;
            if (!emit_c(m, &io, &ic, &ih, diag) && diag->n_errors == errors)
                fuzz_bug("emit_c (inference) failed without reporting an error");
            rt_buf_free(&ic);
            rt_buf_free(&ih);
            free(w);
        }
    }
}

/* JIT-compiles the first gan block and runs one step of it, when cheap. */
static void jit_gan(const Module *m, Diag *diag, int64_t unroll)
{
    const Gan *g = &m->gans[0];
    RtGan rg;
    int errors = diag->n_errors;
    Jit *j = jit_compile_gan(m, g, JIT_TCC, unroll, &rg, diag);
    if (!j)
        fuzz_bug("the front end accepted the gan block, but the JIT failed on its C (%d errors)",
                 diag->n_errors - errors);
    if (rg.n_sample != g->disc->n_inputs || rg.n_noise != g->gen->n_inputs || rg.batch != g->gen->batch)
        fuzz_bug("the JIT's gan disagrees with the IR");
    if ((net_work(g->gen) + 3 * net_work(g->disc)) * (double)rg.batch <= 4e6) {
        float *x = calloc((size_t)(rg.n_sample * rg.batch) + 1, sizeof *x), losses[2];
        if (x) {
            for (int64_t i = 0; i < rg.n_sample * rg.batch; i++)
                x[i] = (float)(i % 5) * 0.25f;
            if (rg.step(rg.state, x, (int)rg.batch, losses) != 0 || rg.step(rg.state, x, 1, losses) != 0)
                fuzz_bug("a gan step refused a batch in range");
        }
        free(x);
    }
    free(rg.state);
    jit_free(j, NULL);
}

/* JIT-compiles the first network with a loss of its own and runs it once
 * forward and one training step, and the first gan block's step, when that
 * is cheap. */
static void jit_and_run(const Module *m, Diag *diag, size_t size)
{
    const Net *n = NULL;
    for (int k = 0; k < m->n_nets && !n; k++)
        if (m->nets[k].loss != LOSS_NONE)
            n = &m->nets[k];
    if (!n || n->struct_bytes > (4 << 20) || n->n_layers > 64 || n->n_params > (1 << 16))
        return;
    int64_t total_layers = 0;
    for (int k = 0; k < m->n_nets; k++) {
        total_layers += m->nets[k].n_layers;
        if (m->nets[k].struct_bytes > (4 << 20) || m->nets[k].n_params > (1 << 16))
            return;   /* jit_compile emits every network of the module */
    }
    if (total_layers > 128)
        return;
    /* Both unroll defaults: the cc one (224) and the tcc one (4096). */
    int64_t unroll = size & 1 ? NNC_TCC_UNROLL : NNC_DEFAULT_UNROLL;
    if (m->n_gans)
        jit_gan(m, diag, unroll);
    RtNet rt;
    int errors = diag->n_errors;
    Jit *j = jit_compile(m, n, JIT_TCC, unroll, &rt, diag);
    if (!j) {
        /* Print what libtcc said, so the report shows it. */
        Diag show;
        diag_init(&show, fuzz_err());
        jit_compile(m, n, JIT_TCC, unroll, &rt, &show);
        fuzz_bug("the front end accepted the program, but the JIT failed on its C (%d errors)",
                 diag->n_errors - errors);
    }
    if (rt.n_inputs != n->n_inputs || rt.n_outputs != n->n_outputs || rt.n_params != n->n_params ||
        rt.size < (size_t)n->n_params * 4)
        fuzz_bug("the JIT's network disagrees with the IR: %lld/%lld inputs, %lld/%lld params, %zu bytes",
                 (long long)rt.n_inputs, (long long)n->n_inputs, (long long)rt.n_params, (long long)n->n_params,
                 rt.size);
    if (net_work(n) * (double)n->batch <= 4e6) {
        size_t nx = (size_t)(n->n_inputs * n->batch), nt = (size_t)(n->n_outputs * n->batch);
        float *x = calloc(nx + 1, sizeof *x), *t = calloc(nt + 1, sizeof *t), *y = calloc(nt + 1, sizeof *y);
        if (x && t && y) {
            for (size_t i = 0; i < nx; i++)
                x[i] = (float)(i % 5) * 0.25f;
            for (size_t i = 0; i < (size_t)n->batch; i++)
                t[i * (size_t)n->n_outputs] = 1.0f;   /* one-hot class 0 */
            rt.forward(rt.state, x, y);
            rt.train_step(rt.state, x, t, (int)n->batch);
            rt.train_step(rt.state, x, t, 1);   /* a partial batch */
            (void)rt.params(rt.state);
        }
        free(x);
        free(t);
        free(y);
    }
    jit_free(j, &rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size))
        return -1;
    Arena *arena = arena_new();
    char *text = arena_strndup(arena, (const char *)data, size);
    Source src;
    source_from_string(&src, "fuzz.nn", text, size);
    Diag diag;
    diag_init(&diag, fuzz_null());
    Module *m = pipeline_module(&src, arena, &diag);
    if (!m) {
        if (diag.n_errors == 0)
            fuzz_bug("pipeline_module rejected the program without reporting an error");
    } else {
        if (m->n_nets < 1)
            fuzz_bug("an accepted module has no network");
        emit_everything(m, &src, &diag);
        if (diag.n_errors == 0)
            jit_and_run(m, &diag, size);
        /* pipeline_pick_net: by name, and the "which one?" error */
        (void)pipeline_pick_net(m, m->nets[m->n_nets - 1].name, "--net NAME", &diag);
        (void)pipeline_pick_net(m, NULL, "--net NAME", &diag);
        (void)pipeline_pick_net(m, "no_such_network", "--net NAME", &diag);
    }
    arena_free(arena);
    return 0;
}
