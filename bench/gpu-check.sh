#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine: configure, build, run the CUDA
# tests (including the long exhaustive one), then print one table
# (bench/bench_cuda.c): GPU vs CPU bit-equality, quantization bandwidth
# against a device-to-device copy, FP8 vs BF16 GEMM TFLOP/s, the own
# tensor-core kernel's speed and its error against the promotion interval.
#
# Needs nvcc (CUDA 12.9 or newer), CMake and ninja; no network. Runs in
# well under 8 minutes on an H100/H200-class machine. Without a GPU the
# CPU-side steps (configure, build, the checks that need no device) still
# run, and the script ends with a NO GPU line and exit status 77.
# Exit status: 0 all checks ran and GPU and CPU agree, 1 a failure, 77 no GPU.
#
# Usage: bench/gpu-check.sh [build-dir (default build-gpu-check)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-gpu-check}
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null 2>&1 || { echo "gpu-check: nvcc not found" >&2; exit 1; }
start=$(date +%s)
step() { printf '== %s (%ds)\n' "$1" $(($(date +%s) - start)); }

step "configure ($build)"
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP8_ENABLE_CUDA=ON -DFP8_BUILD_TOOLS=OFF \
    >"$build/gpu-check-configure.log" 2>&1 || { cat "$build/gpu-check-configure.log"; exit 1; }
grep "libfp8: CUDA backend" "$build/gpu-check-configure.log"

step "build"
cmake --build "$build" -j "$(nproc)" --target test_cuda bench_cuda

step "CUDA tests"
tests_log=$build/gpu-check-tests.log
ctest --test-dir "$build" -R '^cuda' --output-on-failure -V >"$tests_log" 2>&1 || {
    cat "$tests_log"
    echo "gpu-check: CUDA tests FAILED"
    exit 1
}
grep -E '^[0-9]+: (SKIP|test_cuda:)|Test +#[0-9]+:|tests passed, ' "$tests_log" | sed 's/^/  /'
skipped=0
grep -q 'SKIP: test_cuda' "$tests_log" && skipped=1

step "checks"
set +e
"$build/bench/bench_cuda"
status=$?
set -e
step "done"
if [ "$status" -eq 77 ] || [ "$skipped" -eq 1 ]; then
    echo "NO GPU: only the CPU-side steps ran (configure, build, the CUDA tests' device-free checks)"
    exit 77
fi
exit "$status"
