#!/usr/bin/env bash
# The GPU benchmark in one command, for a machine with PyTorch (and its LibTorch), CUDA, nvcc and
# CMake but no Debian packages and no network (docs/performance.md, "GPU"). From the repo root:
#
#   OUT=/some/dir bench/gpu/run.sh
#
# 1. records the machine (nvidia-smi, torch/CUDA/cuDNN versions) into $OUT;
# 2. in parallel: exports InSPyReNet-SwinB with random weights at $SIZE (fp32 and fp16 stored
#    weights, plus the float32 state dict the eager peer loads) and an IS-Net with random weights
#    with this PyTorch, and builds the engine-only target, cutout-engine-bench and cutout-gpu-probe
#    against this PyTorch's LibTorch;
# 3. runs bench/gpu/probe.py (the most decisive figures first): batch sweep 1-8, cold-start steps
#    (CUDA_MODULE_LOADING lazy/eager x cuDNN benchmark on/off), CUDA graph vs plain forward, peak
#    memory, for IS-Net and InSPyReNet; JSON into $OUT/probe.json;
# 4. runs bench/gpu/compare.py with the time left: exec-to-ready and forward latency, cutout's
#    engine vs the Python peers (jit and eager), fp32 and fp16, alternating, up to $RUNS rounds;
# 5. prints one summary table (bench/gpu/summary.py): $OUT/summary.txt and $OUT/summary.json.
# Everything stops by $BUDGET_S seconds (default 450) under a hard timeout 30 s later: 8 minutes.
#
# Settings (environment): OUT (required), DEVICE=cuda, SIZE=1024, RUNS=5, FORWARDS=20,
# IMPLS=cutout,jit,eager,cutout-optimized,cutout-fp16file, PRECISIONS (fp32,fp16 on cuda; fp32 on cpu), BUDGET_S=450,
# PYTHON=python3, BUILD_DIR=build-gpu, MODEL_DIR=/tmp/cutout-gpu-models, JOBS=nproc,
# PIPELINE_MP=0.5,3,12,24 (image sizes, in megapixels, of the device half of a request: preprocess,
# forward, mask back to size, as bench/pipeline sends them; 0 skips it),
# PROBE=1 (0 skips step 3), BATCHES=1,2,4,8, PROBE_ITERS=10, COLD_ROUNDS=3,
# COMPARE_RESERVE_S=100 (seconds kept from the probe for step 4),
# MODEL=FILE.pt (skip the export and use this file for both precisions: the logic check on CPU),
# ISNET_MODEL=FILE.pt (with MODEL: the file in IS-Net's place; default MODEL),
# REQUIRE_SECTIONS (e.g. sweep,cold,graph,compare: fail unless the table has each, and no errors),
# NLOHMANN_INCLUDE (auto: third_party/nlohmann/include if present; empty: CMake's package).
# nlohmann/json's headers come from third_party/nlohmann/include (made by bench/gpu/prepare.sh
# here and carried along), else from a CMake package.
set -euo pipefail

: "${OUT:?set OUT to the folder for the results}"
DEVICE=${DEVICE:-cuda}
SIZE=${SIZE:-1024}
RUNS=${RUNS:-5}
FORWARDS=${FORWARDS:-20}
BUDGET_S=${BUDGET_S:-450}
PYTHON=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build-gpu}
MODEL_DIR=${MODEL_DIR:-/tmp/cutout-gpu-models}
JOBS=${JOBS:-$(nproc)}
if [[ $DEVICE == cpu ]]; then PRECISIONS=${PRECISIONS:-fp32}; else PRECISIONS=${PRECISIONS:-fp32,fp16}; fi
IMPLS=${IMPLS:-cutout,jit,eager,cutout-optimized,cutout-fp16file}
PIPELINE_MP=${PIPELINE_MP:-0.5,3,12,24}
PROBE=${PROBE:-1}
BATCHES=${BATCHES:-1,2,4,8}
PROBE_ITERS=${PROBE_ITERS:-10}
COLD_ROUNDS=${COLD_ROUNDS:-3}
COMPARE_RESERVE_S=${COMPARE_RESERVE_S:-100}

# The hard guard: the whole script, children included, ends by BUDGET_S + 30 s.
if [[ -z ${CUTOUT_GPU_GUARDED:-} ]]; then
  export CUTOUT_GPU_GUARDED=1
  exec timeout -k 10 $((BUDGET_S + 30)) "$0" "$@"
fi

