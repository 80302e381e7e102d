// GET /api/v1/openapi.json: the document describes exactly the routes the Api serves, is served
// without a token, and passes a real OpenAPI 3.1 validator (tests/http/openapi/check.mjs:
// @apidevtools/swagger-parser and @redocly/openapi-core, installed by ./scripts/test).
#include <set>

#include "http/api.h"
#include "serve_fixture.h"

namespace unity::testing {
namespace {

// "GET /api/v1/products/{}": a route with its parameters' names left out, so "{sku}" and "{id}"
// (or "{import}" for both "{type}" and "{id}") compare equal.
using RouteKey = std::string;
RouteKey key_of(std::string method, const std::string& path) {
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out = method + " ";
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      out += "{}";
      i = path.find('}', i);
    } else {
      out += path[i];
    }
  }
  return out;
}

TEST(OpenApiDocument, DocumentsEveryRouteServedAndNothingElse) {
  const json doc = json::parse(http::Api::openapi_document());
  EXPECT_EQ(doc["openapi"], "3.1.0");
  std::set<RouteKey> documented, served;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      documented.insert(key_of(method, path));
    }
  }
  for (const auto& r : http::Api::served_routes()) {
    EXPECT_TRUE(served.insert(key_of(r.method, r.path)).second) << "served twice: " << r.path;
  }
  for (const auto& k : served) EXPECT_TRUE(documented.count(k)) << "served, not documented: " << k;
  for (const auto& k : documented) EXPECT_TRUE(served.count(k)) << "documented, not served: " << k;
}

TEST(OpenApiDocument, EveryOperationNeedsABearerTokenButTheOperatorsProbesAndTheDocument) {
  const json doc = json::parse(http::Api::openapi_document());
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  EXPECT_EQ(doc["security"], json::parse(R"([{"bearer":[]}])"));
  const std::set<std::string> open = {"/healthz",   "/readyz",           "/api/v1/openapi.json",
                                      "/dashboard", "/dashboard/app.js", "/dashboard/app.css"};
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      EXPECT_EQ(operation.contains("security"), open.count(path) == 1) << method << " " << path;
      if (!open.count(path)) {
        EXPECT_TRUE(operation["responses"].contains("401")) << method << " " << path;
      }
    }
  }
}

class OpenApiServeTest : public ServeFixture {};

TEST_P(OpenApiServeTest, ServedWithoutATokenAndValidByARealValidator) {
  start_server();
  auto res = client().Get("/api/v1/openapi.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, std::string(http::Api::openapi_document()));
  EXPECT_EQ(call("POST", "/api/v1/openapi.json", token_a_).first, 405);

  const std::string dir = UNITY_OPENAPI_CHECK_DIR;
  ASSERT_TRUE(std::ifstream(dir + "/node_modules/@redocly/openapi-core/package.json").good())
      << "the validator is not installed in " << dir << ": run ./scripts/test";
  const std::string log = db_->dir() + "/openapi_check.log";
  auto check =
      Process::start({"/usr/bin/env", "node", dir + "/check.mjs",
                      "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/openapi.json"},
                     {}, dir, log);
  EXPECT_EQ(check.wait(120s), std::optional<int>(0)) << slurp(log);
  EXPECT_NE(slurp(log).find("valid: "), std::string::npos) << slurp(log);
}

INSTANTIATE_TEST_SUITE_P(Drivers, OpenApiServeTest, ::testing::Values(Driver::kSqlite),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
