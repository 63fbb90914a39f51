/* Route contracts end to end through the test client: parameter coercion and validation for
 * every source, body decoding by media type, and the exact 4xx bodies. */
#include <stdlib.h>

#include "spikard.h"
#include "test.h"

static int h_validated(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t v = spk_req_validated(req);
  return spk_res_send(res, 200, "application/json", v.ptr, v.len);
}

static spk_test_client_t *client_for(spk_app_t **app, const char *method, const char *pattern,
                                     const char *params, const char *body_schema) {
  *app = spk_app_new();
  spk_route_options_t o = {.parameters = params, .body_schema = body_schema};
  int rc = spk_app_route_ex(*app, method, pattern, h_validated, NULL, &o);
  CHECK_INT(rc, 0);
  if (rc) fprintf(stderr, "  %s\n", spk_app_last_error(*app));
  return spk_test_client_new(*app);
}

static void expect(spk_test_client_t *tc, const char *method, const char *target,
                   const char *ctype, const char *body, int status, const char *expected_body) {
  spk_test_header_t h[] = {{"Content-Type", ctype}, {"X-API-Key", "k1"}, {"Cookie", "session=abc; n=5"}};
  spk_test_request_t req = {.method = method, .target = target, .headers = ctype ? h : h + 1,
                            .header_count = ctype ? 3 : 2, .body = body,
                            .body_len = body ? strlen(body) : 0};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, status);
  if (expected_body) CHECK_STR(r.body, expected_body);
  spk_test_response_free(&r);
}

#define ENVELOPE(n, errs)                                                                   \
  "{\"type\":\"https://spikard.dev/errors/validation-error\",\"title\":\"Request Validation " \
  "Failed\",\"status\":422,\"detail\":\"" n "\",\"errors\":[" errs "]}"

static void test_params(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(
      &app, "GET", "/items/{id:int}",
      "{\"query\":{\"q\":{\"type\":\"string\",\"minLength\":2},"
      "\"limit\":{\"type\":\"integer\",\"default\":10,\"maximum\":100},"
      "\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"optional\":true},"
      "\"flag\":{\"type\":\"boolean\",\"optional\":true}},"
      "\"headers\":{\"X_API_Key\":{\"type\":\"string\"}},"
      "\"cookies\":{\"session\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"},"
      "\"missing\":{\"type\":\"string\",\"optional\":true}}}",
      NULL);
  expect(tc, "GET", "/items/7?q=hi&ids=1&ids=0123&flag=True", NULL, NULL, 200,
         "{\"path\":{\"id\":7},\"query\":{\"q\":\"hi\",\"limit\":10,\"ids\":[1,123],\"flag\":true},"
         "\"headers\":{\"X_API_Key\":\"k1\"},\"cookies\":{\"session\":\"abc\",\"n\":5}}");
  expect(tc, "GET", "/items/x?limit=101&ids=1&ids=b", NULL, NULL, 422,
         ENVELOPE("4 validation errors in request",
                  "{\"type\":\"int_parsing\",\"loc\":[\"path\",\"id\"],\"msg\":\"Input should be a "
                  "valid integer, unable to parse string as an integer\",\"input\":\"x\"},"
                  "{\"type\":\"int_parsing\",\"loc\":[\"query\",\"ids\",\"1\"],\"msg\":\"Input "
                  "should be a valid integer, unable to parse string as an integer\",\"input\":\"b\"},"
                  "{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],\"msg\":\"Input "
                  "should be less than or equal to 100\",\"input\":\"101\",\"ctx\":{\"le\":100}},"
                  "{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Field required\","
                  "\"input\":null}"));
  expect(tc, "GET", "/items/1?q=a", NULL, NULL, 422,
         ENVELOPE("1 validation error in request",
                  "{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],\"msg\":\"String should "
                  "have at least 2 characters\",\"input\":\"a\",\"ctx\":{\"min_length\":2}}"));
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_missing_header_and_cookie(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(&app, "GET", "/h",
                                     "{\"headers\":{\"X-Token\":{\"type\":\"string\"}},"
                                     "\"cookies\":{\"sid\":{\"type\":\"string\"}}}",
                                     NULL);
  expect(tc, "GET", "/h", NULL, NULL, 422,
         ENVELOPE("2 validation errors in request",
                  "{\"type\":\"missing\",\"loc\":[\"cookie\",\"sid\"],\"msg\":\"Field required\","
                  "\"input\":\"\"},{\"type\":\"missing\",\"loc\":[\"headers\",\"x-token\"],\"msg\":"
                  "\"Field required\",\"input\":null}"));
  spk_test_client_free(tc);
  spk_app_free(app);
}

