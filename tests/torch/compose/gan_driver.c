/* gan_driver.c — runs one nnc-generated gan through GAN_step_z on the steps
 * tests/torch/compose/reference.py wrote, and records both networks'
 * parameters and the losses for the torch comparison.
 *
 *   cc -std=c99 -DGAN=gan_adam -DGEN=gadam -DDISC=dadam -include OUT/gan_adam.h \
 *      tests/torch/compose/gan_driver.c OUT/gan_adam.c -lm
 *
 * Usage: gan_driver RUNS.bin OUTDIR
 *
 * RUNS.bin (little-endian, as on the host):
 *   int32  magic 0x6e6e6347 ("nncG"), n_noise, n_sample, batch, runs
 *   runs times:
 *     int32  seed, steps, gen_n   GAN_init(seed); gen_n rows for generate
 *     steps times:
 *       int32  n                  1..batch
 *       float  real[n][n_sample], z[n][n_noise]
 *     float  gz[gen_n][n_noise]   noise for GAN_generate after the last step
 *
 * OUTDIR receives, for run R and step S (from 1):
 *   runR_g0.f32, runR_d0.f32   the parameters after GAN_init
 *   runR_gS.f32, runR_dS.f32   the parameters after step S
 *   runR_losses.f32            losses[0], losses[1] of every step  [steps][2]
 *   runR_gen.f32               GAN_generate(gz) after the last step [gen_n][n_sample]
 * and meta.txt: the header sizes and the API contract (bad n refused, the
 * struct unchanged; GAN_step draws its own noise and runs).
 * Exit status: 0 when all was written, 2 on bad arguments or input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(GAN) || !defined(GEN) || !defined(DISC)
#error "compile with -DGAN=name -DGEN=generator -DDISC=discriminator -include name.h"
#endif

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define GA(suffix) PASTE(GAN, suffix)
#define GE(suffix) PASTE(GEN, suffix)
#define DI(suffix) PASTE(DISC, suffix)
#define STR2(x) #x
#define STR(x) STR2(x)

enum {
    MAGIC = 0x6e6e6347,
    NZ = GA(_N_NOISE),
    NS = GA(_N_SAMPLE),
    B = GA(_BATCH),
    MAXGEN = 64
};

static GA() g, before;
static float real[B * NS], z[B * NZ], gz[MAXGEN * NZ], gout[MAXGEN * NS];
static const char *outdir;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "gan_driver(%s): %s%s%s\n", STR(GAN), what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void read_all(FILE *f, void *p, size_t size, size_t count, const char *what)
{
    if (fread(p, size, count, f) != count)
        die("RUNS.bin is truncated", what);
}

static void write_floats(int r, const char *name, const float *p, size_t count)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/run%d_%s.f32", outdir, r, name) >= (int)sizeof path)
        die("OUTDIR is too long", outdir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, sizeof *p, count, f) != count || fclose(f) != 0)
        die("cannot write", path);
}

static void write_params(int r, int s)
{
    char name[32];
    snprintf(name, sizeof name, "g%d", s);
    write_floats(r, name, GE(_params)(&g.GEN), GE(_N_PARAMS));
    snprintf(name, sizeof name, "d%d", s);
    write_floats(r, name, DI(_params)(&g.DISC), DI(_N_PARAMS));
}

/* GAN_step_z and GAN_step with n outside 1..B: -1, the gan unchanged. */
static int rejects(void)
{
    float losses[2] = {0, 0};
    memcpy(&before, &g, sizeof g);
    int ok = GA(_step_z)(&g, real, z, 0, losses) == -1 && GA(_step_z)(&g, real, z, B + 1, losses) == -1 &&
             GA(_step)(&g, real, 0, losses) == -1 && GA(_step)(&g, real, -1, losses) == -1 &&
             GA(_step)(&g, real, B + 1, losses) == -1;
    return ok && memcmp(&before, &g, sizeof g) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: gan_driver RUNS.bin OUTDIR", NULL);
    outdir = argv[2];
    FILE *in = fopen(argv[1], "rb");
    if (!in)
        die("cannot open", argv[1]);
    int32_t hdr[5];
    read_all(in, hdr, sizeof hdr[0], 5, "header");
    if (hdr[0] != MAGIC)
        die("RUNS.bin has the wrong magic number", argv[1]);
    if (hdr[1] != NZ || hdr[2] != NS || hdr[3] != B)
        die("RUNS.bin does not fit the gan (noise, sample or batch)", argv[1]);

    int rejects_bad_n = 1, step_ok = 1;
    for (int r = 0; r < hdr[4]; r++) {
        int32_t rs[3];
        char what[48];
        snprintf(what, sizeof what, "run %d", r);
        read_all(in, rs, sizeof rs[0], 3, what);
        if (rs[1] < 1 || rs[2] < 0 || rs[2] > MAXGEN)
            die("a run's steps or gen_n is out of range", what);
        GA(_init)(&g, (uint64_t)rs[0]);
        write_params(r, 0);
        float *losses = malloc((size_t)rs[1] * 2 * sizeof *losses);
        if (!losses)
            die("out of memory", NULL);
        for (int s = 0; s < rs[1]; s++) {
            int32_t n;
            snprintf(what, sizeof what, "run %d step %d", r, s + 1);
            read_all(in, &n, sizeof n, 1, what);
            if (n < 1 || n > B)
                die("a step's n is outside 1..BATCH", what);
            read_all(in, real, sizeof(float), (size_t)n * NS, what);
            read_all(in, z, sizeof(float), (size_t)n * NZ, what);
            rejects_bad_n &= rejects();
            losses[2 * s] = losses[2 * s + 1] = NAN;
            if (GA(_step_z)(&g, real, z, n, losses + 2 * s) != 0)
                die("step_z refused a valid n", what);
            write_params(r, s + 1);
        }
        write_floats(r, "losses", losses, (size_t)rs[1] * 2);
        free(losses);
        read_all(in, gz, sizeof(float), (size_t)rs[2] * NZ, "generate's noise");
        for (int i = 0; i < rs[2] * NS; i++)
            gout[i] = NAN;
        GA(_generate)(&g, gz, gout, rs[2]);
        write_floats(r, "gen", gout, (size_t)rs[2] * NS);
    }
    fclose(in);

    /* GAN_step with its own noise: runs, returns finite losses. */
    {
        float losses[2] = {NAN, NAN};
        GA(_init)(&g, 1);
        step_ok = GA(_step)(&g, real, B, losses) == 0 && isfinite(losses[0]) && isfinite(losses[1]);
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/meta.txt", outdir);
    FILE *meta = fopen(path, "w");
    if (!meta)
        die("cannot write", path);
    fprintf(meta, "name %s\nn_noise %d\nn_sample %d\nbatch %d\ng_params %d\nd_params %d\n", STR(GAN), NZ, NS, B,
            GE(_N_PARAMS), DI(_N_PARAMS));
    fprintf(meta, "rejects_bad_n %d\nstep_ok %d\n", rejects_bad_n, step_ok);
    if (fclose(meta) != 0)
        die("cannot write", path);
    return 0;
}
