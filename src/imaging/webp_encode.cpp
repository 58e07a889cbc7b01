#include "webp_encode.hpp"

#include <memory>

#include <opencv2/imgproc.hpp>
#include <webp/encode.h>

#include "cutout/core/error.hpp"

namespace cutout::imaging::detail {
namespace {

// Lossy settings, measured on a 12 MP photo cut-out at quality 90 (docs/performance.md, "WebP";
// CPU time of all threads, which the shared machine's load does not blur):
//   method 4 (OpenCV's, before) 2132 ms 2.14 MB | method 2 1412 ms 2.15 MB |
//   method 1 1446 ms 2.37 MB | method 0 770 ms 2.64 MB
// Method 0 costs 2.8x less than before for files 24% larger (still a tenth of the PNG); the methods
// between save little time. thread_level 1 encodes the alpha plane on a second thread beside the
// colour (same bytes). The alpha stays lossless (alpha_quality 100, libwebp's default).
constexpr int kWebpMethod = 0;
constexpr int kWebpThreadLevel = 1;
// What libwebp's simple API (and so OpenCV) uses for lossless files.
constexpr float kLosslessQuality = 70.0f;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::Internal, "encode_failed", "encode: the webp encoder failed: " + what);
}

const char* error_text(WebPEncodingError code) {
  switch (code) {
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory";
    case VP8_ENC_ERROR_BAD_DIMENSION: return "the image is larger than 16383 pixels on a side";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW:
    case VP8_ENC_ERROR_PARTITION_OVERFLOW: return "a partition overflowed";
    case VP8_ENC_ERROR_FILE_TOO_BIG: return "the file would be over 4 GiB";
    default: return "libwebp error";
  }
}

}  // namespace

std::string encode_webp(const cv::Mat& image, int quality) {
  cv::Mat colour = image;
  if (image.channels() == 1) cv::cvtColor(image, colour, cv::COLOR_GRAY2BGR);
  const bool lossless = quality > 100;

  WebPConfig config;
  if (!WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, lossless ? kLosslessQuality : static_cast<float>(quality))) {
    fail("libwebp version mismatch");
  }
  if (lossless) {
    config.lossless = 1;
  } else {
    config.method = kWebpMethod;
    config.thread_level = kWebpThreadLevel;
  }
  if (!WebPValidateConfig(&config)) fail("invalid settings");

  WebPPicture picture;
  if (!WebPPictureInit(&picture)) fail("libwebp version mismatch");
  const std::unique_ptr<WebPPicture, void (*)(WebPPicture*)> picture_guard(&picture, WebPPictureFree);
  picture.width = colour.cols;
  picture.height = colour.rows;
  picture.use_argb = lossless ? 1 : 0;  // lossy imports straight to YUV(A), as the simple API does
  const int stride = static_cast<int>(colour.step[0]);
  const int imported = colour.channels() == 4 ? WebPPictureImportBGRA(&picture, colour.data, stride)
                                              : WebPPictureImportBGR(&picture, colour.data, stride);
  if (!imported) fail(error_text(picture.error_code));

  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  const std::unique_ptr<WebPMemoryWriter, void (*)(WebPMemoryWriter*)> writer_guard(&writer,
                                                                                    WebPMemoryWriterClear);
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &writer;
  if (!WebPEncode(&config, &picture)) fail(error_text(picture.error_code));
  return std::string(reinterpret_cast<const char*>(writer.mem), writer.size);
}

}  // namespace cutout::imaging::detail
