/* emit_matmul.c — matrix products with every size a literal, for the
 * recurrent layers (training, and NAME_forward's steps) and the dense layers
 * over a sequence.
 *
 *     C[m][n] = (C[m][n] or bias[n] or 0) + sum_k A(m, k) B[k][n]
 *
 * A is read through two strides (row-major, or transposed: A(m, k) =
 * a[m * a_ms + k * a_ks]), B and C are row-major along n.  Where the
 * target has vectors of 8 floats (NNC_V8) or 16 (NNC_V16) a product of more
 * than 4096 multiply-adds runs in register blocks of R rows x Q vectors of
 * columns, the accumulators in registers across all of k, B's row k loaded
 * once per block and A's element broadcast (the last N % lanes columns in a
 * vector's first lanes).  Elsewhere (tcc, -DNNC_PLAIN_C, small products) it
 * is an axpy per element of A, whose innermost loop runs along n and
 * vectorizes without reassociation.  All add each C element's terms in the
 * order of k, from the same start, so they give the same bits. */
#include "emit.h"

#include <string.h>

/* A vector path: `lanes` floats a vector (8 or 16), in `regs` registers. */
typedef struct Vec {
    int64_t lanes, regs;
} Vec;

/* Moves between a vector and memory: a whole one, or its first w floats
 * (the rest of the vector zero). */
static void load_vec(Emitter *e, const Vec *vec, const char *ind, const char *v, const char *src, int64_t w)
{
    if (w == vec->lanes)
        emit(e, "%smemcpy(&%s, %s, %lld);\n", ind, v, src, (long long)(4 * w));
    else
        emit(e, "%s%s = zero, memcpy(&%s, %s, %lld);\n", ind, v, v, src, (long long)(4 * w));
}

/* One block: rows m0 .. m0+R-1 (m0 a variable), columns n0 .. in Q
 * vectors, the last of them `last` floats wide (lanes, or fewer at the end).
 * shift > 0: the last vector is a whole one that ends where the row does,
 * `shift` columns back (they are also the vector before's: computed twice,
 * the same way, and stored once), so that no load inside the loop over k
 * is a part of a vector: a part is put together through memory, and the
 * whole vector read back from it waits for that each time (store
 * forwarding fails), which made dW_ih of the 28-feature LSTM, whose rows
 * are 16 + 12 floats, a seventh of its whole training step. */
