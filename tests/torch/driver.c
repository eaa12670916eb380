/* driver.c — runs one nnc-generated network through a scripted training run
 * and records everything tests/torch/reference.py compares with PyTorch.
 *
 * Built once per network, with the generated header forced in and the
 * network's name pasted into every identifier:
 *
 *   cc -std=c99 -DNET=xor_sgd -include build/.../xor_sgd.h \
 *      tests/torch/driver.c build/.../xor_sgd.c -lm
 *
 * Usage: driver BATCHES.bin OUTDIR [SEED]     (SEED defaults to NET_SEED)
 *
 * BATCHES.bin (written by reference.py gen; little-endian, as on the host):
 *   int32  magic 0x6e6e6331 ("nnc1"), n_inputs, n_outputs, batch, steps
 *   steps times:
 *     int32  n                    samples in this step, 1..batch
 *     float  lr                   learning rate to set in net->lr first
 *     float  x[n][n_inputs], t[n][n_outputs]
 *
 * OUTDIR receives raw float32 arrays and one text file:
 *   meta.txt    "key value" lines: the header macros, the init lr, and
 *               whether the API contract held (see below)
 *   init.f32    the parameters after NET_init            [N_PARAMS]
 *   fwd.f32     NET_forward of step 0's samples           [n0][N_OUTPUTS]
 *   grad.f32    NET_grads after NET_backward(step 0)      [N_PARAMS]
 *   gloss.f32   NET_backward's return value on step 0     [1]
 *   loss.f32    NET_train_step's return value per step    [steps]
 *   final.f32   the parameters after the last step        [N_PARAMS]
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
#define N(suffix) PASTE(NET, suffix)   /* N(_init) -> xor_sgd_init */
#define STR2(x) #x
#define STR(x) STR2(x)

enum { MAGIC = 0x6e6e6331 };

static N() net;          /* the network struct: typedef'd to its own name */
static N() before;       /* a copy, to see what calls change */
static float xs[N(_BATCH) * N(_N_INPUTS)];
static float ts[N(_BATCH) * N(_N_OUTPUTS)];
static const char *outdir;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "driver(%s): %s%s%s\n", STR(NET), what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void read_all(FILE *f, void *p, size_t size, size_t count, const char *what)
{
    if (fread(p, size, count, f) != count)
        die("BATCHES.bin is truncated", what);
}

static FILE *open_out(const char *name, const char *mode)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", outdir, name) >= (int)sizeof path)
        die("OUTDIR is too long", outdir);
    FILE *f = fopen(path, mode);
    if (!f)
        die("cannot write", path);
    return f;
}

static void write_floats(const char *name, const float *p, size_t count)
{
    FILE *f = open_out(name, "wb");
    if (fwrite(p, sizeof *p, count, f) != count || fclose(f) != 0)
        die("cannot write", name);
}

/* Reads the next step's n, lr and samples into xs and ts. */
static int read_step(FILE *f, float *lr, int step)
{
    int32_t n;
    char what[64];
    snprintf(what, sizeof what, "step %d", step);
    read_all(f, &n, sizeof n, 1, what);
    if (n < 1 || n > N(_BATCH))
        die("a step's n is outside 1..BATCH", what);
    read_all(f, lr, sizeof *lr, 1, what);
    read_all(f, xs, sizeof(float), (size_t)n * N(_N_INPUTS), what);
    read_all(f, ts, sizeof(float), (size_t)n * N(_N_OUTPUTS), what);
    return n;
}

/* The train step must refuse n outside 1..BATCH with NaN and change nothing. */
static int rejects(int n)
{
    memcpy(&before, &net, sizeof net);
    float loss = N(_train_step)(&net, xs, ts, n);
    return isnan(loss) && memcmp(&before, &net, sizeof net) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4)
        die("usage: driver BATCHES.bin OUTDIR [SEED]", NULL);
    outdir = argv[2];
    uint64_t seed = argc == 4 ? (uint64_t)strtoull(argv[3], NULL, 10) : N(_SEED);

    FILE *in = fopen(argv[1], "rb");
    if (!in)
        die("cannot open", argv[1]);
    int32_t hdr[5];
    read_all(in, hdr, sizeof hdr[0], 5, "header");
    if (hdr[0] != MAGIC)
        die("BATCHES.bin has the wrong magic number", argv[1]);
    if (hdr[1] != N(_N_INPUTS) || hdr[2] != N(_N_OUTPUTS) || hdr[3] != N(_BATCH)) {
        char msg[160];
        snprintf(msg, sizeof msg, "file has %d inputs, %d outputs, batch %d; the network has %d, %d, %d",
                 (int)hdr[1], (int)hdr[2], (int)hdr[3], N(_N_INPUTS), N(_N_OUTPUTS), N(_BATCH));
        die("BATCHES.bin does not fit the network", msg);
    }
    int steps = hdr[4];

    N(_init)(&net, seed);
    float init_lr = net.lr;
    write_floats("init.f32", N(_params)(&net), N(_N_PARAMS));

    /* Step 0's samples: forward and backward alone, before any training. */
    float lr;
    long pos = ftell(in);
    int n = read_step(in, &lr, 0);
    float y[N(_BATCH) * N(_N_OUTPUTS)];
    for (int s = 0; s < n; s++)
        N(_forward)(&net, xs + s * N(_N_INPUTS), y + s * N(_N_OUTPUTS));
    write_floats("fwd.f32", y, (size_t)n * N(_N_OUTPUTS));
    static float init_params[N(_N_PARAMS)];
    memcpy(init_params, N(_params)(&net), sizeof init_params);
    float gloss = N(_backward)(&net, xs, ts, n);
    int backward_kept_params = memcmp(init_params, N(_params)(&net), sizeof init_params) == 0;
    write_floats("grad.f32", N(_grads)(&net), N(_N_PARAMS));
    write_floats("gloss.f32", &gloss, 1);

    /* Out-of-range n is refused (and changes nothing) before training starts. */
    int rejects_bad_n = rejects(0) && rejects(-1) && rejects(N(_BATCH) + 1);

    /* The training run proper, from the initial parameters. */
    N(_init)(&net, seed);
    if (fseek(in, pos, SEEK_SET) != 0)
        die("cannot seek in", argv[1]);
    float *losses = malloc(((size_t)steps + 1) * sizeof *losses);
    if (!losses)
        die("out of memory", NULL);
    for (int k = 0; k < steps; k++) {
        n = read_step(in, &lr, k);
        net.lr = lr;
        losses[k] = N(_train_step)(&net, xs, ts, n);
    }
    fclose(in);
    write_floats("loss.f32", losses, (size_t)steps);
    write_floats("final.f32", N(_params)(&net), N(_N_PARAMS));
    free(losses);

    FILE *meta = open_out("meta.txt", "w");
    fprintf(meta, "name %s\n", STR(NET));
    fprintf(meta, "n_inputs %d\nn_outputs %d\nbatch %d\nn_params %d\n", N(_N_INPUTS), N(_N_OUTPUTS), N(_BATCH),
            N(_N_PARAMS));
    fprintf(meta, "seed %llu\n", (unsigned long long)seed);
    fprintf(meta, "init_lr %.9g\n", init_lr);
    fprintf(meta, "backward_kept_params %d\n", backward_kept_params);
    fprintf(meta, "rejects_bad_n %d\n", rejects_bad_n);
    if (fclose(meta) != 0)
        die("cannot write", "meta.txt");
    return 0;
}
