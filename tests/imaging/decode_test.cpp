#include "cutout/imaging/decode.hpp"
#include "imaging/decode_limits.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>


#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "cutout/imaging/exif.hpp"
#include "imaging/prefixes.hpp"
#include "support/silenced_stderr.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

using namespace std::string_literals;
using testing::encode_as;
using testing::make_picture;

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

std::string encode_with(const cv::Mat& image, const std::string& extension,
                        std::vector<int> params) {
  std::vector<std::uint8_t> buffer;
  EXPECT_TRUE(cv::imencode(extension, image, buffer, params));
  return std::string(buffer.begin(), buffer.end());
}

// Calls decode_image and returns the cutout::Error it throws (failing the test if it does not).
Error decode_error(std::string_view bytes, DecodeLimits limits = kLimits) {
  try {
    decode_image(bytes, limits);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "decode_image did not throw";
  return Error(ErrorKind::Internal, "none", "");
}

void expect_well_formed(const DecodedImage& image) {
  EXPECT_EQ(image.bgr.type(), CV_8UC3);
  EXPECT_TRUE(image.bgr.isContinuous());
  if (!image.alpha.empty()) {
    EXPECT_EQ(image.alpha.type(), CV_8UC1);
    EXPECT_EQ(image.alpha.size(), image.bgr.size());
  }
}

// BGRA with alpha 1..255: lossless WebP drops the colour of fully transparent pixels.
cv::Mat with_alpha(const cv::Mat& bgr) {
  cv::Mat alpha(bgr.size(), CV_8UC1), bgra;
  for (int y = 0; y < alpha.rows; ++y) {
    for (int x = 0; x < alpha.cols; ++x)
      alpha.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>((x * 7 + y) % 255 + 1);
  }
  const cv::Mat parts[] = {bgr, alpha};
  cv::merge(parts, 2, bgra);
  return bgra;
}

TEST(DecodeImage, UnknownDataIsUnsupportedMediaType) {
  for (const std::string& bytes : {""s, "hello"s, "GIF89a\x01\x00\x01\x00"s}) {
    const Error error = decode_error(bytes);
    EXPECT_EQ(error.kind(), ErrorKind::UnsupportedMediaType);
    EXPECT_EQ(error.type(), "unsupported_media_type");
  }
}

TEST(DecodeImage, HugeHeaderIsRefusedBeforeDecoding) {
  // Signature and IHDR only, claiming 50000 x 50000: nothing to decode, so only a check made
  // from the header can answer "too large" (a decode attempt would answer "invalid").
  const std::string png =
      "\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR\0\0\xC3\x50\0\0\xC3\x50\x08\x06\0\0\0\0\0\0\0"s;
  const Error error = decode_error(png);
  EXPECT_EQ(error.kind(), ErrorKind::PayloadTooLarge);
  EXPECT_EQ(error.type(), "image_too_large");
  EXPECT_NE(std::string(error.what()).find("50000x50000"), std::string::npos) << error.what();
}

TEST(DecodeImage, PixelLimitIsInclusive) {
  const std::string png = encode_as(make_picture(40, 25), ".png");
  EXPECT_EQ(decode_image(png, {1000}).bgr.size(), cv::Size(40, 25));
  EXPECT_EQ(decode_error(png, {999}).kind(), ErrorKind::PayloadTooLarge);
}

TEST(DecodeImage, MalformedDataIsInvalidImage) {
  const std::string png = encode_as(make_picture(40, 25), ".png");
  const std::string cases[] = {
      "\x89PNG\r\n\x1A\n"s,  // no header
      png.substr(0, 33),     // header, no pixels
      png.substr(0, 8) + std::string(200, 'x'),
      "\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x10\x00\x10\x01\x01\x11\x00\xFF\xD9"s,  // frame, no scan
      // BMP header for 4 x 4 at 7 bits per pixel, which no decoder knows.
      "BM"s + std::string(12, '\0') + "\x28\0\0\0\x04\0\0\0\x04\0\0\0\x01\0\x07\0"s +
          std::string(40, '\0'),
  };
  for (const std::string& bytes : cases) {
    const Error error = decode_error(bytes);
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument) << error.what();
    EXPECT_EQ(error.type(), "invalid_image");
  }
}

using testing::SilencedStderr;

// Cut anywhere, a file fails as invalid_image (or decodes whole: truncation_test.cpp checks that
// no prefix gives pixels the file did not contain); never another error, a crash, or a read past
// the end.
TEST(DecodeImage, EveryPrefixDecodesOrIsInvalid) {
  const SilencedStderr silenced;
  for (const char* extension : {".png", ".jpg", ".webp", ".bmp"}) {
    const std::string file = encode_as(make_picture(12, 9), extension);
    testing::for_each_prefix(file, [&](std::string_view prefix, std::size_t length) {
      try {
        const DecodedImage image = decode_image(prefix, kLimits);
        EXPECT_EQ(image.bgr.size(), cv::Size(12, 9)) << extension << " prefix " << length;
      } catch (const Error& error) {
        EXPECT_TRUE(error.kind() == ErrorKind::InvalidArgument ||
                    (length < 12 && error.kind() == ErrorKind::UnsupportedMediaType))
            << extension << " prefix " << length << ": " << error.what();
      }
    });
  }
}

