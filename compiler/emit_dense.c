/* emit_dense.c — dense layers: z = W in + b, then the activation.
 *
 * Three forms.  Layers of at most `unroll` multiply-adds are straight-line
 * code; larger ones are loops with literal bounds whose dot products keep 16
 * partial sums (no serial reduction, so compilers vectorize them without
 * -ffast-math); and, when lower.c marks them `gemm` (batch >= 4), they work
 * on all the samples of a batch at once, as register-blocked matrix
 * products (see "dense layers over a whole batch" below).  The backward
 * pass of batch-1 networks can apply the optimizer step on the spot
 * (fused_update, emit_optim.c), and that of matrix products block by block
 * of the weight gradient (gemm_block_step).  The inference-only C bakes big
 * layers' weights in panels (dense_panels). */
#include "emit.h"

#include <string.h>

enum { DOT_LANES = 16 };         /* partial sums per dot product of a dense layer, one sample at a time */
enum { DOT_ROWS = 8 };           /* its outputs' dot products side by side */
enum { BLOCK_IND = 48 };         /* room for the indentation inside a gemm block's `if (update) {` */

static bool unrolled(const Emitter *e, const Layer *l)
{
    return l->n_in * l->n_out <= e->opt->unroll;
}

/* ---- one sample at a time: unrolled, or loops ---- */

/* z = b[o] + sum_i w[o][i] * in[i], as one expression, four terms a line. */
static void emit_dot_unrolled(Emitter *e, const Layer *l, int64_t o, int indent)
{
    emit(e, "b[%lld]", (long long)o);
    for (int64_t i = 0; i < l->n_in; i++) {
        if (i % 4 == 3)
            emit(e, "\n%*s", indent, "");
        emit(e, " + w[%lld] * in[%lld]", (long long)(o * l->n_in + i), (long long)i);
    }
}

/* z = b[o] + wo . x over n floats, as a loop: DOT_LANES partial sums that
 * vectorize without reassociation, added up pairwise, then the rest in
 * order.  Declares z. */
static void emit_dot_loop(Emitter *e, int64_t n, const char *x, const char *ind)
{
    int64_t main_len = n >= 2 * DOT_LANES ? n / DOT_LANES * DOT_LANES : 0;
    if (main_len) {
        emit(e, "%sfloat acc[%d] = {0.0f};   /* %d partial sums: no serial dependence */\n", ind, DOT_LANES,
             DOT_LANES);
        emit(e, "%sfloat z;\n", ind);
        emit(e, "%sfor (int i = 0; i < %lld; i += %d)\n", ind, (long long)main_len, DOT_LANES);
        emit(e, "%s    for (int k = 0; k < %d; k++)\n", ind, DOT_LANES);
        emit(e, "%s        acc[k] += wo[i + k] * %s[i + k];\n", ind, x);
        emit(e, "%sfor (int k = 0; k < 8; k++)   /* added up pairwise */\n%s    acc[k] += acc[k + 8];\n", ind, ind);
        emit(e, "%sfor (int k = 0; k < 4; k++)\n%s    acc[k] += acc[k + 4];\n", ind, ind);
        emit(e, "%sz = b[o] + ((acc[0] + acc[2]) + (acc[1] + acc[3]));\n", ind);
    } else {
        emit(e, "%sfloat z = b[o];\n", ind);
    }
    if (main_len < n)
        emit(e, "%sfor (int i = %lld; i < %lld; i++)\n%s    z += wo[i] * %s[i];\n", ind, (long long)main_len,
             (long long)n, ind, x);
}

/* The inference-only code's dense weights in panels.  One sample's pass
 * reads every weight once for one multiply-add, so its speed is how fast
 * the weights stream in from the cache: DOT_ROWS rows read side by side are
 * DOT_ROWS streams 4*n_in bytes apart, which a core's prefetchers follow
 * less well than one (MLP 784-128 alone, Zen 5 family 26 model 2: 3.7 us
 * row by row against 2.8 in panels).  So the block the DOT_ROWS-at-a-time loop reads, rows [0, main_o)
 * by columns [0, main_len), is baked panel by panel: for each DOT_ROWS
 * outputs, for each DOT_LANES columns, the DOT_ROWS x DOT_LANES piece, row
 * by row; then those rows' last n_in - main_len columns, row by row; then
 * the rows from main_o on as they are.  The sums are the same, in the same
 * order: same bits. */
static int64_t dot_rows_outputs(const Layer *l)
{
    return l->n_in >= 2 * DOT_LANES ? l->n_out / DOT_ROWS * DOT_ROWS : 0;
}

bool dense_panels(const Emitter *e, const Layer *l)
{
    return e->infer && l->kind == LAYER_DENSE && !l->in.steps && !unrolled(e, l) && dot_rows_outputs(l) > 0;
}

int64_t dense_panel_source(const Layer *l, int64_t at)
{
    int64_t n = l->n_in, main_o = dot_rows_outputs(l), main_len = n / DOT_LANES * DOT_LANES;
    int64_t o, i;
    if (at >= main_o * n) {   /* the rows after the panels, as they are */
        o = at / n, i = at % n;
    } else if (at >= main_o * main_len) {   /* the panels' rows' last columns */
        int64_t t = at - main_o * main_len, tail = n - main_len;
        o = t / tail, i = main_len + t % tail;
    } else {   /* panel at / (DOT_ROWS main_len), piece, row in it, column in it */
        int64_t in_panel = at % (DOT_ROWS * main_len), piece = in_panel / (DOT_ROWS * DOT_LANES);
        int64_t in_piece = in_panel % (DOT_ROWS * DOT_LANES);
        o = at / (DOT_ROWS * main_len) * DOT_ROWS + in_piece / DOT_LANES;
        i = piece * DOT_LANES + in_piece % DOT_LANES;
    }
    return o * n + i;
}

/* The panels' loop in vectors of `lanes` floats (16 or 8), `rows` rows'
 * sums at a time (all DOT_ROWS, or half of them in two passes).  With 16
 * lanes a row's 16 sums are one vector, v<r>; with 8, lanes 0-7 are lo<r>
 * and 8-15 hi<r>. */
static void emit_dot_panel_vec(Emitter *e, int64_t main_len, const char *x, const char *ind, int lanes, int rows)
{
    static const char *const one[] = {"v"}, *const one_x[] = {"xv"};
    static const char *const two[] = {"lo", "hi"}, *const two_x[] = {"xlo", "xhi"};
    int parts = DOT_LANES / lanes;
    const char *const *sum = parts == 1 ? one : two, *const *xs = parts == 1 ? one_x : two_x;
    const char *h = rows < DOT_ROWS ? "h + " : "";   /* the pass's first row, h */
    char h_at[24] = "";                               /* and where its pieces start */
    if (rows < DOT_ROWS)
        snprintf(h_at, sizeof h_at, "h * %d + ", DOT_LANES);
    emit(e, "%sfloat acc[%d][%d];   /* %d partial sums a row%s */\n", ind, DOT_ROWS, DOT_LANES, DOT_LANES,
         parts == 1 ? "" : ": lanes 0-7 in lo, 8-15 in hi");
    if (rows < DOT_ROWS)
        emit(e, "%sfor (int h = 0; h < %d; h += %d) {   /* %d rows at a time */\n", ind, DOT_ROWS, rows, rows);
    else
        emit(e, "%s{\n", ind);
    emit(e, "%s    %s ", ind, vec_type(lanes));
    for (int p = 0; p < parts; p++)
        emit(e, "%s, ", xs[p]);
    emit(e, "wv");
    for (int p = 0; p < parts; p++)   /* the sums, four a line */
        for (int r = 0; r < rows; r++) {
            if (r % 4 == 0)
                emit(e, ",\n%s       ", ind);
            else
                emit(e, ",");
            emit(e, " %s%d = {0.0f}", sum[p], r);
        }
    emit(e, ";\n");
    emit(e, "%s    for (int i = 0; i < %lld; i += %d) {\n", ind, (long long)main_len, DOT_LANES);
    for (int p = 0; p < parts; p++)
        emit(e, "%s        memcpy(&%s, %s + i%s, sizeof %s);\n", ind, xs[p], x, p ? " + 8" : "", xs[p]);
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < parts; p++)
            emit(e, "%s        memcpy(&wv, wo + i * %d + %s%d, sizeof wv);\n%s        %s%d += wv * %s;\n", ind,
                 DOT_ROWS, h_at, r * DOT_LANES + lanes * p, ind, sum[p], r, xs[p]);
    emit(e, "%s    }\n", ind);
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < parts; p++)
            emit(e, "%s    memcpy(acc[%s%d]%s, &%s%d, sizeof %s%d);\n", ind, h, r, p ? " + 8" : "", sum[p], r, sum[p],
                 r);
    emit(e, "%s}\n", ind);
}

