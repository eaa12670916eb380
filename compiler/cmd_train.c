/* cmd_train.c — `nnc train NET.nn --data TRAIN ...`: compile the network
 * with the JIT, load the data, train, report, save the weights.
 *
 * Exit status: 0 trained; 1 an error in the network, the data or a file, or
 * training diverged; 2 a usage error; 130 stopped by Ctrl-C, 143 by SIGTERM
 * (weights saved when --save was given, the checkpoint when --checkpoint
 * was).  Every output path is checked before any work. */
#define _POSIX_C_SOURCE 200809L
#include "nnc.h"
#include "nnc_rt.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char train_usage[] =
    "usage: nnc train NET.nn --data TRAIN [options]\n"
    "\n"
    "Compiles NET.nn in memory and trains it on TRAIN.  A file with a gan block\n"
    "trains the gan (its generator and discriminator against each other) on the\n"
    "real images of TRAIN.\n"
    "\n"
    "TRAIN and TEST are CSV files, or IDX image files (MNIST's format, gzip or\n"
    "not) whose labels file is found beside them by MNIST's naming.  Each file\n"
    "is read once, so it may be a pipe (--data /dev/stdin) or a FIFO.\n"
    "\n"
    "options:\n"
    "  --data FILE        training data (this, or --text)\n"
    "  --text FILE        a text file for a language model: windows of the input's\n"
    "                     steps, each byte an id, the next byte the target; the last\n"
    "                     10% is held out for validation (reported as the test set)\n"
    "  --labels FILE      the labels of an IDX --data file, if not found by name\n"
    "  --test FILE        test data, evaluated after each epoch\n"
    "  --test-labels FILE the labels of an IDX --test file\n"
    "  --epochs N         epochs to train (default: the file's `epochs`, else 10)\n"
    "  --every N          print every Nth epoch (default: about 20 lines in all)\n"
    "  --limit N          use only the first N samples of the training and test data\n"
    "  --seed N           seed for the weights and the shuffling (default: the file's)\n"
    "  --lr F             learning rate (default: the file's)\n"
    "  --load W.nnw       start from these weights\n"
    "  --save W.nnw       save the weights after training (atomically)\n"
    "  --checkpoint F.nnck  write the whole training state (weights, optimizer, position,\n"
    "                     random states) after every epoch and when stopped by Ctrl-C or\n"
    "                     SIGTERM (after the batch in flight)\n"
    "  --checkpoint-every N  only every Nth epoch (and when stopped)\n"
    "  --resume F.nnck    continue a checkpoint's run to a total of --epochs: the same\n"
    "                     result, bit for bit, as a run never stopped\n"
    "  --save-best W.nnw  keep the weights of the epoch with the best test accuracy\n"
    "                     (lowest test loss for a regressor); needs --test (a gan: --judge)\n"
    "  --patience K       stop after K epochs without a better test figure; needs --test\n"
    "                     (a gan: --judge, its score)\n"
    "  --jit=tcc|cc|auto  libtcc in memory, or $CC (else cc) at the flags below, its\n"
    "                     builds cached (nnc cache); auto (default; NNC_JIT sets\n"
    "                     another): start on libtcc's build, run cc's from the batch\n"
    "                     after it is ready (name one backend for the same bits\n"
    "                     on every run)\n"
    "  --net NAME         which network of the file (when it has several)\n"
    "  --header yes|no|auto  whether a CSV file has a header row (default: auto,\n"
    "                     a first row with a non-numeric field is a header)\n"
    "  --label-col N      CSV column of the class label, 0-based (default: last)\n"
    "  --target input     train each sample to reproduce itself (an autoencoder;\n"
    "                     IDX images; the network needs as many outputs as inputs);\n"
    "                     --target labels, the default, trains to the data's labels\n"
    "  --confusion        print the confusion matrix of the last evaluation\n"
    "  --plot FILE.svg    draw the loss and accuracy per epoch (evaluates every epoch)\n"
    "  --pictures FILE.pgm  a classifier: misclassified test images (.png: as PNG); with --target\n"
    "                     input: originals (odd rows) above their reconstructions\n"
    "  --unroll N         unroll layers of at most N multiply-adds (default: 4096\n"
    "                     with tcc, 224 with cc; see docs/unrolling.md)\n";

/* (two strings: C99 promises 4095 characters to one) */
static const char train_usage_gan[] =
    "\n"
    "a gan block (--data: IDX images; --save W.nnw writes W.GEN.nnw and W.DISC.nnw,\n"
    "one per network, and --load reads them; --epochs 0 only loads, scores, saves):\n"
    "  --pictures FILE.pgm  64 generated images (.png: as PNG), rewritten after every epoch\n"
    "  --plot FILE.svg    both losses (and the speed) per epoch\n"
    "  --judge NET.nn     a classifier of the images, with --judge-weights W.nnw:\n"
    "                     after training, the inception-style score of 10,000\n"
    "                     generated images and each class's share of them; with\n"
    "                     --save-best or --patience, after every epoch too\n"
    "  --save-best W.nnw  W.GEN.nnw and W.DISC.nnw of the epoch with the best score\n"
    "  --test FILE        with --judge: real images to score the same way\n";

typedef struct TrainArgs {
    const char *net_path, *data, *labels, *test, *test_labels, *load, *save, *net_name, *plot, *pictures, *text;
    const char *judge, *judge_weights;   /* a gan block's quality score: the classifier and its weights */
    const char *checkpoint, *resume, *save_best;
    long long epochs, every, unroll, limit, checkpoint_every, patience;
    unsigned long long seed;
    bool has_seed, confusion, target_input;
    double lr;
    JitBackend backend;
    RtCsvOptions csv;
} TrainArgs;

static int usage(const char *fmt, const char *arg)
{
    fputs("nnc train: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'nnc train --help' for more information.\n", stderr);
    return 2;
}

/* The extension of a file name that is some picture format's, in lower
 * case ("svg", "png", ...); NULL for any other name (or NULL). */
static const char *image_extension(const char *path)
{
    static const char *const known[] = {"svg", "png", "pgm", "ppm", "pbm", "jpg", "jpeg", "gif", "bmp", "tif",
                                        "tiff", "webp", "pdf", "eps"};
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t n = strlen(known[i]), k = 0;
        while (k < n && dot[1 + k] && (dot[1 + k] | 0x20) == known[i][k])
            k++;
        if (k == n && !dot[1 + n])
            return known[i];
    }
    return NULL;
}

