// ICC-tagged inputs come out as sRGB, equal to lcms2's own (unoptimised, double precision)
// conversion of the same pixels; sRGB-tagged and untagged ones come out untouched.

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <lcms2.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/imaging/decode.hpp"
#include "imaging/decode_limits.hpp"
#include "imaging/colour_files.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using testing::encode_as;

// Saturated and neutral colours, dark to light: in gamut and far outside sRGB for wide profiles.
cv::Mat colour_chart() {
  cv::Mat chart(24, 32, CV_8UC3);
  for (int y = 0; y < chart.rows; ++y) {
    for (int x = 0; x < chart.cols; ++x) {
      chart.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(x * 255 / 31),
                                   static_cast<std::uint8_t>((y * 11 + x * 5) % 256),
                                   static_cast<std::uint8_t>(255 - y * 255 / 23)};
    }
  }
  chart(cv::Rect(0, 0, 4, 4)).setTo(cv::Scalar(0, 0, 255));    // pure red
  chart(cv::Rect(4, 0, 4, 4)).setTo(cv::Scalar(0, 255, 0));    // pure green
  chart(cv::Rect(8, 0, 4, 4)).setTo(cv::Scalar(255, 0, 0));    // pure blue
  chart(cv::Rect(12, 0, 4, 4)).setTo(cv::Scalar(128, 128, 128));
  return chart;
}

cv::Mat opencv_decode(const std::string& bytes) {  // OpenCV ignores ICC profiles
  return cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1,
                              const_cast<char*>(bytes.data())),
                      cv::IMREAD_COLOR);
}

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.type(), b.type());
  return a.size() == b.size() && a.type() == b.type() ? cv::norm(a, b, cv::NORM_INF) : 1e9;
}

struct Profile {
  const char* name;
  std::string bytes;
};

// lcms2 optimises 8-bit matrix/TRC transforms into 8-bit tables and fixed-point matrices; against
// its double-precision path that differs by one level at most.
TEST(ColourProfile, RgbProfilesInEveryContainerBecomeSrgb) {
  const cv::Mat chart = colour_chart();
  for (const Profile& profile : {Profile{"Display P3", testing::display_p3_profile()},
                                 Profile{"Adobe RGB", testing::adobe_rgb_profile()}}) {
    const cv::Mat expected =
        testing::reference_to_srgb(chart, profile.bytes, INTENT_RELATIVE_COLORIMETRIC);
    ASSERT_GT(cv::norm(expected, chart, cv::NORM_INF), 20) << "the profile must matter";
    for (const std::string& file :
         {testing::png_with_icc(chart, profile.bytes), testing::webp_with_icc(chart, profile.bytes),
          testing::tiff_with_icc(chart, profile.bytes)}) {
      const DecodedImage image = decode_image(file, kLimits);
      EXPECT_LE(max_difference(image.bgr, expected), 1)
          << profile.name << " in " << to_string(image.format);
    }
    // JPEG: the reference converts the pixels the JPEG decodes to, with the profile split over
    // several APP2 segments (as large profiles are).
    const std::string jpeg = testing::jpeg_with_icc(chart, profile.bytes, 100);
    const cv::Mat jpeg_expected = testing::reference_to_srgb(
        opencv_decode(jpeg), profile.bytes, INTENT_RELATIVE_COLORIMETRIC);
    EXPECT_LE(max_difference(decode_image(jpeg, kLimits).bgr, jpeg_expected), 1) << profile.name;
  }
}

