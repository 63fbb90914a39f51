/* Fixture runner — handler.middleware → the core's spk_app_configure document.
 *
 * The fixture sections mostly are the core's sections. What differs is listed in `sections`:
 * a section the runner plays itself (lifecycle_hooks: fx_hooks.c) is dropped, and a section
 * with runner directives (warm-up requests, handler sleeps, files to materialize) goes through
 * its translator, which returns the core's part of it. */
#include <stdio.h>
#include <string.h>

#include "fx.h"

/* Returns the JSON text of the core section (arena), "" to drop it, NULL + err on failure. */
typedef const char *(*fx_section_fn)(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                                     size_t errlen);

static const char *drop(fx_fixture_t *fx, const spk_json_value_t *v, char *err, size_t errlen) {
  (void)fx, (void)v, (void)err, (void)errlen;
  return "";
}

/* request_timeout: the core's part; sleep_ms is the handler's (fx_app.c). */
static const char *request_timeout(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                                   size_t errlen) {
  (void)err, (void)errlen;
  const spk_json_value_t *sec = fx_get(v, "seconds");
  if (!sec) return fx_json_text(&fx->arena, v, NULL);
  char *text = fx_json_text(&fx->arena, sec, NULL);
  char *out = text ? spk__arena_alloc(&fx->arena, strlen(text) + 16) : NULL;
  if (out) sprintf(out, "{\"seconds\":%s}", text);
  return out;
}

static const struct {
  const char *key;
  fx_section_fn fn; /* NULL: passed through as is */
} sections[] = {
    {"lifecycle_hooks", drop}, /* fx_hooks.c */
    {"body_limit", drop},      /* a route section: fx_app.c */
    {"request_timeout", request_timeout},
};

const char *fx_mw_config(fx_fixture_t *fx, const spk_json_value_t *mw, char *err,
                         size_t errlen) {
  spk__arena_t *a = &fx->arena;
  spk__buf_t b = {0};
  size_t kept = 0;
  spk__buf_append_char(&b, '{');
  for (size_t i = 0; i < mw->u.object.len; i++) {
    const spk_json_member_t *m = &mw->u.object.members[i];
    const char *text = NULL;
    fx_section_fn fn = NULL;
    for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
      if (strcmp(m->key.ptr, sections[k].key) == 0) fn = sections[k].fn;
    if (fn) {
      text = fn(fx, m->value, err, errlen);
      if (!text) {
        spk__buf_free(&b);
        return NULL;
      }
      if (!text[0]) continue;
    } else {
      text = fx_json_text(a, m->value, NULL);
    }
    if (kept++) spk__buf_append_char(&b, ',');
    spk__buf_append_char(&b, '"');
    spk__buf_append_str(&b, m->key.ptr);
    spk__buf_append_str(&b, "\":");
    spk__buf_append_str(&b, text ? text : "null");
  }
  spk__buf_append_char(&b, '}');
  const char *out = kept ? spk__arena_strndup(a, b.data, b.len) : "";
  spk__buf_free(&b);
  if (!out) snprintf(err, errlen, "out of memory");
  return out;
}
