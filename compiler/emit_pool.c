/* emit_pool.c — max and average pooling: forward, and the input gradient
 * (the gradient of a max window goes to its first maximum, as in PyTorch). */
#include "emit.h"

#include <string.h>

/* Max pooling of 2x2 windows of stride 2 that tile the input, 4 or more a
 * row: the shape whose forward and backward passes have vector paths. */
static bool maxpool2_tiles(const Layer *l)
{
    return l->kind == LAYER_MAXPOOL && l->kh == 2 && l->kw == 2 && l->stride_h == 2 && l->stride_w == 2 &&
           l->out.h * 2 == l->in.h && l->out.w * 2 == l->in.w && l->out.w >= 4;
}

/* Opens the chunks of P windows of a row of OW (loop variable o): part 0,
 * those from the row's start while a whole chunk is left after them (none
 * if the row is one chunk: returns false); part 1, the last P windows,
 * which end at the row's end and may overlap the ones before. */
static bool emit_chunk_open(Emitter *e, int part, int64_t OW, int P)
{
    if (part == 0) {
        if (OW == P)
            return false;
        if (OW - P <= P)   /* one block before the last */
            emit(e, "                {\n                    const int o = 0;\n");
        else
            emit(e, "                for (int o = 0; o < %lld; o += %d) {\n", (long long)(OW - P), P);
    } else
        emit(e, "                {   /* the last %d windows%s */\n                    const int o = %lld;\n", P,
             OW % P ? ", some again" : "", (long long)(OW - P));
    return true;
}

/* The forward windows in vectors (NNC_SHUFFLE), a pair of input rows at a
 * time, P = lanes / 2 windows at once: the rows' even and odd lanes taken
 * apart, then each window's maximum in the plain loops' order (the first
 * input, then each later one where it is greater: the same bits, NaN
 * included), by comparison masks.  The last P windows end at the row's end
 * and may overlap the ones before, which get the same values again. */
static void emit_maxpool2_fwd_chunks(Emitter *e, const Layer *l, int lanes, bool keep)
{
    int P = lanes / 2;
    int64_t OW = l->out.w;
    const char *v = vec_type(lanes), *h = lanes == 16 ? "nnc_v8" : "nnc_v4";
    char even[96] = "", odd[96] = "";
    for (int k = 0; k < P; k++) {
        snprintf(even + strlen(even), sizeof even - strlen(even), ", %d", 2 * k);
        snprintf(odd + strlen(odd), sizeof odd - strlen(odd), ", %d", 2 * k + 1);
    }
    for (int part = 0; part < 2; part++) {
        if (!emit_chunk_open(e, part, OW, P))
            continue;
        emit(e, "                    %s va, vb;\n", v);
        emit(e, "                    memcpy(&va, r0 + 2 * o, sizeof va);\n");
        emit(e, "                    memcpy(&vb, r1 + 2 * o, sizeof vb);\n");
        emit(e, "                    %s mx = __builtin_shufflevector(va, va%s), x;\n", h, even);
        emit(e, "                    %si gt;\n", h);
        if (keep) {   /* which input is the maximum: 0 to 3 */
            emit(e, "                    %s at = {0.0f}", h);
            for (int j = 1; j < 4; j++) {
                emit(e, ", at%d = {", j);
                for (int k = 0; k < P; k++)
                    emit(e, "%s%d.0f", k ? ", " : "", j);
                emit(e, "}");
            }
            emit(e, ";   /* which input is the maximum */\n");
        }
        const char *const row[3] = {"va", "vb", "vb"}, *const pick[3] = {odd, even, odd};   /* the window's order */
        for (int j = 0; j < 3; j++) {
            emit(e, "                    x = __builtin_shufflevector(%s, %s%s);\n", row[j], row[j], pick[j]);
            emit(e, "                    gt = x > mx;\n");
            emit(e, "                    mx = (%s)(((%si)x & gt) | ((%si)mx & ~gt));\n", h, h, h);
            if (keep)
                emit(e, "                    at = (%s)(((%si)at%d & gt) | ((%si)at & ~gt));\n", h, h, j + 1, h);
        }
        emit(e, "                    memcpy(orow + o, &mx, sizeof mx);\n");
        if (keep)
            emit(e, "                    memcpy(arow + o, &at, sizeof at);\n");
        emit(e, "                }\n");
    }
}

