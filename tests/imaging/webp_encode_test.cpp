// WebP through libwebp's advanced API (src/imaging/webp_encode.cpp), against OpenCV's encoder that
// it replaced.

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/error.hpp"
#include "cutout/imaging/encode.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

cv::Mat with_alpha(const cv::Mat& bgr) {
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  cv::Mat alpha(bgr.size(), CV_8UC1);
  cv::randu(alpha, 0, 256);
  cv::rectangle(alpha, {0, 0, bgr.cols / 3, bgr.rows}, 0, -1);  // transparent, and opaque, regions
  cv::rectangle(alpha, {bgr.cols / 2, 0, bgr.cols / 4, bgr.rows}, 255, -1);
  alpha.at<std::uint8_t>(0, 0) = 0;  // never opaque throughout: libwebp then drops the alpha
  cv::insertChannel(alpha, bgra, 3);
  return bgra;
}

std::string opencv_webp(const cv::Mat& image, int quality) {
  std::vector<std::uint8_t> out;
  EXPECT_TRUE(cv::imencode(".webp", image, out, {cv::IMWRITE_WEBP_QUALITY, quality}));
  return std::string(out.begin(), out.end());
}

cv::Mat decode(const std::string& bytes) {
  const std::vector<std::uint8_t> buffer(bytes.begin(), bytes.end());
  return cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
}

EncodeOptions quality(int q) {
  EncodeOptions options;
  options.webp_quality = q;
  return options;
}

TEST(WebpEncode, LosslessIsOpenCvsFileByteForByte) {
  cv::Mat gray;
  cv::cvtColor(testing::make_picture(67, 41), gray, cv::COLOR_BGR2GRAY);
  for (const cv::Mat& image : {gray, testing::make_picture(67, 41), with_alpha(testing::make_picture(67, 41))}) {
    EXPECT_EQ(encode_image(image, OutputFormat::Webp, quality(101)), opencv_webp(image, 101))
        << image.channels() << " channels";
  }
}

TEST(WebpEncode, LossyKeepsTheAlphaExactly) {
  for (const cv::Size size : {cv::Size(1, 1), cv::Size(97, 3), cv::Size(3, 97), cv::Size(333, 211)}) {
    const cv::Mat bgra = with_alpha(testing::make_picture(size.width, size.height));
    for (const int q : {10, 90, 100}) {
      const cv::Mat back = decode(encode_image(bgra, OutputFormat::Webp, quality(q)));
      ASSERT_EQ(back.type(), CV_8UC4) << size << " q" << q;
      ASSERT_EQ(back.size(), size);
      cv::Mat alpha_in, alpha_out;
      cv::extractChannel(bgra, alpha_in, 3);
      cv::extractChannel(back, alpha_out, 3);
      EXPECT_EQ(cv::norm(alpha_in, alpha_out, cv::NORM_INF), 0) << size << " q" << q;
    }
  }
}

TEST(WebpEncode, LossyColourIsCloseToTheOldEncodersAndSizesFollowQuality) {
  const cv::Mat picture = testing::make_picture(320, 240);
  const double ours = cv::PSNR(decode(encode_image(picture, OutputFormat::Webp, quality(90))), picture);
  const double before = cv::PSNR(decode(opencv_webp(picture, 90)), picture);
  // 4:2:0 chroma caps both near 30 dB on this synthetic picture (30.35 and 30.42 measured).
  EXPECT_GT(ours, 28.0);
  EXPECT_GT(ours, before - 1.0) << "before " << before;
  EXPECT_LT(encode_image(picture, OutputFormat::Webp, quality(20)).size(),
            encode_image(picture, OutputFormat::Webp, quality(90)).size());
  cv::Mat gray;
  cv::cvtColor(picture, gray, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(decode(encode_image(gray, OutputFormat::Webp, quality(90))).type(), CV_8UC3);
}

TEST(WebpEncode, TooWideIsAnInternalErrorNamingTheLimit) {
  try {
    encode_image(cv::Mat(1, 16384, CV_8UC3, cv::Scalar(1, 2, 3)), OutputFormat::Webp, {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Internal);
    EXPECT_NE(std::string(error.what()).find("16383"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace cutout::imaging
