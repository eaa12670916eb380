/* train.c — the training loop and its metrics.
 *
 * Epochs of shuffled mini-batches (a seeded RtRng, never rand()), each batch
 * gathered into contiguous rows and handed to the network's own train_step;
 * after each epoch the mean loss, training and test accuracy (or loss for a
 * regressor) and samples per second.  On a terminal a progress bar redraws
 * in place; otherwise there is one plain line per epoch. */
#define _POSIX_C_SOURCE 200809L
#include "nnc_rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__) || defined(__x86_64__)
#define HAVE_MXCSR 1   /* x86's SSE control register: flush_subnormals() */
#include <xmmintrin.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t argmax(const float *y, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (y[i] > y[best])
            best = i;
    return best;
}

/* Row s of d's targets into t: as stored, or one-hot rows of its labels
 * (one per step) when d keeps labels only. */
static void targets_of(const RtData *d, int64_t s, int64_t no, float *t)
{
    if (d->t) {
        memcpy(t, d->t + s * no, (size_t)no * sizeof *t);
        return;
    }
    int64_t steps = d->steps > 1 ? d->steps : 1, k = no / steps;
    memset(t, 0, (size_t)no * sizeof *t);
    for (int64_t st = 0; st < steps; st++) {
        int32_t c = d->label[s * steps + st];
        if (c >= 0 && c < k)
            t[st * k + c] = 1.0f;
    }
}

RtEval rt_evaluate(const RtNet *net, const RtData *d, RtLoss loss, int64_t *confusion)
{
    return rt_evaluate_par(net, d, loss, confusion, NULL);
}

RtEval rt_evaluate_par(const RtNet *net, const RtData *d, RtLoss loss, int64_t *confusion, const RtPar *par)
{
    enum { CHUNK = 256 };   /* samples per forward_batch call */
    RtEval e = {0.0, -1.0, d->n};
    int r = rt_par_rank(par), size = rt_par_size(par);
    int64_t lo = d->n * r / size, hi = d->n * (r + 1) / size;   /* this rank's rows */
    int64_t no = net->n_outputs, correct = 0;
    /* A sequence output: its loss is the mean over its steps, and each step
     * with a label is one prediction of its k classes. */
    int64_t steps = net->out_steps > 1 ? net->out_steps : 1, k = no / steps;
    int64_t labels = d->steps > 1 ? d->steps : 1;   /* labels per sample: 1, or one per step */
    float *ys = malloc((size_t)(CHUNK * no) * sizeof *ys), *ts = malloc((size_t)no * sizeof *ts);
    if (!ys || !ts) {
        free(ys);
        free(ts);
        return e;
    }
    if (confusion)
        memset(confusion, 0, (size_t)(k * k) * sizeof *confusion);
    double total = 0;
    for (int64_t s = lo; s < hi; s++) {
        const float *y = ys + (s - lo) % CHUNK * no;
        if ((s - lo) % CHUNK == 0)
            net->forward_batch(net->state, d->x + s * net->n_inputs, ys, (int)(hi - s < CHUNK ? hi - s : CHUNK));
        targets_of(d, s, no, ts);
        double l = 0;
        for (int64_t j = 0; j < no; j++) {
            if (loss == RT_LOSS_CROSS_ENTROPY)
                l -= ts[j] > 0 ? (double)ts[j] * log(fmax((double)y[j], 1e-30)) : 0.0;
            else if (loss == RT_LOSS_BCE)   /* as torch's BCELoss: each log at least -100 */
                l -= ((double)ts[j] * fmax(log((double)y[j]), -100.0) +
                      (1.0 - ts[j]) * fmax(log(1.0 - (double)y[j]), -100.0)) / (double)k;
            else
                l += 0.5 * ((double)ts[j] - y[j]) * ((double)ts[j] - y[j]);
        }
        total += l / (double)steps;
        for (int64_t st = 0; d->label && st < labels; st++) {
            const float *yk = y + (labels > 1 ? st * k : 0);
            int64_t kk = labels > 1 ? k : no, pred = kk == 1 ? (yk[0] > 0.5f) : argmax(yk, kk);
            int32_t want = d->label[s * labels + st];
            correct += pred == want;
            if (confusion && want >= 0 && want < kk && kk > 1)
                confusion[want * kk + pred]++;
        }
    }
    free(ys);
    free(ts);
    if (size > 1) {   /* every rank's sums, and its confusion counts */
        double sums[2] = {total, (double)correct};
        double *cm = confusion ? malloc((size_t)(k * k) * sizeof *cm) : NULL;   /* (as the memset above) */
        for (int64_t i = 0; cm && i < k * k; i++)
            cm[i] = (double)confusion[i];
        if (!rt_par_sum_doubles(par, sums, 2) || (cm && !rt_par_sum_doubles(par, cm, (int)(k * k)))) {
            free(cm);
            e.loss = NAN;
            return e;
        }
        for (int64_t i = 0; cm && i < k * k; i++)
            confusion[i] = (int64_t)cm[i];
        free(cm);
        total = sums[0], correct = (int64_t)sums[1];
    }
    if (d->n > 0) {
        e.loss = total / (double)d->n;
        if (d->label)
            e.accuracy = (double)correct / ((double)d->n * (double)labels);
    }
    return e;
}

