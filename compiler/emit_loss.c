/* emit_loss.c — the losses: for the sample in flight, its loss and dLoss/dz
 * of the output layer (mse through any activation, cross_entropy through
 * softmax, bce through sigmoid); or dLoss/dz from a dLoss/dy the caller
 * gives (NAME_backward_from). */
#include "emit.h"

/* Element-wise work (loss, activation derivatives) is unrolled when short. */
static bool short_vector(const Emitter *e, int64_t n)
{
    return n <= e->opt->unroll / 16 || n == 1;
}

/* dLoss/dz of the output layer into dz (row 0 of net->delta); adds into
 * `loss` the sample's loss.  A sequence output of T steps takes the mean of
 * the steps' losses: each step's code is the same as one vector's, its
 * pointers moved by the step, and scale times 1/T. */
void emit_loss(Emitter *e)
{
    const Net *n = e->net;
    const Layer *prod = output_layer(n);
    int64_t T = n->out_steps, no = n->n_outputs / T;   /* floats of one step */
    bool unroll = short_vector(e, no) && T == 1;
    const char *t = e->t, *scale = T > 1 ? "sc" : "scale";
    const char *ind = T > 1 ? "    " : "";
    char y[64], f[32];
    act_ptr(e, y, prod ? prod->act_off : -1);
    if (T > 1) {
        emit(e, "        const float sc = scale * %s;   /* the mean over the %lld steps */\n", fmt_float(f, 1.0 / (double)T),
             (long long)T);
        emit(e, "        float ls = 0.0f;   /* the sample's loss, summed over its steps */\n\n");
        emit(e, "        for (int st = 0; st < %lld; st++) {   /* step st */\n", (long long)T);
        emit(e, "            const float *y = %s + st * %lld;   /* the output [%lld] */\n", y, (long long)no,
             (long long)no);
        emit(e, "            const float *tt = %s + st * %lld;\n", t, (long long)no);
        emit(e, "            float *dz_out = %s + st * %lld;   /* dLoss/dz of the output layer */\n", e->delta,
             (long long)no);
        t = "tt";
    } else {
        emit(e, "        const float *y = %s;   /* the output [%lld] */\n", y, (long long)no);
        emit(e, "        float *dz_out = %s;   /* dLoss/dz of the output layer */\n", e->delta);
        emit(e, "        float ls = 0.0f;   /* the sample's loss */\n\n");
    }
    if (n->loss == LOSS_CROSS_ENTROPY) {
        /* softmax last is guaranteed by check.c */
        emit(e, "%s        {   /* loss cross_entropy: L = -sum t log softmax(z) = sum t (logsumexp(z) - z);\n"
                "%s               with softmax, dL/dz = y - t */\n", ind, ind);
        if (T > 1)
            emit(e, "%s            const float *z = %s + st * %lld;\n", ind, e->logit, (long long)no);
        else
            emit(e, "%s            const float *z = %s;\n", ind, e->logit);
        emit(e, "%s            float m = z[0], sum = 0.0f, lse;\n", ind);
        emit(e, "%s            for (int j = 1; j < %lld; j++)\n%s                m = z[j] > m ? z[j] : m;\n", ind,
             (long long)no, ind);
        emit(e, "%s            for (int j = 0; j < %lld; j++)\n%s                sum += expf(z[j] - m);\n", ind,
             (long long)no, ind);
        emit(e, "%s            lse = m + logf(sum);\n", ind);
        emit(e, "%s            for (int j = 0; j < %lld; j++) {\n", ind, (long long)no);
        emit(e, "%s                ls += %s[j] * (lse - z[j]);\n", ind, t);
        emit(e, "%s                dz_out[j] = (y[j] - %s[j]) * %s;\n", ind, t, scale);
        emit(e, "%s            }\n%s        }\n", ind, ind);
        if (T > 1)
            emit(e, "        }\n        loss += ls * %s;\n", fmt_float(f, 1.0 / (double)T));
        else
            emit(e, "        loss += ls;\n");
        return;
    }
    if (n->loss == LOSS_BCE) {
        /* a dense sigmoid output is guaranteed by check.c; z is kept in logit */
        char inv[32];
        fmt_float(inv, 1.0 / (double)no);
        emit(e, "%s        {   /* loss bce: L = mean over the outputs of -(t log y + (1 - t) log(1 - y)), y = sigmoid(z),\n"
                "%s               as max(z, 0) - z t + log(1 + exp(-|z|)) (no overflow, no log 0);\n"
                "%s               dL/dz = (y - t) / %lld */\n", ind, ind, ind, (long long)no);
        if (T > 1)
            emit(e, "%s            const float *z = %s + st * %lld;\n", ind, e->logit, (long long)no);
        else
            emit(e, "%s            const float *z = %s;\n", ind, e->logit);
        emit(e, "%s            for (int j = 0; j < %lld; j++) {\n", ind, (long long)no);
        emit(e, "%s                ls += (z[j] > 0.0f ? z[j] : 0.0f) - z[j] * %s[j] + log1pf(expf(-fabsf(z[j])));\n", ind,
             t);
        if (no == 1)
            emit(e, "%s                dz_out[j] = (y[j] - %s[j]) * %s;\n", ind, t, scale);
        else
            emit(e, "%s                dz_out[j] = (y[j] - %s[j]) * (%s * %s);\n", ind, t, scale, inv);
        emit(e, "%s            }\n%s        }\n", ind, ind);
        if (T > 1)
            emit(e, "        }\n        loss += ls * %s;\n", fmt_float(f, 1.0 / (double)(T * no)));
        else if (no == 1)
            emit(e, "        loss += ls;\n");
        else
            emit(e, "        loss += ls * %s;\n", inv);
        return;
    }
    /* mse: L = 1/2 sum (t - y)^2, dL/dy = y - t = -Error */
    emit(e, "%s        /* loss mse: L = 1/2 sum (t - y)^2, so dL/dy = y - t (the negated Error t - y) */\n", ind);
    if (prod && prod->act == ACT_SOFTMAX) {
        emit(e, "%s        {   /* through softmax: dz_j = y_j (g_j - sum_k g_k y_k) with g = dL/dy */\n", ind);
        emit(e, "%s            float dot = 0.0f;\n", ind);
        emit(e, "%s            for (int j = 0; j < %lld; j++) {\n", ind, (long long)no);
        emit(e, "%s                float err = y[j] - %s[j];\n", ind, t);
        emit(e, "%s                ls += err * err;\n", ind);
        emit(e, "%s                dz_out[j] = err * %s;\n", ind, scale);
        emit(e, "%s                dot += dz_out[j] * y[j];\n", ind);
        emit(e, "%s            }\n", ind);
        emit(e, "%s            for (int j = 0; j < %lld; j++)\n", ind, (long long)no);
        emit(e, "%s                dz_out[j] = y[j] * (dz_out[j] - dot);\n", ind);
        emit(e, "%s        }\n", ind);
    } else if (unroll) {
        for (int64_t j = 0; j < no; j++) {
            char yj[32];
            snprintf(yj, sizeof yj, "y[%lld]", (long long)j);
            emit(e, "        {\n            float err = y[%lld] - %s[%lld];\n            ls += err * err;\n",
                 (long long)j, t, (long long)j);
            emit(e, "            dz_out[%lld] = err", (long long)j);
            if (prod)
                emit_deriv_factor(e, prod, yj);
            emit(e, " * scale;\n        }\n");
        }
    } else {
        emit(e, "%s        for (int j = 0; j < %lld; j++) {\n", ind, (long long)no);
        emit(e, "%s            float err = y[j] - %s[j];\n%s            ls += err * err;\n", ind, t, ind);
        emit(e, "%s            dz_out[j] = err", ind);
        if (prod)
            emit_deriv_factor(e, prod, "y[j]");
        emit(e, " * %s;\n%s        }\n", scale, ind);
    }
    if (T > 1)
        emit(e, "        }\n        loss += ls * %s;\n", fmt_float(f, 0.5 / (double)T));
    else
        emit(e, "        loss += ls * 0.5f;\n");
}

