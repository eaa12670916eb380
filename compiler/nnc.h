/* nnc.h — the compiler's internal header.
 *
 * It is sectioned by file, in pipeline order, so it reads as the map of the
 * program:
 *
 *   source.c   load a .nn file (or a string) into memory
 *   diag.c     diagnostics: file:line:col, the source line, a caret
 *   arena.c    one arena per compilation; stages never call free
 *   ast.c      AST constructors used by the grammar actions
 *   parse      grammar/lexer.l + grammar/parser.y: text -> AST
 *   check.c    AST -> Net: statements, values, defaults (no shapes yet)
 *   lower.c    Net -> IR: shapes, parameter offsets, buffer layout
 *   ir_print.c IR -> text (--emit=ir)
 *   emit_*.c   IR -> specialized C (.c and .h): emit_c.c drives, one file
 *              per layer family; emit.h is their map
 *   emit_dot.c IR -> a Graphviz graph (--emit=dot)
 *   pipeline.c source -> checked, lowered Module, for every command
 *   jit.c      the emitted C compiled in memory (libtcc) or by cc
 *   cmd_train.c, cmd_generate.c, repl.c, cmd_cache.c   the `nnc train`,
 *              `nnc generate`, `nnc repl` and `nnc cache` commands
 *   output.c   atomic file writes
 *   main.c     the driver: chains the stages, decides the exit status
 *
 * The text buffer (RtBuf) and the atomic file steps come from the runtime
 * (runtime/rt_shared.h).  docs/internals.md walks through all of it.
 */
#ifndef NNC_H
#define NNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt_shared.h"   /* the runtime's text buffer (RtBuf) and atomic files */
#include "nnc_rt.h"      /* the runtime's networks and data (RtNet, RtData, RtLoss) */

#define NNC_VERSION "0.1.0"

/* Limits the language enforces, so no input can make nnc (or the C it
 * emits) allocate without bound.  Each error that cites one says so. */
#define NNC_MAX_DIM      (1 << 20)   /* units, channels, height, width, kernel */
#define NNC_MAX_BATCH    65536
#define NNC_MAX_PARAMS   (1 << 27)   /* parameters of one network */
#define NNC_MAX_BATCH_FLOATS (1 << 28)   /* activations, deltas and masks of a whole batch */
#define NNC_MAX_ACT      (1 << 27)   /* activation floats of one sample */
#define NNC_PLAIN_MACS   4096        /* matrix products of at most this many multiply-adds stay plain loops */
/* Whether emit_matmul runs an M x N x K product in register blocks (where
 * the target has vectors) rather than as plain loops. */
static inline bool matmul_blocked(int64_t M, int64_t N, int64_t K)
{
    return K > 0 && M * N * K > NNC_PLAIN_MACS;
}
#define NNC_MAX_LAYERS   1024
#define NNC_MAX_ERRORS   20          /* diagnostics stop after this many errors */
#define NNC_MAX_SOURCE   (16 << 20)  /* bytes of one .nn file */
#define NNC_DEFAULT_SEED 42u
#define NNC_DEFAULT_EPOCHS 10
#define NNC_MAX_EPOCHS 10000000
#define NNC_DEFAULT_UNROLL 224       /* multiply-adds per layer, for gcc -O2; see docs/unrolling.md */
#define NNC_GEMM_MIN_BATCH 4         /* from this batch on, big dense layers train as matrix products */
#define NNC_TCC_UNROLL 4096          /* the same for the tcc JIT, where unrolling pays longer */

/* ---- arena.c ---- */
typedef struct Arena Arena;
Arena *arena_new(void);
void *arena_alloc(Arena *a, size_t size);            /* zeroed, never NULL */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
void arena_free(Arena *a);

/* ---- source.c ---- */
typedef struct Source {
    const char *path;    /* as given on the command line */
    const char *name;    /* basename, used in emitted comments */
    const char *text;    /* NUL-terminated copy of the file */
    size_t len;
} Source;

/* A span in the source, 1-based; the field names are bison's YYLTYPE's. */
typedef struct Loc {
    int first_line, first_column;
    int last_line, last_column;      /* last_column is one past the end */
} Loc;

