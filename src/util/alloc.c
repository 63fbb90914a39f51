#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "spikard/common.h"

/* Process-wide allocator, replaced at most once before use (like uv_replace_allocator). */
static struct {
  spk_malloc_fn malloc_fn;
  spk_realloc_fn realloc_fn;
  spk_calloc_fn calloc_fn;
  spk_free_fn free_fn;
} allocator = {malloc, realloc, calloc, free};

SPK_EXTERN int spk_replace_allocator(spk_malloc_fn m, spk_realloc_fn r, spk_calloc_fn c,
                                     spk_free_fn f) {
  if (!m || !r || !c || !f) return SPK_EINVAL;
  allocator.malloc_fn = m;
  allocator.realloc_fn = r;
  allocator.calloc_fn = c;
  allocator.free_fn = f;
  return SPK_OK;
}

void *spk__malloc(size_t size) { return allocator.malloc_fn(size ? size : 1); }
void *spk__calloc(size_t count, size_t size) {
  return allocator.calloc_fn(count ? count : 1, size ? size : 1);
}
void *spk__realloc(void *ptr, size_t size) { return allocator.realloc_fn(ptr, size ? size : 1); }
void spk__free(void *ptr) {
  if (ptr) allocator.free_fn(ptr);
}

char *spk__strndup(const char *s, size_t len) {
  char *p = spk__malloc(len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *spk__strdup(const char *s) { return spk__strndup(s, strlen(s)); }
