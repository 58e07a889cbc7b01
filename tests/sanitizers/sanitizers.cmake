# Included by tests/CMakeLists.txt: the unit, imaging and HTTP tests (and the fuzz replays) again
# under ASan+UBSan, and the concurrency tests under TSan. Each test configures and builds its own
# scratch build of only the targets it runs (-O1, see run_sanitized.sh), like engine_only_build.
foreach(kind asan_ubsan tsan)
  add_test(NAME sanitizer_${kind}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/sanitizers/run_sanitized.sh ${kind} ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/sanitizer-${kind} ${CUTOUT_PYTHON})
  set_tests_properties(sanitizer_${kind} PROPERTIES TIMEOUT 1500)
endforeach()

# What the TSan run builds and runs: the tests of code that shares state between threads, and only
# those, so the TSan build stays small. Not part of the normal build.
add_executable(cutout_concurrency_tests EXCLUDE_FROM_ALL
  support/test_images.cpp
  support/fixtures.cpp
  support/in_process_server.cpp
  unit/readiness_test.cpp
  unit/inference_gate_test.cpp
  http/http_server_test.cpp
  http/access_log_test.cpp)
target_include_directories(cutout_concurrency_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(cutout_concurrency_tests PRIVATE CUTOUT_FIXTURE_DIR="${CUTOUT_FIXTURE_DIR}")
target_link_libraries(cutout_concurrency_tests PRIVATE cutout GTest::gtest GTest::gtest_main)
add_dependencies(cutout_concurrency_tests cutout_fixtures)
