#!/usr/bin/env bash
# fp8-gemm-error as its users meet it: exit statuses, CSV and JSON read back
# strictly and checked against each other, and DeepSeek-V3's figure in
# context: a 14-bit accumulator never promoted at K = 4096 on positive-mean
# data errs by the order of 1e-2 (DeepSeek-V3: nearly 2%) under the with-sum
# model, and promotion every 128 brings FP8's accumulation error to BF16's
# level (within a factor of 4 of BF16's own error) or below.
# Usage: fp8_gemm_error.sh FP8_GEMM_ERROR JSON_FLAT
set -uo pipefail
tool=$(realpath "$1") json_flat=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$work" || exit 1

# ---- usage
run "$tool" --help
check "--help" eval '[ "$code" -eq 0 ] && grep -q "^Usage: fp8-gemm-error" out && is_empty err'
run "$tool" --version
check "--version" eval '[ "$code" -eq 0 ] && grep -q "^fp8-gemm-error (libfp8) " out'
for args in "--bogus" "--k 0" "--k x" "--k 70000" "--k 128,,256" "--bits 25" "--bits 0" "--promote x" "--model both" \
    "--size 0x3" "--size 3" "--size 5000x2" "--mma-k 65" "--data cauchy" "--data gaussian+" "extra" "--k" \
    "--seed -1" "--csv - --json -"; do
    # shellcheck disable=SC2086
    expect_usage "$tool" $args
done
expect_bad_input "cannot write '$work/no/such/dir.csv'" "$tool" --k 128 --data gaussian --csv "$work/no/such/dir.csv"

# ---- DeepSeek-V3's figure: K = 4096 on N(1, 1), every default method
run "$tool" --k 512,4096 --data gaussian+1 --csv ds.csv --json ds.json
cp out ds.txt
check "DeepSeek run: exit $code, stderr $(cat err)" eval '[ "$code" -eq 0 ] && is_empty err'
check "CSV well formed" csv_strict ds.csv
check "JSON well formed" json_strict ds.json
check "2 K x 6 methods" [ "$(($(lines ds.csv) - 1))" -eq 12 ]
check "the context in plain words" grep -q "^DeepSeek-V3 in context (gaussian+1 data, K = 4096" ds.txt
ctx() { json_value ds.json.flat ".deepseek_context.$1"; }
unpromoted_sum=$(ctx unpromoted.with-sum) unpromoted_products=$(ctx unpromoted.products)
promoted_sum=$(ctx promoted.with-sum) promoted_products=$(ctx promoted.products) bf16=$(ctx bf16_total)
echo "K = 4096, 14 bits: never promoted $unpromoted_sum (with-sum), $unpromoted_products (products);" \
    "promoted every 128: $promoted_sum, $promoted_products; BF16 $bf16"
check "14 bits never promoted, with-sum: $unpromoted_sum is of the order of 1e-2" in_range "$unpromoted_sum" 0.005 0.2
check "the products-only model errs less: $unpromoted_products" in_range "$unpromoted_products" 0.0002 "$unpromoted_sum"
check "promotion every 128, with-sum: $promoted_sum within 4x BF16's $bf16" \
    awk -v p="$promoted_sum" -v b="$bf16" 'BEGIN { exit !(p > 0 && p <= 4 * b) }'
check "promotion every 128, products: $promoted_products at or below BF16's $bf16" \
    awk -v p="$promoted_products" -v b="$bf16" 'BEGIN { exit !(p > 0 && p <= b) }'
check "promotion cuts the with-sum error by more than 20x" \
    awk -v p="$promoted_sum" -v u="$unpromoted_sum" 'BEGIN { exit !(20 * p < u) }'
# the same figures in the CSV, and the unpromoted error grows with K
csv_fig() { csv_column ds.csv accumulation_max_rel_err "$@"; }
check "CSV and JSON agree on the context" eval '[ "$(csv_fig K=4096 accum_bits=14 promote_interval=0 accum_model=with-sum)" = "$unpromoted_sum" ] &&
    [ "$(csv_fig K=4096 accum_bits=14 promote_interval=128 accum_model=products)" = "$promoted_products" ] &&
    [ "$(csv_column ds.csv total_max_rel_err K=4096 operands=bf16)" = "$bf16" ]'
check "the unpromoted error grows with K" awk -v a="$(csv_fig K=512 accum_bits=14 promote_interval=0 accum_model=with-sum)" \
    -v b="$unpromoted_sum" 'BEGIN { exit !(4 * a < b) }'
check "FP32 accumulation of E4M3 operands: accumulation error below 1e-5" \
    in_range "$(csv_fig K=4096 operands=e4m3 accumulator=fp32)" 0 1e-5
# every CSV row is the JSON result of the same index
check "CSV and JSON agree row by row" awk -F '\t' "$(cat "$cli_dir/csv.awk")"'
    FNR == NR { json[$1] = $2; next }
    FNR == 1 { n = csv_split($0, h); next }
    {
        csv_split($0, f)
        at = ".results[" FNR - 2 "]."
        for (k = 1; k <= n; k++) {
            key = h[k]
            sub(/^accumulation_/, "accumulation.", key)
            sub(/^total_/, "total.", key)
            want = json[at key]
            v = f[k]
            if (want ~ /^"/) v = "\"" v "\""
            if (want == "null" && (v == "" || v == "0" || v ~ /^(-?inf|nan)$/)) continue
            if (v != want && bad++ < 5) print "row " FNR - 1 ", " h[k] ": CSV " v ", JSON " want
        }
    }
    END { exit bad > 0 }' ds.json.flat ds.csv

# ---- without positive-mean data at K = 4096 there is no context, and it says so
run "$tool" --k 256 --data gaussian --json -
cp out none.json
check "no context: JSON null" eval '[ "$code" -eq 0 ] && json_strict none.json &&
    [ "$(json_value none.json.flat .deepseek_context)" = null ]'
run "$tool" --k 256 --data gaussian
check "no context: said in words" grep -q "DeepSeek-V3 in context: not in this sweep" out

# ---- reproducible
run "$tool" --k 512,4096 --data gaussian+1 --csv again.csv --json again.json
check "text reproducible" cmp -s out ds.txt
check "CSV reproducible" cmp -s again.csv ds.csv
check "JSON reproducible" cmp -s again.json ds.json

finish fp8-gemm-error
