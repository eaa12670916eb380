/* helpers.c — the fixture and assertions shared by the unit tests. */
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fx_setup(void **state)
{
    Fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->arena = arena_new();
    fx->out = open_memstream(&fx->text, &fx->text_len);
    if (!fx->out) {
        arena_free(fx->arena);
        free(fx);
        return -1;
    }
    diag_init(&fx->diag, fx->out);
    fx->diag.color = false;
    *state = fx;
    return 0;
}

int fx_teardown(void **state)
{
    Fx *fx = *state;
    if (!fx)
        return 0;
    fclose(fx->out);
    free(fx->text);
    arena_free(fx->arena);
    free(fx);
    *state = NULL;
    return 0;
}

const char *fx_output(Fx *fx)
{
    fflush(fx->out);
    return fx->text ? fx->text : "";
}

void fx_source(Fx *fx, const char *text)
{
    source_from_string(&fx->src, "t.nn", text, strlen(text));
    fx->diag.src = &fx->src;
}

Program *fx_parse(Fx *fx, const char *text)
{
    fx_source(fx, text);
    fx->prog = parse_program(&fx->src, fx->arena, &fx->diag);
    return fx->prog;
}

Module *fx_check(Fx *fx, const char *text)
{
    fx_parse(fx, text);
    assert_no_errors(fx);
    fx->mod = check_program(fx->prog, &fx->src, fx->arena, &fx->diag);
    return fx->mod;
}

bool fx_lower(Fx *fx, const char *text)
{
    fx_check(fx, text);
    assert_no_errors(fx);
    assert_non_null(fx->mod);
    return lower_module(fx->mod, fx->arena, &fx->diag);
}

Net *fx_net(Fx *fx, const char *text)
{
    assert_true(fx_lower(fx, text));
    assert_no_errors(fx);
    assert_int_equal(fx->mod->n_nets, 1);
    return &fx->mod->nets[0];
}

int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len ? len : 1)
        n++;
    return n;
}

void unit_assert_contains(const char *hay, const char *needle, const char *file, int line)
{
    if (hay && strstr(hay, needle))
        return;
    print_error("expected to find \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    _fail(file, line);
}

void unit_assert_not_contains(const char *hay, const char *needle, const char *file, int line)
{
    if (!hay || !strstr(hay, needle))
        return;
    print_error("did not expect \"%s\" in:\n%s\n", needle, hay);
    _fail(file, line);
}

void unit_assert_errors(Fx *fx, int n, const char *file, int line)
{
    if (fx->diag.n_errors == n)
        return;
    print_error("expected %d error(s), got %d; diagnostics:\n%s\n", n, fx->diag.n_errors, fx_output(fx));
    _fail(file, line);
}

bool unit_close(double a, double b)
{
    if (a == b)
        return true;
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (fabs(a - b) <= 1e-12 * scale)
        return true;
    print_error("%.17g != %.17g\n", a, b);
    return false;
}
