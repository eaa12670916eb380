/* arena.c — one arena per compilation.
 *
 * Every stage allocates from the arena and nothing is freed one by one: the
 * driver frees the whole arena at the end.  Allocation failure is fatal (the
 * only place nnc exits on its own), since a compiler out of memory cannot say
 * anything useful about the user's program. */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

/* C99 has no max_align_t; this union is aligned for anything nnc stores. */
typedef union Align {
    long double ld;
    long long ll;
    void *p;
} Align;

typedef struct Chunk {
    struct Chunk *next;
    size_t used, size;
    Align data[];
} Chunk;

struct Arena {
    Chunk *head;
};

enum { CHUNK_SIZE = 64 * 1024 };

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) {
        fputs("nnc: fatal: out of memory\n", stderr);
        exit(3);
    }
    return p;
}

Arena *arena_new(void)
{
    return xcalloc(sizeof(Arena));
}

void *arena_alloc(Arena *a, size_t size)
{
    size_t align = sizeof(Align);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    Chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;
        c = xcalloc(sizeof(Chunk) + cap);
        c->size = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}
