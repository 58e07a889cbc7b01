#pragma once
// WebP through libwebp's advanced API, for the settings OpenCV's encoder does not pass on (it uses
// the simple API: method 4, no threads). See kWebpMethod in webp_encode.cpp for the choice.

#include <string>

#include <opencv2/core.hpp>

namespace cutout::imaging::detail {

// `image`: CV_8UC1 (gray, encoded as colour), CV_8UC3 (BGR) or CV_8UC4 (BGRA, alpha kept losslessly).
// `quality` 1..100 lossy; above 100 lossless (as OpenCV's imencode does, byte for byte).
// Throws cutout::Error Internal when libwebp refuses (e.g. a side over 16383 pixels).
std::string encode_webp(const cv::Mat& image, int quality);

}  // namespace cutout::imaging::detail
