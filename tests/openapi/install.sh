#!/usr/bin/env bash
# Installs @apidevtools/swagger-parser (pinned in tests/openapi/package-lock.json) into
# .cache/npm-openapi for the OpenAPI validation test (openapi_validate). A no-op when the pinned
# version is already there and loads. Called by scripts/setup.sh --for-tests.
#
# Environment: CUTOUT_CACHE_DIR (default .cache under the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/tests/openapi"
DIR="${CUTOUT_CACHE_DIR:-$ROOT/.cache}/npm-openapi"
PACKAGE="@apidevtools/swagger-parser"
VERSION="$(node -p 'require(process.argv[1]).dependencies[process.argv[2]]' "$SRC/package.json" "$PACKAGE")"

say() { echo "openapi check: $*"; }

valid() {
  cmp -s "$SRC/package-lock.json" "$DIR/package-lock.json" || return 1
  node -e 'const dir = process.argv[1] + "/node_modules/" + process.argv[2];
           if (require(dir + "/package.json").version !== process.argv[3]) process.exit(1);
           require(dir);' "$DIR" "$PACKAGE" "$VERSION" 2>/dev/null
}

command -v node >/dev/null || { echo "openapi check: node is needed (Debian packages nodejs npm)" >&2; exit 1; }
if valid; then
  say "$PACKAGE $VERSION already installed in $DIR"
  exit 0
fi
say "installing $PACKAGE $VERSION (install scripts off) into $DIR"
mkdir -p "$DIR"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DIR/"
(cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --silent)
valid || { echo "openapi check: $PACKAGE $VERSION installed but does not load on node $(node --version)" >&2; exit 1; }
say "$PACKAGE $VERSION ok"
