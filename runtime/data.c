/* data.c — data sets: CSV of numbers, and IDX files as MNIST and
 * Fashion-MNIST ship them.  Every file is read through zlib's gzread, which
 * decompresses gzip and copies anything else as it is, so "data.csv.gz" and
 * "train-images-idx3-ubyte.gz" load like their plain forms.  Each file is
 * opened once and read once, front to back (In, below), so pipes load too.
 *
 * Every error names the file and a position: CSV "path:LINE:COL: ..." (or
 * "path:LINE: ..." for the row as a whole), IDX "path: byte OFFSET: ...",
 * the offset counted in the uncompressed data.  Corrupt gzip data is
 * "path: compressed byte OFFSET: ...", where zlib found it; in a pipe, where
 * zlib cannot tell that offset, it is located as the other read errors
 * are.  Nothing here aborts or exits. */
#include "nnc_rt.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The largest data set: 2^31 floats of inputs (8 GiB), and as many targets. */
#define MAX_VALUES ((uint64_t)1 << 31)
/* The longest CSV line, and the most uncompressed CSV text, we read. */
#define MAX_LINE ((size_t)1 << 28)
#define MAX_TEXT ((uint64_t)1 << 36)
#define CHUNK ((size_t)1 << 16)

/* ---- sizes ---- */

/* a * b into *r; false when it does not fit in a size_t. */
static bool mul_size(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *r = a * b;
    return true;
}

static void *alloc_floats(uint64_t n)
{
    size_t bytes;
    if (n > SIZE_MAX || !mul_size((size_t)n, sizeof(float), &bytes))
        return NULL;
    return malloc(bytes ? bytes : 1);
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- reading a file, gzip-compressed or not ---- */

/* A file is opened once and read once, front to back: it may be a pipe, a
 * FIFO, /dev/stdin or a process substitution, which cannot be opened again
 * or rewound.  Its first bytes (uncompressed) are read ahead into `head`, to
 * tell IDX from CSV, and handed out again by the first reads. */
enum { HEAD = 4 };

typedef struct In {
    gzFile gz;
    const char *path;
    bool regular;                /* a regular file, not a pipe, FIFO, terminal or socket */
    uint64_t pos;                /* uncompressed bytes delivered so far */
    unsigned char head[HEAD];    /* the first bytes, read ahead ... */
    size_t head_len, head_at;    /* ... head[head_at..head_len) not yet delivered */
    bool head_failed;            /* reading ahead failed: the next read fails after the head (why says how) */
    bool truncated;              /* after a failure: the gzip data ends early */
    int64_t corrupt_at;          /* after a failure: where the corrupt gzip data is (compressed), or -1 */
    char why[512];               /* after a failure: what went wrong */
} In;

/* Records zlib's error in in->why; returns false. */
static bool in_error(In *in)
{
    int e = Z_OK;
    const char *m = gzerror(in->gz, &e);
    in->corrupt_at = -1;
    if (e == Z_ERRNO) {
        snprintf(in->why, sizeof in->why, "read error: %s", strerror(errno));
    } else if (e == Z_BUF_ERROR) {
        in->truncated = true;
        snprintf(in->why, sizeof in->why, "the gzip data is cut short (the file is truncated)");
    } else if (e == Z_MEM_ERROR) {
        snprintf(in->why, sizeof in->why, "out of memory decompressing");
    } else {
        /* zlib's message is "<fd:N>: what"; keep the what. */
        const char *colon = m ? strstr(m, ": ") : NULL;
        const char *what = colon ? colon + 2 : (m && *m ? m : "unknown error");
        snprintf(in->why, sizeof in->why, "the gzip data is corrupt (%s)", what);
        in->corrupt_at = (int64_t)gzoffset(in->gz);
    }
    return false;
}

/* Reads up to n bytes from the stream itself (past the head) into dst; *got
 * < n at the end of the data.  False on a read or gzip error (in->why says
 * which; *got counts what came before). */
static bool in_fill(In *in, unsigned char *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int r = gzread(in->gz, dst + *got, (unsigned)want);
        if (r < 0)
            return in_error(in);
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    if (*got < n) {
        int e = Z_OK;
        gzerror(in->gz, &e);
        if (e != Z_OK)
            return in_error(in);
    }
    return true;
}

/* Opens `path` once and reads its first HEAD bytes ahead.  A failure to read
 * them is not reported here but by the first in_read, where the loader can
 * say where it happened. */
static bool in_open(In *in, const char *path, RtError *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->corrupt_at = -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return rt_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rt_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return rt_fail(err, "%s: is a directory, not a data file", path);
    }
    in->regular = S_ISREG(st.st_mode);
    in->gz = gzdopen(fd, "rb");
    if (!in->gz) {
        close(fd);
        return rt_fail(err, "%s: out of memory opening the file", path);
    }
    gzbuffer(in->gz, 1u << 17);
    in->head_failed = !in_fill(in, in->head, HEAD, &in->head_len);
    return true;
}

static void in_close(In *in)
{
    if (in->gz)
        gzclose(in->gz);
    in->gz = NULL;
}

/* Reads up to n bytes into dst, the head first; *got < n at the end of the
 * data.  False on a read or gzip error (in->why says which; *got counts what
 * came before). */
static bool in_read(In *in, void *dst, size_t n, size_t *got)
{
    unsigned char *p = dst;
    size_t from_head = in->head_len - in->head_at;
    if (from_head > n)
        from_head = n;
    if (from_head > 0)
        memcpy(p, in->head + in->head_at, from_head);
    in->head_at += from_head;
    *got = from_head;
    bool ok = true;
    if (*got < n) {
        size_t more = 0;
        if (in->head_failed)
            ok = false;   /* as with zlib, every read after an error fails */
        else if (in->head_len == HEAD)   /* (a shorter head: the data ended there) */
            ok = in_fill(in, p + *got, n - *got, &more);
        *got += more;
    }
    in->pos += (uint64_t)*got;
    return ok;
}

/* ---- CSV ---- */

/* The length of the valid UTF-8 character at s[0..n) that starts with a
 * byte >= 0x80, or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || (s[0] == 0xF0 && s[1] < 0x90)
        || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;   /* overlong, a surrogate, or beyond U+10FFFF */
    return len;
}

/* `s[0..n)` for a message, in single quotes: the first 40 bytes, control
 * bytes and bytes that are not UTF-8 as \xNN, "..." when cut. */
