/* multipart/form-data (RFC 7578 over RFC 2046 §5.1.1): an incremental parser.
 *
 * Body grammar (CRLF line ends, strictly):
 *   preamble  "--" boundary *(SP/HTAB) CRLF
 *   headers CRLF  data  CRLF "--" boundary *(SP/HTAB) CRLF  headers CRLF  data ...
 *   CRLF "--" boundary "--"  epilogue
 * The delimiter is searched as "\r\n--boundary"; the very first one may start the body without
 * the CRLF (the parser starts as though a CRLF had just been seen). A delimiter must be
 * followed by transport padding and CRLF, or by "--" (the close delimiter); anything else is an
 * error, since RFC 2046 forbids the boundary at the start of a line inside a part.
 *
 * Data is reported as soon as it is certain not to belong to a delimiter. The only bytes ever
 * held back are a partial match of the delimiter, and a partial match is, by definition, a prefix
 * of the delimiter, so the parser keeps just the match length, never a copy: on a mismatch the
 * held bytes are reported straight from the parser's copy of the delimiter. Because "\r" occurs
 * only at the delimiter's first position (bchars exclude CR), a mismatch can restart the match
 * only at the current byte, which makes the search linear without a KMP table.
 *
 * Part headers are accumulated in an arena buffer (bounded by max_part_headers, reused across
 * parts), parsed when the blank line arrives, and handed to on_part_begin. */
#include "proto/multipart.h"

#include <stdint.h>
#include <string.h>

#include "util/strutil.h"

enum {
  S_PREAMBLE = 0,  /* searching the first delimiter; bytes are discarded */
  S_AFTER_DELIM,   /* just after "--boundary": "--", padding or CRLF */
  S_AFTER_DASH,    /* seen "--boundary-" */
  S_PADDING,       /* transport padding after the boundary */
  S_AFTER_CR,      /* CR after boundary (and padding) */
  S_HEADERS,       /* accumulating a part's header block */
  S_DATA,          /* part body, searching the next delimiter */
  S_DONE,          /* close delimiter seen; epilogue ignored */
  S_ERROR
};

#define DEFAULT_MAX_PARTS 1000
#define DEFAULT_MAX_HEADERS 16384
#define DEFAULT_MAX_BOUNDARY 200

struct spk_multipart_parser {
  spk__arena_t *arena;
  spk_multipart_callbacks_t cb;
  void *ud;
  size_t max_parts;
  size_t max_headers;

  char *delim; /* "\r\n--" boundary */
  size_t delim_len;
  size_t match; /* bytes of delim matched so far */

  int state;
  size_t parts;

  char *hbuf; /* current part's header block */
  size_t hlen, hcap;
  char *dbuf; /* decoded Content-Disposition parameter values */
  size_t dcap;
  spk_multipart_header_t *hdrs;
  size_t hdr_cap;

  int err;
  const char *errmsg;
};

/* RFC 2046 bcharsnospace / " " */
static int is_bchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return c && strchr("'()+_,-./:=? ", c) != NULL;
}

static int boundary_valid(const char *b, size_t len, size_t max) {
  if (!b || len == 0 || len > max) return 0;
  for (size_t i = 0; i < len; i++)
    if (!is_bchar((unsigned char)b[i])) return 0;
  return b[len - 1] != ' ';
}

static size_t max_boundary_of(const spk_multipart_limits_t *l) {
  return l && l->max_boundary ? l->max_boundary : DEFAULT_MAX_BOUNDARY;
}

spk_multipart_parser_t *spk_multipart_parser_new(spk__arena_t *arena, const char *boundary,
                                                 size_t boundary_len,
                                                 const spk_multipart_limits_t *limits,
                                                 const spk_multipart_callbacks_t *cb, void *ud) {
  if (!arena || !boundary_valid(boundary, boundary_len, max_boundary_of(limits))) return NULL;
  spk_multipart_parser_t *p = spk__arena_calloc(arena, sizeof(*p));
  if (!p) return NULL;
  p->delim = spk__arena_alloc(arena, boundary_len + 4);
  if (!p->delim) return NULL;
  memcpy(p->delim, "\r\n--", 4);
  memcpy(p->delim + 4, boundary, boundary_len);
  p->delim_len = boundary_len + 4;
  p->match = 2; /* the body start counts as a line start */
  p->arena = arena;
  if (cb) p->cb = *cb;
  p->ud = ud;
  p->max_parts = limits && limits->max_parts ? limits->max_parts : DEFAULT_MAX_PARTS;
  p->max_headers =
      limits && limits->max_part_headers ? limits->max_part_headers : DEFAULT_MAX_HEADERS;
  p->state = S_PREAMBLE;
  return p;
}

