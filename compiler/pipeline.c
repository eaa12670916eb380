/* pipeline.c — the front half of every command: source text -> a checked,
 * lowered Module, and the reading of option values.  The compiler driver,
 * `nnc train`, `nnc generate` and the REPL share it. */
#include "nnc.h"
#include "nnc_rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

Module *pipeline_module(const Source *src, Arena *arena, Diag *diag)
{
    const Source *saved = diag->src;
    diag->src = src;
    int errors = diag->n_errors;
    Program *prog = parse_program(src, arena, diag);
    Module *m = NULL;
    if (diag->n_errors == errors) {
        m = check_program(prog, src, arena, diag);
        if (m && !lower_module(m, arena, diag))
            m = NULL;
    }
    diag->src = saved;
    return m;
}

const Net *pipeline_pick_net(const Module *m, const char *name, const char *how, Diag *diag)
{
    if (!name && m->n_nets == 1)
        return &m->nets[0];
    for (int i = 0; name && i < m->n_nets; i++)
        if (strcmp(m->nets[i].name, name) == 0)
            return &m->nets[i];
    char list[512] = "";
    for (int i = 0; i < m->n_nets; i++) {
        if (strlen(list) + strlen(m->nets[i].name) + 4 >= sizeof list)
            break;
        strcat(list, i ? ", " : "");
        strcat(list, m->nets[i].name);
    }
    if (name)
        diag_plain(diag, DIAG_ERROR, "%s has no network '%s'; it has: %s", m->src->path, name, list);
    else
        diag_plain(diag, DIAG_ERROR, "%s has %d networks (%s); choose one with %s", m->src->path, m->n_nets,
                   list, how);
    return NULL;
}

bool pipeline_is_classifier(const Net *n)
{
    ActKind last = n->layers[n->n_layers - 1].act;
    return last == ACT_SOFTMAX || last == ACT_SIGMOID;
}

/* IDX images of the network's input size but not its shape (28x28 images
 * into `input 1x14x56`) would train without a word: a warning, at the
 * network's input.  A flat input (`input 784`) takes images flattened. */
void pipeline_warn_image_shape(Diag *diag, const Source *src, const Net *n, const RtData *d)
{
    const Shape *in = &n->input;
    if (!in->image || d->image_h == 0 || (in->c == d->image_c && in->h == d->image_h && in->w == d->image_w))
        return;
    char images[96];
    if (d->image_c == 1)
        snprintf(images, sizeof images, "%lldx%lld", (long long)d->image_h, (long long)d->image_w);
    else
        snprintf(images, sizeof images, "%lldx%lldx%lld", (long long)d->image_c, (long long)d->image_h,
                 (long long)d->image_w);
    fflush(stdout);   /* keep a transcript of both streams in order */
    const Source *was = diag->src;
    diag->src = src;
    diag_at(diag, DIAG_WARNING, n->input_loc, "%s: the images are %s, the network's input is %lldx%lldx%lld (same "
            "size, different shape)", d->source, images, (long long)in->c, (long long)in->h, (long long)in->w);
    diag->src = was;
}

bool parse_whole(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool parse_seed(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno)   /* (strtoull takes spaces, signs and wraps "-1") */
        return false;
    *out = (uint64_t)v;
    return true;
}

bool parse_jit_backend(const char *s, JitBackend *out)
{
    if (strcmp(s, "tcc") != 0 && strcmp(s, "cc") != 0 && strcmp(s, "auto") != 0)
        return false;
    *out = s[0] == 't' ? JIT_TCC : s[0] == 'c' ? JIT_CC : JIT_AUTO;
    return true;
}

int64_t pipeline_tier_test_at(void)
{
    const char *v = getenv("NNC_TIER_TEST_AT");
    long long x;
    return v && parse_whole(v, 1, INT64_MAX, &x) ? (int64_t)x : 0;
}

bool pipeline_default_backend(JitBackend *out, Diag *diag)
{
    const char *v = getenv("NNC_JIT");
    *out = JIT_AUTO;
    if (!v || !*v || parse_jit_backend(v, out))
        return true;
    diag_plain(diag, DIAG_ERROR, "the environment variable NNC_JIT is '%s'; expected auto, tcc or cc (the default "
               "of --jit)", v);
    return false;
}

RtLoss pipeline_rt_loss(const Net *n)
{
    return n->loss == LOSS_CROSS_ENTROPY ? RT_LOSS_CROSS_ENTROPY : n->loss == LOSS_BCE ? RT_LOSS_BCE : RT_LOSS_MSE;
}

const Gan *pipeline_pick_gan(const Module *m, const char *name)
{
    for (int i = 0; i < m->n_gans; i++)
        if (name ? strcmp(m->gans[i].name, name) == 0 : m->n_gans == 1)
            return &m->gans[i];
    return NULL;
}

bool pipeline_gan_weights_path(char *out, size_t cap, const char *base, const char *net, Diag *diag)
{
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".nnw") == 0)
        len -= 4;
    int n = snprintf(out, cap, "%.*s.%s.nnw", (int)(len < 65536 ? len : 65536), base, net);
    if (n < 0 || (size_t)n >= cap || len >= 65536) {
        diag_plain(diag, DIAG_ERROR, "%s: the path of network %s's weights would be too long", base, net);
        return false;
    }
    return true;
}

bool pipeline_load_images(const char *path, int64_t n_sample, const char *what, RtData *out, Diag *diag)
{
    RtError err;
    RtDataFile *f = rt_data_open(path, &err);
    bool idx = f && rt_data_is_idx(f);
    bool ok = idx && rt_data_read_idx(f, NULL, n_sample, n_sample, out, &err);
    rt_data_close(f);
    if (f && !idx)
        diag_plain(diag, DIAG_ERROR, "%s: %s are IDX image files (MNIST's format)", path, what);
    else if (!ok)
        diag_plain(diag, DIAG_ERROR, "%s", err.msg);
    return ok;
}