/* Inference code writes a pool's output over its input (plan.c), so a
 * chunk may not read what an earlier one of the first row pair wrote: P
 * windows at once fit a row of OW windows when they are the whole row, or
 * when the last chunk (from OW - P on) reads from 2 (OW - P) on, at or past
 * the end of what the chunks before it wrote (P, or up to OW - 1). */
static bool fwd_chunk_fits(int64_t OW, int P)
{
    return OW == P || (OW > P && 2 * (OW - P) >= (OW - P <= P ? P : OW - 1));
}

/* conv: the convolution whose wide rows hold the input (pool_wide_conv), or
 * NULL: the input is compact. */
static void emit_maxpool2_fwd_vectors(Emitter *e, const Layer *l, const Layer *conv)
{
    int64_t C = l->in.c, OH = l->out.h, OW = l->out.w, W = l->in.w;
    emit(e, "#if defined(NNC_SHUFFLE)\n");
    emit(e, "        for (int q = 0; q < %lld; q++) {   /* q = c * %lld + oy: a pair of rows in vectors */\n",
         (long long)(C * OH), (long long)OH);
    if (conv) {
        int64_t off, row, plane;
        conv_wide_rows(conv, &off, &row, &plane);
        emit(e, "            const float *r0 = net->pad + %lld + q / %lld * %lld + q %% %lld * %lld, *r1 = r0 + %lld;"
                "   /* layer %d's wide rows */\n",
             (long long)off, (long long)OH, (long long)plane, (long long)OH, (long long)(2 * row), (long long)row,
             conv->index);
        emit(e, "            float *arow = where + q * %lld;\n", (long long)OW);
    } else
        emit(e, "            const float *r0 = in + q * %lld, *r1 = r0 + %lld;\n", (long long)(2 * W), (long long)W);
    emit(e, "            float *orow = out + q * %lld;\n", (long long)OW);
    if (fwd_chunk_fits(OW, 8)) {
        emit(e, "#if defined(NNC_V16)\n");
        emit_maxpool2_fwd_chunks(e, l, 16, conv != NULL);
        emit(e, "#else\n");
        emit_maxpool2_fwd_chunks(e, l, 8, conv != NULL);
        emit(e, "#endif\n");
    } else
        emit_maxpool2_fwd_chunks(e, l, 8, conv != NULL);
    emit(e, "        }\n#else\n");
}

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
    const Layer *conv = pool_wide_conv(e, l);
    if (conv) {
        char at[64];
        act_ptr(e, at, conv->act_off);
        emit(e, "        float *where = %s;   /* [%lld][%lld][%lld]: each window's first maximum, 0 to 3, in layer %d's "
                "place */\n", at, (long long)l->out.c, (long long)OH, (long long)OW, conv->index);
        emit(e, "        (void)in;   /* (under NNC_SHUFFLE, the windows come from layer %d's wide rows) */\n", conv->index);
    }
    bool vec = maxpool2_tiles(l) && fwd_chunk_fits(OW, 4);
    if (vec)
        emit_maxpool2_fwd_vectors(e, l, conv);
    emit(e, "        for (int c = 0; c < %lld; c++)\n", (long long)l->in.c);
    emit(e, "            for (int oy = 0; oy < %lld; oy++)\n", (long long)OH);
    emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
    emit(e, "                    const float *win = in + c * %lld + (%s) * %lld + (%s);\n", (long long)(H * W), iy,
         (long long)W, ix);
    emit(e, "                    float v = %s%s;\n", max ? "win[0]" : "0.0f", conv ? ", at = 0.0f" : "");
    emit(e, "                    for (int ky = 0; ky < %lld; ky++)\n", (long long)l->kh);
    emit(e, "                        for (int kx = 0; kx < %lld; kx++)%s\n", (long long)l->kw, conv ? " {" : "");
    if (conv) {   /* where: over the input's first floats, each after its window's last read (emit.h) */
        emit(e, "                            const float x = win[ky * %lld + kx];\n", (long long)W);
        emit(e, "                            at = x > v ? (float)(ky * %lld + kx) : at;\n", (long long)l->kw);
        emit(e, "                            v = x > v ? x : v;\n");
        emit(e, "                        }\n");
        emit(e, "                    out[(c * %lld + oy) * %lld + ox] = v;\n", (long long)OH, (long long)OW);
        emit(e, "                    where[(c * %lld + oy) * %lld + ox] = at;   /* over an input read already */\n",
             (long long)OH, (long long)OW);
    } else if (max) {
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
    if (vec)
        emit(e, "#endif\n");
}

