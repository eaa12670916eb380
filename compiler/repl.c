/* repl.c — `nnc repl`: load a network, point it at data, train, look,
 * change a hyperparameter, train again, save; all in one session.
 *
 * Each command is one row of `commands` (name, arguments, help, function).
 * A network can also be typed or pasted: a line starting with `network`
 * opens a block that is read until its braces balance, and its errors are
 * located in the session's input (`<stdin>:LINE:COL`).  Changing a
 * hyperparameter that shapes the code (momentum, batch, backend, unroll)
 * re-emits and re-JIT-compiles the network in place, keeping the weights.
 * With the backend auto (the default) every compilation starts on
 * libtcc's build and takes cc's when it is ready: between batches of
 * `train`, or before any command (tier_take).
 *
 * A file with a gan block loads the gan (its generator and discriminator
 * trained against each other): `data` then takes its real images, `train`
 * trains both, `generate` writes a picture of generated images, `save` and
 * `load` handle both networks' weights (gan_commands).
 *
 * On a terminal there is a prompt, line editing and history (libedit).
 * Otherwise commands are read without prompts, so a script can be piped in;
 * a failing command reports its error and the session goes on, and the
 * exit status is 1 at the end if any command failed. */
#define _POSIX_C_SOURCE 200809L
#include "nnc.h"
#include "nnc_rt.h"

#include <ctype.h>
#include <editline/readline.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct Repl {
    Diag diag;
    Arena *arena;                /* the current network's compilation */
    Source src;
    Module *mod;
    Net *net;                    /* in mod */
    Jit *jit;
    RtNet rt;
    bool have_net;
    JitBackend backend;          /* tcc, cc, or auto: libtcc's build, then cc's */
    JitTier *tier;               /* auto: the current compilation's optimized build (its code, once taken) */
    bool tier_settled;           /* the optimized build was taken, or failed: not asked again */
    int64_t unroll;              /* -1: the backend's default */
    RtData train, test;
    bool have_train, have_test;
    char *train_from[2], *test_from[2];   /* the files each came from: data, labels (or NULL) */
    char *text_from;             /* `text FILE`: both sets came from it (the last 10% the test set) */
    uint64_t shuffle_seed;
    int epochs_done;
    bool interactive;
    bool echo;                   /* --echo: print each command read from a script */
    int line_no;                 /* of the session's input, for diagnostics */
    bool failed;                 /* some command failed */
    bool quit;
    /* a gan block instead of a network (the file's, when it has one): it
     * uses arena, src, mod and jit as a network does */
    bool have_gan;
    const Gan *gan;              /* in mod */
    RtGan rg;
    RtData real;                 /* its real samples ('data') */
    bool have_real;
} Repl;

static volatile int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static bool fail(Repl *r, const char *fmt, ...)
{
    (void)r;   /* the caller records the failure */
    va_list ap;
    fflush(stdout);   /* keep a transcript of both streams in order */
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return false;
}

/* ---- (re)compiling the network ---- */

static const char *backend_name(JitBackend b)
{
    return b == JIT_TCC ? "tcc" : b == JIT_CC ? "cc" : "auto";
}

/* Compiles network n (or gan block g) of module m with the session's
 * backend and unroll limit (jit_start: auto starts cc's build too). */
static bool compile_for(Repl *r, const Module *m, const Net *n, const Gan *g, RtNet *net, RtGan *gan, JitStart *js)
{
    fflush(stdout);   /* (notes go to stderr) */
    return jit_start(m, n, g, r->backend, r->unroll, net, gan, js, &r->diag);
}

/* The current compilation's optimized build, if it is ready (with `wait`,
 * once it is): RtTrainOptions' swap_code, and before every command. */
static int tier_take(bool wait, void *user)
{
    Repl *r = user;
    if (!r->tier || r->tier_settled)
        return -1;
    int got = r->have_gan ? jit_tier_poll_gan(r->tier, &r->rg, wait, &r->diag)
                          : jit_tier_poll(r->tier, &r->rt, wait, &r->diag);
    r->tier_settled = got != 0;
    return got;
}

/* The backend whose code runs the current compilation now. */
static JitBackend running_backend(const Repl *r)
{
    return r->backend != JIT_AUTO ? r->backend : r->tier && jit_tier_taken(r->tier) ? JIT_CC : JIT_TCC;
}

/* What compiled the code that runs, for the messages. */
static const char *compiled_by(const Repl *r)
{
    return running_backend(r) == JIT_TCC ? "libtcc" : "cc";
}

/* With the backend auto, how its optimized build stands (to end a line). */
static const char *tier_note(const Repl *r)
{
    if (r->backend != JIT_AUTO || running_backend(r) == JIT_CC)
        return "";
    return r->tier && !r->tier_settled ? "; the optimized build (cc) under way" : "; no optimized build";
}

/* The compilation `t` (and its tier) replaces the session's. */
static void tier_replace(Repl *r, JitTier *t, bool taken)
{
    jit_tier_free(r->tier);
    r->tier = t;
    r->tier_settled = taken;
}

/* JIT-compiles r->net; keeps `params` (when not NULL) as the weights and
 * `lr` as the learning rate. */
static bool rejit(Repl *r, const float *params, float lr)
{
    RtNet fresh;
    JitStart js;
    if (!compile_for(r, r->mod, r->net, NULL, &fresh, NULL, &js))
        return false;
    if (params)
        memcpy(fresh.params(fresh.state), params, (size_t)fresh.n_params * sizeof(float));
    if (lr > 0)
        *fresh.lr(fresh.state) = lr;
    if (r->have_net) {
        jit_free(r->jit, &r->rt);
        tier_replace(r, NULL, false);
    }
    r->jit = js.jit;
    r->rt = fresh;
    r->have_net = true;
    r->tier = js.tier;   /* (use_source frees a previous one) */
    r->tier_settled = !js.building;
    return true;
}

/* Re-plans and re-JIT-compiles after a hyperparameter changed, keeping the
 * weights, the learning rate, the optimizer's state (where the optimizer
 * keeps the same kind of state) and its step count. */
static bool rebuild(Repl *r)
{
    Buffer old[NNC_MAX_BUFFERS];
    int n_old = r->net->n_buffers;
    memcpy(old, r->net->buffers, sizeof old);
    char *keep = malloc(r->rt.size);
    if (!keep)
        return fail(r, "out of memory");
    memcpy(keep, r->rt.state, r->rt.size);
    float lr = *r->rt.lr(r->rt.state);
    r->diag.src = &r->src;   /* warnings of the re-plan point into the network's text */
    bool ok = lower_module(r->mod, r->arena, &r->diag);
    r->diag.src = NULL;
    ok = ok && rejit(r, NULL, lr);
    if (ok) {
        static const char *const kept[] = {"param", "velocity", "adam_m", "adam_v"};
        for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
            int64_t n_from = 0, n_to = 0;
            int64_t from = layout_buffer_offset(old, n_old, kept[k], &n_from);
            int64_t to = layout_buffer_offset(r->net->buffers, r->net->n_buffers, kept[k], &n_to);
            if (from >= 0 && to >= 0 && n_from == n_to)
                memcpy((char *)r->rt.state + to, keep + from, (size_t)n_to * 4);
        }
        memcpy((char *)r->rt.state + layout_step_offset(r->net->buffers, r->net->n_buffers),
               keep + layout_step_offset(old, n_old), sizeof(uint64_t));
    }
    free(keep);
    return ok;
}

