# Included by the top-level CMakeLists.txt before any target when CUTOUT_FUZZ=ON: everything in the
# build (library and fuzz targets) gets libFuzzer's coverage instrumentation and ASan+UBSan, so a
# finding deep inside imaging or the engine is caught where it happens. Clang only.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CUTOUT_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++-14")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)