static const char *show(char *buf, size_t size, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t limit = n > 40 ? 40 : n, o = 0;
    buf[o++] = '\'';
    size_t i = 0;
    while (i < limit && o + 16 < size) {
        size_t len = u[i] >= 0x80 ? utf8_char(u + i, n - i) : 1;
        if (u[i] < 0x20 || u[i] == 0x7F || len == 0) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", u[i]);
            i++;
        } else {
            memcpy(buf + o, s + i, len);
            o += len;
            i += len;
        }
    }
    if (i < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* The same without the quotes, for a number. */
static const char *show_number(char *buf, size_t size, const char *s, size_t n)
{
    show(buf, size, s, n);
    buf[strlen(buf) - 1] = '\0';
    return buf + 1;
}

enum { NUM_OK, NUM_EMPTY, NUM_TEXT, NUM_NONFINITE, NUM_RANGE };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether s[0..n) spells NaN or infinity as strtod would take it. */
static bool nonfinite_text(const char *s, size_t n)
{
    static const char *const words[] = {"nan", "inf", "infinity"};
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        s++;
        n--;
    }
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t len = strlen(words[w]);
        if (n < len)
            continue;
        bool same = true;
        for (size_t i = 0; i < len && same; i++)
            same = (s[i] | 0x20) == words[w][i];
        /* "nan(...)" too */
        if (same && (n == len || (w == 0 && s[len] == '(' && s[n - 1] == ')')))
            return true;
    }
    return false;
}

/* Parses the decimal number s[0..n): [+-] digits [. digits] [(e|E) [+-]
 * digits], a digit before or after the point.  s[n] must be writable (it is
 * restored). */
static int parse_number(char *s, size_t n, double *v)
{
    if (n == 0)
        return NUM_EMPTY;
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < n && is_digit(s[i])) {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return nonfinite_text(s, n) ? NUM_NONFINITE : NUM_TEXT;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < n && is_digit(s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return NUM_TEXT;
    }
    if (i != n)
        return NUM_TEXT;
    char saved = s[n];
    s[n] = '\0';
    errno = 0;
    char *end;
    double d = strtod(s, &end);
    int e = errno;
    s[n] = saved;
    if (end != s + n) {
        /* strtod follows LC_NUMERIC: in a locale whose decimal point is not
         * '.' (after a setlocale), spell the number that locale's way. */
        const char *point = localeconv()->decimal_point;
        size_t pn = strlen(point);
        char local[128];
        if (pn == 0 || n + pn >= sizeof local)
            return NUM_TEXT;
        size_t o = 0;
        for (size_t k = 0; k < n; k++) {
            if (s[k] == '.') {
                memcpy(local + o, point, pn);
                o += pn;
            } else {
                local[o++] = s[k];
            }
        }
        local[o] = '\0';
        errno = 0;
        d = strtod(local, &end);
        e = errno;
        if (end != local + o)
            return NUM_TEXT;
    }
    if ((e == ERANGE && fabs(d) > 1.0) || !isfinite(d) || fabs(d) > FLT_MAX)
        return NUM_RANGE;
    *v = d;
    return NUM_OK;
}

typedef struct Csv {
    In *in;                      /* open; the caller closes it */
    char *buf;
    size_t cap, len, start;      /* buf[start..len) not yet returned */
    bool eof;
    bool failed;                 /* a read error after the data in buf (c->in->why) */
    int64_t line;                /* the number of the line last returned */
} Csv;

/* The next line, without its line end, nul-terminated in place: 1, or 0 at
 * the end of the file, or -1 on an error (in err). */
