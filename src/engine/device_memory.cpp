#include "cutout/engine/device_memory.hpp"

#if defined(CUTOUT_TORCH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace cutout::engine {

std::optional<DeviceMemory> cuda_memory(int device_index) noexcept {
#if defined(CUTOUT_TORCH_CUDA)
  try {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
    // Index 0 is StatType::AGGREGATE in every LibTorch version; the enum's namespace moved in 2.x.
    return DeviceMemory{static_cast<std::uint64_t>(stats.allocated_bytes[0].current),
                        static_cast<std::uint64_t>(stats.reserved_bytes[0].current)};
  } catch (...) {
    return std::nullopt;
  }
#else
  (void)device_index;
  return std::nullopt;
#endif
}

}  // namespace cutout::engine
