#pragma once
// Reading one numeric tag from the first IFD of a TIFF structure: a TIFF file's ImageWidth,
// ImageLength and tile or strip geometry, and the Orientation tag of an EXIF block (which is a
// TIFF structure too).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bytes.hpp"

namespace cutout::imaging::detail {

// The value of `tag` in IFD0 when it is a single SHORT or LONG, else nullopt. `tiff` starts at the
// byte-order mark, and the IFD offset is relative to it. Never reads past `tiff`.
inline std::optional<std::uint32_t> tiff_ifd0_value(std::string_view tiff, std::uint16_t tag) {
  constexpr std::uint32_t kShort = 3, kLong = 4;
  const auto endian = tiff_endian(tiff, 0);
  if (!endian) return std::nullopt;
  const auto ifd = read_u32(tiff, 4, *endian);
  if (!ifd) return std::nullopt;
  const auto count = read_u16(tiff, *ifd, *endian);
  if (!count) return std::nullopt;
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t entry = std::size_t{*ifd} + 2 + 12 * i;
    if (!in_bounds(tiff, entry, 12)) return std::nullopt;
    if (*read_u16(tiff, entry, *endian) != tag) continue;
    const auto type = *read_u16(tiff, entry + 2, *endian);
    const auto values = *read_u32(tiff, entry + 4, *endian);
    if (values != 1) return std::nullopt;
    // A single SHORT sits in the first two bytes of the value field, a LONG fills it.
    if (type == kShort) return read_u16(tiff, entry + 8, *endian);
    if (type == kLong) return read_u32(tiff, entry + 8, *endian);
    return std::nullopt;
  }
  return std::nullopt;
}

// Whether IFD0 has an entry for `tag`, whatever its type and count; false when IFD0 is unreadable.
// Tells a tag that is absent from one that is present but not a single SHORT or LONG.
inline bool tiff_ifd0_has(std::string_view tiff, std::uint16_t tag) {
  const auto endian = tiff_endian(tiff, 0);
  if (!endian) return false;
  const auto ifd = read_u32(tiff, 4, *endian);
  if (!ifd) return false;
  const auto count = read_u16(tiff, *ifd, *endian);
  if (!count) return false;
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t entry = std::size_t{*ifd} + 2 + 12 * i;
    if (!in_bounds(tiff, entry, 2)) return false;
    if (*read_u16(tiff, entry, *endian) == tag) return true;
  }
  return false;
}

}  // namespace cutout::imaging::detail
