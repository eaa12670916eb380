/* batch1.c — a batch-1 network trains to the same bits as its twin at
 * batch 2 fed one sample a step (batch1.nn: `one` and `twin`, the same
 * layers, optimizer and seed).
 *
 *   gcc $STRICT -I DIR -o check batch1.c DIR/batch1.c -lm && ./check
 *
 * A batch-1 network's NAME_forward is its training pass, and its code is
 * not the batched code the gradient checks cover: there 2x2 max pooling
 * after a convolution keeps each window's choice instead of the
 * convolution's outputs.  Both networks are fed the same random samples,
 * one a step; after every step their losses, parameters and one-sample
 * outputs (NAME_forward) must be the same bits.  The twin's gradient is
 * checked against finite differences by gradcheck.c (tests/numeric/run.sh),
 * which cannot take `one` itself: its kink check reads the convolution's
 * outputs in net->act.  Exit 1 on the first difference. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "batch1.h"

enum { STEPS = 40, NI = one_N_INPUTS, NO = one_N_OUTPUTS, NP = one_N_PARAMS };

static uint64_t rng_state = UINT64_C(0xba7c41);

static uint64_t rng_next(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static float uniform(void)   /* in [-1, 1) */
{
    return (float)(rng_next() >> 40) / (float)(UINT64_C(1) << 23) - 1.0f;
}

static one a;
static twin b;

int main(void)
{
    static float x[NI], t[NO], ya[NO], yb[NO];

    if (one_N_PARAMS != twin_N_PARAMS || one_BATCH != 1 || twin_BATCH < 2) {
        fprintf(stderr, "batch1: batch1.nn's networks are not a batch-1 network and its batched twin\n");
        return 1;
    }
    one_init(&a, 5);
    twin_init(&b, 5);
    if (memcmp(a.param, b.param, sizeof a.param) != 0) {
        fprintf(stderr, "batch1: the twins' initial parameters differ\n");
        return 1;
    }
    for (int step = 1; step <= STEPS; step++) {
        for (int i = 0; i < NI; i++)
            x[i] = uniform();
        for (int o = 0; o < NO; o++)
            t[o] = 0.0f;
        t[rng_next() % NO] = 1.0f;
        float la = one_train_step(&a, x, t, 1), lb = twin_train_step(&b, x, t, 1);
        if (memcmp(&la, &lb, sizeof la) != 0) {
            fprintf(stderr, "batch1: step %d: loss %.9g at batch 1, %.9g at batch 2\n", step, la, lb);
            return 1;
        }
        for (int p = 0; p < NP; p++)
            if (memcmp(&a.param[p], &b.param[p], sizeof(float)) != 0) {
                fprintf(stderr, "batch1: step %d: parameter %d is %.9g at batch 1, %.9g at batch 2\n", step, p,
                        a.param[p], b.param[p]);
                return 1;
            }
        one_forward(&a, x, ya);
        twin_forward(&b, x, yb);
        if (memcmp(ya, yb, sizeof ya) != 0) {
            fprintf(stderr, "batch1: step %d: NAME_forward's outputs differ\n", step);
            return 1;
        }
    }
    printf("batch1: %d steps, the same bits at batch 1 and batch 2\n", STEPS);
    return 0;
}
