/* emit_gan.c — gan blocks: a generator and a discriminator trained against
 * each other, one step at a time as PyTorch's DCGAN tutorial does it.
 *
 * The struct NAME holds both networks as members named after them, the
 * noise of the last step, G(z), the gradient the discriminator passes back
 * to G(z), the discriminator's gradient on the real samples, the targets
 * (ones and zeros) and the noise's random state.  NAME_step_z calls only
 * the networks' own functions (NAME_backward, NAME_forward_train,
 * NAME_backward_from, NAME_update) and, for the generator's loss with its
 * gradient at the discriminator's input, the discriminator's backward pass,
 * so the code paths are the networks' own. */
#include "emit.h"

static void noise_desc(char *out, size_t cap, const Gan *g)
{
    snprintf(out, cap, "%s(%g, %g)", g->noise == NOISE_NORMAL ? "normal" : "uniform", g->noise_a, g->noise_b);
}

void emit_gan_header(Emitter *e, const Gan *g)
{
    const char *N = g->name, *G = g->gen->name, *D = g->disc->name;
    int64_t B = g->gen->batch, nz = g->gen->n_inputs, ns = g->disc->n_inputs;
    char noise[96];
    noise_desc(noise, sizeof noise, g);
    emit(e, "/* ---- gan %s (%s:%d): generator %s, discriminator %s, noise %s ---- */\n\n", N, e->mod->src->name,
         g->loc.first_line, G, D, noise);
    emit(e, "#define %s_BATCH   %lld   /* most samples one step takes */\n", N, (long long)B);
    emit(e, "#define %s_N_NOISE %lld   /* floats of noise a sample: %s_N_INPUTS */\n", N, (long long)nz, G);
    emit(e, "#define %s_N_SAMPLE %lld  /* floats of a real or generated sample: %s_N_INPUTS */\n\n", N, (long long)ns,
         D);
    emit(e, "/* sizeof(%s) is all the memory the gan needs: %lld bytes. */\n", N, (long long)gan_struct_bytes(g));
    emit(e, "typedef struct %s {\n", N);
    /* each member, its comment at column 33 or one space after a long one */
#define FIELD(fmt, what, ...)                                                      \
    do {                                                                           \
        int len_ = snprintf(NULL, 0, fmt, __VA_ARGS__);                            \
        emit(e, "    " fmt, __VA_ARGS__);                                          \
        emit(e, "%*s /* %s */\n", len_ < 28 ? 28 - len_ : 0, "", what);            \
    } while (0)
    FIELD("%s %s;", "the generator", G, G);
    FIELD("%s %s;", "the discriminator", D, D);
    char zwhat[200];
    snprintf(zwhat, sizeof zwhat, "the noise %.100s_step drew last, a row per sample", N);
    FIELD("float z[%lld];", zwhat, (long long)(B * nz));
    FIELD("float fake[%lld];", "G(z) of the last step, a row per sample", (long long)(B * ns));
    FIELD("float dfake[%lld];", "dLoss_G/d(G(z)), from the discriminator", (long long)(B * ns));
    FIELD("float dgrad[%lld];", "the discriminator's gradient on the real samples", (long long)g->disc->n_params);
    FIELD("float ones[%lld], zeros[%lld];", "the targets: real 1, generated 0", (long long)B, (long long)B);
    FIELD("uint64_t %s;", "the noise's random state", "rng");
#undef FIELD
    emit(e, "} %s;\n\n", N);
    emit(e, "/* %s_init(&g->%s, seed) and %s_init(&g->%s, seed + 1); the noise draws from\n"
            " * seed + 2. */\n", G, G, D, D);
    emit(e, "void %s_init(%s *g, uint64_t seed);\n", N, N);
    emit(e, "/* One training step on n real samples (1..%s_BATCH, rows of %s_N_SAMPLE):\n"
            " * 1. the discriminator: loss on the real samples with target 1 plus loss on\n"
            " *    G(z) with target 0 (each bce, the mean over the samples; no gradient\n"
            " *    into G), its gradient, its optimizer step;\n"
            " * 2. the generator: loss of the updated discriminator on the same G(z) with\n"
            " *    target 1, its gradient back through the discriminator (which does not\n"
            " *    change) into the generator, its optimizer step.\n"
            " * losses[0] gets the discriminator's loss (the sum of the two), losses[1]\n"
            " * the generator's.  %s_step draws z (n rows of %s_N_NOISE) from g->rng;\n"
            " * %s_step_z takes it from the caller.  Both return 0, or -1 (and change\n"
            " * nothing) when n is out of range or a pointer is NULL. */\n", N, N, N, N, N);
    emit(e, "int %s_step(%s *g, const float *real, int n, float losses[2]);\n", N, N);
    emit(e, "int %s_step_z(%s *g, const float *real, const float *z, int n, float losses[2]);\n", N, N);
    emit(e, "/* n generated samples (any n >= 0) from n rows of noise z, into n rows of out. */\n");
    emit(e, "void %s_generate(%s *g, const float *z, float *out, int n);\n\n", N, N);
}

