/* main.c — runs the network nnc emitted on every sample built into the
 * firmware and prints each sample's outputs on a line, space-separated, in
 * %.9g (enough digits to give the float back).  Nothing in it is the
 * board's: the Makefile builds the same file for this machine too
 * (make run-host), to compare.
 *
 * Built with MCU_SUMS (make SUMS=1, for nnc's int8 C), it prints instead
 * the output layer's int32 sums, %ld: each sample quantized
 * (NAME_quantize_input), then NAME_forward_q, integers only, which give the
 * same bits on any machine. */
#include <stdio.h>

#include "inputs.h"
#include "net_glue.h"

/* All the RAM the network needs, in .bss under a name of its own, so that
 * its size in the firmware (arm-none-eabi-nm) can be held against nnc's
 * figure. */
static NNC_NET mcu_net;
#ifdef MCU_SUMS
static int8_t mcu_xq[NET(_N_INPUTS)];   /* a sample, quantized */
#endif

int main(void)
{
    if (mcu_n_features != NET(_N_INPUTS)) {
        fprintf(stderr, "main: the inputs have %d features a sample, the network takes %d\n", mcu_n_features,
                NET(_N_INPUTS));
        return 1;
    }
    for (int s = 0; s < mcu_n_samples; s++) {
        const float *x = mcu_inputs + (long)s * NET(_N_INPUTS);
#ifdef MCU_SUMS
        int32_t acc[NET(_N_OUTPUTS)];
        NET(_quantize_input)(x, mcu_xq);
        NET(_forward_q)(&mcu_net, mcu_xq, acc);
        for (int k = 0; k < NET(_N_OUTPUTS); k++)
            printf(k ? " %ld" : "%ld", (long)acc[k]);
#else
        float y[NET(_N_OUTPUTS)];
        NET(_forward)(&mcu_net, x, y);
        for (int k = 0; k < NET(_N_OUTPUTS); k++)
            printf(k ? " %.9g" : "%.9g", (double)y[k]);
#endif
        putchar('\n');
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
