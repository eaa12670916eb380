/* check.c — semantic checks: AST -> Net.
 *
 * Each statement keyword has one row in `stmt_rules`, with the function that
 * reads its arguments and the usage line quoted in its errors.  This stage
 * fills in what the statements say (layers, loss, optimizer, schedule, init,
 * seed, batch) with defaults for what they leave out; shapes are lower.c's job.
 * Every error names the statement and points at the offending argument, and
 * checking goes on after an error so that one run reports them all. */
#include "nnc.h"

#include <ctype.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const ActInfo act_info[ACT__COUNT] = {
#define ACT(id, kw, p, dp, f, d, i) {kw, p, dp, f, d, i},
#include "ops.def"
#undef ACT
};
const LayerInfo layer_info[LAYER__COUNT] = {
#define LAYER(id, kw, hp, family) {kw, hp},
#include "ops.def"
#undef LAYER
};
const char *const loss_keyword[LOSS__COUNT] = {
#define LOSS(id, kw) kw,
#include "ops.def"
#undef LOSS
};
const char *const optim_keyword[OPTIM__COUNT] = {
#define OPTIM(id, kw) kw,
#include "ops.def"
#undef OPTIM
};
const char *const init_keyword[INIT__COUNT] = {
#define INIT(id, kw, n) kw,
#include "ops.def"
#undef INIT
};
const char *const sched_keyword[SCHED__COUNT] = {
#define SCHED(id, kw) kw,
#include "ops.def"
#undef SCHED
};
static const int init_n_args[INIT__COUNT] = {
#define INIT(id, kw, n) n,
#include "ops.def"
#undef INIT
};

enum { N_RULES_MAX = 24 };

typedef struct Checker {
    Arena *arena;
    Diag *diag;
    Net *net;
    int cap_layers;
    const struct StmtRule *rule;   /* the statement being checked */
    const Stmt *stmt;
    bool too_many_layers;          /* reported once */
    Loc first[N_RULES_MAX];        /* where each once-only statement was first seen */
} Checker;

typedef void CheckFn(Checker *c, const Stmt *s);

typedef struct StmtRule {
    const char *keyword;
    CheckFn *check;
    const char *usage;
    bool once;                     /* may appear only once per network */
} StmtRule;

static CheckFn check_input, check_dense, check_conv, check_pool, check_flatten, check_dropout, check_recurrent,
    check_embed, check_loss,
    check_optimizer, check_schedule, check_batch, check_epochs, check_init, check_seed;

static const StmtRule stmt_rules[] = {
    {"input", check_input, "input N | input CxHxW | input F steps=T | input steps=T", true},
    {"dense", check_dense, "dense UNITS [ACTIVATION]", false},
    {"conv", check_conv, "conv FILTERS KxK [stride S] [pad P] [ACTIVATION]", false},
    {"maxpool", check_pool, "maxpool KxK [stride S]", false},
    {"avgpool", check_pool, "avgpool KxK [stride S]", false},
    {"flatten", check_flatten, "flatten", false},
    {"dropout", check_dropout, "dropout P", false},
    {"rnn", check_recurrent, "rnn UNITS [tanh|relu] [return=last|all]", false},
    {"lstm", check_recurrent, "lstm UNITS [return=last|all]", false},
    {"gru", check_recurrent, "gru UNITS [return=last|all]", false},
    {"embed", check_embed, "embed V D (V ids, vectors of D)", false},
    {"loss", check_loss, "loss mse | loss cross_entropy | loss bce | loss none", true},
    {"optimizer", check_optimizer,
     "optimizer sgd [lr=F] [momentum=F] [weight_decay=F] [clip=C] | optimizer adam [lr=F] [beta1=F] [beta2=F] "
     "[eps=F] [weight_decay=F] [clip=C]",
     true},
    {"schedule", check_schedule,
     "schedule step every=E [gamma=G] [warmup=W] | schedule exponential gamma=G [warmup=W] | schedule cosine "
     "[min=F] [warmup=W]",
     true},
    {"batch", check_batch, "batch N", true},
    {"epochs", check_epochs, "epochs N", true},
    {"init", check_init, "init uniform(A, B) | normal(MEAN, STD) | xavier | he", true},
    {"seed", check_seed, "seed N", true},
};
enum { N_RULES = sizeof stmt_rules / sizeof stmt_rules[0] };
typedef char rules_fit[(int)N_RULES <= (int)N_RULES_MAX ? 1 : -1];

static void error_at(Checker *c, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(c->diag, DIAG_ERROR, loc, fmt, ap);
    va_end(ap);
}

static const StmtRule *find_rule(const char *keyword)
{
    for (int i = 0; i < N_RULES; i++)
        if (strcmp(keyword, stmt_rules[i].keyword) == 0)
            return &stmt_rules[i];
    return NULL;
}

/* Whether a once-only statement has been seen (valid or not) in this network. */
static bool seen(const Checker *c, const char *keyword)
{
    return c->first[find_rule(keyword) - stmt_rules].first_line != 0;
}

static void usage_note(Checker *c)
{
    diag_at(c->diag, DIAG_NOTE, c->stmt->kw_loc, "usage: %s", c->rule->usage);
}

/* ---- reading arguments ---- */

static const char *describe(const Arg *a)
{
    return a->kind == ARG_NUMBER ? "number" : a->kind == ARG_DIMS ? "dimensions" : a->kind == ARG_CALL ? "call"
           : a->kind == ARG_KEYVAL                                                  ? "option"
                                                                                    : "word";
}

/* A whole number in [lo, hi]; `what` names it in errors ("units"). */
static bool read_int(Checker *c, const Arg *a, const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    if (!a) {
        error_at(c, c->stmt->loc, "'%s' needs %s", c->rule->keyword, what);
        usage_note(c);
        return false;
    }
    if (a->kind != ARG_NUMBER) {
        error_at(c, a->loc, "'%s' expects %s here, not the %s '%s'", c->rule->keyword, what, describe(a), a->text);
        usage_note(c);
        return false;
    }
    if (!a->is_int) {
        error_at(c, a->loc, "%s must be a whole number, not '%s'", what, a->text);
        return false;
    }
    if (a->out_of_range || a->num < (double)lo || a->num > (double)hi) {
        if (hi == NNC_MAX_DIM && a->num > (double)hi)
            error_at(c, a->loc, "%s must be from %lld to %lld (nnc's limit), not %s", what, (long long)lo,
                     (long long)hi, a->text);
        else
            error_at(c, a->loc, "%s must be from %lld to %lld, not %s", what, (long long)lo, (long long)hi, a->text);
        return false;
    }
    *out = (int64_t)a->num;
    return true;
}

/* A finite real number. */
static bool read_real(Checker *c, const Arg *a, const char *what, double *out)
{
    if (!a || a->kind != ARG_NUMBER) {
        error_at(c, a ? a->loc : c->stmt->loc, "%s must be a number%s%s%s", what, a ? ", not '" : "",
                 a ? a->text : "", a ? "'" : "");
        return false;
    }
    if (a->out_of_range || !isfinite(a->num)) {
        error_at(c, a->loc, "%s is out of range: %s", what, a->text);
        return false;
    }
    *out = a->num;
    return true;
}

