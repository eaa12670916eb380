/* main.c — the nnc driver: reads the command line, chains the stages
 * (source -> parse -> check -> lower -> emit -> output) and decides the exit
 * status: 0 success, 1 errors in the input, 2 usage errors. */
#include "nnc.h"
#include "nnc_rt.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: nnc [options] FILE.nn\n"
    "       nnc train NET.nn --data TRAIN [options]   (nnc train --help)\n"
    "       nnc repl [--echo] [NET.nn]                (then 'help')\n"
    "       nnc generate NET.nn --load W.nnw [options] (nnc generate --help)\n"
    "       nnc cache [clear]                          (the --jit=cc cache: show, clear)\n"
    "\n"
    "Compiles the networks described in FILE.nn to specialized C.\n"
    "\n"
    "options:\n"
    "  -o OUT.c        write OUT.c and its header OUT.h (both or neither)\n"
    "  --emit=ir       print the IR (shapes, parameter offsets, buffers) to stdout;\n"
    "                  with --weights, the inference-only C's (its RAM and flash)\n"
    "  --emit=c        print the generated .c to stdout\n"
    "  --emit=h        print the generated .h to stdout\n"
    "  --emit=dot      print the network as a Graphviz graph (dot -Tsvg draws it)\n"
    "  --unroll N      unroll layers of at most N multiply-adds (default 224)\n"
    "  --weights W.nnw emit inference-only C with these trained weights baked in\n"
    "  --net NAME      with --weights: which network of the file\n"
    "  --quantize=int8 with --weights: int8 C, quantized after training (per-channel\n"
    "                  int8 weights, int8 activations, integer arithmetic), calibrated\n"
    "                  on the first samples of --calibrate DATA (IDX images or CSV)\n"
    "  --calibrate-count N  how many (default 1000)\n"
    "  --keep-activations  with --weights: every layer's output keeps a place of its\n"
    "                  own in net->act, to read after NAME_forward (more RAM); by\n"
    "                  default the layers' buffers share it by turns\n"
    "  -h, --help      show this help\n"
    "  --version       show the version\n"
    "\n"
    "Docs: README.md and docs/ in the source tree (docs/language.md: the language;\n"
    "docs/emitted-api.md: the C it emits); after `make install`, also `man nnc`\n"
    "and share/doc/nnc.\n";

typedef enum { EMIT_FILES, EMIT_IR, EMIT_C, EMIT_H, EMIT_DOT } EmitMode;

