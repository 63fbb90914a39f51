/* Validation errors gathered for one request and rendered as the RFC 9457 envelope:
 * {"type":".../validation-error","title":"Request Validation Failed","status":422,
 *  "detail":"N validation error(s) in request","errors":[{type,loc,msg,input,ctx?}…]}
 * with errors sorted by location. Everything lives in the request arena. */
#ifndef SPK_CORE_VERRORS_H
#define SPK_CORE_VERRORS_H

#include "proto/json.h"
#include "proto/schema.h"

typedef struct spk__verr {
  const char *type;
  const char *msg;
  const char **loc; /* segments, root first ("body", "tags", "2") */
  size_t loc_len;
  const spk_json_value_t *input; /* NULL → null */
  spk_json_value_t *ctx;         /* NULL → omitted */
  size_t seq;                    /* insertion order: ties in location keep it */
} spk__verr_t;

typedef struct spk__verrs {
  spk__arena_t *arena;
  spk__verr_t *items;
  size_t len, cap;
  int oom;
} spk__verrs_t;

void spk__verrs_init(spk__verrs_t *v, spk__arena_t *arena);
/* Add one error; loc given as prefix (e.g. "query") + name. The strings must outlive the
 * request (arena or static). */
spk__verr_t *spk__verrs_add(spk__verrs_t *v, const char *type, const char *msg,
                            const char *loc0, const char *loc1, const spk_json_value_t *input);
/* Translate a JSON Schema error into the reference's error type/msg/ctx (§2.2), located under
 * loc0[/loc1] followed by the schema error's instance path. */
void spk__verrs_add_schema(spk__verrs_t *v, const spk_schema_error_t *e, const char *loc0,
                           const char *loc1);
/* Render the envelope into `out`. 0 or SPK_ENOMEM. */
int spk__verrs_render(spk__verrs_t *v, spk__buf_t *out);

#endif