struct Diag;
bool source_load(Source *src, const char *path, Arena *arena, struct Diag *diag);
void source_from_string(Source *src, const char *name, const char *text, size_t len);

/* ---- diag.c ---- */
typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;
typedef struct Diag {
    const Source *src;   /* for located messages; may be NULL */
    FILE *out;           /* where messages go (stderr) */
    int n_errors, n_warnings;
    bool color;
    bool too_many;       /* NNC_MAX_ERRORS reached: later errors are dropped */
} Diag;
void diag_init(Diag *d, FILE *out);
void diag_at(Diag *d, DiagLevel level, Loc loc, const char *fmt, ...);
void diag_vat(Diag *d, DiagLevel level, Loc loc, const char *fmt, va_list ap);
void diag_plain(Diag *d, DiagLevel level, const char *fmt, ...);   /* "nnc: error: ..." */
Loc loc_span(Loc a, Loc b);
const char *suggest_word(const char *word, const char *const *choices, size_t n);

/* ---- ast.c ---- */
typedef enum { ARG_NUMBER, ARG_DIMS, ARG_WORD, ARG_CALL, ARG_KEYVAL } ArgKind;

#define NNC_MAX_DIMS 4
typedef struct Arg {
    ArgKind kind;
    Loc loc;
    const char *text;            /* the word, the number as written, or the key */
    double num;                  /* ARG_NUMBER */
    bool is_int;                 /* ARG_NUMBER written without '.' or exponent */
    bool out_of_range;           /* ARG_NUMBER/ARG_DIMS too large to represent */
    int64_t dims[NNC_MAX_DIMS];  /* ARG_DIMS: 3x3 -> {3, 3} */
    int n_dims;
    struct Arg *args;            /* ARG_CALL: arguments; ARG_KEYVAL: the value */
    struct Arg *next;
    struct Arg *last;            /* on the head of a list: its tail */
} Arg;

typedef struct Stmt {
    Loc loc;                     /* the whole statement */
    Loc kw_loc;
    const char *kw;
    Arg *args;
    struct Stmt *next;
    struct Stmt *last;           /* on the head of a list: its tail */
} Stmt;

typedef struct NetDecl {
    Loc loc, name_loc;
    const char *name;
    Stmt *stmts;
    struct NetDecl *next;
} NetDecl;

typedef struct Program {
    NetDecl *nets;
    NetDecl *gans;               /* gan blocks: the same shape, other statements */
} Program;

Arg *ast_number(Arena *a, const char *text, Loc loc);
Arg *ast_dims(Arena *a, const char *text, Loc loc);
Arg *ast_word(Arena *a, const char *text, Loc loc);
Arg *ast_call(Arena *a, const char *name, Arg *args, Loc loc);
Arg *ast_keyval(Arena *a, const char *key, Arg *value, Loc loc);
Arg *ast_append_arg(Arg *list, Arg *item);
Stmt *ast_stmt(Arena *a, const char *kw, Loc kw_loc, Arg *args, Loc loc);
Stmt *ast_append_stmt(Stmt *list, Stmt *item);
NetDecl *ast_net(Arena *a, const char *name, Loc name_loc, Stmt *stmts, Loc loc);

/* ---- parse (grammar/parser.y) ---- */
/* Parses the whole source; on syntax errors it reports them through `diag`
 * and returns what it could recover (check diag->n_errors). */
Program *parse_program(const Source *src, Arena *arena, Diag *diag);

/* ---- check.c ---- */
typedef enum {
#define ACT(id, kw, p, dp, f, d, i) ACT_##id,
#include "ops.def"
#undef ACT
    ACT__COUNT
} ActKind;
typedef enum {
#define LAYER(id, kw, hp, family) LAYER_##id,
#include "ops.def"
#undef LAYER
    LAYER__COUNT
} LayerKind;
typedef enum {
#define LOSS(id, kw) LOSS_##id,
#include "ops.def"
#undef LOSS
    LOSS__COUNT
} LossKind;
typedef enum {
#define OPTIM(id, kw) OPTIM_##id,
#include "ops.def"
#undef OPTIM
    OPTIM__COUNT
} OptimKind;
typedef enum {
#define INIT(id, kw, n) INIT_##id,
#include "ops.def"
#undef INIT
    INIT__COUNT
} InitKind;
typedef enum {
#define SCHED(id, kw) SCHED_##id,
#include "ops.def"
#undef SCHED
    SCHED__COUNT
} SchedKind;

