/* jit.c — compiling the emitted C at run time, for `nnc train` and the REPL.
 *
 * The JIT runs exactly the code `nnc FILE.nn -o OUT.c` writes (with the
 * same --unroll: nnc train's default for tcc is 4096): the header
 * text, then the .c, then a few lines of glue that give the runtime
 * void-pointer entry points and the struct's size.  Two backends:
 *
 *   tcc  libtcc compiles the source in memory in milliseconds (default)
 *   cc   the system compiler builds a shared object (cc_flags below),
 *        cached in $XDG_CACHE_HOME/nnc (or ~/.cache/nnc) under a hash of the
 *        source, the command and what -march=native means on this machine,
 *        then dlopen'ed: slower to start, faster code
 *
 * The cache may be shared by machines (a home folder on NFS, the ranks of
 * one job): an object is only ever taken by a machine whose compiler
 * resolves -march=native the same way, a build goes to a temporary file of
 * its own and is renamed into place whole, and an object that cannot be
 * loaded (a truncated file) or is not the one its name promises is built
 * again.  `nnc cache` (cmd_cache.c) shows and clears the folder.
 */
#include "nnc.h"
#include "nnc_rt.h"

#include <ctype.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libtcc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct Jit {
    JitBackend backend;
    TCCState *tcc;               /* kept alive while its functions are used */
    void *dl;
};

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)   /* FNV-1a's start; each byte: h ^= b, h *= 0x100000001b3 */

/* The one place that knows libtcc's API difference: 0.9.27 relocates into
 * memory it allocates with TCC_RELOCATE_AUTO; later versions take no second
 * argument. */
static int tcc_relocate_auto(TCCState *s)
{
#ifdef TCC_RELOCATE_AUTO
    return tcc_relocate(s, TCC_RELOCATE_AUTO);
#else
    return tcc_relocate(s);
#endif
}

/* The cases of nnc_jit_state for network n, reached as `access` (a pointer
 * expression), its arrays' names prefixed by `prefix`: the parameters, the
 * optimizer's buffers, lr, step and the dropout RNG: everything training
 * changes that the next step reads (the rest of the struct is scratch that
 * every step rewrites before reading). */
static void state_cases(RtBuf *b, const Net *n, const char *access, const char *prefix, int *i)
{
    for (int k = 0; k < n->n_buffers; k++) {
        const char *name = n->buffers[k].name;
        if (strcmp(name, "param") && strcmp(name, "velocity") && strcmp(name, "adam_m") && strcmp(name, "adam_v"))
            continue;
        rt_buf_printf(b, "    case %d: *nnc_p = %s->%s; *nnc_count = %lld; *nnc_u64 = 0; return \"%s%s\";\n",
                      (*i)++, access, name, (long long)n->buffers[k].floats, prefix, name);
    }
    rt_buf_printf(b, "    case %d: *nnc_p = &%s->lr; *nnc_count = 1; *nnc_u64 = 0; return \"%slr\";\n", (*i)++, access,
                  prefix);
    rt_buf_printf(b, "    case %d: *nnc_p = &%s->step; *nnc_count = 1; *nnc_u64 = 1; return \"%sstep\";\n", (*i)++,
                  access, prefix);
    if (n->has_dropout)
        rt_buf_printf(b, "    case %d: *nnc_p = &%s->rng; *nnc_count = 1; *nnc_u64 = 1; return \"%srng\";\n",
                      (*i)++, access, prefix);
}

static void state_glue_open(RtBuf *b, const char *type)
{
    rt_buf_printf(b, "const char *nnc_jit_state(void *nnc_v, int nnc_i, void **nnc_p, int64_t *nnc_count, "
                  "int *nnc_u64)\n{\n    %s *nnc_s = (%s *)nnc_v;\n    switch (nnc_i) {\n", type, type);
}

static void state_glue_close(RtBuf *b)
{
    rt_buf_puts(b, "    }\n    (void)nnc_s;\n    return 0;\n}\n");
}

/* FNV-1a over t's text (freed): what a checkpoint must match. */
static uint64_t fnv_text(RtBuf *t)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; t->data && i < t->len; i++) {
        h ^= (unsigned char)t->data[i];
        h *= UINT64_C(0x100000001b3);
    }
    rt_buf_free(t);
    return h;
}

/* A hash of the training settings: a checkpoint resumes only with the
 * settings it was written with. */
static uint64_t settings_hash(const Net *n)
{
    RtBuf t = {0};
    const Optim *o = &n->optim;
    rt_buf_printf(&t, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g loss %d batch %lld", (int)o->kind, o->lr,
                  o->momentum, o->weight_decay, o->beta1, o->beta2, o->eps, o->clip, (int)n->loss,
                  (long long)n->batch);
    if (n->sched.kind != SCHED_NONE)   /* (only then: checkpoints of networks without one stay valid) */
        rt_buf_printf(&t, " schedule %d %lld %.17g %.17g %lld", (int)n->sched.kind, (long long)n->sched.every,
                      n->sched.gamma, n->sched.min, (long long)n->sched.warmup);
    for (int i = 0; i < n->n_layers; i++)
        if (n->layers[i].kind == LAYER_DROPOUT)
            rt_buf_printf(&t, " dropout %d %.17g", i, n->layers[i].rate);
    return fnv_text(&t);
}

/* Parameter names carry the nnc_ prefix, which no network name may have: a
 * network called `x` or `seed` must not be shadowed by a parameter. */
static void glue(RtBuf *b, const Net *n)
{
    const char *N = n->name;
    rt_buf_printf(b,
               "\n/* ---- JIT glue for network %s: void-pointer entry points for the runtime ---- */\n"
               "size_t nnc_jit_size(void) { return sizeof(%s); }\n"
               "void nnc_jit_init(void *nnc_net, uint64_t nnc_seed) { %s_init((%s *)nnc_net, nnc_seed); }\n"
               "void nnc_jit_init_zeroed(void *nnc_net, uint64_t nnc_seed) { %s_init_zeroed((%s *)nnc_net, nnc_seed); }\n"
               "void nnc_jit_forward(void *nnc_net, const float *nnc_x, float *nnc_y)\n"
               "{ %s_forward((%s *)nnc_net, nnc_x, nnc_y); }\n"
               "void nnc_jit_forward_batch(void *nnc_net, const float *nnc_x, float *nnc_y, int nnc_n)\n"
               "{ %s_forward_batch((%s *)nnc_net, nnc_x, nnc_y, nnc_n); }\n"
               "float nnc_jit_train_step(void *nnc_net, const float *nnc_x, const float *nnc_t, int nnc_n)\n"
               "{ return %s_train_step((%s *)nnc_net, nnc_x, nnc_t, nnc_n); }\n"
               "float nnc_jit_backward_share(void *nnc_net, const float *nnc_x, const float *nnc_t, int nnc_n, "
               "int nnc_of)\n"
               "{ return %s_backward_share((%s *)nnc_net, nnc_x, nnc_t, nnc_n, nnc_of); }\n"
               "void nnc_jit_update(void *nnc_net) { %s_update((%s *)nnc_net); }\n"
               "float *nnc_jit_grads(void *nnc_net) { return %s_grads((%s *)nnc_net); }\n"
               "float *nnc_jit_params(void *nnc_net) { return %s_params((%s *)nnc_net); }\n"
               "float *nnc_jit_lr(void *nnc_net) { return &((%s *)nnc_net)->lr; }\n"
               "void nnc_jit_schedule(void *nnc_net, int nnc_epoch, int nnc_epochs)\n"
               "{ %s_schedule((%s *)nnc_net, nnc_epoch, nnc_epochs); }\n",
               N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N);
    int i = 0;
    state_glue_open(b, N);
    state_cases(b, n, "nnc_s", "", &i);
    state_glue_close(b);
}