static int fail(spk_multipart_parser_t *p, int code, const char *msg) {
  p->state = S_ERROR;
  p->err = code;
  p->errmsg = msg;
  return code;
}

/* Report part data; a callback's negative return stops the parse. */
static int emit(spk_multipart_parser_t *p, const char *d, size_t n) {
  if (n == 0 || !p->cb.on_part_data) return 0;
  int rc = p->cb.on_part_data(p->ud, d, n);
  return rc < 0 ? fail(p, rc, "aborted by callback") : 0;
}

/* ---- header block ----------------------------------------------------------------------- */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) need = 1, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 2, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 3, min = 0x10000;
    else return 0;
    if (n - i <= need) return 0;
    unsigned cp = c & (0x3Fu >> need);
    for (size_t k = 1; k <= need; k++) {
      unsigned cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += need + 1;
  }
  return 1;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* RFC 8187 ext-value: charset "'" [ language ] "'" value-chars. Decodes UTF-8 values in place;
 * returns 1 with *out set, 0 when the value is malformed or in another charset (then ignored). */
static int ext_value_decode(char *v, size_t len, spk_str_t *out) {
  char *q1 = memchr(v, '\'', len);
  if (!q1) return 0;
  size_t cs_len = (size_t)(q1 - v);
  if (!spk__strieq(v, cs_len, "UTF-8", 5)) return 0;
  char *rest = q1 + 1;
  size_t rest_len = len - cs_len - 1;
  char *q2 = memchr(rest, '\'', rest_len);
  if (!q2) return 0;
  char *val = q2 + 1;
  size_t vlen = rest_len - (size_t)(val - rest);
  size_t o = 0;
  for (size_t i = 0; i < vlen; i++) {
    if (val[i] == '%') {
      int h = i + 2 < vlen ? hexval(val[i + 1]) : -1;
      int l = h >= 0 ? hexval(val[i + 2]) : -1;
      if (h < 0 || l < 0) return 0;
      val[o++] = (char)(h * 16 + l);
      i += 2;
    } else {
      val[o++] = val[i];
    }
  }
  if (!utf8_valid((const unsigned char *)val, o)) return 0;
  out->ptr = val;
  out->len = o;
  return 1;
}

