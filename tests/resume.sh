#!/bin/sh
# resume.sh - a sweep killed with SIGKILL (by fault injection, so no sleeps:
# GPOOL_FAULT) and finished with --resume gives the same runs.csv and
# epochs.csv as an uninterrupted sweep, up to the timing columns: whether it
# died inside a run (the run goes on from its last epoch checkpoint) or
# between two runs. Also SIGTERM to the sweep: the current run is recorded as
# interrupted and the exit status is non-zero. Emits TAP; mktemp -d only.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
abs_dir() { (cd "$1" && pwd); }
builddir=$(abs_dir "$top_builddir") || { echo "Bail out! no top_builddir"; exit 1; }
srcdir=$(abs_dir "$top_srcdir") || { echo "Bail out! no top_srcdir"; exit 1; }
gpool="$builddir/experiments/gpool"
[ -x "$gpool" ] || { echo "Bail out! $gpool is not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpool-resume.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
# the CSV without its timing columns (their values differ from run to run)
untimed() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++)
                         if ($i ~ /^(train_s|img_per_s|peak_rss_mib|epoch_s|eval_s)$/) t[i] = 1 }
             { s = ""; for (i = 1; i <= NF; i++) if (!(i in t)) s = s $i ","; print s }' "$1"
}
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/whole" >/dev/null 2>&1
check "an uninterrupted sweep finishes" [ $? -eq 0 ]
untimed "$tmp/whole/runs.csv" >"$tmp/whole.runs"
untimed "$tmp/whole/epochs.csv" >"$tmp/whole.epochs"

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
    untimed "$out/runs.csv" >"$tmp/cut.runs"
    untimed "$out/epochs.csv" >"$tmp/cut.epochs"
    check "... with runs.csv equal to the uninterrupted one's up to timing" \
        cmp -s "$tmp/whole.runs" "$tmp/cut.runs"
    check "... and epochs.csv too (no epoch lost or repeated)" \
        cmp -s "$tmp/whole.epochs" "$tmp/cut.epochs"
done

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