typedef struct ActInfo {
    const char *keyword;
    bool takes_param;
    double default_param;
    const char *forward;         /* template, `$` = pre-activation */
    const char *derivative;      /* template, `$` = output, `@` = param */
    InitKind default_init;
} ActInfo;
extern const ActInfo act_info[ACT__COUNT];
typedef struct LayerInfo { const char *keyword; bool has_params; } LayerInfo;
extern const LayerInfo layer_info[LAYER__COUNT];
extern const char *const loss_keyword[LOSS__COUNT];
extern const char *const optim_keyword[OPTIM__COUNT];
extern const char *const init_keyword[INIT__COUNT];
extern const char *const sched_keyword[SCHED__COUNT];

typedef struct Shape {
    int64_t c, h, w;             /* a flat vector is {n, 1, 1} */
    bool image;                  /* CxHxW (even 8x1x1), not a flat vector */
    int64_t steps;               /* a sequence: `steps` steps of c features each ([steps][c]);
                                    0: not a sequence */
} Shape;

typedef struct Layer {
    LayerKind kind;
    Loc loc;
    int line;                    /* source line, for comments */
    /* what the statement says */
    int64_t units;               /* dense units, conv filters */
    int64_t kh, kw;              /* conv kernel, pool window */
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;
    ActKind act;
    bool act_invalid;            /* its activation was in error: the loss's checks of it are skipped */
    double act_param;            /* leaky_relu slope */
    double rate;                 /* dropout probability */
    int64_t vocab;               /* embed: the number of ids V (units is D) */
    bool return_all;             /* rnn, lstm, gru: every step's hidden state, not the last one's */
    ActKind cell_act;            /* rnn: tanh or relu, inside the cell; the layer's own `act` is
                                    linear (its output is h, nothing is applied after it) */
    /* filled in by lower.c */
    Shape in, out;
    int64_t n_in, n_out;         /* floats per sample */
    int64_t w_off, w_len;        /* weight offset and length in the parameter array */
    int64_t b_off, b_len;
    int64_t act_off;             /* offset of this layer's output in net->act (inference: in the plan) */
    int64_t pin_off;             /* inference, a padded stride-1 conv: its padded input in net->act */
    bool aliases_input;          /* flatten: output is the input, no buffer */
    int64_t mask_off;            /* dropout: offset of its mask in net->mask */
    bool gemm;                   /* dense over a whole batch at once, as matrix products (lower.c decides) */
    int64_t dx_stride;           /* stride-1 conv: floats per filter of its dz planes in the scratch */
    int64_t seq_off;             /* rnn, lstm, gru: offset of its per-step states in net->seq (RecurrentLayout) */
    int64_t wt_off;              /* rnn, lstm, gru, dense on a sequence: offset of its weights
                                    transposed in net->wt (training); recurrent layers' summed
                                    biases follow them */
    int64_t whh_stride;          /* rnn, lstm, gru: floats between the rows of W_hh transposed in
                                    net->wt ([H][GH] rows, padded where the product is blocked) */
    int64_t state_off;           /* rnn, lstm, gru: its state in net->state for one sample at a
                                    time (inference, NAME_forward): h [H], c [H] (lstm), gates
                                    [G*H], W_hh h [G*H] (gru) */
    int index;                   /* 1-based, counting every layer */
} Layer;

typedef struct Optim {
    OptimKind kind;
    Loc loc;
    double lr, momentum, weight_decay, beta1, beta2, eps;
    double clip;                 /* the global gradient norm is clipped to this; 0: no clipping */
} Optim;

typedef struct Init {
    InitKind kind;
    Loc loc;
    double a, b;                 /* uniform(a, b), normal(mean=a, std=b) */
} Init;

/* The learning rate per epoch e (0-based) of a run of `epochs`, from the
 * optimizer's lr L (docs/language.md, "Learning-rate schedules"): for
 * e < warmup, L * (e + 1) / (warmup + 1); then, with j = e - warmup, step:
 * L * gamma^floor(j / every); exponential: L * gamma^j; cosine: min + (L -
 * min) * (1 + cos(pi * j / T)) / 2 with T = max(epochs - warmup, 1); none:
 * L.  NAME_schedule computes it. */
