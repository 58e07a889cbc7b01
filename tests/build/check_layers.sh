#!/usr/bin/env bash
# The layers point one way: engine (LibTorch only) <- imaging/service <- http <- main.
# Fails when a file includes a header from a layer above it or a library its layer must not use.
set -euo pipefail
root=${1:?usage: check_layers.sh REPO_ROOT}
cd "$root"
status=0
forbid() {  # forbid LAYER_GLOB PATTERN WHY
  local hits
  hits=$(grep -nE "#include [<\"]($2)" $1 2>/dev/null || true)
  if [ -n "$hits" ]; then
    echo "layering: $3:"
    echo "$hits"
    status=1
  fi
}
engine="src/engine/*.cpp include/cutout/engine/*.hpp"
imaging="src/imaging/*.cpp src/imaging/*.hpp include/cutout/imaging/*.hpp"
service="src/service/*.cpp include/cutout/service/*.hpp"
core="src/core/*.cpp include/cutout/core/*.hpp"
forbid "$engine" "httplib|opencv2|spdlog|CLI/|cutout/(imaging|service|http|config)/" \
  "the engine uses LibTorch only (it must build with -DCUTOUT_ENGINE_ONLY=ON)"
forbid "$imaging" "httplib|torch/|ATen/|c10/|cutout/(engine|service|http|config)/" \
  "imaging knows OpenCV, not LibTorch or the layers above"
forbid "$service" "httplib|CLI/|cutout/(http|config)/" "the service layer returns data, no HTTP types"
forbid "$core" "httplib|torch/|opencv2|cutout/(engine|imaging|service|http|config)/" \
  "core is shared by every layer and depends on none"
[ $status -eq 0 ] && echo "layering: ok"
exit $status
