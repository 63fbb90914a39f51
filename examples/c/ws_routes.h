/* WebSocket endpoints of the example app: /ws/echo, /ws/chat (pub/sub), /ws/goodbye. */
#ifndef SPK_EXAMPLE_WS_ROUTES_H
#define SPK_EXAMPLE_WS_ROUTES_H

#include <spikard/app.h>
#include <spikard/websocket.h>

/* Registers the routes. `*hub_out` receives the chat rooms' hub (NULL when out of memory);
 * free it with spk_ws_hub_free after the app. */
int ws_routes_register(spk_app_t *app, spk_ws_hub_t **hub_out);

#endif
