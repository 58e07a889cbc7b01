// Issue 14: the memory budget across requests and the maximum queue wait, through a real
// in-process server. Concurrent requests over the budget are answered 503 busy while one that fits
// is served; a request that waits longer than --max-queue-wait-ms is answered 503 queue_timeout.

#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cutout/service/memory_estimate.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;
using cutout::testing::test_settings;

httplib::Client client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  return c;
}

std::string type_of(const httplib::Result& res) {
  const json body = json::parse(res->body, nullptr, false);
  return body.is_object() ? body["error"]["type"].get<std::string>() : "";
}

// What the service will reserve for `image` sent as a default (RGBA PNG) request, with the
// test settings' model input (32 x 32, slow.pt's and tiny.pt's).
std::uint64_t reserved_for(const std::string& image) {
  const auto shape = service::request_shape(image, 4'000'000, 32, 32);
  EXPECT_TRUE(shape.has_value());
  return shape ? service::estimate_peak_bytes(*shape, service::RemoveBackgroundOptions{}) : 0;
}

// `n` requests at once; returns their answers.
std::vector<httplib::Result> all_at_once(int port, const std::string& image, int n, const std::string& query = "") {
  std::vector<std::future<httplib::Result>> pending;
  for (int i = 0; i < n; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      return client(port).Post("/remove-background" + query, image, "image/png");
    }));
  }
  std::vector<httplib::Result> out;
  for (auto& p : pending) out.push_back(p.get());
  return out;
}

TEST(BackPressure, ConcurrentRequestsOverTheMemoryBudgetAreBusyWhileOneFits) {
  config::Settings o = test_settings("slow.pt");  // a forward pass long enough for requests to overlap
  o.queue_depth = 16;                             // the budget, not the queue, is what refuses here
  o.max_queue_wait_ms = 0;
  const std::string image = cutout::testing::encode_as(cutout::testing::make_picture(640, 480), ".png");
  const std::uint64_t one = reserved_for(image);
  ASSERT_GT(one, 640u * 480u);
  o.memory_budget_bytes = one + one / 2;  // one fits, two do not
  cutout::testing::InProcessServer s(o);
  s.load();
  const auto answers = all_at_once(s.port(), image, 6);
  int ok = 0, busy = 0;
  for (const auto& res : answers) {
    ASSERT_TRUE(res);
    if (res->status == 200) ++ok;
    if (res->status == 503) {
      EXPECT_EQ(type_of(res), "busy") << res->body;
      EXPECT_EQ(res->get_header_value("Retry-After"), "1");
      ++busy;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  EXPECT_EQ(ok + busy, 6);
  // Every reservation was given back: one more request alone is served.
  auto res = client(s.port()).Post("/remove-background", image, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(BackPressure, AnImageOverTheWholeBudgetIs413NotBusy) {
  config::Settings o = test_settings();
  const std::string small = cutout::testing::encode_as(cutout::testing::make_picture(64, 48), ".png");
  const std::string large = cutout::testing::encode_as(cutout::testing::make_picture(800, 600), ".png");
  o.memory_budget_bytes = reserved_for(small) * 2;
  ASSERT_GT(reserved_for(large), o.memory_budget_bytes);
  cutout::testing::InProcessServer s(o);
  s.load();
  auto res = client(s.port()).Post("/remove-background", large, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_EQ(type_of(res), "image_too_large");
  // Nothing was kept reserved: a small image is served.
  res = client(s.port()).Post("/remove-background", small, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST(BackPressure, AWaitPastTheMaximumQueueWaitIs503QueueTimeout) {
  config::Settings o = test_settings("slow.pt");
  o.queue_depth = 16;  // the wait, not the queue's length, is what refuses here
  o.max_queue_wait_ms = 1;
  const std::string image = cutout::testing::encode_as(cutout::testing::make_picture(64, 48), ".png");
  cutout::testing::InProcessServer s(o);
  s.load();
  const auto answers = all_at_once(s.port(), image, 6);
  int ok = 0, timed_out = 0;
  for (const auto& res : answers) {
    ASSERT_TRUE(res);
    if (res->status == 200) ++ok;
    if (res->status == 503) {
      EXPECT_EQ(type_of(res), "queue_timeout") << res->body;
      EXPECT_EQ(res->get_header_value("Retry-After"), "1");
      ++timed_out;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(timed_out, 1);
  EXPECT_EQ(ok + timed_out, 6);
}

TEST(BackPressure, MetricsShowTheBudgetAndTheTimeouts) {
  config::Settings o = test_settings();
  o.memory_budget_bytes = 500'000'000;
  o.metrics_public = true;
  cutout::testing::InProcessServer s(o);
  s.load();
  auto res = client(s.port()).Post("/remove-background",
                                   cutout::testing::encode_as(cutout::testing::make_picture(64, 48), ".png"),
                                   "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  res = client(s.port()).Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  for (const char* line : {"cutout_memory_budget_bytes 500000000\n", "cutout_memory_budget_in_use_bytes 0\n",
                           "cutout_memory_budget_rejections_total 0\n", "cutout_inference_queue_timeouts_total 0\n"}) {
    EXPECT_NE(res->body.find(line), std::string::npos) << line << res->body;
  }
}

}  // namespace
}  // namespace cutout::http
