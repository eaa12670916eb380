/* xor_direct.c — diagnosis for workload 1: nnc's emitted XOR code
 * (examples/xor.nn, `nnc -o`) called in the same tight loop as xor_ref.c,
 * without `nnc train`'s runtime around it.  run.py builds it with the flags
 * of nnc's cc JIT backend (compiler/jit.c).  The gap between this and
 * `nnc train --jit=cc` is the runtime's per-step cost; the gap between this
 * and xor_ref is the generated code's.
 *
 *   xor_direct STEPS REPS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "xor.h"

static xor net;
static const float X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const float T[4][1] = {{0}, {1}, {1}, {0}};

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
    if (argc != 3) {
        fprintf(stderr, "usage: xor_direct STEPS REPS\n");
        return 2;
    }
    long steps = atol(argv[1]);
    int reps = atoi(argv[2]);
    if (steps < 4 || reps < 1 || reps > 1000)
        return 2;
    double *rate = malloc(sizeof(double) * (size_t)reps);
    float loss = 0;
    xor_init(&net, xor_SEED);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (long s = 0; s < steps; s++)
            loss += xor_train_step(&net, X[s & 3], T[s & 3], 1);
        double dt = now() - t0;
        if (r >= 0)
            rate[r] = steps / dt;
    }
    sink = loss;
    qsort(rate, (size_t)reps, sizeof *rate, cmp);
    printf("xor_direct median_steps_per_s=%.0f max_steps_per_s=%.0f\n", rate[reps / 2], rate[reps - 1]);
    for (int i = 0; i < 4; i++) {
        float y;
        xor_forward(&net, X[i], &y);
        printf("out %g %g %.6f\n", X[i][0], X[i][1], y);
    }
    free(rate);
    return 0;
}
