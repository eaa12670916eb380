/* rng.c — the runtime's random numbers: splitmix64 with explicit state, so
 * shuffles are repeatable from a seed and independent of anything else. */
#include "nnc_rt.h"

#include <stdarg.h>

void rt_rng_seed(RtRng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t rt_rng_next(RtRng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Lemire-style rejection would need 128-bit products; plain rejection of the
 * top partial range keeps it C99 and exactly uniform. */
uint64_t rt_rng_below(RtRng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = rt_rng_next(r);
    while (v >= limit);
    return v % n;
}

/* Fisher-Yates. */
void rt_shuffle(RtRng *r, int64_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rt_rng_below(r, (uint64_t)i + 1);
        int64_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

bool rt_fail(RtError *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}