/* The panels' loop in vectors where the target has them: acc[r][k] gets the
 * same products in the same order as in the plain loop that follows under
 * #else, whose `#if` this opens.  Written out, the sums stay in registers.
 * From the plain loop, GCC 12 (-O3) made one that copied a sum from one
 * register to another and back every round, or, with AVX2's 16 registers
 * for the 16 vectors of sums, kept two of them on the stack.  The written-
 * out loops' time against the plain loop's (the MLP's one-image pass on a
 * Zen 5, family 26 model 2, alternating in one process):
 *   16 lanes (NNC_V16)                                  0.83
 *   8 lanes, 32 registers (NNC_V8_WIDE: -DNNC_NO_V16
 *     -mprefer-vector-width=256), all 8 rows at once    0.91-0.95
 *     (4 rows at a time, in two passes: 1.18)
 *   8 lanes, 16 registers (-march=znver3 or haswell),
 *     4 rows at a time, in two passes                   0.91-0.92 */
static void emit_dot_panel_vectors(Emitter *e, int64_t main_len, const char *x, const char *ind)
{
    emit(e, "#if defined(NNC_V16)\n");
    emit_dot_panel_vec(e, main_len, x, ind, 16, DOT_ROWS);
    emit(e, "#elif defined(NNC_V8_WIDE)\n");
    emit_dot_panel_vec(e, main_len, x, ind, 8, DOT_ROWS);
    emit(e, "#elif defined(NNC_V8)\n");
    emit_dot_panel_vec(e, main_len, x, ind, 8, DOT_ROWS / 2);
    emit(e, "#else\n");
}

/* z0 .. z<DOT_ROWS-1> = b[o + r] + w[o + r] . x over n floats (n >= 2
 * DOT_LANES), each as emit_dot_loop sums it: the rows' partial sums side by
 * side in one loop.  `panels`: w is baked as dense_panel_source says, the
 * main block's rows being main_o. */
static void emit_dot_rows(Emitter *e, int64_t n, const char *x, const char *ind, bool panels, int64_t main_o)
{
    int64_t main_len = n / DOT_LANES * DOT_LANES;
    if (panels) {
        emit(e, "%sconst float *wo = w + o * %lld;   /* %d rows' %d-float pieces side by side */\n", ind,
             (long long)main_len, DOT_ROWS, DOT_LANES);
        if (main_len < n)
            emit(e, "%sconst float *wt = w + %lld + o * %lld;   /* the rows' last %lld */\n", ind,
                 (long long)(main_o * main_len), (long long)(n - main_len), (long long)(n - main_len));
    } else {
        emit(e, "%sconst float *wo = w + o * %lld;\n", ind, (long long)n);
    }
    emit(e, "%sfloat z0", ind);
    for (int r = 1; r < DOT_ROWS; r++)
        emit(e, ", z%d", r);
    emit(e, ";\n");
    if (panels)
        emit_dot_panel_vectors(e, main_len, x, ind);
    emit(e, "%sfloat acc[%d][%d] = {{0.0f}};   /* %d partial sums a row */\n", ind, DOT_ROWS, DOT_LANES, DOT_LANES);
    emit(e, "%sfor (int i = 0; i < %lld; i += %d)\n", ind, (long long)main_len, DOT_LANES);
    emit(e, "%s    for (int k = 0; k < %d; k++) {\n", ind, DOT_LANES);
    emit(e, "%s        const float xk = %s[i + k];\n", ind, x);
    for (int r = 0; r < DOT_ROWS; r++) {
        if (panels)
            emit(e, "%s        acc[%d][k] += wo[i * %d + %d + k] * xk;\n", ind, r, DOT_ROWS, r * DOT_LANES);
        else
            emit(e, "%s        acc[%d][k] += wo[%lld + i + k] * xk;\n", ind, r, (long long)(r * n));
    }
    emit(e, "%s    }\n", ind);
    if (panels)
        emit(e, "#endif\n");
    emit(e, "%sfor (int r = 0; r < %d; r++) {   /* added up pairwise */\n", ind, DOT_ROWS);
    emit(e, "%s    for (int k = 0; k < 8; k++)\n%s        acc[r][k] += acc[r][k + 8];\n", ind, ind);
    emit(e, "%s    for (int k = 0; k < 4; k++)\n%s        acc[r][k] += acc[r][k + 4];\n%s}\n", ind, ind, ind);
    for (int r = 0; r < DOT_ROWS; r++) {
        emit(e, "%sz%d = b[o + %d] + ((acc[%d][0] + acc[%d][2]) + (acc[%d][1] + acc[%d][3]));\n", ind, r, r, r, r, r, r);
        if (main_len < n && panels)
            emit(e, "%sfor (int i = 0; i < %lld; i++)\n%s    z%d += wt[%lld + i] * %s[%lld + i];\n", ind,
                 (long long)(n - main_len), ind, r, (long long)(r * (n - main_len)), x, (long long)main_len);
        else if (main_len < n)
            emit(e, "%sfor (int i = %lld; i < %lld; i++)\n%s    z%d += wo[%lld + i] * %s[i];\n", ind,
                 (long long)main_len, (long long)n, ind, r, (long long)(r * n), x);
    }
}

/* The softmax of the n logits z into out, its loops counting with v:
 * out = exp(z - max z) / sum, the largest logit taken off first so that no
 * exp overflows. */
static void emit_softmax_of_z(Emitter *e, const char *ind, const char *v, const char *out, int64_t n)
{
    emit(e, "%sfloat m = z[0], sum = 0.0f, inv;\n", ind);
    emit(e, "%sfor (int %s = 1; %s < %lld; %s++)\n%s    m = z[%s] > m ? z[%s] : m;\n", ind, v, v, (long long)n, v, ind,
         v, v);
    emit(e, "%sfor (int %s = 0; %s < %lld; %s++) {\n", ind, v, v, (long long)n, v);
    emit(e, "%s    %s[%s] = expf(z[%s] - m);\n%s    sum += %s[%s];\n%s}\n", ind, out, v, v, ind, out, v, ind);
    emit(e, "%sinv = 1.0f / sum;\n", ind);
    emit(e, "%sfor (int %s = 0; %s < %lld; %s++)\n%s    %s[%s] *= inv;\n", ind, v, v, (long long)n, v, ind, out, v);
}

/* Whether layer l writes its pre-activations z into net->logit and its
 * outputs from them: softmax, and the sigmoid output of a bce network (whose
 * loss reads z, for its numerically stable form: emit_loss.c). */
static bool keeps_z(const Emitter *e, const Layer *l)
{
    const Net *n = e->net;
    return l->act == ACT_SOFTMAX ||
           (l->act == ACT_SIGMOID && n->loss == LOSS_BCE && l == &n->layers[n->n_layers - 1]);
}

/* What a keeps_z layer's outputs are, for a comment. */
static const char *out_of_z_what(const Layer *l)
{
    return l->act == ACT_SOFTMAX ? "softmax: out = exp(z - max z) / sum" : "sigmoid: out = 1 / (1 + exp(-z)), z kept for bce";
}

/* The outputs of a keeps_z layer from its n logits z, into out, the loops
 * counting with v. */
static void emit_out_of_z(Emitter *e, const Layer *l, const char *ind, const char *v, const char *out, int64_t n)
{
    if (l->act == ACT_SOFTMAX) {
        emit_softmax_of_z(e, ind, v, out, n);
        return;
    }
    emit(e, "%sfor (int %s = 0; %s < %lld; %s++)\n%s    %s[%s] = nnc_sigmoid(z[%s]);\n", ind, v, v, (long long)n, v, ind,
         out, v, v);
}

