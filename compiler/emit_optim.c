/* emit_optim.c — the optimizers: one parameter's step as torch.optim does
 * it (SGD with momentum and weight decay, Adam), and NAME_update. */
#include "emit.h"

/* The optimizer's constants for one step, as locals. */
void emit_update_consts(Emitter *e, const char *ind)
{
    const Optim *o = &e->net->optim;
    emit(e, "%sconst float lr = net->lr;\n", ind);
    if (o->kind == OPTIM_ADAM) {
        emit(e, "%sconst double bc1 = 1.0 - pow(%.17g, (double)(net->step + 1));   /* bias corrections */\n", ind,
             o->beta1);
        emit(e, "%sconst double bc2 = 1.0 - pow(%.17g, (double)(net->step + 1));\n", ind, o->beta2);
        emit(e, "%sconst float step_size = (float)((double)lr / bc1);\n", ind);
        emit(e, "%sconst float bc2_sqrt = (float)sqrt(bc2);\n", ind);
    } else if (o->momentum != 0) {
        emit(e, "%sconst int first = net->step == 0;\n", ind);
    }
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
    emit(e, "/* One optimizer step over parameters lo .. hi-1, as torch.optim.%s does it;\n"
            " * the caller counts the step. */\n", o->kind == OPTIM_SGD ? "SGD" : "Adam");
    emit(e, "static void %s_update_params(%s *net, int lo, int hi)\n{\n", n->name, n->name);
    emit_update_consts(e, "    ");
    emit(e, "\n    for (int i = lo; i < hi; i++) {\n");
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
        emit(e, "    %s_update_params(net, 0, %lld);\n    net->step++;\n}\n\n", n->name, (long long)n->n_params);
        return;
    }
    emit(e, "void %s_update(%s *net)\n{\n    %s_update_params(net, 0, %lld);\n    net->step++;\n}\n\n", n->name,
         n->name, n->name, (long long)n->n_params);
}
