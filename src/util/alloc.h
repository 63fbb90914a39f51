/* Internal allocation entry points: everything in libspikard allocates through these, so the
 * host's allocator (spk_replace_allocator) sees all of our memory. */
#ifndef SPK_UTIL_ALLOC_H
#define SPK_UTIL_ALLOC_H

#include <stddef.h>

void *spk__malloc(size_t size);
void *spk__calloc(size_t count, size_t size);
void *spk__realloc(void *ptr, size_t size);
void spk__free(void *ptr);
/* Copy of s[0..len) plus a NUL. NULL when out of memory. */
char *spk__strndup(const char *s, size_t len);
char *spk__strdup(const char *s);

#endif
