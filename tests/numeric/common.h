/* common.h — shared by the numeric test drivers (gradcheck.c, optim.c).
 *
 * Each driver is generic: it is compiled once per network with -DNET=name
 * and `-include` of the header nnc generated, and reaches the network's API
 * by token pasting: API(_backward) is name_backward, NET is the struct type.
 * What a driver must know about the network beyond the API (its loss, its
 * optimizer) it reads from the .nn file itself, so the .nn file stays the
 * one place where a test network is described. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NET
#error "compile with -DNET=name -include name.h"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(suffix) CAT(NET, suffix)
#define STR_(x) #x
#define STR(x) STR_(x)
#define NET_NAME STR(NET)

/* ---- deterministic random numbers (splitmix64), independent of nnc's ---- */

static uint64_t rng_state = UINT64_C(0x1234567887654321);

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static double urand(double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- reading a network's statements from the .nn file ---- */

enum { NN_LINE = 256 };   /* longest statement kept */

/* Copies the statements of network `net` in the file `path`, in order, into
 * lines[max] (comments stripped, trimmed, keyword first; not the `network`
 * line and its braces) and returns how many there are, at most max; -1 when
 * the file or the network cannot be found.  Good enough for the test files,
 * which keep one statement a line and the braces on the network's line or
 * their own. */
static int nn_statements(const char *path, const char *net, char (*lines)[NN_LINE], int max)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int in_net = 0, found_net = 0, count = 0;
    size_t nlen = strlen(net);

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *hash = strchr(line, '#'), *end;
        if (hash)
            *hash = '\0';
        while (isspace((unsigned char)*p))
            p++;
        end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!in_net) {
            if (strncmp(p, "network", 7) == 0 && isspace((unsigned char)p[7])) {
                p += 8;
                while (isspace((unsigned char)*p))
                    p++;
                if (strncmp(p, net, nlen) == 0 && (p[nlen] == '\0' || p[nlen] == '{' || isspace((unsigned char)p[nlen])))
                    in_net = found_net = 1;
            }
            continue;
        }
        if (*p == '}')
            break;
        if (*p == '\0' || *p == '{')
            continue;
        if (count < max) {   /* truncated to NN_LINE - 1 characters */
            size_t len = strlen(p) < NN_LINE - 1 ? strlen(p) : NN_LINE - 1;
            memcpy(lines[count], p, len);
            lines[count++][len] = '\0';
        }
    }
    fclose(f);
    return found_net ? count : -1;
}

/* Copies into out[cap] the arguments of the first statement `kw` of network
 * `net` in the file `path` (comments stripped, trimmed) and returns 1; returns
 * 0 when the network has no such statement, -1 when the file or the network
 * cannot be found. */
static int nn_statement(const char *path, const char *net, const char *kw, char *out, size_t cap)
{
    static char lines[64][NN_LINE];
    int n = nn_statements(path, net, lines, 64);
    size_t klen = strlen(kw);

    for (int i = 0; i < n; i++) {
        const char *p = lines[i];
        if (strncmp(p, kw, klen) == 0 && (p[klen] == '\0' || isspace((unsigned char)p[klen]))) {
            p += klen;
            while (isspace((unsigned char)*p))
                p++;
            snprintf(out, cap, "%s", p);
            return 1;
        }
    }
    return n < 0 ? -1 : 0;
}

/* ---- reporting: details go to stdout, the exit status is the verdict ---- */

static int failures;

static void failf(const char *fmt, ...)
#if defined __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void failf(const char *fmt, ...)
{
    va_list ap;
    if (++failures > 20)   /* enough to diagnose; keep the report short */
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}
