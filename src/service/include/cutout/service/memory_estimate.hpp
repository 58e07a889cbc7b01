#pragma once
// A request's peak memory, estimated from the image's header and the request's options before
// anything big is allocated: what the memory budget (memory_budget.hpp) reserves for it.
//
// peak = input bytes (the body, held to the end)
//      + model-side bytes per model input pixel x the model's input area (input tensor, resize
//        buffers, the low-resolution answer)
//      + input side per image pixel by input format (decoder buffers, the 8-bit BGR and alpha,
//        the full-size float mask and its 8-bit copy)
//      + output side per output pixel by output (picture, foreground estimation, encoder working
//        memory, encoded bytes); output pixels are the image's after max_side. crop is not known
//        before the forward pass, so the estimate assumes none (the whole image).
// The coefficients come from bench/memory/request_peak.py (one request per fresh process, the
// rise of VmHWM; bench/results/request-peak-cpu.json) and are rounded up; docs/security.md,
// "Memory budget", has the table.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "cutout/imaging/image_format.hpp"
#include "cutout/service/request_options.hpp"

namespace cutout::service {

struct RequestShape {
  imaging::ImageFormat input_format = imaging::ImageFormat::Unknown;
  std::uint64_t input_bytes = 0;
  int width = 0;   // as the header states (orientation does not change the pixel count)
  int height = 0;
  int model_width = 0;   // the model's input size
  int model_height = 0;
};

// The shape of an upload: nullopt when its format is unknown, its header unreadable, or its pixel
// count over `max_pixels` (the decoder refuses those before allocating, with its own error).
std::optional<RequestShape> request_shape(std::string_view image_bytes, std::size_t max_pixels,
                                          int model_width, int model_height);

// The estimated peak bytes of one request with `options`, as described above.
std::uint64_t estimate_peak_bytes(const RequestShape& shape, const RemoveBackgroundOptions& options);

}  // namespace cutout::service
