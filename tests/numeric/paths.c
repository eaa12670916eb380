/* paths.c — prints the bits a network's training gives, for comparing the
 * vector path of the generated code (NNC_V8: GCC or Clang with AVX) with its
 * plain loops (-DNNC_PLAIN_C).  The two must give the same bits: they add
 * the same products in the same order (with -std=c99, GCC contracts no
 * multiply-add into an FMA in either).
 *
 *   gcc $STRICT -DNET=name -include name.h paths.c name.o -lm && ./a.out FILE.nn
 *
 * From NAME_init with the file's seed, four NAME_train_step calls on random inputs and targets (full batches and
 * one of about half a batch: the sample blocks' remainders), then
 * NAME_forward on one more input; prints every parameter, the last loss and
 * the outputs as hex words, one per line.  Exits 1 if a loss is not finite
 * (the bits of a run gone to NaN could agree for the wrong reasons) or if
 * NAME_forward_batch does not agree with NAME_forward. */
#include "common.h"

static NET net;

static void print_bits(const float *v, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        printf("%08lx\n", (unsigned long)u);
    }
}

/* NAME_forward_batch of 2 batches and 3 samples (every sample past the
 * first batch, a partial batch last) gives NAME_forward's outputs up to
 * float rounding: its dense layers sum in another order. */
static void forward_batch_agrees(void)
{
    enum { NI = API(_N_INPUTS), NO = API(_N_OUTPUTS), N = 2 * API(_BATCH) + 3 };
    static float x[N * NI], y[N * NO], y1[NO];
    for (int i = 0; i < N * NI; i++)
        x[i] = (float)urand(-1, 1);
    API(_forward_batch)(&net, x, y, N);
    for (int s = 0; s < N; s++) {
        API(_forward)(&net, x + s * NI, y1);
        for (int o = 0; o < NO; o++) {
            double a = y[s * NO + o], b = y1[o];
            if (!(fabs(a - b) <= 1e-5 * fmax(fabs(a), fabs(b)) + 1e-6))
                failf("NAME_forward_batch sample %d output %d: %.9g, NAME_forward %.9g", s, o, a, b);
        }
    }
}

int main(int argc, char **argv)
{
    enum { NI = API(_N_INPUTS), NO = API(_N_OUTPUTS), NB = API(_BATCH), NP = API(_N_PARAMS) };
    static float x[NB * NI], t[NB * NO], y[NO];
    float loss = 0.0f;
    char seed[64] = "1";

    if (argc != 2 || nn_statement(argv[1], NET_NAME, "seed", seed, sizeof seed) < 0) {
        fprintf(stderr, "usage: %s FILE.nn (with network " NET_NAME ")\n", argv[0]);
        return 2;
    }
    API(_init)(&net, strtoull(seed, NULL, 10));
    for (int step = 0; step < 4; step++) {
        int n = step == 2 ? NB / 2 + 1 : NB;
        for (int i = 0; i < NB * NI; i++)
            x[i] = (float)urand(-1, 1);
        for (int s = 0; s < NB; s++) {   /* a one-hot target: fits every loss */
            int hot = (int)(rng_next() % NO);
            for (int o = 0; o < NO; o++)
                t[s * NO + o] = (float)(o == hot);
        }
        loss = API(_train_step)(&net, x, t, n);
        if (!isfinite(loss))
            failf("step %d: loss %g", step, loss);
    }
    API(_forward)(&net, x, y);
    forward_batch_agrees();
    print_bits(API(_params)(&net), NP);
    print_bits(&loss, 1);
    print_bits(y, NO);
    return failures ? 1 : 0;
}
