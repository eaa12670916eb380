/* driver.c — times the train step of one network that nnc generated.
 *
 * The network is named `bench` (see run.py) and has bench_N_INPUTS inputs
 * and as many outputs; the sample is fixed, so every run does the same work.
 * Built once per configuration against that configuration's gen.h:
 *
 *   CC -Idir driver.c dir/gen.o -lm
 *
 *   driver count K    K train steps; prints the final loss and a parameter
 *                     checksum (run.py runs it under callgrind for two K and
 *                     takes the difference: instructions per step)
 *   driver time R     R repetitions of a timed block of train steps (the
 *                     block is sized to take about 20 ms); prints the median
 *                     and minimum per-step wall time and thread CPU time, ns
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"

static bench net;
static float x[bench_N_INPUTS], t[bench_N_OUTPUTS];

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

static void setup(void)
{
    for (int i = 0; i < bench_N_INPUTS; i++)
        x[i] = 0.5f * (float)sin(0.37 * i + 0.1);
    for (int i = 0; i < bench_N_OUTPUTS; i++)
        t[i] = 0.3f * (float)cos(0.11 * i);
    bench_init(&net, bench_SEED);
    net.lr = 0.001f;   /* small, so that no size diverges over many steps */
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: driver count K | driver time R\n");
        return 2;
    }
    long k = atol(argv[2]);
    setup();
    if (strcmp(argv[1], "count") == 0) {
        float loss = 0.0f;
        double sum = 0.0;
        for (long i = 0; i < k; i++)
            loss = bench_train_step(&net, x, t, 1);
        for (int i = 0; i < bench_N_PARAMS; i++)
            sum += net.param[i];
        printf("loss %.9g checksum %.9g\n", (double)loss, sum);
        return 0;
    }
    if (strcmp(argv[1], "time") == 0 && k > 0) {
        long steps = 1;
        double *wall = malloc(sizeof(double) * (size_t)k), *cpu = malloc(sizeof(double) * (size_t)k);
        volatile float sink = 0.0f;
        if (!wall || !cpu)
            return 1;
        for (;;) {   /* calibrate: a block of at least 20 ms of CPU time */
            double c0 = now(CLOCK_THREAD_CPUTIME_ID);
            for (long i = 0; i < steps; i++)
                sink += bench_train_step(&net, x, t, 1);
            if (now(CLOCK_THREAD_CPUTIME_ID) - c0 >= 20e6)
                break;
            steps *= 2;
        }
        for (long r = 0; r < k; r++) {
            double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
            for (long i = 0; i < steps; i++)
                sink += bench_train_step(&net, x, t, 1);
            cpu[r] = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)steps;
            wall[r] = (now(CLOCK_MONOTONIC) - w0) / (double)steps;
        }
        qsort(wall, (size_t)k, sizeof *wall, cmp_double);
        qsort(cpu, (size_t)k, sizeof *cpu, cmp_double);
        printf("wall_median %.2f wall_min %.2f cpu_median %.2f cpu_min %.2f steps %ld%s\n", wall[k / 2], wall[0],
               cpu[k / 2], cpu[0], steps, isfinite(sink) ? "" : " (diverged)");
        free(wall);
        free(cpu);
        return 0;
    }
    fprintf(stderr, "usage: driver count K | driver time R\n");
    return 2;
}
