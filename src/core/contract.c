/* Route contracts: compile parameter specs and the body schema at registration; at request
 * time coerce + validate parameters and decode + validate the body (see contract.h). */
#include "core/contract.h"

#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/param_types.h"
#include "core/verrors.h"
#include "proto/form.h"
#include "proto/mediatype.h"
#include "proto/multipart.h"
#include "util/alloc.h"
#include "util/strutil.h"

#define BODY_MAX_DEPTH 32
#define INLINE_FILE_LIMIT 8192

/* ---------------------------------------------------------------- registration */

/* "<what>: <detail>" into errbuf. */
static int set_err(char *errbuf, size_t len, const char *what, const char *detail) {
  if (errbuf && len) snprintf(errbuf, len, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
  return SPK_EINVAL;
}

static spk__coerce_t coerce_of(const spk_json_value_t *schema, const char **format) {
  const spk_json_value_t *t = spk_json_get(schema, "type", 4);
  const spk_json_value_t *f = spk_json_get(schema, "format", 6);
  *format = f && f->type == SPK_JSON_STRING ? f->u.string.ptr : NULL;
  if (!t) return SPK__CO_ANY;
  if (t->type != SPK_JSON_STRING) return SPK__CO_STRING;
  const char *s = t->u.string.ptr;
  if (strcmp(s, "integer") == 0) return SPK__CO_INTEGER;
  if (strcmp(s, "number") == 0) return SPK__CO_NUMBER;
  if (strcmp(s, "boolean") == 0) return SPK__CO_BOOLEAN;
  if (strcmp(s, "array") == 0) return SPK__CO_ARRAY;
  return SPK__CO_STRING;
}

/* Keywords of our parameter format that are not JSON Schema (or clash with it). */
static int is_extension_key(const spk_str_t *k) {
  static const char *const ext[] = {"optional", "required", "annotation", "source",
                                    "separator", "uuidVersion", "content_type",
                                    "validate_magic_numbers", "samesite", "secure", "httponly"};
  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
    if (strcmp(k->ptr, ext[i]) == 0) return 1;
  return 0;
}

/* Compile the constraint part of a parameter schema; NULL when type/format say it all. */
static int compile_param_schema(spk__arena_t *a, const spk_json_value_t *schema,
                                spk_schema_t **out, char *errbuf, size_t errlen) {
  *out = NULL;
  spk_json_value_t *copy = spk_json_new_object(a, schema->u.object.len);
  if (!copy) return SPK_ENOMEM;
  int constraints = 0;
  for (size_t i = 0; i < schema->u.object.len; i++) {
    const spk_json_member_t *m = &schema->u.object.members[i];
    if (is_extension_key(&m->key) && !(strcmp(m->key.ptr, "required") == 0 &&
                                       m->value->type == SPK_JSON_ARRAY))
      continue;
    if (strcmp(m->key.ptr, "type") != 0 && strcmp(m->key.ptr, "default") != 0) constraints = 1;
    if (spk_json_object_set(a, copy, m->key.ptr, m->key.len, m->value)) return SPK_ENOMEM;
  }
  if (!constraints) return SPK_OK;
  spk_schema_options_t o = {.default_draft = SPK_SCHEMA_DRAFT_2020_12, .format_assertion = 1};
  return spk_schema_compile(copy, &o, out, errbuf, errlen);
}

static const char *lookup_name(spk__arena_t *a, spk__source_t src, spk_str_t name) {
  if (src != SPK__SRC_HEADER) return name.ptr;
  char *s = spk__arena_strndup(a, name.ptr, name.len);
  if (!s) return NULL;
  for (char *p = s; *p; p++) *p = *p == '_' ? '-' : spk__tolower(*p);
  return s;
}

static int add_spec(spk__contract_t *c, size_t *cap, spk__param_spec_t **slot) {
  if (c->param_count == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    spk__param_spec_t *n = spk__arena_realloc(&c->arena, c->params, *cap * sizeof(*n),
                                              ncap * sizeof(*n));
    if (!n) return SPK_ENOMEM;
    c->params = n;
    *cap = ncap;
  }
  *slot = &c->params[c->param_count++];
  memset(*slot, 0, sizeof(**slot));
  return SPK_OK;
}

static int is_true(const spk_json_value_t *v) { return v && v->type == SPK_JSON_BOOL && v->u.boolean; }
static int is_false(const spk_json_value_t *v) { return v && v->type == SPK_JSON_BOOL && !v->u.boolean; }

static int add_group(spk__contract_t *c, size_t *cap, spk__source_t src,
                     const spk_json_value_t *group, char *errbuf, size_t errlen) {
  if (group->type != SPK_JSON_OBJECT)
    return set_err(errbuf, errlen, "a parameter group must be an object", NULL);
  for (size_t i = 0; i < group->u.object.len; i++) {
    const spk_json_member_t *m = &group->u.object.members[i];
    const spk_json_value_t *schema = m->value;
    if (schema->type != SPK_JSON_OBJECT)
      return set_err(errbuf, errlen, "parameter schema must be an object", m->key.ptr);
    spk__param_spec_t *p;
    if (add_spec(c, cap, &p)) return SPK_ENOMEM;
    p->source = src;
    p->name = m->key.ptr;
    p->lookup = lookup_name(&c->arena, src, m->key);
    if (!p->lookup) return SPK_ENOMEM;
    p->default_value = spk_json_get(schema, "default", 7);
    const spk_json_value_t *req = spk_json_get(schema, "required", 8);
    int optional = is_true(spk_json_get(schema, "optional", 8)) || is_false(req);
    p->required = src == SPK__SRC_PATH || (!optional && !p->default_value);
    p->coerce = coerce_of(schema, &p->format);
    if (p->coerce == SPK__CO_ARRAY) {
      const spk_json_value_t *items = spk_json_get(schema, "items", 5);
      p->item_coerce = items && items->type == SPK_JSON_OBJECT ? coerce_of(items, &p->item_format)
                                                               : SPK__CO_STRING;
    }
    int rc = compile_param_schema(&c->arena, schema, &p->schema, errbuf, errlen);
    if (rc) return rc;
  }
  return SPK_OK;
}

static int add_files(spk__contract_t *c, const spk_json_value_t *group, char *errbuf,
                     size_t errlen) {
  if (group->type != SPK_JSON_OBJECT)
    return set_err(errbuf, errlen, "parameters.files must be an object", NULL);
  c->files = spk__arena_calloc(&c->arena, (group->u.object.len + 1) * sizeof(*c->files));
  if (!c->files) return SPK_ENOMEM;
  for (size_t i = 0; i < group->u.object.len; i++) {
    const spk_json_member_t *m = &group->u.object.members[i];
    spk__file_spec_t *f = &c->files[c->file_count++];
    f->name = m->key.ptr;
    f->required = !is_false(spk_json_get(m->value, "required", 8)) &&
                  !is_true(spk_json_get(m->value, "optional", 8));
    const spk_json_value_t *ct = spk_json_get(m->value, "content_type", 12);
    if (ct && ct->type == SPK_JSON_STRING) { /* one type: treat as a list of one */
      spk_json_value_t *arr = spk_json_new_array(&c->arena, 1);
      if (!arr || spk_json_array_push(&c->arena, arr, (spk_json_value_t *)ct)) return SPK_ENOMEM;
      ct = arr;
    }
    f->content_types = ct && ct->type == SPK_JSON_ARRAY ? ct : NULL;
    f->check_magic = is_true(spk_json_get(m->value, "validate_magic_numbers", 22));
  }
  return SPK_OK;
}

static int declared(const spk__contract_t *c, spk__source_t src, const char *name) {
  for (size_t i = 0; i < c->param_count; i++)
    if (c->params[i].source == src && strcmp(c->params[i].name, name) == 0) return 1;
  return 0;
}

/* Typed route segments ({id:int}) imply a path parameter schema unless one is declared. */
static int add_route_hints(spk__contract_t *c, size_t *cap, const spk__route_t *route) {
  for (size_t i = 0; i < route->param_count; i++) {
    spk__param_type_t t = route->param_types[i];
    if (t == SPK__PT_STRING || t == SPK__PT_PATH) continue;
    if (declared(c, SPK__SRC_PATH, route->param_names[i])) continue;
    spk__param_spec_t *p;
    if (add_spec(c, cap, &p)) return SPK_ENOMEM;
    p->source = SPK__SRC_PATH;
    p->name = p->lookup = route->param_names[i];
    p->required = 1;
    switch (t) {
      case SPK__PT_INT: p->coerce = SPK__CO_INTEGER; break;
      case SPK__PT_FLOAT: p->coerce = SPK__CO_NUMBER; break;
      case SPK__PT_BOOL: p->coerce = SPK__CO_BOOLEAN; break;
      case SPK__PT_UUID: p->format = "uuid"; break;
      case SPK__PT_DATE: p->format = "date"; break;
      case SPK__PT_DATETIME: p->format = "date-time"; break;
      default: break;
    }
  }
  return SPK_OK;
}

int spk__contract_new(const spk__route_t *route, const spk_route_options_t *opts,
                      spk__contract_t **out, char *errbuf, size_t errlen) {
  *out = NULL;
  spk__contract_t *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  spk__arena_init(&c->arena, 1024);
  size_t cap = 0;
  int rc = SPK_OK;
  if (opts && opts->parameters) {
    spk_json_value_t *doc;
    spk_json_error_t jerr;
    rc = spk_json_parse(&c->arena, opts->parameters, strlen(opts->parameters), NULL, &doc, &jerr);
    if (rc) {
      rc = set_err(errbuf, errlen, "parameters: invalid JSON", jerr.message);
      goto fail;
    }
    if (doc->type != SPK_JSON_OBJECT) {
      rc = set_err(errbuf, errlen, "parameters must be a JSON object", NULL);
      goto fail;
    }
    for (size_t i = 0; i < doc->u.object.len && rc == SPK_OK; i++) {
      const spk_json_member_t *m = &doc->u.object.members[i];
      const char *k = m->key.ptr;
      if (strcmp(k, "path") == 0) rc = add_group(c, &cap, SPK__SRC_PATH, m->value, errbuf, errlen);
      else if (strcmp(k, "query") == 0) rc = add_group(c, &cap, SPK__SRC_QUERY, m->value, errbuf, errlen);
      else if (strcmp(k, "headers") == 0 || strcmp(k, "header") == 0)
        rc = add_group(c, &cap, SPK__SRC_HEADER, m->value, errbuf, errlen);
      else if (strcmp(k, "cookies") == 0 || strcmp(k, "cookie") == 0)
        rc = add_group(c, &cap, SPK__SRC_COOKIE, m->value, errbuf, errlen);
      else if (strcmp(k, "files") == 0)
        rc = add_files(c, m->value, errbuf, errlen);
      else
        rc = set_err(errbuf, errlen, "parameters: unknown group", k);
    }
    if (rc) goto fail;
  }
  if ((rc = add_route_hints(c, &cap, route))) goto fail;
  if (opts && opts->body_schema) {
    spk_json_value_t *doc;
    spk_json_error_t jerr;
    rc = spk_json_parse(&c->arena, opts->body_schema, strlen(opts->body_schema), NULL, &doc, &jerr);
    if (rc) {
      rc = set_err(errbuf, errlen, "body_schema: invalid JSON", jerr.message);
      goto fail;
    }
    c->body_schema_doc = doc;
    spk_schema_options_t o = {.default_draft = SPK_SCHEMA_DRAFT_2020_12, .format_assertion = 1};
    if ((rc = spk_schema_compile(doc, &o, &c->body_schema, errbuf, errlen))) goto fail;
  }
  if (opts && opts->response_schema) {
    spk_json_value_t *doc;
    spk_json_error_t jerr;
    rc = spk_json_parse(&c->arena, opts->response_schema, strlen(opts->response_schema), NULL,
                        &doc, &jerr);
    if (rc) {
      rc = set_err(errbuf, errlen, "response_schema: invalid JSON", jerr.message);
      goto fail;
    }
    spk_schema_options_t o = {.default_draft = SPK_SCHEMA_DRAFT_2020_12, .format_assertion = 1};
    if ((rc = spk_schema_compile(doc, &o, &c->response_schema, errbuf, errlen))) goto fail;
  }
  c->max_body_bytes = opts ? opts->max_body_bytes : 0;
  if (!c->param_count && !c->body_schema && !c->max_body_bytes && !c->file_count &&
      !c->response_schema) {
    spk__contract_free(c);
    return SPK_OK;
  }
  *out = c;
  return SPK_OK;
fail:
  spk__contract_free(c);
  return rc == SPK_ENOMEM ? SPK_ENOMEM : SPK_EINVAL;
}

void spk__contract_free(spk__contract_t *c) {
  if (!c) return;
  for (size_t i = 0; i < c->param_count; i++) spk_schema_free(c->params[i].schema);
  spk_schema_free(c->body_schema);
  spk_schema_free(c->response_schema);
  spk__arena_free(&c->arena);
  spk__free(c);
}

/* ---------------------------------------------------------------- coercion */

typedef struct coerce_err {
  const char *type;
  const char *msg;
} coerce_err_t;

/* Text → typed JSON value per the reference's coercion table (§3.2). */
static spk_json_value_t *coerce_text(spk__arena_t *a, spk_str_t s, spk__coerce_t to,
                                     const char *format, coerce_err_t *err) {
  spk__param_error_t pe;
  switch (to) {
    case SPK__CO_INTEGER: {
      int64_t i;
      if (spk__parse_i64(s.ptr, s.len, &i) == 0) return spk_json_new_int(a, i);
      spk__param_check(SPK__PT_INT, s.ptr, s.len, &pe);
      *err = (coerce_err_t){pe.type, pe.msg};
      return NULL;
    }
    case SPK__CO_NUMBER: {
      double d;
      if (spk__parse_double(s.ptr, s.len, &d) == 0) return spk_json_new_double(a, d);
      spk__param_check(SPK__PT_FLOAT, s.ptr, s.len, &pe);
      *err = (coerce_err_t){pe.type, pe.msg};
      return NULL;
    }
    case SPK__CO_BOOLEAN: {
      int b;
      if (spk__parse_bool(s.ptr, s.len, &b)) return spk_json_new_bool(a, b);
      spk__param_check(SPK__PT_BOOL, s.ptr, s.len, &pe);
      *err = (coerce_err_t){pe.type, pe.msg};
      return NULL;
    }
    default: break;
  }
  if (format) {
    spk__param_type_t t = strcmp(format, "uuid") == 0        ? SPK__PT_UUID
                          : strcmp(format, "date") == 0      ? SPK__PT_DATE
                          : strcmp(format, "date-time") == 0 ? SPK__PT_DATETIME
                                                             : SPK__PT_STRING;
    if (!spk__param_check(t, s.ptr, s.len, &pe)) {
      *err = (coerce_err_t){pe.type, pe.msg};
      return NULL;
    }
  }
  return spk_json_new_string(a, s.ptr, s.len);
}

/* ---------------------------------------------------------------- request side */

static int raw_value(spk_req_t *req, const spk__param_spec_t *p, size_t n, spk_str_t *out) {
  switch (p->source) {
    case SPK__SRC_PATH: return n ? SPK_ENOENT : spk_req_param(req, p->name, out);
    case SPK__SRC_QUERY: return spk_req_query_nth(req, p->name, n, out);
    case SPK__SRC_HEADER: return spk_req_header_nth(req, p->lookup, n, out);
    case SPK__SRC_COOKIE: return n ? SPK_ENOENT : spk_req_cookie(req, p->name, out);
  }
  return SPK_ENOENT;
}

static const char *loc_prefix(spk__source_t s) {
  static const char *const names[] = {"path", "query", "headers", "cookie"};
  return names[s];
}

/* Coerce one parameter; adds errors; returns the value (NULL when absent or invalid). */
static spk_json_value_t *param_value(spk__arena_t *a, spk_req_t *req, const spk__param_spec_t *p,
                                     spk__verrs_t *errs) {
  spk_str_t s;
  const char *loc0 = loc_prefix(p->source);
  if (raw_value(req, p, 0, &s) != SPK_OK) {
    if (p->default_value) return (spk_json_value_t *)p->default_value;
    if (p->required) {
      spk__verr_t *e = spk__verrs_add(errs, "missing", "Field required", loc0, p->lookup, NULL);
      if (e && p->source == SPK__SRC_COOKIE) e->input = spk_json_new_string(a, "", 0);
    }
    return NULL;
  }
  coerce_err_t ce;
  if (p->coerce != SPK__CO_ARRAY) {
    spk_json_value_t *v = coerce_text(a, s, p->coerce, p->format, &ce);
    if (!v) spk__verrs_add(errs, ce.type, ce.msg, loc0, p->lookup, spk_json_new_string(a, s.ptr, s.len));
    return v;
  }
  spk_json_value_t *arr = spk_json_new_array(a, 4);
  if (!arr) return NULL;
  int bad = 0;
  for (size_t n = 0; raw_value(req, p, n, &s) == SPK_OK; n++) {
    spk_json_value_t *v = coerce_text(a, s, p->item_coerce, p->item_format, &ce);
    if (!v) {
      /* Located at the item, as pydantic does for list items. */
      char idx[24];
      snprintf(idx, sizeof(idx), "%zu", n);
      spk__verr_t *e = spk__verrs_add(errs, ce.type, ce.msg, loc0, p->lookup,
                                      spk_json_new_string(a, s.ptr, s.len));
      const char **loc = e ? spk__arena_alloc(a, 3 * sizeof(*loc)) : NULL;
      if (loc) {
        loc[0] = loc0, loc[1] = p->lookup, loc[2] = spk__arena_strndup(a, idx, strlen(idx));
        e->loc = loc;
        e->loc_len = 3;
      }
      bad = 1;
      continue;
    }
    spk_json_array_push(a, arr, v);
  }
  return bad ? NULL : arr;
}

static void validate_with(spk__arena_t *a, const spk_schema_t *schema, const spk_json_value_t *v,
                          const char *loc0, const char *loc1, spk__verrs_t *errs) {
  spk_schema_error_t *se;
  size_t n = 0;
  int rc = spk_schema_validate(schema, v, a, &se, &n);
  if (rc < 0) {
    errs->oom = 1;
    return;
  }
  for (size_t i = 0; rc == 0 && i < n; i++) spk__verrs_add_schema(errs, &se[i], loc0, loc1);
}

/* ---- body decoding ---- */

static int respond_json(spk__exchange_t *ex, int status, const char *json) {
  spk_res_t *res = &ex->res;
  res->header_count = 0;
  int rc = spk_res_send(res, status, "application/json", json, strlen(json));
  return rc ? rc : 1;
}

static int respond_error_field(spk__exchange_t *ex, int status, const char *prefix,
                               const char *msg) {
  spk__buf_t b = {0};
  char text[512];
  snprintf(text, sizeof(text), "%s%s", prefix, msg ? msg : "");
  spk__buf_append_str(&b, "{\"error\":");
  spk_json_write_string(&b, text, strlen(text));
  spk__buf_append_char(&b, '}');
  spk__buf_append_char(&b, '\0');
  int rc = b.data ? respond_json(ex, status, b.data) : SPK_ENOMEM;
  spk__buf_free(&b);
  return rc;
}

static int respond_problem(spk__exchange_t *ex, int status, const char *slug, const char *title,
                           const char *detail) {
  int rc = spk__res_problem_reset(&ex->res, status, slug, title, detail);
  return rc ? rc : 1;
}

/* An untyped form field: numbers and booleans written as text become numbers and booleans
 * (the reference's "untyped JSON view"); everything else stays text. */
static spk_json_value_t *auto_convert(spk__arena_t *a, spk_json_value_t *v) {
  if (v->type != SPK_JSON_STRING || !v->u.string.len) return v;
  spk_str_t s = v->u.string;
  int64_t i;
  double d;
  if (spk__parse_i64(s.ptr, s.len, &i) == 0) return spk_json_new_int(a, i);
  if (spk__parse_double(s.ptr, s.len, &d) == 0) return spk_json_new_double(a, d);
  if (spk__strieq(s.ptr, s.len, "true", 4)) return spk_json_new_bool(a, 1);
  if (spk__strieq(s.ptr, s.len, "false", 5)) return spk_json_new_bool(a, 0);
  return v;
}

/* Form and multipart fields arrive as text: give them the body schema's scalar types. */
static spk_json_value_t *coerce_by_schema(spk__arena_t *a, spk_json_value_t *v,
                                          const spk_json_value_t *schema) {
  if (!v) return v;
  if (!schema || schema->type != SPK_JSON_OBJECT) {
    if (v->type == SPK_JSON_ARRAY)
      for (size_t i = 0; i < v->u.array.len; i++) {
        spk_json_value_t *c = auto_convert(a, v->u.array.items[i]);
        if (c) v->u.array.items[i] = c;
      }
    spk_json_value_t *c = auto_convert(a, v);
    return c ? c : v;
  }
  if (v->type == SPK_JSON_OBJECT) {
    const spk_json_value_t *props = spk_json_get(schema, "properties", 10);
    for (size_t i = 0; props && i < v->u.object.len; i++) {
      spk_json_member_t *m = &v->u.object.members[i];
      m->value = coerce_by_schema(a, m->value, spk_json_get(props, m->key.ptr, m->key.len));
    }
    return v;
  }
  const char *format;
  spk__coerce_t to = coerce_of(schema, &format);
  if (v->type == SPK_JSON_ARRAY) {
    const spk_json_value_t *items = spk_json_get(schema, "items", 5);
    for (size_t i = 0; i < v->u.array.len; i++)
      v->u.array.items[i] = coerce_by_schema(a, v->u.array.items[i], items);
    return v;
  }
  if (to == SPK__CO_ARRAY) { /* one value for an array field: a one-element array */
    spk_json_value_t *arr = spk_json_new_array(a, 1);
    if (!arr || spk_json_array_push(a, arr, v)) return v;
    return coerce_by_schema(a, arr, schema);
  }
  if (to == SPK__CO_ANY && v->type != SPK_JSON_OBJECT) {
    spk_json_value_t *c = auto_convert(a, v);
    return c ? c : v;
  }
  if (v->type != SPK_JSON_STRING || to == SPK__CO_STRING || to == SPK__CO_ANY) return v;
  coerce_err_t ce;
  spk_json_value_t *c = coerce_text(a, v->u.string, to, NULL, &ce);
  return c ? c : v; /* unparsable: keep the text so validation reports the type */
}

static int multipart_to_json(spk__arena_t *a, const spk_multipart_part_t *parts, size_t n,
                             spk_json_value_t **out) {
  spk_json_value_t *obj = spk_json_new_object(a, n);
  if (!obj) return SPK_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const spk_multipart_part_t *p = &parts[i];
    spk_json_value_t *v;
    if (p->info.filename.ptr) {
      spk_str_t ct = p->info.content_type.len ? p->info.content_type
                                              : SPK_STR("application/octet-stream");
      int text = (ct.len >= 5 && spk__strieq(ct.ptr, 5, "text/", 5)) ||
                 (ct.len >= 16 && spk__strieq(ct.ptr, 16, "application/json", 16));
      v = spk_json_new_object(a, 4);
      if (!v) return SPK_ENOMEM;
      spk_json_object_set(a, v, "filename", 8,
                          spk_json_new_string(a, p->info.filename.ptr, p->info.filename.len));
      spk_json_object_set(a, v, "size", 4, spk_json_new_int(a, (int64_t)p->data.len));
      if ((text || p->data.len <= INLINE_FILE_LIMIT) && spk__utf8_valid(p->data.ptr, p->data.len)) {
        spk_json_object_set(a, v, "content", 7, spk_json_new_string(a, p->data.ptr, p->data.len));
      } else {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "<binary data, %zu bytes>", p->data.len);
        spk_json_object_set(a, v, "content", 7, spk_json_new_string(a, tmp, strlen(tmp)));
      }
      spk_json_object_set(a, v, "content_type", 12, spk_json_new_string(a, ct.ptr, ct.len));
    } else {
      v = NULL;
      if (p->data.len && (p->data.ptr[0] == '[' || p->data.ptr[0] == '{'))
        if (spk_json_parse(a, p->data.ptr, p->data.len, NULL, &v, NULL) != 0) v = NULL;
      if (!v) v = spk_json_new_string(a, p->data.ptr, p->data.len);
    }
    if (!v) return SPK_ENOMEM;
    spk_json_value_t *prev = spk_json_get(obj, p->info.name.ptr, p->info.name.len);
    if (prev) { /* repeated name → array */
      if (prev->type != SPK_JSON_ARRAY || p->info.filename.ptr) {
        spk_json_value_t *arr = spk_json_new_array(a, 2);
        if (!arr || spk_json_array_push(a, arr, prev)) return SPK_ENOMEM;
        prev = arr;
      }
      if (spk_json_array_push(a, prev, v)) return SPK_ENOMEM;
      v = prev;
    }
    if (spk_json_object_set(a, obj, p->info.name.ptr, p->info.name.len, v)) return SPK_ENOMEM;
  }
  *out = obj;
  return SPK_OK;
}

