// The HTTP layer in-process: a real server on port 0 with the tiny test models.

#include "cutout/http/server.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/fixtures.hpp"
#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;

using Options = config::Settings;
using cutout::testing::test_settings;

// The in-process server plus a client with a generous read timeout.
class TestServer : public cutout::testing::InProcessServer {
 public:
  explicit TestServer(const Options& o = test_settings()) : InProcessServer(o) {}
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(60, 0);
    return c;
  }
};

std::string picture_png(int w = 64, int h = 48) {
  return cutout::testing::encode_as(cutout::testing::make_picture(w, h), ".png");
}

cv::Mat decode(const std::string& body) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(body.size()), CV_8UC1, const_cast<char*>(body.data())),
                      cv::IMREAD_UNCHANGED);
}

void expect_error(const httplib::Result& res, int status, const std::string& type) {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json body = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res->body;
  EXPECT_EQ(body["error"]["code"], status) << res->body;
  EXPECT_EQ(body["error"]["type"], type) << res->body;
  EXPECT_TRUE(body["error"]["message"].is_string());
}

TEST(HttpServer, LiveAnswersWhileLoading) {
  TestServer s;
  auto res = s.client().Get("/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServer, HealthIs503WithPhaseAndRetryAfterWhileLoading) {
  TestServer s;
  auto res = s.client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_FALSE(res->get_header_value("Retry-After").empty());
  const json body = json::parse(res->body);
  EXPECT_EQ(body["status"], "loading");
  EXPECT_EQ(body["phase"], "starting");
  EXPECT_TRUE(body["elapsed_ms"].is_number());
  // What a progress display needs: step i of n, and the time-left estimate from typical durations.
  EXPECT_EQ(body["phase_index"], 1);
  EXPECT_EQ(body["phase_count"], 4);
  EXPECT_TRUE(body["phase_elapsed_ms"].is_number());
  EXPECT_GE(body["estimated_remaining_ms"].get<double>(), 0.0);
  EXPECT_TRUE(body["phase_overdue"].is_boolean());
  ASSERT_EQ(body["phases"].size(), 4u);
  EXPECT_EQ(body["phases"][1]["name"], "loading_model");
  EXPECT_GT(body["phases"][1]["typical_ms"].get<double>(), 0.0);
}

TEST(HttpServer, HealthIsReadyWithModelAndDevice) {
  TestServer s;
  s.load();
  auto res = s.client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json body = json::parse(res->body);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["device"], "cpu");
  EXPECT_EQ(body["precision"], "fp32");
  EXPECT_EQ(body["model"]["name"], "tiny-red-vs-blue");
  EXPECT_TRUE(body["uptime_s"].is_number());
}

TEST(HttpServer, HealthSaysFailedWithTheReason) {
  Options o = test_settings("not_torchscript.pt");
  TestServer s(o);
  s.load();
  // One contract for a failed start on every route: 503 model_failed with the error object, and
  // no Retry-After (this instance will not recover; it exits and is replaced).
  auto res = s.client().Get("/health");
  expect_error(res, 503, "model_failed");
  const json body = json::parse(res->body);
  EXPECT_EQ(body["status"], "failed");
  // Anyone may read /health: the phase and a short code, never the model path or LibTorch's
  // message (both are in the log's "start-up failed" line).
  EXPECT_EQ(body["reason"], "model_load_failed");
  const std::string message = body["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("model_load_failed"), std::string::npos) << message;
  EXPECT_NE(s.readiness().failure_reason().find("not_torchscript.pt"), std::string::npos)
      << "the log's reason names the file";
  for (const char* secret : {"not_torchscript.pt", "/", "TorchScript", "torch", "Exception", "line "}) {
    EXPECT_EQ(res->body.find(secret), std::string::npos) << secret << " in " << res->body;
  }
  EXPECT_FALSE(res->has_header("Retry-After"));
  auto warmup = s.client().Post("/warmup");
  expect_error(warmup, 503, "model_failed");
  EXPECT_EQ(json::parse(warmup->body)["status"], "failed");
  EXPECT_EQ(json::parse(warmup->body)["reason"], "model_load_failed");
  EXPECT_FALSE(warmup->has_header("Retry-After"));
  auto upload = s.client().Post("/remove-background", picture_png(), "image/png");
  expect_error(upload, 503, "model_failed");
  EXPECT_FALSE(upload->has_header("Retry-After"));
  EXPECT_EQ(upload->body.find("not_torchscript.pt"), std::string::npos) << upload->body;
}

TEST(HttpServer, WhileLoadingEveryRouteGivesTheSameRetryAfter) {
  // One policy: the wait a client is told comes from the start-up estimate, not from a constant
  // per route.
  TestServer s;  // never loaded: stays "starting"
  auto health = s.client().Get("/health");
  auto warmup = s.client().Get("/warmup?timeout_ms=0");
  auto upload = s.client().Post("/remove-background", picture_png(), "image/png");
  ASSERT_TRUE(health && warmup && upload);
  EXPECT_EQ(health->status, 503);
  expect_error(warmup, 503, "warmup_timeout");
  expect_error(upload, 503, "not_ready");
  const std::string retry = health->get_header_value("Retry-After");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_EQ(warmup->get_header_value("Retry-After"), retry);
  EXPECT_EQ(upload->get_header_value("Retry-After"), retry);
}

TEST(HttpServer, WarmupWhenReadyAnswersAtOnceWithTheTimeline) {
  TestServer s;
  s.load();
  for (const auto& res : {s.client().Get("/warmup"), s.client().Post("/warmup")}) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    const json body = json::parse(res->body);
    EXPECT_EQ(body["already_warm"], true);
    EXPECT_TRUE(body["since_process_start_ms"]["ready_ms"].is_number());
    EXPECT_TRUE(body["phase_duration_ms"]["loading_model"].is_number());
    EXPECT_EQ(body["phase"], "ready");
    EXPECT_EQ(body["phase_index"], 4);
    EXPECT_EQ(body["phase_count"], 4);
    EXPECT_EQ(body["estimated_remaining_ms"], 0);
  }
}

