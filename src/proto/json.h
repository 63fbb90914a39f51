/* JSON (RFC 8259): a strict parser into an arena DOM, and a writer. Pure: no I/O, no global
 * state; every allocation comes from the caller's arena.
 *
 * Numbers are kept losslessly: integer literals that fit int64 are SPK_JSON_INT; every other
 * number is SPK_JSON_NUMBER with its double value and its original text (`raw`), and
 * `is_integer` set when it is mathematically an integer (1.0, 1e3, 2^70) as JSON Schema
 * requires. Strings are decoded (escapes, surrogate pairs), validated UTF-8, NUL-terminated,
 * and may contain U+0000 (use the length). */
#ifndef SPK_PROTO_JSON_H
#define SPK_PROTO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "spikard/common.h"
#include "util/arena.h"
#include "util/buf.h"

typedef enum spk_json_type {
  SPK_JSON_NULL = 0,
  SPK_JSON_BOOL = 1,
  SPK_JSON_INT = 2,    /* fits int64 exactly */
  SPK_JSON_NUMBER = 3, /* anything else: double + raw text */
  SPK_JSON_STRING = 4,
  SPK_JSON_ARRAY = 5,
  SPK_JSON_OBJECT = 6
} spk_json_type_t;

typedef struct spk_json_value spk_json_value_t;

typedef struct spk_json_member {
  spk_str_t key; /* decoded, NUL-terminated */
  spk_json_value_t *value;
} spk_json_member_t;

struct spk_json_value {
  spk_json_type_t type;
  union {
    int boolean;
    int64_t integer;
    struct {
      double value;  /* nearest double (±inf when out of range) */
      spk_str_t raw; /* the literal as written (lossless); may be empty for built numbers */
      int is_integer;
    } number;
    spk_str_t string;
    struct {
      spk_json_value_t **items;
      size_t len;
      size_t cap; /* slots allocated (builders grow it); parsed arrays: == len. A value built
                     by hand may leave it 0: the next push then reallocates. */
    } array;
    struct {
      spk_json_member_t *members; /* in document order, duplicates resolved (see options) */
      size_t len;
      size_t cap; /* as for arrays */
    } object;
  } u;
};

typedef enum spk_json_dup_keys {
  SPK_JSON_DUP_LAST_WINS = 0, /* like JavaScript/Python: the last value stays, at the first key's
                                 position */
  SPK_JSON_DUP_ERROR = 1      /* reject the document */
} spk_json_dup_keys_t;

typedef struct spk_json_parse_options {
  size_t max_depth; /* nesting limit for arrays + objects; 0 → 32. Exceeding it → SPK_ERANGE */
  spk_json_dup_keys_t dup_keys;
} spk_json_parse_options_t;

typedef struct spk_json_error {
  int code;       /* same as the return value */
  size_t offset;  /* byte offset of the error */
  size_t line;    /* 1-based */
  size_t column;  /* 1-based, in bytes */
  const char *message; /* static text, e.g. "unexpected character" */
} spk_json_error_t;

/* Parse exactly one JSON text (surrounding whitespace allowed). `opts` and `err` may be NULL.
 * Returns 0, SPK_EPROTO (syntax or invalid UTF-8 or duplicate key with DUP_ERROR), SPK_ERANGE
 * (nesting over max_depth) or SPK_ENOMEM. */
int spk_json_parse(spk__arena_t *arena, const char *buf, size_t len,
                   const spk_json_parse_options_t *opts, spk_json_value_t **out,
                   spk_json_error_t *err);

/* Object member lookup by key (linear for small objects is fine; NULL when absent or not an
 * object). */
spk_json_value_t *spk_json_get(const spk_json_value_t *obj, const char *key, size_t key_len);

/* JSON equality as JSON Schema defines it: numbers compare by value (1 == 1.0), objects ignore
 * member order, arrays compare element-wise. */
int spk_json_equal(const spk_json_value_t *a, const spk_json_value_t *b);

/* Numeric value as double (INT or NUMBER); 0 for other types. */
double spk_json_as_double(const spk_json_value_t *v);

/* Append the serialization of v to out: compact (pretty = 0) or indented by 2 spaces.
 * Numbers: INT exactly; NUMBER by raw text when present, else shortest round-trip double;
 * non-finite doubles as null. Strings escaped per RFC 8259 ('"', '\\', control characters as
 * \n \t … or \u00XX; everything else as UTF-8). 0 or SPK_ENOMEM. */
int spk_json_write(spk__buf_t *out, const spk_json_value_t *v, int pretty);
/* Shortest text that reads back to the same double ("3.141592653589793", "-0", "1e+300");
 * out must hold 32 bytes; returns the length. */
size_t spk_json_format_double(char *out, double d);
/* Append s as a JSON string literal. Invalid UTF-8 bytes are written as U+FFFD: the output is
 * always valid JSON, whatever the input. */
int spk_json_write_string(spk__buf_t *out, const char *s, size_t len);

/* Builders (arena-allocated; NULL when out of memory). */
spk_json_value_t *spk_json_new_null(spk__arena_t *a);
spk_json_value_t *spk_json_new_bool(spk__arena_t *a, int b);
spk_json_value_t *spk_json_new_int(spk__arena_t *a, int64_t i);
spk_json_value_t *spk_json_new_double(spk__arena_t *a, double d);
spk_json_value_t *spk_json_new_string(spk__arena_t *a, const char *s, size_t len); /* copies */
spk_json_value_t *spk_json_new_array(spk__arena_t *a, size_t capacity);
spk_json_value_t *spk_json_new_object(spk__arena_t *a, size_t capacity);
/* Append (grows in the arena). 0 or SPK_ENOMEM / SPK_EINVAL (wrong type). */
int spk_json_array_push(spk__arena_t *a, spk_json_value_t *arr, spk_json_value_t *item);
int spk_json_object_set(spk__arena_t *a, spk_json_value_t *obj, const char *key, size_t key_len,
                        spk_json_value_t *value); /* replaces an existing key */

#endif
