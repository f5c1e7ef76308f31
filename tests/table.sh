#!/bin/sh
# table.sh - `gpool table` on the fixed results in tests/fixtures/heads-mini
# (hand-written runs.csv, epochs.csv and config.yaml: 2 heads x 2 batch
# sizes x 3 seeds, one run diverged): the exact markdown rows for means and
# sds worked out by hand, the excluded note, the LaTeX, grouping, columns,
# sorting and precision from the config's table: section, config errors
# with file:line:col, bad command lines, corrupt results files refused with
# file and line (a run or epoch twice, nan, inf, negative or above-1
# values, an unknown status, a row cut short, an epochs.csv row of no run),
# and the charts (each PNG decoded, each SVG parsed as XML). Then the input-size table and charts from
# tests/fixtures/sizes-mini (evals.csv: gap and flatten_dense x 3 seeds, one
# diverged, tested at 20, 28 and 36 pixels, resized and on a canvas): exact
# rows, the n/a cells and their reasons, and that a DIR without evals.csv
# gets neither. Last, every committed results/ directory renders. Emits TAP;
# writes only under a mktemp -d dir.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_locate
fixture="$srcdir/tests/fixtures/heads-mini"
sizes_fixture="$srcdir/tests/fixtures/sizes-mini"
[ -r "$fixture/runs.csv" ] || { echo "Bail out! no $fixture/runs.csv"; exit 1; }
[ -r "$sizes_fixture/evals.csv" ] || { echo "Bail out! no $sizes_fixture/evals.csv"; exit 1; }
tap_mktemp table 'chmod -R u+w "$tmp" 2>/dev/null'

# has_line FILE LINE: FILE holds exactly LINE (a whole line, no regex)
has_line() { grep -Fqx -- "$2" "$1" || { echo "# missing line in $1: $2"; sed 's/^/#   /' "$1"; return 1; }; }
# fresh NAME [FIXTURE]: a writable copy of the fixture (default heads-mini)
fresh() { rm -rf "$tmp/$1"; cp -R "${2:-$fixture}" "$tmp/$1" && chmod -R u+w "$tmp/$1"; }
# failed_saying DIR PATTERN: the last gpool table exited 1, said PATTERN (a
# grep regex) and wrote no table into DIR
failed_saying() {
    [ "$rc" -eq 1 ] && [ ! -e "$1/table.md" ] && grep -q -- "$2" "$tmp/err" ||
        { echo "# exit $rc, stderr:"; sed 's/^/#   /' "$tmp/err"; return 1; }
}
# table DIR [OPTIONS]: run gpool table from an empty directory with a bare
# environment (no data set, no GPOOL_* variables); charts only when
# charts=1, and with GNUPLOT empty when nognuplot=1; status in $rc, output
# in $tmp/out and $tmp/err
mkdir "$tmp/cwd" || exit 1
charts=0 nognuplot=0
table() {
    flag=--no-charts
    [ "$charts" = 1 ] && flag=
    gp_env=
    if [ "$nognuplot" = 1 ]; then gp_env=GNUPLOT=; elif [ -n "${GNUPLOT+x}" ]; then gp_env="GNUPLOT=$GNUPLOT"; fi
    (cd "$tmp/cwd" && env -i PATH="$PATH" HOME="$tmp/cwd" $gp_env \
        "$gpool" table $flag "$@" >"$tmp/out" 2>"$tmp/err")
    rc=$?
}

# ------------------------------------------------ the default table
fresh res
charts=1
table "$tmp/res"
charts=0
cp "$tmp/err" "$tmp/first.err"
check "gpool table exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
md="$tmp/res/table.md"
check "table.md and table.tex are written" [ -s "$md" -a -s "$tmp/res/table.tex" ]
check "the markdown table is printed to stdout" cmp -s "$md" "$tmp/out"

# Default grouping: every swept path but train.seed -> (model.head, train.batch).
check "the header names the group keys and every column" has_line "$md" \
    "| model.head | train.batch | n | final test acc (%) | best test acc (%) | train-test gap (pp) | params | fwd MFLOPs/img | train memory (MiB) | time/epoch (s) | img/s | peak RSS (MiB) |"
# gap, 32 (seeds 0-2): test .85 .86 .87 -> 86.00, sd sqrt((1+0+1)/2) = 1.00;
# best .855 .865 .875 -> 86.50 +- 1.00; train .87 .88 .89, gap 2 2 2 -> 2.00 +- 0.00;
# params 1234 -> "1,234"; flops 2500000 -> 2.50 M; mem_total 3145728 B = 3.00 MiB;
# train_s 3.0 3.3 3.6 over 3 epochs -> 1.0 1.1 1.2 -> 1.10 +- 0.10;
# img/s 1000 1100 1200 -> 1100 +- 100; RSS 50 52 54 -> 52.0 +- 2.0
check "row gap/32: means and sds over 3 seeds" has_line "$md" \
    "| gap | 32 | 3 | 86.00 ± 1.00 | 86.50 ± 1.00 | 2.00 ± 0.00 | 1,234 | 2.50 | 3.00 | 1.10 ± 0.10 | 1100 ± 100 | 52.0 ± 2.0 |"
