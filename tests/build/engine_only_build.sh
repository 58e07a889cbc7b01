#!/usr/bin/env bash
# Configures and builds the engine alone (-DCUTOUT_ENGINE_ONLY=ON), the way bench/gpu does on a
# machine with PyTorch's LibTorch and no Debian packages: the build must not need OpenCV,
# cpp-httplib, spdlog or CLI11.
set -euo pipefail
src=${1:?usage: engine_only_build.sh SOURCE_DIR BUILD_DIR}
dir=${2:?usage: engine_only_build.sh SOURCE_DIR BUILD_DIR}
cmake -S "$src" -B "$dir" -DCUTOUT_ENGINE_ONLY=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" --parallel 2
test -f "$dir/libcutout_engine.a"
echo "engine-only build: ok"
