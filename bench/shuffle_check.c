/* shuffle_check.c — prints the order in which `nnc train` visits the
 * samples (runtime/rng.c's rt_shuffle from the network's seed, as
 * runtime/train.c calls it once per epoch), so that run.py can check that
 * its PyTorch side, which reimplements the shuffle, feeds the same batches.
 *
 *   shuffle_check N SEED EPOCHS     one line per epoch: a checksum, then the
 *                                   first 8 indices */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "nnc_rt.h"

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int64_t n = atoll(argv[1]);
    uint64_t seed = strtoull(argv[2], NULL, 10);
    int epochs = atoi(argv[3]);
    if (n < 1)
        return 2;
    int64_t *idx = malloc(sizeof *idx * (size_t)n);
    if (!idx)
        return 1;
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    RtRng r;
    rt_rng_seed(&r, seed);
    for (int e = 0; e < epochs; e++) {
        rt_shuffle(&r, idx, n);
        uint64_t sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum = sum * UINT64_C(1000003) + (uint64_t)idx[i];
        printf("%" PRIu64, sum);
        for (int64_t i = 0; i < n && i < 8; i++)
            printf(" %" PRId64, idx[i]);
        printf("\n");
    }
    free(idx);
    return 0;
}
