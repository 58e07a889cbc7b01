# The hostile-input corpus and the connection-fault tests (issue 7). Included by tests/CMakeLists.txt
# after the fixtures are defined. The corpus is made at build time into the build tree, like the
# fixture models; nothing binary is committed.
set(CUTOUT_CORPUS_DIR ${CMAKE_CURRENT_BINARY_DIR}/hostile)
set(CUTOUT_CORPUS_STAMP ${CUTOUT_CORPUS_DIR}/corpus.stamp)
add_custom_command(
  OUTPUT ${CUTOUT_CORPUS_STAMP}
  COMMAND ${CUTOUT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_corpus.py --out ${CUTOUT_CORPUS_DIR}
  COMMAND ${CMAKE_COMMAND} -E touch ${CUTOUT_CORPUS_STAMP}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/make_corpus.py
          ${CMAKE_CURRENT_SOURCE_DIR}/imaging/cases/c09_jpeg_header_only.jpg
          ${CMAKE_CURRENT_SOURCE_DIR}/imaging/cases/c22_display_p3.jpg
  COMMENT "Making the hostile-input corpus"
  VERBATIM)
add_custom_target(cutout_hostile_corpus DEPENDS ${CUTOUT_CORPUS_STAMP})

add_executable(cutout_hostile_test
  ${CMAKE_CURRENT_LIST_DIR}/hostile_corpus_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/support/fixtures.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/support/in_process_server.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/support/test_images.cpp)
target_include_directories(cutout_hostile_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(cutout_hostile_test PRIVATE
  CUTOUT_FIXTURE_DIR="${CUTOUT_FIXTURE_DIR}"
  CUTOUT_CORPUS_DIR="${CUTOUT_CORPUS_DIR}")
target_link_libraries(cutout_hostile_test PRIVATE cutout GTest::gtest GTest::gtest_main)
add_dependencies(cutout_hostile_test cutout_fixtures cutout_hostile_corpus)
gtest_discover_tests(cutout_hostile_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS http)

# The soak's quick mode: the real binary, 300 mixed requests at concurrency 16 plus an overload
# burst past --queue-depth; fails on a lost request, an unexpected status or 5xx, or fd growth.
# Latency and memory are printed, not asserted. The full run is bench/soak/soak.py without --quick.
add_test(NAME soak_quick
  COMMAND ${CUTOUT_PYTHON} ${PROJECT_SOURCE_DIR}/bench/soak/soak.py --quick
          --server $<TARGET_FILE:cutout-server> --fixtures ${CUTOUT_FIXTURE_DIR}
          --out ${CMAKE_CURRENT_BINARY_DIR}/soak-quick.json --work ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(soak_quick PROPERTIES TIMEOUT 300)
