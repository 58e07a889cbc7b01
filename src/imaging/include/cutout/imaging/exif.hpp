#pragma once
// EXIF orientation. OpenCV applies it only for IMREAD_COLOR; we decode with IMREAD_UNCHANGED to keep
// alpha and 16-bit data, so we read the tag ourselves and rotate.

#include <string_view>

#include <opencv2/core.hpp>

namespace cutout::imaging {

// The EXIF Orientation tag (1..8) of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk); 1 when absent
// or unreadable. Never reads past the buffer.
int read_exif_orientation(std::string_view bytes);

// The image as a viewer shows it for that orientation (1 = unchanged).
cv::Mat apply_exif_orientation(const cv::Mat& image, int orientation);

}  // namespace cutout::imaging
