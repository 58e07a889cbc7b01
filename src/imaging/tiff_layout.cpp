#include "tiff_layout.hpp"

#include <algorithm>

#include "tiff_ifd.hpp"

namespace cutout::imaging::detail {

std::optional<TiffChunk> tiff_chunk(std::string_view tiff, ImageSize image) {
  constexpr std::uint16_t kRowsPerStrip = 278, kTileWidth = 322, kTileLength = 323;
  const auto width = static_cast<std::uint64_t>(image.width);
  const auto height = static_cast<std::uint64_t>(image.height);
  if (tiff_ifd0_has(tiff, kTileWidth) || tiff_ifd0_has(tiff, kTileLength)) {
    const auto tile_width = tiff_ifd0_value(tiff, kTileWidth);
    const auto tile_length = tiff_ifd0_value(tiff, kTileLength);
    if (!tile_width || !tile_length || *tile_width == 0 || *tile_length == 0) return std::nullopt;
    return TiffChunk{*tile_width, *tile_length, true};
  }
  // libtiff clamps RowsPerStrip to the image height; absent (or unreadable) means one strip.
  const auto rows = tiff_ifd0_value(tiff, kRowsPerStrip);
  const std::uint64_t strip_rows = rows && *rows > 0 ? std::min<std::uint64_t>(*rows, height) : height;
  return TiffChunk{width, strip_rows, false};
}

}  // namespace cutout::imaging::detail
