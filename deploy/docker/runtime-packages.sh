#!/usr/bin/env bash
# Which Debian/Ubuntu packages provide the shared libraries a binary loads: runs `ldd` on it and maps
# every resolved library to its package with `dpkg -S`. Used by the CUDA image's build stage to give
# its runtime stage exactly the packages the binary needs, and by the tests to check the CPU image's
# package list against the binary built here.
#
#   runtime-packages.sh BINARY [SKIP_DIR...]            package names, one per line, sorted
#   runtime-packages.sh --pairs BINARY [SKIP_DIR...]    "soname path package" per library
#
# Libraries under a SKIP_DIR (LibTorch's lib/ when it is copied whole) are left out, and so are the
# NVIDIA driver's (libcuda, libnvidia-*), which the GPU host mounts into the container. A library that
# is missing, or that no package owns, is an error (exit 1): the runtime stage could not provide it.
set -euo pipefail

pairs=0
if [ "${1:-}" = "--pairs" ]; then pairs=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--pairs] BINARY [SKIP_DIR...]" >&2; exit 2; }
binary=$1; shift
skip_dirs=()
for d in "$@"; do skip_dirs+=("$(readlink -f "$d")"); done

driver_lib() { case "$1" in libcuda.so*|libnvidia-*|libnvcuvid.so*) return 0 ;; *) return 1 ;; esac; }

failed=0
sonames=() paths=() reals=()
# ldd lines: "soname => /path (0x...)", "soname => not found", "/lib64/ld-linux... (0x...)", "linux-vdso..."
while read -r soname arrow path _; do
  [ "$arrow" = "=>" ] || continue          # vdso and the dynamic loader line
  if driver_lib "$soname"; then continue; fi
  if [ "$path" = "not" ]; then
    echo "runtime-packages: $soname: not found" >&2; failed=1; continue
  fi
  real=$(readlink -f "$path")
  skipped=0
  for d in "${skip_dirs[@]}"; do
    case "$real" in "$d"/*) skipped=1 ;; esac
  done
  [ "$skipped" -eq 0 ] || continue
  sonames+=("$soname"); paths+=("$path"); reals+=("$real")
done < <(ldd "$binary")

# dpkg records the path a package installed, which may be the symlink or its target, under /lib or
# /usr/lib (merged /usr): ask for every spelling in one dpkg -S call (each call reads the whole
# database, so one per library would take minutes).
declare -A owner=()
queries=()
for i in "${!paths[@]}"; do
  for p in "${paths[$i]}" "${reals[$i]}"; do queries+=("$p" "${p#/usr}" "/usr$p"); done
done
if [ ${#queries[@]} -gt 0 ]; then
  while IFS= read -r line; do
    pkgs=${line%%: /*}
    file=/${line#*: /}
    owner[$file]=${pkgs%%,*}
    owner[$file]=${owner[$file]%%:*}      # drop an :arch qualifier
  done < <(dpkg -S "${queries[@]}" 2>/dev/null | grep -v '^diversion ' || true)
fi

out=()
for i in "${!paths[@]}"; do
  pkg=""
  for p in "${paths[$i]}" "${reals[$i]}"; do
    for q in "$p" "${p#/usr}" "/usr$p"; do
      if [ -z "$pkg" ] && [ -n "${owner[$q]:-}" ]; then pkg=${owner[$q]}; fi
    done
  done
  if [ -z "$pkg" ]; then
    echo "runtime-packages: ${sonames[$i]} (${reals[$i]}): no package owns it" >&2; failed=1; continue
  fi
  if [ "$pairs" -eq 1 ]; then out+=("${sonames[$i]} ${reals[$i]} $pkg"); else out+=("$pkg"); fi
done

[ "$failed" -eq 0 ] || exit 1
[ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}" | sort -u