/* Whether max pooling's backward has the vector path: 2x2 windows of
 * stride 2 that tile the input, 4 or more a row, after an activation whose
 * derivative the vectors compute the plain loops' way (none, relu, leaky). */
static bool maxpool2_vectors(const Emitter *e, const Layer *l)
{
    const Layer *prod = producer(e->net, (int)(l - e->net->layers));
    ActKind act = prod ? prod->act : ACT_LINEAR;
    return maxpool2_tiles(l) && (!act_info[act].derivative || act == ACT_RELU || act == ACT_LEAKY_RELU);
}

/* The 2x2 windows of stride 2 in vectors (NNC_SHUFFLE), a pair of input
 * rows at a time, P windows (2P lanes) at once: each input compares with
 * its window's maximum (spread over the window's two lanes), and the first
 * of the four to match takes the gradient, as in the plain loops.  The last
 * P windows of a row end at its end and may overlap the ones before, which
 * then get the same values again: nothing reads or writes past a row. */
static void emit_maxpool2_chunks(Emitter *e, const Layer *l, const Layer *prod, int lanes, bool kept)
{
    int P = lanes / 2;
    int64_t OW = l->out.w;
    const char *v = vec_type(lanes), *h = lanes == 16 ? "nnc_v8" : "nnc_v4";
    char spread[160] = "", even[160] = "", odd[160] = "", oddmask[160] = "", ones[160] = "", slopes[160] = "";
    char slope[32];
    act_param_str(slope, prod ? prod : l);
    for (int k = 0; k < lanes; k++) {
        snprintf(spread + strlen(spread), sizeof spread - strlen(spread), ", %d", k / 2);
        snprintf(even + strlen(even), sizeof even - strlen(even), ", %d", k / 2 * 2);
        snprintf(odd + strlen(odd), sizeof odd - strlen(odd), ", %d", k / 2 * 2 + 1);
        snprintf(oddmask + strlen(oddmask), sizeof oddmask - strlen(oddmask), "%s%d", k ? ", " : "", -(k % 2));
        if (k < P) {
            snprintf(ones + strlen(ones), sizeof ones - strlen(ones), "%s1.0f", k ? ", " : "");
            snprintf(slopes + strlen(slopes), sizeof slopes - strlen(slopes), "%s%s", k ? ", " : "", slope);
        }
    }
    ActKind act = prod ? prod->act : ACT_LINEAR;
    if (kept) {   /* the inputs of each window's two lanes in the first row, and in the second */
        emit(e, "                const %s row0 = {", v);
        for (int k = 0; k < lanes; k++)
            emit(e, "%s%d.0f", k ? ", " : "", k % 2);
        emit(e, "}, row1 = {");
        for (int k = 0; k < lanes; k++)
            emit(e, "%s%d.0f", k ? ", " : "", 2 + k % 2);
        emit(e, "};\n");
    } else
        emit(e, "                const %si odd = {%s};   /* the second lane of each window's pair */\n", v, oddmask);
    if (act == ACT_RELU || act == ACT_LEAKY_RELU)
        emit(e, "                const %s zero_h = {0.0f}, one_h = {%s}%s%s%s;   /* layer %d's derivative */\n", h, ones,
             act == ACT_LEAKY_RELU ? ", slope_h = {" : "", act == ACT_LEAKY_RELU ? slopes : "",
             act == ACT_LEAKY_RELU ? "}" : "", prod->index);
    for (int part = 0; part < 2; part++) {
        if (!emit_chunk_open(e, part, OW, P))
            continue;
        bool vm = !kept || through_act(prod);   /* the maxima's lanes, needed */
        emit(e, "                    %s %svg%s;\n                    %s %sge;\n", h, vm ? "vm, " : "", kept ? ", va" : "",
             v, kept ? "" : "va, vb, me, ");
        if (vm)
            emit(e, "                    memcpy(&vm, m + o, sizeof vm);\n");
        emit(e, "                    memcpy(&vg, g + o, sizeof vg);\n");
        if (act == ACT_RELU)
            emit(e, "                    vg = vg * (%s)((%si)one_h & (vm > zero_h));\n", h, h);
        else if (act == ACT_LEAKY_RELU)
            emit(e, "                    vg = vg * (%s)(((%si)one_h & (vm > zero_h)) | ((%si)slope_h & ~(vm > zero_h)));\n",
                 h, h, h);
        if (kept) {
            emit(e, "                    memcpy(&va, ar + o, sizeof va);\n");
            emit(e, "                    ge = __builtin_shufflevector(vg, vg%s);   /* each window's over its two lanes */\n",
                 spread);
            emit(e, "                    const %s at = __builtin_shufflevector(va, va%s);\n", v, spread);
            emit(e, "                    const %si ha = at == row0, hb = at == row1;\n", v);
        } else {
            emit(e, "                    memcpy(&va, r0 + 2 * o, sizeof va);\n");
            emit(e, "                    memcpy(&vb, r1 + 2 * o, sizeof vb);\n");
            emit(e, "                    me = __builtin_shufflevector(vm, vm%s);   /* each window's over its two lanes */\n",
                 spread);
            emit(e, "                    ge = __builtin_shufflevector(vg, vg%s);\n", spread);
            emit(e, "                    const %si ea = va == me, eb = vb == me;\n", v);
            emit(e, "                    const %si pa = __builtin_shufflevector(ea, ea%s);   /* the pair's first lane */\n",
                 v, even);
            emit(e, "                    const %si qa = __builtin_shufflevector(ea, ea%s);   /* and its second */\n", v,
                 odd);
            emit(e, "                    const %si pb = __builtin_shufflevector(eb, eb%s);\n", v, even);
            emit(e, "                    const %si ha = ea & ~(odd & pa), hb = eb & ~(pa | qa) & ~(odd & pb);\n", v);
        }
        emit(e, "                    const %s oa = (%s)((%si)ge & ha), ob = (%s)((%si)ge & hb);\n", v, v, v, v, v);
        emit(e, "                    memcpy(d0 + 2 * o, &oa, sizeof oa);\n");
        emit(e, "                    memcpy(d1 + 2 * o, &ob, sizeof ob);\n");
        emit(e, "                }\n");
    }
}