TEST(HttpServer, WarmupWaitsForReadyThenAnswers) {
  TestServer s;
  auto pending = std::async(std::launch::async, [&] { return s.client().Get("/warmup?timeout_ms=60000"); });
  // The request is parked on the readiness state; loading now wakes it.
  ASSERT_EQ(pending.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  s.load();
  auto res = pending.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["already_warm"], false);
}

TEST(HttpServer, WarmupTimesOutWith503AndThePhase) {
  TestServer s;
  auto res = s.client().Get("/warmup?timeout_ms=50");
  expect_error(res, 503, "warmup_timeout");
  EXPECT_EQ(json::parse(res->body)["phase"], "starting");
  EXPECT_EQ(json::parse(res->body)["phase_index"], 1);
  EXPECT_FALSE(res->get_header_value("Retry-After").empty());
  expect_error(s.client().Get("/warmup?timeout_ms=soon"), 400, "invalid_parameter");
  expect_error(s.client().Get("/warmup?wait=1"), 400, "unknown_parameter");
}

TEST(HttpServer, RemoveBackgroundWhileLoadingIs503WithRetryAfter) {
  TestServer s;
  auto res = s.client().Post("/remove-background", picture_png(), "image/png");
  expect_error(res, 503, "not_ready");
  EXPECT_FALSE(res->get_header_value("Retry-After").empty());
}

TEST(HttpServer, RemoveBackgroundFromMultipartRawAndFilePart) {
  TestServer s;
  s.load();
  const std::string image = picture_png(120, 80);
  httplib::MultipartFormDataItems items = {{"image", image, "photo.png", "image/png"}};
  std::vector<httplib::Result> results;
  results.push_back(s.client().Post("/remove-background", items));
  results.push_back(s.client().Post("/remove-background", image, "image/png"));
  results.push_back(s.client().Post("/remove-background", image, "application/octet-stream"));
  items[0].name = "file";
  results.push_back(s.client().Post("/remove-background", items));
  for (const auto& res : results) {
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "image/png");
    const cv::Mat out = decode(res->body);
    EXPECT_EQ(out.type(), CV_8UC4);
    EXPECT_EQ(out.cols, 120);
    EXPECT_EQ(out.rows, 80);
    const std::string timing = res->get_header_value("Server-Timing");
    for (const char* stage : {"decode;dur=", "preprocess;dur=", "inference;dur=", "queue;dur=",
                              "postprocess;dur=", "encode;dur="}) {
      EXPECT_NE(timing.find(stage), std::string::npos) << timing;
    }
  }
}