/* Kernel, window, stride or padding: "3" (square) or "3x2"; each at least `lo`. */
static bool read_size2(Checker *c, const Arg *a, const char *what, int64_t lo, int64_t *h, int64_t *w)
{
    if (a && a->kind == ARG_NUMBER) {
        if (!read_int(c, a, what, lo, NNC_MAX_DIM, h))
            return false;
        *w = *h;
        return true;
    }
    if (!a || a->kind != ARG_DIMS) {
        error_at(c, a ? a->loc : c->stmt->loc, "'%s' needs %s like 3x3%s%s%s", c->rule->keyword, what,
                 a ? ", not '" : "", a ? a->text : "", a ? "'" : "");
        usage_note(c);
        return false;
    }
    if (a->n_dims != 2) {
        error_at(c, a->loc, "%s has two dimensions (HxW), not %d", what, a->n_dims);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        if (a->out_of_range || a->dims[i] < lo || a->dims[i] > NNC_MAX_DIM) {
            error_at(c, a->loc, "each dimension of %s must be from %lld to %d, in '%s'", what, (long long)lo,
                     NNC_MAX_DIM, a->text);
            return false;
        }
    }
    *h = a->dims[0];
    *w = a->dims[1];
    return true;
}

static bool is_act_name(const char *word)
{
    for (int k = 0; k < ACT__COUNT; k++)
        if (strcmp(word, act_info[k].keyword) == 0)
            return true;
    return false;
}

/* An activation: a word (`relu`) or a call (`leaky_relu(0.2)`). */
static bool read_activation_arg(Checker *c, const Arg *a, Layer *l)
{
    if (a->kind != ARG_WORD && a->kind != ARG_CALL) {
        error_at(c, a->loc, "unexpected %s '%s' after the arguments of '%s'", describe(a), a->text, c->rule->keyword);
        usage_note(c);
        return false;
    }
    for (int k = 0; k < ACT__COUNT; k++) {
        const ActInfo *info = &act_info[k];
        if (strcmp(a->text, info->keyword) != 0)
            continue;
        l->act = (ActKind)k;
        l->act_param = info->default_param;
        if (a->kind == ARG_CALL) {
            if (!info->takes_param) {
                error_at(c, a->loc, "activation '%s' takes no parameter", info->keyword);
                return false;
            }
            if (!a->args || a->args->next) {
                error_at(c, a->loc, "'%s(...)' takes exactly one number (the negative slope)", info->keyword);
                return false;
            }
            if (!read_real(c, a->args, "the negative slope", &l->act_param))
                return false;
            if (l->act_param < 0 || l->act_param >= 1) {
                error_at(c, a->args->loc, "the negative slope of leaky_relu must be in [0, 1), not %s",
                         a->args->text);
                return false;
            }
        }
        return true;
    }
    const char *names[ACT__COUNT];
    for (int k = 0; k < ACT__COUNT; k++)
        names[k] = act_info[k].keyword;
    const char *hint = suggest_word(a->text, names, ACT__COUNT);
    if (hint)
        error_at(c, a->loc, "unknown activation '%s' (did you mean '%s'?)", a->text, hint);
    else
        error_at(c, a->loc, "unknown activation '%s'; expected linear, sigmoid, tanh, relu, leaky_relu or softmax",
                 a->text);
    return false;
}

/* read_activation_arg, marking the layer when it fails: the loss's checks
 * of the output layer's activation then say nothing more about it (the
 * error already did). */
static bool read_activation(Checker *c, const Arg *a, Layer *l)
{
    bool ok = read_activation_arg(c, a, l);
    l->act_invalid = !ok;
    return ok;
}

static void extra_args(Checker *c, const Arg *a)
{
    if (a) {
        error_at(c, a->loc, "unexpected %s '%s' in '%s'", describe(a), a->text, c->rule->keyword);
        usage_note(c);
    }
}

/* The index of word `a` in keywords[0..n), or -1 after the error "unknown
 * WHAT 'x' (did you mean 'y'?)", or "...; expected LIST" when none is close. */
static int find_keyword(Checker *c, const Arg *a, const char *what, const char *const *keywords, int n,
                        const char *list)
{
    for (int k = 0; k < n; k++)
        if (strcmp(a->text, keywords[k]) == 0)
            return k;
    const char *hint = suggest_word(a->text, keywords, (size_t)n);
    if (hint)
        error_at(c, a->loc, "unknown %s '%s' (did you mean '%s'?)", what, a->text, hint);
    else
        error_at(c, a->loc, "unknown %s '%s'; expected %s", what, a->text, list);
    return -1;
}

/* "optimizer sgd has no option 'x' (did you mean 'y'?)", then `takes` (""
 * or "; it takes ..."), and the usage: option `a`, which this statement of
 * kind `kind` does not take; names[0..n) are those it does (NULL: another
 * kind's). */
static void no_such_option(Checker *c, const Arg *a, const char *kind, const char *const *names, size_t n,
                           const char *takes)
{
    const char *hint = suggest_word(a->text, names, n);
    error_at(c, a->loc, "%s %s has no option '%s'%s%s%s%s", c->rule->keyword, kind, a->text,
             hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", takes);
    usage_note(c);
}

/* ---- layers ---- */

static Layer *new_layer(Checker *c, LayerKind kind)
{
    Net *n = c->net;
    if (!seen(c, "input"))
        error_at(c, c->stmt->kw_loc, "'%s' comes before 'input': the input shape must be declared first",
                 c->rule->keyword);
    if (n->n_layers == NNC_MAX_LAYERS) {
        if (!c->too_many_layers)
            error_at(c, c->stmt->kw_loc, "too many layers (nnc's limit is %d)", NNC_MAX_LAYERS);
        c->too_many_layers = true;
        return NULL;
    }
    if (n->n_layers == c->cap_layers) {
        int cap = c->cap_layers ? 2 * c->cap_layers : 8;
        Layer *bigger = arena_alloc(c->arena, (size_t)cap * sizeof(Layer));
        if (n->n_layers)
            memcpy(bigger, n->layers, (size_t)n->n_layers * sizeof(Layer));
        n->layers = bigger;
        c->cap_layers = cap;
    }
    Layer *l = &n->layers[n->n_layers++];
    l->kind = kind;
    l->loc = c->stmt->loc;
    l->line = c->stmt->loc.first_line;
    l->act = ACT_LINEAR;
    l->index = n->n_layers;
    l->stride_h = l->stride_w = 1;
    return l;
}

static void check_input(Checker *c, const Stmt *s)
{
    Net *n = c->net;
    const Arg *a = s->args;
    n->input_loc = s->loc;
    const Arg *steps = NULL;   /* input F steps=T, input steps=T */
    if (a && a->kind == ARG_KEYVAL && strcmp(a->text, "steps") == 0)
        steps = a;
    else if (a && a->kind == ARG_NUMBER && a->next && a->next->kind == ARG_KEYVAL)
        steps = a->next;
    if (steps) {
        int64_t f = 1, t;
        if (strcmp(steps->text, "steps") != 0) {
            error_at(c, steps->loc, "'input' has no option '%s'; a sequence input is 'input F steps=T'", steps->text);
            usage_note(c);
            return;
        }
        if (steps != a && !read_int(c, a, "the number of features per step", 1, NNC_MAX_DIM, &f))
            return;
        if (!read_int(c, steps->args, "the number of steps", 1, NNC_MAX_DIM, &t))
            return;
        n->input = (Shape){f, 1, 1, false, t};
        n->has_input = true;
        extra_args(c, steps->next);
        return;
    }
    if (a && a->kind == ARG_NUMBER) {
        int64_t v;
        if (!read_int(c, a, "the number of inputs", 1, NNC_MAX_DIM, &v))
            return;
        n->input = (Shape){v, 1, 1, false, 0};
    } else if (a && a->kind == ARG_DIMS) {
        if (a->n_dims != 3) {
            error_at(c, a->loc, "an image input is CxHxW (channels x height x width), e.g. 1x28x28; '%s' has %d "
                     "dimension%s", a->text, a->n_dims, a->n_dims == 1 ? "" : "s");
            return;
        }
        for (int i = 0; i < 3; i++) {
            if (a->out_of_range || a->dims[i] < 1 || a->dims[i] > NNC_MAX_DIM) {
                error_at(c, a->loc, "each input dimension must be from 1 to %d, in '%s'", NNC_MAX_DIM, a->text);
                return;
            }
        }
        n->input = (Shape){a->dims[0], a->dims[1], a->dims[2], true, 0};
    } else {
        read_int(c, a, "the number of inputs", 1, NNC_MAX_DIM, &(int64_t){0});
        return;
    }
    n->has_input = true;
    extra_args(c, a->next);
}

static void check_dense(Checker *c, const Stmt *s)
{
    Layer *l = new_layer(c, LAYER_DENSE);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!read_int(c, a, "the number of units", 1, NNC_MAX_DIM, &l->units))
        return;
    a = a->next;
    if (a && read_activation(c, a, l))
        extra_args(c, a->next);
}