static int csv_line(Csv *c, char **line, size_t *len, RtError *err)
{
    for (;;) {
        char *from = c->buf ? c->buf + c->start : NULL;
        size_t avail = c->len - c->start;
        char *nl = avail ? memchr(from, '\n', avail) : NULL;
        if (!nl && c->failed) {
            /* The lines before the error are read; a partial one is not.
             * (zlib drops what it decompressed in the call that found
             * corrupt data, so that error names the compressed offset.) */
            if (c->in->corrupt_at >= 0)
                rt_fail(err, "%s: compressed byte %" PRId64 ": %s", c->in->path, c->in->corrupt_at, c->in->why);
            else
                rt_fail(err, "%s:%" PRId64 ": %s", c->in->path, c->line + 1, c->in->why);
            return -1;
        }
        if (nl || (c->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - from) : avail;
            from[n] = '\0';   /* the newline, or the byte kept free at the end */
            c->start += nl ? n + 1 : n;
            if (n > 0 && from[n - 1] == '\r')
                from[--n] = '\0';
            c->line++;
            *line = from;
            *len = n;
            return 1;
        }
        if (c->eof)
            return 0;
        if (avail > MAX_LINE) {
            rt_fail(err, "%s:%" PRId64 ": the line is longer than %zu MiB", c->in->path, c->line + 1, MAX_LINE >> 20);
            return -1;
        }
        if (c->start > 0) {
            memmove(c->buf, from, avail);
            c->len = avail;
            c->start = 0;
        }
        if (c->cap - c->len < CHUNK + 1) {
            size_t cap = c->cap ? c->cap * 2 : 4 * CHUNK;
            if (cap > MAX_LINE + 2 * CHUNK)
                cap = MAX_LINE + 2 * CHUNK;   /* room for a line of MAX_LINE and one more read */
            char *b = realloc(c->buf, cap);
            if (!b) {
                rt_fail(err, "%s:%" PRId64 ": out of memory reading the line", c->in->path, c->line + 1);
                return -1;
            }
            c->buf = b;
            c->cap = cap;
        }
        size_t want = c->cap - c->len - 1, got;
        bool ok = in_read(c->in, c->buf + c->len, want, &got);
        c->len += got;
        if (!ok)
            c->failed = c->eof = true;
        if (got < want)
            c->eof = true;
        if (c->in->pos > MAX_TEXT) {
            rt_fail(err, "%s:%" PRId64 ": the file is larger than %" PRIu64 " GiB; refused", c->in->path,
                    c->line + 1, MAX_TEXT >> 30);
            return -1;
        }
    }
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The field at *p (up to the next comma or `end`), blanks trimmed: its start
 * and length; *p moves past the comma (to end + 1 after the last field). */
static char *next_field(char **p, char *end, size_t *n)
{
    char *s = *p;
    char *comma = memchr(s, ',', (size_t)(end - s));
    char *e = comma ? comma : end, *start = s;
    *p = e + 1;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    *n = (size_t)(e - s);
    return *n ? s : start;   /* an empty field is where it starts */
}

static int64_t count_columns(const char *s, size_t n)
{
    int64_t cols = 1;
    const char *end = s + n;
    while ((s = memchr(s, ',', (size_t)(end - s))) != NULL) {
        cols++;
        s++;
    }
    return cols;
}

/* A message for a field that is not a usable number. */
static bool field_error(RtError *err, const char *path, int64_t line, size_t col, int code, const char *s,
                        size_t n)
{
    char text[200];
    switch (code) {
    case NUM_EMPTY:
        return rt_fail(err, "%s:%" PRId64 ":%zu: empty field, expected a number", path, line, col);
    case NUM_NONFINITE:
        return rt_fail(err, "%s:%" PRId64 ":%zu: %s is not a finite number (NaN and infinity are refused)", path,
                       line, col, show(text, sizeof text, s, n));
    case NUM_RANGE:
        return rt_fail(err, "%s:%" PRId64 ":%zu: %s is out of range for a float (at most 3.4e38)", path, line,
                       col, show(text, sizeof text, s, n));
    default:
        return rt_fail(err, "%s:%" PRId64 ":%zu: %s is not a number", path, line, col,
                       show(text, sizeof text, s, n));
    }
}

/* Whether the row has a field that is not a number (a header, for
 * RT_HEADER_AUTO).  NaN, infinity and out-of-range numbers count as
 * numbers here, so such a first row is reported rather than skipped. */
static bool row_has_text(char *line, size_t len)
{
    char *p = line, *end = line + len;
    while (p <= end) {
        size_t n;
        char *s = next_field(&p, end, &n);
        double v;
        int code = parse_number(s, n, &v);
        if (code == NUM_EMPTY || code == NUM_TEXT)
            return true;
    }
    return false;
}

enum { MODE_UNKNOWN, MODE_TARGETS, MODE_LABEL };

/* Growable storage for the rows. */
typedef struct Rows {
    int64_t n, cap;
    float *x, *t;
    int32_t *label;
} Rows;

static bool rows_grow(Rows *r, int64_t n_inputs, int64_t n_outputs, bool with_labels, int64_t steps)
{
    if (r->n < r->cap)
        return true;
    int64_t cap = r->cap ? r->cap * 2 : 64;
    int64_t widest = n_inputs > n_outputs ? n_inputs : n_outputs;
    if ((uint64_t)cap * (uint64_t)widest > MAX_VALUES)
        cap = (int64_t)(MAX_VALUES / (uint64_t)widest);
    if (cap <= r->n)
        return false;
    size_t nx, nt, bx, bt, bl;
    if (!mul_size((size_t)cap, (size_t)n_inputs, &nx) || !mul_size(nx, sizeof(float), &bx)
        || !mul_size((size_t)cap, (size_t)n_outputs, &nt) || !mul_size(nt, sizeof(float), &bt)
        || !mul_size((size_t)cap * (size_t)steps, sizeof(int32_t), &bl))
        return false;
    /* Each array is only ever larger than cap says, so a failure leaves r usable. */
    float *x = realloc(r->x, bx);
    if (!x)
        return false;
    r->x = x;
    float *t = realloc(r->t, bt);
    if (!t)
        return false;
    r->t = t;
    if (with_labels) {
        int32_t *label = realloc(r->label, bl);
        if (!label)
            return false;
        r->label = label;
    }
    r->cap = cap;
    return true;
}

static void rows_free(Rows *r)
{
    free(r->x);
    free(r->t);
    free(r->label);
    memset(r, 0, sizeof *r);
}

/* "N inputs + M targets" and the like, for column count messages. */
static const char *shape_text(char *buf, size_t size, int64_t n_inputs, int64_t n_outputs, int mode, int64_t steps)
{
    if (mode == MODE_LABEL && steps > 1)
        snprintf(buf, size, "%" PRId64 " input%s + %" PRId64 " labels, one a step", n_inputs,
                 plural((uint64_t)n_inputs), steps);
    else if (mode == MODE_LABEL)
        snprintf(buf, size, "%" PRId64 " input%s + 1 label", n_inputs, plural((uint64_t)n_inputs));
    else
        snprintf(buf, size, "%" PRId64 " input%s + %" PRId64 " target%s", n_inputs, plural((uint64_t)n_inputs),
                 n_outputs, plural((uint64_t)n_outputs));
    return buf;
}

static bool columns_error(RtError *err, const char *path, int64_t line, const char *text, size_t len,
                          int64_t cols, int64_t n_inputs, int64_t n_outputs, bool label_allowed, int mode,
                          int64_t mode_line, int64_t steps)
{
    char a[96], b[96], hint[128] = "";
    if (cols == 1 && memchr(text, ';', len))
        snprintf(hint, sizeof hint, "; are the fields separated by ';'? nnc reads comma-separated values");
    else if (cols == 1 && memchr(text, '\t', len))
        snprintf(hint, sizeof hint, "; are the fields separated by tabs? nnc reads comma-separated values");
    int64_t full = n_inputs + n_outputs, with_label = n_inputs + steps;
    if (mode == MODE_TARGETS || mode == MODE_LABEL)
        return rt_fail(err, "%s:%" PRId64 ": %" PRId64 " column%s, expected %" PRId64 " (%s, as on line %" PRId64
                       ")%s",
                       path, line, cols, plural((uint64_t)cols), mode == MODE_LABEL ? with_label : full,
                       shape_text(a, sizeof a, n_inputs, n_outputs, mode, steps), mode_line, hint);
    if (label_allowed)
        return rt_fail(err, "%s:%" PRId64 ": %" PRId64 " column%s, expected %" PRId64 " (%s) or %" PRId64
                       " (%s)%s",
                       path, line, cols, plural((uint64_t)cols), full,
                       shape_text(a, sizeof a, n_inputs, n_outputs, MODE_TARGETS, steps), with_label,
                       shape_text(b, sizeof b, n_inputs, n_outputs, MODE_LABEL, steps), hint);
    return rt_fail(err, "%s:%" PRId64 ": %" PRId64 " column%s, expected %" PRId64 " (%s)%s", path, line, cols,
                   plural((uint64_t)cols), full, shape_text(a, sizeof a, n_inputs, n_outputs, MODE_TARGETS, steps),
                   hint);
}

/* The class a row of targets stands for: a one-hot row (n_outputs > 1) or a
 * 0/1 target (n_outputs == 1); -1 when it is neither. */
static int32_t class_of_targets(const float *t, int64_t n_outputs)
{
    if (n_outputs == 1)
        return t[0] == 0.0f ? 0 : t[0] == 1.0f ? 1 : -1;
    int32_t cls = -1;
    for (int64_t j = 0; j < n_outputs; j++) {
        if (t[j] == 1.0f && cls < 0)
            cls = (int32_t)j;
        else if (t[j] != 0.0f)
            return -1;
    }
    return cls;
}

static bool check_shape(const char *path, int64_t n_inputs, int64_t n_outputs, RtError *err)
{
    if (n_inputs < 1 || n_outputs < 1 || (uint64_t)n_inputs > MAX_VALUES || (uint64_t)n_outputs > MAX_VALUES
        || n_outputs > INT32_MAX)
        return rt_fail(err, "%s: the network's shape (%" PRId64 " inputs, %" PRId64 " outputs) is not usable",
                       path, n_inputs, n_outputs);
    return true;
}

static const RtCsvOptions csv_defaults = {RT_HEADER_AUTO, -1, 0};

/* The checks of rt_load_csv's arguments, before the file is opened. */
static bool csv_check_args(const char *path, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs,
                           RtError *err)
{
    if (!check_shape(path, n_inputs, n_outputs, err))
        return false;
    if (opt->label_col < -1)
        return rt_fail(err, "%s: label column %d is not a column (0-based, or -1 for the last)", path,
                       opt->label_col);
    if (opt->steps < 0 || (opt->steps > 1 && n_outputs % opt->steps != 0))
        return rt_fail(err, "%s: %" PRId64 " outputs are not %" PRId64 " steps of classes", path, n_outputs,
                       opt->steps);
    if (opt->steps > 1 && opt->label_col >= 0)
        return rt_fail(err, "%s: a sequence's labels are the last columns, one a step: a label column cannot be "
                       "chosen", path);
    return true;
}

/* Reads CSV from `in` (open, nothing read past its head) to its end; the
 * caller closes it.  The arguments are checked (csv_check_args). */
static bool csv_from(In *in, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                     RtData *out, RtError *err)
{
    const char *path = in->path;
    int64_t steps = opt->steps > 1 ? opt->steps : 1, classes = n_outputs / steps;   /* a step's */
    bool label_allowed = classify && classes > 1;
    Csv c;
    memset(&c, 0, sizeof c);
    c.in = in;
    Rows r;
    memset(&r, 0, sizeof r);
    bool ok = false, seen_row = false, labels_ok = classify;
    int64_t header_line = 0, mode_line = 0, label_at = -1;
    int mode = MODE_UNKNOWN;
    char *line;
    size_t len;
    int got;
    while ((got = csv_line(&c, &line, &len, err)) > 0) {
        if (c.line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {   /* a UTF-8 byte order mark */
            line += 3;
            len -= 3;
        }
        const char *nul = memchr(line, '\0', len);
        if (nul) {
            rt_fail(err, "%s:%" PRId64 ":%zu: a NUL byte: this is no CSV text (a binary file?), nor an IDX file, "
                    "whose first bytes are 00 00, a type code and its number of dimensions",
                    path, c.line, (size_t)(nul - line) + 1);
            goto done;
        }
        size_t k = 0;
        while (k < len && (is_blank(line[k]) || line[k] == '\r'))
            k++;
        if (k == len)
            continue;   /* blank lines are skipped */
        if (!seen_row) {
            seen_row = true;
            if (opt->header == RT_HEADER_YES || (opt->header == RT_HEADER_AUTO && row_has_text(line, len))) {
                header_line = c.line;
                continue;
            }
        }

        int64_t cols = count_columns(line, len);
        if (mode == MODE_UNKNOWN) {
            if (cols == n_inputs + n_outputs) {
                mode = MODE_TARGETS;
                if (opt->label_col >= 0) {   /* a column named that this file's rows do not have */
                    rt_fail(err, "%s:%" PRId64 ": --label-col %d is for rows of inputs and one class label; these "
                            "rows hold the network's %" PRId64 " inputs and its %" PRId64 " target value%s, which "
                            "come last: drop --label-col",
                            path, c.line, opt->label_col, n_inputs, n_outputs, n_outputs == 1 ? "" : "s");
                    goto done;
                }
            } else if (label_allowed && cols == n_inputs + steps) {
                mode = MODE_LABEL;
                label_at = opt->label_col < 0 ? cols - steps : opt->label_col;
                if (label_at >= cols) {
                    rt_fail(err, "%s:%" PRId64 ": label column %d (0-based) is beyond the row's %" PRId64
                            " columns",
                            path, c.line, opt->label_col, cols);
                    goto done;
                }
            } else {
                columns_error(err, path, c.line, line, len, cols, n_inputs, n_outputs, label_allowed, mode, 0,
                              steps);
                goto done;
            }
            mode_line = c.line;
        } else if (cols != (mode == MODE_LABEL ? n_inputs + steps : n_inputs + n_outputs)) {
            columns_error(err, path, c.line, line, len, cols, n_inputs, n_outputs, label_allowed, mode, mode_line,
                          steps);
            goto done;
        }
        if (!rows_grow(&r, n_inputs, n_outputs, classify, steps)) {
            if ((uint64_t)(r.n + 1) * (uint64_t)(n_inputs > n_outputs ? n_inputs : n_outputs) > MAX_VALUES)
                rt_fail(err, "%s:%" PRId64 ": too much data: more than 2^31 values", path, c.line);
            else
                rt_fail(err, "%s:%" PRId64 ": out of memory after %" PRId64 " rows", path, c.line, r.n);
            goto done;
        }

        float *x = r.x + r.n * n_inputs, *t = r.t + r.n * n_outputs;
        char *p = line, *end = line + len;
        int64_t xi = 0;
        for (int64_t i = 0; i < cols; i++) {
            size_t n;
            char *s = next_field(&p, end, &n);
            size_t col = (size_t)(s - line) + 1;
            double v = 0;
            int code = parse_number(s, n, &v);
            bool is_label = mode == MODE_LABEL && i >= label_at && i < label_at + steps;
            if (code != NUM_OK && !(is_label && code == NUM_RANGE)) {
                field_error(err, path, c.line, col, code, s, n);
                goto done;
            }
            if (is_label) {
                char text[200];
                if (code == NUM_OK && v != floor(v)) {
                    rt_fail(err, "%s:%" PRId64 ":%zu: label %s is not a whole class number", path, c.line, col,
                            show_number(text, sizeof text, s, n));
                    goto done;
                }
                if (code != NUM_OK || v < 0 || v >= (double)classes) {
                    rt_fail(err, "%s:%" PRId64 ":%zu: label %s is outside the network's %" PRId64
                            " classes (0..%" PRId64 ")",
                            path, c.line, col, show_number(text, sizeof text, s, n), classes, classes - 1);
                    goto done;
                }
                int32_t cls = (int32_t)v;
                int64_t st = i - label_at;   /* the step of this label */
                for (int64_t j = 0; j < classes; j++)
                    t[st * classes + j] = j == cls ? 1.0f : 0.0f;
                r.label[r.n * steps + st] = cls;
            } else if (mode == MODE_TARGETS && i >= n_inputs) {
                t[i - n_inputs] = (float)v;
            } else {
                x[xi++] = (float)v;
            }
        }
        for (int64_t st = 0; mode == MODE_TARGETS && labels_ok && st < steps; st++) {
            int32_t cls = class_of_targets(t + st * classes, classes);
            if (cls < 0)
                labels_ok = false;
            else
                r.label[r.n * steps + st] = cls;
        }
        r.n++;
    }
    if (got < 0)
        goto done;
    if (r.n == 0) {
        if (header_line)
            rt_fail(err, "%s:%" PRId64 ": a header and no data rows", path, header_line);
        else if (c.in->pos == 0)
            rt_fail(err, "%s: the file is empty", path);
        else
            rt_fail(err, "%s: no data rows, only blank lines", path);
        goto done;
    }
    out->source = dup_string(path);
    if (!out->source) {
        rt_fail(err, "%s: out of memory", path);
        goto done;
    }
    out->n = r.n;
    out->n_inputs = n_inputs;
    out->n_outputs = n_outputs;
    out->x = r.x;
    out->t = r.t;
    out->steps = steps;
    if (labels_ok) {
        out->label = r.label;
    } else {
        free(r.label);
    }
    memset(&r, 0, sizeof r);
    ok = true;
done:
    rows_free(&r);
    free(c.buf);
    return ok;
}

bool rt_load_csv(const char *path, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                 RtData *out, RtError *err)
{
    if (!opt)
        opt = &csv_defaults;
    memset(out, 0, sizeof *out);
    if (!path)
        return rt_fail(err, "no CSV file given");
    if (!csv_check_args(path, opt, n_inputs, n_outputs, err))
        return false;
    In in;
    if (!in_open(&in, path, err))
        return false;
    bool ok = csv_from(&in, opt, n_inputs, n_outputs, classify, out, err);
    in_close(&in);
    return ok;
}

/* ---- IDX ---- */

static const char *idx_type_name(int code)
{
    switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "not an IDX type";
    }
}

/* A read failure at uncompressed byte `at`: corrupt gzip data (named by its
 * compressed offset), a read error, or gzip data cut short (then `ended`
 * says what the cut lost, if not NULL). */
static bool idx_read_error(In *in, uint64_t at, const char *ended, RtError *err)
{
    if (in->corrupt_at >= 0)
        return rt_fail(err, "%s: compressed byte %" PRId64 ": %s", in->path, in->corrupt_at, in->why);
    if (in->truncated && ended)
        return rt_fail(err, "%s: byte %" PRIu64 ": %s; %s", in->path, at, ended, in->why);
    return rt_fail(err, "%s: byte %" PRIu64 ": %s", in->path, at, in->why);
}

/* Whether the file starts like an IDX file: 0x00 0x00, a type code, at
 * least one dimension. */
static bool in_is_idx(const In *in)
{
    const unsigned char *h = in->head;
    return in->head_len == HEAD && h[0] == 0 && h[1] == 0 && strcmp(idx_type_name(h[2]), "not an IDX type") != 0
           && h[3] >= 1;
}

/* Reads the header of an IDX file of unsigned bytes with `n_dims` dimensions
 * (what: "images" or "labels") from `in` (open, nothing read past its head)
 * into dims. */
static bool idx_header(In *in, int n_dims, const char *what, uint32_t dims[3], RtError *err)
{
    const char *path = in->path;
    unsigned char h[16];
    size_t need = 4 + 4 * (size_t)n_dims, got;
    bool ok = in_read(in, h, 4, &got);
    if (!ok)
        return idx_read_error(in, got, NULL, err);
    if (got == 0)
        return rt_fail(err, "%s: byte 0: the file is empty", path);
    if (got >= 2 && (h[0] != 0 || h[1] != 0)) {
        if (gzdirect(in->gz))
            return rt_fail(err, "%s: byte 0: not gzip-compressed and not an IDX file (it starts with 0x%02x 0x%02x;"
                           " IDX starts with 0x00 0x00, gzip with 0x1f 0x8b)",
                           path, h[0], h[1]);
        return rt_fail(err, "%s: byte 0: wrong IDX magic: the uncompressed data starts with 0x%02x 0x%02x, expected"
                       " 0x00 0x00",
                       path, h[0], h[1]);
    }
    if (got < 4)
        return rt_fail(err, "%s: byte %zu: the file ends inside the IDX header (after %zu of %zu bytes)", path, got,
                       got, need);
    if (h[2] != 0x08)
        return rt_fail(err, "%s: byte 2: type code 0x%02x (%s), expected 0x08 (unsigned byte)", path, h[2],
                       idx_type_name(h[2]));
    if (h[3] != n_dims) {
        const char *hint = n_dims == 3 && h[3] == 1   ? "; is this a labels file?"
                           : n_dims == 1 && h[3] == 3 ? "; is this an images file?"
                                                      : "";
        return rt_fail(err, "%s: byte 3: %d dimension%s, expected %d for %s file (%s)%s", path, h[3],
                       plural(h[3]), n_dims, n_dims == 3 ? "an images" : "a labels",
                       n_dims == 3 ? "count, rows, columns" : "count", hint);
    }
    ok = in_read(in, h + 4, need - 4, &got);
    if (!ok)
        return idx_read_error(in, 4 + got, NULL, err);
    if (got < need - 4)
        return rt_fail(err, "%s: byte %zu: the file ends inside the IDX header (after %zu of %zu bytes)", path,
                       4 + got, 4 + got, need);
    for (int d = 0; d < n_dims; d++) {
        const unsigned char *b = h + 4 + 4 * d;
        dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    }
    if (dims[0] == 0)
        return rt_fail(err, "%s: byte 4: the file holds no %s", path, what);
    return true;
}

/* After the data: the file must end here. */
static bool idx_check_end(In *in, uint32_t count, const char *what, RtError *err)
{
    unsigned char extra;
    size_t got;
    uint64_t at = in->pos;
    if (!in_read(in, &extra, 1, &got))
        return idx_read_error(in, at, NULL, err);
    if (got != 0)
        return rt_fail(err, "%s: byte %" PRIu64 ": more data after the %" PRIu32 " %s the header announces",
                       in->path, at, count, what);
    return true;
}

/* The checks of rt_load_idx's arguments, before a file is opened. */
static bool idx_check_args(const char *images_path, const char *labels_path, int64_t n_inputs, int64_t n_outputs,
                           RtError *err)
{
    /* images only: n_outputs is not used (no targets are made) */
    return check_shape(images_path, n_inputs, labels_path ? n_outputs : 1, err);
}

/* Reads IDX images from `im` (open, nothing read past its head) to its end,
 * and their labels from labels_path (NULL: the images only); the caller
 * closes `im`.  The arguments are checked (idx_check_args). */
static bool idx_from(In *im, const char *labels_path, int64_t n_inputs, int64_t n_outputs, RtData *out,
                     RtError *err)
{
    const char *images_path = im->path;
    bool images_only = labels_path == NULL;   /* targets are set by the caller, e.g. rt_data_target_input */
    In lb;
    memset(&lb, 0, sizeof lb);
    uint32_t idims[3] = {0, 0, 0}, ldims[3] = {0, 0, 0};
    float *x = NULL, *t = NULL;
    int32_t *label = NULL;
    unsigned char *chunk = NULL;
    bool ok = false;

    if (!idx_header(im, 3, "images", idims, err))
        goto done;
    uint32_t count = idims[0];
    uint64_t size = (uint64_t)idims[1] * idims[2];
    if (size != (uint64_t)n_inputs) {
        rt_fail(err, "%s: byte 8: the images are %" PRIu32 "x%" PRIu32 " (%" PRIu64 " values), but the network has %"
                PRId64 " input%s",
                images_path, idims[1], idims[2], size, n_inputs, plural((uint64_t)n_inputs));
        goto done;
    }
    if ((uint64_t)count * size > MAX_VALUES || (!images_only && (uint64_t)count * (uint64_t)n_outputs > MAX_VALUES)) {
        rt_fail(err, "%s: byte 4: %" PRIu32 " images of %" PRIu64 " values is more than the limit of 2^31 values",
                images_path, count, size);
        goto done;
    }
    if (!images_only && !(in_open(&lb, labels_path, err) && idx_header(&lb, 1, "labels", ldims, err)))
        goto done;
    if (!images_only && ldims[0] != count) {
        rt_fail(err, "%s: byte 4: %" PRIu32 " label%s, but %s has %" PRIu32 " image%s", labels_path, ldims[0],
                plural(ldims[0]), images_path, count, plural(count));
        goto done;
    }

    chunk = malloc(CHUNK);
    if (!chunk) {
        rt_fail(err, "%s: out of memory", images_path);
        goto done;
    }

    /* The images, a chunk at a time, scaled to [0, 1].  x grows with the
     * data read, so a header that promises more than the file holds costs
     * no more memory than the file. */
    uint64_t total = (uint64_t)count * size, done_values = 0, cap = 0;
    while (done_values < total) {
        size_t want = total - done_values < CHUNK ? (size_t)(total - done_values) : CHUNK, got;
        if (done_values + want > cap) {
            uint64_t new_cap = cap ? cap * 2 : (uint64_t)1 << 20;
            if (new_cap > total)
                new_cap = total;
            size_t bytes;
            float *grown = NULL;
            if (new_cap <= SIZE_MAX && mul_size((size_t)new_cap, sizeof *x, &bytes))
                grown = realloc(x, bytes);
            if (!grown) {
                rt_fail(err, "%s: out of memory for %" PRIu32 " images of %" PRIu64 " values", images_path, count,
                        size);
                goto done;
            }
            x = grown;
            cap = new_cap;
        }
        uint64_t at = im->pos;
        bool read_ok = in_read(im, chunk, want, &got);
        for (size_t i = 0; i < got; i++)
            x[done_values + i] = (float)chunk[i] / 255.0f;
        done_values += got;
        if (!read_ok || got < want) {
            char ended[128];
            snprintf(ended, sizeof ended, "the file ends after %" PRIu64 " of %" PRIu32 " image%s",
                     done_values / size, count, plural(count));
            if (!read_ok)
                idx_read_error(im, at + got, ended, err);
            else
                rt_fail(err, "%s: byte %" PRIu64 ": %s", images_path, at + got, ended);
            goto done;
        }
    }
    if (!idx_check_end(im, count, "images", err))
        goto done;
    if (images_only) {
        n_outputs = 0;
        goto finish;
    }

    /* The labels. */
    t = alloc_floats((uint64_t)count * (uint64_t)n_outputs);
    size_t label_bytes;
    if (mul_size(count, sizeof *label, &label_bytes))
        label = malloc(label_bytes);
    if (!t || !label) {
        rt_fail(err, "%s: out of memory for %" PRIu32 " labels", labels_path, count);
        goto done;
    }
    uint32_t n_labels = 0;
    while (n_labels < count) {
        size_t want = count - n_labels < CHUNK ? (size_t)(count - n_labels) : CHUNK, got;
        uint64_t at = lb.pos;
        bool read_ok = in_read(&lb, chunk, want, &got);
        for (size_t i = 0; i < got; i++) {
            unsigned v = chunk[i];
            bool in_range = n_outputs == 1 ? v <= 1 : (int64_t)v < n_outputs;
            if (!in_range) {
                if (n_outputs == 1)
                    rt_fail(err, "%s: byte %" PRIu64 ": label %u is not 0 or 1 (the network has 1 output)",
                            labels_path, at + i, v);
                else
                    rt_fail(err, "%s: byte %" PRIu64 ": label %u is outside the network's %" PRId64
                            " classes (0..%" PRId64 ")",
                            labels_path, at + i, v, n_outputs, n_outputs - 1);
                goto done;
            }
            float *row = t + (uint64_t)(n_labels + i) * (uint64_t)n_outputs;
            if (n_outputs == 1) {
                row[0] = (float)v;
            } else {
                for (int64_t j = 0; j < n_outputs; j++)
                    row[j] = j == (int64_t)v ? 1.0f : 0.0f;
            }
            label[n_labels + i] = (int32_t)v;
        }
        n_labels += (uint32_t)got;
        if (!read_ok || got < want) {
            char ended[128];
            snprintf(ended, sizeof ended, "the file ends after %" PRIu32 " of %" PRIu32 " label%s", n_labels, count,
                     plural(count));
            if (!read_ok)
                idx_read_error(&lb, at + got, ended, err);
            else
                rt_fail(err, "%s: byte %" PRIu64 ": %s", labels_path, at + got, ended);
            goto done;
        }
    }
    if (!idx_check_end(&lb, count, "labels", err))
        goto done;

finish:
    out->source = dup_string(images_path);
    if (!out->source) {
        rt_fail(err, "%s: out of memory", images_path);
        goto done;
    }
    out->n = count;
    out->n_inputs = n_inputs;
    out->n_outputs = n_outputs;
    out->image_c = 1;
    out->image_h = idims[1];
    out->image_w = idims[2];
    out->x = x;
    out->t = t;
    out->label = label;
    x = NULL;
    t = NULL;
    label = NULL;
    ok = true;
done:
    free(x);
    free(t);
    free(label);
    free(chunk);
    in_close(&lb);
    return ok;
}

bool rt_load_idx(const char *images_path, const char *labels_path, int64_t n_inputs, int64_t n_outputs,
                 RtData *out, RtError *err)
{
    memset(out, 0, sizeof *out);
    if (!images_path)
        return rt_fail(err, "no IDX images file given");
    if (!idx_check_args(images_path, labels_path, n_inputs, n_outputs, err))
        return false;
    In im;
    if (!in_open(&im, images_path, err))
        return false;
    bool ok = idx_from(&im, labels_path, n_inputs, n_outputs, out, err);
    in_close(&im);
    return ok;
}


/* MNIST's naming: "...images...idx3..." beside "...labels...idx1...", in the
 * file's name (not its directory). */
char *rt_idx_labels_path(const char *images_path)
{
    if (!images_path)
        return NULL;
    const char *slash = strrchr(images_path, '/');
    const char *base = slash ? slash + 1 : images_path;
    const char *images = NULL;
    for (const char *p = strstr(base, "images"); p; p = strstr(p + 1, "images"))
        images = p;
    if (!images)
        return NULL;
    char *idx3 = strstr(images + 6, "idx3");
    if (!idx3)
        return NULL;
    char *labels = dup_string(images_path);
    if (!labels)
        return NULL;
    memcpy(labels + (images - images_path), "labels", 6);
    labels[idx3 - images_path + 3] = '1';
    return labels;
}

void rt_data_free(RtData *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->t);
    free(d->label);
    free(d->source);
    memset(d, 0, sizeof *d);
}

