#include "model_output_check.hpp"

#include <string>

#include "cutout/core/error.hpp"

namespace cutout::service {

void check_model_output(const torch::Tensor& probability) {
  const std::int64_t non_finite = (~torch::isfinite(probability)).sum().item<std::int64_t>();
  if (non_finite == 0) return;
  throw Error(ErrorKind::Internal, "inference_failed", "internal error while processing the request",
              "the model's output holds NaN or Inf in " + std::to_string(non_finite) + " of " +
                  std::to_string(probability.numel()) + " values; no mask was made from it");
}

}  // namespace cutout::service
