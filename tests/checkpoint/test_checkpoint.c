/* test_checkpoint.c — weight files (runtime/checkpoint.c), with cmocka.
 *
 *   checkpoint             run every test
 *   checkpoint --list      print the test names, one a line (run.sh expects these)
 *   checkpoint PATTERN     run the tests whose name matches (cmocka's filter)
 *
 * Every test works in a fresh directory under $TMPDIR (or /tmp), removed
 * afterwards.  With NNC_CHECKPOINT_SAMPLE set, test python_sample writes a
 * small file there for run.sh to read with the Python snippet of
 * docs/weights-format.md. */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nnc_rt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[1024];   /* this test's directory */

/* ---- helpers ---- */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[2048];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int dir_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nnc-checkpoint-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
    (void)state;
    remove_tree(dir);
    return 0;
}

#define CK_TEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

/* dir/name, in a static buffer (one per slot). */
static const char *in_dir(int slot, const char *name)
{
    static char paths[4][1200];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    return paths[slot];
}

static void write_bytes(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The file's bytes (caller frees), *n its size; NULL when it cannot be read. */
static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *p = malloc(cap);
    assert_non_null(p);
    size_t k;
    while ((k = fread(p + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            cap *= 2;
            p = realloc(p, cap);
            assert_non_null(p);
        }
    }
    fclose(f);
    *n = len;
    return p;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* Names of the temporary files ("NAME.tmp.*") in dir; returns their count
 * and, when `first` is not NULL, the first one's full path. */
static int count_tmp(const char *name, char *first, size_t cap)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.tmp.", name);
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            if (n == 0 && first)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

/* Number of entries in dir other than . and .. */
static int count_entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

enum { SENTINEL = 0xA5 };

/* Loading `path` must fail with exactly `msg`, leaving the array untouched. */
static void expect_refused(const char *path, uint64_t fp, int64_t n, const char *msg)
{
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    float *p = malloc(bytes);
    assert_non_null(p);
    memset(p, SENTINEL, bytes);
    RtError err;
    strcpy(err.msg, "(no message)");
    bool ok = rt_load_weights(path, fp, p, n, &err);
    if (ok)
        fail_msg("loading %s succeeded; expected: %s", path, msg);
    if (msg && strcmp(err.msg, msg) != 0)
        fail_msg("message\n      got: %s\n expected: %s", err.msg, msg);
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char *)p)[i] != SENTINEL)
            fail_msg("a refused load changed the caller's array (byte %zu)", i);
    free(p);
}

/* A valid file of n parameters made by hand (not by rt_save_weights), with
 * params[i] = i + 0.5 and `version` in its header; returns its size. */
static size_t make_file(unsigned char *buf, uint32_t version, uint64_t fp, uint64_t n)
{
    memcpy(buf, "NNCW", 4);
    put32(buf + 4, version);
    put64(buf + 8, fp);
    put64(buf + 16, n);
    for (uint64_t i = 0; i < n; i++)
        put32(buf + 24 + 4 * i, to_bits((float)i + 0.5f));
    put32(buf + 24 + 4 * n, rt_crc32(0, buf, 24 + 4 * n));
    return 28 + 4 * n;
}

#define FP UINT64_C(0x1234abcd5678ef90)

/* ---- rt_crc32 ---- */

static void crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(rt_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Incremental equals in one piece. */
    uint32_t c = rt_crc32(0, "1234", 4);
    assert_int_equal(rt_crc32(c, "56789", 5), 0xCBF43926u);
    assert_int_equal(rt_crc32(0, NULL, 0), 0);
    assert_int_equal(rt_crc32(0x12345678u, NULL, 0), 0x12345678u);
}

/* More than UINT_MAX bytes (zlib's length is an unsigned int): 4 GiB + 16
 * zero bytes from read-only anonymous pages.  The value is Python's
 * zlib.crc32 over the same bytes. */
static void crc32_over_4gib(void **state)
{
    (void)state;
    size_t len = ((size_t)1 << 32) + 16;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        skip();
    uint32_t c = rt_crc32(0, p, len);
    munmap(p, len);
    assert_int_equal(c, 0xc9eff1bdu);
}

/* ---- the bytes on disk ---- */

/* Little-endian whatever the host: the exact bytes, written out by hand
 * (the CRC from Python's zlib.crc32). */
