/* driver.c — runs one nnc-generated network through NET_forward_train and
 * NET_backward_from (and, for a network with a loss, NET_backward) on the
 * cases tests/torch/compose/reference.py wrote, and records what it compares
 * with torch autograd.
 *
 *   cc -std=c99 -DNET=dense_tanh [-DHAS_LOSS] -include OUT/dense_tanh.h \
 *      tests/torch/compose/driver.c OUT/dense_tanh.c -lm
 *
 * HAS_LOSS: the network has NET_backward (any loss but none).
 *
 * Usage: driver CASES.bin OUTDIR
 *
 * CASES.bin (little-endian, as on the host):
 *   int32  magic 0x6e6e6343 ("nncC"), n_inputs, n_outputs, batch, cases
 *   cases times:
 *     int32  n, flags            n in 1..batch; flags bit 0: parameters
 *                                follow, bit 1: targets follow
 *     float  params[N_PARAMS]    (flags & 1) loaded over NET_init's
 *     float  decoy[n][n_inputs]  run through forward_train first, to see
 *                                that nothing of it is kept
 *     float  x[n][n_inputs], dy[n][n_outputs]
 *     float  t[n][n_outputs]     (flags & 2) targets for NET_backward
 *
 * OUTDIR receives, for case K (from 0):
 *   caseK_params.f32     the parameters the case ran with   [N_PARAMS]
 *   caseK_y.f32          forward_train's outputs            [n][n_outputs]
 *   caseK_grad.f32       grad[] after backward_from         [N_PARAMS]
 *   caseK_dx.f32         backward_from's dx                  [n][n_inputs]
 *   caseK_grad_nodx.f32  grad[] after backward_from, dx NULL [N_PARAMS]
 *   caseK_loss.f32       NET_backward's loss                 [1]  (targets)
 *   caseK_lgrad.f32      grad[] after NET_backward           [N_PARAMS] (targets)
 * and meta.txt: "key value" lines (the header sizes, the API contract).
 * Exit status: 0 when all was written, 2 on bad arguments or input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NET
#error "compile with -DNET=network_name -include network_name.h"
#endif

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define N(suffix) PASTE(NET, suffix)
#define STR2(x) #x
#define STR(x) STR2(x)

enum { MAGIC = 0x6e6e6343, NI = N(_N_INPUTS), NO = N(_N_OUTPUTS), B = N(_BATCH), NP = N(_N_PARAMS) };

static N() net, before;
static float params[NP], decoy[B * NI], xs[B * NI], dys[B * NO], ts[B * NO];
static float ys[B * NO], dx[B * NI];
static const char *outdir;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "driver(%s): %s%s%s\n", STR(NET), what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void read_all(FILE *f, void *p, size_t size, size_t count, const char *what)
{
    if (fread(p, size, count, f) != count)
        die("CASES.bin is truncated", what);
}

static void write_floats(int k, const char *name, const float *p, size_t count)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/case%d_%s.f32", outdir, k, name) >= (int)sizeof path)
        die("OUTDIR is too long", outdir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, sizeof *p, count, f) != count || fclose(f) != 0)
        die("cannot write", path);
}

/* Fills grad[] with a value no gradient has: backward_from must set it. */
static void spoil_grads(void)
{
    float *g = N(_grads)(&net);
    for (int i = 0; i < NP; i++)
        g[i] = 12345.0f;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: driver CASES.bin OUTDIR", NULL);
    outdir = argv[2];
    FILE *in = fopen(argv[1], "rb");
    if (!in)
        die("cannot open", argv[1]);
    int32_t hdr[5];
    read_all(in, hdr, sizeof hdr[0], 5, "header");
    if (hdr[0] != MAGIC)
        die("CASES.bin has the wrong magic number", argv[1]);
    if (hdr[1] != NI || hdr[2] != NO || hdr[3] != B)
        die("CASES.bin does not fit the network (inputs, outputs or batch)", argv[1]);

    int rejects = 1, kept_params = 1, y_null_same = 1;
    for (int k = 0; k < hdr[4]; k++) {
        int32_t cs[2];
        char what[32];
        snprintf(what, sizeof what, "case %d", k);
        read_all(in, cs, sizeof cs[0], 2, what);
        int n = cs[0];
        if (n < 1 || n > B)
            die("a case's n is outside 1..BATCH", what);
        N(_init)(&net, N(_SEED));
        if (cs[1] & 1) {
            read_all(in, params, sizeof(float), NP, what);
            memcpy(N(_params)(&net), params, sizeof params);
        }
        read_all(in, decoy, sizeof(float), (size_t)n * NI, what);
        read_all(in, xs, sizeof(float), (size_t)n * NI, what);
        read_all(in, dys, sizeof(float), (size_t)n * NO, what);
        if (cs[1] & 2)
            read_all(in, ts, sizeof(float), (size_t)n * NO, what);
        write_floats(k, "params", N(_params)(&net), NP);

        /* Out of range: -1 and nothing changed. */
        memcpy(&before, &net, sizeof net);
        rejects &= N(_forward_train)(&net, xs, ys, 0) == -1 && N(_forward_train)(&net, xs, ys, B + 1) == -1 &&
                   N(_backward_from)(&net, xs, dys, dx, 0) == -1 &&
                   N(_backward_from)(&net, xs, dys, dx, B + 1) == -1 &&
                   N(_backward_from)(&net, xs, NULL, dx, n) == -1 && memcmp(&before, &net, sizeof net) == 0;

        /* The decoy first, then x: backward_from must see only x's pass. */
        if (N(_forward_train)(&net, decoy, ys, n) != 0)
            die("forward_train refused a valid n", what);
        for (int i = 0; i < n * NO; i++)
            ys[i] = NAN;
        if (N(_forward_train)(&net, xs, ys, n) != 0)
            die("forward_train refused a valid n", what);
        write_floats(k, "y", ys, (size_t)n * NO);
        spoil_grads();
        for (int i = 0; i < n * NI; i++)
            dx[i] = NAN;
        memcpy(params, N(_params)(&net), sizeof params);
        if (N(_backward_from)(&net, xs, dys, dx, n) != 0)
            die("backward_from refused a valid n", what);
        kept_params &= memcmp(params, N(_params)(&net), sizeof params) == 0;
        write_floats(k, "grad", N(_grads)(&net), NP);
        write_floats(k, "dx", dx, (size_t)n * NI);

        /* Again, with y and dx NULL. */
        if (N(_forward_train)(&net, xs, NULL, n) != 0)
            die("forward_train refused a valid n", what);
        spoil_grads();
        if (N(_backward_from)(&net, xs, dys, NULL, n) != 0)
            die("backward_from refused a valid n", what);
        write_floats(k, "grad_nodx", N(_grads)(&net), NP);
        /* forward_train with y NULL must have kept the same state: once more with y */
        static float y2[B * NO];
        if (N(_forward_train)(&net, xs, y2, n) != 0)
            die("forward_train refused a valid n", what);
        y_null_same &= memcmp(y2, ys, (size_t)n * NO * sizeof(float)) == 0;

#ifdef HAS_LOSS
        if (cs[1] & 2) {
            spoil_grads();
            float loss = N(_backward)(&net, xs, ts, n);
            write_floats(k, "loss", &loss, 1);
            write_floats(k, "lgrad", N(_grads)(&net), NP);
        }
#else
        if (cs[1] & 2)
            die("targets given, but the network has no loss (compile with -DHAS_LOSS)", what);
#endif
    }
    fclose(in);

    char path[4096];
    snprintf(path, sizeof path, "%s/meta.txt", outdir);
    FILE *meta = fopen(path, "w");
    if (!meta)
        die("cannot write", path);
    fprintf(meta, "name %s\nn_inputs %d\nn_outputs %d\nbatch %d\nn_params %d\n", STR(NET), NI, NO, B, NP);
    fprintf(meta, "rejects_bad_n %d\nbackward_from_kept_params %d\ny_null_same %d\n", rejects, kept_params,
            y_null_same);
    if (fclose(meta) != 0)
        die("cannot write", path);
    return 0;
}
