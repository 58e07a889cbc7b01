#include "cutout/engine/tensor_pipeline.hpp"

#include <array>

#include <torch/nn/functional/upsampling.h>

#include "cutout/engine/mask_upsample.hpp"
#include "cutout/engine/pil_resize.hpp"

namespace cutout::engine {
namespace F = torch::nn::functional;

torch::Tensor make_model_input(const torch::Tensor& bgr, const ModelMetadata& metadata,
                               const torch::Device& device, torch::ScalarType dtype) {
  c10::InferenceMode guard;
  TORCH_CHECK(bgr.dim() == 3 && bgr.size(2) == 3 && bgr.scalar_type() == torch::kByte,
              "expected a uint8 [H, W, 3] image");
  // Resized as Pillow does it, in 8 bits, so the model sees what the reference pipeline shows it.
  torch::Tensor x;
  if (device.is_cpu() && bgr.device().is_cpu()) {
    // Straight from the decoded interleaved rows into the model's planes, across the CPU threads.
    const torch::Tensor rows = bgr.contiguous();
    x = pil_bilinear_resize_interleaved(rows.data_ptr<std::uint8_t>(), static_cast<int>(rows.size(0)),
                                        static_cast<int>(rows.size(1)), rows.size(1) * 3,
                                        metadata.channel_order == ChannelOrder::Rgb,
                                        metadata.input_height, metadata.input_width);
  } else {
    // uint8 crosses to the device (a quarter of the bytes of float), the rest happens there.
    x = bgr.to(device, /*non_blocking=*/true).permute({2, 0, 1});
    if (metadata.channel_order == ChannelOrder::Rgb) x = x.flip({0});
    x = pil_bilinear_resize(x.contiguous(), metadata.input_height, metadata.input_width);
  }
  x = x.unsqueeze(0).to(torch::kFloat);

  // ((v / 255) - mean) / std  ==  v * (1 / (255 std)) - mean / std, per channel.
  std::array<float, 3> scale{}, shift{};
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * metadata.std[c]);
    shift[c] = -metadata.mean[c] / metadata.std[c];
  }
  const auto as_channels = [&](const std::array<float, 3>& v) {
    return torch::tensor(at::ArrayRef<float>(v.data(), 3)).to(device).view({1, 3, 1, 1});
  };
  x = x * as_channels(scale) + as_channels(shift);
  return x.to(dtype).contiguous();
}

torch::Tensor mask_to_image_size(const torch::Tensor& probability, int height, int width) {
  c10::InferenceMode guard;
  if (!probability.device().is_cpu()) return mask_to_image_size_with_torch(probability, height, width);
  // The CPU: one parallel pass from the small map into the mask's bytes (mask_upsample.hpp).
  const torch::Tensor p = probability.to(torch::kFloat).contiguous();
  TORCH_CHECK(p.dim() == 4 && p.size(0) == 1 && p.size(1) == 1, "expected a [1, 1, h, w] probability");
  auto mask = torch::empty({height, width}, torch::kByte);
  upsample_mask(p.data_ptr<float>(), static_cast<int>(p.size(2)), static_cast<int>(p.size(3)),
                mask.data_ptr<std::uint8_t>(), height, width);
  return mask;
}

torch::Tensor mask_to_image_size_with_torch(const torch::Tensor& probability, int height,
                                            int width) {
  c10::InferenceMode guard;
  torch::Tensor p = probability.to(torch::kFloat);
  if (p.size(2) != height || p.size(3) != width) {
    p = F::interpolate(p, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{height, width})
                              .mode(torch::kBilinear)
                              .align_corners(true));
  }
  // Truncation, not rounding, as the reference's astype(uint8) does. On a GPU this runs on the
  // device and only the 8-bit mask is copied back.
  return p.mul(255.0f).clamp_(0, 255).to(torch::kByte).view({height, width}).cpu().contiguous();
}

}  // namespace cutout::engine
