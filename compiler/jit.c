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
 *        source and the command, then dlopen'ed: slower to start, faster code
 */
#include "nnc.h"
#include "nnc_rt.h"

#include <dlfcn.h>
#include <errno.h>
#include <libtcc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct Jit {
    JitBackend backend;
    TCCState *tcc;               /* kept alive while its functions are used */
    void *dl;
};

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

/* Parameter names carry the nnc_ prefix, which no network name may have: a
 * network called `x` or `seed` must not be shadowed by a parameter. */
static void glue(RtBuf *b, const Net *n)
{
    const char *N = n->name;
    rt_buf_printf(b,
               "\n/* ---- JIT glue for network %s: void-pointer entry points for the runtime ---- */\n"
               "size_t nnc_jit_size(void) { return sizeof(%s); }\n"
               "void nnc_jit_init(void *nnc_net, uint64_t nnc_seed) { %s_init((%s *)nnc_net, nnc_seed); }\n"
               "void nnc_jit_forward(void *nnc_net, const float *nnc_x, float *nnc_y)\n"
               "{ %s_forward((%s *)nnc_net, nnc_x, nnc_y); }\n"
               "void nnc_jit_forward_batch(void *nnc_net, const float *nnc_x, float *nnc_y, int nnc_n)\n"
               "{ %s_forward_batch((%s *)nnc_net, nnc_x, nnc_y, nnc_n); }\n"
               "float nnc_jit_train_step(void *nnc_net, const float *nnc_x, const float *nnc_t, int nnc_n)\n"
               "{ return %s_train_step((%s *)nnc_net, nnc_x, nnc_t, nnc_n); }\n"
               "float *nnc_jit_params(void *nnc_net) { return %s_params((%s *)nnc_net); }\n"
               "float *nnc_jit_lr(void *nnc_net) { return &((%s *)nnc_net)->lr; }\n",
               N, N, N, N, N, N, N, N, N, N, N, N, N);
}

static void tcc_error(void *opaque, const char *msg)
{
    diag_plain(opaque, DIAG_ERROR, "JIT (libtcc): %s", msg);
}

static void *lookup(Jit *j, const char *sym)
{
    return j->backend == JIT_TCC ? tcc_get_symbol(j->tcc, sym) : dlsym(j->dl, sym);
}

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

/* $XDG_CACHE_HOME/nnc or $HOME/.cache/nnc, created if needed. */
static bool cache_dir(char *out, size_t cap, Diag *diag)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/nnc", xdg);
    else if (home && *home)
        snprintf(out, cap, "%s/.cache/nnc", home);
    else {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): neither XDG_CACHE_HOME nor HOME is set; nowhere to cache");
        return false;
    }
    /* mkdir -p */
    for (char *p = out + 1;; p++) {
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
    "-mprefer-vector-width=256",     /* measured faster than 512-bit vectors for these loops */
    "-shared", "-fPIC", NULL,
};

const char *jit_cc_flags(void)
{
    static char text[256];
    if (!text[0])
        for (int i = 0; cc_flags[i] && strcmp(cc_flags[i], "-shared") != 0; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? " " : "", cc_flags[i]);
    return text;
}

bool jit_tcc_is_slow(const Net *n, int64_t samples, int64_t epochs)
{
    return (double)n->n_params * (double)samples * (double)epochs > 1e9;
}

static bool run_cc(const char *cc, const char *c_path, const char *so_tmp, Diag *diag)
{
    pid_t pid = fork();
    if (pid < 0) {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot start '%s': %s", cc, strerror(errno));
        return false;
    }
    if (pid == 0) {
        char *args[32];
        int n = 0;
        args[n++] = (char *)cc;
        for (int i = 0; cc_flags[i]; i++)
            args[n++] = (char *)cc_flags[i];
        args[n++] = "-o";
        args[n++] = (char *)so_tmp;
        args[n++] = (char *)c_path;
        args[n++] = "-lm";
        args[n] = NULL;
        execvp(cc, args);
        fprintf(stderr, "nnc: error: JIT (cc): cannot run '%s': %s\n", cc, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            diag_plain(diag, DIAG_ERROR, "JIT (cc): lost track of '%s': %s", cc, strerror(errno));
            return false;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): '%s' failed on %s", cc, c_path);
        return false;
    }
    return true;
}

