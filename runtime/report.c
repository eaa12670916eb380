/* report.c — pictures of training: a loss/accuracy chart as SVG, and a grid
 * of grey images as PGM.
 *
 * Both are built in memory and then written atomically, as the weight files
 * are (runtime/checkpoint.c): a temporary file beside the target, fsync,
 * rename; on any failure the previous file at the path is left as it was.
 *
 * The SVG is standalone: no scripts, no external fonts or style sheets (text
 * asks for the generic "sans-serif"), and every number in it is written with
 * a '.' decimal point whatever the locale. */
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* A formatted number with the locale's decimal point made '.', and "-0"
 * made "0". */
static void fix_number(char *s)
{
    const char *point = localeconv()->decimal_point;
    if (point && *point && strcmp(point, ".") != 0) {
        char *at = strstr(s, point);
        if (at) {
            size_t pn = strlen(point);
            *at = '.';
            memmove(at + 1, at + pn, strlen(at + pn) + 1);
        }
    }
    if (s[0] == '-') {
        bool zero = true;
        for (const char *p = s + 1; *p; p++)
            if (*p != '0' && *p != '.')
                zero = false;
        if (zero)
            memmove(s, s + 1, strlen(s));
    }
}

/* `v` with `decimals` digits after the point. */
static void buf_num(RtBuf *b, double v, int decimals)
{
    char s[400];
    snprintf(s, sizeof s, "%.*f", decimals, v);
    fix_number(s);
    rt_buf_puts(b, s);
}

/* `v` as %g with `prec` significant digits. */
static void buf_g(RtBuf *b, double v, int prec)
{
    char s[64];
    snprintf(s, sizeof s, "%.*g", prec, v);
    fix_number(s);
    rt_buf_puts(b, s);
}

/* Text for XML: the five special characters escaped, control characters
 * (not allowed in XML 1.0) and bytes that are not UTF-8 replaced by '?'. */
static void buf_xml(RtBuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '&')
            rt_buf_puts(b, "&amp;");
        else if (c == '<')
            rt_buf_puts(b, "&lt;");
        else if (c == '>')
            rt_buf_puts(b, "&gt;");
        else if (c == '"')
            rt_buf_puts(b, "&quot;");
        else if (c == '\'')
            rt_buf_puts(b, "&apos;");
        else if (c < 0x20 || c == 0x7f)
            rt_buf_puts(b, c == '\t' ? " " : "?");
        else if (c < 0x80)
            rt_buf_putn(b, (const char *)p, 1);
        else {
            /* A UTF-8 sequence: 2 to 4 bytes, no overlong forms, no
             * surrogates, nothing above U+10FFFF. */
            int len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            bool valid = len > 0;
            for (int i = 1; valid && i < len; i++)
                valid = (p[i] & 0xc0) == 0x80;
            if (valid && len == 3)
                valid = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0);
            if (valid && len == 4)
                valid = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
            if (valid) {
                rt_buf_putn(b, (const char *)p, (size_t)len);
                p += len;
                continue;
            }
            rt_buf_puts(b, "?");
        }
        p++;
    }
}

/* ---- writing a file atomically ---- */

typedef struct Bytes {
    const void *data;
    size_t len;
} Bytes;

static bool write_bytes(int fd, void *ctx)
{
    const Bytes *b = ctx;
    return rt_write_all(fd, b->data, b->len);
}

/* Writes `len` bytes to `path` through a temporary file beside it. */
static bool write_atomic(const char *path, const void *data, size_t len, RtError *err)
{
    Bytes b = {data, len};
    return rt_write_atomic(path, "not written", write_bytes, &b, err);
}

/* ---- the chart ---- */

enum {
    SVG_W = 1000, SVG_H = 440,
    PANEL_W = SVG_W / 2,
    PLOT_LEFT = 78, PLOT_RIGHT = 24,   /* margins inside a panel */
    PLOT_TOP = 84, PLOT_BOTTOM = 370,
    LR_ROW = SVG_H - 40,               /* a row below, for the learning rate when a schedule changes it */
    MAX_MARKED = 60,                   /* series of at most this many points get a dot on each */
    MAX_PLAIN_POINTS = 4000,           /* longer series are thinned to the pixel columns */
    TITLE_MAX = 80                     /* bytes of the title drawn as the heading */
};

static const char *const TRAIN_COLOR = "#1f77b4";
static const char *const TEST_COLOR = "#e4572e";

/* Values beyond this are treated like infinities: they would make the axis
 * range itself overflow. */
