#!/usr/bin/env bash
# Installs the Dockerfile linter (dockerfile-utils, pinned by package-lock.json beside this script) into
# the cache, once: $CUTOUT_CACHE_DIR/npm-dockerfile-utils (default .cache/ in the repository). Called by
# scripts/setup.sh --for-tests; the deploy_dockerfile_lint test runs it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
dest="${CUTOUT_CACHE_DIR:-$root/.cache}/npm-dockerfile-utils"
if [ -x "$dest/node_modules/.bin/dockerfile-utils" ] && cmp -s "$here/package-lock.json" "$dest/package-lock.json"; then
  echo "dockerfile-utils: cached in $dest"
  exit 0
fi
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
echo "dockerfile-utils: npm ci into $dest"
npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error
