#pragma once
// Encoding the result. Defaults favour speed: a 12 MP RGBA PNG at zlib's default level takes 4x as
// long as level 1 with the SUB filter, whose files are ~30% larger (docs/performance.md, "PNG").

#include <string>

#include <opencv2/core.hpp>

namespace cutout::imaging {

enum class OutputFormat { Png, Webp, Jpeg };

struct EncodeOptions {
  int png_compression = 1;  // zlib level 0..9; 1 uses the SUB filter alone (fast), others adaptive
  int webp_quality = 90;    // 1..100; above 100 means lossless in OpenCV
  int jpeg_quality = 90;    // 1..100
};

std::string mime_type(OutputFormat format);

// Accepts CV_8UC1 (gray), CV_8UC3 (BGR) or CV_8UC4 (BGRA). Throws cutout::Error InvalidArgument
// ("alpha_not_supported") for JPEG with four channels, Internal when the encoder fails.
std::string encode_image(const cv::Mat& image, OutputFormat format, const EncodeOptions& options);

}  // namespace cutout::imaging
