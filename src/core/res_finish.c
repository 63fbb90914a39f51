/* Response edits after the response has ended (see res_finish.h). */
#include <string.h>

#include "core/res_finish.h"
#include "util/strutil.h"

int spk__res_add_header_final(spk__exchange_t *ex, const char *name, const char *value,
                              size_t value_len) {
  spk_res_t *res = &ex->res;
  spk__arena_t *a = &ex->arena;
  if (res->header_count == res->header_cap) {
    size_t cap = res->header_cap ? res->header_cap * 2 : 8;
    spk_h1_header_t *h = spk__arena_realloc(a, res->headers, res->header_cap * sizeof(*h),
                                            cap * sizeof(*h));
    if (!h) return SPK_ENOMEM;
    res->headers = h;
    res->header_cap = cap;
  }
  size_t nlen = strlen(name);
  char *n = spk__arena_strndup(a, name, nlen);
  char *v = spk__arena_strndup(a, value ? value : "", value_len);
  if (!n || !v) return SPK_ENOMEM;
  res->headers[res->header_count].name = (spk_str_t){n, nlen};
  res->headers[res->header_count].value = (spk_str_t){v, value_len};
  res->header_count++;
  return SPK_OK;
}

int spk__res_set_header_final(spk__exchange_t *ex, const char *name, const char *value,
                              size_t value_len) {
  spk_res_t *res = &ex->res;
  size_t nlen = strlen(name), k = 0;
  for (size_t i = 0; i < res->header_count; i++)
    if (!spk__strieq(res->headers[i].name.ptr, res->headers[i].name.len, name, nlen))
      res->headers[k++] = res->headers[i];
  res->header_count = k;
  return spk__res_add_header_final(ex, name, value, value_len);
}

/* Whether the comma-separated list `v` names `tok` (case-insensitive) or `*`. */
static int list_has(spk_str_t v, const char *tok, size_t tlen) {
  size_t i = 0;
  while (i < v.len) {
    while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ',')) i++;
    size_t s = i;
    while (i < v.len && v.ptr[i] != ',') i++;
    size_t e = i;
    while (e > s && (v.ptr[e - 1] == ' ' || v.ptr[e - 1] == '\t')) e--;
    if ((e - s == 1 && v.ptr[s] == '*') || spk__strieq(v.ptr + s, e - s, tok, tlen)) return 1;
  }
  return 0;
}

int spk__res_vary_final(spk__exchange_t *ex, const char *token) {
  spk_res_t *res = &ex->res;
  size_t tlen = strlen(token);
  spk_h1_header_t *first = NULL;
  for (size_t i = 0; i < res->header_count; i++) {
    spk_h1_header_t *h = &res->headers[i];
    if (!spk__strieq(h->name.ptr, h->name.len, "vary", 4)) continue;
    if (list_has(h->value, token, tlen)) return SPK_OK;
    if (!first) first = h;
  }
  if (!first) return spk__res_add_header_final(ex, "Vary", token, tlen);
  size_t old = first->value.len;
  while (old && (first->value.ptr[old - 1] == ' ' || first->value.ptr[old - 1] == ',')) old--;
  char *v = spk__arena_alloc(&ex->arena, old + 2 + tlen + 1);
  if (!v) return SPK_ENOMEM;
  memcpy(v, first->value.ptr, old);
  size_t n = old;
  if (n) v[n++] = ',', v[n++] = ' ';
  memcpy(v + n, token, tlen);
  n += tlen;
  v[n] = '\0';
  first->value = (spk_str_t){v, n};
  return SPK_OK;
}
