#!/usr/bin/env bash
# Runs shellcheck over the repository's shell scripts: deploy/ at every severity (what the issue asks of
# them), everything else the repository tracks at warning and above.
#
#   tests/deploy/shellcheck.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: shellcheck.sh REPO_ROOT}
cd "$root"
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (scripts/setup.sh --for-tests)" >&2; exit 1; }

mapfile -t deploy_scripts < <(find deploy -name '*.sh' | sort)
others=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t others < <(git ls-files '*.sh' | grep -v '^deploy/' || true)
fi
[ ${#deploy_scripts[@]} -gt 0 ] || { echo "no scripts under deploy/" >&2; exit 1; }

echo "shellcheck (all severities): ${deploy_scripts[*]}"
shellcheck -x "${deploy_scripts[@]}" tests/deploy/shellcheck.sh
if [ ${#others[@]} -gt 0 ]; then
  echo "shellcheck (warnings and errors): ${others[*]}"
  shellcheck -x --severity=warning "${others[@]}"
fi
echo "shellcheck: $(( ${#deploy_scripts[@]} + ${#others[@]} + 1 )) scripts clean"