/* Decode the body by Content-Type. Returns 0 with *out (NULL for an empty body), 1 when the
 * response has been set, or an error code. */
typedef struct decoded_parts {
  spk_multipart_part_t *parts;
  size_t count;
} decoded_parts_t;

static int decode_body(const spk__contract_t *c, spk__exchange_t *ex, spk_json_value_t **out,
                       decoded_parts_t *mp) {
  spk__arena_t *a = &ex->arena;
  spk_req_t *req = &ex->req;
  spk_str_t body = req->body, ct;
  *out = NULL;
  int has_ct = spk_req_header_id(req, SPK_HEADER_CONTENT_TYPE, 0, &ct) == SPK_OK;
  if (!has_ct && body.len == 0) return SPK_OK;
  spk_media_type_t mt;
  if (!has_ct) mt = (spk_media_type_t){.type = SPK_STR("application"), .subtype = SPK_STR("json")};
  else if (spk_media_type_parse(ct.ptr, ct.len, &mt) != SPK_OK)
    return respond_json(ex, 400, "{\"error\":\"Invalid Content-Type header\"}");
  if (spk_media_type_is_json(&mt)) {
    spk_str_t cs;
    if (spk_media_type_param(&mt, "charset", &cs) == SPK_OK &&
        !spk__strieq(cs.ptr, cs.len, "utf-8", 5) && !spk__strieq(cs.ptr, cs.len, "utf8", 4)) {
      char detail[128];
      snprintf(detail, sizeof(detail),
               "Unsupported charset '%.*s' for JSON. Only UTF-8 is supported.", (int)cs.len, cs.ptr);
      return respond_problem(ex, 415, "unsupported-charset", "Unsupported Charset", detail);
    }
    if (body.len == 0) return SPK_OK;
    spk_json_parse_options_t po = {.max_depth = BODY_MAX_DEPTH};
    int rc = spk_json_parse(a, body.ptr, body.len, &po, out, NULL);
    if (rc == SPK_ERANGE)
      return respond_json(ex, 400, "{\"error\":\"Request body exceeds maximum nesting depth of 32\"}");
    if (rc == SPK_ENOMEM) return rc;
    if (rc) return respond_json(ex, 400, "{\"detail\":\"Invalid request format\"}");
    return SPK_OK;
  }
  if (spk_media_type_is(&mt, "application", "x-www-form-urlencoded")) {
    char err[256] = "";
    int rc = spk_form_parse(a, body.ptr, body.len, NULL, out, err, sizeof(err));
    if (rc == SPK_ENOMEM) return rc;
    if (rc) return respond_error_field(ex, 400, "Failed to parse URL-encoded form data: ", err);
    *out = coerce_by_schema(a, *out, c->body_schema_doc);
    return SPK_OK;
  }
  if (spk_media_type_is(&mt, "multipart", "form-data")) {
    spk_str_t boundary;
    if (spk_media_type_param(&mt, "boundary", &boundary) != SPK_OK || !boundary.len)
      return respond_json(ex, 400, "{\"error\":\"multipart/form-data requires 'boundary' parameter\"}");
    spk_multipart_part_t *parts;
    size_t n;
    const char *msg = NULL;
    int rc = spk_multipart_parse(a, body.ptr, body.len, boundary.ptr, boundary.len, NULL, &parts,
                                 &n, &msg);
    if (rc == SPK_ENOMEM) return rc;
    if (rc) return respond_error_field(ex, 400, "Failed to parse multipart data: ", msg);
    if ((rc = multipart_to_json(a, parts, n, out))) return rc;
    mp->parts = parts;
    mp->count = n;
    *out = coerce_by_schema(a, *out, c->body_schema_doc);
    return SPK_OK;
  }
  return respond_problem(ex, 415, "unsupported-media-type", "Unsupported Media Type",
                         "Unsupported media type");
}