static void forget_paths(char *from[2])
{
    free(from[0]);
    free(from[1]);
    from[0] = from[1] = NULL;
}

static void drop_data(Repl *r)
{
    rt_data_free(&r->train);
    rt_data_free(&r->test);
    forget_paths(r->train_from);
    forget_paths(r->test_from);
    free(r->text_from);
    r->text_from = NULL;
    r->have_train = r->have_test = false;
}

/* The training and test sets of a language model from a text file (the
 * last 10% held out). */
static bool load_text_sets(Repl *r, const char *path, RtData *train, RtData *test)
{
    RtError err;
    r->diag.src = NULL;
    if (!language_model_check(r->net, "text trains", true, &r->diag))
        return false;
    if (!rt_load_text(path, r->net->input.steps, r->net->layers[0].vocab, 0.1, train, test, &err)) {
        fflush(stdout);
        fprintf(stderr, "error: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Loads `path` (and its `labels`) for the current network, as `data` does. */
static bool load_for_net(Repl *r, const char *path, const char *labels, const char *cmd, RtData *out, RtError *err)
{
    char hint[64];
    snprintf(hint, sizeof hint, "give them: %s FILE labels LABELS", cmd);
    RtCsvOptions opt = {RT_HEADER_AUTO, -1, r->rt.out_steps};   /* a sequence output: a class per step */
    if (!rt_load_data(path, labels, &opt, r->rt.n_inputs, r->rt.n_outputs, pipeline_is_classifier(r->net), hint,
                      out, err))
        return false;
    if (r->net->layers[0].kind == LAYER_EMBED && !rt_data_check_ids(out, r->net->layers[0].vocab, err)) {
        rt_data_free(out);   /* an id out of range would read outside the table */
        return false;
    }
    return true;
}

/* After a new network is loaded: the data loaded before is read again by
 * the rule `data` uses for this network (its inputs, its outputs, labels
 * or targets), so it stays exactly when `data FILE` would load it.  Data
 * that came through a pipe cannot be read again: it stays if it has the
 * same form, or is dropped. */
static void refit_data(Repl *r, const char *cmd, const char *what, RtData *d, bool *have, char *from[2])
{
    if (!*have)
        return;
    struct stat st;
    bool again = stat(from[0], &st) == 0 && S_ISREG(st.st_mode) &&
                 (!from[1] || (stat(from[1], &st) == 0 && S_ISREG(st.st_mode)));
    if (!again) {
        bool fits = d->n_inputs == r->rt.n_inputs && d->n_outputs == r->rt.n_outputs &&
                    (d->label != NULL) == pipeline_is_classifier(r->net);
        if (!fits) {
            printf("(the %s data from %s came through a pipe and does not fit this network: dropped it)\n", what,
                   from[0]);
            rt_data_free(d);
            forget_paths(from);
            *have = false;
        }
        return;
    }
    RtError err;
    RtData fresh = {0};
    if (!load_for_net(r, from[0], from[1], cmd, &fresh, &err)) {
        printf("(the %s data does not fit this network, dropped it: %s)\n", what, err.msg);
        rt_data_free(d);
        forget_paths(from);
        *have = false;
        return;
    }
    rt_data_free(d);
    *d = fresh;
    printf("%s: %lld samples%s, read again for this network\n", from[0], (long long)d->n,
           d->label ? " with class labels" : "");
}

/* Frees the gan block of the session, its real samples and its compilation. */
static void drop_gan(Repl *r)
{
    if (!r->have_gan)
        return;
    free(r->rg.state);
    jit_free(r->jit, NULL);
    tier_replace(r, NULL, false);
    arena_free(r->arena);
    rt_data_free(&r->real);
    r->have_gan = r->have_real = false;
    r->gan = NULL;
}

/* Makes gan block g of module m (compiled in `arena`) the session's: its
 * networks train against each other.  On failure (the arena freed) what
 * was loaded before stays. */
static bool use_gan(Repl *r, Arena *arena, const Source *src, Module *m, const Gan *g)
{
    RtGan fresh;
    JitStart js;
    if (!compile_for(r, m, NULL, g, NULL, &fresh, &js)) {
        arena_free(arena);
        return false;
    }
    if (r->have_net) {
        jit_free(r->jit, &r->rt);
        tier_replace(r, NULL, false);
        arena_free(r->arena);
        r->have_net = false;
    }
    drop_gan(r);
    drop_data(r);   /* a network's data is not a gan's real samples */
    r->arena = arena;
    r->src = *src;
    r->mod = m;
    r->net = NULL;
    r->gan = g;
    r->rg = fresh;
    r->jit = js.jit;
    r->have_gan = true;
    r->tier = js.tier;
    r->tier_settled = !js.building;
    r->shuffle_seed = fresh.seed;
    r->epochs_done = 0;
    printf("gan %s: generator %s (%lld parameters) and discriminator %s (%lld), %zu bytes (compiled by %s)%s\n",
           g->name, fresh.gen_name, (long long)fresh.gen_n_params, fresh.disc_name, (long long)fresh.disc_n_params,
           fresh.size, compiled_by(r), tier_note(r));
    printf("  its commands: data IMAGES, train [EPOCHS], generate FILE.pgm [N], init [SEED], save W.nnw|C.nnck, "
           "load W.nnw|C.nnck, show\n");
    return true;
}

/* Compiles `text` (a whole .nn source; copied) and makes its network the
 * current one (or its gan block, when it has one and no network is named).
 * On failure the previous network stays. */
static bool use_source(Repl *r, const char *name, const char *text, size_t len, const char *net_name)
{
    Arena *arena = arena_new();
    Source *src = arena_alloc(arena, sizeof *src);
    source_from_string(src, arena_strdup(arena, name), arena_strndup(arena, text, len), len);
    Module *m = pipeline_module(src, arena, &r->diag);
    const Gan *g = m ? pipeline_pick_gan(m, net_name) : NULL;
    if (g)
        return use_gan(r, arena, src, m, g);
    const Net *n = m ? pipeline_pick_net(m, net_name, "'load FILE.nn NAME'", &r->diag) : NULL;
    if (!n) {
        arena_free(arena);
        return false;
    }
    Repl old = *r;
    r->arena = arena;
    r->src = *src;
    r->mod = m;
    r->net = (Net *)n;
    r->have_net = false;
    if (!rejit(r, NULL, 0)) {
        arena_free(arena);
        r->arena = old.arena;
        r->src = old.src;
        r->mod = old.mod;
        r->net = old.net;
        r->have_net = old.have_net;
        return false;
    }
    if (old.have_net) {
        jit_free(old.jit, &old.rt);
        jit_tier_free(old.tier);
        arena_free(old.arena);
    }
    if (old.have_gan) {   /* its state, compilation and real samples (r->real is old.real) */
        drop_gan(&old);
        r->real = (RtData){0};
        r->have_gan = r->have_real = false;
        r->gan = NULL;
    }
    r->shuffle_seed = n->seed;
    r->epochs_done = 0;
    printf("network %s: %lld parameters, %zu bytes (compiled by %s)%s\n", n->name, (long long)n->n_params,
           r->rt.size, compiled_by(r), tier_note(r));
    if (r->text_from) {   /* text data: read again as this network's windows, or dropped */
        char *path = r->text_from;
        RtData train = {0}, test = {0};
        r->text_from = NULL;
        if (load_text_sets(r, path, &train, &test)) {
            drop_data(r);
            r->train = train, r->test = test, r->have_train = r->have_test = true, r->text_from = path;
            printf("%s: %lld windows of text, %lld held out, read again for this network\n", path,
                   (long long)train.n, (long long)test.n);
        } else {
            free(path);
            drop_data(r);
            printf("(the text data does not fit this network: dropped it)\n");
        }
    } else {
        refit_data(r, "data", "training", &r->train, &r->have_train, r->train_from);
        refit_data(r, "test", "test", &r->test, &r->have_test, r->test_from);
    }
    if (r->have_train)
        pipeline_warn_image_shape(&r->diag, &r->src, r->net, &r->train);   /* the data kept: does its shape fit? */
    if (r->have_test)
        pipeline_warn_image_shape(&r->diag, &r->src, r->net, &r->test);
    return true;
}

static bool need_net(Repl *r)
{
    if (!r->have_net)
        return fail(r, "no network yet: 'load FILE.nn' or type a 'network NAME { ... }' block");
    return true;
}

/* ---- commands ---- */

typedef bool CmdFn(Repl *r, int argc, char **argv);

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A REPL checkpoint: the network's (or the gan's) whole training state and
 * the epochs trained, so that `train` goes on as it would have (each `train`
 * shuffles from the seed and the epochs done).  Its data is the session's. */
static bool repl_checkpoint(Repl *r, const char *path, bool save)
{
    bool gan = r->gan != NULL;
    if (!gan && !need_net(r))
        return false;
    if (!(gan ? r->have_real : r->have_train))
        return fail(r, "a checkpoint belongs to its training data: 'data FILE' first");
    const RtData *d = gan ? &r->real : &r->train;
    RtCheckpointId id = {gan ? "gan" : "network", gan ? r->rg.fingerprint : r->rt.fingerprint,
                         gan ? r->rg.settings : r->rt.settings, gan ? r->rg.batch : r->rt.batch, d->n,
                         rt_data_fingerprint(d)};
    void *state = gan ? r->rg.state : r->rt.state;
    RtStateFn arrays = gan ? r->rg.arrays : r->rt.arrays;
    RtRun run = {.epoch = r->epochs_done, .n = d->n};
    RtError err;
    bool ok;
    if (save) {
        run.order = malloc((size_t)(run.n ? run.n : 1) * sizeof *run.order);
        for (int64_t i = 0; run.order && i < run.n; i++)
            run.order[i] = i;
        ok = run.order ? rt_save_checkpoint(path, &id, &run, state, arrays, &err)
                       : rt_fail(&err, "%s: not saved: out of memory", path);
    } else {
        ok = rt_load_checkpoint(path, &id, &run, state, arrays, &err);
        if (ok)
            r->epochs_done = run.epoch;
    }
    rt_run_free(&run);
    if (!ok)
        return fail(r, "%s", err.msg);
    printf("%s the training state (%d epoch%s done) %s %s\n", save ? "saved" : "loaded", r->epochs_done,
           r->epochs_done == 1 ? "" : "s", save ? "to" : "from", path);
    return true;
}

static bool do_load(Repl *r, int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return fail(r, "usage: load FILE.nn [NETWORK] | load WEIGHTS.nnw | load CHECKPOINT.nnck");
    if (ends_with(argv[1], ".nnck") && argc == 2)
        return repl_checkpoint(r, argv[1], false);
    if (ends_with(argv[1], ".nnw")) {
        if (!need_net(r))
            return false;
        RtError err;
        if (!rt_load_weights(argv[1], r->rt.fingerprint, r->rt.params(r->rt.state), r->rt.n_params, &err))
            return fail(r, "%s", err.msg);
        printf("loaded %lld weights from %s\n", (long long)r->rt.n_params, argv[1]);
        return true;
    }
    Source src;
    Arena *tmp = arena_new();
    bool ok = source_load(&src, argv[1], tmp, &r->diag) &&
              use_source(r, argv[1], src.text, src.len, argc == 3 ? argv[2] : NULL);
    arena_free(tmp);
    return ok;
}

/* Whether `path` is the session's own input (/dev/stdin, /dev/fd/0, or the
 * script's file): the data would be read from the commands. */
static bool is_session_input(const char *path)
{
    struct stat p, in;
    return stat(path, &p) == 0 && fstat(STDIN_FILENO, &in) == 0 && p.st_dev == in.st_dev && p.st_ino == in.st_ino;
}

static bool load_data_cmd(Repl *r, int argc, char **argv, RtData *d, bool *have)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "labels") == 0))
        return fail(r, "usage: %s FILE [labels LABELS]", argv[0]);
    if (!need_net(r))
        return false;
    for (int i = 1; i < argc; i += 2)
        if (is_session_input(argv[i]))
            return fail(r, "%s: the session's commands are read from there; give the data as a file, or as a FIFO "
                        "(mkfifo) that another program writes", argv[i]);
    RtError err;
    RtData fresh = {0};
    const char *labels = argc == 4 ? argv[3] : NULL;
    char *path_copy = strdup(argv[1]), *labels_copy = labels ? strdup(labels) : NULL;
    if (!path_copy || (labels && !labels_copy)) {
        free(path_copy);
        free(labels_copy);
        return fail(r, "out of memory");
    }
    if (!load_for_net(r, argv[1], labels, argv[0], &fresh, &err)) {
        free(path_copy);
        free(labels_copy);
        return fail(r, "%s", err.msg);
    }
    rt_data_free(d);
    *d = fresh;
    *have = true;
    char **from = d == &r->train ? r->train_from : r->test_from;
    forget_paths(from);
    from[0] = path_copy;
    from[1] = labels_copy;
    free(r->text_from);   /* the other set may still be text's: it keeps its data, not its path */
    r->text_from = NULL;
    printf("%s: %lld samples%s\n", argv[1], (long long)d->n, d->label ? " with class labels" : "");
    pipeline_warn_image_shape(&r->diag, &r->src, r->net, d);
    return true;
}

