/* rt_driver.c — `nnc train` without the JIT: the C that `nnc NET.nn -o` wrote,
 * compiled by the system compiler, linked with the runtime library
 * (build/libnncrt.a) and driven exactly as compiler/cmd_train.c drives the
 * JIT-compiled code: the same RtNet, the same seed for the weights and the
 * shuffling, the same CSV options, the same report interval, one rt_train.
 *
 * Built once per network with -DNET=name and -include of the emitted header:
 *   cc -std=c99 -O2 -DNET=spiral -include OUT/spiral.h rt_driver.c OUT/spiral.c build/libnncrt.a -lz -lm
 *
 *   rt_driver train CSV EPOCHS OUTPUT LOSS SAVE.nnw
 *       OUTPUT: the output layer's activation (softmax, sigmoid or another);
 *       the data is read as classes for softmax and sigmoid, as cmd_train
 *       decides.  LOSS: mse or cross_entropy.  Prints rt_train's per-epoch
 *       lines (as `nnc train` does, without its header lines) and writes the
 *       weights with rt_save_weights.
 *   rt_driver predict W.nnw X1 X2 ... [, X1 X2 ...]
 *       Loads the weights and prints NET_forward's outputs of each sample,
 *       one line each: as %.6g (as the REPL's `predict`), "|", as %a (exact).
 * Exit status 0, or 1 with a message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(suffix) CAT(NET, suffix)
#define STR_(x) #x
#define STR(x) STR_(x)

static size_t w_size(void) { return sizeof(NET); }
static void w_init(void *n, uint64_t seed) { F(_init)((NET *)n, seed); }
static void w_forward(void *n, const float *x, float *y) { F(_forward)((NET *)n, x, y); }
static void w_forward_batch(void *n, const float *x, float *y, int k) { F(_forward_batch)((NET *)n, x, y, k); }
static float w_train_step(void *n, const float *x, const float *t, int k) { return F(_train_step)((NET *)n, x, t, k); }
static float *w_params(void *n) { return F(_params)((NET *)n); }
static float *w_lr(void *n) { return &((NET *)n)->lr; }

/* The RtNet jit_compile builds, with the network initialized from its seed. */
static RtNet make_net(int softmax)
{
    RtNet r;
    memset(&r, 0, sizeof r);
    r.name = STR(NET);
    r.n_inputs = F(_N_INPUTS);
    r.n_outputs = F(_N_OUTPUTS);
    r.batch = F(_BATCH);
    r.n_params = F(_N_PARAMS);
    r.seed = F(_SEED);
    r.fingerprint = F(_FINGERPRINT);
    r.softmax = softmax != 0;
    r.size = w_size();
    r.init = w_init;
    r.forward = w_forward;
    r.forward_batch = w_forward_batch;
    r.train_step = w_train_step;
    r.params = w_params;
    r.lr = w_lr;
    r.state = calloc(1, r.size);
    if (!r.state) {
        fprintf(stderr, "rt_driver: out of memory\n");
        exit(1);
    }
    r.init(r.state, r.seed);
    return r;
}

static int train(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: rt_driver train CSV EPOCHS OUTPUT LOSS SAVE.nnw\n");
        return 1;
    }
    int epochs = atoi(argv[3]);
    int softmax = strcmp(argv[4], "softmax") == 0;
    int classify = softmax || strcmp(argv[4], "sigmoid") == 0;
    int ce = strcmp(argv[5], "cross_entropy") == 0;
    RtNet net = make_net(softmax);
    RtCsvOptions csv = {RT_HEADER_AUTO, -1, 0};
    RtData d;
    RtError err;
    memset(&d, 0, sizeof d);
    if (!rt_load_csv(argv[2], &csv, net.n_inputs, net.n_outputs, classify != 0, &d, &err)) {
        fprintf(stderr, "rt_driver: %s\n", err.msg);
        return 1;
    }
    RtTrainOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.epochs = epochs;
    opt.shuffle_seed = net.seed;
    opt.loss = ce ? RT_LOSS_CROSS_ENTROPY : RT_LOSS_MSE;
    opt.out = stdout;
    opt.progress = false;
    opt.report_every = (epochs + 19) / 20;
    RtEpoch last;
    bool ok = rt_train(&net, &d, NULL, &opt, &last);
    if (ok && !rt_save_weights(argv[6], net.fingerprint, net.params(net.state), net.n_params, &err)) {
        fprintf(stderr, "rt_driver: %s\n", err.msg);
        ok = false;
    }
    rt_data_free(&d);
    free(net.state);
    return ok ? 0 : 1;
}

static int predict(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rt_driver predict W.nnw X1 X2 ... [, X1 X2 ...]\n");
        return 1;
    }
    RtNet net = make_net(0);
    RtError err;
    if (!rt_load_weights(argv[2], net.fingerprint, net.params(net.state), net.n_params, &err)) {
        fprintf(stderr, "rt_driver: %s\n", err.msg);
        return 1;
    }
    float x[F(_N_INPUTS)], y[F(_N_OUTPUTS)];
    int k = 0;
    for (int i = 3; i <= argc; i++) {
        if (i == argc || strcmp(argv[i], ",") == 0) {
            if (k != F(_N_INPUTS)) {
                fprintf(stderr, "rt_driver: a sample needs %d numbers\n", F(_N_INPUTS));
                return 1;
            }
            net.forward(net.state, x, y);
            for (int j = 0; j < F(_N_OUTPUTS); j++)
                printf("%s%.6g", j ? " " : "", (double)y[j]);
            printf(" |");
            for (int j = 0; j < F(_N_OUTPUTS); j++)
                printf(" %a", (double)y[j]);
            printf("\n");
            k = 0;
        } else if (k < F(_N_INPUTS)) {
            x[k++] = strtof(argv[i], NULL);
        } else {
            fprintf(stderr, "rt_driver: a sample needs %d numbers\n", F(_N_INPUTS));
            return 1;
        }
    }
    free(net.state);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "train") == 0)
        return train(argc, argv);
    if (argc > 1 && strcmp(argv[1], "predict") == 0)
        return predict(argc, argv);
    fprintf(stderr, "usage: rt_driver train ... | rt_driver predict ...\n");
    return 1;
}
