// Encoding the result with OpenCV's codecs. See kPngStrategy for the PNG speed/size trade-off.

#include "cutout/imaging/encode.hpp"

#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "cutout/core/error.hpp"

namespace cutout::imaging {
namespace {

// zlib's default strategy, passed explicitly because OpenCV otherwise picks Z_RLE. Measured on a
// 4000x3000 BGRA cutout of a JPEG-decoded photo (OpenCV 4.6, libpng 1.6, shared 2-core VM):
//   level 1 default 1.1 s 16.8 MB | level 1 RLE 1.1 s 14.7 MB | level 3 default 2.0 s 15.7 MB |
//   level 6 default 8.2 s 14.0 MB
// and on flat synthetic graphics of the same size: level 1 default 0.29 MB, RLE 3.8 MB, level 6
// 0.09 MB. At a fast level the strategy hardly changes the time (libpng's per-row filter choice
// dominates); RLE saves ~13% on photos but is 13x larger on logos and renders, so default it is.
constexpr int kPngStrategy = cv::IMWRITE_PNG_STRATEGY_DEFAULT;

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
      params = {cv::IMWRITE_PNG_COMPRESSION, options.png_compression, cv::IMWRITE_PNG_STRATEGY,
                kPngStrategy};
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
