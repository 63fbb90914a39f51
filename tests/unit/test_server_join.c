/* spk_server_config_t.join_port_group: a second server on a port in use is refused unless it
 * joins the SO_REUSEPORT group on purpose (pre-forked workers of one app). */
#include "spikard.h"
#include "test.h"

static int ok_handler(spk_req_t *req, spk_res_t *res, void *ud) {
  return spk_res_send(res, 200, "text/plain", "ok", 2);
}

static void test_join_port_group(void) {
  spk_app_t *app = spk_app_new();
  CHECK(app != NULL);
  CHECK_INT(spk_app_route(app, "GET", "/", ok_handler, NULL), 0);
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.port = 0;
  cfg.workers = 1;
  cfg.handle_signals = 0;
  spk_server_t *a = NULL, *b = NULL, *c = NULL;
  CHECK_INT(spk_server_new(&a, app, &cfg), 0);
  cfg.port = spk_server_port(a);
  CHECK(cfg.port > 0);
  CHECK_INT(spk_server_new(&b, app, &cfg), SPK_EADDR); /* in use: refused by default */
  cfg.join_port_group = 1;
  CHECK_INT(spk_server_new(&c, app, &cfg), 0); /* joins the group */
  CHECK_INT(spk_server_port(c), cfg.port);
  spk_server_free(c);
  spk_server_free(a);
  spk_app_free(app);
}

int main(void) {
  RUN(test_join_port_group);
  return test_report("server_join");
}
