#include "cutout/service/memory_estimate.hpp"

#include <algorithm>

#include "cutout/imaging/downscale.hpp"

namespace cutout::service {
namespace {

using imaging::ImageFormat;
using imaging::OutputFormat;

// Bytes per pixel, fitted by bench/memory/fit.py to bench/results/request-peak-cpu.json (one request
// per fresh process; 0.5, 12 and 50 MP) and rounded up, so the estimate is at or above every
// measured peak (1.01-1.34x; the most over at 0.5 MP, where the model side dominates).
// Model side, per pixel of the model's input (1024 x 1024 in the runs): the float input tensor,
// the Pillow-resize buffers, the answer.
constexpr double kModelBytesPerInputPixel = 34;

// Input side, per image pixel, held to the end: the decoder's buffers, the 8-bit BGR (and alpha),
// the full-size float mask, its scaled copy and the 8-bit mask.
double input_bytes_per_pixel(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return 12;
    case ImageFormat::Png: return 13;
    case ImageFormat::Webp: return 13;
    case ImageFormat::Tiff: return 12;
    case ImageFormat::Bmp: return 12;
    case ImageFormat::Unknown: break;
  }
  return 13;
}

// Output side, per output pixel, beyond the input side. Its stages run one after the other and
// foreground estimation frees its planes before the encoder starts, so the larger of the two counts:
// foreground estimation's pyramid of float planes (68: the whole image is its band in the worst
// case, and the band is not known before the forward pass), the WebP encoder's ARGB and YUV copies
// (19); the PNG and JPEG encoders and a mask's picture stay under the input side's peak (measured
// 0-1, counted as 1).
constexpr double kForegroundBytesPerPixel = 68;

double encoder_bytes_per_pixel(OutputFormat format) {
  return format == OutputFormat::Webp ? 19 : 1;
}

double output_bytes_per_pixel(const RemoveBackgroundOptions& o) {
  const bool estimates = o.output == OutputKind::Rgba && o.foreground == imaging::ForegroundColour::Estimate;
  return std::max(encoder_bytes_per_pixel(o.format), estimates ? kForegroundBytesPerPixel : 0.0);
}

}  // namespace

std::optional<RequestShape> request_shape(std::string_view image_bytes, std::size_t max_pixels,
                                          int model_width, int model_height) {
  const ImageFormat format = imaging::sniff_format(image_bytes);
  if (format == ImageFormat::Unknown) return std::nullopt;
  const auto size = imaging::read_image_size(image_bytes, format);
  if (!size || size->width <= 0 || size->height <= 0) return std::nullopt;
  const auto pixels = static_cast<std::uint64_t>(size->width) * static_cast<std::uint64_t>(size->height);
  if (pixels > max_pixels) return std::nullopt;
  return RequestShape{format, image_bytes.size(), size->width, size->height, model_width, model_height};
}

std::uint64_t estimate_peak_bytes(const RequestShape& shape, const RemoveBackgroundOptions& options) {
  const double pixels = static_cast<double>(shape.width) * shape.height;
  const double model_pixels = static_cast<double>(std::max(shape.model_width, 1)) * std::max(shape.model_height, 1);
  cv::Size out(shape.width, shape.height);
  if (options.geometry.max_side) out = imaging::fit_within(out, *options.geometry.max_side);
  const double out_pixels = static_cast<double>(out.width) * out.height;
  const double bytes = static_cast<double>(shape.input_bytes) + kModelBytesPerInputPixel * model_pixels +
                       input_bytes_per_pixel(shape.input_format) * pixels +
                       output_bytes_per_pixel(options) * out_pixels;
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace cutout::service
