/* Media types (RFC 9110 §8.3.1, §5.6.2 tokens, §5.6.4 quoted strings, §5.6.6 parameters).
 *
 *   media-type = type "/" subtype parameters
 *   parameters = *( OWS ";" OWS [ parameter ] )
 *   parameter  = parameter-name "=" parameter-value
 *   parameter-value = ( token / quoted-string )
 *
 * Strictness: no whitespace inside type/subtype or around "=", every byte must be ASCII
 * (obs-text is refused even inside quoted strings, as HTTP stacks that reject non-visible
 * header values do), and a parameter needs "=" and a non-empty value. Empty parameters
 * ("text/plain;", "a/b;;c=d") are allowed as the grammar allows them. Leading and trailing OWS
 * around the whole value are tolerated. */
#include "proto/mediatype.h"

#include <string.h>

#include "util/strutil.h"

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* qdtext minus obs-text: HTAB / SP / %x21 / %x23-5B / %x5D-7E */
static int is_qdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* quoted-pair second byte minus obs-text: HTAB / SP / VCHAR */
static int is_qpair_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c <= 0x7E); }

static size_t scan_token(const char *s, size_t i, size_t len) {
  while (i < len && spk__is_tchar((unsigned char)s[i])) i++;
  return i;
}

int spk_media_type_parse(const char *s, size_t len, spk_media_type_t *out) {
  if (!out) return SPK_EINVAL;
  memset(out, 0, sizeof(*out));
  if (!s) return SPK_EINVAL;
  spk__trim_ows(&s, &len);

  size_t i = scan_token(s, 0, len);
  if (i == 0 || i >= len || s[i] != '/') return SPK_EINVAL;
  out->type.ptr = s;
  out->type.len = i;
  size_t sub = ++i;
  i = scan_token(s, i, len);
  if (i == sub) return SPK_EINVAL;
  out->subtype.ptr = s + sub;
  out->subtype.len = i - sub;

  while (i < len) {
    /* OWS ";" OWS */
    while (i < len && is_ows(s[i])) i++;
    if (i >= len) break; /* unreachable after the outer trim, kept for clarity */
    if (s[i] != ';') return SPK_EINVAL;
    i++;
    while (i < len && is_ows(s[i])) i++;
    if (i >= len || s[i] == ';') continue; /* empty parameter */

    size_t name = i;
    i = scan_token(s, i, len);
    if (i == name || i >= len || s[i] != '=') return SPK_EINVAL;
    spk_str_t pname = {s + name, i - name};
    i++;

    spk_str_t pvalue;
    int escaped = 0;
    if (i < len && s[i] == '"') {
      size_t start = ++i;
      for (;;) {
        if (i >= len) return SPK_EINVAL; /* unterminated */
        unsigned char c = (unsigned char)s[i];
        if (c == '"') break;
        if (c == '\\') {
          if (i + 1 >= len || !is_qpair_char((unsigned char)s[i + 1])) return SPK_EINVAL;
          escaped = 1;
          i += 2;
          continue;
        }
        if (!is_qdtext(c)) return SPK_EINVAL;
        i++;
      }
      pvalue.ptr = s + start;
      pvalue.len = i - start;
      i++; /* closing quote */
    } else {
      size_t start = i;
      i = scan_token(s, i, len);
      if (i == start) return SPK_EINVAL;
      pvalue.ptr = s + start;
      pvalue.len = i - start;
    }
    /* After a parameter only OWS ";" or the end may follow. */
    if (i < len && !is_ows(s[i]) && s[i] != ';') return SPK_EINVAL;

    if (out->param_count >= SPK_MEDIATYPE_MAX_PARAMS) return SPK_EINVAL;
    spk_media_param_t *p = &out->params[out->param_count++];
    p->name = pname;
    p->value = pvalue;
    p->value_escaped = escaped;
  }
  return SPK_OK;
}

int spk_media_type_param(const spk_media_type_t *mt, const char *name, spk_str_t *value) {
  if (!mt || !name) return SPK_EINVAL;
  size_t nlen = strlen(name);
  for (size_t i = 0; i < mt->param_count; i++) {
    if (spk__strieq(mt->params[i].name.ptr, mt->params[i].name.len, name, nlen)) {
      if (value) *value = mt->params[i].value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}

size_t spk_media_param_unescape(char *dst, const char *src, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '\\' && i + 1 < len) i++;
    dst[o++] = src[i];
  }
  return o;
}

int spk_media_type_is_json(const spk_media_type_t *mt) {
  if (!mt || !mt->type.ptr || !mt->subtype.ptr) return 0;
  if (spk_media_type_is(mt, "application", "json")) return 1;
  /* structured syntax suffix (RFC 6839): "<something>+json" under any type */
  size_t n = mt->subtype.len;
  return n > 5 && spk__strieq(mt->subtype.ptr + n - 5, 5, "+json", 5);
}

int spk_media_type_is(const spk_media_type_t *mt, const char *type, const char *subtype) {
  if (!mt || !type || !subtype || !mt->type.ptr || !mt->subtype.ptr) return 0;
  return spk__strieq(mt->type.ptr, mt->type.len, type, strlen(type)) &&
         spk__strieq(mt->subtype.ptr, mt->subtype.len, subtype, strlen(subtype));
}