static bool do_data(Repl *r, int argc, char **argv)
{
    return load_data_cmd(r, argc, argv, &r->train, &r->have_train);
}

static bool do_test(Repl *r, int argc, char **argv)
{
    return load_data_cmd(r, argc, argv, &r->test, &r->have_test);
}

static bool parse_count(Repl *r, const char *s, long long lo, long long hi, long long *out, const char *what)
{
    if (!parse_whole(s, lo, hi, out))
        return fail(r, "%s must be a whole number from %lld to %lld, not '%s'", what, lo, hi, s);
    return true;
}

static bool parse_repl_seed(Repl *r, const char *s, uint64_t *out)
{
    if (!parse_seed(s, out))
        return fail(r, "the seed must be a whole number from 0 to 18446744073709551615, not '%s'", s);
    return true;
}

/* Ctrl-C stops training at the next batch while it is caught: *old gets
 * the handler to put back. */
static void catch_sigint(struct sigaction *old)
{
    struct sigaction sa;
    interrupted = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, old);
}

/* How `train` ends: stopped by Ctrl-C (the weights kept), diverged (an
 * error with `advice`), or as the training loop said. */
static bool training_ended(Repl *r, bool ok, int epoch, bool stopped, bool diverged, const char *advice)
{
    r->epochs_done += epoch;
    if (stopped) {
        printf("stopped in epoch %d; the weights are kept\n", epoch);
        return true;
    }
    if (diverged)
        return fail(r, "training diverged; %s", advice);
    return ok;
}