static int is_file(const spk_json_value_t *v) {
  return v && v->type == SPK_JSON_OBJECT && spk_json_get(v, "filename", 8) &&
         spk_json_get(v, "content", 7);
}

/* Uploaded files validate as their content where the schema says `format: binary` (the
 * OpenAPI spelling of a file field); the handler still receives the file objects. */
static const spk_json_value_t *binary_view(spk__arena_t *a, const spk_json_value_t *body,
                                           const spk_json_value_t *schema) {
  const spk_json_value_t *props = spk_json_get(schema, "properties", 10);
  if (!props || body->type != SPK_JSON_OBJECT) return body;
  spk_json_value_t *view = NULL;
  for (size_t i = 0; i < body->u.object.len; i++) {
    const spk_json_member_t *m = &body->u.object.members[i];
    const spk_json_value_t *ps = spk_json_get(props, m->key.ptr, m->key.len);
    const spk_json_value_t *f = ps ? spk_json_get(ps, "format", 6) : NULL;
    const spk_json_value_t *items = ps ? spk_json_get(ps, "items", 5) : NULL;
    if (!f && items) f = spk_json_get(items, "format", 6);
    if (!f || f->type != SPK_JSON_STRING || strcmp(f->u.string.ptr, "binary") != 0) continue;
    spk_json_value_t *nv = m->value;
    if (is_file(nv)) {
      nv = spk_json_get(nv, "content", 7);
    } else if (nv->type == SPK_JSON_ARRAY) {
      spk_json_value_t *arr = spk_json_new_array(a, nv->u.array.len);
      for (size_t k = 0; arr && k < nv->u.array.len; k++) {
        spk_json_value_t *it = nv->u.array.items[k];
        spk_json_array_push(a, arr, is_file(it) ? spk_json_get(it, "content", 7) : it);
      }
      if (arr) nv = arr;
    }
    if (nv == m->value) continue;
    if (!view) { /* copy on first change */
      view = spk_json_new_object(a, body->u.object.len);
      for (size_t k = 0; view && k < body->u.object.len; k++)
        spk_json_object_set(a, view, body->u.object.members[k].key.ptr,
                            body->u.object.members[k].key.len, body->u.object.members[k].value);
      if (!view) return body;
    }
    spk_json_object_set(a, view, m->key.ptr, m->key.len, nv);
  }
  return view ? view : body;
}

