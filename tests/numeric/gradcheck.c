/* gradcheck.c — checks a network's generated backward pass against central
 * finite differences of its generated loss.
 *
 *   gcc $STRICT -DNET=name -include name.h gradcheck.c name.o -lm
 *   ./a.out FILE.nn            the gradient check; exit 0 when it passes
 *   ./a.out FILE.nn selftest   shows the comparison rejects wrong gradients
 *   ./a.out FILE.nn stats      the check, printing how close it came: for
 *                              tuning the tolerances below
 *
 * For each of two parameter settings (the file's seed, and another seed, each
 * jittered so biases are not all 0) and each batch size n in {BATCH, about
 * BATCH/2, 1}, on random inputs and targets:
 *   - NAME_backward's grad[] (the analytic gradient, mean over n samples) is
 *     compared, parameter by parameter, with (L(p+h) - L(p-h)) / 2h, where L
 *     is the mean loss NAME_backward returns: the generated forward pass and
 *     loss, so the check says the backward pass is the derivative of what
 *     the generated code computes;
 *   - the loss NAME_backward returns equals the loss recomputed in double
 *     from NAME_forward's outputs (mse: 1/2 sum (t-y)^2, cross_entropy:
 *     -sum t log y), mean over the samples;
 *   - a second call gives the same bits (grad[] is cleared, not accumulated),
 *     params are left alone, and rows of x and t past n are never read (a
 *     copy padded with NaN rows gives the same bits; the exact-size copies
 *     are malloc'ed so AddressSanitizer sees any read past them);
 *   - n = 0 and n = BATCH+1 return NaN and change nothing, for NAME_backward
 *     and NAME_train_step.
 * Kinks: relu and leaky_relu are not differentiable at 0, nor is maxpool
 * where the maximum of a window changes hands; a difference taken across a
 * kink is meaningless.  Inputs are random, so a parameter lands within h of
 * a kink only rarely; the check detects it exactly.  It follows the layers
 * of the .nn file (their shapes give the layout of net->act) and takes, for
 * every sample, a signature of every kink: the sign of each output of a relu
 * or leaky_relu layer (a unit crosses its kink iff its output changes sign)
 * and the position of the first maximum of each maxpool window (the one the
 * generated code passes the gradient to).  The signatures at p+h and at p-h
 * must match the one at p.  Otherwise h is divided by 4 (up to 3 times) and,
 * failing that, the parameter is skipped; more than 2% skipped is a failure.
 */
#include "common.h"

enum {
    NI = API(_N_INPUTS),
    NO = API(_N_OUTPUTS),
    NB = API(_BATCH),
    NP = API(_N_PARAMS),
    NA = (int)(sizeof((NET *)0)->act / sizeof(float) / NB)   /* layer outputs of one sample (a row per sample) */
};

/* Step and tolerances.  The generated code is float (24-bit mantissa), and
 * so is the loss it returns: each evaluation of L carries a rounding error of
 * a few ulps, k * FLT_EPSILON * max(L, 1) with k a small number for these
 * small networks.  The central difference then has two errors:
 *   truncation  h^2/6 * L'''  ~ 1e-5 with h = 1e-2 and L''' of order 0.1-1
 *               (0 for piecewise-linear networks under mse, between kinks);
 *   rounding    ~ k * FLT_EPSILON * max(L, 1) / h  ~ 1e-5 * k at h = 1e-2.
 * h = 1e-2 balances the two (h = 1e-3 makes rounding 10x worse, h = 1e-1
 * makes truncation 100x worse).  A gradient entry passes when
 *   |analytic - numeric| <= RTOL * max(|analytic|, |numeric|) + noise,
 *   noise = NOISE_ULPS * FLT_EPSILON * max(L, 1) / h + ATOL
 * Measured over every network of gradcheck.nn, both emissions (`stats`):
 *   - the worst |analytic - numeric| is 0.3 of the noise term, i.e. the
 *     rounding error is at most ~5 ulps: NOISE_ULPS = 16 leaves 3x margin;
 *   - entries 100x above the noise term agree to 1.4e-3 relative at worst
 *     (most to 1e-5): RTOL = 1e-2 leaves 7x margin, and is far below the
 *     errors of real bugs (a missing 1/n, a wrong activation derivative, a
 *     transposed weight: tens of percent or more);
 *   - two thirds of all entries would reject a 5% error (selftest checks
 *     that a uniform 5% error, among others, is rejected).
 * The noise term grows as h shrinks near kinks; ATOL is a floor for entries
 * that are 0 up to rounding (dead relu units). */
