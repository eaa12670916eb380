/* emit_optim.c — the optimizers: one parameter's step as torch.optim does
 * it (SGD with momentum and weight decay, Adam), NAME_update, and the
 * learning rate of each epoch, NAME_schedule. */
#include "emit.h"

#include <string.h>

/* The optimizer's constants for one step, as locals.  Adam's bias
 * corrections are not among them: the function that takes the step works
 * them out once (emit_adam_bias_call) and has them as step_size and
 * bc2_sqrt. */
void emit_update_consts(Emitter *e, const char *ind)
{
    const Optim *o = &e->net->optim;
    if (o->kind == OPTIM_ADAM)
        return;
    emit(e, "%sconst float lr = net->lr;\n", ind);
    if (o->momentum != 0)
        emit(e, "%sconst int first = net->step == 0;\n", ind);
}

/* NAME_adam_bias: Adam's bias corrections of the coming step as
 * torch.optim.Adam computes them, in double.  Called once a step by the
 * functions that take it, not once per layer: pow in double is a library
 * routine in software where the FPU has single precision only (a
 * Cortex-M4F). */
static void emit_adam_bias_fn(Emitter *e)
{
    const Net *n = e->net;
    emit(e, "/* Adam's bias corrections for the coming step t = net->step + 1, as\n"
            " * torch.optim.Adam computes them: the step size lr / (1 - beta1^t) and\n"
            " * sqrt(1 - beta2^t).  Once a step, for all its layers. */\n");
    emit(e, "static void %s_adam_bias(const %s *net, float *step_size, float *bc2_sqrt)\n{\n", n->name, n->name);
    emit(e, "    const double bc1 = 1.0 - pow(%.17g, (double)(net->step + 1));\n", n->optim.beta1);
    emit(e, "    const double bc2 = 1.0 - pow(%.17g, (double)(net->step + 1));\n", n->optim.beta2);
    emit(e, "    *step_size = (float)((double)net->lr / bc1);\n");
    emit(e, "    *bc2_sqrt = (float)sqrt(bc2);\n}\n\n");
}

void emit_adam_bias_call(Emitter *e, const char *ind, const char *cond)
{
    const char *N = e->net->name;
    emit(e, "%sfloat step_size = 0.0f, bc2_sqrt = 0.0f;   /* Adam's bias corrections: once a step */\n", ind);
    if (cond)
        emit(e, "%sif (%s)\n%s    %s_adam_bias(net, &step_size, &bc2_sqrt);\n", ind, cond, ind, N);
    else
        emit(e, "%s%s_adam_bias(net, &step_size, &bc2_sqrt);\n", ind, N);
}

const char *update_params_args(const Emitter *e)
{
    return e->net->optim.kind == OPTIM_ADAM ? ", step_size, bc2_sqrt" : "";
}

/* One parameter's optimizer step: parameter `i` (an expression) with
 * gradient `grad` (an expression), in a block of its own. */
void emit_update_element(Emitter *e, const char *ind, const char *i, const char *grad)
{
    const Optim *o = &e->net->optim;
    char f1[32], f2[32], f3[32];
    emit(e, "%sfloat g = %s;\n", ind, grad);
    if (o->weight_decay != 0)
        emit(e, "%sg += %s * net->param[%s];   /* weight decay */\n", ind, fmt_float(f1, o->weight_decay), i);
    if (o->kind == OPTIM_ADAM) {
        emit(e, "%snet->adam_m[%s] = net->adam_m[%s] * %s + g * %s;\n", ind, i, i, fmt_float(f1, o->beta1),
             fmt_float(f2, 1.0 - o->beta1));
        emit(e, "%snet->adam_v[%s] = net->adam_v[%s] * %s + %s * g * g;\n", ind, i, i, fmt_float(f1, o->beta2),
             fmt_float(f2, 1.0 - o->beta2));
        emit(e, "%snet->param[%s] -= step_size * (net->adam_m[%s] / (sqrtf(net->adam_v[%s]) / bc2_sqrt + %s));\n",
             ind, i, i, i, fmt_float(f3, o->eps));
    } else if (o->momentum != 0) {
        emit(e, "%snet->velocity[%s] = first ? g : net->velocity[%s] * %s + g;\n", ind, i, i,
             fmt_float(f1, o->momentum));
        emit(e, "%snet->param[%s] -= lr * net->velocity[%s];\n", ind, i, i);
    } else {
        emit(e, "%snet->param[%s] -= lr * g;\n", ind, i);
    }
}

/* Whether train_step applies a layer's optimizer step inside its backward
 * code, with no gradient buffer: dense layers of batch-1 networks, where
 * the gradient of one sample is the step's whole gradient. */
bool fused_update(const Emitter *e, const Layer *l)
{
    return !e->infer && e->net->batch == 1 && l->kind == LAYER_DENSE && !l->gemm && !l->in.steps &&
           e->net->optim.clip == 0;
}

