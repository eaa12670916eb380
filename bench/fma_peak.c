/* fma_peak.c — the machine's single-precision peak, measured: independent
 * fused multiply-add chains on the widest vectors the compiler targets
 * (built -O3 -march=native: 16 floats a vector with AVX-512, 8 with AVX2), enough
 * chains to cover the FMA latency on every pipe.  Prints GFLOP/s (an FMA is
 * 2 FLOP) for one thread, or for `threads` threads running at once.
 *
 *   fma_peak [threads] [reps]      median of reps timed runs, after a warm-up
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vf __attribute__((vector_size(LANES * 4)));
/* Latency 4 x 2 pipes = 8 chains needed.  The chains, a and b must all fit
 * in registers: with 16 (AVX2), 16 chains spill one and measured half the
 * peak on a Zen 3 (53 against 92 GFLOP/s), so 12 there; 16 with AVX-512's 32. */
#if defined(__AVX512F__)
#define CHAINS 16
#else
#define CHAINS 12
#endif
#define ITERS 20000000L         /* per run: ITERS * CHAINS * LANES * 2 FLOP (~0.1 s) */

static volatile float sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void *kernel(void *arg)
{
    long iters = *(long *)arg;
    vf acc[CHAINS], a, b;
    for (int k = 0; k < LANES; k++) {
        a[k] = 0.999999f;
        b[k] = 1e-7f;
    }
    for (int c = 0; c < CHAINS; c++)
        for (int k = 0; k < LANES; k++)
            acc[c][k] = (float)(c + k);
    for (long i = 0; i < iters; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++)
            acc[c] = acc[c] * a + b;   /* one vfmadd each with -march=native */
        __asm__ volatile("" : "+v"(a));   /* keep the loop honest */
    }
    float s = 0;
    for (int c = 0; c < CHAINS; c++)
        for (int k = 0; k < LANES; k++)
            s += acc[c][k];
    sink = s;
    return NULL;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > 256 || reps < 1 || reps > 100)
        return 2;
    long iters = ITERS, warm = ITERS / 4;
    pthread_t th[256];
    double g[100];
    kernel(&warm);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int t = 0; t < threads; t++)
            pthread_create(&th[t], NULL, kernel, &iters);
        for (int t = 0; t < threads; t++)
            pthread_join(th[t], NULL);
        double dt = now() - t0;
        g[r] = (double)threads * iters * CHAINS * LANES * 2 / dt / 1e9;
    }
    qsort(g, (size_t)reps, sizeof *g, cmp);
    printf("fma_peak threads=%d lanes=%d median_gflops=%.2f max_gflops=%.2f\n", threads, LANES, g[reps / 2],
           g[reps - 1]);
    return 0;
}
