#pragma once
// max_side: shrinking the result with area averaging (OpenCV's INTER_AREA, each output pixel the
// mean of the input pixels it covers), never enlarging it.

#include <opencv2/core.hpp>

namespace cutout::imaging {

// The size whose longer side is at most `max_side`, with the aspect ratio kept (the shorter side
// rounded, at least 1); `size` itself when it already fits. `max_side` must be positive.
cv::Size fit_within(cv::Size size, int max_side);

// A single-channel 8-bit matte shrunk to `size` (no larger than the matte) by area averaging.
cv::Mat downscale_gray(const cv::Mat& gray, cv::Size size);

// A cut-out (BGR colour, CV_8UC3, and its alpha, CV_8UC1, of the same size) shrunk to `size`.
// Colour is averaged weighted by alpha (premultiplied), so the colour of transparent background
// pixels does not bleed into the subject's edges; fully transparent output pixels are black.
// Fills `bgr_out` and `alpha_out`.
void downscale_cutout(const cv::Mat& bgr, const cv::Mat& alpha, cv::Size size, cv::Mat& bgr_out,
                      cv::Mat& alpha_out);

}  // namespace cutout::imaging
