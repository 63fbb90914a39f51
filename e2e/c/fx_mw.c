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

/* rate_limit: warmup_requests, warmup_expect_status and sleep_ms_between are played by the
 * runner (fixture_runner.c play_warmup); the rest is the core's section. */
static const char *rate_limit(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                              size_t errlen) {
  static const char *const directives[] = {"warmup_requests", "warmup_expect_status",
                                           "sleep_ms_between"};
  if (!fx_is(v, SPK_JSON_OBJECT)) return fx_json_text(&fx->arena, v, NULL);
  spk__buf_t b = {0};
  size_t kept = 0;
  spk__buf_append_char(&b, '{');
  for (size_t i = 0; i < v->u.object.len; i++) {
    const spk_json_member_t *m = &v->u.object.members[i];
    int directive = 0;
    for (size_t k = 0; k < sizeof(directives) / sizeof(directives[0]); k++)
      directive |= strcmp(m->key.ptr, directives[k]) == 0;
    if (directive) continue;
    if (kept++) spk__buf_append_char(&b, ',');
    spk_json_write_string(&b, m->key.ptr, m->key.len);
    spk__buf_append_char(&b, ':');
    const char *t = fx_json_text(&fx->arena, m->value, NULL);
    spk__buf_append_str(&b, t ? t : "null");
  }
  spk__buf_append_char(&b, '}');
  const char *out = spk__arena_strndup(&fx->arena, b.data, b.len);
  spk__buf_free(&b);
  if (!out) snprintf(err, errlen, "out of memory");
  return out;
}

static const struct {
  const char *key;
  fx_section_fn fn; /* NULL: passed through as is */
} sections[] = {
    {"lifecycle_hooks", drop}, /* fx_hooks.c */
    {"body_limit", drop},      /* a route section: fx_app.c */
    {"rate_limit", rate_limit},
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
