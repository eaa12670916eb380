/* ab_step.c — two builds of one network's training step, timed against
 * each other in one process: the way to see a change of a few percent on a
 * machine whose load moves whole runs by more than that.
 *
 *   cc -O2 -D_POSIX_C_SOURCE=200809L -DNET=name -include A.h -Iruntime -o ab_step bench/ab_step.c \
 *       build/libnncrt.a -ldl -lz -lm
 *   ./ab_step A.so B.so [rounds]
 *
 * A.so and B.so are the emitted training C of the same network (the same
 * struct: A.h serves both), built as the cc JIT builds it (bench/ab_step.sh
 * does all of it).  Both start from NAME_init with the file's seed; each
 * round runs 300 steps of one, then the same 300 batches on the other, each
 * batch gathered from a shuffled data set of 19,200 random rows as `nnc
 * train` gathers it (a row copied at a time, so that the step sees the same
 * cache state).  The second of a round finds some of those rows still in
 * the cache, which made the second about 1% faster (the same build against
 * itself: B / A 0.989 to 0.997): A goes first in even rounds, B in odd
 * ones.  Prints the median and best microseconds a step of each, B / A,
 * and whether the two trained to the same losses (the bits: a change that
 * should keep them must print "same").
 *
 *   ./ab_step A.so B.so rounds IMAGES
 *
 * takes the rows from an IDX image file instead (MNIST's format, gzip or
 * not; its labels file beside it by MNIST's naming, one-hot targets), read
 * by the runtime's loader (build/libnncrt.a) as `nnc train` reads them: what a change does on
 * real images, whose zeros and small values (subnormal moments, dead
 * units) random rows do not have. */
/* (_POSIX_C_SOURCE comes from the command line: the -include'd header is read first) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnc_rt.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define NI CAT(NET, _N_INPUTS)
#define NO CAT(NET, _N_OUTPUTS)
#define BS CAT(NET, _BATCH)

enum { ROWS = 19200, STEPS = 300 };

typedef void (*init_fn)(NET *, uint64_t);
typedef float (*step_fn)(NET *, const float *, const float *, int);

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

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Fills ROWS rows of x (NI floats) and t (NO one-hot floats) from the IDX
 * images at path and their labels beside them (MNIST's naming), read by
 * the runtime's loader as `nnc train` reads them: the file's rows in
 * order, again from the start if it has fewer than ROWS.  False, with a
 * message, when they cannot be read or do not fit the network. */
static int load_idx(const char *path, float *x, float *t)
{
    RtData d = {0};
    RtError err = {{0}};
    char *labels = rt_idx_labels_path(path);
    int ok = labels && rt_load_idx(path, labels, NI, NO, &d, &err);
    if (!labels)
        fprintf(stderr, "ab_step: %s: not named like MNIST's images (...images-idx3...), so no labels file\n", path);
    else if (!ok)
        fprintf(stderr, "ab_step: %s\n", err.msg);
    for (long r = 0; ok && r < ROWS; r++) {
        memcpy(x + r * NI, d.x + r % d.n * NI, sizeof(float) * NI);
        memcpy(t + r * NO, d.t + r % d.n * NO, sizeof(float) * NO);
    }
    free(labels);
    rt_data_free(&d);
    return ok;
}

int main(int argc, char **argv)
{
    int rounds = argc > 3 ? atoi(argv[3]) : 15;
    if (argc < 3 || argc > 5 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: ab_step A.so B.so [rounds [IMAGES]]\n");
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)ROWS * NI), *t = calloc((size_t)ROWS * NO, sizeof(float));
    float *xb = malloc(sizeof(float) * BS * NI), *tb = malloc(sizeof(float) * BS * NO);
    long *idx = malloc(sizeof(long) * ROWS);
    double *us[2] = {malloc(sizeof(double) * (size_t)rounds), malloc(sizeof(double) * (size_t)rounds)};
    NET *net[2] = {malloc(sizeof(NET)), malloc(sizeof(NET))};
    step_fn step[2];
    double loss[2] = {0, 0};
    if (!x || !t || !xb || !tb || !idx || !us[0] || !us[1] || !net[0] || !net[1]) {
        fprintf(stderr, "ab_step: out of memory\n");
        return 1;
    }
    if (argc > 4) {
        if (!load_idx(argv[4], x, t))
            return 1;
    } else {
        for (long i = 0; i < (long)ROWS * NI; i++)
            x[i] = (float)(next() >> 40) / (float)(1 << 24);
        for (long r = 0; r < ROWS; r++)
            t[r * NO + (long)(next() % NO)] = 1.0f;
    }
    for (long i = 0; i < ROWS; i++)
        idx[i] = i;
    for (long i = ROWS - 1; i > 0; i--) {
        long j = (long)(next() % (uint64_t)(i + 1)), k = idx[i];
        idx[i] = idx[j], idx[j] = k;
    }
    for (int v = 0; v < 2; v++) {
        void *h = dlopen(argv[1 + v], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "ab_step: %s\n", dlerror());
            return 1;
        }
        init_fn init;
        *(void **)&init = dlsym(h, STR(CAT(NET, _init)));
        *(void **)&step[v] = dlsym(h, STR(CAT(NET, _train_step)));
        if (!init || !step[v]) {
            fprintf(stderr, "ab_step: %s has no %s or %s\n", argv[1 + v], STR(CAT(NET, _init)),
                    STR(CAT(NET, _train_step)));
            return 1;
        }
        init(net[v], CAT(NET, _SEED));
    }
    long pos = 0;
    for (int r = -2; r < rounds; r++) {   /* two rounds of warm-up */
        long p = pos;
        for (int j = 0; j < 2; j++) {
            int v = r & 1 ? 1 - j : j;   /* A first in even rounds, B first in odd ones */
            double t0 = now();
            p = pos;
            for (int s = 0; s < STEPS; s++) {
                if (p + BS > ROWS)
                    p = 0;
                for (int k = 0; k < BS; k++) {   /* each row's first and last lines asked for at once, */
                    const char *row = (const char *)(x + idx[p + k] * NI);   /* as runtime/train.c's copy_rows */
                    __builtin_prefetch(row);
                    __builtin_prefetch(row + sizeof(float) * NI - 1);
                }
                for (int k = 0; k < BS; k++) {
                    memcpy(xb + k * NI, x + idx[p + k] * NI, sizeof(float) * NI);
                    memcpy(tb + k * NO, t + idx[p + k] * NO, sizeof(float) * NO);
                }
                loss[v] += step[v](net[v], xb, tb, BS);
                p += BS;
            }
            if (r >= 0)
                us[v][r] = (now() - t0) / STEPS * 1e6;
        }
        pos = p;
    }
    qsort(us[0], (size_t)rounds, sizeof(double), cmp);
    qsort(us[1], (size_t)rounds, sizeof(double), cmp);
    printf("A %.2f us a step (best %.2f), B %.2f (best %.2f): B / A %.3f, losses %s\n", us[0][rounds / 2], us[0][0],
           us[1][rounds / 2], us[1][0], us[1][rounds / 2] / us[0][rounds / 2],
           loss[0] == loss[1] ? "the same" : "DIFFERENT");
    return 0;
}
