#!/bin/sh
# study-smoke.sh - the shipped study configs of issue 17, configs/fmnist-benchmark.yaml
# and configs/map-size.yaml, run end to end as written but shrunk to seconds
# by sed (a slice of FashionMNIST, one epoch or 20 steps, a two-rate search on
# 64 held-out images, fewer heads, sizes and seeds; fmnist-benchmark's
# sweep_except cut, as it names heads the shrunk sweep lacks): every run ends ok, each head's
# rate is searched once and used by all its runs, the no-grad train accuracy,
# the measured allocation peak and the training set sizes are recorded, and
# flatten's parameters grow with the final map while global pooling's do not.
# Skipped without FashionMNIST. Emits TAP.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_locate

tap_need_fashion
tap_need python3 "the study configs run"
tap_mktemp study-smoke

# q FILE EXPR: evaluate the python expression EXPR over the CSV FILE's rows
# (a list of dicts, `r`), printing its value; the fields hold quoted commas
q() {
    python3 -c 'import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
print(eval(sys.argv[2]))' "$1" "$2"
}

# run_shrunk NAME CONFIG: $tmp/NAME.yaml run into $out = $tmp/NAME
run_shrunk() {
    out="$tmp/$1"
    "$gpool" run -q "$tmp/$1.yaml" --out "$out" >"$tmp/$1.out" 2>"$tmp/$1.err"
    rc=$?
    check "$2, shrunk, runs (exit 0)" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/$1.err"
}

# ---------------------------------------------------------------- fmnist-benchmark
sed -e 's/^name: fmnist-benchmark/name: fmb-smoke/' \
    -e 's/^  normalize: false/  normalize: false\n  train_limit: 400\n  test_limit: 100/' \
    -e 's/^  epochs: 15/  epochs: 1/' \
    -e 's/grid: \[3e-4, 1e-3, 3e-3\], epochs: 2, holdout: 5000/grid: [1e-3, 3e-3], epochs: 1, holdout: 64/' \
    -e 's/^  model.head: \[.*\]/  model.head: [flatten_mlp, gap]/' \
    -e 's/^  train.seed: \[.*\]/  train.seed: [0, 1]/' \
    -e '/^sweep_except:/,$d' \
    "$srcdir/configs/fmnist-benchmark.yaml" >"$tmp/fmb.yaml"
run_shrunk fmb fmnist-benchmark.yaml
check "... 4 runs, all ok" [ "$(q "$out/runs.csv" 'sorted({x["status"] for x in r}), len(r)')" = "(['ok'], 4)" ]
check "... one search per head: 2 groups x 2 rates in lr-search.csv, 2 chosen" \
    [ "$(q "$out/lr-search.csv" 'len(r), sum(x["chosen"] == "1" for x in r)')" = "(4, 2)" ]
choice='{x["group"].split("=")[1]: float(x["lr"]) for x in r if x["chosen"] == "1"}'
used='{(x["head"], float(x["lr"])) for x in r}'
check "... every run of a head trains at its head's chosen rate" \
    [ "$(q "$out/lr-search.csv" "sorted($choice.items())")" = "$(q "$out/epochs.csv" "sorted($used)")" ]
check "... train_pass_acc is recorded and is train_acc (train_accuracy: eval_pass)" \
    [ "$(q "$out/epochs.csv" 'all(x["train_pass_acc"] != "" and x["train_pass_acc"] == x["train_acc"] for x in r)')" = True ]
check "... the measured allocation peak covers parameters, gradients and Adam's state" \
    [ "$(q "$out/runs.csv" 'all(int(x["mem_alloc_peak"]) >= int(x["mem_params"]) + int(x["mem_grads"]) + int(x["mem_optim"]) for x in r)')" = True ]
check "... flatten_mlp has the 3.27 M parameters of the benchmark ConvNet" \
    [ "$(q "$out/runs.csv" '{x["params"] for x in r if x["head"] == "flatten_mlp"}')" = "{'3274634'}" ]

# ---------------------------------------------------------------- map-size
sed -e 's/^name: map-size/name: map-size-smoke/' \
    -e 's/^  std: 0.353024/  std: 0.353024\n  train_limit: 300\n  test_limit: 100/' \
    -e 's/^  steps: 3000/  steps: 20/' \
    -e 's/grid: \[3e-4, 1e-3, 3e-3\], steps: 1000, holdout: 5000/grid: [1e-3, 3e-3], steps: 5, holdout: 64/' \
    -e 's/^  data.train_subset: \[.*\]/  data.train_subset: [100]/' \
    -e 's/^  model.head: \[.*\]/  model.head: [gap, flatten_dense]/' \
    -e 's/^  train.seed: \[.*\]/  train.seed: [0]/' \
    "$srcdir/configs/map-size.yaml" >"$tmp/ms.yaml"
run_shrunk ms map-size.yaml
check "... 3 maps x 2 heads = 6 runs, all ok, one row each (train.steps)" \
    [ "$(q "$out/runs.csv" 'sorted({x["status"] for x in r}), len(r)')" = "(['ok'], 6)" \
      -a "$(q "$out/epochs.csv" 'len(r)')" = 6 ]
check "... 6 searches of 2 rates" [ "$(q "$out/lr-search.csv" 'len(r)')" = 12 ]
# a head's parameters in sweep order: the 14 x 14, 7 x 7 and 3 x 3 maps
params='[int(x["params"]) for x in r if x["head"] == HEAD]'
check "... gap's parameters do not change with the final map" \
    [ "$(q "$out/runs.csv" "len(set(${params%HEAD]}'gap']))")" = 1 ]
check "... flatten_dense's grow with it (14x14 > 7x7 > 3x3)" \
    [ "$(q "$out/runs.csv" "(lambda p: len(p) == 3 and p[0] > p[1] > p[2])(${params%HEAD]}'flatten_dense'])")" = True ]
check "... the training set size is a column (data.train_subset)" \
    [ "$(q "$out/runs.csv" '{x["data.train_subset"] for x in r}')" = "{'100'}" ]
echo "1..$n"