/* dLoss/dz of the output layer into dz (row 0 of net->delta) from dLoss/dy,
 * given by the caller (e->t: the sample's row of dy): through the output
 * activation's derivative, or softmax's Jacobian, step by step for a
 * sequence output. */
void emit_output_grad(Emitter *e)
{
    const Net *n = e->net;
    const Layer *prod = output_layer(n);
    int64_t T = n->out_steps, no = n->n_outputs / T, all = n->n_outputs;
    char y[64];
    act_ptr(e, y, prod ? prod->act_off : -1);
    emit(e, "        float *dz_out = %s;   /* dLoss/dz of the output layer */\n", e->delta);
    if (!prod || (!act_info[prod->act].derivative && prod->act != ACT_SOFTMAX)) {
        emit(e, "        for (int j = 0; j < %lld; j++)   /* a linear output: dz = dy */\n", (long long)all);
        emit(e, "            dz_out[j] = %s[j];\n", e->t);
        return;
    }
    emit(e, "        const float *y = %s;   /* the output [%lld] */\n", y, (long long)all);
    if (prod->act == ACT_SOFTMAX) {
        emit(e, "        for (int st = 0; st < %lld; st++) {   /* softmax%s: dz_j = y_j (g_j - sum_k g_k y_k), g = dL/dy */\n",
             (long long)T, T > 1 ? " of each step" : "");
        emit(e, "            const float *ys = y + st * %lld, *g = %s + st * %lld;\n", (long long)no, e->t, (long long)no);
        emit(e, "            float *dz = dz_out + st * %lld, dot = 0.0f;\n", (long long)no);
        emit(e, "            for (int j = 0; j < %lld; j++)\n                dot += g[j] * ys[j];\n", (long long)no);
        emit(e, "            for (int j = 0; j < %lld; j++)\n                dz[j] = ys[j] * (g[j] - dot);\n",
             (long long)no);
        emit(e, "        }\n");
        return;
    }
    emit(e, "        for (int j = 0; j < %lld; j++)   /* dz = dy act'(z), from the output y */\n", (long long)all);
    emit(e, "            dz_out[j] = %s[j]", e->t);
    emit_deriv_factor(e, prod, "y[j]");
    emit(e, ";\n");
}
