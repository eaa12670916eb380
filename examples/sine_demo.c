/* sine_demo.c — regression: the code nnc generated from sine.nn learns
 * y = sin(x) on [-pi, pi] with SGD and momentum. */
#include <math.h>
#include <stdio.h>

#include "sine.h"

enum { N = 64, EPOCHS = 2000 };

static sine net;

int main(void)
{
    static float xs[N], ys[N];
    const float pi = 3.14159265f;
    for (int i = 0; i < N; i++) {
        xs[i] = -pi + 2 * pi * (float)i / (N - 1);
        ys[i] = sinf(xs[i]);
    }
    sine_init(&net, sine_SEED);
    printf("training sine (%d parameters, %u bytes of RAM)\n", sine_N_PARAMS, (unsigned)sizeof net);
    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        float loss = 0;
        /* a fixed interleaved order: consecutive batches cover the whole range */
        for (int b = 0; b < N; b += sine_BATCH) {
            float x[sine_BATCH], t[sine_BATCH];
            for (int s = 0; s < sine_BATCH; s++) {
                int k = (b / sine_BATCH + s * (N / sine_BATCH)) % N;
                x[s] = xs[k];
                t[s] = ys[k];
            }
            loss += sine_train_step(&net, x, t, sine_BATCH);
        }
        if (epoch == 1 || epoch % 500 == 0)
            printf("epoch %4d  mean loss %.6f\n", epoch, loss / (N / sine_BATCH));
    }
    float worst = 0;
    for (int i = 0; i < N; i++) {
        float y;
        sine_forward(&net, &xs[i], &y);
        worst = fabsf(y - ys[i]) > worst ? fabsf(y - ys[i]) : worst;
    }
    printf(" x      sin(x)   network\n");
    for (int i = 0; i < N; i += 9) {
        float y;
        sine_forward(&net, &xs[i], &y);
        printf("%6.3f  %7.4f  %7.4f\n", xs[i], ys[i], y);
    }
    printf("largest error over %d points: %.4f\n", N, worst);
    return worst > 0.1f;
}