/* Options of conv and pooling: `stride S`, `stride=S`, `pad P` (S, P may be HxW). */
static const Arg *read_window_options(Checker *c, const Arg *a, Layer *l, bool allow_pad)
{
    while (a) {
        const Arg *val;
        const char *key;
        if (a->kind == ARG_KEYVAL) {
            key = a->text;
            val = a->args;
        } else if (a->kind == ARG_WORD && (strcmp(a->text, "stride") == 0 || strcmp(a->text, "pad") == 0)) {
            key = a->text;
            val = a->next;
        } else {
            return a;
        }
        bool is_stride = strcmp(key, "stride") == 0;
        if (!is_stride && !(allow_pad && strcmp(key, "pad") == 0)) {
            error_at(c, a->loc, "'%s' has no option '%s'", c->rule->keyword, key);
            usage_note(c);
            return NULL;
        }
        int64_t h, w;
        if (!read_size2(c, val, is_stride ? "the stride" : "the padding", is_stride ? 1 : 0, &h, &w))
            return NULL;
        if (is_stride) {
            l->stride_h = h;
            l->stride_w = w;
        } else {
            l->pad_h = h;
            l->pad_w = w;
        }
        a = a->kind == ARG_KEYVAL ? a->next : val->next;
    }
    return NULL;
}

static void check_conv(Checker *c, const Stmt *s)
{
    Layer *l = new_layer(c, LAYER_CONV);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!read_int(c, a, "the number of filters", 1, NNC_MAX_DIM, &l->units))
        return;
    if (!read_size2(c, a->next, "a kernel size", 1, &l->kh, &l->kw))
        return;
    a = read_window_options(c, a->next->next, l, true);
    if (a && read_activation(c, a, l))
        extra_args(c, a->next);
}

static void check_pool(Checker *c, const Stmt *s)
{
    Layer *l = new_layer(c, strcmp(s->kw, "maxpool") == 0 ? LAYER_MAXPOOL : LAYER_AVGPOOL);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!read_size2(c, a, "a window size", 1, &l->kh, &l->kw))
        return;
    l->stride_h = l->kh;   /* the stride defaults to the window */
    l->stride_w = l->kw;
    extra_args(c, read_window_options(c, a->next, l, false));
}

static void check_flatten(Checker *c, const Stmt *s)
{
    if (new_layer(c, LAYER_FLATTEN))
        extra_args(c, s->args);
}

static void check_dropout(Checker *c, const Stmt *s)
{
    Layer *l = new_layer(c, LAYER_DROPOUT);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!a) {
        error_at(c, s->loc, "'dropout' needs the probability of dropping a value, e.g. 'dropout 0.5'");
        return;
    }
    if (!read_real(c, a, "the dropout probability", &l->rate))
        return;
    if (l->rate < 0 || l->rate >= 1) {
        error_at(c, a->loc, "the dropout probability must be >= 0 and < 1, not %s", a->text);
        return;
    }
    extra_args(c, a->next);
}

/* rnn H [tanh|relu] [return=last|all], lstm H [return=...], gru H [return=...] */
static void check_recurrent(Checker *c, const Stmt *s)
{
    LayerKind kind = strcmp(s->kw, "rnn") == 0 ? LAYER_RNN : strcmp(s->kw, "lstm") == 0 ? LAYER_LSTM : LAYER_GRU;
    Layer *l = new_layer(c, kind);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!read_int(c, a, "the number of units", 1, NNC_MAX_DIM, &l->units))
        return;
    l->cell_act = ACT_TANH;
    bool seen_act = false, seen_return = false;
    for (a = a->next; a; a = a->next) {
        if (a->kind == ARG_KEYVAL) {
            if (strcmp(a->text, "return") != 0) {
                error_at(c, a->loc, "'%s' has no option '%s'", s->kw, a->text);
                usage_note(c);
                return;
            }
            const Arg *v = a->args;
            if (seen_return) {
                error_at(c, a->loc, "option 'return' is given twice");
                return;
            }
            seen_return = true;
            if (v->kind != ARG_WORD || (strcmp(v->text, "last") != 0 && strcmp(v->text, "all") != 0)) {
                error_at(c, v->loc, "return= takes 'last' (the last step's hidden state) or 'all' (every step's), "
                         "not '%s'", v->text);
                return;
            }
            l->return_all = strcmp(v->text, "all") == 0;
        } else if (kind == LAYER_RNN && !seen_act && !seen_return && a->kind == ARG_WORD && is_act_name(a->text)) {
            if (!read_activation(c, a, l))
                return;
            if (l->act != ACT_TANH && l->act != ACT_RELU) {
                error_at(c, a->loc, "an rnn's activation is tanh or relu (as PyTorch's nn.RNN), not %s", a->text);
                return;
            }
            l->cell_act = l->act;
            l->act = ACT_LINEAR;
            seen_act = true;
        } else if (a->kind == ARG_WORD && is_act_name(a->text)) {
            error_at(c, a->loc, "'%s' has its own activations (its gates' sigmoids and tanh); it takes no '%s'",
                     s->kw, a->text);
            return;
        } else {
            error_at(c, a->loc, "unexpected %s '%s' in '%s'", describe(a), a->text, s->kw);
            usage_note(c);
            return;
        }
    }
}

/* embed V D */
static void check_embed(Checker *c, const Stmt *s)
{
    Layer *l = new_layer(c, LAYER_EMBED);
    if (!l)
        return;
    const Arg *a = s->args;
    if (!read_int(c, a, "the number of ids (the vocabulary)", 1, NNC_MAX_DIM, &l->vocab))
        return;
    if (!read_int(c, a->next, "the size of a vector", 1, NNC_MAX_DIM, &l->units))
        return;
    extra_args(c, a->next->next);
}

