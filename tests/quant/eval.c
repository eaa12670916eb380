/* eval.c — the classes an inference-only or int8 emitted network gives a
 * set of images, and its accuracy.  Built per network:
 *   cc -std=c99 -DNET=fashion_mlp -include OUT.h eval.c OUT.c -lm
 *   eval IMAGES.f32 LABELS.u8 N
 * IMAGES.f32: N rows of NET_N_INPUTS floats (native order); LABELS.u8: N
 * bytes.  Prints each image's class (the first largest output) and its
 * outputs, a line each, and "accuracy A" (a percentage) last. */
#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(suffix) CAT(NET, suffix)

static NET net;
static float x[F(_N_INPUTS)];

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: eval IMAGES.f32 LABELS.u8 N\n");
        return 2;
    }
    long n = strtol(argv[3], NULL, 10), correct = 0;
    FILE *fi = fopen(argv[1], "rb"), *fl = fopen(argv[2], "rb");
    if (!fi || !fl || n <= 0) {
        fprintf(stderr, "eval: cannot open %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    for (long s = 0; s < n; s++) {
        float y[F(_N_OUTPUTS)];
        unsigned char label;
        if (fread(x, sizeof x, 1, fi) != 1 || fread(&label, 1, 1, fl) != 1) {
            fprintf(stderr, "eval: %s or %s ends before %ld images\n", argv[1], argv[2], n);
            return 1;
        }
        F(_forward)(&net, x, y);
        int best = 0;
        for (int j = 1; j < F(_N_OUTPUTS); j++)
            best = y[j] > y[best] ? j : best;
        correct += best == label;
        printf("%d", best);
        for (int j = 0; j < F(_N_OUTPUTS); j++)
            printf(" %.6g", (double)y[j]);
        printf("\n");
    }
    printf("accuracy %.2f\n", 100.0 * (double)correct / (double)n);
    fclose(fi);
    fclose(fl);
    return 0;
}
