# Included by tests/CMakeLists.txt: the fuzz targets built without libFuzzer (fuzz/replay_main.cpp
# as main), and tests that replay through them the seed corpus (made by fuzz/make_seeds.py) and every
# input in fuzz/regressions/<target>/ (inputs that once made a target fail). In a sanitizer build
# (tests/sanitizers/) they run under ASan+UBSan too.
set(CUTOUT_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)

add_executable(request_fuzz_replay ${CUTOUT_FUZZ_DIR}/request_fuzzer.cpp ${CUTOUT_FUZZ_DIR}/replay_main.cpp)
target_compile_definitions(request_fuzz_replay PRIVATE CUTOUT_FUZZ_MODEL="${CUTOUT_FIXTURE_DIR}/tiny.pt")
target_link_libraries(request_fuzz_replay PRIVATE cutout)
add_dependencies(request_fuzz_replay cutout_fixtures)

add_executable(metadata_fuzz_replay ${CUTOUT_FUZZ_DIR}/metadata_fuzzer.cpp ${CUTOUT_FUZZ_DIR}/replay_main.cpp)
target_link_libraries(metadata_fuzz_replay PRIVATE cutout_engine)

add_executable(multipart_fuzz_replay ${CUTOUT_FUZZ_DIR}/multipart_fuzzer.cpp ${CUTOUT_FUZZ_DIR}/replay_main.cpp
  ${PROJECT_SOURCE_DIR}/src/http/multipart.cpp)
target_include_directories(multipart_fuzz_replay PRIVATE ${PROJECT_SOURCE_DIR}/src/http/include)
target_link_libraries(multipart_fuzz_replay PRIVATE cutout_core)

foreach(name request metadata multipart)
  add_test(NAME fuzz_replay_${name}
    COMMAND ${CUTOUT_FUZZ_DIR}/replay.sh $<TARGET_FILE:${name}_fuzz_replay> ${name}
            ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds ${CUTOUT_PYTHON})
  set_tests_properties(fuzz_replay_${name} PROPERTIES TIMEOUT 300)
endforeach()
