/* Response edits for the response-side middleware (finish steps). By then the response is
 * ended (the public setters answer SPK_ESTATE) and belongs to the connection's thread alone;
 * these edit it anyway. Values are copied into the exchange arena; the caller guarantees the
 * name is a token and the value has no CR/LF/NUL (they come from compiled configs or from
 * values the module checked). */
#ifndef SPK_CORE_RES_FINISH_H
#define SPK_CORE_RES_FINISH_H

#include <stddef.h>

#include "core/exchange.h"

/* Append a field. SPK_ENOMEM. */
int spk__res_add_header_final(spk__exchange_t *ex, const char *name, const char *value,
                              size_t value_len);
/* Replace every field named `name` (case-insensitive) by one, or add it. */
int spk__res_set_header_final(spk__exchange_t *ex, const char *name, const char *value,
                              size_t value_len);
/* Add `token` to the Vary field unless it (or `*`) is already listed, merging into the first
 * existing Vary field ("Accept-Encoding" → "Accept-Encoding, Origin"). */
int spk__res_vary_final(spk__exchange_t *ex, const char *token);

#endif
