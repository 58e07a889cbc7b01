// crop, crop_margin, max_side, the Accept negotiation and the result headers through the in-process
// server. The numbers are worked out by hand from one picture: 32x32 (the tiny model's own input
// size, so neither resize changes anything), blue with a red rectangle at x 8..19, y 4..27. The
// tiny model's matte is 250 on red and 4 on blue (sigmoid(+-4) x 255), so the subject's box
// (alpha >= 32) is exactly the rectangle: left 8, top 4, width 12, height 24.

#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/in_process_server.hpp"
#include "support/test_images.hpp"

namespace cutout::http {
namespace {

using nlohmann::json;

class Server : public cutout::testing::InProcessServer {
 public:
  Server() { load(); }
  httplib::Result post(const std::string& query, const std::string& image,
                       httplib::Headers headers = {}) const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(60, 0);
    return c.Post(("/remove-background" + query).c_str(), headers, image, "image/png");
  }
};

cv::Mat red_on_blue() {
  cv::Mat bgr(32, 32, CV_8UC3, cv::Scalar(255, 0, 0));
  bgr(cv::Rect(8, 4, 12, 24)).setTo(cv::Scalar(0, 0, 255));
  return bgr;
}

const std::string& picture() {
  static const std::string png = cutout::testing::encode_as(red_on_blue(), ".png");
  return png;
}

cv::Mat decode(const std::string& body) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(body.size()), CV_8UC1, const_cast<char*>(body.data())),
                      cv::IMREAD_UNCHANGED);
}

struct Shape {
  int width, height;           // X-Width, X-Height (and the decoded image)
  int left, top, box_w, box_h;  // X-Foreground-*
};

void expect_shape(const httplib::Result& res, const Shape& s) {
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("X-Width"), std::to_string(s.width));
  EXPECT_EQ(res->get_header_value("X-Height"), std::to_string(s.height));
  EXPECT_EQ(res->get_header_value("X-Foreground-Left"), std::to_string(s.left));
  EXPECT_EQ(res->get_header_value("X-Foreground-Top"), std::to_string(s.top));
  EXPECT_EQ(res->get_header_value("X-Foreground-Width"), std::to_string(s.box_w));
  EXPECT_EQ(res->get_header_value("X-Foreground-Height"), std::to_string(s.box_h));
  EXPECT_FALSE(res->has_header("X-Foreground"));
  const cv::Mat out = decode(res->body);
  EXPECT_EQ(out.cols, s.width);
  EXPECT_EQ(out.rows, s.height);
}

void expect_error(const httplib::Result& res, int status, const std::string& type) {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  const json body = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res->body;
  EXPECT_EQ(body["error"]["code"], status);
  EXPECT_EQ(body["error"]["type"], type);
}

TEST(OutputOptions, HeadersGiveTheSizeAndTheSubjectsBox) {
  Server s;
  auto res = s.post("", picture());
  expect_shape(res, {32, 32, 8, 4, 12, 24});
  const cv::Mat out = decode(res->body);
  EXPECT_EQ(out.at<cv::Vec4b>(4, 8)[3], 250);    // the box's corner pixel is subject
  EXPECT_EQ(out.at<cv::Vec4b>(3, 8)[3], 4);      // the row above it is not
}

TEST(OutputOptions, CropCutsToTheBoxPlusTheMarginClampedToTheImage) {
  Server s;
  expect_shape(s.post("?crop=true", picture()), {12, 24, 0, 0, 12, 24});
  // 3 px: x 5..22, y 1..30.
  expect_shape(s.post("?crop=true&crop_margin=3", picture()), {18, 30, 3, 3, 12, 24});
  expect_shape(s.post("?crop=true&crop_margin=3px", picture()), {18, 30, 3, 3, 12, 24});
  // 50%: 6 px left and right (of 12), 12 px top and bottom (of 24): x 2..25, y clamped to 0..31.
  expect_shape(s.post("?crop=true&crop_margin=50%25", picture()), {24, 32, 6, 4, 12, 24});
  // More than the image has: the whole image.
  expect_shape(s.post("?crop=true&crop_margin=100", picture()), {32, 32, 8, 4, 12, 24});
  expect_shape(s.post("?crop=false", picture()), {32, 32, 8, 4, 12, 24});
  // The cropped pixels are the subject's: red, alpha 250, everywhere.
  const cv::Mat out = decode(s.post("?crop=true", picture())->body);
  ASSERT_EQ(out.type(), CV_8UC4);
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) ASSERT_EQ(out.at<cv::Vec4b>(y, x), cv::Vec4b(0, 0, 255, 250)) << x << "," << y;
  }
}

