/* emit_dot.c — the networks of a module as a Graphviz digraph.
 *
 * One node for the input and one per layer (an HTML-like table: the layer,
 * its output shape, its activation, its parameter count), edges labelled
 * with the tensor that flows along them, and a graph label with the
 * network's name, loss, optimizer, parameters and sizeof.  One network is
 * the whole graph; several are one cluster each, with node names prefixed
 * by the network's index so they never clash.  The text depends only on the
 * module, so the same input gives byte-identical output. */
#include "nnc.h"

#include <string.h>

/* Text inside an HTML-like label. */
static void put_html(RtBuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': rt_buf_puts(b, "&amp;"); break;
        case '<': rt_buf_puts(b, "&lt;"); break;
        case '>': rt_buf_puts(b, "&gt;"); break;
        case '"': rt_buf_puts(b, "&quot;"); break;
        default:
            if ((unsigned char)*s < 0x20)
                rt_buf_puts(b, " ");
            else
                rt_buf_printf(b, "%c", *s);
        }
    }
}

/* A double-quoted DOT string. */
static void put_quoted(RtBuf *b, const char *s)
{
    rt_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            rt_buf_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            rt_buf_puts(b, " ");
        else
            rt_buf_printf(b, "%c", *s);
    }
    rt_buf_puts(b, "\"");
}

/* "16x28x28" for an image, "10" for a vector. */
static void shape_text(char out[80], Shape s)
{
    if (s.image)
        snprintf(out, 80, "%lldx%lldx%lld", (long long)s.c, (long long)s.h, (long long)s.w);
    else
        snprintf(out, 80, "%lld", (long long)s.c);
}

/* "3x3", or "3" when both are the same (for padding). */
static void pair_text(char out[48], int64_t a, int64_t b, bool squash)
{
    if (squash && a == b)
        snprintf(out, 48, "%lld", (long long)a);
    else
        snprintf(out, 48, "%lldx%lld", (long long)a, (long long)b);
}

/* What the statement says: "conv 16 3x3 pad 1", "maxpool 2x2", "dense 10". */
static void layer_headline(RtBuf *b, const Layer *l)
{
    char k[48], s[48], p[48];
    rt_buf_puts(b, layer_info[l->kind].keyword);
    switch (l->kind) {
    case LAYER_DENSE:
        rt_buf_printf(b, " %lld", (long long)l->units);
        break;
    case LAYER_CONV:
        pair_text(k, l->kh, l->kw, false);
        rt_buf_printf(b, " %lld %s", (long long)l->units, k);
        if (l->stride_h != 1 || l->stride_w != 1) {
            pair_text(s, l->stride_h, l->stride_w, false);
            rt_buf_printf(b, " stride %s", s);
        }
        if (l->pad_h || l->pad_w) {
            pair_text(p, l->pad_h, l->pad_w, true);
            rt_buf_printf(b, " pad %s", p);
        }
        break;
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL:
        pair_text(k, l->kh, l->kw, false);
        rt_buf_printf(b, " %s", k);
        if (l->stride_h != l->kh || l->stride_w != l->kw) {
            pair_text(s, l->stride_h, l->stride_w, false);
            rt_buf_printf(b, " stride %s", s);
        }
        break;
    case LAYER_DROPOUT:
        rt_buf_printf(b, " p=%g", l->rate);
        break;
    default:
        break;
    }
}

static const char *layer_color(LayerKind k)
{
    switch (k) {
    case LAYER_DENSE: return "#cfe2f3";
    case LAYER_CONV: return "#d9ead3";
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL: return "#fce5cd";
    case LAYER_DROPOUT: return "#f4cccc";
    default: return "#eeeeee";
    }
}

static void table_open(RtBuf *b, const char *color, const char *head)
{
    rt_buf_printf(b, "<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\">"
                  "<TR><TD BGCOLOR=\"%s\"><B>", color);
    put_html(b, head);
    rt_buf_puts(b, "</B></TD></TR>");
}

static void table_row(RtBuf *b, const char *text)
{
    rt_buf_puts(b, "<TR><TD>");
    put_html(b, text);
    rt_buf_puts(b, "</TD></TR>");
}

static void emit_layer_node(RtBuf *b, const char *indent, int net_index, const Layer *l)
{
    RtBuf head = {0}, row = {0};
    char shape[80];
    layer_headline(&head, l);
    rt_buf_printf(b, "%sn%d_l%d [label=", indent, net_index, l->index);
    table_open(b, layer_color(l->kind), head.oom ? "?" : head.data);
    shape_text(shape, l->out);
    rt_buf_printf(&row, "out %s", shape);
    table_row(b, row.oom ? "?" : row.data);
    if (l->kind == LAYER_DENSE || l->kind == LAYER_CONV) {
        const ActInfo *a = &act_info[l->act];
        row.len = 0;
        if (a->takes_param && l->act_param != a->default_param)
            rt_buf_printf(&row, "%s(%g)", a->keyword, l->act_param);
        else
            rt_buf_puts(&row, a->keyword);
        table_row(b, row.oom ? "?" : row.data);
    }
    int64_t params = l->w_len + l->b_len;
    row.len = 0;
    rt_buf_printf(&row, "%lld param%s", (long long)params, params == 1 ? "" : "s");
    table_row(b, row.oom ? "?" : row.data);
    rt_buf_puts(b, "</TABLE>>];\n");
    rt_buf_free(&head);
    rt_buf_free(&row);
}

