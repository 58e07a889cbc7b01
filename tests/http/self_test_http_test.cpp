// What /health and /warmup say about the warm-up's self-test, and a start that the self-test
// refuses, through the in-process server.

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <opencv2/core.hpp>

#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout {
namespace {

using cutout::testing::InProcessServer;
using cutout::testing::test_settings;
using nlohmann::json;

httplib::Client client(const InProcessServer& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  return c;
}

TEST(SelfTestHttp, HealthAndWarmupReportAPassedSelfTestWithItsDifference) {
  InProcessServer s(test_settings("golden_tiny.pt"));
  s.load();
  for (const auto& res : {client(s).Get("/health"), client(s).Get("/warmup")}) {
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json t = json::parse(res->body)["self_test"];
    EXPECT_EQ(t["status"], "passed") << res->body;
    EXPECT_LT(t["max_difference"].get<double>(), 1e-5);
    EXPECT_DOUBLE_EQ(t["tolerance"].get<double>(), 0.01);
    EXPECT_TRUE(t["ms"].is_number());
  }
}

TEST(SelfTestHttp, AFileWithoutAGoldenIsReadyAndSaysSkipped) {
  InProcessServer s(test_settings("tiny.pt"));
  s.load();
  auto res = client(s).Get("/health");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json t = json::parse(res->body)["self_test"];
  EXPECT_EQ(t["status"], "skipped");
  EXPECT_NE(t["why"].get<std::string>().find("no golden"), std::string::npos) << res->body;
}

TEST(SelfTestHttp, AWrongGoldenIsAFailedStartWithTheReason) {
  for (const char* model : {"golden_wrong.pt", "golden_nan.pt"}) {
    InProcessServer s(test_settings(model));
    s.load();
    for (const auto& res : {client(s).Get("/health"), client(s).Post("/warmup")}) {
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 503) << model;
      const json body = json::parse(res->body);
      EXPECT_EQ(body["status"], "failed");
      EXPECT_EQ(body["error"]["type"], "model_failed");
      // The public answer names the short code; the reason itself is the log's (start-up failed).
      EXPECT_EQ(body["reason"], "self_test_failed") << res->body;
      EXPECT_NE(body["error"]["message"].get<std::string>().find("self_test_failed"), std::string::npos);
      const std::string reason = s.readiness().failure_reason();
      EXPECT_NE(reason.find("self-test failed at fp32 on cpu"), std::string::npos) << reason;
      EXPECT_NE(reason.find(std::string(model) == "golden_nan.pt" ? "NaN or Inf" : "differs from the file's FP32 reference by 0.3"),
                std::string::npos) << reason;
    }
  }
}

// A request whose model answer holds NaN: 500 inference_failed, never a 200 with an empty mask.
TEST(ModelOutputHttp, NanInTheAnswerIsA500NotAnEmptyMask) {
  InProcessServer s(test_settings("nan_on_white.pt"));
  s.load();
  const std::string white = cutout::testing::encode_as(cv::Mat(48, 48, CV_8UC3, cv::Scalar::all(255)), ".png");
  auto res = client(s).Post("/remove-background", white, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500) << res->body;
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "inference_failed") << res->body;
  cv::Mat blue_and_red(48, 48, CV_8UC3, cv::Scalar(255, 0, 0));  // BGR: no white pixel, no NaN
  blue_and_red(cv::Rect(0, 0, 24, 48)).setTo(cv::Scalar(0, 0, 255));
  const std::string picture = cutout::testing::encode_as(blue_and_red, ".png");
  res = client(s).Post("/remove-background", picture, "image/png");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace cutout
