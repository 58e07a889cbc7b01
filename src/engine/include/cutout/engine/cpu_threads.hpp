#pragma once
// LibTorch's CPU threads. On a CUDA device they only run the little host-side work; on the CPU
// they run the forward pass and the tensor pipeline.

namespace cutout::engine {

// Sets LibTorch's intra-op thread count (its OpenMP teams; every thread that later runs an ATen
// parallel loop picks the count up on its first loop) and, when the BLAS LibTorch uses is
// OpenBLAS, OpenBLAS's own pool, to `threads` (>= 1). The inter-op pool is left alone: TorchScript
// models here do not fork. Throws cutout::Error Internal if LibTorch refuses the count.
void set_cpu_threads(int threads);

// LibTorch's intra-op thread count as the calling thread sees it.
int cpu_threads();

}  // namespace cutout::engine