static bool do_train(Repl *r, int argc, char **argv)
{
    long long epochs = r->net ? r->net->epochs : NNC_DEFAULT_EPOCHS;
    if (argc > 2)
        return fail(r, "usage: train [EPOCHS]");
    if (!need_net(r))
        return false;
    if (argc == 2 && !parse_count(r, argv[1], 1, NNC_MAX_EPOCHS, &epochs, "the number of epochs"))
        return false;
    if (!r->have_train)
        return fail(r, "no training data: 'data FILE' first");
    if (running_backend(r) == JIT_TCC && (!r->tier || r->tier_settled) &&
        jit_tcc_is_slow(r->net, r->train.n, epochs)) {
        fflush(stdout);
        fprintf(stderr, "note: libtcc does not optimize; 'set backend cc' trains networks of this size about "
                        "30-45x faster (bench/README.md)\n");
    }
    RtTrainOptions opt = {
        .epochs = (int)epochs,
        .shuffle_seed = r->shuffle_seed + (uint64_t)r->epochs_done,
        .loss = pipeline_rt_loss(r->net),
        .out = stdout,
        .progress = r->interactive && isatty(STDOUT_FILENO),
        .report_every = (int)((epochs + 19) / 20),
        .stop = &interrupted,
        .test_name = r->text_from ? "valid" : NULL,   /* as nnc train --text */
        .test_loss = r->text_from != NULL,
        .user = r,
        .swap_code = r->tier && !r->tier_settled ? tier_take : NULL,
        .swap_at = pipeline_tier_test_at(),
    };
    struct sigaction old;
    catch_sigint(&old);
    RtEpoch last;
    bool ok = rt_train(&r->rt, &r->train, r->have_test ? &r->test : NULL, &opt, &last);
    sigaction(SIGINT, &old, NULL);
    return training_ended(r, ok, last.epoch, last.stopped, last.diverged,
                          "lower the learning rate ('set lr F') and 'init' again");
}

static bool do_eval(Repl *r, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return fail(r, "usage: eval");
    if (!need_net(r))
        return false;
    if (!r->have_train && !r->have_test)
        return fail(r, "no data: 'data FILE' (and 'test FILE') first");
    int64_t no = r->rt.n_outputs;
    for (int k = 0; k < 2; k++) {
        const RtData *d = k == 0 ? &r->train : &r->test;
        if (!(k == 0 ? r->have_train : r->have_test))
            continue;
        int64_t *cm = d->label && no > 1 ? calloc((size_t)(no * no), sizeof *cm) : NULL;
        RtEval e = rt_evaluate(&r->rt, d, pipeline_rt_loss(r->net), cm);
        printf("%s (%lld samples): loss %.6g", k == 0 ? "training" : "test", (long long)e.n, e.loss);
        if (e.accuracy >= 0)
            printf(", accuracy %.2f%%", 100.0 * e.accuracy);
        printf("\n");
        if (cm && no <= 20) {
            printf("  confusion (rows: true, columns: predicted)\n       ");
            for (int64_t j = 0; j < no; j++)
                printf(" %6lld", (long long)j);
            printf("\n");
            for (int64_t i = 0; i < no; i++) {
                printf("  %5lld", (long long)i);
                for (int64_t j = 0; j < no; j++)
                    printf(" %6lld", (long long)cm[i * no + j]);
                printf("\n");
            }
        }
        free(cm);
    }
    return true;
}

static bool do_text(Repl *r, int argc, char **argv)
{
    if (argc != 2)
        return fail(r, "usage: text FILE");
    if (!need_net(r))
        return false;
    if (is_session_input(argv[1]))
        return fail(r, "%s: the session's commands are read from there; give the text as a file", argv[1]);
    RtData train = {0}, test = {0};
    char *path = strdup(argv[1]);
    if (!path)
        return fail(r, "out of memory");
    if (!load_text_sets(r, argv[1], &train, &test)) {
        free(path);
        return false;
    }
    drop_data(r);
    r->train = train, r->test = test, r->have_train = r->have_test = true, r->text_from = path;
    printf("%s: %lld windows of %lld bytes for training, %lld held out for validation (the test set)\n", argv[1],
           (long long)train.n, (long long)r->net->input.steps, (long long)test.n);
    return true;
}