typedef struct Schedule {
    SchedKind kind;              /* SCHED_NONE: no schedule statement */
    Loc loc;                     /* the statement */
    int64_t every;               /* step: epochs between drops */
    double gamma;                /* step, exponential: the factor */
    double min;                  /* cosine: the learning rate it falls to */
    int64_t warmup;              /* epochs of linear warm-up first (all kinds); 0: none */
} Schedule;

typedef struct Buffer {          /* one array of the emitted struct */
    const char *name;
    const char *what;            /* comment in the emitted struct */
    int64_t floats;              /* in all */
    int64_t rows;                /* floats / rows per sample: 1 for state, the batch for per-sample buffers */
} Buffer;
#define NNC_MAX_BUFFERS 14

typedef struct Net {
    const char *name;
    Loc loc, name_loc;
    Shape input;
    bool has_input;
    Loc input_loc;
    Layer *layers;
    int n_layers;
    LossKind loss;
    Loc loss_loc;
    bool has_loss;
    bool loss_written;           /* a loss statement, even an invalid one (no second error) */
    Optim optim;
    Schedule sched;              /* the learning rate per epoch (NAME_schedule) */
    int64_t batch;
    int64_t epochs;              /* for nnc train and the REPL; the emitted C ignores it */
    Init init;
    uint64_t seed;
    bool has_seed;
    /* filled in by lower.c */
    int64_t n_inputs, n_outputs, n_params, n_act;
    int64_t out_steps;           /* steps of a sequence output (the loss is their mean), else 1 */
    int64_t max_width;           /* widest layer input/output, for delta buffers */
    bool has_dropout;            /* the struct then has a mask and an RNG state */
    Buffer buffers[NNC_MAX_BUFFERS];
    int n_buffers;
    int64_t struct_bytes;
    uint64_t fingerprint;        /* hash of the layers' kinds and shapes: weight files carry it */
    const struct InferPlan *plan;   /* a copy planned for inference-only emission (plan.c); else NULL */
} Net;

typedef enum { NOISE_NORMAL, NOISE_UNIFORM } NoiseKind;

typedef struct Gan {             /* a gan block: two networks trained against each other */
    const char *name;
    Loc loc, name_loc;
    Net *gen, *disc;             /* networks of the module */
    Loc gen_loc, disc_loc;       /* the statements that name them */
    NoiseKind noise;             /* the generator's input: */
    double noise_a, noise_b;     /* normal(mean a, std b) or uniform(a, b) */
} Gan;

typedef struct Module {          /* everything one .nn file describes */
    const Source *src;
    Net *nets;
    int n_nets;
    Gan *gans;
    int n_gans;
} Module;

/* Returns NULL (with errors reported) when the program is not valid. */
Module *check_program(const Program *prog, const Source *src, Arena *arena, Diag *diag);

/* ---- lower.c ---- */
/* Resolves shapes, parameter offsets and buffers of every network. */
bool lower_module(Module *m, Arena *arena, Diag *diag);
/* Where a recurrent layer keeps the states of a batch in net->seq, step
 * major, so that each step's rows of all the samples lie together (offsets
 * from l->seq_off, in floats; B the batch; 0-length parts are absent): its
 * input copied [T][B][F]; the gates [T][B][G*H] (pre-activations, then
 * activated in place); the hidden states h_1..h_T [T][B][H] and the cells
 * c_1..c_T (lstm), each after a slot of zeros (h_0, c_0, what step 1
 * reads); W_hn h + b_hn (gru) [T][B][H]; dLoss/d(gates) [T][B][G*H] (gru:
 * its input and hidden parts apart); the carried dLoss/dh and dLoss/dc
 * [B][H]; a scratch [B][G*H].  `sample` is the floats per sample. */
typedef struct RecurrentLayout {
    int64_t x, gates, h, c, hn, dg, dgh, dh, dc, scratch, total, sample;
    int64_t g;                   /* gates per unit: 1 (rnn), 4 (lstm), 3 (gru) */
} RecurrentLayout;
RecurrentLayout recurrent_layout(const Layer *l, int64_t batch);
bool layer_is_recurrent(const Layer *l);
const Buffer *net_buffer(const Net *net, const char *name);
/* Byte offsets in the emitted struct (where uint64_t is 8-byte aligned):
 * of a float buffer of the plan (-1 if absent; its length in *floats), and
 * of the step counter. */