#define H0 1e-2
#define RTOL 1e-2
#define NOISE_ULPS 16.0
#define ATOL 1e-6

static NET net;
static int is_ce;    /* loss cross_entropy, else mse */
static int is_bce;   /* loss bce: the mean over the outputs of -(t log y + (1 - t) log(1 - y)) */
static int stats;    /* print error statistics */

/* The rounding part of the tolerance, for step h at loss L. */
static double noise_term(double h, double loss)
{
    return NOISE_ULPS * FLT_EPSILON * fmax(loss, 1.0) / h + ATOL;
}

/* Whether one gradient entry matches its central difference. */
static int grad_close(double analytic, double numeric, double h, double loss)
{
    double tol = RTOL * fmax(fabs(analytic), fabs(numeric)) + noise_term(h, loss);
    return fabs(analytic - numeric) <= tol;   /* false for NaN */
}

/* Entries of `analytic` that do not match; `h[i]` is 0 for skipped ones.
 * Reports the first few when `report` is set. */
static int count_mismatches(const double *analytic, const double *numeric, const double *h, double loss,
                            int report, const char *what)
{
    int bad = 0, checked = 0, big = 0, sensitive = 0, smaller_h = 0;   /* all but `bad` for `stats` */
    double worst_noise = 0, worst_rel = 0;

    for (int i = 0; i < NP; i++) {
        double err = fabs(analytic[i] - numeric[i]), size = fmax(fabs(analytic[i]), fabs(numeric[i])), noise;
        if (h[i] == 0)
            continue;
        noise = noise_term(h[i], loss);
        checked++;
        smaller_h += h[i] < 0.9 * H0;
        worst_noise = fmax(worst_noise, err / noise);
        if (size > 100 * noise) {   /* well above the rounding noise */
            big++;
            worst_rel = fmax(worst_rel, err / size);
        }
        sensitive += RTOL * size + noise < 0.05 * size;
        if (grad_close(analytic[i], numeric[i], h[i], loss))
            continue;
        if (report && bad < 8)
            failf("%s: param %d: backward %.9g, central difference %.9g (h %g, loss %g)", what, i, analytic[i],
                  numeric[i], h[i], loss);
        bad++;
    }
    if (stats && report)
        printf("%s: worst |error| / noise term %.3f, worst relative error %.1e (of %d entries > 100x noise), "
               "%d of %d entries would reject a 5%% error, %d at a smaller h (kinks)\n",
               what, worst_noise, worst_rel, big, sensitive, checked, smaller_h);
    return bad;
}

/* ---- the kinks, from the layers of the .nn file ---- */

enum { MAX_POOLS = 16 };
static unsigned char kinked[NA];   /* outputs of relu and leaky_relu layers */
static struct Pool {               /* a maxpool layer */
    int in_off;                    /* its input in net->act; -1: the network's input */
    int out_off;                   /* its output in net->act */
    int c, h, w, kh, kw, sh, sw, oh, ow;
} pools[MAX_POOLS];
static int n_pools;
static int out_steps = 1;   /* steps of a sequence output: the loss is their mean */
static int vocab;          /* embed first: inputs are ids in [0, vocab) */

/* "3x2" or "3" (both axes) into *a, *b. */
static int parse_dims(const char *s, int *a, int *b)
{
    char extra;
    if (sscanf(s, "%dx%d%c", a, b, &extra) == 2)
        return *a > 0 && *b >= 0;
    if (sscanf(s, "%d%c", a, &extra) == 1) {
        *b = *a;
        return *a >= 0;
    }
    return 0;
}

/* Follows the layers of the network in the .nn file: fills kinked[] and
 * pools[], and checks that the layer outputs it works out fill net->act
 * exactly.  Returns 0 (after saying why) when it cannot. */