bool rt_data_target_input(RtData *d, RtError *err)
{
    float *t = NULL;
    if (d->n > 0) {
        size_t bytes;
        if (!mul_size((size_t)d->n, (size_t)d->n_inputs, &bytes) || !mul_size(bytes, sizeof *t, &bytes) ||
            !(t = malloc(bytes)))
            return rt_fail(err, "%s: out of memory for the targets", d->source ? d->source : "data");
        memcpy(t, d->x, bytes);
    }
    free(d->t);
    free(d->label);
    d->t = t;
    d->label = NULL;
    d->n_outputs = d->n_inputs;
    return true;
}

/* ---- a data file, opened once ---- */

struct RtDataFile {
    In in;
    char *path;                  /* in.path points here */
    bool read;                   /* a loader has read it */
};

RtDataFile *rt_data_open(const char *path, RtError *err)
{
    if (!path) {
        rt_fail(err, "no data file given");
        return NULL;
    }
    RtDataFile *f = calloc(1, sizeof *f);
    char *copy = dup_string(path);
    if (!f || !copy) {
        free(f);
        free(copy);
        rt_fail(err, "%s: out of memory", path);
        return NULL;
    }
    f->path = copy;
    if (!in_open(&f->in, f->path, err)) {
        free(copy);
        free(f);
        return NULL;
    }
    return f;
}