static bool do_generate(Repl *r, int argc, char **argv)
{
    if (!need_net(r))
        return false;
    GenerateOptions o = {200, 0.8, NULL, r->shuffle_seed + (uint64_t)r->epochs_done};
    int first_text = 1;
    if (argc > 1) {
        char *end;
        errno = 0;
        long long len = strtoll(argv[1], &end, 10);
        if (!*end && end != argv[1]) {   /* a number: the length (else the prime's first word) */
            if (errno || len < 0 || len > 1000000)
                return fail(r, "generate: the length must be from 0 to 1000000, not %s", argv[1]);
            o.length = len;
            first_text = 2;
        }
    }
    RtBuf prime = {0};   /* the rest of the line, its blanks made single spaces */
    for (int i = first_text; i < argc; i++) {
        if (i > first_text)
            rt_buf_puts(&prime, " ");
        rt_buf_puts(&prime, argv[i]);
    }
    if (prime.oom) {
        rt_buf_free(&prime);
        return fail(r, "out of memory");
    }
    o.prime = prime.data;
    r->diag.src = NULL;
    bool ok = language_model_check(r->net, "generate needs", false, &r->diag) &&
              generate_text(&r->rt, r->net, &o, stdout, &r->diag);
    rt_buf_free(&prime);
    return ok;
}

static bool do_predict(Repl *r, int argc, char **argv)
{
    if (!need_net(r))
        return false;
    if (argc - 1 != r->rt.n_inputs)
        return fail(r, "predict needs %lld numbers (the network's inputs), not %d", (long long)r->rt.n_inputs,
                    argc - 1);
    float *x = malloc((size_t)r->rt.n_inputs * sizeof *x), *y = malloc((size_t)r->rt.n_outputs * sizeof *y);
    bool ok = x && y;
    for (int i = 1; ok && i < argc; i++) {
        char *end;
        x[i - 1] = strtof(argv[i], &end);
        if (*end || end == argv[i] || !isfinite(x[i - 1]))
            ok = fail(r, "'%s' is not a number", argv[i]);
    }
    if (ok) {
        r->rt.forward(r->rt.state, x, y);
        int64_t best = 0;
        for (int64_t j = 0; j < r->rt.n_outputs; j++) {
            printf("%s%.6g", j ? " " : "", y[j]);
            best = y[j] > y[best] ? j : best;
        }
        if (r->rt.softmax)
            printf("   (class %lld)", (long long)best);
        printf("\n");
    }
    free(x);
    free(y);
    return ok;
}

static bool parse_real(Repl *r, const char *s, double lo, double hi, bool lo_open, bool hi_open, double *out,
                       const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi))
        return fail(r, "%s must be a number %s %g and %s %g, not '%s'", what, lo_open ? ">" : ">=", lo,
                    hi_open ? "<" : "<=", hi, s);
    *out = v;
    return true;
}

static bool do_set(Repl *r, int argc, char **argv)
{
    if (argc != 3)
        return fail(r, "usage: set lr|momentum|weight_decay|batch|epochs|seed|backend|unroll VALUE");
    if (!need_net(r))
        return false;
    const char *k = argv[1], *v = argv[2];
    Optim *o = &r->net->optim;
    const Net saved = *r->net;
    const JitBackend saved_backend = r->backend;
    const int64_t saved_unroll = r->unroll;
    long long n;
    double f;
    if (strcmp(k, "lr") == 0) {
        if (!parse_real(r, v, 0, 1e6, true, false, &f, "lr"))
            return false;
        *r->rt.lr(r->rt.state) = (float)f;
        o->lr = f;
        printf("lr = %g\n", f);
        return true;
    }
    if (strcmp(k, "epochs") == 0) {
        if (!parse_count(r, v, 1, NNC_MAX_EPOCHS, &n, "epochs"))
            return false;
        r->net->epochs = n;
        printf("epochs = %lld\n", n);
        return true;
    }
    if (strcmp(k, "seed") == 0) {
        uint64_t seed;
        if (!parse_repl_seed(r, v, &seed))
            return false;
        r->shuffle_seed = r->net->seed = seed;
        r->net->has_seed = true;
        r->epochs_done = 0;
        printf("seed = %llu (for shuffling, and for 'init')\n", (unsigned long long)seed);
        return true;
    }
    if (strcmp(k, "momentum") == 0) {
        if (o->kind != OPTIM_SGD)
            return fail(r, "momentum is an option of sgd; this network uses %s", optim_keyword[o->kind]);
        if (!parse_real(r, v, 0, 1, false, true, &f, "momentum"))
            return false;
        o->momentum = f;
    } else if (strcmp(k, "weight_decay") == 0) {
        if (!parse_real(r, v, 0, 1e6, false, false, &f, "weight_decay"))
            return false;
        o->weight_decay = f;
    } else if (strcmp(k, "batch") == 0) {
        if (!parse_count(r, v, 1, NNC_MAX_BATCH, &n, "the batch size"))
            return false;
        r->net->batch = n;
    } else if (strcmp(k, "backend") == 0) {
        if (!parse_jit_backend(v, &r->backend))
            return fail(r, "the backend is tcc, cc or auto, not '%s'", v);
    } else if (strcmp(k, "unroll") == 0) {
        if (!parse_count(r, v, 0, 1000000, &n, "unroll"))
            return false;
        r->unroll = n;
    } else {
        return fail(r, "unknown setting '%s'; expected lr, momentum, weight_decay, batch, epochs, seed, backend or "
                    "unroll", k);
    }
    if (!rebuild(r)) {
        /* The old code still runs: put back the settings and the plan it was built from. */
        *r->net = saved;
        r->backend = saved_backend;
        r->unroll = saved_unroll;
        lower_module(r->mod, r->arena, &r->diag);
        return false;
    }
    printf("%s = %s; recompiled by %s, weights kept%s\n", k, v, compiled_by(r), tier_note(r));
    return true;
}

static bool do_init(Repl *r, int argc, char **argv)
{
    if (argc > 2)
        return fail(r, "usage: init [SEED]");
    if (!need_net(r))
        return false;
    uint64_t seed = r->net->seed;
    if (argc == 2 && !parse_repl_seed(r, argv[1], &seed))
        return false;
    float lr = *r->rt.lr(r->rt.state);
    r->rt.init(r->rt.state, seed);
    *r->rt.lr(r->rt.state) = lr;
    r->epochs_done = 0;
    printf("weights initialized from seed %llu\n", (unsigned long long)seed);
    return true;
}

static bool do_save(Repl *r, int argc, char **argv)
{
    if (argc == 2 && ends_with(argv[1], ".nnck"))
        return repl_checkpoint(r, argv[1], true);
    if (argc != 2 || !ends_with(argv[1], ".nnw"))
        return fail(r, "usage: save WEIGHTS.nnw | save CHECKPOINT.nnck");
    if (!need_net(r))
        return false;
    RtError err;
    if (!rt_save_weights(argv[1], r->rt.fingerprint, r->rt.params(r->rt.state), r->rt.n_params, &err))
        return fail(r, "%s", err.msg);
    printf("saved %lld weights to %s\n", (long long)r->rt.n_params, argv[1]);
    return true;
}

