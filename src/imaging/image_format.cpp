// Magic-byte sniffing and header-only size reading. All reads are bounds-checked (bytes.hpp): the
// input is an untrusted upload and may be cut anywhere.

#include "cutout/imaging/image_format.hpp"

#include <climits>
#include <cstdint>

#include "bytes.hpp"
#include "jpeg_segments.hpp"
#include "tiff_ifd.hpp"

namespace cutout::imaging {
namespace {

using namespace std::string_view_literals;
using detail::Endian;
using detail::matches;
using detail::read_u16;
using detail::read_u32;
using detail::read_uint;

// Zero or beyond int is not an image we can hold; treat it as malformed.
std::optional<ImageSize> make_size(std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0 || width > INT_MAX || height > INT_MAX) return std::nullopt;
  return ImageSize{static_cast<int>(width), static_cast<int>(height)};
}

std::optional<ImageSize> png_size(std::string_view b) {
  // Signature (8), then the IHDR chunk: length (4), "IHDR", width (4), height (4).
  if (!matches(b, 12, "IHDR"sv)) return std::nullopt;
  const auto width = read_u32(b, 16, Endian::Big), height = read_u32(b, 20, Endian::Big);
  if (!width || !height) return std::nullopt;
  return make_size(*width, *height);
}

bool is_start_of_frame(std::uint8_t marker) {
  // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

std::optional<ImageSize> jpeg_size(std::string_view b) {
  std::optional<ImageSize> size;
  detail::walk_jpeg_segments(b, [&](const detail::JpegSegment& segment) {
    if (!is_start_of_frame(segment.marker)) return false;
    // Payload: precision (1), height (2), width (2). Height 0 (size set by a later DNL) is
    // something libjpeg refuses too, and make_size rejects it.
    const auto height = read_u16(segment.payload, 1, Endian::Big);
    const auto width = read_u16(segment.payload, 3, Endian::Big);
    if (width && height) size = make_size(*width, *height);
    return true;
  });
  return size;
}

std::optional<ImageSize> webp_size(std::string_view b) {
  // "RIFF" size "WEBP", then the first chunk: fourcc (4), size (4), data from offset 20.
  constexpr std::size_t data = 20;
  if (matches(b, 12, "VP8 "sv)) {
    // Lossy: frame tag (3, bit 0 clear on a key frame), start code 9D 01 2A, then 14-bit
    // width and height (the top two bits are scaling).
    const auto tag = read_uint(b, data, 3, Endian::Little);
    if (!tag || (*tag & 1) != 0 || !matches(b, data + 3, "\x9D\x01\x2A"sv)) return std::nullopt;
    const auto width = read_u16(b, data + 6, Endian::Little);
    const auto height = read_u16(b, data + 8, Endian::Little);
    if (!width || !height) return std::nullopt;
    return make_size(*width & 0x3FFF, *height & 0x3FFF);
  }
  if (matches(b, 12, "VP8L"sv)) {
    // Lossless: signature 0x2F, then width-1 and height-1 in 14 bits each, little-endian.
    if (!matches(b, data, "\x2F"sv)) return std::nullopt;
    const auto bits = read_u32(b, data + 1, Endian::Little);
    if (!bits) return std::nullopt;
    return make_size((*bits & 0x3FFF) + 1, ((*bits >> 14) & 0x3FFF) + 1);
  }
  if (matches(b, 12, "VP8X"sv)) {
    // Extended: flags (1), reserved (3), canvas width-1 and height-1 in 24 bits each.
    const auto width = read_uint(b, data + 4, 3, Endian::Little);
    const auto height = read_uint(b, data + 7, 3, Endian::Little);
    if (!width || !height) return std::nullopt;
    return make_size(std::uint64_t{*width} + 1, std::uint64_t{*height} + 1);
  }
  return std::nullopt;
}

std::optional<ImageSize> bmp_size(std::string_view b) {
  // File header (14), then the DIB header, whose first field is its own size.
  const auto header = read_u32(b, 14, Endian::Little);
  if (!header) return std::nullopt;
  if (*header == 12) {  // BITMAPCOREHEADER: unsigned 16-bit width and height
    const auto width = read_u16(b, 18, Endian::Little), height = read_u16(b, 20, Endian::Little);
    if (!width || !height) return std::nullopt;
    return make_size(*width, *height);
  }
  if (*header < 16) return std::nullopt;
  // BITMAPINFOHEADER and later: signed 32-bit; a negative height means rows stored top-down.
  const auto width = read_u32(b, 18, Endian::Little), height = read_u32(b, 22, Endian::Little);
  if (!width || !height) return std::nullopt;
  const auto signed_width = static_cast<std::int32_t>(*width);
  const auto signed_height = static_cast<std::int64_t>(static_cast<std::int32_t>(*height));
  if (signed_width <= 0) return std::nullopt;
  return make_size(static_cast<std::uint64_t>(signed_width),
                   static_cast<std::uint64_t>(signed_height < 0 ? -signed_height : signed_height));
}

std::optional<ImageSize> tiff_size(std::string_view b) {
  constexpr std::uint16_t kImageWidth = 256, kImageLength = 257;
  const auto width = detail::tiff_ifd0_value(b, kImageWidth);
  const auto height = detail::tiff_ifd0_value(b, kImageLength);
  if (!width || !height) return std::nullopt;
  return make_size(*width, *height);
}

}  // namespace

ImageFormat sniff_format(std::string_view b) {
  if (matches(b, 0, "\xFF\xD8\xFF"sv)) return ImageFormat::Jpeg;
  if (matches(b, 0, "\x89PNG\r\n\x1A\n"sv)) return ImageFormat::Png;
  if (matches(b, 0, "RIFF"sv) && matches(b, 8, "WEBP"sv)) return ImageFormat::Webp;
  if (matches(b, 0, "BM"sv)) return ImageFormat::Bmp;
  if (detail::tiff_endian(b, 0)) return ImageFormat::Tiff;
  return ImageFormat::Unknown;
}

std::string to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "jpeg";
    case ImageFormat::Png: return "png";
    case ImageFormat::Webp: return "webp";
    case ImageFormat::Bmp: return "bmp";
    case ImageFormat::Tiff: return "tiff";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

std::optional<ImageSize> read_image_size(std::string_view bytes, ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return jpeg_size(bytes);
    case ImageFormat::Png: return png_size(bytes);
    case ImageFormat::Webp: return webp_size(bytes);
    case ImageFormat::Bmp: return bmp_size(bytes);
    case ImageFormat::Tiff: return tiff_size(bytes);
    case ImageFormat::Unknown: break;
  }
  return std::nullopt;
}

}  // namespace cutout::imaging
