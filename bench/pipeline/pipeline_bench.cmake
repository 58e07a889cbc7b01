# cutout-decode-floor: the request pipeline benchmark's decode floor (bench/pipeline/run.py), one
# libjpeg-turbo decode of a file on one thread. Built with the tests: it is small, links libjpeg
# only, and the bench_pipeline_quick test runs it.
add_executable(cutout-decode-floor ${CMAKE_CURRENT_LIST_DIR}/decode_floor.cpp)
target_link_libraries(cutout-decode-floor PRIVATE JPEG::JPEG)