typedef struct Options {
    const char *input;
    const char *output;
    const char *weights;         /* --weights: inference-only emission */
    const char *net_name;
    bool keep_activations;       /* --keep-activations: inference without the shared plan */
    bool int8;                   /* --quantize=int8 */
    const char *calibrate;       /* --calibrate DATA */
    long long calibrate_count;   /* --calibrate-count N (0: the default) */
    EmitMode mode;
    int64_t unroll;
} Options;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("nnc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'nnc --help' for more information.\n", stderr);
    return 2;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, Options *o)
{
    o->unroll = NNC_DEFAULT_UNROLL;
    bool mode_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("nnc %s\n", NNC_VERSION);
            return 0;
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                return usage_error("option '-o' needs a file name%s", "");
            o->output = argv[++i];
        } else if (strcmp(a, "--weights") == 0 || strcmp(a, "--net") == 0) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            *(a[2] == 'w' ? &o->weights : &o->net_name) = argv[++i];
        } else if (strcmp(a, "--keep-activations") == 0) {
            o->keep_activations = true;
        } else if (strncmp(a, "--quantize", 10) == 0 && (a[10] == '=' || a[10] == '\0')) {
            const char *v = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || strcmp(v, "int8") != 0)
                return usage_error("--quantize takes int8 (--quantize=int8), not '%s'", v ? v : "");
            o->int8 = true;
        } else if (strcmp(a, "--calibrate") == 0) {
            if (i + 1 >= argc)
                return usage_error("option '--calibrate' needs a data file%s", "");
            o->calibrate = argv[++i];
        } else if (strcmp(a, "--calibrate-count") == 0) {
            if (i + 1 >= argc || !parse_whole(argv[i + 1], 1, 100000000, &o->calibrate_count))
                return usage_error("--calibrate-count needs a whole number of samples from 1, not '%s'",
                                   i + 1 < argc ? argv[i + 1] : "");
            i++;
        } else if (strncmp(a, "--emit=", 7) == 0) {
            const char *m = a + 7;
            if (mode_set)
                return usage_error("only one --emit option may be given%s", "");
            mode_set = true;
            if (strcmp(m, "ir") == 0)
                o->mode = EMIT_IR;
            else if (strcmp(m, "c") == 0)
                o->mode = EMIT_C;
            else if (strcmp(m, "h") == 0)
                o->mode = EMIT_H;
            else if (strcmp(m, "dot") == 0)
                o->mode = EMIT_DOT;
            else
                return usage_error("unknown --emit kind '%s'; expected ir, c, h or dot", m);
        } else if (strcmp(a, "--unroll") == 0 || strncmp(a, "--unroll=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                return usage_error("option '--unroll' needs a number%s", "");
            long long n;
            if (!parse_whole(v, 0, 1000000, &n))
                return usage_error("--unroll needs a whole number from 0 to 1000000, not '%s'", v);
            o->unroll = n;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (o->input) {
            return usage_error("only one input file may be given; '%s' is a second one", a);
        } else {
            o->input = a;
        }
    }
    if (!o->input)
        return usage_error("no input file%s", "");
    if (o->mode == EMIT_FILES && !o->output)
        return usage_error("nothing to do: give -o OUT.c to write C, or --emit=ir|c|h|dot to print%s", "");
    if (o->net_name && !o->weights)
        return usage_error("--net goes with --weights (all networks are emitted otherwise)%s", "");
    if (o->int8 && !o->weights)
        return usage_error("--quantize=int8 quantizes trained weights: give --weights W.nnw (and --calibrate "
                           "DATA)%s", "");
    if (o->int8 && !o->calibrate)
        return usage_error("--quantize=int8 needs --calibrate DATA: samples whose activations set the int8 "
                           "ranges (a thousand training samples are plenty)%s", "");
    if ((o->calibrate || o->calibrate_count) && !o->int8)
        return usage_error("%s goes with --quantize=int8", o->calibrate ? "--calibrate" : "--calibrate-count");
    if (o->int8 && o->keep_activations)
        return usage_error("--keep-activations is for float inference C, not --quantize=int8%s", "");
    if (o->keep_activations && !o->weights)
        return usage_error("--keep-activations is for inference-only C: it goes with --weights (training C keeps "
                           "every output anyway)%s", "");
    if (o->mode != EMIT_FILES && o->output)
        return usage_error("-o and --emit print different things; give one of them%s", "");
    if (o->output) {
        size_t len = strlen(o->output);
        if (len < 3 || strcmp(o->output + len - 2, ".c") != 0 || o->output[len - 3] == '/')
            return usage_error("the -o file must end in .c (its header is written beside it as .h), not '%s'",
                               o->output);
    }
    return -1;
}

/* "dir/net.c" -> "net.h" (what the .c includes) and "dir/net.h" (where it goes). */
static void header_names(Arena *a, const char *c_path, const char **include_name, const char **path)
{
    size_t len = strlen(c_path);
    char *h = arena_strdup(a, c_path);
    h[len - 1] = 'h';
    *path = h;
    const char *slash = strrchr(h, '/');
    *include_name = slash ? slash + 1 : h;
}

static const char *default_header_name(Arena *a, const char *input)
{
    const char *slash = strrchr(input, '/');
    const char *base = slash ? slash + 1 : input;
    size_t len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".nn") == 0)
        len -= 3;
    char *h = arena_alloc(a, len + 3);
    memcpy(h, base, len);
    memcpy(h + len, ".h", 3);
    return h;
}

/* The emitted .c and .h: printed (--emit=c, --emit=h) or written (-o). */
static int deliver(const Options *o, RtBuf *c, RtBuf *h, const char *h_path, Diag *diag)
{
    if (o->mode == EMIT_C || o->mode == EMIT_H) {
        const RtBuf *b = o->mode == EMIT_C ? c : h;
        fwrite(b->data, 1, b->len, stdout);
        return 0;
    }
    OutFile files[2] = {{o->output, c}, {h_path, h}};
    return output_write_all(files, 2, diag) ? 0 : 1;
}

/* --calibrate DATA: training data as nnc train --data takes it (IDX images,
 * or CSV rows with their targets); only the inputs are used. */
static bool load_calibration(const char *path, const Net *n, RtData *out, Diag *diag)
{
    RtError err;
    RtDataFile *f = rt_data_open(path, &err);
    bool ok = f && (rt_data_is_idx(f) ? rt_data_read_idx(f, NULL, n->n_inputs, n->n_outputs, out, &err)
                                      : rt_data_read_csv(f, NULL, n->n_inputs, n->n_outputs,
                                                         pipeline_is_classifier(n), out, &err));
    rt_data_close(f);
    if (!ok)
        diag_plain(diag, DIAG_ERROR, "--calibrate %s", err.msg);
    return ok;
}