static void exact_bytes(void **state)
{
    (void)state;
    static const unsigned char expected[] = {
        0x4e, 0x4e, 0x43, 0x57,                         /* "NNCW" */
        0x01, 0x00, 0x00, 0x00,                         /* version 1 */
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, /* fingerprint 0x0123456789abcdef */
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 4 parameters */
        0x00, 0x00, 0x80, 0x3f,                         /* 1.0f   0x3f800000 */
        0x00, 0x00, 0x20, 0xc0,                         /* -2.5f  0xc0200000 */
        0x00, 0x00, 0x00, 0x80,                         /* -0.0f  0x80000000 */
        0x01, 0x00, 0x00, 0x00,                         /* the smallest denormal */
        0x3c, 0x7a, 0x45, 0x51,                         /* CRC-32 0x51457a3c */
    };
    const float params[4] = {1.0f, -2.5f, -0.0f, from_bits(1)};
    const char *path = in_dir(0, "w.nnw");
    RtError err;
    if (!rt_save_weights(path, UINT64_C(0x0123456789abcdef), params, 4, &err))
        fail_msg("%s", err.msg);
    size_t n;
    unsigned char *got = read_bytes(path, &n);
    assert_non_null(got);
    assert_int_equal(n, sizeof expected);
    assert_memory_equal(got, expected, sizeof expected);
    free(got);
    /* And a hand-made file of the same bytes loads. */
    write_bytes(path, expected, sizeof expected);
    float back[4];
    if (!rt_load_weights(path, UINT64_C(0x0123456789abcdef), back, 4, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(back, params, sizeof params);
}

/* ---- round trips ---- */

static void round_trip_special_values(void **state)
{
    (void)state;
    const uint32_t bits[] = {
        0x00000000, 0x80000000,             /* +0, -0 */
        0x00000001, 0x80000001, 0x007fffff, /* denormals */
        0x00800000, 0x7f7fffff, 0xff7fffff, /* smallest normal, largest finite */
        0x7f800000, 0xff800000,             /* +inf, -inf */
        0x7fc00000, 0xffc00000,             /* quiet NaNs */
        0x7fc12345, 0xffd00001,             /* quiet NaNs with payloads */
        0x7f800001, 0x7fa5a5a5, 0xff800001, /* signalling NaNs */
        0x3f800000, 0x3eaaaaab, 0xc2f6e979, /* 1, 1/3, -123.456 */
    };
    enum { N = sizeof bits / sizeof bits[0] };
    float params[N], back[N];
    memcpy(params, bits, sizeof bits);
    memset(back, SENTINEL, sizeof back);
    const char *path = in_dir(0, "w.nnw");
    RtError err;
    if (!rt_save_weights(path, FP, params, N, &err))
        fail_msg("%s", err.msg);
    if (!rt_load_weights(path, FP, back, N, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < N; i++) {
        uint32_t b;
        memcpy(&b, &back[i], 4);
        if (b != bits[i])
            fail_msg("parameter %d: saved 0x%08x, loaded 0x%08x", i, bits[i], b);
    }
    /* The file holds the same bits, little-endian. */
    size_t n;
    unsigned char *got = read_bytes(path, &n);
    assert_non_null(got);
    assert_int_equal(n, 28 + 4 * N);
    for (int i = 0; i < N; i++) {
        const unsigned char *q = got + 24 + 4 * i;
        uint32_t b = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        assert_int_equal(b, bits[i]);
    }
    free(got);
}

/* A million random bit patterns (NaNs of every payload among them), across
 * many 64 KiB write and read chunks. */
static void round_trip_random_bits(void **state)
{
    (void)state;
    enum { N = 1000003 };
    float *params = malloc(N * sizeof(float)), *back = malloc(N * sizeof(float));
    assert_non_null(params);
    assert_non_null(back);
    RtRng rng;
    rt_rng_seed(&rng, 7);
    for (int i = 0; i < N; i++) {
        uint32_t b = (uint32_t)rt_rng_next(&rng);
        memcpy(&params[i], &b, 4);
    }
    memset(back, SENTINEL, N * sizeof(float));
    const char *path = in_dir(0, "w.nnw");
    RtError err;
    if (!rt_save_weights(path, FP, params, N, &err))
        fail_msg("%s", err.msg);
    if (!rt_load_weights(path, FP, back, N, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(back, params, N * sizeof(float));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 28 + 4 * (int64_t)N);
    free(params);
    free(back);
}

static void round_trip_no_params(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    RtError err;
    if (!rt_save_weights(path, FP, NULL, 0, &err))
        fail_msg("%s", err.msg);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 28);
    if (!rt_load_weights(path, FP, NULL, 0, &err))
        fail_msg("%s", err.msg);
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: holds 0 parameters, this network has 1", path);
    expect_refused(path, FP, 1, msg);
}

/* Saving over a file replaces it; nothing else is left in the directory. */
static void save_replaces(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    float a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, back[3];
    RtError err;
    if (!rt_save_weights(path, FP, a, 3, &err) || !rt_save_weights(path, FP, b, 3, &err))
        fail_msg("%s", err.msg);
    if (!rt_load_weights(path, FP, back, 3, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(back, b, sizeof b);
    assert_int_equal(count_entries(), 1);
}

/* mkstemp makes 0600 files; the saved file's mode follows the umask. */
static void mode_follows_umask(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    float a[1] = {1};
    RtError err;
    static const mode_t masks[] = {022, 027, 077, 0};
    mode_t old = umask(022);
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        umask(masks[i]);
        bool ok = rt_save_weights(path, FP, a, 1, &err);
        umask(old);
        if (!ok)
            fail_msg("%s", err.msg);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 07777) != (0666 & ~masks[i]))
            fail_msg("umask %03o: mode %03o, expected %03o", (unsigned)masks[i], (unsigned)(st.st_mode & 07777),
                     (unsigned)(0666 & ~masks[i]));
    }
}

/* ---- refusals, each with its message ---- */

static void load_missing(void **state)
{
    (void)state;
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: cannot open: No such file or directory", in_dir(0, "none.nnw"));
    expect_refused(in_dir(0, "none.nnw"), FP, 9, msg);
}

static void load_directory(void **state)
{
    (void)state;
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: cannot read: Is a directory", dir);
    expect_refused(dir, FP, 9, msg);
}

static void load_not_weight_file(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: not an nnc weight file", path);
    const char *text = "x,y\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14\n";
    write_bytes(path, (const unsigned char *)text, strlen(text));
    expect_refused(path, FP, 9, msg);
    write_bytes(path, (const unsigned char *)"NX", 2);      /* short, and not a prefix of the magic */
    expect_refused(path, FP, 9, msg);
    unsigned char buf[256];
    size_t n = make_file(buf, 1, FP, 9);
    buf[3] = 'w';                                           /* a valid file but for its magic */
    write_bytes(path, buf, n);
    expect_refused(path, FP, 9, msg);
}

/* A file cut anywhere before its header ends: "too short". */
static void load_too_short(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    make_file(buf, 1, FP, 9);
    for (size_t len = 0; len < 28; len++) {
        char msg[1300];
        snprintf(msg, sizeof msg, "%s: too short: %zu bytes, a weight file has at least 28", path, len);
        write_bytes(path, buf, len);
        expect_refused(path, FP, 9, msg);
    }
}

/* A file cut anywhere after its header: "truncated", with the sizes. */
static void load_truncated(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    size_t n = make_file(buf, 1, FP, 9);
    assert_int_equal(n, 64);
    for (size_t len = 28; len < n; len++) {
        char msg[1300];
        snprintf(msg, sizeof msg, "%s: truncated: %zu bytes, expected 64 for 9 parameters", path, len);
        write_bytes(path, buf, len);
        expect_refused(path, FP, 9, msg);
    }
}

static void load_unknown_version(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: unknown weight file version 2 (this nnc reads version 1)", path);
    write_bytes(path, buf, make_file(buf, 2, FP, 9));
    expect_refused(path, FP, 9, msg);
    /* Judged before the size: a later version may be laid out otherwise. */
    write_bytes(path, buf, 8);
    expect_refused(path, FP, 9, msg);
    snprintf(msg, sizeof msg, "%s: unknown weight file version 4294967295 (this nnc reads version 1)", path);
    write_bytes(path, buf, make_file(buf, UINT32_MAX, FP, 9));
    expect_refused(path, FP, 9, msg);
    snprintf(msg, sizeof msg, "%s: unknown weight file version 0 (this nnc reads version 1)", path);
    write_bytes(path, buf, make_file(buf, 0, FP, 9));
    expect_refused(path, FP, 9, msg);
}

static void load_checksum_mismatch(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    snprintf(msg, sizeof msg, "%s: corrupt: checksum mismatch", path);
    size_t n = make_file(buf, 1, FP, 9);
    buf[30] ^= 0x10;                        /* one bit of a parameter */
    write_bytes(path, buf, n);
    expect_refused(path, FP, 9, msg);
    buf[30] ^= 0x10;
    buf[n - 1] ^= 0x80;                     /* one bit of the CRC itself */
    write_bytes(path, buf, n);
    expect_refused(path, FP, 9, msg);
    /* The CRC is checked before the fingerprint: a damaged fingerprint is
     * corruption, not another network. */
    buf[n - 1] ^= 0x80;
    buf[9] ^= 0x01;
    write_bytes(path, buf, n);
    expect_refused(path, FP, 9, msg);
}

static void load_other_network(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    snprintf(msg, sizeof msg,
             "%s: weights for a different network (fingerprint 0x1234abcd5678ef90, this network 0x00000000000000ff)",
             path);
    write_bytes(path, buf, make_file(buf, 1, FP, 9));
    expect_refused(path, 0xff, 9, msg);
    /* Before the count: another network usually has another count too. */
    expect_refused(path, 0xff, 12, msg);
}

static void load_count_mismatch(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    write_bytes(path, buf, make_file(buf, 1, FP, 9));
    snprintf(msg, sizeof msg, "%s: holds 9 parameters, this network has 12", path);
    expect_refused(path, FP, 12, msg);
    snprintf(msg, sizeof msg, "%s: holds 9 parameters, this network has 8", path);
    expect_refused(path, FP, 8, msg);
    snprintf(msg, sizeof msg, "%s: holds 9 parameters, this network has 0", path);
    expect_refused(path, FP, 0, msg);
}

static void load_trailing_bytes(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    size_t n = make_file(buf, 1, FP, 9);
    memcpy(buf + n, "hello", 5);
    write_bytes(path, buf, n + 5);
    snprintf(msg, sizeof msg, "%s: trailing bytes: 69 bytes, expected 64 for 9 parameters", path);
    expect_refused(path, FP, 9, msg);
    /* Two files one after the other. */
    memcpy(buf + n, buf, n);
    write_bytes(path, buf, 2 * n);
    snprintf(msg, sizeof msg, "%s: trailing bytes: 128 bytes, expected 64 for 9 parameters", path);
    expect_refused(path, FP, 9, msg);
}

/* Parameter counts in the header that a careless loader would allocate or
 * overflow on.  The sanitizer build aborts on a huge allocation. */
static void load_huge_count(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char buf[256];
    char msg[1300];
    size_t n = make_file(buf, 1, FP, 9);

    put64(buf + 16, UINT64_C(1) << 40);
    write_bytes(path, buf, n);
    snprintf(msg, sizeof msg, "%s: truncated: 64 bytes, expected 4398046511132 for 1099511627776 parameters", path);
    expect_refused(path, FP, 9, msg);
    /* The caller's count alike: nothing is allocated for a file of another
     * size (the array is never written when loading fails). */
    float small[9];
    RtError err;
    assert_false(rt_load_weights(path, FP, small, (int64_t)1 << 40, &err));
    assert_string_equal(err.msg, msg);

    uint64_t largest = (UINT64_MAX - 28) / 4;           /* 28 + 4 n still fits in 64 bits */
    put64(buf + 16, largest);
    write_bytes(path, buf, n);
    snprintf(msg, sizeof msg, "%s: truncated: 64 bytes, expected 18446744073709551612 for %llu parameters", path,
             (unsigned long long)largest);
    expect_refused(path, FP, 9, msg);

    put64(buf + 16, largest + 1);
    write_bytes(path, buf, n);
    snprintf(msg, sizeof msg, "%s: truncated: 64 bytes, but its header claims %llu parameters", path,
             (unsigned long long)(largest + 1));
    expect_refused(path, FP, 9, msg);

    put64(buf + 16, UINT64_MAX);
    write_bytes(path, buf, n);
    snprintf(msg, sizeof msg, "%s: truncated: 64 bytes, but its header claims 18446744073709551615 parameters",
             path);
    expect_refused(path, FP, 9, msg);

    /* A count smaller than the file's: the CRC is looked for too early. */
    put64(buf + 16, 2);
    write_bytes(path, buf, n);
    snprintf(msg, sizeof msg, "%s: corrupt: checksum mismatch", path);
    expect_refused(path, FP, 2, msg);
}

static void bad_arguments(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    float a[1] = {1};
    RtError err;
    char msg[1300];
    assert_false(rt_save_weights(path, FP, a, -1, &err));
    snprintf(msg, sizeof msg, "%s: not saved: invalid parameter count -1", path);
    assert_string_equal(err.msg, msg);
    assert_false(rt_save_weights(path, FP, NULL, 3, &err));
    snprintf(msg, sizeof msg, "%s: not saved: invalid parameter count 3", path);
    assert_string_equal(err.msg, msg);
    assert_int_equal(count_entries(), 0);
    assert_true(rt_save_weights(path, FP, a, 1, &err));
    snprintf(msg, sizeof msg, "%s: not loaded: invalid parameter count -1", path);
    expect_refused(path, FP, -1, msg);
    assert_false(rt_save_weights("", FP, a, 1, &err));
    assert_string_equal(err.msg, "(empty file name): not saved: no file name");
    /* A NULL err is allowed. */
    assert_false(rt_load_weights(path, FP, a, -1, NULL));
    assert_false(rt_save_weights(path, FP, a, -1, NULL));
}

/* Every single-bit flip and every whole-byte flip of a small file is
 * refused, with the message its position calls for. */
static void every_flip_refused(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    unsigned char good[256], buf[256];
    size_t n = make_file(good, 1, FP, 3);
    assert_int_equal(n, 40);
    char not_nnc[1300], version[1300], corrupt[1300], truncated[1300];
    snprintf(not_nnc, sizeof not_nnc, "%s: not an nnc weight file", path);
    snprintf(version, sizeof version, "%s: unknown weight file version", path);
    snprintf(corrupt, sizeof corrupt, "%s: corrupt: checksum mismatch", path);
    snprintf(truncated, sizeof truncated, "%s: truncated: 40 bytes", path);
    static const unsigned masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
    int refused = 0;
    for (size_t at = 0; at < n; at++)
        for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
            memcpy(buf, good, n);
            buf[at] ^= (unsigned char)masks[m];
            write_bytes(path, buf, n);
            float p[3] = {-7, -7, -7};
            RtError err;
            if (rt_load_weights(path, FP, p, 3, &err))
                fail_msg("byte %zu ^ 0x%02x: accepted", at, masks[m]);
            if (p[0] != -7 || p[1] != -7 || p[2] != -7)
                fail_msg("byte %zu ^ 0x%02x: the caller's array changed", at, masks[m]);
            /* What each field's damage must say: the magic and the version
             * their own messages; a count that grew "truncated", one that
             * shrank puts the CRC elsewhere: "corrupt"; anything else
             * "corrupt". */
            const char *want = at < 4 ? not_nnc : at < 8 ? version : corrupt;
            if (at >= 16 && at < 24) {
                uint64_t count = 3 ^ ((uint64_t)masks[m] << (8 * (at - 16)));
                if (count > 3)
                    want = truncated;
            }
            if (strncmp(err.msg, want, strlen(want)) != 0)
                fail_msg("byte %zu ^ 0x%02x: message\n      got: %s\n expected: %s...", at, masks[m], err.msg, want);
            refused++;
        }
    assert_int_equal(refused, 40 * 9);
    /* And the file itself loads. */
    write_bytes(path, good, n);
    float p[3];
    RtError err;
    if (!rt_load_weights(path, FP, p, 3, &err))
        fail_msg("%s", err.msg);
    assert_true(p[0] == 0.5f && p[1] == 1.5f && p[2] == 2.5f);
}

/* ---- saving that fails ---- */

static void save_no_directory(void **state)
{
    (void)state;
    const char *path = in_dir(0, "missing/w.nnw");
    float a[1] = {1};
    RtError err;
    char msg[1300];
    assert_false(rt_save_weights(path, FP, a, 1, &err));
    snprintf(msg, sizeof msg,
             "%s: not saved: cannot create a temporary file beside it: No such file or directory", path);
    assert_string_equal(err.msg, msg);
}

static void save_over_directory(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    assert_int_equal(mkdir(path, 0700), 0);
    float a[1] = {1};
    RtError err;
    char msg[1300];
    assert_false(rt_save_weights(path, FP, a, 1, &err));
    snprintf(msg, sizeof msg, "%s: not saved: it is a directory", path);
    assert_string_equal(err.msg, msg);
    assert_int_equal(count_entries(), 1);
}

/* In a child with RLIMIT_FSIZE (SIGXFSZ ignored, so write fails with EFBIG,
 * after a short write when the limit falls inside a write): saves n params
 * of value `v` to `path`.  Returns whether it saved, and its message. */
static bool save_limited(const char *path, rlim_t limit, int64_t n, float v, char *msg, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        float *p = malloc((size_t)n * sizeof(float) + 1);
        if (!p)
            _exit(4);
        for (int64_t i = 0; i < n; i++)
            p[i] = v;
        RtError err;
        strcpy(err.msg, "(saved)");
        bool ok = rt_save_weights(path, FP, p, n, &err);
        size_t len = strlen(err.msg) + 1;
        if (write(fds[1], err.msg, len) != (ssize_t)len)
            _exit(5);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t k;
    while (got < cap - 1 && (k = read(fds[0], msg + got, cap - 1 - got)) > 0)
        got += (size_t)k;
    msg[got] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        fail_msg("the saving child failed: status 0x%x", status);
    return WEXITSTATUS(status) == 0;
}

/* Loads n params that must all equal v. */
static void expect_all(const char *path, int64_t n, float v)
{
    float *p = malloc((size_t)n * sizeof(float) + 1);
    assert_non_null(p);
    RtError err;
    if (!rt_load_weights(path, FP, p, n, &err))
        fail_msg("%s", err.msg);
    for (int64_t i = 0; i < n; i++)
        if (p[i] != v)
            fail_msg("parameter %lld is %g, expected %g", (long long)i, p[i], v);
    free(p);
}

/* A full disk at several points of the file (in the header, in the first
 * and a later chunk of parameters, in the CRC): the save fails saying why,
 * the old file is intact and no temporary file is left. */
static void save_disk_full(void **state)
{
    (void)state;
    enum { N = 40000 };                      /* 160 028 bytes, three write chunks */
    const char *path = in_dir(0, "w.nnw");
    char msg[1300], want[1300];
    snprintf(want, sizeof want, "%s: not saved: cannot write: File too large", path);
    assert_true(save_limited(path, RLIM_INFINITY, N, 1.0f, msg, sizeof msg));
    static const rlim_t limits[] = {0, 10, 24, 25, 1000, 65536 + 24, 65536 + 25, 131000, 160024, 160027};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (save_limited(path, limits[i], N, 2.0f, msg, sizeof msg))
            fail_msg("limit %lu: saved", (unsigned long)limits[i]);
        if (strcmp(msg, want) != 0)
            fail_msg("limit %lu: message\n      got: %s\n expected: %s", (unsigned long)limits[i], msg, want);
        expect_all(path, N, 1.0f);
        assert_int_equal(count_entries(), 1);
    }
    /* The exact size is enough. */
    assert_true(save_limited(path, 160028, N, 3.0f, msg, sizeof msg));
    expect_all(path, N, 3.0f);
    assert_int_equal(count_entries(), 1);
    /* No previous file: none afterwards either. */
    const char *fresh = in_dir(1, "fresh.nnw");
    assert_false(save_limited(fresh, 5000, N, 2.0f, msg, sizeof msg));
    assert_int_equal(access(fresh, F_OK), -1);
    assert_int_equal(count_entries(), 1);
}

