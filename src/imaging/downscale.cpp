// Area-averaging downscale of the result (max_side). It runs before composing and encoding, so a
// 12 MP photo asked for at max_side=1024 is composed and encoded at about 1 MP.

#include "cutout/imaging/downscale.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <opencv2/imgproc.hpp>

namespace cutout::imaging {

cv::Size fit_within(cv::Size size, int max_side) {
  CV_Assert(max_side > 0);
  const int longer = std::max(size.width, size.height);
  if (longer <= max_side) return size;
  const double scale = static_cast<double>(max_side) / longer;
  const auto side = [&](int extent) {
    return std::clamp(static_cast<int>(std::lround(extent * scale)), 1, max_side);
  };
  return size.width >= size.height ? cv::Size(max_side, side(size.height))
                                   : cv::Size(side(size.width), max_side);
}

cv::Mat downscale_gray(const cv::Mat& gray, cv::Size size) {
  CV_Assert(gray.type() == CV_8UC1);
  if (gray.size() == size) return gray;
  cv::Mat out;
  cv::resize(gray, out, size, 0, 0, cv::INTER_AREA);
  return out;
}

void downscale_cutout(const cv::Mat& bgr, const cv::Mat& alpha, cv::Size size, cv::Mat& bgr_out,
                      cv::Mat& alpha_out) {
  CV_Assert(bgr.type() == CV_8UC3 && alpha.type() == CV_8UC1 && bgr.size() == alpha.size());
  if (bgr.size() == size) {
    bgr_out = bgr;
    alpha_out = alpha;
    return;
  }
  // 16 bits per channel hold colour x alpha (at most 255 * 255) and alpha x 257 (at most 65535)
  // exactly, so averaging loses nothing that matters and unpremultiplying is one division.
  cv::Mat premultiplied(bgr.size(), CV_16UC4);
  const int rows = bgr.rows, cols = bgr.cols;  // locals: the stores below may alias members
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* c = bgr.ptr<std::uint8_t>(y);
    const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
    std::uint16_t* p = premultiplied.ptr<std::uint16_t>(y);
    for (int x = 0; x < cols; ++x) {
      const std::uint32_t w = a[x];
      p[4 * x + 0] = static_cast<std::uint16_t>(c[3 * x + 0] * w);
      p[4 * x + 1] = static_cast<std::uint16_t>(c[3 * x + 1] * w);
      p[4 * x + 2] = static_cast<std::uint16_t>(c[3 * x + 2] * w);
      p[4 * x + 3] = static_cast<std::uint16_t>(w * 257);
    }
  }
  cv::Mat small;
  cv::resize(premultiplied, small, size, 0, 0, cv::INTER_AREA);
  bgr_out.create(size, CV_8UC3);
  alpha_out.create(size, CV_8UC1);
  for (int y = 0; y < size.height; ++y) {
    const std::uint16_t* p = small.ptr<std::uint16_t>(y);
    std::uint8_t* c = bgr_out.ptr<std::uint8_t>(y);
    std::uint8_t* a = alpha_out.ptr<std::uint8_t>(y);
    for (int x = 0; x < size.width; ++x) {
      const std::uint32_t w = p[4 * x + 3];  // alpha x 257
      a[x] = static_cast<std::uint8_t>((w + 128) / 257);
      for (int k = 0; k < 3; ++k) {
        // colour = (colour x alpha) / alpha = p * 257 / w, rounded; 0 where nothing is opaque.
        const std::uint32_t v = w == 0 ? 0 : (p[4 * x + k] * 257u + w / 2) / w;
        c[3 * x + k] = static_cast<std::uint8_t>(std::min<std::uint32_t>(v, 255));
      }
    }
  }
}

}  // namespace cutout::imaging
