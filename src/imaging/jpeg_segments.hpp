#pragma once
// Walking the marker segments of a JPEG header, shared by the size reader (SOFn) and the EXIF
// reader (APP1). Tolerates what libjpeg tolerates (fill bytes, stray bytes before a marker,
// standalone markers), so the header check agrees with the decoder that runs after it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bytes.hpp"

namespace cutout::imaging::detail {

struct JpegSegment {
  std::uint8_t marker = 0;   // the byte after 0xFF, e.g. 0xC0 for SOF0, 0xE1 for APP1
  std::string_view payload;  // the segment's bytes after its two-byte length field
};

// Calls visit(segment) for each length-carrying segment after SOI, in order, until visit returns
// true (then returns true), or until SOS, EOI, the end of the data or a malformed length (then
// returns false). Never reads past `bytes`.
template <typename Visit>
bool walk_jpeg_segments(std::string_view bytes, Visit&& visit) {
  if (!matches(bytes, 0, "\xFF\xD8")) return false;
  std::size_t pos = 2;
  while (pos < bytes.size()) {
    // Find 0xFF, skip fill bytes, and read the marker; 0xFF00 is a stuffed zero, not a marker.
    if (static_cast<unsigned char>(bytes[pos]) != 0xFF) {
      ++pos;
      continue;
    }
    while (pos < bytes.size() && static_cast<unsigned char>(bytes[pos]) == 0xFF) ++pos;
    if (pos >= bytes.size()) return false;
    const auto marker = static_cast<std::uint8_t>(bytes[pos++]);
    if (marker == 0x00) continue;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // TEM, RSTn, SOI
    if (marker == 0xD9 || marker == 0xDA) return false;                  // EOI, SOS
    const auto length = read_u16(bytes, pos, Endian::Big);
    if (!length || *length < 2 || !in_bounds(bytes, pos, *length)) return false;
    if (visit(JpegSegment{marker, bytes.substr(pos + 2, *length - 2)})) return true;
    pos += *length;
  }
  return false;
}

}  // namespace cutout::imaging::detail
