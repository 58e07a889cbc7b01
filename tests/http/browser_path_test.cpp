// The browser path in-process: CORS preflights for the headers a frontend sends, and the optional
// API key (401 with the error object and WWW-Authenticate; probes and preflights stay open).

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using cutout::testing::InProcessServer;
using cutout::testing::test_settings;

httplib::Client client_of(const InProcessServer& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  return c;
}

std::string png() { return cutout::testing::encode_as(cutout::testing::make_picture(32, 24), ".png"); }

TEST(BrowserPath, PreflightAllowsAuthorizationAndTheDefaultHeaders) {
  InProcessServer s;
  auto c = client_of(s);
  auto res = c.Options("/remove-background", {{"Origin", "https://app.example"},
                                              {"Access-Control-Request-Method", "POST"},
                                              {"Access-Control-Request-Headers", "authorization,x-request-id"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  const std::string allowed = res->get_header_value("Access-Control-Allow-Headers");
  for (const char* name : {"Authorization", "Content-Type", "X-API-Key", "X-Request-Id", "traceparent"}) {
    EXPECT_NE(allowed.find(name), std::string::npos) << name << " not in " << allowed;
  }
  // The answers let the page read the request ID too.
  res = c.Get("/health/live", {{"Origin", "https://app.example"}});
  ASSERT_TRUE(res);
  EXPECT_NE(res->get_header_value("Access-Control-Expose-Headers").find("X-Request-Id"), std::string::npos);
}

TEST(BrowserPath, AllowedHeadersAreConfigurable) {
  config::Settings o = test_settings();
  o.cors_allow_headers = {"Content-Type", "X-Custom"};
  InProcessServer s(o);
  auto res = client_of(s).Options("/remove-background", {{"Origin", "https://app.example"},
                                                          {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Headers"), "Content-Type, X-Custom");
}

void expect_unauthorized(const httplib::Result& res) {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401) << res->body;
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"cutout\"");
  const json body = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res->body;
  EXPECT_EQ(body["error"]["code"], 401);
  EXPECT_EQ(body["error"]["type"], "unauthorized");
}

TEST(BrowserPath, ApiKeyGuardsEverythingButProbesAndPreflights) {
  config::Settings o = test_settings();
  o.api_key = "test-key-0123456789";
  InProcessServer s(o);
  s.load();
  auto c = client_of(s);
  // Probes need no key.
  auto res = c.Get("/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // Missing, wrong, or in the wrong scheme: 401, before the body is read; CORS headers still on it.
  expect_unauthorized(c.Get("/warmup"));
  expect_unauthorized(c.Get("/"));
  expect_unauthorized(c.Post("/remove-background", {{"X-API-Key", "test-key-012345678"}}, png(), "image/png"));
  expect_unauthorized(c.Post("/remove-background", {{"Authorization", "Basic dGVzdC1rZXk="}}, png(), "image/png"));
  res = c.Post("/remove-background", {{"Origin", "https://app.example"}}, png(), "image/png");
  expect_unauthorized(res);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  // A preflight carries no credentials and is answered.
  res = c.Options("/remove-background", {{"Origin", "https://app.example"},
                                         {"Access-Control-Request-Method", "POST"},
                                         {"Access-Control-Request-Headers", "authorization"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  // The right key, either way.
  res = c.Post("/remove-background", {{"X-API-Key", "test-key-0123456789"}}, png(), "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = c.Post("/remove-background", {{"Authorization", "Bearer test-key-0123456789"}}, png(), "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

}  // namespace
}  // namespace cutout::http