static bool do_emit(Repl *r, int argc, char **argv)
{
    bool infer = argc == 3 && strcmp(argv[2], "inference") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !infer) || !ends_with(argv[1], ".c"))
        return fail(r, "usage: emit OUT.c [inference]");
    if (!need_net(r))
        return false;
    size_t len = strlen(argv[1]);
    char *h_path = malloc(len + 1);
    if (!h_path)
        return fail(r, "out of memory");
    memcpy(h_path, argv[1], len + 1);
    h_path[len - 1] = 'h';
    const char *slash = strrchr(h_path, '/');
    /* The code the session runs, so the file computes exactly what 'predict' shows. */
    EmitOptions eo = {.unroll = jit_unroll(running_backend(r), r->unroll), .header_name = slash ? slash + 1 : h_path};
    Arena *plan = arena_new();   /* (the inference plan's copy of the module) */
    const Module *m = r->mod;
    if (infer) {
        m = plan_inference(r->mod, r->net, false, plan, &eo.infer_net);
        eo.weights = r->rt.params(r->rt.state);
    }
    RtBuf c = {0}, h = {0};
    r->diag.src = &r->src;   /* errors about the weights point at their layer */
    bool ok = emit_c(m, &eo, &c, &h, &r->diag);
    arena_free(plan);
    r->diag.src = NULL;
    if (ok) {
        OutFile files[2] = {{argv[1], &c}, {h_path, &h}};
        ok = output_write_all(files, 2, &r->diag);
    }
    if (ok)
        printf("wrote %s and %s%s\n", argv[1], h_path, infer ? " (inference only, trained weights baked in)" : "");
    rt_buf_free(&c);
    rt_buf_free(&h);
    free(h_path);
    return ok;
}

static bool do_show(Repl *r, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return fail(r, "usage: show");
    if (!need_net(r))
        return false;
    RtBuf b = {0};
    Module one = *r->mod;
    one.nets = r->net;
    one.n_nets = 1;
    ir_print(&b, &one);
    if (!b.oom)
        fputs(b.data, stdout);
    rt_buf_free(&b);
    printf("  lr now   %g; backend %s%s%s%s; %d epochs trained since init\n", *r->rt.lr(r->rt.state),
           backend_name(r->backend), r->backend == JIT_AUTO ? ", running " : "",
           r->backend == JIT_AUTO ? compiled_by(r) : "", tier_note(r), r->epochs_done);
    return true;
}

static bool do_help(Repl *r, int argc, char **argv);

static bool do_quit(Repl *r, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    r->quit = true;
    return true;
}

typedef struct Command {
    const char *name, *args, *help;
    CmdFn *fn;
} Command;