static void block_vec(Emitter *e, const Vec *vec, const MatMul *mm, int64_t R, int64_t Q, int64_t last,
                      int64_t shift, const char *n0, const char *ind)
{
    int64_t L = vec->lanes;
    /* vector q's first column in the block, and how many floats a load of it reads */
#define VEC_AT(q) (L * (q) - ((q) == Q - 1 ? shift : 0))
#define VEC_READS(q) ((q) == Q - 1 && !shift ? last : L)
    char cm[160], bk[160], v[48], src[200], ind2[128];
    snprintf(ind2, sizeof ind2, "%.100s    ", ind);
    emit(e, "%s{\n", ind);
    emit(e, "%s    %s ", ind, vec_type(vec->lanes));
    for (int64_t r = 0; r < R; r++)
        for (int64_t q = 0; q < Q; q++)
            emit(e, "%sc%lld_%lld", r || q ? ", " : "", (long long)r, (long long)q);
    emit(e, ";\n");
    for (int64_t r = 0; r < R; r++) {
        snprintf(cm, sizeof cm, "%s + (m0 + %lld) * %lld + %s", mm->c, (long long)r, (long long)mm->c_ms, n0);
        for (int64_t q = 0; q < Q; q++) {
            snprintf(v, sizeof v, "c%lld_%lld", (long long)r, (long long)q);
            if (mm->accumulate)
                snprintf(src, sizeof src, "%s + %lld", cm, (long long)VEC_AT(q));
            else if (mm->bias)
                snprintf(src, sizeof src, "%s + %s + %lld", mm->bias, n0, (long long)VEC_AT(q));
            if (mm->accumulate || mm->bias)
                load_vec(e, vec, ind2, v, src, VEC_READS(q));
            else
                emit(e, "%s    %s = zero;\n", ind, v);
        }
    }
    emit(e, "%s    for (int k = 0; k < %lld; k++) {\n", ind, (long long)mm->K);
    snprintf(bk, sizeof bk, "%s + k * %lld + %s", mm->b, (long long)mm->b_ks, n0);
    emit(e, "%s        const float *bk = %s;\n", ind, bk);
    emit(e, "%s        %s ", ind, vec_type(vec->lanes));
    for (int64_t q = 0; q < Q; q++)
        emit(e, "%sb%lld", q ? ", " : "", (long long)q);
    emit(e, ";\n");
    snprintf(ind2, sizeof ind2, "%.100s        ", ind);
    for (int64_t q = 0; q < Q; q++) {
        snprintf(v, sizeof v, "b%lld", (long long)q);
        snprintf(src, sizeof src, "bk + %lld", (long long)VEC_AT(q));
        load_vec(e, vec, ind2, v, src, VEC_READS(q));
    }
    for (int64_t r = 0; r < R; r++) {
        emit(e, "%s        {\n%s            const float a = %s[(m0 + %lld) * %lld + k * %lld];\n", ind, ind, mm->a,
             (long long)r, (long long)mm->a_ms, (long long)mm->a_ks);
        emit(e, "%s           ", ind);
        for (int64_t q = 0; q < Q; q++)
            emit(e, " c%lld_%lld += a * b%lld;", (long long)r, (long long)q, (long long)q);
        emit(e, "\n%s        }\n", ind);
    }
    emit(e, "%s    }\n", ind);
    for (int64_t r = 0; r < R; r++) {
        snprintf(cm, sizeof cm, "%s + (m0 + %lld) * %lld + %s", mm->c, (long long)r, (long long)mm->c_ms, n0);
        emit(e, "%s   ", ind);
        for (int64_t q = 0; q < Q; q++)
            if (q == Q - 1 && shift)   /* its last `last` lanes */
                emit(e, " memcpy(%s + %lld, (const float *)&c%lld_%lld + %lld, %lld);", cm, (long long)(L * q),
                     (long long)r, (long long)q, (long long)shift, (long long)(4 * last));
            else
                emit(e, " memcpy(%s + %lld, &c%lld_%lld, %lld);", cm, (long long)(L * q), (long long)r,
                     (long long)q, (long long)(4 * (q == Q - 1 ? last : L)));
        emit(e, "\n");
    }
    emit(e, "%s}\n", ind);
#undef VEC_AT
#undef VEC_READS
}

/* All columns of rows m0 .. m0+R-1: whole blocks of Q vectors, then the
 * rest (whole vectors, and a last part of one). */
static void rows_vec(Emitter *e, const Vec *vec, const MatMul *mm, int64_t R, int64_t Q, const char *ind)
{
    int64_t L = vec->lanes, nb = L * Q, whole = mm->N / nb * nb, rest = (mm->N - whole + L - 1) / L;
    int64_t part = (mm->N - whole) % L;
    char ind2[128];
    snprintf(ind2, sizeof ind2, "%.100s    ", ind);
    if (whole == nb) {
        emit(e, "%s{\n%s    const int n0 = 0;\n", ind, ind);
        block_vec(e, vec, mm, R, Q, L, 0, "n0", ind2);
        emit(e, "%s}\n", ind);
    } else if (whole) {
        emit(e, "%sfor (int n0 = 0; n0 < %lld; n0 += %lld)\n", ind, (long long)whole, (long long)nb);
        block_vec(e, vec, mm, R, Q, L, 0, "n0", ind2);
    }
    if (rest) {
        char n0[32];
        snprintf(n0, sizeof n0, "%lld", (long long)whole);
        /* a last part of a vector, with a whole vector's columns before it
         * in the row: read as the whole vector that ends the row */
        int64_t shift = part && mm->N >= L ? L - part : 0;
        block_vec(e, vec, mm, R, rest, part ? part : L, shift, n0, ind);
    }
}

