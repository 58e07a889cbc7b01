# cutout-engine-bench (bench/gpu/engine_bench.cpp): the engine alone, timed. Only with
# -DCUTOUT_ENGINE_BENCH=ON, so the default build and CI do not compile it.
option(CUTOUT_ENGINE_BENCH "Build cutout-engine-bench, the engine's start-up and forward benchmark" OFF)
if(CUTOUT_ENGINE_BENCH)
  add_executable(cutout-engine-bench ${CMAKE_CURRENT_LIST_DIR}/engine_bench.cpp)
  target_link_libraries(cutout-engine-bench PRIVATE cutout_engine)
endif()
