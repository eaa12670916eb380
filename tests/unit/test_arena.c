/* test_arena.c — arena.c: zeroed, aligned, non-overlapping allocations. */
#include "unit.h"

#include <string.h>

/* The strictest alignment of what nnc stores in the arena. */
typedef struct { char c; long double x; } AlignLD;
typedef struct { char c; long long x; } AlignLL;
typedef struct { char c; void *x; } AlignP;
typedef struct { char c; double x; } AlignD;

static size_t max_align(void)
{
    size_t a = offsetof(AlignLD, x);
    if (offsetof(AlignLL, x) > a)
        a = offsetof(AlignLL, x);
    if (offsetof(AlignP, x) > a)
        a = offsetof(AlignP, x);
    if (offsetof(AlignD, x) > a)
        a = offsetof(AlignD, x);
    return a;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void arena_alloc_is_zeroed(void **state)
{
    Fx *fx = *state;
    static const size_t sizes[] = {1, 2, 7, 8, 15, 16, 33, 100, 1000, 4096, 60000, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = arena_alloc(fx->arena, sizes[i]);
        assert_non_null(p);
        assert_true(all_zero(p, sizes[i]));
        memset(p, 0xAB, sizes[i]);   /* dirty it: later allocations must not see this */
    }
}

static void arena_alloc_is_aligned(void **state)
{
    Fx *fx = *state;
    size_t align = max_align();
    for (size_t size = 1; size <= 200; size++) {
        void *p = arena_alloc(fx->arena, size);
        assert_int_equal((uintptr_t)p % align, 0);
    }
}

static void arena_alloc_regions_do_not_overlap(void **state)
{
    Fx *fx = *state;
    enum { N = 3000 };
    static unsigned char *ptr[N];
    static size_t len[N];
    for (int i = 0; i < N; i++) {   /* about 150 KiB: crosses chunk boundaries */
        len[i] = (size_t)(i % 97) + 1;
        ptr[i] = arena_alloc(fx->arena, len[i]);
        memset(ptr[i], i & 0xFF, len[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < len[i]; j++)
            assert_int_equal(ptr[i][j], i & 0xFF);
}

static void arena_zero_size_gives_distinct_pointers(void **state)
{
    Fx *fx = *state;
    void *a = arena_alloc(fx->arena, 0);
    void *b = arena_alloc(fx->arena, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
}

static void arena_large_allocation_is_usable(void **state)
{
    Fx *fx = *state;
    size_t big = 3u << 20;   /* larger than a chunk */
    unsigned char *small = arena_alloc(fx->arena, 24);
    memset(small, 0x11, 24);
    unsigned char *p = arena_alloc(fx->arena, big);
    assert_non_null(p);
    assert_true(all_zero(p, big));
    p[0] = 1;
    p[big - 1] = 2;   /* the sanitizer build checks this is in bounds */
    unsigned char *after = arena_alloc(fx->arena, 24);
    assert_true(all_zero(after, 24));
    memset(after, 0x22, 24);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[big - 1], 2);
    for (int i = 0; i < 24; i++)
        assert_int_equal(small[i], 0x11);
}

static void arena_allocation_filling_a_chunk_exactly(void **state)
{
    Fx *fx = *state;
    /* One allocation of exactly the chunk size, then another: both usable. */
    unsigned char *a = arena_alloc(fx->arena, 64 * 1024);
    unsigned char *b = arena_alloc(fx->arena, 64 * 1024);
    memset(a, 1, 64 * 1024);
    memset(b, 2, 64 * 1024);
    assert_int_equal(a[64 * 1024 - 1], 1);
    assert_int_equal(b[0], 2);
}

static void arena_strndup_copies_prefix(void **state)
{
    Fx *fx = *state;
    const char *src = "hello world";
    char *s = arena_strndup(fx->arena, src, 5);
    assert_string_equal(s, "hello");
    assert_ptr_not_equal(s, src);
}

static void arena_strndup_zero_length_is_empty(void **state)
{
    Fx *fx = *state;
    char *s = arena_strndup(fx->arena, "xyz", 0);
    assert_non_null(s);
    assert_string_equal(s, "");
}

static void arena_strdup_copies_whole_string(void **state)
{
    Fx *fx = *state;
    char buf[] = "dense";
    char *s = arena_strdup(fx->arena, buf);
    buf[0] = 'X';   /* the copy is independent */
    assert_string_equal(s, "dense");
}

static void arena_free_accepts_null(void **state)
{
    (void)state;
    arena_free(NULL);
    Arena *a = arena_new();
    assert_non_null(a);
    arena_alloc(a, 10);
    arena_free(a);
}

UNIT_TESTS(arena,
    FX_TEST(arena_alloc_is_zeroed),
    FX_TEST(arena_alloc_is_aligned),
    FX_TEST(arena_alloc_regions_do_not_overlap),
    FX_TEST(arena_zero_size_gives_distinct_pointers),
    FX_TEST(arena_large_allocation_is_usable),
    FX_TEST(arena_allocation_filling_a_chunk_exactly),
    FX_TEST(arena_strndup_copies_prefix),
    FX_TEST(arena_strndup_zero_length_is_empty),
    FX_TEST(arena_strdup_copies_whole_string),
    FX_TEST(arena_free_accepts_null))
