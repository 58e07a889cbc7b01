#!/usr/bin/env bash
# Reruns every side-by-side benchmark of cutout-server against the Python peers on this machine's
# CPU, writes bench/results/*.json and redraws the plots in docs/ (docs/benchmarks.md explains them).
#
#   bench/run_all.sh            # the full protocol (about 1 h 10 min on 2 cores)
#   bench/run_all.sh --quick    # tiny fixture model: checks that everything runs (under a minute)
#
# Needs build/cutout-server (scripts/setup.sh) and /usr/bin/python3 with torch, fastapi, uvicorn,
# python-multipart and matplotlib (scripts/setup.sh --for-tests). Timing runs are not niced: on a
# shared machine the contenders alternate run by run so background load falls on all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
SERVER=${CUTOUT_SERVER:-build/cutout-server}
RESULTS=${RESULTS:-bench/results}

if [[ "${1:-}" == "--quick" ]]; then
  out=${QUICK_OUT:-$(mktemp -d)}
  "$PY" bench/coldstart/run.py --quick --server "$SERVER" --out "$out/coldstart-quick.json"
  "$PY" bench/latency/run.py --quick --server "$SERVER" --out "$out/latency-quick.json"
  "$PY" bench/plot.py --coldstart "$out/coldstart-quick.json" --latency "$out/latency-quick.json" --outdir "$out"
  echo "quick run: results and plots in $out"
  exit 0
fi

# Model files and pictures (cached under .cache/bench/).
"$PY" bench/coldstart/make_models.py --size 1024
"$PY" bench/coldstart/make_models.py --size 384
"$PY" bench/latency/make_images.py

# 1. Start-up at 1024 with the real file sizes (367 MB .pth, 188 MB fp16 .pt), no warm-up pass:
#    exec to port open and to model loaded, peak RSS. (A 1024 Swin-B forward takes minutes here.)
"$PY" bench/coldstart/run.py --server "$SERVER" --size 1024 --warmup-runs 0 --no-requests --runs 5 \
  --out "$RESULTS/coldstart-cpu-1024-load.json"
# 2. The whole cold start (load, one warm-up pass, first request, steady state) at 384, the same
#    architecture in transparent-background's "fast" mode.
"$PY" bench/coldstart/run.py --server "$SERVER" --size 384 --runs 5 --steady 1 \
  --out "$RESULTS/coldstart-cpu-384.json"
# 3. Per-image latency with the default model (IS-Net, 1024).
"$PY" bench/latency/run.py --server "$SERVER" --requests 2 --out "$RESULTS/latency-cpu.json"
# 4. Exec to ready at 1024 with its warm-up pass, one start of each (the pass takes minutes here).
"$PY" bench/coldstart/run.py --server "$SERVER" --size 1024 --runs 1 --no-requests \
  --out "$RESULTS/coldstart-cpu-1024-ready.json"

"$PY" bench/plot.py --coldstart "$RESULTS/coldstart-cpu-384.json" --coldstart-load "$RESULTS/coldstart-cpu-1024-load.json" \
  --latency "$RESULTS/latency-cpu.json" --outdir docs
