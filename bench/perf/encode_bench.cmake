# cutout-encode-bench: PNG, WebP and JPEG encode time and size, old path against new
# (bench/perf/encode_bench.cpp). Not built by default: cmake --build build --target cutout-encode-bench
add_executable(cutout-encode-bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/encode_bench.cpp)
target_link_libraries(cutout-encode-bench PRIVATE cutout JPEG::JPEG PkgConfig::WEBP)
target_include_directories(cutout-encode-bench PRIVATE ${PROJECT_SOURCE_DIR}/src)  # imaging/png_encode.hpp