static const char item_schema[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
    "\"price\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1},"
    "\"qty\":{\"type\":\"integer\"}},\"required\":[\"name\",\"price\"],"
    "\"additionalProperties\":false}";

static void test_json_body(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(&app, "POST", "/items", NULL, item_schema);
  expect(tc, "POST", "/items", "application/json", "{\"name\":\"a\",\"price\":1.5}", 200,
         "{\"path\":{},\"query\":{},\"headers\":{},\"cookies\":{},\"body\":{\"name\":\"a\",\"price\":1.5}}");
  expect(tc, "POST", "/items", "application/vnd.api+json; charset=UTF-8", "{\"name\":\"a\",\"price\":2}", 200, NULL);
  expect(tc, "POST", "/items", "application/json",
         "{\"price\":0,\"tags\":[],\"extra\":1}", 422,
         ENVELOPE("4 validation errors in request",
                  "{\"type\":\"validation_error\",\"loc\":[\"body\",\"extra\"],\"msg\":\"Additional "
                  "properties are not allowed\",\"input\":{\"price\":0,\"tags\":[],\"extra\":1},"
                  "\"ctx\":{\"additional_properties\":false,\"unexpected_field\":\"extra\"}},"
                  "{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\","
                  "\"input\":{\"price\":0,\"tags\":[],\"extra\":1}},"
                  "{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],\"msg\":\"Input should be "
                  "greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}},"
                  "{\"type\":\"too_short\",\"loc\":[\"body\",\"tags\"],\"msg\":\"List should have at "
                  "least 1 item after validation\",\"input\":[],\"ctx\":{\"min_length\":1}}"));
  expect(tc, "POST", "/items", "application/json", "{\"name\":", 400,
         "{\"detail\":\"Invalid request format\"}");
  expect(tc, "POST", "/items", "application/json; charset=utf-16", "{}", 415,
         "{\"type\":\"https://spikard.dev/errors/unsupported-charset\",\"title\":\"Unsupported "
         "Charset\",\"status\":415,\"detail\":\"Unsupported charset 'utf-16' for JSON. Only UTF-8 is "
         "supported.\"}");
  expect(tc, "POST", "/items", "application/xml", "<a/>", 415,
         "{\"type\":\"https://spikard.dev/errors/unsupported-media-type\",\"title\":\"Unsupported "
         "Media Type\",\"status\":415,\"detail\":\"Unsupported media type\"}");
  expect(tc, "POST", "/items", "json", "{}", 400, "{\"error\":\"Invalid Content-Type header\"}");
  expect(tc, "POST", "/items", NULL, NULL, 422,
         ENVELOPE("1 validation error in request",
                  "{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\",\"input\":null}"));
  char deep[200] = "";
  for (int i = 0; i < 40; i++) strcat(deep, "[");
  for (int i = 0; i < 40; i++) strcat(deep, "]");
  expect(tc, "POST", "/items", "application/json", deep, 400,
         "{\"error\":\"Request body exceeds maximum nesting depth of 32\"}");
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_form_body(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(&app, "POST", "/form", NULL, item_schema);
  expect(tc, "POST", "/form", "application/x-www-form-urlencoded",
         "name=caf%C3%A9+au+lait&price=2.5&qty=3&tags=a&tags=b", 200,
         "{\"path\":{},\"query\":{},\"headers\":{},\"cookies\":{},\"body\":{\"name\":\"café au "
         "lait\",\"price\":2.5,\"qty\":3,\"tags\":[\"a\",\"b\"]}}");
  expect(tc, "POST", "/form", "application/x-www-form-urlencoded", "name=x&price=abc", 422,
         ENVELOPE("1 validation error in request",
                  "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Input should be "
                  "a valid number, unable to parse string as a number\",\"input\":\"abc\"}"));
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_multipart_body(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(
      &app, "POST", "/upload", NULL,
      "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},"
      "\"file\":{\"type\":\"object\",\"required\":[\"filename\",\"size\",\"content\"]}},"
      "\"required\":[\"title\",\"file\"]}");
  const char body[] =
      "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
  expect(tc, "POST", "/upload", "multipart/form-data; boundary=XyZ", body, 200,
         "{\"path\":{},\"query\":{},\"headers\":{},\"cookies\":{},\"body\":{\"title\":\"hello\","
         "\"file\":{\"filename\":\"a.txt\",\"size\":12,\"content\":\"line1\\r\\nline2\","
         "\"content_type\":\"text/plain\"}}}");
  expect(tc, "POST", "/upload", "multipart/form-data", body, 400,
         "{\"error\":\"multipart/form-data requires 'boundary' parameter\"}");
  expect(tc, "POST", "/upload", "multipart/form-data; boundary=XyZ",
         "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n", 400, NULL);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_upload_rules(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for(
      &app, "POST", "/img",
      "{\"files\":{\"image\":{\"required\":true,\"content_type\":[\"image/png\",\"image/jpeg\"],"
      "\"validate_magic_numbers\":true},\"doc\":{\"required\":false}}}",
      NULL);
  const char png_as_jpeg[] =
      "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n\x89PNG\r\n\x1a\n\x00\x01\r\n--b--\r\n";
  spk_test_header_t h[] = {{"Content-Type", "multipart/form-data; boundary=b"}};
  spk_test_request_t req = {.method = "POST", .target = "/img", .headers = h, .header_count = 1,
                            .body = png_as_jpeg, .body_len = sizeof(png_as_jpeg) - 1};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 422);
  CHECK(strstr(r.body, "\"loc\":[\"files\",\"image\"],\"msg\":\"File type mismatch: MIME type is "
                       "image/jpeg but magic numbers indicate image/png\"") != NULL);
  CHECK(strstr(r.body, "\"content\":\"<binary data, 10 bytes>\"") != NULL); /* never raw bytes */
  CHECK(strstr(r.body, "\"magic_bytes\":\"89504e470d0a1a0a\"") != NULL);
  spk_test_response_free(&r);
  expect(tc, "POST", "/img", "multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.sh\"\r\n"
         "Content-Type: application/x-sh\r\n\r\necho\r\n--b--\r\n",
         422, NULL);
  expect(tc, "POST", "/img", "multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n", 422,
         ENVELOPE("1 validation error in request",
                  "{\"type\":\"missing\",\"loc\":[\"files\",\"image\"],\"msg\":\"Field "
                  "required\",\"input\":null}"));
  spk_test_client_free(tc);
  spk_app_free(app);
}

static int h_reply(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  return spk_res_send(res, 200, "application/json", ud, strlen(ud));
}

static void test_response_validation(void) {
  spk_app_t *app = spk_app_new();
  spk_route_options_t o = {.response_schema = "{\"type\":\"object\",\"required\":[\"id\"],"
                                              "\"properties\":{\"id\":{\"type\":\"integer\"}}}"};
  CHECK_INT(spk_app_route_ex(app, "GET", "/good", h_reply, "{\"id\":1}", &o), 0);
  CHECK_INT(spk_app_route_ex(app, "GET", "/bad", h_reply, "{\"id\":\"x\"}", &o), 0);
  CHECK_INT(spk_app_route_ex(app, "GET", "/broken", h_reply, "{\"id\":", &o), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/good", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "{\"id\":1}");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/bad", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/problem+json; charset=utf-8");
  CHECK_STR(r.body, "{\"type\":\"https://spikard.dev/errors/response-validation-error\",\"title\":"
                    "\"Response Validation Failed\",\"status\":500,\"detail\":\"The handler's "
                    "response does not match the route's response schema\",\"errors\":[{\"type\":"
                    "\"int_parsing\",\"loc\":[\"response\",\"id\"],\"msg\":\"Input should be a "
                    "valid integer, unable to parse string as an integer\",\"input\":\"x\"}]}");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/broken", &r), 0);
  CHECK_INT(r.status, 500);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_registration_errors(void) {
  spk_app_t *app = spk_app_new();
  spk_route_options_t bad_json = {.body_schema = "{not json"};
  CHECK_INT(spk_app_route_ex(app, "POST", "/a", h_validated, NULL, &bad_json), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "body_schema") != NULL);
  CHECK_INT(spk_app_freeze(app), SPK_EINVAL); /* never served without its contract */
  spk_app_free(app);
  app = spk_app_new();
  spk_route_options_t bad_group = {.parameters = "{\"querry\":{}}"};
  CHECK_INT(spk_app_route_ex(app, "GET", "/b", h_validated, NULL, &bad_group), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "querry") != NULL);
  spk_app_free(app);
}

int main(void) {
  RUN(test_params);
  RUN(test_missing_header_and_cookie);
  RUN(test_json_body);
  RUN(test_form_body);
  RUN(test_multipart_body);
  RUN(test_upload_rules);
  RUN(test_response_validation);
  RUN(test_registration_errors);
  return test_report("validation");
}