bool rt_data_is_idx(const RtDataFile *f)
{
    return f && in_is_idx(&f->in);
}

void rt_data_close(RtDataFile *f)
{
    if (!f)
        return;
    in_close(&f->in);
    free(f->path);
    free(f);
}

/* Before a loader reads f: out zeroed, and f not read yet. */
static bool data_unread(RtDataFile *f, RtData *out, RtError *err)
{
    memset(out, 0, sizeof *out);
    if (!f)
        return rt_fail(err, "no data file given");
    if (f->read)
        return rt_fail(err, "%s: already read (a data file is read once, front to back)", f->path);
    return true;
}

bool rt_data_read_csv(RtDataFile *f, const RtCsvOptions *opt, int64_t n_inputs, int64_t n_outputs, bool classify,
                      RtData *out, RtError *err)
{
    if (!opt)
        opt = &csv_defaults;
    if (!data_unread(f, out, err) || !csv_check_args(f->path, opt, n_inputs, n_outputs, err))
        return false;
    f->read = true;
    return csv_from(&f->in, opt, n_inputs, n_outputs, classify, out, err);
}

bool rt_data_read_idx(RtDataFile *f, const char *labels_path, int64_t n_inputs, int64_t n_outputs, RtData *out,
                      RtError *err)
{
    if (!data_unread(f, out, err) || !idx_check_args(f->path, labels_path, n_inputs, n_outputs, err))
        return false;
    f->read = true;
    return idx_from(&f->in, labels_path, n_inputs, n_outputs, out, err);
}

