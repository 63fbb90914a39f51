#include "core/verrors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void spk__verrs_init(spk__verrs_t *v, spk__arena_t *arena) {
  memset(v, 0, sizeof(*v));
  v->arena = arena;
}

static spk__verr_t *push(spk__verrs_t *v) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 4;
    spk__verr_t *n = spk__arena_realloc(v->arena, v->items, v->cap * sizeof(*n), cap * sizeof(*n));
    if (!n) {
      v->oom = 1;
      return NULL;
    }
    v->items = n;
    v->cap = cap;
  }
  spk__verr_t *e = &v->items[v->len];
  memset(e, 0, sizeof(*e));
  e->seq = v->len++;
  return e;
}

spk__verr_t *spk__verrs_add(spk__verrs_t *v, const char *type, const char *msg,
                            const char *loc0, const char *loc1, const spk_json_value_t *input) {
  spk__verr_t *e = push(v);
  if (!e) return NULL;
  const char **loc = spk__arena_alloc(v->arena, 2 * sizeof(*loc));
  if (!loc) {
    v->oom = 1;
    v->len--;
    return NULL;
  }
  loc[0] = loc0;
  loc[1] = loc1;
  e->type = type;
  e->msg = msg;
  e->loc = loc;
  e->loc_len = loc1 ? 2 : 1;
  e->input = input;
  return e;
}

/* Message template with one "%s" slot (our own constant templates; no printf parsing, so the
 * argument can never be read as a format). */
static char *fmt(spk__arena_t *a, const char *tmpl, const char *arg) {
  const char *slot = strstr(tmpl, "%s");
  if (!arg) arg = "";
  if (!slot) return spk__arena_strndup(a, tmpl, strlen(tmpl));
  size_t pre = (size_t)(slot - tmpl), alen = strlen(arg), post = strlen(slot + 2);
  char *s = spk__arena_alloc(a, pre + alen + post + 1);
  if (!s) return NULL;
  memcpy(s, tmpl, pre);
  memcpy(s + pre, arg, alen);
  memcpy(s + pre + alen, slot + 2, post + 1);
  return s;
}

/* Compact JSON text of a value ("5", "\"a\"") in the arena. */
static char *json_text(spk__arena_t *a, const spk_json_value_t *v) {
  spk__buf_t b = {0};
  if (!v || spk_json_write(&b, v, 0) != 0) {
    spk__buf_free(&b);
    return NULL;
  }
  char *s = spk__arena_strndup(a, b.data, b.len);
  spk__buf_free(&b);
  return s;
}

/* A number as pydantic prints limits: integers without a fraction. */
static char *number_text(spk__arena_t *a, const spk_json_value_t *v) {
  if (v && v->type == SPK_JSON_NUMBER && v->u.number.is_integer && v->u.number.value < 1e15 &&
      v->u.number.value > -1e15) {
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%.0f", v->u.number.value);
    return spk__arena_strndup(a, tmp, strlen(tmp));
  }
  return json_text(a, v);
}

static void ctx_set(spk__verrs_t *v, spk__verr_t *e, const char *key, spk_json_value_t *val) {
  if (!e || !val) return;
  if (!e->ctx) e->ctx = spk_json_new_object(v->arena, 2);
  if (!e->ctx || spk_json_object_set(v->arena, e->ctx, key, strlen(key), val)) v->oom = 1;
}

/* "'a', 'b' or 'c'" from an enum array. */
static char *enum_expected(spk__arena_t *a, const spk_json_value_t *arr) {
  spk__buf_t b = {0};
  size_t n = arr && arr->type == SPK_JSON_ARRAY ? arr->u.array.len : 0;
  for (size_t i = 0; i < n; i++) {
    if (i) spk__buf_append_str(&b, i + 1 == n ? " or " : ", ");
    const spk_json_value_t *it = arr->u.array.items[i];
    spk__buf_append_char(&b, '\'');
    if (it->type == SPK_JSON_STRING) spk__buf_append(&b, it->u.string.ptr, it->u.string.len);
    else spk_json_write(&b, it, 0);
    spk__buf_append_char(&b, '\'');
  }
  char *s = spk__arena_strndup(a, b.data ? b.data : "", b.len);
  spk__buf_free(&b);
  return s;
}

static const char *type_name(const spk_json_value_t *kv) {
  /* keyword_value of "type": a string or an array of strings; report the first. */
  if (kv && kv->type == SPK_JSON_ARRAY && kv->u.array.len) kv = kv->u.array.items[0];
  return kv && kv->type == SPK_JSON_STRING ? kv->u.string.ptr : "unknown";
}