static void format_time(char *out, size_t cap, double seconds)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%ld:%02ld", s / 60, s % 60);
}

static void progress_bar(FILE *out, int epoch, int epochs, int64_t done, int64_t total, double loss, double lr,
                         double rate, double left)
{
    enum { WIDTH = 24 };
    int fill = total ? (int)(WIDTH * done / total) : WIDTH;
    char bar[WIDTH + 1], eta[32];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[WIDTH] = '\0';
    format_time(eta, sizeof eta, left);
    fprintf(out, "\r\033[Kepoch %d/%d [%s] %lld/%lld  batch loss %.4f%s", epoch, epochs, bar, (long long)done,
            (long long)total, loss, lr > 0 ? "  lr " : "");
    if (lr > 0)
        fprintf(out, "%.3g", lr);
    fprintf(out, "  %.0f samples/s  %s left", rate, eta);
    fflush(out);
}

/* The progress bar's state over a whole run: redrawn at most every 0.1 s,
 * and at the end of each epoch. */
typedef struct Progress {
    double start, last_draw, total;   /* when this process started training, when last drawn, samples left then */
    int epochs;
    double start_done;           /* samples of the run trained before (a resumed run) */
} Progress;

/* lr: the learning rate to show; 0: none (a gan: two networks, two rates). */
static void progress_step(FILE *out, Progress *p, int epoch, int64_t done, int64_t n, double loss, double lr)
{
    double t = now();
    if (t - p->last_draw <= 0.1 && done != n)
        return;
    double done_here = (double)(epoch - 1) * n + done - p->start_done;
    double rate = done_here / (t - p->start + 1e-9);
    progress_bar(out, epoch, p->epochs, done, n, loss, lr, rate, (p->total - done_here) / (rate > 0 ? rate : 1));
    p->last_draw = t;
}

/* The error of a loss that became NaN or infinite (`whose`: "" or
 * "generator's "), after clearing the progress bar. */
static void say_diverged(FILE *out, bool progress, int epoch, int64_t batch, const char *whose, float loss)
{
    if (out && progress)
        fprintf(out, "\r\033[K");
    if (out)
        fflush(out);
    fprintf(stderr, "nnc: error: training diverged at epoch %d, batch %lld: the %sloss is %s\n", epoch,
            (long long)batch, whose, isnan(loss) ? "NaN" : "infinite");
}

static void print_eval(FILE *out, const char *what, RtEval e, bool loss_too)
{
    if (loss_too && e.accuracy >= 0)
        fprintf(out, "  %s loss %.4f", what, e.loss);
    if (e.accuracy >= 0)
        fprintf(out, "  %s acc %.2f%%", what, 100.0 * e.accuracy);
    else
        fprintf(out, "  %s loss %.6g", what, e.loss);
}

/* A whole epoch's test figure `metric` (higher is better: an accuracy, a
 * regressor's loss negated, a gan's score) against the run's best: *best
 * when it is a new best (kept in run); returns whether `patience` epochs
 * (0: never) have now passed without one.  NaN is never better. */
