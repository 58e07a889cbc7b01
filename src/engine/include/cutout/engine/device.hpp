#pragma once
// Choosing the device and the precision, once, at start-up. No fallback chain: `auto` means cuda
// when LibTorch sees a usable GPU, else cpu; an explicit choice that cannot be honoured is an error.

#include <string>

#include <torch/types.h>

#include "cutout/core/compute_settings.hpp"

namespace cutout::engine {

using cutout::DeviceSetting;
using cutout::PrecisionSetting;

struct ComputeTarget {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat;
  std::string reason;  // why this device, for the one start-up log line
};

// Throws cutout::Error (Internal, "device_unavailable") for cuda without a GPU and
// ("precision_unsupported") for fp16 on cpu, where LibTorch has no half convolutions.
ComputeTarget choose_compute_target(DeviceSetting device, PrecisionSetting precision);

std::string device_name(const torch::Device& device);
std::string dtype_name(torch::ScalarType dtype);  // "fp32", "fp16"

}  // namespace cutout::engine
