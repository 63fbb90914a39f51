/* Request accessors for what middleware attached to the request. */
#include "core/exchange.h"
#include "spikard/middleware.h"

SPK_EXTERN spk_str_t spk_req_id(const spk_req_t *req) {
  return req ? spk__exchange_of_req(req)->request_id : (spk_str_t){"", 0};
}

SPK_EXTERN spk_str_t spk_req_jwt_claims(const spk_req_t *req) {
  return req ? spk__exchange_of_req(req)->jwt_claims : (spk_str_t){"", 0};
}