/* ---- a crash during saving ---- */

/* Parameters of generation g: bit patterns that depend on g and on i, so a
 * file mixing two generations, or a torn one, is noticed. */
enum { CRASH_N = 1 << 21 };                  /* 8 MiB a file */

static uint32_t gen_bits(uint32_t g, uint32_t i)
{
    return g ^ (i * 2654435761u);
}

/* The generation of a complete, valid file at `path`; fails the test when it
 * does not load or is not wholly of one generation. */
static uint32_t file_generation(const char *path, float *p)
{
    RtError err;
    if (!rt_load_weights(path, FP, p, CRASH_N, &err))
        fail_msg("after the kill: %s", err.msg);
    uint32_t g = to_bits(p[0]);
    for (uint32_t i = 0; i < CRASH_N; i++)
        if (to_bits(p[i]) != gen_bits(g, i))
            fail_msg("after the kill: parameter %u is not of generation %u", i, g);
    return g;
}

/* Size of the temporary file, or -1 when there is none. */
static long long tmp_size(const char *name)
{
    char tmp[1400];
    if (count_tmp(name, tmp, sizeof tmp) == 0)
        return -1;
    struct stat st;
    return stat(tmp, &st) == 0 ? (long long)st.st_size : -1;
}

typedef enum { AT_ONCE, TMP_CREATED, TMP_HALF, TMP_FULL, AFTER_MS } Moment;

