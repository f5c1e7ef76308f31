#!/bin/sh
# lock-status.sh - one writer per results directory, and `gpool status`.
# A second `gpool run` (or migrate) into a directory that a sweep holds
# fails at once naming the holder; so does one into a directory that
# flock(1) holds; the lock goes with a SIGKILLed sweep. `gpool status` on a
# running, a finished, a half-finished (GPOOL_FAULT) and a non-results
# directory. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init lock-status
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/resume.yaml"

# wait_for FILE PATTERN: up to 60 s for PATTERN in FILE (a background command's output)
wait_for() {
    i=0
    while ! grep -q -- "$2" "$1" 2>/dev/null && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    grep -q -- "$2" "$1"
}

# field NAME: the value of a `gpool status` line "NAME: value" in $tmp/status
field() { sed -n "s/^$1: *//p" "$tmp/status"; }

# ---- a sweep that holds its directory: the same config, 400 epochs a run,
# so that it is still training while the other commands try the directory
sed 's/^  epochs: 3$/  epochs: 400/' "$cfg" >"$tmp/slow.yaml"
check "the slow config has 400 epochs a run" grep -q 'epochs: 400' "$tmp/slow.yaml"
out="$tmp/held"
"$gpool" run "$tmp/slow.yaml" --out "$out" >"$tmp/held.out" 2>"$tmp/held.err" &
pid=$!
# the lock is taken before the first run's child prints its build log
wait_for "$tmp/held.err" .
check "the slow sweep has started" kill -0 "$pid"

"$gpool" run -q "$tmp/slow.yaml" --out "$out" >/dev/null 2>"$tmp/second.err"
rc=$?
check "a second gpool run into the held directory fails at once (exit 1)" [ "$rc" -eq 1 ]
check "... naming the holder's pid and command" \
    grep -q "is in use by pid $pid on .* since .*: gpool run $tmp/slow.yaml --out $out" \
    "$tmp/second.err"
"$gpool" run -q --resume "$tmp/slow.yaml" --out "$out" >/dev/null 2>"$tmp/resume.err"
check "... and so does --resume (exit 1, the holder named)" \
    grep -q "in use by pid $pid" "$tmp/resume.err"
"$gpool" migrate "$out" >/dev/null 2>"$tmp/migrate.err"
rc=$?
check "gpool migrate of the held directory fails too (exit 1, the holder named)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'in use by pid $pid' '$tmp/migrate.err'"

first=$("$gpool" run -q --list "$tmp/slow.yaml" | awk 'NR == 1 { print $1 }')
wait_for "$out/runs/$first/progress.csv" '^1,'
"$gpool" status "$out" >"$tmp/status" 2>&1
check "status of the held directory names the sweep in progress" \
    grep -q "^in progress: *pid $pid on " "$tmp/status"
check "... its current run (the first point) and the epochs it saved" \
    grep -Eq "^current run: *$first, epoch [1-9][0-9]* of 400 done" "$tmp/status"
check "... four points remaining" [ "$(field remaining)" = 4 ]
check "... and an estimate of the time left" grep -Eq '^time left: *about .*epochs to go' \
    "$tmp/status"

kill -KILL "$pid"
wait "$pid" 2>/dev/null
# the run the sweep forked dies at its next report to the dead parent
i=0
while "$gpool" status "$out" 2>/dev/null | grep -q '^in progress: *pid' && [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
"$gpool" status "$out" >"$tmp/status" 2>&1
check "after SIGKILL no one holds the directory" grep -q "^in progress: *none" "$tmp/status"
"$gpool" migrate "$out" >"$tmp/migrate.out" 2>&1
check "... and a command that writes it takes the lock (migrate: nothing to do)" \
    grep -q "nothing to do" "$tmp/migrate.out"

# ---- flock(1) of util-linux takes the same lock
if command -v flock >/dev/null 2>&1; then
    flock "$out/gpool.lock" "$gpool" run -q --resume "$tmp/slow.yaml" --out "$out" \
        >/dev/null 2>"$tmp/flock.err"
    rc=$?
    check "a directory flock(1) holds is refused (exit 1) without a recorded holder" \
        sh -c "[ $rc -eq 1 ] && grep -q 'in use by another process' '$tmp/flock.err'"
else
    skip "a directory flock(1) holds is refused" "no flock(1)"
fi

# ---- gpool status of a finished and a half-finished sweep
"$gpool" run -q "$cfg" --out "$tmp/done" >/dev/null 2>&1
"$gpool" status "$tmp/done" >"$tmp/status" 2>&1
check "status of a finished sweep: exit 0" [ $? -eq 0 ]
check "... 4 ok, none failed, diverged or interrupted" \
    sh -c "[ '$(field ok)/$(field failed)/$(field diverged)/$(field interrupted)' = 4/0/0/0 ]"
check "... none remaining, none in progress, no time left" \
    sh -c "[ '$(field remaining)' = 0 ] && grep -q '^in progress: *none' '$tmp/status' &&
           grep -q '^time left: *0 s' '$tmp/status'"

GPOOL_FAULT=run:1:epoch:1 "$gpool" run -q "$cfg" --out "$tmp/half" >/dev/null 2>&1
check "GPOOL_FAULT=run:1:epoch:1 kills the sweep (exit 137)" [ $? -eq 137 ]
"$gpool" status "$tmp/half" >"$tmp/status" 2>&1
check "status of the killed sweep: 1 ok, 3 remaining" \
    sh -c "[ '$(field ok)/$(field remaining)' = 1/3 ]"
check "... none in progress (the lock went with the sweep)" grep -q '^in progress: *none' \
    "$tmp/status"
# 3 points x 3 epochs, less the epoch the killed run saved
check "... 8 epochs to go at the mean epoch time of the 4 recorded" \
    grep -Eq '^time left: *about .* \(8 epochs to go at [0-9.e+-]+ s, the mean of 4 epochs\)' \
    "$tmp/status"

# ---- what is no results directory, and bad files
"$gpool" status "$tmp" >/dev/null 2>"$tmp/err"
check "status of a directory without config.yaml: exit 1, not a results directory" \
    sh -c "[ $? -eq 1 ] && grep -q '$tmp: not a results directory' '$tmp/err'"
"$gpool" status "$tmp/nowhere" >/dev/null 2>"$tmp/err"
check "status of a missing directory: exit 1, named" \
    sh -c "[ $? -eq 1 ] && grep -q '$tmp/nowhere: No such file' '$tmp/err'"
cp -r "$tmp/done" "$tmp/bad"
sed '3s/,ok,/,okay,/' "$tmp/done/runs.csv" >"$tmp/bad/runs.csv"
"$gpool" status "$tmp/bad" >/dev/null 2>"$tmp/err"
check "a runs.csv status that is no status: exit 1, file and line named" \
    sh -c "[ $? -eq 1 ] && grep -q '^gpool status: .*runs.csv:3: column status: .okay. is none of ok, diverged, failed, interrupted$' '$tmp/err'"
"$gpool" status >/dev/null 2>&1
check "status without DIR: exit 2" [ $? -eq 2 ]
"$gpool" status --help >"$tmp/help" 2>&1
check "status --help: exit 0, the fields explained" \
    sh -c "[ $? -eq 0 ] && grep -q 'time left' '$tmp/help'"

echo "1..$n"