static void tcc_error(void *opaque, const char *msg)
{
    diag_plain(opaque, DIAG_ERROR, "JIT (libtcc): %s", msg);
}

static void *lookup(Jit *j, const char *sym)
{
    return j->backend == JIT_TCC ? tcc_get_symbol(j->tcc, sym) : dlsym(j->dl, sym);
}

/* Binds function pointer `fn` to symbol `sym` of Jit j (left NULL when it is
 * missing).  ISO C has no cast from object to function pointers; POSIX
 * guarantees they have the same representation, so the bytes are copied. */
#define BIND(fn, sym)                                  \
    do {                                               \
        void *p_ = lookup(j, sym);                     \
        if (p_)                                        \
            memcpy(&(fn), &p_, sizeof p_);             \
    } while (0)

static bool compile_tcc(Jit *j, const char *source, Diag *diag)
{
    j->tcc = tcc_new();
    if (!j->tcc) {
        diag_plain(diag, DIAG_ERROR, "JIT: cannot start libtcc");
        return false;
    }
    tcc_set_error_func(j->tcc, diag, tcc_error);
    if (tcc_set_output_type(j->tcc, TCC_OUTPUT_MEMORY) != 0)
        return false;
    /* As -std=c99 does for gcc and clang: the C library's headers declare
     * only ISO C's names (not index, j0, M_PI, ...), as the docs promise. */
    tcc_define_symbol(j->tcc, "__STRICT_ANSI__", "1");
    if (tcc_compile_string(j->tcc, source) != 0) {
        diag_plain(diag, DIAG_ERROR, "JIT: libtcc could not compile the emitted C (a bug in nnc: please report it)");
        return false;
    }
    if (tcc_add_library(j->tcc, "m") != 0) {
        diag_plain(diag, DIAG_ERROR, "JIT: libtcc cannot find the math library");
        return false;
    }
    if (tcc_relocate_auto(j->tcc) < 0) {
        diag_plain(diag, DIAG_ERROR, "JIT: libtcc could not link the emitted C");
        return false;
    }
    return true;
}

/* ---- the cc backend ---- */

static uint64_t hash_text(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* $CC, else cc. */
static const char *cc_command(void)
{
    const char *cc = getenv("CC");
    return cc && *cc ? cc : "cc";
}

/* NNC_CACHE_TARGET_TEST, for tests only: a stand-in for what -march=native
 * means here (another CPU, simulated), or NULL. */
static const char *target_test(void)
{
    const char *t = getenv("NNC_CACHE_TARGET_TEST");
    return t && *t ? t : NULL;
}

bool jit_cache_dir(char *out, size_t cap, bool create, Diag *diag)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/nnc", xdg);
    else if (home && *home)
        snprintf(out, cap, "%s/.cache/nnc", home);
    else {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): neither XDG_CACHE_HOME nor HOME is set: there is no cache folder");
        return false;
    }
    /* mkdir -p */
    for (char *p = out + 1; create; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(out, 0777) != 0 && errno != EEXIST) {
                diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot create the cache folder '%s': %s", out,
                           strerror(errno));
                return false;
            }
            *p = saved;
            if (!saved)
                break;
        }
    }
    return true;
}

/* Whether s is `ext` then rt_temp_open's ".tmp." and six letters or digits. */
static bool temp_name(const char *s, const char *ext)
{
    size_t n = strlen(ext);
    if (strncmp(s, ext, n) != 0 || strncmp(s + n, ".tmp.", 5) != 0)
        return false;
    s += n + 5;
    for (int i = 0; i < 6; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return s[6] == '\0';
}

/* The cache's own names: KEY.so and KEY.c (KEY: 16 lower-case hex
 * digits), and the temporary files of a build, KEY.so.tmp.XXXXXX and
 * KEY.c.tmp.XXXXXX (KEY.so.PID.tmp before nnc made them with mkstemp). */
JitCacheFile jit_cache_file(const char *name)
{
    for (int i = 0; i < 16; i++)
        if (!isdigit((unsigned char)name[i]) && (name[i] < 'a' || name[i] > 'f'))
            return JIT_CACHE_OTHER;
    const char *rest = name + 16;
    if (strcmp(rest, ".so") == 0)
        return JIT_CACHE_OBJECT;
    if (strcmp(rest, ".c") == 0)
        return JIT_CACHE_SOURCE;
    if (temp_name(rest, ".so") || temp_name(rest, ".c"))
        return JIT_CACHE_TEMP;
    if (strncmp(rest, ".so.", 4) == 0) {
        size_t digits = strspn(rest + 4, "0123456789");
        if (digits > 0 && strcmp(rest + 4 + digits, ".tmp") == 0)
            return JIT_CACHE_TEMP;
    }
    return JIT_CACHE_OTHER;
}

/* How the cc backend compiles.  The emitted code vectorizes as it is (its
 * sums are written to need no reassociation, so no -ffast-math or
 * -fassociative-math: they measured no faster); contraction fuses
 * multiply-adds, so results change only in float rounding
 * (bench/README.md has the measurements).  No finite-math assumption
 * either, so NaN still reports a diverging network. */
static const char *const cc_flags[] = {
    "-std=c99", "-O3", "-march=native",
    "-ffp-contract=fast",            /* fused multiply-adds; -std=c99 turns them off otherwise */
    "-fno-math-errno",               /* sqrtf (Adam) vectorizes: nothing reads errno */
    "-mprefer-vector-width=256",     /* measured faster than 512 on Zen 4; 512 where AVX-512 is full width */
    "-shared", "-fPIC", NULL,
};

const char *jit_cc_flags(void)
{
    static char text[320];
    if (!text[0]) {
        for (int i = 0; cc_flags[i] && strcmp(cc_flags[i], "-shared") != 0; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? " " : "", cc_flags[i]);
        snprintf(text + strlen(text), sizeof text - strlen(text), " (512, and the 16-lane blocks, where "
                 "AVX-512 runs full width)");
    }
    return text;
}

/* Flag i of cc_flags as this machine gets it: where AVX-512 runs full
 * width, the compiler's own loops may use 512-bit vectors too (the example
 * LSTM trains 8% faster on a Zen 5, the MLP and the CNN as fast; on a Zen 4
 * 256 measured faster). */
static const char *cc_flag(int i)
{
    if (strncmp(cc_flags[i], "-mprefer-vector-width=", 22) == 0 && jit_full_width_avx512())
        return "-mprefer-vector-width=512";
    return cc_flags[i];
}

bool jit_tcc_is_slow(const Net *n, int64_t samples, int64_t epochs)
{
    return (double)n->n_params * (double)samples * (double)epochs > 1e9;
}

double jit_tcc_batch_seconds(const Net *n)
{
    double macs = 0;   /* of one sample, forward: each weight once per output position or step */
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        double uses = l->kind == LAYER_CONV && l->units > 0 ? (double)l->n_out / (double)l->units
                      : l->out.steps > 0 ? (double)l->out.steps : 1.0;
        macs += (double)l->w_len * uses;
    }
    /* training is about 3 forward passes; libtcc's code does about 0.5e9
     * multiply-adds a second (bench/README.md: a 14.3 M-parameter CNN, 64
     * samples in 14.5 s, Zen 5) */
    return 3.0 * macs * (double)n->batch / 0.5e9;
}

