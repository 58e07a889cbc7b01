#!/usr/bin/env bash
# Builds and runs the tests under sanitizers, in a scratch build directory:
#   asan_ubsan  cutout_unit_tests and cutout_http_tests (unit, imaging, HTTP: all of them) and the fuzz targets' replays
#               (seeds and fuzz/regressions/) with AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan        the concurrency tests with ThreadSanitizer (see TSAN_FILTER below for which and why)
# Only the targets run here are built, at -O1. The compiler is CMake's default (GCC on Debian: its
# sanitizer runtimes come with the compiler, no extra package).
set -euo pipefail
kind=${1:?usage: run_sanitized.sh asan_ubsan|tsan SOURCE_DIR BUILD_DIR PYTHON}
src=${2:?}
dir=${3:?}
python=${4:?}
here=$(cd "$(dirname "$0")" && pwd)

case $kind in
  asan_ubsan) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
              targets=(cutout_unit_tests cutout_http_tests request_fuzz_replay metadata_fuzz_replay multipart_fuzz_replay) ;;
  tsan)       flags="-fsanitize=thread"
              targets=(cutout_concurrency_tests cutout_blackbox_test cutout-server) ;;
  *) echo "unknown kind $kind" >&2; exit 2 ;;
esac

# Set before the build too: gtest_discover_tests runs the test binaries at build time.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
start=$SECONDS
cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1 -fno-omit-frame-pointer $flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCUTOUT_PYTHON="$python" "${launcher[@]}" >/dev/null
cmake --build "$dir" --target "${targets[@]}" --parallel 2
echo "sanitizer build ($kind): $((SECONDS - start)) s"

start=$SECONDS
case $kind in
  asan_ubsan)
    "$dir/tests/cutout_unit_tests" --gtest_brief=1
    "$dir/tests/cutout_http_tests" --gtest_brief=1
    "$src/fuzz/replay.sh" "$dir/tests/request_fuzz_replay" request "$dir/fuzz-seeds" "$python"
    "$src/fuzz/replay.sh" "$dir/tests/metadata_fuzz_replay" metadata "$dir/fuzz-seeds" "$python"
    "$src/fuzz/replay.sh" "$dir/tests/multipart_fuzz_replay" multipart "$dir/fuzz-seeds" "$python"
    ;;
  tsan)
    # setarch -R: TSan's fixed memory layout fails on kernels with high mmap randomisation.
    norandom=()
    command -v setarch >/dev/null && norandom=(setarch "$(uname -m)" -R)
    "${norandom[@]}" "$dir/tests/cutout_concurrency_tests" --gtest_brief=1
    "${norandom[@]}" "$dir/tests/cutout_blackbox_test" --gtest_brief=1 \
      --gtest_filter='ServerProcess.StartsServesAndStopsCleanlyOnSigterm'
    ;;
esac
echo "sanitizer tests ($kind): $((SECONDS - start)) s"