static void emit_dense_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    const Net *n = e->net;
    bool keep_z = keeps_z(e, l);   /* z into logit, then the outputs */
    const ActInfo *a = &act_info[l->act];
    char slope[32];
    act_param_str(slope, l);
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld] */\n", e->param, (long long)l->w_off,
         (long long)l->n_out, (long long)l->n_in);
    emit(e, "        const float *b = %s + %lld;   /* [%lld] */\n", e->param, (long long)l->b_off, (long long)l->n_out);
    emit(e, "        const float *in = %s;\n", in_ptr);
    emit(e, "        float *out = %s + %lld;\n", e->act, (long long)l->act_off);
    const char *dest = keep_z ? e->logit : "out";
    if (unrolled(e, l)) {
        for (int64_t o = 0; o < l->n_out; o++) {
            char lhs[64];
            snprintf(lhs, sizeof lhs, "        %s[%lld] = ", dest, (long long)o);
            emit(e, "%s", lhs);
            RtBuf dot = {0};
            Emitter sub = *e;
            sub.out = &dot;
            size_t indent = strlen(lhs);
            if (!keep_z && a->forward && strcmp(a->forward, "$") != 0) {
                const char *open = strchr(a->forward, '$');
                indent += (size_t)(open - a->forward);
            }
            emit_dot_unrolled(&sub, l, o, (int)indent);
            if (!keep_z && a->forward)
                emit_template(e, a->forward, dot.oom ? "" : dot.data, slope);
            else
                emit(e, "%s", dot.oom ? "" : dot.data);
            rt_buf_free(&dot);
            emit(e, ";\n");
        }
    } else {
        /* DOT_ROWS outputs at a time: their sums are independent chains
         * (one alone waits on its own adds), each in its own order */
        int64_t main_o = dot_rows_outputs(l);
        if (main_o) {
            emit(e, "        for (int o = 0; o < %lld; o += %d) {   /* %d outputs at a time */\n", (long long)main_o,
                 DOT_ROWS, DOT_ROWS);
            emit_dot_rows(e, l->n_in, "in", "            ", dense_panels(e, l), main_o);
            for (int r = 0; r < DOT_ROWS; r++) {
                char z[8];
                snprintf(z, sizeof z, "z%d", r);
                emit(e, "            %s[o + %d] = ", dest, r);
                if (!keep_z && a->forward)
                    emit_template(e, a->forward, z, slope);
                else
                    emit(e, "%s", z);
                emit(e, ";\n");
            }
            emit(e, "        }\n");
        }
        if (main_o < l->n_out) {
            if (main_o)
                emit(e, "        for (int o = %lld; o < %lld; o++) {\n", (long long)main_o, (long long)l->n_out);
            else
                emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
            emit(e, "            const float *wo = w + o * %lld;\n", (long long)l->n_in);
            emit_dot_loop(e, l->n_in, "in", "            ");
            emit(e, "            %s[o] = ", dest);
            if (!keep_z && a->forward)
                emit_template(e, a->forward, "z", slope);
            else
                emit(e, "z");
            emit(e, ";\n        }\n");
        }
    }
    if (keep_z) {
        emit(e, "        {   /* %s */\n", out_of_z_what(l));
        emit(e, "            const float *z = %s;\n", e->logit);
        emit_out_of_z(e, l, "            ", "o", "out", l->n_out);
        emit(e, "        }\n");
    }
    (void)n;
}

static void emit_dense_din_code(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    int64_t ni = l->n_in, no = l->n_out;
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    emit(e, "        float *din = %s + %lld;\n", e->delta, (long long)((row ^ 1) * e->net->max_width));
    if (unrolled(e, l)) {
        for (int64_t i = 0; i < ni; i++) {
            char yi[32];
            snprintf(yi, sizeof yi, "in[%lld]", (long long)i);
            emit(e, "        din[%lld] = (", (long long)i);
            for (int64_t o = 0; o < no; o++) {
                if (o > 0 && o % 4 == 0)
                    emit(e, "\n                  ");
                emit(e, "%sw[%lld] * dz[%lld]", o ? " + " : "", (long long)(o * ni + i), (long long)o);
            }
            emit(e, ")");
            emit_deriv_factor(e, prod, yi);
            emit(e, ";\n");
        }
        return;
    }
    emit(e, "        for (int i = 0; i < %lld; i++)   /* din = w^T dz */\n            din[i] = 0.0f;\n",
         (long long)ni);
    emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            const float *wo = w + o * %lld;\n", (long long)ni);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                din[i] += wo[i] * d;\n", (long long)ni);
    emit(e, "        }\n");
    emit_din_through_act(e, prod, ni);
}

/* din = w^T dz into the other delta half, through prod's activation (for
 * the first layer, prod NULL, only if dx: emit_din_code). */
static void emit_dense_din(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    RtBuf code = {0};
    Emitter sub = *e;
    sub.out = &code;
    emit_dense_din_code(&sub, l, prod, row);
    emit_din_code(e, prod, &code, "        ");
    rt_buf_free(&code);
}


static void emit_dense_gw(Emitter *e, const Layer *l)
{
    int64_t ni = l->n_in, no = l->n_out;
    if (unrolled(e, l)) {
        for (int64_t o = 0; o < no; o++) {
            for (int64_t i = 0; i < ni; i++)
                emit(e, "        gw[%lld] += dz[%lld] * in[%lld];\n", (long long)(o * ni + i), (long long)o,
                     (long long)i);
            emit(e, "        gb[%lld] += dz[%lld];\n", (long long)o, (long long)o);
        }
        return;
    }
    emit(e, "        for (int o = 0; o < %lld; o++) {   /* gw += dz in^T, gb += dz */\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            float *go = gw + o * %lld;\n", (long long)ni);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                go[i] += d * in[i];\n", (long long)ni);
    emit(e, "            gb[o] += d;\n        }\n");
}

/* train_step's version for a fused layer: the optimizer step of each
 * weight and bias straight from its gradient, which is never stored. */
static void emit_dense_fused_step(Emitter *e, const Layer *l)
{
    int64_t ni = l->n_in, no = l->n_out;
    char k[64];
    emit_update_consts(e, "        ");
    emit(e, "        for (int o = 0; o < %lld; o++) {\n", (long long)no);
    emit(e, "            const float d = dz[o];\n");
    emit(e, "            for (int i = 0; i < %lld; i++) {\n", (long long)ni);
    snprintf(k, sizeof k, "%lld + o * %lld + i", (long long)l->w_off, (long long)ni);
    emit(e, "                const int k = %s;\n", k);
    emit_update_element(e, "                ", "k", "d * in[i]");
    emit(e, "            }\n            {\n");
    emit(e, "                const int k = %lld + o;\n", (long long)l->b_off);
    emit_update_element(e, "                ", "k", "d");
    emit(e, "            }\n        }\n");
}

