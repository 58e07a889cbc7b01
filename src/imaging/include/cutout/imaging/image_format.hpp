#pragma once
// Recognising an image from its first bytes, and reading its size from the header alone, so that an
// oversized upload is refused before anything large is allocated.

#include <optional>
#include <string>
#include <string_view>

namespace cutout::imaging {

enum class ImageFormat { Jpeg, Png, Webp, Bmp, Tiff, Unknown };

// The format named by the magic bytes, never by the client's Content-Type.
ImageFormat sniff_format(std::string_view bytes);

std::string to_string(ImageFormat format);

struct ImageSize {
  int width = 0;
  int height = 0;
};

// Width and height as stored in the header (before EXIF orientation). nullopt when the header is
// truncated or malformed; the caller treats that as an undecodable image.
std::optional<ImageSize> read_image_size(std::string_view bytes, ImageFormat format);

}  // namespace cutout::imaging
