#pragma once
// Bounds-checked reads of integers from untrusted bytes. Every header parser in this layer goes
// through these, so a short or lying file yields nullopt instead of a read past the buffer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cutout::imaging::detail {

enum class Endian { Big, Little };

// True when [offset, offset + count) lies inside the buffer; written to avoid overflow.
inline bool in_bounds(std::string_view bytes, std::size_t offset, std::size_t count) {
  return offset <= bytes.size() && count <= bytes.size() - offset;
}

// An unsigned integer of `count` bytes (1..4) at `offset`, or nullopt when it does not fit.
inline std::optional<std::uint32_t> read_uint(std::string_view bytes, std::size_t offset,
                                              std::size_t count, Endian endian) {
  if (count == 0 || count > 4 || !in_bounds(bytes, offset, count)) return std::nullopt;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t index = endian == Endian::Big ? i : count - 1 - i;
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + index]);
  }
  return value;
}

inline std::optional<std::uint32_t> read_u8(std::string_view b, std::size_t offset) {
  return read_uint(b, offset, 1, Endian::Big);
}
inline std::optional<std::uint32_t> read_u16(std::string_view b, std::size_t offset, Endian e) {
  return read_uint(b, offset, 2, e);
}
inline std::optional<std::uint32_t> read_u32(std::string_view b, std::size_t offset, Endian e) {
  return read_uint(b, offset, 4, e);
}

// True when the bytes at `offset` equal `tag` (false, not a read, when they do not fit).
inline bool matches(std::string_view bytes, std::size_t offset, std::string_view tag) {
  return in_bounds(bytes, offset, tag.size()) && bytes.substr(offset, tag.size()) == tag;
}

// The byte order of a TIFF header ("II*\0" or "MM\0*") at `offset`, nullopt when there is none.
inline std::optional<Endian> tiff_endian(std::string_view bytes, std::size_t offset) {
  using namespace std::string_view_literals;
  if (matches(bytes, offset, "II*\0"sv)) return Endian::Little;
  if (matches(bytes, offset, "MM\0*"sv)) return Endian::Big;
  return std::nullopt;
}

}  // namespace cutout::imaging::detail
