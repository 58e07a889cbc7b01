#pragma once
// The size of the one buffer a TIFF decoder allocates besides the image: a tile, or a strip of
// rows. It comes from the file's TileWidth x TileLength (or ImageWidth x RowsPerStrip), which a
// file may set far above its image size: a 16x16 TIFF declaring one 32768x32752 tile made
// OpenCV's reader allocate 4.1 GB. Read from IFD0, the only directory cv::imdecode decodes.

#include <cstdint>
#include <optional>
#include <string_view>

#include "cutout/imaging/image_format.hpp"

namespace cutout::imaging::detail {

struct TiffChunk {
  std::uint64_t width = 0;   // pixels
  std::uint64_t height = 0;  // rows
  bool tiled = false;        // a tile; else a strip
  std::uint64_t pixels() const { return width * height; }
};

// The tile (TileWidth x TileLength) or strip (ImageWidth x min(RowsPerStrip, ImageLength); no
// RowsPerStrip means one strip) of the TIFF whose header is `tiff` and image is `image`. Nullopt
// when a tile tag is present but unreadable, zero, or only one of the two is there: libtiff would
// decide what that means, so the file is refused as malformed.
std::optional<TiffChunk> tiff_chunk(std::string_view tiff, ImageSize image);

}  // namespace cutout::imaging::detail