/* Media type from the first bytes of a file, for the types browsers and clients spoof. */
static const char *sniff(const spk_str_t *data) {
  static const struct { const char *magic; size_t len; const char *type; } sigs[] = {
      {"\x89PNG\r\n\x1a\n", 8, "image/png"}, {"\xff\xd8\xff", 3, "image/jpeg"},
      {"GIF87a", 6, "image/gif"}, {"GIF89a", 6, "image/gif"}, {"%PDF-", 5, "application/pdf"},
      {"PK\x03\x04", 4, "application/zip"}, {"\x1f\x8b", 2, "application/gzip"},
      {"BM", 2, "image/bmp"}};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    if (data->len >= sigs[i].len && memcmp(data->ptr, sigs[i].magic, sigs[i].len) == 0)
      return sigs[i].type;
  if (data->len >= 12 && memcmp(data->ptr, "RIFF", 4) == 0 && memcmp(data->ptr + 8, "WEBP", 4) == 0)
    return "image/webp";
  return NULL;
}

static void check_file(spk__arena_t *a, const spk__file_spec_t *f, const spk_json_value_t *file,
                       const spk_str_t *data, spk__verrs_t *errs) {
  const spk_json_value_t *ctv = spk_json_get(file, "content_type", 12);
  spk_str_t ct = ctv && ctv->type == SPK_JSON_STRING ? ctv->u.string : SPK_STR("");
  if (f->content_types) {
    int ok = 0;
    spk__buf_t allowed = {0};
    for (size_t i = 0; i < f->content_types->u.array.len; i++) {
      const spk_json_value_t *t = f->content_types->u.array.items[i];
      if (t->type != SPK_JSON_STRING) continue;
      ok |= spk__strieq(ct.ptr, ct.len, t->u.string.ptr, t->u.string.len);
      if (allowed.len) spk__buf_append_str(&allowed, ", ");
      spk__buf_append(&allowed, t->u.string.ptr, t->u.string.len);
    }
    if (!ok) {
      char msg[512];
      snprintf(msg, sizeof(msg), "Invalid content type '%.*s'. Allowed types: %.*s", (int)ct.len,
               ct.ptr, (int)allowed.len, allowed.data ? allowed.data : "");
      spk__verrs_add(errs, "validation_error", spk__arena_strndup(a, msg, strlen(msg)), "files",
                     f->name, file);
    }
    spk__buf_free(&allowed);
    if (!ok) return;
  }
  if (!f->check_magic) return;
  if (data->len == 0) {
    spk__verr_t *e = spk__verrs_add(errs, "validation_error", "File buffer is empty", "files",
                                    f->name, file);
    if (e && (e->ctx = spk_json_new_object(a, 1)))
      spk_json_object_set(a, e->ctx, "buffer_size", 11, spk_json_new_int(a, 0));
    return;
  }
  const char *detected = sniff(data);
  if (!detected || spk__strieq(ct.ptr, ct.len, detected, strlen(detected))) return;
  char hex[17] = "";
  for (size_t i = 0; i < data->len && i < 8; i++)
    snprintf(hex + 2 * i, 3, "%02x", (unsigned char)data->ptr[i]);
  char msg[256];
  snprintf(msg, sizeof(msg), "File type mismatch: MIME type is %.*s but magic numbers indicate %s",
           (int)ct.len, ct.ptr, detected);
  spk__verr_t *e = spk__verrs_add(errs, "validation_error", spk__arena_strndup(a, msg, strlen(msg)),
                                  "files", f->name, file);
  if (e && (e->ctx = spk_json_new_object(a, 3))) {
    spk_json_object_set(a, e->ctx, "declared_mime", 13, spk_json_new_string(a, ct.ptr, ct.len));
    spk_json_object_set(a, e->ctx, "detected_type", 13, spk_json_new_string(a, detected, strlen(detected)));
    spk_json_object_set(a, e->ctx, "magic_bytes", 11, spk_json_new_string(a, hex, strlen(hex)));
  }
}

