/* fuzz_text.c — the language model's text loader, rt_load_text
 * (runtime/data.c), as `nnc train --text` and the REPL's `text` call it.
 *
 * Input: a byte of options, then the text, written to a file in a private
 * directory.  The options byte picks the window (its low 6 bits + 1: 1 to
 * 64 steps) and the ids (its top 2 bits: 2, 64, 128 or 256); the text is
 * loaded with the last 10% held out, and again with nothing held out.
 *
 * Invariants checked besides the sanitizers' (a break aborts):
 *   a failure leaves both RtData zeroed and a message naming the file; it
 *   happens exactly when a byte is not an id or a part is too short for one
 *   window of steps + 1 bytes;
 *   a success has as many windows as (part - 1) / steps, each step's input
 *   the text's byte and its label the byte after it, in order, in both the
 *   kept and the held-out part; every id below the vocabulary. */
#include "fuzz_common.h"

#include "nnc_rt.h"

static const char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("text");
    path = fuzz_path(0, "text.txt");
    return 0;
}

static bool zeroed(const RtData *d)
{
    return !d->n && !d->x && !d->t && !d->label && !d->source;
}

/* The windows of `part` (len bytes) are d's, in order. */
static void check_windows(const RtData *d, const uint8_t *part, size_t len, int64_t steps, int64_t vocab)
{
    int64_t n = (int64_t)((len - 1) / (size_t)steps);
    if (d->n != n || d->n_inputs != steps || d->n_outputs != steps * vocab || d->steps != steps || !d->x ||
        !d->label || !d->source)
        fuzz_bug("%lld windows of %lld steps (%lld outputs), expected %lld of %lld", (long long)d->n,
                 (long long)d->n_inputs, (long long)d->n_outputs, (long long)n, (long long)steps);
    for (int64_t i = 0; i < n * steps; i++) {
        if (d->x[i] != (float)part[i] || d->label[i] != (int32_t)part[i + 1])
            fuzz_bug("step %lld: id %g label %d, the text has %u then %u", (long long)i, (double)d->x[i],
                     (int)d->label[i], part[i], part[i + 1]);
        if (d->label[i] < 0 || d->label[i] >= vocab)
            fuzz_bug("label %d out of %lld ids", (int)d->label[i], (long long)vocab);
    }
}

static void load(const uint8_t *text, size_t len, int64_t steps, int64_t vocab, double holdout)
{
    RtData train, valid;
    RtError err = {{0}};
    bool ok = rt_load_text(path, steps, vocab, holdout, &train, holdout > 0 ? &valid : NULL, &err);
    size_t held = (size_t)((double)len * holdout), kept = len - held;
    bool ids = true;
    for (size_t i = 0; i < len; i++)
        ids &= text[i] < vocab;
    bool should = ids && kept >= (size_t)steps + 1 && (holdout == 0 || held >= (size_t)steps + 1);
    if (ok != should)
        fuzz_bug("%zu bytes, %lld steps, %lld ids: %s (%s)", len, (long long)steps, (long long)vocab,
                 ok ? "loaded" : "refused", ok ? "should be refused" : err.msg);
    if (!ok) {
        if (!zeroed(&train) || (holdout > 0 && !zeroed(&valid)))
            fuzz_bug("rt_load_text failed but left data behind");
        if (!strstr(err.msg, path))
            fuzz_bug("the error does not name the file: %s", err.msg);
        return;
    }
    check_windows(&train, text, kept, steps, vocab);
    if (holdout > 0) {
        check_windows(&valid, text + kept, held, steps, vocab);
        rt_data_free(&valid);
    }
    rt_data_free(&train);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return -1;
    static const int64_t vocabs[4] = {2, 64, 128, 256};
    int64_t steps = (data[0] & 63) + 1, vocab = vocabs[data[0] >> 6];
    fuzz_write(path, data + 1, size - 1);
    load(data + 1, size - 1, steps, vocab, 0.1);
    load(data + 1, size - 1, steps, vocab, 0.0);
    return 0;
}
