#!/usr/bin/env bash
# fp8-error as its users meet it: exit statuses and one-line reasons, CSV and
# JSON read back strictly (csv.awk, json_flat) and checked against each other,
# golden figures on seeded data, files of each kind (written by write_inputs),
# DeepSeek-V3 FP8 weights, reproducible output in any locale, and a quiet
# stderr when it is not a terminal.
# Usage: fp8_error.sh FP8_ERROR JSON_FLAT WRITE_INPUTS
set -uo pipefail
tool=$(realpath "$1") json_flat=$(realpath "$2") write_inputs=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$work" || exit 1

# ---- the JSON checker itself refuses what it must
for bad in '{"a": 1,}' '[01]' '{"a": 1, "a": 2}' 'NaN' '[1e999]' '"\ud800"' '[1] x' "{'a': 1}" '[.5]' ''; do
    check "json_flat refuses '$bad'" eval '! printf "%s" "$bad" | "$json_flat" -q 2>/dev/null'
done

# ---- usage: exit 0 for --help and --version, 2 for bad usage with a reason and a pointer to --help
run "$tool" --help
check "--help" eval '[ "$code" -eq 0 ] && grep -q "^Usage: fp8-error" out && is_empty err'
run "$tool" --version
check "--version" eval '[ "$code" -eq 0 ] && grep -q "^fp8-error (libfp8) " out'
expect_usage "$tool"
expect_usage "$tool" --bogus
expect_usage "$tool" --format e9m9 --synthetic gaussian
expect_usage "$tool" --scaling 1x --synthetic gaussian
expect_usage "$tool" --scaling row,,tensor --synthetic gaussian
expect_usage "$tool" --scale-mode fast --synthetic gaussian
expect_usage "$tool" --synthetic cauchy
expect_usage "$tool" --rows 0 --synthetic gaussian
expect_usage "$tool" --seed x --synthetic gaussian
expect_usage "$tool" --dtype f32 x.bin
expect_usage "$tool" --shape 2x2 x.bin
expect_usage "$tool" --dtype i32 --shape 2 x.bin
expect_usage "$tool" --shape 2xx2 --dtype f32 x.bin
expect_usage "$tool" --saturation clamp --synthetic gaussian
expect_usage "$tool" --csv - --json - --synthetic gaussian
expect_usage "$tool" --synthetic

# ---- bad input: exit 1, exactly one line naming the file and the reason
"$write_inputs" . || exit 1
expect_bad_input "cannot open" "$tool" missing.npy
expect_bad_input "needs 12 bytes of data" "$tool" trunc.npy
expect_bad_input "needs 12 bytes of f32, the file holds 10" "$tool" --dtype f32 --shape 3 raw.bin
expect_bad_input "give --dtype and --shape" "$tool" raw.bin
expect_bad_input "safetensors header" "$tool" notjson.safetensors
expect_bad_input "no floating-point tensor" "$tool" ints.safetensors
expect_bad_input "--tensor 'nope*' matches no tensor" "$tool" --tensor 'nope*' ok.safetensors
expect_bad_input "not a regular file" "$tool" "$work"

# ---- golden figures on seeded N(0, 1), through the tool (windows around the expected values)
run "$tool" --synthetic gaussian --rows 1024 --cols 1024 --scaling tensor --csv golden.csv --quiet
check "golden run: exit $code, stderr $(cat err)" eval '[ "$code" -eq 0 ] && is_empty out && is_empty err'
check "golden CSV well formed" csv_strict golden.csv
e4m3=$(csv_column golden.csv sqnr_db format=e4m3)
e5m2=$(csv_column golden.csv sqnr_db format=e5m2)
bf16=$(csv_column golden.csv bf16_sqnr_db format=e4m3)
echo "golden N(0,1) per tensor: E4M3 $e4m3 dB, E5M2 $e5m2 dB, BF16 $bf16 dB"
check "E4M3 per-tensor SQNR $e4m3 dB, expected about 31.5" in_range "$e4m3" 31.2 31.8
check "E5M2 per-tensor SQNR $e5m2 dB, expected about 25.5" in_range "$e5m2" 25.2 25.8
check "BF16 SQNR $bf16 dB, expected about 55.6" in_range "$bf16" 55.0 56.2
check "amax scaling saturates nothing" [ "$(csv_column golden.csv saturation_fraction format=e4m3)" = 0 ]

# ---- every kind of input in one run; CSV and JSON read back strictly and agree
args=(a.npy b_fortran_be.npy c_f16.npy model.safetensors --synthetic llm --rows 64 --cols 512 --format e4m3,e5m2
      --scaling tensor,row,1x128,128x128,mx32,3x5 --scale-mode default,pow2)