void emit_update(Emitter *e)
{
    const Net *n = e->net;
    const Optim *o = &n->optim;
    bool adam = o->kind == OPTIM_ADAM;
    if (adam)
        emit_adam_bias_fn(e);
    emit(e, "/* One optimizer step over parameters lo .. hi-1, as torch.optim.%s does it%s;\n"
            " * the caller counts the step. */\n", adam ? "Adam" : "SGD",
         adam ? " (the\n * step's bias corrections from the caller)" : "");
    emit(e, "static void %s_update_params(%s *net, int lo, int hi%s)\n{\n", n->name, n->name,
         adam ? ", float step_size, float bc2_sqrt" : "");
    emit_update_consts(e, "    ");
    emit(e, "%s    for (int i = lo; i < hi; i++) {\n", adam ? "" : "\n");
    emit_update_element(e, "        ", "i", "net->grad[i]");
    emit(e, "    }\n}\n\n");
    if (o->clip != 0) {
        char c[32];
        emit(e, "/* The gradient scaled down to a global norm of at most %s, as\n"
                " * torch.nn.utils.clip_grad_norm_ does, then one step. */\n", fmt_float(c, o->clip));
        emit(e, "void %s_update(%s *net)\n{\n", n->name, n->name);
        emit(e, "    double sq = 0.0;\n    float coef;\n");
        emit(e, "    for (int i = 0; i < %lld; i++)\n        sq += (double)net->grad[i] * net->grad[i];\n",
             (long long)n->n_params);
        emit(e, "    coef = (float)(%s / (sqrt(sq) + 1e-6));\n", fmt_float(c, o->clip));
        emit(e, "    if (coef < 1.0f)\n        for (int i = 0; i < %lld; i++)\n            net->grad[i] *= coef;\n",
             (long long)n->n_params);
        if (adam)
            emit_adam_bias_call(e, "    ", NULL);
        emit(e, "    %s_update_params(net, 0, %lld%s);\n    net->step++;\n}\n\n", n->name, (long long)n->n_params,
             update_params_args(e));
        return;
    }
    emit(e, "void %s_update(%s *net)\n{\n", n->name, n->name);
    if (adam)
        emit_adam_bias_call(e, "    ", NULL);
    emit(e, "    %s_update_params(net, 0, %lld%s);\n    net->step++;\n}\n\n", n->name, (long long)n->n_params,
         update_params_args(e));
}

/* ---- the learning-rate schedule ----
 *
 * NAME_schedule(net, epoch, epochs) sets net->lr for epoch `epoch` (0-based)
 * of a run of `epochs`, in double from the file's lr, as torch's
 * lr_scheduler classes compute it (docs/language.md has the formulas):
 * LinearLR for the warm-up, then StepLR, ExponentialLR or
 * CosineAnnealingLR (SequentialLR chains the two). */

/* The schedule's learning rate after the warm-up, as a C expression of
 * `j` (the epochs since the warm-up) and, for cosine, T (its length). */
static void schedule_expr(char *out, size_t cap, const Net *n, const char *j)
{
    const Schedule *s = &n->sched;
    char L[32], G[32], F[32];
    fmt_double(L, n->optim.lr);
    fmt_double(G, s->gamma);
    fmt_double(F, s->min);
    if (s->kind == SCHED_STEP)
        snprintf(out, cap, "%s * pow(%s, (double)(%s / %lld))", L, G, j, (long long)s->every);
    else if (s->kind == SCHED_EXPONENTIAL)
        snprintf(out, cap, "%s * pow(%s, (double)%s)", L, G, j);
    else if (s->min == 0)
        snprintf(out, cap, "%s * (1.0 + cos(3.141592653589793 * %s / T)) / 2.0", L, j);
    else
        snprintf(out, cap, "%s + (%s - %s) * (1.0 + cos(3.141592653589793 * %s / T)) / 2.0", F, L, F, j);
}

/* A number for the comment's words: fmt_double's, without a ".0" ("1", "0.5"). */
static const char *words_num(char out[32], double v)
{
    size_t len = strlen(fmt_double(out, v));
    if (len > 2 && strcmp(out + len - 2, ".0") == 0)
        out[len - 2] = '\0';
    return out;
}

