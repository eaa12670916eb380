/* emit.h — what the C emitter's files share, and nothing else includes.
 *
 * The emitter turns the IR into specialized C: the forward pass, the
 * backward pass and the optimizer step of every network, as a .c file and
 * its .h.  Its files, by what they emit:
 *
 *   emit_c.c        the driver: walks each network, emits NAME_init, the
 *                   forward and backward passes (a layer at a time, through
 *                   the layer's family below) and the entry points
 *   emit_header.c   the .h (training, or inference-only), the baked weights
 *                   of inference-only files, the banner comments
 *   emit_common.c   printing helpers shared by every family, the activation
 *                   functions' C, the helpers emitted once per file
 *   emit_dense.c    dense layers: unrolled, loops, and matrix products over a
 *                   whole batch
 *   emit_conv.c     convolutions: plain loops, and stride-1 on a padded
 *                   plane (plain loops and register blocks of vectors)
 *   emit_pool.c     max and average pooling
 *   emit_dropout.c  dropout
 *   emit_recurrent.c  rnn, lstm and gru layers: forward and backward through time
 *   emit_embed.c    embedding tables (ids to vectors)
 *   emit_matmul.c   matrix products with literal sizes, for the recurrent and
 *                   per-step dense layers' training code
 *   emit_loss.c     the losses: the loss and dLoss/dz of the output layer
 *   emit_gan.c      gan blocks: the struct of both networks and the step
 *   emit_optim.c    the optimizers: one parameter's step, NAME_update; the
 *                   learning-rate schedule, NAME_schedule
 *
 * A layer family is one LayerEmitter (below), named in its ops.def row;
 * docs/internals.md ("Adding a layer") says how to add one.
 *
 * Everything the IR knows is baked in: every size and offset is a literal,
 * layers of at most `unroll` multiply-adds become straight-line code, larger
 * ones become loops with literal bounds whose innermost loop has no serial
 * reduction (dot products keep 8 or 16 partial sums), so compilers
 * vectorize them without -ffast-math; with a batch, big dense layers work on
 * all its samples at once, as matrix products (emit_dense.c).  The code is
 * meant to be read: a banner per layer naming its source line, shape
 * comments, and the same bytes for the same input.
 *
 * Conventions of the generated code (llm.c's): `in`/`out` are a layer's
 * input and output, `w`/`b` its weight [out][in] and bias, `gw`/`gb` their
 * gradients, `dz` dLoss/d(pre-activation) of a layer, `din` dLoss/d(input). */
#ifndef NNC_EMIT_H
#define NNC_EMIT_H

#include "nnc.h"

enum { NNC_LANES = 8 };          /* partial sums per dot product of a convolution's weight gradient */

typedef struct Emitter {
    RtBuf *out;
    const Net *net;
    const Module *mod;
    const EmitOptions *opt;
    bool infer;                  /* inference only: constant weights, no training code */
    char param[128];             /* how the parameters are reached: "net->param" or "NAME_param" */
    /* How per-sample code reaches the sample in flight: its input and its
     * rows of the activations, deltas, softmax inputs and dropout masks
     * ("x", "net->act", ... for one sample, "xs", "act", ... in a loop over
     * the batch). */
    const char *x, *act, *delta, *logit, *mask, *t;
    bool single;                 /* NAME_run_one: one sample of a batched network, dropout off */
} Emitter;

/* ---- the input gradient ----
 *
 * Every backward pass can also write dLoss/d(network input), for
 * NAME_backward_from (emit_c.c): the first layer, whose `prod` is NULL,
 * computes its din too, into the other delta half like any layer's, but
 * only when the pass's argument `dx` is not NULL (training passes NULL).
 * A family guards that code with din_if() (one statement) or
 * emit_din_code() (a block); through_act() says whether din goes through
 * an activation (never for the network's input).  Embed layers, whose
 * inputs are ids, have no input gradient. */
static inline const char *din_if(const Layer *prod)
{
    return prod ? "" : "if (dx) ";
}
static inline bool through_act(const Layer *prod)
{
    return prod && act_info[prod->act].derivative;
}
/* Emits `code` (a layer's din code, at indent `ind`) as it is when prod is
 * set, else inside "if (dx) {", indented by four more. */