/* ---- the other statements ---- */

static void check_loss(Checker *c, const Stmt *s)
{
    const Arg *a = s->args;
    if (!a || a->kind != ARG_WORD) {
        error_at(c, a ? a->loc : s->loc, "'loss' needs a loss function: mse, cross_entropy, bce or none");
        return;
    }
    int k = find_keyword(c, a, "loss", loss_keyword, LOSS__COUNT, "mse, cross_entropy, bce or none");
    if (k < 0)
        return;
    c->net->loss = (LossKind)k;
    c->net->has_loss = true;
    c->net->loss_loc = s->loc;
    extra_args(c, a->next);
}

typedef struct OptimKey {
    const char *key;
    size_t offset;               /* into Optim */
    double lo, hi;               /* allowed range; lo exclusive when lo_open */
    bool lo_open, hi_open;
    unsigned optims;             /* bit per OptimKind that accepts it */
} OptimKey;

#define OPT_FIELD(f) offsetof(Optim, f)
static const OptimKey optim_keys[] = {
    {"lr", OPT_FIELD(lr), 0, 1e6, true, false, 1u << OPTIM_SGD | 1u << OPTIM_ADAM},
    {"momentum", OPT_FIELD(momentum), 0, 1, false, true, 1u << OPTIM_SGD},
    {"weight_decay", OPT_FIELD(weight_decay), 0, 1e6, false, false, 1u << OPTIM_SGD | 1u << OPTIM_ADAM},
    {"beta1", OPT_FIELD(beta1), 0, 1, false, true, 1u << OPTIM_ADAM},
    {"beta2", OPT_FIELD(beta2), 0, 1, false, true, 1u << OPTIM_ADAM},
    {"eps", OPT_FIELD(eps), 0, 1, true, false, 1u << OPTIM_ADAM},
    {"clip", OPT_FIELD(clip), 0, 1e6, true, false, 1u << OPTIM_SGD | 1u << OPTIM_ADAM},
};
enum { N_OPTIM_KEYS = sizeof optim_keys / sizeof optim_keys[0] };

static void set_optim_defaults(Optim *o, OptimKind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = kind == OPTIM_ADAM ? 0.001 : 0.01;    /* adam's is PyTorch's default */
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
}

static void check_optimizer(Checker *c, const Stmt *s)
{
    const Arg *a = s->args;
    Optim *o = &c->net->optim;
    if (!a || a->kind != ARG_WORD) {
        error_at(c, a ? a->loc : s->loc, "'optimizer' needs an optimizer name: sgd or adam");
        usage_note(c);
        return;
    }
    int kind = find_keyword(c, a, "optimizer", optim_keyword, OPTIM__COUNT, "sgd or adam");
    if (kind < 0)
        return;
    set_optim_defaults(o, (OptimKind)kind);
    o->loc = s->loc;
    unsigned seen = 0;
    for (a = a->next; a; a = a->next) {
        if (a->kind != ARG_KEYVAL) {
            error_at(c, a->loc, "optimizer options are written key=value (e.g. lr=0.1), not '%s'", a->text);
            continue;
        }
        const OptimKey *k = NULL;
        for (int i = 0; i < N_OPTIM_KEYS; i++)
            if (strcmp(a->text, optim_keys[i].key) == 0)
                k = &optim_keys[i];
        if (!k || !(k->optims & (1u << kind))) {
            const char *names[N_OPTIM_KEYS];
            for (int i = 0; i < N_OPTIM_KEYS; i++)
                names[i] = optim_keys[i].optims & (1u << kind) ? optim_keys[i].key : NULL;
            no_such_option(c, a, optim_keyword[kind], names, N_OPTIM_KEYS, "");
            continue;
        }
        unsigned bit = 1u << (k - optim_keys);
        if (seen & bit) {
            error_at(c, a->loc, "option '%s' is given twice", k->key);
            continue;
        }
        seen |= bit;
        double v;
        if (!read_real(c, a->args, k->key, &v))
            continue;
        bool low = k->lo_open ? v <= k->lo : v < k->lo;
        bool high = k->hi_open ? v >= k->hi : v > k->hi;
        if (low || high) {
            error_at(c, a->args->loc, "%s must be %s %g and %s %g, not %s", k->key, k->lo_open ? ">" : ">=", k->lo,
                     k->hi_open ? "<" : "<=", k->hi, a->args->text);
            continue;
        }
        *(double *)((char *)o + k->offset) = v;
    }
}

/* The options of a schedule statement: whole numbers (every, warmup: an
 * int64_t of Schedule) from lo to NNC_MAX_EPOCHS, or real numbers (a
 * double) above lo (or from lo, !lo_open) and up to hi (0: no bound); the
 * kinds that take each (a bit per SchedKind) and that need it. */
typedef struct SchedKey {
    const char *key;
    size_t offset;               /* into Schedule */
    bool whole;
    double lo, hi;
    bool lo_open;
    unsigned kinds, required;
    const char *need;            /* the error when a kind that needs it lacks it */
} SchedKey;

#define SCHED_BIT(k) (1u << SCHED_##k)
static const SchedKey sched_keys[] = {
    {"every", offsetof(Schedule, every), true, 1, 0, false, SCHED_BIT(STEP), SCHED_BIT(STEP),
     "schedule step needs every=E, the number of epochs between two drops (e.g. 'schedule step every=10')"},
    {"gamma", offsetof(Schedule, gamma), false, 0, 0, true, SCHED_BIT(STEP) | SCHED_BIT(EXPONENTIAL),
     SCHED_BIT(EXPONENTIAL),
     "schedule exponential needs gamma=G, the factor of every epoch (e.g. 'schedule exponential gamma=0.95')"},
    {"min", offsetof(Schedule, min), false, 0, 1e6, false, SCHED_BIT(COSINE), 0, NULL},   /* as lr's bound */
    {"warmup", offsetof(Schedule, warmup), true, 0, 0, false,
     SCHED_BIT(STEP) | SCHED_BIT(EXPONENTIAL) | SCHED_BIT(COSINE), 0, NULL},
};
enum { N_SCHED_KEYS = sizeof sched_keys / sizeof sched_keys[0] };

/* "; it takes every, gamma and warmup": the options schedule `kind` takes. */
static void sched_options(char *out, size_t cap, SchedKind kind)
{
    int n = 0, k = 0;
    for (int i = 0; i < N_SCHED_KEYS; i++)
        n += (sched_keys[i].kinds & (1u << kind)) != 0;
    snprintf(out, cap, "; it takes ");
    for (int i = 0; i < N_SCHED_KEYS; i++) {
        if (!(sched_keys[i].kinds & (1u << kind)))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ", sched_keys[i].key);
        k++;
    }
}

/* One option's value into the Schedule; false (with an error) when it is
 * not a number in the option's range. */
