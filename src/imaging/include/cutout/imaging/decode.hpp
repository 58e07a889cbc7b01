#pragma once
// Bytes in, 8-bit pixels out: format check, size limit from the header, decode, EXIF orientation and
// normalisation of every input kind (grayscale, 16-bit, alpha, palette) to 8-bit BGR plus alpha.

#include <cstddef>
#include <string_view>

#include <opencv2/core.hpp>

#include "cutout/imaging/image_format.hpp"

namespace cutout::imaging {

// No default here: app::App fills it from config::Settings::max_pixels.
struct DecodeLimits {
  std::size_t max_pixels;  // width x height, after nothing is decoded yet (header only)
};

struct DecodedImage {
  cv::Mat bgr;    // CV_8UC3, continuous, orientation applied
  cv::Mat alpha;  // CV_8UC1 of the same size when the input had alpha, else empty
  ImageFormat format = ImageFormat::Unknown;
};

// Throws cutout::Error: UnsupportedMediaType ("unsupported_media_type") for an unknown format,
// PayloadTooLarge ("image_too_large") when the header's width*height exceeds max_pixels (checked
// before decoding), InvalidArgument ("invalid_image") for data that does not decode.
DecodedImage decode_image(std::string_view bytes, const DecodeLimits& limits);

}  // namespace cutout::imaging