int64_t jit_unroll(JitBackend b, int64_t unroll)
{
    return unroll >= 0 ? unroll : b == JIT_TCC ? NNC_TCC_UNROLL : NNC_DEFAULT_UNROLL;
}

/* --jit=auto waits for the optimized build, rather than train on libtcc,
 * when one libtcc batch would take longer than this (cc builds the biggest
 * networks in a few seconds). */
#define TIER_WAIT_BATCH_S 2.0

bool jit_start(const Module *m, const Net *net, const Gan *gan, JitBackend backend, int64_t unroll, RtNet *net_out,
               RtGan *gan_out, JitStart *out, Diag *diag)
{
    JitBackend first = backend == JIT_AUTO ? JIT_TCC : backend;
    *out = (JitStart){.runs = first, .compiled_by = first == JIT_TCC ? "libtcc" : "cc"};
    if (backend == JIT_AUTO) {   /* started first: the compiler works while libtcc does */
        out->tier = net ? jit_tier_start(m, net, jit_unroll(JIT_CC, unroll), diag)
                        : jit_tier_start_gan(m, gan, jit_unroll(JIT_CC, unroll), diag);
        if (!out->tier)
            diag_plain(diag, DIAG_NOTE, "no optimized build: libtcc's code runs");
    }
    out->jit = net ? jit_compile(m, net, first, jit_unroll(first, unroll), net_out, diag)
                   : jit_compile_gan(m, gan, first, jit_unroll(first, unroll), gan_out, diag);
    if (!out->jit) {
        jit_tier_free(out->tier);
        out->tier = NULL;
        return false;
    }
    if (!out->tier)
        return true;
    out->building = true;
    JitTier *t = out->tier;
    /* a gan's step trains the discriminator on real and generated samples
     * and the generator through it: about its generator's batch and three
     * of its discriminator's */
    double batch_s = net ? jit_tcc_batch_seconds(net)
                         : jit_tcc_batch_seconds(gan->gen) + 3 * jit_tcc_batch_seconds(gan->disc);
    int got = 0;
    if (jit_tier_cached(t, 30)) {
        got = net ? jit_tier_poll(t, net_out, true, diag) : jit_tier_poll_gan(t, gan_out, true, diag);
        if (got == 1)
            out->compiled_by = "cc (built before, from the cache)";   /* optimized from the first batch */
    }
    if (got != 1 && batch_s > TIER_WAIT_BATCH_S) {   /* a libtcc batch would outlast the build */
        diag_plain(diag, DIAG_NOTE, "one batch of '%s' on libtcc's code would take about %.0f s: waiting for the "
                   "optimized build", net ? net->name : gan->name, batch_s);
        got = net ? jit_tier_poll(t, net_out, true, diag) : jit_tier_poll_gan(t, gan_out, true, diag);
        if (got == 1)
            out->compiled_by = "cc (waited for)";
        out->building = false;
    }
    if (got == 1) {   /* by its own code: the weights of --jit=cc, bit for bit */
        out->runs = JIT_CC;
        out->building = false;
        if (net)
            net_out->init(net_out->state, net_out->seed);
        else
            gan_out->init(gan_out->state, gan_out->seed);
    }
    return true;
}

/* In a child: runs argv[0] (found on PATH) with argv, or says why not
 * (unless `quiet`) and exits 127. */