void emit_din_code(Emitter *e, const Layer *prod, const RtBuf *code, const char *ind);
/* The backward code of a layer that is all din (pooling, dropout): `din`'s
 * code, through emit_din_code at a layer's indent. */
void emit_din_only(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in,
                   void (*din)(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in));

/* ---- a layer family's hooks ----
 *
 * Each layer family (emit_dense.c, emit_conv.c, ...) fills one of these, and
 * its ops.def row names it: the driver reaches a layer's code only through
 * it.  Per-sample hooks write the code of one layer for the sample in
 * flight, inside a block of their own at an indent of 8 spaces: the input at
 * `in` (a pointer expression), the output at e->act + l->act_off; backward,
 * dLoss/dz of the layer's outputs in delta half `row` (e->delta + row *
 * max_width), and dLoss/d(input) into the other half, through the
 * activation of `prod` (the layer that produced the input; NULL for the
 * network's input, whose gradient is wanted only `if (dx)`: see above); the
 * parameter gradients are added into net->grad.
 * Inference-only code (e->infer) and NAME_run_one (e->single) use the same
 * forward hook. */
typedef struct LayerEmitter {
    void (*forward)(Emitter *e, const Layer *l, const char *in);
    void (*backward)(Emitter *e, const Layer *l, const Layer *prod, int row, const char *in);
    /* Optional: the forms over all the samples of a batch at once (n of
     * them, rows of net->act, net->delta, ...), which the training code uses
     * for the layers whole_batch says. */
    bool (*whole_batch)(const Emitter *e, const Layer *l);
    void (*forward_batch)(Emitter *e, const Layer *l);
    void (*backward_batch)(Emitter *e, const Layer *l, const Layer *prod, int row);
    /* Optional: which of the file's shared helpers the layer's code calls
     * (EMIT_NEEDS_* bits); the driver emits those once per file. */
    unsigned (*needs)(const Emitter *e, const Layer *l);
    /* A family with no code at all (flatten) has no hooks, and says why in
     * its layers' banners. */
    const char *no_code;
} LayerEmitter;

enum {
    EMIT_NEEDS_V8 = 1,           /* the vector types nnc_v8, nnc_v8i (NNC_V8), nnc_v16, nnc_v16i (NNC_V16) */
    EMIT_NEEDS_LANE_SUMS = 2,    /* nnc_lane_sums */
    EMIT_NEEDS_SIGMOID = 4,      /* nnc_sigmoid, whatever the activations (lstm and gru gates) */
    EMIT_NEEDS_RELU = 8,         /* nnc_relu, whatever the activations (rnn relu) */
    EMIT_NEEDS_VTANH = 16,       /* nnc_vtanh (with nnc_vexp, nnc_vsel): the recurrent cells' */
    EMIT_NEEDS_VSIGMOID = 32,    /* nnc_vsigmoid (with nnc_vexp, nnc_vsel): lstm and gru gates */
    EMIT_NEEDS_SHUFFLE = 64,     /* NNC_SHUFFLE and the 4-lane vectors nnc_v4, nnc_v4i (max pooling) */
    EMIT_NEEDS_TRANSPOSE = 128,  /* nnc_transpose8 and nnc_transpose16 (with NNC_SHUFFLE): dense layers' batches */
};

/* The emitted C's vector type of `lanes` floats (8 or 16; EMIT_NEEDS_V8). */
static inline const char *vec_type(int64_t lanes)
{
    return lanes == 16 ? "nnc_v16" : "nnc_v8";
}

/* One per family, named in ops.def: LAYER(..., family) is family_emitter. */
#define LAYER(id, kw, hp, family) extern const LayerEmitter family##_emitter;
#include "ops.def"
#undef LAYER

/* The family of a layer kind (ops.def). */
const LayerEmitter *layer_emitter(LayerKind kind);