static int follow_layers(const char *path)
{
    static char lines[64][NN_LINE];
    int n = nn_statements(path, NET_NAME, lines, 64), c = 0, h = 1, w = 1, off = 0, prev = -1;
    int prev_conv = 0;   /* the layer before was a convolution */
    int steps = 0;   /* of the tensor in flight: a sequence of `steps` steps of c features */

    if (n < 0) {
        failf("cannot find network %s in %s", NET_NAME, path);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char buf[NN_LINE], *tok[16], *kw;
        int nt = 0, size, kh = 1, kwid = 1, sh = 1, sw = 1, ph = 0, pw = 0, stride_given = 0, kink = 0;
        int is_dense, is_conv, first;
        memcpy(buf, lines[i], sizeof buf);
        for (char *t = strtok(buf, " \t"); t && nt < 16; t = strtok(NULL, " \t"))
            tok[nt++] = t;
        if (nt == 0)
            continue;
        kw = tok[0];
        is_dense = strcmp(kw, "dense") == 0;
        is_conv = strcmp(kw, "conv") == 0;
        if (nt < 2 && strcmp(kw, "flatten") != 0)
            continue;
        if (strcmp(kw, "input") == 0) {
            steps = 0;
            if (strncmp(tok[1], "steps=", 6) == 0) {   /* input steps=T: one id a step */
                c = 1, h = w = 1, steps = atoi(tok[1] + 6);
            } else if (nt > 2 && strncmp(tok[2], "steps=", 6) == 0) {   /* input F steps=T */
                c = atoi(tok[1]), h = w = 1, steps = atoi(tok[2] + 6);
            } else if (sscanf(tok[1], "%dx%dx%d", &c, &h, &w) != 3) {
                c = atoi(tok[1]);
                h = w = 1;
            }
            continue;
        }
        if (strcmp(kw, "embed") == 0 || strcmp(kw, "rnn") == 0 || strcmp(kw, "lstm") == 0 ||
            strcmp(kw, "gru") == 0) {
            int all = 0, relu = 0;
            for (int k = 2; k < nt; k++) {
                all |= strcmp(tok[k], "return=all") == 0;
                relu |= strcmp(tok[k], "relu") == 0;
            }
            if (strcmp(kw, "embed") == 0) {
                vocab = atoi(tok[1]);
                c = atoi(tok[2]);
            } else {
                c = atoi(tok[1]);
                steps = all ? steps : 0;
            }
            size = c * (steps ? steps : 1);
            if (off + size > NA) {
                failf("%s: the layers of %s need more than the %d floats of net->act", path, NET_NAME, NA);
                return 0;
            }
            /* An rnn relu's kinks are its steps' states: seen when it returns them all. */
            memset(kinked + off, relu && all, (size_t)size);
            prev = off;
            prev_conv = 0;
            off += size;
            continue;
        }
        if (strcmp(kw, "flatten") == 0) {
            c *= h * w;
            h = w = 1;
            continue;
        }
        if (!is_dense && !is_conv && strcmp(kw, "maxpool") != 0 && strcmp(kw, "avgpool") != 0)
            continue;   /* loss, optimizer, batch, seed...: not a layer */
        first = is_dense || is_conv ? 2 : 1;   /* after the units or filters */
        for (int k = first; k < nt; k++) {
            char *name = tok[k], *val = strchr(name, '=');
            if (val)
                *val++ = '\0';   /* stride=2x1 */
            else if ((strcmp(name, "stride") == 0 || strcmp(name, "pad") == 0) && k + 1 < nt)
                val = tok[++k];   /* stride 2x1 */
            if (val && strcmp(name, "stride") == 0)
                stride_given = parse_dims(val, &sh, &sw);
            else if (val && strcmp(name, "pad") == 0)
                parse_dims(val, &ph, &pw);
            else if (k == first && !is_dense)
                parse_dims(name, &kh, &kwid);   /* the kernel or window */
            else
                kink |= strcmp(name, "relu") == 0 || strncmp(name, "leaky_relu", 10) == 0;
        }
        if (is_dense) {
            c = atoi(tok[1]);
            h = w = 1;
        } else {
            steps = 0;
            if (!is_conv && !stride_given) {
                sh = kh;   /* pooling: the stride defaults to the window */
                sw = kwid;
            }
            if (strcmp(kw, "maxpool") == 0) {
                struct Pool *p = &pools[n_pools];
                if (n_pools == MAX_POOLS) {
                    failf("%s has more than %d maxpool layers", NET_NAME, MAX_POOLS);
                    return 0;
                }
                /* A batch-1 network's NAME_forward is its training pass: 2x2
                 * max pooling after a convolution may keep each window's
                 * choice in the convolution's place in net->act instead of
                 * its outputs (docs/emitted-api.md), which the kinks need. */
                if (NB == 1 && prev_conv && kh == 2 && kwid == 2 && sh == 2 && sw == 2) {
                    failf("%s: %s has batch 1 and 2x2 max pooling after a convolution: net->act may hold the "
                          "windows' choices, not the convolution's outputs the kink check reads; give it batch 2 "
                          "or more", path, NET_NAME);
                    return 0;
                }
                *p = (struct Pool){prev, off, c, h, w, kh, kwid, sh, sw, (h - kh) / sh + 1, (w - kwid) / sw + 1};
                n_pools++;
            }
            if (is_conv)
                c = atoi(tok[1]);
            h = (h + 2 * ph - kh) / sh + 1;
            w = (w + 2 * pw - kwid) / sw + 1;
        }
        size = c * h * w * (steps ? steps : 1);
        if (off + size > NA) {
            failf("%s: the layers of %s need more than the %d floats of net->act: gradcheck.c misreads them",
                  path, NET_NAME, NA);
            return 0;
        }
        memset(kinked + off, kink, (size_t)size);
        prev = off;
        prev_conv = is_conv;
        off += size;
    }
    if (off != NA) {
        failf("%s: the layers of %s fill %d floats of net->act, not %d: gradcheck.c misreads them", path, NET_NAME,
              off, NA);
        return 0;
    }
    out_steps = steps ? steps : 1;
    return 1;
}