/* Parse a Content-Disposition value into name / filename (decoded into p->dbuf). */
static int parse_disposition(spk_multipart_parser_t *p, const char *s, size_t len,
                             spk_multipart_part_info_t *info) {
  if (p->dcap < len + 1) {
    char *nb = spk__arena_alloc(p->arena, len + 1);
    if (!nb) return fail(p, SPK_ENOMEM, "out of memory");
    p->dbuf = nb;
    p->dcap = len + 1;
  }
  size_t dlen = 0;
  int have_name = 0, have_fn = 0, have_fn_ext = 0;
  spk_str_t fn = {NULL, 0}, fn_ext = {NULL, 0};

  size_t i = 0;
  while (i < len && spk__is_tchar((unsigned char)s[i])) i++;
  if (!spk__strieq(s, i, "form-data", 9))
    return fail(p, SPK_EPROTO, "Content-Disposition is not form-data");
  for (;;) {
    while (i < len && is_ows(s[i])) i++;
    if (i >= len) break;
    if (s[i] != ';') return fail(p, SPK_EPROTO, "malformed Content-Disposition");
    i++;
    while (i < len && is_ows(s[i])) i++;
    if (i >= len || s[i] == ';') continue;
    size_t pn = i;
    while (i < len && spk__is_tchar((unsigned char)s[i])) i++;
    size_t pn_len = i - pn;
    while (i < len && is_ows(s[i])) i++;
    if (pn_len == 0 || i >= len || s[i] != '=')
      return fail(p, SPK_EPROTO, "malformed Content-Disposition");
    i++;
    while (i < len && is_ows(s[i])) i++;

    char *v = p->dbuf + dlen;
    size_t vlen = 0;
    if (i < len && s[i] == '"') {
      /* quoted-string; only \" and \\ are unescaped, any other backslash is kept as is
       * (browsers send Windows paths and names unescaped) */
      i++;
      for (;;) {
        if (i >= len) return fail(p, SPK_EPROTO, "unterminated quoted string in Content-Disposition");
        char c = s[i];
        if (c == '"') break;
        if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
          v[vlen++] = s[i + 1];
          i += 2;
          continue;
        }
        v[vlen++] = c;
        i++;
      }
      i++;
      while (i < len && is_ows(s[i])) i++;
      if (i < len && s[i] != ';') return fail(p, SPK_EPROTO, "malformed Content-Disposition");
    } else {
      size_t start = i;
      while (i < len && s[i] != ';' && s[i] != '"') i++;
      if (i < len && s[i] == '"') return fail(p, SPK_EPROTO, "malformed Content-Disposition");
      size_t end = i;
      while (end > start && is_ows(s[end - 1])) end--;
      if (end == start) return fail(p, SPK_EPROTO, "malformed Content-Disposition");
      vlen = end - start;
      memcpy(v, s + start, vlen);
    }
    dlen += vlen;

    const char *pname = s + pn;
    if (spk__strieq(pname, pn_len, "name", 4)) {
      if (have_name) return fail(p, SPK_EPROTO, "duplicate name in Content-Disposition");
      have_name = 1;
      info->name.ptr = v;
      info->name.len = vlen;
    } else if (spk__strieq(pname, pn_len, "filename", 8)) {
      if (have_fn) return fail(p, SPK_EPROTO, "duplicate filename in Content-Disposition");
      have_fn = 1;
      fn.ptr = v;
      fn.len = vlen;
    } else if (spk__strieq(pname, pn_len, "filename*", 9)) {
      if (have_fn_ext) return fail(p, SPK_EPROTO, "duplicate filename* in Content-Disposition");
      have_fn_ext = 1;
      if (!ext_value_decode(v, vlen, &fn_ext)) fn_ext.ptr = NULL;
    }
  }
  if (!have_name) return fail(p, SPK_EPROTO, "missing name in Content-Disposition");
  if (fn_ext.ptr) {
    info->filename = fn_ext;
  } else if (have_fn) {
    info->filename = fn;
  }
  return 0;
}

static int header_value_ok(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7F) return 0;
  }
  return 1;
}

