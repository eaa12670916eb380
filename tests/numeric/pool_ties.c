/* pool_ties.c — max pooling's input gradient where windows tie: the whole
 * gradient of a window goes to its first maximum in PyTorch's order (row by
 * row, left to right), nothing to the others.
 *
 *   gcc $STRICT -DNET=name -include name.h pool_ties.c name.c -lm && ./a.out
 *
 * The network (pool_ties.nn) pools its input 2x2 and has a dense layer after
 * it; the inputs take only the values 0, 1 and 2, so most windows have two,
 * three or four equal maxima.  NAME_backward_from gives dx for a random dy;
 * this checks dx against the windows worked out here, and prints dx's bits
 * (one hex word a line) for the caller to compare between the vector paths
 * and the plain loops.  Exit 1 on a wrong gradient.  With -DPASS_CONV the
 * network starts with a 1x1 convolution of as many filters as channels,
 * which this sets to pass its input through unchanged (weight 1 from its
 * own channel, 0 from the others, bias 0), so that its outputs tie where
 * the inputs do and dx is the pooling's gradient as before. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(suffix) CAT(NET, suffix)

static uint64_t rng_state = UINT64_C(0x5eed0f7135);

static uint64_t rng_next(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static NET net;

int main(void)
{
    enum { NI = API(_N_INPUTS), NO = API(_N_OUTPUTS), NB = API(_BATCH) };
    static float x[NB * NI], dy[NB * NO], dx[NB * NI], y[NB * NO];
    API(_init)(&net, 7);
    /* The window geometry from the sizes: C channels of H x W, 2x2 windows. */
    const int W = POOL_W, H = POOL_H, C = NI / (H * W);
#ifdef PASS_CONV
    float *p = API(_params)(&net);   /* the convolution's weight [C][C][1][1], then its bias [C] */
    for (int f = 0; f < C; f++) {
        for (int c = 0; c < C; c++)
            p[f * C + c] = f == c ? 1.0f : 0.0f;
        p[C * C + f] = 0.0f;
    }
#endif
    for (int i = 0; i < NB * NI; i++)
        x[i] = (float)(rng_next() % 3);
    for (int i = 0; i < NB * NO; i++)
        dy[i] = (float)(rng_next() >> 40) * (2.0f / 16777216.0f) - 1.0f;
    if (API(_forward_train)(&net, x, y, NB) != 0 || API(_backward_from)(&net, x, dy, dx, NB) != 0) {
        fprintf(stderr, "pool_ties: the calls failed\n");
        return 1;
    }
    int bad = 0, ties = 0, nonzero = 0;
    for (int s = 0; s < NB; s++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < H / 2; oy++)
                for (int ox = 0; ox < W / 2; ox++) {
                    const float *xc = x + s * NI + c * H * W;
                    const float *dc = dx + s * NI + c * H * W;
                    int at[4] = {2 * oy * W + 2 * ox, 2 * oy * W + 2 * ox + 1, (2 * oy + 1) * W + 2 * ox,
                                 (2 * oy + 1) * W + 2 * ox + 1};
                    int first = 0, n_max = 0;
                    for (int k = 1; k < 4; k++)
                        if (xc[at[k]] > xc[at[first]])
                            first = k;
                    for (int k = 0; k < 4; k++)
                        n_max += xc[at[k]] == xc[at[first]];
                    ties += n_max > 1;
                    for (int k = 0; k < 4; k++) {
                        if (k != first && dc[at[k]] != 0.0f) {
                            if (bad++ < 5)
                                fprintf(stderr, "pool_ties: sample %d channel %d window (%d,%d): input %d of 4 "
                                        "gets %g, not the first maximum %d\n", s, c, oy, ox, k, dc[at[k]], first);
                        }
                        nonzero += k == first && dc[at[k]] != 0.0f;
                    }
                }
    if (ties == 0 || nonzero == 0) {
        fprintf(stderr, "pool_ties: the inputs tie in %d windows and the gradient reaches %d: nothing tested\n",
                ties, nonzero);
        return 1;
    }
    for (int i = 0; i < NB * NI; i++) {
        uint32_t u;
        memcpy(&u, &dx[i], sizeof u);
        printf("%08lx\n", (unsigned long)u);
    }
    return bad ? 1 : 0;
}
