#!/usr/bin/env bash
# Every test: set up, build, run the whole suite (including the exhaustive
# conversion checks), then the suite again under ASan + UBSan with the
# exhaustive loops sampled, then the file parsers' libFuzzer harnesses for a
# bounded time (FP8_FUZZ_SECONDS each, 20 by default).
set -euo pipefail
FP8_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=setup.sh
. "$FP8_ROOT/scripts/setup.sh"
fp8_install "${FP8_PACKAGES[@]}"
jobs=$(nproc)

echo "== release build and full test suite"
fp8_configure_and_build "$FP8_ROOT/build"
ctest --test-dir "$FP8_ROOT/build" -j "$jobs" --output-on-failure --no-tests=error

echo "== ASan + UBSan build, exhaustive loops sampled (FP8_TEST_STRIDE=61)"
fp8_configure_and_build "$FP8_ROOT/build-sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFP8_SANITIZE=address,undefined -DFP8_BUILD_BENCH=OFF
# install and docs_examples build uninstrumented programs against the instrumented
# library, which ASan refuses to load; they run in the release stage above.
FP8_TEST_STRIDE=61 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$FP8_ROOT/build-sanitize" -j "$jobs" --output-on-failure --no-tests=error -E '^(install|docs_examples)$'

echo "== libFuzzer: the .npy and safetensors parsers (clang, ASan + UBSan), ${FP8_FUZZ_SECONDS:-20} s each"
CC=clang cmake -S "$FP8_ROOT" -B "$FP8_ROOT/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFP8_BUILD_FUZZERS=ON -DFP8_FUZZ_SECONDS="${FP8_FUZZ_SECONDS:-20}" -DFP8_SANITIZE=address,undefined \
    -DFP8_ENABLE_CUDA=OFF -DFP8_BUILD_BENCH=OFF >/dev/null
cmake --build "$FP8_ROOT/build-fuzz" -j "$jobs" --target fuzz_npy fuzz_safetensors
ctest --test-dir "$FP8_ROOT/build-fuzz" -R '^fuzz_' -j "$jobs" --output-on-failure --no-tests=error
