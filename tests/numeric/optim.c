/* optim.c — checks a network's generated optimizer step (NAME_update)
 * against a plain reimplementation of torch.optim's formulas.
 *
 *   gcc $STRICT -DNET=name -include name.h optim.c name.o -lm
 *   ./a.out FILE.nn            the check; exit 0 when it passes
 *   ./a.out FILE.nn selftest   shows the comparison rejects wrong optimizers
 *   ./a.out FILE.nn stats      the check, printing how close it came
 *   ./a.out FILE.nn wrap       the check across update number 2^32, where
 *                              the uint32_t step counter wraps
 *
 * The optimizer and its options are read from the network's `optimizer`
 * statement in FILE.nn (none: sgd lr=0.01, as check.c sets it).  For
 * STEPS steps on random batches of 1..BATCH samples, NAME_backward gives the
 * gradient, NAME_update applies it, and the reference applies the same
 * gradient, in double, to its own copy of the parameters and state:
 *
 *   torch.optim.SGD (dampening 0, nesterov off), step t = 1, 2, ...:
 *     g = grad + weight_decay * p
 *     buf = g if t == 1 else momentum * buf + g;  g = buf   (when momentum)
 *     p -= lr * g
 *   torch.optim.Adam (amsgrad off; weight_decay is L2, not AdamW):
 *     g = grad + weight_decay * p
 *     m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
 *     p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * lr is read from net->lr at every step, and halved half way (net->lr is
 * documented as free to change), so the check also covers that.  Other
 * checks: NAME_init sets lr to the file's, step counts the updates, and
 * NAME_train_step is exactly NAME_backward then NAME_update (same bits in
 * the whole struct, same loss).
 *
 * Tolerance.  The generated step is float; the reference is double.  Each
 * float step rounds the new parameter (half an ulp of |p|) and the update
 * (a few ulps of |update|; Adam's ratio m / (sqrt(v) + eps) takes a few
 * roundings, and its float constants 0.9f, 0.001f... are off by ~1e-8
 * relative).  Errors add up over steps, so parameter i passes at step k when
 *   |p_generated - p_reference| <= ULPS * FLT_EPSILON * sum over steps of (|p| + |update|)
 * Measured (`stats`): at most 0.96 such ulps, so ULPS = 8 leaves 8x margin.
 * Real mistakes miss by far more (selftest checks every one that applies):
 * eps inside the sqrt by ~400 of these ulps (with the default eps 1e-8),
 * a weight decay left out by ~8000, lr 1% off by ~40000, momentum
 * dampening, Nesterov, lr inside the momentum buffer, a missing bias
 * correction or AdamW's decoupled decay by 3e5 to 4e7. */
#include "common.h"

enum {
    NI = API(_N_INPUTS),
    NO = API(_N_OUTPUTS),
    NB = API(_BATCH),
    NP = API(_N_PARAMS),
    STEPS = 8
};
#define ULPS 8.0

static NET net, twin;
static int is_ce;
static int stats;   /* print how close the check came */

typedef struct Optim {
    int adam;
    double lr, momentum, weight_decay, beta1, beta2, eps;
} Optim;

/* Deliberately wrong references, for selftest. */
enum {
    HONEST,
    LR_OFF,               /* lr 1% too big */
    NO_WEIGHT_DECAY,      /* weight decay ignored */
    DAMPENED,             /* SGD momentum buffer with dampening = momentum */
    NESTEROV,             /* SGD momentum, Nesterov's */
    LR_IN_BUFFER,         /* SGD momentum as buf = momentum * buf + lr * g; p -= buf
                             (the same as torch's until lr changes) */
    NO_BIAS_CORRECTION,   /* Adam without bias correction */
    EPS_IN_SQRT,          /* Adam with sqrt(v_hat + eps) */
    ADAMW,                /* Adam with decoupled weight decay (AdamW) */
    N_VARIANTS
};
static const char *const variant_name[N_VARIANTS] = {
    "honest", "lr 1% off", "no weight decay", "momentum dampening", "Nesterov momentum",
    "lr inside the momentum buffer",
    "no bias correction", "eps inside the sqrt", "AdamW decay"};

