/* Bump allocator: one per request, freed in one step. Blocks grow geometrically; large
 * allocations get a block of their own. Not thread-safe (one owner at a time). */
#ifndef SPK_UTIL_ARENA_H
#define SPK_UTIL_ARENA_H

#include <stddef.h>

typedef struct spk__arena_block spk__arena_block_t;

typedef struct spk__arena {
  spk__arena_block_t *head; /* current block, linked to older ones */
  size_t next_size;         /* size of the next block to allocate */
  size_t total;             /* bytes obtained from the system allocator */
} spk__arena_t;

void spk__arena_init(spk__arena_t *a, size_t first_block);
/* Free every block. The arena may be reused after spk__arena_init. */
void spk__arena_free(spk__arena_t *a);
/* 16-byte aligned memory, or NULL when out of memory. */
void *spk__arena_alloc(spk__arena_t *a, size_t size);
void *spk__arena_calloc(spk__arena_t *a, size_t size);
/* Copy plus NUL terminator. */
char *spk__arena_strndup(spk__arena_t *a, const char *s, size_t len);
/* Grow the most recent allocation `p` (of `old` bytes) to `new_size` in place when it is the last
 * thing allocated and fits, otherwise allocate and copy. NULL on failure (p stays valid). */
void *spk__arena_realloc(spk__arena_t *a, void *p, size_t old, size_t new_size);

#endif
