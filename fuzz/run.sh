#!/usr/bin/env bash
# Builds a fuzz target with libFuzzer + ASan + UBSan (clang-14, -DCUTOUT_FUZZ=ON, in build-fuzz/)
# and runs it for SECONDS on one job, starting from the generated seeds and the corpus kept from
# earlier runs. Findings land in build-fuzz/artifacts/TARGET/ (copy them to fuzz/regressions/TARGET/
# once fixed); the log, with libFuzzer's final stats, in build-fuzz/logs/TARGET.log.
#
#   fuzz/run.sh metadata 1800
#   fuzz/run.sh request 1800 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
#                       (further arguments go to libFuzzer; these keep a long run going past a
#                        finding, each one still written to artifacts/)
set -euo pipefail
target=${1:?usage: fuzz/run.sh request|metadata|multipart SECONDS [libFuzzer args...]}
seconds=${2:?usage: fuzz/run.sh request|metadata|multipart SECONDS [libFuzzer args...]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CUTOUT_FUZZ_BUILD_DIR:-$root/build-fuzz}
python=${CUTOUT_PYTHON:-/usr/bin/python3}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1" -DCUTOUT_FUZZ=ON "${launcher[@]}"
fi
cmake --build "$build" --target "${target}_fuzzer" --parallel "${CUTOUT_FUZZ_BUILD_JOBS:-2}"

seeds=$build/seeds/$target corpus=$build/corpus/$target artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$artifacts" "$build/logs"
"$python" "$root/fuzz/make_seeds.py" --target "$target" --out "$seeds"
dict=()
[[ -f $root/fuzz/$target.dict ]] && dict=(-dict="$root/fuzz/$target.dict")

# One job (the machines we share have few cores); -timeout flags an input that takes over 60 s of
# wall time (generous: on a loaded 2-core machine a 1 MP input under ASan took 16 s of wall time for
# 2.5 s of CPU);
# -rss_limit_mb caps memory (LibTorch + ASan shadow need ~1 GB to start).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
set -x
"$build/fuzz/${target}_fuzzer" "$corpus" "$seeds" -max_total_time="$seconds" -timeout=60 \
  -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "${dict[@]}" "$@" 2>&1 | tee "$build/logs/$target.log"
