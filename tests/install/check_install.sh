#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds a program outside
# the tree against it twice: with find_package(fp8 CONFIG) and with pkg-config.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$1 src=$2 version=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(dirname "$(find "$work/prefix" -name 'libfp8.so' | head -n 1)")

cmake -S "$src/tests/install" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake-build/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
test "$(pkg-config --modversion fp8)" = "$version"
# shellcheck disable=SC2046
cc -std=c11 -DFP8_VERSION_STRING_FOR_TEST="\"$version\"" "$src/tests/install/consumer.c" \
   $(pkg-config --cflags --libs fp8) -o "$work/consumer-pc"
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"

# Only the public API is exported: every dynamic symbol starts with fp8_.
bad=$(nm -D --defined-only "$libdir/libfp8.so" | awk '$2 ~ /[TDRB]/ {print $3}' | grep -v '^fp8_' || true)
if [ -n "$bad" ]; then echo "non-public symbols exported: $bad"; exit 1; fi
echo "install check ok: find_package and pkg-config consumers built and ran"