#define HUGE_VALUE 1e300

static bool usable(double v)
{
    return isfinite(v) && fabs(v) < HUGE_VALUE;
}

/* One series: y per epoch, NAN where there is no point. */
typedef struct Series {
    const char *id;              /* "loss-train", ... */
    const char *label;           /* "training", "test" */
    const char *color;
    bool dashed;
    double *y;
    int n_points;                /* usable values */
    int n_skipped;               /* present but NaN or infinite */
} Series;

/* An axis: the range drawn, and ticks at multiples of `step`. */
typedef struct Axis {
    double lo, hi, step;
    double tick_lo, tick_hi;     /* ticks only within these */
    int decimals;                /* for the tick labels */
    bool sci;                    /* tick labels as %g */
} Axis;

/* A "nice" step (1, 2 or 5 times a power of ten) near range / target. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void axis_labels(Axis *a)
{
    double big = fmax(fabs(a->lo), fabs(a->hi));
    a->sci = big >= 1e7 || a->step < 1e-6;
    a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    if (a->decimals > 12)
        a->decimals = 12;
}

/* A y axis framing [lo, hi], its ends on ticks, clamped to [floor, ceil]
 * (pass -INFINITY / INFINITY for no clamp). */
static Axis y_axis(double lo, double hi, double floor_, double ceil_)
{
    double data_lo = lo, data_hi = hi;
    if (hi - lo <= fmax(fabs(hi), fabs(lo)) * 1e-12) {
        /* A constant series: a band around it. */
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    /* A margin, so no point sits on the frame. */
    double margin = (hi - lo) * 0.04;
    lo -= margin;
    hi += margin;
    Axis a;
    a.step = nice_step(hi - lo, 5);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    if (a.lo < floor_)
        a.lo = floor_;
    if (a.hi > ceil_)
        a.hi = ceil_;
    if (!(a.hi > a.lo))
        a.hi = a.lo + a.step;
    a.tick_lo = a.lo;
    a.tick_hi = a.hi;
    /* Data on (or next to) a clamped end would sit on the frame: a margin
     * past the bound, without a tick. */
    double span = a.hi - a.lo;
    if (a.lo == floor_ && data_lo - floor_ < 0.02 * span)
        a.lo -= 0.03 * span;
    if (a.hi == ceil_ && ceil_ - data_hi < 0.02 * span)
        a.hi += 0.03 * span;
    axis_labels(&a);
    return a;
}

/* The x axis: epochs, whole-number ticks. */
static Axis x_axis(double lo, double hi)
{
    Axis a;
    a.tick_lo = lo;              /* no ticks at epochs before the first or after the last */
    a.tick_hi = hi;
    if (hi - lo < 1) {
        lo -= 0.5;
        hi += 0.5;
    }
    a.step = nice_step(hi - lo, 6);
    a.lo = lo - (hi - lo) * 0.02;    /* a margin, so no point sits on the frame */
    a.hi = hi + (hi - lo) * 0.02;
    if (a.step < 1)
        a.step = 1;
    axis_labels(&a);
    a.sci = false;               /* whole epoch numbers, even 10000000 */
    return a;
}

typedef struct Plot {
    double x0, x1, y0, y1;       /* pixel box: left, right, top, bottom */
    Axis ax, ay;
    bool percent;                /* y tick labels with a % */
} Plot;

static double px(const Plot *p, double x)
{
    return p->x0 + (x - p->ax.lo) / (p->ax.hi - p->ax.lo) * (p->x1 - p->x0);
}

static double py(const Plot *p, double y)
{
    return p->y1 - (y - p->ay.lo) / (p->ay.hi - p->ay.lo) * (p->y1 - p->y0);
}

static void tick_label(RtBuf *b, const Axis *a, double v, bool percent)
{
    if (a->sci)
        buf_g(b, v, 6);
    else
        buf_num(b, v, a->decimals);
    if (percent)
        rt_buf_puts(b, "%");
}

/* The ticks of an axis: indices i with i * step in [lo, hi]. */
static void tick_range(const Axis *a, double *first, double *last)
{
    *first = ceil(a->tick_lo / a->step - 1e-9);
    *last = floor(a->tick_hi / a->step + 1e-9);
    if (*last - *first > 50)     /* cannot happen with nice steps; a guard */
        *last = *first + 50;
}

static void draw_axes(RtBuf *b, const Plot *p, const char *ylabel)
{
    double first, last;
    /* grid lines and y ticks */
    rt_buf_puts(b, "<g class=\"axes\" font-size=\"12\" fill=\"#333\">\n");
    tick_range(&p->ay, &first, &last);
    for (double i = first; i <= last; i++) {
        double v = i * p->ay.step, y = py(p, v);
        rt_buf_puts(b, "<line stroke=\"#e3e3e3\" x1=\"");
        buf_num(b, p->x0, 1);
        rt_buf_puts(b, "\" x2=\"");
        buf_num(b, p->x1, 1);
        rt_buf_puts(b, "\" y1=\"");
        buf_num(b, y, 1);
        rt_buf_puts(b, "\" y2=\"");
        buf_num(b, y, 1);
        rt_buf_puts(b, "\"/><line stroke=\"#333\" x1=\"");
        buf_num(b, p->x0 - 5, 1);
        rt_buf_puts(b, "\" x2=\"");
        buf_num(b, p->x0, 1);
        rt_buf_puts(b, "\" y1=\"");
        buf_num(b, y, 1);
        rt_buf_puts(b, "\" y2=\"");
        buf_num(b, y, 1);
        rt_buf_puts(b, "\"/><text class=\"ytick\" text-anchor=\"end\" x=\"");
        buf_num(b, p->x0 - 8, 1);
        rt_buf_puts(b, "\" y=\"");
        buf_num(b, y + 4, 1);
        rt_buf_puts(b, "\">");
        tick_label(b, &p->ay, v, p->percent);
        rt_buf_puts(b, "</text>\n");
    }
    tick_range(&p->ax, &first, &last);
    for (double i = first; i <= last; i++) {
        double v = i * p->ax.step, x = px(p, v);
        rt_buf_puts(b, "<line stroke=\"#333\" x1=\"");
        buf_num(b, x, 1);
        rt_buf_puts(b, "\" x2=\"");
        buf_num(b, x, 1);
        rt_buf_puts(b, "\" y1=\"");
        buf_num(b, p->y1, 1);
        rt_buf_puts(b, "\" y2=\"");
        buf_num(b, p->y1 + 5, 1);
        rt_buf_puts(b, "\"/><text class=\"xtick\" text-anchor=\"middle\" x=\"");
        buf_num(b, x, 1);
        rt_buf_puts(b, "\" y=\"");
        buf_num(b, p->y1 + 19, 1);
        rt_buf_puts(b, "\">");
        tick_label(b, &p->ax, v, false);
        rt_buf_puts(b, "</text>\n");
    }
    /* the frame, then the axis titles */
    rt_buf_puts(b, "<rect fill=\"none\" stroke=\"#333\" x=\"");
    buf_num(b, p->x0, 1);
    rt_buf_puts(b, "\" y=\"");
    buf_num(b, p->y0, 1);
    rt_buf_puts(b, "\" width=\"");
    buf_num(b, p->x1 - p->x0, 1);
    rt_buf_puts(b, "\" height=\"");
    buf_num(b, p->y1 - p->y0, 1);
    rt_buf_puts(b, "\"/>\n<text class=\"xlabel\" font-size=\"13\" text-anchor=\"middle\" x=\"");
    buf_num(b, (p->x0 + p->x1) / 2, 1);
    rt_buf_puts(b, "\" y=\"");
    buf_num(b, p->y1 + 38, 1);
    rt_buf_puts(b, "\">epoch</text>\n<text class=\"ylabel\" font-size=\"13\" text-anchor=\"middle\" transform=\"translate(");
    buf_num(b, p->x0 - 60, 1);
    rt_buf_puts(b, " ");
    buf_num(b, (p->y0 + p->y1) / 2, 1);
    rt_buf_puts(b, ") rotate(-90)\">");
    buf_xml(b, ylabel);
    rt_buf_puts(b, "</text>\n</g>\n");
}

static void draw_marker(RtBuf *b, const Plot *p, const Series *s, double x, double y, double r)
{
    rt_buf_puts(b, "<circle cx=\"");
    buf_num(b, px(p, x), 2);
    rt_buf_puts(b, "\" cy=\"");
    buf_num(b, py(p, y), 2);
    rt_buf_puts(b, "\" r=\"");
    buf_num(b, r, 1);
    rt_buf_printf(b, "\" fill=\"%s\"/>\n", s->color);
}

/* A series as one path (broken where values are missing) and dots. */
static void path_point(RtBuf *b, const Plot *p, double x, double y, bool *pen)
{
    rt_buf_puts(b, *pen ? " L" : " M");
    buf_num(b, px(p, x), 2);
    rt_buf_puts(b, " ");
    buf_num(b, py(p, y), 2);
    *pen = true;
}

/* A series as one path (broken where values are missing) and dots.  A long
 * series is thinned to what a pixel column can show: of each run of points
 * in one column, the first, the lowest, the highest and the last. */
static void draw_series(RtBuf *b, const Plot *p, const Series *s, const double *xs, int n)
{
    if (s->n_points == 0)
        return;
    rt_buf_printf(b, "<g class=\"series\" id=\"%s\">\n", s->id);
    rt_buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s d=\"", s->color,
              s->dashed ? " stroke-dasharray=\"7 4\"" : "");
    size_t start = b->len;
    bool pen = false;
    for (int i = 0; i < n;) {
        if (!usable(s->y[i])) {
            pen = false;
            i++;
            continue;
        }
        if (s->n_points <= MAX_PLAIN_POINTS) {
            path_point(b, p, xs[i], s->y[i], &pen);
            i++;
            continue;
        }
        double col = floor(px(p, xs[i]));
        int first = i, lo = i, hi = i;
        for (; i < n && usable(s->y[i]) && floor(px(p, xs[i])) == col; i++) {
            if (s->y[i] < s->y[lo])
                lo = i;
            if (s->y[i] > s->y[hi])
                hi = i;
        }
        int pick[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, i - 1};
        for (int k = 0; k < 4; k++)
            if (k == 0 || pick[k] != pick[k - 1])
                path_point(b, p, xs[pick[k]], s->y[pick[k]], &pen);
    }
    /* no leading blank in the attribute */
    if (!b->oom && b->len > start && b->data[start] == ' ')
    {
        memmove(b->data + start, b->data + start + 1, b->len - start);   /* with the '\0' */
        b->len--;
    }
    rt_buf_puts(b, "\"/>\n");
    for (int i = 0; i < n; i++) {
        if (!usable(s->y[i]))
            continue;
        bool alone = (i == 0 || !usable(s->y[i - 1])) && (i == n - 1 || !usable(s->y[i + 1]));
        if (s->n_points <= MAX_MARKED || alone)
            draw_marker(b, p, s, xs[i], s->y[i], s->n_points <= MAX_MARKED ? 3 : 2.5);
    }
    rt_buf_puts(b, "</g>\n");
}

