/* train_xor.c — trains XOR on the board with the training C nnc emits for
 * examples/xor.nn: NAME_init, then NAME_train_step on each row of the truth
 * table, an epoch at a time, until every output rounds to its target (at
 * most MAX_EPOCHS); prints the epochs it took and the table.  Any network
 * of 2 inputs and 1 output will do (NET=, make train-xor). */
#include <stdio.h>

#include "net_glue.h"

#define MAX_EPOCHS 20000

typedef char takes_2_gives_1[NET(_N_INPUTS) == 2 && NET(_N_OUTPUTS) == 1 ? 1 : -1];

static NNC_NET mcu_net;   /* everything training needs: parameters, gradients, activations */

static const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
static const float t[4] = {0, 1, 1, 0};

/* Whether every row's output rounds to its target; outputs in y. */
static int learned(float y[4])
{
    int right = 0;
    for (int i = 0; i < 4; i++) {
        NET(_forward)(&mcu_net, x[i], &y[i]);
        right += (y[i] > 0.5f) == (t[i] > 0.5f);
    }
    return right == 4;
}

int main(void)
{
    float y[4];
    int epoch = 0;
    NET(_init)(&mcu_net, NET(_SEED));
    while (!learned(y) && epoch < MAX_EPOCHS) {
        NET(_schedule)(&mcu_net, epoch, MAX_EPOCHS);
        for (int i = 0; i < 4; i++)
            NET(_train_step)(&mcu_net, x[i], &t[i], 1);
        epoch++;
    }
    int ok = learned(y);
    printf("%s after %d epochs (%lu steps), sizeof(%s) = %u bytes\n", ok ? "learned" : "NOT learned", epoch,
           (unsigned long)mcu_net.step, NNC_NAME, (unsigned)sizeof mcu_net);
    for (int i = 0; i < 4; i++)
        printf("%g xor %g -> %.6f\n", (double)x[i][0], (double)x[i][1], (double)y[i]);
    return ok && fflush(stdout) == 0 ? 0 : 1;
}
