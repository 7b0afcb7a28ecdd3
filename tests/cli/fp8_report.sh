#!/usr/bin/env bash
# fp8-report as its users meet it: every promised file is there (index.html;
# CSV, JSON, gnuplot script, PNG and SVG per figure), the CSV and JSON read
# back strictly, every PNG a valid image of the size its script asks for, the
# page's links relative and unbroken, checkpoints analysed per layer, pages of
# histograms for many tensors, byte-identical reruns, a quiet stderr; without
# gnuplot on PATH the data and scripts are still written and the page says
# so; bad usage and bad input exit 2 and 1.
# Usage: fp8_report.sh FP8_REPORT JSON_FLAT WRITE_INPUTS
# Exits 77 (skipped) after the checks that need no gnuplot when there is none.
set -uo pipefail
tool=$(realpath "$1") json_flat=$(realpath "$2") write_inputs=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$work" || exit 1
"$write_inputs" . || exit 1
figures=(sqnr_vs_scale histograms gemm_error_vs_k sqnr_by_granularity sqnr_vs_crest_factor)
small=(--rows 128 --cols 512) # the built-in tensors, small: the suite's own sweeps keep their sizes

# png_ok FILE WIDTH HEIGHT: the PNG signature, an IHDR chunk first with that size, IEND last, some content.
png_ok() {
    local head tail
    head=$(od -An -tx1 -N24 "$1" | tr -d ' \n')
    tail=$(tail -c 12 "$1" | od -An -tx1 | tr -d ' \n')
    [ "${head:0:16}" = 89504e470d0a1a0a ] && [ "${head:16:16}" = 0000000d49484452 ] &&
        [ $((16#${head:32:8})) -eq "$2" ] && [ $((16#${head:40:8})) -eq "$3" ] &&
        [ "$tail" = 0000000049454e44ae426082 ] && [ "$(stat -c %s "$1")" -gt 8000 ]
}
# the image size a figure's script asks for, "W H"
script_size() { grep -o 'pngcairo size [0-9]*,[0-9]*' "$1" | head -n 1 | sed 's/.* //; s/,/ /'; }
svg_ok() { head -c 200 "$1" | grep -q '<svg' && tail -c 20 "$1" | grep -q '</svg>'; }

# data_ok DIR FIGURE...: CSV and JSON strict, with the same rows; the script reads the CSV
data_ok() {
    local dir=$1 f
    shift
    for f in "$@"; do
        check "$dir/$f.csv well formed" csv_strict "$dir/$f.csv"
        check "$dir/$f.json well formed" json_strict "$dir/$f.json"
        check "$dir/$f.json: one row per CSV row" [ "$(grep -c '^\.rows\[[0-9]*\]\[0\]	' "$dir/$f.json.flat")" -eq \
            "$(($(lines "$dir/$f.csv") - 1))" ]
        check "$dir/$f.gp reads $f.csv and writes $f.png and $f.svg" eval "grep -q \"'$f.csv'\" '$dir/$f.gp' &&
            grep -q \"set output '$f.'.image\" '$dir/$f.gp'"
    done
}

# images_ok DIR FIGURE...
images_ok() {
    local dir=$1 f
    shift
    for f in "$@"; do
        # shellcheck disable=SC2046
        check "$dir/$f.png: a valid PNG of the size asked for" png_ok "$dir/$f.png" $(script_size "$dir/$f.gp")
        check "$dir/$f.svg: an SVG document" svg_ok "$dir/$f.svg"
    done
}

# links_ok DIR: every href and src of index.html is relative and names a file that is there
links_ok() {
    local link bad=0
    while read -r link; do
        case "$link" in
        \#*) ;;
        /* | *://*) echo "absolute link $link"; bad=1 ;;
        *) [ -f "$1/$link" ] || { echo "broken link $link"; bad=1; } ;;
        esac
    done < <(grep -o -e 'href="[^"]*"' -e 'src="[^"]*"' "$1/index.html" | sed 's/^[a-z]*="//; s/"$//')
    return $bad
}

# ---- usage and bad input
run "$tool" --help
check "--help" eval '[ "$code" -eq 0 ] && grep -q "^Usage: fp8-report" out && is_empty err'
run "$tool" --version
check "--version" eval '[ "$code" -eq 0 ] && grep -q "^fp8-report (libfp8) " out'
expect_usage "$tool"
expect_usage "$tool" --bogus out
expect_usage "$tool" out --rows 0
expect_usage "$tool" out --synthetic cauchy
expect_usage "$tool" out --dtype f32 d.raw
expect_usage "$tool" out --tensor
expect_bad_input "missing.npy: cannot open" "$tool" rep missing.npy
expect_bad_input "trunc.npy: " "$tool" rep trunc.npy
touch blocker
expect_bad_input "cannot create the folder 'blocker/report': Not a directory" "$tool" blocker/report

# ---- without gnuplot: data and scripts, a note on stderr and in the page, exit 0
run env PATH="$work/no-such-dir" "$tool" nognu "${small[@]}"
check "no gnuplot: exit $code" [ "$code" -eq 0 ]
check "no gnuplot: said on stderr, in one line" eval '[ "$(lines err)" -eq 1 ] && grep -q "gnuplot not found" err'
check "no gnuplot: said in the page" grep -q "gnuplot was not found" nognu/index.html
data_ok nognu "${figures[@]}"
check "no gnuplot: no images" eval '! ls nognu/*.png nognu/*.svg 2>/dev/null'
check "no gnuplot: the page links only to what is there" links_ok nognu

# ---- a gnuplot that fails: exit 1, its complaint in the one-line reason, the data and scripts still there
mkdir -p fakebin
printf '#!/bin/sh\necho "warning: nothing" >&2\necho "line 7: no such terminal" >&2\nexit 1\n' >fakebin/gnuplot
chmod +x fakebin/gnuplot
run env PATH="$work/fakebin" "$tool" broken "${small[@]}"
check "failing gnuplot: exit $code, stderr $(cat err)" eval '[ "$code" -eq 1 ] && [ "$(lines err)" -eq 1 ] &&
    grep -q "^fp8-report: gnuplot failed on sqnr_vs_scale.gp in broken (exit 1): line 7: no such terminal$" err'
check "failing gnuplot: the data and scripts are there" eval '[ -s broken/sqnr_vs_scale.csv ] && [ -s broken/sqnr_vs_scale.gp ]'

gnuplot=$(command -v gnuplot) || {
    [ "$failures" -ne 0 ] && finish fp8-report
    echo "fp8-report: all $checks checks passed; SKIP the rest: no gnuplot on PATH to draw images"
    exit 77
}

# ---- the scripts written without gnuplot draw the figures later, in their folder
(cd nognu && for f in *.gp; do "$gnuplot" "$f" 2>/dev/null || exit 1; done)
images_ok nognu "${figures[@]}"

# ---- the default suite on the built-in data
run "$tool" report "${small[@]}"
check "report: exit $code, stderr $(cat err)" eval '[ "$code" -eq 0 ] && is_empty err'
check "report: says where it is" grep -q "^fp8-report: wrote report/index.html" out
check "report: index.html" test -s report/index.html
data_ok report "${figures[@]}"
images_ok report "${figures[@]}"
check "report: relative links, none broken" links_ok report
for f in "${figures[@]}"; do
    check "report: the page shows $f" grep -q "<img src=\"$f.png\"" report/index.html
done
check "report: DeepSeek-V3's figure in context" grep -q "DeepSeek-V3 in context (gaussian+1 data, K = 4096" report/index.html
check "report: four built-in tensors" eval '[ "$(csv_column report/histograms.csv tensor | sort -u | paste -sd " ")" = \
    "gaussian laplace llm student-t" ]'
check "report: the sigma sweep spans 2^-16 .. 2^16" eval '[ "$(csv_column report/sqnr_vs_scale.csv log2_sigma series=0 |
    paste -sd " ")" = "$(seq -16 16 | paste -sd " ")" ]'
check "report: E4M3 per tensor on N(0, 1) about 31.5 dB at any sigma" eval \
    'csv_column report/sqnr_vs_scale.csv sqnr_db format=e4m3 scaling=tensor | awk "\$1 < 31.2 || \$1 > 31.8 { exit 1 }"'
check "report: an unscaled E4M3 cast underflows at sigma 2^-16 and saturates at 2^16" eval \
    '[ "$(csv_column report/sqnr_vs_scale.csv underflow_pct format=e4m3 scaling=cast log2_sigma=-16)" = 100 ] &&
     in_range "$(csv_column report/sqnr_vs_scale.csv saturation_pct format=e4m3 scaling=cast log2_sigma=16)" 90 100.01'

# ---- reproducible, byte for byte, images included
run "$tool" again "${small[@]}"
check "rerun: the same files, byte for byte" diff -r -q -x "*.flat" report again

# ---- a checkpoint and an .npy: per layer, and DeepSeek-V3 weights dequantized
run "$tool" ckpt model.safetensors a.npy
check "checkpoint: exit $code" [ "$code" -eq 0 ]
check "checkpoint: non-float tensors skipped with a note" eval '[ "$(cat err)" = \
    "fp8-report: model.safetensors: skipping tensor step (I64)" ]'
data_ok ckpt "${figures[@]}"
images_ok ckpt "${figures[@]}"
check "checkpoint: one histogram per tensor" eval '[ "$(csv_column ckpt/histograms.csv tensor | uniq | paste -sd " ")" = \
    "layers.0.mlp.weight layers.0.norm layers.10.norm a.npy" ]'
check "checkpoint: SQNR per layer, its tensors merged" eval '[ "$(csv_column ckpt/sqnr_by_granularity.csv group series=0 |
    paste -sd " ")" = "layers.0 layers.10 a.npy" ] &&
    [ "$(csv_column ckpt/sqnr_by_granularity.csv tensors series=0 | paste -sd " ")" = "2 1 1" ]'
check "checkpoint: the page lists the inputs" grep -q "<td>layers.0.mlp.weight</td><td>model.safetensors</td><td>F8_E4M3</td>" \
    ckpt/index.html

# ---- more tensors than a page holds: histograms in pages
run "$tool" many many.safetensors
check "many tensors: exit $code" [ "$code" -eq 0 ]
pages=(histograms_1 histograms_2)
data_ok many "${pages[@]}"
images_ok many "${pages[@]}"
check "many tensors: 12 on the first page, 1 on the second" eval \
    '[ "$(csv_column many/histograms_1.csv tensor | uniq | wc -l)" -eq 12 ] &&
     [ "$(csv_column many/histograms_2.csv tensor | uniq)" = blocks.12.w ]'
check "many tensors: relative links, none broken" links_ok many

finish fp8-report