static void emit_dense_backward(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in_ptr)
{
    const Net *n = e->net;
    emit(e, "        const float *dz = %s + %lld;\n", e->delta, (long long)(row * n->max_width));
    emit(e, "        const float *in = %s;\n", in_ptr);
    if (!fused_update(e, l)) {
        emit(e, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
        emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
        emit_dense_gw(e, l);
        emit_dense_din(e, l, prod, row);
        return;
    }
    RtBuf step = {0}, alone = {0};
    Emitter sub = *e;
    sub.out = &step;
    if (prod)   /* the first layer's din is only for dx, never with a step */
        emit_dense_din(&sub, l, prod, row);   /* din first: it needs the weights before their step */
    emit_dense_fused_step(&sub, l);
    sub.out = &alone;
    emit(&sub, "        float *gw = net->grad + %lld;\n", (long long)l->w_off);
    emit(&sub, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    emit_dense_gw(&sub, l);
    emit_dense_din(&sub, l, prod, row);
    emit(e, "        if (update) {   /* train_step: the optimizer step on the spot, no gradient buffer */\n");
    emit_indented(e, &step);
    emit(e, "        } else {   /* backward alone: the gradient into grad[] */\n");
    emit_indented(e, &alone);
    emit(e, "        }\n");
    rt_buf_free(&step);
    rt_buf_free(&alone);
}

/* ---- dense layers over a whole batch: matrix products ----
 *
 * A dense layer that lower.c marks `gemm` works on all the samples of the
 * batch at once, as three matrix products with every size a literal:
 *     forward      z[s][o]  = b[o] + sum_i w[o][i] in[s][i]
 *     weights      gw[o][i] = sum_s dz[s][o] in[s][i]
 *     input        din[s][i] = sum_o dz[s][o] w[o][i]
 * Each is written so that its innermost loop runs along a dimension that is
 * NOT summed over (samples for the forward product, inputs for the other
 * two), into a small block of accumulator arrays that stays in registers:
 * compilers vectorize that without reassociating a sum (no -ffast-math),
 * and every sum is still added in the order of the plain loops, so results
 * do not depend on the compiler or the vector width.  The forward product
 * reads its input transposed (net->xt: one vector of samples per input). */

enum {
    GEMM_BLOCK_FLOATS = 256,   /* accumulators of one forward block: 32 vectors of 8 (AVX-512 has 32 registers) */
    GEMM_MAX_LANES = 32,       /* samples per forward block */
    GEMM_ARRAY = 16,           /* floats per accumulator array of the backward products */
    GEMM_GW_ROWS = 8,          /* outputs per block of the weight gradient (8 x 16: 16 vectors) */
    GEMM_DIN_ARRAYS = 4,       /* accumulator arrays per block of the input gradient */
    GEMM_DIN_SAMPLES = 8,      /* vector path: samples per block of the input gradient ... */
    GEMM_DIN_VECTORS = 4,      /* ... times 8-float vectors of inputs: 32 accumulators, as the forward block */
};

/* Samples per forward block: the largest divisor of the batch up to 32. */
static int64_t gemm_lanes(int64_t batch)
{
    for (int64_t k = batch < GEMM_MAX_LANES ? batch : GEMM_MAX_LANES; k > 1; k--)
        if (batch % k == 0)
            return k;
    return 1;
}

/* " + off", or nothing when off is 0. */
static const char *plus(char out[32], int64_t off)
{
    if (off)
        snprintf(out, 32, " + %lld", (long long)off);
    else
        out[0] = '\0';
    return out;
}

/* The vector paths of the blocked products, widest first: a block whose
 * width (floats along its vectors) `width` is a multiple of the lanes takes
 * them.  vec_path(e, i, width, &open) opens path i ("#if defined(NNC_V16)",
 * then "#elif defined(NNC_V8)") and returns its lanes, or 0 where it does
 * not apply; vec_plain(e, open) opens the plain loops ("#else") and
 * vec_end(e, open) closes them. */
enum { N_VEC_PATHS = 2 };
static int64_t vec_path(Emitter *e, int i, int64_t width, bool *open)
{
    static const int64_t lanes[N_VEC_PATHS] = {16, 8};
    if (width % lanes[i])
        return 0;
    emit(e, "#%s defined(NNC_V%lld)\n", *open ? "elif" : "if", (long long)lanes[i]);
    *open = true;
    return lanes[i];
}

static void vec_plain(Emitter *e, bool open)
{
    if (open)
        emit(e, "#else\n");
}

static void vec_end(Emitter *e, bool open)
{
    if (open)
        emit(e, "#endif\n");
}

/* Row s of a layer's input, as "BASE + s * STRIDE[ + OFF]" (its stride also
 * in *stride). */
static void gemm_input(const Emitter *e, const Layer *l, char row[64], int64_t *stride)
{
    const Layer *p = producer(e->net, (int)(l - e->net->layers));
    char o[32];
    *stride = p ? e->net->n_act : e->net->n_inputs;
    snprintf(row, 64, "%s + s * %lld%s", p ? "net->act" : "x", (long long)*stride, plus(o, p ? p->act_off : 0));
}

/* The vector path of a forward block, in vectors of L floats. */
static void emit_gemm_forward_vec(Emitter *e, const Layer *l, int64_t R, int64_t lanes, bool s0_var, int64_t L)
{
    int64_t B = e->net->batch;
    int64_t q = lanes / L;
    emit(e, "            {\n                const %s zero = {0.0f};\n                %s ", vec_type(L), vec_type(L));
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sv%lld_%lld = zero + b[o + %lld]", !k ? (r ? ",\n                       " : "") : ", ",
                 (long long)r, (long long)k, (long long)r);
    emit(e, ";\n                for (int i = 0; i < %lld; i++) {\n", (long long)l->n_in);
    emit(e, "                    const float *xi = xt + i * %lld%s;\n", (long long)B, s0_var ? " + s0" : "");
    emit(e, "                    %s ", vec_type(L));
    for (int64_t k = 0; k < q; k++)
        emit(e, "%sx%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    for (int64_t k = 0; k < q; k++)
        emit(e, "                    memcpy(&x%lld, xi + %lld, sizeof x%lld);\n", (long long)k, (long long)(L * k),
             (long long)k);
    for (int64_t r = 0; r < R; r++) {
        emit(e, "                    ");
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sv%lld_%lld += w%lld[i] * x%lld;", k ? " " : "", (long long)r, (long long)k, (long long)r,
                 (long long)k);
        emit(e, "\n");
    }
    emit(e, "                }\n");
    for (int64_t r = 0; r < R; r++) {
        emit(e, "                ");
        for (int64_t k = 0; k < q; k++)
            emit(e, "%smemcpy(z%lld + %lld, &v%lld_%lld, %lld);", k ? " " : "", (long long)r, (long long)(L * k),
                 (long long)r, (long long)k, (long long)(4 * L));
        emit(e, "\n");
    }
    emit(e, "            }\n");
}

/* One forward block: outputs o .. o+R-1 of `lanes` samples from s0. */
static void emit_gemm_forward_block(Emitter *e, const Layer *l, int64_t R, int64_t lanes, bool s0_var)
{
    const Net *n = e->net;
    int64_t B = n->batch;
    bool keep_z = keeps_z(e, l);   /* z into logit, the outputs after the products */
    const ActInfo *a = &act_info[l->act];
    char slope[32];
    act_param_str(slope, l);
    emit(e, "            const float *w0 = w + o * %lld", (long long)l->n_in);
    for (int64_t r = 1; r < R; r++)
        emit(e, ",%s*w%lld = w%lld + %lld", r % 4 ? " " : "\n                        ", (long long)r, (long long)(r - 1),
             (long long)l->n_in);
    emit(e, ";\n            float z0[%lld]", (long long)lanes);
    for (int64_t r = 1; r < R; r++)
        emit(e, ", z%lld[%lld]", (long long)r, (long long)lanes);
    emit(e, ";\n");
    bool open = false;
    for (int p = 0; p < N_VEC_PATHS; p++) {
        int64_t L = vec_path(e, p, lanes, &open);
        if (L)
            emit_gemm_forward_vec(e, l, R, lanes, s0_var, L);
    }
    vec_plain(e, open);
    emit(e, "            for (int s = 0; s < %lld; s++) {\n", (long long)lanes);
    for (int64_t r = 0; r < R; r++)
        emit(e, "                z%lld[s] = b[o + %lld];\n", (long long)r, (long long)r);
    emit(e, "            }\n");
    emit(e, "            for (int i = 0; i < %lld; i++) {\n", (long long)l->n_in);
    emit(e, "                const float *xi = xt + i * %lld%s;\n", (long long)B, s0_var ? " + s0" : "");
    emit(e, "                const float ");
    for (int64_t r = 0; r < R; r++)
        emit(e, "%sw%lldi = w%lld[i]", r ? ", " : "", (long long)r, (long long)r);
    emit(e, ";\n                for (int s = 0; s < %lld; s++) {\n", (long long)lanes);
    for (int64_t r = 0; r < R; r++)
        emit(e, "                    z%lld[s] += w%lldi * xi[s];\n", (long long)r, (long long)r);
    emit(e, "                }\n            }\n");
    vec_end(e, open);
    if (s0_var)
        emit(e, "            for (int s = 0; s < %lld && s0 + s < n; s++) {\n", (long long)lanes);
    else
        emit(e, "            for (int s = 0; s < n; s++) {\n");
    const char *srow = s0_var ? "(s0 + s)" : "s";
    char off[32];
    if (keep_z)
        emit(e, "                float *out = net->logit + %s * %lld;\n", srow, (long long)n->n_outputs);
    else
        emit(e, "                float *out = net->act + %s * %lld%s;\n", srow, (long long)n->n_act,
             plus(off, l->act_off));
    for (int64_t r = 0; r < R; r++) {
        char z[32];
        snprintf(z, sizeof z, "z%lld[s]", (long long)r);
        emit(e, "                out[o + %lld] = ", (long long)r);
        if (!keep_z && a->forward)
            emit_template(e, a->forward, z, slope);
        else
            emit(e, "%s", z);
        emit(e, ";\n");
    }
    emit(e, "            }\n");
}

/* Whether a whole batch of B samples of ni inputs is transposed in L x L
 * register blocks (L = 8 or 16) before the forward product. */
static bool transposes_in_blocks(int64_t B, int64_t ni, int L)
{
    return B % L == 0 && ni >= L;
}

/* The forward product's transposition of a whole batch (n == B) in L x L
 * blocks (nnc_transpose8/16: moves in registers), the inputs past the last
 * whole block one by one; then "else", for the plain loops' block. */
static void emit_transpose_blocks(Emitter *e, int L, const char *in, int64_t stride, int64_t ni, int64_t B)
{
    int64_t main_i = ni / L * L;
    emit(e, "        if (n == %lld) {   /* %d x %d blocks transposed in registers */\n", (long long)B, L, L);
    emit(e, "            for (int i0 = 0; i0 < %lld; i0 += %d)\n", (long long)main_i, L);
    emit(e, "                for (int s = 0; s < %lld; s += %d)\n", (long long)B, L);
    emit(e, "                    nnc_transpose%d(xt + i0 * %lld + s, %lld, %s + i0, %lld);\n", L, (long long)B,
         (long long)B, in, (long long)stride);
    if (main_i < ni) {
        emit(e, "            for (int s = 0; s < %lld; s++) {\n", (long long)B);
        emit(e, "                const float *in = %s;\n", in);
        emit(e, "                for (int i = %lld; i < %lld; i++)\n                    xt[i * %lld + s] = in[i];\n",
             (long long)main_i, (long long)ni, (long long)B);
        emit(e, "            }\n");
    }
    emit(e, "        } else\n");
}

static void emit_gemm_forward(Emitter *e, const Layer *l)
{
    const Net *n = e->net;
    int64_t B = n->batch, ni = l->n_in, no = l->n_out;
    int64_t lanes = gemm_lanes(B);
    int64_t R = GEMM_BLOCK_FLOATS / lanes;
    R = R < 1 ? 1 : R > 8 ? 8 : R;
    R = R > no ? no : R;
    int64_t main_len = no / R * R;
    bool s0_var = lanes < B;
    char in[64];
    int64_t stride;
    gemm_input(e, l, in, &stride);
    emit(e, "        const float *w = net->param + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off, (long long)no,
         (long long)ni);
    emit(e, "        const float *b = net->param + %lld;   /* [%lld] */\n", (long long)l->b_off, (long long)no);
    emit(e, "        float *xt = net->xt;   /* [%lld][%lld]: the inputs transposed, a vector of samples each */\n",
         (long long)ni, (long long)B);
    bool has16 = transposes_in_blocks(B, ni, 16), has8 = transposes_in_blocks(B, ni, 8);
    if (has16 || has8) {   /* a whole batch: blocks transposed in registers, the same floats */
        emit(e, "#if defined(NNC_SHUFFLE)%s\n", has16 ? " && defined(NNC_V16)" : "");
        emit_transpose_blocks(e, has16 ? 16 : 8, in, stride, ni, B);
        if (has16 && has8) {
            emit(e, "#elif defined(NNC_SHUFFLE)\n");
            emit_transpose_blocks(e, 8, in, stride, ni, B);
        }
        emit(e, "#endif\n        {\n");
    }
    const char *ind = has16 || has8 ? "    " : "";
    int64_t ni8 = ni / 8 * 8;
    if (ni8) {   /* 8 inputs at a time: their 8 rows of xt stay in cache while every sample fills them */
        emit(e, "%s        for (int i0 = 0; i0 < %lld; i0 += 8)\n", ind, (long long)ni8);
        emit(e, "%s            for (int s = 0; s < n; s++) {\n", ind);
        emit(e, "%s                const float *in = %s + i0;\n", ind, in);
        emit(e, "%s                for (int i = 0; i < 8; i++)\n%s                    xt[(i0 + i) * %lld + s] = in[i];\n",
             ind, ind, (long long)B);
        emit(e, "%s            }\n", ind);
    }
    if (ni8 < ni) {
        emit(e, "%s        for (int s = 0; s < n; s++) {\n", ind);
        emit(e, "%s            const float *in = %s;\n", ind, in);
        emit(e, "%s            for (int i = %lld; i < %lld; i++)\n%s                xt[i * %lld + s] = in[i];\n", ind,
             (long long)ni8, (long long)ni, ind, (long long)B);
        emit(e, "%s        }\n", ind);
    }
    if (has16 || has8)
        emit(e, "        }\n");
    emit(e, "        for (int s = n; s < %lld; s++)   /* samples beyond n: zeros, computed and dropped */\n",
         (long long)B);
    emit(e, "            for (int i = 0; i < %lld; i++)\n                xt[i * %lld + s] = 0.0f;\n", (long long)ni,
         (long long)B);
    char whole[64], rest[64];
    snprintf(whole, sizeof whole, "%lld outputs of %lld samples at a time", (long long)R, (long long)lanes);
    snprintf(rest, sizeof rest, "the last %lld outputs", (long long)(no - main_len));
    for (int part = 0; part < 2; part++) {
        int64_t r = emit_block_open(e, "        ", part, "o", 0, main_len, no, R, whole, rest);
        if (!r)
            continue;
        if (s0_var) {
            emit(e, "            for (int s0 = 0; s0 < n; s0 += %lld) {\n", (long long)lanes);
            RtBuf blk = {0};
            Emitter sub = *e;
            sub.out = &blk;
            emit_gemm_forward_block(&sub, l, r, lanes, true);
            emit_indented(e, &blk);
            rt_buf_free(&blk);
            emit(e, "            }\n");
        } else {
            emit_gemm_forward_block(e, l, r, lanes, false);
        }
        emit(e, "        }\n");
    }
    if (keeps_z(e, l)) {
        emit(e, "        for (int s = 0; s < n; s++) {   /* %s */\n", out_of_z_what(l));
        emit(e, "            const float *z = net->logit + s * %lld;\n", (long long)no);
        emit(e, "            float *out = net->act + s * %lld%s;\n", (long long)n->n_act, plus(in, l->act_off));
        emit_out_of_z(e, l, "            ", "o", "out", no);
        emit(e, "        }\n");
    }
}

/* Whether train_step takes the optimizer step of gemm layer l's weights
 * block by block, as each block of the weight gradient is complete (its
 * bias after the layer): the gradient stays in registers and L1 instead of
 * going out to grad[] and coming back in the update's pass (MLP 784-128-10
 * batch 32, Zen 5 family 26 model 2: the step with its batch gathered 4%
 * faster, bench/ab_step.sh).  Each weight gets the same step from the same
 * gradient: the same bits.  Not with clip, whose step waits for the whole
 * gradient's norm. */
bool gemm_block_step(const Emitter *e, const Layer *l)
{
    return !e->infer && l->kind == LAYER_DENSE && l->gemm && e->net->batch > 1 && !l->in.steps &&
           e->net->optim.clip == 0;
}

/* Where gemm_block_step holds, opens `if (update) {` with the optimizer
 * step of the block's weights, outputs o .. o+R-1 by inputs i .. i+W-1,
 * from their gradient in g0 .. g<R-1> (spilled first from the vectors
 * v<r>_<k> of L floats where L is not 0), and then `} else {`, and returns
 * the indentation inside it (in ind2) for the gradient's stores; the caller
 * closes the else when the returned indentation is not ind.  Otherwise
 * emits nothing and returns ind. */
static const char *emit_gemm_block_step(Emitter *e, const Layer *l, int64_t R, int64_t W, int64_t L, const char *ind,
                                        char ind2[static BLOCK_IND])
{
    if (!gemm_block_step(e, l))
        return ind;
    char grad[32], off[32];
    snprintf(ind2, BLOCK_IND, "%s    ", ind);
    emit(e, "%sif (update) {\n", ind);
    if (L) {   /* the block's gradient out of the vectors into g0.. */
        emit(e, "%s    float g0[%lld]", ind, (long long)W);
        for (int64_t r = 1; r < R; r++)
            emit(e, ", g%lld[%lld]", (long long)r, (long long)W);
        emit(e, ";\n");
        for (int64_t r = 0; r < R; r++) {
            emit(e, "%s    ", ind);
            for (int64_t k = 0; k < W / L; k++)
                emit(e, "%smemcpy(g%lld + %lld, &v%lld_%lld, %lld);", k ? " " : "", (long long)r, (long long)(L * k),
                     (long long)r, (long long)k, (long long)(4 * L));
            emit(e, "\n");
        }
    }
    char ind3[56];
    snprintf(ind3, sizeof ind3, "%s    ", ind2);
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%sfor (int k = 0; k < %lld; k++) {\n", ind2, (long long)W);
        emit(e, "%s    const int j = (o + %lld) * %lld + i + k%s;\n", ind2, (long long)r, (long long)l->n_in,
             plus(off, l->w_off));
        snprintf(grad, sizeof grad, "g%lld[k]", (long long)r);
        emit_update_element(e, ind3, "j", grad);
        emit(e, "%s}\n", ind2);
    }
    emit(e, "%s} else {\n", ind);
    return ind2;
}

/* The vector path of a weight-gradient block, in vectors of L floats. */
static void emit_gemm_gw_vec(Emitter *e, const Layer *l, int64_t R, int64_t W, const char *in, int64_t dz_off,
                             const char *ind, int64_t L)
{
    const Net *n = e->net;
    char o[32];
    int64_t q = W / L;
    emit(e, "%sconst %s zero = {0.0f};\n%s%s ", ind, vec_type(L), ind, vec_type(L));
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sv%lld_%lld = zero", r || k ? ", " : "", (long long)r, (long long)k);
    emit(e, ";\n%sfor (int s = 0; s < n; s++) {\n", ind);
    emit(e, "%s    const float *in = %s + i;\n", ind, in);
    emit(e, "%s    const float *dz = net->delta + s * %lld%s + o;\n", ind, (long long)(2 * n->max_width),
         plus(o, dz_off));
    emit(e, "%s    %s ", ind, vec_type(L));
    for (int64_t k = 0; k < q; k++)
        emit(e, "%sx%lld", k ? ", " : "", (long long)k);
    emit(e, ";\n");
    for (int64_t k = 0; k < q; k++)
        emit(e, "%s    memcpy(&x%lld, in + %lld, sizeof x%lld);\n", ind, (long long)k, (long long)(L * k),
             (long long)k);
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s    ", ind);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%sv%lld_%lld += dz[%lld] * x%lld;", k ? " " : "", (long long)r, (long long)k, (long long)r,
                 (long long)k);
        emit(e, "\n");
    }
    emit(e, "%s}\n", ind);
    char ind2[BLOCK_IND];
    const char *st = emit_gemm_block_step(e, l, R, W, L, ind, ind2);
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s", st);
        for (int64_t k = 0; k < q; k++)
            emit(e, "%smemcpy(gw + (o + %lld) * %lld + i + %lld, &v%lld_%lld, %lld);", k ? " " : "",
                 (long long)r, (long long)l->n_in, (long long)(L * k), (long long)r, (long long)k, (long long)(4 * L));
        emit(e, "\n");
    }
    if (st != ind)
        emit(e, "%s}\n", ind);
}