mkdir -p "$OUT" "$MODEL_DIR"
OUT=$(cd "$OUT" && pwd)
# A reused OUT must not lend an earlier run's results to this run's table.
rm -f "$OUT"/probe.json "$OUT"/compare.json "$OUT"/summary.txt "$OUT"/summary.json
start=$SECONDS
log() { printf '[run.sh %4ds] %s\n' $((SECONDS - start)) "$*" | tee -a "$OUT/progress.log" >&2; }
left() { echo $((BUDGET_S - (SECONDS - start))); }

# --- 1. the machine -----------------------------------------------------------------------------
log "device=$DEVICE size=$SIZE runs=$RUNS forwards=$FORWARDS impls=$IMPLS precisions=$PRECISIONS budget=${BUDGET_S}s"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv \
    >> "$OUT/nvidia-smi.txt" 2>&1 || true
fi
[[ -d /usr/local/cuda/bin && ! $(command -v nvcc) ]] && export PATH=/usr/local/cuda/bin:$PATH
"$PYTHON" - > "$OUT/environment.json" <<'PY'
import json, os, platform, shutil, subprocess, time
import torch
def tool(*argv, line=-1):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[line]
    except Exception as e:  # noqa: BLE001 - recorded, not fatal
        return f"unavailable: {e}"
cuda = torch.cuda.is_available()
print(json.dumps({
    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
    "torch": torch.__version__, "torch_cuda": torch.version.cuda,
    "cudnn": torch.backends.cudnn.version() if cuda else None,
    "gpu": torch.cuda.get_device_name(0) if cuda else None,
    "gpu_memory_gib": torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else None,
    "cmake_prefix_path": torch.utils.cmake_prefix_path,
    "nvcc": tool("nvcc", "--version") if shutil.which("nvcc") else None,
    "cmake": tool("cmake", "--version", line=0) if shutil.which("cmake") else None,
}, indent=1))
PY
log "environment: $(tr -d '\n' < "$OUT/environment.json" | tr -s ' ')"

# --- 2. models and build, in parallel -------------------------------------------------------------
models_json=$OUT/models.json
if [[ -n ${MODEL:-} ]]; then
  ISNET_MODEL=${ISNET_MODEL:-$MODEL}
  bytes=$(stat -c %s "$MODEL")
  printf '{"fp32": {"path": "%s", "bytes": %s}, "fp16": {"path": "%s", "bytes": %s}, "isnet": {"path": "%s", "bytes": %s}}\n' \
    "$MODEL" "$bytes" "$MODEL" "$bytes" "$ISNET_MODEL" "$(stat -c %s "$ISNET_MODEL")" > "$models_json"
  export_pid=
else
  log "export: InSPyReNet-SwinB $SIZE and IS-Net, random init -> $MODEL_DIR (background)"
  timeout "$(left)" "$PYTHON" bench/gpu/make_models.py --size "$SIZE" --dir "$MODEL_DIR" \
    > "$models_json" 2> "$OUT/export.log" &
  export_pid=$!
fi

prefix=$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
cmake_args=(-DCUTOUT_ENGINE_ONLY=ON -DCUTOUT_ENGINE_BENCH=ON -DCMAKE_BUILD_TYPE=Release)
# PyTorch's own LibTorch when the wheel ships its CMake files (Debian's torch does not: its
# LibTorch is found in the system's CMake path instead).
[[ -f $prefix/Torch/TorchConfig.cmake ]] && cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix")
# NLOHMANN_INCLUDE: auto (default) uses third_party/ when prepare.sh made it; empty: CMake package.
NLOHMANN_INCLUDE=${NLOHMANN_INCLUDE-auto}
if [[ $NLOHMANN_INCLUDE == auto ]]; then
  NLOHMANN_INCLUDE=
  [[ -f third_party/nlohmann/include/nlohmann/json.hpp ]] && NLOHMANN_INCLUDE=$PWD/third_party/nlohmann/include
fi
[[ -n $NLOHMANN_INCLUDE ]] && cmake_args+=("-DCUTOUT_NLOHMANN_INCLUDE_DIR=$NLOHMANN_INCLUDE")
# Both H100 and H200 are sm_90; naming it spares CMake's GPU probe. Nothing here compiles CUDA.
[[ $DEVICE == cuda ]] && export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
status=0
log "build: cmake ${cmake_args[*]}"
if ! timeout "$(left)" cmake -S . -B "$BUILD_DIR" "${cmake_args[@]}" > "$OUT/build.log" 2>&1 ||
   ! timeout "$(left)" cmake --build "$BUILD_DIR" --target cutout-engine-bench --parallel "$JOBS" >> "$OUT/build.log" 2>&1; then
  log "build FAILED; tail of build.log:"; tail -40 "$OUT/build.log" >&2
  [[ -n $export_pid ]] && kill "$export_pid" 2>/dev/null
  exit 1
