#include "cutout/engine/pil_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <ATen/Parallel.h>

namespace cutout::engine {
namespace {

constexpr int kPrecisionBits = 22;
// Rows gathered at once: bounds the temporary [rows, out, taps] tensors to tens of megabytes.
constexpr std::int64_t kGatherBudget = 4'000'000;

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// One pass along the last axis: uint8 [rows, in] -> uint8 [rows, out].
torch::Tensor resample_rows(const torch::Tensor& rows, int out_size) {
  const auto in_size = rows.size(1);
  const ResampleCoefficients c = pil_bilinear_coefficients(static_cast<int>(in_size), out_size);
  const auto device = rows.device();
  const auto first = torch::tensor(c.first_tap, torch::kLong).view({-1, 1});
  // Taps past a row's end point at the last pixel with weight zero.
  const auto index = (first + torch::arange(c.taps, torch::kLong).view({1, -1}))
                         .clamp_max_(in_size - 1)
                         .view({-1})
                         .to(device);
  const auto weights = torch::tensor(c.weights, torch::kInt).view({out_size, c.taps}).to(device);

  auto out = torch::empty({rows.size(0), out_size}, rows.options());
  const std::int64_t chunk = std::max<std::int64_t>(1, kGatherBudget / (out_size * c.taps));
  for (std::int64_t r0 = 0; r0 < rows.size(0); r0 += chunk) {
    const auto block = rows.narrow(0, r0, std::min(chunk, rows.size(0) - r0));
    // int32 is exact: 255 * 2^22 plus the rounding term stays below 2^31, as in Pillow.
    const auto taps = block.index_select(1, index).to(torch::kInt).view({block.size(0), out_size, c.taps});
    const auto sum = (taps * weights).sum(-1, /*keepdim=*/false, torch::kInt) + (1 << (kPrecisionBits - 1));
    out.narrow(0, r0, block.size(0)).copy_(sum.div(1 << kPrecisionBits, "floor").clamp_(0, 255));
  }
  return out;
}

// The CPU path: Pillow's own loops over the bytes. The tensor-op version above gathers
// [rows, out, taps] int32 temporaries; on a 12 MP image that is ~10x slower than these loops.
inline std::uint8_t clip8(std::int32_t sum) {
  const std::int32_t v = sum >> kPrecisionBits;  // sum >= 0: the weights are non-negative
  return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

// uint8 [rows, in] contiguous -> uint8 [rows, out].
torch::Tensor resample_rows_cpu(const torch::Tensor& rows, int out_size) {
  const std::int64_t n = rows.size(0), in_size = rows.size(1);
  const ResampleCoefficients c = pil_bilinear_coefficients(static_cast<int>(in_size), out_size);
  auto out = torch::empty({n, out_size}, rows.options());
  const std::uint8_t* src = rows.data_ptr<std::uint8_t>();
  std::uint8_t* dst = out.data_ptr<std::uint8_t>();
  at::parallel_for(0, n, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::uint8_t* in = src + r * in_size;
      std::uint8_t* o = dst + r * out_size;
      for (int i = 0; i < out_size; ++i) {
        const std::int32_t* w = c.weights.data() + static_cast<std::size_t>(i) * c.taps;
        const std::int64_t first = c.first_tap[i];
        const int count = static_cast<int>(std::min<std::int64_t>(c.taps, in_size - first));
        std::int32_t sum = 1 << (kPrecisionBits - 1);
        for (int j = 0; j < count; ++j) sum += std::int32_t{in[first + j]} * w[j];
        o[i] = clip8(sum);
      }
    }
  });
  return out;
}

// uint8 [planes, in, width] contiguous -> uint8 [planes, out, width], whole rows at a time.
torch::Tensor resample_columns_cpu(const torch::Tensor& image, int out_size) {
  const std::int64_t planes = image.size(0), in_size = image.size(1), width = image.size(2);
  const ResampleCoefficients c = pil_bilinear_coefficients(static_cast<int>(in_size), out_size);
  auto out = torch::empty({planes, out_size, width}, image.options());
  const std::uint8_t* src = image.data_ptr<std::uint8_t>();
  std::uint8_t* dst = out.data_ptr<std::uint8_t>();
  at::parallel_for(0, planes * out_size, 16, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int32_t> acc(static_cast<std::size_t>(width));
    for (std::int64_t k = begin; k < end; ++k) {
      const std::int64_t p = k / out_size;
      const int i = static_cast<int>(k % out_size);
      const std::int32_t* w = c.weights.data() + static_cast<std::size_t>(i) * c.taps;
      const std::int64_t first = c.first_tap[i];
      const int count = static_cast<int>(std::min<std::int64_t>(c.taps, in_size - first));
      std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
      for (int j = 0; j < count; ++j) {
        const std::uint8_t* row = src + (p * in_size + first + j) * width;
        const std::int32_t wj = w[j];
        for (std::int64_t x = 0; x < width; ++x) acc[x] += std::int32_t{row[x]} * wj;
      }
      std::uint8_t* o = dst + (p * out_size + i) * width;
      for (std::int64_t x = 0; x < width; ++x) o[x] = clip8(acc[x]);
    }
  });
  return out;
}

}  // namespace

ResampleCoefficients pil_bilinear_coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = std::max(scale, 1.0);  // the bilinear filter's support (1) times scale
  ResampleCoefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first_tap.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.taps, 0);
  std::vector<double> w(c.taps);
  for (int i = 0; i < out_size; ++i) {
    const double centre = (i + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(centre + support + 0.5), in_size);
    const int count = std::min(xmax - xmin, c.taps);
    double total = 0;
    for (int j = 0; j < count; ++j) {
      w[j] = triangle((j + xmin - centre + 0.5) / support);
      total += w[j];
    }
    for (int j = 0; j < count; ++j) {
      const double v = total != 0.0 ? w[j] / total : w[j];
      const double fixed = v * (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(i) * c.taps + j] =
          static_cast<std::int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);  // truncation, as Pillow
    }
    c.first_tap[i] = xmin;
  }
  return c;
}

torch::Tensor pil_bilinear_resize(const torch::Tensor& image, int height, int width) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == torch::kByte, "expected uint8 [C, H, W]");
  if (!image.device().is_cpu()) return pil_bilinear_resize_with_tensor_ops(image, height, width);
  // Pillow's order: the horizontal pass, then the vertical one, each rounded to 8 bits.
  torch::Tensor x = image.contiguous();
  const auto channels = x.size(0);
  if (x.size(2) != width) {
    const auto h = x.size(1);
    x = resample_rows_cpu(x.view({channels * h, x.size(2)}), width).view({channels, h, width});
  }
  if (x.size(1) != height) x = resample_columns_cpu(x, height);
  return x;
}

torch::Tensor pil_bilinear_resize_with_tensor_ops(const torch::Tensor& image, int height,
                                                  int width) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == torch::kByte, "expected uint8 [C, H, W]");
  torch::Tensor x = image;
  const auto channels = x.size(0);
  if (x.size(2) != width) {
    const auto h = x.size(1);
    x = resample_rows(x.reshape({channels * h, x.size(2)}), width).view({channels, h, width});
  }
  if (x.size(1) != height) {
    const auto w = x.size(2);
    x = resample_rows(x.transpose(1, 2).reshape({channels * w, x.size(1)}), height)
            .view({channels, w, height})
            .transpose(1, 2);
  }
  return x.contiguous();
}

}  // namespace cutout::engine