static bool compile_cc(Jit *j, const RtBuf *source, Diag *diag)
{
    const char *cc = getenv("CC");
    if (!cc || !*cc)
        cc = "cc";
    char dir[3072], c_path[4096], so_path[4096], so_tmp[4200];
    if (!cache_dir(dir, sizeof dir, diag))
        return false;
    uint64_t h = hash_text(UINT64_C(0xcbf29ce484222325), source->data);
    for (int i = 0; cc_flags[i]; i++)
        h = hash_text(h, cc_flags[i]);
    h = hash_text(h, cc);
    snprintf(c_path, sizeof c_path, "%s/%016llx.c", dir, (unsigned long long)h);
    snprintf(so_path, sizeof so_path, "%s/%016llx.so", dir, (unsigned long long)h);
    if (access(so_path, R_OK) != 0) {
        OutFile f = {c_path, source};
        if (!output_write_all(&f, 1, diag))
            return false;
        snprintf(so_tmp, sizeof so_tmp, "%s.%ld.tmp", so_path, (long)getpid());
        if (!run_cc(cc, c_path, so_tmp, diag)) {
            unlink(so_tmp);
            return false;
        }
        if (rename(so_tmp, so_path) != 0) {
            diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot move %s into the cache: %s", so_tmp, strerror(errno));
            unlink(so_tmp);
            return false;
        }
    }
    j->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!j->dl) {
        diag_plain(diag, DIAG_ERROR, "JIT (cc): cannot load %s: %s", so_path, dlerror());
        return false;
    }
    return true;
}

Jit *jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, RtNet *out, Diag *diag)
{
    EmitOptions eo = {.unroll = unroll, .header_name = NULL};
    RtBuf c = {0}, h = {0}, src = {0};
    Jit *j = calloc(1, sizeof *j);
    bool ok = j != NULL && emit_c(m, &eo, &c, &h, diag);
    if (ok) {
        rt_buf_puts(&src, h.data);
        rt_buf_puts(&src, c.data);
        glue(&src, net);
        ok = !src.oom;
    }
    if (ok) {
        j->backend = backend;
        ok = backend == JIT_TCC ? compile_tcc(j, src.data, diag) : compile_cc(j, &src, diag);
    }
    rt_buf_free(&c);
    rt_buf_free(&h);
    rt_buf_free(&src);
    if (!ok) {
        jit_free(j, NULL);
        return NULL;
    }
    /* ISO C has no cast from object to function pointers; POSIX guarantees
     * they have the same representation, so copy the bytes. */
#define BIND(fn, sym)                                  \
    do {                                               \
        void *p_ = lookup(j, sym);                     \
        if (p_)                                        \
            memcpy(&(fn), &p_, sizeof p_);             \
    } while (0)
    size_t (*size)(void) = NULL;
    memset(out, 0, sizeof *out);
    BIND(size, "nnc_jit_size");
    BIND(out->init, "nnc_jit_init");
    BIND(out->forward, "nnc_jit_forward");
    BIND(out->forward_batch, "nnc_jit_forward_batch");
    BIND(out->train_step, "nnc_jit_train_step");
    BIND(out->params, "nnc_jit_params");
    BIND(out->lr, "nnc_jit_lr");
#undef BIND
    if (!size || !out->init || !out->forward || !out->forward_batch || !out->train_step || !out->params || !out->lr) {
        diag_plain(diag, DIAG_ERROR, "JIT: an entry point of network '%s' is missing after linking", net->name);
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
    out->softmax = net->layers[net->n_layers - 1].act == ACT_SOFTMAX;
    out->size = size();
    out->state = calloc(1, out->size);
    if (!out->state) {
        diag_plain(diag, DIAG_ERROR, "out of memory for the network's %zu bytes", out->size);
        jit_free(j, NULL);
        return NULL;
    }
    out->init(out->state, out->seed);
    return j;
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
