/* cmd_generate.c — `nnc generate`: text from a trained character-level
 * language model (and the REPL's `generate`).
 *
 * The network reads a window of T ids (bytes) and gives, at every step, the
 * distribution of the next byte.  Its recurrence is causal, so the output at
 * step k - 1 depends on the first k ids only: a context shorter than T sits
 * at the start of the window and the prediction is read at its last step;
 * once T bytes are known, the window slides.  Each byte is drawn from the
 * prediction sharpened or flattened by the temperature, with the runtime's
 * seeded generator, so the same seed gives the same text. */
#include "nnc.h"
#include "nnc_rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char generate_usage[] =
    "usage: nnc generate NET.nn --load W.nnw [options]\n"
    "\n"
    "Prints text from a trained character-level language model (a network that\n"
    "starts with 'embed V D' and ends with a softmax over the V ids at every\n"
    "step, as examples/charlm.nn; train it with nnc train --text).\n"
    "\n"
    "options:\n"
    "  --load W.nnw       the trained weights (required)\n"
    "  --length N         bytes to generate (default 400)\n"
    "  --temperature T    below 1 more likely bytes, above 1 more varied (default 0.8)\n"
    "  --prime TEXT       the text to start from (default: a newline)\n"
    "  --seed N           seed of the random draws (default 1)\n"
    "  --jit=tcc|cc       as nnc train (default tcc)\n"
    "  --net NAME         which network of the file (when it has several)\n";

bool language_model_check(const Net *n, const char *who, bool training, Diag *diag)
{
    const Layer *first = &n->layers[0], *last = &n->layers[n->n_layers - 1];
    if (first->kind != LAYER_EMBED || n->out_steps != n->input.steps || last->act != ACT_SOFTMAX ||
        (training && n->loss != LOSS_CROSS_ENTROPY) || n->n_outputs / n->out_steps != first->vocab) {
        diag_plain(diag, DIAG_ERROR, "%s a language model: the network must start with 'embed V D' and end with a "
                   "softmax over the same V ids at every step (a recurrent layer with return=all, then 'dense V "
                   "softmax'%s); see examples/charlm.nn", who, training ? ", 'loss cross_entropy'" : "");
        return false;
    }
    return true;
}

bool generate_text(RtNet *net, const Net *n, const GenerateOptions *o, FILE *out, Diag *diag)
{
    int64_t T = n->input.steps, V = n->layers[0].vocab;
    const char *prime = o->prime && *o->prime ? o->prime : "\n";
    size_t plen = strlen(prime);
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)prime[i] >= V) {
            diag_plain(diag, DIAG_ERROR, "--prime: byte %zu (0x%02x) is not one of the network's %lld ids", i + 1,
                       (unsigned char)prime[i], (long long)V);
            return false;
        }
    float *window = malloc((size_t)T * sizeof *window), *y = malloc((size_t)(T * V) * sizeof *y);
    double *p = malloc((size_t)V * sizeof *p);
    if (!window || !y || !p) {
        free(window), free(y), free(p);
        diag_plain(diag, DIAG_ERROR, "out of memory");
        return false;
    }
    /* The last T bytes of the prime are the context. */
    size_t from = plen > (size_t)T ? plen - (size_t)T : 0;
    int64_t k = 0;
    for (size_t i = from; i < plen; i++)
        window[k++] = (float)(unsigned char)prime[i];
    for (int64_t i = k; i < T; i++)
        window[i] = 0.0f;   /* never read by the steps that matter: the recurrence is causal */
    fwrite(prime, 1, plen, out);
    RtRng rng;
    rt_rng_seed(&rng, o->seed);
    for (int64_t g = 0; g < o->length; g++) {
        net->forward(net->state, window, y);
        const float *dist = y + (k - 1) * V;   /* the next byte's distribution */
        double sum = 0;
        for (int64_t j = 0; j < V; j++) {
            double pj = dist[j] > 0 ? exp(log((double)dist[j]) / o->temperature) : 0.0;
            p[j] = pj;
            sum += pj;
        }
        double u = (double)(rt_rng_next(&rng) >> 11) * (1.0 / 9007199254740992.0) * sum, acc = 0;
        int64_t c = V - 1;
        for (int64_t j = 0; j < V; j++) {
            acc += p[j];
            if (u < acc) {
                c = j;
                break;
            }
        }
        fputc((int)c, out);
        if (k < T) {
            window[k++] = (float)c;
        } else {
            memmove(window, window + 1, (size_t)(T - 1) * sizeof *window);
            window[T - 1] = (float)c;
        }
    }
    fputc('\n', out);
    free(window), free(y), free(p);
    return true;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "nnc generate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'nnc generate --help' for more information.\n");
    return 2;
}

