/* nnc_rt.h — the nnc runtime: data sets, the training loop, checkpoints.
 *
 * This is the runtime's one public header.  `nnc train` and `nnc repl` link
 * the code nnc emits (compiled in memory by the JIT) against this library;
 * a program of your own can use it the same way.  The emitted C itself never
 * needs it.
 *
 * Every function that can fail returns false (or NULL) and fills an RtError
 * with a message that names the file and the position (line, column, byte
 * offset or record) where the problem is.  Nothing here exits or aborts. */
#ifndef NNC_RT_H
#define NNC_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct RtError {
    char msg[1024];              /* "data.csv:12:3: 'abc' is not a number" */
} RtError;

/* Formats `msg` like printf; returns false so callers can `return rt_fail(...)`. */
bool rt_fail(RtError *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- rng.c: the runtime's random numbers (never rand()) ---- */

typedef struct RtRng {
    uint64_t state;
} RtRng;
void rt_rng_seed(RtRng *r, uint64_t seed);
uint64_t rt_rng_next(RtRng *r);                 /* splitmix64 */
uint64_t rt_rng_below(RtRng *r, uint64_t n);    /* uniform in [0, n), n > 0, unbiased */
void rt_shuffle(RtRng *r, int64_t *idx, int64_t n);

/* ---- data.c: data sets ---- */

/* A data set in memory: n samples of n_inputs floats and n_outputs target
 * floats each, rows contiguous.  For classification, `label` holds each
 * sample's class (0 .. n_outputs-1; 0 or 1 for a single output) and `t` its
 * one-hot row (the 0/1 target for a single output).  The loaders overwrite
 * `out`, and leave it zeroed on failure; rt_data_free is always safe.
 *
 * Images (IDX) also keep the shape the file gives them, image_c x image_h x
 * image_w = n_inputs floats a sample (channel-major, then row-major; IDX
 * images have one channel): a caller can compare it with the shape its
 * network expects, which the sizes alone do not tell (28x28 and 14x56 are
 * both 784 floats).  All three are 0 for data without a shape (CSV). */
typedef struct RtData {
    int64_t n;
    int64_t n_inputs, n_outputs;
    float *x;                    /* n * n_inputs */
    float *t;                    /* n * n_outputs; NULL when the labels say it all (text: a
                                    one-hot row of each label is made per batch) */
    int32_t *label;              /* n * steps entries, or NULL for regression targets */
    int64_t steps;               /* labels per sample: the steps of a sequence output, each
                                    with n_outputs / steps classes; 0 or 1: one */
    char *source;                /* the file it came from, for messages */
    int64_t image_c, image_h, image_w;   /* images: channels, rows, columns; else 0 */
} RtData;

typedef enum { RT_HEADER_AUTO, RT_HEADER_YES, RT_HEADER_NO } RtHeader;

typedef struct RtCsvOptions {
    RtHeader header;             /* AUTO: a first row with a non-numeric field is a header */
    int label_col;               /* 0-based column of the class label; -1: the last column
                                    (note: a zeroed RtCsvOptions means column 0; pass NULL
                                    for the defaults) */
    int64_t steps;               /* a sequence output of this many steps: a row's targets are
                                    one class per step (the last `steps` columns), or all
                                    n_outputs values; 0 or 1: not a sequence */
} RtCsvOptions;

/* Every loader opens its file once and reads it once, front to back: it
 * looks at the first bytes (gzip or not; IDX or CSV) of the stream it then
 * parses.  So a pipe, a FIFO, /dev/stdin or a process substitution
 * (`<(zcat ...)`) loads like a regular file, gzip-compressed or not.  (The
 * labels of IDX images are a second file, opened once too.) */

/* CSV of numbers (or a gzip-compressed CSV), comma separated, blanks around
 * fields allowed, blank lines skipped, one sample a row.  A row has either n_inputs + n_outputs columns (the targets are the
 * last n_outputs, taken as they are: regression or one-hot), or, when
 * `classify` and n_outputs > 1, n_inputs + 1 columns where `label_col` holds
 * a whole class number in [0, n_outputs), made one-hot.  With n_outputs == 1
 * and `classify`, a 0/1 target is also recorded as a label. */
bool rt_load_csv(const char *path, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                 RtData *out, RtError *err);

/* IDX files as MNIST and Fashion-MNIST ship them, gzip-compressed or not
 * (detected from the content).  Images are unsigned bytes scaled to [0, 1];
 * labels are classes in [0, n_outputs), made one-hot.  The image size must
 * equal n_inputs; the image shape is kept in image_c/h/w.  With labels_path NULL only the images are read
 * (n_outputs is ignored; t and label stay NULL): see rt_data_target_input. */
bool rt_load_idx(const char *images_path, const char *labels_path, int64_t n_inputs, int64_t n_outputs,
                 RtData *out, RtError *err);

/* The labels file beside an IDX images file by MNIST's naming
 * ("train-images-idx3-ubyte.gz" -> "train-labels-idx1-ubyte.gz"); a new
 * malloc'd string, or NULL when the name does not follow it. */
char *rt_idx_labels_path(const char *images_path);

/* Either loader, chosen by the content: an IDX images file (its labels from
 * `labels_path`, or found by MNIST's naming; `labels_hint` ends the error
 * when they cannot be found, e.g. "give them with --labels"; images from a
 * pipe have no name to find them by), else CSV. */
bool rt_load_data(const char *path, const char *labels_path, const RtCsvOptions *opt, int64_t n_inputs,
                  int64_t n_outputs, bool classify, const char *labels_hint, RtData *out, RtError *err);

/* The loaders' steps, for a caller that decides between looking at a file
 * and reading it (as `nnc train --target input` takes IDX images only):
 *   RtDataFile *f = rt_data_open(path, &err);     opened, its first bytes read
 *   if (f && rt_data_is_idx(f)) ok = rt_data_read_idx(f, NULL, ...);
 *   rt_data_close(f);
 * rt_data_open fails (NULL, err set) when the file cannot be opened or is a
 * directory; an error reading the first bytes is reported by the read that
 * follows.  rt_data_read_csv and rt_data_read_idx are rt_load_csv and
 * rt_load_idx on the open file; each file can be read once. */
typedef struct RtDataFile RtDataFile;
RtDataFile *rt_data_open(const char *path, RtError *err);
bool rt_data_is_idx(const RtDataFile *f);       /* it starts like an IDX file (raw or gzip-compressed) */
bool rt_data_read_csv(RtDataFile *f, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                      RtData *out, RtError *err);
bool rt_data_read_idx(RtDataFile *f, const char *labels_path, int64_t n_inputs, int64_t n_outputs, RtData *out,
                      RtError *err);
void rt_data_close(RtDataFile *f);              /* NULL is fine */

/* Whether the file starts like an IDX file (raw or gzip-compressed).  It
 * opens and reads the file: from a pipe, those bytes are gone for a loader
 * that opens it next.  To look and then read, use rt_data_open. */
bool rt_is_idx(const char *path);

/* Makes every sample its own target (an autoencoder's data): t becomes a
 * copy of x, n_outputs = n_inputs, and the labels are dropped. */
bool rt_data_target_input(RtData *d, RtError *err);

/* A text file cut into the samples of a character-level language model:
 * windows of `steps` bytes (each byte an id: x holds them as floats), the
 * target of each step the byte after it (as labels: d->t stays NULL, the
 * training loop makes one-hot rows per batch).  Windows do not overlap;
 * the last `holdout` fraction of the file (0 <= holdout < 1) goes into
 * `valid` (which may be NULL when holdout is 0).  Every byte must be below
 * `vocab` (the network's number of ids and of classes); an error names the
 * first that is not, with its line and column.  Read once (pipes work). */
bool rt_load_text(const char *path, int64_t steps, int64_t vocab, double holdout, RtData *train, RtData *valid,
                  RtError *err);

/* The inputs of a network that starts with an embedding table are ids:
 * every value of d->x must be a whole number in [0, vocab).  False with a
 * message naming the first that is not (sample and step). */
bool rt_data_check_ids(const RtData *d, int64_t vocab, RtError *err);

void rt_data_free(RtData *d);

/* ---- checkpoint.c: weight files ---- */

/* A weight file (.nnw), version 1, all fields little-endian:
 *   "NNCW"  u32 version  u64 fingerprint  u64 n_params  f32 params[n]  u32 crc32
 * The CRC32 (zlib's) covers every byte before it.  The fingerprint is the
 * network's NAME_FINGERPRINT: a hash of its layers' kinds and shapes. */
#define RT_WEIGHTS_VERSION 1u

/* Writes atomically: a temporary file beside `path`, fsync, rename.  On any
 * failure the previous file at `path` is left as it was. */
bool rt_save_weights(const char *path, uint64_t fingerprint, const float *params, int64_t n_params, RtError *err);

/* Refuses (with a message saying which) a missing or truncated file, a bad
 * magic, an unknown version, another network's fingerprint, a parameter
 * count that differs, or a CRC mismatch; `params` is untouched then. */
bool rt_load_weights(const char *path, uint64_t fingerprint, float *params, int64_t n_params, RtError *err);

uint32_t rt_crc32(uint32_t crc, const void *data, size_t len);

/* ---- resume.c: checkpoints, the whole state of a training run ---- */

/* A compiled network's training state, array by array, as the JIT's glue
 * lists it (parameters, optimizer moments, learning rate, step count,
 * dropout RNG): array i's name, address, count and kind (floats, or uint64_t
 * when *is_u64); NULL past the last. */
typedef const char *(*RtStateFn)(void *net, int i, void **p, int64_t *count, int *is_u64);

/* Where a training run is, beside the network's own state: what rt_train
 * needs to continue it exactly.  Zeroed: a run not started. */
typedef struct RtRun {
    int epoch;                   /* epochs completed */
    int64_t pos;                 /* samples of epoch + 1 trained already (stopped inside it); 0 at a boundary */
    int64_t n;                   /* samples in the order */
    int64_t *order;              /* the current epoch's shuffled order (malloc'ed; rt_run_free) */
    uint64_t shuffle_rng;        /* the shuffle's RtRng state */
    double sum[2];               /* this epoch's loss sum so far (a gan: discriminator's, generator's) */
    int64_t batches, seen;       /* this epoch's batches and samples so far */
    double best;                 /* the best test metric so far (accuracy, or loss for a regressor) */
    int best_epoch;              /* its epoch; 0: none yet */
    int since_best;              /* evaluated epochs since it, for --patience */
} RtRun;
void rt_run_free(RtRun *run);

/* What a checkpoint must match to be resumed. */
typedef struct RtCheckpointId {
    const char *what;            /* "network" or "gan", for messages */
    uint64_t fingerprint;        /* the layer shapes (NAME_FINGERPRINT) */
    uint64_t settings;           /* a hash of the training settings: optimizer, loss, schedule, dropout */
    int64_t batch;
    int64_t data_n;              /* training samples */
    uint64_t data_hash;          /* rt_data_fingerprint of the training data */
} RtCheckpointId;

/* A hash of d's first 64 rows (inputs and targets): another data set is noticed. */
uint64_t rt_data_fingerprint(const RtData *d);

/* A checkpoint file (.nnck, docs/weights-format.md): "NNCK", a version, the
 * id, the run, every array of the network's state, a CRC-32; written
 * atomically, as weight files are. */
#define RT_CHECKPOINT_VERSION 1u
bool rt_save_checkpoint(const char *path, const RtCheckpointId *id, const RtRun *run, void *net, RtStateFn state,
                        RtError *err);
/* Refuses (saying why) another network, batch, settings or data, a damaged
 * or truncated file, an order that is not a permutation, arrays that do not
 * match the network's; the network and `run` change only when all passed. */
bool rt_load_checkpoint(const char *path, const RtCheckpointId *id, RtRun *run, void *net, RtStateFn state,
                        RtError *err);

/* Whether a file can be written at `path` (a temporary file is created
 * beside it and removed), so a bad output path fails before any work. */
bool rt_check_writable(const char *path, RtError *err);

/* ---- train.c: a compiled network, and training it ---- */

/* One compiled network, as the JIT (or dlopen) provides it.  `state` is the
 * emitted NAME struct, allocated by the caller with `size` bytes. */
typedef struct RtNet {
    const char *name;
    int64_t n_inputs, n_outputs, batch, n_params;
    int64_t out_steps;           /* the steps of a sequence output (its loss is their mean); 1 */
    uint64_t seed, fingerprint;
    bool softmax;                /* the output layer is softmax */
    size_t size;
    void *state;
    void (*init)(void *net, uint64_t seed);
    void (*forward)(void *net, const float *x, float *y);
    void (*forward_batch)(void *net, const float *x, float *y, int n);   /* n rows, a batch at a time */
    float (*train_step)(void *net, const float *x, const float *t, int n);
    /* grads of n samples that are a share of a batch of `of`: their part of
     * the batch's mean gradient; returns their summed loss over `of` */
    float (*backward_share)(void *net, const float *x, const float *t, int n, int of);
    void (*update)(void *net);   /* one optimizer step with the grads */
    float *(*grads)(void *net);
    float *(*params)(void *net);
    float *(*lr)(void *net);     /* the struct's learning rate field */
    void (*schedule)(void *net, int epoch, int epochs);   /* NAME_schedule: sets lr for an epoch (0-based) */
    bool has_schedule;           /* the file has a schedule statement: rt_train calls it every epoch */
    RtStateFn arrays;            /* the training state's arrays, for checkpoints */
    uint64_t settings;           /* a hash of the training settings, for checkpoints */
} RtNet;

/* The loss of a network, as evaluation computes it from the outputs. */
typedef enum {
    RT_LOSS_MSE,                 /* 1/2 sum (t - y)^2 */
    RT_LOSS_CROSS_ENTROPY,       /* -sum t log y */
    RT_LOSS_BCE,                 /* the mean over the outputs of -(t log y + (1 - t) log(1 - y)), logs >= -100 */
} RtLoss;

typedef struct RtEval {
    double loss;                 /* mean loss per sample */
    double accuracy;             /* in [0, 1]; negative when the data has no labels */
    int64_t n;
} RtEval;

/* Mean loss and accuracy of the network on `d`.  The loss is computed from
 * the outputs as the network's loss would (RtLoss).  When `confusion` is not NULL it receives an
 * n_outputs x n_outputs matrix, [true][predicted]. */
RtEval rt_evaluate(const RtNet *net, const RtData *d, RtLoss loss, int64_t *confusion);

/* ---- parallel.c: the ranks of an MPI job (mpirun -np N nnc train) ---- */

typedef struct RtPar RtPar;
/* Whether this process was started by mpirun (Open MPI's environment). */
bool rt_par_launched(void);
/* When this process is one of several started by another launcher than
 * Open MPI's mpirun (MPICH's or Intel MPI's mpiexec): the environment
 * variable that tells (PMI_SIZE); else NULL. */
const char *rt_par_foreign_launcher(void);
/* Opens Open MPI's library (at run time) and joins the job; NULL, said in
 * err, when it cannot. */
RtPar *rt_par_start(RtError *err);
int rt_par_rank(const RtPar *p);   /* 0 and 1 for NULL: alone */
int rt_par_size(const RtPar *p);
/* In place, the sum over the ranks (every rank gets it); false when MPI
 * failed.  With one rank (or NULL) they do nothing. */
bool rt_par_sum_floats(const RtPar *p, float *x, int64_t n);
bool rt_par_sum_doubles(const RtPar *p, double *x, int n);
/* Whether every rank has the same n (at most 16) values x; if not,
 * *first_differing is the first that differs (else -1). */
bool rt_par_same(const RtPar *p, const uint64_t *x, int n, int *first_differing);
/* Ends the whole job now, with `status` (a rank cannot go on alone). */
void rt_par_abort(RtPar *p, int status);
/* Leaves the job (MPI_Finalize) and frees p; NULL is fine. */
void rt_par_end(RtPar *p);

/* rt_evaluate over the ranks of `par`: each evaluates its share of the
 * rows, and every rank gets the figures of all of them (NULL: alone). */
RtEval rt_evaluate_par(const RtNet *net, const RtData *d, RtLoss loss, int64_t *confusion, const RtPar *par);

struct RtEpoch;

typedef struct RtTrainOptions {
    int epochs;
    uint64_t shuffle_seed;
    RtLoss loss;                 /* the network's loss, for evaluation */
    FILE *out;                   /* per-epoch lines, progress bar */
    int report_every;            /* print every Nth epoch (and the last); 0 or 1: every one */
    bool progress;               /* redraw a progress bar in place (a terminal) */
    volatile int *stop;          /* set to non-zero (from a signal handler) to stop at the next batch */
    void (*on_epoch)(const struct RtEpoch *e, void *user);   /* after each evaluated epoch, or NULL */
    void *user;
    const char *test_name;       /* the second data set's name in the lines: "test" when NULL */
    bool test_loss;              /* print its loss as well as its accuracy */
    RtRun *run;                  /* NULL, or where the run is: a loaded checkpoint's run continues from
                                    there; kept current for the callbacks */
    void (*on_state)(const RtRun *run, const struct RtEpoch *e, void *user);   /* after each epoch and
                                    when stopped (e->stopped), with the run's state: checkpoints */
    bool track_best;             /* evaluate the test set every epoch and keep the best (run->best) */
    int patience;                /* with track_best: stop after this many epochs without a better one; 0: never */
    void (*on_best)(const struct RtEpoch *e, void *user);   /* a new best epoch: save its weights */
    /* The tiered JIT: between batches, about every 20 ms, and before an
     * epoch's evaluation, may give the network other code for the same
     * state (an optimized build of the same C); returns 1 when it did, 0 to
     * be asked again, -1 never to be asked again.  With `wait`, it waits
     * for the build.  swap_at (tests) asks once, waiting, after exactly that
     * many batches of the run; 0: by the clock.  NULL: never asked. */
    int (*swap_code)(bool wait, void *user);
    int64_t swap_at;
    /* The ranks of an MPI job (NULL: alone): each batch is split across
     * them (rank r takes its share of the same shuffled rows), their
     * gradients summed (net->backward_share, grads, update), and every
     * rank takes the same step; the evaluations are split and summed.
     * Only out's owner should pass an `out` (rank 0). */
    const RtPar *par;
} RtTrainOptions;

typedef struct RtEpoch {
    int epoch;
    double loss;                 /* mean training loss over the epoch's batches */
    RtEval train, test;          /* test.n == 0 when there is no test set; both .n == 0 (not
                                    evaluated) in an epoch that stopped through `stop` */
    double samples_per_sec;
    bool diverged;               /* the loss became NaN or infinite */
    bool stopped;                /* stopped early through `stop` */
    bool patience_out;           /* stopped by RtTrainOptions' patience */
    bool best;                   /* the best epoch so far (track_best) */
    double lr;                   /* the learning rate it trained at */
    bool ranks_differ;           /* par: the ranks' parameters were found to differ (said on out) */
} RtEpoch;

/* Trains for opt->epochs epochs of shuffled mini-batches of net->batch (the
 * last one partial), printing one line per epoch; `last` gets the final
 * epoch's figures.  With opt->run, epochs already completed (run->epoch) and
 * the samples of a stopped epoch (run->pos) are skipped: the run goes on as
 * if it had not stopped.  Returns false when training diverged or was
 * stopped through `stop` (not when patience ran out).  On x86 it trains with
 * subnormal numbers flushed to zero (MXCSR's FTZ and DAZ, the caller's
 * setting restored on return), unless the environment variable
 * NNC_KEEP_SUBNORMALS is set to something other than "" and "0";
 * rt_train_gan does the same. */
bool rt_train(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt, RtEpoch *last);

/* ---- train.c: gan blocks ---- */

/* A gan block compiled in memory: the emitted NAME_step and its kin behind
 * void pointers (the JIT's glue), and both networks' parameters. */
typedef struct RtGan {
    const char *name, *gen_name, *disc_name;
    int64_t batch, n_noise, n_sample;   /* n_sample: floats of a real (or generated) sample */
    int64_t gen_n_params, disc_n_params;
    uint64_t gen_fingerprint, disc_fingerprint, seed;
    size_t size;
    void *state;
    void (*init)(void *gan, uint64_t seed);
    int (*step)(void *gan, const float *real, int n, float losses[2]);
    void (*generate)(void *gan, const float *z, float *out, int n);
    float *(*gen_params)(void *gan);
    float *(*disc_params)(void *gan);
    bool noise_normal;           /* the noise: normal(a, b), else uniform(a, b) */
    double noise_a, noise_b;
    void (*schedule)(void *gan, int epoch, int epochs);   /* both networks' NAME_schedule */
    float *(*lr)(void *gan, int disc);   /* the generator's (0) or discriminator's (1) learning rate */
    bool has_schedule;           /* either network has a schedule statement */
    RtStateFn arrays;            /* both networks' training state and the noise RNG, for checkpoints */
    uint64_t fingerprint, settings;   /* both networks' and the noise's, for checkpoints */
} RtGan;

typedef struct RtGanEpoch {
    int epoch;
    double d_loss, g_loss;       /* the mean over the epoch's steps */
    double samples_per_sec;
    bool diverged, stopped;
    double score;                /* RtGanOptions' score of the epoch (track_best); NaN: not judged */
    double lr[2];                /* the generator's and discriminator's learning rates */
    bool best;                   /* the best score so far (track_best) */
    bool patience_out;           /* stopped by RtGanOptions' patience */
} RtGanEpoch;

typedef struct RtGanOptions {
    int epochs;
    uint64_t shuffle_seed;
    FILE *out;                   /* a line per epoch, and the progress bar */
    bool progress;
    volatile int *stop;          /* as RtTrainOptions' */
    void (*on_epoch)(const RtGanEpoch *e, void *user);   /* after each epoch, or NULL */
    void *user;
    RtRun *run;                  /* as RtTrainOptions' (run->sum: the discriminator's and generator's) */
    void (*on_state)(const RtRun *run, const RtGanEpoch *e, void *user);   /* as RtTrainOptions' */
    double (*score)(void *user); /* with track_best: the epoch's score, higher is better (NaN: failed) */
    bool track_best;             /* score every whole epoch and keep the best (run->best) */
    int patience;                /* with track_best: stop after this many epochs without a better score */
    void (*on_best)(const RtGanEpoch *e, void *user);   /* a new best epoch: save its weights */
    int (*swap_code)(bool wait, void *user);   /* as RtTrainOptions': the tiered JIT */
    int64_t swap_at;
} RtGanOptions;

/* Trains the gan on the real samples of `real` (their inputs; targets are
 * not used) in shuffled batches of gan->batch (the last one partial), one
 * NAME_step each, printing both mean losses per epoch.  With opt->run it
 * continues a run as rt_train does.  Returns false when a loss became NaN or
 * infinite, or training was stopped (not when patience ran out). */
bool rt_train_gan(RtGan *gan, const RtData *real, const RtGanOptions *opt, RtGanEpoch *last);
/* The inception-style score of n rows of k class probabilities p:
 * exp(E_x KL(p(y|x) || p(y))), with p(y) their mean; counts (k entries,
 * zeroed by the caller; may be NULL) gets how many rows predict each class.
 * NaN when n <= 0 or memory runs out. */
double rt_inception_score(const float *p, int64_t n, int64_t k, int64_t *counts);
/* n rows of noise as the gan draws it, from `rng`. */
void rt_gan_noise(const RtGan *gan, RtRng *rng, float *z, int64_t n);

/* ---- report.c: pictures of training ---- */

/* A chart of training as a standalone SVG (no scripts, no external fonts):
 * two panels side by side, the loss per epoch (epochs[i].loss and, where
 * epochs[i].test.n > 0, epochs[i].test.loss) and the accuracy per epoch in
 * percent (train.accuracy, and test.accuracy where there is a test set;
 * negative accuracies are "no labels": a regressor's panel says so).  NaN
 * and infinite values are left out (a note says how many).  The x axis is
 * epochs[i].epoch, or 1 .. n when those do not increase.  `title` may be
 * NULL.  Written atomically (a temporary file beside `path`, fsync, rename). */
bool rt_plot_svg(const char *path, const RtEpoch *epochs, int n, const char *title, RtError *err);

/* The same chart for a gan block: both losses per epoch (discriminator and
 * generator) on the left, samples per second on the right. */
bool rt_plot_gan_svg(const char *path, const RtGanEpoch *epochs, int n, const char *title, RtError *err);

/* n grey images of h x w floats each (row-major, one image after another;
 * values clamped to [0, 1], NaN as 0) as one binary PGM (P5, maxval 255):
 * a grid of `cols` columns (fewer when n < cols) and as many rows as needed,
 * images 1 pixel apart on a mid-grey (128) background.  Refuses n, h, w or
 * cols <= 0 and grids above 1 GiB.  Written atomically.  A path ending in
 * ".png" gets the same grid as an 8-bit greyscale PNG instead. */
bool rt_write_pgm_grid(const char *path, const float *images, int n, int h, int w, int cols, RtError *err);

#ifdef __cplusplus
}
#endif

#endif
