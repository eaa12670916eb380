/* infer_main.c — runs inference-only emitted C (`nnc NET.nn --weights W.nnw
 * -o OUT.c`, or the REPL's `emit OUT.c inference`) on samples from the
 * command line.  Built per network with -DNET=name and -include OUT.h:
 *   cc -std=c99 -DNET=xor -include OUT.h infer_main.c OUT.c -lm
 *   infer_main X1 X2 ... [, X1 X2 ...]
 * Prints one line per sample: the outputs as %.6g (as the REPL's `predict`
 * prints them), "|", and the same outputs as %a (exact). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(suffix) CAT(NET, suffix)

static NET net;

static void run(const float *x)
{
    float y[F(_N_OUTPUTS)];
    F(_forward)(&net, x, y);
    for (int j = 0; j < F(_N_OUTPUTS); j++)
        printf("%s%.6g", j ? " " : "", (double)y[j]);
    printf(" |");
    for (int j = 0; j < F(_N_OUTPUTS); j++)
        printf(" %a", (double)y[j]);
    printf("\n");
}

int main(int argc, char **argv)
{
    float x[F(_N_INPUTS)];
    int k = 0;
    for (int i = 1; i <= argc; i++) {
        if (i == argc || strcmp(argv[i], ",") == 0) {
            if (k != F(_N_INPUTS)) {
                fprintf(stderr, "infer_main: a sample needs %d numbers\n", F(_N_INPUTS));
                return 1;
            }
            run(x);
            k = 0;
        } else if (k < F(_N_INPUTS)) {
            x[k++] = strtof(argv[i], NULL);
        } else {
            fprintf(stderr, "infer_main: a sample needs %d numbers\n", F(_N_INPUTS));
            return 1;
        }
    }
    return 0;
}
