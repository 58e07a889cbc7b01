#pragma once
// Finding the embedded ICC profile of a PNG (iCCP, zlib-compressed), WebP (ICCP chunk) or TIFF
// (tag 34675). JPEG's APP2 segments are reassembled by libjpeg (jpeg_decode.hpp). All reads are
// bounds-checked; a damaged or missing profile reads as none (the pixels are then taken as sRGB).

#include <string>
#include <string_view>

#include "cutout/imaging/image_format.hpp"

namespace cutout::imaging::detail {

// Profiles larger than this are taken as damaged (real ones, CMYK printer profiles included, are
// well under it); it also bounds what a compressed iCCP chunk may inflate to.
constexpr std::size_t kMaxIccProfileBytes = 8u << 20;

// The profile's bytes, or empty when the file has none (or it is unreadable or too large).
std::string read_icc_profile(std::string_view bytes, ImageFormat format);

}  // namespace cutout::imaging::detail
