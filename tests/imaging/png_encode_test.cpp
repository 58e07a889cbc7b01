// The strip-parallel PNG encoder (src/imaging/png_encode.cpp) read back by two decoders: libpng
// through OpenCV here, and Pillow plus a chunk-by-chunk zlib check in png_check.py.

#include "imaging/png_encode.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cutout/core/parallel.hpp"
#include "cutout/imaging/encode.hpp"
#include "support/test_images.hpp"

namespace cutout::imaging {
namespace {

namespace fs = std::filesystem;

// 1, 3 or 4 channels of noise-free but varied content, with every alpha value present.
cv::Mat picture(int width, int height, int channels) {
  const cv::Mat bgr = testing::make_picture(width, height);
  cv::Mat out;
  if (channels == 1) cv::cvtColor(bgr, out, cv::COLOR_BGR2GRAY);
  if (channels == 3) out = bgr;
  if (channels == 4) {
    cv::cvtColor(bgr, out, cv::COLOR_BGR2BGRA);
    cv::Mat alpha(height, width, CV_8UC1);
    cv::randu(alpha, 0, 256);
    cv::insertChannel(alpha, out, 3);
  }
  return out;
}

// Smooth blurred noise with camera grain and an elliptic soft matte: compresses like a photo cut-out.
cv::Mat photo_cutout(int width, int height) {
  cv::Mat noise(height / 4, width / 4, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(noise, noise, {0, 0}, 3);
  cv::Mat bgr;
  cv::resize(noise, bgr, {width, height}, 0, 0, cv::INTER_CUBIC);
  cv::Mat grain(bgr.size(), CV_8UC3);
  cv::randn(grain, cv::Scalar::all(0), cv::Scalar::all(4));
  bgr += grain;
  cv::Mat alpha = cv::Mat::zeros(height, width, CV_8UC1);
  cv::ellipse(alpha, {width / 2, height / 2}, {width / 3, height * 2 / 5}, 0, 0, 360, 255, -1);
  cv::GaussianBlur(alpha, alpha, {0, 0}, 4);
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  cv::insertChannel(alpha, bgra, 3);
  return bgra;
}

cv::Mat decode_with_libpng(const std::string& png) {
  const std::vector<std::uint8_t> buffer(png.begin(), png.end());
  return cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

struct Case {
  std::string name;
  cv::Mat image;
  std::size_t strip_bytes;
};

// Gray, BGR and BGRA at odd sizes, single rows and columns, each with strips of one row, of a few
// rows (so a strip is primed from several before it) and of the default size.
std::vector<Case> cases() {
  std::vector<Case> out;
  const cv::Size sizes[] = {{1, 1}, {1, 37}, {37, 1}, {45, 30}, {257, 3}, {1001, 67}, {3, 2000}};
  for (const int channels : {1, 3, 4}) {
    for (const cv::Size size : sizes) {
      for (const std::size_t strip : {std::size_t{1}, std::size_t{3000}, detail::kPngStripBytes}) {
        out.push_back({std::to_string(channels) + "c_" + std::to_string(size.width) + "x" +
                           std::to_string(size.height) + "_s" + std::to_string(strip),
                       picture(size.width, size.height, channels), strip});
      }
    }
  }
  // A view into a larger image: rows with padding between them.
  const cv::Mat big = picture(300, 200, 4);
  out.push_back({"4c_roi", big(cv::Rect(7, 5, 151, 99)), 4000});
  return out;
}

TEST(PngEncode, LibpngReadsEveryPixelBack) {
  for (const Case& c : cases()) {
    EXPECT_TRUE(same(decode_with_libpng(detail::encode_png(c.image, 1, c.strip_bytes)), c.image)) << c.name;
  }
  // Every level (0: stored blocks) on strips of a few rows.
  const cv::Mat image = picture(101, 60, 4);
  for (int level = 0; level <= 9; ++level) {
    EXPECT_TRUE(same(decode_with_libpng(detail::encode_png(image, level, 2000)), image)) << level;
  }
}

TEST(PngEncode, PillowAndZlibReadEveryPixelBack) {
  const fs::path dir = fs::temp_directory_path() / ("cutout_png_check_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const Case& c : cases()) {
    std::ofstream(dir / (c.name + ".png"), std::ios::binary) << detail::encode_png(c.image, 1, c.strip_bytes);
    cv::Mat rgb = c.image;  // Pillow's order
    if (c.image.channels() == 3) cv::cvtColor(c.image, rgb, cv::COLOR_BGR2RGB);
    if (c.image.channels() == 4) cv::cvtColor(c.image, rgb, cv::COLOR_BGRA2RGBA);
    rgb = rgb.clone();  // continuous
    std::ofstream(dir / (c.name + ".raw"), std::ios::binary)
        .write(reinterpret_cast<const char*>(rgb.data), static_cast<std::streamsize>(rgb.total() * rgb.elemSize()));
  }
  const std::string command = std::string(CUTOUT_PYTHON) + " " + CUTOUT_TESTS_DIR +
                              "/imaging/png_check.py " + dir.string();
  const int status = std::system(command.c_str());
  fs::remove_all(dir);
  EXPECT_EQ(status, 0) << command;
}

TEST(PngEncode, BytesDoNotDependOnThePoolSize) {
  const cv::Mat image = photo_cutout(640, 480);
  core::set_parallel_threads(1);
  const std::string alone = encode_image(image, OutputFormat::Png, {});
  core::set_parallel_threads(3);
  const std::string shared = encode_image(image, OutputFormat::Png, {});
  core::set_parallel_threads(1);
  EXPECT_EQ(alone, shared);
  EXPECT_TRUE(same(decode_with_libpng(shared), image));
}

TEST(PngEncode, AtMostTenPercentLargerThanOneStream) {
  // The encoder it replaced: OpenCV's libpng path, SUB filter, zlib level 1, one stream.
  const cv::Mat image = photo_cutout(1200, 900);
  std::vector<std::uint8_t> before;
  ASSERT_TRUE(cv::imencode(".png", image, before,
                           {cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_DEFAULT}));
  const std::string after = encode_image(image, OutputFormat::Png, {});
  EXPECT_LE(static_cast<double>(after.size()), 1.10 * static_cast<double>(before.size()));
  EXPECT_TRUE(same(decode_with_libpng(after), image));
}

TEST(PngEncode, RefusesOtherPixelTypes) {
  EXPECT_ANY_THROW(detail::encode_png(cv::Mat(4, 4, CV_16UC1, cv::Scalar(0)), 1));
  EXPECT_ANY_THROW(detail::encode_png(cv::Mat(4, 4, CV_8UC2, cv::Scalar(0)), 1));
  EXPECT_ANY_THROW(detail::encode_png(cv::Mat(), 1));
}

}  // namespace
}  // namespace cutout::imaging