# gap, 64: test .80 .82 .84 -> 82.00, sd sqrt((4+0+4)/2) = 2.00; best .81 .83 .85 -> 83.00 +- 2.00;
# train .83 .84 .85 -> gaps 3 2 1 -> 2.00 +- 1.00; 5242880 B = 5.00 MiB;
# train_s 1.5 1.8 2.1 / 3 -> 0.5 0.6 0.7 -> 0.60 +- 0.10; img/s 2000 2200 2400 -> 2200 +- 200;
# RSS 60 61 62 -> 61.0 +- 1.0
check "row gap/64: means and sds over 3 seeds" has_line "$md" \
    "| gap | 64 | 3 | 82.00 ± 2.00 | 83.00 ± 2.00 | 2.00 ± 1.00 | 1,234 | 2.50 | 5.00 | 0.60 ± 0.10 | 2200 ± 200 | 61.0 ± 1.0 |"
# flatten_dense, 32: test .90 .905 .91 -> 90.50, sd sqrt((.25+0+.25)/2) = 0.50; best .91 .915 .92
# -> 91.50 +- 0.50; train .95 .96 .97 -> gaps 5 5.5 6 -> 5.50 +- 0.50; params 123456;
# flops 3000000 -> 3.00; 10485760 B = 10.00 MiB; train_s 6.0 6.0 6.3 / 3 -> 2.0 2.0 2.1 ->
# 2.0333, sd sqrt((2 x 0.0333^2 + 0.0667^2)/2) = 0.0577 -> 2.03 +- 0.06;
# img/s 500 510 520 -> 510 +- 10; RSS 100 100 100 -> 100.0 +- 0.0
check "row flatten_dense/32: means and sds over 3 seeds" has_line "$md" \
    "| flatten_dense | 32 | 3 | 90.50 ± 0.50 | 91.50 ± 0.50 | 5.50 ± 0.50 | 123,456 | 3.00 | 10.00 | 2.03 ± 0.06 | 510 ± 10 | 100.0 ± 0.0 |"
# flatten_dense, 64: seed 2 diverged, so n = 2: test .88 .89 -> 88.50, sd sqrt(2 x .5^2) = 0.71;
# best .885 .895 -> 89.00 +- 0.71; train .93 .95 -> gaps 5 6 -> 5.50 +- 0.71;
# 15728640 B = 15.00 MiB; train_s 3.0 3.6 / 3 -> 1.0 1.2 -> 1.10 +- 0.14;
# img/s 1000 900 -> 950 +- 71; RSS 110 112 -> 111.0 +- 1.4
# (with the diverged run's test .10 the mean would be 62.33)
check "row flatten_dense/64: the diverged run is left out (n = 2)" has_line "$md" \
    "| flatten_dense | 64 | 2 | 88.50 ± 0.71 | 89.00 ± 0.71 | 5.50 ± 0.71 | 123,456 | 3.00 | 15.00 | 1.10 ± 0.14 | 950 ± 71 | 111.0 ± 1.4 |"
check "one row per group (4), in runs.csv order" \
    [ "$(grep -E '^\| (gap|flatten_dense) \|' "$md" | cut -d'|' -f2,3 | tr -d ' ' | tr '\n' ' ')" \
      = "gap|32 gap|64 flatten_dense|32 flatten_dense|64 " ]
check "the excluded note counts the runs left out" has_line "$md" \
    "- Excluded from the means: 1 of 12 runs (status not ok):"
check "... and names the run, its status and its reason (quoted in runs.csv)" has_line "$md" \
    "  - model.head=flatten_dense train.batch=64 train.seed=2 (run aef2e10f54ab5ae8): diverged: loss is nan at epoch 2, step 17"
check "best accuracy is said to be chosen on the validation split" \
    grep -q 'best test acc: at the epoch with the highest validation accuracy' "$md"

# ------------------------------------------------------------- LaTeX
# latex_checks WHAT FILE: what every LaTeX table of gpool table passes
latex_checks() {
    check "$1: toprule, midrule, bottomrule in that order" \
        [ "$(grep -E '^\\(toprule|midrule|bottomrule)$' "$2" | tr '\n' ' ')" \
          = '\toprule \midrule \bottomrule ' ]
    check "$1: no unescaped underscore outside comments" \
        [ -z "$(grep -v '^%' "$2" | grep -E '(^|[^\\])_')" ]
    check "$1: every begin has its end" \
        [ "$(grep -o '\\begin{[a-z]*}' "$2" | sort | sed 's/begin/x/')" \
          = "$(grep -o '\\end{[a-z]*}' "$2" | sort | sed 's/end/x/')" ]
}
tex="$tmp/res/table.tex"
check "LaTeX: a booktabs tabular, 2 key columns left, 10 numbers right" \
    has_line "$tex" '\begin{tabular}{llrrrrrrrrrr}'
