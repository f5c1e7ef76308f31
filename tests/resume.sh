#!/bin/sh
# resume.sh - a sweep killed with SIGKILL (by fault injection, so no sleeps:
# GPOOL_FAULT) and finished with --resume gives the same runs.csv and
# epochs.csv as an uninterrupted sweep, up to the timing columns: whether it
# died inside a run (the run goes on from its last epoch checkpoint) or
# between two runs; and a re-run of an early point keeps every later row.
# A corrupt runs.csv is refused, naming file and line, before anything runs.
# Also SIGTERM to the sweep: the current run is recorded as
# interrupted and the exit status is non-zero. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init resume
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/whole" >/dev/null 2>&1
check "an uninterrupted sweep finishes" [ $? -eq 0 ]
untimed_csv "$tmp/whole/runs.csv" >"$tmp/whole.runs"
untimed_csv "$tmp/whole/epochs.csv" >"$tmp/whole.epochs"

for fault in run:1:epoch:2 run:2:epoch:1 after-run:0; do
    out="$tmp/cut-$fault"
    GPOOL_FAULT=$fault "$gpool" run -q "$cfg" --out "$out" >/dev/null 2>&1
    rc=$?
    check "GPOOL_FAULT=$fault kills the sweep (SIGKILL, exit 137)" [ "$rc" -eq 137 ]
    check "... and leaves no temporary files" [ -z "$(find "$out" -name '*.tmp*')" ]
    "$gpool" run -q --resume "$cfg" --out "$out" >"$tmp/resume.out" 2>&1
    check "--resume after $fault finishes" [ $? -eq 0 ]
    case $fault in
    run:*) check "... continuing the killed run from its checkpoint" \
               grep -q "continuing after epoch ${fault##*:} from" "$tmp/resume.out" ;;
    esac
    untimed_csv "$out/runs.csv" >"$tmp/cut.runs"
    untimed_csv "$out/epochs.csv" >"$tmp/cut.epochs"
    check "... with runs.csv equal to the uninterrupted one's up to timing" \
        cmp -s "$tmp/whole.runs" "$tmp/cut.runs"
    check "... and epochs.csv too (no epoch lost or repeated)" \
        cmp -s "$tmp/whole.epochs" "$tmp/cut.epochs"
done

# Re-running an early point (its row and run directory removed) while the
# later points are kept: every kept row stays in runs.csv and epochs.csv.
out="$tmp/redo"
cp -r "$tmp/whole" "$out"
first=$(awk -F, 'NR == 2 { print $1 }' "$out/runs.csv")
grep -v "^$first," "$tmp/whole/runs.csv" >"$out/runs.csv"
rm -rf "$out/runs/$first"
"$gpool" run -q --resume "$cfg" --out "$out" >/dev/null 2>&1
check "--resume re-runs a removed first point" [ $? -eq 0 ]
untimed_csv "$out/runs.csv" >"$tmp/redo.runs"
untimed_csv "$out/epochs.csv" >"$tmp/redo.epochs"
check "... and keeps every later run in runs.csv" cmp -s "$tmp/whole.runs" "$tmp/redo.runs"
check "... and in epochs.csv" cmp -s "$tmp/whole.epochs" "$tmp/redo.epochs"
# the manifest's run list takes a kept run's variant from its runs.csv row
grep "variant: " "$tmp/whole/manifest.yaml" | grep -v "run_id: $first" >"$tmp/whole.variants"
grep "variant: " "$out/manifest.yaml" | grep -v "run_id: $first" >"$tmp/redo.variants"
check "... and the manifest lists the kept runs' variants" \
    cmp -s "$tmp/whole.variants" "$tmp/redo.variants"

# A corrupt results directory is refused before anything runs, in run's
# voice, naming the file and line: a row cut short, a run twice, a value
# that is no number of its column; the directory is left as it was.
resume_refuses() { # resume_refuses NAME FILTER MESSAGE: runs.csv through FILTER; MESSAGE follows "runs.csv"
    out="$tmp/bad-$1"
    rm -rf "$out"
    cp -r "$tmp/whole" "$out"
    sh -c "$2" <"$tmp/whole/runs.csv" >"$out/runs.csv"
    cp "$out/runs.csv" "$tmp/before.csv"
    "$gpool" run -q --resume "$cfg" --out "$out" >/dev/null 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 1 ] && grep -qF "gpool run: --resume: $out/runs.csv$3" "$tmp/err" &&
        cmp -s "$tmp/before.csv" "$out/runs.csv" ||
        { echo "# exit $rc, stderr:"; sed 's/^/#   /' "$tmp/err"; return 1; }
}
check "--resume refuses a runs.csv cut short" \
    resume_refuses cut "head -c -3" ":5: the row is cut short"
check "--resume refuses a run twice" \
    resume_refuses twice "cat - && sed -n 3p '$tmp/whole/runs.csv'" \
    ":6: a second row of run_id $(awk -F, 'NR == 3 { print $1 }' "$tmp/whole/runs.csv") (the first is line 3)"
check "--resume refuses an epoch count that is no whole number" \
    resume_refuses epochs "awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if (\$i == \"epochs\") c = i } NR == 4 { \$c = \"2.5\" } 1'" \
    ":4: column epochs: '2.5' is not a whole number"
check "--resume refuses a runs.csv of other swept paths, with the way out" \
    resume_refuses swept "sed '1s/,model.head,/,model.heads,/'" \
    ": its columns differ from what this config writes (another config?); use --out DIR or --force"

# SIGTERM: the run in progress is recorded as interrupted, the exit status is 130
fifo="$tmp/fifo"
mkfifo "$fifo"
"$gpool" run --force "$cfg" --out "$tmp/term" >"$fifo" 2>/dev/null &
pid=$!
# wait for the first finished run's line, then stop the sweep
head -n 2 "$fifo" >/dev/null
kill -TERM "$pid"
cat "$fifo" >/dev/null
wait "$pid"
rc=$?
check "SIGTERM ends the sweep with a non-zero status (130)" [ "$rc" -eq 130 ]
check "... after recording the run it stopped as interrupted (or finishing it)" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next }
             { s[$c]++ } END { exit !(NR >= 2 && s["ok"] >= 1) }' "$tmp/term/runs.csv"

echo "1..$n"