void spk__verrs_add_schema(spk__verrs_t *v, const spk_schema_error_t *se, const char *loc0,
                           const char *loc1) {
  spk__arena_t *a = v->arena;
  spk__verr_t *e = push(v);
  if (!e) return;
  const char *kw = se->keyword ? se->keyword : "";
  const spk_json_value_t *kv = se->keyword_value;
  /* Location: prefix, then the instance path, then (required/additional) the property. */
  /* required/additionalProperties point at the property; dependency errors stay on the object
   * (reference json_bodies/49). */
  int with_prop = (strcmp(kw, "required") == 0 || strcmp(kw, "additionalProperties") == 0) &&
                  se->property.ptr;
  size_t n = (loc0 ? 1 : 0) + (loc1 ? 1 : 0) + se->path_len + (with_prop ? 1 : 0);
  const char **loc = spk__arena_alloc(a, (n ? n : 1) * sizeof(*loc));
  if (!loc) {
    v->oom = 1;
    v->len--;
    return;
  }
  size_t k = 0;
  if (loc0) loc[k++] = loc0;
  if (loc1) loc[k++] = loc1;
  for (size_t i = 0; i < se->path_len; i++) {
    const spk_schema_loc_t *p = &se->path[i];
    if (p->index >= 0) {
      char tmp[24];
      snprintf(tmp, sizeof(tmp), "%lld", p->index);
      loc[k++] = spk__arena_strndup(a, tmp, strlen(tmp));
    } else {
      loc[k++] = spk__arena_strndup(a, p->key.ptr, p->key.len);
    }
  }
  if (with_prop) loc[k++] = spk__arena_strndup(a, se->property.ptr, se->property.len);
  e->loc = loc;
  e->loc_len = k;
  e->input = se->instance;

  if (strcmp(kw, "required") == 0) {
    e->type = "missing";
    e->msg = "Field required";
  } else if (strcmp(kw, "type") == 0) {
    const char *t = type_name(kv);
    if (strcmp(t, "integer") == 0) {
      e->type = "int_parsing";
      e->msg = "Input should be a valid integer, unable to parse string as an integer";
    } else if (strcmp(t, "number") == 0) {
      e->type = "float_parsing";
      e->msg = "Input should be a valid number, unable to parse string as a number";
    } else if (strcmp(t, "boolean") == 0) {
      e->type = "bool_parsing";
      e->msg = "Input should be a valid boolean";
    } else if (strcmp(t, "string") == 0) {
      e->type = "string_type";
      e->msg = "Input should be a valid string";
    } else {
      e->type = "type_error";
      e->msg = fmt(a, "Input should be a valid %s", t);
    }
  } else if (strcmp(kw, "minLength") == 0 || strcmp(kw, "maxLength") == 0) {
    int min = kw[1] == 'i';
    e->type = min ? "string_too_short" : "string_too_long";
    e->msg = fmt(a, min ? "String should have at least %s characters"
                        : "String should have at most %s characters", number_text(a, kv));
    ctx_set(v, e, min ? "min_length" : "max_length", (spk_json_value_t *)kv);
  } else if (strcmp(kw, "pattern") == 0) {
    e->type = "string_pattern_mismatch";
    const char *re = kv && kv->type == SPK_JSON_STRING ? kv->u.string.ptr : "";
    e->msg = fmt(a, "String should match pattern '%s'", re);
    ctx_set(v, e, "pattern", (spk_json_value_t *)kv);
  } else if (strcmp(kw, "minimum") == 0 || strcmp(kw, "maximum") == 0 ||
             strcmp(kw, "exclusiveMinimum") == 0 || strcmp(kw, "exclusiveMaximum") == 0) {
    static const struct { const char *kw, *type, *msg, *ctx; } rows[] = {
        {"minimum", "greater_than_equal", "Input should be greater than or equal to %s", "ge"},
        {"maximum", "less_than_equal", "Input should be less than or equal to %s", "le"},
        {"exclusiveMinimum", "greater_than", "Input should be greater than %s", "gt"},
        {"exclusiveMaximum", "less_than", "Input should be less than %s", "lt"}};
    for (size_t i = 0; i < 4; i++) {
      if (strcmp(kw, rows[i].kw) != 0) continue;
      e->type = rows[i].type;
      e->msg = fmt(a, rows[i].msg, number_text(a, kv));
      ctx_set(v, e, rows[i].ctx, (spk_json_value_t *)kv);
    }
  } else if (strcmp(kw, "multipleOf") == 0) {
    e->type = "multiple_of";
    e->msg = fmt(a, "Input should be a multiple of %s", number_text(a, kv));
    ctx_set(v, e, "multiple_of", (spk_json_value_t *)kv);
  } else if (strcmp(kw, "enum") == 0) {
    e->type = "enum";
    char *expected = enum_expected(a, kv);
    e->msg = fmt(a, "Input should be %s", expected ? expected : "");
    ctx_set(v, e, "expected", spk_json_new_string(a, expected ? expected : "", expected ? strlen(expected) : 0));
  } else if (strcmp(kw, "minItems") == 0 || strcmp(kw, "maxItems") == 0) {
    int min = kw[1] == 'i';
    e->type = min ? "too_short" : "too_long";
    e->msg = fmt(a, min ? "List should have at least %s item after validation"
                        : "List should have at most %s items after validation", number_text(a, kv));
    ctx_set(v, e, min ? "min_length" : "max_length", (spk_json_value_t *)kv);
  } else if (strcmp(kw, "additionalProperties") == 0) {
    e->type = "validation_error";
    e->msg = "Additional properties are not allowed";
    ctx_set(v, e, "additional_properties", spk_json_new_bool(a, 0));
    ctx_set(v, e, "unexpected_field",
            spk_json_new_string(a, se->property.ptr ? se->property.ptr : "", se->property.len));
  } else if (strcmp(kw, "format") == 0) {
    const char *f = kv && kv->type == SPK_JSON_STRING ? kv->u.string.ptr : "";
    if (strcmp(f, "uuid") == 0) {
      e->type = "uuid_parsing";
      e->msg = "Input should be a valid UUID";
    } else if (strcmp(f, "date-time") == 0) {
      e->type = "datetime_parsing";
      e->msg = "Input should be a valid datetime";
    } else if (strcmp(f, "date") == 0) {
      e->type = "date_parsing";
      e->msg = "Input should be a valid date";
    } else if (strcmp(f, "time") == 0) {
      e->type = "time_parsing";
      e->msg = "Input should be a valid time";
    } else if (strcmp(f, "duration") == 0) {
      e->type = "duration_parsing";
      e->msg = "Input should be a valid duration";
    } else if (strcmp(f, "email") == 0) {
      /* The reference reports e-mail as a pattern mismatch with this pattern. */
      static const char email_re[] = "^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+$";
      e->type = "string_pattern_mismatch";
      e->msg = fmt(a, "String should match pattern '%s'", email_re);
      ctx_set(v, e, "pattern", spk_json_new_string(a, email_re, strlen(email_re)));
    } else {
      e->type = "format_error"; /* the validator's own words, as the reference does */
      e->msg = se->message ? se->message : fmt(a, "Input should be a valid %s", f);
    }
  } else {
    e->type = "validation_error";
    e->msg = se->message ? se->message : "Validation failed";
  }
  if (!e->msg) v->oom = 1;
}

