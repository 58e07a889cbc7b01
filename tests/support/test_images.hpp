#pragma once
// Images made in code for tests: no binary fixtures in the repository.

#include <string>

#include <opencv2/core.hpp>

namespace cutout::testing {

// A deterministic BGR picture (gradients and a disc) of the given size.
cv::Mat make_picture(int width, int height);

// The picture encoded with OpenCV (".png", ".jpg", ".webp", ".bmp", ".tiff").
std::string encode_as(const cv::Mat& image, const std::string& extension);

// A JPEG with an EXIF APP1 segment carrying the given Orientation tag, in big- or little-endian TIFF.
std::string jpeg_with_orientation(const cv::Mat& image, int orientation, bool big_endian = true);

// The same EXIF block in a PNG eXIf chunk (after IHDR) and in a lossless extended WebP (VP8X with
// an EXIF chunk after the image). Both are lossless, so tests can compare pixels exactly.
std::string png_with_orientation(const cv::Mat& image, int orientation, bool big_endian = true);
std::string webp_with_orientation(const cv::Mat& image, int orientation, bool big_endian = true);

}  // namespace cutout::testing