fi
if (( PROBE )) &&
   ! timeout "$(left)" cmake --build "$BUILD_DIR" --target cutout-gpu-probe --parallel "$JOBS" >> "$OUT/build.log" 2>&1; then
  # The probe's CUDA part is compiled for the first time on a GPU machine. Without it the sweep
  # and the cold-start steps still run (graphs and memory then report n/a on this build).
  log "build: cutout-gpu-probe FAILED; tail of build.log:"; tail -30 "$OUT/build.log" >&2
  log "build: retrying cutout-gpu-probe without its CUDA part (-DCUTOUT_GPU_PROBE_CUDA=OFF)"; status=1
  if ! { timeout "$(left)" cmake -S . -B "$BUILD_DIR" "${cmake_args[@]}" -DCUTOUT_GPU_PROBE_CUDA=OFF &&
         timeout "$(left)" cmake --build "$BUILD_DIR" --target cutout-gpu-probe --parallel "$JOBS"; } >> "$OUT/build.log" 2>&1; then
    log "build: cutout-gpu-probe FAILED again: no probe"; PROBE=0; status=1
  fi
fi
log "build: done"
if [[ -n $export_pid ]]; then
  if ! wait "$export_pid"; then
    log "export FAILED; tail of export.log:"; tail -40 "$OUT/export.log" >&2
    exit 1
  fi
  log "export: done: $(tr -d '\n' < "$models_json")"
fi

# --- 3. the probe: batch sweep, cold-start steps, CUDA graphs, memory ------------------------------
# The product's precision first: fp16 on CUDA.
probe_precisions=$(tr ',' '\n' <<< "$PRECISIONS" | sort | paste -sd, -)  # fp16 sorts first
if (( PROBE )); then
  deadline=$(( $(left) - 45 - COMPARE_RESERVE_S ))
  if (( deadline > 0 )); then
    log "probe: precisions $probe_precisions, batches $BATCHES, no new step after ${deadline}s"
    "$PYTHON" bench/gpu/probe.py --probe "$BUILD_DIR/cutout-gpu-probe" --models "$models_json" \
      --device "$DEVICE" --precisions "$probe_precisions" --batches "$BATCHES" --iters "$PROBE_ITERS" \
      --cold-rounds "$COLD_ROUNDS" --deadline-s "$deadline" --out "$OUT" \
      2> >(tee -a "$OUT/progress.log" >&2) || status=$?
  else
    log "probe: no time left"; status=1
  fi
fi

# --- 4. the comparison with the Python peers ---------------------------------------------------------
# Leave 45 s for the last round's stragglers and the summary.
deadline=$(( $(left) - 45 ))
if (( deadline > 0 )); then
  log "compare: up to $RUNS rounds, no new round after ${deadline}s"
  "$PYTHON" bench/gpu/compare.py --bench "$BUILD_DIR/cutout-engine-bench" --models "$models_json" \
    --python "$PYTHON" --device "$DEVICE" --size "$SIZE" --precisions "$PRECISIONS" --impls "$IMPLS" \
    --rounds "$RUNS" --forwards "$FORWARDS" --deadline-s "$deadline" --out "$OUT" \
    2> >(tee -a "$OUT/progress.log" >&2) > "$OUT/compare.txt" || status=$?
else
  log "compare: no time left"; status=1
fi
# The device half of bench/pipeline's requests (issue 15): preprocessing (Pillow-exact resize on the
# device), the forward pass and the mask's way back, at each of its image sizes, from pageable and
# from pinned host memory. The CPU half (decode, compose, encode) is bench/pipeline/run.py's.
if [[ $PIPELINE_MP != 0 ]] && (( $(left) > 40 )); then
  log "pipeline: $PIPELINE_MP MP: preprocessing, forward, mask resize"
  fp16_or_32=$("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["fp16"]["path"])' "$models_json")
  timeout $(( $(left) - 10 )) "$BUILD_DIR/cutout-engine-bench" --model "$fp16_or_32" --device "$DEVICE" \
    --warmup 1 --runs 0 --pipeline-megapixels "$PIPELINE_MP" > "$OUT/pipeline.json" 2>> "$OUT/progress.log" || true
  tail -1 "$OUT/pipeline.json" >&2
fi
# --- 5. one table ------------------------------------------------------------------------------------
log "summary ($OUT/summary.txt, summary.json):"
"$PYTHON" bench/gpu/summary.py --out "$OUT" --require "${REQUIRE_SECTIONS:-}" || status=$?
log "done (status $status); results in $OUT"
exit "$status"
