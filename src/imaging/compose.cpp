// Combining the decoded image with the model's matte. These run on every full-size image (12 MP
// for a phone photo), so they are single passes over the rows that the compiler can vectorise,
// the rows split across the shared pool (core::parallel_for). Each output byte depends only on the
// same pixel's inputs, so the split cannot change a byte.

#include "cutout/imaging/compose.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "cutout/core/error.hpp"
#include "cutout/core/parallel.hpp"
#include "cutout/imaging/foreground.hpp"

namespace cutout::imaging {
namespace {

void check_inputs(const DecodedImage& image, const cv::Mat& mask) {
  const auto fail = [](const std::string& what) {
    throw Error(ErrorKind::Internal, "internal", "compose: " + what);
  };
  if (image.bgr.type() != CV_8UC3) fail("the image is not 8-bit BGR");
  if (mask.type() != CV_8UC1) fail("the mask is not 8-bit single-channel");
  if (mask.size() != image.bgr.size()) fail("the mask's size differs from the image's");
  if (!image.alpha.empty() &&
      (image.alpha.type() != CV_8UC1 || image.alpha.size() != image.bgr.size())) {
    fail("the image's alpha does not match its colour channels");
  }
}

inline std::uint8_t to_byte(float unit) { return static_cast<std::uint8_t>(unit * 255.0f + 0.5f); }

// Rows of a full-size pass per chunk: ~64 K pixels, enough to amortise a hand-off, small enough to
// spread a 3 MP image over every thread.
std::int64_t row_grain(int cols) { return std::max<std::int64_t>(1, 65536 / std::max(cols, 1)); }

// round(x / 255) for x in [0, 255 * 255], exactly, without a division.
inline std::uint32_t div255_round(std::uint32_t x) {
  x += 128;
  return (x + (x >> 8)) >> 8;
}

// div255_round(v * w + b * (255 - w)) in 16-bit lanes: every intermediate stays <= 65407, so the
// compiler can use 16-bit vector multiplies; the same values as the 32-bit form.
inline std::uint8_t blend16(std::uint8_t v, std::uint16_t w, std::uint16_t b) {
  auto x = static_cast<std::uint16_t>(v * w + b * (255 - w) + 128);
  return static_cast<std::uint8_t>(static_cast<std::uint16_t>(x + (x >> 8)) >> 8);
}

}  // namespace

cv::Mat effective_alpha(const DecodedImage& image, const cv::Mat& mask) {
  if (image.alpha.empty()) return mask;
  cv::Mat alpha(mask.size(), CV_8UC1);
  const int cols = mask.cols;  // a local: the byte stores below may alias members
  core::parallel_for(0, mask.rows, row_grain(cols), [&](std::int64_t begin, std::int64_t end) {
    for (auto y = static_cast<int>(begin); y < end; ++y) {
      const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
      const std::uint8_t* a = image.alpha.ptr<std::uint8_t>(y);
      std::uint8_t* out = alpha.ptr<std::uint8_t>(y);
      for (int x = 0; x < cols; ++x) {
        out[x] = static_cast<std::uint8_t>(div255_round(std::uint32_t{m[x]} * a[x]));
      }
    }
  });
  return alpha;
}

cv::Mat compose_cutout(const DecodedImage& image, const cv::Mat& mask, ForegroundColour colour) {
  check_inputs(image, mask);
  const cv::Mat alpha = effective_alpha(image, mask);
  cv::Mat bgra(image.bgr.size(), CV_8UC4);
  const int cols = bgra.cols;
  core::parallel_for(0, bgra.rows, row_grain(cols), [&](std::int64_t begin, std::int64_t end) {
    for (auto y = static_cast<int>(begin); y < end; ++y) {
      const std::uint8_t* src = image.bgr.ptr<std::uint8_t>(y);
      const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
      std::uint8_t* dst = bgra.ptr<std::uint8_t>(y);
      for (int x = 0; x < cols; ++x) {
        dst[4 * x] = src[3 * x];
        dst[4 * x + 1] = src[3 * x + 1];
        dst[4 * x + 2] = src[3 * x + 2];
        dst[4 * x + 3] = a[x];
      }
    }
  });
  if (colour == ForegroundColour::Estimate) {
    estimate_foreground(image.bgr, alpha, [&bgra](int x, int y, const float f[3]) {
      std::uint8_t* px = bgra.ptr<std::uint8_t>(y) + 4 * x;
      for (int c = 0; c < 3; ++c) px[c] = to_byte(f[c]);
    });
  }
  return bgra;
}

cv::Mat flatten_onto(const DecodedImage& image, const cv::Mat& mask, Rgb background,
                     ForegroundColour colour) {
  check_inputs(image, mask);
  const cv::Mat alpha = effective_alpha(image, mask);
  const std::uint32_t bg[3] = {background.b, background.g, background.r};
  cv::Mat out(image.bgr.size(), CV_8UC3);
  const int cols = out.cols;  // a local: the byte stores below may alias members
  core::parallel_for(0, out.rows, row_grain(cols), [&](std::int64_t begin, std::int64_t end) {
    // The row as 3 * cols independent bytes, each with its own alpha and background byte, so the
    // blend is one loop the compiler vectorises (a per-pixel loop over 3 channels is not).
    const std::size_t n = static_cast<std::size_t>(cols) * 3;
    std::vector<std::uint16_t> weights(n), backgrounds(n);
    for (std::size_t i = 0; i < n; ++i) backgrounds[i] = static_cast<std::uint16_t>(bg[i % 3]);
    for (auto y = static_cast<int>(begin); y < end; ++y) {
      const std::uint8_t* src = image.bgr.ptr<std::uint8_t>(y);
      const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
      std::uint8_t* dst = out.ptr<std::uint8_t>(y);
      for (int x = 0; x < cols; ++x) weights[3 * x] = weights[3 * x + 1] = weights[3 * x + 2] = a[x];
      const std::uint16_t* w = weights.data();
      const std::uint16_t* b = backgrounds.data();
      for (std::size_t i = 0; i < n; ++i) dst[i] = blend16(src[i], w[i], b[i]);
    }
  });
  if (colour == ForegroundColour::Estimate) {  // the partial pixels again, with their estimate
    estimate_foreground(image.bgr, alpha, [&](int x, int y, const float f[3]) {
      const std::uint32_t weight = alpha.ptr<std::uint8_t>(y)[x], rest = 255 - weight;
      std::uint8_t* dst = out.ptr<std::uint8_t>(y) + 3 * x;
      for (int c = 0; c < 3; ++c) {
        dst[c] = static_cast<std::uint8_t>(div255_round(to_byte(f[c]) * weight + bg[c] * rest));
      }
    });
  }
  return out;
}

}  // namespace cutout::imaging
