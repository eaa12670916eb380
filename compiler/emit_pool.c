/* emit_pool.c — max and average pooling: forward, and the input gradient
 * (the gradient of a max window goes to its first maximum, as in PyTorch). */
#include "emit.h"

static void emit_pool_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    bool max = l->kind == LAYER_MAXPOOL;
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    char iy[96], ix[96];
    index_expr(iy, sizeof iy, "oy", l->stride_h, 0);
    index_expr(ix, sizeof ix, "ox", l->stride_w, 0);
    emit(e, "        const float *in = %s;   /* [%lld][%lld][%lld] */\n", in_ptr, (long long)l->in.c, (long long)H,
         (long long)W);
    emit(e, "        float *out = %s + %lld;   /* [%lld][%lld][%lld] */\n", e->act, (long long)l->act_off,
         (long long)l->out.c, (long long)OH, (long long)OW);
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const float *win = in + c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy,
         (long long)W, ix);
    emit(e, "                    float v = %s;\n", max ? "win[0]" : "0.0f");
    emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
    emit(e, "                        for (int kx = 0; kx < %lld; kx++)\n", (long long)l->kw);
    if (max) {
        emit(e, "                            v = win[ky * %lld + kx] > v ? win[ky * %lld + kx] : v;\n", (long long)W,
             (long long)W);
        emit(e, "                    out[(c * %lld + oy) * %lld + ox] = v;\n", (long long)OH, (long long)OW);
    } else {
        emit(e, "                            v += win[ky * %lld + kx];\n", (long long)W);
        char inv[32];
        emit(e, "                    out[(c * %lld + oy) * %lld + ox] = v * %s;\n", (long long)OH, (long long)OW,
             fmt_float(inv, 1.0 / (double)(l->kh * l->kw)));
    }
    emit(e, "                }\n");
}

static void emit_pool_din(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    bool max = l->kind == LAYER_MAXPOOL;
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    char iy[96], ix[96];
    index_expr(iy, sizeof iy, "oy", l->stride_h, 0);
    index_expr(ix, sizeof ix, "ox", l->stride_w, 0);
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    if (max || through_act(prod))   /* avgpool reads its input only for the activation */
        emit(e, "        const float *in = %s;\n", in_ptr);
    if (max)
        emit(e, "        const float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)l->in.c, (long long)H, (long long)W);
    /* Windows that tile the input exactly: every input is in one window, so
     * each gets its value once, without clearing din first or branching. */
    bool tiles = l->stride_h == l->kh && l->stride_w == l->kw && OH * l->kh == H && OW * l->kw == W;
    if (tiles && max) {
        /* Row by row, so that the ox loop reads and writes contiguous rows and
         * vectorizes.  The first maximum of a window gets dz times the
         * producer's derivative there (the maximum is that input's value); the
         * other inputs get 0.  A NaN window matches nothing and gets 0. */
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the windows tile the input */\n", (long long)l->in.c);
        emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)OH);
        emit(e, "                const float *m = out + (c * %lld + oy) * %lld, *g = dz + (c * %lld + oy) * %lld;\n",
             (long long)OH, (long long)OW, (long long)OH, (long long)OW);
        /* one pointer per row of the windows: GCC vectorizes each row's
         * interleaved reads, not one group spanning rows */
        for (int64_t ky = 0; ky < l->kh; ky++)
            emit(e, "                const float *r%lld = in + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        for (int64_t ky = 0; ky < l->kh; ky++)
            emit(e, "                float *d%lld = din + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
        emit(e, "                    const float mx = m[ox], gv = g[ox]");
        emit_deriv_factor(e, prod, "mx");
        emit(e, ";\n");
        /* all reads first, then the tests, then the writes: GCC vectorizes
         * this order, not reads and writes interleaved */
        int64_t kk = l->kh * l->kw;
        char at[96];
        for (int64_t j = 0; j < kk; j++) {
            index_expr(at, sizeof at, "ox", l->kw, j % l->kw);
            emit(e, "%s v%lld = r%lld[%s]%s", j ? "," : "                    const float", (long long)j,
                 (long long)(j / l->kw), at, j == kk - 1 ? ";\n" : "");
        }
        emit(e, "                    int %sh0", kk > 1 ? "left, " : "");
        for (int64_t j = 1; j < kk; j++)
            emit(e, ", h%lld", (long long)j);
        emit(e, ";   /* the first maximum, in PyTorch's order */\n");
        emit(e, "                    h0 = v0 == mx;\n");
        if (kk > 1)
            emit(e, "                    left = !h0;\n");
        for (int64_t j = 1; j < kk; j++) {
            emit(e, "                    h%lld = left & (v%lld == mx);\n", (long long)j, (long long)j);
            if (j < kk - 1)
                emit(e, "                    left &= !h%lld;\n", (long long)j);
        }
        for (int64_t j = 0; j < kk; j++) {
            index_expr(at, sizeof at, "ox", l->kw, j % l->kw);
            emit(e, "                    d%lld[%s] = h%lld ? gv : 0.0f;\n", (long long)(j / l->kw), at, (long long)j);
        }
        emit(e, "                }\n            }\n");
        return;
    }
    if (tiles) {
        int64_t kk = l->kh * l->kw;
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the windows tile the input */\n", (long long)l->in.c);
        emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
        emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
        emit(e, "                    const int o = (c * %lld + oy) * %lld + ox;\n", (long long)OH, (long long)OW);
        emit(e, "                    const int at = c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy,
             (long long)W, ix);
        char inv[32];
        emit(e, "                    const float d = dz[o] * %s;\n", fmt_float(inv, 1.0 / (double)kk));
        for (int64_t j = 0; j < kk; j++)
            emit(e, "                    din[at + %lld] = d;\n", (long long)(j / l->kw * W + j % l->kw));
        emit(e, "                }\n");
        emit_din_through_act(e, prod, l->in.c * H * W);
        return;
    }
    emit(e, "        for (int i = 0; i < %lld; i++)\n            din[i] = 0.0f;\n", (long long)(l->in.c * H * W));
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const int o = (c * %lld + oy) * %lld + ox;\n", (long long)OH, (long long)OW);
    emit(e, "                    const int at = c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy, (long long)W,
         ix);
    if (max) {
        emit(e, "                    int done = 0;   /* the gradient goes to the first maximum, as in PyTorch */\n");
        emit(e, "                    for (int ky = 0; ky < %lld && !done; ky++)\n", (long long)l->kh);
        emit(e, "                        for (int kx = 0; kx < %lld && !done; kx++)\n", (long long)l->kw);
        emit(e, "                            if (in[at + ky * %lld + kx] == out[o]) {\n", (long long)W);
        emit(e, "                                din[at + ky * %lld + kx] += dz[o];\n", (long long)W);
        emit(e, "                                done = 1;\n");
        emit(e, "                            }\n");
    } else {
        char inv[32];
        emit(e, "                    const float d = dz[o] * %s;\n", fmt_float(inv, 1.0 / (double)(l->kh * l->kw)));
        emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
        emit(e, "                        for (int kx = 0; kx < %lld; kx++)\n", (long long)l->kw);
        emit(e, "                            din[at + ky * %lld + kx] += d;\n", (long long)W);
    }
    emit(e, "                }\n");
    emit_din_through_act(e, prod, l->in.c * H * W);
}

/* All of its backward code is din: for the first layer only if dx. */
static void emit_pool_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    emit_din_only(e, l, prod, row, in_ptr, emit_pool_din);
}

const LayerEmitter pool_emitter = {
    .forward = emit_pool_forward,
    .backward = emit_pool_backward,
};
