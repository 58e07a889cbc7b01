#include "cutout/engine/tensor_pipeline.hpp"

#include <array>

#include <torch/nn/functional/upsampling.h>

#include "cutout/engine/pil_resize.hpp"

namespace cutout::engine {
namespace F = torch::nn::functional;

torch::Tensor make_model_input(const torch::Tensor& bgr, const ModelMetadata& metadata,
                               const torch::Device& device, torch::ScalarType dtype) {
  c10::InferenceMode guard;
  TORCH_CHECK(bgr.dim() == 3 && bgr.size(2) == 3 && bgr.scalar_type() == torch::kByte,
              "expected a uint8 [H, W, 3] image");
  // uint8 crosses to the device (a quarter of the bytes of float), the rest happens there.
  torch::Tensor x = bgr.to(device, /*non_blocking=*/true).permute({2, 0, 1});
  if (metadata.channel_order == ChannelOrder::Rgb) x = x.flip({0});
  // Resized as Pillow does it, in 8 bits, so the model sees what the reference pipeline shows it.
  x = pil_bilinear_resize(x.contiguous(), metadata.input_height, metadata.input_width);
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
  torch::Tensor p = probability.to(torch::kFloat);
  if (p.size(2) != height || p.size(3) != width) {
    p = F::interpolate(p, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{height, width})
                              .mode(torch::kBilinear)
                              .align_corners(true));
  }
  // Truncation, not rounding, as the reference's astype(uint8) does.
  return p.mul(255.0f).clamp_(0, 255).to(torch::kByte).view({height, width}).cpu().contiguous();
}

}  // namespace cutout::engine
