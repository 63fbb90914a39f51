/* Fixture runner — serializing a fixture's `request` to HTTP/1.1 bytes.
 *
 * The same bytes go through the in-memory test client and over the socket, so both modes see
 * exactly one request. Rules (spikard-behaviour.md §1.4, §1.8):
 *   - path with '?' is sent verbatim (query_params then only duplicate it); else query_string
 *     (raw) wins over query_params (URL-encoded, arrays → repeated keys, null skipped);
 *   - headers exactly as given, in order; cookies → one Cookie header;
 *   - files / data / multipart content_type → multipart/form-data with a generated boundary;
 *     form_data → application/x-www-form-urlencoded; body_base64 → those raw bytes (bodies a
 *     JSON string cannot carry, e.g. invalid UTF-8); body: string → raw bytes, JSON value →
 *     serialized with Content-Type application/json unless the fixture gives one;
 *   - no User-Agent, Accept or Accept-Encoding are added; Host and Content-Length only when the
 *     fixture does not give them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fx.h"

#define BOUNDARY "spkFixtureBoundary7d93b1c2e4"

/* Fixtures whose intent needs a request-building exception. */
static const struct {
  const char *id;
  int no_default_content_type; /* send a JSON body without Content-Type */
} fx_request_quirks[] = {
    {"content_types/19_missing_content_type_default_json", 1},
};

static int no_default_ct(const fx_fixture_t *fx) {
  for (size_t i = 0; i < sizeof(fx_request_quirks) / sizeof(fx_request_quirks[0]); i++)
    if (strcmp(fx->id, fx_request_quirks[i].id) == 0)
      return fx_request_quirks[i].no_default_content_type;
  return 0;
}

/* Text of a scalar for query/form/multipart values; NULL for null (skipped) and containers. */
static const char *scalar_text(spk__arena_t *a, const spk_json_value_t *v, size_t *len) {
  char num[64];
  switch (v->type) {
  case SPK_JSON_STRING:
    *len = v->u.string.len;
    return v->u.string.ptr;
  case SPK_JSON_BOOL:
    *len = v->u.boolean ? 4 : 5;
    return v->u.boolean ? "true" : "false";
  case SPK_JSON_INT:
    snprintf(num, sizeof(num), "%lld", (long long)v->u.integer);
    *len = strlen(num);
    return spk__arena_strndup(a, num, *len);
  case SPK_JSON_NUMBER:
    if (v->u.number.raw.len) {
      *len = v->u.number.raw.len;
      return v->u.number.raw.ptr;
    }
    *len = spk_json_format_double(num, v->u.number.value);
    return spk__arena_strndup(a, num, *len);
  case SPK_JSON_ARRAY:
  case SPK_JSON_OBJECT: {
    char *t = fx_json_text(a, v, len);
    return t;
  }
  default:
    return NULL;
  }
}

/* application/x-www-form-urlencoded encoding (also used for query strings). */
static void form_encode(spk__buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      spk__buf_append_char(b, (char)c);
    } else if (c == ' ') {
      spk__buf_append_char(b, '+');
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      spk__buf_append(b, e, 3);
    }
  }
}

/* Request target: keep what RFC 3986 allows in a path/query (and '%' as already encoded), encode
 * the rest (space, '|', '"', non-ASCII…) as a real client does. */
static void target_encode(spk__buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  static const char allowed[] = "-._~!$&'()*+,;=:@/?%";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        (c && strchr(allowed, c))) {
      spk__buf_append_char(b, (char)c);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      spk__buf_append(b, e, 3);
    }
  }
}

