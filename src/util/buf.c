#include "util/buf.h"

#include <string.h>

#include "spikard/common.h"
#include "util/alloc.h"

int spk__buf_reserve(spk__buf_t *b, size_t extra) {
  if (b->cap - b->len >= extra) return SPK_OK;
  if (extra > (size_t)-1 / 2 - b->len) return SPK_ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) cap *= 2;
  char *p = spk__realloc(b->data, cap);
  if (!p) return SPK_ENOMEM;
  b->data = p;
  b->cap = cap;
  return SPK_OK;
}

int spk__buf_append(spk__buf_t *b, const void *data, size_t len) {
  if (!len) return SPK_OK;
  if (spk__buf_reserve(b, len)) return SPK_ENOMEM;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return SPK_OK;
}

int spk__buf_append_str(spk__buf_t *b, const char *s) { return spk__buf_append(b, s, strlen(s)); }

int spk__buf_append_char(spk__buf_t *b, char c) { return spk__buf_append(b, &c, 1); }

int spk__buf_append_u64(spk__buf_t *b, unsigned long long v) {
  char tmp[24];
  size_t n = sizeof(tmp);
  do {
    tmp[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return spk__buf_append(b, tmp + n, sizeof(tmp) - n);
}

void spk__buf_consume(spk__buf_t *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

void spk__buf_free(spk__buf_t *b) {
  spk__free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
