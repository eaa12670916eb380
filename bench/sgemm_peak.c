/* sgemm_peak.c — OpenBLAS's cblas_sgemm as the practical single-precision
 * peak, and on the GEMM shapes of a training step.
 *
 *   sgemm_peak M N K [reps]     C[M][N] = A[M][K] B[K][N], row-major
 *
 * Prints the median and the best GFLOP/s (2*M*N*K per call) of `reps` timed
 * runs after one warm-up call; each run repeats the call until it has taken
 * at least 0.1 s.  The kernel OpenBLAS picks is its own business
 * (OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS); it prints it. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

char *openblas_get_corename(void);
int openblas_get_num_threads(void);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 5;
    if (m < 1 || n < 1 || k < 1 || reps < 1 || reps > 100)
        return 2;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    if (!a || !b || !c)
        return 1;
    for (long i = 0; i < (long)m * k; i++)
        a[i] = (float)(i % 7) * 0.125f - 0.375f;
    for (long i = 0; i < (long)k * n; i++)
        b[i] = (float)(i % 5) * 0.25f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    double g[100], flop = 2.0 * m * n * k;
    for (int r = 0; r < reps; r++) {
        long calls = 0;
        double t0 = now(), dt;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            calls++;
            dt = now() - t0;
        } while (dt < 0.1);
        g[r] = flop * calls / dt / 1e9;
    }
    qsort(g, (size_t)reps, sizeof *g, cmp);
    printf("sgemm m=%d n=%d k=%d core=%s threads=%d median_gflops=%.2f max_gflops=%.2f check=%g\n", m, n, k,
           openblas_get_corename(), openblas_get_num_threads(), g[reps / 2], g[reps - 1], (double)c[m * n / 2]);
    free(a);
    free(b);
    free(c);
    return 0;
}
