// The chunk walks mirror exif.cpp's; see there for the container layouts.

#include "icc_profile.hpp"

#include <cstdint>
#include <optional>

#include <zlib.h>

#include "bytes.hpp"

namespace cutout::imaging::detail {
namespace {

using namespace std::string_view_literals;

std::string inflate_bounded(std::string_view compressed) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return {};
  std::string out;
  char chunk[16384];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
    if (out.size() > kMaxIccProfileBytes) status = Z_MEM_ERROR;
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) status = Z_DATA_ERROR;
  }
  inflateEnd(&stream);
  return status == Z_STREAM_END ? out : std::string();
}

std::string png_icc(std::string_view b) {
  std::size_t pos = 8;
  while (true) {
    const auto length = read_u32(b, pos, Endian::Big);
    if (!length || !in_bounds(b, pos + 8, *length)) return {};
    const std::string_view data = b.substr(pos + 8, *length);
    if (matches(b, pos + 4, "iCCP"sv)) {
      // Profile name (1-79 bytes), NUL, compression method (0: zlib), compressed profile.
      const std::size_t nul = data.find('\0');
      if (nul == std::string_view::npos || nul + 1 >= data.size() || data[nul + 1] != 0) return {};
      return inflate_bounded(data.substr(nul + 2));
    }
    if (matches(b, pos + 4, "IDAT"sv) || matches(b, pos + 4, "IEND"sv)) return {};  // iCCP precedes
    pos += std::size_t{12} + *length;
  }
}

std::string webp_icc(std::string_view b) {
  std::size_t pos = 12;
  while (true) {
    const auto size = read_u32(b, pos + 4, Endian::Little);
    if (!size || !in_bounds(b, pos + 8, *size)) return {};
    if (matches(b, pos, "ICCP"sv)) return std::string(b.substr(pos + 8, *size));
    pos += std::size_t{8} + *size + (*size & 1);
  }
}

std::string tiff_icc(std::string_view tiff) {
  constexpr std::uint16_t kIccProfile = 34675;
  constexpr std::uint32_t kByte = 1, kUndefined = 7;
  const auto endian = tiff_endian(tiff, 0);
  if (!endian) return {};
  const auto ifd = read_u32(tiff, 4, *endian);
  const auto count = ifd ? read_u16(tiff, *ifd, *endian) : std::nullopt;
  if (!count) return {};
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t entry = std::size_t{*ifd} + 2 + 12 * i;
    if (!in_bounds(tiff, entry, 12)) return {};
    if (*read_u16(tiff, entry, *endian) != kIccProfile) continue;
    const auto type = *read_u16(tiff, entry + 2, *endian);
    const std::uint32_t size = *read_u32(tiff, entry + 4, *endian);
    if ((type != kByte && type != kUndefined) || size <= 4) return {};  // no real profile is 4 bytes
    const std::uint32_t offset = *read_u32(tiff, entry + 8, *endian);
    if (!in_bounds(tiff, offset, size)) return {};
    return std::string(tiff.substr(offset, size));
  }
  return {};
}

}  // namespace

std::string read_icc_profile(std::string_view bytes, ImageFormat format) {
  std::string profile;
  switch (format) {
    case ImageFormat::Png: profile = png_icc(bytes); break;
    case ImageFormat::Webp: profile = webp_icc(bytes); break;
    case ImageFormat::Tiff: profile = tiff_icc(bytes); break;
    default: break;  // JPEG: jpeg_decode.hpp; BMP: v5 headers may embed one, not read (rare)
  }
  return profile.size() <= kMaxIccProfileBytes ? profile : std::string();
}

}  // namespace cutout::imaging::detail
