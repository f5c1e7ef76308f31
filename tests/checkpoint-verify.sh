#!/bin/sh
# checkpoint-verify.sh - a run killed mid-way (GPOOL_FAULT) whose checkpoint
# is then corrupted (one bit flipped, a file filled with 0xff, a file cut
# short) does not resume silently: --resume fails that run naming the file
# and the command that retrains it, `--resume --restart RUN_ID` (that command)
# finishes, and the results equal an uninterrupted sweep's
# (scripts/compare-results.py). A checkpoint without checksums (an older
# release's) resumes with a warning. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init checkpoint-verify
tap_need python3 "scripts/compare-results.py"
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/resume.yaml"
compare="$srcdir/scripts/compare-results.py"
"$gpool" run -q "$cfg" --out "$tmp/whole" >/dev/null 2>&1
check "an uninterrupted sweep finishes" [ $? -eq 0 ]
GPOOL_FAULT=run:1:epoch:2 "$gpool" run -q "$cfg" --out "$tmp/killed" >/dev/null 2>&1
check "GPOOL_FAULT=run:1:epoch:2 kills the sweep inside point 1" [ $? -eq 137 ]
run_id=$("$gpool" run --list "$cfg" | awk 'NR == 2 { print $1 }')
ckpt="runs/$run_id/checkpoint"
weight=$(cd "$tmp/killed/$ckpt" && ls L00_*weight.npy | head -n 1)
check "the killed run left a checkpoint with checksums" \
    [ -n "$weight" ] && [ -f "$tmp/killed/$ckpt/crc32.txt" ]

# corrupt KIND FILE: one exponent bit of the last float, every byte 0xff
# (same size), or the last float cut off
corrupt() {
    size=$(wc -c <"$2")
    case $1 in
    bitflip)
        at=$((size - 1))
        byte=$(od -An -tu1 -j "$at" -N 1 "$2" | tr -d ' ')
        # shellcheck disable=SC2059
        printf "\\$(printf %o $((byte ^ 64)))" |
            dd of="$2" bs=1 seek="$at" conv=notrunc 2>/dev/null ;;
    fill) head -c "$size" /dev/zero | tr '\000' '\377' >"$2.new" && mv "$2.new" "$2" ;;
    truncate) head -c "$((size - 4))" "$2" >"$2.new" && mv "$2.new" "$2" ;;
    esac
}

for kind in bitflip fill truncate; do
    out="$tmp/$kind"
    cp -r "$tmp/killed" "$out"
    before=$(cksum <"$out/$ckpt/$weight")
    corrupt "$kind" "$out/$ckpt/$weight"
    check "$kind: the file changed" [ "$(cksum <"$out/$ckpt/$weight")" != "$before" ]
    "$gpool" run -q --resume "$cfg" --out "$out" >"$tmp/out" 2>"$tmp/err"
    check "$kind: --resume fails (exit 1)" [ $? -eq 1 ]
    check "... naming the corrupt file" grep -q "$out/$ckpt/$weight: corrupt" "$tmp/err"
    check "... without training on from it" \
        sh -c '! grep -q "continuing after epoch" "$1"' sh "$tmp/err"
    check "... and recording the run as failed, with the way out" \
        grep -q "^$run_id,.*,failed,.*--restart $run_id" "$out/runs.csv"
    way_out=$(sed -n 's/^gpool run: to retrain run .* from scratch .*: \(gpool .*\)$/\1/p' \
        "$tmp/err")
    check "... and the exact --resume --restart command on stderr" \
        [ "$way_out" = "gpool run --restart $run_id -q --resume $cfg --out $out" ]
    "$gpool" run -q --resume "$cfg" --out "$out" >/dev/null 2>"$tmp/err"
    check "$kind: a second --resume fails the same way" \
        grep -q "$out/$ckpt/$weight: corrupt" "$tmp/err"
    eval "\"\$gpool\" ${way_out#gpool }" >/dev/null 2>"$tmp/err"
    check "$kind: --resume --restart $run_id finishes" [ $? -eq 0 ]
    check "... retraining that run from scratch" \
        sh -c '! grep -q "continuing after epoch" "$1"' sh "$tmp/err"
    python3 "$compare" "$tmp/whole" "$out" >"$tmp/cmp" 2>&1
    check "... and the results equal the uninterrupted sweep's" [ $? -eq 0 ]
done

# A checkpoint written before checksums: resumed, with a warning.
out="$tmp/old"
cp -r "$tmp/killed" "$out"
rm "$out/$ckpt/crc32.txt"
"$gpool" run -q --resume "$cfg" --out "$out" >/dev/null 2>"$tmp/err"
check "a checkpoint without crc32.txt resumes" [ $? -eq 0 ]
check "... with a warning that it cannot be verified" \
    grep -q "run $run_id: warning: .*no checksums" "$tmp/err"
check "... continuing from it" grep -q "continuing after epoch 2 from" "$tmp/err"
python3 "$compare" "$tmp/whole" "$out" >"$tmp/cmp" 2>&1
check "... and the results equal the uninterrupted sweep's" [ $? -eq 0 ]

# --restart also retrains a finished run: only that one trains, same results
out="$tmp/redo"
cp -r "$tmp/whole" "$out"
"$gpool" run -q --resume --restart "$run_id" "$cfg" --out "$out" >"$tmp/out" 2>&1
check "--resume --restart of a finished run finishes" [ $? -eq 0 ]
check "... training that run and no other" \
    [ "$(grep -c '^\[[0-9]*/[0-9]*\] ' "$tmp/out")" -eq 1 ] && grep -q "\] $run_id " "$tmp/out"
python3 "$compare" "$tmp/whole" "$out" >"$tmp/cmp" 2>&1
check "... and the results equal the uninterrupted sweep's" [ $? -eq 0 ]

# --restart is refused without --resume and for an id not in the config
"$gpool" run -q --restart "$run_id" "$cfg" --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "--restart without --resume is a command-line error (2)" [ $? -eq 2 ]
check "... saying it needs --resume" grep -q "needs --resume" "$tmp/err"
"$gpool" run -q --resume --restart nosuchid "$cfg" --out "$tmp/whole" >/dev/null 2>"$tmp/err"
check "--restart of an unknown run id is refused (2)" [ $? -eq 2 ]
check "... naming it" grep -q "restart nosuchid: no run of that id" "$tmp/err"

echo "1..$n"