check "LaTeX: a header line and 4 rows, each ending the line" \
    [ "$(sed -n '/^\\toprule$/,/^\\bottomrule$/p' "$tex" | grep -c '\\\\$')" -eq 5 ]
check "LaTeX: the flatten_dense/64 row, underscores and thousands escaped" has_line "$tex" \
    'flatten\_dense & 64 & 2 & 88.50 $\pm$ 0.71 & 89.00 $\pm$ 0.71 & 5.50 $\pm$ 0.71 & 123{,}456 & 3.00 & 15.00 & 1.10 $\pm$ 0.14 & 950 $\pm$ 71 & 111.0 $\pm$ 1.4 \\'
latex_checks LaTeX "$tex"
check "LaTeX: the excluded run is listed" \
    grep -q 'model.head=flatten\\_dense train.batch=64 train.seed=2 (run aef2e10f54ab5ae8): diverged' "$tex"

# ------------------------------------------------------ only the CSVs
check "the fixture was only read (runs.csv, epochs.csv, config.yaml unchanged)" \
    sh -c "cmp -s '$fixture/runs.csv' '$tmp/res/runs.csv' && cmp -s '$fixture/epochs.csv' '$tmp/res/epochs.csv' && cmp -s '$fixture/config.yaml' '$tmp/res/config.yaml'"
check "nothing was written into the working directory" [ -z "$(ls -A "$tmp/cwd")" ]
check "no temporary files are left" [ -z "$(find "$tmp/res" -name '*.tmp*')" ]
fresh ro
chmod -R a-w "$tmp/ro"
table "$tmp/ro" --out "$tmp/ro-out"
check "a read-only results directory with --out DIR2 works (exit 0)" [ "$rc" -eq 0 ]
check "... and writes the same table into DIR2" cmp -s "$md" "$tmp/ro-out/table.md"
chmod -R u+w "$tmp/ro"
mkdir "$tmp/bare" && cp "$fixture/runs.csv" "$tmp/bare/"
table "$tmp/bare"
check "runs.csv alone is enough (no config.yaml, no epochs.csv: defaults)" [ "$rc" -eq 0 ]
check "... giving the same table" cmp -s "$tmp/bare/table.md" "$md"

# ---------------------------------------- settings from the config
fresh grouped
cat >>"$tmp/grouped/config.yaml" <<'EOF'
table:
  group_by: [model.head]
  columns: [n, final_test_acc, memory]
  sort: final_test_acc
  precision: 3
EOF
table "$tmp/grouped"
check "a configured grouping exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
check "the configured columns only" has_line "$tmp/grouped/table.md" \
    "| model.head | n | final test acc (%) | train memory (MiB) |"
# flatten_dense over both batches (5 ok runs): test 90 90.5 91 88 89 -> 448.5/5 = 89.700,
# deviations .3 .8 1.3 -1.7 -.7, squares sum 5.8, /4 = 1.45, sd 1.20416 -> 1.204;
# memory 10 10 10 15 15 MiB -> 12.00, squares 4+4+4+9+9 = 30, /4 = 7.5, sd 2.7386 -> 2.74
# (memory keeps its own 2 decimals; it varies inside the row, so it gets an sd)
check "grouped by model.head: flatten_dense over 5 runs, 3 decimals" has_line "$tmp/grouped/table.md" \
    "| flatten_dense | 5 | 89.700 ± 1.204 | 12.00 ± 2.74 |"
# gap (6 runs): test 85 86 87 80 82 84 -> 504/6 = 84.000, deviations 1 2 3 -4 -2 0,
# squares 34, /5 = 6.8, sd 2.60768 -> 2.608; memory 3 3 3 5 5 5 -> 4.00, squares 6, /5 = 1.2,
# sd 1.0954 -> 1.10
check "grouped by model.head: gap over 6 runs" has_line "$tmp/grouped/table.md" \
    "| gap | 6 | 84.000 ± 2.608 | 4.00 ± 1.10 |"
check "sorted by final test accuracy, largest first" \
    [ "$(grep -E '^\| (gap|flatten_dense) \|' "$tmp/grouped/table.md" | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" \
      = "flatten_dense gap " ]
cat >"$tmp/single.yaml" <<'EOF'
name: heads-mini-single
model: {trunk: [{type: relu}], head: gap}
table: {group_by: [model.head, train.batch, train.seed], columns: [n, final_test_acc]}
EOF
table "$tmp/res" --config "$tmp/single.yaml" --out "$tmp/single"
check "--config FILE takes the table section from FILE" [ "$rc" -eq 0 ]
check "one run per row: its sd is shown as -" has_line "$tmp/single/table.md" \
    "| gap | 32 | 0 | 1 | 85.00 ± - |"
check "a row whose only run diverged has n = 0 and no mean" has_line "$tmp/single/table.md" \
    "| flatten_dense | 64 | 2 | 0 | n/a |"
