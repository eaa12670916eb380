/* pipeline.c — the front half of every command: source text -> a checked,
 * lowered Module.  The compiler driver, `nnc train` and the REPL share it. */
#include "nnc.h"

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

const Net *pipeline_pick_net(const Module *m, const char *name, Diag *diag)
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
        diag_plain(diag, DIAG_ERROR, "%s has %d networks (%s); choose one with --net NAME", m->src->path,
                   m->n_nets, list);
    return NULL;
}

bool pipeline_is_classifier(const Net *n)
{
    ActKind last = n->layers[n->n_layers - 1].act;
    return last == ACT_SOFTMAX || last == ACT_SIGMOID;
}
