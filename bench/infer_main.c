/* infer_main.c — workload 4: one-image inference latency of nnc's
 * inference-only emission (`nnc NET.nn --weights W.nnw -o OUT.c`, weights
 * baked in), built -O3 -march=native by run.py with -DNET=NAME -include the
 * generated header.
 *
 *   infer IMAGES.f32 N REPS OUT.f32
 *
 * IMAGES holds N inputs (N_INPUTS floats each).  One warm-up pass over the N
 * images (its outputs go to OUT.f32, for run.py's check against PyTorch),
 * then REPS timed passes, each calling NAME_forward once per image; prints
 * the median and best microseconds per image. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   /* run.py also passes it: the -include'd header comes first */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NI CAT(NET, _N_INPUTS)
#define NO CAT(NET, _N_OUTPUTS)

static NET net;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile float sink;

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    int n = atoi(argv[2]), reps = atoi(argv[3]);
    if (n < 1 || reps < 1 || reps > 1000)
        return 2;
    float *x = malloc(sizeof(float) * (size_t)n * NI), *y = malloc(sizeof(float) * (size_t)n * NO);
    double *us = malloc(sizeof(double) * (size_t)reps);
    FILE *f = fopen(argv[1], "rb");
    if (!x || !y || !us || !f || fread(x, sizeof(float) * NI, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "infer: cannot read %d images from %s\n", n, argv[1]);
        return 1;
    }
    fclose(f);
    for (int i = 0; i < n; i++)
        CAT(NET, _forward)(&net, x + (size_t)i * NI, y + (size_t)i * NO);
    f = fopen(argv[4], "wb");
    if (!f || fwrite(y, sizeof(float) * NO, (size_t)n, f) != (size_t)n || fclose(f) != 0)
        return 1;
    float s = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            CAT(NET, _forward)(&net, x + (size_t)i * NI, y);
            s += y[0];
        }
        us[r] = (now() - t0) * 1e6 / n;
    }
    sink = s;
    qsort(us, (size_t)reps, sizeof *us, cmp);
    printf("infer median_us=%.4f min_us=%.4f\n", us[reps / 2], us[0]);
    return 0;
}
