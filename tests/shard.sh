#!/bin/sh
# shard.sh - three shards of one sweep, run at the same time, then
# `gpool merge`: the merged runs.csv, epochs.csv and table equal a
# single-process run's up to the timing columns. Also merge's refusals (a
# missing shard, a shard given twice, a corrupt shard: a row cut short or
# lost, a run twice, a value out of its column's range, a missing column),
# each in merge's words with file and line; and rerun's of a corrupt
# runs.csv. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init shard
# a markdown table without the columns whose header mentions time, speed or memory use
untimed_md() {
    awk -F'|' '/^\|/ && !h { for (i = 1; i <= NF; i++) if ($i ~ /(time|img\/s|RSS|\(s\))/) t[i] = 1; h = 1 }
               /^\|/ { s = ""; for (i = 1; i <= NF; i++) if (!(i in t)) s = s $i "|"; print s }' "$1"
}
export GNUPLOT=

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/single" >/dev/null 2>&1
check "the single-process sweep finishes" [ $? -eq 0 ]

pids=
for k in 1 2 3; do
    "$gpool" run -q --shard "$k/3" "$cfg" --out "$tmp/shard$k" >"$tmp/shard$k.out" 2>&1 &
    pids="$pids $!"
done
st=0
for p in $pids; do wait "$p" || st=1; done
check "three shards run at the same time all finish" [ "$st" -eq 0 ]
check "the shards split the four points 2 + 1 + 1" \
    [ "$(tail -n +2 "$tmp/shard1/runs.csv" | wc -l)" -eq 2 -a \
      "$(tail -n +2 "$tmp/shard2/runs.csv" | wc -l)" -eq 1 -a \
      "$(tail -n +2 "$tmp/shard3/runs.csv" | wc -l)" -eq 1 ]

"$gpool" merge -o "$tmp/merged" "$tmp/shard3" "$tmp/shard1" "$tmp/shard2" >/dev/null 2>&1
check "gpool merge joins them" [ $? -eq 0 ]
untimed_csv "$tmp/single/runs.csv" >"$tmp/a"
untimed_csv "$tmp/merged/runs.csv" >"$tmp/b"
check "merged runs.csv equals the single run's up to timing, in sweep order" cmp -s "$tmp/a" "$tmp/b"
untimed_csv "$tmp/single/epochs.csv" >"$tmp/a"
untimed_csv "$tmp/merged/epochs.csv" >"$tmp/b"
check "merged epochs.csv equals the single run's up to timing" cmp -s "$tmp/a" "$tmp/b"
check "the merged manifest names its shards" grep -q 'merged_from:' "$tmp/merged/manifest.yaml"
check "each run's manifest and config come along" \
    [ "$(ls "$tmp"/merged/runs/*/manifest.yaml | wc -l)" -eq 4 -a \
      "$(ls "$tmp"/merged/runs/*/config.yaml | wc -l)" -eq 4 ]
check "... but not the checkpoints" [ -z "$(find "$tmp/merged" -name checkpoint)" ]
id=$(awk -F, 'NR == 3 { print $1 }' "$tmp/merged/runs.csv")
"$gpool" rerun -q "$tmp/merged" "$id" -o "$tmp/rerun" >/dev/null 2>&1
check "a merged row can be rerun from its manifest" [ $? -eq 0 ]

if "$gpool" table "$tmp/single" >/dev/null 2>&1 && "$gpool" table "$tmp/merged" >/dev/null 2>&1; then
    untimed_md "$tmp/single/table.md" >"$tmp/a"
    untimed_md "$tmp/merged/table.md" >"$tmp/b"
    check "the merged table equals the single run's up to timing columns" \
        sh -c "[ -s '$tmp/a' ] && cmp -s '$tmp/a' '$tmp/b'"
else
    not_ok "gpool table works on both directories"
fi

