/* xor_hand.c — seed fidelity: the generated training step of examples/xor.nn
 * (2-2-1 sigmoid, mse, plain sgd lr=0.5, batch 1) against the classic
 * perceptron rules, worked by hand in plain C:
 *
 *   Error   = Correct - Predicted
 *   Delta   = Error * sigmoid'(net),  sigmoid'(net) = y * (1 - y)
 *   weight(n) = weight(n-1) + input * Delta * learning_rate
 *   bias(n)   = bias(n-1)   + 1     * Delta * learning_rate
 *   hidden: Delta_h = (sum_k w_hk * Delta_k) * h * (1 - h), with the output
 *           weights w_hk from BEFORE this step's update
 *
 *   gcc $STRICT -I DIR xor_hand.c DIR/xor.o -lm     (DIR holds nnc's xor.c/.h)
 *   ./a.out init    xor_init(seed 42) against splitmix64 uniform(-1, 1) redone here
 *   ./a.out step    the hand-worked steps against xor_train_step
 *   ./a.out stats   prints how far apart they are
 *
 * `step` starts from xor_init(&net, xor_SEED) and trains one epoch, the four
 * XOR patterns in order at batch 1; after each step (the first is the ONE
 * step from the initial weights) every one of the 9 parameters and the
 * returned loss must match the hand computation to 1e-7 relative.
 * The hand computation is float, as the generated code is, and writes each
 * rule as the text states it (the net input as bias + sum w x, sigmoid' as
 * its own factor y * (1 - y)).  Result with nnc 0.1.0, gcc, x86-64: the
 * parameters and losses are BIT-IDENTICAL, in both the unrolled and the loop
 * emission (run `stats`), and they stay bit-identical through the 10000
 * epochs of examples/xor_demo.c (tried by hand, not checked here); the 1e-7
 * tolerance only allows a compiler that reassociates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xor.h"

typedef char xor_is_2_2_1[xor_N_INPUTS == 2 && xor_N_OUTPUTS == 1 && xor_N_PARAMS == 9 ? 1 : -1];

static const float inputs[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const float targets[4] = {0, 1, 1, 0};

static xor net;
static int failures, stats;

static float sigmoid(float net_input)
{
    return 1.0f / (1.0f + expf(-net_input));
}

/* splitmix64, as the emitted header documents NAME_init's random numbers */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* xor.nn says `init uniform(-1, 1)`: all 9 parameters drawn in layout order
 * (layer 1 weights, biases, layer 2 weights, bias), 24 random bits each. */
static int check_init(void)
{
    uint64_t state = 42;
    if (xor_SEED != 42)
        printf("xor_SEED is %llu, xor.nn says 42\n", (unsigned long long)xor_SEED), failures++;
    xor_init(&net, 42);
    for (int i = 0; i < xor_N_PARAMS; i++) {
        float u = (float)(splitmix64(&state) >> 40) * (1.0f / 16777216.0f);
        float want = -1.0f + 2.0f * u;
        if (memcmp(&want, &net.param[i], sizeof want) != 0) {
            printf("param %d: xor_init gives %.9g, splitmix64 uniform(-1, 1) gives %.9g\n", i, net.param[i], want);
            failures++;
        }
    }
    return failures != 0;
}

/* Relative difference, and whether the bits differ. */
static double compare(float generated, float hand, int *same_bits)
{
    double scale = fmax(fabs(generated), fabs(hand));
    if (memcmp(&generated, &hand, sizeof hand) != 0)
        *same_bits = 0;
    return scale > 0 ? fabs((double)generated - hand) / scale : 0;
}

static int check_step(void)
{
    /* the hand-worked network: w_h[j][i] from input i to hidden j, w_o[j] from hidden j */
    float w_h[2][2], b_h[2], w_o[2], b_o;
    const float learning_rate = 0.5f;
    double worst = 0;
    int same_bits = 1;

    xor_init(&net, xor_SEED);
    if (net.lr != learning_rate)
        printf("xor_init sets lr %g, xor.nn says 0.5\n", net.lr), failures++;
    for (int j = 0; j < 2; j++) {   /* the layout the header documents */
        w_h[j][0] = net.param[2 * j];
        w_h[j][1] = net.param[2 * j + 1];
        b_h[j] = net.param[4 + j];
        w_o[j] = net.param[6 + j];
    }
    b_o = net.param[8];

    for (int p = 0; p < 4; p++) {
        const float *input = inputs[p], correct = targets[p];
        float h[2], Delta_h[2], predicted, Error, Delta, hand_loss, loss;

        /* forward: net input = bias + sum of weight * input, then sigmoid */
        for (int j = 0; j < 2; j++)
            h[j] = sigmoid(b_h[j] + w_h[j][0] * input[0] + w_h[j][1] * input[1]);
        predicted = sigmoid(b_o + w_o[0] * h[0] + w_o[1] * h[1]);

        /* output layer */
        Error = correct - predicted;
        {
            float sigmoid_prime = predicted * (1.0f - predicted);
            Delta = Error * sigmoid_prime;
        }
        hand_loss = 0.5f * Error * Error;

        /* hidden layer, with the output weights before their update */
        for (int j = 0; j < 2; j++) {
            float sigmoid_prime = h[j] * (1.0f - h[j]);
            Delta_h[j] = (w_o[j] * Delta) * sigmoid_prime;
        }

        /* weight(n) = weight(n-1) + input * Delta * learning_rate; biases with input 1 */
        for (int j = 0; j < 2; j++)
            w_o[j] = w_o[j] + h[j] * Delta * learning_rate;
        b_o = b_o + 1.0f * Delta * learning_rate;
        for (int j = 0; j < 2; j++) {
            for (int i = 0; i < 2; i++)
                w_h[j][i] = w_h[j][i] + input[i] * Delta_h[j] * learning_rate;
            b_h[j] = b_h[j] + 1.0f * Delta_h[j] * learning_rate;
        }

        /* the generated step */
        loss = xor_train_step(&net, input, &correct, 1);
        {
            const float hand[9] = {w_h[0][0], w_h[0][1], w_h[1][0], w_h[1][1], b_h[0], b_h[1], w_o[0], w_o[1], b_o};
            double d = compare(loss, hand_loss, &same_bits);
            worst = fmax(worst, d);
            if (!(d <= 1e-7))
                printf("step %d (x = %g %g): xor_train_step returns loss %.9g, by hand %.9g\n", p + 1, input[0],
                       input[1], loss, hand_loss), failures++;
            for (int i = 0; i < 9; i++) {
                d = compare(net.param[i], hand[i], &same_bits);
                worst = fmax(worst, d);
                if (!(d <= 1e-7))
                    printf("step %d (x = %g %g): param %d is %.9g, by hand %.9g\n", p + 1, input[0], input[1], i,
                           net.param[i], hand[i]), failures++;
            }
        }
    }
    if (stats)
        printf("%s; worst relative difference %.3g\n", same_bits ? "bit-identical" : "NOT bit-identical", worst);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "init") == 0)
        return check_init();
    stats = argc == 2 && strcmp(argv[1], "stats") == 0;
    if (argc == 2 && (stats || strcmp(argv[1], "step") == 0))
        return check_step();
    fprintf(stderr, "usage: %s init | step | stats\n", argv[0]);
    return 2;
}