static bool read_sched_value(Checker *c, const SchedKey *k, const Arg *v, Schedule *sc)
{
    if (k->whole) {
        int64_t i;
        if (v->kind != ARG_NUMBER) {
            error_at(c, v->loc, "%s must be a whole number, not '%s'", k->key, v->text);
            return false;
        }
        if (!read_int(c, v, k->key, (int64_t)k->lo, NNC_MAX_EPOCHS, &i))
            return false;
        *(int64_t *)((char *)sc + k->offset) = i;
        return true;
    }
    double x;
    if (!read_real(c, v, k->key, &x))
        return false;
    if ((k->lo_open ? x <= k->lo : x < k->lo) || (k->hi && x > k->hi)) {
        if (k->hi)
            error_at(c, v->loc, "%s must be %s %g and <= %g, not %s", k->key, k->lo_open ? ">" : ">=", k->lo, k->hi,
                     v->text);
        else
            error_at(c, v->loc, "%s must be %s %g, not %s", k->key, k->lo_open ? ">" : ">=", k->lo, v->text);
        return false;
    }
    *(double *)((char *)sc + k->offset) = x;
    return true;
}

/* schedule step every=E [gamma=G] [warmup=W] | exponential gamma=G
 * [warmup=W] | cosine [min=F] [warmup=W] */
static void check_schedule(Checker *c, const Stmt *s)
{
    const Arg *a = s->args;
    Schedule *sc = &c->net->sched;
    if (!a || a->kind != ARG_WORD) {
        error_at(c, a ? a->loc : s->loc, "'schedule' needs a kind: step, exponential or cosine");
        usage_note(c);
        return;
    }
    /* 0 is the absence of a schedule, not a keyword */
    int kind = 1 + find_keyword(c, a, "schedule", sched_keyword + 1, SCHED__COUNT - 1, "step, exponential or cosine");
    if (kind < 1)
        return;
    *sc = (Schedule){.kind = (SchedKind)kind, .loc = s->loc, .gamma = 0.1};   /* gamma: StepLR's default */
    unsigned seen = 0;
    bool ok = true;
    for (a = a->next; a; a = a->next) {
        if (a->kind != ARG_KEYVAL) {
            error_at(c, a->loc, "schedule options are written key=value (e.g. warmup=5), not '%s'", a->text);
            ok = false;
            continue;
        }
        const SchedKey *k = NULL;
        for (int i = 0; i < N_SCHED_KEYS; i++)
            if (strcmp(a->text, sched_keys[i].key) == 0)
                k = &sched_keys[i];
        if (!k || !(k->kinds & (1u << kind))) {
            const char *names[N_SCHED_KEYS];
            char takes[80];
            for (int i = 0; i < N_SCHED_KEYS; i++)
                names[i] = sched_keys[i].kinds & (1u << kind) ? sched_keys[i].key : NULL;
            sched_options(takes, sizeof takes, (SchedKind)kind);
            no_such_option(c, a, sched_keyword[kind], names, N_SCHED_KEYS, takes);
            ok = false;
            continue;
        }
        unsigned bit = 1u << (k - sched_keys);
        if (seen & bit) {
            error_at(c, a->loc, "option '%s' is given twice", k->key);
            ok = false;
            continue;
        }
        seen |= bit;
        ok &= read_sched_value(c, k, a->args, sc);
    }
    for (int i = 0; i < N_SCHED_KEYS && ok; i++)
        if ((sched_keys[i].required & (1u << kind)) && !(seen & (1u << i)))
            error_at(c, s->loc, "%s", sched_keys[i].need);
}

static void check_batch(Checker *c, const Stmt *s)
{
    if (read_int(c, s->args, "the batch size", 1, NNC_MAX_BATCH, &c->net->batch))
        extra_args(c, s->args->next);
}

static void check_epochs(Checker *c, const Stmt *s)
{
    if (read_int(c, s->args, "the number of epochs", 1, NNC_MAX_EPOCHS, &c->net->epochs))
        extra_args(c, s->args->next);
}

static void check_init(Checker *c, const Stmt *s)
{
    const Arg *a = s->args;
    Init *init = &c->net->init;
    if (!a || (a->kind != ARG_WORD && a->kind != ARG_CALL)) {
        error_at(c, a ? a->loc : s->loc, "'init' needs a method: uniform(A, B), normal(MEAN, STD), xavier or he");
        return;
    }
    /* 0 is "default", not a keyword */
    int kind = 1 + find_keyword(c, a, "init", init_keyword + 1, INIT__COUNT - 1, "uniform, normal, xavier or he");
    if (kind < 1)
        return;
    int want = init_n_args[kind], got = 0;
    for (const Arg *p = a->args; p; p = p->next)
        got++;
    if (want > 0 && (a->kind != ARG_CALL || got != want)) {
        error_at(c, a->loc, "'%s' takes %d numbers: %s", init_keyword[kind], want,
                 kind == INIT_UNIFORM ? "uniform(LOW, HIGH)" : "normal(MEAN, STD)");
        return;
    }
    if (want == 0 && a->kind == ARG_CALL) {
        error_at(c, a->loc, "'%s' takes no arguments", init_keyword[kind]);
        return;
    }
    init->kind = (InitKind)kind;
    init->loc = s->loc;
    if (want == 2) {
        if (!read_real(c, a->args, "the first argument", &init->a) ||
            !read_real(c, a->args->next, "the second argument", &init->b))
            return;
        if (kind == INIT_UNIFORM && !(init->a < init->b))
            error_at(c, a->loc, "uniform(LOW, HIGH) needs LOW < HIGH, not %s and %s", a->args->text,
                     a->args->next->text);
        if (kind == INIT_NORMAL && !(init->b > 0))
            error_at(c, a->args->next->loc, "the standard deviation must be > 0, not %s", a->args->next->text);
    }
    extra_args(c, a->next);
}

static void check_seed(Checker *c, const Stmt *s)
{
    const Arg *a = s->args;
    if (!a || a->kind != ARG_NUMBER || !a->is_int || a->text[0] == '-') {
        error_at(c, a ? a->loc : s->loc, "'seed' needs a whole number from 0 to 18446744073709551615");
        return;
    }
    errno = 0;
    unsigned long long v = strtoull(a->text, NULL, 10);
    if (errno == ERANGE) {
        error_at(c, a->loc, "the seed must be at most 18446744073709551615, not %s", a->text);
        return;
    }
    c->net->seed = (uint64_t)v;
    c->net->has_seed = true;
    extra_args(c, a->next);
}

/* ---- networks ---- */

/* Names a network cannot take: its name becomes a C type and the prefix of
 * every emitted name, and the emitted file includes <math.h>, <string.h>,
 * <stdint.h> and <stddef.h>. */
static const char *const c_reserved[] = {
    /* C99 keywords, and names a C program cannot redefine usefully */
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool",
    "_Complex", "_Imaginary", "bool", "true", "false", "main", "errno", "assert",
    /* <string.h> and <stddef.h> */
    "memcpy", "memmove", "strcpy", "strncpy", "strcat", "strncat", "memcmp", "strcmp", "strcoll", "strncmp",
    "strxfrm", "memchr", "strchr", "strcspn", "strpbrk", "strrchr", "strspn", "strstr", "strtok", "memset",
    "strerror", "strlen", "offsetof", "NULL",
    /* <math.h> macros and types */
    "fpclassify", "isfinite", "isinf", "isnan", "isnormal", "signbit", "isgreater", "isgreaterequal", "isless",
    "islessequal", "islessgreater", "isunordered", "float_t", "double_t", "math_errhandling", "INFINITY", "NAN",
    "HUGE_VAL", "HUGE_VALF", "HUGE_VALL",
};