bool rt_is_idx(const char *path)
{
    RtError ignored;
    RtDataFile *f = path ? rt_data_open(path, &ignored) : NULL;
    bool idx = rt_data_is_idx(f);
    rt_data_close(f);
    return idx;
}

bool rt_load_data(const char *path, const char *labels_path, const RtCsvOptions *opt, int64_t n_inputs,
                  int64_t n_outputs, bool classify, const char *labels_hint, RtData *out, RtError *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return rt_fail(err, "no data file given");
    if (!check_shape(path, n_inputs, n_outputs, err))
        return false;
    RtDataFile *f = rt_data_open(path, err);
    if (!f)
        return false;
    const char *hint = labels_hint ? labels_hint : "give the labels file";
    char *guess = NULL;
    bool ok;
    bool idx = rt_data_is_idx(f);
    if (!idx && labels_path)   /* (said, not ignored) */
        ok = rt_fail(err, "%s: a CSV file, whose rows hold their labels: a labels file (%s) is for IDX images", path,
                     labels_path);
    else if (!idx)
        ok = rt_data_read_csv(f, opt, n_inputs, n_outputs, classify, out, err);
    else if (opt && (opt->label_col >= 0 || opt->header != RT_HEADER_AUTO))   /* (said, not ignored) */
        ok = rt_fail(err, "%s: an IDX file: %s", path,
                     opt->label_col >= 0 ? "--label-col is for CSV files (IDX labels are a file of their own)"
                                         : "--header is for CSV files (IDX files have no header row)");
    else if (labels_path)
        ok = rt_data_read_idx(f, labels_path, n_inputs, n_outputs, out, err);
    else if ((guess = rt_idx_labels_path(path)) != NULL)
        ok = rt_data_read_idx(f, guess, n_inputs, n_outputs, out, err);
    else if (!f->in.regular)   /* /dev/stdin, /dev/fd/63 (a process substitution), ... */
        ok = rt_fail(err, "%s: cannot tell where its labels are (IDX images from a pipe have no file name to find "
                     "them by); %s", path, hint);
    else
        ok = rt_fail(err, "%s: cannot tell where its labels are (the name does not follow MNIST's "
                     "'...-images-idx3-ubyte'); %s", path, hint);
    free(guess);
    rt_data_close(f);
    return ok;
}