/* key=value pairs of an object (arrays → repeated keys) in form encoding. */
static void encode_pairs(spk__arena_t *a, spk__buf_t *b, const spk_json_value_t *obj) {
  int first = 1;
  for (size_t i = 0; i < obj->u.object.len; i++) {
    const spk_json_member_t *m = &obj->u.object.members[i];
    const spk_json_value_t *v = m->value;
    size_t n = v->type == SPK_JSON_ARRAY ? v->u.array.len : 1;
    for (size_t k = 0; k < n; k++) {
      const spk_json_value_t *item = v->type == SPK_JSON_ARRAY ? v->u.array.items[k] : v;
      size_t len;
      const char *t = scalar_text(a, item, &len);
      if (!t) continue;
      if (!first) spk__buf_append_char(b, '&');
      first = 0;
      form_encode(b, m->key.ptr, m->key.len);
      spk__buf_append_char(b, '=');
      form_encode(b, t, len);
    }
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void multipart_field(spk__arena_t *a, spk__buf_t *b, const char *name,
                            const spk_json_value_t *v) {
  size_t n = v->type == SPK_JSON_ARRAY ? v->u.array.len : 1;
  for (size_t k = 0; k < n; k++) {
    const spk_json_value_t *item = v->type == SPK_JSON_ARRAY ? v->u.array.items[k] : v;
    size_t len;
    const char *t = scalar_text(a, item, &len);
    if (!t) continue;
    spk__buf_append_str(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
    spk__buf_append_str(b, name);
    spk__buf_append_str(b, "\"\r\n\r\n");
    spk__buf_append(b, t, len);
    spk__buf_append_str(b, "\r\n");
  }
}

static int multipart_file(spk__buf_t *b, const spk_json_value_t *f, char *err, size_t errlen) {
  const char *field = fx_get_str(f, "field_name");
  const char *filename = fx_get_str(f, "filename");
  const char *ctype = fx_get_str(f, "content_type");
  const char *enc = fx_get_str(f, "content_encoding");
  if (!field) {
    snprintf(err, errlen, "request.files entry without field_name");
    return -1;
  }
  if (enc && strcmp(enc, "text") != 0) {
    snprintf(err, errlen, "request.files content_encoding '%s' not supported", enc);
    return -1;
  }
  spk__buf_append_str(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
  spk__buf_append_str(b, field);
  spk__buf_append_char(b, '"');
  if (filename) {
    spk__buf_append_str(b, "; filename=\"");
    spk__buf_append_str(b, filename);
    spk__buf_append_char(b, '"');
  }
  spk__buf_append_str(b, "\r\n");
  if (ctype) {
    spk__buf_append_str(b, "Content-Type: ");
    spk__buf_append_str(b, ctype);
    spk__buf_append_str(b, "\r\n");
  }
  const spk_json_value_t *hdrs = fx_get(f, "headers");
  if (fx_is(hdrs, SPK_JSON_OBJECT))
    for (size_t i = 0; i < hdrs->u.object.len; i++) {
      const spk_json_member_t *m = &hdrs->u.object.members[i];
      if (m->value->type != SPK_JSON_STRING) continue;
      spk__buf_append_str(b, m->key.ptr);
      spk__buf_append_str(b, ": ");
      spk__buf_append_str(b, m->value->u.string.ptr);
      spk__buf_append_str(b, "\r\n");
    }
  spk__buf_append_str(b, "\r\n");
  const char *magic = fx_get_str(f, "magic_bytes");
  if (magic) {
    size_t n = strlen(magic);
    for (size_t i = 0; i + 1 < n; i += 2) {
      int hi = hexval(magic[i]), lo = hexval(magic[i + 1]);
      if (hi < 0 || lo < 0) {
        snprintf(err, errlen, "request.files magic_bytes is not hex");
        return -1;
      }
      spk__buf_append_char(b, (char)(hi * 16 + lo));
    }
  }
  const spk_json_value_t *content = fx_get(f, "content");
  if (fx_is(content, SPK_JSON_STRING)) spk__buf_append(b, content->u.string.ptr, content->u.string.len);
  spk__buf_append_str(b, "\r\n");
  return 0;
}

/* Standard base64 (RFC 4648, padding optional) appended to b; -1 on a bad character. */
int fx_base64_decode(spk__buf_t *b, const char *s) {
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++) {
    const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(abc, *s);
    if (!p) return -1;
    acc = (acc << 6) | (unsigned)(p - abc);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      spk__buf_append_char(b, (char)((acc >> bits) & 0xff));
    }
  }
  return 0;
}

static void header_line(spk__buf_t *b, const char *name, const char *value, size_t vlen) {
  spk__buf_append_str(b, name);
  spk__buf_append_str(b, ": ");
  spk__buf_append(b, value, vlen);
  spk__buf_append_str(b, "\r\n");
}

int fx_request_build(fx_fixture_t *fx, const char *host, fx_request_t *out, char *err,
                     size_t errlen) {
  spk__arena_t *a = &fx->arena;
  const spk_json_value_t *rq = fx->request;
  memset(out, 0, sizeof(*out));
  const char *method = fx_get_str(rq, "method");
  const char *path = fx_get_str(rq, "path");
  spk__buf_t *b = &out->bytes;
  out->is_head = strcmp(method, "HEAD") == 0;

  /* Request line. */
  spk__buf_append_str(b, method);
  spk__buf_append_char(b, ' ');
  target_encode(b, path, strlen(path));
  if (!strchr(path, '?')) {
    const char *qs = fx_get_str(rq, "query_string");
    const spk_json_value_t *qp = fx_get(rq, "query_params");
    if (qs && *qs) {
      spk__buf_append_char(b, '?');
      target_encode(b, qs, strlen(qs));
    } else if (fx_is(qp, SPK_JSON_OBJECT) && qp->u.object.len) {
      spk__buf_t q = {0};
      encode_pairs(a, &q, qp);
      if (q.len) {
        spk__buf_append_char(b, '?');
        spk__buf_append(b, q.data, q.len);
      }
      spk__buf_free(&q);
    }
  }
  spk__buf_append_str(b, " HTTP/1.1\r\n");

  /* Body first (it decides the default Content-Type). */
  spk__buf_t body = {0};
  const char *default_ct = NULL;
  char *ct_alloc = NULL;
  const spk_json_value_t *files = fx_get(rq, "files");
  const spk_json_value_t *data = fx_get(rq, "data");
  const spk_json_value_t *form = fx_get(rq, "form_data");
  const char *req_ct = fx_get_str(rq, "content_type");
  const spk_json_value_t *jbody = fx_get(rq, "body");
  const char *body_b64 = fx_get_str(rq, "body_base64");
  int rc = 0;
  if (files || data || (req_ct && strncasecmp(req_ct, "multipart/", 10) == 0)) {
    const spk_json_value_t *groups[2] = {data, form};
    for (size_t g = 0; g < 2; g++)
      if (fx_is(groups[g], SPK_JSON_OBJECT))
        for (size_t i = 0; i < groups[g]->u.object.len; i++)
          multipart_field(a, &body, groups[g]->u.object.members[i].key.ptr,
                          groups[g]->u.object.members[i].value);
    if (fx_is(files, SPK_JSON_ARRAY))
      for (size_t i = 0; i < files->u.array.len && rc == 0; i++)
        rc = multipart_file(&body, files->u.array.items[i], err, errlen);
    spk__buf_append_str(&body, "--" BOUNDARY "--\r\n");
    const char *base = req_ct ? req_ct : "multipart/form-data";
    size_t n = strlen(base) + sizeof("; boundary=" BOUNDARY);
    ct_alloc = spk__arena_alloc(a, n);
    if (ct_alloc) {
      if (strstr(base, "boundary="))
        snprintf(ct_alloc, n, "%s", base);
      else
        snprintf(ct_alloc, n, "%s; boundary=" BOUNDARY, base);
    }
    default_ct = ct_alloc;
  } else if (fx_is(form, SPK_JSON_OBJECT)) {
    encode_pairs(a, &body, form);
    default_ct = req_ct ? req_ct : "application/x-www-form-urlencoded";
  } else if (body_b64) {
    if (fx_base64_decode(&body, body_b64) != 0) {
      snprintf(err, errlen, "request.body_base64 is not base64");
      rc = -1;
    }
    default_ct = req_ct;
  } else if (jbody && jbody->type == SPK_JSON_STRING) {
    spk__buf_append(&body, jbody->u.string.ptr, jbody->u.string.len);
    default_ct = req_ct;
  } else if (jbody && jbody->type != SPK_JSON_NULL) {
    spk_json_write(&body, jbody, 0);
    default_ct = req_ct ? req_ct : no_default_ct(fx) ? NULL : "application/json";
  }
  if (rc != 0) {
    spk__buf_free(&body);
    spk__buf_free(b);
    return -1;
  }

  /* Headers. */
  int has_host = 0, has_ct = 0, has_te = 0;
  long long declared_len = -1;
  const spk_json_value_t *hdrs = fx_get(rq, "headers");
  if (fx_is(hdrs, SPK_JSON_OBJECT))
    for (size_t i = 0; i < hdrs->u.object.len; i++) {
      const spk_json_member_t *m = &hdrs->u.object.members[i];
      size_t vlen;
      const char *v = scalar_text(a, m->value, &vlen);
      if (!v) continue;
      if (strcasecmp(m->key.ptr, "host") == 0) has_host = 1;
      if (strcasecmp(m->key.ptr, "content-type") == 0) has_ct = 1;
      if (strcasecmp(m->key.ptr, "transfer-encoding") == 0) has_te = 1;
      if (strcasecmp(m->key.ptr, "content-length") == 0) declared_len = strtoll(v, NULL, 10);
      header_line(b, m->key.ptr, v, vlen);
    }
  if (!has_host) header_line(b, "Host", host, strlen(host));
  const spk_json_value_t *cookies = fx_get(rq, "cookies");
  if (fx_is(cookies, SPK_JSON_OBJECT) && cookies->u.object.len) {
    spk__buf_t c = {0};
    for (size_t i = 0; i < cookies->u.object.len; i++) {
      size_t vlen;
      const char *v = scalar_text(a, cookies->u.object.members[i].value, &vlen);
      if (!v) continue;
      if (c.len) spk__buf_append_str(&c, "; ");
      spk__buf_append_str(&c, cookies->u.object.members[i].key.ptr);
      spk__buf_append_char(&c, '=');
      spk__buf_append(&c, v, vlen);
    }
    if (c.len) header_line(b, "Cookie", c.data, c.len);
    spk__buf_free(&c);
  }
  if (!has_ct && default_ct) header_line(b, "Content-Type", default_ct, strlen(default_ct));
  if (declared_len < 0 && !has_te &&
      (body.len || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))) {
    char num[32];
    snprintf(num, sizeof(num), "%zu", body.len);
    header_line(b, "Content-Length", num, strlen(num));
  }
  if (declared_len >= 0 && (size_t)declared_len > body.len) out->short_body = 1;
  spk__buf_append_str(b, "\r\n");
  spk__buf_append(b, body.data ? body.data : "", body.len);
  spk__buf_free(&body);
  if (!b->data) {
    snprintf(err, errlen, "out of memory building the request");
    return -1;
  }
  return 0;
}

void fx_request_free(fx_request_t *r) { spk__buf_free(&r->bytes); }