/* Which vector paths a weight-gradient block emits: all of them, or, where
 * the 16-lane path has blocks of its own, that path alone (the caller is
 * inside #if defined(NNC_V16); plain where W is no multiple of 16) or the
 * others (inside its #else). */
typedef enum { GW_ALL_PATHS, GW_V16_ONLY, GW_BELOW_V16 } GwPaths;

/* One block of the weight gradient: outputs o .. o+R-1, inputs i .. i+W-1. */
static void emit_gemm_gw_block(Emitter *e, const Layer *l, int64_t R, int64_t W, const char *in, int64_t dz_off,
                               const char *ind, GwPaths paths)
{
    const Net *n = e->net;
    char o[32];
    bool open = false;
    if (paths == GW_V16_ONLY && W % 16 == 0) {
        emit_gemm_gw_vec(e, l, R, W, in, dz_off, ind, 16);
        return;
    }
    for (int p = paths == GW_BELOW_V16 ? 1 : 0; p < N_VEC_PATHS && paths != GW_V16_ONLY; p++) {
        int64_t L = vec_path(e, p, W, &open);
        if (L)
            emit_gemm_gw_vec(e, l, R, W, in, dz_off, ind, L);
    }
    vec_plain(e, open);
    emit(e, "%sfloat g0[%lld] = {0.0f}", ind, (long long)W);
    for (int64_t r = 1; r < R; r++)
        emit(e, ", g%lld[%lld] = {0.0f}", (long long)r, (long long)W);
    emit(e, ";\n%sfor (int s = 0; s < n; s++) {\n", ind);
    emit(e, "%s    const float *in = %s + i;\n", ind, in);
    emit(e, "%s    const float *dz = net->delta + s * %lld%s + o;\n", ind, (long long)(2 * n->max_width),
         plus(o, dz_off));
    emit(e, "%s    const float ", ind);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%sd%lld = dz[%lld]", r ? ", " : "", (long long)r, (long long)r);
    emit(e, ";\n%s    for (int k = 0; k < %lld; k++) {\n", ind, (long long)W);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%s        g%lld[k] += d%lld * in[k];\n", ind, (long long)r, (long long)r);
    emit(e, "%s    }\n%s}\n", ind, ind);
    char ind2[BLOCK_IND];
    const char *st = emit_gemm_block_step(e, l, R, W, 0, ind, ind2);
    emit(e, "%sfor (int k = 0; k < %lld; k++) {\n", st, (long long)W);
    for (int64_t r = 0; r < R; r++)
        emit(e, "%s    gw[(o + %lld) * %lld + i + k] = g%lld[k];\n", st, (long long)r, (long long)l->n_in,
             (long long)r);
    emit(e, "%s}\n", st);
    if (st != ind)
        emit(e, "%s}\n", ind);
    vec_end(e, open);
}

