/* emit_loss.c — the losses: for the sample in flight, its loss and dLoss/dz
 * of the output layer (mse through any activation, cross_entropy through
 * softmax). */
#include "emit.h"

/* Element-wise work (loss, activation derivatives) is unrolled when short. */
static bool short_vector(const Emitter *e, int64_t n)
{
    return n <= e->opt->unroll / 16 || n == 1;
}

/* dLoss/dz of the output layer into dz (row 0 of net->delta); returns via
 * `loss` the sample's loss. */
void emit_loss(Emitter *e)
{
    const Net *n = e->net;
    const Layer *prod = output_layer(n);
    int64_t no = n->n_outputs;
    bool unroll = short_vector(e, no);
    const char *t = e->t;
    char y[64];
    act_ptr(e, y, prod ? prod->act_off : -1);
    emit(e, "        const float *y = %s;   /* the output [%lld] */\n", y, (long long)no);
    emit(e, "        float *dz_out = %s;   /* dLoss/dz of the output layer */\n", e->delta);
    emit(e, "        float ls = 0.0f;   /* the sample's loss */\n\n");
    if (n->loss == LOSS_CROSS_ENTROPY) {
        /* softmax last is guaranteed by check.c */
        emit(e, "        {   /* loss cross_entropy: L = -sum t log softmax(z) = sum t (logsumexp(z) - z);\n"
                "               with softmax, dL/dz = y - t */\n");
        emit(e, "            const float *z = %s;\n", e->logit);
        emit(e, "            float m = z[0], sum = 0.0f, lse;\n");
        emit(e, "            for (int j = 1; j < %lld; j++)\n                m = z[j] > m ? z[j] : m;\n", (long long)no);
        emit(e, "            for (int j = 0; j < %lld; j++)\n                sum += expf(z[j] - m);\n", (long long)no);
        emit(e, "            lse = m + logf(sum);\n");
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "                ls += %s[j] * (lse - z[j]);\n", t);
        emit(e, "                dz_out[j] = (y[j] - %s[j]) * scale;\n", t);
        emit(e, "            }\n        }\n");
        emit(e, "        loss += ls;\n");
        return;
    }
    /* mse: L = 1/2 sum (t - y)^2, dL/dy = y - t = -Error */
    emit(e, "        /* loss mse: L = 1/2 sum (t - y)^2, so dL/dy = y - t (the negated Error t - y) */\n");
    if (prod && prod->act == ACT_SOFTMAX) {
        emit(e, "        {   /* through softmax: dz_j = y_j (g_j - sum_k g_k y_k) with g = dL/dy */\n");
        emit(e, "            float dot = 0.0f;\n");
        emit(e, "            for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "                float err = y[j] - %s[j];\n", t);
        emit(e, "                ls += err * err;\n");
        emit(e, "                dz_out[j] = err * scale;\n");
        emit(e, "                dot += dz_out[j] * y[j];\n");
        emit(e, "            }\n");
        emit(e, "            for (int j = 0; j < %lld; j++)\n", (long long)no);
        emit(e, "                dz_out[j] = y[j] * (dz_out[j] - dot);\n");
        emit(e, "        }\n");
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
        emit(e, "        for (int j = 0; j < %lld; j++) {\n", (long long)no);
        emit(e, "            float err = y[j] - %s[j];\n            ls += err * err;\n", t);
        emit(e, "            dz_out[j] = err");
        if (prod)
            emit_deriv_factor(e, prod, "y[j]");
        emit(e, " * scale;\n        }\n");
    }
    emit(e, "        loss += ls * 0.5f;\n");
}
