#pragma once
// Pillow's 8-bit bilinear resize (Image.resize(size, BILINEAR)), reproduced exactly with integer
// tensor ops on any device. The reference pipeline resizes with Pillow, and a float interpolation
// (even torch's antialias=True, the same filter) disagrees by one level on 7-20% of the pixels,
// which a sensitive model turns into visibly different masks. The specification, in Python, is
// tests/parity/pil_resize.py.
//
// Pillow: separable, horizontal pass first; per output i, scale = in/out, filter scale
// fs = max(scale, 1), centre c = (i + 0.5) * scale, taps int(c - fs + 0.5) .. int(c + fs + 0.5)
// clipped to the image, triangle weights normalised to 1, then fixed point with 22 fraction bits
// (rounded half away from zero); each output is (2^21 + sum(value * weight)) >> 22 clipped to 8 bits.

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace cutout::engine {

struct ResampleCoefficients {
  std::vector<std::int64_t> first_tap;  // [out]
  std::vector<std::int32_t> weights;    // [out * taps], zero past each row's last tap
  int taps = 0;
};

// The coefficients of one axis, as Pillow computes them.
ResampleCoefficients pil_bilinear_coefficients(int in_size, int out_size);

// `image` is uint8 [C, H, W] on any device; returns uint8 [C, height, width] on the same device.
// On the CPU it runs Pillow's loops over the bytes; elsewhere the tensor-op version below.
torch::Tensor pil_bilinear_resize(const torch::Tensor& image, int height, int width);

// The CPU path of the model input: `bgr` is uint8 interleaved [in_height, in_width, 3] rows
// `row_bytes` apart, in B, G, R order; returns a CPU uint8 [3, height, width] in B, G, R order, or
// R, G, B when `rgb`. Bit for bit pil_bilinear_resize of the [C, H, W] planes, without making them:
// fixed-length tap windows, rows split across core::parallel_for (pil_resize_interleaved.cpp).
torch::Tensor pil_bilinear_resize_interleaved(const std::uint8_t* bgr, int in_height, int in_width,
                                              std::int64_t row_bytes, bool rgb, int height,
                                              int width);

// The same result with integer tensor ops, for devices other than the CPU (public for the test
// that holds the two versions equal).
torch::Tensor pil_bilinear_resize_with_tensor_ops(const torch::Tensor& image, int height,
                                                  int width);

}  // namespace cutout::engine