static void exec_program(char *const argv[], bool quiet)
{
    execvp(argv[0], argv);
    if (!quiet)
        fprintf(stderr, "nnc: error: JIT (cc): cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Runs argv[0] (found on PATH) with argv and waits for it.  Its output is
 * nnc's, or with `capture` read into *capture (standard output and error
 * together, standard input /dev/null).  Returns its exit status; -1 when
 * it could not be started (errno says why), -2 when it died of a signal or
 * was lost. */
static int run_program(char *const argv[], RtBuf *capture)
{
    int fds[2] = {-1, -1};
    if (capture && pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        if (capture)
            close(fds[0]), close(fds[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        if (capture) {
            int null = open("/dev/null", O_RDONLY);
            if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
                _exit(127);
            close(null), close(fds[0]), close(fds[1]);
        }
        exec_program(argv, capture != NULL);
    }
    if (capture) {
        close(fds[1]);
        char chunk[4096];
        ssize_t n;
        while ((n = read(fds[0], chunk, sizeof chunk)) != 0)
            if (n > 0)
                rt_buf_putn(capture, chunk, (size_t)n);
            else if (errno != EINTR)
                break;
        close(fds[0]);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

/* The compiler's command line for c_path into so_tmp, in args[32]. */
static void cc_args(char *args[32], const char *cc, const char *c_path, const char *so_tmp)
{
    int n = 0;
    args[n++] = (char *)cc;
    for (int i = 0; cc_flags[i]; i++)
        args[n++] = (char *)cc_flag(i);
    args[n++] = "-o";
    args[n++] = (char *)so_tmp;
    args[n++] = (char *)c_path;
    args[n++] = "-lm";
    args[n] = NULL;
}

static bool run_cc(const char *cc, const char *c_path, const char *so_tmp, Diag *diag)
{
    char *args[32];
    cc_args(args, cc, c_path, so_tmp);
    int status = run_program(args, NULL);
    if (status == -1)
        diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot start '%s': %s", cc, strerror(errno));
    else if (status != 0)
        diag_plain(diag, DIAG_ERROR, "JIT (cc): '%s' failed on %s", cc, c_path);
    return status == 0;
}

/* ---- the cc backend's vector width ----
 * -march=native gives the emitted C AVX-512 where the CPU has it, and the
 * C then takes its 16-lane blocks (NNC_V16).  Some CPUs (AMD's Zen 4) run
 * a 512-bit operation as two 256-bit halves: there 16 lanes do no more work
 * a cycle than 8, and the 8-lane blocks, tuned on such a CPU, stay.  A
 * probe of about four milliseconds times chains of 8- and of 16-lane
 * multiplies and adds, and keeps 16 lanes where they do at least 1.5x the
 * work (a ratio near 1.5 is measured again, up to twice). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__TINYC__)
typedef float probe_v8 __attribute__((vector_size(32)));
typedef float probe_v16 __attribute__((vector_size(64)));

/* 12 independent chains c = c * m + a, n rounds: enough in flight to keep
 * every floating-point pipe busy. */
#define PROBE_CHAINS(T, n, io)                                                                  \
    do {                                                                                        \
        T c0 = io[0], c1 = io[1], c2 = io[2], c3 = io[3], c4 = io[4], c5 = io[5], c6 = io[6],   \
          c7 = io[7], c8 = io[8], c9 = io[9], c10 = io[10], c11 = io[11];                       \
        const T m = io[12], a = io[13];                                                         \
        for (long i_ = 0; i_ < (n); i_++) {                                                     \
            c0 = c0 * m + a, c1 = c1 * m + a, c2 = c2 * m + a, c3 = c3 * m + a;                 \
            c4 = c4 * m + a, c5 = c5 * m + a, c6 = c6 * m + a, c7 = c7 * m + a;                 \
            c8 = c8 * m + a, c9 = c9 * m + a, c10 = c10 * m + a, c11 = c11 * m + a;             \
        }                                                                                       \
        io[0] = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;                    \
    } while (0)

__attribute__((target("avx2"), noinline)) static void probe_chains8(long n, probe_v8 *io)
{
    PROBE_CHAINS(probe_v8, n, io);
}

__attribute__((target("avx512f"), noinline)) static void probe_chains16(long n, probe_v16 *io)
{
    PROBE_CHAINS(probe_v16, n, io);
}

static volatile float probe_sink;

/* The best of 5 runs of n rounds at each width, the widths in turns. */
static void probe_seconds(long n, double *t8, double *t16)
{
    probe_v16 io16[14];
    probe_v8 io8[14];
    *t8 = *t16 = 1e9;
    for (int rep = 0; rep < 10; rep++) {
        for (int i = 0; i < 14; i++)
            for (int k = 0; k < 16; k++) {
                io16[i][k] = i == 12 ? 0.999f : i == 13 ? 0.001f : 0.5f;
                if (k < 8)
                    io8[i][k] = io16[i][k];
            }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (rep % 2)
            probe_chains16(n, io16);
        else
            probe_chains8(n, io8);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        probe_sink = rep % 2 ? io16[0][0] : io8[0][0];   /* the chains' work is used */
        double t = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        double *best = rep % 2 ? t16 : t8;
        *best = t < *best ? t : *best;
    }
}
#endif

bool jit_full_width_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__TINYC__)
    static int known = -1;
    if (target_test())
        return false;   /* (a test's simulated CPU: its keys must not hang on the probe's timing) */
    if (known < 0) {
        __builtin_cpu_init();
        known = 0;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")) {
            /* 12 x 200000 rounds: about 0.3 ms a run at 8 lanes on a 4 GHz core.
             * Full width measures about 2, split about 1; a ratio between the
             * two (another process took the core, the clock's steps are
             * coarse in some virtual machines) is measured again, keeping
             * each width's best, up to twice. */
            double t8 = 1e9, t16 = 1e9, ratio = 0;
            for (int tries = 0; tries < 3; tries++) {
                double a, b;
                probe_seconds(200000, &a, &b);
                t8 = a < t8 ? a : t8;
                t16 = b < t16 ? b : t16;
                ratio = t16 > 0 ? 2.0 * t8 / t16 : 0;   /* 16 lanes do twice the work of 8 in t16 */
                if (ratio < 1.25 || ratio > 1.75)
                    break;   /* clearly one or the other */
            }
            known = ratio >= 1.5;
        }
    }
    return known == 1;
#else
    return false;
#endif
}

/* ---- the cc backend's target ----
 * -march=native means another instruction set on another CPU: a cached
 * object built where AVX-512 is dies of SIGILL where it is not, and one
 * tuned for one CPU runs slowly on another.  So the cache key holds what
 * -march=native resolves to here, in the compiler's own words: `cc
 * -march=native -### -E -` prints the command it would run (and runs
 * nothing: a few milliseconds for gcc), whose target options are the
 * answer (gcc: -march=znver3 -mavx2 ... -mno-avx512f ... --param
 * l1-cache-size=48 ... -mtune=znver3; clang: -target-cpu and a
 * -target-feature for each feature), with the compiler's version line.
 * Nothing else of that output goes in: it also names folders, the working
 * directory among them, which would keep machines with the same CPU apart. */

/* The target words of one command line of `cc -###` output into *text;
 * those that name the CPU into *summary too.  `line` is cut up. */
static void target_words(char *line, RtBuf *text, RtBuf *summary)
{
    const char *pair = NULL;   /* the word before, when this word is its value */
    for (char *w = strtok(line, " "); w; w = strtok(NULL, " ")) {
        size_t n = strlen(w);
        if (n >= 2 && w[0] == '"' && w[n - 1] == '"')
            w[n - 1] = '\0', w++;
        if (!pair && (strcmp(w, "-target-cpu") == 0 || strcmp(w, "-tune-cpu") == 0 ||
                      strcmp(w, "-target-feature") == 0 || strcmp(w, "--param") == 0)) {
            pair = w;
            continue;
        }
        if (!pair && strncmp(w, "-m", 2) != 0)
            continue;
        char word[256];
        snprintf(word, sizeof word, "%s%s%s", pair ? pair : "", pair ? " " : "", w);
        rt_buf_printf(text, "%s\n", word);
        if (pair ? strstr(pair, "-cpu") != NULL
                 : strncmp(w, "-march=", 7) == 0 || strncmp(w, "-mtune=", 7) == 0 || strncmp(w, "-mcpu=", 6) == 0)
            rt_buf_printf(summary, "%s%s", summary->len ? " " : "", word);
        pair = NULL;
    }
}

/* What `cc -march=native -###` says: the target words of its command
 * lines (those that start with a space) and its first line with
 * " version " in it ("gcc version 12.2.0 (Debian 12.2.0-14)", "Debian
 * clang version 14.0.6"). */
static bool target_from_cc(const char *cc, RtBuf *text, RtBuf *summary)
{
    char *argv[] = {(char *)cc, "-march=native", "-###", "-E", "-", NULL};
    RtBuf out = {0}, version = {0};
    bool ok = run_program(argv, &out) == 0 && out.data && !out.oom;
    for (char *line = ok ? out.data : NULL, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        if (line[0] == ' ')
            target_words(line, text, summary);
        else if (!version.len && strstr(line, " version "))
            rt_buf_puts(&version, line);
    }
    ok = ok && text->len > 0;
    if (ok) {
        rt_buf_printf(text, "%s\n", version.len ? version.data : cc);
        rt_buf_printf(summary, "%s(%s)", summary->len ? " " : "", version.len ? version.data : cc);
    }
    rt_buf_free(&out);
    rt_buf_free(&version);
    return ok;
}

/* When the compiler cannot say: the first CPU of /proc/cpuinfo, its
 * identification and features (the lines that vary while it runs, MHz and
 * bogomips, left out). */
static bool target_from_cpuinfo(RtBuf *text, RtBuf *summary)
{
    static const char *const keys[] = {"vendor_id", "cpu family", "model", "model name", "flags",
                                       "CPU implementer", "CPU architecture", "CPU variant", "CPU part",
                                       "Features", NULL};
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0 && line[0] != '\n') {   /* (a blank line ends the first CPU) */
        char *colon = strchr(line, ':');
        size_t k = colon ? (size_t)(colon - line) : 0;
        while (k > 0 && isspace((unsigned char)line[k - 1]))
            k--;
        for (int i = 0; colon && keys[i]; i++)
            if (strlen(keys[i]) == k && strncmp(line, keys[i], k) == 0) {
                rt_buf_puts(text, line);
                if (strcmp(keys[i], "model name") == 0)
                    rt_buf_printf(summary, "%.*s", (int)strcspn(colon + 2, "\n"), colon + 2);
            }
    }
    free(line);
    fclose(f);
    rt_buf_puts(summary, summary->len ? " (/proc/cpuinfo)" : "the CPU of /proc/cpuinfo");
    return text->len > 0;
}

const char *jit_cc_target(uint64_t *hash)
{
    static RtBuf text, summary;
    static char known_for[1024];   /* the compiler (or the test's target) they are of */
    const char *test = target_test(), *cc = cc_command();
    char want[1024];
    snprintf(want, sizeof want, "%s%s", test ? "NNC_CACHE_TARGET_TEST=" : "", test ? test : cc);
    if (!text.len || strcmp(want, known_for) != 0) {
        rt_buf_free(&text);
        rt_buf_free(&summary);
        if (test) {
            rt_buf_puts(&text, want);
            rt_buf_puts(&summary, want);
        } else if (!target_from_cc(cc, &text, &summary)) {
            rt_buf_free(&text);
            rt_buf_free(&summary);
            if (!target_from_cpuinfo(&text, &summary)) {
                rt_buf_free(&text);
                rt_buf_free(&summary);
                rt_buf_puts(&text, "unknown");
                rt_buf_puts(&summary, "unknown (neither the compiler nor /proc/cpuinfo says)");
            }
        }
        snprintf(known_for, sizeof known_for, "%s", want);
    }
    *hash = text.oom ? 0 : hash_text(FNV_OFFSET, text.data);
    return summary.oom ? "?" : summary.data;
}

/* ---- the cache's objects ---- */

/* The cache key: a hash of the source, the compiler's flags as this
 * machine gets them, the compiler and what -march=native means here. */
static uint64_t cache_key(const char *source, const char *cc)
{
    uint64_t target;
    jit_cc_target(&target);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)target);
    uint64_t h = hash_text(FNV_OFFSET, source);
    for (int i = 0; cc_flags[i]; i++)
        h = hash_text(h, cc_flag(i));
    return hash_text(hash_text(h, cc), hex);
}