/* Forks a child that saves generations first, first+1, ... to dir/name
 * without end; SIGKILLs it at `moment` (or after `ms` milliseconds) and
 * checks what it left:
 *   - at most one temporary file (the one being written when it died);
 *   - the file at `name` is complete and valid, of one generation, or absent
 *     when there was none before and no save had finished;
 *   - when the temporary file holds its header and first parameter, the
 *     generation it was writing, the file is of the one before (the old
 *     file intact); without one, of the last generation begun or earlier.
 * Returns the generation found (0: absent). */
static uint32_t kill_during_save(const char *name, uint32_t first, Moment moment, int ms)
{
    const char *path = in_dir(0, name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        float *p = malloc(CRASH_N * sizeof(float));
        if (!p)
            _exit(4);
        for (uint32_t g = first;; g++) {
            for (uint32_t i = 0; i < CRASH_N; i++)
                memcpy(&p[i], &(uint32_t){gen_bits(g, i)}, 4);
            RtError err;
            if (!rt_save_weights(path, FP, p, CRASH_N, &err))
                _exit(1);
        }
    }
    long long full = 28 + 4 * (long long)CRASH_N;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool hit = moment == AT_ONCE;
    while (!hit) {
        long long s = moment == AFTER_MS ? -1 : tmp_size(name);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - t0.tv_sec) * 1e3 + (double)(now.tv_nsec - t0.tv_nsec) / 1e6;
        hit = (moment == TMP_CREATED && s >= 0) || (moment == TMP_HALF && s >= full / 2 && s < full) ||
              (moment == TMP_FULL && s == full) || (moment == AFTER_MS && elapsed >= ms);
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("the saving child stopped by itself: status 0x%x", status);
        if (elapsed > 10000) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("moment %d not seen in 10 s", (int)moment);
        }
    }
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    char tmp[1400];
    int n_tmp = count_tmp(name, tmp, sizeof tmp);
    if (n_tmp > 1)
        fail_msg("%d temporary files left; the killed process can leave one", n_tmp);
    uint32_t tmp_gen = 0;
    bool tmp_known = false;
    if (n_tmp == 1) {
        size_t len;
        unsigned char *b = read_bytes(tmp, &len);
        assert_non_null(b);
        if (len >= 28) {
            tmp_gen = (uint32_t)b[24] | (uint32_t)b[25] << 8 | (uint32_t)b[26] << 16 | (uint32_t)b[27] << 24;
            tmp_known = true;
        }
        free(b);
        assert_int_equal(unlink(tmp), 0);
    }
    uint32_t g = 0;
    if (access(path, F_OK) == 0) {
        float *p = malloc(CRASH_N * sizeof(float));
        assert_non_null(p);
        g = file_generation(path, p);
        free(p);
        if (g < first - 1 || g == 0)
            fail_msg("the file is of generation %u; the child began at %u", g, first);
    } else if (first != 1) {
        fail_msg("the previous file is gone");
    }
    if (tmp_known && g != tmp_gen - 1)
        fail_msg("killed while writing generation %u, but the file is of generation %u", tmp_gen, g);
    assert_int_equal(count_tmp(name, NULL, 0), 0);
    static const char *const names[] = {"at once", "temporary file created", "temporary file half written",
                                        "temporary file complete", "after"};
    print_message("    killed %s%s: %s, file %s of generation %u\n", names[moment],
                  moment == AFTER_MS ? (ms == 1 ? " 1 ms" : ms == 7 ? " 7 ms" : " 40 ms") : "",
                  n_tmp == 0 ? "no temporary file" : tmp_known ? "a temporary file with data" : "an empty temporary file",
                  g ? "complete" : "absent", g);
    return g;
}