check "the title names the experiment of --config" grep -q '^\*\*heads-mini-single\*\*' "$tmp/single/table.md"

# ------------------------------------------------------ config errors
# config_error NAME COL PATTERN WHAT YAML: the fixture's config with YAML
# appended (its value on the second line) is an error at that line and COL
config_error() {
    fresh "$1"
    line=$(($(wc -l <"$tmp/$1/config.yaml") + 2))
    printf '%b\n' "$5" >>"$tmp/$1/config.yaml"
    table "$tmp/$1"
    check "$4 is an error (exit 1) at config.yaml:$line:$2, writing no table" \
        failed_saying "$tmp/$1" "$1/config.yaml:$line:$2: .*$3"
}
config_error badcol 16 "final_tst_acc.*did you mean 'final_test_acc'" "an unknown column" \
    'table:\n  columns: [n, final_tst_acc]'
config_error twicecol 32 "table.columns: 'n' is listed twice" "a column listed twice" \
    'table:\n  columns: [n, final_test_acc, n]'
config_error badkey 14 "model.hed.*did you mean 'model.head'" \
    "a group_by key that is no runs.csv column" 'table:\n  group_by: [model.hed]'

# ----------------------------------------------------- input errors
table "$tmp/nonexistent"
check "a missing DIR is an error (exit 1) naming it" \
    sh -c "[ $rc -eq 1 ] && grep -q 'nonexistent' '$tmp/err'"
mkdir "$tmp/empty"
table "$tmp/empty"
check "a DIR without runs.csv is an error (exit 1) saying so" \
    sh -c "[ $rc -eq 1 ] && grep -q 'no runs.csv' '$tmp/err'"
fresh cols
awk -F, 'BEGIN { OFS = "," } { $11 = $12 = "" ; print }' "$fixture/runs.csv" |
    sed 's/,,,/,/' >"$tmp/cols/runs.csv"
table "$tmp/cols"
check "a runs.csv without params and flops is an error (exit 1)" [ "$rc" -eq 1 ]
check "... that names both missing columns" grep -q 'missing columns: params, flops' "$tmp/err"
# broken NAME FIXTURE FILE SCRIPT PATTERN WHAT: FILE of a copy of FIXTURE,
# edited by the sed SCRIPT, is an error saying PATTERN
broken() {
    fresh "$1" "$2"
    sed "$4" "$2/$3" >"$tmp/$1/$3"
    table "$tmp/$1"
    check "$6 is an error (exit 1) saying: $5" failed_saying "$tmp/$1" "$5"
}
broken short "$fixture" runs.csv '3s/,ok,$/,ok/' 'runs.csv:3: ' "a row with a missing field"

# ---- what the results-file reader refuses (records/results.h), each with
# the file and line: never a table that counts a run twice, shows a value
# that cannot be as n/a, or prints it
broken twice "$fixture" runs.csv '$p' \
    'runs.csv:14: a second row of run_id aef2e10f54ab5ae8 (the first is line 13)' \
    "a run twice in runs.csv (12 runs, not 13)"
broken nan "$fixture" runs.csv '2s/,0.85000,0.85500,/,nan,0.85500,/' \
    "runs.csv:2: column final_test_acc: 'nan' is not a finite number" "a nan accuracy"
broken inf "$fixture" runs.csv '2s/,0.85000,0.85500,/,0.85000,inf,/' \
    "runs.csv:2: column best_test_acc: 'inf' is not a finite number" "an infinite accuracy"
broken negative "$fixture" runs.csv 's/,1234,2500000,/,-5,2500000,/' \
    'runs.csv:2: column params: -5 is below 0, the least it can be' "params = -5"
broken above "$fixture" runs.csv '3s/,0.86000,0.86500,/,1.86000,0.86500,/' \
    'runs.csv:3: column final_test_acc: 1.86000 is outside \[0, 1\]' "an accuracy above 1"
broken status "$fixture" runs.csv '4s/,ok,$/,done,/' \
    "runs.csv:4: column status: 'done' is none of ok, diverged, failed, interrupted" \
    "a status that is none"
broken epoch-twice "$fixture" epochs.csv '2p' \
    'epochs.csv:3: a second row of run_id f064c9a0887184fe, epoch 1 (the first is line 2)' \
    "an epoch of a run twice in epochs.csv"
broken epoch-orphan "$fixture" epochs.csv '2s/^f064c9a0887184fe,/0123456789abcdef,/' \
    'epochs.csv:2: run 0123456789abcdef is not in .*runs.csv' "an epochs.csv row of no run"
fresh cut
head -c -1 "$fixture/runs.csv" >"$tmp/cut/runs.csv"
table "$tmp/cut"
check "a runs.csv cut short (no final newline) is an error (exit 1) saying so" \
    failed_saying "$tmp/cut" 'runs.csv:13: the row is cut short: the file ends in the middle of it'