/* Whether the open file fd is a shared object of this machine's class
 * with its loaded segments and its section headers (the file's end) all
 * there; if not, why not, in why.  A truncated object can pass dlopen's
 * own checks and then die of SIGBUS on a page past the file's end. */
#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr ElfHeader;
typedef Elf64_Phdr ElfSegment;
enum { ELF_CLASS = ELFCLASS64 };
#else
typedef Elf32_Ehdr ElfHeader;
typedef Elf32_Phdr ElfSegment;
enum { ELF_CLASS = ELFCLASS32 };
#endif
static bool elf_whole(int fd, char *why, size_t cap)
{
    ElfHeader e;
    ElfSegment seg;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, cap, "%s", strerror(errno));
        return false;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < sizeof e || pread(fd, &e, sizeof e, 0) != (ssize_t)sizeof e) {
        snprintf(why, cap, "truncated: %llu bytes", (unsigned long long)size);
        return false;
    }
    if (memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 || e.e_ident[EI_CLASS] != ELF_CLASS ||
        (size_t)e.e_phentsize != sizeof seg) {
        snprintf(why, cap, "not a shared object of this machine's kind");
        return false;
    }
    bool whole = (uint64_t)e.e_shoff + (uint64_t)e.e_shnum * e.e_shentsize <= size &&
                 (uint64_t)e.e_phoff + (uint64_t)e.e_phnum * sizeof seg <= size;
    for (int i = 0; whole && i < e.e_phnum; i++)
        whole = pread(fd, &seg, sizeof seg, (off_t)(e.e_phoff + (uint64_t)i * sizeof seg)) == (ssize_t)sizeof seg &&
                (seg.p_type != PT_LOAD || (uint64_t)seg.p_offset + seg.p_filesz <= size);
    if (!whole)
        snprintf(why, cap, "truncated: %llu bytes", (unsigned long long)size);
    return whole;
}

/* Loads the cached object so_path into j->dl if it is whole and is the
 * build of `key`: its nnc_jit_key() returns it (the cheap sanity call).
 * If not, false with why not in why. */
static bool load_object(Jit *j, const char *so_path, uint64_t key, char *why, size_t cap)
{
    int fd = open(so_path, O_RDONLY);
    if (fd < 0) {
        snprintf(why, cap, "%s", strerror(errno));
        return false;
    }
    bool whole = elf_whole(fd, why, cap);
    close(fd);
    if (!whole)
        return false;
    j->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!j->dl) {
        const char *e = dlerror();
        size_t n = strlen(so_path);
        snprintf(why, cap, "%s", strncmp(e, so_path, n) == 0 && strncmp(e + n, ": ", 2) == 0 ? e + n + 2 : e);
        return false;
    }
    uint64_t (*built_for)(void) = NULL;
    BIND(built_for, "nnc_jit_key");
    if (built_for && built_for() == key)
        return true;
    if (built_for)
        snprintf(why, cap, "it is the build of key %016llx", (unsigned long long)built_for());
    else
        snprintf(why, cap, "it has no nnc_jit_key");
    dlclose(j->dl);
    j->dl = NULL;
    return false;
}

/* KEY.c: the source, then its nnc_jit_key. */
static bool write_source(const RtBuf *source, uint64_t key, const char *c_path, Diag *diag)
{
    RtBuf text = {0};
    rt_buf_puts(&text, source->data);
    rt_buf_printf(&text, "\n/* the cache key of this build: nnc calls it after loading %016llx.so */\n"
                  "uint64_t nnc_jit_key(void) { return UINT64_C(0x%016llx); }\n",
                  (unsigned long long)key, (unsigned long long)key);
    OutFile f = {c_path, &text};
    bool ok = !text.oom && output_write_all(&f, 1, diag);
    if (text.oom)
        diag_plain(diag, DIAG_ERROR, "JIT (cc): out of memory for the source");
    rt_buf_free(&text);
    return ok;
}

/* The empty temporary file the compiler writes the object into, beside
 * so_path, in *t; false, said on diag, when it cannot be made. */
static bool object_temp(RtTempFile *t, const char *so_path, Diag *diag)
{
    const char *what = "cannot create it";
    bool opened = rt_temp_open(t, so_path);
    if (opened && t->direct) {   /* (only a hand-made file in the cache can be one) */
        diag_plain(diag, DIAG_ERROR, "JIT (cc): %s is not a regular file; remove it", so_path);
        rt_temp_discard(t);
        return false;
    }
    if (!opened || !rt_temp_finish(t, &what)) {   /* (empty, the usual mode: cc writes it) */
        diag_plain(diag, DIAG_ERROR, "JIT (cc): a temporary file beside %s: %s: %s", so_path, what,
                   strerror(errno));
        rt_temp_discard(t);
        return false;
    }
    return true;
}

/* Writes KEY.c and builds KEY.so from it, into a temporary file of this
 * process's own (mkstemp's name: two machines sharing the folder may run
 * equal pids), renamed into place whole.  Processes building the same
 * object at once (the ranks of one job) each rename a complete object over
 * the other's. */
static bool build_object(const char *cc, const RtBuf *source, uint64_t key, const char *c_path, const char *so_path,
                         Diag *diag)
{
    RtTempFile t;
    if (!write_source(source, key, c_path, diag) || !object_temp(&t, so_path, diag))
        return false;
    bool ok = run_cc(cc, c_path, t.tmp, diag);
    if (ok && !rt_temp_commit(&t)) {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot move %s into the cache: %s", t.tmp, strerror(errno));
        ok = false;
    }
    rt_temp_discard(&t);
    return ok;
}

static bool compile_cc(Jit *j, const RtBuf *source, Diag *diag)
{
    const char *cc = cc_command();
    char dir[3072], c_path[4096], so_path[4096], why[512];
    if (!jit_cache_dir(dir, sizeof dir, true, diag))
        return false;
    uint64_t key = cache_key(source->data, cc);
    snprintf(c_path, sizeof c_path, "%s/%016llx.c", dir, (unsigned long long)key);
    snprintf(so_path, sizeof so_path, "%s/%016llx.so", dir, (unsigned long long)key);
    if (access(so_path, F_OK) == 0) {
        if (load_object(j, so_path, key, why, sizeof why))
            return true;
        diag_plain(diag, DIAG_NOTE, "JIT (cc): cached object %s could not be loaded (%s); rebuilding", so_path, why);
    }
    if (!build_object(cc, source, key, c_path, so_path, diag))
        return false;
    if (!load_object(j, so_path, key, why, sizeof why)) {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot load %s: %s", so_path, why);
        return false;
    }
    return true;
}

