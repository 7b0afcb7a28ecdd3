#!/usr/bin/env bash
# The main job: set up, build, and run libfp8's main tool on built-in data.
set -euo pipefail
FP8_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=setup.sh
. "$FP8_ROOT/scripts/setup.sh"
fp8_install "${FP8_PACKAGES[@]}"
fp8_configure_and_build "$FP8_ROOT/build"
"$FP8_ROOT/build/tools/fp8-info"
