#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs to build the CUDA tests (Check, with
# subunit, and pkgconf) into a folder, for a GPU machine that has neither
# them nor a network: run this on a Debian or Ubuntu machine with apt (x86-64,
# glibc not newer than the GPU machine's), copy the folder to the GPU machine
# as the checkout's `.gpu-deps/` (or anywhere, named by FP8_TEST_DEPS), and
# gpu-check.sh uses it when pkg-config finds no Check of the system's.
#
# The .pc files are made relocatable (prefix=${pcfiledir}/../../..) and the
# shared libsubunit is dropped so the tests link Check statically.
#
# Usage: bench/pack-test-deps.sh [folder (default .gpu-deps)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$(realpath -m "${1:-$root/.gpu-deps}")
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download check libsubunit-dev libsubunit0 pkgconf-bin libpkgconf3 pkgconf >/dev/null 2>&1) ||
    { echo "pack-test-deps: apt-get download failed (needs apt and a network)" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
rm -rf "$dest/usr/share" "$dest/usr/bin/checkmk"
libdir=$(dirname "$(find "$dest/usr/lib" -name check.pc)")
rm -f "$libdir"/../libsubunit.so*
sed -i 's|^prefix=.*|prefix=${pcfiledir}/../../..|' "$libdir"/*.pc
echo "pack-test-deps: $dest ($(du -sh "$dest" | cut -f1)); copy it to the GPU machine's checkout as .gpu-deps/"