TEST(OutputOptions, CropWorksWithEveryOutputAndFormat) {
  Server s;
  auto mask = s.post("?crop=true&crop_margin=2&output=mask", picture());
  expect_shape(mask, {16, 28, 2, 2, 12, 24});
  EXPECT_EQ(decode(mask->body).type(), CV_8UC1);
  auto flat = s.post("?crop=true&bg_color=00ff00&format=jpeg", picture());
  expect_shape(flat, {12, 24, 0, 0, 12, 24});
  EXPECT_EQ(flat->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(decode(flat->body).channels(), 3);
  auto webp = s.post("?crop=true&format=webp", picture());
  expect_shape(webp, {12, 24, 0, 0, 12, 24});
  EXPECT_EQ(webp->get_header_value("Content-Type"), "image/webp");
  EXPECT_EQ(decode(webp->body).channels(), 4);
  auto png = s.post("?crop=true&bg_color=ffffff", picture());
  expect_shape(png, {12, 24, 0, 0, 12, 24});
  EXPECT_EQ(decode(png->body).type(), CV_8UC3);
}

TEST(OutputOptions, CropHappensAfterTheExifOrientation) {
  Server s;
  // Stored upright, tagged "rotate 90 clockwise" (6): shown, the rectangle covers x 4..27
  // (31 - 27 .. 31 - 4) and y 8..19.
  const std::string rotated = cutout::testing::png_with_orientation(red_on_blue(), 6);
  expect_shape(s.post("", rotated), {32, 32, 4, 8, 24, 12});
  expect_shape(s.post("?crop=true&crop_margin=1", rotated), {26, 14, 1, 1, 24, 12});
}

TEST(OutputOptions, TheBoxIsOfTheResultsAlphaSoInputTransparencyCounts) {
  Server s;
  // The same picture with alpha: the rectangle's left half (x < 14) fully transparent. The cut-out's
  // alpha (matte x input alpha) is 0 there, so its box is x 14..19; the matte alone still sees
  // the whole rectangle.
  cv::Mat bgra;
  cv::cvtColor(red_on_blue(), bgra, cv::COLOR_BGR2BGRA);
  bgra(cv::Rect(0, 0, 14, 32)).forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 0; });
  const std::string png = cutout::testing::encode_as(bgra, ".png");
  expect_shape(s.post("", png), {32, 32, 14, 4, 6, 24});
  expect_shape(s.post("?crop=true", png), {6, 24, 0, 0, 6, 24});
  expect_shape(s.post("?crop=true&output=mask", png), {12, 24, 0, 0, 12, 24});
}

TEST(OutputOptions, NoSubjectIsAnsweredUncroppedWithXForegroundNone) {
  Server s;
  const std::string blue = cutout::testing::encode_as(cv::Mat(32, 32, CV_8UC3, cv::Scalar(255, 0, 0)), ".png");
  for (const char* query : {"", "?crop=true", "?crop=true&crop_margin=5&max_side=16"}) {
    auto res = s.post(query, blue);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("X-Foreground"), "none") << query;
    EXPECT_FALSE(res->has_header("X-Foreground-Left"));
    EXPECT_FALSE(res->has_header("X-Foreground-Width"));
    const std::string side = std::string(query).find("max_side") == std::string::npos ? "32" : "16";
    EXPECT_EQ(res->get_header_value("X-Width"), side) << query;
    EXPECT_EQ(res->get_header_value("X-Height"), side) << query;
  }
}

TEST(OutputOptions, MaxSideShrinksByAreaAveragingAndNeverEnlarges) {
  Server s;
  // Half size: the rectangle's edges are even, so x 4..9, y 2..13 exactly.
  auto half = s.post("?max_side=16", picture());
  expect_shape(half, {16, 16, 4, 2, 6, 12});
  const cv::Mat out = decode(half->body);
  EXPECT_EQ(out.at<cv::Vec4b>(2, 4), cv::Vec4b(0, 0, 255, 250));  // 2x2 subject pixels: unchanged
  EXPECT_EQ(out.at<cv::Vec4b>(0, 0), cv::Vec4b(255, 0, 0, 4));
  expect_shape(s.post("?max_side=32", picture()), {32, 32, 8, 4, 12, 24});
  expect_shape(s.post("?max_side=4000", picture()), {32, 32, 8, 4, 12, 24});
  // After the crop: 12x24 shrinks to 3x6.
  expect_shape(s.post("?crop=true&max_side=6", picture()), {3, 6, 0, 0, 3, 6});
  expect_shape(s.post("?max_side=8&output=mask", picture()), {8, 8, 2, 1, 3, 6});
  expect_shape(s.post("?max_side=16&bg_color=000000&format=jpeg", picture()), {16, 16, 4, 2, 6, 12});
}

