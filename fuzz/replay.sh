#!/usr/bin/env bash
# Replays the seed corpus and fuzz/regressions/NAME/* through a replay build of a fuzz target (see
# fuzz/replay.cmake). Fails when the target finds anything (it aborts) or when there is nothing to
# replay.
set -euo pipefail
exe=${1:?usage: replay.sh REPLAY_EXE NAME SEED_DIR PYTHON}
name=${2:?}
seeds=${3:?}
python=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
"$python" "$here/make_seeds.py" --target "$name" --out "$seeds/$name" >/dev/null
shopt -s nullglob
regressions=("$here/regressions/$name"/*)
inputs=("$seeds/$name"/* "${regressions[@]}")
if ((${#inputs[@]} == 0)); then
  echo "no inputs to replay" >&2
  exit 1
fi
echo "replaying ${#inputs[@]} inputs (${#regressions[@]} regressions)"
"$exe" "${inputs[@]}"