/* The value of `key=` in an optimizer's arguments, or `def`. */
static double nn_option(const char *args, const char *key, double def)
{
    size_t klen = strlen(key);
    for (const char *p = args; (p = strstr(p, key)) != NULL; p++)
        if ((p == args || p[-1] == ' ' || p[-1] == '\t') && p[klen] == '=')
            return strtod(p + klen + 1, NULL);
    return def;
}

static int read_optim(const char *path, Optim *o)
{
    char args[256] = "sgd", loss[64];
    int r = nn_statement(path, NET_NAME, "optimizer", args, sizeof args);
    if (r < 0 || nn_statement(path, NET_NAME, "loss", loss, sizeof loss) != 1) {
        printf("cannot read network %s from %s\n", NET_NAME, path);
        return 0;
    }
    is_ce = strcmp(loss, "cross_entropy") == 0;
    o->adam = strncmp(args, "adam", 4) == 0;
    if (!o->adam && strncmp(args, "sgd", 3) != 0) {
        printf("unknown optimizer '%s'\n", args);
        return 0;
    }
    o->lr = nn_option(args, "lr", o->adam ? 0.001 : 0.01);   /* check.c's defaults */
    o->momentum = nn_option(args, "momentum", 0);
    o->weight_decay = nn_option(args, "weight_decay", 0);
    o->beta1 = nn_option(args, "beta1", 0.9);
    o->beta2 = nn_option(args, "beta2", 0.999);
    o->eps = nn_option(args, "eps", 1e-8);
    return 1;
}

static int variant_applies(const Optim *o, int v)
{
    switch (v) {
    case NO_WEIGHT_DECAY: return o->weight_decay != 0;
    case DAMPENED: case NESTEROV: case LR_IN_BUFFER: return !o->adam && o->momentum != 0;
    case NO_BIAS_CORRECTION: case EPS_IN_SQRT: return o->adam;
    case ADAMW: return o->adam && o->weight_decay != 0;
    default: return 1;
    }
}

/* A random batch of n samples (targets as in gradcheck.c). */
static void random_batch(float *x, float *t, int n)
{
    for (int i = 0; i < n * NI; i++)
        x[i] = (float)urand(-1, 1);
    for (int s = 0; s < n; s++) {
        int hot = (int)(rng_next() % NO);
        for (int j = 0; j < NO; j++)
            t[s * NO + j] = is_ce ? (j == hot ? 1.0f : 0.0f) : (float)urand(0, 1);
    }
}

/* Runs STEPS steps of the generated code beside the reference `variant`;
 * returns how many (parameter, step) pairs differ beyond the tolerance.
 * With `jump`, the step counter is set to UINT32_MAX - 1 half way, as after
 * 2^32 - 2 updates, and the reference's t follows: the last steps are the
 * 2^32-1st, 2^32nd... (bias corrections 1 - beta^t are 1 by then). */
