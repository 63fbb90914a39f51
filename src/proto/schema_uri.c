/* URI reference resolution for JSON Schema identifiers (RFC 3986 §5.2). Only the syntax is
 * handled: no normalisation of case or percent-encoding beyond what §5.2 requires. */
#include <string.h>

#include "proto/schema_internal.h"
#include "spikard/common.h"
#include "util/alloc.h"

typedef struct uri_parts {
  const char *scheme, *authority, *path, *query, *fragment; /* NULL when undefined */
  size_t scheme_len, authority_len, path_len, query_len, fragment_len;
} uri_parts_t;

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t scheme_len(const char *s, size_t len) {
  if (len == 0 || !is_alpha(s[0])) return 0;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (c == ':') return i;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

int spk__sch_uri_has_scheme(const char *s, size_t len) { return scheme_len(s, len) > 0; }

size_t spk__sch_uri_strip_fragment(const char *uri, size_t len) {
  const char *h = memchr(uri, '#', len);
  return h ? (size_t)(h - uri) : len;
}

static void parse(const char *s, size_t len, uri_parts_t *u) {
  memset(u, 0, sizeof(*u));
  size_t i = 0;
  size_t sl = scheme_len(s, len);
  if (sl) {
    u->scheme = s;
    u->scheme_len = sl;
    i = sl + 1;
  }
  if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t a = i + 2, e = a;
    while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#') e++;
    u->authority = s + a;
    u->authority_len = e - a;
    i = e;
  }
  size_t p = i;
  while (i < len && s[i] != '?' && s[i] != '#') i++;
  u->path = s + p;
  u->path_len = i - p;
  if (i < len && s[i] == '?') {
    size_t q = ++i;
    while (i < len && s[i] != '#') i++;
    u->query = s + q;
    u->query_len = i - q;
  }
  if (i < len && s[i] == '#') {
    u->fragment = s + i + 1;
    u->fragment_len = len - i - 1;
  }
}

/* remove_dot_segments (RFC 3986 §5.2.4) from in[0..n) into out (at least n bytes). */
static size_t remove_dots(const char *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  while (i < n) {
    size_t rest = n - i;
    const char *p = in + i;
    if (rest >= 3 && memcmp(p, "../", 3) == 0) {
      i += 3;
    } else if (rest >= 2 && memcmp(p, "./", 2) == 0) {
      i += 2;
    } else if (rest >= 3 && memcmp(p, "/./", 3) == 0) {
      i += 2; /* replace "/./" with "/" */
    } else if (rest == 2 && memcmp(p, "/.", 2) == 0) {
      i += 1; /* "/." at end → "/" : drop the '.', keep the '/' */
      out[o++] = '/';
      i += 1;
    } else if ((rest >= 4 && memcmp(p, "/../", 4) == 0) || (rest == 3 && memcmp(p, "/..", 3) == 0)) {
      /* remove the last output segment */
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      if (rest == 3) {
        out[o++] = '/';
        i += 3;
      } else {
        i += 3; /* leave the trailing '/' of "/../" as the start of the next segment */
      }
    } else if ((rest == 1 && p[0] == '.') || (rest == 2 && memcmp(p, "..", 2) == 0)) {
      i = n;
    } else {
      size_t j = i;
      if (in[j] == '/') j++;
      while (j < n && in[j] != '/') j++;
      memcpy(out + o, in + i, j - i);
      o += j - i;
      i = j;
    }
  }
  return o;
}

int spk__sch_uri_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                         char **out, size_t *out_len) {
  uri_parts_t b, r;
  parse(base, base_len, &b);
  parse(ref, ref_len, &r);
  /* Worst case: everything of both plus separators. */
  size_t cap = base_len + ref_len + 8;
  char *merged = spk__malloc(base_len + ref_len + 2);
  char *res = spk__malloc(cap);
  if (!merged || !res) {
    spk__free(merged);
    spk__free(res);
    return SPK_ENOMEM;
  }
  const char *scheme, *auth, *query, *path_src;
  size_t scheme_l, auth_l, query_l, path_src_l;
  int auth_def, query_def;
  if (r.scheme) {
    scheme = r.scheme, scheme_l = r.scheme_len;
    auth = r.authority, auth_l = r.authority_len, auth_def = r.authority != NULL;
    path_src = r.path, path_src_l = r.path_len;
    query = r.query, query_l = r.query_len, query_def = r.query != NULL;
  } else {
    scheme = b.scheme, scheme_l = b.scheme_len;
    if (r.authority) {
      auth = r.authority, auth_l = r.authority_len, auth_def = 1;
      path_src = r.path, path_src_l = r.path_len;
      query = r.query, query_l = r.query_len, query_def = r.query != NULL;
    } else {
      auth = b.authority, auth_l = b.authority_len, auth_def = b.authority != NULL;
      if (r.path_len == 0) {
        path_src = b.path, path_src_l = b.path_len;
        if (r.query) {
          query = r.query, query_l = r.query_len, query_def = 1;
        } else {
          query = b.query, query_l = b.query_len, query_def = b.query != NULL;
        }
      } else {
        query = r.query, query_l = r.query_len, query_def = r.query != NULL;
        if (r.path[0] == '/') {
          path_src = r.path, path_src_l = r.path_len;
        } else {
          size_t m = 0;
          if (b.authority && b.path_len == 0) {
            merged[m++] = '/';
          } else {
            size_t last = 0;
            int found = 0;
            for (size_t k = 0; k < b.path_len; k++)
              if (b.path[k] == '/') last = k, found = 1;
            if (found) {
              memcpy(merged, b.path, last + 1);
              m = last + 1;
            }
          }
          memcpy(merged + m, r.path, r.path_len);
          m += r.path_len;
          path_src = merged, path_src_l = m;
        }
      }
    }
  }
  size_t o = 0;
  if (scheme) {
    memcpy(res + o, scheme, scheme_l);
    o += scheme_l;
    res[o++] = ':';
  }
  if (auth_def) {
    res[o++] = '/';
    res[o++] = '/';
    memcpy(res + o, auth, auth_l);
    o += auth_l;
  }
  /* Dot removal applies to absolute paths and to merged ones; a rootless path of an opaque
   * URI (urn:…) has no dot segments worth removing but the algorithm is harmless there. */
  o += remove_dots(path_src, path_src_l, res + o);
  if (query_def) {
    res[o++] = '?';
    memcpy(res + o, query, query_l);
    o += query_l;
  }
  if (r.fragment) {
    res[o++] = '#';
    memcpy(res + o, r.fragment, r.fragment_len);
    o += r.fragment_len;
  }
  res[o] = '\0';
  spk__free(merged);
  *out = res;
  *out_len = o;
  return 0;
}