/* <math.h> functions; each also comes with the suffixes f and l. */
static const char *const c_math[] = {
    "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh", "sinh", "tanh",
    "exp", "exp2", "expm1", "frexp", "ilogb", "ldexp", "log", "log10", "log1p", "log2", "logb", "modf",
    "scalbn", "scalbln", "cbrt", "fabs", "hypot", "pow", "sqrt", "erf", "erfc", "lgamma", "tgamma", "ceil",
    "floor", "nearbyint", "rint", "lrint", "llrint", "round", "lround", "llround", "trunc", "fmod", "remainder",
    "remquo", "copysign", "nan", "nextafter", "nexttoward", "fdim", "fmax", "fmin", "fma",
};

/* What glibc's <math.h> and <string.h> declare beyond C99 in their default
 * mode (gcc and clang without -std=c99, tcc always): BSD, SVID and POSIX
 * names.  A user's program compiled without -std=c99 sees them, so a
 * network cannot take them either; tests/errors/names.sh sweeps the
 * system's headers for any this list misses. */
static const char *const libc_extra[] = {
    "bcmp", "bcopy", "bzero", "explicit_bzero", "ffs", "ffsl", "ffsll", "index", "rindex", "memccpy", "stpcpy",
    "stpncpy", "strcasecmp", "strcasecmp_l", "strcoll_l", "strdup", "strerror_l", "strerror_r", "strncasecmp",
    "strncasecmp_l", "strndup", "strnlen", "strsep", "strsignal", "strtok_r", "strxfrm_l", "signgam",
    "lgamma_r", "lgammaf_r", "lgammal_r",
    "alloca",   /* tcc's <stddef.h> */
    /* macros compilers predefine outside strict mode */
    "linux", "unix", "i386",
};

/* ... and the <math.h> functions of that list, each also with the suffixes
 * f and l. */
static const char *const libc_extra_math[] = {
    "j0", "j1", "jn", "y0", "y1", "yn", "gamma", "drem", "finite", "scalb", "significand", "isinf", "isnan",
};

/* Whether `name` is one of `list`, or (with_fl) one of them followed by 'f'
 * or 'l'. */
static bool in_list(const char *name, const char *const *list, size_t n, bool with_fl)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(list[i]);
        if (strncmp(name, list[i], k) == 0 &&
            (len == k || (with_fl && len == k + 1 && (name[k] == 'f' || name[k] == 'l'))))
            return true;
    }
    return false;
}

static bool all_caps(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return false;
    return true;
}

static bool is_c_reserved(const char *name)
{
    size_t len = strlen(name);
    if (in_list(name, c_reserved, sizeof c_reserved / sizeof c_reserved[0], false) ||
        in_list(name, c_math, sizeof c_math / sizeof c_math[0], true) ||
        in_list(name, libc_extra, sizeof libc_extra / sizeof libc_extra[0], false) ||
        in_list(name, libc_extra_math, sizeof libc_extra_math / sizeof libc_extra_math[0], true))
        return true;
    /* <stdint.h>, <stddef.h> types (int8_t, size_t, ...: POSIX reserves all
     * of *_t) and macros (INT8_MAX, UINT64_C, SIZE_MAX, FP_NAN, ...) */
    if (len > 2 && strcmp(name + len - 2, "_t") == 0)
        return true;
    if (all_caps(name) && (strncmp(name, "INT", 3) == 0 || strncmp(name, "UINT", 4) == 0 ||
                           strncmp(name, "FP_", 3) == 0 || strncmp(name, "SIZE_", 5) == 0 ||
                           strncmp(name, "PTRDIFF_", 8) == 0 || strncmp(name, "SIG_ATOMIC_", 11) == 0 ||
                           strncmp(name, "WCHAR_", 6) == 0 || strncmp(name, "WINT_", 5) == 0 ||
                           strncmp(name, "MATH_", 5) == 0 || strncmp(name, "M_", 2) == 0))
        return true;
    return false;
}

static void check_name(Checker *c, const NetDecl *d, const char *what)
{
    if (strcmp(d->name, "gan") == 0) {
        error_at(c, d->name_loc, "'gan' cannot name a %s: it is the keyword of gan blocks", what);
        return;
    }
    if (is_c_reserved(d->name)) {
        error_at(c, d->name_loc, "'%s' cannot name a %s: it is reserved in C or by the C library, and the name "
                 "becomes a C type", d->name, what);
        return;
    }
    const char *n = d->name;
    if (tolower((unsigned char)n[0]) == 'n' && tolower((unsigned char)n[1]) == 'n' &&
        tolower((unsigned char)n[2]) == 'c' && n[3] == '_')
        error_at(c, d->name_loc, "%s names starting with 'nnc_' or 'NNC_' (in any case) are reserved: the "
                 "emitted C's own names and macros start with them", what);
    else if (n[0] == '_' && n[1] == '_')
        error_at(c, d->name_loc, "%s names starting with '__' are reserved in C", what);
    else if (n[0] == '_' && n[1] >= 'A' && n[1] <= 'Z')
        error_at(c, d->name_loc, "%s names starting with '_' and a capital letter are reserved in C", what);
}

static void check_stmt(Checker *c, const Stmt *s)
{
    const StmtRule *rule = find_rule(s->kw);
    if (!rule) {
        const char *names[N_RULES];
        for (int i = 0; i < N_RULES; i++)
            names[i] = stmt_rules[i].keyword;
        const char *hint = suggest_word(s->kw, names, N_RULES);
        if (hint)
            error_at(c, s->kw_loc, "unknown statement '%s' (did you mean '%s'?)", s->kw, hint);
        else if (is_act_name(s->kw))
            error_at(c, s->kw_loc, "'%s' is an activation; it goes after a layer, as in 'dense 10 %s'", s->kw, s->kw);
        else
            error_at(c, s->kw_loc, "unknown statement '%s'; expected input, dense, conv, maxpool, avgpool, flatten, dropout, "
                     "rnn, lstm, gru, embed, loss, optimizer, schedule, batch, epochs, init or seed", s->kw);
        return;
    }
    c->rule = rule;
    c->stmt = s;
    if (rule->once) {
        Loc *first = &c->first[rule - stmt_rules];
        if (first->first_line) {
            error_at(c, s->kw_loc, "duplicate '%s' statement", rule->keyword);
            diag_at(c->diag, DIAG_NOTE, *first, "the first '%s' is here", rule->keyword);
            return;
        }
        *first = s->kw_loc;
    }
    rule->check(c, s);
}

