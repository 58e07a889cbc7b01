#include "cutout/imaging/crop.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace cutout::imaging {

std::optional<cv::Rect> subject_box(const cv::Mat& alpha, std::uint8_t threshold) {
  CV_Assert(alpha.type() == CV_8UC1);
  cv::Mat subject;
  // THRESH_BINARY keeps values > thresh, so threshold - 1 keeps those >= threshold.
  cv::threshold(alpha, subject, threshold - 1.0, 255, cv::THRESH_BINARY);
  const cv::Rect box = cv::boundingRect(subject);  // the non-zero pixels of a gray image
  if (box.empty()) return std::nullopt;
  return box;
}

cv::Rect crop_region(const cv::Rect& box, const CropMargin& margin, cv::Size image) {
  const auto grow = [&](int extent) {
    if (!margin.percent) return static_cast<long long>(margin.value);
    return static_cast<long long>(std::llround(extent * (margin.value / 100.0)));
  };
  const long long mx = grow(box.width), my = grow(box.height);
  const long long left = std::max<long long>(0, box.x - mx);
  const long long top = std::max<long long>(0, box.y - my);
  const long long right = std::min<long long>(image.width, static_cast<long long>(box.x) + box.width + mx);
  const long long bottom = std::min<long long>(image.height, static_cast<long long>(box.y) + box.height + my);
  return cv::Rect(static_cast<int>(left), static_cast<int>(top), static_cast<int>(right - left),
                  static_cast<int>(bottom - top));
}

}  // namespace cutout::imaging