static int loc_cmp(const void *pa, const void *pb) {
  const spk__verr_t *a = pa, *b = pb;
  size_t n = a->loc_len < b->loc_len ? a->loc_len : b->loc_len;
  for (size_t i = 0; i < n; i++) {
    int c = strcmp(a->loc[i], b->loc[i]);
    if (c) return c;
  }
  if (a->loc_len != b->loc_len) return a->loc_len < b->loc_len ? -1 : 1;
  return (a->seq > b->seq) - (a->seq < b->seq);
}

int spk__verrs_render(spk__verrs_t *v, spk__buf_t *out) {
  if (v->oom) return SPK_ENOMEM;
  /* By location; insertion order (seq) breaks ties, since qsort is not stable. */
  if (v->len > 1) qsort(v->items, v->len, sizeof(*v->items), loc_cmp);
  char detail[64];
  snprintf(detail, sizeof(detail), "%zu validation error%s in request", v->len,
           v->len == 1 ? "" : "s");
  int rc = spk__buf_append_str(out, "{\"type\":\"https://spikard.dev/errors/validation-error\","
                                    "\"title\":\"Request Validation Failed\",\"status\":422,"
                                    "\"detail\":");
  rc |= spk_json_write_string(out, detail, strlen(detail));
  rc |= spk__buf_append_str(out, ",\"errors\":[");
  for (size_t i = 0; i < v->len; i++) {
    const spk__verr_t *e = &v->items[i];
    if (i) rc |= spk__buf_append_char(out, ',');
    rc |= spk__buf_append_str(out, "{\"type\":");
    rc |= spk_json_write_string(out, e->type, strlen(e->type));
    rc |= spk__buf_append_str(out, ",\"loc\":[");
    for (size_t k = 0; k < e->loc_len; k++) {
      if (k) rc |= spk__buf_append_char(out, ',');
      rc |= spk_json_write_string(out, e->loc[k], strlen(e->loc[k]));
    }
    rc |= spk__buf_append_str(out, "],\"msg\":");
    rc |= spk_json_write_string(out, e->msg, strlen(e->msg));
    rc |= spk__buf_append_str(out, ",\"input\":");
    if (e->input) rc |= spk_json_write(out, e->input, 0);
    else rc |= spk__buf_append_str(out, "null");
    if (e->ctx) {
      rc |= spk__buf_append_str(out, ",\"ctx\":");
      rc |= spk_json_write(out, e->ctx, 0);
    }
    rc |= spk__buf_append_char(out, '}');
  }
  rc |= spk__buf_append_str(out, "]}");
  return rc ? SPK_ENOMEM : SPK_OK;
}
