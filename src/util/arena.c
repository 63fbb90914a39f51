#include "util/arena.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"

#define ARENA_ALIGN 16
#define ARENA_MAX_BLOCK (1u << 20)

struct spk__arena_block {
  spk__arena_block_t *prev;
  size_t used;
  size_t size;
  _Alignas(ARENA_ALIGN) unsigned char data[];
};

static size_t align_up(size_t n) { return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1); }

void spk__arena_init(spk__arena_t *a, size_t first_block) {
  a->head = NULL;
  a->next_size = first_block ? first_block : 1024;
  a->total = 0;
}

void spk__arena_free(spk__arena_t *a) {
  spk__arena_block_t *b = a->head;
  while (b) {
    spk__arena_block_t *prev = b->prev;
    spk__free(b);
    b = prev;
  }
  a->head = NULL;
  a->total = 0;
}

static spk__arena_block_t *new_block(spk__arena_t *a, size_t need) {
  size_t size = a->next_size;
  if (need > size) size = need;
  if (size > SIZE_MAX - sizeof(spk__arena_block_t)) return NULL;
  spk__arena_block_t *b = spk__malloc(sizeof(*b) + size);
  if (!b) return NULL;
  b->used = 0;
  b->size = size;
  a->total += size;
  if (a->next_size < ARENA_MAX_BLOCK) a->next_size *= 2;
  return b;
}

void *spk__arena_alloc(spk__arena_t *a, size_t size) {
  if (size > SIZE_MAX - ARENA_ALIGN) return NULL;
  size = align_up(size ? size : 1);
  spk__arena_block_t *b = a->head;
  if (b && b->size - b->used >= size) {
    void *p = b->data + b->used;
    b->used += size;
    return p;
  }
  spk__arena_block_t *nb = new_block(a, size);
  if (!nb) return NULL;
  /* A big one-off allocation goes behind the current block so the current block's free space
   * stays usable for the small allocations that follow. */
  if (b && size > a->next_size / 2 && b->size - b->used > 256) {
    nb->prev = b->prev;
    b->prev = nb;
  } else {
    nb->prev = b;
    a->head = nb;
  }
  nb->used = size;
  return nb->data;
}

void *spk__arena_calloc(spk__arena_t *a, size_t size) {
  void *p = spk__arena_alloc(a, size);
  if (p) memset(p, 0, size);
  return p;
}

char *spk__arena_strndup(spk__arena_t *a, const char *s, size_t len) {
  char *p = spk__arena_alloc(a, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void *spk__arena_realloc(spk__arena_t *a, void *p, size_t old, size_t new_size) {
  spk__arena_block_t *b = a->head;
  if (p && b) {
    size_t off = (size_t)((unsigned char *)p - b->data);
    if ((unsigned char *)p >= b->data && off < b->size && off + align_up(old ? old : 1) == b->used &&
        new_size <= b->size - off) {
      b->used = off + align_up(new_size ? new_size : 1);
      return p;
    }
  }
  void *q = spk__arena_alloc(a, new_size);
  if (q && p && old) memcpy(q, p, old < new_size ? old : new_size);
  return q;
}
