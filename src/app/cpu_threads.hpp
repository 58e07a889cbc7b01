#pragma once

namespace cutout::app {

// Sizes the one pool of the CPU stages (core::set_parallel_threads) and LibTorch's intra-op threads
// (engine::set_cpu_threads) to the same count: `setting` when > 0, else the CPUs the container may
// use (core::usable_cpus). Logs the count and where it came from; returns it.
int configure_cpu_threads(int setting);

}  // namespace cutout::app
