/* allreduce.c — what one training step's communication costs under
 * `mpirun -np N nnc train`: MPI_Allreduce (MPI_SUM, in place) of COUNT
 * floats, the gradient's size (the network's parameter count), as
 * runtime/parallel.c's rt_par_sum_floats does once a step, and of the 2
 * doubles (the loss, the stop flag) that follow it in runtime/train.c's
 * par_step.  Every call starts after an MPI_Barrier, so the figure is the
 * reduction's own time, not the wait for a late rank; a call's time is the
 * slowest rank's.  Built with `mpicc -O2` by bench/run.py.
 *
 *   mpirun -np 2 allreduce COUNT [CALLS] [WARMUP]
 *
 * Rank 0 prints: ranks=N count=COUNT calls=CALLS median_ms=... min_ms=...
 * doubles_median_ms=...  (medians over CALLS timed calls after WARMUP). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times `calls` calls of allreduce(buf, n, type) after `warmup`, the
 * slowest rank's time of each in ms into t (rank 0's copy is the result). */
static void timed(void *buf, int n, MPI_Datatype type, int calls, int warmup, double *t, double *mine)
{
    for (int i = 0; i < warmup + calls; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, n, type, MPI_SUM, MPI_COMM_WORLD);
        if (i >= warmup)
            mine[i - warmup] = 1e3 * (MPI_Wtime() - t0);
    }
    MPI_Reduce(mine, t, calls, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    qsort(t, (size_t)calls, sizeof *t, cmp);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np N allreduce COUNT [CALLS] [WARMUP]\n");
        MPI_Finalize();
        return 2;
    }
    int n = atoi(argv[1]), calls = argc > 2 ? atoi(argv[2]) : 400, warmup = argc > 3 ? atoi(argv[3]) : 50;
    float *g = malloc((size_t)n * sizeof *g);
    double *t = malloc((size_t)calls * sizeof *t), *mine = malloc((size_t)calls * sizeof *mine), d[2] = {1, 0};
    if (!g || !t || !mine) {
        fprintf(stderr, "allreduce: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* small values: a sum of many calls stays finite */
    for (int i = 0; i < n; i++)
        g[i] = 1e-6f * (float)((i + rank) % 97);
    timed(g, n, MPI_FLOAT, calls, warmup, t, mine);
    double med = calls % 2 ? t[calls / 2] : 0.5 * (t[calls / 2 - 1] + t[calls / 2]), lo = t[0];
    timed(d, 2, MPI_DOUBLE, calls, warmup, t, mine);
    double dmed = calls % 2 ? t[calls / 2] : 0.5 * (t[calls / 2 - 1] + t[calls / 2]);
    if (rank == 0)
        printf("ranks=%d count=%d calls=%d median_ms=%.4f min_ms=%.4f doubles_median_ms=%.4f\n", size, n, calls,
               med, lo, dmed);
    free(g), free(t), free(mine);
    MPI_Finalize();
    return 0;
}
