/* fuzz_checkpoint.c — the checkpoint loader, rt_load_checkpoint
 * (runtime/resume.c), and the saver on what it loaded.
 *
 * Input: the bytes of a .nnck file, written to a file in a private
 * directory.  It is loaded into a small stand-in network (arrays "param"
 * of 9 floats, "lr" of 1, "step" one uint64_t) twice: with the identity its
 * own header claims (data size up to 4096 samples), so the checks after the
 * header are reached, and with a fixed other identity.
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a refused file leaves the network and the run untouched, and the error
 *   names the file;
 *   a loaded file's order is a permutation, and saving the network and the
 *   run again (rt_save_checkpoint) writes the same bytes. */
#include "fuzz_common.h"

#include "nnc_rt.h"

static const char *in_path, *out_path;

typedef struct Fake {
    float param[9], lr;
    uint64_t step;
} Fake;

static const char *fake_arrays(void *net, int i, void **p, int64_t *count, int *is_u64)
{
    Fake *f = net;
    *is_u64 = i == 2;
    *count = i == 0 ? 9 : 1;
    switch (i) {
    case 0: *p = f->param; return "param";
    case 1: *p = &f->lr; return "lr";
    case 2: *p = &f->step; return "step";
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("checkpoint");
    in_path = fuzz_path(0, "in.nnck");
    out_path = fuzz_path(1, "out.nnck");
    return 0;
}

static void load(const uint8_t *data, size_t size, const RtCheckpointId *id)
{
    Fake f, before;
    for (int i = 0; i < 9; i++)
        f.param[i] = (float)i * 0.5f - 3.0f;
    f.lr = 0.25f;
    f.step = 77;
    before = f;
    RtRun run = {.epoch = 3, .pos = 5}, run0 = run;
    RtError err;
    if (!rt_load_checkpoint(in_path, id, &run, &f, fake_arrays, &err)) {
        if (memcmp(&f, &before, sizeof f) != 0 || memcmp(&run, &run0, sizeof run) != 0)
            fuzz_bug("a refused checkpoint changed the network or the run: %s", err.msg);
        if (!strstr(err.msg, in_path))
            fuzz_bug("the error does not name the file: %s", err.msg);
        return;
    }
    for (int64_t i = 0; i < run.n; i++)
        if (run.order[i] < 0 || run.order[i] >= run.n)
            fuzz_bug("a loaded order holds %lld of %lld samples", (long long)run.order[i], (long long)run.n);
    if (!rt_save_checkpoint(out_path, id, &run, &f, fake_arrays, &err))
        fuzz_bug("cannot save what was loaded: %s", err.msg);
    FILE *o = fopen(out_path, "rb");
    uint8_t *again = malloc(size + 1);
    size_t got = o && again ? fread(again, 1, size + 1, o) : 0;
    if (o)
        fclose(o);
    if (got != size || memcmp(again, data, size) != 0)
        fuzz_bug("saving the loaded checkpoint wrote other bytes (%zu of %zu)", got, size);
    free(again);
    rt_run_free(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return -1;
    fuzz_write(in_path, data, size);
    if (size >= 48 && fuzz_le64(data + 32) <= 4096) {
        RtCheckpointId own = {"network", fuzz_le64(data + 8), fuzz_le64(data + 16), (int64_t)fuzz_le64(data + 24),
                              (int64_t)fuzz_le64(data + 32), fuzz_le64(data + 40)};
        load(data, size, &own);
    }
    RtCheckpointId other = {"network", 1, 2, 16, 10, 3};
    load(data, size, &other);
    return 0;
}