TEST(DecodeImage, LosslessFormatsDecodeExactly) {
  const cv::Mat picture = make_picture(33, 21);
  for (const char* extension : {".png", ".bmp", ".tiff"}) {
    const DecodedImage image = decode_image(encode_as(picture, extension), kLimits);
    expect_well_formed(image);
    EXPECT_TRUE(same(image.bgr, picture)) << extension;
    EXPECT_TRUE(image.alpha.empty()) << extension;
  }
  EXPECT_EQ(decode_image(encode_as(picture, ".tiff"), kLimits).format, ImageFormat::Tiff);
  EXPECT_EQ(decode_image(encode_as(picture, ".bmp"), kLimits).format, ImageFormat::Bmp);
}

TEST(DecodeImage, LossyFormatsDecodeToTheRightSize) {
  const cv::Mat picture = make_picture(33, 21);
  for (const char* extension : {".jpg", ".webp"}) {
    const DecodedImage image = decode_image(encode_as(picture, extension), kLimits);
    expect_well_formed(image);
    EXPECT_EQ(image.bgr.size(), picture.size()) << extension;
    EXPECT_LT(cv::norm(image.bgr, picture, cv::NORM_L1) / picture.total() / 3, 8.0) << extension;
  }
}

// JPEG moved from cv::imdecode to libjpeg directly (issue 13); the pixels must not change, or the
// server would drift from the reference pipeline (PIL, also libjpeg with its defaults).
TEST(DecodeImage, JpegPixelsAreThoseOpenCvDecoded) {
  const cv::Mat picture = make_picture(45, 31);  // odd sizes: partial MCUs, upsampled chroma edges
  cv::Mat gray;
  cv::cvtColor(picture, gray, cv::COLOR_BGR2GRAY);
  const std::string files[] = {
      encode_as(picture, ".jpg"),
      encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
      encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 2}),
      encode_with(picture, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100, cv::IMWRITE_JPEG_OPTIMIZE, 1}),
      encode_as(gray, ".jpg"),
  };
  for (const std::string& file : files) {
    const cv::Mat opencv = cv::imdecode(
        cv::Mat(1, static_cast<int>(file.size()), CV_8UC1, const_cast<char*>(file.data())),
        cv::IMREAD_COLOR);
    const DecodedImage image = decode_image(file, kLimits);
    expect_well_formed(image);
    EXPECT_TRUE(same(image.bgr, opencv));
  }
}

TEST(DecodeImage, GrayscaleBecomesBgr) {
  cv::Mat gray;
  cv::cvtColor(make_picture(20, 10), gray, cv::COLOR_BGR2GRAY);
  for (const char* extension : {".png", ".tiff"}) {
    const DecodedImage image = decode_image(encode_as(gray, extension), kLimits);
    expect_well_formed(image);
    cv::Mat expected;
    cv::cvtColor(gray, expected, cv::COLOR_GRAY2BGR);
    EXPECT_TRUE(same(image.bgr, expected)) << extension;
    EXPECT_TRUE(image.alpha.empty());
  }
  const DecodedImage jpeg = decode_image(encode_as(gray, ".jpg"), kLimits);
  expect_well_formed(jpeg);
  EXPECT_EQ(jpeg.bgr.size(), gray.size());
}