# ------------------------------------------------------ command line
table
check "no DIR is a usage error (exit 2) with the usage" \
    sh -c "[ $rc -eq 2 ] && grep -q 'Usage: gpool table' '$tmp/err'"
table "$tmp/res" --bogus
check "an unknown option is a usage error (exit 2)" \
    sh -c "[ $rc -eq 2 ] && grep -q \"unknown option '--bogus'\" '$tmp/err'"
table "$tmp/res" --format html
check "--format html is a usage error (exit 2)" [ "$rc" -eq 2 ]
table "$tmp/res" "$tmp/res"
check "two DIRs are a usage error (exit 2)" [ "$rc" -eq 2 ]
table --help
check "--help exits 0 with the usage" sh -c "[ $rc -eq 0 ] && grep -q 'Usage: gpool table' '$tmp/out'"
table "$tmp/res" --format tex --out "$tmp/texonly"
check "--format tex writes only table.tex and prints it" \
    sh -c "[ $rc -eq 0 ] && [ -s '$tmp/texonly/table.tex' ] && [ ! -e '$tmp/texonly/table.md' ] && cmp -s '$tmp/texonly/table.tex' '$tmp/out'"

# ------------------------------------------- other input sizes (evals.csv)
check "without evals.csv there is no size table" \
    [ ! -e "$tmp/res/table-sizes.md" -a ! -e "$tmp/res/table-sizes.tex" ]
check "... and no accuracy-vs-size chart, and no note about it" \
    sh -c "[ -z \"\$(ls '$tmp/res' | grep accuracy-vs-size)\" ] && ! grep -q -e evals -e accuracy-vs-size '$tmp/first.err'"
fresh sizes "$sizes_fixture"
table "$tmp/sizes"
sz="$tmp/sizes/table-sizes.md"
check "with evals.csv: gpool table exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
check "table-sizes.md and table-sizes.tex are written beside table.md and table.tex" \
    [ -s "$sz" -a -s "$tmp/sizes/table-sizes.tex" -a -s "$tmp/sizes/table.md" ]
check "both markdown tables are printed, the size table second" \
    sh -c "{ cat '$tmp/sizes/table.md'; echo; cat '$sz'; } | cmp -s - '$tmp/out'"
check "the size table's title names the experiment" has_line "$sz" \
    "**sizes-mini**: test accuracy (%) at other input sizes, mean ± sd over seeds"
# default grouping: model.head (train.seed merged); one column per eval size, ascending
check "the header: method, the group key, train size, n, one column per size" has_line "$sz" \
    "| method | model.head | train size (px) | n | 20 px | 28 px | 36 px |"
# gap, resize (3 seeds): 20: .70 .72 .74 -> 72.00, sd sqrt((4+0+4)/2) = 2.00;
# 28: .85 .86 .87 -> 86.00 +- 1.00; 36: .78 .80 .85 -> 81.00, deviations -3 -1 4,
# squares 26, /2 = 13, sd 3.6056 -> 3.61
check "row resize/gap: mean +- sd over 3 seeds at each size" has_line "$sz" \
    "| resize | gap | 28 | 3 | 72.00 ± 2.00 | 86.00 ± 1.00 | 81.00 ± 3.61 |"
# flatten_dense: seed 2 diverged (no evals.csv rows; n = 2); 28: .90 .91 -> 90.50,
# sd sqrt(2 x .5^2) = 0.71; 20 and 36 cannot be had: reasons numbered as cited
check "row resize/flatten_dense: n/a at 20 and 36 with reason numbers, n = 2" has_line "$sz" \
    "| resize | flatten_dense | 28 | 2 | n/a [1] | 90.50 ± 0.71 | n/a [2] |"
# gap, canvas_center: 20 is smaller than the image; 36: .60 .65 .64 -> 63.00,
# deviations -3 2 1, squares 14, /2 = 7, sd 2.6458 -> 2.65
check "row canvas_center/gap: n/a at 20 (canvas smaller than the image)" has_line "$sz" \
    "| canvas_center | gap | 28 | 3 | n/a [3] | 86.00 ± 1.00 | 63.00 ± 2.65 |"
check "row canvas_center/flatten_dense: the reasons already cited keep their numbers" has_line "$sz" \
    "| canvas_center | flatten_dense | 28 | 2 | n/a [3] | 90.50 ± 0.71 | n/a [2] |"
check "one row per (method, head), methods in evals.csv order" \
    [ "$(grep -E '^\| (resize|canvas_center) \|' "$sz" | cut -d'|' -f2,3 | tr -d ' ' | tr '\n' ' ')" \
      = "resize|gap resize|flatten_dense canvas_center|gap canvas_center|flatten_dense " ]
check "the reasons are listed once each (3, though 14 rows are n/a)" \
    [ "$(grep -c '^  - \[[0-9]*\] ' "$sz")" -eq 3 ]
check "... reason 1: flatten_dense at 20 pixels" has_line "$sz" \
    "  - [1] flatten_dense's dense layer takes 1568 features, a 20x20 input gives 800"
