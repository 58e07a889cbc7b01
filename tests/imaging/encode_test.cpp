#include "cutout/imaging/encode.hpp"
#include "imaging/decode_limits.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "cutout/imaging/decode.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {


using testing::make_picture;

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

cv::Mat decode_unchanged(const std::string& bytes) {
  const std::vector<std::uint8_t> buffer(bytes.begin(), bytes.end());
  return cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
}

cv::Mat bgra_picture(int width, int height) {
  cv::Mat bgra;
  cv::cvtColor(make_picture(width, height), bgra, cv::COLOR_BGR2BGRA);
  cv::Mat alpha(height, width, CV_8UC1);
  cv::randu(alpha, 1, 256);  // no 0: lossless WebP drops the colour of invisible pixels
  cv::insertChannel(alpha, bgra, 3);
  return bgra;
}

TEST(MimeType, OnePerFormat) {
  EXPECT_EQ(mime_type(OutputFormat::Png), "image/png");
  EXPECT_EQ(mime_type(OutputFormat::Webp), "image/webp");
  EXPECT_EQ(mime_type(OutputFormat::Jpeg), "image/jpeg");
}

TEST(EncodeImage, PngIsLosslessForEveryChannelCountAndLevel) {
  cv::Mat gray;
  cv::cvtColor(make_picture(45, 30), gray, cv::COLOR_BGR2GRAY);
  for (const cv::Mat& image : {gray, make_picture(45, 30), bgra_picture(45, 30)}) {
    for (const int level : {0, 1, 9}) {
      EncodeOptions options;
      options.png_compression = level;
      const std::string png = encode_image(image, OutputFormat::Png, options);
      EXPECT_TRUE(same(decode_unchanged(png), image))
          << image.channels() << " channels, level " << level;
    }
  }
  EncodeOptions stored, best;
  stored.png_compression = 0;
  best.png_compression = 9;
  EXPECT_GT(encode_image(make_picture(45, 30), OutputFormat::Png, stored).size(),
            encode_image(make_picture(45, 30), OutputFormat::Png, best).size());
}

TEST(EncodeImage, PngRoundTripsThroughOurDecoder) {
  const cv::Mat bgra = bgra_picture(20, 12);
  const DecodedImage decoded = decode_image(encode_image(bgra, OutputFormat::Png, {}), kLimits);
  cv::Mat alpha;
  cv::extractChannel(bgra, alpha, 3);
  EXPECT_TRUE(same(decoded.bgr, make_picture(20, 12)));
  EXPECT_TRUE(same(decoded.alpha, alpha));
}

TEST(EncodeImage, JpegRefusesAlpha) {
  try {
    encode_image(bgra_picture(8, 8), OutputFormat::Jpeg, {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_EQ(error.type(), "alpha_not_supported");
  }
}

TEST(EncodeImage, JpegOfColourAndGray) {
  cv::Mat gray;
  cv::cvtColor(make_picture(45, 30), gray, cv::COLOR_BGR2GRAY);
  const cv::Mat colour =
      decode_unchanged(encode_image(make_picture(45, 30), OutputFormat::Jpeg, {}));
  EXPECT_EQ(colour.size(), cv::Size(45, 30));
  EXPECT_EQ(colour.type(), CV_8UC3);
  const cv::Mat mono = decode_unchanged(encode_image(gray, OutputFormat::Jpeg, {}));
  EXPECT_EQ(mono.size(), cv::Size(45, 30));
  EXPECT_EQ(mono.type(), CV_8UC1);
  EncodeOptions low;
  low.jpeg_quality = 10;
  EXPECT_LT(encode_image(make_picture(45, 30), OutputFormat::Jpeg, low).size(),
            encode_image(make_picture(45, 30), OutputFormat::Jpeg, {}).size());
}

TEST(EncodeImage, WebpKeepsSizeAndAlpha) {
  const cv::Mat bgra = bgra_picture(45, 30);
  const cv::Mat lossy = decode_unchanged(encode_image(bgra, OutputFormat::Webp, {}));
  EXPECT_EQ(lossy.size(), cv::Size(45, 30));
  EXPECT_EQ(lossy.type(), CV_8UC4);
  EncodeOptions lossless;
  lossless.webp_quality = 101;
  EXPECT_TRUE(same(decode_unchanged(encode_image(bgra, OutputFormat::Webp, lossless)), bgra));
  const cv::Mat colour =
      decode_unchanged(encode_image(make_picture(45, 30), OutputFormat::Webp, {}));
  EXPECT_EQ(colour.size(), cv::Size(45, 30));
  EXPECT_EQ(colour.type(), CV_8UC3);
}

TEST(EncodeImage, UnsupportedPixelTypesAreInternalErrors) {
  for (const cv::Mat& image :
       {cv::Mat(), cv::Mat(4, 4, CV_16UC3, cv::Scalar(0)), cv::Mat(4, 4, CV_8UC2, cv::Scalar(0))}) {
    try {
      encode_image(image, OutputFormat::Png, {});
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Internal);
    }
  }
}

}  // namespace
}  // namespace cutout::imaging
