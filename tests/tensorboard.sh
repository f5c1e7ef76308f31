#!/bin/sh
# tensorboard.sh - train.tensorboard: true writes each run's epochs as a
# TensorBoard event file, read back by tests/read-tfevents.py (TFRecord
# framing and CRC-32C checked there, the Event messages decoded by Debian's
# python3-protobuf): the values equal epochs.csv's; the reader catches a
# flipped byte and a changed value; a run killed after an epoch and resumed
# holds every epoch once; without the key no file is written. Emits TAP;
# mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init tensorboard
what="TensorBoard event files read back"
PYTHON=${TFEVENTS_PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || tap_skip_all "$what" "no $PYTHON"
"$PYTHON" -c 'import google.protobuf' 2>/dev/null ||
    tap_skip_all "$what" "$PYTHON cannot import google.protobuf (install python3-protobuf)"
reader="$srcdir/tests/read-tfevents.py"
export GNUPLOT=
echo "1..8"

cfg="$srcdir/tests/configs/tensorboard.yaml"
"$gpool" run -q "$cfg" --out "$tmp/tb" >"$tmp/run.out" 2>&1
check "the sweep with train.tensorboard: true finishes" [ $? -eq 0 ]
"$PYTHON" "$reader" "$tmp/tb" >"$tmp/read.out" 2>&1
st=$?
sed 's/^/# /' "$tmp/read.out"
check "each run's events equal its epochs.csv rows, CRCs checked" [ "$st" -eq 0 ]

events=$(ls "$tmp"/tb/runs/*/events.out.tfevents.gpool | head -n 1)
size=$(wc -c <"$events")
cp "$events" "$tmp/flipped"
# the last byte of the file's last event body: a value, not the framing
printf '\377' | dd of="$tmp/flipped" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
"$PYTHON" "$reader" --file "$tmp/flipped" >"$tmp/read.out" 2>&1
check "a flipped byte fails the data's CRC" \
    sh -c "[ $? -eq 1 ] && grep -q \"data's CRC does not match\" '$tmp/read.out'"

cp -r "$tmp/tb" "$tmp/changed"
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_acc") c = i }
         NR == 3 { $c = $c + 0.1 } { print }' "$tmp/tb/epochs.csv" >"$tmp/changed/epochs.csv"
"$PYTHON" "$reader" "$tmp/changed" >"$tmp/read.out" 2>&1
check "a value epochs.csv does not hold is found out" \
    sh -c "[ $? -eq 1 ] && grep -q 'epoch 2: accuracy/test' '$tmp/read.out'"

GPOOL_FAULT=run:0:epoch:2 "$gpool" run -q "$cfg" --out "$tmp/cut" >/dev/null 2>&1
check "GPOOL_FAULT kills the sweep after run 0's second epoch" [ $? -eq 137 ]
"$gpool" run -q --resume "$cfg" --out "$tmp/cut" >/dev/null 2>&1
check "--resume finishes it" [ $? -eq 0 ]
"$PYTHON" "$reader" "$tmp/cut" >"$tmp/read.out" 2>&1
st=$?
sed 's/^/# /' "$tmp/read.out"
check "the resumed run's events hold every epoch once, equal to epochs.csv" [ "$st" -eq 0 ]

sed '/tensorboard: true/d' "$cfg" >"$tmp/off.yaml"
"$gpool" run -q "$tmp/off.yaml" --out "$tmp/off" >/dev/null 2>&1
check "without train.tensorboard no event file is written" \
    sh -c "[ $? -eq 0 ] && [ -z \"\$(find '$tmp/off' -name '*tfevents*')\" ]"