static int trajectory(const Optim *o, int variant, int report, int jump)
{
    static double p[NP], buf[NP], m[NP], v[NP], scale[NP];
    float x[NB * NI], t[NB * NO];
    double worst = 0;
    int bad = 0;

    rng_state = UINT64_C(0x0123456789ABCDEF);   /* the same data for every variant */
    API(_init)(&net, API(_SEED));
    if (net.lr != (float)o->lr) {
        if (report)
            failf("NAME_init sets lr %.9g, the file says %.9g", net.lr, o->lr);
        bad++;
    }
    for (int i = 0; i < NP; i++) {
        p[i] = net.param[i];
        buf[i] = m[i] = v[i] = scale[i] = 0;
    }
    for (int step = 1; step <= STEPS; step++) {
        int n = 1 + (step - 1) % NB;
        double lr, bc1, bc2, t_ref = step;   /* torch's step count t */
        if (step == STEPS / 2 + 1)
            net.lr *= 0.5f;
        if (jump && step == STEPS / 2)
            net.step = UINT32_MAX - 1;
        if (jump && step >= STEPS / 2)
            t_ref = (double)UINT32_MAX + (step - STEPS / 2);
        lr = net.lr * (variant == LR_OFF ? 1.01 : 1.0);
        bc1 = 1 - pow(o->beta1, t_ref);
        bc2 = 1 - pow(o->beta2, t_ref);
        random_batch(x, t, n);
        API(_backward)(&net, x, t, n);
        for (int i = 0; i < NP; i++) {
            double g = net.grad[i], before = p[i];
            if (variant != NO_WEIGHT_DECAY && variant != ADAMW)
                g += o->weight_decay * p[i];
            if (o->adam) {
                double mh, vh;
                m[i] = o->beta1 * m[i] + (1 - o->beta1) * g;
                v[i] = o->beta2 * v[i] + (1 - o->beta2) * g * g;
                mh = variant == NO_BIAS_CORRECTION ? m[i] : m[i] / bc1;
                vh = variant == NO_BIAS_CORRECTION ? v[i] : v[i] / bc2;
                if (variant == ADAMW)
                    p[i] -= lr * o->weight_decay * p[i];
                p[i] -= lr * mh / (variant == EPS_IN_SQRT ? sqrt(vh + o->eps) : sqrt(vh) + o->eps);
            } else {
                if (o->momentum != 0 && variant == LR_IN_BUFFER) {
                    buf[i] = o->momentum * buf[i] + lr * g;
                    p[i] -= buf[i];
                    g = 0;
                } else if (o->momentum != 0) {
                    if (t_ref == 1)
                        buf[i] = variant == DAMPENED ? (1 - o->momentum) * g : g;
                    else
                        buf[i] = o->momentum * buf[i] + (variant == DAMPENED ? 1 - o->momentum : 1) * g;
                    g = variant == NESTEROV ? g + o->momentum * buf[i] : buf[i];
                }
                p[i] -= lr * g;
            }
            scale[i] += fabs(p[i]) + fabs(p[i] - before);
        }
        API(_update)(&net);
        for (int i = 0; i < NP; i++) {
            double err = fabs(net.param[i] - p[i]), tol = ULPS * FLT_EPSILON * scale[i];
            worst = fmax(worst, err / (FLT_EPSILON * scale[i]));
            if (!(err <= tol)) {
                if (report && bad < 3)
                    failf("step %.0f (n = %d): param %d is %.9g, torch.optim's formula gives %.9g", t_ref, n, i,
                          net.param[i], p[i]);
                bad++;
            }
        }
        if (!jump && net.step != (uint32_t)step) {
            if (report)
                failf("after %d updates, step is %u", step, (unsigned)net.step);
            bad++;
        }
    }
    if (stats && report)
        printf("worst error: %.3f ulps of the accumulated scale (tolerance %g)\n", worst, ULPS);
    return bad;
}

/* NAME_train_step is NAME_backward then NAME_update: same bits everywhere
 * but grad[]. */
static void train_step_is_backward_update(void)
{
    float x[NB * NI], t[NB * NO];

    API(_init)(&net, API(_SEED));
    API(_init)(&twin, API(_SEED));
    for (int step = 1; step <= STEPS; step++) {
        int n = NB - (step - 1) % NB;
        float a, b;
        random_batch(x, t, n);
        a = API(_train_step)(&net, x, t, n);
        b = API(_backward)(&twin, x, t, n);
        API(_update)(&twin);
        /* grad[] is NAME_backward's output: train_step may apply a layer's
         * step straight from its gradient without storing it (batch 1) */
        memcpy(net.grad, twin.grad, sizeof net.grad);
        if (a != b || memcmp(&net, &twin, sizeof net) != 0) {
            failf("step %d: NAME_train_step differs from NAME_backward + NAME_update", step);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    int selftest = argc == 3 && strcmp(argv[2], "selftest") == 0;
    int wrap = argc == 3 && strcmp(argv[2], "wrap") == 0;
    Optim o;

    stats = argc == 3 && strcmp(argv[2], "stats") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !selftest && !stats && !wrap)) {
        fprintf(stderr, "usage: %s FILE.nn [selftest | stats | wrap]\n", argv[0]);
        return 2;
    }
    if (!read_optim(argv[1], &o))
        return 1;
    if (wrap) {
        trajectory(&o, HONEST, 1, 1);
        return failures != 0;
    }
    if (!selftest) {
        trajectory(&o, HONEST, 1, 0);
        train_step_is_backward_update();
        return failures != 0;
    }
    if (trajectory(&o, HONEST, 1, 0) != 0)
        failf("the honest reference is rejected");
    for (int v = HONEST + 1; v < N_VARIANTS; v++)
        if (variant_applies(&o, v) && trajectory(&o, v, 0, 0) == 0)
            failf("a wrong reference (%s) is accepted", variant_name[v]);
    return failures != 0;
}
