// LibTorch 1.13's arithmetic for bilinear align_corners=True on the CPU, re-done without its
// single-threaded kernel and the three full-size float passes (interpolate, *255, clamp) after it.
//
// The source of each rule (aten/src/ATen/native/UpSample.h and cpu/UpSampleKernel.cpp, 1.13): a
// [1, 1, h, w] tensor is also channels-last contiguous, so upsample_bilinear2d takes
// cpu_upsample_linear_channels_last, which per output pixel
//   - scale = float(in - 1) / (out - 1) in float (area_pixel_compute_scale; 0 when out == 1);
//   - real = scale * index, in double (the index arithmetic is done in the accumulate type);
//     i0 = int64(real), i1 = i0 + (i0 < in - 1); lambda1 = float(real - i0), lambda0 = 1 - lambda1
//     in float; when in == out: i0 = i1 = index, lambdas 1 and 0 (compute_source_index_and_lambda);
//   - out = float(double(h0 * w0) * x00 + double(h0 * w1) * x01 + double(h1 * w0) * x10
//                 + double(h1 * w1) * x11), the weight products in float, the sum in double,
//     left to right.
// The double index and accumulation were established by probing torch with one-hot and random
// inputs (every variant with float sums or FMA differs on 25-60% of pixels); the test compares
// against torch itself on many sizes, so a LibTorch that computes otherwise fails it.
// Every operation must round as written: CMakeLists.txt builds this file with -ffp-contract=off, so
// no compiler may fuse a multiply and an add into an FMA (one rounding instead of two).
// Then tensor_pipeline's old tail: float * 255.0f, clamp to [0, 255], truncation to uint8.

#include "cutout/engine/mask_upsample.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cutout/core/parallel.hpp"

namespace cutout::engine {
namespace {

struct AxisTaps {
  std::vector<std::int32_t> i0, i1;
  std::vector<float> l0, l1;
};

AxisTaps axis_taps(int in, int out) {
  AxisTaps t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  const float scale = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  for (int j = 0; j < out; ++j) {
    if (in == out) {
      t.i0[j] = t.i1[j] = j;
      t.l0[j] = 1.0f;
      t.l1[j] = 0.0f;
      continue;
    }
    const double real = static_cast<double>(scale) * j;
    const auto i0 = static_cast<std::int64_t>(real);
    t.i0[j] = static_cast<std::int32_t>(i0);
    t.i1[j] = static_cast<std::int32_t>(i0 + (i0 < in - 1 ? 1 : 0));
    const float l1 = static_cast<float>(std::min(std::max(real - static_cast<double>(i0), 0.0), 1.0));
    t.l1[j] = l1;
    t.l0[j] = 1.0f - l1;
  }
  return t;
}

inline std::uint8_t to_mask_byte(float v) {
  v *= 255.0f;
  if (!(v > 0.0f)) return 0;  // also NaN: what x86's float-to-int conversion gives torch
  return static_cast<std::uint8_t>(v < 255.0f ? v : 255.0f);
}

}  // namespace

void upsample_mask(const float* probability, int h, int w, std::uint8_t* mask, int height,
                   int width) {
  const AxisTaps rows = axis_taps(h, height);
  const AxisTaps cols = axis_taps(w, width);
  // ~16 K pixels per chunk: small enough to spread a 3 MP mask over every thread.
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / width);
  core::parallel_for(0, height, grain, [&](std::int64_t begin, std::int64_t end) {
    // Per row: gather the four source values of each pixel, then one streaming loop of the
    // arithmetic that the compiler vectorises (the gathers would stop it).
    std::vector<float> taps(static_cast<std::size_t>(width) * 4);
    float* x00 = taps.data();
    float* x01 = x00 + width;
    float* x10 = x01 + width;
    float* x11 = x10 + width;
    const float* w0 = cols.l0.data();
    const float* w1 = cols.l1.data();
    for (std::int64_t y = begin; y < end; ++y) {
      const float* r0 = probability + static_cast<std::int64_t>(rows.i0[y]) * w;
      const float* r1 = probability + static_cast<std::int64_t>(rows.i1[y]) * w;
      for (int x = 0; x < width; ++x) {
        const std::int32_t a = cols.i0[x], b = cols.i1[x];
        x00[x] = r0[a];
        x01[x] = r0[b];
        x10[x] = r1[a];
        x11[x] = r1[b];
      }
      const float h0 = rows.l0[y], h1 = rows.l1[y];
      std::uint8_t* out = mask + y * width;
      for (int x = 0; x < width; ++x) {
        const double sum = static_cast<double>(h0 * w0[x]) * x00[x] +
                           static_cast<double>(h0 * w1[x]) * x01[x] +
                           static_cast<double>(h1 * w0[x]) * x10[x] +
                           static_cast<double>(h1 * w1[x]) * x11[x];
        out[x] = to_mask_byte(static_cast<float>(sum));
      }
    }
  });
}

}  // namespace cutout::engine
