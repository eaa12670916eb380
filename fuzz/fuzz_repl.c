/* fuzz_repl.c — the REPL: command lines and typed `network` blocks, as a
 * piped script runs them (`nnc repl --echo < script`).
 *
 * Input: the script's text.  repl.c exports only cmd_repl, which reads
 * stdin, so each input becomes `stdin` (fmemopen) for one cmd_repl call,
 * with stdout and stderr pointed at /dev/null meanwhile (glibc's std
 * streams are variables; fd 2 stays the real stderr for the sanitizers).
 * File descriptor 0 is /dev/null, so the session is never interactive.
 *
 * The session runs in a private directory holding small real fixtures,
 * restored before every input (everything else there is removed):
 *   xor.nn sine.nn spiral.nn img.nn two.nn bad.nn   networks
 *   xor.csv sine.csv spiral.csv bad.csv             CSV data
 *   t-images-idx3-ubyte t-labels-idx1-ubyte         IDX, 3 images of 2x2
 *   g-images-idx3-ubyte.gz g-labels-idx1-ubyte.gz   the same, gzip
 *   xor.nnw bad.nnw                                 weights of xor.nn, truncated ones
 * Inputs containing '/' are skipped, so every path is one of these (or a
 * file the session itself saved or emitted): no input reads /dev/zero or
 * writes outside the directory.  Inputs are at most 16 KiB.
 *
 * Bounded, not changed: what the commands do is nnc's own code, except two
 * callees replaced at link time (-Wl,--wrap):
 *   jit_compile  refuses (an error, as a failing compiler would) the cc
 *                backend (it would run the system compiler and write
 *                ~/.cache: as if cc were not installed), networks above
 *                8 MiB of state or 2^16 multiply-adds a sample, and more
 *                than 2^16 unrolled multiply-adds; otherwise it is the real
 *                libtcc JIT, and a failure of it is a finding (the front end
 *                accepted the network, so its C must compile);
 *   rt_train     trains on at most ~2*10^7 multiply-adds per command (fewer
 *                epochs, or a prefix of the data); training itself is the
 *                runtime's, which the test suite checks numerically. */
#include "fuzz_common.h"

#include "nnc.h"
#include "nnc_rt.h"

#include <fcntl.h>
#include <zlib.h>

/* ---- the fixtures ---- */

typedef struct Fixture {
    const char *name;
    const char *text;            /* NULL: bytes/len */
    const unsigned char *bytes;
    size_t len;
    bool gzip;                   /* written gzip-compressed */
} Fixture;

static const char xor_nn[] =
    "# XOR with a 2-2-1 sigmoid network\n"
    "network xor {\n"
    "    input 2\n"
    "    dense 2 sigmoid\n"
    "    dense 1 sigmoid\n"
    "    loss mse\n"
    "    optimizer sgd lr=0.5\n"
    "    batch 1\n"
    "    epochs 2000\n"
    "    init uniform(-1, 1)\n"
    "    seed 42\n"
    "}\n";
static const char sine_nn[] =
    "network sine {\n"
    "    input 1\n"
    "    dense 16 tanh\n"
    "    dense 1\n"
    "    loss mse\n"
    "    optimizer sgd lr=0.05 momentum=0.9\n"
    "    batch 8\n"
    "    seed 3\n"
    "}\n";
static const char spiral_nn[] =
    "network spiral {\n"
    "    input 2\n"
    "    dense 8 tanh\n"
    "    dense 8 relu\n"
    "    dense 3 softmax\n"
    "    loss cross_entropy\n"
    "    optimizer adam lr=0.01\n"
    "    batch 4\n"
    "    seed 7\n"
    "}\n";
static const char img_nn[] =
    "network img {\n"
    "    input 1x2x2\n"
    "    conv 2 2x2 pad 1 relu\n"
    "    maxpool 2x2\n"
    "    dropout 0.25\n"
    "    dense 3 softmax\n"
    "    loss cross_entropy\n"
    "    optimizer sgd lr=0.1 momentum=0.5\n"
    "    batch 2\n"
    "}\n";
static const char two_nn[] =
    "network enc { input 3; dense 2 tanh; loss mse }\n"
    "network cls {\n"
    "    input 2\n"
    "    dense 4 leaky_relu(0.1)\n"
    "    dense 2 softmax\n"
    "    loss cross_entropy\n"
    "    optimizer adam lr=0.001 beta1=0.8 beta2=0.99 eps=1e-6 weight_decay=0.01\n"
    "    batch 2\n"
    "    init he\n"
    "}\n";
