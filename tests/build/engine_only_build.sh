#!/usr/bin/env bash
# Configures and builds the engine alone (-DCUTOUT_ENGINE_ONLY=ON), the way bench/gpu does on a
# machine with PyTorch's LibTorch and no Debian packages: the build must not need OpenCV,
# cpp-httplib, spdlog or CLI11. cutout-engine-bench and cutout-gpu-probe are built with it (the gpu_bench_script test
# reuses this build).
set -euo pipefail
src=${1:?usage: engine_only_build.sh SOURCE_DIR BUILD_DIR}
dir=${2:?usage: engine_only_build.sh SOURCE_DIR BUILD_DIR}
cmake -S "$src" -B "$dir" -DCUTOUT_ENGINE_ONLY=ON -DCUTOUT_ENGINE_BENCH=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" --parallel 2
test -f "$dir/libcutout_engine.a"
test -x "$dir/cutout-engine-bench"  # bench/gpu's tools build there too
test -x "$dir/cutout-gpu-probe"
echo "engine-only build: ok"
