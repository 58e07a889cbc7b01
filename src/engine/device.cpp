#include "cutout/engine/device.hpp"

#include <torch/cuda.h>

#include "cutout/core/error.hpp"

namespace cutout::engine {

ComputeTarget choose_compute_target(DeviceSetting device, PrecisionSetting precision) {
  ComputeTarget target;
  const bool gpu = torch::cuda::is_available();
  switch (device) {
    case DeviceSetting::Auto:
      target.device = gpu ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
      target.reason = gpu ? "auto: LibTorch sees a CUDA device" : "auto: no usable CUDA device";
      break;
    case DeviceSetting::Cpu:
      target.device = torch::kCPU;
      target.reason = "requested cpu";
      break;
    case DeviceSetting::Cuda:
      if (!gpu) {
        throw Error(ErrorKind::Internal, "device_unavailable",
                    "device cuda was requested but LibTorch sees no usable CUDA device"
                    " (a CPU-only LibTorch build, no driver, or no GPU)");
      }
      target.device = torch::Device(torch::kCUDA, 0);
      target.reason = "requested cuda";
      break;
  }
  const bool on_gpu = target.device.is_cuda();
  switch (precision) {
    case PrecisionSetting::Auto:
      target.dtype = on_gpu ? torch::kHalf : torch::kFloat;
      break;
    case PrecisionSetting::Fp32:
      target.dtype = torch::kFloat;
      break;
    case PrecisionSetting::Fp16:
      if (!on_gpu) {  // the rule settings already apply to an explicit cpu, for auto resolving to cpu
        throw Error(ErrorKind::Internal, "precision_unsupported",
                    compute_settings_conflict(DeviceSetting::Cpu, precision));
      }
      target.dtype = torch::kHalf;
      break;
  }
  return target;
}

std::string device_name(const torch::Device& device) { return device.str(); }

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return "fp16";
    case torch::kFloat: return "fp32";
    case torch::kDouble: return "fp64";
    case torch::kBFloat16: return "bf16";
    default: return c10::toString(dtype);
  }
}

}  // namespace cutout::engine
