// Encoding the result with OpenCV's codecs. See kPngStrategy for the PNG speed/size trade-off.

#include "cutout/imaging/encode.hpp"

#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "cutout/core/error.hpp"

namespace cutout::imaging {
namespace {

// PNG speed: libpng's adaptive filter choice (four filters tried on every row) costs more than
// zlib at a fast level. OpenCV (4.6) uses the SUB filter alone, at level 1, only when no
// IMWRITE_PNG_COMPRESSION is given, so level 1 is asked for that way; zlib's default strategy is
// passed because OpenCV's own default there is Z_RLE. Measured on a 4000x3000 BGRA cut-out of a
// JPEG-decoded photo and on a flat graphic of that size (docs/performance.md, "PNG"; medians of 3,
// shared 2-core VM under load, so compare the ratios):
//   photo:   adaptive L1 3.4 s 10.6 MB | SUB L1 2.2 s 11.5 MB | SUB L1 RLE 2.1 s 17.1 MB |
//            adaptive L6 (zlib's default level) 13.7 s 8.3 MB
//   graphic: adaptive L1 2.4 s 0.82 MB | SUB L1 0.87 s 0.90 MB | SUB L1 RLE 0.87 s 0.84 MB
// SUB at level 1 is 1.6-2.8x faster than the adaptive filters for files 8-10% larger; RLE saves
// nothing in time and makes photos 50% larger.
constexpr int kPngStrategy = cv::IMWRITE_PNG_STRATEGY_DEFAULT;
constexpr int kPngFastLevel = 1;  // the level of OpenCV's SUB-filter path

[[noreturn]] void throw_internal(const std::string& message) {
  throw Error(ErrorKind::Internal, "encode_failed", message);
}

}  // namespace

std::string mime_type(OutputFormat format) {
  switch (format) {
    case OutputFormat::Png: return "image/png";
    case OutputFormat::Webp: return "image/webp";
    case OutputFormat::Jpeg: return "image/jpeg";
  }
  return "application/octet-stream";
}

std::string encode_image(const cv::Mat& image, OutputFormat format, const EncodeOptions& options) {
  if (image.empty() || image.depth() != CV_8U || image.channels() == 2 || image.channels() > 4) {
    throw_internal("encode: expected an 8-bit image with 1, 3 or 4 channels");
  }
  const char* extension = ".png";
  std::vector<int> params;
  switch (format) {
    case OutputFormat::Png:
      if (options.png_compression == kPngFastLevel) {
        params = {cv::IMWRITE_PNG_STRATEGY, kPngStrategy};
      } else {
        params = {cv::IMWRITE_PNG_COMPRESSION, options.png_compression, cv::IMWRITE_PNG_STRATEGY,
                  kPngStrategy};
      }
      break;
    case OutputFormat::Webp:
      // OpenCV's WebP encoder takes BGRA as it is, so the alpha survives.
      extension = ".webp";
      params = {cv::IMWRITE_WEBP_QUALITY, options.webp_quality};
      break;
    case OutputFormat::Jpeg:
      if (image.channels() == 4) {
        throw Error(ErrorKind::InvalidArgument, "alpha_not_supported",
                    "JPEG has no alpha channel; ask for png or webp, or set bg_color");
      }
      extension = ".jpg";
      params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};
      break;
  }
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(extension, image, buffer, params)) {
      throw_internal(std::string("encode: the ") + (extension + 1) + " encoder failed");
    }
  } catch (const cv::Exception& e) {
    throw_internal(std::string("encode: the ") + (extension + 1) + " encoder failed: " + e.err);
  }
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace cutout::imaging