int64_t layout_buffer_offset(const Buffer *b, int n, const char *name, int64_t *floats);
int64_t layout_step_offset(const Buffer *b, int n);
/* Inference-only emission (--weights): whether a buffer is in the
 * one-sample struct (act, logit, pad, state), and the memory the network
 * takes: RAM, sizeof that struct (all floats, so the same on any target);
 * flash, the baked weights' const array NAME_param (4 bytes a parameter). */
bool buffer_in_inference(const Buffer *b);
int64_t infer_ram_bytes(const Net *n);
int64_t infer_flash_bytes(const Net *n);
/* sizeof the struct of a gan block (emit_gan.c's layout), where uint64_t is
 * 8-byte aligned. */
int64_t gan_struct_bytes(const Gan *g);

/* ---- plan.c: the RAM of inference-only code ---- */
typedef struct PlanBuf {
    const char *what;            /* "output" or "padded input" */
    int layer;                   /* its layer's index in net->layers */
    int first, last;             /* alive from the step of layer `first` to that of `last` (n_layers:
                                    NAME_forward's copy into y) */
    int64_t floats, off;         /* its size and place in net->act */
    int takes;                   /* the buffer whose place it takes (a pool over its input), or -1 */
} PlanBuf;
typedef struct InferPlan {
    PlanBuf *buf;
    int n;
    int64_t floats;              /* net->act: every buffer's place */
    bool keep_all;               /* every output kept (--keep-activations) */
    int64_t kept;                /* what act takes with every output kept (--keep-activations) */
} InferPlan;
/* A copy of module m for the inference-only emission of its network n:
 * *planned (in the copy) has every layer output and scratch of one sample's
 * forward pass placed in one array, net->act, by lifetime (plan.c's
 * comment), and n->plan says where; with keep_all, every output has a
 * place of its own for the whole pass (--keep-activations).  Training
 * networks are unchanged. */
Module *plan_inference(const Module *m, const Net *n, bool keep_all, Arena *arena, const Net **planned);
/* emit_conv.c: what a stride-1 convolution's inference code needs beside its
 * input and output: its padded input (0 when unpadded) and room past the end
 * of its output, in floats (0, 0 for other convolutions). */
void conv_infer_needs(const Layer *l, int64_t *pin, int64_t *spill);
/* The stride of the wide rows a stride-1 convolution's inference code writes. */
int64_t conv_infer_stride(const Layer *l);

/* ---- quantize.c: post-training static int8 quantization ---- */
typedef struct QLayer {
    double in_scale, out_scale;  /* real = scale * (q - zp), per tensor */
    int32_t in_zp, out_zp;
    int32_t lo;                  /* the lowest output: out_zp after a relu, else -128 */
    int8_t *w;                   /* dense, conv: weights, per output channel w / w_scale[c] */
    double *w_scale;             /* [units] */
    int32_t *bias;               /* [units], at in_scale * w_scale[c] */
    int32_t *mult;               /* [units] (not the output layer): in_scale * w_scale[c] / out_scale */
    int8_t *shift;               /*   = mult * 2^-shift */
    float *deq;                  /* the output layer: in_scale * w_scale[c], its sums' scales */
    bool has_buffer;             /* its output has a place in act (not the output layer's, in acc) */
    int64_t off;                 /* that place */
} QLayer;
typedef struct QNet {
    const Net *net;
    QLayer *layers;              /* one per net->layers */
    double in_scale;             /* the input's quantization */
    int32_t in_zp;
    int64_t n_calib;             /* calibration samples used */
    const InferPlan *plan;       /* act's places, in bytes (plan_int8) */
    int64_t xq_off;              /* the quantized input's place in act */
    int64_t act_bytes, ram_bytes, flash_bytes;   /* act; sizeof(NAME); sizeof(NAME_q) */
} QNet;
struct RtData;
/* Quantizes network n with parameters w, calibrated on the first `count`
 * samples of calib (all when count <= 0).  Refuses, with a located error,
 * a layer int8 code cannot run and calibration data of another shape. */
