#!/bin/sh
# sweep-except.sh - a results directory made by a config without
# sweep_except (three finished runs and one killed mid-run, its checkpoint
# kept), resumed with the same config plus a sweep_except: the killed run
# goes on from its checkpoint, the finished rows stay, the dropped points
# never run, and the rows equal an uninterrupted sweep's for the kept points
# up to timing. A finished run whose point the new config drops is refused
# by id before anything runs; a failed or interrupted one is let go. Also
# --list, --shard and merge over the kept points, status, rerun, and the
# resolved config.yaml that reloads to the same points. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init sweep-except
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/sweep-except.yaml"
# with_except NAME ENTRY: $tmp/NAME.yaml, the config and one sweep_except entry
with_except() {
    { cat "$cfg"; printf 'sweep_except:\n  - %s\n' "$2"; } >"$tmp/$1.yaml"
}
# ids FILE: the run ids of `gpool run --list` output, one a line
ids() { awk '{ print $1 }' "$1"; }
# rows_of IDS CSV: the untimed rows of CSV whose run_id is listed in IDS, header first
rows_of() { untimed_csv "$2" | awk -F, 'NR == FNR { k[$1] = 1; next } FNR == 1 || ($1 in k)' "$1" -; }

"$gpool" run --list "$cfg" >"$tmp/all.list"
with_except keep4 '{model.head: gmp_dense, train.seed: [1, 2]}'
"$gpool" run --list "$tmp/keep4.yaml" >"$tmp/keep4.list"
check "--list shows the kept points: 6 less 2" [ "$(wc -l <"$tmp/keep4.list")" -eq 4 ]
check "... with the ids and order they have without sweep_except" \
    sh -c "head -n 4 '$tmp/all.list' | cmp -s - '$tmp/keep4.list'"
ids "$tmp/keep4.list" >"$tmp/keep4.ids"

"$gpool" run -q "$cfg" --out "$tmp/whole" >/dev/null 2>&1
check "an uninterrupted sweep without sweep_except finishes" [ $? -eq 0 ]

# three finished runs, the fourth killed after its first epoch
GPOOL_FAULT=run:3:epoch:1 "$gpool" run -q "$cfg" --out "$tmp/cut" >/dev/null 2>&1
check "GPOOL_FAULT=run:3:epoch:1 kills the sweep after three runs" \
    sh -c "[ \$(tail -n +2 '$tmp/cut/runs.csv' | wc -l) -eq 3 ]"
cp -r "$tmp/cut" "$tmp/cut-refused"
cp -r "$tmp/cut" "$tmp/cut-killed-dropped"

"$gpool" run -q --resume "$tmp/keep4.yaml" --out "$tmp/cut" >"$tmp/resume.out" 2>&1
check "--resume with sweep_except added finishes" [ $? -eq 0 ]
check "... keeping the three finished runs" grep -q "resuming: 3 finished runs kept" "$tmp/resume.out"
check "... continuing the killed run from its checkpoint" \
    grep -q "continuing after epoch 1 from" "$tmp/resume.out"
rows_of "$tmp/keep4.ids" "$tmp/whole/runs.csv" >"$tmp/expect.runs"
rows_of "$tmp/keep4.ids" "$tmp/whole/epochs.csv" >"$tmp/expect.epochs"
untimed_csv "$tmp/cut/runs.csv" >"$tmp/cut.runs"
untimed_csv "$tmp/cut/epochs.csv" >"$tmp/cut.epochs"
check "... with runs.csv the uninterrupted sweep's for the kept points, up to timing" \
    cmp -s "$tmp/expect.runs" "$tmp/cut.runs"
check "... and epochs.csv too" cmp -s "$tmp/expect.epochs" "$tmp/cut.epochs"
check "... and no directory for a dropped point" \
    sh -c "[ ! -e '$tmp/cut/runs/$(sed -n 5p "$tmp/all.list" | cut -c1-16)' ]"
check "its config.yaml writes sweep_except back" \
    grep -qx '  - {model.head: \[gmp_dense\], train.seed: \[1, 2\]}' "$tmp/cut/config.yaml"
"$gpool" run --list "$tmp/cut/config.yaml" >"$tmp/reloaded.list"
check "... and reloads to the same points" cmp -s "$tmp/keep4.list" "$tmp/reloaded.list"
"$gpool" status "$tmp/cut" >"$tmp/status" 2>&1
check "gpool status counts the kept points, none remaining" \
    sh -c "grep -q '(4 points)' '$tmp/status' && grep -q '^remaining: *0' '$tmp/status'"