/* The module's C with `glue_text` after it, as `backend` compiles it,
 * into *src; false on errors. */
static bool jit_source(const Module *m, const char *glue_text, JitBackend backend, int64_t unroll, RtBuf *src,
                       Diag *diag)
{
    EmitOptions eo = {.unroll = unroll, .header_name = NULL};
    RtBuf c = {0}, h = {0};
    bool ok = emit_c(m, &eo, &c, &h, diag);
    if (ok) {
        /* where 16 lanes would not pay, the 8-lane blocks (and the cache key
         * says so, being a hash of this text) */
        if (backend == JIT_CC && !jit_full_width_avx512())
            rt_buf_puts(src, "#define NNC_NO_V16 1   /* jit_full_width_avx512(): 16 lanes do not pay here */\n");
        rt_buf_puts(src, h.data);
        rt_buf_puts(src, c.data);
        rt_buf_puts(src, glue_text);
        ok = !src->oom;
        if (src->oom)
            diag_plain(diag, DIAG_ERROR, "JIT: out of memory for the C source");
    }
    rt_buf_free(&c);
    rt_buf_free(&h);
    return ok;
}

/* The module's C with `glue_text` after it, compiled; NULL on errors. */
static Jit *build(const Module *m, const char *glue_text, JitBackend backend, int64_t unroll, Diag *diag)
{
    RtBuf src = {0};
    Jit *j = calloc(1, sizeof *j);
    bool ok = j != NULL && jit_source(m, glue_text, backend, unroll, &src, diag);
    if (ok) {
        j->backend = backend;
        ok = backend == JIT_TCC ? compile_tcc(j, src.data, diag) : compile_cc(j, &src, diag);
    }
    rt_buf_free(&src);
    if (!ok) {
        jit_free(j, NULL);
        return NULL;
    }
    return j;
}

/* The entry points of network `name` in j into *out, and its state's
 * size; false, said on diag, when one is missing (*out's other fields are
 * left alone: a live network takes new code this way). */
static bool bind_net(Jit *j, const char *name, RtNet *out, Diag *diag)
{
    size_t (*size)(void) = NULL;
    BIND(size, "nnc_jit_size");
    BIND(out->init, "nnc_jit_init");
    BIND(out->forward, "nnc_jit_forward");
    BIND(out->forward_batch, "nnc_jit_forward_batch");
    BIND(out->train_step, "nnc_jit_train_step");
    BIND(out->backward_share, "nnc_jit_backward_share");
    BIND(out->update, "nnc_jit_update");
    BIND(out->grads, "nnc_jit_grads");
    BIND(out->params, "nnc_jit_params");
    BIND(out->lr, "nnc_jit_lr");
    BIND(out->arrays, "nnc_jit_state");
    BIND(out->schedule, "nnc_jit_schedule");
    if (!size || !out->init || !out->forward || !out->forward_batch || !out->train_step || !out->backward_share ||
        !out->update || !out->grads || !out->params || !out->lr || !out->arrays || !out->schedule) {
        diag_plain(diag, DIAG_ERROR, "JIT: an entry point of network '%s' is missing after linking", name);
        return false;
    }
    out->size = size();
    return true;
}

/* The same for gan block `name`. */
static bool bind_gan(Jit *j, const char *name, RtGan *out, Diag *diag)
{
    size_t (*size)(void) = NULL;
    BIND(size, "nnc_jit_gan_size");
    BIND(out->init, "nnc_jit_gan_init");
    BIND(out->step, "nnc_jit_gan_step");
    BIND(out->generate, "nnc_jit_gan_generate");
    BIND(out->gen_params, "nnc_jit_gan_gen_params");
    BIND(out->disc_params, "nnc_jit_gan_disc_params");
    BIND(out->schedule, "nnc_jit_gan_schedule");
    BIND(out->lr, "nnc_jit_gan_lr");
    BIND(out->arrays, "nnc_jit_state");
    if (!size || !out->init || !out->step || !out->generate || !out->gen_params || !out->disc_params ||
        !out->schedule || !out->lr || !out->arrays) {
        diag_plain(diag, DIAG_ERROR, "JIT: an entry point of gan '%s' is missing after linking", name);
        return false;
    }
    out->size = size();
    return true;
}

Jit *jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, RtNet *out, Diag *diag)
{
    if (net->loss == LOSS_NONE) {
        diag_plain(diag, DIAG_ERROR, "network '%s' has no loss of its own (loss none): it trains only "
                "from a gradient given at its outputs, %s", net->name,
                m->n_gans ? "as a gan's generator; train the gan (nnc train without --net, or the REPL's "
                            "load of the file without a network's name)" :
                "through the emitted C's NAME_backward_from (docs/emitted-api.md)");
        return NULL;
    }
    RtBuf g = {0};
    glue(&g, net);
    Jit *j = g.oom ? NULL : build(m, g.data, backend, unroll, diag);
    rt_buf_free(&g);
    if (!j)
        return NULL;
    memset(out, 0, sizeof *out);
    if (!bind_net(j, net->name, out, diag)) {
        jit_free(j, NULL);
        return NULL;
    }
    out->name = net->name;
    out->n_inputs = net->n_inputs;
    out->n_outputs = net->n_outputs;
    out->out_steps = net->out_steps;
    out->batch = net->batch;
    out->n_params = net->n_params;
    out->seed = net->seed;
    out->fingerprint = net->fingerprint;
    out->settings = settings_hash(net);
    out->has_schedule = net->sched.kind != SCHED_NONE;
    out->softmax = net->layers[net->n_layers - 1].act == ACT_SOFTMAX;
    out->state = calloc(1, out->size);
    if (!out->state) {
        diag_plain(diag, DIAG_ERROR, "out of memory for the network's %zu bytes", out->size);
        jit_free(j, NULL);
        return NULL;
    }
    /* calloc'ed: NAME_init but its memset, which would touch every page
     * of the state at once (13 ms for the example CNN's 9.8 MB in this
     * project's virtual machines; training touches them as it goes) */
    void (*init_zeroed)(void *, uint64_t) = NULL;
    BIND(init_zeroed, "nnc_jit_init_zeroed");
    (init_zeroed ? init_zeroed : out->init)(out->state, out->seed);
    return j;
}