void emit_schedule_decl(Emitter *e)
{
    const Net *n = e->net;
    const Schedule *s = &n->sched;
    long long W = (long long)s->warmup;
    char L[32], G[32], F[32], T[32];
    const char *j = W ? "j" : "epoch";
    RtBuf b = {0};
    words_num(L, n->optim.lr);
    words_num(G, s->gamma);
    words_num(F, s->min);
    if (W)
        snprintf(T, sizeof T, "epochs - %lld", W);
    else
        snprintf(T, sizeof T, "epochs");
    rt_buf_puts(&b, "Sets net->lr to the schedule's learning rate for epoch `epoch` (0 = the first) of a run of "
                    "`epochs` epochs: ");
    if (s->kind == SCHED_NONE)
        rt_buf_printf(&b, "%s has no schedule statement, so lr stays the same", n->name);
    else if (W)
        rt_buf_printf(&b, "%s * (epoch + 1) / %lld while epoch < %lld (a linear warm-up, as torch's LinearLR), then, "
                      "with j = epoch - %lld, ", L, W + 1, W, W);
    if (s->kind == SCHED_STEP)
        rt_buf_printf(&b, "%s * %s^floor(%s / %lld) (torch's StepLR(step_size=%lld, gamma=%s))", L, G, j,
                      (long long)s->every, (long long)s->every, G);
    else if (s->kind == SCHED_EXPONENTIAL)
        rt_buf_printf(&b, "%s * %s^%s (torch's ExponentialLR(gamma=%s))", L, G, j, G);
    else if (s->kind == SCHED_COSINE && s->min == 0)
        rt_buf_printf(&b, "%s * (1 + cos(pi * %s / T)) / 2 with T = %s (at least 1), from %s to 0 along a half "
                      "cosine (torch's CosineAnnealingLR(T_max=T))", L, j, T, L);
    else if (s->kind == SCHED_COSINE)
        rt_buf_printf(&b, "%s + (%s - %s) * (1 + cos(pi * %s / T)) / 2 with T = %s (at least 1), from %s to %s "
                      "along a half cosine (torch's CosineAnnealingLR(T_max=T, eta_min=%s))", F, L, F, j, T, L, F, F);
    rt_buf_printf(&b, "; call it before each epoch. Without a schedule statement it sets the file's lr%s%s.",
                  s->kind == SCHED_NONE ? ", here " : "", s->kind == SCHED_NONE ? L : "");
    if (b.oom)
        e->out->oom = true;
    else
        emit_comment(e, b.data);
    rt_buf_free(&b);
    emit(e, "void %s_schedule(%s *net, int epoch, int epochs);\n", n->name, n->name);
}

void emit_schedule(Emitter *e)
{
    const Net *n = e->net;
    const Schedule *s = &n->sched;
    const char *N = n->name;
    long long W = (long long)s->warmup;
    bool grows = s->kind != SCHED_COSINE && s->gamma > 1;   /* lr * gamma^j can leave float's range */
    char L[32], expr[256], j[32];
    if (s->kind == SCHED_NONE) {
        emit(e, "/* No schedule statement: the file's lr at every epoch. */\n");
        emit(e, "void %s_schedule(%s *net, int epoch, int epochs)\n{\n", N, N);
        emit(e, "    (void)epoch, (void)epochs;\n    net->lr = %s;\n}\n\n", fmt_float(L, n->optim.lr));
        return;
    }
    RtBuf d = {0};
    ir_describe_schedule(&d, n);
    emit(e, "/* schedule %s (%s:%d), from lr = %s */\n", d.oom ? "" : d.data, e->mod->src->name, s->loc.first_line,
         fmt_double(L, n->optim.lr));
    rt_buf_free(&d);
    emit(e, "void %s_schedule(%s *net, int epoch, int epochs)\n{\n", N, N);
    if (s->kind == SCHED_COSINE)
        emit(e, "    int T;   /* the cosine's length: the epochs after the warm-up, at least 1 */\n");
    if (grows)
        emit(e, "    double lr;\n");
    if (s->kind == SCHED_COSINE || grows)
        emit(e, "\n");
    if (s->kind != SCHED_COSINE)
        emit(e, "    (void)epochs;   /* only a cosine schedule needs the run's length */\n");
    emit(e, "    if (epoch < 0)   /* before the first epoch: the first's rate */\n        epoch = 0;\n");
    if (W)
        emit(e, "    if (epoch < %lld) {   /* linear warm-up */\n        net->lr = (float)(%s * (epoch + 1) / %lld);\n"
                "        return;\n    }\n", W, L, W + 1);
    if (W)
        snprintf(j, sizeof j, "(epoch - %lld)", W);
    else
        snprintf(j, sizeof j, "epoch");
    if (s->kind == SCHED_COSINE && W)
        emit(e, "    T = epochs > %lld ? epochs - %lld : 1;\n", W + 1, W);
    else if (s->kind == SCHED_COSINE)
        emit(e, "    T = epochs > 1 ? epochs : 1;\n");
    schedule_expr(expr, sizeof expr, n, j);
    if (grows)
        emit(e, "    lr = %s;\n    net->lr = lr < 3.4028234663852886e38 ? (float)lr : HUGE_VALF;   /* gamma > 1: "
                "infinite past float's range */\n", expr);
    else
        emit(e, "    net->lr = (float)(%s);\n", expr);
    emit(e, "}\n\n");
}
