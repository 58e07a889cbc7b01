#!/usr/bin/env bash
# Source pictures for bench/quality: Debian packages fetched with `apt-get download` and unpacked
# with dpkg-deb (nothing is installed). Cached; prints what it does; fails loudly.
#
#   bench/quality/fetch_assets.sh            -> .cache/bench-quality/root/usr/share/...
#
#   oxygen-icon-theme            foregrounds: 256x256 PNG icons with a real alpha channel
#   plasma-workspace-wallpapers  backgrounds: photographs
#   python3-skimage              backgrounds: skimage's sample photographs (data/*.png|jpg)
# Only the needed files are unpacked. Environment: CUTOUT_CACHE_DIR (default .cache in the repo).
set -Eeuo pipefail

PACKAGES=(oxygen-icon-theme plasma-workspace-wallpapers python3-skimage)
# what each package contributes (tar patterns inside the .deb's data)
PATTERNS=("./usr/share/icons/oxygen/base/256x256/*" "./usr/share/wallpapers/*" "./usr/lib/python3/dist-packages/skimage/data/*")

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${CUTOUT_CACHE_DIR:-$ROOT/.cache}/bench-quality"
say() { echo "fetch_assets: $*"; }
die() { echo "fetch_assets: ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

command -v apt-get >/dev/null || die "apt-get is needed (Debian/Ubuntu)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed"
mkdir -p "$CACHE/debs" "$CACHE/root"
: > "$CACHE/versions.txt.new"
for i in "${!PACKAGES[@]}"; do
  pkg="${PACKAGES[$i]}"
  stamp="$CACHE/root/.$pkg.done"
  deb="$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | head -n1)"
  if [[ -z "$deb" ]]; then
    say "apt-get download $pkg"
    # _apt cannot write into root-owned directories; download as the current user into a temp dir
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/apt.log" 2>&1); then
      cat "$tmp/apt.log" >&2; rm -rf "$tmp"; die "apt-get download $pkg failed (apt-get update? network?)"
    fi
    grep -v "^W: Download is performed unsandboxed" "$tmp/apt.log" || true
    deb="$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | sort | head -n1)"
    [[ -n "$deb" ]] || { rm -rf "$tmp"; die "apt-get download $pkg produced no .deb (apt-get update? network?)"; }
    mv "$deb" "$CACHE/debs/"
    rm -rf "$tmp"
    deb="$CACHE/debs/$(basename "$deb")"
  fi
  version="$(dpkg-deb -f "$deb" Version)"
  echo "$pkg $version $(sha256sum "$deb" | cut -d' ' -f1)" >> "$CACHE/versions.txt.new"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    say "$pkg $version already unpacked"
    continue
  fi
  say "unpacking ${PATTERNS[$i]} from $(basename "$deb") ($version)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CACHE/root" --wildcards "${PATTERNS[$i]}"
  echo "$version" > "$stamp"
done
mv "$CACHE/versions.txt.new" "$CACHE/versions.txt"
say "assets in $CACHE/root ($(find "$CACHE/root" -type f | wc -l) files); versions in $CACHE/versions.txt"