TEST(DecodeImage, SixteenBitRoundsEveryValueToEightBits) {
  // All 65536 values once: 257 * k must give k, 65535 gives 255, everything else the nearest.
  cv::Mat wide(256, 256, CV_16UC1);
  for (int v = 0; v < 65536; ++v)
    wide.at<std::uint16_t>(v / 256, v % 256) = static_cast<std::uint16_t>(v);
  for (const char* extension : {".png", ".tiff"}) {
    const DecodedImage image = decode_image(encode_as(wide, extension), kLimits);
    expect_well_formed(image);
    int mismatches = 0;
    for (int v = 0; v < 65536; ++v) {
      const cv::Vec3b pixel = image.bgr.at<cv::Vec3b>(v / 256, v % 256);
      const int expected = (v + 128) / 257;  // round(v / 257); v / 257 is never exactly x.5
      if (pixel[0] != expected || pixel[1] != expected || pixel[2] != expected) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0) << extension;
    EXPECT_EQ(image.bgr.at<cv::Vec3b>(255, 255), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(image.bgr.at<cv::Vec3b>(1, 1), cv::Vec3b(1, 1, 1));  // value 257
  }
}

TEST(DecodeImage, SixteenBitAlphaIsKept) {
  cv::Mat bgra16;
  with_alpha(make_picture(10, 6)).convertTo(bgra16, CV_16UC4, 257.0);
  const DecodedImage image = decode_image(encode_as(bgra16, ".png"), kLimits);
  expect_well_formed(image);
  cv::Mat expected_alpha;
  cv::extractChannel(with_alpha(make_picture(10, 6)), expected_alpha, 3);
  EXPECT_TRUE(same(image.alpha, expected_alpha));
  EXPECT_TRUE(same(image.bgr, make_picture(10, 6)));
}

TEST(DecodeImage, FloatTiffIsScaledFromUnitRange) {
  cv::Mat gray, unit;
  cv::cvtColor(make_picture(10, 6), gray, cv::COLOR_BGR2GRAY);
  gray.convertTo(unit, CV_32FC1, 1.0 / 255.0);
  DecodedImage image = decode_image(encode_as(unit, ".tiff"), kLimits);
  expect_well_formed(image);
  cv::Mat expected;
  cv::cvtColor(gray, expected, cv::COLOR_GRAY2BGR);
  EXPECT_TRUE(same(image.bgr, expected));
  // OpenCV writes three-channel float TIFF as SGI LogLuv, which is lossy: compare loosely.
  make_picture(10, 6).convertTo(unit, CV_32FC3, 1.0 / 255.0);
  image = decode_image(encode_as(unit, ".tiff"), kLimits);
  expect_well_formed(image);
  EXPECT_LE(cv::norm(image.bgr, make_picture(10, 6), cv::NORM_INF), 4.0);
}

TEST(DecodeImage, AlphaIsKeptSeparately) {
  const cv::Mat bgra = with_alpha(make_picture(17, 9));
  cv::Mat expected_alpha;
  cv::extractChannel(bgra, expected_alpha, 3);
  const std::vector<std::pair<std::string, std::vector<int>>> encodings = {
      {".png", {}}, {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}}, {".tiff", {}}};
  for (const auto& [extension, params] : encodings) {
    const DecodedImage image = decode_image(encode_with(bgra, extension, params), kLimits);
    expect_well_formed(image);
    EXPECT_TRUE(same(image.bgr, make_picture(17, 9))) << extension;
    EXPECT_TRUE(same(image.alpha, expected_alpha)) << extension;
  }
}

// The stored image has a red block at its top-left and a blue block at its top-right. For each
// orientation, where a viewer shows them (worked out from the EXIF definitions):
struct Corners {
  int orientation;
  cv::Point red, blue;  // 0/1 for left/right and top/bottom of the shown image
};
const Corners kCorners[] = {
    {1, {0, 0}, {1, 0}}, {2, {1, 0}, {0, 0}}, {3, {1, 1}, {0, 1}}, {4, {0, 1}, {1, 1}},
    {5, {0, 0}, {0, 1}}, {6, {1, 0}, {1, 1}}, {7, {1, 1}, {1, 0}}, {8, {0, 1}, {0, 0}},
};

cv::Mat marked_picture() {
  cv::Mat picture(32, 48, CV_8UC3, cv::Scalar(128, 128, 128));
  picture(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));
  picture(cv::Rect(32, 0, 16, 16)).setTo(cv::Scalar(255, 0, 0));
  return picture;
}

cv::Vec3b corner(const cv::Mat& image, cv::Point which) {
  return image.at<cv::Vec3b>(which.y ? image.rows - 5 : 4, which.x ? image.cols - 5 : 4);
}

bool near(cv::Vec3b actual, cv::Vec3b expected) {
  for (int c = 0; c < 3; ++c) {
    if (std::abs(actual[c] - expected[c]) > 40) return false;
  }
  return true;
}

TEST(DecodeImage, JpegOrientationIsApplied) {
  for (const bool big_endian : {true, false}) {
    for (const Corners& expected : kCorners) {
      const std::string jpeg =
          testing::jpeg_with_orientation(marked_picture(), expected.orientation, big_endian);
      const DecodedImage image = decode_image(jpeg, kLimits);
      expect_well_formed(image);
      const bool swapped = expected.orientation >= 5;
      EXPECT_EQ(image.bgr.size(), swapped ? cv::Size(32, 48) : cv::Size(48, 32));
      EXPECT_TRUE(near(corner(image.bgr, expected.red), {0, 0, 255}))
          << "orientation " << expected.orientation << " red at " << expected.red;
      EXPECT_TRUE(near(corner(image.bgr, expected.blue), {255, 0, 0}))
          << "orientation " << expected.orientation << " blue at " << expected.blue;
    }
  }
}

TEST(DecodeImage, PngAndWebpOrientationTurnsColourAndAlphaAlike) {
  const cv::Mat bgra = with_alpha(make_picture(12, 7));
  cv::Mat alpha;
  cv::extractChannel(bgra, alpha, 3);
  for (const bool big_endian : {true, false}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      for (const std::string& file :
           {testing::png_with_orientation(bgra, orientation, big_endian),
            testing::webp_with_orientation(bgra, orientation, big_endian)}) {
        const DecodedImage image = decode_image(file, kLimits);
        expect_well_formed(image);
        EXPECT_TRUE(same(image.bgr, apply_exif_orientation(make_picture(12, 7), orientation)))
            << to_string(image.format) << " orientation " << orientation;
        EXPECT_TRUE(same(image.alpha, apply_exif_orientation(alpha, orientation)))
            << to_string(image.format) << " orientation " << orientation;
      }
    }
  }
}

}  // namespace
}  // namespace cutout::imaging