static void emit_maxpool2_din_vectors(Emitter *e, const Layer *l, const Layer *prod, bool kept)
{
    int64_t C = l->in.c, OH = l->out.h, OW = l->out.w, W = l->in.w;
    emit(e, "#if defined(NNC_SHUFFLE)\n");
    emit(e, "        for (int q = 0; q < %lld; q++) {   /* q = c * %lld + oy: a pair of rows in vectors */\n",
         (long long)(C * OH), (long long)OH);
    if (!kept || through_act(prod))
        emit(e, "            const float *m = out + q * %lld, *g = dz + q * %lld;\n", (long long)OW, (long long)OW);
    else
        emit(e, "            const float *g = dz + q * %lld;\n", (long long)OW);
    if (kept)
        emit(e, "            const float *ar = where + q * %lld;\n", (long long)OW);
    else
        emit(e, "            const float *r0 = in + q * %lld, *r1 = r0 + %lld;\n", (long long)(2 * W), (long long)W);
    emit(e, "            float *d0 = din + q * %lld, *d1 = d0 + %lld;\n", (long long)(2 * W), (long long)W);
    if (OW >= 8) {
        emit(e, "#if defined(NNC_V16)\n");
        emit_maxpool2_chunks(e, l, prod, 16, kept);
        emit(e, "#else\n");
        emit_maxpool2_chunks(e, l, prod, 8, kept);
        emit(e, "#endif\n");
    } else
        emit_maxpool2_chunks(e, l, prod, 8, kept);
    emit(e, "        }\n#else\n");
}

