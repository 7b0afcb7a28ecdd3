#!/usr/bin/env bash
# fp8-info as a user meets it: the properties table, a full code table in text
# and CSV (checked against values every FP8 user knows), and usage errors.
# Usage: fp8_info.sh PATH_TO_FP8_INFO
set -uo pipefail
tool=$1
fail() { echo "FAIL: $*"; exit 1; }

out=$("$tool") || fail "no-argument run exited $?"
for f in e4m3 e5m2 e4m3fnuz e5m2fnuz; do grep -q "^$f " <<<"$out" || fail "properties lack $f"; done
grep -q "^e4m3 .* 448 " <<<"$out" || fail "E4M3 max is not 448"

csv=$("$tool" --table e4m3 --csv) || fail "--table e4m3 --csv exited $?"
[ "$(wc -l <<<"$csv")" -eq 257 ] || fail "E4M3 CSV table does not have a header and 256 rows"
grep -qx '0x7E,0.1111.110,normal,448,0x1.cp+8' <<<"$csv" || fail "E4M3 0x7E is not 448"
grep -qx '0x7F,0.1111.111,nan,nan,nan' <<<"$csv" || fail "E4M3 0x7F is not NaN"
grep -qx '0x01,0.0000.001,subnormal,0.001953125,0x1p-9' <<<"$csv" || fail "E4M3 0x01 is not 2^-9"
grep -qx '0x7C,0.11111.00,infinite,inf,inf' <<<"$("$tool" --table e5m2 --csv)" || fail "E5M2 0x7C is not +inf"
grep -qx '0x80,1.0000.000,nan,nan,nan' <<<"$("$tool" --table e4m3fnuz --csv)" || fail "E4M3FNUZ 0x80 is not NaN"
[ "$("$tool" --table E5M2 | wc -l)" -eq 258 ] || fail "text table is not a title, a header and 256 rows"

"$tool" --table e9m9 >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown format does not exit 2"
"$tool" --frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option does not exit 2"
"$tool" --table >/dev/null 2>&1; [ $? -eq 2 ] || fail "--table without a format does not exit 2"
err=$("$tool" --table e9m9 2>&1 >/dev/null | head -n 1)
[[ "$err" == "fp8-info: unknown format 'e9m9'"* ]] || fail "unclear error: $err"
"$tool" --help | grep -q "Usage:" || fail "--help prints no usage"
echo "fp8-info: all checks passed"
