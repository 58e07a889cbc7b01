// crop, crop_margin, max_side and the Accept negotiation, one function at a time, with numbers
// worked out by hand.

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "cutout/core/error.hpp"
#include "cutout/http/content_negotiation.hpp"
#include "cutout/imaging/crop.hpp"
#include "cutout/imaging/downscale.hpp"
#include "cutout/service/request_options.hpp"

namespace cutout {
namespace {

using imaging::OutputFormat;

TEST(SubjectBox, IsTheBoxOfAlphaAtOrAboveTheThreshold) {
  cv::Mat alpha(20, 30, CV_8UC1, cv::Scalar(imaging::kSubjectAlphaThreshold - 1));  // haze: not subject
  alpha(cv::Rect(5, 3, 10, 4)).setTo(255);
  alpha.at<std::uint8_t>(15, 25) = imaging::kSubjectAlphaThreshold;  // exactly at the threshold: subject
  const auto box = imaging::subject_box(alpha);
  ASSERT_TRUE(box);
  EXPECT_EQ(*box, cv::Rect(5, 3, 21, 13));  // x 5..25, y 3..15
  EXPECT_FALSE(imaging::subject_box(cv::Mat(20, 30, CV_8UC1, cv::Scalar(31))));
}

TEST(CropRegion, AddsPixelsOrPercentPerAxisAndClamps) {
  const cv::Rect box(10, 20, 40, 10);
  const cv::Size image(100, 50);
  EXPECT_EQ(imaging::crop_region(box, {0, false}, image), box);
  EXPECT_EQ(imaging::crop_region(box, {5, false}, image), cv::Rect(5, 15, 50, 20));
  // 10% of 40 wide is 4, of 10 high is 1.
  EXPECT_EQ(imaging::crop_region(box, {10, true}, image), cv::Rect(6, 19, 48, 12));
  // 25 pixels: left and top clamp at 0, bottom at 50.
  EXPECT_EQ(imaging::crop_region(box, {25, false}, image), cv::Rect(0, 0, 75, 50));
  EXPECT_EQ(imaging::crop_region(box, {100, true}, image), cv::Rect(0, 10, 90, 30));
}

TEST(FitWithin, ShrinksTheLongerSideNeverEnlarges) {
  EXPECT_EQ(imaging::fit_within({4000, 3000}, 1024), cv::Size(1024, 768));
  EXPECT_EQ(imaging::fit_within({3000, 4000}, 1024), cv::Size(768, 1024));
  EXPECT_EQ(imaging::fit_within({1000, 3}, 100), cv::Size(100, 1));  // never 0
  EXPECT_EQ(imaging::fit_within({640, 480}, 1024), cv::Size(640, 480));
  EXPECT_EQ(imaging::fit_within({1024, 1024}, 1024), cv::Size(1024, 1024));
}

TEST(DownscaleCutout, AveragesColourWeightedByAlpha) {
  // 2x1 -> 1x1: an opaque red pixel beside a transparent blue one. Plain averaging would give
  // purple at half alpha (the background bleeding into the edge); premultiplied gives red.
  cv::Mat bgr(1, 2, CV_8UC3);
  bgr.at<cv::Vec3b>(0, 0) = {0, 0, 255};
  bgr.at<cv::Vec3b>(0, 1) = {255, 0, 0};
  cv::Mat alpha = (cv::Mat_<std::uint8_t>(1, 2) << 255, 0);
  cv::Mat small_bgr, small_alpha;
  imaging::downscale_cutout(bgr, alpha, {1, 1}, small_bgr, small_alpha);
  EXPECT_EQ(small_bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(small_alpha.at<std::uint8_t>(0, 0), 128);  // (255 + 0) / 2, rounded
  // Both transparent: black, alpha 0.
  alpha.setTo(0);
  imaging::downscale_cutout(bgr, alpha, {1, 1}, small_bgr, small_alpha);
  EXPECT_EQ(small_bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(small_alpha.at<std::uint8_t>(0, 0), 0);
  // Opaque and uniform: unchanged colour at a 3x area factor.
  cv::Mat flat(3, 6, CV_8UC3, cv::Scalar(10, 200, 77)), opaque(3, 6, CV_8UC1, cv::Scalar(255));
  imaging::downscale_cutout(flat, opaque, {2, 1}, small_bgr, small_alpha);
  EXPECT_EQ(small_bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(10, 200, 77));
  EXPECT_EQ(small_alpha.at<std::uint8_t>(0, 1), 255);
}

TEST(DownscaleGray, IsTheAreaMean) {
  const cv::Mat mask = (cv::Mat_<std::uint8_t>(2, 4) << 0, 100, 200, 200, 50, 50, 0, 40);
  const cv::Mat small = imaging::downscale_gray(mask, {2, 1});
  EXPECT_EQ(small.at<std::uint8_t>(0, 0), 50);   // (0 + 100 + 50 + 50) / 4
  EXPECT_EQ(small.at<std::uint8_t>(0, 1), 110);  // (200 + 200 + 0 + 40) / 4
}

std::string error_type(const service::Parameters& p) {
  try {
    service::parse_remove_background_options(p);
  } catch (const Error& e) {
    return e.type();
  }
  return "accepted";
}

TEST(GeometryOptions, ParsesCropMarginAndMaxSide) {
  auto o = service::parse_remove_background_options({{"crop", "true"}, {"crop_margin", "10%"}, {"max_side", "1024"}});
  EXPECT_TRUE(o.geometry.crop);
  ASSERT_TRUE(o.geometry.crop_margin);
  EXPECT_EQ(o.geometry.crop_margin->value, 10);
  EXPECT_TRUE(o.geometry.crop_margin->percent);
  EXPECT_EQ(o.geometry.max_side, 1024);
  EXPECT_FALSE(o.format_given);
  o = service::parse_remove_background_options({{"crop", "1"}, {"crop_margin", "20px"}, {"format", "png"}});
  EXPECT_EQ(o.geometry.crop_margin->value, 20);
  EXPECT_FALSE(o.geometry.crop_margin->percent);
  EXPECT_TRUE(o.format_given);
  EXPECT_FALSE(service::parse_remove_background_options({}).geometry.crop);
  for (const char* bad : {"yes", "", "TRUE"}) EXPECT_EQ(error_type({{"crop", bad}}), "invalid_parameter") << bad;
  for (const char* bad : {"-1", "101%", "65536", "1.5", "10 %", "%", "px", "ten"}) {
    EXPECT_EQ(error_type({{"crop", "true"}, {"crop_margin", bad}}), "invalid_parameter") << bad;
  }
  EXPECT_EQ(error_type({{"crop_margin", "10"}}), "invalid_parameter");  // without crop=true
  for (const char* bad : {"0", "-5", "65536", "1e3", "", "12px"}) {
    EXPECT_EQ(error_type({{"max_side", bad}}), "invalid_parameter") << bad;
  }
  EXPECT_EQ(error_type({{"max_side", "65535"}}), "accepted");
  EXPECT_EQ(error_type({{"maxside", "100"}}), "unknown_parameter");
}

std::optional<OutputFormat> negotiate(const std::string& accept, bool jpeg_possible = true) {
  return http::negotiate_format(accept, jpeg_possible);
}

TEST(Negotiation, FollowsQValuesSpecificityAndTheServersOrder) {
  EXPECT_EQ(negotiate(""), OutputFormat::Png);
  EXPECT_EQ(negotiate("*/*"), OutputFormat::Png);
  EXPECT_EQ(negotiate("image/*"), OutputFormat::Png);
  EXPECT_EQ(negotiate("image/webp"), OutputFormat::Webp);
  EXPECT_EQ(negotiate("IMAGE/WEBP ; Q=1"), OutputFormat::Webp);  // case-insensitive, spaces
  EXPECT_EQ(negotiate("image/jpeg"), OutputFormat::Jpeg);
  EXPECT_EQ(negotiate("image/png;q=0.5, image/webp;q=0.9"), OutputFormat::Webp);
  EXPECT_EQ(negotiate("image/webp;q=0.5, image/png;q=0.5"), OutputFormat::Png);  // tie: png first
  EXPECT_EQ(negotiate("image/*;q=0.8, image/png;q=0"), OutputFormat::Webp);     // q=0 excludes
  EXPECT_EQ(negotiate("image/*;q=0.8, image/webp;q=0.801"), OutputFormat::Webp);
  EXPECT_EQ(negotiate("*/*;q=0.1, image/jpeg"), OutputFormat::Jpeg);
  EXPECT_EQ(negotiate("image/avif,image/webp,*/*;q=0.8"), OutputFormat::Webp);  // a browser's <img>
  EXPECT_EQ(negotiate("text/html, application/json"), std::nullopt);
  EXPECT_EQ(negotiate("image/png;q=0, image/webp;q=0, image/jpeg;q=0"), std::nullopt);
  EXPECT_EQ(negotiate("image/png;q=2, image/webp"), OutputFormat::Webp);  // a bad q drops the element
}

TEST(Negotiation, JpegIsNotAcceptableForATransparentResult) {
  EXPECT_EQ(negotiate("image/jpeg", false), std::nullopt);
  EXPECT_EQ(negotiate("image/jpeg, image/webp;q=0.1", false), OutputFormat::Webp);
  EXPECT_EQ(negotiate("image/jpeg, */*;q=0.1", false), OutputFormat::Png);
}

}  // namespace
}  // namespace cutout
