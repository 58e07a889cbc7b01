# cutout-decode-bench: JPEG decode time, old path against new (bench/perf/decode_bench.cpp).
# Not built by default: cmake --build build --target cutout-decode-bench
add_executable(cutout-decode-bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/decode_bench.cpp)
target_link_libraries(cutout-decode-bench PRIVATE cutout)
target_include_directories(cutout-decode-bench PRIVATE ${PROJECT_SOURCE_DIR}/src)  # imaging/jpeg_decode.hpp
