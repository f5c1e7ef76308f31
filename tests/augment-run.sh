#!/bin/sh
# augment-run.sh - data.augment end to end: a synthetic run with flipped
# and padded-crop training batches trains, records the augmentation and the
# per-channel normalisation in its manifest, differs from the same run
# without augmentation, and killed mid-run then resumed gives the epochs of
# a run never stopped (the draws depend on seed, epoch and batch only).
# Then per-channel statistics that do not fit the images: refused before
# anything runs, at the key's file:line:column. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init augment-run
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/augment.yaml"
"$gpool" run -q "$cfg" --out "$tmp/whole" >"$tmp/whole.out" 2>&1
check "a run with data.augment finishes" [ $? -eq 0 ]
[ -s "$tmp/whole.out" ] && sed 's/^/# /' "$tmp/whole.out"
check "... and its run is ok" \
    [ "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next }
                  { print $c }' "$tmp/whole/runs.csv")" = ok ]
check "... and learns (test accuracy above the 4 classes' chance, 0.25, by far)" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "final_test_acc") c = i; next }
             { exit !($c > 0.4) }' "$tmp/whole/runs.csv"
id=$(awk -F, 'NR == 2 { print $1 }' "$tmp/whole/runs.csv")
man="$tmp/whole/runs/$id/manifest.yaml"
check "the run's manifest records the augmentation" \
    grep -qx '  augment: {hflip: true, crop_pad: 2}' "$man"
check "... and the normalisation computed from the training images" \
    grep -Eq '^  std: 0\.[0-9]+$' "$man"
check "the run's config.yaml keeps data.augment" \
    grep -q 'crop_pad: 2' "$tmp/whole/runs/$id/config.yaml"

# the same run without augmentation trains on other batches
sed 's/augment: {hflip: true, crop_pad: 2}/augment: {hflip: false, crop_pad: 0}/' "$cfg" \
    >"$tmp/plain.yaml"
"$gpool" run -q "$tmp/plain.yaml" --out "$tmp/plain" >/dev/null 2>&1
check "the same run without augmentation finishes" [ $? -eq 0 ]
loss() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "train_loss") c = i; next }
                  { print $c }' "$1"; }
check "... with other training losses" \
    [ "$(loss "$tmp/whole/epochs.csv")" != "$(loss "$tmp/plain/epochs.csv")" ]
grep -qx '  augment: {hflip: false, crop_pad: 0}' \
    "$tmp/plain/runs/$(awk -F, 'NR == 2 { print $1 }' "$tmp/plain/runs.csv")/manifest.yaml"
check "... and says so in its manifest" [ $? -eq 0 ]

# killed after epoch 2, resumed: the epochs of the run never stopped
GPOOL_FAULT=run:0:epoch:2 "$gpool" run -q "$cfg" --out "$tmp/cut" >/dev/null 2>&1
check "GPOOL_FAULT=run:0:epoch:2 kills the run" [ $? -eq 137 ]
"$gpool" run -q --resume "$cfg" --out "$tmp/cut" >"$tmp/resume.out" 2>&1
check "--resume finishes it" [ $? -eq 0 ]
check "... from its checkpoint" grep -q "continuing after epoch 2 from" "$tmp/resume.out"
untimed_csv "$tmp/whole/epochs.csv" >"$tmp/whole.epochs"
untimed_csv "$tmp/cut/epochs.csv" >"$tmp/cut.epochs"
check "... with epochs.csv equal to the uninterrupted run's up to timing" \
    cmp -s "$tmp/whole.epochs" "$tmp/cut.epochs"
untimed_csv "$tmp/whole/runs.csv" >"$tmp/whole.runs"
untimed_csv "$tmp/cut/runs.csv" >"$tmp/cut.runs"
check "... and runs.csv too" cmp -s "$tmp/whole.runs" "$tmp/cut.runs"

# statistics the one-channel synthetic images do not fit
refused() { # refused NAME REGEX DESCRIPTION SED: the config edited by SED must fail with REGEX
    sed "$4" "$cfg" >"$tmp/$1.yaml"
    "$gpool" run -q "$tmp/$1.yaml" --out "$tmp/out-$1" >"$tmp/$1.out" 2>&1
    rc=$?
    check "$3: refused" [ "$rc" -ne 0 ]
    check "... at the key's file:line:column" grep -Eq "$2" "$tmp/$1.out"
    check "... before anything ran" [ ! -e "$tmp/out-$1/runs.csv" ]
}
refused mean3 "mean3\\.yaml:10:9: .*data\\.mean: 3 values for 1-channel images" \
    "three means for one channel" 's/^  normalize: true$/&\n  mean: [0.1, 0.2, 0.3]\n  std: 0.3/'
refused std0 "std0\\.yaml:11:8: .*data\\.std: value 2 is 0" "a per-channel std of 0" \
    's/^  normalize: true$/&\n  mean: 0.2\n  std: [0.3, 0]/'
refused computed "computed\\.yaml:10:9: .*data\\.std is 0, which computes both" \
    "per-channel means with computed statistics" 's/^  normalize: true$/&\n  mean: [0.1, 0.2]/'
echo "1..$n"
