#pragma once
// Timing helpers shared by the engine benchmarks (engine_bench.cpp, gpu_probe.cpp): wall-clock
// milliseconds, a device sync before reading the clock (CUDA work is asynchronous), and the median.

#include <algorithm>
#include <chrono>
#include <vector>

#include <torch/cuda.h>
#include <torch/types.h>

namespace cutout::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Waits for the device's queued work, so a timing covers it (no-op on the CPU).
inline void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// The median; of an even count, the mean of the middle two. `v` must not be empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace cutout::bench
