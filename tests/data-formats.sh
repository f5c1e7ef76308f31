#!/bin/sh
# data-formats.sh - the readers of CIFAR-10 batches, NumPy arrays and PNG
# folders (issue 18, item 3): each a colour set made by
# tests/make-image-data.py (not by gpool), trained end to end from a config
# above chance, where the class is in the colour only; and each format's
# broken files refused with an error naming the file (and the record or
# member). Emits TAP; everything is written under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_need python3 "the data-format sets are written by python3"
tap_init data-formats
cd "$tmp" || tap_bail "cannot enter $tmp"
make_data() { python3 "$srcdir/tests/make-image-data.py" "$@" || tap_bail "make-image-data.py $*"; }

# write_config FILE NAME DATA-LINES...: a small colour net on the data section given
write_config() {
    file=$1 name=$2; shift 2
    { echo "name: $name"
      echo "data:"
      for line in "$@"; do echo "  $line"; done
      cat <<EOC
model:
  trunk:
    - {type: conv, out: 8, k: 3, pad: 1}
    - {type: relu}
    - {type: maxpool, k: 2}
  head: gap
train: {epochs: 3, batch: 32, threads: 1, checkpoint: false, optimizer: adam, lr: 3e-3}
EOC
    } >"$file"
}

gpool_run() { "$gpool" run -q "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

# value FILE NAME: the first row's value of column NAME of a CSV file
value() {
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          { print $c; exit }' "$1"
}

# trains_above NAME CONFIG CHANCE: the config trains, ok, above CHANCE + 0.25
trains_above() {
    gpool_run --out "$tmp/$1" "$2"
    check "$1: trains (status $rc)" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
    acc=$(value "$tmp/$1/runs.csv" final_test_acc)
    check "$1: test accuracy ${acc:-none} is above chance ($3) + 0.25" \
        awk -v a="${acc:-0}" -v c="$3" 'BEGIN { exit !(a > c + 0.25) }'
}

# refused NAME CONFIG PATTERN: gpool run --check fails with PATTERN in its message
refused() {
    gpool_run --check "$2"
    check "$1: refused (status $rc)" [ "$rc" -ne 0 ]
    check "... $(echo "$3" | sed 's/\\//g')" grep -q "$3" "$tmp/err"
    grep -q "$3" "$tmp/err" || sed 's/^/# /' "$tmp/err"
}

# ------------------------------------------------------------- CIFAR-10
make_data cifar cifar 600 200
write_config cifar.yaml cifar "source: cifar10" "dir: $tmp/cifar" "normalize: true"
trains_above cifar10 cifar.yaml 0.1
check "cifar10: the network takes 3 channels (conv 3 -> 8: 224 parameters + head 90)" \
    [ "$(value "$tmp/cifar10/runs.csv" params)" -eq 314 ]
check "cifar10: the manifest records the six batch files" \
    [ "$(grep -c 'path: .*_batch.*\.bin' "$tmp/cifar10/manifest.yaml")" -eq 6 ]

# broken copies of the set, one fault each
cifar_copy() { rm -rf bad && cp -r cifar bad; }
write_config bad.yaml bad "source: cifar10" "dir: $tmp/bad"
cifar_copy && rm bad/data_batch_3.bin
refused "cifar10, a batch missing" bad.yaml "bad: no readable data_batch_3.bin"
cifar_copy && head -c 10000 cifar/test_batch.bin >bad/test_batch.bin
refused "cifar10, a cut record" bad.yaml \
    "test_batch.bin: 10000 bytes is not a whole number of 3073-byte records.*record 3, at byte offset 9219"
cifar_copy && : >bad/data_batch_2.bin
refused "cifar10, an empty batch" bad.yaml "data_batch_2.bin: empty file"
cifar_copy && printf '\014' | dd of=bad/data_batch_4.bin bs=1 seek=$((3073 * 5)) conv=notrunc 2>/dev/null
refused "cifar10, a label of 12" bad.yaml \
    "data_batch_4.bin: record 5 (byte offset 15365): label 12 outside 0..9"
write_config missing.yaml missing "source: cifar10"
GPOOL_DATA=$tmp/nowhere gpool_run --check missing.yaml
check "cifar10 not found: refused naming the places searched (status $rc)" \
    grep -q "CIFAR-10 not found.*$tmp/nowhere/cifar-10-batches-bin" "$tmp/err"
mkdir -p "$tmp/gd" && cp -r cifar "$tmp/gd/cifar-10-batches-bin"
GPOOL_DATA=$tmp/gd gpool_run --check missing.yaml
check "cifar10 found under \$GPOOL_DATA/cifar-10-batches-bin (status $rc)" [ "$rc" -eq 0 ]

echo "1..$n"