"$gpool" run -q --resume "$tmp/keep4.yaml" --out "$tmp/cut" >"$tmp/again.out" 2>&1
check "a second --resume keeps all four and runs nothing" \
    grep -q "resuming: 4 finished runs kept" "$tmp/again.out"
id=$(sed -n 4p "$tmp/keep4.ids")
"$gpool" rerun -q "$tmp/cut" "$id" -o "$tmp/rerun" >/dev/null 2>&1
check "gpool rerun reproduces the resumed run" [ $? -eq 0 ]

# a finished run of a dropped point: refused, by id and line, nothing changed
with_except drop-finished '{train.seed: [2]}'
refused_id=$(sed -n 3p "$tmp/keep4.ids")
cp "$tmp/cut-refused/runs.csv" "$tmp/before.csv"
"$gpool" run -q --resume "$tmp/drop-finished.yaml" --out "$tmp/cut-refused" >/dev/null 2>"$tmp/err"
rc=$?
check "--resume refuses when sweep_except drops a finished run's point, naming it" \
    sh -c "[ $rc -eq 1 ] && grep -qxF 'gpool run: --resume: $tmp/cut-refused/runs.csv: sweep_except drops the point of 1 finished run: $refused_id (line 4); remove their rows from runs.csv to discard them, or take their points out of sweep_except' '$tmp/err'"
check "... leaving runs.csv as it was" cmp -s "$tmp/before.csv" "$tmp/cut-refused/runs.csv"

# the killed run's point dropped: nothing left to train, three rows
with_except drop-killed '{model.head: [gmp_dense]}'
"$gpool" run -q --resume "$tmp/drop-killed.yaml" --out "$tmp/cut-killed-dropped" >/dev/null 2>&1
check "--resume when sweep_except drops the killed run's point finishes" [ $? -eq 0 ]
check "... with the three finished rows" \
    sh -c "[ \$(tail -n +2 '$tmp/cut-killed-dropped/runs.csv' | wc -l) -eq 3 ]"

# an interrupted row of a dropped point is let go, and the tables rewritten without it
cp -r "$tmp/whole" "$tmp/intr"
head -n 5 "$tmp/whole/runs.csv" |
    awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i }
                      NR == 5 { $c = "interrupted" } 1' >"$tmp/intr/runs.csv"
"$gpool" run -q --resume "$tmp/drop-killed.yaml" --out "$tmp/intr" >/dev/null 2>&1
check "--resume lets an interrupted row of a dropped point go" [ $? -eq 0 ]
check "... and rewrites runs.csv without it" \
    sh -c "[ \$(tail -n +2 '$tmp/intr/runs.csv' | wc -l) -eq 3 ] && ! grep -q interrupted '$tmp/intr/runs.csv'"
check "... and epochs.csv (3 runs x 3 epochs)" \
    sh -c "[ \$(tail -n +2 '$tmp/intr/epochs.csv' | wc -l) -eq 9 ]"
check "... and the manifest's point count" grep -qx 'points: 3' "$tmp/intr/manifest.yaml"

# shards split the kept points i % N, and merge joins them
"$gpool" run --list --shard 1/2 "$tmp/keep4.yaml" >"$tmp/s1.list"
"$gpool" run --list --shard 2/2 "$tmp/keep4.yaml" >"$tmp/s2.list"
check "--shard 1/2 lists kept points 1 and 3, 2/2 points 2 and 4" \
    sh -c "sed -n '1p;3p' '$tmp/keep4.list' | cmp -s - '$tmp/s1.list' &&
           sed -n '2p;4p' '$tmp/keep4.list' | cmp -s - '$tmp/s2.list'"
"$gpool" run -q --shard 1/2 "$tmp/keep4.yaml" --out "$tmp/shard1" >/dev/null 2>&1 &&
    "$gpool" run -q --shard 2/2 "$tmp/keep4.yaml" --out "$tmp/shard2" >/dev/null 2>&1 &&
    "$gpool" merge -o "$tmp/merged" "$tmp/shard2" "$tmp/shard1" >/dev/null 2>&1
check "two shards of the config with sweep_except run and merge" [ $? -eq 0 ]
untimed_csv "$tmp/merged/runs.csv" >"$tmp/merged.runs"
check "... into the rows of the kept points, in sweep order" cmp -s "$tmp/expect.runs" "$tmp/merged.runs"

echo "1..$n"