recipes=$((2 * 6 * 2))
names=(a.npy b_fortran_be.npy c_f16.npy layers.0.mlp.weight layers.0.norm layers.10.norm llm)
run "$tool" "${args[@]}" --csv all.csv --json all.json
cp out all.txt
check "all inputs: exit $code, stderr $(cat err)" [ "$code" -eq 0 ]
check "non-float tensors are skipped with a note" grep -q "skipping tensor step (I64)" err
check "no progress on stderr when it is no terminal" eval '! grep -v skipping err'
check "CSV well formed" csv_strict all.csv
check "JSON well formed" json_strict all.json
check "${#names[@]} x $recipes CSV rows" [ "$(($(lines all.csv) - 1))" -eq $((${#names[@]} * recipes)) ]
check "tensors in the order given, safetensors in natural order" \
    [ "$(csv_column all.csv tensor | awk -v r=$recipes 'NR % r == 1' | paste -sd ' ')" = "${names[*]}" ]
check "JSON: one object per tensor" eval '[ "$(json_value all.json.flat .tool)" = "\"fp8-error\"" ] &&
    [ "$(grep -c "^\.tensors\[[0-9]*\]\.name	" all.json.flat)" -eq ${#names[@]} ]'
check "JSON: $recipes recipes per tensor" eval \
    '[ "$(grep -c "^\.tensors\[[0-9]*\]\.fp8\[[0-9]*\]\.format	" all.json.flat)" -eq $((${#names[@]} * recipes)) ]'
# each tensor's histogram counts every non-zero value
check "JSON: histograms count every non-zero value" awk -F '\t' '
    match($1, /^\.tensors\[[0-9]+\]\.input\.nonzero_count$/) { split($1, p, /[][]/); want[p[2]] = $2 }
    match($1, /^\.tensors\[[0-9]+\]\.input\.log2_histogram\.bins\[[0-9]+\]\[1\]$/) { split($1, p, /[][]/); got[p[2]] += $2 }
    END { for (t in want) if (got[t] != want[t]) exit 1; exit !length(want) }' all.json.flat
# row r of the CSV is recipe r % recipes of tensor r / recipes in the JSON, figure for figure
check "CSV and JSON agree" awk -F '\t' -v recipes=$recipes "$(cat "$cli_dir/csv.awk")"'
    FNR == NR { json[$1] = $2; next }
    FNR == 1 { for (k = csv_split($0, h); k > 0; k--) col[h[k]] = k; next }
    {
        csv_split($0, f)
        row = FNR - 2
        at = ".tensors[" int(row / recipes) "].fp8[" row % recipes "]."
        if (json[".tensors[" int(row / recipes) "].name"] != "\"" f[col["tensor"]] "\"") { if (bad++ < 5) print "name", row }
        n = split("format scaling scale_mode", keys, " ")
        for (k = 1; k <= n; k++) if (json[at keys[k]] != "\"" f[col[keys[k]]] "\"") { if (bad++ < 5) print keys[k], row }
        n = split("sqnr_db rel_l2 calc_diff underflow_fraction saturation_fraction max_rel_err", keys, " ")
        for (k = 1; k <= n; k++) {
            v = f[col[keys[k]]]
            if (!(v == json[at keys[k]] || (v ~ /^(-?inf|nan)$/ && json[at keys[k]] == "null"))) {
                if (bad++ < 5) print keys[k], row, v, json[at keys[k]]
            }
        }
    }
    END { exit bad > 0 }' all.json.flat all.csv
# the same values read from .npy (C and Fortran order, both byte orders): the same data
check "npy amax 6.25 and matrix views" eval '[ "$(json_value all.json.flat ".tensors[0].input.amax")" = 6.25 ] &&
    [ "$(json_value all.json.flat ".tensors[1].input.amax")" = 6.25 ] &&
    [ "$(json_value all.json.flat ".tensors[0].rows") $(json_value all.json.flat ".tensors[0].cols")" = "6 256" ] &&
    [ "$(json_value all.json.flat ".tensors[1].rows") $(json_value all.json.flat ".tensors[1].cols")" = "256 6" ]'
check "f16 npy amax 6.25 / 64" [ "$(json_value all.json.flat ".tensors[2].input.amax")" = 0.09765625 ]
# the FP8 weight is dequantized; its scale_inv is not a tensor of its own; BF16 of a BF16 tensor is exact
check "DeepSeek weight dequantized" eval '[ "$(json_value all.json.flat ".tensors[3].dequantized")" = true ] &&
    ! grep -q "weight_scale_inv" all.csv'
check "BF16 holds the E4M3 weight exactly" eval '[ "$(json_value all.json.flat ".tensors[3].bf16.sqnr_db")" = null ] &&
    [ "$(json_value all.json.flat ".tensors[3].bf16.max_abs_err")" = 0 ]'
check "re-quantizing a 128x128-block E4M3 weight with its own recipe is exact" eval \
    '[ "$(csv_column all.csv max_abs_err tensor=layers.0.mlp.weight format=e4m3 scaling=128x128 scale_mode=f32)" = 0 ] &&
     [ "$(csv_column all.csv sqnr_db tensor=layers.0.mlp.weight format=e4m3 scaling=128x128 scale_mode=f32)" = inf ]'
check "BF16 tensor: BF16 error zero (JSON null)" [ "$(json_value all.json.flat ".tensors[4].bf16.sqnr_db")" = null ]
# raw BF16 data through --dtype and --shape, JSON on stdout
run "$tool" --dtype bf16 --shape 6x256 d.raw --format e4m3 --scaling row --json -
cp out raw.json
check "raw bf16 input: exit $code" eval '[ "$code" -eq 0 ] && json_strict raw.json &&
    [ "$(json_value raw.json.flat ".tensors[0].input.amax")" = 6.25 ] &&
    [ "$(json_value raw.json.flat ".tensors[0].rows")" = 6 ]'

# ---- reproducible: the same bytes again, in any locale
run "$tool" "${args[@]}" --csv again.csv --json again.json
check "text output reproducible" cmp -s out all.txt
check "CSV reproducible" cmp -s all.csv again.csv
check "JSON reproducible" cmp -s all.json again.json
check "numbers in the C locale" eval '! csv_column all.csv sqnr_db | grep -q ,'

finish fp8-error
