/* Checks for typed route segments ({id:int}, {d:date}, …). A failure is a validation error
 * (422), described by a pydantic-style error type and message. */
#ifndef SPK_CORE_PARAM_TYPES_H
#define SPK_CORE_PARAM_TYPES_H

#include <stddef.h>

#include "core/router.h"

typedef struct spk__param_error {
  const char *type; /* "int_parsing", … */
  const char *msg;
} spk__param_error_t;

/* 1 when `s` is a valid value of type `t`; otherwise 0 and *err describes why. */
int spk__param_check(spk__param_type_t t, const char *s, size_t len, spk__param_error_t *err);

/* Individual validators, also used by the query/header coercion later. */
int spk__is_uuid(const char *s, size_t len);
int spk__is_date(const char *s, size_t len);
int spk__is_datetime(const char *s, size_t len);
/* true/false (any case), 1, 0, empty → *out. */
int spk__parse_bool(const char *s, size_t len, int *out);

#endif