/* The kink signature of n samples into sig[n * NA]: for each layer output,
 * its sign if it is a relu or leaky_relu output, 1 + the position in its
 * window of the first maximum if it is a maxpool output, else 0. */
static void kink_signature(const float *x, int n, int *sig)
{
    float y[NO];
    for (int s = 0; s < n; s++) {
        int *ss = sig + s * NA;
        API(_forward)(&net, x + s * NI, y);
        for (int j = 0; j < NA; j++)
            ss[j] = kinked[j] && net.act[j] > 0.0f;
        for (int k = 0; k < n_pools; k++) {
            const struct Pool *p = &pools[k];
            const float *in = p->in_off < 0 ? x + s * NI : net.act + p->in_off;
            for (int ch = 0; ch < p->c; ch++)
                for (int oy = 0; oy < p->oh; oy++)
                    for (int ox = 0; ox < p->ow; ox++) {
                        const float *win = in + (ch * p->h + oy * p->sh) * p->w + ox * p->sw;
                        int best = 0;
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++)
                                if (win[ky * p->w + kx] > win[best / p->kw * p->w + best % p->kw])
                                    best = ky * p->kw + kx;
                        ss[p->out_off + (ch * p->oh + oy) * p->ow + ox] = 1 + best;
                    }
        }
    }
}

/* Random inputs in [-1, 1) (ids in [0, vocab) when an embed layer reads
 * them); targets in [0, 1) for mse and bce, and for cross_entropy a one-hot vector
 * (even samples) or a random distribution (odd ones), for each step of a
 * sequence output: both sum to 1, which dL/dz = y - t assumes. */
static void random_data(float *x, float *t, int n)
{
    int k = NO / out_steps;   /* outputs of one step */
    for (int i = 0; i < n * NI; i++)
        x[i] = vocab ? (float)(rng_next() % (uint64_t)vocab) : (float)urand(-1, 1);
    for (int s = 0; s < n * out_steps; s++) {
        float *ts = t + s * k;
        if (!is_ce) {
            for (int j = 0; j < k; j++)
                ts[j] = (float)urand(0, 1);
        } else if (s % 2 == 0) {
            int hot = (int)(rng_next() % (uint64_t)k);
            for (int j = 0; j < k; j++)
                ts[j] = j == hot ? 1.0f : 0.0f;
        } else {
            double sum = 0;
            for (int j = 0; j < k; j++)
                sum += ts[j] = (float)urand(0.05, 1);
            for (int j = 0; j < k; j++)
                ts[j] = (float)(ts[j] / sum);
        }
    }
}

