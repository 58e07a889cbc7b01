#pragma once
// The subject's box in a matte, and the region a crop keeps around it.

#include <cstdint>
#include <optional>

#include <opencv2/core.hpp>

namespace cutout::imaging {

// Alpha at or above this (of 255, i.e. 12.5%) counts as subject for crop=true and the
// X-Foreground-* headers. Low enough to keep soft edges such as hair, high enough to ignore the
// faint haze a model leaves over the background (the test model's background is 4).
constexpr std::uint8_t kSubjectAlphaThreshold = 32;

// The smallest rectangle holding every pixel of `alpha` (CV_8UC1) at or above `threshold`, in
// the Mat's pixel coordinates; nullopt when there is none (an image without a subject).
std::optional<cv::Rect> subject_box(const cv::Mat& alpha,
                                    std::uint8_t threshold = kSubjectAlphaThreshold);

// A margin added on every side of the box: `value` pixels, or `value` percent of the box's width
// (left and right) and height (top and bottom), rounded to the nearest pixel.
struct CropMargin {
  int value = 0;
  bool percent = false;
};

// The box grown by the margin, clamped to an image of `image` size.
cv::Rect crop_region(const cv::Rect& box, const CropMargin& margin, cv::Size image);

}  // namespace cutout::imaging
