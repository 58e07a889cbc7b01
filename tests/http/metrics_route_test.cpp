// /metrics on the main port only when asked (--metrics-public), and then behind the API key.

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "support/in_process_server.hpp"

namespace cutout::http {
namespace {

using cutout::testing::InProcessServer;
using cutout::testing::test_settings;

TEST(MetricsRoute, OnTheMainPortOnlyWithMetricsPublic) {
  {
    InProcessServer s;
    auto res = httplib::Client("127.0.0.1", s.port()).Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
  }
  config::Settings o = test_settings();
  o.metrics_public = true;
  o.api_key = "metrics-key";
  InProcessServer s(o);
  httplib::Client c("127.0.0.1", s.port());
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  // The 401 is counted by the access hook, which runs after its answer is written, on that
  // connection's own thread (one per connection): a /metrics read at once on a new connection can
  // come first. Read again until it shows (it always does within moments; 10 s bound).
  const std::string counted = "cutout_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 1";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    res = c.Get("/metrics", {{"X-API-Key", "metrics-key"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    if (res->body.find(counted) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find(counted), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("cutout_readiness_phase{phase=\"starting\"} 1"), std::string::npos) << res->body;
}

}  // namespace
}  // namespace cutout::http
