#!/bin/sh
# migrate.sh - `gpool migrate` on results directories written by the
# previous release (its run ids hashed the whole resolved config):
#   tests/fixtures/prev-release        tests/configs/resume.yaml killed by
#       GPOOL_FAULT=run:1:epoch:1: run 0 finished, run 1 cut after epoch 1
#       with its checkpoint, runs 2 and 3 not started;
#   tests/fixtures/prev-release-evals  tests/configs/evalsize.yaml, finished,
#       with evals.csv.
# Before migrating, --resume, table, rerun and merge refuse the directory
# and name `gpool migrate`; migrate rewrites every id (files and run
# folders, checkpoints untouched), is a no-op the second time, finishes an
# interrupted migrate and refuses (changing nothing) an id that maps to no
# point, or a corrupt file. Then --resume retrains nothing finished, continues run 1 from its
# epoch-1 checkpoint and ends with the CSVs of a fresh run. Last, --resume
# refuses a directory whose recorded default of a key the config relies on
# differs from today's. Emits TAP; writes only under a mktemp -d dir.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init migrate
export GNUPLOT=   # charts are not what this test is about
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=

resume_cfg="$srcdir/tests/configs/resume.yaml"
evals_cfg="$srcdir/tests/configs/evalsize.yaml"
compare="$srcdir/scripts/compare-results.py"

# fresh NAME FIXTURE: a writable copy of a fixture at $tmp/NAME
fresh() { rm -rf "$tmp/$1"; cp -R "$srcdir/tests/fixtures/$2" "$tmp/$1" && chmod -R u+w "$tmp/$1"; }
# listing DIR: every file with its checksum, to tell that nothing changed
listing() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k 2); }
# says FILE TEXT: FILE holds TEXT (fixed string), else print FILE
says() { grep -Fq -- "$2" "$1" || { sed 's/^/#   /' "$1"; return 1; }; }
# agree DESCRIPTION A B: compare-results.py finds results directories A and B equal
agree() {
    if [ -z "$PYTHON" ]; then skip "$1" "no python3"; return; fi
    if "$PYTHON" "$compare" "$2" "$3" >"$tmp/agree.out" 2>&1; then ok "$1"; else
        not_ok "$1"; sed 's/^/#   /' "$tmp/agree.out"; fi
}
# run_ids DIR: the run ids of DIR/runs.csv, in row order
run_ids() { awk -F, 'NR > 1 { print $1 }' "$1/runs.csv"; }

"$gpool" run --list "$resume_cfg" | cut -c1-16 >"$tmp/new-ids" || tap_bail "gpool run --list"
old0=$(awk -F, 'NR == 2 { print $1 }' "$srcdir/tests/fixtures/prev-release/runs.csv")
new0=$(sed -n 1p "$tmp/new-ids")
new1=$(sed -n 2p "$tmp/new-ids")

# ------------------------------------------------- refused before migrate
fresh a prev-release
listing "$tmp/a" >"$tmp/a.before"
"$gpool" run -q --resume --out "$tmp/a" "$resume_cfg" >"$tmp/out" 2>&1
check "--resume refuses an unmigrated directory" [ $? -eq 1 ]
check "... saying to run gpool migrate on it" says "$tmp/out" "run \`gpool migrate $tmp/a\` first"
"$gpool" table --no-charts "$tmp/a" >"$tmp/out" 2>&1
check "gpool table refuses it, saying to migrate" \
    sh -c "[ $? -eq 1 ] && grep -Fq 'gpool migrate $tmp/a' '$tmp/out'"
"$gpool" rerun -q "$tmp/a" "$old0" >"$tmp/out" 2>&1
check "gpool rerun refuses it, saying to migrate" \
    sh -c "[ $? -eq 1 ] && grep -Fq 'gpool migrate $tmp/a' '$tmp/out'"
"$gpool" merge -o "$tmp/merged-early" "$tmp/a" >"$tmp/out" 2>&1
check "gpool merge refuses it, saying to migrate" \
    sh -c "[ $? -eq 1 ] && grep -Fq 'gpool migrate $tmp/a' '$tmp/out' && [ ! -e '$tmp/merged-early' ]"
listing "$tmp/a" >"$tmp/a.after"
check "... and none of them changed a file" cmp -s "$tmp/a.before" "$tmp/a.after"

# ------------------------------------------------------------- migrate
"$gpool" migrate "$tmp/a" >"$tmp/out" 2>&1
check "gpool migrate exits 0" [ $? -eq 0 ]
check "... and says what it rewrote" says "$tmp/out" "2 run ids rewritten in 4 files and 2 run folders"
check "runs.csv holds the new id of run 0" [ "$(run_ids "$tmp/a")" = "$new0" ]
check "epochs.csv holds it on every row" \
    sh -c "awk -F, 'NR > 1 { print \$1 }' '$tmp/a/epochs.csv' | sort -u | grep -qx '$new0'"
