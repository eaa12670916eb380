/* dump_init.c — writes a network's starting parameters (NAME_init with the
 * file's seed) as raw float32 in PyTorch's state_dict order, so that the
 * PyTorch side of the benchmark starts from exactly nnc's weights.  Built by
 * run.py with -DNET=NAME -include NAME's generated header.
 *
 *   dump_init OUT.f32 */
#include <stdio.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

static NET net;

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    CAT(NET, _init)(&net, CAT(NET, _SEED));
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(CAT(NET, _params)(&net), sizeof(float), CAT(NET, _N_PARAMS), f) != CAT(NET, _N_PARAMS) ||
        fclose(f) != 0) {
        fprintf(stderr, "dump_init: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