static bool track_best(RtRun *run, int epoch, double metric, int patience, bool *best)
{
    *best = !isnan(metric) && (run->best_epoch == 0 || metric > run->best);
    if (*best) {
        run->best = metric;
        run->best_epoch = epoch;
        run->since_best = 0;
        return false;
    }
    run->since_best++;
    return patience > 0 && run->since_best >= patience;
}

/* A run not started: the order 0 .. n-1 and the shuffle seeded. */
static bool run_start(RtRun *run, int64_t n, uint64_t seed)
{
    memset(run, 0, sizeof *run);
    run->order = malloc((size_t)(n > 0 ? n : 1) * sizeof *run->order);
    if (!run->order)
        return false;
    run->n = n;
    for (int64_t i = 0; i < n; i++)
        run->order[i] = i;
    RtRng rng;
    rt_rng_seed(&rng, seed);
    run->shuffle_rng = rng.state;
    return true;
}

/* The start of epoch run->epoch + 1: a new one shuffles the order and
 * clears the sums; one stopped inside (run->pos > 0) goes on as it was. */
static void epoch_begin(RtRun *run)
{
    if (run->pos != 0)
        return;
    RtRng rng = {run->shuffle_rng};
    rt_shuffle(&rng, run->order, run->n);
    run->shuffle_rng = rng.state;
    run->sum[0] = run->sum[1] = 0;
    run->batches = run->seen = 0;
}

/* The progress bar of a run that has done run->epoch epochs and run->pos
 * samples of the next, of n samples an epoch, to `epochs`. */
static Progress progress_of(const RtRun *run, int64_t n, int epochs)
{
    double left = (double)n * (epochs - run->epoch) - (double)run->pos;
    return (Progress){now(), 0, left > 0 ? left : 0, epochs, (double)n * run->epoch + (double)run->pos};
}

/* ---- the tiered JIT's switch, between batches ---- */

typedef struct Swap {
    bool asking;                 /* opt->swap_code is still to be asked */
    int64_t every, count;        /* read the clock every `every` batches (adapted), `count` since */
    double last;                 /* when swap_code was last asked */
    int64_t batches;             /* of the run, in this process */
    bool swapped;                /* it took over in this epoch: */
    int64_t seen_before;         /* after this many of its samples, */
    double when;                 /* at this time */
} Swap;

/* Asks `swap_code` (RtTrainOptions') about every 20 ms after a batch (the
 * clock read every `every` batches, so that batches of microseconds do not
 * pay for it), or exactly after `at` batches (tests); with `now_too` (an
 * epoch's evaluation is about to run), now if 20 ms have passed.  True
 * when the optimized code took over. */
static bool maybe_swap(Swap *sw, int (*swap_code)(bool wait, void *user), int64_t at, void *user,
                       int64_t seen_here, bool now_too)
{
    int r;
    if (now_too) {
        double t = now();
        if (at || t - sw->last < 0.02)
            return false;
        sw->last = t;
        r = swap_code(false, user);
    } else if (sw->batches++, at) {
        if (sw->batches != at)
            return false;
        r = swap_code(true, user);
    } else {
        if (++sw->count < sw->every)
            return false;
        sw->count = 0;
        double t = now(), gap = t - sw->last;
        if (gap < 0.001 && sw->every < 4096)
            sw->every *= 2;
        else if (gap > 0.04 && sw->every > 1)
            sw->every /= 2;
        if (gap < 0.02)
            return false;
        sw->last = t;
        r = swap_code(false, user);
    }
    if (r != 0)
        sw->asking = false;
    if (r == 1 && !now_too) {
        sw->swapped = true;
        sw->seen_before = seen_here;
        sw->when = now();
    }
    return r == 1;
}

/* The line that says the optimized code took over, with the speeds before
 * and after, at the end of its epoch; or, when it took over after the last
 * batch of epoch `between` (0: not so), the speed before. */
static void say_swap(FILE *out, bool progress, const Swap *sw, double t0, double t_end, int64_t seen_here,
                     int between)
{
    double before = (between ? t_end : sw->when) - t0, after = t_end - sw->when;
    if (between) {
        fprintf(out, "%soptimized code (cc) took over at the end of epoch %d (%.0f samples/s before); the "
                "evaluation and the epochs after run on it\n", progress ? "\r\033[K" : "", between,
                before > 0 ? (double)seen_here / before : 0);
        return;
    }
    fprintf(out, "%soptimized code (cc) took over after %lld samples of the epoch, %.2f s in: %.0f samples/s "
            "before, %.0f after\n", progress ? "\r\033[K" : "", (long long)sw->seen_before, before,
            before > 0 ? (double)sw->seen_before / before : 0,
            after > 0 ? (double)(seen_here - sw->seen_before) / after : 0);
}