/* The block is hbuf[0..blen) without its final CRLF CRLF (blen 0: no header at all). */
static int process_headers(spk_multipart_parser_t *p, size_t blen) {
  char *b = p->hbuf;
  /* obs-fold (CRLF followed by SP/HTAB) becomes spaces */
  for (size_t k = 0; k + 2 < blen; k++)
    if (b[k] == '\r' && b[k + 1] == '\n' && is_ows(b[k + 2])) b[k] = b[k + 1] = ' ';

  size_t n = 0;
  size_t i = 0;
  while (i < blen) {
    char *line = b + i;
    char *eol = NULL;
    for (size_t k = i; k + 1 < blen; k++)
      if (b[k] == '\r' && b[k + 1] == '\n') {
        eol = b + k;
        break;
      }
    size_t llen = eol ? (size_t)(eol - line) : blen - i;
    i += llen + (eol ? 2 : 0);

    char *colon = memchr(line, ':', llen);
    if (!colon || colon == line) return fail(p, SPK_EPROTO, "invalid part header");
    size_t nlen = (size_t)(colon - line);
    for (size_t k = 0; k < nlen; k++)
      if (!spk__is_tchar((unsigned char)line[k])) return fail(p, SPK_EPROTO, "invalid part header");
    const char *val = colon + 1;
    size_t vlen = llen - nlen - 1;
    spk__trim_ows(&val, &vlen);
    if (!header_value_ok(val, vlen)) return fail(p, SPK_EPROTO, "invalid part header");

    if (n == p->hdr_cap) {
      size_t nc = p->hdr_cap ? p->hdr_cap * 2 : 8;
      spk_multipart_header_t *nh = spk__arena_alloc(p->arena, nc * sizeof(*nh));
      if (!nh) return fail(p, SPK_ENOMEM, "out of memory");
      if (n) memcpy(nh, p->hdrs, n * sizeof(*nh));
      p->hdrs = nh;
      p->hdr_cap = nc;
    }
    p->hdrs[n].name.ptr = line;
    p->hdrs[n].name.len = nlen;
    p->hdrs[n].value.ptr = val;
    p->hdrs[n].value.len = vlen;
    n++;
  }

  spk_multipart_part_info_t info;
  memset(&info, 0, sizeof(info));
  info.headers = p->hdrs;
  info.header_count = n;
  const spk_multipart_header_t *cd = NULL, *ct = NULL;
  for (size_t k = 0; k < n; k++) {
    const spk_str_t *hn = &p->hdrs[k].name;
    if (spk__strieq(hn->ptr, hn->len, "Content-Disposition", 19)) {
      if (cd) return fail(p, SPK_EPROTO, "duplicate Content-Disposition");
      cd = &p->hdrs[k];
    } else if (spk__strieq(hn->ptr, hn->len, "Content-Type", 12)) {
      if (ct) return fail(p, SPK_EPROTO, "duplicate Content-Type");
      ct = &p->hdrs[k];
    }
  }
  if (!cd) return fail(p, SPK_EPROTO, "missing Content-Disposition");
  int rc = parse_disposition(p, cd->value.ptr, cd->value.len, &info);
  if (rc) return rc;
  if (ct) info.content_type = ct->value;

  if (p->cb.on_part_begin) {
    rc = p->cb.on_part_begin(p->ud, &info);
    if (rc < 0) return fail(p, rc, "aborted by callback");
  }
  return 0;
}

static int header_byte(spk_multipart_parser_t *p, char c) {
  if (p->hlen >= p->max_headers) return fail(p, SPK_ERANGE, "part headers too large");
  if (p->hlen == p->hcap) {
    size_t nc = p->hcap ? p->hcap * 2 : 256;
    if (nc > p->max_headers) nc = p->max_headers;
    char *nb = spk__arena_alloc(p->arena, nc);
    if (!nb) return fail(p, SPK_ENOMEM, "out of memory");
    if (p->hlen) memcpy(nb, p->hbuf, p->hlen);
    p->hbuf = nb;
    p->hcap = nc;
  }
  p->hbuf[p->hlen++] = c;
  return 0;
}

/* ---- delimiter search ------------------------------------------------------------------- */

/* Scan d[*pos..len) for the delimiter. Returns 1 when it completed (with *pos just past it),
 * 0 when the input ran out, or a negative error. Bytes known not to be part of a delimiter are
 * reported when `report` is set. */
static int scan(spk_multipart_parser_t *p, const char *d, size_t len, size_t *pos, int report) {
  size_t i = *pos;
  const char *delim = p->delim;
  int rc;
  while (i < len) {
    if (p->match == 0) {
      const char *cr = memchr(d + i, '\r', len - i);
      size_t end = cr ? (size_t)(cr - d) : len;
      if (report && (rc = emit(p, d + i, end - i)) != 0) return rc;
      if (!cr) {
        i = len;
        break;
      }
      p->match = 1;
      i = end + 1;
      continue;
    }
    if (d[i] == delim[p->match]) {
      i++;
      if (++p->match == p->delim_len) {
        p->match = 0;
        *pos = i;
        return 1;
      }
      continue;
    }
    /* Mismatch: the held prefix was data after all (in the preamble the initial virtual CRLF
     * is never reported, nor is anything else). */
    if (report && (rc = emit(p, delim, p->match)) != 0) return rc;
    p->match = 0;
    if (d[i] == '\r') {
      p->match = 1;
      i++;
    }
  }
  *pos = i;
  return 0;
}

