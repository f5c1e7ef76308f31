#!/bin/sh
# run-fashion.sh - `gpool run` on a small slice of FashionMNIST (1000 training
# and 500 test images, one epoch): the data is found by name, its files and
# sha256 go into the manifest, and the run learns something. Skipped when the
# data set is not installed (Debian package dataset-fashion-mnist). Emits TAP.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_locate

tap_need_fashion

tap_mktemp run-fashion

check_runs "gpool run on a FashionMNIST slice exits 0" \
    "$gpool" run -q "$srcdir/tests/configs/fashion-slice.yaml" --out "$tmp/out"
runs="$tmp/out/runs.csv"
acc=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "final_test_acc") c = i; next }
               { print $c }' "$runs")
echo "# test accuracy after one epoch on 1000 images: $acc"
check "one epoch on 1000 images beats chance (0.1) by far (> 0.5)" \
    awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }'
check "train accuracy comes from the eval pass (train_accuracy: eval_pass)" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "final_train_acc") c = i; next }
             { exit !($c > 0 && $c <= 1) }' "$runs"
m="$tmp/out/manifest.yaml"
check "the manifest lists the four data files" [ "$(grep -c '^      sha256: [0-9a-f]\{64\}' "$m")" -eq 4 ]
want=$(sha256sum "$found/train-images-idx3-ubyte.gz" 2>/dev/null | cut -c1-64)
if [ -n "$want" ]; then
    check "the recorded sha256 is the file's" grep -q "$want" "$m"
fi
check "the normalisation used is recorded" grep -q '^  mean: 0.28' "$m"
echo "1..$n"