/* The mean loss of n samples, in double from NAME_forward's outputs. */
static double reference_loss(const float *x, const float *t, int n)
{
    double total = 0;
    float y[NO];
    for (int s = 0; s < n; s++) {
        API(_forward)(&net, x + s * NI, y);
        for (int j = 0; j < NO; j++) {
            double tj = t[s * NO + j], yj = y[j];
            total += is_ce    ? (tj != 0 ? -tj * log(yj) : 0)
                     : is_bce ? -(tj * log(yj) + (1 - tj) * log(1 - yj)) / (NO / out_steps)
                              : 0.5 * (tj - yj) * (tj - yj);
        }
    }
    return total / n / out_steps;   /* a sequence output: the mean over its steps */
}

/* Analytic and numeric gradients at the current parameters, for n samples.
 * Fills h[i] (0: skipped at a kink) and returns the mean loss. */
static double gradients(const float *x, const float *t, int n, double *analytic, double *numeric, double *h,
                        int *skipped)
{
    double loss = API(_backward)(&net, x, t, n);
    size_t bytes = sizeof(int) * (size_t)n * NA;
    int *base = malloc(bytes), *plus = malloc(bytes), *minus = malloc(bytes);

    for (int i = 0; i < NP; i++)
        analytic[i] = net.grad[i];
    kink_signature(x, n, base);
    *skipped = 0;
    for (int i = 0; i < NP; i++) {
        const float p0 = net.param[i];
        double step = H0;
        h[i] = 0;
        for (int attempt = 0; attempt < 4; attempt++, step /= 4) {
            float pp = (float)(p0 + step), pm = (float)(p0 - step);
            double lp, lm;
            net.param[i] = pp;
            lp = API(_backward)(&net, x, t, n);
            kink_signature(x, n, plus);
            net.param[i] = pm;
            lm = API(_backward)(&net, x, t, n);
            kink_signature(x, n, minus);
            net.param[i] = p0;
            if (memcmp(base, plus, bytes) == 0 && memcmp(base, minus, bytes) == 0) {
                /* divide by the step actually taken: p0 +- step is rounded to float */
                numeric[i] = (lp - lm) / ((double)pp - (double)pm);
                h[i] = ((double)pp - (double)pm) / 2;
                break;
            }
        }
        if (h[i] == 0)
            ++*skipped;
    }
    free(base);
    free(plus);
    free(minus);
    return loss;
}

/* The checks other than the gradient's, for n samples at the current params. */
static void api_checks(const float *x, const float *t, int n, const char *where)
{
    static NET before, again;
    float *xp = malloc(sizeof(float) * NB * NI), *tp = malloc(sizeof(float) * NB * NO);
    double loss, ref;

    before = net;
    loss = API(_backward)(&net, x, t, n);
    if (memcmp(before.param, net.param, sizeof net.param) != 0)
        failf("%s: NAME_backward changed the parameters", where);
    again = net;
    if (API(_backward)(&net, x, t, n) != loss || memcmp(again.grad, net.grad, sizeof net.grad) != 0)
        failf("%s: a second NAME_backward gives other bits (grad[] accumulates?)", where);
    for (int i = 0; i < NB * NI; i++)
        xp[i] = i < n * NI ? x[i] : NAN;
    for (int i = 0; i < NB * NO; i++)
        tp[i] = i < n * NO ? t[i] : NAN;
    if (API(_backward)(&net, xp, tp, n) != loss || memcmp(again.grad, net.grad, sizeof net.grad) != 0)
        failf("%s: rows past n change the result (rows past n are NaN here)", where);
    for (int i = 0; i < NP; i++)
        if (!isfinite(net.grad[i])) {
            failf("%s: grad[%d] is %g", where, i, net.grad[i]);
            break;
        }
    ref = reference_loss(x, t, n);
    if (!(fabs(loss - ref) <= 1e-5 * fmax(1.0, fabs(ref))))
        failf("%s: NAME_backward returns loss %.9g, recomputed from NAME_forward: %.9g", where, loss, ref);

    /* out-of-range n: NaN, nothing changed */
    for (int k = 0; k < 2; k++) {
        int bad_n = k == 0 ? 0 : NB + 1;
        again = net;
        if (!isnan(API(_backward)(&net, x, t, bad_n)))
            failf("%s: NAME_backward(n = %d) does not return NaN", where, bad_n);
        if (!isnan(API(_train_step)(&net, x, t, bad_n)))
            failf("%s: NAME_train_step(n = %d) does not return NaN", where, bad_n);
        if (memcmp(&again, &net, sizeof net) != 0)
            failf("%s: n = %d changed the network", where, bad_n);
    }
    free(xp);
    free(tp);
}