/* The plain form: an axpy along n for each element of A. */
static void plain(Emitter *e, const MatMul *mm, const char *ind)
{
    if (mm->rows)
        emit(e, "%sfor (int m = 0; m < %s; m++) {\n", ind, mm->rows);
    else
        emit(e, "%sfor (int m = 0; m < %lld; m++) {\n", ind, (long long)mm->M);
    emit(e, "%s    float *cm = %s + m * %lld;\n", ind, mm->c, (long long)mm->c_ms);
    if (!mm->accumulate)
        emit(e, "%s    for (int j = 0; j < %lld; j++)\n%s        cm[j] = %s%s;\n", ind, (long long)mm->N, ind,
             mm->bias ? mm->bias : "0.0f", mm->bias ? "[j]" : "");
    emit(e, "%s    for (int k = 0; k < %lld; k++) {\n", ind, (long long)mm->K);
    emit(e, "%s        const float a = %s[m * %lld + k * %lld];\n", ind, mm->a, (long long)mm->a_ms,
         (long long)mm->a_ks);
    emit(e, "%s        const float *bk = %s + k * %lld;\n", ind, mm->b, (long long)mm->b_ks);
    emit(e, "%s        for (int j = 0; j < %lld; j++)\n%s            cm[j] += a * bk[j];\n", ind, (long long)mm->N,
         ind);
    emit(e, "%s    }\n%s}\n", ind, ind);
}

/* Vectors of columns per block of R rows: R x Q accumulators, Q vectors of
 * B and one broadcast in the registers (16, or 32). */
static int64_t block_vectors(const Vec *vec, int64_t R)
{
    if (vec->regs == 16)
        return R == 6 ? 2 : R == 4 ? 3 : R == 2 ? 4 : 6;
    return R == 6 ? (vec->lanes == 16 ? 4 : 3) : R == 4 ? 4 : 8;
}

/* The vector path: blocks of R rows (then single rows) outside, so that a
 * block of A stays in L1 while B streams past; the blocks of columns inside.
 * (Columns outside, a panel of B kept in L1 across the row blocks,
 * measured slower: 2850 against 3500 samples/s for the example LSTM on a
 * Zen 3 with 8 lanes; no faster on a Zen 5 with 16 lanes for the per-step
 * products, 13,090-13,180 against 13,180-13,670.) */
static void matmul_vec(Emitter *e, const Vec *vec, const MatMul *mm, const char *ind)
{
    /* blocks of 6 rows; the rows left over after them in blocks of 4, 2
     * and 1, wider */
    const int64_t R = 6;
    char ind2[128];
    snprintf(ind2, sizeof ind2, "%.100s    ", ind);
    if (mm->rows) {
        emit(e, "%s{\n%s    int m0 = 0;\n", ind, ind);
        emit(e, "%s    for (; m0 + %lld <= %s; m0 += %lld) {\n", ind, (long long)R, mm->rows, (long long)R);
        snprintf(ind2, sizeof ind2, "%.100s        ", ind);
        rows_vec(e, vec, mm, R, block_vectors(vec, R), ind2);
        emit(e, "%s    }\n%s    if (m0 + 4 <= %s) {\n", ind, ind, mm->rows);
        rows_vec(e, vec, mm, 4, block_vectors(vec, 4), ind2);
        emit(e, "%s        m0 += 4;\n%s    }\n%s    if (m0 + 2 <= %s) {\n", ind, ind, ind, mm->rows);
        rows_vec(e, vec, mm, 2, block_vectors(vec, 2), ind2);
        emit(e, "%s        m0 += 2;\n%s    }\n%s    if (m0 < %s) {\n", ind, ind, ind, mm->rows);
        rows_vec(e, vec, mm, 1, block_vectors(vec, 1), ind2);
        emit(e, "%s    }\n%s}\n", ind, ind);
        return;
    }
    int64_t wm = R > mm->M ? 0 : mm->M / R * R;
    if (wm) {
        emit(e, "%sfor (int m0 = 0; m0 < %lld; m0 += %lld) {\n", ind, (long long)wm, (long long)R);
        rows_vec(e, vec, mm, R, block_vectors(vec, R), ind2);
        emit(e, "%s}\n", ind);
    }
    static const int64_t left[] = {4, 2, 1};
    for (int i = 0; i < 3; i++)
        if (mm->M - wm >= left[i]) {
            emit(e, "%s{\n%s    const int m0 = %lld;\n", ind, ind, (long long)wm);
            rows_vec(e, vec, mm, left[i], block_vectors(vec, left[i]), ind2);
            emit(e, "%s}\n", ind);
            wm += left[i];
        }
}

/* The vector path over all columns.  Where B passes half of a 512 KiB L2,
 * the columns go in panels whose part of B (about 128 KiB) stays in L2
 * while every block of rows passes over it: otherwise each block of rows
 * would stream all of B from L3 (examples/charlm.nn, H 256: B is 1 MiB). */
