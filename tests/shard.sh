#!/bin/sh
# shard.sh - three shards of one sweep, run at the same time, then
# `gpool merge`: the merged runs.csv, epochs.csv and table equal a
# single-process run's up to the timing columns. Also merge's refusals (a
# missing shard, a shard given twice). Emits TAP; mktemp -d only.
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

echo "1..$n"
