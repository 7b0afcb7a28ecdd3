#!/usr/bin/env bash
# fp8-train as a user meets it: usage errors (exit 2), bad input (exit 1, one
# line), and a tiny two-recipe run on a generated text that must write the
# CSV, summary, gnuplot script and (when gnuplot is there) PNG and SVG.
# Usage: fp8_train.sh PATH_TO_FP8_TRAIN
set -uo pipefail
tool=$1
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$tool" --help | grep -q "^Usage: fp8-train" || fail "--help prints no usage"
for args in "--frobnicate" "--steps 0" "--steps x" "--recipes fp32,nope" "--recipes bf16,bf16" "--layers 9" \
            "--lr -1" "--threads 0" "--steps" "stray"; do
    # shellcheck disable=SC2086
    "$tool" $args >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "'$args' exits $rc, not 2"
done
err=$("$tool" --recipes nope 2>&1 >/dev/null | head -n 1)
[[ "$err" == "fp8-train: invalid value 'nope' for --recipes" ]] || fail "unclear usage error: $err"

"$tool" --text "$work/missing.txt" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] || fail "a missing text exits $rc, not 1"
[ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "^fp8-train: cannot open '$work/missing.txt'" "$work/err" ||
    fail "missing text: $(cat "$work/err")"
printf 'too short' >"$work/short.txt"
"$tool" --text "$work/short.txt" --out "$work/o" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "text too short" "$work/err" || fail "a short text exits $rc: $(cat "$work/err")"

# 64 KiB of text from a fixed pattern; 12 steps of 32 tokens of a narrow model.
awk 'BEGIN { for (i = 0; i < 2200; i++) printf "line %d: the quick brown fox jumps over the lazy dog.\n", i % 97 }' \
    >"$work/fox.txt"
"$tool" --text "$work/fox.txt" --out /proc/no/such/dir >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^fp8-train: cannot write in '/proc/no/such/dir'" "$work/err" ||
    fail "an unwritable output folder exits $rc: $(cat "$work/err")"
LC_ALL=de_DE.UTF-8 "$tool" --text "$work/fox.txt" --out "$work/run" --recipes bf16,deepseek --steps 12 --batch 32 \
    --hidden 128 --eval-every 4 --eval-tokens 128 --threads 1 >"$work/out" 2>"$work/err" ||
    fail "tiny run exited $?: $(cat "$work/err")"
grep -q "^deepseek .*%" "$work/out" || fail "no deepseek row with a difference: $(cat "$work/out")"
grep -q "^Verdict: goal \(met\|MISSED\)" "$work/out" || fail "no verdict: $(cat "$work/out")"
grep -q "^Memory: deepseek caches its FP8 input" "$work/out" || fail "no memory report"
csv="$work/run/loss.csv"
[ "$(head -n 1 "$csv")" = "step,lr,train_bf16,val_bf16,train_deepseek,val_deepseek" ] || fail "CSV header: $(head -n 1 "$csv")"
[ "$(wc -l <"$csv")" -eq 5 ] || fail "CSV is not a header and points at steps 0, 4, 8, 12"
awk -F, 'NR > 1 && ($4 !~ /^[0-9]+\.[0-9]+$/ || $6 !~ /^[0-9]+\.[0-9]+$/) { exit 1 }' "$csv" ||
    fail "validation losses are not C-locale numbers"
grep -q "^deepseek,[0-9.]*,[0-9.]*,-\?[0-9.]*,,[0-9.]*$" "$work/run/summary.csv" || fail "summary: $(cat "$work/run/summary.csv")"
grep -q "noenhanced" "$work/run/loss.gp" || fail "gnuplot script without noenhanced"
if command -v gnuplot >/dev/null 2>&1; then
    [ -s "$work/run/loss.png" ] && [ -s "$work/run/loss.svg" ] || fail "gnuplot is installed but no PNG/SVG was made"
fi
echo "fp8-train: all checks passed"