"$gpool" merge -o "$tmp/m2" "$tmp/shard1" "$tmp/shard2" >/dev/null 2>"$tmp/err"
check "a missing shard is an error" [ $? -eq 1 ]
check "... that says how many points are missing" grep -q '1 of 4 points' "$tmp/err"
"$gpool" merge -o "$tmp/m3" "$tmp/shard1" "$tmp/shard1" "$tmp/shard2" "$tmp/shard3" >/dev/null 2>"$tmp/err"
check "a shard given twice is an error" [ $? -eq 1 ]
"$gpool" run -q --shard 4/3 "$cfg" --out "$tmp/bad" >/dev/null 2>&1
check "--shard 4/3 is a usage error (exit 2)" [ $? -eq 2 ]

# ---- corrupt shards: each refused in merge's voice, naming the file and
# line, and nothing merged. corrupt NAME FILE FILTER: shard 1 copied to
# $tmp/NAME with FILE passed through FILTER (a shell command), then merged
# with the others into $tmp/merged-NAME.
corrupt() {
    rm -rf "$tmp/$1" "$tmp/merged-$1"
    cp -R "$tmp/shard1" "$tmp/$1" &&
        sh -c "$3" <"$tmp/shard1/$2" >"$tmp/$1/$2"
    "$gpool" merge -o "$tmp/merged-$1" "$tmp/$1" "$tmp/shard2" "$tmp/shard3" >/dev/null \
        2>"$tmp/err"
    rc=$?
}
# refused WHAT MESSAGE: the last merge exited 1, said "gpool merge: MESSAGE"
# (a fixed string) and nothing of run's words, and wrote no runs.csv
refused() {
    [ "$rc" -eq 1 ] && grep -qF "gpool merge: $2" "$tmp/err" &&
        ! grep -q 'gpool run\|--force\|--resume' "$tmp/err" &&
        [ ! -e "$tmp/merged-$1/runs.csv" ] ||
        { echo "# exit $rc, stderr:"; sed 's/^/#   /' "$tmp/err"; return 1; }
}
rows=$(wc -l <"$tmp/shard1/runs.csv")
corrupt cut runs.csv "head -c -1"
check "a shard whose runs.csv lost its last newline is refused as cut, not merged" \
    refused cut "$tmp/cut/runs.csv:$rows: the row is cut short: the file ends in the middle of it"
corrupt cutmid runs.csv "head -c -9"
check "... and one cut in the middle of its last row" \
    refused cutmid "$tmp/cutmid/runs.csv:$rows: the row is cut short"
corrupt lost runs.csv "head -n $((rows - 1))"
lost_id=$(awk -F, -v n="$rows" 'NR == n { print $1 }' "$tmp/shard1/runs.csv")
lost_at=$(awk -F, -v id="$lost_id" '$1 == id { print NR; exit }' "$tmp/shard1/epochs.csv")
check "a runs.csv that lost a whole row is corrupt (its epochs.csv rows name the run), not a missing point" \
    refused lost "$tmp/lost/epochs.csv:$lost_at: run $lost_id is not in $tmp/lost/runs.csv (files of different sweeps, or rows lost?)"
corrupt twice runs.csv "cat - && sed -n 2p '$tmp/shard1/runs.csv'"
check "a run twice in one shard's runs.csv" \
    refused twice "$tmp/twice/runs.csv:$((rows + 1)): a second row of run_id"
corrupt nan runs.csv "awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if (\$i == \"final_test_acc\") c = i } NR == 2 { \$c = \"nan\" } 1'"
check "a nan accuracy" \
    refused nan "$tmp/nan/runs.csv:2: column final_test_acc: 'nan' is not a finite number"
corrupt epochs epochs.csv "sed '3s/,[^,]*,[^,]*,[^,]*,[^,]*\$/,-1.0,0.001,0.001,400.0/'"
check "a negative test accuracy in epochs.csv" \
    refused epochs "$tmp/epochs/epochs.csv:3: column test_acc: -1.0 is outside [0, 1]"
