/* buf.c — a growable text buffer, used to build emitted code and IR text in
 * memory so that nothing is written to disk unless the whole compile works. */
#include "nnc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool buf_reserve(Buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_puts(Buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* The shortest decimal that reads back as the same float, as a C float
 * literal: 0.5 -> "0.5f", 1 -> "1.0f", 0.1 -> "0.1f", 1e-8 -> "9.99999994e-09f"
 * style only when needed.  Deterministic, so emitted code is byte-stable. */
const char *fmt_float(char out[32], double v)
{
    float f = (float)v;
    if (isnan(f))
        return strcpy(out, "(0.0f / 0.0f)");
    if (isinf(f))
        return strcpy(out, f > 0 ? "HUGE_VALF" : "-HUGE_VALF");
    if (f == floorf(f) && fabsf(f) < 1e7f) {
        snprintf(out, 24, "%.1f", (double)f);   /* 100 -> "100.0", not "1e+02" */
    } else {
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(out, 24, "%.*g", prec, (double)f);
            if (strtof(out, NULL) == f)
                break;
        }
    }
    if (!strpbrk(out, ".eEn"))
        strcat(out, ".0");
    strcat(out, "f");
    return out;
}