static void emit_pool_din(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    bool max = l->kind == LAYER_MAXPOOL;
    int64_t H = l->in.h, W = l->in.w, OH = l->out.h, OW = l->out.w;
    char iy[96], ix[96];
    index_expr(iy, sizeof iy, "oy", l->stride_h, 0);
    index_expr(ix, sizeof ix, "ox", l->stride_w, 0);
    bool kept = pool_wide_conv(e, l) != NULL, deriv = through_act(prod);
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    if (kept)
        emit(e, "        const float *where = %s;   /* each window's first maximum, 0 to 3 (the forward pass) */\n",
             in_ptr);
    else if (max || through_act(prod))   /* avgpool reads its input only for the activation */
        emit(e, "        const float *in = %s;\n", in_ptr);
    if (max && (!kept || deriv))   /* (the maxima: to find them, or for the derivative there) */
        emit(e, "        const float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    emit(e, "        float *din = %s + %lld;   /* [%lld][%lld][%lld] */\n",
         e->delta, (long long)((row ^ 1) * n->max_width), (long long)l->in.c, (long long)H, (long long)W);
    /* Windows that tile the input exactly: every input is in one window, so
     * each gets its value once, without clearing din first or branching. */
    bool tiles = l->stride_h == l->kh && l->stride_w == l->kw && OH * l->kh == H && OW * l->kw == W;
    if (tiles && max) {
        if (maxpool2_vectors(e, l))
            emit_maxpool2_din_vectors(e, l, prod, kept);
        /* Row by row, so that the ox loop reads and writes contiguous rows and
         * vectorizes.  The first maximum of a window gets dz times the
         * producer's derivative there (the maximum is that input's value); the
         * other inputs get 0.  A NaN window matches nothing and gets 0; but
         * after a convolution whose wide rows the forward pass read, the
         * window's input that the forward pass chose gets it (a NaN first
         * input: that one). */
        emit(e, "        for (int c = 0; c < %lld; c++)   /* the windows tile the input */\n", (long long)l->in.c);
        emit(e, "            for (int oy = 0; oy < %lld; oy++) {\n", (long long)OH);
        if (!kept || deriv)
            emit(e, "                const float *m = out + (c * %lld + oy) * %lld, *g = dz + (c * %lld + oy) * %lld;\n",
                 (long long)OH, (long long)OW, (long long)OH, (long long)OW);
        else
            emit(e, "                const float *g = dz + (c * %lld + oy) * %lld;\n", (long long)OH, (long long)OW);
        /* one pointer per row of the windows: GCC vectorizes each row's
         * interleaved reads, not one group spanning rows */
        if (kept)
            emit(e, "                const float *ar = where + (c * %lld + oy) * %lld;\n", (long long)OH, (long long)OW);
        for (int64_t ky = 0; ky < l->kh && !kept; ky++)
            emit(e, "                const float *r%lld = in + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        for (int64_t ky = 0; ky < l->kh; ky++)
            emit(e, "                float *d%lld = din + c * %lld + oy * %lld + %lld;\n", (long long)ky,
                 (long long)(H * W), (long long)(l->kh * W), (long long)(ky * W));
        emit(e, "                for (int ox = 0; ox < %lld; ox++) {\n", (long long)OW);
        emit(e, "                    const float %sgv = g[ox]", kept ? "" : "mx = m[ox], ");
        emit_deriv_factor(e, prod, kept ? "m[ox]" : "mx");
        emit(e, ";\n");
        /* all reads first, then the tests, then the writes: GCC vectorizes
         * this order, not reads and writes interleaved */
        int64_t kk = l->kh * l->kw;
        char at[96];
        if (kept) {   /* the forward pass's choice */
            emit(e, "                    const float a = ar[ox];\n");
            for (int64_t j = 0; j < kk; j++) {
                index_expr(at, sizeof at, "ox", l->kw, j % l->kw);
                emit(e, "                    d%lld[%s] = a == %lld.0f ? gv : 0.0f;\n", (long long)(j / l->kw), at,
                     (long long)j);
            }
            emit(e, "                }\n            }\n#endif\n");
            return;
        }
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
        if (maxpool2_vectors(e, l))
            emit(e, "#endif\n");
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

const Layer *pool_wide_conv(const Emitter *e, const Layer *pool)
{
    if (e->infer || e->single || !maxpool2_tiles(pool) || !fwd_chunk_fits(pool->out.w, 4) || !maxpool2_vectors(e, pool))
        return NULL;
    const Layer *conv = producer(e->net, (int)(pool - e->net->layers));
    if (!conv || conv->kind != LAYER_CONV || conv->stride_h != 1 || conv->stride_w != 1 || !conv_act_in_block(e, conv))
        return NULL;
    return conv;
}

bool conv_feeds_pool(const Emitter *e, const Layer *l)
{
    const Net *n = e->net;
    for (int i = (int)(l - n->layers) + 1; i < n->n_layers; i++)
        if (producer(n, i) == l)
            return pool_wide_conv(e, &n->layers[i]) == l;
    return false;
}

/* All of its backward code is din: for the first layer only if dx. */
static void emit_pool_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    emit_din_only(e, l, prod, row, in_ptr, emit_pool_din);
}

/* The vector types and the lanes' shuffles of max pooling's forward and
 * backward passes. */
static unsigned pool_needs(const Emitter *e, const Layer *l)
{
    (void)e;
    return maxpool2_tiles(l) ? EMIT_NEEDS_V8 | EMIT_NEEDS_SHUFFLE : 0;
}

const LayerEmitter pool_emitter = {
    .forward = emit_pool_forward,
    .backward = emit_pool_backward,
    .needs = pool_needs,
};