/* After an epoch's last batch: the line of a switch in it, and one more
 * chance to switch before the evaluation (the line of that one too). */
static void epoch_swap(Swap *sw, int (*swap_code)(bool wait, void *user), int64_t at, void *user, FILE *out,
                       bool progress, int epoch, double t0, double t_end, int64_t seen_here)
{
    if (sw->swapped && out)
        say_swap(out, progress, sw, t0, t_end, seen_here, 0);
    sw->swapped = false;
    if (sw->asking && maybe_swap(sw, swap_code, at, user, seen_here, true) && out)
        say_swap(out, progress, sw, t0, t_end, seen_here, epoch);
}

/* The k rows idx[0..k) of x, `width` floats each, copied one after the
 * other into dst.  The rows lie anywhere in a data set bigger than the
 * caches, and copied one after the other, each waited on the memory for its
 * first line before the core's prefetchers took up the rest: so every row's
 * first and last lines (a row of 784 floats spans one or two pages) are
 * asked for at once first, and their waits overlap (bench/README.md: on a
 * Zen 5, family 26 model 2, the gather 16.1-16.9 -> 8.9-9.4 us and the MLP
 * 784-128-10's batch-32 step with it 0.929-0.960 of before, alternating in
 * one process).  nnc train's batches and the GAN's real images both come
 * through here. */
static void copy_rows(float *dst, const float *x, int64_t width, const int64_t *idx, int k)
{
#if defined(__GNUC__)
    for (int s = 0; s < k; s++) {
        const char *row = (const char *)(x + idx[s] * width);
        __builtin_prefetch(row);
        __builtin_prefetch(row + width * (int64_t)sizeof *x - 1);
    }
#endif
    for (int s = 0; s < k; s++)
        memcpy(dst + s * width, x + idx[s] * width, (size_t)width * sizeof *dst);
}

/* Asks for every line of a row of `width` floats, to be in the cache when a
 * step reads it: a batch-1 step reads its row in place, and asked for one
 * step ahead (about 15 us for the MLP 784-128-10), the row no longer waits on
 * the memory in the step's first layer (`nnc train bench/mlp_b1.nn --limit
 * 20000 --epochs 2`, the second epoch: 61,700 -> 63,900 samples/s, medians
 * of 10 alternating runs, 9 of the 10 pairs faster; Zen 5 family 26 model
 * 2). */
static void prefetch_row(const float *row, int64_t width)
{
#if defined(__GNUC__)
    uintptr_t line = (uintptr_t)row & ~(uintptr_t)63, end = (uintptr_t)(row + width);
    for (; line < end; line += 64)
        __builtin_prefetch((const void *)line);
#else
    (void)row, (void)width;
#endif
}

/* The k rows idx[0..k) of train, inputs into xb and targets into tb, one
 * after the other (a batch as the emitted step takes it). */
static void gather(const RtNet *net, const RtData *train, const int64_t *idx, int k, float *xb, float *tb)
{
    int64_t no = net->n_outputs;
    copy_rows(xb, train->x, net->n_inputs, idx, k);
    for (int s = 0; s < k; s++)
        targets_of(train, idx[s], no, tb + s * no);
}

/* ---- data-parallel steps (RtTrainOptions' par) ---- */

/* One step of the batch of k rows idx[0..k) split across par's ranks:
 * this rank's share's part of the batch's mean gradient
 * (net->backward_share), summed over the ranks with the loss and the stop
 * flags; then every rank takes the same optimizer step.  Returns the
 * batch's mean loss (NaN when MPI failed); *stop: some rank was asked to
 * stop (so that all stop after the same batch). */
