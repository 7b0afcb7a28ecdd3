#!/usr/bin/env bash
# Compiles and runs every C example (a ```c block with a main) in README.md and
# docs/*.md against the built library, so the documentation stays runnable.
# Usage: check_examples.sh SOURCE_DIR INCLUDE_DIR LIBRARY_DIR
set -euo pipefail
src=$1 inc=$2 libdir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
for doc in "$src"/README.md "$src"/docs/*.md; do
    [ -f "$doc" ] || continue
    awk -v dir="$work" -v base="$(basename "$doc" .md)" '
        /^```c$/ { inblock = 1; n++; file = sprintf("%s/%s_%d.c", dir, base, n); next }
        /^```$/ && inblock { inblock = 0; close(file); next }
        inblock { print > file }' "$doc"
done
# fp8/cuda.h's examples need a library built with the CUDA backend.
has_cuda=0
nm -D --defined-only "$libdir/libfp8.so" 2>/dev/null | grep -q ' fp8_cuda_device_count$' && has_cuda=1
for c in "$work"/*.c; do
    [ -f "$c" ] || continue
    grep -q 'int main' "$c" || continue
    if [ "$has_cuda" -eq 0 ] && grep -q '<fp8/cuda.h>' "$c"; then
        echo "example $(basename "$c") skipped: libfp8 was built without the CUDA backend"
        continue
    fi
    exe="${c%.c}"
    if ! cc -std=c11 -Wall -Werror -I"$inc" "$c" -L"$libdir" -lfp8 -lm -o "$exe" 2> "$exe.log"; then
        echo "example $(basename "$c") does not compile:"; cat "$exe.log"; exit 1
    fi
    if ! LD_LIBRARY_PATH="$libdir" "$exe" > "$exe.out"; then
        echo "example $(basename "$c") failed:"; cat "$exe.out"; exit 1
    fi
    count=$((count + 1))
done
echo "$count documentation examples compiled and ran"
[ "$count" -gt 0 ]
