/* Streaming JSON writer for response bodies. Errors are sticky; the structure (key before value
 * in objects, balanced containers, max depth 64) is checked as we go. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exchange.h"
#include "util/alloc.h"

#define JW_MAX_DEPTH 64

SPK_EXTERN spk_json_writer_t *spk_res_json_begin(spk_res_t *res) {
  spk__exchange_t *ex = spk__exchange_of_res(res);
  if (atomic_load(&ex->ended)) return NULL;
  spk_json_writer_t *w = spk__arena_calloc(&ex->arena, sizeof(*w));
  if (!w) return NULL;
  w->res = res;
  res->json = w;
  return w;
}

static int fail(spk_json_writer_t *w, int err) {
  if (!w->error) w->error = err;
  return w->error;
}

static int in_object(const spk_json_writer_t *w) {
  return w->depth > 0 && ((w->is_object >> (w->depth - 1)) & 1);
}

/* Separator and structure check before any value. */
static int before_value(spk_json_writer_t *w) {
  if (w->error) return w->error;
  if (in_object(w)) {
    if (!w->after_key) return fail(w, SPK_ESTATE);
    w->after_key = 0;
    return SPK_OK;
  }
  if (w->depth == 0 && w->out.len > 0) return fail(w, SPK_ESTATE); /* one top-level value */
  if (w->depth > 0) {
    uint64_t bit = 1ull << (w->depth - 1);
    if (w->has_items & bit) {
      if (spk__buf_append_char(&w->out, ',')) return fail(w, SPK_ENOMEM);
    }
    w->has_items |= bit;
  }
  return SPK_OK;
}

static int put(spk_json_writer_t *w, const char *s, size_t n) {
  if (spk__buf_append(&w->out, s, n)) return fail(w, SPK_ENOMEM);
  return SPK_OK;
}

static int open_container(spk_json_writer_t *w, char c, int object) {
  if (before_value(w)) return w->error;
  if (w->depth >= JW_MAX_DEPTH) return fail(w, SPK_ERANGE);
  uint64_t bit = 1ull << w->depth;
  w->is_object = object ? (w->is_object | bit) : (w->is_object & ~bit);
  w->has_items &= ~bit;
  w->depth++;
  return put(w, &c, 1);
}

static int close_container(spk_json_writer_t *w, char c, int object) {
  if (w->error) return w->error;
  if (w->depth == 0 || in_object(w) != object || w->after_key) return fail(w, SPK_ESTATE);
  w->depth--;
  return put(w, &c, 1);
}

SPK_EXTERN int spk_json_object_open(spk_json_writer_t *w) { return open_container(w, '{', 1); }
SPK_EXTERN int spk_json_object_close(spk_json_writer_t *w) { return close_container(w, '}', 1); }
SPK_EXTERN int spk_json_array_open(spk_json_writer_t *w) { return open_container(w, '[', 0); }
SPK_EXTERN int spk_json_array_close(spk_json_writer_t *w) { return close_container(w, ']', 0); }

static int put_escaped(spk_json_writer_t *w, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (put(w, "\"", 1)) return w->error;
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (put(w, s + run, i - run)) return w->error;
    run = i + 1;
    char esc[6] = {'\\', 0};
    size_t n = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        n = 6;
    }
    if (put(w, esc, n)) return w->error;
  }
  if (put(w, s + run, len - run)) return w->error;
  return put(w, "\"", 1);
}

SPK_EXTERN int spk_json_key(spk_json_writer_t *w, const char *key) {
  if (w->error) return w->error;
  if (!key || !in_object(w) || w->after_key) return fail(w, SPK_ESTATE);
  uint64_t bit = 1ull << (w->depth - 1);
  if ((w->has_items & bit) && put(w, ",", 1)) return w->error;
  w->has_items |= bit;
  if (put_escaped(w, key, strlen(key)) || put(w, ":", 1)) return w->error;
  w->after_key = 1;
  return SPK_OK;
}

SPK_EXTERN int spk_json_string_n(spk_json_writer_t *w, const char *s, size_t len) {
  if (!s && len) return fail(w, SPK_EINVAL);
  if (before_value(w)) return w->error;
  return put_escaped(w, s ? s : "", len);
}
SPK_EXTERN int spk_json_string(spk_json_writer_t *w, const char *s) {
  return s ? spk_json_string_n(w, s, strlen(s)) : spk_json_null(w);
}

SPK_EXTERN int spk_json_int(spk_json_writer_t *w, int64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
  if (before_value(w)) return w->error;
  return put(w, tmp, (size_t)n);
}

SPK_EXTERN int spk_json_double(spk_json_writer_t *w, double v) {
  if (!isfinite(v)) return spk_json_null(w);
  char tmp[32];
  int n = 0;
  /* Shortest representation that reads back to the same double. */
  for (int prec = 1; prec <= 17; prec++) {
    n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break;
  }
  if (before_value(w)) return w->error;
  return put(w, tmp, (size_t)n);
}

SPK_EXTERN int spk_json_bool(spk_json_writer_t *w, int v) {
  if (before_value(w)) return w->error;
  return v ? put(w, "true", 4) : put(w, "false", 5);
}
SPK_EXTERN int spk_json_null(spk_json_writer_t *w) {
  if (before_value(w)) return w->error;
  return put(w, "null", 4);
}
SPK_EXTERN int spk_json_raw(spk_json_writer_t *w, const char *json, size_t len) {
  if (!json || !len) return fail(w, SPK_EINVAL);
  if (before_value(w)) return w->error;
  return put(w, json, len);
}

SPK_EXTERN int spk_res_json_end(spk_json_writer_t *w) {
  if (w->error) goto out;
  if (w->depth != 0 || w->after_key || w->out.len == 0) {
    fail(w, SPK_ESTATE);
    goto out;
  }
  spk_res_t *res = w->res;
  /* The writer's buffer becomes the body without a copy. */
  int rc = spk_res_body(res, NULL, 0);
  if (!rc) {
    spk__buf_free(&res->owned_body);
    res->owned_body = w->out;
    w->out = (spk__buf_t){0};
    res->body = res->owned_body.data;
    res->body_len = res->owned_body.len;
    rc = spk_res_set_header(res, "Content-Type", "application/json");
  }
  if (rc) fail(w, rc);
out:
  spk__buf_free(&w->out);
  if (w->res->json == w) w->res->json = NULL;
  return w->error;
}
