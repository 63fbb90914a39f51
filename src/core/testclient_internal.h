/* Shared by the test client's HTTP and WebSocket halves. */
#ifndef SPK_CORE_TESTCLIENT_INTERNAL_H
#define SPK_CORE_TESTCLIENT_INTERNAL_H
#include <stddef.h>

#include "spikard/testclient.h"

/* Parse one response (skipping 1xx except 101) from raw bytes into `out`. 1 when complete. */
int spk__test_parse_response(const char *raw, size_t len, int is_head, spk_test_response_t *out);

/* The client's (frozen) app. */
spk_app_t *spk__test_client_app(spk_test_client_t *client);

#endif