/* Returns -1 to go on, or the exit status. */
static int parse_train_args(int argc, char **argv, TrainArgs *a)
{
    a->unroll = -1;   /* the backend's default */
    a->epochs = -1;   /* the file's */
    a->csv.label_col = -1;
    bool jit_given = false;
    for (int i = 1; i < argc; i++) {
        /* "--opt VALUE" and "--opt=VALUE" are the same */
        char opt[64];
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *eq = strncmp(o, "--", 2) == 0 ? strchr(o, '=') : NULL;
        bool inline_value = eq && (size_t)(eq - o) < sizeof opt;
        if (inline_value) {
            memcpy(opt, o, (size_t)(eq - o));
            opt[eq - o] = '\0';
            o = opt;
            v = eq + 1;
        }
#define TAKES_VALUE(name)                                           \
    if (strcmp(o, name) == 0) {                                     \
        if (!v)                                                     \
            return usage("option '%s' needs a value", name);       \
        i += !inline_value;
#define END_VALUE }
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            fputs(train_usage, stdout);
            fputs(train_usage_gan, stdout);
            printf("\nThe cc backend's flags: %s\n", jit_cc_flags());
            return 0;
        } else TAKES_VALUE("--jit")
            if (!parse_jit_backend(v, &a->backend))
                return usage("unknown JIT backend '%s'; expected auto, tcc or cc", v);
            jit_given = true;
        END_VALUE
        else if (strcmp(o, "--confusion") == 0 && !inline_value) {
            a->confusion = true;
        } else TAKES_VALUE("--data") a->data = v; END_VALUE
        else TAKES_VALUE("--text") a->text = v; END_VALUE
        else TAKES_VALUE("--labels") a->labels = v; END_VALUE
        else TAKES_VALUE("--test") a->test = v; END_VALUE
        else TAKES_VALUE("--test-labels") a->test_labels = v; END_VALUE
        else TAKES_VALUE("--load") a->load = v; END_VALUE
        else TAKES_VALUE("--save") a->save = v; END_VALUE
        else TAKES_VALUE("--checkpoint") a->checkpoint = v; END_VALUE
        else TAKES_VALUE("--resume") a->resume = v; END_VALUE
        else TAKES_VALUE("--save-best") a->save_best = v; END_VALUE
        else TAKES_VALUE("--checkpoint-every")
            if (!parse_whole(v, 1, NNC_MAX_EPOCHS, &a->checkpoint_every))
                return usage("--checkpoint-every needs a whole number of epochs from 1, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--patience")
            if (!parse_whole(v, 1, NNC_MAX_EPOCHS, &a->patience))
                return usage("--patience needs a whole number of epochs from 1, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--plot") a->plot = v; END_VALUE
        else TAKES_VALUE("--pictures") a->pictures = v; END_VALUE
        else TAKES_VALUE("--net") a->net_name = v; END_VALUE
        else TAKES_VALUE("--judge") a->judge = v; END_VALUE
        else TAKES_VALUE("--judge-weights") a->judge_weights = v; END_VALUE
        else TAKES_VALUE("--epochs")
            if (!parse_whole(v, 0, NNC_MAX_EPOCHS, &a->epochs))
                return usage("--epochs needs a whole number from 1 to 10000000 (0 for a gan block: score or save "
                             "only), not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--every")
            if (!parse_whole(v, 1, NNC_MAX_EPOCHS, &a->every))
                return usage("--every needs a whole number from 1, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--target")
            if (strcmp(v, "input") == 0)
                a->target_input = true;
            else if (strcmp(v, "labels") == 0)
                a->target_input = false;
            else
                return usage("--target takes input or labels, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--limit")
            if (!parse_whole(v, 1, INT64_MAX, &a->limit))
                return usage("--limit needs a whole number from 1, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--unroll")
            if (!parse_whole(v, 0, 1000000, &a->unroll))
                return usage("--unroll needs a whole number from 0 to 1000000, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--label-col")
            long long col;
            if (!parse_whole(v, 0, 1000000, &col))
                return usage("--label-col needs a column number from 0, not '%s'", v);
            a->csv.label_col = (int)col;
        END_VALUE
        else TAKES_VALUE("--header")
            if (strcmp(v, "yes") == 0)
                a->csv.header = RT_HEADER_YES;
            else if (strcmp(v, "no") == 0)
                a->csv.header = RT_HEADER_NO;
            else if (strcmp(v, "auto") == 0)
                a->csv.header = RT_HEADER_AUTO;
            else
                return usage("--header takes yes, no or auto, not '%s'", v);
        END_VALUE
        else TAKES_VALUE("--seed")
            uint64_t seed;
            if (!parse_seed(v, &seed))
                return usage("--seed needs a whole number from 0 to 18446744073709551615, not '%s'", v);
            a->seed = seed;
            a->has_seed = true;
        END_VALUE
        else TAKES_VALUE("--lr")
            char *end;
            a->lr = strtod(v, &end);
            if (!*v || *end || !(a->lr > 0) || a->lr > 1e6)
                return usage("--lr needs a number > 0 and at most 1e6, not '%s'", v);
        END_VALUE
        else if (o[0] == '-' && o[1])
            return usage("unknown option '%s'", o);
        else if (a->net_path)
            return usage("only one network file may be given; '%s' is a second one", o);
        else
            a->net_path = o;
#undef TAKES_VALUE
#undef END_VALUE
    }
    if (!jit_given) {
        Diag d;
        diag_init(&d, stderr);
        if (!pipeline_default_backend(&a->backend, &d))
            return 2;
    }
    if (!a->net_path)
        return usage("no network file%s", "");
    if (!a->data && !a->text)
        return usage("no training data: give --data FILE (or, for a language model, --text FILE)%s", "");
    if (a->resume && a->load)
        return usage("--resume continues a checkpoint's run and --load starts a new one from weights: give one "
                     "of them%s", "");
    if (a->resume && (a->has_seed || a->lr > 0))
        return usage("--resume continues the run with the seed and learning rate it had: it goes without %s",
                     a->has_seed ? "--seed" : "--lr");
    if (a->checkpoint_every && !a->checkpoint)
        return usage("--checkpoint-every needs --checkpoint FILE%s", "");
    if (a->text && (a->data || a->test || a->labels || a->test_labels || a->target_input))
        return usage("--text is the whole data set (the last 10%% held out): it goes without --data, --test, "
                     "--labels, --test-labels and --target input%s", "");
    const char *ext = image_extension(a->plot);
    if (ext && strcmp(ext, "svg") != 0)
        return usage("--plot draws an SVG chart; '%s' would hold SVG under another picture format's name: name "
                     "it FILE.svg", a->plot);
    ext = image_extension(a->pictures);
    if (ext && strcmp(ext, "pgm") != 0 && strcmp(ext, "png") != 0)
        return usage("--pictures writes PGM, or PNG for a name ending in .png; '%s' would hold PGM under another "
                     "picture format's name", a->pictures);
    return -1;
}

static bool load_data(const char *path, const char *labels, const TrainArgs *a, const RtNet *net, bool classify,
                      RtData *d, Diag *diag)
{
    RtError err;
    bool ok;
    if (a->target_input) {
        if (net->n_outputs != net->n_inputs) {
            diag_plain(diag, DIAG_ERROR, "--target input needs a network with as many outputs as inputs; this one "
                       "has %lld inputs and %lld outputs", (long long)net->n_inputs, (long long)net->n_outputs);
            return false;
        }
        /* Opened once: what it is, then the images, from the same stream (it may be a pipe). */
        RtDataFile *f = rt_data_open(path, &err);
        if (f && !rt_data_is_idx(f)) {
            diag_plain(diag, DIAG_ERROR, "%s: --target input reads IDX image files; for CSV data give the targets "
                       "as columns", path);
            rt_data_close(f);
            return false;
        }
        ok = f && rt_data_read_idx(f, NULL, net->n_inputs, net->n_outputs, d, &err) && rt_data_target_input(d, &err);
        rt_data_close(f);
        if (!ok)
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        return ok;
    }
    RtCsvOptions csv = a->csv;
    csv.steps = net->out_steps;   /* a sequence output: a class per step */
    ok = rt_load_data(path, labels, &csv, net->n_inputs, net->n_outputs, classify, "give them with --labels", d, &err);
    if (!ok)
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
    return ok;
}

/* Two of --data, --labels, --test and --test-labels naming the same pipe
 * (/dev/stdin twice): a pipe is read once, so the second would get only what
 * the first left.  A message for usage(), or NULL. */