static float par_step(RtNet *net, const RtData *train, const int64_t *idx, int k, float *xb, float *tb,
                      const RtPar *par, bool stop_here, bool *stop)
{
    int r = rt_par_rank(par), size = rt_par_size(par);
    int lo = (int)((int64_t)k * r / size), hi = (int)((int64_t)k * (r + 1) / size);
    int64_t np = net->n_params;
    gather(net, train, idx + lo, hi - lo, xb, tb);
    float *g = net->grads(net->state);
    double sums[2] = {0, stop_here};
    if (hi > lo)
        sums[0] = net->backward_share(net->state, xb, tb, hi - lo, k);
    else
        memset(g, 0, (size_t)np * sizeof *g);   /* (a last batch of fewer rows than ranks) */
    if (!rt_par_sum_floats(par, g, np) || !rt_par_sum_doubles(par, sums, 2)) {
        *stop = true;
        return NAN;
    }
    *stop = sums[1] > 0;
    net->update(net->state);
    return (float)sums[0];
}

/* Whether opt->stop is set, on any rank when there are several. */
static bool stop_asked(const RtTrainOptions *opt)
{
    double f = opt->stop && *opt->stop;
    if (rt_par_size(opt->par) > 1 && !rt_par_sum_doubles(opt->par, &f, 1))
        return true;
    return f > 0;
}

/* ---- subnormal numbers while training ---- */

/* Training runs with subnormal numbers flushed to zero (x86's MXCSR: FTZ,
 * results; DAZ, inputs), the setting restored after; NNC_KEEP_SUBNORMALS=1
 * in the environment keeps them.  A weight whose input is almost always 0
 * (the border pixels of Fashion-MNIST's images) or whose unit stays off
 * gets no gradient for long stretches, so its momentum decays by 0.9 a step
 * into the subnormal range and stops at a few times the smallest subnormal
 * (0.9 of it rounds back up); arithmetic on subnormals is slow on the x86
 * cores measured (bench/README.md, "Subnormal numbers flushed while
 * training": the MLP 784-128-10 at batch 1 about a quarter faster on a
 * Zen 5).  A subnormal step is below half an ulp of any weight it could
 * move, so the weights came out the same bits (tests/jit/subnormals.sh);
 * what differs is the optimizer's state: those momenta and moments are 0
 * instead of subnormal.  The emitted C sets nothing: a program that embeds
 * it chooses for itself. */
typedef struct FpMode {
    unsigned csr;
    bool set;
} FpMode;

static FpMode flush_subnormals(void)
{
    FpMode m = {0, false};
#if HAVE_MXCSR
    const char *keep = getenv("NNC_KEEP_SUBNORMALS");
    if (keep && *keep && strcmp(keep, "0") != 0)
        return m;
    m.csr = _mm_getcsr();
    m.set = true;
    _mm_setcsr(m.csr | 0x8040u);   /* FTZ (bit 15) and DAZ (bit 6) */
#endif
    return m;
}

static void restore_subnormals(FpMode m)
{
#if HAVE_MXCSR
    if (m.set)
        _mm_setcsr(m.csr);
#else
    (void)m;
#endif
}

/* A CRC of the parameters' bits: the ranks compare theirs every epoch. */
static uint64_t params_hash(const RtNet *net)
{
    return rt_crc32(0, net->params(net->state), (size_t)net->n_params * sizeof(float));
}