static const char bad_nn[] = "network bad {\n    input 2\n    dense 4 sigmod\n    loss mse\n}\n";
static const char xor_csv[] = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n";
static const char sine_csv[] = "x,y\n-3,-0.1411\n-2,-0.9093\n-1,-0.8415\n0,0\n1,0.8415\n2,0.9093\n3,0.1411\n";
static const char spiral_csv[] =
    "x,y,class\n0.0000,0.0000,0\n0.1780,0.0912,0\n0.3994,-0.0213,0\n0.4095,-0.4385,0\n-0.0894,-0.7950,0\n"
    "-0.0000,-0.0000,1\n-0.1976,0.0308,1\n-0.2459,0.3155,1\n0.0705,0.5958,1\n0.6104,0.5171,1\n0.0000,-0.0000,2\n"
    "0.1037,-0.1710,2\n-0.1413,-0.3742,2\n-0.5456,-0.2497,2\n-0.7665,0.2291,2\n";
static const char bad_csv[] = "x1,x2,y\n0,0,0\n0,zero,1\n";
static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                       0, 64, 128, 255, 255, 0, 0, 255, 10, 20, 30, 40};
static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};

static unsigned char xor_nnw[64];
static size_t xor_nnw_len;

#define TEXT(n, t) {n, t, NULL, 0, false}
static Fixture fixtures[] = {
    TEXT("xor.nn", xor_nn), TEXT("sine.nn", sine_nn), TEXT("spiral.nn", spiral_nn), TEXT("img.nn", img_nn),
    TEXT("two.nn", two_nn), TEXT("bad.nn", bad_nn), TEXT("xor.csv", xor_csv), TEXT("sine.csv", sine_csv),
    TEXT("spiral.csv", spiral_csv), TEXT("bad.csv", bad_csv),
    {"t-images-idx3-ubyte", NULL, images, sizeof images, false},
    {"t-labels-idx1-ubyte", NULL, labels, sizeof labels, false},
    {"g-images-idx3-ubyte.gz", NULL, images, sizeof images, true},
    {"g-labels-idx1-ubyte.gz", NULL, labels, sizeof labels, true},
    {"xor.nnw", NULL, xor_nnw, 0, false},
    {"bad.nnw", NULL, xor_nnw, 20, false},
};
enum { N_FIXTURES = sizeof fixtures / sizeof fixtures[0] };
static const char *keep[N_FIXTURES + 1];

static void write_fixtures(void)
{
    for (int i = 0; i < N_FIXTURES; i++) {
        const Fixture *f = &fixtures[i];
        const void *p = f->text ? (const void *)f->text : (const void *)f->bytes;
        size_t n = f->text ? strlen(f->text) : f->len;
        if (!f->gzip) {
            fuzz_write(f->name, p, n);
            continue;
        }
        gzFile gz = gzopen(f->name, "wb1");
        if (!gz || gzwrite(gz, p, (unsigned)n) != (int)n || gzclose(gz) != Z_OK)
            fuzz_bug("cannot write %s", f->name);
    }
}

/* xor.nnw: weights of xor.nn, made by the runtime itself. */
static void make_weights(void)
{
    Arena *a = arena_new();
    Source src;
    source_from_string(&src, "xor.nn", xor_nn, strlen(xor_nn));
    Diag d;
    diag_init(&d, stderr);
    Module *m = pipeline_module(&src, a, &d);
    if (!m)
        fuzz_bug("the xor fixture does not compile");
    float w[64];
    for (int i = 0; i < 64; i++)
        w[i] = 0.25f * (float)(i % 7) - 0.75f;
    RtError err;
    if (m->nets[0].n_params > 64 || !rt_save_weights("xor.nnw", m->nets[0].fingerprint, w, m->nets[0].n_params, &err))
        fuzz_bug("cannot save the weights fixture");
    FILE *f = fopen("xor.nnw", "rb");
    xor_nnw_len = f ? fread(xor_nnw, 1, sizeof xor_nnw, f) : 0;
    if (f)
        fclose(f);
    if (xor_nnw_len < 28)
        fuzz_bug("cannot read the weights fixture back");
    arena_free(a);
}

/* The session runs in fuzz_dir; libFuzzer's own paths are relative to
 * where it was started, so the harness goes back there after each input. */
static int home_fd = -1;
static bool verbose;

static void enter_sandbox(void)
{
    if (chdir(fuzz_dir) != 0)
        fuzz_bug("cannot enter %s", fuzz_dir);
}