/* The nodes and edges of one network, each line starting with `indent`. */
static void emit_net_body(RtBuf *b, const Net *n, int net_index, const char *indent)
{
    char shape[80], text[128];
    shape_text(shape, n->input);
    rt_buf_printf(b, "%sn%d_input [label=", indent, net_index);
    table_open(b, "#fff2cc", "input");
    table_row(b, shape);
    snprintf(text, sizeof text, "%lld float%s", (long long)n->n_inputs, n->n_inputs == 1 ? "" : "s");
    table_row(b, text);
    rt_buf_puts(b, "</TABLE>>];\n");
    for (int i = 0; i < n->n_layers; i++)
        emit_layer_node(b, indent, net_index, &n->layers[i]);

    Shape prev = n->input;
    for (int i = 0; i < n->n_layers; i++) {
        const Layer *l = &n->layers[i];
        shape_text(shape, prev);
        /* A dense layer after an image flattens it implicitly. */
        if (l->kind == LAYER_DENSE && prev.image)
            snprintf(text, sizeof text, " %s (flattened: %lld)", shape, (long long)(prev.c * prev.h * prev.w));
        else
            snprintf(text, sizeof text, " %s", shape);
        if (i == 0)
            rt_buf_printf(b, "%sn%d_input -> n%d_l%d [label=", indent, net_index, net_index, l->index);
        else
            rt_buf_printf(b, "%sn%d_l%d -> n%d_l%d [label=", indent, net_index, n->layers[i - 1].index, net_index,
                       l->index);
        put_quoted(b, text);
        rt_buf_puts(b, "];\n");
        prev = l->out;
    }
}

/* The network's caption: name, loss, optimizer, batch, size. */
static void emit_net_label(RtBuf *b, const Module *m, const Net *n)
{
    RtBuf t = {0};
    /* The first line all bold: dot loses a space between bold and plain text. */
    rt_buf_puts(b, "<<B>network ");
    put_html(b, n->name);
    if (m->src && m->src->name) {
        rt_buf_puts(b, " (");
        put_html(b, m->src->name);
        rt_buf_printf(b, ":%d)", n->loc.first_line);
    }
    rt_buf_printf(b, "</B><BR/>loss %s, optimizer ", loss_keyword[n->loss]);
    ir_describe_optim(&t, n);
    put_html(b, t.oom ? "?" : t.data ? t.data : "");
    rt_buf_printf(b, ", batch %lld<BR/>%lld parameter%s, sizeof(", (long long)n->batch, (long long)n->n_params,
               n->n_params == 1 ? "" : "s");
    put_html(b, n->name);
    rt_buf_printf(b, ") = %lld bytes>", (long long)n->struct_bytes);
    rt_buf_free(&t);
}

static void emit_defaults(RtBuf *b)
{
    rt_buf_puts(b, "    graph [labelloc=t, fontname=\"Helvetica\", fontsize=13, nodesep=0.4, ranksep=0.45];\n"
                "    node [shape=plain, fontname=\"Helvetica\", fontsize=11];\n"
                "    edge [fontname=\"Helvetica\", fontsize=10, color=\"#555555\"];\n");
}

void emit_dot(RtBuf *out, const Module *m)
{
    const char *file = m->src && m->src->name ? m->src->name : "module";
    if (m->n_nets == 1) {
        const Net *n = &m->nets[0];
        rt_buf_puts(out, "digraph ");
        put_quoted(out, n->name);
        rt_buf_puts(out, " {\n");
        emit_defaults(out);
        rt_buf_puts(out, "    label=");
        emit_net_label(out, m, n);
        rt_buf_puts(out, ";\n");
        emit_net_body(out, n, 0, "    ");
        rt_buf_puts(out, "}\n");
        return;
    }
    rt_buf_puts(out, "digraph ");
    put_quoted(out, file);
    rt_buf_puts(out, " {\n");
    emit_defaults(out);
    rt_buf_puts(out, "    label=<<B>");
    put_html(out, file);
    rt_buf_printf(out, "</B>: %d network%s>;\n", m->n_nets, m->n_nets == 1 ? "" : "s");
    for (int i = 0; i < m->n_nets; i++) {
        const Net *n = &m->nets[i];
        rt_buf_printf(out, "    subgraph cluster_%d {\n        label=", i);
        emit_net_label(out, m, n);
        rt_buf_puts(out, ";\n        style=rounded;\n        color=\"#999999\";\n");
        emit_net_body(out, n, i, "        ");
        rt_buf_puts(out, "    }\n");
    }
    rt_buf_puts(out, "}\n");
}
