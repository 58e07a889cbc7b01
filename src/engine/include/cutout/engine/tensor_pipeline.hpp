#pragma once
// The tensor work around a forward pass, in torch ops so it runs on the model's device:
// 8-bit image -> normalised model input, and probability map -> 8-bit mask at the image's size.
// The arithmetic follows transparent-background's reference pipeline (models/reference.py):
// Pillow's bilinear resize of the uint8 image (bit-exact, see pil_resize.hpp), /255, mean/std; back to size with bilinear
// align_corners=True, then *255 truncated.

#include <torch/types.h>

#include "cutout/engine/model_metadata.hpp"

namespace cutout::engine {

// `bgr` is a CPU uint8 tensor [H, W, 3] in BGR order (OpenCV's). Returns [1, 3, h, w] of the
// model's input size in `dtype` on `device`.
torch::Tensor make_model_input(const torch::Tensor& bgr, const ModelMetadata& metadata,
                               const torch::Device& device, torch::ScalarType dtype);

// `probability` is [1, 1, h, w] in [0, 1] on any device. Returns a contiguous CPU uint8 tensor
// [height, width]. On the CPU: engine/mask_upsample (parallel, the same bytes); elsewhere the torch
// ops below on the device.
torch::Tensor mask_to_image_size(const torch::Tensor& probability, int height, int width);

// The same with torch ops (interpolate, *255, clamp, truncate) on the probability's device: the
// path for GPUs, and the reference the CPU pass is tested against.
torch::Tensor mask_to_image_size_with_torch(const torch::Tensor& probability, int height,
                                            int width);

}  // namespace cutout::engine
