#pragma once
// A request's model output must be numbers before it becomes a mask: NaN turns into 0 (or any
// byte) in the 8-bit conversion, so a model that overflowed (FP16) or a device fault answered 200
// with an empty mask. The golden self-test checks this once at start; this checks every request.

#include <torch/types.h>

namespace cutout::service {

// Throws cutout::Error Internal ("inference_failed", logged with how many values were bad) when
// `probability` (the model's [1, 1, H, W] answer) holds any NaN or Inf. Reads the tensor once.
void check_model_output(const torch::Tensor& probability);

}  // namespace cutout::service
