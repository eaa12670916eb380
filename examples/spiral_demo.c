/* spiral_demo.c — three interleaved spirals, one class each, learned by the
 * code nnc generated from spiral.nn (2-32-32-3, tanh/relu/softmax, Adam).
 * The data is made here with a seeded generator, so runs are repeatable. */
#include <math.h>
#include <stdio.h>

#include "spiral.h"

enum { PER_CLASS = 100, CLASSES = 3, N = PER_CLASS * CLASSES, EPOCHS = 300 };

static float xs[N][2], ts[N][CLASSES];
static spiral net;

static unsigned long long rng = 12345;
static float uniform01(void)   /* xorshift64*, good enough for demo data */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 2685821657736338717ULL) >> 40) / 16777216.0f;
}

int main(void)
{
    for (int c = 0; c < CLASSES; c++)
        for (int i = 0; i < PER_CLASS; i++) {
            float r = (float)i / PER_CLASS;
            float a = 4.0f * c + 4.0f * r + 0.2f * (uniform01() - 0.5f);
            int k = c * PER_CLASS + i;
            xs[k][0] = r * sinf(a);
            xs[k][1] = r * cosf(a);
            ts[k][c] = 1.0f;
        }
    spiral_init(&net, spiral_SEED);
    printf("training spiral (%d parameters, %u bytes of RAM) on %d points\n", spiral_N_PARAMS, (unsigned)sizeof net, N);
    static int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        for (int i = N - 1; i > 0; i--) {   /* shuffle */
            int j = (int)(uniform01() * (float)(i + 1)), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        float loss = 0;
        int steps = 0;
        for (int b = 0; b < N; b += spiral_BATCH) {
            float x[spiral_BATCH][2], t[spiral_BATCH][CLASSES];
            int n = N - b < spiral_BATCH ? N - b : spiral_BATCH;
            for (int s = 0; s < n; s++)
                for (int j = 0; j < 2; j++)
                    x[s][j] = xs[order[b + s]][j];
            for (int s = 0; s < n; s++)
                for (int j = 0; j < CLASSES; j++)
                    t[s][j] = ts[order[b + s]][j];
            loss += spiral_train_step(&net, x[0], t[0], n);
            steps++;
        }
        if (epoch == 1 || epoch % 50 == 0)
            printf("epoch %3d  mean loss %.4f\n", epoch, loss / steps);
    }
    int correct = 0;
    for (int k = 0; k < N; k++) {
        float y[CLASSES];
        spiral_forward(&net, xs[k], y);
        int best = 0;
        for (int j = 1; j < CLASSES; j++)
            best = y[j] > y[best] ? j : best;
        correct += ts[k][best] == 1.0f;
    }
    printf("training accuracy %.1f%% (%d of %d)\n", 100.0 * correct / N, correct, N);
    return correct < N * 9 / 10;   /* the demo fails below 90% */
}
