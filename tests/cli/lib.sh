# Sourced by the CLI tests (bash): checks that count and report, the tools
# run with their output captured, and strict readers of the CSV (awk,
# csv.awk) and JSON (json_flat) they write. The caller sets $work (a
# scratch directory) and $json_flat (the checker's path).
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checks=0
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# check DESCRIPTION COMMAND...: one check; fails when COMMAND does.
check() {
    local what=$1
    shift
    checks=$((checks + 1))
    "$@" || fail "$what"
}

# run COMMAND...: runs it with stdout in $work/out and stderr in $work/err, its status in $code,
# in a locale with a decimal comma (the tools must print in the C locale whatever it says).
run() {
    env LC_ALL=de_DE.UTF-8 "$@" >"$work/out" 2>"$work/err"
    code=$?
}

lines() { wc -l <"$1"; }
is_empty() { [ ! -s "$1" ]; }

# expect_usage TOOL ARGS...: exit 2, nothing on stdout, and on stderr exactly
# "TOOL: <reason>" and "Try 'TOOL --help'.".
expect_usage() {
    local name
    name=$(basename "$1")
    run "$@"
    checks=$((checks + 1))
    if [ "$code" -ne 2 ] || [ -s "$work/out" ] || [ "$(lines "$work/err")" -ne 2 ] ||
        [[ "$(head -n 1 "$work/err")" != "$name: "* ]] || [ "$(tail -n 1 "$work/err")" != "Try '$name --help'." ]; then
        fail "usage error for '${*:2}': exit $code, stderr: $(cat "$work/err")"
    fi
}

# expect_bad_input REASON TOOL ARGS...: exit 1, nothing on stdout, one line on
# stderr, "TOOL: ...", holding REASON.
expect_bad_input() {
    local reason=$1 name
    shift
    name=$(basename "$1")
    run "$@"
    checks=$((checks + 1))
    if [ "$code" -ne 1 ] || [ -s "$work/out" ] || [ "$(lines "$work/err")" -ne 1 ] ||
        [[ "$(cat "$work/err")" != "$name: "*"$reason"* ]]; then
        fail "bad input '${*:2}' (expected '$reason'): exit $code, stderr: $(cat "$work/err")"
    fi
}

# csv_strict FILE: a header and at least one row, every record well formed
# with the header's number of fields, the file ending in a newline.
csv_strict() {
    [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" = 0a ] &&
        awk "$(cat "$cli_dir/csv.awk")"'
            { n = csv_split($0, f) }
            n < 0 { print FILENAME ": line " NR ": malformed record"; bad = 1; exit }
            NR == 1 { width = n; next }
            n != width { print FILENAME ": line " NR ": " n " fields, the header has " width; bad = 1; exit }
            END { if (bad || NR < 2) exit 1 }' "$1"
}

# csv_column FILE COLUMN [NAME=VALUE...]: prints COLUMN of the rows whose
# fields NAME equal VALUE, one a line.
csv_column() {
    local file=$1 column=$2
    shift 2
    awk -v column="$column" -v filters="$*" "$(cat "$cli_dir/csv.awk")"'
        NR == 1 {
            for (k = csv_split($0, h); k > 0; k--) index_of[h[k]] = k
            nf = split(filters, filter, " ")
            next
        }
        {
            csv_split($0, f)
            for (k = 1; k <= nf; k++) {
                split(filter[k], kv, "=")
                if (f[index_of[kv[1]]] != kv[2]) next
            }
            print f[index_of[column]]
        }' "$file"
}

# json_strict FILE: valid JSON by json_flat's strict rules; its flat form goes to FILE.flat.
json_strict() { "$json_flat" "$1" >"$1.flat"; }

# json_value FLATFILE PATH: the token at PATH (e.g. .tensors[0].name).
json_value() { awk -F '\t' -v path="$2" '$1 == path { print $2; found = 1; exit } END { exit !found }' "$1"; }

# in_range VALUE LOW HIGH: LOW < VALUE < HIGH (numbers as awk reads them).
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v + 0 > lo + 0 && v + 0 < hi + 0 && v != "") }'; }

# finish NAME: the summary line; the exit status says whether every check passed.
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$1: $failures of $checks checks failed"
        exit 1
    fi
    echo "$1: all $checks checks passed"
    exit 0
}
