#!/usr/bin/env bash
# Lints the Dockerfile with dockerfile-utils (a real Dockerfile parser: unknown instructions, bad
# arguments, malformed JSON forms, ...). Exit 1 with its findings, or when it is not installed.
#
#   tests/deploy/lint/run.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: run.sh REPO_ROOT}
linter="${CUTOUT_CACHE_DIR:-$root/.cache}/npm-dockerfile-utils/node_modules/.bin/dockerfile-utils"
[ -x "$linter" ] || { echo "dockerfile-utils is not installed: run scripts/setup.sh --for-tests" >&2; exit 1; }
out=$("$linter" lint "$root/Dockerfile" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "dockerfile-utils: $root/Dockerfile: no problems"
