#pragma once
// The device and precision a user asks for, as settings: no LibTorch here, so the configuration
// and HTTP layers can hold them. The engine turns them into a torch device and dtype
// (engine/device.hpp, choose_compute_target).

namespace cutout {

enum class DeviceSetting { Auto, Cpu, Cuda };
enum class PrecisionSetting { Auto, Fp32, Fp16 };

// The one rule that makes a pair impossible whatever the machine: LibTorch has no half-precision
// convolutions on the CPU. Returns the reason, or nullptr when the pair may work. `auto` resolving
// to cpu on a machine without a GPU is checked when the device is chosen.
constexpr const char* compute_settings_conflict(DeviceSetting device, PrecisionSetting precision) {
  return device == DeviceSetting::Cpu && precision == PrecisionSetting::Fp16
             ? "precision fp16 needs a cuda device; on cpu use fp32 or auto"
             : nullptr;
}

}  // namespace cutout