static void gan_glue(RtBuf *b, const Gan *g)
{
    const char *N = g->name, *G = g->gen->name, *D = g->disc->name;
    rt_buf_printf(b,
               "\n/* ---- JIT glue for gan %s: void-pointer entry points for the runtime ---- */\n"
               "size_t nnc_jit_gan_size(void) { return sizeof(%s); }\n"
               "void nnc_jit_gan_init(void *nnc_g, uint64_t nnc_seed) { %s_init((%s *)nnc_g, nnc_seed); }\n"
               "int nnc_jit_gan_step(void *nnc_g, const float *nnc_real, int nnc_n, float *nnc_losses)\n"
               "{ return %s_step((%s *)nnc_g, nnc_real, nnc_n, nnc_losses); }\n"
               "void nnc_jit_gan_generate(void *nnc_g, const float *nnc_z, float *nnc_out, int nnc_n)\n"
               "{ %s_generate((%s *)nnc_g, nnc_z, nnc_out, nnc_n); }\n"
               "float *nnc_jit_gan_gen_params(void *nnc_g) { return %s_params(&((%s *)nnc_g)->%s); }\n"
               "float *nnc_jit_gan_disc_params(void *nnc_g) { return %s_params(&((%s *)nnc_g)->%s); }\n"
               "void nnc_jit_gan_schedule(void *nnc_g, int nnc_epoch, int nnc_epochs)\n"
               "{ %s_schedule(&((%s *)nnc_g)->%s, nnc_epoch, nnc_epochs); "
               "%s_schedule(&((%s *)nnc_g)->%s, nnc_epoch, nnc_epochs); }\n"
               "float *nnc_jit_gan_lr(void *nnc_g, int nnc_disc)\n"
               "{ return nnc_disc ? &((%s *)nnc_g)->%s.lr : &((%s *)nnc_g)->%s.lr; }\n",
               N, N, N, N, N, N, N, N, G, N, G, D, N, D, G, N, G, D, N, D, N, D, N, G);
    /* the checkpoint's arrays: each network's, its name before a dot, and the noise's RNG */
    char access[2][160], prefix[2][80];
    snprintf(access[0], sizeof access[0], "(&nnc_s->%s)", G);
    snprintf(access[1], sizeof access[1], "(&nnc_s->%s)", D);
    snprintf(prefix[0], sizeof prefix[0], "%s.", G);
    snprintf(prefix[1], sizeof prefix[1], "%s.", D);
    int i = 0;
    state_glue_open(b, N);
    state_cases(b, g->gen, access[0], prefix[0], &i);
    state_cases(b, g->disc, access[1], prefix[1], &i);
    rt_buf_printf(b, "    case %d: *nnc_p = &nnc_s->rng; *nnc_count = 1; *nnc_u64 = 1; return \"noise.rng\";\n", i);
    state_glue_close(b);
}

/* What a gan's checkpoint must match: both networks' shapes (`shapes`) or
 * training settings, and the noise. */
static uint64_t gan_hash(const Gan *g, bool shapes)
{
    RtBuf t = {0};
    if (shapes)
        rt_buf_printf(&t, "gan %016llx %016llx", (unsigned long long)g->gen->fingerprint,
                      (unsigned long long)g->disc->fingerprint);
    else
        rt_buf_printf(&t, "gan %016llx %016llx noise %d %.17g %.17g", (unsigned long long)settings_hash(g->gen),
                      (unsigned long long)settings_hash(g->disc), (int)g->noise, g->noise_a, g->noise_b);
    return fnv_text(&t);
}

Jit *jit_compile_gan(const Module *m, const Gan *gan, JitBackend backend, int64_t unroll, RtGan *out, Diag *diag)
{
    RtBuf gl = {0};
    gan_glue(&gl, gan);
    Jit *j = gl.oom ? NULL : build(m, gl.data, backend, unroll, diag);
    rt_buf_free(&gl);
    if (!j)
        return NULL;
    memset(out, 0, sizeof *out);
    if (!bind_gan(j, gan->name, out, diag)) {
        jit_free(j, NULL);
        return NULL;
    }
    out->name = gan->name, out->gen_name = gan->gen->name, out->disc_name = gan->disc->name;
    out->batch = gan->gen->batch;
    out->n_noise = gan->gen->n_inputs;
    out->n_sample = gan->disc->n_inputs;
    out->gen_n_params = gan->gen->n_params, out->disc_n_params = gan->disc->n_params;
    out->gen_fingerprint = gan->gen->fingerprint, out->disc_fingerprint = gan->disc->fingerprint;
    out->seed = gan->gen->seed;
    out->noise_normal = gan->noise == NOISE_NORMAL;
    out->noise_a = gan->noise_a, out->noise_b = gan->noise_b;
    out->has_schedule = gan->gen->sched.kind != SCHED_NONE || gan->disc->sched.kind != SCHED_NONE;
    out->fingerprint = gan_hash(gan, true);
    out->settings = gan_hash(gan, false);
    out->state = calloc(1, out->size);
    if (!out->state) {
        diag_plain(diag, DIAG_ERROR, "out of memory for the gan's %zu bytes", out->size);
        jit_free(j, NULL);
        return NULL;
    }
    out->init(out->state, out->seed);
    return j;
}

/* ---- the tiered JIT (--jit=auto) ----
 * Training starts on libtcc's build, which takes milliseconds.  A child
 * process (a fork of nnc: it has the module already) makes the optimized
 * one meanwhile, as --jit=cc would: emits the C, finds the object in the
 * cache or runs the compiler, and tells the parent through a pipe what it
 * found ("cached KEY PATH", or "building KEY PATH TMP", then its exit
 * status says how the build went).  Between batches the runtime asks
 * jit_tier_poll, which, once the object is there, loads it and gives the
 * live network its entry points: the state (weights, optimizer moments,
 * the run's place) is the same struct, laid out alike by both compilers,
 * so only the code that runs on it changes. */
typedef enum { TIER_BUILDING, TIER_READY, TIER_SWAPPED, TIER_FAILED } TierState;

struct JitTier {
    TierState state;
    Jit *jit;                    /* the optimized build, once loaded */
    const char *name;            /* the network's or gan block's */
    pid_t pid;                   /* the child while it runs (the leader of its process group); 0 */
    int fd;                      /* the pipe's end it writes to; -1 */
    char said[8600];             /* what it wrote so far */
    size_t said_len;
    bool cached;                 /* it found the object in the cache */
    uint64_t key;
    char so_path[4096], tmp[4200];
    double started;              /* when it started (CLOCK_MONOTONIC seconds) */
};

static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The child's work; its exit status: 0 the object is in the cache, 3 the
 * compiler failed, 4 anything else (its messages go nowhere: --jit=cc
 * shows them). */
static int tier_child(const Module *m, const char *glue_text, int64_t unroll, int fd)
{
    Diag quiet;
    diag_init(&quiet, stderr);   /* (/dev/null) */
    RtBuf src = {0}, line = {0};
    char dir[3072], c_path[4096], so_path[4096], why[512];
    const char *cc = cc_command();
    if (!jit_source(m, glue_text, JIT_CC, unroll, &src, &quiet) || !jit_cache_dir(dir, sizeof dir, true, &quiet))
        return 4;
    uint64_t key = cache_key(src.data, cc);
    snprintf(c_path, sizeof c_path, "%s/%016llx.c", dir, (unsigned long long)key);
    snprintf(so_path, sizeof so_path, "%s/%016llx.so", dir, (unsigned long long)key);
    Jit probe = {JIT_CC, NULL, NULL};
    if (access(so_path, F_OK) == 0 && load_object(&probe, so_path, key, why, sizeof why)) {
        rt_buf_printf(&line, "cached %016llx %s\n", (unsigned long long)key, so_path);
        return rt_write_all(fd, line.data, line.len) ? 0 : 4;
    }
    RtTempFile t;
    if (!write_source(&src, key, c_path, &quiet) || !object_temp(&t, so_path, &quiet))
        return 4;
    rt_buf_printf(&line, "building %016llx %s %s\n", (unsigned long long)key, so_path, t.tmp);
    if (line.oom || !rt_write_all(fd, line.data, line.len))
        return 4;
    char *args[32];
    cc_args(args, cc, c_path, t.tmp);
    int status = run_program(args, NULL);
    if (status != 0)
        return 3;
    return rt_temp_commit(&t) ? 0 : 4;
}

