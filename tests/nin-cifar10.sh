#!/bin/sh
# nin-cifar10.sh - configs/nin-cifar10.yaml (issue 18, item 4) end to end on
# a small synthetic set in CIFAR-10's binary format (tests/make-image-data.py):
# the config as committed is found under $GPOOL_DATA/cifar-10-batches-bin
# and checked, one step of each of its three heads gives the FLOPs its
# comment states; a shrunk copy (the same layers, narrower, 4 epochs of
# Adam) trains all three heads above chance. Emits TAP; writes only under a
# mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_data_python nin-cifar10
tap_init nin-cifar10
cd "$tmp" || tap_bail "cannot enter $tmp"
config="$srcdir/configs/nin-cifar10.yaml"
"$PYTHON" "$srcdir/tests/make-image-data.py" cifar gd/cifar-10-batches-bin 600 200 ||
    tap_bail "make-image-data.py cifar"

# col FILE NAME: the values of column NAME of a CSV file
col() {
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          { print $c }' "$1"
}

GPOOL_DATA=$tmp/gd "$gpool" run --check "$config" >check.out 2>check.err
rc=$?
check "the committed config checks on a CIFAR-10 copy in \$GPOOL_DATA (status $rc)" [ "$rc" -eq 0 ]
check "... its three heads build" [ "$(grep -c 'training at 32x32: ok' check.out)" -eq 3 ]

# one step of batch 2 per head: the networks as committed, their FLOPs recorded
sed -e 's/^  epochs: 200/  epochs: 1\n  steps: 1\n  checkpoint: false/' \
    -e 's/^  batch: 128/  batch: 2/' -e 's/^  threads: 2/  threads: 1/' \
    -e 's/^  normalize: true/  normalize: true\n  test_limit: 4/' "$config" >step.yaml
GPOOL_DATA=$tmp/gd "$gpool" run -q --out "$tmp/step" step.yaml >step.out 2>step.err
rc=$?
check "one step of each head of the committed network (status $rc)" [ "$rc" -eq 0 ]
check "... 0.45 GFLOP per image forward (446.6 M) for each head, as its comment says" \
    [ "$(col "$tmp/step/runs.csv" flops | awk '$1 > 446.5e6 && $1 < 446.7e6' | wc -l)" -eq 3 ]

# shrunk: every layer kept, widths / 12, Adam for 4 epochs
sed -e 's/out: 192/out: 16/; s/out: 160/out: 12/; s/out: 96/out: 8/' \
    -e 's/^  epochs: 200/  epochs: 4/' -e 's/^  batch: 128/  batch: 32/' \
    -e 's/^  threads: 2/  threads: 1\n  checkpoint: false/' \
    -e 's/^  optimizer: sgd/  optimizer: adam/' -e 's/^  lr: 0.05/  lr: 0.003/' \
    -e 's/^  weight_decay: 1e-4/  weight_decay: 0/' "$config" >small.yaml
check "the shrunk copy keeps every layer" \
    [ "$(grep -c 'type:' small.yaml)" -eq "$(grep -c 'type:' "$config")" ]
check "... and narrows every conv" [ "$(grep -c 'out: 1[26]\|out: 8' small.yaml)" -eq 8 ]
GPOOL_DATA=$tmp/gd "$gpool" run -q --out "$tmp/small" small.yaml >small.out 2>small.err
rc=$?
check "the shrunk NIN trains its three heads (status $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' small.err
check "... all ok" [ "$(col "$tmp/small/runs.csv" status | grep -c '^ok$')" -eq 3 ]
for head in gap flatten_dense flatten_dropout_dense; do
    acc=$(awk -F, -v h="$head" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "head") hc = i
                                                                     if ($i == "final_test_acc") ac = i }
                                          next }
                                $hc == h { print $ac }' "$tmp/small/runs.csv")
    check "... $head: test accuracy ${acc:-none} above chance (4 classes: 0.25) + 0.25" \
        awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.5) }'
done

echo "1..$n"
