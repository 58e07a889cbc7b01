// What a client gets for the inputs of issue 13, end to end through the in-process server: a
// truncated JPEG is a 400 invalid_image (the same answer every time), and a Display P3 JPEG's
// cut-out carries its colours converted to sRGB.

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

std::string read_case(const std::string& name) {
  std::ifstream file(std::string(CUTOUT_IMAGING_CASES_DIR) + "/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

httplib::Result post_file(const cutout::testing::InProcessServer& server, const std::string& bytes,
                          const std::string& filename) {
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(60, 0);
  const httplib::MultipartFormDataItems items = {{"image", bytes, filename, "image/jpeg"}};
  return client.Post("/remove-background", items);
}

TEST(DecodeAnswers, HeaderOnlyJpegIsTheSame400EveryTime) {
  cutout::testing::InProcessServer server;
  server.load();
  const std::string c09 = read_case("c09_jpeg_header_only.jpg");
  std::string first_body;
  for (int i = 0; i < 3; ++i) {
    const auto res = post_file(server, c09, "c09_jpeg_header_only.jpg");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    const auto body = nlohmann::json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res->body;
    EXPECT_EQ(body["error"]["type"], "invalid_image");
    if (i == 0) first_body = res->body;
    EXPECT_EQ(res->body, first_body);
  }
}

TEST(DecodeAnswers, DisplayP3CutOutCarriesSrgbColours) {
  cutout::testing::InProcessServer server;
  server.load();
  const auto res = post_file(server, read_case("c22_display_p3.jpg"), "c22_display_p3.jpg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const cv::Mat out = cv::imdecode(
      cv::Mat(1, static_cast<int>(res->body.size()), CV_8UC1, const_cast<char*>(res->body.data())),
      cv::IMREAD_UNCHANGED);
  ASSERT_EQ(out.type(), CV_8UC4);
  ASSERT_EQ(out.size(), cv::Size(96, 160));
  // The file stores (229, 70, 40); a colour-managed viewer shows it as sRGB (250, 46, 0), and
  // that is what the untagged PNG now holds.
  const cv::Vec4b pixel = out.at<cv::Vec4b>(10, 10);
  EXPECT_NEAR(pixel[2], 250, 1);
  EXPECT_NEAR(pixel[1], 46, 1);
  EXPECT_NEAR(pixel[0], 0, 1);
}

// The decode deadline from the settings: a 1 ms budget stops a 12 MP JPEG (2.8 MB) with a clear 400.
TEST(DecodeDeadlineHttp, APassedDeadlineIs400DecodeTimeout) {
  auto settings = cutout::testing::test_settings("tiny.pt");
  settings.decode_timeout_ms = 1;
  settings.max_body_bytes = 32u << 20;
  settings.max_pixels = 50'000'000;
  cutout::testing::InProcessServer s(settings);
  s.load();
  const std::string jpeg = cutout::testing::encode_as(cutout::testing::make_picture(4000, 3000), ".jpg");
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(60, 0);
  auto res = c.Post("/remove-background", jpeg, "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"]["type"], "decode_timeout") << res->body;
}

}  // namespace
}  // namespace cutout::http