/* The optimized build of the module's C with `glue_text` after it, for
 * `name` (a network or a gan block), started in a child. */
static JitTier *tier_start(const Module *m, const char *glue_text, const char *name, int64_t unroll, Diag *diag)
{
    JitTier *t = glue_text ? calloc(1, sizeof *t) : NULL;
    int fds[2];
    if (!t || pipe(fds) != 0) {
        diag_plain(diag, DIAG_NOTE, "the optimized build cannot start: %s", t ? strerror(errno) : "out of memory");
        free(t);
        return NULL;
    }
    fflush(NULL);   /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {   /* quiet, in a process group of its own (Ctrl-C stops training; nnc stops it) */
        close(fds[0]);
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            _exit(4);
        _exit(tier_child(m, glue_text, unroll, fds[1]));
    }
    close(fds[1]);
    if (pid < 0) {
        diag_plain(diag, DIAG_NOTE, "the optimized build cannot start: %s", strerror(errno));
        close(fds[0]);
        free(t);
        return NULL;
    }
    setpgid(pid, pid);   /* (either may run first) */
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    t->state = TIER_BUILDING, t->name = name, t->pid = pid, t->fd = fds[0], t->started = mono_seconds();
    return t;
}

JitTier *jit_tier_start(const Module *m, const Net *net, int64_t unroll, Diag *diag)
{
    RtBuf g = {0};
    glue(&g, net);
    JitTier *t = tier_start(m, g.oom ? NULL : g.data, net->name, unroll, diag);
    rt_buf_free(&g);
    return t;
}

JitTier *jit_tier_start_gan(const Module *m, const Gan *gan, int64_t unroll, Diag *diag)
{
    RtBuf g = {0};
    gan_glue(&g, gan);
    JitTier *t = tier_start(m, g.oom ? NULL : g.data, gan->name, unroll, diag);
    rt_buf_free(&g);
    return t;
}

/* Reads what the child wrote since; with `wait_ms`, waits up to that long
 * for its first line.  Fills key, paths and `cached` from that line. */
static void tier_listen(JitTier *t, int wait_ms)
{
    double until = mono_seconds() + wait_ms * 1e-3;
    while (t->fd >= 0) {
        ssize_t n = read(t->fd, t->said + t->said_len, sizeof t->said - 1 - t->said_len);
        if (n > 0) {
            t->said_len += (size_t)n;
            t->said[t->said_len] = '\0';
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR) || t->said_len == sizeof t->said - 1) {
            close(t->fd);   /* the child is done writing */
            t->fd = -1;
            break;
        }
        if (strchr(t->said, '\n') || mono_seconds() >= until)
            break;
        if (n < 0) {
            struct timespec nap = {0, 1000000};   /* 1 ms */
            nanosleep(&nap, NULL);
        }
    }
    char word[16];
    unsigned long long key;
    if (!t->key && strchr(t->said, '\n') &&
        sscanf(t->said, "%15s %llx %4095s %4199s", word, &key, t->so_path, t->tmp) >= 3) {
        t->key = key;
        t->cached = strcmp(word, "cached") == 0;
    }
}

bool jit_tier_cached(JitTier *t, int wait_ms)
{
    tier_listen(t, wait_ms);
    return t->cached;
}

/* Whether the optimized build is loaded (1), still building (0), or
 * failed (-1: a note on diag, once). */
static int tier_ready(JitTier *t, bool wait, Diag *diag)
{
    if (t->state == TIER_BUILDING) {
        tier_listen(t, 0);
        int status;
        pid_t r;
        while ((r = waitpid(t->pid, &status, wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
            ;
        if (r == 0)
            return 0;   /* still at work */
        t->pid = 0;
        tier_listen(t, 0);
        char why[512] = "";
        int code = r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0)
            snprintf(why, sizeof why, "lost track of it: %s", strerror(errno));
        else if (code < 0)
            snprintf(why, sizeof why, "it was killed (signal %d)", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        else if (code == 3)
            snprintf(why, sizeof why, "'%s' failed; --jit=cc shows its messages", cc_command());
        else if (code != 0 || !t->key)
            snprintf(why, sizeof why, "it could not emit or write the C; --jit=cc says why");
        else {
            t->jit = calloc(1, sizeof *t->jit);
            if (!t->jit)
                snprintf(why, sizeof why, "out of memory");
            else {
                t->jit->backend = JIT_CC;
                if (load_object(t->jit, t->so_path, t->key, why, sizeof why))
                    t->state = TIER_READY;
            }
        }
        if (t->state != TIER_READY) {
            t->state = TIER_FAILED;
            if (t->tmp[0])
                unlink(t->tmp);
            diag_plain(diag, DIAG_NOTE, "the optimized build of '%s' failed after %.1f s (%s); training stays on "
                       "libtcc", t->name, mono_seconds() - t->started, why);
        }
    }
    return t->state == TIER_FAILED ? -1 : t->state == TIER_BUILDING ? 0 : 1;
}

/* After bind_*: whether the optimized build's state has libtcc's size
 * (the structs are the same C, so always; else a note, and no switch). */
static bool tier_same_size(JitTier *t, bool bound, size_t fresh, size_t live, Diag *diag)
{
    if (bound && fresh != live)
        diag_plain(diag, DIAG_NOTE, "the optimized build of '%s' lays out its state in %zu bytes, libtcc's in "
                   "%zu; training stays on libtcc", t->name, fresh, live);
    t->state = bound && fresh == live ? TIER_SWAPPED : TIER_FAILED;
    return t->state == TIER_SWAPPED;
}

int jit_tier_poll(JitTier *t, RtNet *live, bool wait, Diag *diag)
{
    int r = tier_ready(t, wait, diag);
    if (r != 1)
        return r;
    RtNet fresh = *live;   /* its code replaced, its state and figures kept */
    if (!tier_same_size(t, bind_net(t->jit, t->name, &fresh, diag), fresh.size, live->size, diag))
        return -1;
    *live = fresh;
    return 1;
}

int jit_tier_poll_gan(JitTier *t, RtGan *live, bool wait, Diag *diag)
{
    int r = tier_ready(t, wait, diag);
    if (r != 1)
        return r;
    RtGan fresh = *live;
    if (!tier_same_size(t, bind_gan(t->jit, t->name, &fresh, diag), fresh.size, live->size, diag))
        return -1;
    *live = fresh;
    return 1;
}

bool jit_tier_taken(const JitTier *t)
{
    return t->state == TIER_SWAPPED;
}

void jit_tier_free(JitTier *t)
{
    if (!t)
        return;
    if (t->pid > 0) {   /* the run ended first: the build is not waited for */
        kill(-t->pid, SIGTERM);   /* the child and its compiler */
        while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        tier_listen(t, 0);
        if (t->tmp[0])
            unlink(t->tmp);
    }
    if (t->fd >= 0)
        close(t->fd);
    jit_free(t->jit, NULL);
    free(t);
}

void jit_free(Jit *j, RtNet *net)
{
    if (net) {
        free(net->state);
        net->state = NULL;
    }
    if (!j)
        return;
    if (j->tcc)
        tcc_delete(j->tcc);
    if (j->dl)
        dlclose(j->dl);
    free(j);
}