static const char *same_stream(const TrainArgs *a, char *msg, size_t size)
{
    const char *const opt[4] = {"--data", "--labels", "--test", "--test-labels"};
    const char *const path[4] = {a->data, a->labels, a->test, a->test_labels};
    struct stat st[4];
    bool stream[4];
    for (int i = 0; i < 4; i++)
        stream[i] = path[i] && stat(path[i], &st[i]) == 0 && !S_ISREG(st[i].st_mode) && !S_ISDIR(st[i].st_mode);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (stream[i] && stream[j] && st[i].st_dev == st[j].st_dev && st[i].st_ino == st[j].st_ino) {
                snprintf(msg, size, "%s %s and %s %s are the same pipe, which can be read only once; give one of "
                         "them as a file", opt[i], path[i], opt[j], path[j]);
                return msg;
            }
    return NULL;
}

/* --text: a language model's data, which the network must fit: ids in, the
 * next id out at every step. */
static bool load_text(const char *path, const Net *n, RtData *train, RtData *valid, Diag *diag)
{
    if (!language_model_check(n, "--text trains", true, diag))
        return false;
    RtError err;
    if (!rt_load_text(path, n->input.steps, n->layers[0].vocab, 0.1, train, valid, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        return false;
    }
    return true;
}

/* The epochs seen so far, for --plot. */
typedef struct History {
    RtEpoch *e;
    int n, cap;
} History;

static void record_epoch(const RtEpoch *e, void *user)
{
    History *h = user;
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        RtEpoch *bigger = realloc(h->e, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return;   /* the plot will miss epochs; training goes on */
        h->e = bigger;
        h->cap = cap;
    }
    h->e[h->n++] = *e;
}

/* What the training loop's callbacks need: the chart's epochs, the
 * checkpoint and the best epoch's weights. */
typedef struct RunCtx {
    History history;
    const TrainArgs *a;
    RtNet *net;                  /* (NULL for a gan) */
    RtCheckpointId id;
    void *state;                 /* what the checkpoint holds: the arrays `arrays` lists of `state` */
    RtStateFn arrays;
    bool failed;                 /* a checkpoint or the best weights could not be written (said) */
    bool checkpointed;           /* the last on_state wrote a checkpoint */
    JitTier *tier;               /* --jit=auto: the optimized build, while training runs on libtcc's */
    Diag *diag;
} RunCtx;

/* RtTrainOptions' swap_code for --jit=auto: the optimized build's code for
 * the same state once it is there. */
static int swap_to_optimized(bool wait, void *user)
{
    RunCtx *c = user;
    int r = jit_tier_poll(c->tier, c->net, wait, c->diag);
    if (r == 1)
        c->arrays = c->net->arrays;
    return r;
}

static void on_epoch_figures(const RtEpoch *e, void *user)
{
    RunCtx *c = user;
    if (c->a->plot)
        record_epoch(e, &c->history);
}

/* An error while training: after clearing the progress bar. */
static void say_error(RunCtx *c, const char *msg)
{
    fprintf(stderr, "%snnc: error: %s\n", isatty(STDOUT_FILENO) ? "\r\033[K" : "", msg);
    c->failed = true;
}

/* The MPI job nnc train runs in (started by mpirun), or NULL: alone. */
static RtPar *job;

/* Whether this process writes the run's files and lines: rank 0. */
static bool writes(void)
{
    return rt_par_rank(job) == 0;
}

/* After an epoch, or a stop (`ending`: by a signal or patience): the
 * checkpoint, when one is due (every --checkpoint-every epochs, and at the
 * end). */
static void checkpoint_due(RunCtx *c, const RtRun *run, bool ending)
{
    const TrainArgs *a = c->a;
    c->checkpointed = false;
    if (!writes() || !a->checkpoint || (!ending && a->checkpoint_every && run->epoch % a->checkpoint_every != 0))
        return;
    RtError err;
    if (!rt_save_checkpoint(a->checkpoint, &c->id, run, c->state, c->arrays, &err))
        say_error(c, err.msg);
    else
        c->checkpointed = true;
}

static void on_run_state(const RtRun *run, const RtEpoch *e, void *user)
{
    checkpoint_due(user, run, e->stopped || e->patience_out);
    /* NNC_PAR_TEST_SKEW (tests only): rank 1's first parameter 0.001 off
     * after epoch 1, which the ranks' check must catch (one float step
     * could vanish in a later step's rounding) */
    RunCtx *c = user;
    if (c->net && run->epoch == 1 && rt_par_rank(job) == 1 && getenv("NNC_PAR_TEST_SKEW"))
        c->net->params(c->net->state)[0] += 0.001f;
}

static void on_best_epoch(const RtEpoch *e, void *user)
{
    RunCtx *c = user;
    RtError err;
    (void)e;
    if (writes() && !rt_save_weights(c->a->save_best, c->net->fingerprint, c->net->params(c->net->state), c->net->n_params,
                         &err))
        say_error(c, err.msg);
}

/* Where a resumed run goes on from. */
static void say_resuming(const char *path, const RtRun *run)
{
    if (run->pos)
        printf("resuming from %s: epoch %d, after %lld of its %lld samples\n", path, run->epoch + 1,
               (long long)run->pos, (long long)run->n);
    else
        printf("resuming from %s: %d epoch%s done\n", path, run->epoch, run->epoch == 1 ? "" : "s");
}

/* The line a run ends with when it stopped: where its checkpoint is. */
static void say_checkpoint(const RunCtx *c, const RtRun *run)
{
    printf("checkpoint written to %s (epoch %d, %lld of %lld samples): continue with --resume %s\n", c->a->checkpoint,
           run->pos ? run->epoch + 1 : run->epoch, (long long)(run->pos ? run->pos : run->n), (long long)run->n,
           c->a->checkpoint);
}

/* A grid of pictures: misclassified images of a classifier (up to 40), or
 * for an autoencoder 16 images above their reconstructions. */
static bool write_pictures(const char *path, const RtNet *net, const Net *n, const RtData *d, bool autoencoder,
                           Diag *diag)
{
    if (!n->input.image) {
        diag_plain(diag, DIAG_ERROR, "--pictures needs an image input (CxHxW); this network's input is a vector");
        return false;
    }
    int h = (int)n->input.h, w = (int)n->input.w, cols = autoencoder ? 16 : 10;
    int64_t plane = (int64_t)h * w, want = autoencoder ? 32 : 40, got = 0;
    float *grid = calloc((size_t)(want * plane), sizeof *grid);
    float *y = malloc((size_t)net->n_outputs * sizeof *y);
    bool ok = grid && y;
    for (int64_t s = 0; ok && s < d->n && got < want; s++) {
        const float *x = d->x + s * net->n_inputs;
        net->forward(net->state, x, y);
        if (autoencoder) {
            memcpy(grid + got * plane, x, (size_t)plane * sizeof *grid);   /* first channel */
            memcpy(grid + (got + cols) * plane, y, (size_t)plane * sizeof *grid);
            got++;
            if (got % cols == 0)
                got += cols;   /* skip the row of reconstructions just filled */
            continue;
        }
        if (!d->label)
            break;
        int64_t best = 0;
        for (int64_t j = 1; j < net->n_outputs; j++)
            best = y[j] > y[best] ? j : best;
        if (net->n_outputs == 1)
            best = y[0] > 0.5f;
        if (best != d->label[s])
            memcpy(grid + got++ * plane, x, (size_t)plane * sizeof *grid);
    }
    RtError err;
    if (ok && got == 0) {
        printf("no misclassified images: %s not written\n", path);
    } else if (ok && !rt_write_pgm_grid(path, grid, (int)(autoencoder ? (got + cols - 1) / cols * cols : got), h, w,
                                        cols, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        ok = false;
    } else if (ok) {
        printf("wrote %s (%s)\n", path, autoencoder ? "originals above reconstructions" : "misclassified images");
    }
    free(grid);
    free(y);
    return ok;
}

static volatile int interrupted;   /* the signal that stopped training (SIGINT or SIGTERM), or 0 */

static void on_stop_signal(int sig)
{
    interrupted = sig;
}

/* Ctrl-C and SIGTERM stop training after the batch in flight. */
static void catch_stop_signals(struct sigaction old[2])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

static const char *signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : "Ctrl-C";
}

/* Whether two paths name the same file: for files that exist, the same
 * regular file (devices such as /dev/null may take several outputs); for
 * files still to be written, the same name in the same folder. */
static bool same_file(const char *x, const char *y)
{
    struct stat sx, sy;
    bool hx = stat(x, &sx) == 0, hy = stat(y, &sy) == 0;
    if (hx || hy)
        return hx && hy && S_ISREG(sx.st_mode) && S_ISREG(sy.st_mode) && sx.st_dev == sy.st_dev &&
               sx.st_ino == sy.st_ino;
    const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
    if (strcmp(bx ? bx + 1 : x, by ? by + 1 : y) != 0)
        return false;
    char dx[4096], dy[4096];
    if (!rt_path_folder(x, dx, sizeof dx) || !rt_path_folder(y, dy, sizeof dy))
        return strcmp(x, y) == 0;
    return stat(dx, &sx) == 0 && stat(dy, &sy) == 0 && sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

/* Every file the run will write, checked before any work: a typo in a path
 * must not cost a run.  No two outputs may be one file, and no output may be
 * one of the run's inputs (the network, its data), which the run would
 * replace: only weights may go back where they came from (--save or
 * --save-best over --load) and a checkpoint over the one resumed.  A gan's
 * --save names two files. */
static bool check_outputs(const TrainArgs *a, const char *gen, const char *disc, Diag *diag)
{
    enum { SAVE, PLOT, PICTURES, CHECKPOINT, SAVE_BEST, N_OUT };
    const char *const opt[N_OUT] = {"--save", "--plot", "--pictures", "--checkpoint", "--save-best"};
    const char *const path[N_OUT] = {a->save, a->plot, a->pictures, a->checkpoint, a->save_best};
    enum { IN_NET, IN_DATA, IN_LABELS, IN_TEST, IN_TEST_LABELS, IN_LOAD, IN_RESUME, IN_TEXT, IN_JUDGE,
           IN_JUDGE_WEIGHTS, N_IN };
    const char *const in_opt[N_IN] = {"the network file", "--data", "--labels", "--test", "--test-labels",
                                      "--load", "--resume", "--text", "--judge", "--judge-weights"};
    const char *const in_path[N_IN] = {a->net_path, a->data, a->labels, a->test, a->test_labels, a->load,
                                       a->resume, a->text, a->judge, a->judge_weights};
    char buf[N_OUT][2][4096];
    const char *p[N_OUT][2] = {{NULL}};
    for (int i = 0; i < N_OUT; i++) {
        if (!path[i])
            continue;
        p[i][0] = path[i];
        if (gen && (i == SAVE || i == SAVE_BEST)) {   /* a gan's --save and --save-best */
            if (!pipeline_gan_weights_path(buf[i][0], sizeof buf[i][0], path[i], gen, diag) ||
                !pipeline_gan_weights_path(buf[i][1], sizeof buf[i][1], path[i], disc, diag))
                return false;
            p[i][0] = buf[i][0], p[i][1] = buf[i][1];
        }
        for (int k = 0; k < 2 && p[i][k]; k++) {
            for (int j = 0; j < i; j++)
                for (int l = 0; l < 2 && p[j][l]; l++)
                    if (same_file(p[i][k], p[j][l])) {
                        diag_plain(diag, DIAG_ERROR, "%s and %s both write %s: nothing trained; give them "
                                   "different names", opt[j], opt[i], p[i][k]);
                        return false;
                    }
            for (int j = 0; j < N_IN; j++) {
                bool back = (j == IN_LOAD && (i == SAVE || i == SAVE_BEST)) || (j == IN_RESUME && i == CHECKPOINT);
                if (in_path[j] && !back && same_file(p[i][k], in_path[j])) {
                    diag_plain(diag, DIAG_ERROR, "%s %s: nothing trained: it is %s%s, which the run reads; "
                               "writing it would replace it", opt[i], p[i][k], j == IN_NET ? "" : "the file of ",
                               in_opt[j]);
                    return false;
                }
            }
            RtError err;
            if (!rt_check_writable(p[i][k], &err)) {
                diag_plain(diag, DIAG_ERROR, "%s %s: nothing trained: %s", opt[i], path[i], err.msg);
                return false;
            }
        }
    }
    return true;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void print_confusion(const int64_t *m, int64_t n)
{
    printf("confusion matrix (rows: true class, columns: predicted)\n      ");
    for (int64_t j = 0; j < n; j++)
        printf(" %6lld", (long long)j);
    printf("\n");
    for (int64_t i = 0; i < n; i++) {
        printf("%6lld", (long long)i);
        for (int64_t j = 0; j < n; j++)
            printf(" %6lld", (long long)m[i * n + j]);
        printf("\n");
    }
}

/* ---- gan blocks ---- */

/* ---- a gan's quality score ----
 *
 * A classifier of the samples (--judge NET.nn, its weights --judge-weights)
 * scores 10,000 generated images, and with --test as many real ones, as the
 * inception score does: exp(E_x KL(p(y|x) || p(y))); high when each image is
 * clearly one class and the classes are spread.  The share of generated
 * images per predicted class shows a collapsed generator at once. */

enum { JUDGE_IMAGES = 10000 };

typedef struct Judge {
    Arena *arena;
    Jit *jit;
    RtNet net;
    const Net *n;
    JitTier *tier;               /* --jit=auto: its optimized build, taken when ready */
    bool settled;                /* on the code it keeps (the build was taken, or failed) */
    Diag *diag;
} Judge;

static bool judge_open(Judge *j, const TrainArgs *a, const RtGan *gan, Diag *diag)
{
    j->arena = arena_new();
    Source *src = arena_alloc(j->arena, sizeof *src);
    Diag jd;
    diag_init(&jd, stderr);
    if (!source_load(src, a->judge, j->arena, &jd))
        return false;
    jd.src = src;
    Module *m = pipeline_module(src, j->arena, &jd);
    const Net *n = m ? pipeline_pick_net(m, NULL, "a file with one network", &jd) : NULL;
    if (!n)
        return false;
    if (n->layers[n->n_layers - 1].act != ACT_SOFTMAX || n->n_outputs < 2) {
        diag_plain(diag, DIAG_ERROR, "--judge needs a classifier (a softmax output over the classes); '%s' in %s is "
                   "not one", n->name, a->judge);
        return false;
    }
    if (n->n_inputs != gan->n_sample) {
        diag_plain(diag, DIAG_ERROR, "the judge '%s' takes %lld floats a sample, but gan '%s' makes %lld", n->name,
                   (long long)n->n_inputs, gan->name, (long long)gan->n_sample);
        return false;
    }
    JitStart js;
    if (!jit_start(m, n, NULL, a->backend, a->unroll, &j->net, NULL, &js, diag))
        return false;
    j->jit = js.jit;
    j->tier = js.tier;
    j->settled = !js.building;
    j->n = n;
    j->diag = diag;
    RtError err;
    if (!rt_load_weights(a->judge_weights, j->net.fingerprint, j->net.params(j->net.state), j->net.n_params, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        return false;
    }
    return true;
}

static void judge_close(Judge *j)
{
    if (j->jit)
        jit_free(j->jit, &j->net);
    jit_tier_free(j->tier);
    if (j->arena)
        arena_free(j->arena);
}

/* The score of n samples x (rows), and the count of each predicted class. */
static double judge_score(Judge *j, const float *x, int64_t n, int64_t *counts)
{
    int64_t k = j->net.n_outputs;
    float *p = malloc((size_t)(n * k) * sizeof *p);
    if (!p)
        return NAN;
    if (j->tier && !j->settled)   /* the optimized build, if it is there by now */
        j->settled = jit_tier_poll(j->tier, &j->net, false, j->diag) != 0;
    j->net.forward_batch(j->net.state, x, p, (int)n);
    double s = rt_inception_score(p, n, k, counts);
    free(p);
    return s;
}

/* The score of JUDGE_IMAGES generated images, from noise the run's seed
 * fixes (the same images after every epoch); counts: as judge_score's.  NaN
 * when memory runs out. */
static double judge_generated(Judge *j, const RtGan *gan, uint64_t seed, int64_t *counts)
{
    int64_t n = JUDGE_IMAGES;
    float *z = malloc((size_t)(n * gan->n_noise) * sizeof *z), *x = malloc((size_t)(n * gan->n_sample) * sizeof *x);
    double score = NAN;
    if (z && x) {
        RtRng rng;
        rt_rng_seed(&rng, seed ^ UINT64_C(0x9d6e));
        rt_gan_noise(gan, &rng, z, n);
        gan->generate(gan->state, z, x, (int)n);
        score = judge_score(j, x, n, counts);
    }
    free(z);
    free(x);
    return score;
}

static bool judge_report(Judge *j, const TrainArgs *a, const RtGan *gan, uint64_t seed, Diag *diag)
{
    int64_t n = JUDGE_IMAGES, k = j->net.n_outputs, ns = gan->n_sample;
    int64_t *counts = calloc((size_t)k, sizeof *counts);
    double fake = counts ? judge_generated(j, gan, seed, counts) : NAN, real = NAN;
    bool ok = !isnan(fake);
    if (!ok)
        diag_plain(diag, DIAG_ERROR, "the judge could not score %lld generated images (out of memory, or they are "
                   "not finite)", (long long)n);
    int64_t n_real = 0;
    if (ok && a->test) {
        RtData d = {0};
        if (!pipeline_load_images(a->test, ns, "the judge's real images", &d, diag)) {
            ok = false;
        } else {
            n_real = d.n < n ? d.n : n;
            real = judge_score(j, d.x, n_real, NULL);
        }
        rt_data_free(&d);
    }
    if (ok) {
        printf("quality, judged by %s (%s): %.3f for %lld generated images", j->n->name, a->judge, fake,
               (long long)n);
        if (a->test)
            printf(", %.3f for %lld real ones (%s)", real, (long long)n_real, a->test);
        printf("\n  (exp E_x KL(p(y|x) || p(y)), from 1 to %lld classes: higher is sharper and more varied)\n",
               (long long)k);
        int64_t most = 0;
        printf("generated images per class:");
        for (int64_t c = 0; c < k; c++) {
            printf(" %lld:%.1f%%", (long long)c, 100.0 * (double)counts[c] / (double)n);
            most = counts[c] > counts[most] ? c : most;
        }
        printf("\n  (the largest class holds %.1f%%)\n", 100.0 * (double)counts[most] / (double)n);
    }
    free(counts);
    return ok;
}

/* What a gan's epochs leave: the picture (--pictures), the figures for the
 * chart (--plot), the checkpoint, the best epoch's weights (--save-best). */
typedef struct GanRun {
    RunCtx c;                    /* the checkpoint's: c.state is this GanRun, c.arrays gan_run_arrays */
    RtGan *gan;
    Judge *judge;                /* NULL: no score */
    uint64_t seed;               /* the run's: the pictures' and the judge's noise (in the checkpoint) */
    int n_arrays;                /* the gan's own arrays (gan->arrays) */
    const char *pictures;        /* NULL: no pictures */
    const float *z;              /* fixed noise: the same 64 samples every epoch */
    float *out;
    int h, w, n;
    RtGanEpoch *epochs;          /* --plot: every epoch's figures */
    int n_epochs;
} GanRun;

/* The checkpoint's arrays of a gan run: the gan's, then the run's seed. */
static const char *gan_run_arrays(void *user, int i, void **p, int64_t *count, int *is_u64)
{
    GanRun *g = user;
    if (i < g->n_arrays)
        return g->gan->arrays(g->gan->state, i, p, count, is_u64);
    if (i > g->n_arrays)
        return NULL;
    *p = &g->seed, *count = 1, *is_u64 = 1;
    return "run.seed";
}

static void gan_pictures(const RtGanEpoch *e, void *user)
{
    GanRun *g = user;
    RtError err;
    if (g->epochs && e->epoch > 0)
        g->epochs[g->n_epochs++] = *e;
    if (!g->pictures || g->c.failed)
        return;
    g->gan->generate(g->gan->state, g->z, g->out, g->n);
    if (!rt_write_pgm_grid(g->pictures, g->out, g->n, g->h, g->w, 8, &err))
        say_error(&g->c, err.msg);
}

static double gan_score(void *user)
{
    GanRun *g = user;
    return judge_generated(g->judge, g->gan, g->seed, NULL);
}

/* RtGanOptions' swap_code for --jit=auto, as swap_to_optimized. */
static int gan_swap_to_optimized(bool wait, void *user)
{
    GanRun *g = user;
    return jit_tier_poll_gan(g->c.tier, g->gan, wait, g->c.diag);
}

static void on_gan_state(const RtRun *run, const RtGanEpoch *e, void *user)
{
    checkpoint_due(&((GanRun *)user)->c, run, e->stopped || e->patience_out);
}

/* Both networks' weights, into base's W.GEN.nnw and W.DISC.nnw. */
static bool save_gan_weights(const char *base, const RtGan *gan, bool say, Diag *diag)
{
    char gp[4096], dp[4096];
    RtError err;
    if (!pipeline_gan_weights_path(gp, sizeof gp, base, gan->gen_name, diag) ||
        !pipeline_gan_weights_path(dp, sizeof dp, base, gan->disc_name, diag))
        return false;
    if (!rt_save_weights(gp, gan->gen_fingerprint, gan->gen_params(gan->state), gan->gen_n_params, &err) ||
        !rt_save_weights(dp, gan->disc_fingerprint, gan->disc_params(gan->state), gan->disc_n_params, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        return false;
    }
    if (say)
        printf("saved the weights to %s and %s\n", gp, dp);
    return true;
}

static void on_gan_best(const RtGanEpoch *e, void *user)
{
    GanRun *g = user;
    Diag quiet;
    (void)e;
    diag_init(&quiet, stderr);
    if (!save_gan_weights(g->c.a->save_best, g->gan, false, &quiet))
        g->c.failed = true;
}

static int train_gan(const TrainArgs *a, const Module *m, const Gan *g, Diag *diag)
{
    const char *unsupported = a->text ? "--text" : a->target_input ? "--target" : a->confusion ? "--confusion" :
                              a->lr > 0 ? "--lr" : NULL;
    if (unsupported) {
        diag_plain(diag, DIAG_ERROR, "%s is not for a gan block (gan '%s' trains both networks at their own "
                   "optimizers' rates, from --data alone)", unsupported, g->name);
        return 2;
    }
    if (!a->data) {
        diag_plain(diag, DIAG_ERROR, "training gan '%s' needs real samples: --data FILE (IDX images)", g->name);
        return 2;
    }
    if (!a->judge != !a->judge_weights) {
        diag_plain(diag, DIAG_ERROR, "--judge NET.nn and --judge-weights W.nnw go together (a classifier and its "
                   "trained weights)");
        return 2;
    }
    if (a->test && !a->judge) {
        diag_plain(diag, DIAG_ERROR, "--test gives a gan block the real images its --judge scores; without --judge "
                   "it has no use");
        return 2;
    }
    if ((a->save_best || a->patience) && !a->judge) {
        diag_plain(diag, DIAG_ERROR, "%s keeps a gan's epoch with the best score of its --judge: give --judge NET.nn "
                   "--judge-weights W.nnw", a->patience ? "--patience" : "--save-best");
        return 2;
    }
    if (rt_par_size(job) > 1) {
        if (writes())
            diag_plain(diag, DIAG_ERROR, "gan blocks train in one process for now: run nnc train without mpirun");
        return 2;
    }
    if (!check_outputs(a, g->gen->name, g->disc->name, diag))
        return 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    RtGan gan;
    JitStart js;
    if (!jit_start(m, NULL, g, a->backend, a->unroll, NULL, &gan, &js, diag))
        return 1;
    Jit *jit = js.jit;
    JitTier *tier = js.tier;
    const char *compiled_by = js.compiled_by;
    bool building = js.building;   /* the optimized build still to come */
    double compile_ms = 1e3 * seconds_since(&t0);
    int status = 1;
    struct sigaction old[2];
    catch_stop_signals(old);
    RtData real = {0};
    RtRun run = {0};
    RtError err;
    float *z = NULL, *pics = NULL;
    Judge judge = {0};   /* before the first goto: done closes it */
    GanRun gr = {.c = {.a = a, .arrays = gan_run_arrays, .tier = tier, .diag = diag}, .gan = &gan,
                 .pictures = a->pictures, .n = 64};
    gr.c.state = &gr;
    while (gan.arrays(gan.state, gr.n_arrays, &(void *){0}, &(int64_t){0}, &(int){0}))
        gr.n_arrays++;
    gr.seed = a->has_seed ? a->seed : gan.seed;
    if (a->has_seed)
        gan.init(gan.state, gr.seed);
    if (a->load) {
        char gp[4096], dp[4096];
        if (!pipeline_gan_weights_path(gp, sizeof gp, a->load, gan.gen_name, diag) ||
            !pipeline_gan_weights_path(dp, sizeof dp, a->load, gan.disc_name, diag))
            goto done;
        if (!rt_load_weights(gp, gan.gen_fingerprint, gan.gen_params(gan.state), gan.gen_n_params, &err) ||
            !rt_load_weights(dp, gan.disc_fingerprint, gan.disc_params(gan.state), gan.disc_n_params, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            goto done;
        }
    }
    if (a->judge && !judge_open(&judge, a, &gan, diag))
        goto done;
    gr.judge = a->judge ? &judge : NULL;
    if (!pipeline_load_images(a->data, gan.n_sample, "a gan's real samples", &real, diag))
        goto done;
    if (a->limit > 0 && real.n > a->limit)
        real.n = a->limit;
    gr.c.id = (RtCheckpointId){"gan", gan.fingerprint, gan.settings, gan.batch, real.n, rt_data_fingerprint(&real)};
    if (a->resume && !rt_load_checkpoint(a->resume, &gr.c.id, &run, gr.c.state, gr.c.arrays, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        goto done;
    }
    int epochs = (int)(a->epochs >= 0 ? a->epochs : g->gen->epochs);
    if ((a->backend == JIT_TCC || (a->backend == JIT_AUTO && !tier)) &&
        jit_tcc_is_slow(g->disc, 3 * real.n, epochs))   /* three passes of D a step */
        fprintf(stderr, "nnc: note: --jit=tcc does not optimize; --jit=cc trains networks of this size about 30-45x "
                        "faster (bench/README.md)\n");
    printf("training gan %s (generator %s, %lld parameters; discriminator %s, %lld parameters) on %lld samples, "
           "batch %lld, %d epoch%s (compiled in %.0f ms by %s%s)\n", g->name, gan.gen_name,
           (long long)gan.gen_n_params, gan.disc_name, (long long)gan.disc_n_params, (long long)real.n,
           (long long)gan.batch, epochs, epochs == 1 ? "" : "s", compile_ms, compiled_by,
           building ? "; the optimized build (cc) under way" : "");
    if (a->resume)
        say_resuming(a->resume, &run);
    if (a->plot && epochs > 0 && !(gr.epochs = calloc((size_t)epochs, sizeof *gr.epochs))) {
        diag_plain(diag, DIAG_ERROR, "out of memory for the chart's figures");
        goto done;
    }
    if (a->pictures) {
        if (!real.image_h || real.image_c * real.image_h * real.image_w != gan.n_sample) {
            diag_plain(diag, DIAG_ERROR, "--pictures needs image data of the generator's %lld outputs",
                       (long long)gan.n_sample);
            goto done;
        }
        gr.h = (int)real.image_h, gr.w = (int)real.image_w;
        z = malloc((size_t)(gr.n * gan.n_noise) * sizeof *z);
        pics = malloc((size_t)(gr.n * gan.n_sample) * sizeof *pics);
        if (!z || !pics) {
            diag_plain(diag, DIAG_ERROR, "out of memory for the pictures");
            goto done;
        }
        RtRng rng;
        rt_rng_seed(&rng, gr.seed ^ UINT64_C(0x5eed));
        rt_gan_noise(&gan, &rng, z, gr.n);
        gr.z = z, gr.out = pics;
    }
    RtGanOptions opt = {
        .epochs = epochs,
        .shuffle_seed = gr.seed,
        .out = stdout,
        .progress = isatty(STDOUT_FILENO) != 0,
        .stop = &interrupted,
        .on_epoch = a->pictures || a->plot ? gan_pictures : NULL,
        .user = &gr,
        .run = &run,
        .on_state = on_gan_state,
        .score = gan_score,
        .track_best = a->save_best || a->patience,
        .patience = (int)a->patience,
        .on_best = a->save_best ? on_gan_best : NULL,
        .swap_code = building ? gan_swap_to_optimized : NULL,
        .swap_at = building ? pipeline_tier_test_at() : 0,
    };
    RtGanEpoch last;
    bool trained = rt_train_gan(&gan, &real, &opt, &last);
    if (last.diverged) {
        diag_plain(diag, DIAG_ERROR, "the weights were not saved");
        goto done;
    }
    if (last.stopped && gr.c.checkpointed)
        say_checkpoint(&gr.c, &run);
    if (last.patience_out)
        printf("stopped early: no better score in %lld epochs\n", a->patience);
    if (opt.track_best && run.best_epoch) {
        printf("best epoch %d: score %.3f", run.best_epoch, run.best);
        if (a->save_best) {
            char gp[4096], dp[4096];
            if (pipeline_gan_weights_path(gp, sizeof gp, a->save_best, gan.gen_name, diag) &&
                pipeline_gan_weights_path(dp, sizeof dp, a->save_best, gan.disc_name, diag))
                printf(", its weights saved to %s and %s", gp, dp);
        }
        printf("\n");
    }
    if (a->pictures && epochs == 0)   /* the loaded (or initial) generator's pictures */
        gan_pictures(&last, &gr);
    if (a->pictures && !gr.c.failed)
        printf("wrote %s (64 generated images%s)\n", a->pictures, epochs ? ", rewritten after every epoch" : "");
    if (a->plot && gr.n_epochs > 0) {
        char title[160];
        snprintf(title, sizeof title, "gan %s: %s", g->name, m->src->name);
        if (!rt_plot_gan_svg(a->plot, gr.epochs, gr.n_epochs, title, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            goto done;
        }
        printf("wrote %s (both losses per epoch)\n", a->plot);
    }
    if (a->save && !save_gan_weights(a->save, &gan, true, diag))
        goto done;
    if (a->judge && (!trained || !judge_report(&judge, a, &gan, gr.seed, diag)))
        trained = false;
    if (gr.c.failed)   /* its error is printed: the run did not do all it was asked */
        trained = false;
    status = trained ? 0 : last.stopped ? 128 + interrupted : 1;
    if (last.stopped)
        fprintf(stderr, "nnc: stopped by %s in epoch %d\n", signal_name(interrupted), last.epoch);
done:
    restore_signals(old);
    free(z);
    free(pics);
    free(gr.epochs);
    rt_run_free(&run);
    rt_data_free(&real);
    free(gan.state);
    jit_free(jit, NULL);
    jit_tier_free(tier);   /* after the gan's last call */
    judge_close(&judge);
    return status;
}

/* Whether the ranks of the job train the same network, with the same
 * settings, on the same data (each loaded its own): if not, an error
 * (rank 0's) that says what differs.  Every rank learns the same answer. */
static bool ranks_agree(const RtNet *net, const RtCheckpointId *id, const RtData *test, uint64_t seed, int epochs,
                        Diag *diag)
{
    static const char *const what[] = {"the network (its layers)", "the training settings", "the training data",
                                       "the training data", "the test data", "the seed", "the epochs"};
    uint64_t mine[] = {net->fingerprint, net->settings, (uint64_t)id->data_n, id->data_hash, (uint64_t)test->n, seed,
                       (uint64_t)epochs};
    int differ;
    if (!rt_par_same(job, mine, (int)(sizeof mine / sizeof mine[0]), &differ)) {
        if (writes())
            diag_plain(diag, DIAG_ERROR, "the %d ranks of this mpirun do not agree on %s: give every rank the same "
                       "network file, options and data", rt_par_size(job), differ >= 0 ? what[differ] : "(MPI failed)");
        return false;
    }
    if (net->batch < rt_par_size(job)) {
        if (writes())
            diag_plain(diag, DIAG_ERROR, "batch %lld is smaller than the %d ranks: each batch is split across them, "
                       "so each needs a sample of it; use a batch of at least %d, or fewer ranks",
                       (long long)net->batch, rt_par_size(job), rt_par_size(job));
        return false;
    }
    return true;
}

static int train(const TrainArgs *a, Arena *arena, Diag *diag)
{
    Source src;
    if (!source_load(&src, a->net_path, arena, diag))
        return 1;
    Module *m = pipeline_module(&src, arena, diag);
    if (!m)
        return 1;
    const Gan *g = pipeline_pick_gan(m, a->net_name);
    if (g)
        return train_gan(a, m, g, diag);
    if (!a->net_name && m->n_gans > 1) {
        RtBuf names = {0};
        for (int i = 0; i < m->n_gans; i++)
            rt_buf_printf(&names, "%s%s", i ? ", " : "", m->gans[i].name);
        diag_plain(diag, DIAG_ERROR, "%s has %d gan blocks (%s); choose one with --net NAME", m->src->path, m->n_gans,
                   names.oom ? "" : names.data);
        rt_buf_free(&names);
        return 1;
    }
    const Net *n = pipeline_pick_net(m, a->net_name, "--net NAME", diag);
    if (!n)
        return 1;
    if (a->epochs == 0) {
        diag_plain(diag, DIAG_ERROR, "--epochs 0 is for gan blocks (score or save their weights); network '%s' "
                   "trains at least one epoch", n->name);
        return 2;
    }
    if (a->judge || a->judge_weights) {
        diag_plain(diag, DIAG_ERROR, "--judge scores a gan block's generated images; '%s' is a network", n->name);
        return 2;
    }
    if ((a->patience || a->save_best) && !a->test && !a->text) {
        diag_plain(diag, DIAG_ERROR, "%s judges each epoch on test data: give --test FILE",
                   a->patience ? "--patience" : "--save-best");
        return 2;
    }
    if (writes() && !check_outputs(a, NULL, NULL, diag))
        return 1;
    if (a->pictures && !n->input.image) {
        diag_plain(diag, DIAG_ERROR, "--pictures needs an image input (CxHxW); this network's input is a vector: "
                   "nothing trained");
        return 1;
    }
    if (a->confusion && n->n_outputs / n->out_steps < 2) {
        diag_plain(diag, DIAG_ERROR, "--confusion needs an output per class (two or more); network '%s' has one "
                   "output: nothing trained", n->name);
        return 1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    RtNet net;
    /* libtcc's build now, the optimized one when it is ready; not across
     * ranks, whose code must round alike: there auto is cc */
    JitStart js;
    if (!jit_start(m, n, NULL, a->backend == JIT_AUTO && rt_par_size(job) > 1 ? JIT_CC : a->backend, a->unroll,
                   &net, NULL, &js, diag))
        return 1;
    Jit *jit = js.jit;
    JitTier *tier = js.tier;
    const char *compiled_by = js.compiled_by;
    bool building = js.building;   /* the optimized build still to come */
    double compile_ms = 1e3 * seconds_since(&t0);
    int status = 1;
    /* Ctrl-C and SIGTERM stop training after the batch in flight; installed
     * before the data loads, so an early one is not lost either. */
    struct sigaction old[2];
    catch_stop_signals(old);
    RtData train = {0}, test = {0};
    RtRun run = {0};
    RunCtx ctx = {.a = a, .net = &net, .state = net.state, .arrays = net.arrays, .tier = tier, .diag = diag};
    bool classify = pipeline_is_classifier(n);
    uint64_t seed = a->has_seed ? a->seed : n->seed;
    if (a->has_seed)
        net.init(net.state, seed);
    if (a->lr > 0)
        *net.lr(net.state) = (float)a->lr;
    RtError err;
    if (a->load && !rt_load_weights(a->load, net.fingerprint, net.params(net.state), net.n_params, &err)) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        goto done;
    }
    if (a->text && !load_text(a->text, n, &train, &test, diag))
        goto done;
    if (a->data && !load_data(a->data, a->labels, a, &net, classify, &train, diag))
        goto done;
    if (a->test && !load_data(a->test, a->test_labels, a, &net, classify, &test, diag))
        goto done;
    if (n->layers[0].kind == LAYER_EMBED && !a->text &&
        (!rt_data_check_ids(&train, n->layers[0].vocab, &err) || !rt_data_check_ids(&test, n->layers[0].vocab, &err))) {
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
        goto done;
    }
    pipeline_warn_image_shape(diag, &src, n, &train);
    if (test.image_c != train.image_c || test.image_h != train.image_h || test.image_w != train.image_w)
        pipeline_warn_image_shape(diag, &src, n, &test);   /* (the same shape: the same warning) */
    if (a->limit && train.n > a->limit)
        train.n = a->limit;   /* the arrays stay as allocated; rt_data_free frees them */
    if (a->limit && test.n > a->limit)
        test.n = a->limit;
    int epochs = (int)(a->epochs > 0 ? a->epochs : n->epochs);
    ctx.id = (RtCheckpointId){"network", net.fingerprint, net.settings, net.batch, train.n, 0};
    ctx.id.data_hash = rt_data_fingerprint(&train);
    if (a->resume) {
        if (!rt_load_checkpoint(a->resume, &ctx.id, &run, ctx.state, ctx.arrays, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            goto done;
        }
    }
    if (rt_par_size(job) > 1 && !ranks_agree(&net, &ctx.id, &test, seed, epochs, diag))
        goto done;
    printf("network %s: %lld parameters, %zu bytes; compiled by %s in %.1f ms%s\n", n->name, (long long)n->n_params,
           net.size, compiled_by, compile_ms, building ? "; the optimized build (cc) under way" : "");
    if (rt_par_size(job) > 1)
        printf("data-parallel on %d ranks (mpirun): each batch of %lld split across them, their gradients "
               "summed\n", rt_par_size(job), (long long)net.batch);
    /* tcc compiles in milliseconds but does not optimize: say so when the
     * training is big enough for that to cost minutes (bench/README.md) */
    if (js.runs == JIT_TCC && !building && jit_tcc_is_slow(n, train.n, epochs))
        fprintf(stderr, "nnc: note: --jit=tcc does not optimize; --jit=cc trains networks of this size about 30-45x "
                        "faster (bench/README.md)\n");
    printf("training on %lld %s%s", (long long)train.n, a->text ? "windows of text" : "samples", test.n ? "" : "\n");
    if (test.n)
        printf(a->text ? ", validating on %lld (the last 10%% of the text)\n" : ", testing on %lld\n",
               (long long)test.n);
    if (a->resume)
        say_resuming(a->resume, &run);
    fflush(stdout);

    RtTrainOptions opt = {
        .epochs = epochs,
        .shuffle_seed = seed,
        .loss = pipeline_rt_loss(n),
        .out = stdout,
        .progress = isatty(STDOUT_FILENO) && !job,   /* (mpirun gives every rank a terminal) */
        .report_every = (int)(a->every ? a->every : (epochs + 19) / 20),
        .stop = &interrupted,
        .on_epoch = on_epoch_figures,
        .user = &ctx,
        .test_name = a->text ? "valid" : NULL,
        .test_loss = a->text != NULL,   /* nats per character */
        .run = &run,
        .on_state = on_run_state,
        .track_best = a->save_best || a->patience,
        .patience = (int)a->patience,
        .on_best = a->save_best ? on_best_epoch : NULL,
        .swap_code = building ? swap_to_optimized : NULL,
        .swap_at = building ? pipeline_tier_test_at() : 0,
        .par = job,
    };
    if (a->plot && !a->every)
        opt.report_every = 1;   /* every epoch evaluated, for the chart */
    RtEpoch last;
    bool trained = rt_train(&net, &train, test.n ? &test : NULL, &opt, &last);
    if (last.diverged || last.ranks_differ) {
        if (writes())
            diag_plain(diag, DIAG_ERROR, "the weights were not saved%s",
                       last.diverged ? "; try a smaller learning rate (--lr)" : "");
        goto done;
    }
    if (last.stopped && ctx.checkpointed)
        say_checkpoint(&ctx, &run);
    if (last.patience_out)
        printf("stopped early: no better test %s in %lld epochs\n", last.test.accuracy >= 0 ? "accuracy" : "loss",
               a->patience);
    if (opt.track_best && run.best_epoch) {
        if (last.test.accuracy >= 0)
            printf("best epoch %d: test accuracy %.2f%%", run.best_epoch, 100.0 * run.best);
        else
            printf("best epoch %d: test loss %.6g", run.best_epoch, -run.best);
        printf(a->save_best ? ", its weights saved to %s\n" : "\n", a->save_best);
    }
    int64_t classes = net.n_outputs / net.out_steps;   /* of one step */
    if (a->confusion && !last.stopped && (test.n ? test.label : train.label) && classes > 1) {
        int64_t *cm = calloc((size_t)(classes * classes), sizeof *cm);
        if (cm) {
            rt_evaluate_par(&net, test.n ? &test : &train, pipeline_rt_loss(n), cm, job);
            print_confusion(cm, classes);
            free(cm);
        }
    }
    if (a->save && writes()) {
        if (!rt_save_weights(a->save, net.fingerprint, net.params(net.state), net.n_params, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            goto done;
        }
        printf("saved the weights to %s\n", a->save);
    }
    if (a->plot && writes()) {
        char title[160];
        snprintf(title, sizeof title, "%s: %s", n->name, src.name);
        if (!rt_plot_svg(a->plot, ctx.history.e, ctx.history.n, title, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            goto done;
        }
        printf("wrote %s (loss and accuracy per epoch)\n", a->plot);
    }
    if (a->pictures && writes() && !write_pictures(a->pictures, &net, n, test.n ? &test : &train, a->target_input, diag))
        goto done;
    RtEval final = test.n ? last.test : last.train;
    if (last.stopped)
        ;   /* (stopped: not evaluated, so that Ctrl-C ends the run at once) */
    else if (a->text)
        printf("final validation loss: %.4f nats per character (perplexity %.2f), accuracy of the next byte %.2f%%\n",
               final.loss, exp(final.loss), 100.0 * final.accuracy);
    else if (final.accuracy >= 0)
        printf("final %s accuracy: %.2f%%\n", test.n ? "test" : "training", 100.0 * final.accuracy);
    else
        printf("final %s loss: %.6g (mean per sample)\n", test.n ? "test" : "training", final.loss);
    status = trained && !ctx.failed ? 0 : last.stopped ? 128 + interrupted : 1;
    if (last.stopped)
        fprintf(stderr, "nnc: stopped by %s in epoch %d\n", signal_name(interrupted), last.epoch);
done:
    restore_signals(old);
    free(ctx.history.e);
    rt_run_free(&run);
    rt_data_free(&train);
    rt_data_free(&test);
    jit_free(jit, &net);
    jit_tier_free(tier);   /* after the network's last call: its code may be the optimized build's */
    return status;
}

int cmd_train(int argc, char **argv)
{
    TrainArgs a = {0};
    int status = parse_train_args(argc, argv, &a);
    if (status >= 0)
        return status;
    char msg[1024];
    if (same_stream(&a, msg, sizeof msg))
        return usage("%s", msg);
    Diag diag;
    diag_init(&diag, stderr);
    const char *foreign = rt_par_foreign_launcher();
    if (foreign) {   /* each process would train alone, every one writing the same files */
        const char *count = getenv(foreign);
        diag_plain(&diag, DIAG_ERROR, "started as one of %s processes by a launcher that is not Open MPI's mpirun "
                   "(%s=%s): data-parallel training needs Open MPI's (mpirun -np N nnc train ...); one process "
                   "alone: unset %s", count, foreign, count, foreign);
        return 1;
    }
    if (rt_par_launched()) {   /* mpirun -np N nnc train ...: one rank of N */
        RtError err;
        if (!(job = rt_par_start(&err))) {
            diag_plain(&diag, DIAG_ERROR, "%s", err.msg);
            return 1;
        }
        if (!writes() && !freopen("/dev/null", "w", stdout)) {   /* rank 0 says how it goes */
            rt_par_end(job);
            return 1;
        }
    }
    Arena *arena = arena_new();
    status = train(&a, arena, &diag);
    arena_free(arena);
    fflush(stdout);
    rt_par_end(job);
    return status;
}