/* ---- emit_common.c ---- */
void emit(Emitter *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Expands an ops.def template: `$` becomes `operand`, `@` becomes `param`. */
void emit_template(Emitter *e, const char *tmpl, const char *operand, const char *param);
/* Emits `code` with every line indented by four more spaces (preprocessor
 * lines stay in column 0). */
void emit_indented(Emitter *e, const RtBuf *code);
/* The banner comment of a layer's code: its index, what it is, its source
 * line, then `suffix`. */
void emit_banner(Emitter *e, const Layer *l, const char *suffix);
/* The helpers emitted once per file: activation functions, what the
 * layers' families say they need (EMIT_NEEDS_* bits), the random numbers of
 * NAME_init. */
void emit_helpers(Emitter *e, unsigned needs);
/* The shortest decimal that reads back as the same float, as a C float
 * literal ("0.5f", "1.0f"): the same bytes for the same value. */
const char *fmt_float(char out[32], double v);
/* The same for a double, as a C double literal ("0.01", "1.0"). */
const char *fmt_double(char out[32], double v);
/* `text` as a block comment at column 0, its words wrapped to 79 columns. */
void emit_comment(Emitter *e, const char *text);
/* The same, left open: the caller adds lines and closes it. */
void emit_comment_open(Emitter *e, const char *text);
/* The init layer l gets (the network's `init` statement, or its default);
 * true when that is PyTorch's default for the layer (rnn, lstm, gru:
 * uniform(-1/sqrt(H), 1/sqrt(H)) for weights and biases; embed: normal(0, 1)),
 * which an `init xavier` or `he` does not change. */
bool layer_init(const Net *n, const Layer *l, Init *out);
/* The activation's parameter (leaky_relu's slope) as a C float literal. */
const char *act_param_str(char out[32], const Layer *l);
/* The derivative factor of the activation of `l` at output expression `y`,
 * as " * (...)", or nothing when it is 1. */
void emit_deriv_factor(Emitter *e, const Layer *l, const char *y);
/* din *= act'(producer's output), element-wise over n floats, at indent
 * `ind` (emit_din_through_act: a layer's per-sample indent). */
void emit_din_through_act_at(Emitter *e, const Layer *prod, int64_t n, const char *ind);
void emit_din_through_act(Emitter *e, const Layer *prod, int64_t n);
/* Opens part `part` of a loop split into whole blocks and a remainder.
 * Part 0, the whole blocks: "for (int VAR = FROM; VAR < WHOLE_END; VAR +=
 * STEP) {" with the comment `whole` (none when NULL).  Part 1, the
 * remainder up to END: "{" with the comment `rest`, then "const int VAR =
 * WHOLE_END;".  Returns the part's block size, or 0 when the part is empty
 * (nothing is emitted); the caller closes the brace. */
int64_t emit_block_open(Emitter *e, const char *ind, int part, const char *var, int64_t from, int64_t whole_end,
                        int64_t end, int64_t step, const char *whole, const char *rest);
/* A pointer expression to the activations of the sample in flight starting
 * at `off` (-1: its input). */
void act_ptr(const Emitter *e, char out[64], int64_t off);
/* "oy * 2 - 1": VAR times STRIDE plus OFF, as a reader would write it. */
void index_expr(char *out, size_t cap, const char *var, int64_t stride, int64_t off);
/* The layer whose output is layer i's input, skipping flattens; NULL for x. */
const Layer *producer(const Net *n, int i);
/* The layer whose act holds the network's outputs; NULL when that is the
 * network's input itself. */
const Layer *output_layer(const Net *n);

/* ---- emit_matmul.c ---- */
/* C(m, n) = (C(m, n) if accumulate, else bias[n], else 0) + sum_k A(m, k) B(k, n)
 * with A(m, k) = a[m * a_ms + k * a_ks], B(k, n) = b[k * b_ks + n], C(m, n) =
 * c[m * c_ms + n]; a, b, c and bias are C pointer expressions (they may use
 * the caller's loop variables); M rows, or `rows` (an expression, at most
 * M) when set.  `what` names the product in a comment. */
typedef struct MatMul {
    const char *what;
    int64_t M, N, K;
    const char *rows;
    const char *a, *b, *c, *bias;
    int64_t a_ms, a_ks, b_ks, c_ms;
    bool accumulate;
} MatMul;
void emit_matmul(Emitter *e, const MatMul *mm, const char *ind);
/* out[c][r] = in[r][c] for an R x C matrix (pointer expressions), out's
 * rows `stride` floats apart (R, or more: padding). */
void emit_transpose(Emitter *e, const char *out, const char *in, int64_t R, int64_t C, int64_t stride,
                    const char *ind);

/* ---- emit_header.c ---- */
/* The whole .h: banner, guard, each network's defines, struct and API. */
void emit_header(Emitter *e, const char *h_name);
/* The banner comment at the top of the .c and the .h. */
void emit_banner_comment(Emitter *e, const char *file);
/* The include guard of a header named header_name: NNC_<NAME>_INCLUDED. */
void emit_header_guard(char *out, size_t cap, const char *header_name);
/* The trained parameters as a constant array (inference-only files). */
void emit_weights(Emitter *e);

/* ---- emit_loss.c ---- */
/* dLoss/dz of the output layer into row 0 of delta, and the sample's loss
 * added into `loss`, for the sample in flight. */
void emit_loss(Emitter *e);
/* dLoss/dz of the output layer into row 0 of delta from dLoss/dy given by
 * the caller (e->t names the sample's row of dy), for the sample in flight. */
void emit_output_grad(Emitter *e);

/* ---- emit_dense.c ---- */
/* Whether the inference-only code bakes dense layer l's weight in panels
 * (8 outputs' 16-float pieces of a row side by side, one stream for the
 * forward pass to read) rather than row by row. */
bool dense_panels(const Emitter *e, const Layer *l);
/* Which of the weight file's elements (o * n_in + i, from the start of the
 * weight) such a layer bakes at position `at` of its weight. */
int64_t dense_panel_source(const Layer *l, int64_t at);
/* Whether train_step applies the optimizer step of gemm layer l's weights
 * block by block in its weight-gradient code (its bias after the layer). */
bool gemm_block_step(const Emitter *e, const Layer *l);

/* ---- emit_conv.c and emit_pool.c: a convolution's rows into max pooling ----
 * In training code (but not NAME_run_one, the one-sample pass of a batched
 * network, which keeps every output for NAME_forward's callers to read),
 * 2x2 max pooling of stride 2 right after a stride-1 convolution whose
 * register blocks finish its outputs (no activation, or relu) takes its
 * windows, under NNC_SHUFFLE, straight from the wide rows the convolution
 * leaves in the scratch, which then copies none of them to its compact
 * output; and on every path the pooling keeps each window's first maximum
 * (0 to 3, as a float, in scan order) in the convolution's place in act,
 * where its backward pass finds it without comparing. */
/* The convolution whose wide rows max pooling layer `pool` reads, or NULL. */
const Layer *pool_wide_conv(const Emitter *e, const Layer *pool);
/* Whether convolution l's outputs go to such a pooling layer. */
bool conv_feeds_pool(const Emitter *e, const Layer *l);
/* Where training code's stride-1 convolution l leaves its wide rows: from
 * net->pad + *off, a row *row floats apart and a filter's plane *plane. */
void conv_wide_rows(const Layer *l, int64_t *off, int64_t *row, int64_t *plane);
/* Whether the training code's register blocks add convolution l's bias and
 * apply its activation before they store a block. */
bool conv_act_in_block(const Emitter *e, const Layer *l);

/* ---- emit_gan.c ---- */
/* A gan block's part of the .h (defines, struct, API) and of the .c. */
void emit_gan_header(Emitter *e, const Gan *g);
void emit_gan(Emitter *e, const Gan *g);

/* ---- emit_optim.c ---- */
/* The optimizer's constants for one step, as locals (none for Adam: see
 * emit_adam_bias_call). */
void emit_update_consts(Emitter *e, const char *ind);
/* Adam: the locals step_size and bc2_sqrt, this step's bias corrections,
 * from NAME_adam_bias when `cond` (a C expression; NULL: always). */
void emit_adam_bias_call(Emitter *e, const char *ind, const char *cond);
/* The arguments NAME_update_params takes after lo and hi: Adam's
 * ", step_size, bc2_sqrt", or none. */
const char *update_params_args(const Emitter *e);
/* One parameter's optimizer step: parameter `i` (an expression) with
 * gradient `grad` (an expression). */
void emit_update_element(Emitter *e, const char *ind, const char *i, const char *grad);
/* Whether train_step applies layer l's optimizer step inside its backward
 * code, with no gradient buffer (dense layers of batch-1 networks). */
bool fused_update(const Emitter *e, const Layer *l);
/* NAME_update_params (one step over a range of parameters) and NAME_update. */
void emit_update(Emitter *e);
/* NAME_schedule, the learning rate of an epoch (Net.sched): its
 * declaration with the schedule in words (the .h), and its definition. */
void emit_schedule_decl(Emitter *e);
void emit_schedule(Emitter *e);

#endif