void emit_gan(Emitter *e, const Gan *g)
{
    const char *N = g->name, *G = g->gen->name, *D = g->disc->name;
    const Net *disc = g->disc;
    int64_t B = g->gen->batch, nz = g->gen->n_inputs;
    char a[32], b[32], noise[96];
    noise_desc(noise, sizeof noise, g);
    emit(e, "\n/* ---- gan %s (%s:%d) ---- */\n\n", N, e->mod->src->name, g->loc.first_line);
    emit(e, "void %s_init(%s *g, uint64_t seed)\n{\n", N, N);
    emit(e, "    %s_init(&g->%s, seed);\n    %s_init(&g->%s, seed + 1);\n", G, G, D, D);
    emit(e, "    for (int i = 0; i < %lld; i++) {\n        g->ones[i] = 1.0f;\n        g->zeros[i] = 0.0f;\n    }\n",
         (long long)B);
    emit(e, "    g->rng = seed + 2;\n}\n\n");

    emit(e, "int %s_step_z(%s *g, const float *real, const float *z, int n, float losses[2])\n{\n", N, N);
    emit(e, "    float d_real, d_fake, g_loss;\n\n");
    emit(e, "    if (!g || !real || !z || n < 1 || n > %lld)\n        return -1;\n", (long long)B);
    emit(e, "    %s_forward_train(&g->%s, z, g->fake, n);   /* G(z), its activations kept for step 2 */\n\n", G, G);
    emit(e, "    /* 1. the discriminator: real -> 1, G(z) -> 0, one step on the sum of the gradients */\n");
    emit(e, "    d_real = %s_backward(&g->%s, real, g->ones, n);\n", D, D);
    emit(e, "    memcpy(g->dgrad, g->%s.grad, sizeof g->dgrad);\n", D);
    emit(e, "    d_fake = %s_backward(&g->%s, g->fake, g->zeros, n);\n", D, D);
    emit(e, "    for (int i = 0; i < %lld; i++)\n        g->%s.grad[i] += g->dgrad[i];\n", (long long)disc->n_params, D);
    emit(e, "    %s_update(&g->%s);\n\n", D, D);
    emit(e, "    /* 2. the generator: the updated discriminator on the same G(z) -> 1, its gradient\n"
            "     *    at G(z) (the discriminator's own gradient is dropped), then back through G */\n");
    emit(e, "    memset(g->%s.grad, 0, sizeof g->%s.grad);\n", D, D);
    emit(e, "    %s_forward_train(&g->%s, g->fake, NULL, n);\n", D, D);
    if (disc->batch > 1)
        emit(e, "    g_loss = %s_backward_pass(&g->%s, g->fake, g->ones, NULL, g->dfake, n, 1.0f / (float)n, 0) / (float)n;\n",
             D, D);
    else
        emit(e, "    g_loss = %s_backward_pass(&g->%s, g->fake, g->ones, NULL, g->dfake, 1.0f, 0);\n", D, D);
    emit(e, "    %s_backward_from(&g->%s, z, g->dfake, NULL, n);\n", G, G);
    emit(e, "    %s_update(&g->%s);\n\n", G, G);
    emit(e, "    if (losses) {\n        losses[0] = d_real + d_fake;\n        losses[1] = g_loss;\n    }\n");
    emit(e, "    return 0;\n}\n\n");

    emit(e, "int %s_step(%s *g, const float *real, int n, float losses[2])\n{\n", N, N);
    emit(e, "    if (!g || !real || n < 1 || n > %lld)\n        return -1;\n", (long long)B);
    emit(e, "    for (int i = 0; i < n * %lld; i++)   /* noise %s */\n", (long long)nz, noise);
    emit(e, "        g->z[i] = nnc_rng_%s(&g->rng, %s, %s);\n", g->noise == NOISE_NORMAL ? "normal" : "uniform",
         fmt_float(a, g->noise_a), fmt_float(b, g->noise_b));
    emit(e, "    return %s_step_z(g, real, g->z, n, losses);\n}\n\n", N);

    emit(e, "void %s_generate(%s *g, const float *z, float *out, int n)\n{\n", N, N);
    emit(e, "    %s_forward_batch(&g->%s, z, out, n);\n}\n", G, G);
}