corrupt columns runs.csv "sed '1s/,seed,/,seeds,/'"
check "a runs.csv without a column, in merge's words" \
    refused columns "$tmp/columns/runs.csv: missing columns: seed"
corrupt swept runs.csv "sed '1s/,model.head,/,model.heads,/'"
check "a runs.csv of other swept paths, in merge's words" \
    refused swept "$tmp/swept/runs.csv: its columns differ from what this config writes (a shard of another sweep?)"

# ---- rerun reads the recorded runs.csv the same way
cp -R "$tmp/merged" "$tmp/rerun-bad"
sed -n 2p "$tmp/merged/runs.csv" >>"$tmp/rerun-bad/runs.csv"
"$gpool" rerun -q "$tmp/rerun-bad" "$id" -o "$tmp/rerun2" >/dev/null 2>"$tmp/err"
rc=$?
check "rerun of a directory with a run twice: exit 1, in rerun's voice, nothing run" \
    sh -c "[ $rc -eq 1 ] && grep -qF 'gpool rerun: $tmp/rerun-bad/runs.csv:6: a second row of run_id' '$tmp/err' && [ ! -e '$tmp/rerun2' ]"

# ------------------------------------------- lr searches and event files
# Seeds 0 and 1 of a head fall in different shards, so each shard searched
# each head's rate: the merged lr-search.csv holds each group once, as the
# single run's does; the event files come along byte for byte.
cfg="$srcdir/tests/configs/shard-lr.yaml"
"$gpool" run -q "$cfg" --out "$tmp/lr-single" >/dev/null 2>&1 &&
    "$gpool" run -q --shard 1/2 "$cfg" --out "$tmp/lr1" >/dev/null 2>&1 &&
    "$gpool" run -q --shard 2/2 "$cfg" --out "$tmp/lr2" >/dev/null 2>&1
check "a searching sweep runs whole and in two shards" [ $? -eq 0 ]
check "... each shard searched both heads" \
    [ "$(tail -n +2 "$tmp/lr1/lr-search.csv" | wc -l)" -eq 4 -a \
      "$(tail -n +2 "$tmp/lr2/lr-search.csv" | wc -l)" -eq 4 ]
"$gpool" merge -o "$tmp/lr-merged" "$tmp/lr1" "$tmp/lr2" >/dev/null 2>&1
check "gpool merge joins them" [ $? -eq 0 ]
check "the merged lr-search.csv equals the single run's: each group once" \
    cmp -s "$tmp/lr-single/lr-search.csv" "$tmp/lr-merged/lr-search.csv"
n_events=0
for f in "$tmp"/lr1/runs/*/events.out.tfevents.gpool "$tmp"/lr2/runs/*/events.out.tfevents.gpool; do
    rel=${f#"$tmp"/lr?/}
    cmp -s "$f" "$tmp/lr-merged/$rel" && n_events=$((n_events + 1))
done
check "each run's event file comes along byte for byte (4 runs)" [ "$n_events" -eq 4 ]
# the first group's choice moved to its other rate in the second shard
sed -e '2s/,ok,0$/,ok,1/' -e '3s/,ok,1$/,ok,0/' "$tmp/lr2/lr-search.csv" >"$tmp/lr2/x" &&
    mv "$tmp/lr2/x" "$tmp/lr2/lr-search.csv"
"$gpool" merge -o "$tmp/lr-bad" "$tmp/lr1" "$tmp/lr2" >/dev/null 2>"$tmp/lr-bad.err"
rc=$?
check "shards that chose differently: exit 1, naming the file and the group" \
    sh -c "[ $rc -eq 1 ] && grep -q 'lr2/lr-search.csv: group .* chose the rate' '$tmp/lr-bad.err'"
check "... and no merged lr-search.csv" [ ! -e "$tmp/lr-bad/lr-search.csv" ]
echo "1..$n"
