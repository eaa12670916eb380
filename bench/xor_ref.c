/* xor_ref.c — workload 1's practical limit: the XOR 2-2-1 sigmoid network
 * (MSE, SGD lr 0.5, batch 1) written by hand as anyone would, fixed arrays
 * and straightforward loops with expf.  Built -O3 -march=native by run.py.
 *
 *   xor_ref INIT.f32 STEPS REPS
 *
 * INIT holds the 9 starting parameters in PyTorch order (w1[2][2], b1[2],
 * w2[1][2], b2[1]): nnc's xor_init, so all sides start from the same
 * weights.  Trains on the four rows in turn: one warm-up run of STEPS steps,
 * then REPS timed runs; prints the median and best steps/s and then the
 * network's outputs on the four rows (the check that it learned XOR). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static float w1[2][2], b1[2], w2[2], b2;

static const float X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const float T[4] = {0, 1, 1, 0};

static float sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

static float forward(const float *x, float *h)
{
    for (int j = 0; j < 2; j++)
        h[j] = sigmoid(b1[j] + w1[j][0] * x[0] + w1[j][1] * x[1]);
    return sigmoid(b2 + w2[0] * h[0] + w2[1] * h[1]);
}

/* One SGD step on one sample; returns the loss 1/2 (y - t)^2 before it. */
static float train_step(const float *x, float t, float lr)
{
    float h[2], dh[2];
    float y = forward(x, h);
    float err = y - t;
    float dy = err * y * (1.0f - y);
    for (int j = 0; j < 2; j++)
        dh[j] = w2[j] * dy * h[j] * (1.0f - h[j]);
    for (int j = 0; j < 2; j++)
        w2[j] -= lr * dy * h[j];
    b2 -= lr * dy;
    for (int j = 0; j < 2; j++) {
        for (int i = 0; i < 2; i++)
            w1[j][i] -= lr * dh[j] * x[i];
        b1[j] -= lr * dh[j];
    }
    return 0.5f * err * err;
}

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
    if (argc != 4) {
        fprintf(stderr, "usage: xor_ref INIT.f32 STEPS REPS\n");
        return 2;
    }
    float p[9];
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(p, sizeof(float), 9, f) != 9) {
        fprintf(stderr, "xor_ref: cannot read 9 floats from %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    w1[0][0] = p[0], w1[0][1] = p[1], w1[1][0] = p[2], w1[1][1] = p[3];
    b1[0] = p[4], b1[1] = p[5], w2[0] = p[6], w2[1] = p[7], b2 = p[8];
    long steps = atol(argv[2]);
    int reps = atoi(argv[3]);
    if (steps < 4 || reps < 1 || reps > 1000)
        return 2;
    double *rate = malloc(sizeof(double) * (size_t)reps);
    float loss = 0;
    for (int r = -1; r < reps; r++) {   /* r = -1: the warm-up */
        double t0 = now();
        for (long s = 0; s < steps; s++)
            loss += train_step(X[s & 3], T[s & 3], 0.5f);
        double dt = now() - t0;
        if (r >= 0)
            rate[r] = steps / dt;
    }
    sink = loss;
    qsort(rate, (size_t)reps, sizeof *rate, cmp);
    printf("xor_ref median_steps_per_s=%.0f max_steps_per_s=%.0f\n", rate[reps / 2], rate[reps - 1]);
    for (int i = 0; i < 4; i++) {
        float h[2];
        printf("out %g %g %.6f\n", X[i][0], X[i][1], forward(X[i], h));
    }
    free(rate);
    return 0;
}
