#!/bin/sh
# claims.sh - `gpool claims` end to end on a small study the test writes
# (runs.csv rows built from the header of results/input-size/runs.csv, the
# values chosen so each verdict must come out): a parameter count the same
# in every pair holds without an interval; an accuracy difference within
# the margin does not hold; a noisy one is inconclusive; a train-test gap
# that goes one way at one training size and the other way at the other
# depends, naming the condition; a study not run yet is no evidence yet,
# not an error. A malformed results file and a malformed claims file fail
# with file and line and publish nothing. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init claims

study="$tmp/study"
mkdir -p "$study"
template="$srcdir/results/input-size/runs.csv"
[ -r "$template" ] || tap_bail "$template is missing"

# one row per training size, head and seed, the template's other values kept
head -2 "$template" | awk -F, -v OFS=, '
NR == 1 { print; for (i = 1; i <= NF; i++) c[$i] = i; next }
{
    split("0.004 -0.003 0.006 -0.005 0.001", n1, " ")
    split("0.011 -0.012 0.009 -0.008 0.010", n2, " ")
    split("gap gmp flatten_dense", heads, " ")
    id = 0
    for (r = 28; r <= 56; r += 28)
        for (h = 1; h <= 3; h++)
            for (s = 0; s < 5; s++) {
                hd = heads[h]
                if (hd == "flatten_dense") {
                    test = 0.90 + n2[s + 1]; gap = (r == 28 ? 0.05 : 0.03) + n2[s + 1] / 2
                    params = 73650
                } else {
                    test = 0.90 + n1[s + 1] + (hd == "gmp" ? (s % 2 ? 0.0004 : -0.0004) : 0)
                    gap = (r == 28 ? 0.02 : 0.06) + n1[s + 1] / 2
                    params = 68530
                }
                $c["run_id"] = sprintf("%016x", ++id); $c["data.resize"] = r
                $c["model.head"] = hd; $c["head"] = hd; $c["train.seed"] = s; $c["seed"] = s
                $c["params"] = params; $c["final_test_acc"] = sprintf("%.5f", test)
                $c["final_train_acc"] = sprintf("%.5f", test + gap)
                print
            }
}' >"$study/runs.csv"

cat >"$tmp/claims.yaml" <<YAML
claims:
  - {id: params, text: "fewer parameters", study: "$study", metric: params,
     a: [gap, gmp], b: [flatten_dense], pair: [seed, data.resize], direction: less}
  - {id: equivalent, text: "GAP better than GMP", study: "$study", metric: final_test_acc,
     a: [gap], b: [gmp], pair: [seed, data.resize], direction: greater, margin: 0.003}
  - {id: noisy, text: "GAP better than flatten", study: "$study", metric: final_test_acc,
     a: [gap], b: [flatten_dense], pair: [seed, data.resize], direction: greater,
     margin: 0.003}
  - {id: overfit, text: "less overfitting", study: "$study", metric: train_test_gap,
     a: [gap], b: [flatten_dense], direction: less, margin: 0.005, condition: data.resize}
  - {id: where, text: "loses the where", study: "$tmp/where", metric: pointing_acc,
     a: [gap], b: [flatten_dense], direction: less}
YAML

out="$tmp/out"
"$gpool" claims --out "$out" "$tmp/claims.yaml" >"$tmp/stdout" 2>"$tmp/stderr"
check "gpool claims exits 0 on a study and a missing one" [ $? -eq 0 ]
check "claims.md and claims.tex are written, no temporary left" \
    sh -c '[ -s "$1/claims.md" ] && [ -s "$1/claims.tex" ] && ! ls "$1" | grep -q tmp' - "$out"

# row ID: the claims.md row of a claim
row() { grep "^| \*\*$1\*\*" "$out/claims.md"; }
verdict() { row "$1" | awk -F' \\| ' '{ print $NF }'; }

check "a difference the same in every pair holds, with no interval" \
    sh -c 'echo "$1" | grep -q -- "-5120 (every pair, 10 pairs)" &&
           echo "$2" | grep -q "^holds (the same in every pair)"' - "$(row params)" \
    "$(verdict params)"
check "a difference within the margin does not hold (equivalent)" \
    sh -c 'echo "$1" | grep -q "^does not hold (equivalent within the margin)"' - \
    "$(verdict equivalent)"
check "a noisy difference is inconclusive" \
    sh -c 'echo "$1" | grep -q "^inconclusive (the interval spans 0"' - "$(verdict noisy)"
check "opposite effects at the two sizes: depends, naming the condition and values" \
    sh -c 'echo "$1" | grep -q "^depends on data.resize: holds at data.resize=28; does not hold at data.resize=56"' \
    - "$(verdict overfit)"
check "a study not run yet is no evidence yet" \
    sh -c 'echo "$1" | grep -q "no evidence yet: $2 missing"' - "$(row where)" "$tmp/where"
check "the evidence names the file, the rows and the pairs" \
    sh -c 'echo "$1" | grep -q "runs.csv: 20 of 30 rows (head gap: 10; flatten_dense: 10), 10 pairs by seed, data.resize"' \
    - "$(row noisy)"
# p and Holm columns of the noisy claim: Holm never below the raw p-value
pcols=$(row noisy | awk -F' \\| ' '{ print $4, $5 }')
check "a raw p-value and a Holm-adjusted one no smaller ($pcols)" \
    sh -c 'set -- $1; awk -v p="$1" -v h="$2" "BEGIN { exit !(p > 0 && p < 1 && h >= p && h <= 1) }"' \
    - "$pcols"
check "the verdicts are printed" grep -q "^overfit  *depends" "$tmp/stdout"
check "claims.tex escapes and has the table" \
    sh -c 'grep -q "begin{longtable}" "$1" && grep -q "data.resize=28" "$1" &&
           grep -q "train\\\\_test\\\\_gap" "$1"' - "$out/claims.tex"

# a value outside its column's rule: refused with file and line, nothing written
awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "final_test_acc") c = i }
                  NR == 3 { $c = 7 } { print }' "$study/runs.csv" >"$tmp/bad.csv"
mkdir -p "$tmp/bad" && cp "$tmp/bad.csv" "$tmp/bad/runs.csv"
sed "s|study: \"$study\"|study: \"$tmp/bad\"|" "$tmp/claims.yaml" >"$tmp/bad.yaml"
if cmp -s "$tmp/bad.csv" "$study/runs.csv"; then
    not_ok "the malformed copy differs from the study (sed matched nothing)"
else
    "$gpool" claims --out "$tmp/out-bad" "$tmp/bad.yaml" >/dev/null 2>"$tmp/stderr"
    rc=$?
    check "a malformed runs.csv fails naming file and line ($rc)" \
        sh -c '[ "$1" -eq 1 ] && grep -q "bad/runs.csv:3" "$2" && [ ! -e "$3/claims.md" ]' - \
        "$rc" "$tmp/stderr" "$tmp/out-bad"
fi

printf 'claims:\n  - {id: x, text: t, study: s, metric: m, a: [g], b: [h], directon: less}\n' \
    >"$tmp/typo.yaml"
"$gpool" claims --out "$tmp/out-typo" "$tmp/typo.yaml" >/dev/null 2>"$tmp/stderr"
rc=$?
check "a misspelt claims key fails at its line and column ($rc)" \
    sh -c '[ "$1" -eq 1 ] && grep -q "typo.yaml:2:[0-9]*:.*direction" "$2"' - "$rc" \
    "$tmp/stderr"

echo "1..$n"
