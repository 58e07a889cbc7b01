#!/usr/bin/env bash
# Installs playwright-core (pinned in tests/browser/package-lock.json) into .cache/npm-playwright for
# the browser test. No browser is downloaded: the test drives Debian's /usr/bin/chromium. A no-op
# when the pinned version is already there and loads. Called by scripts/setup.sh --for-tests.
#
# Environment: CUTOUT_CACHE_DIR (default .cache under the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/tests/browser"
DIR="${CUTOUT_CACHE_DIR:-$ROOT/.cache}/npm-playwright"
VERSION="$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$SRC/package.json")"

say() { echo "browser test: $*"; }

valid() {
  cmp -s "$SRC/package-lock.json" "$DIR/package-lock.json" || return 1
  node -e 'const p = require(process.argv[1] + "/node_modules/playwright-core/package.json");
           if (p.version !== process.argv[2]) process.exit(1);
           require(process.argv[1] + "/node_modules/playwright-core");' "$DIR" "$VERSION" 2>/dev/null
}

command -v node >/dev/null || { echo "browser test: node is needed (Debian packages nodejs npm)" >&2; exit 1; }
if valid; then
  say "playwright-core $VERSION already installed in $DIR"
  exit 0
fi
say "installing playwright-core $VERSION (install scripts off, no browser download) into $DIR"
mkdir -p "$DIR"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DIR/"
(cd "$DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --silent)
valid || { echo "browser test: playwright-core $VERSION installed but does not load on node $(node --version)" >&2; exit 1; }
say "playwright-core $VERSION ok"
