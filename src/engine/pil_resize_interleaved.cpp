// Pillow's 8-bit bilinear resize on the CPU, reading the decoded interleaved BGR rows directly (no
// full-size CHW copy first) and writing the model's [3, h, w] planes. The arithmetic is Pillow's
// (Imaging/Resample.c, ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc, and the
// coefficients of pil_bilinear_coefficients): horizontal pass then vertical, each output
// (2^21 + sum(value * weight)) >> 22 clipped to 8 bits. The sums are exact int32 sums, so the
// order of their terms is free: each output's taps are moved into a window of one fixed length
// that stays inside the row (zero weights elsewhere), which lets the compiler unroll the horizontal
// loop and vectorise the vertical one across the whole interleaved row.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cutout/core/parallel.hpp"
#include "cutout/engine/pil_resize.hpp"

namespace cutout::engine {
namespace {

constexpr int kPrecisionBits = 22;
constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);

inline std::uint8_t clip8(std::int32_t sum) {
  const std::int32_t v = sum >> kPrecisionBits;  // sum >= 0: the weights are non-negative
  return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

// Pillow's coefficients re-based so that output i reads taps start[i] .. start[i] + taps - 1,
// all inside [0, in_size).
struct Window {
  int taps = 0;
  std::vector<std::int32_t> start;    // [out]
  std::vector<std::int32_t> weights;  // [out * taps]
};

Window window(int in_size, int out_size) {
  const ResampleCoefficients c = pil_bilinear_coefficients(in_size, out_size);
  Window w;
  w.taps = std::min(c.taps, in_size);
  w.start.resize(out_size);
  w.weights.assign(static_cast<std::size_t>(out_size) * w.taps, 0);
  for (int i = 0; i < out_size; ++i) {
    const auto first = static_cast<int>(c.first_tap[i]);
    const int count = std::min(c.taps, in_size - first);
    const int start = std::min(first, in_size - w.taps);
    w.start[i] = start;
    for (int j = 0; j < count; ++j) {
      w.weights[static_cast<std::size_t>(i) * w.taps + (first + j - start)] =
          c.weights[static_cast<std::size_t>(i) * c.taps + j];
    }
  }
  return w;
}

// The two hot loops are built for AVX2 as well as the baseline, chosen at load time (GCC's
// target_clones): integer arithmetic, so both builds give the same bytes. Not under the
// sanitizers: the clones' ifunc resolvers run during relocation, before the TSan runtime is set
// up, and an instrumented resolver crashes the process at load (cutout_concurrency_tests, SIGSEGV).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define CUTOUT_HOT __attribute__((target_clones("avx2", "default")))
#else
#define CUTOUT_HOT
#endif

// One interleaved 3-channel row: in [in_size * 3] -> out [out_size * 3].
CUTOUT_HOT void horizontal_row(const std::uint8_t* in, std::uint8_t* out, const Window& win) {
  const int taps = win.taps;
  const auto out_size = static_cast<int>(win.start.size());
  for (int i = 0; i < out_size; ++i) {
    const std::uint8_t* p = in + 3 * static_cast<std::int64_t>(win.start[i]);
    const std::int32_t* w = win.weights.data() + static_cast<std::size_t>(i) * taps;
    std::int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
    for (int j = 0; j < taps; ++j) {
      const std::int32_t wj = w[j];
      s0 += std::int32_t{p[3 * j]} * wj;
      s1 += std::int32_t{p[3 * j + 1]} * wj;
      s2 += std::int32_t{p[3 * j + 2]} * wj;
    }
    out[3 * i] = clip8(s0);
    out[3 * i + 1] = clip8(s1);
    out[3 * i + 2] = clip8(s2);
  }
}

// One output row of the vertical pass: acc = 2^21 + sum_j rows[j][x] * w[j], clipped to 8 bits.
CUTOUT_HOT void vertical_row(const std::uint8_t* rows, std::int64_t stride, const std::int32_t* w,
                             int taps, std::int64_t lanes, std::int32_t* acc, std::uint8_t* out) {
  std::fill(acc, acc + lanes, kHalf);
  for (int j = 0; j < taps; ++j) {
    const std::uint8_t* row = rows + j * stride;
    const std::int32_t wj = w[j];
    for (std::int64_t x = 0; x < lanes; ++x) acc[x] += std::int32_t{row[x]} * wj;
  }
  for (std::int64_t x = 0; x < lanes; ++x) out[x] = clip8(acc[x]);
}

}  // namespace

torch::Tensor pil_bilinear_resize_interleaved(const std::uint8_t* bgr, int in_height, int in_width,
                                              std::int64_t row_bytes, bool rgb, int height,
                                              int width) {
  TORCH_CHECK(in_height > 0 && in_width > 0 && height > 0 && width > 0, "empty resize");
  const std::int64_t lanes = 3 * static_cast<std::int64_t>(width);

  // Horizontal pass into interleaved rows of the new width (or the input itself).
  std::vector<std::uint8_t> narrow;
  const std::uint8_t* rows = bgr;
  std::int64_t stride = row_bytes;
  if (width != in_width) {
    const Window win = window(in_width, width);
    narrow.resize(static_cast<std::size_t>(in_height * lanes));
    const std::int64_t grain = std::max<std::int64_t>(1, 65536 / (3 * std::int64_t{in_width}));
    core::parallel_for(0, in_height, grain, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t y = begin; y < end; ++y) {
        horizontal_row(bgr + y * row_bytes, narrow.data() + y * lanes, win);
      }
    });
    rows = narrow.data();
    stride = lanes;
  }

  // Vertical pass (or a copy), written de-interleaved into the planes in the model's order.
  auto out = torch::empty({3, height, width}, torch::kByte);
  std::uint8_t* planes = out.data_ptr<std::uint8_t>();
  const std::int64_t plane = static_cast<std::int64_t>(height) * width;
  const int order[3] = {rgb ? 2 : 0, 1, rgb ? 0 : 2};  // plane of B, G, R
  const bool vertical = height != in_height;
  const Window win = vertical ? window(in_height, height) : Window{};
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / lanes);
  core::parallel_for(0, height, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int32_t> acc(vertical ? static_cast<std::size_t>(lanes) : 0);
    std::vector<std::uint8_t> line(static_cast<std::size_t>(lanes));
    for (std::int64_t y = begin; y < end; ++y) {
      const std::uint8_t* src = rows + y * stride;
      if (vertical) {
        vertical_row(rows + win.start[y] * stride, stride,
                     win.weights.data() + static_cast<std::size_t>(y) * win.taps, win.taps, lanes,
                     acc.data(), line.data());
        src = line.data();
      }
      std::uint8_t* p0 = planes + order[0] * plane + y * width;
      std::uint8_t* p1 = planes + order[1] * plane + y * width;
      std::uint8_t* p2 = planes + order[2] * plane + y * width;
      for (int x = 0; x < width; ++x) {
        p0[x] = src[3 * x];
        p1[x] = src[3 * x + 1];
        p2[x] = src[3 * x + 2];
      }
    }
  });
  return out;
}

}  // namespace cutout::engine
