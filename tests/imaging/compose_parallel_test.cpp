// compose_cutout / flatten_onto / effective_alpha, now split across the shared pool, against the
// single-threaded loops they replaced (kept here, as they were, as the reference): byte for byte on
// many sizes, odd widths, with and without input alpha, on ROI views (shape_output's crop) and
// with both foreground colours.

#include <array>
#include <cstdint>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "cutout/imaging/compose.hpp"
#include "cutout/imaging/foreground.hpp"

namespace cutout::imaging {
namespace {

inline std::uint8_t old_to_byte(float unit) { return static_cast<std::uint8_t>(unit * 255.0f + 0.5f); }
inline std::uint32_t old_div255_round(std::uint32_t x) {
  x += 128;
  return (x + (x >> 8)) >> 8;
}

cv::Mat old_effective_alpha(const DecodedImage& image, const cv::Mat& mask) {
  if (image.alpha.empty()) return mask;
  cv::Mat alpha(mask.size(), CV_8UC1);
  for (int y = 0; y < mask.rows; ++y) {
    for (int x = 0; x < mask.cols; ++x) {
      alpha.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(
          old_div255_round(std::uint32_t{mask.at<std::uint8_t>(y, x)} * image.alpha.at<std::uint8_t>(y, x)));
    }
  }
  return alpha;
}

cv::Mat old_compose(const DecodedImage& image, const cv::Mat& mask, ForegroundColour colour) {
  const cv::Mat alpha = old_effective_alpha(image, mask);
  cv::Mat bgra(image.bgr.size(), CV_8UC4);
  const cv::Mat inputs[] = {image.bgr, alpha};
  const int from_to[] = {0, 0, 1, 1, 2, 2, 3, 3};
  cv::mixChannels(inputs, 2, &bgra, 1, from_to, 4);
  if (colour == ForegroundColour::Estimate) {
    estimate_foreground(image.bgr, alpha, [&bgra](int x, int y, const float f[3]) {
      std::uint8_t* px = bgra.ptr<std::uint8_t>(y) + 4 * x;
      for (int c = 0; c < 3; ++c) px[c] = old_to_byte(f[c]);
    });
  }
  return bgra;
}

cv::Mat old_flatten(const DecodedImage& image, const cv::Mat& mask, Rgb background,
                    ForegroundColour colour) {
  const cv::Mat alpha = old_effective_alpha(image, mask);
  const std::uint32_t bg[3] = {background.b, background.g, background.r};
  cv::Mat out(image.bgr.size(), CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    const std::uint8_t* src = image.bgr.ptr<std::uint8_t>(y);
    const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
    std::uint8_t* dst = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const std::uint32_t weight = a[x], rest = 255 - weight;
      for (int c = 0; c < 3; ++c) {
        dst[3 * x + c] = static_cast<std::uint8_t>(old_div255_round(src[3 * x + c] * weight + bg[c] * rest));
      }
    }
  }
  if (colour == ForegroundColour::Estimate) {
    estimate_foreground(image.bgr, alpha, [&](int x, int y, const float f[3]) {
      const std::uint32_t weight = alpha.ptr<std::uint8_t>(y)[x], rest = 255 - weight;
      std::uint8_t* dst = out.ptr<std::uint8_t>(y) + 3 * x;
      for (int c = 0; c < 3; ++c) {
        dst[c] = static_cast<std::uint8_t>(old_div255_round(old_to_byte(f[c]) * weight + bg[c] * rest));
      }
    });
  }
  return out;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// A matte with settled and partial regions, like a model's: a soft disc plus noise.
cv::Mat matte(int rows, int cols, cv::RNG& rng) {
  cv::Mat m(rows, cols, CV_8UC1);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      const double dx = x - cols / 2.0, dy = y - rows / 2.0;
      const double d = std::sqrt(dx * dx + dy * dy) - std::min(rows, cols) / 3.0;
      if (d < -3) m.at<std::uint8_t>(y, x) = 255;
      if (d > 3) m.at<std::uint8_t>(y, x) = 0;
    }
  }
  return m;
}

TEST(ComposeParallel, EqualsTheSingleThreadedLoops) {
  cv::RNG rng(5);
  const std::vector<std::array<int, 2>> sizes{{1, 1}, {1, 999}, {999, 1}, {37, 53}, {480, 641},
                                              {1001, 1333}, {64, 2}};
  for (const auto& [rows, cols] : sizes) {
    cv::Mat bgr(rows, cols, CV_8UC3), input_alpha(rows, cols, CV_8UC1);
    rng.fill(bgr, cv::RNG::UNIFORM, 0, 256);
    rng.fill(input_alpha, cv::RNG::UNIFORM, 0, 256);
    const cv::Mat mask = matte(rows, cols, rng);
    for (const bool with_alpha : {false, true}) {
      const DecodedImage image{bgr, with_alpha ? input_alpha : cv::Mat(), ImageFormat::Png};
      EXPECT_TRUE(same(effective_alpha(image, mask), old_effective_alpha(image, mask)));
      for (const auto colour : {ForegroundColour::Raw, ForegroundColour::Estimate}) {
        EXPECT_TRUE(same(compose_cutout(image, mask, colour), old_compose(image, mask, colour)))
            << rows << "x" << cols << " alpha " << with_alpha;
        const Rgb bg{12, 200, 255};
        EXPECT_TRUE(same(flatten_onto(image, mask, bg, colour), old_flatten(image, mask, bg, colour)))
            << rows << "x" << cols << " alpha " << with_alpha;
      }
    }
  }
}

TEST(ComposeParallel, EqualsTheSingleThreadedLoopsOnRoiViews) {
  // shape_output composes views into the full-size pixels after a crop: rows not contiguous.
  cv::RNG rng(6);
  cv::Mat bgr(700, 900, CV_8UC3), input_alpha(700, 900, CV_8UC1);
  rng.fill(bgr, cv::RNG::UNIFORM, 0, 256);
  rng.fill(input_alpha, cv::RNG::UNIFORM, 0, 256);
  const cv::Mat mask = matte(700, 900, rng);
  const cv::Rect roi(101, 33, 555, 601);
  for (const bool with_alpha : {false, true}) {
    const DecodedImage image{bgr(roi), with_alpha ? input_alpha(roi) : cv::Mat(), ImageFormat::Png};
    const cv::Mat view = mask(roi);
    EXPECT_TRUE(same(compose_cutout(image, view, ForegroundColour::Estimate),
                     old_compose(image, view, ForegroundColour::Estimate)));
    EXPECT_TRUE(same(flatten_onto(image, view, Rgb{1, 2, 3}, ForegroundColour::Raw),
                     old_flatten(image, view, Rgb{1, 2, 3}, ForegroundColour::Raw)));
  }
}

}  // namespace
}  // namespace cutout::imaging