TEST(HttpServer, ParametersComeFromQueryOrFormFields) {
  TestServer s;
  s.load();
  const std::string image = picture_png();
  auto res = s.client().Post("/remove-background?output=mask&format=webp", image, "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/webp");
  EXPECT_EQ(decode(res->body).cols, 64);

  httplib::MultipartFormDataItems items = {{"image", image, "p.png", "image/png"},
                                           {"bg_color", "ffffff", "", ""},
                                           {"format", "jpeg", "", ""}};
  res = s.client().Post("/remove-background", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(decode(res->body).channels(), 3);

  res = s.client().Post("/remove-background?foreground=raw", image, "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(decode(res->body).channels(), 4);
}

TEST(HttpServer, EveryErrorStatusHasAJsonBody) {
  Options o = test_settings();
  o.max_body_bytes = 64 * 1024;
  o.max_pixels = 100'000;
  TestServer s(o);
  s.load();
  auto c = s.client();
  expect_error(c.Post("/remove-background?output=alpha", picture_png(), "image/png"), 400, "invalid_parameter");
  expect_error(c.Post("/remove-background?colour=red", picture_png(), "image/png"), 400, "unknown_parameter");
  expect_error(c.Post("/remove-background?foreground=despill", picture_png(), "image/png"), 400,
               "invalid_parameter");
  expect_error(c.Post("/remove-background", std::string("\x89PNG\r\n\x1a\n garbage", 17), "image/png"), 400,
               "invalid_image");
  expect_error(c.Post("/remove-background", "", "image/png"), 400, "missing_image");
  httplib::MultipartFormDataItems no_image = {{"output", "mask", "", ""}};
  expect_error(c.Post("/remove-background", no_image), 400, "missing_image");
  expect_error(c.Post("/remove-background", std::string(100 * 1024, 'x'), "image/png"), 413, "body_too_large");
  // 120,000 pixels over the 100,000 limit, in a few hundred bytes (flat PNG).
  const std::string flat = cutout::testing::encode_as(cv::Mat(300, 400, CV_8UC3, cv::Scalar(9, 9, 9)), ".png");
  ASSERT_LT(flat.size(), o.max_body_bytes);
  expect_error(c.Post("/remove-background", flat, "image/png"), 413, "image_too_large");
  expect_error(c.Post("/remove-background", "hello", "text/plain"), 415, "unsupported_media_type");
  expect_error(c.Post("/remove-background", "<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"), 415,
               "unsupported_media_type");
  expect_error(c.Get("/no-such-endpoint"), 404, "not_found");
  // And the server still serves a normal request afterwards.
  auto res = c.Post("/remove-background", picture_png(), "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServer, QueueFullGets503WithRetryAfter) {
  Options o = test_settings("slow.pt");
  o.queue_depth = 1;
  TestServer s(o);
  s.load();
  const std::string image = picture_png(32, 32);
  std::vector<std::future<httplib::Result>> pending;
  for (int i = 0; i < 6; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      return s.client().Post("/remove-background", image, "image/png");
    }));
  }
  int ok = 0, full = 0;
  for (auto& p : pending) {
    auto res = p.get();
    ASSERT_TRUE(res);
    if (res->status == 200) ++ok;
    if (res->status == 503) {
      expect_error(res, 503, "queue_full");
      EXPECT_EQ(res->get_header_value("Retry-After"), "1");
      ++full;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(full, 1);
  EXPECT_EQ(ok + full, 6);
}

TEST(HttpServer, ConcurrentRequestsAllSucceed) {
  TestServer s;
  s.load();
  std::vector<std::future<httplib::Result>> pending;
  for (int i = 0; i < 4; ++i) {
    pending.push_back(std::async(std::launch::async, [&, i] {
      return s.client().Post("/remove-background", picture_png(50 + i, 40), "image/png");
    }));
  }
  for (int i = 0; i < 4; ++i) {
    auto res = pending[i].get();
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(decode(res->body).cols, 50 + i);  // each answer belongs to its own request
  }
}

TEST(HttpServer, CorsAllowsListedOriginsOnly) {
  TestServer s;
  s.load();
  auto c = s.client();
  auto res = c.Get("/health", {{"Origin", "https://app.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(res->get_header_value("Access-Control-Expose-Headers").find("Server-Timing"), std::string::npos);
  res = c.Get("/health", {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));

  // Error answers carry CORS too, so the page can read them.
  res = c.Post("/remove-background", httplib::Headers{{"Origin", "https://app.example"}}, "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");

  res = c.Options("/remove-background", {{"Origin", "https://app.example"},
                                         {"Access-Control-Request-Method", "POST"},
                                         {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(res->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  res = c.Options("/remove-background", {{"Origin", "https://evil.example"},
                                         {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(res);
  expect_error(res, 403, "cors_origin_not_allowed");
}

TEST(HttpServer, CorsIsOffByDefault) {
  Options o = test_settings();
  o.cors_origins = {};
  TestServer s(o);
  auto res = s.client().Get("/health/live", {{"Origin", "https://app.example"}});
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));
}

}  // namespace
}  // namespace cutout::http
