#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine: configure, build, run the CUDA
# tests (including the long exhaustive one), then print one table
# (bench/bench_cuda.c): GPU vs CPU bit-equality, quantization bandwidth
# against a device-to-device copy, FP8 vs BF16 GEMM TFLOP/s, the own
# tensor-core kernel's speed and its error against the promotion interval.
#
# Needs nvcc (CUDA 12.9 or newer), CMake and ninja; no network. The CUDA
# tests also need Check (pkg-config check): the system's, or else a folder
# made by bench/pack-test-deps.sh on a machine with apt, found as the
# checkout's .gpu-deps/ or named by FP8_TEST_DEPS. Without either the table
# still runs and the script says the tests were not built. Runs in well under 8 minutes
# on an H100/H200-class machine (a hung kernel is stopped after 4 minutes,
# by ctest's and timeout's limits). A failing test does not stop the table: both
# are reported, and every log stays in the build directory
# (gpu-check-{configure,build,tests,table}.log). Without a GPU the CPU-side
# steps (configure, build, the checks that need no device) still run, and the
# script ends with a NO GPU line.
# Exit status: 0 the tests passed and GPU and CPU agree; 1 a test failed, the
# GPU and CPU differ, or a step broke; 2 the table ran but the tests could not
# be built (no Check); 77 no GPU.
#
# Usage: bench/gpu-check.sh [build-dir (default build-gpu-check)]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-gpu-check}
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null 2>&1 || { echo "gpu-check: nvcc not found" >&2; exit 1; }
# Check packed by bench/pack-test-deps.sh, when the system has none
deps=${FP8_TEST_DEPS:-$root/.gpu-deps}
if ! pkg-config --exists check 2>/dev/null && [ -d "$deps/usr" ]; then
    pc=$(dirname "$(find "$deps/usr/lib" -name check.pc | head -n 1)")
    export PATH="$PATH:$deps/usr/bin" PKG_CONFIG_PATH="$pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export LD_LIBRARY_PATH="$(dirname "$pc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-check: Check from $deps"
fi
start=$(date +%s)
step() { printf '== %s (%ds)\n' "$1" $(($(date +%s) - start)); }
fail() { echo "gpu-check: $1 (log: $2)" >&2; tail -n 40 "$2" >&2; exit 1; }

step "configure ($build)"
mkdir -p "$build"
log=$build/gpu-check-configure.log
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP8_ENABLE_CUDA=ON -DFP8_BUILD_TOOLS=OFF \
    >"$log" 2>&1 || fail "configure failed" "$log"
grep "libfp8: CUDA backend" "$log"
targets=bench_cuda
if ctest --test-dir "$build" -N -R '^cuda' | grep -q 'Total Tests: [1-9]'; then
    tests_built=1
    targets="$targets test_cuda"
else
    tests_built=0
fi

step "build ($targets)"
log=$build/gpu-check-build.log
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets >"$log" 2>&1 || fail "build failed" "$log"

tests=skipped
if [ "$tests_built" -eq 1 ]; then
    step "CUDA tests"
    log=$build/gpu-check-tests.log
    if ctest --test-dir "$build" -R '^cuda' -j 2 --timeout 240 --output-on-failure -V >"$log" 2>&1; then tests=passed; else tests=FAILED; fi
    grep -E '^[0-9]+: (SKIP|test_cuda:)|Test +#[0-9]+:|tests passed, ' "$log" | sed 's/^/  /'
    if grep -q 'SKIP: test_cuda' "$log"; then
        tests=skipped
    elif [ "$tests" = FAILED ]; then
        echo "  failing checks (first 60; all in $log):"
        grep -E ':[EF]:' "$log" | head -n 60 | sed 's/^/    /'
    fi
else
    echo "== CUDA tests NOT BUILT: Check not found (install the check package, then rerun)"
fi

step "checks"
log=$build/gpu-check-table.log
timeout 240 "$build/bench/bench_cuda" 2>&1 | tee "$log"
table=${PIPESTATUS[0]}
step "done"
if [ "$table" -eq 77 ]; then
    echo "NO GPU: only the CPU-side steps ran (configure, build, the CUDA tests' device-free checks)"
    exit 77
fi
echo "gpu-check: CUDA tests $tests; table exit status $table"
[ "$table" -ne 0 ] || [ "$tests" = FAILED ] && exit 1
[ "$tests_built" -eq 1 ] || exit 2
exit 0