static const Command commands[] = {
    {"load", "FILE [NET]", "load a network (.nn), its weights (.nnw) or a checkpoint (.nnck)", do_load},
    {"network", "NAME { ... }", "type or paste a network block", NULL},
    {"data", "FILE [labels FILE]", "training data: CSV, or IDX images (labels found by name)", do_data},
    {"test", "FILE [labels FILE]", "test data, evaluated after each epoch", do_test},
    {"train", "[EPOCHS]", "train (default: the network's epochs); Ctrl-C stops at the next batch", do_train},
    {"eval", "", "loss and accuracy (with a confusion matrix) on the data", do_eval},
    {"predict", "X1 X2 ...", "run the network on the numbers given", do_predict},
    {"text", "FILE", "a language model's data: windows of a text file, the last 10% for validation", do_text},
    {"generate", "[N] [TEXT]", "a language model: N bytes (default 200) after TEXT", do_generate},
    {"set", "KEY VALUE", "lr, epochs, seed, or (recompiling, weights kept) momentum, weight_decay, batch, backend, "
                         "unroll", do_set},
    {"init", "[SEED]", "initialize the weights again", do_init},
    {"save", "W.nnw | C.nnck", "save the weights, or the whole training state (atomically)", do_save},
    {"emit", "OUT.c [inference]", "write the C (inference: with the trained weights baked in)", do_emit},
    {"show", "", "the network: layers, shapes, parameters, bytes", do_show},
    {"help", "", "this list", do_help},
    {"quit", "", "leave (also 'exit', or end of input)", do_quit},
    {"exit", "", NULL, do_quit},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* ---- a gan block's commands ---- */

static bool gan_data(Repl *r, int argc, char **argv)
{
    if (argc != 2)
        return fail(r, "usage: data IMAGES (IDX: the real samples)");
    if (is_session_input(argv[1]))
        return fail(r, "%s: the session's commands are read from there; give the images as a file", argv[1]);
    RtData fresh = {0};
    r->diag.src = NULL;
    if (!pipeline_load_images(argv[1], r->rg.n_sample, "a gan's real samples", &fresh, &r->diag))
        return false;
    rt_data_free(&r->real);
    r->real = fresh;
    r->have_real = true;
    printf("%s: %lld real samples\n", argv[1], (long long)r->real.n);
    return true;
}

static bool gan_train(Repl *r, int argc, char **argv)
{
    long long epochs = r->gan->gen->epochs;
    if (argc > 2)
        return fail(r, "usage: train [EPOCHS]");
    if (argc == 2 && !parse_count(r, argv[1], 1, NNC_MAX_EPOCHS, &epochs, "the number of epochs"))
        return false;
    if (!r->have_real)
        return fail(r, "no real samples: 'data IMAGES' first");
    if (running_backend(r) == JIT_TCC && (!r->tier || r->tier_settled) &&
        jit_tcc_is_slow(r->gan->disc, 3 * r->real.n, epochs)) {
        fflush(stdout);
        fprintf(stderr, "note: libtcc does not optimize; 'set backend cc' trains networks of this size about "
                        "30-45x faster (bench/README.md)\n");
    }
    RtGanOptions opt = {
        .epochs = (int)epochs,
        .shuffle_seed = r->shuffle_seed + (uint64_t)r->epochs_done,
        .out = stdout,
        .progress = r->interactive && isatty(STDOUT_FILENO),
        .stop = &interrupted,
        .user = r,
        .swap_code = r->tier && !r->tier_settled ? tier_take : NULL,
        .swap_at = pipeline_tier_test_at(),
    };
    struct sigaction old;
    catch_sigint(&old);
    RtGanEpoch last;
    bool ok = rt_train_gan(&r->rg, &r->real, &opt, &last);
    sigaction(SIGINT, &old, NULL);
    return training_ended(r, ok, last.epoch, last.stopped, last.diverged,
                          "'init' and train again (a smaller learning rate in the file may help)");
}

/* generate FILE.pgm [N]: N generated images (default 64) as one picture. */
static bool gan_generate(Repl *r, int argc, char **argv)
{
    long long n = 64;
    if (argc < 2 || argc > 3 || !ends_with(argv[1], ".pgm"))
        return fail(r, "usage: generate FILE.pgm [N] (N generated images, default 64)");
    if (argc == 3 && !parse_count(r, argv[2], 1, 4096, &n, "the number of images"))
        return false;
    const Net *d = r->gan->disc;
    int64_t h = d->input.image ? d->input.h : r->have_real ? r->real.image_h : 0;
    int64_t w = d->input.image ? d->input.w : r->have_real ? r->real.image_w : 0;
    if (!h || h * w > r->rg.n_sample)
        return fail(r, "generate needs the images' shape: the discriminator's input is a vector; load the real "
                    "images first ('data IMAGES')");
    float *z = malloc((size_t)(n * r->rg.n_noise) * sizeof *z), *x = malloc((size_t)(n * r->rg.n_sample) * sizeof *x);
    if (!z || !x) {
        free(z);
        free(x);
        return fail(r, "out of memory");
    }
    RtRng rng;
    rt_rng_seed(&rng, r->shuffle_seed + UINT64_C(0x5eed));   /* the same noise all session: pictures compare */
    rt_gan_noise(&r->rg, &rng, z, n);
    r->rg.generate(r->rg.state, z, x, (int)n);
    RtError err;
    bool ok = rt_write_pgm_grid(argv[1], x, (int)n, (int)h, (int)w, n < 8 ? (int)n : 8, &err);
    free(z);
    free(x);
    if (!ok)
        return fail(r, "%s", err.msg);
    printf("wrote %s (%lld generated images)\n", argv[1], n);
    return true;
}

static bool gan_init(Repl *r, int argc, char **argv)
{
    uint64_t seed = r->rg.seed;
    if (argc > 2)
        return fail(r, "usage: init [SEED]");
    if (argc == 2 && !parse_repl_seed(r, argv[1], &seed))
        return false;
    r->rg.init(r->rg.state, seed);
    r->epochs_done = 0;
    printf("both networks initialized from seed %llu\n", (unsigned long long)seed);
    return true;
}

static bool gan_save(Repl *r, int argc, char **argv)
{
    if (argc == 2 && ends_with(argv[1], ".nnck"))
        return repl_checkpoint(r, argv[1], true);
    if (argc != 2 || !ends_with(argv[1], ".nnw"))
        return fail(r, "usage: save W.nnw (writes W.%s.nnw and W.%s.nnw) | save C.nnck", r->rg.gen_name,
                    r->rg.disc_name);
    char gp[4096], dp[4096];
    r->diag.src = NULL;
    if (!pipeline_gan_weights_path(gp, sizeof gp, argv[1], r->rg.gen_name, &r->diag) ||
        !pipeline_gan_weights_path(dp, sizeof dp, argv[1], r->rg.disc_name, &r->diag))
        return false;
    RtError err;
    if (!rt_save_weights(gp, r->rg.gen_fingerprint, r->rg.gen_params(r->rg.state), r->rg.gen_n_params, &err) ||
        !rt_save_weights(dp, r->rg.disc_fingerprint, r->rg.disc_params(r->rg.state), r->rg.disc_n_params, &err))
        return fail(r, "%s", err.msg);
    printf("saved the weights to %s and %s\n", gp, dp);
    return true;
}

static bool gan_load(Repl *r, int argc, char **argv)
{
    if (argc == 2 && ends_with(argv[1], ".nnck"))
        return repl_checkpoint(r, argv[1], false);
    if (argc != 2 || !ends_with(argv[1], ".nnw"))
        return do_load(r, argc, argv);   /* another .nn file */
    char gp[4096], dp[4096];
    r->diag.src = NULL;
    if (!pipeline_gan_weights_path(gp, sizeof gp, argv[1], r->rg.gen_name, &r->diag) ||
        !pipeline_gan_weights_path(dp, sizeof dp, argv[1], r->rg.disc_name, &r->diag))
        return false;
    RtError err;
    float *keep = malloc((size_t)r->rg.gen_n_params * sizeof *keep);
    if (!keep)
        return fail(r, "out of memory");
    memcpy(keep, r->rg.gen_params(r->rg.state), (size_t)r->rg.gen_n_params * sizeof *keep);
    bool ok = rt_load_weights(gp, r->rg.gen_fingerprint, r->rg.gen_params(r->rg.state), r->rg.gen_n_params, &err);
    if (ok && !rt_load_weights(dp, r->rg.disc_fingerprint, r->rg.disc_params(r->rg.state), r->rg.disc_n_params,
                               &err)) {   /* both or neither */
        memcpy(r->rg.gen_params(r->rg.state), keep, (size_t)r->rg.gen_n_params * sizeof *keep);
        ok = false;
    }
    free(keep);
    if (!ok)
        return fail(r, "%s", err.msg);
    printf("loaded the weights of %s and %s from %s and %s\n", r->rg.gen_name, r->rg.disc_name, gp, dp);
    return true;
}

static bool gan_show(Repl *r, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return fail(r, "usage: show");
    RtBuf b = {0};
    ir_print(&b, r->mod);
    if (!b.oom)
        fputs(b.data, stdout);
    rt_buf_free(&b);
    printf("  backend %s%s%s%s; %d epochs trained since init%s\n", backend_name(r->backend),
           r->backend == JIT_AUTO ? ", running " : "", r->backend == JIT_AUTO ? compiled_by(r) : "", tier_note(r),
           r->epochs_done,
           r->have_real ? "" : "; no real samples yet ('data IMAGES')");
    return true;
}

/* set backend tcc|cc|auto: the gan compiled again, its whole state kept
 * (the struct's layout does not depend on the backend). */
static bool gan_set(Repl *r, int argc, char **argv)
{
    JitBackend b, saved = r->backend;
    if (argc != 3 || strcmp(argv[1], "backend") != 0 || !parse_jit_backend(argv[2], &b))
        return fail(r, "usage: set backend tcc|cc|auto (a gan block's other settings are in its networks' "
                    "blocks)");
    RtGan fresh;
    JitStart js;
    r->backend = b;
    if (!compile_for(r, r->mod, NULL, r->gan, NULL, &fresh, &js)) {
        r->backend = saved;
        return false;
    }
    memcpy(fresh.state, r->rg.state, fresh.size);
    free(r->rg.state);
    jit_free(r->jit, NULL);
    r->rg = fresh;
    r->jit = js.jit;
    tier_replace(r, js.tier, !js.building);
    printf("backend %s (compiled again by %s; the weights and the optimizers' state kept)%s\n", argv[2],
           compiled_by(r), tier_note(r));
    return true;
}

static const Command gan_commands[] = {
    {"data", "IMAGES", "the real samples: IDX images", gan_data},
    {"train", "[EPOCHS]", "train both networks against each other; Ctrl-C stops at the next batch", gan_train},
    {"generate", "FILE.pgm [N]", "a picture of N generated images (default 64)", gan_generate},
    {"init", "[SEED]", "initialize both networks again", gan_init},
    {"save", "W.nnw | C.nnck", "save both networks' weights (W.GEN.nnw, W.DISC.nnw), or the training state",
     gan_save},
    {"load", "W.nnw | C.nnck | F.nn", "both networks' weights, a training state, or another file (F.nn [NET])",
     gan_load},
    {"show", "", "both networks and the gan", gan_show},
    {"set", "backend tcc|cc|auto", "compile the gan again with libtcc, cc or both (auto), keeping its state",
     gan_set},
};
enum { N_GAN_COMMANDS = sizeof gan_commands / sizeof gan_commands[0] };

static bool do_help(Repl *r, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) {
        if (!commands[i].help)
            continue;
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        printf("  %-30s %s\n", head, commands[i].help);
    }
    printf("%s a gan block (a file with one: 'load FILE.nn'):\n", r->have_gan ? "now, with" : "with");
    for (int i = 0; i < N_GAN_COMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", gan_commands[i].name, gan_commands[i].args);
        printf("  %-30s %s\n", head, gan_commands[i].help);
    }
    return true;
}

