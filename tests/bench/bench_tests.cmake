# The side-by-side benchmarks' code under test (included from tests/CMakeLists.txt): the Python
# peer service, and the quick mode of bench/run_all.sh (cold start and latency scripts and the
# plots, on the tiny fixture model). Figures are printed, never asserted.
add_test(NAME python_bench_peer
  COMMAND ${CUTOUT_PYTHON} -m unittest -v tests/bench/test_peer_server.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(python_bench_peer PROPERTIES TIMEOUT 600
  ENVIRONMENT "CUTOUT_FIXTURE_DIR=${CUTOUT_FIXTURE_DIR};PYTHONDONTWRITEBYTECODE=1")
add_test(NAME bench_quick
  COMMAND ${PROJECT_SOURCE_DIR}/bench/run_all.sh --quick
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(bench_quick PROPERTIES TIMEOUT 600
  ENVIRONMENT "CUTOUT_SERVER=$<TARGET_FILE:cutout-server>;QUICK_OUT=${CMAKE_CURRENT_BINARY_DIR}/bench-quick;PYTHONDONTWRITEBYTECODE=1")
# The attack suite's hostile bytes are what its cases claim (bench/attack/payloads.py).
add_test(NAME python_attack_payloads
  COMMAND ${CUTOUT_PYTHON} -m unittest -v tests/bench/test_attack_payloads.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(python_attack_payloads PROPERTIES TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
# Issue 14's attack suite in quick mode (bench/attack/run.py): the real binary under each hostile
# load of the issue, judged against the expected outcome; fails while any fault is open.
add_test(NAME attack_quick
  COMMAND ${CUTOUT_PYTHON} ${PROJECT_SOURCE_DIR}/bench/attack/run.py --quick
          --server $<TARGET_FILE:cutout-server> --fixtures ${CUTOUT_FIXTURE_DIR}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(attack_quick PROPERTIES TIMEOUT 600 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
# bench/pipeline/run.py --quick: the request pipeline benchmark's whole code path (stand-in model,
# inputs, server cells at concurrency 1 and 2, decode floor, Python pipeline, report, plot) at 0.5 MP
# with one request per cell, the same binary as its own --reference-server (the A/B path); it fails
# when any cell, floor or plot is missing.
add_test(NAME bench_pipeline_quick
  COMMAND ${CUTOUT_PYTHON} bench/pipeline/run.py --quick --no-build --per-core 2
          --server $<TARGET_FILE:cutout-server> --floor $<TARGET_FILE:cutout-decode-floor>
          --reference-server $<TARGET_FILE:cutout-server> --work ${CMAKE_CURRENT_BINARY_DIR}/bench-pipeline
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(bench_pipeline_quick PROPERTIES TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
