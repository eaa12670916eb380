/* dropout_check.c — the dropout layers of tests/golden/dropout.nn:
 *   1. gradient check with the masks held fixed: net.rng is restored before
 *      every evaluation, so each one draws the same masks, and the loss is a
 *      smooth function of the parameters (central differences, as in
 *      gradcheck.c);
 *   2. the masks drop about p of the values and scale the rest by 1/(1-p);
 *   3. drop_forward (not training) applies no dropout: two calls agree, and
 *      the result does not depend on the RNG state.
 * Prints "ok NAME" / "FAIL NAME" lines; exit status 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dropout.h"

static drop net, saved;
static int failures;

static void report(int ok, const char *name, const char *detail)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", name);
    if (!ok) {
        printf("    %s\n", detail);
        failures++;
    }
}

static float loss_with_masks(const float *x, const float *t, int n, uint64_t rng)
{
    net.rng = rng;
    return drop_backward(&net, x, t, n);
}

int main(void)
{
    static float x[drop_BATCH * drop_N_INPUTS], t[drop_BATCH * drop_N_OUTPUTS];
    char detail[256];
    drop_init(&net, drop_SEED);
    for (int i = 0; i < drop_BATCH * drop_N_INPUTS; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    for (int s = 0; s < drop_BATCH; s++)
        t[s * drop_N_OUTPUTS + s % drop_N_OUTPUTS] = 1.0f;

    /* 1. gradients against central differences, masks fixed */
    uint64_t rng = net.rng;
    loss_with_masks(x, t, 3, rng);
    static float grad[drop_N_PARAMS];
    memcpy(grad, net.grad, sizeof grad);
    double worst = 0;
    int worst_i = -1;
    const float hs[3] = {1e-2f, 2.5e-3f, 5e-4f};
    for (int i = 0; i < drop_N_PARAMS; i++) {
        /* The conv's relu and the maxpool have kinks: a step that crosses
         * one gives a wrong difference, so the smallest error over three
         * step sizes counts (a wrong gradient is wrong at every size). */
        double err = 1e30;
        for (int k = 0; k < 3; k++) {
            float p = net.param[i], h = hs[k];
            net.param[i] = p + h;
            double lp = loss_with_masks(x, t, 3, rng);
            net.param[i] = p - h;
            double lm = loss_with_masks(x, t, 3, rng);
            net.param[i] = p;
            double num = (lp - lm) / (2.0 * h);
            /* relative error, with a floor for the float rounding of the loss */
            double e = fabs(num - grad[i]) / (fabs(num) + fabs(grad[i]) + 1e-3);
            err = e < err ? e : err;
        }
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    snprintf(detail, sizeof detail, "worst relative error %.3g at parameter %d", worst, worst_i);
    report(worst < 1e-2, "dropout gradients with fixed masks", detail);

    /* 2. mask statistics over many samples: layer 3 (p = 0.25, 8 values) and
     * layer 5 (p = 0.5, 8 values); the mask buffer holds both, 0..7 and 8..15 */
    long zeros[2] = {0, 0}, total = 0, bad_scale = 0;
    for (int k = 0; k < 4000; k++) {
        drop_backward(&net, x + (k % drop_BATCH) * drop_N_INPUTS, t + (k % drop_BATCH) * drop_N_OUTPUTS, 1);
        for (int i = 0; i < 16; i++) {
            float m = net.mask[i], keep = i < 8 ? 1.0f / 0.75f : 2.0f;
            zeros[i / 8] += m == 0.0f;
            bad_scale += m != 0.0f && m != keep;
        }
        total += 8;
    }
    double f1 = (double)zeros[0] / total, f2 = (double)zeros[1] / total;
    snprintf(detail, sizeof detail, "dropped %.4f (p 0.25) and %.4f (p 0.5); %ld kept values badly scaled", f1, f2,
             bad_scale);
    /* 32,000 draws each: the standard error is under 0.003, so 0.02 is > 6 sigma */
    report(fabs(f1 - 0.25) < 0.02 && fabs(f2 - 0.5) < 0.02 && bad_scale == 0, "dropout masks drop p and scale 1/(1-p)",
           detail);

    /* 3. forward is deterministic and ignores the RNG */
    float y1[drop_N_OUTPUTS], y2[drop_N_OUTPUTS];
    memcpy(&saved, &net, sizeof net);
    drop_forward(&net, x, y1);
    net.rng ^= UINT64_C(0x123456789);
    drop_forward(&net, x, y2);
    report(memcmp(y1, y2, sizeof y1) == 0, "drop_forward applies no dropout", "outputs differ with another RNG state");
    return failures != 0;
}