/* The check proper; returns its verdict.  With `selftest`, instead checks
 * that count_mismatches rejects deliberately wrong gradients. */
static int run(const char *path, int selftest)
{
    int sizes[3] = {NB, (NB + 1) / 2, 1}, n_sizes = 0, total_skipped = 0, total_params = 0;
    double *analytic = malloc(sizeof(double) * NP), *numeric = malloc(sizeof(double) * NP),
           *h = malloc(sizeof(double) * NP), *wrong = malloc(sizeof(double) * NP);
    char loss_kw[64];

    if (nn_statement(path, NET_NAME, "loss", loss_kw, sizeof loss_kw) != 1) {
        printf("cannot find the loss of network %s in %s\n", NET_NAME, path);
        return 1;
    }
    is_ce = strcmp(loss_kw, "cross_entropy") == 0;
    is_bce = strcmp(loss_kw, "bce") == 0;
    if (!follow_layers(path))
        return 1;
    for (int k = 0; k < 3; k++) {   /* distinct batch sizes */
        int dup = 0;
        for (int j = 0; j < n_sizes; j++)
            dup |= sizes[j] == sizes[k];
        if (!dup)
            sizes[n_sizes++] = sizes[k];
    }
    for (int setting = 0; setting < 2; setting++) {
        API(_init)(&net, setting == 0 ? API(_SEED) : UINT64_C(7));
        for (int i = 0; i < NP; i++)
            net.param[i] += (float)urand(-0.1, 0.1);
        for (int k = 0; k < n_sizes; k++) {
            int n = sizes[k], skipped;
            float *x = malloc(sizeof(float) * n * NI), *t = malloc(sizeof(float) * n * NO);
            char where[64];
            double loss;

            snprintf(where, sizeof where, "%s, setting %d, n = %d", NET_NAME, setting, n);
            random_data(x, t, n);
            if (!selftest)
                api_checks(x, t, n, where);
            loss = gradients(x, t, n, analytic, numeric, h, &skipped);
            total_skipped += skipped;
            if (stats && skipped)
                printf("%s: %d of %d parameters skipped at kinks\n", where, skipped, NP);
            total_params += NP;
            if (!selftest) {
                count_mismatches(analytic, numeric, h, loss, 1, where);
            } else {
                /* Every corruption must be caught; the honest gradient must pass. */
                int big = 0;
                for (int i = 1; i < NP; i++)
                    if (fabs(analytic[i]) > fabs(analytic[big]))
                        big = i;
                if (count_mismatches(analytic, numeric, h, loss, 1, where) != 0)
                    failf("%s: the honest gradient is rejected", where);
                for (int c = 0; c < 6; c++) {
                    static const char *const name[] = {"all scaled by 1.05", "all scaled by 0.95",
                                                       "largest entry scaled by 1.05", "largest entry negated",
                                                       "sum over samples instead of mean", "all zero"};
                    if (c == 4 && n == 1)
                        continue;
                    for (int i = 0; i < NP; i++)
                        wrong[i] = c == 0 ? analytic[i] * 1.05 : c == 1 ? analytic[i] * 0.95
                                   : c == 4 ? analytic[i] * n : c == 5 ? 0 : analytic[i];
                    if (c == 2)
                        wrong[big] *= 1.05;
                    if (c == 3)
                        wrong[big] = -wrong[big];
                    if (count_mismatches(wrong, numeric, h, loss, 0, where) == 0)
                        failf("%s: a wrong gradient (%s) is accepted", where, name[c]);
                }
            }
            free(x);
            free(t);
        }
    }
    if (total_skipped * 50 > total_params)
        failf("%d of %d parameter checks skipped: too many kinks within h", total_skipped, total_params);
    free(analytic);
    free(numeric);
    free(h);
    free(wrong);
    return failures != 0;
}

int main(int argc, char **argv)
{
    int selftest = argc == 3 && strcmp(argv[2], "selftest") == 0;
    stats = argc == 3 && strcmp(argv[2], "stats") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !selftest && !stats)) {
        fprintf(stderr, "usage: %s FILE.nn [selftest | stats]\n", argv[0]);
        return 2;
    }
    return run(argv[1], selftest);
}
