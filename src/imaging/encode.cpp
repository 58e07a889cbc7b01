// Encoding the result: PNG with our strip-parallel writer (png_encode.hpp), WebP through libwebp's
// advanced API (webp_encode.hpp), JPEG with OpenCV's libjpeg-turbo path.

#include "cutout/imaging/encode.hpp"

#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "cutout/core/error.hpp"
#include "png_encode.hpp"
#include "webp_encode.hpp"

namespace cutout::imaging {
namespace {

// PNG: every row with the SUB filter at zlib level 1, as OpenCV's fast path wrote it before, now
// deflated in strips across the pool's threads. libpng's adaptive filters cost 1.6-2.8x more time
// for files 8-10% smaller; zlib's Z_RLE saves no time and makes photos 50% larger
// (docs/performance.md, "PNG").
//
// JPEG: OpenCV at the requested quality with libjpeg-turbo's accurate integer DCT and 4:2:0. At
// 12 MP it costs ~36 ms of CPU; the fast DCT saves nothing measurable (docs/performance.md, "JPEG").

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
  if (format == OutputFormat::Png) return detail::encode_png(image, options.png_compression);
  if (format == OutputFormat::Webp) return detail::encode_webp(image, options.webp_quality);
  if (image.channels() == 4) {
    throw Error(ErrorKind::InvalidArgument, "alpha_not_supported",
                "JPEG has no alpha channel; ask for png or webp, or set bg_color");
  }
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(".jpg", image, buffer, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality})) {
      throw_internal("encode: the jpg encoder failed");
    }
  } catch (const cv::Exception& e) {
    throw_internal(std::string("encode: the jpg encoder failed: ") + e.err);
  }
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace cutout::imaging