static void draw_text(RtBuf *b, double x, double y, int size, const char *anchor, const char *extra, const char *text)
{
    rt_buf_puts(b, "<text x=\"");
    buf_num(b, x, 1);
    rt_buf_puts(b, "\" y=\"");
    buf_num(b, y, 1);
    rt_buf_printf(b, "\" font-size=\"%d\" text-anchor=\"%s\"%s>", size, anchor, extra);
    buf_xml(b, text);
    rt_buf_puts(b, "</text>\n");
}

/* The legend, in a row under the panel's title: for each series that has
 * points a swatch, its name and its last value (with the epoch when that is
 * not the last one). */
static void draw_legend(RtBuf *b, const Plot *p, const Series *ss, int n_series, const double *xs, int n,
                        bool percent)
{
    double x = p->x0 + 4, y = p->y0 - 14;
    rt_buf_puts(b, "<g class=\"legend\" font-size=\"12\" fill=\"#222\">\n");
    for (int k = 0; k < n_series; k++) {
        const Series *s = &ss[k];
        if (s->n_points == 0)
            continue;
        int last = n - 1;
        while (!usable(s->y[last]))
            last--;
        rt_buf_puts(b, "<line stroke-width=\"2\" x1=\"");
        buf_num(b, x, 1);
        rt_buf_puts(b, "\" x2=\"");
        buf_num(b, x + 24, 1);
        rt_buf_puts(b, "\" y1=\"");
        buf_num(b, y - 4, 1);
        rt_buf_puts(b, "\" y2=\"");
        buf_num(b, y - 4, 1);
        rt_buf_printf(b, "\" stroke=\"%s\"%s/>", s->color, s->dashed ? " stroke-dasharray=\"7 4\"" : "");
        RtBuf t = {0};
        rt_buf_printf(&t, "%s: ", s->label);
        if (percent) {
            buf_num(&t, s->y[last], 2);
            rt_buf_puts(&t, "%");
        } else
            buf_g(&t, s->y[last], 4);
        if (last != n - 1)
            rt_buf_printf(&t, " (epoch %.0f)", xs[last]);
        rt_buf_puts(b, "<text x=\"");
        buf_num(b, x + 30, 1);
        rt_buf_puts(b, "\" y=\"");
        buf_num(b, y, 1);
        rt_buf_puts(b, "\">");
        buf_xml(b, t.oom ? "?" : t.data);
        rt_buf_puts(b, "</text>\n");
        /* about 6.6 pixels a character at 12 pixels, then a gap */
        x += 30 + 6.6 * (double)t.len + 28;
        rt_buf_free(&t);
    }
    rt_buf_puts(b, "</g>\n");
}