bool quantize_net(const Net *n, const float *w, const struct RtData *calib, int64_t count, Arena *arena, QNet *q,
                  Diag *diag);
/* plan.c: the places of the int8 buffers (the quantized input and every
 * layer output but the last), in bytes; out[i]: layer i's output buffer. */
InferPlan *plan_int8(const Net *n, Arena *arena, int *out);
/* emit_int8.c: the int8 network's .c and .h (h_name: what the .c includes). */
bool emit_int8(const Module *m, const QNet *q, const char *h_name, RtBuf *c, RtBuf *h, Diag *diag);
/* ir_print.c: the int8 network's IR: scales and zero points, the plan, RAM and flash. */
void ir_print_int8(RtBuf *out, const Module *m, const QNet *q);

/* ---- ir_print.c ---- */
void ir_print(RtBuf *out, const Module *m);
/* The IR of network n's inference-only emission (--weights): its layers,
 * the one-sample struct's buffers, and the RAM and flash it takes. */
void ir_print_infer(RtBuf *out, const Module *m, const Net *n);
void ir_describe_layer(RtBuf *b, const Layer *l);   /* "dense 2 -> 1 sigmoid" */
void ir_describe_net(RtBuf *b, const Net *n);       /* "2 -> dense 2 sigmoid -> dense 1 sigmoid" */
void ir_describe_optim(RtBuf *b, const Net *n);     /* "sgd lr=0.5 momentum=0.9" */
void ir_describe_schedule(RtBuf *b, const Net *n);  /* "cosine min=0.001 warmup=2" ("" without one) */

/* ---- emit_c.c (and the emit_*.c files of emit.h) ---- */
typedef struct EmitOptions {
    int64_t unroll;              /* layers with at most this many multiply-adds are unrolled */
    const char *header_name;     /* "net.h": what the .c includes; NULL: the .c is
                                    meant to be compiled after the header text (JIT) */
    const Net *infer_net;        /* non-NULL: emit only this network, inference only, */
    const float *weights;        /* with these n_params weights baked in as constants */
} EmitOptions;
/* Checks that every layer can be emitted (errors otherwise), then writes the
 * .c into `c` and the .h into `h`. */
bool emit_c(const Module *m, const EmitOptions *opt, RtBuf *c, RtBuf *h, Diag *diag);

/* ---- emit_dot.c ---- */
/* Every network of the module as one Graphviz digraph (`dot -Tsvg`): a node
 * for the input and one per layer (kind, output shape, activation,
 * parameters), edges labelled with the tensor shape, and a caption with the
 * name, loss, optimizer, parameter count and sizeof.  Several networks are
 * one cluster each.  The same module gives byte-identical text. */
void emit_dot(RtBuf *out, const Module *m);

/* ---- pipeline.c ---- */
/* Source text -> checked, lowered Module (parse, check, lower); NULL with
 * the errors reported when the text is not a valid program. */
Module *pipeline_module(const Source *src, Arena *arena, Diag *diag);
/* The network called `name`, or the only one when `name` is NULL; reports an
 * error (listing the networks, and `how` to choose one: "--net NAME") and
 * returns NULL otherwise. */
const Net *pipeline_pick_net(const Module *m, const char *name, const char *how, Diag *diag);
/* Whether targets are classes (softmax or sigmoid output): the data loaders
 * then record labels and training reports accuracy. */
bool pipeline_is_classifier(const Net *n);
/* The gan block `name` names, or the only one when name is NULL; NULL when
 * there is none (a network is meant then). */
const Gan *pipeline_pick_gan(const Module *m, const char *name);
/* "out.nnw" and "gen" -> "out.gen.nnw": a gan's weight file of one network
 * (false, with an error, when it does not fit in cap bytes). */
bool pipeline_gan_weights_path(char *out, size_t cap, const char *base, const char *net, Diag *diag);
/* IDX images of n_sample floats each, without labels (a gan's real
 * samples, the judge's images): errors name them as `what`. */
bool pipeline_load_images(const char *path, int64_t n_sample, const char *what, struct RtData *out, Diag *diag);
/* The network's loss as the runtime's evaluation computes it. */
RtLoss pipeline_rt_loss(const Net *n);
/* Warns (at the network's input) when IDX images loaded into `d` have the
 * network's input size but another shape (28x28 into 1x14x56). */
