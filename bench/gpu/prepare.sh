#!/usr/bin/env bash
# Run here before bench/gpu/run.sh travels to a GPU machine: copies nlohmann/json's headers (the
# engine's only dependency besides LibTorch; header-only, ~1 MB, not committed) into
# third_party/nlohmann/include, which is gitignored and must be named in the run tool's carry list.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-/usr/include/nlohmann}
test -f "$src/json.hpp" || { echo "prepare.sh: no nlohmann/json headers at $src" >&2; exit 1; }
rm -rf third_party/nlohmann
mkdir -p third_party/nlohmann/include
cp -r "$src" third_party/nlohmann/include/nlohmann
echo "prepare.sh: third_party/nlohmann/include/nlohmann ($(du -sh third_party/nlohmann | cut -f1)); carry: third_party/nlohmann"
