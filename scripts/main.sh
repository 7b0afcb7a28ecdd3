#!/usr/bin/env bash
# The main job: set up, build, print every FP8 format's properties (fp8-info),
# then write the precision report on the built-in synthetic data (fp8-report:
# what each FP8 recipe costs next to BF16, in figures) into report/.
set -euo pipefail
FP8_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=setup.sh
. "$FP8_ROOT/scripts/setup.sh"
fp8_install "${FP8_PACKAGES[@]}"
fp8_configure_and_build "$FP8_ROOT/build"
"$FP8_ROOT/build/tools/fp8-info"
echo
"$FP8_ROOT/build/tools/fp8-report" "$FP8_ROOT/report"
echo "The report: $FP8_ROOT/report/index.html (open it in a browser; each figure's PNG, SVG, CSV, JSON" \
    "and gnuplot script lie beside it)"
