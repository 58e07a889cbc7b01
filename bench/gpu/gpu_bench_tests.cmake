# bench/gpu/run.sh's logic on the CPU, cheaply: the tiny fixture model with its golden probe
# instead of the exports (in both IS-Net's and InSPyReNet's places; the self-test step needs the
# golden), the engine-only build that the engine_only_build test made (so nothing is compiled
# twice). Every probe step runs (the self-test with the probe and with zeros first, sweep at batch
# 1-8 with its batch check, the four cold-start configurations, the graph step, whose CUDA part
# reports n/a here),
# then cutout's engine against the jit peer for 2 rounds, the pipeline step at two sizes, then the
# summary table, which must have rows in every section and no error. Included from tests/CMakeLists.txt (needs CUTOUT_FIXTURE_DIR).
set_tests_properties(engine_only_build PROPERTIES FIXTURES_SETUP engine_only_build_dir)
add_test(NAME gpu_bench_script_cpu
  COMMAND ${CMAKE_COMMAND} -E env
    DEVICE=cpu MODEL=${CUTOUT_FIXTURE_DIR}/golden_tiny.pt RUNS=2 FORWARDS=3 IMPLS=cutout,jit
    PROBE_ITERS=3 COLD_ROUNDS=1 COMPARE_RESERVE_S=60 REQUIRE_SECTIONS=selftest,sweep,cold,graph,compare,pipeline
    PYTHON=${CUTOUT_PYTHON} BUILD_DIR=${CMAKE_CURRENT_BINARY_DIR}/engine-only NLOHMANN_INCLUDE=
    OUT=${CMAKE_CURRENT_BINARY_DIR}/gpu-bench-cpu JOBS=2 BUDGET_S=240 PIPELINE_MP=0.5,1
    ${PROJECT_SOURCE_DIR}/bench/gpu/run.sh
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(gpu_bench_script_cpu PROPERTIES FIXTURES_REQUIRED engine_only_build_dir TIMEOUT 300)