/* --quantize=int8: the network quantized with `weights`, as C or its IR. */
static int compile_int8(const Options *o, const Module *mod, const Net *net, const float *weights, Arena *arena,
                        Diag *diag)
{
    RtData calib = {0};
    QNet q;
    if (!load_calibration(o->calibrate, net, &calib, diag))
        return 1;
    bool ok = quantize_net(net, weights, &calib, o->calibrate_count ? o->calibrate_count : 1000, arena, &q, diag);
    rt_data_free(&calib);
    if (!ok)
        return 1;
    RtBuf c = {0}, h = {0};
    int status = 0;
    const char *h_path = NULL, *h_name;
    if (o->output)
        header_names(arena, o->output, &h_name, &h_path);
    else
        h_name = default_header_name(arena, o->input);
    if (o->mode == EMIT_IR) {
        ir_print_int8(&c, mod, &q);
        fwrite(c.data, 1, c.len, stdout);
    } else {
        status = emit_int8(mod, &q, h_name, &c, &h, diag) ? deliver(o, &c, &h, h_path, diag) : 1;
    }
    rt_buf_free(&c);
    rt_buf_free(&h);
    return status;
}

static int compile(const Options *o, Arena *arena, Diag *diag)
{
    Source src;
    if (!source_load(&src, o->input, arena, diag))
        return 1;
    diag->src = &src;
    Module *mod = pipeline_module(&src, arena, diag);
    if (!mod)
        return 1;
    EmitOptions eo = {.unroll = o->unroll};
    if (o->weights && o->mode != EMIT_DOT) {
        /* (read for --emit=ir too: its figures are of the network they fit) */
        const Net *net = pipeline_pick_net(mod, o->net_name, "--net NAME", diag);
        if (!net)
            return 1;
        float *weights = arena_alloc(arena, (size_t)net->n_params * sizeof *weights);
        RtError err;
        if (!rt_load_weights(o->weights, net->fingerprint, weights, net->n_params, &err)) {
            diag_plain(diag, DIAG_ERROR, "%s", err.msg);
            return 1;
        }
        if (o->int8)
            return compile_int8(o, mod, net, weights, arena, diag);
        mod = plan_inference(mod, net, o->keep_activations, arena, &eo.infer_net);
        eo.weights = weights;
    }
    if (o->mode == EMIT_IR || o->mode == EMIT_DOT) {
        RtBuf ir = {0};
        if (o->mode == EMIT_IR && eo.infer_net)
            ir_print_infer(&ir, mod, eo.infer_net);
        else if (o->mode == EMIT_IR)
            ir_print(&ir, mod);
        else
            emit_dot(&ir, mod);
        if (!ir.oom)
            fwrite(ir.data, 1, ir.len, stdout);
        rt_buf_free(&ir);
        return 0;
    }
    const char *h_path = NULL;
    if (o->output)
        header_names(arena, o->output, &eo.header_name, &h_path);
    else
        eo.header_name = default_header_name(arena, o->input);
    RtBuf c = {0}, h = {0};
    int status = 0;
    status = emit_c(mod, &eo, &c, &h, diag) ? deliver(o, &c, &h, h_path, diag) : 1;
    rt_buf_free(&c);
    rt_buf_free(&h);
    return status;
}

int main(int argc, char **argv)
{
    /* Each line of stderr leaves in one write, not in the pieces a message
     * is printed in ("nnc: ", "error: ", the text): under mpirun, which
     * forwards every rank's stderr as it reads it, two ranks' messages then
     * no longer come out mixed within a line.  (A static buffer: no malloc,
     * which out of memory could fail.) */
    static char stderr_line[BUFSIZ];
    setvbuf(stderr, stderr_line, _IOLBF, sizeof stderr_line);
    /* A file-size limit (ulimit -f) must give "File too large" errors, which
     * nnc reports with the old file intact, not kill it mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "repl") == 0)
        return cmd_repl(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "generate") == 0)
        return cmd_generate(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "cache") == 0)
        return cmd_cache(argc - 1, argv + 1);
    /* "nnc trian net.nn": a first word that is no file (nor names one: no
     * '.' or '/'), close to a command */
    static const char *const commands[] = {"train", "repl", "generate", "cache"};
    const char *hint = argc > 1 && argv[1][0] != '-' && !strpbrk(argv[1], "./") && access(argv[1], F_OK) != 0
                           ? suggest_word(argv[1], commands, sizeof commands / sizeof commands[0])
                           : NULL;
    if (hint) {
        fprintf(stderr, "nnc: unknown command '%s' (did you mean 'nnc %s'?)\n"
                        "Try 'nnc --help' for more information.\n", argv[1], hint);
        return 2;
    }
    Options o = {0};
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    Diag diag;
    diag_init(&diag, stderr);
    Arena *arena = arena_new();
    status = compile(&o, arena, &diag);
    if (status == 0 && fflush(stdout) != 0) {
        diag_plain(&diag, DIAG_ERROR, "cannot write to standard output");
        status = 1;
    }
    arena_free(arena);
    return status;
}
