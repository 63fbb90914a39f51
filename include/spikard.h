/* Spikard — one high-performance HTTP/API toolkit with a C core.
 *
 *   #include <spikard.h>
 *
 *   static int hello(spk_req_t *req, spk_res_t *res, void *ud) {
 *     (void)req; (void)ud;
 *     return spk_res_send(res, 200, "application/json", "{\"message\":\"Hello\"}", 19);
 *   }
 *   int main(void) {
 *     spk_app_t *app = spk_app_new();
 *     spk_app_route(app, "GET", "/hello", hello, NULL);
 *     spk_server_t *srv; spk_server_config_t cfg; spk_server_config_default(&cfg);
 *     if (spk_server_new(&srv, app, &cfg) == 0) spk_server_run(srv);
 *     spk_server_free(srv); spk_app_free(app);
 *   }
 *
 * Headers: common.h (errors, version, allocator), app.h (routes, limits), request.h,
 * response.h, server.h (network), testclient.h (in-memory pipeline for tests), middleware.h
 * (compression, rate limits, CORS, auth, static files…), hooks.h (lifecycle hooks), di.h
 * (dependency injection), background.h (tasks run after the response), stream.h (streamed
 * responses, Server-Sent Events). */
#ifndef SPIKARD_H
#define SPIKARD_H

#include "spikard/common.h"
#include "spikard/app.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "spikard/server.h"
#include "spikard/testclient.h"
#include "spikard/middleware.h"
#include "spikard/hooks.h"
#include "spikard/di.h"
#include "spikard/background.h"
#include "spikard/stream.h"
#include "spikard/websocket.h"
#include "spikard/testclient_ws.h"

#endif