/* ---- reading input ---- */

enum { MAX_ARGS = 4096 };

static bool run_command(Repl *r, char *line)
{
    static char *argv[MAX_ARGS];
    int argc = 0;
    for (char *p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
        if (argc == MAX_ARGS)
            return fail(r, "too many words on one line (at most %d)", MAX_ARGS);
        argv[argc++] = p;
    }
    if (argc == 0)
        return true;
    if (r->have_gan) {   /* a gan block's own commands, then help and quit; the rest are a network's */
        for (int i = 0; i < N_GAN_COMMANDS; i++)
            if (strcmp(argv[0], gan_commands[i].name) == 0)
                return gan_commands[i].fn(r, argc, argv);
        for (int i = 0; i < N_COMMANDS; i++)
            if (commands[i].fn && strcmp(argv[0], commands[i].name) == 0 && commands[i].fn != do_help &&
                commands[i].fn != do_quit)
                return fail(r, "'%s' is for a network; gan %s has data, train, generate, init, save, load, show and "
                            "set backend",
                            argv[0], r->gan->name);
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (commands[i].fn && strcmp(argv[0], commands[i].name) == 0)
            return commands[i].fn(r, argc, argv);
    const char *names[N_COMMANDS];
    for (int i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    const char *hint = suggest_word(argv[0], names, N_COMMANDS);
    if (hint)
        return fail(r, "unknown command '%s' (did you mean '%s'?); 'help' lists them", argv[0], hint);
    return fail(r, "unknown command '%s'; 'help' lists them", argv[0]);
}

/* One line of input, without its newline; NULL at the end.  The result is
 * malloc'd. */
static char *read_line(Repl *r, const char *prompt)
{
    if (r->interactive) {
        char *line = readline(prompt);
        if (line && *line)
            add_history(line);
        return line;
    }
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    int ch;
    while (buf && (ch = getchar()) != EOF && ch != '\n') {
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        buf[len++] = (char)ch;
    }
    if (buf && len == 0 && ch == EOF) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Net brace depth of a line, ignoring comments. */
static int brace_depth(const char *line)
{
    int d = 0;
    for (const char *p = line; *p && *p != '#'; p++)
        d += *p == '{' ? 1 : *p == '}' ? -1 : 0;
    return d;
}

/* Reads a typed `network` block until its braces balance, then compiles it.
 * The text is padded with the session's earlier line breaks so that errors
 * carry the session's line numbers. */
static bool read_block(Repl *r, char *first)
{
    int start = r->line_no, depth = brace_depth(first);
    RtBuf text = {0};
    for (int i = 1; i < start; i++)
        rt_buf_puts(&text, "\n");
    rt_buf_puts(&text, first);
    rt_buf_puts(&text, "\n");
    bool opened = strchr(first, '{') != NULL;
    while (!opened || depth > 0) {
        char *line = read_line(r, "...> ");
        if (!line)
            break;
        r->line_no++;
        if (r->echo && !r->interactive)
            printf("...> %s\n", line);
        fflush(stdout);
        opened |= strchr(line, '{') != NULL;
        depth += brace_depth(line);
        rt_buf_puts(&text, line);
        rt_buf_puts(&text, "\n");
        free(line);
    }
    bool ok = !text.oom && use_source(r, r->interactive ? "<repl>" : "<stdin>", text.data, text.len, NULL);
    rt_buf_free(&text);
    return ok;
}

int cmd_repl(int argc, char **argv)
{
    Repl r = {0};
    diag_init(&r.diag, stderr);
    r.unroll = -1;
    r.interactive = isatty(STDIN_FILENO) != 0;
    if (!pipeline_default_backend(&r.backend, &r.diag))
        return 2;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: nnc repl [--echo] [NET.nn]\n\n"
                   "An interactive session; type 'help' for its commands.  With standard input\n"
                   "not a terminal, commands are read without prompts (--echo prints each one).\n");
            return 0;
        } else if (strcmp(argv[i], "--echo") == 0) {
            r.echo = true;
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "nnc repl: unexpected '%s'\nusage: nnc repl [--echo] [NET.nn]\n", argv[i]);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (r.interactive)
        printf("nnc %s repl: 'help' lists the commands, 'quit' leaves\n", NNC_VERSION);
    if (file) {
        char *args[2] = {"load", (char *)file};
        if (!do_load(&r, 2, args))
            r.failed = true;
    }
    while (!r.quit) {
        char *line = read_line(&r, "nnc> ");
        if (!line)
            break;
        r.line_no++;
        if (r.echo && !r.interactive)
            printf("nnc> %s\n", line);
        fflush(stdout);
        r.diag.n_errors = 0;
        r.diag.too_many = false;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        bool ok;
        /* the optimized build, if it is ready by now (a test's switch comes at its batch) */
        if (!pipeline_tier_test_at() && tier_take(false, &r) == 1)
            fprintf(stderr, "note: the optimized build (cc) is ready: %s runs on it from this command on\n",
                    r.have_gan ? r.gan->name : r.net->name);
        if (strncmp(p, "network", 7) == 0 && (p[7] == ' ' || p[7] == '\t' || p[7] == '\0'))
            ok = read_block(&r, line);
        else if (*p == '#')
            ok = true;
        else
            ok = run_command(&r, p);
        if (!ok)
            r.failed = true;
        fflush(stdout);
        free(line);
    }
    if (r.have_net) {
        jit_free(r.jit, &r.rt);
        tier_replace(&r, NULL, false);
        arena_free(r.arena);
    }
    drop_gan(&r);
    drop_data(&r);
    return r.failed && !r.interactive ? 1 : 0;
}