/* The vector path of an input-gradient block of one sample, in vectors of L floats. */
static void emit_gemm_din_vec(Emitter *e, const Layer *l, int64_t W, const char *ind, int64_t L)
{
    int64_t q = W / L;
    emit(e, "%sconst %s zero = {0.0f};\n%s%s ", ind, vec_type(L), ind, vec_type(L));
    for (int64_t k = 0; k < q; k++)
        emit(e, "%sv%lld = zero", k ? ", " : "", (long long)k);
    emit(e, ";\n%sfor (int o = 0; o < %lld; o++) {\n", ind, (long long)l->n_out);
    emit(e, "%s    const float d = dz[o], *wo = w + o * %lld + i;\n", ind, (long long)l->n_in);
    emit(e, "%s    %s wk;\n", ind, vec_type(L));
    for (int64_t k = 0; k < q; k++)
        emit(e, "%s    memcpy(&wk, wo + %lld, %lld);\n%s    v%lld += d * wk;\n", ind, (long long)(L * k), (long long)(4 * L), ind,
             (long long)k);
    emit(e, "%s}\n", ind);
    for (int64_t k = 0; k < q; k++)
        emit(e, "%smemcpy(din + i + %lld, &v%lld, %lld);\n", ind, (long long)(L * k), (long long)k, (long long)(4 * L));
}

/* One block of the input gradient of sample s: inputs i .. i+W-1. */
static void emit_gemm_din_block(Emitter *e, const Layer *l, int64_t W, const char *ind)
{
    int64_t arrays = (W + GEMM_ARRAY - 1) / GEMM_ARRAY;
    bool open = false;
    for (int p = 0; p < N_VEC_PATHS; p++) {
        int64_t L = vec_path(e, p, W, &open);
        if (L)
            emit_gemm_din_vec(e, l, W, ind, L);
    }
    vec_plain(e, open);
    emit(e, "%sfloat ", ind);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%sa%lld[%lld] = {0.0f}", q ? ", " : "", (long long)q, (long long)w);
    }
    emit(e, ";\n%sfor (int o = 0; o < %lld; o++) {\n", ind, (long long)l->n_out);
    emit(e, "%s    const float d = dz[o], *wo = w + o * %lld + i;\n", ind, (long long)l->n_in);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%s    for (int k = 0; k < %lld; k++)\n%s        a%lld[k] += d * wo[%lld + k];\n", ind, (long long)w,
             ind, (long long)q, (long long)(q * GEMM_ARRAY));
    }
    emit(e, "%s}\n", ind);
    for (int64_t q = 0; q < arrays; q++) {
        int64_t w = q + 1 < arrays ? GEMM_ARRAY : W - q * GEMM_ARRAY;
        emit(e, "%sfor (int k = 0; k < %lld; k++)\n%s    din[i + %lld + k] = a%lld[k];\n", ind, (long long)w, ind,
             (long long)(q * GEMM_ARRAY), (long long)q);
    }
    vec_end(e, open);
}

/* The vector paths' din = dz w: blocks of V vectors of L inputs x S
 * samples, the samples inner, so that the block's panel of w (n_out x VL
 * floats) stays in L1 for the whole batch instead of streaming all of w
 * once per sample.
 * The sums are the plain loops' (over o in order): both paths give the same
 * bits.  Samples past n repeat sample s: they write the same values again. */
