/* l2_probe.c — how fast one core reads a block of memory that lives in its
 * L2 cache, measured: the bound of a one-sample product, which must read
 * every weight once and does one multiply-add with it (the MLP's and the
 * LSTM's one-image inference, a batch-1 training step).  The block is read
 * front to back as the widest vectors the compiler targets, into 8
 * independent accumulators (built -O3 -march=native), over and over; the
 * first pass brings it into L2 and is not timed.  Prints GB/s.
 *
 *   l2_probe [KiB] [reps]     (default 256 KiB: the LSTM's W_hh; the MLP's
 *                              784-128-10 weights are 398 KiB)
 *                              median and best of reps timed runs
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vf __attribute__((vector_size(LANES * 4)));

static volatile float sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* One pass over n floats (a multiple of 8 vectors). */
static float pass(const float *p, long n)
{
    vf acc[8];
    memset(acc, 0, sizeof acc);
    for (long i = 0; i < n; i += 8 * LANES)
        for (int j = 0; j < 8; j++) {
            vf v;
            memcpy(&v, p + i + j * LANES, sizeof v);
            acc[j] += v;
        }
    float s = 0;
    for (int j = 0; j < 8; j++)
        for (int l = 0; l < LANES; l++)
            s += acc[j][l];
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long kib = argc > 1 ? atol(argv[1]) : 256;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (kib < 4 || kib > 1 << 20 || reps < 1 || reps > 99) {
        fprintf(stderr, "usage: l2_probe [KiB 4..1048576] [reps 1..99]\n");
        return 2;
    }
    long n = kib * 1024 / 4 / (8 * LANES) * (8 * LANES);
    void *mem = NULL;
    if (posix_memalign(&mem, 64, (size_t)n * sizeof(float)) != 0)
        return 1;
    float *p = mem;
    for (long i = 0; i < n; i++)
        p[i] = (float)(i % 7) * 0.25f;
    sink = pass(p, n);   /* into the cache */
    long passes = 4e9 / (n * 4.0) + 1;   /* about 4 GB read a run */
    double gbs[99];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        float s = 0;
        for (long i = 0; i < passes; i++)
            s += pass(p, n);
        sink = s;
        gbs[r] = (double)passes * (double)n * 4 / (now() - t0) / 1e9;
    }
    qsort(gbs, (size_t)reps, sizeof *gbs, cmp);
    printf("kib=%ld lanes=%d median_gbs=%.1f max_gbs=%.1f\n", n * 4 / 1024, LANES, gbs[reps / 2], gbs[reps - 1]);
    free(p);
    return 0;
}
