/* xor_demo.c — trains XOR with the C that nnc generated from xor.nn, and
 * nothing else: no nnc runtime, no malloc.  Build it (make demo does this):
 *
 *   ./nnc examples/xor.nn -o build/demo/xor.c
 *   cc -std=c99 -O2 -Ibuild/demo examples/xor_demo.c build/demo/xor.c -lm
 */
#include <stdio.h>

#include "xor.h"

static const float inputs[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const float targets[4][1] = {{0}, {1}, {1}, {0}};

static xor net;   /* all the memory training needs: sizeof(xor) bytes */

int main(void)
{
    int epochs = 10000, wrong = 0;
    xor_init(&net, xor_SEED);
    printf("training xor (2-2-1 sigmoid, %d parameters, %u bytes of RAM)\n", xor_N_PARAMS, (unsigned)sizeof net);
    for (int epoch = 1; epoch <= epochs; epoch++) {
        float loss = 0;
        for (int i = 0; i < 4; i++)
            loss += xor_train_step(&net, inputs[i], targets[i], 1);
        if (epoch == 1 || epoch % 2000 == 0)
            printf("epoch %5d  mean loss %.6f\n", epoch, loss / 4);
    }
    printf("\n x1 x2 | target | output\n-------+--------+-------\n");
    for (int i = 0; i < 4; i++) {
        float y;
        xor_forward(&net, inputs[i], &y);
        int bit = y > 0.5f;
        wrong += bit != (int)targets[i][0];
        printf("  %d  %d |   %d    | %.4f %s\n", (int)inputs[i][0], (int)inputs[i][1], (int)targets[i][0], y,
               bit == (int)targets[i][0] ? "ok" : "WRONG");
    }
    printf("\n%s\n", wrong ? "XOR not learned" : "XOR learned: all 4 rows correct");
    return wrong != 0;
}