TEST(ColourProfile, DisplayP3CaseComesOutAsItsSrgbColours) {
  std::ifstream file(std::string(CUTOUT_IMAGING_CASES_DIR) + "/c22_display_p3.jpg",
                     std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  const DecodedImage image = decode_image(bytes.str(), kLimits);
  ASSERT_EQ(image.bgr.size(), cv::Size(96, 160));
  // The file stores (229, 70, 40) there; a colour-managed viewer shows it as sRGB (250, 46, 0).
  EXPECT_EQ(opencv_decode(bytes.str()).at<cv::Vec3b>(10, 10), cv::Vec3b(40, 70, 229));
  const cv::Vec3b pixel = image.bgr.at<cv::Vec3b>(10, 10);
  EXPECT_NEAR(pixel[2], 250, 1);
  EXPECT_NEAR(pixel[1], 46, 1);
  EXPECT_NEAR(pixel[0], 0, 1);
}

TEST(ColourProfile, CmykJpegWithProfileBecomesSrgb) {
  // Inverted (Adobe) CMYK, as Photoshop writes it: a ramp of each ink, and of black.
  cv::Mat cmyk(16, 32, CV_8UC4);
  for (int y = 0; y < cmyk.rows; ++y) {
    for (int x = 0; x < cmyk.cols; ++x) {
      const auto ink = static_cast<std::uint8_t>(x * 255 / 31);
      cv::Vec4b p(0, 0, 0, 0);
      p[y / 4] = ink;
      cmyk.at<cv::Vec4b>(y, x) = cv::Vec4b(255, 255, 255, 255) - p;
    }
  }
  const std::string profile = testing::cmyk_profile();
  const std::string jpeg = testing::cmyk_jpeg(cmyk, profile);
  // The profile has perceptual tables (AToB0), so perceptual is the intent used. Our pixels are
  // lcms2's ordinary 8-bit conversion of the decoded CMYK, exactly; that conversion resamples the
  // profile's table onto its own grid, and is within 6 levels of the double-precision one here.
  const cv::Mat raw = testing::decode_raw_cmyk(jpeg);
  const DecodedImage image = decode_image(jpeg, kLimits);
  EXPECT_EQ(max_difference(image.bgr,
                           testing::reference_to_srgb(raw, profile, INTENT_PERCEPTUAL, true)),
            0);
  EXPECT_LE(max_difference(image.bgr, testing::reference_to_srgb(raw, profile, INTENT_PERCEPTUAL)),
            6);
  // Cyan ink at full strength is far from what the naive formula gives (pure (0, 255, 255)).
  const cv::Vec3b cyan = image.bgr.at<cv::Vec3b>(0, 31);
  EXPECT_LT(cyan[2], 120);
  EXPECT_GT(cyan[0], 150);
}

TEST(ColourProfile, CmykJpegWithoutProfileUsesTheNaiveFormula) {
  cv::Mat cmyk(8, 8, CV_8UC4, cv::Scalar(255 - 200, 255, 255, 255));  // cyan 200, no other ink
  const std::string jpeg = testing::cmyk_jpeg(cmyk, "");
  const DecodedImage image = decode_image(jpeg, kLimits);
  // The same pixels as before the move off cv::imdecode, whose formula this is.
  EXPECT_EQ(max_difference(image.bgr, opencv_decode(jpeg)), 0);
  cv::Mat ramp(8, 64, CV_8UC4);
  cv::randu(ramp, cv::Scalar::all(0), cv::Scalar::all(256));
  const std::string ramp_jpeg = testing::cmyk_jpeg(ramp, "");
  EXPECT_EQ(max_difference(decode_image(ramp_jpeg, kLimits).bgr, opencv_decode(ramp_jpeg)), 0);
  const cv::Vec3b pixel = image.bgr.at<cv::Vec3b>(4, 4);
  EXPECT_NEAR(pixel[2], 55, 3);  // 255 - 200
  EXPECT_NEAR(pixel[1], 255, 3);
  EXPECT_NEAR(pixel[0], 255, 3);
}

TEST(ColourProfile, GrayProfileAppliesToGrayPixels) {
  cv::Mat ramp(4, 256, CV_8UC1);
  for (int x = 0; x < 256; ++x) ramp.col(x).setTo(x);
  const std::string profile = testing::gray_profile(1.0);  // linear gray: dark tones get lighter
  const DecodedImage image = decode_image(testing::png_with_icc(ramp, profile), kLimits);
  cv::Mat ramp_bgr;
  cv::cvtColor(ramp, ramp_bgr, cv::COLOR_GRAY2BGR);
  // The reference: the same gray as RGB through the gray profile's tone curve; sRGB of a linear
  // 0.5 is 188.
  EXPECT_NEAR(image.bgr.at<cv::Vec3b>(0, 128)[1], 188, 1);
  EXPECT_EQ(image.bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(image.bgr.at<cv::Vec3b>(0, 255), cv::Vec3b(255, 255, 255));
  for (int x = 0; x < 256; ++x) {
    const cv::Vec3b p = image.bgr.at<cv::Vec3b>(2, x);
    EXPECT_TRUE(p[0] == p[1] && p[1] == p[2]) << x;
    EXPECT_GE(p[1], x) << x;
  }
}

TEST(ColourProfile, SrgbTaggedAndUntaggedPixelsAreUntouched) {
  const cv::Mat chart = colour_chart();
  const std::string srgb = testing::srgb_profile();
  for (const std::string& file : {testing::png_with_icc(chart, srgb),
                                  testing::webp_with_icc(chart, srgb),
                                  testing::tiff_with_icc(chart, srgb), encode_as(chart, ".png")}) {
    EXPECT_EQ(max_difference(decode_image(file, kLimits).bgr, chart), 0);
  }
  const std::string jpeg = testing::jpeg_with_icc(chart, srgb);
  EXPECT_EQ(max_difference(decode_image(jpeg, kLimits).bgr, opencv_decode(jpeg)), 0);
}

TEST(ColourProfile, UnusableProfilesAreIgnored) {
  // Garbage lcms2 cannot read, and a CMYK profile on RGB pixels: the pixels are taken as sRGB,
  // as browsers do, and the decode succeeds.
  const cv::Mat chart = colour_chart();
  for (const std::string& profile :
       {std::string(300, 'x'), testing::display_p3_profile().substr(0, 200), testing::cmyk_profile()}) {
    EXPECT_EQ(max_difference(decode_image(testing::png_with_icc(chart, profile), kLimits).bgr, chart), 0);
    EXPECT_EQ(max_difference(decode_image(testing::tiff_with_icc(chart, profile), kLimits).bgr, chart),
              0);
  }
}

TEST(ColourProfile, AlphaAndOrientationSurviveConversion) {
  cv::Mat bgra;
  cv::cvtColor(colour_chart(), bgra, cv::COLOR_BGR2BGRA);
  for (int x = 0; x < bgra.cols; ++x) bgra.col(x).forEach<cv::Vec4b>([&](cv::Vec4b& p, const int*) {
    p[3] = static_cast<std::uint8_t>(x * 8);
  });
  const std::string profile = testing::display_p3_profile();
  const DecodedImage image = decode_image(testing::png_with_icc(bgra, profile), kLimits);
  cv::Mat alpha;
  cv::extractChannel(bgra, alpha, 3);
  EXPECT_EQ(cv::norm(image.alpha, alpha, cv::NORM_INF), 0);
  EXPECT_LE(max_difference(image.bgr, testing::reference_to_srgb(colour_chart(), profile,
                                                                 INTENT_RELATIVE_COLORIMETRIC)),
            1);
}

}  // namespace
}  // namespace cutout::imaging
