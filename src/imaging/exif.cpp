// Finding the EXIF block in each container and reading IFD0's Orientation tag from it. All reads
// are bounds-checked; anything unexpected means "no orientation" (1), never an error.

#include "cutout/imaging/exif.hpp"

#include <cstdint>
#include <optional>

#include <opencv2/core.hpp>

#include "bytes.hpp"
#include "jpeg_segments.hpp"
#include "tiff_ifd.hpp"

namespace cutout::imaging {
namespace {

using namespace std::string_view_literals;
using detail::Endian;
using detail::matches;
using detail::read_u32;

constexpr std::string_view kExifHeader = "Exif\0\0"sv;

int orientation_from_tiff(std::string_view tiff) {
  constexpr std::uint16_t kOrientation = 0x0112;
  // Some PNG and WebP writers keep JPEG's "Exif\0\0" prefix in front of the TIFF header.
  if (matches(tiff, 0, kExifHeader)) tiff.remove_prefix(kExifHeader.size());
  const auto value = detail::tiff_ifd0_value(tiff, kOrientation);
  return value && *value >= 1 && *value <= 8 ? static_cast<int>(*value) : 1;
}

std::optional<std::string_view> jpeg_exif(std::string_view b) {
  std::optional<std::string_view> exif;
  detail::walk_jpeg_segments(b, [&](const detail::JpegSegment& segment) {
    // APP1 also carries XMP ("http://ns.adobe.com/xap/1.0/"); only the Exif one counts.
    if (segment.marker != 0xE1 || !matches(segment.payload, 0, kExifHeader)) return false;
    exif = segment.payload.substr(kExifHeader.size());
    return true;
  });
  return exif;
}

std::optional<std::string_view> png_exif(std::string_view b) {
  // Chunks after the 8-byte signature: length (4, big-endian), type (4), data, CRC (4).
  std::size_t pos = 8;
  while (true) {
    const auto length = read_u32(b, pos, Endian::Big);
    if (!length || !detail::in_bounds(b, pos + 8, *length)) return std::nullopt;
    if (matches(b, pos + 4, "eXIf"sv)) return b.substr(pos + 8, *length);
    if (matches(b, pos + 4, "IEND"sv)) return std::nullopt;
    pos += std::size_t{12} + *length;
  }
}

std::optional<std::string_view> webp_exif(std::string_view b) {
  // Chunks after "RIFF" size "WEBP": fourcc (4), size (4, little-endian), data padded to even.
  // Only extended (VP8X) files have more than one chunk, EXIF among them.
  std::size_t pos = 12;
  while (true) {
    const auto size = read_u32(b, pos + 4, Endian::Little);
    if (!size || !detail::in_bounds(b, pos + 8, *size)) return std::nullopt;
    if (matches(b, pos, "EXIF"sv)) return b.substr(pos + 8, *size);
    pos += std::size_t{8} + *size + (*size & 1);
  }
}

}  // namespace

int read_exif_orientation(std::string_view bytes) {
  std::optional<std::string_view> exif;
  if (matches(bytes, 0, "\xFF\xD8\xFF"sv)) {
    exif = jpeg_exif(bytes);
  } else if (matches(bytes, 0, "\x89PNG\r\n\x1A\n"sv)) {
    exif = png_exif(bytes);
  } else if (matches(bytes, 0, "RIFF"sv) && matches(bytes, 8, "WEBP"sv)) {
    exif = webp_exif(bytes);
  }
  return exif ? orientation_from_tiff(*exif) : 1;
}

cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(image, out, 1); break;  // mirror left-right
    case 3: cv::rotate(image, out, cv::ROTATE_180); break;
    case 4: cv::flip(image, out, 0); break;    // mirror top-bottom
    case 5: cv::transpose(image, out); break;  // across the main diagonal
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: {  // across the anti-diagonal
      cv::Mat transposed;
      cv::transpose(image, transposed);
      cv::flip(transposed, out, -1);
      break;
    }
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: out = image; break;  // 1 or out of range
  }
  return out;
}

}  // namespace cutout::imaging