static bool train_loop(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt, RtEpoch *last)
{
    const RtPar *par = rt_par_size(opt->par) > 1 ? opt->par : NULL;
    int64_t n = train->n, ni = net->n_inputs, no = net->n_outputs, bs = net->batch;
    RtRun local = {0}, *run = opt->run ? opt->run : &local;
    float *xb = malloc((size_t)(bs * ni) * sizeof *xb);
    float *tb = malloc((size_t)(bs * no) * sizeof *tb);
    RtEpoch ep = {0};
    bool ok = xb && tb && (run->order || run_start(run, n, opt->shuffle_seed));
    if (!ok && opt->out)
        fprintf(opt->out, "nnc: error: out of memory for the training batches\n");
    int64_t *idx = run->order;
    int first = run->epoch + 1;
    Progress pg = progress_of(run, n, opt->epochs);
    Swap sw = {.asking = opt->swap_code != NULL, .every = 1, .last = now()};
    for (int epoch = first; ok && epoch <= opt->epochs; epoch++) {
        double t0 = now();
        int64_t seen_here = 0;   /* samples trained in this process: for the speed */
        epoch_begin(run);
        if (net->has_schedule)
            net->schedule(net->state, epoch - 1, opt->epochs);
        memset(&ep, 0, sizeof ep);
        ep.epoch = epoch;
        ep.lr = *net->lr(net->state);
        for (int64_t b = run->pos; b < n; b += bs) {
            int k = (int)(n - b < bs ? n - b : bs);
            float loss;
            bool stop_all = false;   /* (par: some rank is asked to stop) */
            if (par) {
                loss = par_step(net, train, idx + b, k, xb, tb, par, opt->stop && *opt->stop, &stop_all);
            } else if (k == 1 && train->t) {   /* one row is contiguous already: no copy */
                if (b + 1 < n)
                    prefetch_row(train->x + idx[b + 1] * ni, ni);
                loss = net->train_step(net->state, train->x + idx[b] * ni, train->t + idx[b] * no, 1);
            } else {
                gather(net, train, idx + b, k, xb, tb);
                loss = net->train_step(net->state, xb, tb, k);
            }
            if (!isfinite(loss)) {
                ep.diverged = true;
                say_diverged(opt->out, opt->progress, epoch, b / bs + 1, "", loss);
                ok = false;
                break;
            }
            run->sum[0] += loss;
            run->batches++;
            run->seen += k;
            run->pos = b + k;
            seen_here += k;
            if (sw.asking)
                maybe_swap(&sw, opt->swap_code, opt->swap_at, opt->user, seen_here, false);
            if (opt->progress && opt->out)
                progress_step(opt->out, &pg, epoch, b + k, n, run->sum[0] / (double)run->batches, ep.lr);
            if ((par ? stop_all : opt->stop && *opt->stop) && b + k < n) {
                ep.stopped = true;
                ok = false;
                break;
            }
        }
        double t_end = now(), secs = t_end - t0;
        epoch_swap(&sw, opt->swap_code, opt->swap_at, opt->user, opt->out, opt->progress, epoch, t0, t_end,
                   seen_here);
        ep.loss = run->batches ? run->sum[0] / (double)run->batches : 0;
        ep.samples_per_sec = secs > 0 ? (double)seen_here / secs : 0;
        if (ep.diverged)
            break;
        bool whole = !ep.stopped;
        if (whole) {   /* the epoch is complete */
            run->epoch = epoch;
            run->pos = 0;
            if (stop_asked(opt) && epoch < opt->epochs)
                ep.stopped = true;   /* stopped in its last batch (or since): at the boundary */
        }
        int differ;
        uint64_t h = par ? params_hash(net) : 0;
        if (par && !rt_par_same(par, &h, 1, &differ)) {   /* never, unless MPI or the code is wrong */
            ep.ranks_differ = true;
            if (opt->out)
                fprintf(opt->out, "%snnc: error: after epoch %d the ranks' parameters differ (their hashes do); "
                        "stopping\n", opt->progress ? "\r\033[K" : "", epoch);
            ok = false;
            break;
        }
        bool report = opt->report_every <= 1 || epoch % opt->report_every == 0 || epoch == opt->epochs ||
                      ep.stopped || epoch == first;
        bool judge = opt->track_best && test && test->n && whole;
        if (judge) {
            ep.test = rt_evaluate_par(net, test, opt->loss, NULL, par);
            ep.patience_out = track_best(run, epoch, ep.test.accuracy >= 0 ? ep.test.accuracy : -ep.test.loss,
                                         opt->patience, &ep.best);
            if (ep.best && opt->on_best)
                opt->on_best(&ep, opt->user);
        }
        if (report || ep.patience_out) {
            /* A stop asked for (Ctrl-C, SIGTERM) means now: no pass over the
             * data sets, which takes seconds on big ones (all ranks alike:
             * they stop after the same batch). */
            if (ep.stopped) {
                ep.train = ep.test = (RtEval){NAN, -1, 0};
            } else {
                ep.train = rt_evaluate_par(net, train, opt->loss, NULL, par);
                if (test && test->n && !judge)
                    ep.test = rt_evaluate_par(net, test, opt->loss, NULL, par);
                if (opt->on_epoch)
                    opt->on_epoch(&ep, opt->user);
            }
            if (opt->out) {
                fprintf(opt->out, "%sepoch %d/%d  batch loss %.6f", opt->progress ? "\r\033[K" : "", epoch,
                        opt->epochs, ep.loss);
                if (!ep.stopped) {   /* (not evaluated) */
                    print_eval(opt->out, "train", ep.train, false);
                    if (test && test->n)
                        print_eval(opt->out, opt->test_name ? opt->test_name : "test", ep.test, opt->test_loss);
                }
                if (net->has_schedule)
                    fprintf(opt->out, "  lr %.3g", ep.lr);
                fprintf(opt->out, "  %.0f samples/s%s%s\n", ep.samples_per_sec, ep.stopped ? "  (stopped)" : "",
                        ep.best && opt->on_best ? "  (best)" : "");
                fflush(opt->out);
            }
        } else if (opt->progress && opt->out) {
            fprintf(opt->out, "\r\033[K");
        }
        if (opt->on_state)
            opt->on_state(run, &ep, opt->user);
        if (ep.stopped) {
            ok = false;
            break;
        }
        if (ep.patience_out)
            break;
    }
    if (ok && first > opt->epochs) {   /* nothing left to train: the figures of the run as it is */
        ep.epoch = run->epoch;
        ep.lr = *net->lr(net->state);
        ep.train = rt_evaluate_par(net, train, opt->loss, NULL, par);
        if (test && test->n)
            ep.test = rt_evaluate_par(net, test, opt->loss, NULL, par);
    }
    free(xb);
    free(tb);
    if (run == &local)
        rt_run_free(&local);
    if (last)
        *last = ep;
    return ok;
}