static void check_whole_net(Checker *c, const NetDecl *d)
{
    Net *n = c->net;
    if (!seen(c, "input"))
        error_at(c, d->name_loc, "network '%s' has no 'input' statement (e.g. 'input 2' or 'input 1x28x28')",
                 d->name);
    if (n->n_layers == 0)
        error_at(c, d->name_loc, "network '%s' has no layers (e.g. 'dense 10 relu')", d->name);
    /* a missing loss is judged after the gan blocks (check_program) */
    n->loss_written = seen(c, "loss");
    for (int i = 0; i < n->n_layers; i++) {
        Layer *l = &n->layers[i];
        if (l->kind == LAYER_EMBED && i != 0)
            error_at(c, l->loc, "'embed' reads the ids of the input, so it must be the first layer; layer %d comes "
                     "after %d other%s", l->index, i, i == 1 ? "" : "s");
        if (l->act == ACT_SOFTMAX && i != n->n_layers - 1)
            error_at(c, l->loc, "softmax is only allowed on the last layer; layer %d is followed by %d more", l->index,
                     n->n_layers - 1 - i);
        else if (l->act == ACT_SOFTMAX && l->kind != LAYER_DENSE)
            error_at(c, l->loc, "softmax is only allowed on a dense layer");
        else if (l->act == ACT_SOFTMAX && l->units == 1)
            diag_at(c->diag, DIAG_WARNING, l->loc, "softmax over 1 output is always 1; this layer cannot learn");
    }
    if (n->has_loss && n->loss == LOSS_BCE && n->n_layers > 0) {
        const Layer *last = &n->layers[n->n_layers - 1];
        if ((last->kind != LAYER_DENSE || last->act != ACT_SIGMOID) && !last->act_invalid) {
            error_at(c, n->loss_loc, "bce needs a sigmoid output layer ('dense N sigmoid'), but the last layer is %s %s",
                     layer_info[last->kind].keyword, act_info[last->act].keyword);
            diag_at(c->diag, DIAG_NOTE, last->loc, "bce reads the pre-activations of a dense sigmoid layer, for the "
                    "numerically stable form of BCEWithLogitsLoss");
        }
    }
    if (n->has_loss && n->loss == LOSS_CROSS_ENTROPY && n->n_layers > 0) {
        const Layer *last = &n->layers[n->n_layers - 1];
        if (last->act != ACT_SOFTMAX && !last->act_invalid) {
            if (last->kind == LAYER_DENSE || last->kind == LAYER_CONV)
                error_at(c, n->loss_loc, "cross_entropy needs a softmax output layer, but the last layer is %s %s",
                         layer_info[last->kind].keyword, act_info[last->act].keyword);
            else
                error_at(c, n->loss_loc, "cross_entropy needs a softmax output layer, but the last layer is %s",
                         layer_info[last->kind].keyword);
            diag_at(c->diag, DIAG_NOTE, last->loc, "add softmax here, as in 'dense N softmax'");
        }
    }
    /* schedules that are valid but cannot do what they seem to */
    const Schedule *sc = &n->sched;
    if (sc->kind == SCHED_COSINE && sc->min > n->optim.lr)
        diag_at(c->diag, DIAG_WARNING, sc->loc, "min=%g is above the learning rate (lr=%g): this cosine schedule "
                "rises from lr to min", sc->min, n->optim.lr);
    if (sc->kind != SCHED_NONE && seen(c, "epochs") && sc->warmup >= n->epochs)
        diag_at(c->diag, DIAG_WARNING, sc->loc, "a warm-up of %lld epochs fills the whole run of %lld ('epochs "
                "%lld'): the %s schedule never starts", (long long)sc->warmup, (long long)n->epochs,
                (long long)n->epochs, sched_keyword[sc->kind]);
}

/* ---- gan blocks ----
 *
 * gan NAME { generator G; discriminator D; noise normal(M, S) }: the names
 * and statements here; the generator's output size against the
 * discriminator's input size waits for shapes (lower.c). */

static Net *find_net(Module *m, const char *name)
{
    for (int i = 0; i < m->n_nets; i++)
        if (strcmp(m->nets[i].name, name) == 0)
            return &m->nets[i];
    return NULL;
}

/* generator NAME / discriminator NAME: *out gets the network. */
static void check_gan_member(Checker *c, Module *m, const Stmt *s, Net **out, Loc *loc)
{
    const Arg *a = s->args;
    if (!a || a->kind != ARG_WORD) {
        error_at(c, a ? a->loc : s->loc, "'%s' needs the name of a network of this file, as in '%s gen'", s->kw,
                 s->kw);
        return;
    }
    Net *n = find_net(m, a->text);
    if (!n) {
        const char *names[64];
        int k = 0;
        for (int i = 0; i < m->n_nets && k < 64; i++)
            names[k++] = m->nets[i].name;
        const char *hint = suggest_word(a->text, names, (size_t)k);
        if (hint)
            error_at(c, a->loc, "no network named '%s' in this file (did you mean '%s'?)", a->text, hint);
        else
            error_at(c, a->loc, "no network named '%s' in this file", a->text);
        return;
    }
    *out = n;
    *loc = a->loc;
    extra_args(c, a->next);
}

static void check_gan_noise(Checker *c, Gan *g, const Stmt *s)
{
    const Arg *a = s->args;
    bool normal = a && a->kind == ARG_CALL && strcmp(a->text, "normal") == 0;
    bool uniform = a && a->kind == ARG_CALL && strcmp(a->text, "uniform") == 0;
    int got = 0;
    for (const Arg *p = a ? a->args : NULL; p; p = p->next)
        got++;
    if ((!normal && !uniform) || got != 2) {
        error_at(c, a ? a->loc : s->loc, "'noise' takes normal(MEAN, STD) or uniform(LOW, HIGH)");
        return;
    }
    g->noise = normal ? NOISE_NORMAL : NOISE_UNIFORM;
    if (!read_real(c, a->args, "the first argument", &g->noise_a) ||
        !read_real(c, a->args->next, "the second argument", &g->noise_b))
        return;
    if (uniform && !(g->noise_a < g->noise_b))
        error_at(c, a->loc, "uniform(LOW, HIGH) needs LOW < HIGH, not %s and %s", a->args->text, a->args->next->text);
    if (normal && !(g->noise_b > 0))
        error_at(c, a->args->next->loc, "the standard deviation must be > 0, not %s", a->args->next->text);
    extra_args(c, a->next);
}

