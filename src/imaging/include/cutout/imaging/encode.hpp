#pragma once
// Encoding the result. Defaults favour speed: PNG with the SUB filter at zlib level 1, deflated in
// strips across the worker pool; WebP at libwebp's fastest method (docs/performance.md, "PNG",
// "WebP").

#include <string>

#include <opencv2/core.hpp>

namespace cutout::imaging {

enum class OutputFormat { Png, Webp, Jpeg };

struct EncodeOptions {
  int png_compression = 1;  // zlib level 0..9, every row with the SUB filter
  int webp_quality = 90;    // 1..100; above 100 means lossless
  int jpeg_quality = 90;    // 1..100
};

std::string mime_type(OutputFormat format);

// Accepts CV_8UC1 (gray), CV_8UC3 (BGR) or CV_8UC4 (BGRA). Throws cutout::Error InvalidArgument
// ("alpha_not_supported") for JPEG with four channels, Internal when the encoder fails.
std::string encode_image(const cv::Mat& image, OutputFormat format, const EncodeOptions& options);

}  // namespace cutout::imaging
