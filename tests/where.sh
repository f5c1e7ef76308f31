#!/bin/sh
# where.sh - the localization study in small (tests/configs/where.yaml: the
# synthetic shapes on a larger canvas, every head kind): gpool run keeps the
# weights, gpool where measures every map of every run into where.csv; the
# rows, their ranges and the baseline, and the refusals (a run without its
# weights, images on no canvas). Emits TAP; writes only under mktemp -d.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init where

out="$tmp/out"
check_runs "gpool run of the small where study exits 0" \
    "$gpool" run "$srcdir/tests/configs/where.yaml" --out "$out" -q

check_runs "gpool where exits 0" "$gpool" where "$out" -q
csv="$out/where.csv"
check "where.csv has the columns of its schema" \
    [ "$(head -1 "$csv")" = "run_id,model.head,head,seed,method,images,test_acc,pointing,iou,centre_pointing,margin" ]
methods() { awk -F, -v head="$1" 'NR > 1 && $3 == head { printf "%s ", $5 }' "$csv"; }
check "gap: score and gradcam" [ "$(methods gap)" = "score gradcam " ]
check "attn: score, attention and gradcam" [ "$(methods attn)" = "score attention gradcam " ]
check "simpool_dense: cam, attention and gradcam" [ "$(methods simpool_dense)" = "cam attention gradcam " ]
check "gap_dense: cam and gradcam" [ "$(methods gap_dense)" = "cam gradcam " ]
check "spp_dense and flatten_dense: gradcam only" \
    [ "$(methods spp_dense)$(methods flatten_dense)" = "gradcam gradcam " ]
check "every row covers the 200 test images" \
    awk -F, 'NR > 1 && $6 != 200 { exit 1 }' "$csv"
check "accuracy, pointing, IoU and the baseline are fractions, not all zero" \
    awk -F, 'NR > 1 { for (i = 7; i <= 10; i++) { if ($i < 0 || $i > 1) exit 1; s += $i } }
             END { exit !(s > 0) }' "$csv"
check "the centre baseline is one number for every run (the same test places)" \
    [ "$(awk -F, 'NR > 1 { print $10 }' "$csv" | sort -u | wc -l)" -eq 1 ]
check "the margin is pointing less the baseline" \
    awk -F, 'NR > 1 { d = $8 - $10 - $11; if (d > 1e-4 || d < -1e-4) exit 1 }' "$csv"

flat=$(awk -F, '$3 == "flatten_dense" { print $1 }' "$csv")
cp -r "$out" "$tmp/noweights"
rm -r "$tmp/noweights/runs/$flat/weights" "$tmp/noweights/where.csv"
"$gpool" where "$tmp/noweights" -q >/dev/null 2>"$tmp/err"
rc=$?
check "a run without weights: exit 1" [ "$rc" -eq 1 ]
check "... naming the run and how to keep them" \
    sh -c "grep -q 'run $flat' '$tmp/err' && grep -q 'train.keep_weights: true' '$tmp/err'"
check "... and no where.csv written" [ ! -e "$tmp/noweights/where.csv" ]

cp -r "$out" "$tmp/nocanvas"
for f in "$tmp"/nocanvas/runs/*/config.yaml; do
    sed 's/canvas: {size: 28/canvas: {size: 0/' "$f" >"$f.new" && mv "$f.new" "$f"
done
rm -f "$tmp/nocanvas/where.csv"
"$gpool" where "$tmp/nocanvas" -q >/dev/null 2>"$tmp/err"
rc=$?
check "images on no canvas: exit 1, saying so" \
    sh -c "[ $rc -eq 1 ] && grep -q 'not placed on a canvas' '$tmp/err' && [ ! -e '$tmp/nocanvas/where.csv' ]"

# a canvas with settings that would drop it: refused before anything runs,
# at the line and column of the key to blame
line=$(grep -n 'canvas:' "$srcdir/tests/configs/where.yaml" | cut -d: -f1)
sed 's/^\(  canvas: .*\)$/\1\n  resize: 32/' "$srcdir/tests/configs/where.yaml" >"$tmp/resize.yaml"
"$gpool" run --check "$tmp/resize.yaml" >/dev/null 2>"$tmp/err"
rc=$?
check "canvas with resize: --check exits 1 at data.canvas's line ($line)" \
    sh -c "[ $rc -eq 1 ] && grep -q 'resize.yaml:$line:[0-9]*: data: data.canvas: .*cannot go with data.resize (32)' '$tmp/err'"
{ cat "$srcdir/tests/configs/where.yaml"; printf 'eval:\n  sizes: [40]\n'; } >"$tmp/sizes.yaml"
line=$(grep -n 'sizes:' "$tmp/sizes.yaml" | cut -d: -f1)
"$gpool" run -q --out "$tmp/sizes" "$tmp/sizes.yaml" >/dev/null 2>"$tmp/err"
rc=$?
check "canvas with eval.sizes: gpool run refuses at eval.sizes ($line), writing nothing" \
    sh -c "[ $rc -ne 0 ] && grep -q 'sizes.yaml:$line:[0-9]*: eval.sizes: .*not available with a canvas' '$tmp/err' && [ ! -e '$tmp/sizes' ]"

# gpool claims reads where.csv (file: where): the localization claim's
# evidence is the Grad-CAM rows of gap, gmp and flatten_dense
cat >"$tmp/claims.yaml" <<EOF
claims:
  - id: loses-where
    text: "maps of global pooling point less often"
    study: $out
    file: where
    metric: pointing
    a: [gap, gmp]
    b: [flatten_dense]
    filter: [method=gradcam]
    direction: less
EOF
"$gpool" claims --out "$tmp/claims" "$tmp/claims.yaml" >/dev/null 2>"$tmp/err"
rc=$?
check "gpool claims on where.csv exits 0" [ "$rc" -eq 0 ]
check "... its evidence is where.csv's 3 Grad-CAM rows of those heads" \
    grep -q "where.csv: 3 of [0-9]* rows" "$tmp/claims/claims.md"
echo "1..$n"