static void crash_during_save(void **state)
{
    (void)state;
    /* No file yet: the child is killed during its first save (usually;
     * kill_during_save checks the file is absent when it was). */
    kill_during_save("a.nnw", 1, TMP_HALF, 0);
    kill_during_save("b.nnw", 1, AT_ONCE, 0);

    /* An old file, then children killed at each moment, several times. */
    float *p = malloc(CRASH_N * sizeof(float));
    assert_non_null(p);
    for (uint32_t i = 0; i < CRASH_N; i++)
        memcpy(&p[i], &(uint32_t){gen_bits(1, i)}, 4);
    RtError err;
    if (!rt_save_weights(in_dir(0, "w.nnw"), FP, p, CRASH_N, &err))
        fail_msg("%s", err.msg);
    free(p);
    uint32_t g = 1;
    static const struct { Moment m; int ms; } plan[] = {
        {AT_ONCE, 0}, {TMP_CREATED, 0}, {TMP_HALF, 0}, {TMP_FULL, 0}, {AFTER_MS, 1},
        {TMP_CREATED, 0}, {TMP_HALF, 0}, {TMP_FULL, 0}, {AFTER_MS, 7},  {AFTER_MS, 40},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        uint32_t now = kill_during_save("w.nnw", g + 1, plan[i].m, plan[i].ms);
        g = now > g ? now : g;
    }
    /* Nothing but weight files is left in the directory. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            fail_msg("left behind: %s", e->d_name);
    closedir(d);
}

/* A child saving generations first, first+1, ... to `path` until a save
 * fails, then sending its message through `fd`.  As root it first becomes
 * nobody, so that directory permissions apply to it. */
static void saving_child(const char *path, uint32_t first, int fd)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(3);
    float *p = malloc(CRASH_N * sizeof(float));
    if (!p)
        _exit(4);
    RtError err;
    for (uint32_t g = first;; g++) {
        for (uint32_t i = 0; i < CRASH_N; i++)
            memcpy(&p[i], &(uint32_t){gen_bits(g, i)}, 4);
        if (!rt_save_weights(path, FP, p, CRASH_N, &err))
            break;
    }
    size_t len = strlen(err.msg) + 1;
    _exit(write(fd, err.msg, len) == (ssize_t)len ? 1 : 5);
}