check "... reason 2: flatten_dense at 36 pixels" has_line "$sz" \
    "  - [2] flatten_dense's dense layer takes 1568 features, a 36x36 input gives 2592"
check "... reason 3: the canvas" has_line "$sz" "  - [3] canvas smaller than the 28x28 image"
check "the methods are explained" \
    sh -c "grep -q '^- resize: the test images resized' '$sz' && grep -q '^- canvas_center: the test images unchanged, centred' '$sz'"
check "the diverged run is said to be left out" has_line "$sz" \
    "- Left out, as from the main table: the runs whose status is not ok (1)."
check "no (n=k) or not-evaluated note when every cell is whole" \
    sh -c "! grep -q -e '(n=k)' -e 'not evaluated' '$sz'"
check "the main table is unchanged by evals.csv (gap: 86.00 +- 1.00 over 3 runs)" \
    grep -q '^| gap | 3 | 86.00 ± 1.00 | ' "$tmp/sizes/table.md"
szt="$tmp/sizes/table-sizes.tex"
check "LaTeX sizes: a tabular with method and key left, train size, n and 3 sizes right" \
    has_line "$szt" '\begin{tabular}{llrrrrr}'
check "LaTeX sizes: the header" has_line "$szt" \
    'method & model.head & train size (px) & $n$ & 20 px & 28 px & 36 px \\'
check "LaTeX sizes: the flatten_dense resize row, n/a with superscript reason numbers" \
    has_line "$szt" 'resize & flatten\_dense & 28 & 2 & n/a$^{1}$ & 90.50 $\pm$ 0.71 & n/a$^{2}$ \\'
check "LaTeX sizes: reason 3 is an item labelled with its number" has_line "$szt" \
    '  \item[$^{3}$] canvas smaller than the 28x28 image'
latex_checks "LaTeX sizes" "$szt"
check "LaTeX sizes: its own label" has_line "$szt" '\label{tab:sizes-mini-sizes}'
table "$tmp/sizes" --format tex --out "$tmp/sizes-tex"
check "--format tex prints both LaTeX tables and writes no markdown" \
    sh -c "[ $rc -eq 0 ] && [ ! -e '$tmp/sizes-tex/table-sizes.md' ] && { cat '$tmp/sizes-tex/table.tex'; echo; cat '$tmp/sizes-tex/table-sizes.tex'; } | cmp -s - '$tmp/out'"

# the seed is merged even when the main table groups by it
fresh sizes-seed "$sizes_fixture"
printf 'table:\n  group_by: [model.head, train.seed]\n' >>"$tmp/sizes-seed/config.yaml"
table "$tmp/sizes-seed"
check "group_by with train.seed: the main table has a row per seed" \
    sh -c "[ $rc -eq 0 ] && grep -q '^| gap | 1 | 1 | 86.00 ± - |' '$tmp/sizes-seed/table.md'"
check "... the size table still merges the seeds (the same table)" \
    cmp -s "$sz" "$tmp/sizes-seed/table-sizes.md"

# rows of the diverged run (if gpool run wrote any) stay out, like the run
fresh sizes-div "$sizes_fixture"
for z in 20 28 36; do
    printf '8ca395108b514dd1,flatten_dense,2,flatten_dense,2,28,%s,resize,0.10000,2.3,ok,\n' "$z"
done >>"$tmp/sizes-div/evals.csv"
table "$tmp/sizes-div"
# with them, resize/flatten_dense at 28 would be (90 + 91 + 10)/3 = 63.67
check "evals.csv rows of a diverged run are left out of the means" has_line \
    "$tmp/sizes-div/table-sizes.md" "| resize | flatten_dense | 28 | 2 | n/a [1] | 90.50 ± 0.71 | n/a [2] |"
check "... and counted in the note" has_line "$tmp/sizes-div/table-sizes.md" \
    "- Left out, as from the main table: the runs whose status is not ok (1) (3 rows of evals.csv)."

# a cell where one seed could not be evaluated: the others' mean, (n=k), its reason
fresh sizes-part "$sizes_fixture"
sed 's/^cbec6ad45ccfdcc7,gap,2,gap,2,28,36,resize,.*/cbec6ad45ccfdcc7,gap,2,gap,2,28,36,resize,,,n\/a,out of memory/' \
    "$sizes_fixture/evals.csv" >"$tmp/sizes-part/evals.csv"
table "$tmp/sizes-part"
# resize/gap at 36 over seeds 0 and 1: .78 .80 -> 79.00, sd sqrt(2) = 1.41; its reason is
# cited first now, so the others move up one
check "a partly evaluated cell: mean of the rest, (n=2) and the reason number" has_line \
    "$tmp/sizes-part/table-sizes.md" "| resize | gap | 28 | 3 | 72.00 ± 2.00 | 86.00 ± 1.00 | 79.00 ± 1.41 (n=2) [1] |"