int spk_multipart_feed(spk_multipart_parser_t *p, const char *data, size_t len,
                       const char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (!p) return SPK_EINVAL;
  if (p->state == S_ERROR) {
    if (errmsg) *errmsg = p->errmsg;
    return p->err;
  }
  if (p->state == S_DONE) return 1;
  if (!data && len) return SPK_EINVAL;

  int rc = 0;
  size_t i = 0;
  while (i < len && rc == 0) {
    char c = data[i];
    switch (p->state) {
      case S_PREAMBLE:
        rc = scan(p, data, len, &i, 0);
        if (rc == 1) {
          p->state = S_AFTER_DELIM;
          rc = 0;
        }
        break;
      case S_DATA:
        rc = scan(p, data, len, &i, 1);
        if (rc == 1) {
          rc = 0;
          p->state = S_AFTER_DELIM;
          if (p->cb.on_part_end) {
            int r = p->cb.on_part_end(p->ud);
            if (r < 0) rc = fail(p, r, "aborted by callback");
          }
        }
        break;
      case S_AFTER_DELIM:
        i++;
        if (c == '-') p->state = S_AFTER_DASH;
        else if (is_ows(c)) p->state = S_PADDING;
        else if (c == '\r') p->state = S_AFTER_CR;
        else rc = fail(p, SPK_EPROTO, "unexpected data after boundary");
        break;
      case S_AFTER_DASH:
        i++;
        if (c == '-') {
          p->state = S_DONE;
          rc = 1;
        } else {
          rc = fail(p, SPK_EPROTO, "unexpected data after boundary");
        }
        break;
      case S_PADDING:
        i++;
        if (c == '\r') p->state = S_AFTER_CR;
        else if (!is_ows(c)) rc = fail(p, SPK_EPROTO, "unexpected data after boundary");
        break;
      case S_AFTER_CR:
        i++;
        if (c != '\n') {
          rc = fail(p, SPK_EPROTO, "unexpected data after boundary");
        } else if (p->parts >= p->max_parts) {
          rc = fail(p, SPK_ERANGE, "too many parts");
        } else {
          p->parts++;
          p->hlen = 0;
          p->state = S_HEADERS;
        }
        break;
      case S_HEADERS:
        i++;
        if ((rc = header_byte(p, c)) != 0) break;
        if (p->hlen == 2 && p->hbuf[0] == '\r' && p->hbuf[1] == '\n') {
          rc = process_headers(p, 0);
        } else if (p->hlen >= 4 && c == '\n' && memcmp(p->hbuf + p->hlen - 4, "\r\n\r\n", 4) == 0) {
          rc = process_headers(p, p->hlen - 4);
        } else {
          break;
        }
        if (rc == 0) {
          p->state = S_DATA;
          p->match = 0;
        }
        break;
      default: /* S_DONE / S_ERROR are handled above */
        i = len;
        break;
    }
  }
  if (rc < 0 && errmsg) *errmsg = p->errmsg;
  return rc;
}

int spk_multipart_finish(spk_multipart_parser_t *p, const char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (!p) return SPK_EINVAL;
  int rc;
  switch (p->state) {
    case S_DONE:
      return 0;
    case S_ERROR:
      rc = p->err;
      break;
    case S_PREAMBLE:
      rc = fail(p, SPK_EPROTO, "missing opening boundary");
      break;
    default:
      rc = fail(p, SPK_EPROTO, "unexpected end of data");
      break;
  }
  if (errmsg) *errmsg = p->errmsg;
  return rc;
}

/* ---- whole-body convenience ------------------------------------------------------------- */

typedef struct collector {
  spk__arena_t *a;
  spk_multipart_part_t *parts;
  size_t count, cap;
  char *data;
  size_t len, dcap;
} collector_t;

static int copy_str(spk__arena_t *a, spk_str_t *dst, spk_str_t src) {
  if (!src.ptr) {
    dst->ptr = NULL;
    dst->len = 0;
    return 0;
  }
  char *c = spk__arena_strndup(a, src.ptr, src.len);
  if (!c) return SPK_ENOMEM;
  dst->ptr = c;
  dst->len = src.len;
  return 0;
}