/* The directory made read-only (chmod 0555) before a save, and in the middle
 * of one: the save fails saying why, the previous file is intact and
 * complete.  In the middle, the write goes on (the descriptor is open) but
 * the rename fails, and so does removing the temporary file: the message
 * names it.  When the chmod comes between two saves instead, mkstemp fails. */
static void save_read_only_directory(void **state)
{
    (void)state;
    const char *path = in_dir(0, "w.nnw");
    char want_create[1300], want_rename[1300];
    snprintf(want_create, sizeof want_create,
             "%s: not saved: cannot create a temporary file beside it: Permission denied", path);
    snprintf(want_rename, sizeof want_rename,
             "%s: not saved: cannot rename the temporary file over it: Permission denied; the temporary file ", path);
    float *p = malloc(CRASH_N * sizeof(float));
    assert_non_null(p);
    for (uint32_t i = 0; i < CRASH_N; i++)
        memcpy(&p[i], &(uint32_t){gen_bits(1, i)}, 4);
    RtError err;
    if (!rt_save_weights(path, FP, p, CRASH_N, &err))
        fail_msg("%s", err.msg);
    long long full = 28 + 4 * (long long)CRASH_N;

    for (int midway = 0; midway <= 1; midway++) {
        uint32_t before = file_generation(path, p);
        assert_int_equal(chmod(dir, midway ? 0777 : 0555), 0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            saving_child(path, before + 1, fds[1]);
        }
        close(fds[1]);
        if (midway) {
            struct timespec t0, now;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            for (;;) {
                long long sz = tmp_size("w.nnw");
                if (sz >= full / 2 && sz < full)
                    break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - t0.tv_sec > 10) {
                    kill(pid, SIGKILL);
                    break;
                }
            }
            assert_int_equal(chmod(dir, 0555), 0);
        }
        char msg[2048];
        size_t got = 0;
        ssize_t k;
        while (got < sizeof msg - 1 && (k = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
            got += (size_t)k;
        msg[got] = '\0';
        close(fds[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(chmod(dir, 0700), 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            fail_msg("the saving child failed: status 0x%x", status);

        char tmp[1400];
        int n_tmp = count_tmp("w.nnw", tmp, sizeof tmp);
        uint32_t after = file_generation(path, p);
        if (strcmp(msg, want_create) == 0) {
            assert_int_equal(n_tmp, 0);
            if (!midway)
                assert_int_equal(after, before);
        } else if (midway && strncmp(msg, want_rename, strlen(want_rename)) == 0) {
            /* "...; the temporary file PATH.tmp.XXXXXX is left behind (...)" */
            assert_int_equal(n_tmp, 1);
            char named[2900];
            snprintf(named, sizeof named, "%s%s is left behind (cannot remove it: Permission denied)", want_rename, tmp);
            assert_string_equal(msg, named);
            /* What it left is a complete file of the next generation. */
            uint32_t g = file_generation(tmp, p);
            assert_int_equal(g, after + 1);
            assert_int_equal(unlink(tmp), 0);
        } else {
            fail_msg("message\n      got: %s\n expected: %s... or %s", msg, want_rename, want_create);
        }
        print_message("    read-only %s: %s\n", midway ? "mid-way" : "before", msg + strlen(path) + 2);
    }
    free(p);
}

/* ---- a file for the Python snippet of docs/weights-format.md ---- */

static void python_sample(void **state)
{
    (void)state;
    const char *out = getenv("NNC_CHECKPOINT_SAMPLE");
    const float params[6] = {1.0f, -2.5f, -0.0f, INFINITY, from_bits(1), 0.1f};
    const char *path = out && *out ? out : in_dir(0, "sample.nnw");
    RtError err;
    if (!rt_save_weights(path, UINT64_C(0x0123456789abcdef), params, 6, &err))
        fail_msg("%s", err.msg);
}

static const struct CMUnitTest tests[] = {
    CK_TEST(crc32_check_value),
    CK_TEST(crc32_over_4gib),
    CK_TEST(exact_bytes),
    CK_TEST(round_trip_special_values),
    CK_TEST(round_trip_random_bits),
    CK_TEST(round_trip_no_params),
    CK_TEST(save_replaces),
    CK_TEST(mode_follows_umask),
    CK_TEST(load_missing),
    CK_TEST(load_directory),
    CK_TEST(load_not_weight_file),
    CK_TEST(load_too_short),
    CK_TEST(load_truncated),
    CK_TEST(load_unknown_version),
    CK_TEST(load_checksum_mismatch),
    CK_TEST(load_other_network),
    CK_TEST(load_count_mismatch),
    CK_TEST(load_trailing_bytes),
    CK_TEST(load_huge_count),
    CK_TEST(bad_arguments),
    CK_TEST(every_flip_refused),
    CK_TEST(save_no_directory),
    CK_TEST(save_over_directory),
    CK_TEST(save_read_only_directory),
    CK_TEST(save_disk_full),
    CK_TEST(crash_during_save),
    CK_TEST(python_sample),
};

int main(int argc, char **argv)
{
    size_t n = sizeof tests / sizeof tests[0];
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return _cmocka_run_group_tests("checkpoint", tests, n, NULL, NULL) ? 1 : 0;
}
