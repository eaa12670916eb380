/* driver.c — prints the learning rates an nnc-generated network's
 * NET_schedule gives, for tests/torch/schedules/reference.py to compare
 * with torch.optim.lr_scheduler.
 *
 *   cc -std=c99 -DNET=cos_min -include OUT/cos_min.h \
 *      tests/torch/schedules/driver.c OUT/cos_min.c -lm
 *
 * Usage: driver > lr.txt.  Lines (every rate as %.9g, which reads back as
 * the same float):
 *   init LR               net.lr after NET_init
 *   run EPOCHS EPOCH LR   NET_schedule(&net, EPOCH, EPOCHS) for a run of 20
 *                         epochs (EPOCH 0..19), then one of 7 (0..6)
 *   negative LR           NET_schedule(&net, -3, 20): must be epoch 0's
 *   again LR              net.lr spoiled, then NET_schedule(&net, 5, 20):
 *                         must be epoch 5's (nothing depends on net.lr)
 * Exit status: 0. */
#include <stdio.h>

#ifndef NET
#error "compile with -DNET=network_name -include network_name.h"
#endif

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define N(suffix) PASTE(NET, suffix)

static N() net;

int main(void)
{
    static const int runs[] = {20, 7};

    N(_init)(&net, N(_SEED));
    printf("init %.9g\n", (double)net.lr);
    for (int r = 0; r < 2; r++)
        for (int e = 0; e < runs[r]; e++) {
            N(_schedule)(&net, e, runs[r]);
            printf("run %d %d %.9g\n", runs[r], e, (double)net.lr);
        }
    N(_schedule)(&net, -3, 20);
    printf("negative %.9g\n", (double)net.lr);
    net.lr = 123.0f;
    N(_schedule)(&net, 5, 20);
    printf("again %.9g\n", (double)net.lr);
    return 0;
}