static void check_gan(Checker *c, Module *m, const NetDecl *d, Gan *g)
{
    Loc seen_at[3] = {{0}};
    static const char *const keys[3] = {"generator", "discriminator", "noise"};
    static const StmtRule rules[3] = {{"generator", NULL, "generator NETWORK", true},
                                      {"discriminator", NULL, "discriminator NETWORK", true},
                                      {"noise", NULL, "noise normal(MEAN, STD) | noise uniform(LOW, HIGH)", true}};
    g->noise = NOISE_NORMAL, g->noise_a = 0.0, g->noise_b = 1.0;   /* the default: normal(0, 1) */
    for (const Stmt *s = d->stmts; s; s = s->next) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(s->kw, keys[i]) == 0)
                k = i;
        if (k < 0) {
            const char *hint = suggest_word(s->kw, keys, 3);
            if (hint)
                error_at(c, s->kw_loc, "unknown statement '%s' in a gan block (did you mean '%s'?)", s->kw, hint);
            else
                error_at(c, s->kw_loc, "unknown statement '%s' in a gan block; expected generator, discriminator or "
                         "noise", s->kw);
            continue;
        }
        if (seen_at[k].first_line) {
            error_at(c, s->kw_loc, "duplicate '%s' statement", keys[k]);
            diag_at(c->diag, DIAG_NOTE, seen_at[k], "the first one is here");
            continue;
        }
        seen_at[k] = s->kw_loc;
        c->rule = &rules[k];   /* for extra_args and usage notes */
        c->stmt = s;
        if (k == 0)
            check_gan_member(c, m, s, &g->gen, &g->gen_loc);
        else if (k == 1)
            check_gan_member(c, m, s, &g->disc, &g->disc_loc);
        else
            check_gan_noise(c, g, s);
    }
    for (int k = 0; k < 2; k++)
        if (!seen_at[k].first_line)
            error_at(c, d->name_loc, "gan '%s' has no '%s' statement (e.g. '%s %s')", d->name, keys[k], keys[k],
                     k ? "disc" : "gen");
    Net *gen = g->gen, *disc = g->disc;
    if (!gen || !disc)
        return;
    /* the struct's own members (emit_gan.c) beside the two named after the networks */
    static const char *const members[] = {"z", "fake", "dfake", "dgrad", "ones", "zeros", "rng"};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
            if (strcmp((k ? disc : gen)->name, members[i]) == 0)
                error_at(c, k ? g->disc_loc : g->gen_loc, "a network named '%s' cannot be a gan's %s: the gan's C "
                         "struct has a member '%s' of its own", members[i], k ? "discriminator" : "generator",
                         members[i]);
    if (gen == disc) {
        error_at(c, g->disc_loc, "the generator and the discriminator must be two networks; both are '%s'", gen->name);
        return;
    }
    const Layer *last = disc->n_layers ? &disc->layers[disc->n_layers - 1] : NULL;
    if (last && !(last->kind == LAYER_DENSE && last->units == 1 && last->act == ACT_SIGMOID)) {
        char units[32] = "";
        if (last->units)
            snprintf(units, sizeof units, " %lld", (long long)last->units);
        error_at(c, g->disc_loc, "the discriminator '%s' must end in one sigmoid unit ('dense 1 sigmoid'), the "
                 "probability that its input is real; its last layer is %s%s%s%s", disc->name,
                 layer_info[last->kind].keyword, units, last->act != ACT_LINEAR ? " " : "",
                 last->act != ACT_LINEAR ? act_info[last->act].keyword : "");
    }
    if (!disc->has_loss || disc->loss != LOSS_BCE)
        error_at(c, g->disc_loc, "the discriminator '%s' needs 'loss bce' (it has %s)", disc->name,
                 disc->has_loss ? loss_keyword[disc->loss] : "no loss statement");
    if (disc->n_layers && disc->layers[0].kind == LAYER_EMBED)
        error_at(c, g->disc_loc, "the discriminator '%s' starts with embed: it reads ids, which carry no gradient "
                 "back to a generator", disc->name);
    if (gen->batch != disc->batch)
        error_at(c, g->disc_loc, "the generator's batch (%lld) and the discriminator's (%lld) must agree: each step "
                 "trains both on the same n samples", (long long)gen->batch, (long long)disc->batch);
}

/* Names become C identifiers: a gan's and its functions' (NAME_step) must
 * not clash with a network's or another gan's. */
static void check_gan_name(Checker *c, Module *m, const NetDecl *d, const Gan *gans, int n_gans)
{
    size_t ld = strlen(d->name);
    for (int i = 0; i < m->n_nets + n_gans; i++) {
        const char *other = i < m->n_nets ? m->nets[i].name : gans[i - m->n_nets].name;
        Loc at = i < m->n_nets ? m->nets[i].name_loc : gans[i - m->n_nets].name_loc;
        size_t lo = strlen(other);
        if (strcmp(other, d->name) == 0) {
            error_at(c, d->name_loc, "a %s named '%s' is already defined", i < m->n_nets ? "network" : "gan", d->name);
            diag_at(c->diag, DIAG_NOTE, at, "the first '%s' is here", other);
        } else if ((lo < ld && strncmp(other, d->name, lo) == 0 && d->name[lo] == '_') ||
                   (ld < lo && strncmp(other, d->name, ld) == 0 && other[ld] == '_')) {
            error_at(c, d->name_loc, "'%s' and '%s' would give clashing C names (one is the other's prefix followed "
                     "by '_')", other, d->name);
        }
    }
}

Module *check_program(const Program *prog, const Source *src, Arena *arena, Diag *diag)
{
    int errors_before = diag->n_errors;
    Module *m = arena_alloc(arena, sizeof *m);
    m->src = src;
    int count = 0;
    for (const NetDecl *d = prog->nets; d; d = d->next)
        count++;
    if (count == 0 && diag->n_errors == errors_before) {
        Loc start = {1, 1, 1, 1};
        diag_at(diag, DIAG_ERROR, start, "no network in this file; a file holds one or more 'network NAME { ... }' blocks");
        return NULL;
    }
    m->nets = arena_alloc(arena, (size_t)(count ? count : 1) * sizeof(Net));
    for (const NetDecl *d = prog->nets; d; d = d->next) {
        Net *n = &m->nets[m->n_nets++];
        n->name = d->name;
        n->loc = d->loc;
        n->name_loc = d->name_loc;
        n->batch = 1;
        n->epochs = NNC_DEFAULT_EPOCHS;
        n->seed = NNC_DEFAULT_SEED;
        set_optim_defaults(&n->optim, OPTIM_SGD);
        Checker c = {.arena = arena, .diag = diag, .net = n};
        check_name(&c, d, "network");
        for (const NetDecl *e = prog->nets; e != d; e = e->next) {
            size_t le = strlen(e->name), ld = strlen(d->name);
            if (strcmp(e->name, d->name) == 0) {
                error_at(&c, d->name_loc, "a network named '%s' is already defined", d->name);
                diag_at(diag, DIAG_NOTE, e->name_loc, "the first '%s' is here", e->name);
            } else if ((le < ld && strncmp(e->name, d->name, le) == 0 && d->name[le] == '_') ||
                       (ld < le && strncmp(e->name, d->name, ld) == 0 && e->name[ld] == '_')) {
                error_at(&c, d->name_loc, "networks '%s' and '%s' would give clashing C names (one is the other's "
                         "prefix followed by '_')", e->name, d->name);
            }
        }
        for (const Stmt *s = d->stmts; s; s = s->next)
            check_stmt(&c, s);
        check_whole_net(&c, d);
    }
    int n_gans = 0;
    for (const NetDecl *d = prog->gans; d; d = d->next)
        n_gans++;
    m->gans = arena_alloc(arena, (size_t)(n_gans ? n_gans : 1) * sizeof(Gan));
    for (const NetDecl *d = prog->gans; d; d = d->next) {
        Gan *g = &m->gans[m->n_gans];
        g->name = d->name, g->loc = d->loc, g->name_loc = d->name_loc;
        Checker c = {.arena = arena, .diag = diag};
        check_name(&c, d, "gan");
        check_gan_name(&c, m, d, m->gans, m->n_gans);
        check_gan(&c, m, d, g);
        m->n_gans++;
    }
    /* A network without a loss statement: loss none if a gan trains it as its
     * generator (its gradient comes from the discriminator), else an error. */
    for (int i = 0; i < m->n_nets; i++) {
        Net *n = &m->nets[i];
        if (n->has_loss || n->loss_written)
            continue;
        bool generator = false;
        for (int k = 0; k < m->n_gans; k++)   /* a gan whose generator is unknown has its error already */
            generator |= m->gans[k].gen == n || !m->gans[k].gen;
        if (generator)
            n->loss = LOSS_NONE;
        else
            diag_at(diag, DIAG_ERROR, n->name_loc, "network '%s' has no 'loss' statement (loss mse, cross_entropy, "
                    "bce, or none for a network trained only from a gradient given at its outputs)", n->name);
    }
    return diag->n_errors == errors_before ? m : NULL;
}
