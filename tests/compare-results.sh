#!/bin/sh
# compare-results.sh - scripts/compare-results.py on small hand-made results
# directories whose answers are known: rows matched by their swept values
# whatever their order and run ids, timing columns ignored, a changed value,
# a missing row, a missing evals.csv, differing columns and usage errors.
# Emits TAP.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init compare-results
script="$srcdir/scripts/compare-results.py"
tap_need python3 "compare-results.py"
echo "1..11"

# runs.csv and epochs.csv of two points; $1 the directory, $2 and $3 the run
# ids, $4 gmp's final test accuracy, $5 the train time
write_dir() {
    mkdir -p "$1"
    cat >"$1/runs.csv" <<CSV
run_id,experiment,model.head,head,seed,final_test_acc,train_s,img_per_s,status
$2,x,gap,gap,0,0.81000,1.5,4000.0,ok
$3,x,gmp,gmp,0,$4,$5,3000.0,ok
CSV
    cat >"$1/epochs.csv" <<CSV
run_id,model.head,head,seed,epoch,test_acc,epoch_s
$2,gap,gap,0,1,0.81000,1.5
$3,gmp,gmp,0,1,$4,$5
CSV
}
compare() { python3 "$script" "$@" >"$tmp/out" 2>&1; }

write_dir "$tmp/a" aaaa000000000001 aaaa000000000002 0.79000 2.0
write_dir "$tmp/b" bbbb000000000002 bbbb000000000001 0.79000 9.5
compare "$tmp/a" "$tmp/b"
check "other run ids and train times: the directories agree (exit $?)" test $? -eq 0
check "... and the summary counts 2 rows of runs.csv and 2 of epochs.csv" \
    grep -q "agree (2 rows of runs.csv, 2 rows of epochs.csv compared; 0 differences)" "$tmp/out"

# the rows of b in the other order
{ head -1 "$tmp/b/runs.csv"; tail -1 "$tmp/b/runs.csv"; sed -n 2p "$tmp/b/runs.csv"; } >"$tmp/r"
mv "$tmp/r" "$tmp/b/runs.csv"
compare "$tmp/a" "$tmp/b"
check "rows in another order still agree (exit $?)" test $? -eq 0

write_dir "$tmp/c" aaaa000000000001 aaaa000000000002 0.78500 2.0
compare "$tmp/a" "$tmp/c"
check "a changed test accuracy: the directories differ (exit $?)" test $? -eq 1
check "... and the difference names the row, the column and both values" \
    grep -q "runs.csv: model.head=gmp head=gmp seed=0: final_test_acc '0.79000' against '0.78500'" "$tmp/out"

write_dir "$tmp/d" aaaa000000000001 aaaa000000000002 0.79000 2.0
sed -i '$d' "$tmp/d/runs.csv"
compare "$tmp/a" "$tmp/d"
check "a row missing from one side is named" grep -q "runs.csv: row model.head=gmp .* only in $tmp/a" "$tmp/out"

write_dir "$tmp/e" aaaa000000000001 aaaa000000000002 0.79000 2.0
printf 'run_id,model.head,head,seed,train_size,eval_size,method,test_acc\n' >"$tmp/e/evals.csv"
compare "$tmp/a" "$tmp/e"
check "evals.csv on one side only differs" grep -q "evals.csv: only in $tmp/e" "$tmp/out"

write_dir "$tmp/f" aaaa000000000001 aaaa000000000002 0.79000 2.0
sed -i '1s/,status$/,state/' "$tmp/f/runs.csv"
compare "$tmp/a" "$tmp/f"
check "another header: the columns are said to differ" grep -q "runs.csv: columns differ" "$tmp/out"

printf 'run_id,model.head,head,seed\nx,gap,gap\n' >"$tmp/g.csv"
mkdir -p "$tmp/g" && mv "$tmp/g.csv" "$tmp/g/runs.csv"
compare "$tmp/a" "$tmp/g"
check "a ragged row is a file error (exit $?)" test $? -eq 2

compare "$tmp/a"
check "one directory only is a usage error (exit $?)" test $? -eq 2
compare "$tmp/a" "$tmp/nowhere"
check "a directory without runs.csv is an error (exit $?)" test $? -eq 2
