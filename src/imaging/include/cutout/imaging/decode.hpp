#pragma once
// Bytes in, 8-bit sRGB pixels out: format check, size limit from the header, decode (refusing any
// file whose pixels are not all in it), conversion from an embedded ICC profile to sRGB, EXIF
// orientation, and normalisation of every input kind (grayscale, 16-bit, alpha, palette, CMYK) to
// 8-bit BGR plus alpha.

#include <chrono>
#include <cstddef>
#include <string_view>

#include <opencv2/core.hpp>

#include "cutout/imaging/image_format.hpp"

namespace cutout::imaging {

// No default here: app::App fills it from config::Settings::max_pixels and decode_timeout_ms. No
// default constructor either, so a forgotten limit (`{}`) does not compile instead of refusing
// every image. `{n}` alone sets no deadline (tests and tools that decode without one).
struct DecodeLimits {
  constexpr DecodeLimits(std::size_t max) : max_pixels(max) {}  // NOLINT: {n} reads as a limit
  constexpr DecodeLimits(std::size_t max, std::chrono::milliseconds deadline)
      : max_pixels(max), deadline(deadline) {}
  // Width x height, checked from the header before anything is decoded; for TIFF also a tile's or
  // strip's width x height, the decoder's other buffer.
  std::size_t max_pixels;
  // Wall-clock budget of one decode_image call; zero: none. See decode_deadline.hpp for where it
  // stops each decoder.
  std::chrono::milliseconds deadline{0};
};

struct DecodedImage {
  cv::Mat bgr;    // CV_8UC3 sRGB, continuous, orientation applied
  cv::Mat alpha;  // CV_8UC1 of the same size when the input had alpha, else empty
  ImageFormat format = ImageFormat::Unknown;
};

// Throws cutout::Error: UnsupportedMediaType ("unsupported_media_type") for an unknown format,
// PayloadTooLarge ("image_too_large") when the header's width*height exceeds max_pixels (checked
// before decoding; for TIFF also a tile or strip over max_pixels), InvalidArgument ("invalid_image")
// for data that does not decode, or does not decode whole (truncated or corrupt: the message says
// what was wrong), InvalidArgument ("decode_timeout") when limits.deadline passes. An ICC profile that lcms2
// cannot use is ignored (logged as "colour profile ignored"), not an error.
DecodedImage decode_image(std::string_view bytes, const DecodeLimits& limits);

}  // namespace cutout::imaging