check "... the reason listed first, (n=k) explained" \
    sh -c "grep -qx '  - \[1\] out of memory' '$tmp/sizes-part/table-sizes.md' && grep -qx '  - \[4\] canvas smaller than the 28x28 image' '$tmp/sizes-part/table-sizes.md' && grep -q '^- (n=k): only k' '$tmp/sizes-part/table-sizes.md'"

# broken evals.csv files
broken sizes-badid "$sizes_fixture" evals.csv '3s/^3fb10c033957bfc8/0123456789abcdef/' \
    'evals.csv:3: run 0123456789abcdef is not in ' "an evals.csv run that is not in runs.csv"
broken sizes-badsize "$sizes_fixture" evals.csv '4s/,28,28,resize,/,28,2x8,resize,/' \
    "evals.csv:4: column eval_size: '2x8' is not a whole number" "an eval_size that is no size"
broken sizes-nocol "$sizes_fixture" evals.csv 's/,method,/,how,/' \
    'evals.csv: missing columns: method' "an evals.csv without a method column"
fresh sizes-empty "$sizes_fixture"
head -1 "$sizes_fixture/evals.csv" >"$tmp/sizes-empty/evals.csv"
table "$tmp/sizes-empty"
check "an evals.csv with a header only: tables written, the size table skipped with a note" \
    sh -c "[ $rc -eq 0 ] && [ -s '$tmp/sizes-empty/table.md' ] && [ ! -e '$tmp/sizes-empty/table-sizes.md' ] && grep -q 'evals.csv has no rows' '$tmp/err'"

# ------------------------------------------------------------- charts
charts="accuracy-mean accuracy-vs-params throughput accuracy-vs-size-resize accuracy-vs-size-canvas_center"
if [ -z "${GNUPLOT-x}" ] || ! command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
    for c in $charts; do skip "$c.png and $c.svg are drawn" "no gnuplot"; done
elif [ ! -x /usr/bin/python3 ]; then
    for c in $charts; do skip "$c.png and $c.svg are drawn" "no /usr/bin/python3"; done
else
    cat >"$tmp/check_png.py" <<'EOF'
# check_png.py FILE W H: a valid PNG of W x H pixels that is not one colour (stdlib only)
import struct, sys, zlib

path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, 'rb').read()
if data[:8] != b'\x89PNG\r\n\x1a\n':
    sys.exit('%s: no PNG signature' % path)
pos, idat, ihdr = 8, [], None
while pos < len(data):
    size, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + size]
    if zlib.crc32(kind + body) != struct.unpack('>I', data[pos + 8 + size:pos + 12 + size])[0]:
        sys.exit('%s: bad CRC in %r' % (path, kind))
    if kind == b'IHDR':
        ihdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat.append(body)
    pos += 12 + size
if not ihdr or not idat:
    sys.exit('%s: no IHDR or IDAT' % path)
w, h, depth, ctype, _, _, interlace = ihdr
if (w, h) != (want_w, want_h):
    sys.exit('%s: %dx%d, want %dx%d' % (path, w, h, want_w, want_h))
if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
    sys.exit('%s: depth %d, colour type %d: not decoded here' % (path, depth, ctype))
bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
stride = w * bpp
raw = zlib.decompress(b''.join(idat))
if len(raw) != h * (stride + 1):
    sys.exit('%s: %d bytes of image data, want %d' % (path, len(raw), h * (stride + 1)))
prev, colours = bytearray(stride), set()
for y in range(h):
    kind = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if kind == 1:
        for i in range(bpp, stride):
            row[i] = (row[i] + row[i - bpp]) & 255
    elif kind == 2:
        row = bytearray((a + b) & 255 for a, b in zip(row, prev))
    elif kind == 3:
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    elif kind != 0:
        sys.exit('%s: row %d has filter %d' % (path, y, kind))
    colours.update(bytes(row[i:i + bpp]) for i in range(0, stride, bpp))
    prev = row
if len(colours) < 2:
    sys.exit('%s: blank (one colour)' % path)
EOF
    cat >"$tmp/check_svg.py" <<'EOF'
# check_svg.py FILE TEXT...: well-formed SVG XML whose text contains every TEXT
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
if not root.tag.endswith('svg'):
    sys.exit('%s: root element is %s' % (sys.argv[1], root.tag))
text = ' '.join(''.join(e.itertext()) for e in root.iter() if e.tag.endswith('text'))
for want in sys.argv[2:]:
    if want not in text:
        sys.exit('%s: no text %r in %r' % (sys.argv[1], want, text[:300]))