/* One panel: a title, axes, the series, a legend; or, when no series has a
 * point, the frame with `empty` written in it. */
static void draw_panel(RtBuf *b, const char *id, int left, int top, const char *title, const char *ylabel,
                       Series *ss, int n_series, const double *xs, int n, Axis ax, bool percent, const char *empty)
{
    Plot p;
    p.x0 = left + PLOT_LEFT;
    p.x1 = left + PANEL_W - PLOT_RIGHT;
    p.y0 = top + PLOT_TOP;
    p.y1 = top + PLOT_BOTTOM;
    p.ax = ax;
    p.percent = percent;

    double lo = INFINITY, hi = -INFINITY;
    int points = 0, skipped = 0;
    for (int k = 0; k < n_series; k++) {
        points += ss[k].n_points;
        skipped += ss[k].n_skipped;
        for (int i = 0; i < n; i++)
            if (usable(ss[k].y[i])) {
                lo = fmin(lo, ss[k].y[i]);
                hi = fmax(hi, ss[k].y[i]);
            }
    }
    rt_buf_printf(b, "<g class=\"panel\" id=\"%s-panel\">\n", id);
    draw_text(b, (p.x0 + p.x1) / 2, top + 46, 15, "middle", " font-weight=\"bold\"", title);
    if (skipped) {
        char note[96];
        snprintf(note, sizeof note, "%d value%s not finite (NaN or infinite), not drawn", skipped,
                 skipped == 1 ? "" : "s");
        draw_text(b, p.x1, p.y1 + 58, 11, "end", " fill=\"#b00\" class=\"skipped\"", note);
    }
    if (points == 0) {
        rt_buf_puts(b, "<rect fill=\"#fafafa\" stroke=\"#999\" x=\"");
        buf_num(b, p.x0, 1);
        rt_buf_puts(b, "\" y=\"");
        buf_num(b, p.y0, 1);
        rt_buf_puts(b, "\" width=\"");
        buf_num(b, p.x1 - p.x0, 1);
        rt_buf_puts(b, "\" height=\"");
        buf_num(b, p.y1 - p.y0, 1);
        rt_buf_puts(b, "\"/>\n");
        /* `empty` is a line, or a line and a smaller one after a '\n'. */
        const char *nl = strchr(empty, '\n');
        char line[128];
        snprintf(line, sizeof line, "%.*s", nl ? (int)(nl - empty) : (int)strlen(empty), empty);
        draw_text(b, (p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2 - (nl ? 8 : 0), 14, "middle",
                  " fill=\"#666\" class=\"empty\"", line);
        if (nl)
            draw_text(b, (p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2 + 14, 12, "middle", " fill=\"#666\"", nl + 1);
        rt_buf_puts(b, "</g>\n");
        return;
    }
    p.ay = percent ? y_axis(lo, hi, 0, 100) : y_axis(lo, hi, -INFINITY, INFINITY);
    draw_axes(b, &p, ylabel);
    rt_buf_puts(b, "<g class=\"data\">\n");
    for (int k = 0; k < n_series; k++)
        draw_series(b, &p, &ss[k], xs, n);
    rt_buf_puts(b, "</g>\n");
    draw_legend(b, &p, ss, n_series, xs, n, percent);
    rt_buf_puts(b, "</g>\n");
}

static void count_points(Series *s, const bool *present, int n)
{
    s->n_points = s->n_skipped = 0;
    for (int i = 0; i < n; i++) {
        if (!present[i])
            s->y[i] = NAN;
        else if (usable(s->y[i]))
            s->n_points++;
        else
            s->n_skipped++;
    }
}

/* The start of a chart: the <svg> element, the <title> and the heading (at
 * most TITLE_MAX bytes, cut between UTF-8 characters, with an ellipsis;
 * <title> has it all). */
static void svg_open(RtBuf *b, const char *title, int height)
{
    rt_buf_printf(b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
              SVG_W, height, SVG_W, height);
    const char *t = title && *title ? title : "training";
    rt_buf_puts(b, "<title>");
    buf_xml(b, t);
    rt_buf_puts(b, "</title>\n");
    rt_buf_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", SVG_W, height);
    char heading[TITLE_MAX + 8];
    size_t tl = strlen(t);
    if (tl > TITLE_MAX) {
        tl = TITLE_MAX;
        while (tl > 0 && ((unsigned char)t[tl] & 0xc0) == 0x80)
            tl--;
        snprintf(heading, sizeof heading, "%.*s...", (int)tl, t);
    } else
        snprintf(heading, sizeof heading, "%s", t);
    draw_text(b, SVG_W / 2.0, 22, 17, "middle", " font-weight=\"bold\" class=\"title\"", heading);
}

bool rt_plot_svg(const char *path, const RtEpoch *epochs, int n, const char *title, RtError *err)
{
    if (!path || !*path)
        return rt_fail(err, "(no file name): chart not written: no file name");
    if (n <= 0)
        return rt_fail(err, "%s: chart not written: no epochs to plot (%d)", path, n);
    if (!epochs)
        return rt_fail(err, "%s: chart not written: no epoch figures given", path);
    if ((size_t)n > SIZE_MAX / (6 * sizeof(double)))
        return rt_fail(err, "%s: chart not written: too many epochs (%d)", path, n);

    double *mem = malloc((size_t)n * 6 * sizeof *mem);
    bool *present = malloc((size_t)n * 2 * sizeof *present);
    if (!mem || !present) {
        free(mem);
        free(present);
        return rt_fail(err, "%s: chart not written: out of memory for %d epochs", path, n);
    }
    double *xs = mem;
    Series loss[2] = {{"loss-train", "training", TRAIN_COLOR, false, mem + n, 0, 0},
                      {"loss-test", "test", TEST_COLOR, true, mem + 2 * (size_t)n, 0, 0}};
    Series acc[2] = {{"accuracy-train", "training", TRAIN_COLOR, false, mem + 3 * (size_t)n, 0, 0},
                     {"accuracy-test", "test", TEST_COLOR, true, mem + 4 * (size_t)n, 0, 0}};
    Series lr[1] = {{"learning-rate", "learning rate", TRAIN_COLOR, false, mem + 5 * (size_t)n, 0, 0}};
    bool *all = present, *has_test = present + n;
    bool lr_varies = false;   /* a schedule: the learning rate gets a panel of its own */

    /* Epoch numbers as given, or 1, 2, ... when they do not increase. */
    bool increasing = true;
    for (int i = 1; i < n; i++)
        if (epochs[i].epoch <= epochs[i - 1].epoch)
            increasing = false;
    for (int i = 0; i < n; i++) {
        const RtEpoch *e = &epochs[i];
        xs[i] = increasing ? e->epoch : i + 1;
        all[i] = true;
        has_test[i] = e->test.n > 0;
        loss[0].y[i] = e->loss;
        loss[1].y[i] = e->test.loss;
        acc[0].y[i] = 100 * e->train.accuracy;
        acc[1].y[i] = 100 * e->test.accuracy;
        lr[0].y[i] = e->lr;
        lr_varies |= e->lr != epochs[0].lr;
    }
    count_points(&loss[0], all, n);
    count_points(&loss[1], has_test, n);
    count_points(&lr[0], all, n);
    /* A negative accuracy means "no labels": no point at all (a NaN one is
     * a point not drawn).  An accuracy series is there when some epoch has
     * one; a regressor has neither. */
    bool *train_acc = malloc((size_t)n * sizeof *train_acc);
    if (!train_acc) {
        free(mem);
        free(present);
        return rt_fail(err, "%s: chart not written: out of memory for %d epochs", path, n);
    }
    bool any_acc = false;
    for (int i = 0; i < n; i++) {
        train_acc[i] = !(epochs[i].train.accuracy < 0);
        /* has_test becomes "has a test accuracy": the loss is counted. */
        has_test[i] = has_test[i] && !(epochs[i].test.accuracy < 0);
        any_acc |= train_acc[i] || has_test[i];
    }
    count_points(&acc[0], train_acc, n);
    count_points(&acc[1], has_test, n);
    free(train_acc);

    double xlo = xs[0], xhi = xs[n - 1];
    Axis ax = x_axis(xlo, xhi);

    RtBuf b = {0};
    svg_open(&b, title, lr_varies ? SVG_H + LR_ROW : SVG_H);
    draw_panel(&b, "loss", 0, 0, "loss per epoch", "mean loss per sample", loss, 2, xs, n, ax, false,
               "no finite loss values");
    draw_panel(&b, "accuracy", PANEL_W, 0, "accuracy per epoch", "accuracy", acc, 2, xs, n, ax, true,
               any_acc ? "no finite accuracy values"
                                                : "no accuracy\nthe targets are not class labels (regression)");
    if (lr_varies)
        draw_panel(&b, "learning-rate", 0, SVG_H - 40, "learning rate per epoch (the schedule)", "learning rate", lr,
                   1, xs, n, ax, false, "no finite learning rates");
    rt_buf_puts(&b, "</svg>\n");

    free(mem);
    free(present);
    bool ok;
    if (b.oom)
        ok = rt_fail(err, "%s: chart not written: out of memory", path);
    else
        ok = write_atomic(path, b.data, b.len, err);
    rt_buf_free(&b);
    return ok;
}

bool rt_plot_gan_svg(const char *path, const RtGanEpoch *epochs, int n, const char *title, RtError *err)
{
    if (!path || !*path)
        return rt_fail(err, "(no file name): chart not written: no file name");
    if (n <= 0 || !epochs)
        return rt_fail(err, "%s: chart not written: no epochs to plot (%d)", path, n);
    if ((size_t)n > SIZE_MAX / (4 * sizeof(double)))
        return rt_fail(err, "%s: chart not written: too many epochs (%d)", path, n);
    double *mem = malloc((size_t)n * 4 * sizeof *mem);
    bool *all = malloc((size_t)n * sizeof *all);
    if (!mem || !all) {
        free(mem);
        free(all);
        return rt_fail(err, "%s: chart not written: out of memory for %d epochs", path, n);
    }
    double *xs = mem;
    Series loss[2] = {{"loss-discriminator", "discriminator", TRAIN_COLOR, false, mem + n, 0, 0},
                      {"loss-generator", "generator", TEST_COLOR, true, mem + 2 * (size_t)n, 0, 0}};
    Series speed[1] = {{"samples-per-second", "training", TRAIN_COLOR, false, mem + 3 * (size_t)n, 0, 0}};
    for (int i = 0; i < n; i++) {
        xs[i] = i + 1;
        all[i] = true;
        loss[0].y[i] = epochs[i].d_loss;
        loss[1].y[i] = epochs[i].g_loss;
        speed[0].y[i] = epochs[i].samples_per_sec;
    }
    count_points(&loss[0], all, n);
    count_points(&loss[1], all, n);
    count_points(&speed[0], all, n);
    RtBuf b = {0};
    svg_open(&b, title, SVG_H);
    Axis ax = x_axis(xs[0], xs[n - 1]);
    draw_panel(&b, "loss", 0, 0, "losses per epoch", "mean loss per step", loss, 2, xs, n, ax, false,
               "no finite loss values");
    draw_panel(&b, "speed", PANEL_W, 0, "training speed per epoch", "samples per second", speed, 1, xs, n, ax, false,
               "no speed figures");
    rt_buf_puts(&b, "</svg>\n");
    free(mem);
    free(all);
    bool ok = b.oom ? rt_fail(err, "%s: chart not written: out of memory", path) : write_atomic(path, b.data, b.len, err);
    rt_buf_free(&b);
    return ok;
}

/* ---- the image grid ---- */

enum { PGM_GAP_GREY = 128 };
#define PGM_MAX_BYTES ((uint64_t)1 << 30)   /* 1 GiB: a picture, not a data set */

/* Big-endian u32, as PNG stores its numbers. */
static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A chunk at p (length, type, data, CRC of type and data); returns its end. */
static unsigned char *png_chunk(unsigned char *p, const char *type, const unsigned char *data, size_t len)
{
    put_be32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    if (len)
        memmove(p + 8, data, len);
    put_be32(p + 8 + len, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + 4, (uInt)(len + 4)));
    return p + 12 + len;
}

/* pix (w x h grey bytes) as an 8-bit greyscale PNG, written atomically: the
 * rows, each with filter 0, deflated by zlib in one IDAT chunk. */
static bool write_png(const char *path, const unsigned char *pix, size_t w, size_t h, RtError *err)
{
    size_t raw_len = h * (w + 1);
    uLong bound = compressBound((uLong)raw_len);
    unsigned char *raw = malloc(raw_len), *out = malloc(8 + 25 + 12 + (size_t)bound + 12);
    bool ok = raw && out && raw_len == (uLong)raw_len;
    if (!ok) {
        free(raw);
        free(out);
        return rt_fail(err, "%s: image grid not written: out of memory", path);
    }
    for (size_t y = 0; y < h; y++) {
        raw[y * (w + 1)] = 0;
        memcpy(raw + y * (w + 1) + 1, pix + y * w, w);
    }
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = 0, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;   /* 8 bits, grey, deflate, no interlace */
    memcpy(out, sig, 8);
    unsigned char *p = png_chunk(out + 8, "IHDR", ihdr, 13);
    uLongf zlen = bound;
    if (compress2(p + 8, &zlen, raw, (uLong)raw_len, 9) != Z_OK) {
        free(raw);
        free(out);
        return rt_fail(err, "%s: image grid not written: zlib could not compress it", path);
    }
    p = png_chunk(p, "IDAT", p + 8, (size_t)zlen);
    p = png_chunk(p, "IEND", NULL, 0);
    ok = write_atomic(path, out, (size_t)(p - out), err);
    free(raw);
    free(out);
    return ok;
}

bool rt_write_pgm_grid(const char *path, const float *images, int n, int h, int w, int cols, RtError *err)
{
    if (!path || !*path)
        return rt_fail(err, "(no file name): image grid not written: no file name");
    if (n <= 0)
        return rt_fail(err, "%s: image grid not written: no images (%d)", path, n);
    if (h <= 0 || w <= 0)
        return rt_fail(err, "%s: image grid not written: invalid image size %dx%d", path, h, w);
    if (cols <= 0)
        return rt_fail(err, "%s: image grid not written: invalid column count %d", path, cols);
    if (!images)
        return rt_fail(err, "%s: image grid not written: no pixels given", path);
    if (cols > n)
        cols = n;
    int rows = n / cols + (n % cols != 0);
    /* All sizes in 64 bits: each factor is below 2^31, so no product of two
     * overflows; the grid is bounded before the third. */
    uint64_t gw = (uint64_t)cols * (uint64_t)w + (uint64_t)(cols - 1);
    uint64_t gh = (uint64_t)rows * (uint64_t)h + (uint64_t)(rows - 1);
    uint64_t pixels_in = (uint64_t)h * (uint64_t)w;
    if (gw > PGM_MAX_BYTES || gh > PGM_MAX_BYTES || gw * gh > PGM_MAX_BYTES ||
        pixels_in > SIZE_MAX / sizeof(float) / (uint64_t)n)
        return rt_fail(err,
                       "%s: image grid not written: %d images of %dx%d in %d columns make a %llux%llu grid, "
                       "more than the %llu-byte limit",
                       path, n, h, w, cols, (unsigned long long)gw, (unsigned long long)gh,
                       (unsigned long long)PGM_MAX_BYTES);

    char head[64];
    int hn = snprintf(head, sizeof head, "P5\n%llu %llu\n255\n", (unsigned long long)gw, (unsigned long long)gh);
    size_t body = (size_t)(gw * gh), total = (size_t)hn + body;
    unsigned char *buf = malloc(total);
    if (!buf)
        return rt_fail(err, "%s: image grid not written: out of memory for %llu bytes", path,
                       (unsigned long long)total);
    memcpy(buf, head, (size_t)hn);
    unsigned char *pix = buf + hn;
    memset(pix, PGM_GAP_GREY, body);
    for (int k = 0; k < n; k++) {
        size_t r0 = (size_t)(k / cols) * ((size_t)h + 1), c0 = (size_t)(k % cols) * ((size_t)w + 1);
        const float *img = images + (size_t)k * (size_t)pixels_in;
        for (int y = 0; y < h; y++) {
            unsigned char *row = pix + (r0 + (size_t)y) * (size_t)gw + c0;
            const float *src = img + (size_t)y * (size_t)w;
            for (int x = 0; x < w; x++) {
                float v = src[x];
                /* NaN is black, like 0; the rest clamped to [0, 1]. */
                v = v > 0 ? (v < 1 ? v : 1) : 0;
                row[x] = (unsigned char)(v * 255.0f + 0.5f);
            }
        }
    }
    size_t len = strlen(path);
    bool ok = len > 4 && strcmp(path + len - 4, ".png") == 0 ? write_png(path, pix, (size_t)gw, (size_t)gh, err)
                                                             : write_atomic(path, buf, total, err);
    free(buf);
    return ok;
}
