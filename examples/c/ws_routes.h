/* WebSocket endpoints of the example app: /ws/echo, /ws/chat (pub/sub), /ws/goodbye. */
#ifndef SPK_EXAMPLE_WS_ROUTES_H
#define SPK_EXAMPLE_WS_ROUTES_H

#include <spikard/app.h>

int ws_routes_register(spk_app_t *app);

#endif