EOF
    # png_svg NAME TEXT...: both files drawn (in $chartdir, default $tmp/res), the
    # PNG decoded, the SVG parsed
    png_svg() {
        name=$1
        shift
        if ! /usr/bin/python3 "$tmp/check_png.py" "${chartdir:-$tmp/res}/$name.png" 1100 650 >"$tmp/py.err" 2>&1 ||
           ! /usr/bin/python3 "$tmp/check_svg.py" "${chartdir:-$tmp/res}/$name.svg" "$@" >>"$tmp/py.err" 2>&1; then
            sed 's/^/# /' "$tmp/py.err"
            return 1
        fi
    }
    # title names the experiment; axis labels with units; legend entries
    check "accuracy-mean.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-mean "heads-mini: test accuracy per epoch" "epoch" "test accuracy (%)" \
        "head=gap, batch=32" "head=flatten_dense, batch=64"
    check "accuracy-vs-params.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-vs-params "heads-mini: final test accuracy against parameters" \
        "parameters (count, log scale)" "final test accuracy (%)" "head=gap, batch=64"
    check "throughput.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg throughput "heads-mini: training throughput per head, batch" \
        "training throughput (images/s)" "mean ± sd over seeds"
    # a table that leaves img/s out leaves its chart out too
    charts=1
    table "$tmp/grouped"
    charts=0
    check "columns without img_per_s: the other charts drawn, no throughput chart" \
        sh -c "[ $rc -eq 0 ] && [ -s '$tmp/grouped/accuracy-mean.png' ] && [ ! -e '$tmp/grouped/throughput.png' ] && [ ! -e '$tmp/grouped/throughput.svg' ]"
    # epoch 3 of gap/32 is the final accuracy: 86 +- 1 over 3 runs (see above)
    check "the per-epoch band data holds mean and sd over the seeds" \
        grep -qx '3 86.000000 1.000000 3' "$tmp/res/accuracy-mean.dat"
    # ---- accuracy against input size, from sizes-mini's evals.csv
    fresh sizes-charts "$sizes_fixture"
    charts=1
    table "$tmp/sizes-charts"
    charts=0
    check "with evals.csv and charts: exit 0" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
    chartdir="$tmp/sizes-charts"
    check "accuracy-vs-size-resize.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-vs-size-resize \
        "sizes-mini: test accuracy against input size, method resize (mean ± sd over seeds)" \
        "evaluation input size (pixels per side)" "test accuracy (%)" gap flatten_dense \
        "trained at 28"
    check "accuracy-vs-size-canvas_center.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-vs-size-canvas_center \
        "sizes-mini: test accuracy against input size, method canvas_center" \
        "evaluation input size (pixels per side)" "test accuracy (%)" gap flatten_dense
    chartdir=
    check "one chart per method in evals.csv, none for canvas_random" \
        [ "$(cd "$tmp/sizes-charts" && ls accuracy-vs-size-*.png | tr '\n' ' ')" \
          = "accuracy-vs-size-canvas_center.png accuracy-vs-size-resize.png " ]
    # block_of FILE LABEL: the data lines of the block whose comment starts with LABEL
    block_of() { awk -v want="# $2," 'index($0, want) == 1 { on = 1; next } /^#/ || /^$/ { on = 0 } on' "$1" | tr '\n' ';'; }
    # the table's numbers (see above); sd sqrt(13) = 3.605551, n last
    check "resize data: gap's mean and sd at each size" \
        [ "$(block_of "$tmp/sizes-charts/accuracy-vs-size-resize.dat" gap)" \
          = "20 72.000000 2.000000 3;28 86.000000 1.000000 3;36 81.000000 3.605551 3;" ]
    # flatten_dense is n/a at 20 and 36: one point, sd sqrt(.5) = 0.707107
    check "resize data: flatten_dense has its one applicable size only" \
        [ "$(block_of "$tmp/sizes-charts/accuracy-vs-size-resize.dat" flatten_dense)" \
          = "28 90.500000 0.707107 2;" ]
    # canvas at 20 is n/a for both; sd sqrt(7) = 2.645751
    check "canvas_center data: the n/a size is absent" \
        [ "$(block_of "$tmp/sizes-charts/accuracy-vs-size-canvas_center.dat" gap)" \
          = "28 86.000000 1.000000 3;36 63.000000 2.645751 3;" ]
fi
charts=1 nognuplot=1
table "$tmp/res" --out "$tmp/nognuplot"
charts=0 nognuplot=0
check "GNUPLOT empty: tables still written, charts skipped with a note (exit 0)" \
    sh -c "[ $rc -eq 0 ] && [ -s '$tmp/nognuplot/table.md' ] && [ ! -e '$tmp/nognuplot/throughput.png' ] && grep -q 'no gnuplot' '$tmp/err'"

# ------------------------------------------- the committed results
# every results directory of the repository passes the strict reader and
# renders (written under --out: the tree is only read)
for runs in "$srcdir"/results/*/runs.csv; do
    [ -r "$runs" ] || continue
    name=$(basename "$(dirname "$runs")")
    mkdir -p "$tmp/committed/$name"
    table "$(dirname "$runs")" --out "$tmp/committed/$name"
    check "results/$name renders (exit 0, a table.md)" \
        sh -c "[ $rc -eq 0 ] && [ -s '$tmp/committed/$name/table.md' ]"
    [ "$rc" -eq 0 ] || sed 's/^/#   /' "$tmp/err"
done

echo "1..$n"
