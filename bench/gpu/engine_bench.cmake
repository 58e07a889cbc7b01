# cutout-engine-bench (bench/gpu/engine_bench.cpp): the engine alone, timed; cutout-gpu-probe
# (bench/gpu/gpu_probe.cpp): batch sweep, cold-start steps, CUDA graphs. Only with
# -DCUTOUT_ENGINE_BENCH=ON, so the default build and CI do not compile them.
option(CUTOUT_ENGINE_BENCH "Build cutout-engine-bench and cutout-gpu-probe (GPU benchmark tools)" OFF)
if(CUTOUT_ENGINE_BENCH)
  add_executable(cutout-engine-bench ${CMAKE_CURRENT_LIST_DIR}/engine_bench.cpp)
  target_link_libraries(cutout-engine-bench PRIVATE cutout_engine)
  add_executable(cutout-gpu-probe ${CMAKE_CURRENT_LIST_DIR}/gpu_probe.cpp)
  target_link_libraries(cutout-gpu-probe PRIVATE cutout_engine)
  # The probe's CUDA graph and allocator figures need LibTorch's CUDA headers and libraries.
  # TorchConfig.cmake fills TORCH_CUDA_LIBRARIES only for a CUDA build (empty in Debian's CPU-only
  # LibTorch, whose package still ships the ATen/cuda headers: a header check alone would pass).
  # CUTOUT_GPU_PROBE_CUDA=OFF builds it without them (run.sh's fallback if that part fails to
  # compile on the GPU machine: the sweep and cold-start figures still come).
  option(CUTOUT_GPU_PROBE_CUDA "cutout-gpu-probe: CUDA graphs and allocator statistics when LibTorch has CUDA" ON)
  if(CUTOUT_GPU_PROBE_CUDA AND (TORCH_CUDA_LIBRARIES OR TARGET torch_cuda OR TARGET c10_cuda))
    target_compile_definitions(cutout-gpu-probe PRIVATE CUTOUT_TORCH_CUDA=1)
    message(STATUS "cutout-gpu-probe: LibTorch with CUDA: graphs and memory statistics built in")
  else()
    message(STATUS "cutout-gpu-probe: CPU-only LibTorch: CUDA figures report n/a on this build")
  endif()
endif()
