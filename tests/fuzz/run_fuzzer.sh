#!/usr/bin/env bash
# Runs a libFuzzer harness for a bounded time from a few valid seed files
# (the corpus lives in a temporary directory and is thrown away).
# Usage: run_fuzzer.sh FUZZER npy|safetensors SECONDS
set -euo pipefail
fuzzer=$(realpath "$1") kind=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cd "$work/corpus"
le() { # value bytes: the value as a little-endian integer
    local i
    for ((i = 0; i < $2; i++)); do printf "\\x$(printf %02x $((($1 >> (8 * i)) & 255)))"; done
}
# npy: magic, version, u16 (v1) or u32 (v2, v3) header length, dictionary ended by '\n', data
npy() { # version dictionary data
    { printf '\x93NUMPY'; printf "\\x0$1\\x00"; le $((${#2} + 1)) $([ "$1" = 1 ] && echo 2 || echo 4)
      printf '%s\n' "$2"; printf "$3"; } > "seed_npy_v$1_$RANDOM"
}
# safetensors: u64 header length, JSON header, data
st() { # header data
    { le ${#1} 8; printf '%s' "$1"; printf "$2"; } > "seed_st_$RANDOM"
}
case $kind in
npy)
    npy 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" '\x00\x00\x80\x3f\x00\x00\x00\x40'
    npy 2 "{'descr': '>f2', 'fortran_order': True, 'shape': (2, 2), }" '\x3c\x00\x40\x00\x42\x00\x44\x00'
    npy 3 "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" '\x00\x00\x00\x00\x00\x00\xf0\x3f'
    ;;
safetensors)
    h1='{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    h2='{"__metadata__": {"format": "pt"}, "l.weight": {"dtype": "F8_E4M3", "shape": [2, 3], "data_offsets": [0, 6]}, "l.weight_scale_inv": {"dtype": "F32", "shape": [1, 1], "data_offsets": [6, 10]}, "b": {"dtype": "BF16", "shape": [1], "data_offsets": [10, 12]}}'
    st "$h1" '\x00\x00\x80\x3f\x00\x00\x00\x40'
    st "$h2" '\x38\x40\x48\x50\x58\x60\x00\x00\x80\x3f\x80\x3f'
    ;;
esac
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus 2>&1 | tail -n 40