static void matmul_panels(Emitter *e, const Vec *vec, const MatMul *mm, const char *ind)
{
    int64_t nb = vec->lanes * block_vectors(vec, 6), bytes = mm->K * mm->N * 4;
    int64_t P = 131072 / (mm->K * 4) / nb * nb;
    if (bytes <= 262144 || P < nb || P >= mm->N) {
        matmul_vec(e, vec, mm, ind);
        return;
    }
    int64_t whole = mm->N / P * P;
    char ind2[128], b[64], c[64], bias[64];
    snprintf(ind2, sizeof ind2, "%.100s    ", ind);
    MatMul panel = *mm;
    panel.N = P;
    snprintf(b, sizeof b, "(%s + p0)", mm->b);
    snprintf(c, sizeof c, "(%s + p0)", mm->c);
    snprintf(bias, sizeof bias, "(%s + p0)", mm->bias ? mm->bias : "");
    panel.b = b, panel.c = c, panel.bias = mm->bias ? bias : NULL;
    emit(e, "%sfor (int p0 = 0; p0 < %lld; p0 += %lld) {   /* panels of %lld columns */\n", ind, (long long)whole,
         (long long)P, (long long)P);
    matmul_vec(e, vec, &panel, ind2);
    emit(e, "%s}\n", ind);
    if (whole < mm->N) {
        panel.N = mm->N - whole;
        emit(e, "%s{\n%s    const int p0 = %lld;\n", ind, ind, (long long)whole);
        matmul_vec(e, vec, &panel, ind2);
        emit(e, "%s}\n", ind);
    }
}

void emit_matmul(Emitter *e, const MatMul *given, const char *ind)
{
    char ind2[128];
    snprintf(ind2, sizeof ind2, "%.100s    ", ind);
    emit(e, "%s{   /* %s: [%lld][%lld] %s= [%lld][%lld] x [%lld][%lld] */\n", ind, given->what, (long long)given->M,
         (long long)given->N, given->accumulate ? "+" : "", (long long)given->M, (long long)given->K,
         (long long)given->K, (long long)given->N);
    /* The operands under short names, whatever expressions reach them. */
    emit(e, "%s    const float *restrict pa = %s, *restrict pb = %s;\n%s    float *restrict pc = %s;\n", ind, given->a,
         given->b, ind, given->c);
    if (given->bias)
        emit(e, "%s    const float *pbias = %s;\n", ind, given->bias);
    MatMul local = *given;
    local.a = "pa", local.b = "pb", local.c = "pc", local.bias = given->bias ? "pbias" : NULL;
    const MatMul *mm = &local;
    /* small products (a few thousand multiply-adds) stay plain loops: the
     * compiler unrolls and vectorizes them as they are, and they read better */
    if (matmul_blocked(mm->M, mm->N, mm->K)) {
        static const Vec v16 = {16, 32}, v8_wide = {8, 32}, v8 = {8, 16};
        const Vec *paths[] = {&v16, &v8_wide, &v8};
        static const char *const open[] = {"#if defined(NNC_V16)\n", "#elif defined(NNC_V8_WIDE)\n",
                                           "#elif defined(NNC_V8)\n"};
        for (int i = 0; i < 3; i++) {
            emit(e, "%s%s    const %s zero = {0.0f};\n%s    (void)zero;\n", open[i], ind, vec_type(paths[i]->lanes), ind);
            matmul_panels(e, paths[i], mm, ind2);
        }
        emit(e, "#else\n");
        plain(e, mm, ind2);
        emit(e, "#endif\n");
    } else {
        plain(e, mm, ind2);
    }
    emit(e, "%s}\n", ind);
}

/* out[c][r] = in[r][c] for an R x C matrix. */
void emit_transpose(Emitter *e, const char *out, const char *in, int64_t R, int64_t C, int64_t stride,
                    const char *ind)
{
    emit(e, "%sfor (int r = 0; r < %lld; r++)\n", ind, (long long)R);
    emit(e, "%s    for (int c = 0; c < %lld; c++)\n", ind, (long long)C);
    emit(e, "%s        %s[c * %lld + r] = %s[r * %lld + c];\n", ind, out, (long long)stride, in, (long long)C);
}