/* Upload fields declared in parameters.files, checked against the decoded multipart body. */
static void check_files(spk__arena_t *a, const spk__contract_t *c, const spk_json_value_t *body,
                        const spk_multipart_part_t *parts, size_t nparts, spk__verrs_t *errs) {
  for (size_t i = 0; i < c->file_count; i++) {
    const spk__file_spec_t *f = &c->files[i];
    const spk_json_value_t *v = body ? spk_json_get(body, f->name, strlen(f->name)) : NULL;
    if (!v) {
      if (f->required) spk__verrs_add(errs, "missing", "Field required", "files", f->name, NULL);
      continue;
    }
    /* One check per uploaded part of that name (raw bytes for sniffing). */
    size_t k = 0;
    for (size_t p = 0; p < nparts; p++) {
      const spk_multipart_part_t *part = &parts[p];
      if (!part->info.filename.ptr || part->info.name.len != strlen(f->name) ||
          memcmp(part->info.name.ptr, f->name, part->info.name.len) != 0)
        continue;
      const spk_json_value_t *file = v->type == SPK_JSON_ARRAY
                                         ? (k < v->u.array.len ? v->u.array.items[k] : NULL)
                                         : v;
      k++;
      if (file) check_file(a, f, file, &part->data, errs);
    }
  }
}