struct RtData;
void pipeline_warn_image_shape(Diag *diag, const Source *src, const Net *n, const struct RtData *d);

/* ---- jit.c ---- */
typedef enum { JIT_TCC, JIT_CC, JIT_AUTO } JitBackend;   /* AUTO: tcc, then cc (the tiered JIT) */
typedef struct Jit Jit;
struct RtNet;
/* Emits the module's C, compiles it in memory (tcc) or as a cached shared
 * object (cc), and fills `out` with the entry points of network `net`,
 * including a zeroed state of the right size.  NULL on failure. */
Jit *jit_compile(const Module *m, const Net *net, JitBackend backend, int64_t unroll, struct RtNet *out,
                 Diag *diag);
void jit_free(Jit *j, struct RtNet *net);   /* frees the state too */
/* The same for a gan block: its NAME_step and kin in `out` (whose state the
 * caller frees), both networks' parameters reachable. */
Jit *jit_compile_gan(const Module *m, const Gan *gan, JitBackend backend, int64_t unroll, RtGan *out, Diag *diag);
/* The tiered JIT (--jit=auto): the optimized build of network `net` (or
 * of a gan block) started in the background (or found in the cache), for a
 * live network that trains on libtcc's build meanwhile.  NULL, said on
 * diag, when it cannot start. */
typedef struct JitTier JitTier;
JitTier *jit_tier_start(const Module *m, const Net *net, int64_t unroll, Diag *diag);
JitTier *jit_tier_start_gan(const Module *m, const Gan *gan, int64_t unroll, Diag *diag);
/* Whether the optimized build was in the cache, as far as can be told
 * within wait_ms (the child says so once it has emitted the C). */
bool jit_tier_cached(JitTier *t, int wait_ms);
/* Between batches: 1 when *live now runs the optimized build's code (its
 * state untouched), 0 when that is still building (with `wait`, it waits),
 * -1 when it failed (a note on diag says why, once). */
int jit_tier_poll(JitTier *t, struct RtNet *live, bool wait, Diag *diag);
int jit_tier_poll_gan(JitTier *t, RtGan *live, bool wait, Diag *diag);
/* The unroll limit of backend b: `unroll` when it is given (>= 0), else
 * that backend's default (NNC_TCC_UNROLL, NNC_DEFAULT_UNROLL). */
int64_t jit_unroll(JitBackend b, int64_t unroll);
/* What a command's compilation left (jit_start). */
typedef struct JitStart {
    Jit *jit;                 /* the code that runs first */
    JitTier *tier;            /* auto: the optimized build; NULL otherwise */
    JitBackend runs;          /* whose code runs now: JIT_TCC or JIT_CC */
    const char *compiled_by;  /* "libtcc", "cc", or how cc's build came: "cc (built before, from the cache)",
                               * "cc (waited for)" */
    bool building;            /* the optimized build still to come */
} JitStart;
/* Compiles network `net` (or, when it is NULL, gan block `gan`) into
 * *net_out (*gan_out) as every command does: backend auto starts the
 * optimized build first, compiles with libtcc meanwhile, takes cc's build
 * at once when the cache has it, and waits for it when one libtcc batch
 * would take over 2 s (a note says so); a build taken re-initializes the
 * weights by its own code (--jit=cc's weights, bit for bit).  unroll: as
 * jit_unroll's.  False (said on diag) when nothing compiled. */
bool jit_start(const Module *m, const Net *net, const Gan *gan, JitBackend backend, int64_t unroll,
               struct RtNet *net_out, RtGan *gan_out, JitStart *out, Diag *diag);
/* Whether a live network or gan took the optimized build's code. */
bool jit_tier_taken(const JitTier *t);
/* Stops a build still running (its temporary file removed) and frees the
 * optimized code: after the last use of a network that runs it. */
void jit_tier_free(JitTier *t);
/* Whether this CPU's AVX-512 does twice the work of AVX2 a cycle (Zen 5,
 * Intel's server cores; not Zen 4, which splits it), measured once by a
 * probe of about a millisecond: the cc backend takes the emitted C's
 * 16-lane blocks there, and its 8-lane ones elsewhere. */