check "the run folders are named by the new ids of runs 0 and 1" \
    [ "$(ls "$tmp/a/runs" | sort)" = "$(printf '%s\n%s\n' "$new0" "$new1" | sort)" ]
old_left=$(grep -rlF -e "$old0" "$tmp/a" | head -1)
check "no file holds the old id of run 0 any more" [ -z "$old_left" ]
check "run 0's manifest names its new id" says "$tmp/a/runs/$new0/manifest.yaml" "run_id: $new0"
old1=$(ls "$srcdir/tests/fixtures/prev-release/runs" | grep -vx "$old0")
check "run 1's checkpoint and progress.csv moved unchanged" \
    diff -r "$srcdir/tests/fixtures/prev-release/runs/$old1" "$tmp/a/runs/$new1"
check "the manifest records the id scheme" says "$tmp/a/manifest.yaml" "id_scheme: non-defaults"
check "... and the schema's defaults" says "$tmp/a/manifest.yaml" '  train.lr: "0.001"'

listing "$tmp/a" >"$tmp/a.migrated"
"$gpool" migrate "$tmp/a" >"$tmp/out" 2>&1
check "a second migrate exits 0" [ $? -eq 0 ]
check "... with nothing to do" says "$tmp/out" "nothing to do"
listing "$tmp/a" >"$tmp/a.again"
check "... and changes no file" cmp -s "$tmp/a.migrated" "$tmp/a.again"

# ------------------------------------------------------ resume after it
"$gpool" run -q "$resume_cfg" --out "$tmp/fresh" >/dev/null 2>&1
check "a fresh run of the same config finishes" [ $? -eq 0 ]
"$gpool" run -q --resume --out "$tmp/a" "$resume_cfg" >"$tmp/out" 2>"$tmp/err"
check "--resume of the migrated directory finishes" [ $? -eq 0 ]
check "... keeping run 0" says "$tmp/out" "resuming: 1 finished runs kept"
check "... without training it again" sh -c "! grep -q '^\[1/4\]' '$tmp/out'"
check "... continuing run 1 after its epoch-1 checkpoint" \
    says "$tmp/err" "run $new1: continuing after epoch 1 from"
check "... and training runs 2 and 3" sh -c "grep -q '^\[3/4\]' '$tmp/out' && grep -q '^\[4/4\]' '$tmp/out'"
sed -n 2p "$srcdir/tests/fixtures/prev-release/epochs.csv" | cut -d, -f2- >"$tmp/epoch1.before"
grep "^$new0," "$tmp/a/epochs.csv" | sed -n 1p | cut -d, -f2- >"$tmp/epoch1.after"
check "run 0's epoch rows are the recorded ones, timings included" \
    cmp -s "$tmp/epoch1.before" "$tmp/epoch1.after"
agree "runs.csv and epochs.csv equal the fresh run's (compare-results.py)" "$tmp/fresh" "$tmp/a"
check "... with the same run ids, in the same order" [ "$(run_ids "$tmp/a")" = "$(run_ids "$tmp/fresh")" ]
"$gpool" merge -o "$tmp/merged" "$tmp/a" >/dev/null 2>&1
check "gpool merge takes the migrated directory" [ $? -eq 0 ]
"$gpool" rerun -q -o "$tmp/rerun" "$tmp/a" "$new0" >"$tmp/out" 2>&1
check "gpool rerun reproduces run 0 of it" says "$tmp/out" "equals the recorded row"

# ------------------------------------------- an interrupted migrate, again
# As if killed after renaming run 0's folder and rewriting runs.csv only.
fresh p prev-release
mv "$tmp/p/runs/$old0" "$tmp/p/runs/$new0"
sed "s/^$old0,/$new0,/" "$srcdir/tests/fixtures/prev-release/runs.csv" >"$tmp/p/runs.csv"
"$gpool" migrate "$tmp/p" >"$tmp/out" 2>&1
check "migrate finishes a directory it left half done" [ $? -eq 0 ]
fresh q prev-release
"$gpool" migrate -q "$tmp/q" >/dev/null 2>&1
for d in p q; do
    grep -v '^ids_migrated_at:' "$tmp/$d/manifest.yaml" >"$tmp/$d.manifest"
    rm "$tmp/$d/manifest.yaml"
done
check "... to the same files as an uninterrupted migrate" diff -r "$tmp/p" "$tmp/q"
check "... manifest.yaml too (but for its time)" cmp -s "$tmp/p.manifest" "$tmp/q.manifest"

# ------------------------------------------------ an id that is no point
fresh u prev-release
sed "2s/^$old0,/0123456789abcdef,/" "$srcdir/tests/fixtures/prev-release/epochs.csv" \
    >"$tmp/u/epochs.csv"