static int collect_begin(void *ud, const spk_multipart_part_info_t *info) {
  collector_t *c = ud;
  if (c->count == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 4;
    spk_multipart_part_t *np = spk__arena_alloc(c->a, nc * sizeof(*np));
    if (!np) return SPK_ENOMEM;
    if (c->count) memcpy(np, c->parts, c->count * sizeof(*np));
    c->parts = np;
    c->cap = nc;
  }
  spk_multipart_part_t *part = &c->parts[c->count];
  memset(part, 0, sizeof(*part));
  if (copy_str(c->a, &part->info.name, info->name) ||
      copy_str(c->a, &part->info.filename, info->filename) ||
      copy_str(c->a, &part->info.content_type, info->content_type))
    return SPK_ENOMEM;
  if (info->header_count) {
    spk_multipart_header_t *h = spk__arena_alloc(c->a, info->header_count * sizeof(*h));
    if (!h) return SPK_ENOMEM;
    for (size_t k = 0; k < info->header_count; k++)
      if (copy_str(c->a, &h[k].name, info->headers[k].name) ||
          copy_str(c->a, &h[k].value, info->headers[k].value))
        return SPK_ENOMEM;
    part->info.headers = h;
    part->info.header_count = info->header_count;
  }
  c->count++;
  c->data = NULL;
  c->len = c->dcap = 0;
  return 0;
}

static int collect_data(void *ud, const char *d, size_t n) {
  collector_t *c = ud;
  if (c->dcap - c->len <= n) { /* room for n bytes plus the final NUL */
    if (n >= SIZE_MAX / 4 - c->len) return SPK_ENOMEM;
    size_t need = c->len + n + 1;
    size_t nc = c->dcap ? c->dcap * 2 : 256;
    while (nc < need) nc *= 2;
    char *nb = spk__arena_realloc(c->a, c->data, c->dcap, nc);
    if (!nb) return SPK_ENOMEM;
    c->data = nb;
    c->dcap = nc;
  }
  memcpy(c->data + c->len, d, n);
  c->len += n;
  return 0;
}

static int collect_end(void *ud) {
  collector_t *c = ud;
  spk_multipart_part_t *part = &c->parts[c->count - 1];
  if (!c->data) {
    c->data = spk__arena_strndup(c->a, "", 0);
    if (!c->data) return SPK_ENOMEM;
  } else {
    c->data[c->len] = '\0';
  }
  part->data.ptr = c->data;
  part->data.len = c->len;
  c->data = NULL;
  c->len = c->dcap = 0;
  return 0;
}

int spk_multipart_parse(spk__arena_t *arena, const char *body, size_t len, const char *boundary,
                        size_t boundary_len, const spk_multipart_limits_t *limits,
                        spk_multipart_part_t **parts, size_t *count, const char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (parts) *parts = NULL;
  if (count) *count = 0;
  if (!arena || !parts || !count || (!body && len)) return SPK_EINVAL;
  if (!boundary_valid(boundary, boundary_len, max_boundary_of(limits))) {
    if (errmsg) *errmsg = "invalid boundary";
    return SPK_EINVAL;
  }
  collector_t c;
  memset(&c, 0, sizeof(c));
  c.a = arena;
  spk_multipart_callbacks_t cb = {collect_begin, collect_data, collect_end};
  spk_multipart_parser_t *p = spk_multipart_parser_new(arena, boundary, boundary_len, limits, &cb, &c);
  if (!p) {
    if (errmsg) *errmsg = "out of memory";
    return SPK_ENOMEM;
  }
  int rc = spk_multipart_feed(p, body, len, errmsg);
  if (rc < 0) {
    if (rc == SPK_ENOMEM && errmsg) *errmsg = "out of memory";
    return rc;
  }
  rc = spk_multipart_finish(p, errmsg);
  if (rc < 0) return rc;
  *parts = c.parts;
  *count = c.count;
  return 0;
}