bool rt_train(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt, RtEpoch *last)
{
    FpMode m = flush_subnormals();
    bool ok = train_loop(net, train, test, opt, last);
    restore_subnormals(m);
    return ok;
}

/* ---- gan blocks ---- */

void rt_gan_noise(const RtGan *gan, RtRng *rng, float *z, int64_t n)
{
    for (int64_t i = 0; i < n * gan->n_noise; i++) {
        if (gan->noise_normal) {   /* Box-Muller, as the emitted NAME_step draws it */
            double u1 = ((double)(rt_rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
            double u2 = (double)(rt_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
            z[i] = (float)(gan->noise_a + gan->noise_b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
        } else {
            double u = (double)(rt_rng_next(rng) >> 40) * (1.0 / 16777216.0);
            z[i] = (float)(gan->noise_a + (gan->noise_b - gan->noise_a) * u);
        }
    }
}

static bool train_gan_loop(RtGan *gan, const RtData *real, const RtGanOptions *opt, RtGanEpoch *last)
{
    int64_t n = real->n, ns = gan->n_sample, bs = gan->batch;
    RtRun local = {0}, *run = opt->run ? opt->run : &local;
    float *xb = malloc((size_t)(bs * ns) * sizeof *xb);
    RtGanEpoch ep = {0};
    bool ok = xb && (run->order || run_start(run, n, opt->shuffle_seed));
    if (!ok)
        fprintf(stderr, "nnc: error: out of memory for the batches\n");
    ok = ok && n > 0;
    int first = run->epoch + 1;
    Progress pg = progress_of(run, n, opt->epochs);
    Swap sw = {.asking = opt->swap_code != NULL, .every = 1, .last = now()};
    for (int epoch = first; ok && epoch <= opt->epochs; epoch++) {
        double t0 = now();
        int64_t seen_here = 0;
        epoch_begin(run);
        if (gan->has_schedule)
            gan->schedule(gan->state, epoch - 1, opt->epochs);
        memset(&ep, 0, sizeof ep);
        ep.epoch = epoch;
        ep.score = NAN;
        ep.lr[0] = *gan->lr(gan->state, 0);
        ep.lr[1] = *gan->lr(gan->state, 1);
        for (int64_t b = run->pos; b < n; b += bs) {
            int k = (int)(n - b < bs ? n - b : bs);
            copy_rows(xb, real->x, ns, run->order + b, k);
            float losses[2];
            gan->step(gan->state, xb, k, losses);
            if (!isfinite(losses[0]) || !isfinite(losses[1])) {
                ep.diverged = true;
                bool d = !isfinite(losses[0]);
                say_diverged(opt->out, opt->progress, epoch, b / bs + 1, d ? "discriminator's " : "generator's ",
                             losses[d ? 0 : 1]);
                ok = false;
                break;
            }
            run->sum[0] += losses[0];
            run->sum[1] += losses[1];
            run->batches++;
            run->seen += k;
            run->pos = b + k;
            seen_here += k;
            if (sw.asking)
                maybe_swap(&sw, opt->swap_code, opt->swap_at, opt->user, seen_here, false);
            if (opt->progress && opt->out)
                progress_step(opt->out, &pg, epoch, b + k, n, run->sum[1] / (double)run->batches, 0);
            if (opt->stop && *opt->stop && b + k < n) {
                ep.stopped = true;
                ok = false;
                break;
            }
        }
        double t_end = now(), secs = t_end - t0;
        epoch_swap(&sw, opt->swap_code, opt->swap_at, opt->user, opt->out, opt->progress, epoch, t0, t_end,
                   seen_here);
        ep.d_loss = run->batches ? run->sum[0] / (double)run->batches : 0;
        ep.g_loss = run->batches ? run->sum[1] / (double)run->batches : 0;
        ep.samples_per_sec = secs > 0 ? (double)seen_here / secs : 0;
        if (ep.diverged)
            break;
        bool whole = !ep.stopped;
        if (whole) {
            run->epoch = epoch;
            run->pos = 0;
            if (opt->stop && *opt->stop && epoch < opt->epochs)
                ep.stopped = true;   /* at the boundary, as rt_train */
        }
        if (opt->track_best && whole) {
            ep.score = opt->score(opt->user);
            ep.patience_out = track_best(run, epoch, ep.score, opt->patience, &ep.best);
            if (ep.best && opt->on_best)
                opt->on_best(&ep, opt->user);
        }
        if (opt->on_epoch)
            opt->on_epoch(&ep, opt->user);
        if (opt->out) {
            fprintf(opt->out, "%sepoch %d/%d  discriminator loss %.4f  generator loss %.4f",
                    opt->progress ? "\r\033[K" : "", epoch, opt->epochs, ep.d_loss, ep.g_loss);
            if (!isnan(ep.score))
                fprintf(opt->out, "  score %.3f", ep.score);
            if (gan->has_schedule)
                fprintf(opt->out, "  lr %.3g/%.3g", ep.lr[0], ep.lr[1]);
            fprintf(opt->out, "  %.0f samples/s%s%s\n", ep.samples_per_sec, ep.stopped ? "  (stopped)" : "",
                    ep.best && opt->on_best ? "  (best)" : "");
            fflush(opt->out);
        }
        if (opt->on_state)
            opt->on_state(run, &ep, opt->user);
        if (ep.stopped) {
            ok = false;
            break;
        }
        if (ep.patience_out)
            break;
    }
    if (ok && first > opt->epochs)   /* nothing left to train */
        ep.epoch = run->epoch;
    free(xb);
    if (run == &local)
        rt_run_free(&local);
    if (last)
        *last = ep;
    return ok;
}

bool rt_train_gan(RtGan *gan, const RtData *real, const RtGanOptions *opt, RtGanEpoch *last)
{
    FpMode m = flush_subnormals();
    bool ok = train_gan_loop(gan, real, opt, last);
    restore_subnormals(m);
    return ok;
}

double rt_inception_score(const float *p, int64_t n, int64_t k, int64_t *counts)
{
    double *py = calloc((size_t)k, sizeof *py);
    if (!py || n <= 0) {
        free(py);
        return NAN;
    }
    for (int64_t s = 0; s < n; s++) {
        int64_t best = 0;
        for (int64_t c = 0; c < k; c++) {
            py[c] += p[s * k + c];
            best = p[s * k + c] > p[s * k + best] ? c : best;
        }
        if (counts)
            counts[best]++;
    }
    for (int64_t c = 0; c < k; c++)
        py[c] /= (double)n;
    double kl = 0;
    for (int64_t s = 0; s < n; s++)
        for (int64_t c = 0; c < k; c++) {
            double q = p[s * k + c];
            if (q > 0 && py[c] > 0)
                kl += q * (log(q) - log(py[c]));
        }
    free(py);
    return exp(kl / (double)n);
}
