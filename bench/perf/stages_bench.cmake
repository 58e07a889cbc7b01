# cutout-stages-bench: resize, mask upsample, compose/flatten old path against new, and foreground
# estimation's cost (bench/perf/stages_bench.cpp).
# Not built by default: cmake --build build --target cutout-stages-bench
add_executable(cutout-stages-bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/stages_bench.cpp)
target_link_libraries(cutout-stages-bench PRIVATE cutout)