/* ---- text for language models ---- */

/* One side of the split: windows of `steps` bytes from text[0 .. len), the
 * targets the bytes one further on. */
static bool text_windows(const char *path, const unsigned char *text, size_t len, int64_t steps, int64_t vocab,
                         RtData *out, RtError *err)
{
    memset(out, 0, sizeof *out);
    int64_t n = len > 0 ? (int64_t)((len - 1) / (size_t)steps) : 0;
    size_t values;
    if (!mul_size((size_t)n, (size_t)steps, &values) || values > MAX_VALUES)
        return rt_fail(err, "%s: too much text: more than 2^31 steps", path);
    out->x = alloc_floats(values ? values : 1);
    out->label = malloc((values ? values : 1) * sizeof *out->label);
    out->source = dup_string(path);
    if (!out->x || !out->label || !out->source) {
        rt_data_free(out);
        return rt_fail(err, "%s: out of memory for %" PRId64 " windows of text", path, n);
    }
    for (size_t i = 0; i < values; i++) {
        out->x[i] = (float)text[i];
        out->label[i] = (int32_t)text[i + 1];
    }
    out->n = n;
    out->n_inputs = steps;
    out->n_outputs = steps * vocab;
    out->steps = steps;
    return true;
}

bool rt_load_text(const char *path, int64_t steps, int64_t vocab, double holdout, RtData *train, RtData *valid,
                  RtError *err)
{
    memset(train, 0, sizeof *train);
    if (valid)
        memset(valid, 0, sizeof *valid);
    if (!path)
        return rt_fail(err, "no text file given");
    if (steps < 1 || vocab < 1 || vocab > 1 << 20 || !(holdout >= 0 && holdout < 1) || (holdout > 0 && !valid))
        return rt_fail(err, "%s: cannot cut text into windows of %" PRId64 " steps for %" PRId64 " ids", path, steps,
                       vocab);
    In in;
    if (!in_open(&in, path, err))
        return false;
    size_t len = 0, cap = 1 << 16;
    unsigned char *text = malloc(cap);
    bool ok = text != NULL;
    while (ok) {
        if (len == cap) {
            if (cap >= MAX_VALUES) {
                ok = rt_fail(err, "%s: too much text: more than 2 GiB", path);
                break;
            }
            unsigned char *bigger = realloc(text, cap * 2);
            if (!bigger) {
                ok = rt_fail(err, "%s: out of memory after %zu bytes", path, len);
                break;
            }
            text = bigger, cap *= 2;
        }
        size_t got;
        if (!in_read(&in, text + len, cap - len, &got)) {
            ok = rt_fail(err, "%s: after %zu bytes: %s", path, len + got, in.why);
            break;
        }
        len += got;
        if (got < cap - len + got)   /* the end of the data */
            break;
    }
    in_close(&in);
    if (!text)
        return rt_fail(err, "%s: out of memory", path);
    if (ok) {
        int64_t line = 1, col = 1;
        for (size_t i = 0; i < len; i++) {
            if (text[i] >= vocab) {
                ok = rt_fail(err, "%s:%" PRId64 ":%" PRId64 ": byte 0x%02x (%u) is not one of the network's %" PRId64
                             " ids (0..%" PRId64 "): its embed and its output have %" PRId64 " ids",
                             path, line, col, text[i], text[i], vocab, vocab - 1, vocab);
                break;
            }
            if (text[i] == '\n')
                line++, col = 1;
            else
                col++;
        }
    }
    size_t held = ok ? (size_t)((double)len * holdout) : 0, kept = len - held;
    if (ok && (kept < (size_t)steps + 1 || (holdout > 0 && held < (size_t)steps + 1))) {
        size_t need = (size_t)steps + 1;   /* the shortest text that has a window in each part */
        if (holdout > 0) {
            need = (size_t)((double)(steps + 1) / holdout);
            while ((size_t)((double)need * holdout) < (size_t)steps + 1 || need - (size_t)((double)need * holdout) <
                   (size_t)steps + 1)
                need++;
        }
        ok = rt_fail(err, "%s: %zu byte%s: too short for windows of %" PRId64 " steps (each needs %" PRId64
                     " bytes%s; the text needs at least %zu)", path, len, len == 1 ? "" : "s", steps, steps + 1,
                     holdout > 0 ? ", in the training part and in the held-out part" : "", need);
    }
    ok = ok && text_windows(path, text, kept, steps, vocab, train, err);
    if (ok && holdout > 0 && !text_windows(path, text + kept, held, steps, vocab, valid, err)) {
        rt_data_free(train);
        ok = false;
    }
    free(text);
    return ok;
}

bool rt_data_check_ids(const RtData *d, int64_t vocab, RtError *err)
{
    for (int64_t s = 0; s < d->n; s++)
        for (int64_t i = 0; i < d->n_inputs; i++) {
            float v = d->x[s * d->n_inputs + i];
            if (!(v >= 0.0f && v < (float)vocab && v == floorf(v)))
                return rt_fail(err, "%s: sample %" PRId64 ", step %" PRId64 ": %g is not an id of the network's "
                               "embed layer (a whole number from 0 to %" PRId64 ")", d->source ? d->source : "data",
                               s + 1, i + 1, (double)v, vocab - 1);
        }
    return true;
}