bool jit_full_width_avx512(void);
/* The cc backend's optimization flags, as one line ("-std=c99 -O3 ..."):
 * the help text and the docs quote this. */
const char *jit_cc_flags(void);
/* The cc backend's cache folder, $XDG_CACHE_HOME/nnc or $HOME/.cache/nnc,
 * into out (made if `create`); false, said on diag, when neither is set or
 * it cannot be made. */
bool jit_cache_dir(char *out, size_t cap, bool create, Diag *diag);
/* What a file of the cache folder is, by its name: an object (KEY.so), its
 * source (KEY.c), a build's temporary file, or no file of nnc's. */
typedef enum { JIT_CACHE_OTHER, JIT_CACHE_OBJECT, JIT_CACHE_SOURCE, JIT_CACHE_TEMP } JitCacheFile;
JitCacheFile jit_cache_file(const char *name);
/* What -march=native means to the cc backend's compiler on this machine:
 * a line naming the CPU and the compiler, and in *hash a hash of all of it
 * (a part of every cached object's key).  The compiler says it (cc
 * -march=native -###), once a process; /proc/cpuinfo when it cannot.  The
 * environment variable NNC_CACHE_TARGET_TEST, for tests only, stands in
 * for it (another CPU, simulated; jit_full_width_avx512 then says no, so
 * that a test's keys never hang on the probe's timing). */
const char *jit_cc_target(uint64_t *hash);
/* Whether training n's parameters on `samples` for `epochs` is big enough
 * that libtcc's unoptimized code costs minutes (bench/README.md: cc is
 * 30-45x faster there): the commands then say so. */
bool jit_tcc_is_slow(const Net *n, int64_t samples, int64_t epochs);
/* About how long one training batch of n takes on libtcc's code (an
 * estimate from its multiply-adds): --jit=auto waits for the optimized
 * build rather than start a batch that would outlast it. */
double jit_tcc_batch_seconds(const Net *n);

/* ---- pipeline.c: option values, as every command reads them ---- */
/* Whether s is all of a whole number from lo to hi; *out gets it. */
bool parse_whole(const char *s, long long lo, long long hi, long long *out);
/* Whether s is all of a whole number from 0 to 2^64 - 1, as a .nn file's
 * seed may be; *out gets it. */
bool parse_seed(const char *s, uint64_t *out);
/* "tcc", "cc" or "auto" into *out; false for another name. */
bool parse_jit_backend(const char *s, JitBackend *out);
/* The backend when none is asked for: $NNC_JIT if set (tcc, cc or auto),
 * else auto; false, said on diag, for another value of NNC_JIT. */
bool pipeline_default_backend(JitBackend *out, Diag *diag);
/* The tiered JIT's switch after exactly this many batches, waiting for the
 * optimized build: $NNC_TIER_TEST_AT, for tests only; 0 (by the clock). */
int64_t pipeline_tier_test_at(void);

/* ---- cmd_train.c ---- */
int cmd_train(int argc, char **argv);

/* ---- cmd_cache.c ---- */
int cmd_cache(int argc, char **argv);

/* ---- cmd_generate.c ---- */
int cmd_generate(int argc, char **argv);
typedef struct GenerateOptions {
    int64_t length;              /* bytes to generate */
    double temperature;
    const char *prime;           /* NULL or "": a newline */
    uint64_t seed;
} GenerateOptions;
/* Whether n is a character-level language model (embed first, a softmax
 * over its ids at every step, and for training loss cross_entropy); if not,
 * an error that begins with `who` ("--text trains", "generate needs"). */
bool language_model_check(const Net *n, const char *who, bool training, Diag *diag);
/* Prints the prime, then o->length bytes drawn from the model, to out. */
bool generate_text(struct RtNet *net, const Net *n, const GenerateOptions *o, FILE *out, Diag *diag);

/* ---- repl.c ---- */
int cmd_repl(int argc, char **argv);

/* ---- output.c ---- */
/* Writes all files or none: each goes to a temporary file beside its
 * target, is flushed to disk, and only then renamed over the target. */
typedef struct OutFile { const char *path; const RtBuf *content; } OutFile;
bool output_write_all(const OutFile *files, int n, Diag *diag);

#endif
