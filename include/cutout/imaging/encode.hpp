#pragma once
// Encoding the result. Defaults favour speed: a 12 MP RGBA PNG at zlib's default level takes about a
// second, a fast level a fraction of that for files not much larger.

#include <string>

#include <opencv2/core.hpp>

namespace cutout::imaging {

enum class OutputFormat { Png, Webp, Jpeg };

struct EncodeOptions {
  int png_compression = 1;  // zlib level 0..9
  int webp_quality = 90;    // 1..100; above 100 means lossless in OpenCV
  int jpeg_quality = 90;    // 1..100
};

std::string mime_type(OutputFormat format);

// Accepts CV_8UC1 (gray), CV_8UC3 (BGR) or CV_8UC4 (BGRA). Throws cutout::Error InvalidArgument
// ("alpha_not_supported") for JPEG with four channels, Internal when the encoder fails.
std::string encode_image(const cv::Mat& image, OutputFormat format, const EncodeOptions& options);

}  // namespace cutout::imaging
