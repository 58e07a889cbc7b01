#include "cutout/service/memory_estimate.hpp"

#include <algorithm>

#include "cutout/imaging/downscale.hpp"

namespace cutout::service {
namespace {

using imaging::ImageFormat;
using imaging::OutputFormat;

// Bytes per pixel, from bench/results/request-peak-cpu.json (the largest slope between the 12 and
// 50 MP runs of each case, rounded up), so the estimate covers every measured peak.
// Model side, per pixel of the model's input (1024 x 1024 in the runs): the float input tensor,
// Pillow-resize buffers, the answer; and the allocator's arenas for them.
constexpr double kModelBytesPerInputPixel = 40.0;

// Input side, per image pixel: decoding (the library's buffers plus the 8-bit BGR and alpha) and
// the full-size mask (a float plane, its scaled copy, the 8-bit mask, the cut-out's alpha).
double input_bytes_per_pixel(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return 20.0;
    case ImageFormat::Png: return 24.0;
    case ImageFormat::Webp: return 24.0;
    case ImageFormat::Tiff: return 28.0;
    case ImageFormat::Bmp: return 24.0;
    case ImageFormat::Unknown: break;
  }
  return 32.0;
}

// Output side, per output pixel: the picture, foreground estimation's planes, the encoder.
double output_bytes_per_pixel(const RemoveBackgroundOptions& o) {
  if (o.output == OutputKind::Mask) return 4.0;
  const bool estimate = o.foreground == imaging::ForegroundColour::Estimate;
  double encoder = 0;
  switch (o.format) {
    case OutputFormat::Png: encoder = 12.0; break;
    case OutputFormat::Webp: encoder = 16.0; break;
    case OutputFormat::Jpeg: encoder = 8.0; break;
  }
  return encoder + (estimate ? 40.0 : 0.0);
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