static int respond_422(spk__exchange_t *ex, spk__verrs_t *errs) {
  spk_res_t *res = &ex->res;
  res->header_count = 0;
  spk__buf_t b = {0};
  int rc = spk__verrs_render(errs, &b);
  if (!rc) rc = spk_res_send(res, 422, "application/json", b.data, b.len);
  spk__buf_free(&b);
  return rc ? rc : 1;
}

int spk__contract_check(const spk__contract_t *c, spk__exchange_t *ex) {
  spk__arena_t *a = &ex->arena;
  spk_req_t *req = &ex->req;
  if (c->max_body_bytes && req->body.len > c->max_body_bytes)
    return respond_problem(ex, 413, "payload-too-large", "Payload Too Large",
                           "The request body exceeds the maximum size allowed for this route");
  spk__verrs_t errs;
  spk__verrs_init(&errs, a);
  spk_json_value_t *body = NULL;
  if (c->body_schema || c->file_count) {
    decoded_parts_t mp = {0};
    int rc = decode_body(c, ex, &body, &mp);
    if (rc) return rc;
    if (c->file_count) check_files(a, c, body, mp.parts, mp.count, &errs);
    if (!body && c->body_schema) {
      spk__verrs_add(&errs, "missing", "Field required", "body", NULL, NULL);
      return respond_422(ex, &errs);
    }
    if (c->body_schema)
      validate_with(a, c->body_schema, binary_view(a, body, c->body_schema_doc), "body", NULL, &errs);
    /* Body errors are answered on their own (reference §2.1). */
    if (errs.len || errs.oom) return errs.oom ? SPK_ENOMEM : respond_422(ex, &errs);
  }
  spk_json_value_t *groups[4] = {0};
  static const char *const group_names[4] = {"path", "query", "headers", "cookies"};
  for (size_t i = 0; i < c->param_count; i++) {
    const spk__param_spec_t *p = &c->params[i];
    size_t before = errs.len;
    spk_json_value_t *v = param_value(a, req, p, &errs);
    if (!v) continue;
    if (p->schema && errs.len == before) {
      validate_with(a, p->schema, v, loc_prefix(p->source), p->lookup, &errs);
      /* Constraint errors on a coerced scalar show the text the client sent (reference §3.2). */
      spk_str_t raw;
      if (errs.len > before && p->coerce != SPK__CO_ARRAY && raw_value(req, p, 0, &raw) == SPK_OK)
        for (size_t k = before; k < errs.len; k++)
          if (errs.items[k].loc_len == 2) errs.items[k].input = spk_json_new_string(a, raw.ptr, raw.len);
    }
    if (!groups[p->source] && !(groups[p->source] = spk_json_new_object(a, 4))) return SPK_ENOMEM;
    if (spk_json_object_set(a, groups[p->source], p->name, strlen(p->name), v)) return SPK_ENOMEM;
  }
  if (errs.oom) return SPK_ENOMEM;
  if (errs.len) return respond_422(ex, &errs);
  /* The validated request for the handler. */
  spk_json_value_t *all = spk_json_new_object(a, 5);
  if (!all) return SPK_ENOMEM;
  for (size_t g = 0; g < 4; g++) {
    spk_json_value_t *v = groups[g] ? groups[g] : spk_json_new_object(a, 0);
    if (!v || spk_json_object_set(a, all, group_names[g], strlen(group_names[g]), v)) return SPK_ENOMEM;
  }
  if (body && spk_json_object_set(a, all, "body", 4, body)) return SPK_ENOMEM;
  spk__buf_t out = {0};
  if (spk_json_write(&out, all, 0) || spk__buf_append_char(&out, '\0')) {
    spk__buf_free(&out);
    return SPK_ENOMEM;
  }
  char *text = spk__arena_strndup(a, out.data, out.len - 1);
  req->validated = (spk_str_t){text, text ? out.len - 1 : 0};
  spk__buf_free(&out);
  return text ? 0 : SPK_ENOMEM;
}

