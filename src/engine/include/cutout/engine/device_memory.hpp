#pragma once
// GPU memory as LibTorch's CUDA caching allocator sees it, for /metrics. Torch-free header: the
// layers above may ask without LibTorch's headers.

#include <cstdint>
#include <optional>

namespace cutout::engine {

struct DeviceMemory {
  std::uint64_t allocated_bytes = 0;  // held by live tensors
  std::uint64_t reserved_bytes = 0;   // reserved from the driver by the caching allocator
};

// Current figures of CUDA device `device_index` (all memory pools together, the allocator's
// StatType::AGGREGATE). nullopt when this engine was built against a LibTorch without CUDA
// (CUTOUT_TORCH_CUDA unset), or when the query fails.
std::optional<DeviceMemory> cuda_memory(int device_index) noexcept;

}  // namespace cutout::engine