listing "$tmp/u" >"$tmp/u.before"
"$gpool" migrate "$tmp/u" >"$tmp/out" 2>&1
check "migrate refuses an id that maps to no point" [ $? -eq 1 ]
check "... naming the file, line and id" \
    says "$tmp/out" "$tmp/u/epochs.csv:2: run 0123456789abcdef is no point of"
listing "$tmp/u" >"$tmp/u.after"
check "... and changes nothing" cmp -s "$tmp/u.before" "$tmp/u.after"

# ------------------------------------------------ a corrupt file
fresh c prev-release
sed '3s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*\),2,/\1,1,/' \
    "$srcdir/tests/fixtures/prev-release/epochs.csv" >"$tmp/c/epochs.csv"
listing "$tmp/c" >"$tmp/c.before"
"$gpool" migrate "$tmp/c" >"$tmp/out" 2>&1
check "migrate refuses a corrupt file (an epoch twice) in its own words, with file and line" \
    sh -c "[ $? -eq 1 ] && grep -Fq 'gpool migrate: $tmp/c/epochs.csv:3: a second row of run_id $old0, epoch 1 (the first is line 2)' '$tmp/out'"
listing "$tmp/c" >"$tmp/c.after"
check "... and changes nothing" cmp -s "$tmp/c.before" "$tmp/c.after"

# --------------------------------------------- evals.csv and accuracy.dat
fresh e prev-release-evals
"$gpool" migrate -q "$tmp/e" >"$tmp/out" 2>&1
check "migrate rewrites the finished evalsize directory" [ $? -eq 0 ]
"$gpool" run --list "$evals_cfg" | cut -c1-16 >"$tmp/evals-ids"
check "evals.csv holds the new ids" \
    [ "$(awk -F, 'NR > 1 { print $1 }' "$tmp/e/evals.csv" | uniq)" = "$(cat "$tmp/evals-ids")" ]
check "accuracy.dat's run blocks too" \
    [ "$(sed -n 's/^# run //p' "$tmp/e/accuracy.dat")" = "$(cat "$tmp/evals-ids")" ]
"$gpool" run -q --resume --out "$tmp/e" "$evals_cfg" >"$tmp/out" 2>&1
check "--resume of it finishes" [ $? -eq 0 ]
check "... with nothing to train" sh -c "grep -q 'resuming: 2 finished runs kept' '$tmp/out' &&
                                         ! grep -q '^\[' '$tmp/out'"
"$gpool" run -q --out "$tmp/e-fresh" "$evals_cfg" >/dev/null 2>&1
agree "... and its CSVs, evals.csv included, equal a fresh run's" "$tmp/e-fresh" "$tmp/e"
"$gpool" table --no-charts "$tmp/e" >/dev/null 2>&1
check "gpool table renders the migrated directory" \
    sh -c "[ $? -eq 0 ] && [ -s '$tmp/e/table.md' ] && [ -s '$tmp/e/table-sizes.md' ]"

# --------------------------------------------------- a changed default
# train.momentum (resume.yaml leaves it out) recorded as 0.9, not 0.0
cp -R "$tmp/a" "$tmp/d"
sed -i 's/^  train\.momentum: "0\.0"$/  train.momentum: "0.9"/' "$tmp/d/manifest.yaml"
"$gpool" run -q --resume --out "$tmp/d" "$resume_cfg" >"$tmp/out" 2>&1
check "--resume refuses a directory written under another default the config takes" \
    sh -c "[ $? -eq 1 ] && grep -q '^  train.momentum: \"0.9\"' '$tmp/d/manifest.yaml'"
check "... naming the key and both defaults" \
    says "$tmp/out" "when train.momentum defaulted to 0.9; it defaults to 0.0 now"
# train.lr (resume.yaml writes 3e-3) recorded as another default, and
# eval.batch missing (as if the key were new): no meaning changed
cp -R "$tmp/a" "$tmp/k"
sed -i -e 's/^  train\.lr: "0\.001"$/  train.lr: "0.1"/' -e '/^  eval\.batch: /d' \
    "$tmp/k/manifest.yaml"
cp "$tmp/k/manifest.yaml" "$tmp/k/manifest.yaml.before"   # --resume rewrites the manifest
"$gpool" run -q --resume --out "$tmp/k" "$resume_cfg" >"$tmp/out" 2>&1
check "--resume takes a changed default the config overrides, and a key added since" \
    sh -c "[ $? -eq 0 ] && grep -q 'resuming: 4 finished runs kept' '$tmp/out' &&
           grep -q '^  train.lr: \"0.1\"' '$tmp/k/manifest.yaml.before'"

echo "1..$n"