static void leave_sandbox(void)
{
    if (fchdir(home_fd) != 0)
        fuzz_bug("cannot go back to the starting directory");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("repl");
    home_fd = open(".", O_RDONLY);
    if (home_fd < 0)
        fuzz_bug("cannot open the current directory");
    enter_sandbox();
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
        fuzz_bug("cannot point standard input at /dev/null");
    close(fd);
    make_weights();
    leave_sandbox();
    verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
    for (int i = 0; i < N_FIXTURES; i++) {
        if (fixtures[i].bytes == xor_nnw)
            fixtures[i].len = fixtures[i].len ? fixtures[i].len : xor_nnw_len;
        keep[i] = fixtures[i].name;
    }
    return 0;
}

/* ---- the wrapped callees ---- */

Jit *__real_jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, struct RtNet *out,
                        Diag *diag);
Jit *__wrap_jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, struct RtNet *out,
                        Diag *diag);
bool __real_rt_train(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt,
                     RtEpoch *last);
bool __wrap_rt_train(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt,
                     RtEpoch *last);

static double g_work;   /* multiply-adds a sample of the costliest network compiled for this input */

static double layer_macs(const Layer *l)
{
    double spatial = l->kind == LAYER_CONV ? (double)l->out.h * (double)l->out.w : 1.0;
    return (double)l->w_len * spatial + (double)l->n_out;
}

Jit *__wrap_jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, struct RtNet *out,
                        Diag *diag)
{
    if (backend != JIT_TCC) {
        diag_plain(diag, DIAG_ERROR, "fuzz: the cc backend is not available here");
        return NULL;
    }
    double unrolled = 0, work = 0;
    for (int k = 0; k < m->n_nets; k++) {
        const Net *n = &m->nets[k];
        if (n->struct_bytes > (8 << 20)) {
            diag_plain(diag, DIAG_ERROR, "fuzz: network too large for this harness");
            return NULL;
        }
        double w = 0;
        for (int i = 0; i < n->n_layers; i++) {
            double macs = layer_macs(&n->layers[i]);
            w += macs;
            if (macs <= (double)unroll)
                unrolled += macs;
        }
        if (n == net)
            work = w;
    }
    if (work > (1 << 16) || unrolled > (1 << 16)) {
        diag_plain(diag, DIAG_ERROR, "fuzz: network too costly for this harness");
        return NULL;
    }
    int errors = diag->n_errors;
    Jit *j = __real_jit_compile(m, net, backend, unroll, out, diag);
    if (!j) {
        Diag show;
        diag_init(&show, fuzz_err());
        __real_jit_compile(m, net, backend, unroll, out, &show);
        fuzz_bug("the REPL's network passed the front end, but the JIT failed on its C (%d errors)",
                 diag->n_errors - errors);
    }
    if (work > g_work)
        g_work = work;
    return j;
}

bool __wrap_rt_train(RtNet *net, const RtData *train, const RtData *test, const RtTrainOptions *opt,
                     RtEpoch *last)
{
    const double budget = 2e7, per_sample = 3 * g_work + 64;
    RtData tr = *train, te;
    if (test)
        te = *test;
    RtTrainOptions o = *opt;
    double n = (double)tr.n + (test ? (double)te.n : 0);
    double epochs = budget / (per_sample * (n > 0 ? n : 1));
    if (epochs < 1) {
        epochs = 1;
        int64_t cap = (int64_t)(budget / per_sample / 2) + 1;
        tr.n = tr.n < cap ? tr.n : cap;
        if (test)
            te.n = te.n < cap ? te.n : cap;
    }
    if (o.epochs > epochs)
        o.epochs = (int)epochs;
    if (o.report_every > o.epochs)
        o.report_every = o.epochs;
    return __real_rt_train(net, &tr, test ? &te : NULL, &o, last);
}

/* ---- one input ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 16384 || memchr(data, '/', size))
        return -1;
    g_work = 1;
    enter_sandbox();
    fuzz_clean_dir(keep);
    write_fixtures();
    char *copy = malloc(size);
    memcpy(copy, data, size);
    FILE *in = fmemopen(copy, size, "r");
    if (!in)
        fuzz_bug("fmemopen failed");
    FILE *saved_in = stdin, *saved_out = stdout, *saved_err = stderr;
    stdin = in;
    if (!verbose) {   /* FUZZ_VERBOSE=1 shows the session, for triage */
        stdout = fuzz_null();
        stderr = fuzz_null();
    }
    char *argv[] = {"repl", "--echo", NULL};
    int status = cmd_repl(2, argv);
    stdin = saved_in;
    stdout = saved_out;
    stderr = saved_err;
    fclose(in);
    free(copy);
    leave_sandbox();
    if (status != 0 && status != 1)
        fuzz_bug("nnc repl exited with %d on a script", status);
    return 0;
}