int cmd_generate(int argc, char **argv)
{
    const char *net_path = NULL, *load = NULL, *net_name = NULL;
    GenerateOptions o = {400, 0.8, NULL, 1};
    JitBackend backend = JIT_TCC;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t klen = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
        const char *v = eq && a[0] == '-' ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
        bool inline_value = eq && a[0] == '-';
#define IS(name) (strlen(name) == klen && strncmp(a, name, klen) == 0)
        if (IS("-h") || IS("--help")) {
            fputs(generate_usage, stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (net_path)
                return usage("only one network file may be given; '%s' is a second one", a);
            net_path = a;
            continue;
        }
        if (!IS("--load") && !IS("--length") && !IS("--temperature") && !IS("--prime") && !IS("--seed") &&
            !IS("--jit") && !IS("--net"))
            return usage("unknown option '%s'", a);
        if (!v)
            return usage("option '%s' needs a value", a);
        if (!inline_value)
            i++;
        if (IS("--load")) {
            load = v;
        } else if (IS("--net")) {
            net_name = v;
        } else if (IS("--prime")) {
            o.prime = v;
        } else if (IS("--jit")) {
            if (!parse_jit_backend(v, &backend))
                return usage("unknown JIT backend '%s'; expected tcc or cc", v);
            if (backend == JIT_AUTO)   /* the tiered JIT is training's: a text is made in well under a second */
                return usage("--jit=%s moves training from tcc to cc; nnc generate runs one of them: tcc or cc", v);
        } else if (IS("--length")) {
            long long x;
            if (!parse_whole(v, 0, 100000000, &x))
                return usage("--length needs a whole number from 0 to 100000000, not '%s'", v);
            o.length = x;
        } else if (IS("--seed")) {
            if (!parse_seed(v, &o.seed))
                return usage("--seed needs a whole number from 0 to 18446744073709551615, not '%s'", v);
        } else {
            char *end;
            double x = strtod(v, &end);
            if (*end || end == v || !(x > 0.01 && x <= 100))
                return usage("--temperature needs a number above 0.01 and at most 100, not '%s'", v);
            o.temperature = x;
        }
#undef IS
    }
    if (!net_path)
        return usage("no network file%s", "");
    if (!load)
        return usage("no weights: give --load W.nnw (from nnc train --text ... --save W.nnw)%s", "");
    Diag diag;
    diag_init(&diag, stderr);
    Arena *arena = arena_new();
    int status = 1;
    Source src;
    Module *m = source_load(&src, net_path, arena, &diag) ? pipeline_module(&src, arena, &diag) : NULL;
    const Net *n = m ? pipeline_pick_net(m, net_name, "--net NAME", &diag) : NULL;
    if (n && language_model_check(n, "nnc generate needs", false, &diag)) {
        RtNet net;
        Jit *jit = jit_compile(m, n, backend, jit_unroll(backend, -1), &net, &diag);
        if (jit) {
            RtError err;
            if (!rt_load_weights(load, net.fingerprint, net.params(net.state), net.n_params, &err))
                diag_plain(&diag, DIAG_ERROR, "%s", err.msg);
            else if (generate_text(&net, n, &o, stdout, &diag))
                status = 0;
            jit_free(jit, &net);
        }
    }
    arena_free(arena);
    fflush(stdout);
    return status;
}
