/* nnw_cmp.c — compares the parameters of two weight files (.nnw, see
 * docs/weights-format.md): "NNCW", u32 version, u64 fingerprint, u64 n,
 * f32 params[n], u32 crc32, little-endian.
 *   nnw_cmp A.nnw B.nnw TOL
 * Prints the largest |a - b| and where it is; exit status 0 when the
 * fingerprints and counts agree and every difference is at most TOL
 * (TOL 0: bit-identical parameters), 1 otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)*len + 1)) != NULL && fread(b, 1, (size_t)*len, f) != (size_t)*len) {
        free(b);
        b = NULL;
    }
    if (f)
        fclose(f);
    if (!b)
        fprintf(stderr, "nnw_cmp: cannot read %s\n", path);
    return b;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static float f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)le(p, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: nnw_cmp A.nnw B.nnw TOL\n");
        return 1;
    }
    long la, lb;
    unsigned char *a = slurp(argv[1], &la), *b = slurp(argv[2], &lb);
    double tol = atof(argv[3]);
    if (!a || !b)
        return 1;
    if (la < 28 || lb < 28 || memcmp(a, "NNCW", 4) || memcmp(b, "NNCW", 4)) {
        fprintf(stderr, "nnw_cmp: not weight files\n");
        return 1;
    }
    uint64_t na = le(a + 16, 8), nb = le(b + 16, 8);
    if (le(a + 8, 8) != le(b + 8, 8) || na != nb || (uint64_t)la != 28 + 4 * na || (uint64_t)lb != 28 + 4 * nb) {
        fprintf(stderr, "nnw_cmp: different networks or sizes (%llu and %llu parameters)\n", (unsigned long long)na,
                (unsigned long long)nb);
        return 1;
    }
    double worst = 0;
    uint64_t at = 0, differ = 0;
    for (uint64_t i = 0; i < na; i++) {
        float x = f32(a + 24 + 4 * i), y = f32(b + 24 + 4 * i);
        double d = fabs((double)x - (double)y);
        differ += memcmp(a + 24 + 4 * i, b + 24 + 4 * i, 4) != 0;
        if (d > worst || d != d) {
            worst = d;
            at = i;
        }
    }
    printf("%llu of %llu parameters differ; max |a - b| = %g (parameter %llu)\n", (unsigned long long)differ,
           (unsigned long long)na, worst, (unsigned long long)at);
    return (tol == 0 ? differ == 0 : worst <= tol) ? 0 : 1;
}