TEST(OutputOptions, BadValuesAreRefused) {
  Server s;
  expect_error(s.post("?crop=yes", picture()), 400, "invalid_parameter");
  expect_error(s.post("?crop_margin=4", picture()), 400, "invalid_parameter");
  expect_error(s.post("?crop=true&crop_margin=-4", picture()), 400, "invalid_parameter");
  expect_error(s.post("?max_side=0", picture()), 400, "invalid_parameter");
  expect_error(s.post("?max_side=big", picture()), 400, "invalid_parameter");
}

std::string type_for(const Server& s, const std::string& query, const std::string& accept) {
  auto res = s.post(query, picture(), {{"Accept", accept}});
  if (!res) return "no response";
  if (res->status != 200) return std::to_string(res->status) + " " + res->body;
  bool varies_by_accept = false;  // beside Vary: Origin from CORS
  for (std::size_t i = 0; i < res->get_header_value_count("Vary"); ++i) {
    varies_by_accept |= res->get_header_value("Vary", i) == "Accept";
  }
  EXPECT_TRUE(varies_by_accept);
  return res->get_header_value("Content-Type");
}

TEST(OutputOptions, AcceptChoosesTheFormat) {
  Server s;
  EXPECT_EQ(type_for(s, "", "*/*"), "image/png");
  EXPECT_EQ(type_for(s, "", "image/webp"), "image/webp");
  EXPECT_EQ(type_for(s, "", "image/png;q=0.5, image/webp;q=0.9"), "image/webp");
  EXPECT_EQ(type_for(s, "", "image/webp;q=0.5, image/png;q=0.5"), "image/png");
  EXPECT_EQ(type_for(s, "", "image/*;q=0.8, image/png;q=0"), "image/webp");
  EXPECT_EQ(type_for(s, "", "image/avif,image/webp,*/*;q=0.8"), "image/webp");
  EXPECT_EQ(type_for(s, "?bg_color=ffffff", "image/jpeg, image/png;q=0.9"), "image/jpeg");
  EXPECT_EQ(type_for(s, "?output=mask", "*/*;q=0.1, image/jpeg"), "image/jpeg");
  // JPEG cannot carry the cut-out's alpha: the next acceptable format, else 406.
  EXPECT_EQ(type_for(s, "", "image/jpeg, */*;q=0.1"), "image/png");
  // An explicit format wins over Accept.
  EXPECT_EQ(type_for(s, "?format=png", "image/jpeg"), "image/png");
  EXPECT_EQ(type_for(s, "?format=webp&output=mask", "image/png"), "image/webp");
}

TEST(OutputOptions, NothingAcceptableIs406WithTheErrorObject) {
  Server s;
  expect_error(s.post("", picture(), {{"Accept", "image/jpeg"}}), 406, "not_acceptable");
  expect_error(s.post("", picture(), {{"Accept", "application/json"}}), 406, "not_acceptable");
  expect_error(s.post("?output=mask", picture(), {{"Accept", "image/png;q=0, image/webp;q=0, image/jpeg;q=0"}}),
               406, "not_acceptable");
  // Multipart: the format field counts as explicit too.
  httplib::Client c("127.0.0.1", s.port());
  httplib::MultipartFormDataItems items = {{"image", picture(), "p.png", "image/png"}, {"format", "webp", "", ""}};
  auto res = c.Post("/remove-background", {{"Accept", "image/jpeg"}}, items);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/webp");
}

TEST(OutputOptions, ABrowserMayReadTheResultHeaders) {
  Server s;  // test_settings() allows https://app.example
  auto res = s.post("", picture(), {{"Origin", "https://app.example"}});
  ASSERT_TRUE(res);
  const std::string exposed = res->get_header_value("Access-Control-Expose-Headers");
  std::set<std::string> names;
  std::stringstream list(exposed);
  for (std::string name; std::getline(list, name, ',');) names.insert(name.substr(name.find_first_not_of(' ')));
  for (const char* name : {"Server-Timing", "Retry-After", "X-Width", "X-Height", "X-Foreground",
                           "X-Foreground-Left", "X-Foreground-Top", "X-Foreground-Width",
                           "X-Foreground-Height"}) {
    EXPECT_EQ(names.count(name), 1u) << name << " not in " << exposed;
  }
}

}  // namespace
}  // namespace cutout::http
