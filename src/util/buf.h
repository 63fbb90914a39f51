/* Growable byte buffer on the heap (spk__malloc). Zero-initialised struct is an empty buffer. */
#ifndef SPK_UTIL_BUF_H
#define SPK_UTIL_BUF_H

#include <stddef.h>

typedef struct spk__buf {
  char *data;
  size_t len;
  size_t cap;
} spk__buf_t;

/* Ensure room for `extra` more bytes. 0 or SPK_ENOMEM. */
int spk__buf_reserve(spk__buf_t *b, size_t extra);
int spk__buf_append(spk__buf_t *b, const void *data, size_t len);
int spk__buf_append_str(spk__buf_t *b, const char *s);
int spk__buf_append_char(spk__buf_t *b, char c);
/* Decimal representation of v. */
int spk__buf_append_u64(spk__buf_t *b, unsigned long long v);
/* Drop the first n bytes (memmove the rest down). */
void spk__buf_consume(spk__buf_t *b, size_t n);
void spk__buf_free(spk__buf_t *b);

#endif
