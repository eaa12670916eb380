/* ast.c — constructors for the syntax tree, called from the grammar actions.
 *
 * The tree is deliberately generic: a statement is a keyword followed by
 * arguments (numbers, dimensions like 3x3, words, calls like uniform(-1, 1),
 * and key=value pairs).  What each keyword accepts is decided by check.c from
 * a table, which gives better messages ("dense expects a number of units")
 * than a grammar rule per statement would, and keeps the grammar tiny. */
#include "nnc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static Arg *new_arg(Arena *a, ArgKind kind, const char *text, Loc loc)
{
    Arg *arg = arena_alloc(a, sizeof *arg);
    arg->kind = kind;
    arg->loc = loc;
    arg->text = arena_strdup(a, text);
    return arg;
}

Arg *ast_number(Arena *a, const char *text, Loc loc)
{
    Arg *arg = new_arg(a, ARG_NUMBER, text, loc);
    arg->is_int = !strpbrk(text, ".eE");
    errno = 0;
    if (arg->is_int) {
        long long v = strtoll(text, NULL, 10);
        arg->out_of_range = errno == ERANGE;
        arg->num = (double)v;
    } else {
        arg->num = strtod(text, NULL);
        arg->out_of_range = isinf(arg->num);
    }
    return arg;
}

Arg *ast_dims(Arena *a, const char *text, Loc loc)
{
    Arg *arg = new_arg(a, ARG_DIMS, text, loc);
    const char *p = text;
    for (;;) {
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno == ERANGE)
            arg->out_of_range = true;
        if (arg->n_dims < NNC_MAX_DIMS)
            arg->dims[arg->n_dims] = v;
        arg->n_dims++;
        if (*end != 'x')
            break;
        p = end + 1;
    }
    return arg;
}

Arg *ast_word(Arena *a, const char *text, Loc loc)
{
    return new_arg(a, ARG_WORD, text, loc);
}

Arg *ast_call(Arena *a, const char *name, Arg *args, Loc loc)
{
    Arg *arg = new_arg(a, ARG_CALL, name, loc);
    arg->args = args;
    return arg;
}

Arg *ast_keyval(Arena *a, const char *key, Arg *value, Loc loc)
{
    Arg *arg = new_arg(a, ARG_KEYVAL, key, loc);
    arg->args = value;
    return arg;
}

Arg *ast_append_arg(Arg *list, Arg *item)
{
    if (!list) {
        item->last = item;
        return item;
    }
    list->last->next = item;
    list->last = item;
    return list;
}

Stmt *ast_stmt(Arena *a, const char *kw, Loc kw_loc, Arg *args, Loc loc)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kw = arena_strdup(a, kw);
    s->kw_loc = kw_loc;
    s->args = args;
    s->loc = loc;
    return s;
}

Stmt *ast_append_stmt(Stmt *list, Stmt *item)
{
    if (!list) {
        item->last = item;
        return item;
    }
    list->last->next = item;
    list->last = item;
    return list;
}

NetDecl *ast_net(Arena *a, const char *name, Loc name_loc, Stmt *stmts, Loc loc)
{
    NetDecl *n = arena_alloc(a, sizeof *n);
    n->name = arena_strdup(a, name);
    n->name_loc = name_loc;
    n->stmts = stmts;
    n->loc = loc;
    return n;
}
