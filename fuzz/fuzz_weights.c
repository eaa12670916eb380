/* fuzz_weights.c — the weight-file loader, rt_load_weights
 * (runtime/checkpoint.c), and the saver on what it loaded.
 *
 * Input: the bytes of a .nnw file, written to a file in a private
 * directory.  It is loaded three ways:
 *   with the fingerprint and parameter count its own header claims (count
 *   up to 2^20), so the checks after the header are reached;
 *   as a 9-parameter network of another fingerprint (xor's shape);
 *   as a network with no parameters.
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a refused file leaves the caller's parameters untouched, and the error
 *   names the file;
 *   a loaded file is exactly 28 + 4n bytes with a matching CRC, and saving
 *   the parameters again (rt_save_weights) writes the same bytes, which
 *   load again to the same bits. */
#include "fuzz_common.h"

#include "nnc_rt.h"

static const char *in_path, *out_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("weights");
    in_path = fuzz_path(0, "in.nnw");
    out_path = fuzz_path(1, "out.nnw");
    return 0;
}

static void load(const uint8_t *data, size_t size, uint64_t fp, int64_t n)
{
    /* the caller's array, filled with a pattern to see that a refusal leaves it alone */
    float *p = malloc(((size_t)n + 1) * sizeof *p);
    if (!p)
        return;
    for (int64_t i = 0; i <= n; i++)
        p[i] = (float)i * 0.5f - 3.0f;
    RtError err;
    bool ok = rt_load_weights(in_path, fp, p, n, &err);
    if (!ok) {
        for (int64_t i = 0; i <= n; i++)
            if (p[i] != (float)i * 0.5f - 3.0f)
                fuzz_bug("a refused weight file changed parameter %lld: %s", (long long)i, err.msg);
        if (!strstr(err.msg, in_path))
            fuzz_bug("the error does not name the file: %s", err.msg);
        free(p);
        return;
    }
    if (p[n] != (float)n * 0.5f - 3.0f)
        fuzz_bug("rt_load_weights wrote past the %lld parameters", (long long)n);
    if (size != 28 + 4 * (uint64_t)n)
        fuzz_bug("loaded a %zu-byte file as %lld parameters", size, (long long)n);
    if (!rt_save_weights(out_path, fp, p, n, &err))
        fuzz_bug("cannot save what was loaded: %s", err.msg);
    FILE *f = fopen(out_path, "rb");
    uint8_t *again = malloc(size + 1);
    size_t got = f && again ? fread(again, 1, size + 1, f) : 0;
    if (f)
        fclose(f);
    if (got != size || memcmp(again, data, size) != 0)
        fuzz_bug("saving the loaded weights wrote other bytes (%zu of %zu)", got, size);
    float *q = malloc(((size_t)n + 1) * sizeof *q);
    if (!q || !rt_load_weights(out_path, fp, q, n, &err) || memcmp(p, q, (size_t)n * sizeof *q) != 0)
        fuzz_bug("the saved weights do not load back to the same bits");
    free(q);
    free(again);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4 << 20) + 28)
        return -1;
    fuzz_write(in_path, data, size);
    if (size >= 24) {
        uint64_t n = fuzz_le64(data + 16);
        if (n <= (1 << 20))
            load(data, size, fuzz_le64(data + 8), (int64_t)n);
    }
    load(data, size, UINT64_C(0x0123456789abcdef), 9);
    load(data, size, size >= 16 ? fuzz_le64(data + 8) : 0, 0);
    return 0;
}