static void emit_gemm_din_batch_vec(Emitter *e, const Layer *l, const Layer *prod, int64_t rowlen,
                                    int64_t dz_off, int64_t din_off, const char *in, int64_t L)
{
    /* 16 lanes: 3 vectors of inputs x 8 samples, 24 of the 32 registers */
    int64_t ni = l->n_in, S = GEMM_DIN_SAMPLES, blk = L * (L == 16 ? 3 : GEMM_DIN_VECTORS);
    const char *vt = vec_type(L);
    char o1[32];
    emit(e, "        {\n            const %s zero = {0.0f};\n", vt);
    int64_t i_main = ni / blk * blk;
    char whole[64], rest[64];
    snprintf(whole, sizeof whole, "din = dz w, %lld inputs x %lld samples at a time", (long long)blk, (long long)S);
    snprintf(rest, sizeof rest, "the last %lld inputs", (long long)(ni - i_main));
    for (int part = 0; part < 2; part++) {
        int64_t W = emit_block_open(e, "            ", part, "i", 0, i_main, ni, blk, whole, rest), q = W / L;
        if (!W)
            continue;
        RtBuf blkbuf = {0};   /* the samples' loop, indented one more level by emit_indented */
        Emitter outer = *e;
        e->out = &blkbuf;
        emit(e, "            for (int s = 0; s < n; s += %lld) {\n", (long long)S);
        for (int64_t k = 0; k < S; k++) {
            if (k)
                emit(e, "                const int s%lld = s + %lld < n ? s + %lld : s;   /* past n: sample s again */\n",
                     (long long)k, (long long)k, (long long)k);
            else
                emit(e, "                const int s0 = s;\n");
        }
        for (int64_t k = 0; k < S; k++)
            emit(e, "                const float *dz%lld = net->delta + s%lld * %lld%s;\n", (long long)k, (long long)k,
                 (long long)rowlen, plus(o1, dz_off));
        emit(e, "                %s ", vt);
        for (int64_t k = 0; k < S; k++)
            for (int64_t v = 0; v < q; v++)
                emit(e, "%sv%lld_%lld = zero", !v ? (k ? ",\n                       " : "") : ", ", (long long)k,
                     (long long)v);
        emit(e, ";\n                for (int o = 0; o < %lld; o++) {\n", (long long)l->n_out);
        emit(e, "                    const float *wo = w + o * %lld + i;\n                    const float ", (long long)ni);
        for (int64_t k = 0; k < S; k++)
            emit(e, "%sd%lld = dz%lld[o]", k ? ", " : "", (long long)k, (long long)k);
        emit(e, ";\n                    %s wk;\n", vt);
        for (int64_t v = 0; v < q; v++) {
            emit(e, "                    memcpy(&wk, wo + %lld, %lld);\n                   ", (long long)(L * v),
                 (long long)(4 * L));
            for (int64_t k = 0; k < S; k++)
                emit(e, " v%lld_%lld += d%lld * wk;", (long long)k, (long long)v, (long long)k);
            emit(e, "\n");
        }
        emit(e, "                }\n");
        for (int64_t k = 0; k < S; k++) {
            emit(e, "               ");
            for (int64_t v = 0; v < q; v++)
                emit(e, " memcpy(net->delta + s%lld * %lld + %lld + i, &v%lld_%lld, %lld);", (long long)k,
                     (long long)rowlen, (long long)(din_off + L * v), (long long)k, (long long)v, (long long)(4 * L));
            emit(e, "\n");
        }
        emit(e, "            }\n");
        *e = outer;
        emit_indented(e, &blkbuf);
        rt_buf_free(&blkbuf);
        emit(e, "            }\n");
    }
    if (through_act(prod)) {
        emit(e, "            for (int s = 0; s < n; s++) {\n");
        emit(e, "                float *din = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o1, din_off));
        emit(e, "                const float *in = %s;\n", in);
        emit_din_through_act_at(e, prod, ni, "                ");
        emit(e, "            }\n");
    }
    emit(e, "        }\n");
}

/* The weight gradient gw = dz^T in, in blocks of GEMM_GW_ROWS outputs x
 * `width` inputs. */
static void emit_gemm_gw(Emitter *e, const Layer *l, const char *in, int64_t dz_off, int64_t width, GwPaths paths)
{
    int64_t ni = l->n_in, no = l->n_out;
    int64_t R = no < GEMM_GW_ROWS ? no : GEMM_GW_ROWS, W = ni < width ? ni : width;
    int64_t o_main = no / R * R, i_main = ni / W * W;
    for (int po = 0; po < 2; po++)
        for (int pi = 0; pi < 2; pi++) {
            int64_t r = po ? no - o_main : R, w = pi ? ni - i_main : W;
            if (!r || !w)
                continue;
            char ind[32] = "            ";
            if (!po)
                emit(e, "        for (int o = 0; o < %lld; o += %lld)", (long long)o_main, (long long)R);
            if (!pi)
                emit(e, "%sfor (int i = 0; i < %lld; i += %lld)", po ? "        " : " ", (long long)i_main,
                     (long long)W);
            emit(e, "%s{", po && pi ? "        " : " ");
            if (po && pi)
                emit(e, "   /* the last outputs and inputs */\n            const int o = %lld, i = %lld;\n",
                     (long long)o_main, (long long)i_main);
            else if (po)
                emit(e, "   /* the last %lld outputs */\n            const int o = %lld;\n", (long long)r,
                     (long long)o_main);
            else if (pi)
                emit(e, "   /* the last %lld inputs */\n            const int i = %lld;\n", (long long)w,
                     (long long)i_main);
            else
                emit(e, "   /* gw = dz^T in, %lld outputs x %lld inputs at a time */\n", (long long)R, (long long)W);
            emit_gemm_gw_block(e, l, r, w, in, dz_off, ind, paths);
            emit(e, "        }\n");
        }
}

static void emit_gemm_din(Emitter *e, const Layer *l, const Layer *prod, const char *in, int64_t rowlen,
                          int64_t dz_off, int64_t din_off);

static void emit_gemm_backward(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    const Net *n = e->net;
    int64_t ni = l->n_in, no = l->n_out, rowlen = 2 * n->max_width;
    int64_t dz_off = row * n->max_width, din_off = (row ^ 1) * n->max_width;
    char in[64];
    int64_t stride;
    gemm_input(e, l, in, &stride);
    emit(e, "        float *gw = net->grad + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off, (long long)no,
         (long long)ni);
    emit(e, "        float *gb = net->grad + %lld;\n", (long long)l->b_off);
    RtBuf code = {0};   /* din first, from the weights before their step; for the first layer only if dx */
    Emitter sub = *e;
    sub.out = &code;
    emit_gemm_din(&sub, l, prod, in, rowlen, dz_off, din_off);
    emit_din_code(e, prod, &code, "        ");
    rt_buf_free(&code);
    if (gemm_block_step(e, l))   /* (train_step: each block's step as it is complete) */
        emit_update_consts(e, "        ");
    /* gw = dz^T in, in blocks of R outputs x W inputs; with 16 lanes, 32 inputs */
    if (ni >= 2 * GEMM_ARRAY && ni % 16 == 0) {
        emit(e, "#if defined(NNC_V16)\n");
        emit_gemm_gw(e, l, in, dz_off, 2 * GEMM_ARRAY, GW_V16_ONLY);
        emit(e, "#else\n");
        emit_gemm_gw(e, l, in, dz_off, GEMM_ARRAY, GW_BELOW_V16);
        emit(e, "#endif\n");
    } else {
        emit_gemm_gw(e, l, in, dz_off, GEMM_ARRAY, GW_ALL_PATHS);
    }
    emit(e, "        for (int o = 0; o < %lld; o++) {   /* gb = the sum of dz over the samples */\n", (long long)no);
    emit(e, "            float sum = 0.0f;\n");
    char o1[32];
    emit(e, "            for (int s = 0; s < n; s++)\n                sum += net->delta[s * %lld%s + o];\n",
         (long long)rowlen, plus(o1, dz_off));
    emit(e, "            gb[o] = sum;\n        }\n");
}

/* din = dz w, sample by sample, in blocks of 64 inputs */
static void emit_gemm_din(Emitter *e, const Layer *l, const Layer *prod, const char *in, int64_t rowlen,
                          int64_t dz_off, int64_t din_off)
{
    int64_t ni = l->n_in;
    char o1[32], o2[32];
    int64_t blk = GEMM_ARRAY * GEMM_DIN_ARRAYS;
    blk = blk > ni ? ni : blk;
    int64_t d_main = ni / blk * blk;
    emit(e, "        const float *w = net->param + %lld;\n", (long long)l->w_off);
    bool open = false;
    for (int p = 0; p < N_VEC_PATHS; p++) {
        int64_t L = vec_path(e, p, ni, &open);
        if (L)
            emit_gemm_din_batch_vec(e, l, prod, rowlen, dz_off, din_off, in, L);
    }
    vec_plain(e, open);
    emit(e, "        for (int s = 0; s < n; s++) {   /* din = dz w */\n");
    emit(e, "            const float *dz = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o1, dz_off));
    emit(e, "            float *din = net->delta + s * %lld%s;\n", (long long)rowlen, plus(o2, din_off));
    if (through_act(prod))
        emit(e, "            const float *in = %s;\n", in);
    char rest[64];
    snprintf(rest, sizeof rest, "the last %lld inputs", (long long)(ni - d_main));
    for (int part = 0; part < 2; part++) {
        int64_t width = emit_block_open(e, "            ", part, "i", 0, d_main, ni, blk, NULL, rest);
        if (!width)
            continue;
        emit_gemm_din_block(e, l, width, "                ");
        emit(e, "            }\n");
    }
    emit_din_through_act_at(e, prod, ni, "            ");
    emit(e, "        }\n");
    vec_end(e, open);
}

/* ---- a dense layer over a sequence: the same layer at every step ----
 *
 * [T][F] -> [T][units], as nn.Linear on a [batch][T][F] tensor.  Training
 * runs it over the whole batch as matrix products per sample (all T steps
 * at once, the weights transposed into net->wt); one sample (inference,
 * NAME_forward) as dot products step by step, in the same order. */

/* Softmax (or bce's sigmoid) over each step's `no` outputs, from z (logits)
 * into out. */
static void emit_step_out_of_z(Emitter *e, const Layer *l, int64_t T, int64_t no, const char *ind)
{
    emit(e, "%sfor (int t = 0; t < %lld; t++) {   /* each step's %s */\n", ind, (long long)T, out_of_z_what(l));
    emit(e, "%s    const float *z = logit + t * %lld;\n%s    float *o = out + t * %lld;\n", ind, (long long)no, ind,
         (long long)no);
    char ind2[64];
    snprintf(ind2, sizeof ind2, "%.56s    ", ind);
    emit_out_of_z(e, l, ind2, "j", "o", no);
    emit(e, "%s}\n", ind);
}

/* The activation of every output in place (linear and softmax: nothing). */
static void emit_step_activation(Emitter *e, const Layer *l, const char *ind)
{
    const ActInfo *a = &act_info[l->act];
    if (!a->forward || strcmp(a->forward, "$") == 0)
        return;
    char slope[32];
    act_param_str(slope, l);
    emit(e, "%sfor (int i = 0; i < %lld; i++)\n%s    out[i] = ", ind, (long long)l->n_out, ind);
    emit_template(e, a->forward, "out[i]", slope);
    emit(e, ";\n");
}

static void emit_seq_dense_forward(Emitter *e, const Layer *l, const char *in_ptr)
{
    int64_t T = l->in.steps, F = l->in.c, no = l->units;
    bool keep_z = keeps_z(e, l);
    emit(e, "        const float *w = %s + %lld;   /* [%lld][%lld] */\n", e->param, (long long)l->w_off, (long long)no,
         (long long)F);
    emit(e, "        const float *b = %s + %lld;   /* [%lld] */\n", e->param, (long long)l->b_off, (long long)no);
    emit(e, "        const float *in = %s;   /* [%lld][%lld] */\n", in_ptr, (long long)T, (long long)F);
    emit(e, "        float *out = %s + %lld;   /* [%lld][%lld] */\n", e->act, (long long)l->act_off, (long long)T,
         (long long)no);
    if (keep_z)
        emit(e, "        float *logit = %s;\n", e->logit);
    emit(e, "        for (int t = 0; t < %lld; t++)   /* each step: z = b + w in[t] */\n", (long long)T);
    emit(e, "            for (int o = 0; o < %lld; o++) {\n", (long long)no);
    emit(e, "                const float *wo = w + o * %lld, *it = in + t * %lld;\n", (long long)F, (long long)F);
    emit_dot_loop(e, F, "it", "                ");
    emit(e, "                %s[t * %lld + o] = z;\n            }\n", keep_z ? "logit" : "out", (long long)no);
    if (keep_z)
        emit_step_out_of_z(e, l, T, no, "        ");
    else
        emit_step_activation(e, l, "        ");
}

static void emit_seq_dense_forward_batch(Emitter *e, const Layer *l)
{
    const Net *n = e->net;
    const Layer *p = producer(n, (int)(l - n->layers));
    int64_t T = l->in.steps, F = l->in.c, no = l->units;
    bool keep_z = keeps_z(e, l);
    char in[96], out[96];
    if (p)
        snprintf(in, sizeof in, "net->act + s * %lld + %lld", (long long)n->n_act, (long long)p->act_off);
    else
        snprintf(in, sizeof in, "x + s * %lld", (long long)n->n_inputs);
    emit(e, "        const float *w = net->param + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off, (long long)no,
         (long long)F);
    emit(e, "        const float *b = net->param + %lld;   /* [%lld] */\n", (long long)l->b_off, (long long)no);
    emit(e, "        float *wt = net->wt + %lld;   /* [%lld][%lld]: w transposed */\n", (long long)l->wt_off,
         (long long)F, (long long)no);
    emit_transpose(e, "wt", "w", no, F, no, "        ");
    emit(e, "        for (int s = 0; s < n; s++) {\n");
    emit(e, "            float *out = net->act + s * %lld + %lld;   /* [%lld][%lld] */\n", (long long)n->n_act,
         (long long)l->act_off, (long long)T, (long long)no);
    if (keep_z)
        emit(e, "            float *logit = net->logit + s * %lld;\n", (long long)n->n_outputs);
    snprintf(out, sizeof out, "%s", keep_z ? "logit" : "out");
    MatMul mm = {"z = b + in w^T, every step", T, no, F, NULL, in, "wt", out, "b", F, 1, no, no, false};
    emit_matmul(e, &mm, "            ");
    if (keep_z)
        emit_step_out_of_z(e, l, T, no, "            ");
    else
        emit_step_activation(e, l, "            ");
    emit(e, "        }\n");
}

static void emit_seq_dense_backward_batch(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    const Net *n = e->net;
    int64_t T = l->in.steps, F = l->in.c, no = l->units, ds = 2 * n->max_width;
    char in[96];
    if (prod)
        snprintf(in, sizeof in, "net->act + s * %lld + %lld", (long long)n->n_act, (long long)prod->act_off);
    else
        snprintf(in, sizeof in, "x + s * %lld", (long long)n->n_inputs);
    emit(e, "        float *gw = net->grad + %lld, *gb = net->grad + %lld;\n", (long long)l->w_off, (long long)l->b_off);
    emit(e, "        const float *w = net->param + %lld;   /* [%lld][%lld] */\n", (long long)l->w_off,
         (long long)no, (long long)F);
    emit(e, "        for (int s = 0; s < n; s++) {\n");
    emit(e, "            const float *dz = net->delta + s * %lld + %lld;   /* [%lld][%lld] */\n", (long long)ds,
         (long long)(row * n->max_width), (long long)T, (long long)no);
    MatMul gw = {"gw += dz^T in, over the steps", no, F, T, NULL, "dz", in, "gw", NULL, 1, no, F, F, true};
    emit_matmul(e, &gw, "            ");
    emit(e, "            for (int t = 0; t < %lld; t++)\n                for (int o = 0; o < %lld; o++)\n"
            "                    gb[o] += dz[t * %lld + o];\n", (long long)T, (long long)no, (long long)no);
    RtBuf code = {0};   /* din, for the first layer only if dx (emit_din_code) */
    Emitter sub = *e;
    sub.out = &code;
    emit(&sub, "            float *din = net->delta + s * %lld + %lld;\n", (long long)ds,
         (long long)((row ^ 1) * n->max_width));
    MatMul din = {"din = dz w, every step", T, F, no, NULL, "dz", "w", "din", NULL, no, 1, F, F, false};
    emit_matmul(&sub, &din, "            ");
    if (through_act(prod)) {
        emit(&sub, "            const float *in = %s;\n", in);
        emit_din_through_act_at(&sub, prod, T * F, "            ");
    }
    emit_din_code(e, prod, &code, "            ");
    rt_buf_free(&code);
    emit(e, "        }\n");
}

/* ---- the family ---- */

static void dense_forward(Emitter *e, const Layer *l, const char *in)
{
    if (l->in.steps)
        emit_seq_dense_forward(e, l, in);
    else
        emit_dense_forward(e, l, in);
}

static bool dense_whole_batch(const Emitter *e, const Layer *l)
{
    return (l->gemm && e->net->batch > 1) || l->in.steps;
}

static void dense_forward_batch(Emitter *e, const Layer *l)
{
    if (l->in.steps)
        emit_seq_dense_forward_batch(e, l);
    else
        emit_gemm_forward(e, l);
}

static void dense_backward_batch(Emitter *e, const Layer *l, const Layer *prod, int row)
{
    if (l->in.steps)
        emit_seq_dense_backward_batch(e, l, prod, row);
    else
        emit_gemm_backward(e, l, prod, row);
}

/* The vector types, for the matrix products of training and the
 * inference-only code's panels. */
static unsigned dense_needs(const Emitter *e, const Layer *l)
{
    if (l->gemm && e->net->batch > 1 && !e->infer)
        return EMIT_NEEDS_V8 | (transposes_in_blocks(e->net->batch, l->n_in, 8)   /* (16 implies 8) */
                                    ? EMIT_NEEDS_SHUFFLE | EMIT_NEEDS_TRANSPOSE : 0);
    if (dense_panels(e, l))
        return EMIT_NEEDS_V8;   /* emit_dot_panel_vectors */
    return l->in.steps && !e->infer ? EMIT_NEEDS_V8 : 0;
}

const LayerEmitter dense_emitter = {
    .forward = dense_forward,
    .backward = emit_dense_backward,
    .whole_batch = dense_whole_batch,
    .forward_batch = dense_forward_batch,
    .backward_batch = dense_backward_batch,
    .needs = dense_needs,
};