#define RESPONSE_ERROR_TYPE "https://spikard.dev/errors/response-validation-error"

void spk__contract_check_response(const spk__contract_t *c, spk__exchange_t *ex) {
  spk_res_t *res = &ex->res;
  if (!c->response_schema || res->status < 200 || res->status > 299 || !res->body_len) return;
  spk_str_t ct;
  spk_media_type_t mt;
  if (spk_res_get_header(res, "Content-Type", &ct) != SPK_OK ||
      spk_media_type_parse(ct.ptr, ct.len, &mt) != SPK_OK || !spk_media_type_is_json(&mt))
    return;
  spk__arena_t *a = &ex->arena;
  spk_json_value_t *doc;
  spk_json_parse_options_t po = {.max_depth = 512};
  spk__verrs_t errs;
  spk__verrs_init(&errs, a);
  const char *detail = "The handler's response does not match the route's response schema";
  if (spk_json_parse(a, res->body, res->body_len, &po, &doc, NULL) != SPK_OK) {
    detail = "The handler's response body is not valid JSON";
  } else {
    validate_with(a, c->response_schema, doc, "response", NULL, &errs);
    if (!errs.len && !errs.oom) return;
  }
  /* Replace the body: the errors go into the problem details for the developer. */
  spk__buf_t b = {0};
  int rc = spk__verrs_render(&errs, &b);
  spk_json_value_t *env = NULL;
  if (!rc && spk_json_parse(a, b.data, b.len, NULL, &env, NULL) == SPK_OK) {
    spk_json_object_set(a, env, "type", 4,
                        spk_json_new_string(a, RESPONSE_ERROR_TYPE, strlen(RESPONSE_ERROR_TYPE)));
    spk_json_object_set(a, env, "title", 5, spk_json_new_string(a, "Response Validation Failed", strlen("Response Validation Failed")));
    spk_json_object_set(a, env, "status", 6, spk_json_new_int(a, 500));
    spk_json_object_set(a, env, "detail", 6, spk_json_new_string(a, detail, strlen(detail)));
    b.len = 0;
    rc = spk_json_write(&b, env, 0);
  }
  res->header_count = 0;
  if (rc || !env) {
    spk__buf_free(&b);
    spk__exchange_error(ex, 500, "Response validation failed");
    return;
  }
  if (res->release) res->release(res->release_data);
  res->release = NULL;
  spk__buf_free(&res->owned_body);
  res->owned_body = b;
  res->body = b.data;
  res->body_len = b.len;
  res->status = 500;
  res->header_count = 0;
  /* Headers are rebuilt by hand: the response is ended, so the setters refuse. */
  spk_h1_header_t *h = spk__arena_alloc(a, sizeof(*h));
  if (h) {
    h->name = SPK_STR("Content-Type");
    h->value = SPK_STR("application/problem+json; charset=utf-8");
    res->headers = h;
    res->header_count = 1;
    res->header_cap = 1;
  }
}
