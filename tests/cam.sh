#!/bin/sh
# cam.sh - `gpool cam` end to end: a synthetic sweep with train.keep_weights,
# then the maps of every method a head has drawn (PNG and SVG when gnuplot
# is there), and the refusals: an unknown run id, a run that kept no
# weights, a method the head has not, a method that does not exist. Emits
# TAP; writes only under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init cam

out="$tmp/out"
check_runs "gpool run with keep_weights exits 0" \
    "$gpool" run "$srcdir/tests/configs/cam.yaml" --out "$out" -q

id_of() { awk -F, -v head="$1" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "model.head") h = i
                                                                     if ($i == "run_id") r = i }
                                           next } $h == head { print $r }' "$out/runs.csv"; }
gap=$(id_of gap)
simpool=$(id_of simpool_dense)
flat=$(id_of flatten_dense)
check "every run kept its weights with their checksums" \
    [ -s "$out/runs/$gap/weights/crc32.txt" -a -s "$out/runs/$simpool/weights/crc32.txt" \
      -a -s "$out/runs/$flat/weights/crc32.txt" ]
check "the kept weights hold no optimizer state" \
    sh -c "! ls '$out/runs/$gap/weights' | grep -q 'exp_avg\|optim.txt'"

gnuplot_ok=0
tap_have_gnuplot && gnuplot_ok=1
# draw RUN METHOD: gpool cam exits 0 and, with gnuplot, writes a PNG and an SVG
draw() {
    "$gpool" cam "$out" "$1" --method "$2" --count 9 --out "$tmp/$1-$2.png" \
        >"$tmp/cam.out" 2>"$tmp/cam.err"
    rc=$?
    check "gpool cam $3 --method $2 exits 0" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/cam.err"
    if [ "$gnuplot_ok" -eq 1 ]; then
        check "... writes a PNG" sh -c "head -c 8 '$tmp/$1-$2.png' | od -An -c | grep -q 'P   N   G'"
        check "... and an SVG" grep -q '<svg' "$tmp/$1-$2.svg"
    else
        skip "... writes a PNG" "no gnuplot"
        skip "... and an SVG" "no gnuplot"
    fi
    check "... the data has one block per image (9)" \
        [ "$(grep -c '^# image' "$tmp/$1-$2.dat")" -eq 9 ]
}
draw "$gap" score gap
draw "$gap" gradcam gap
draw "$simpool" cam simpool_dense
draw "$simpool" attention simpool_dense
draw "$flat" gradcam flatten_dense

"$gpool" cam "$out" "$gap" -n 4 >/dev/null 2>"$tmp/err"
check "without --out the grid goes into the run's folder, by its default method" \
    [ -s "$out/runs/$gap/cam-score.dat" ]

"$gpool" cam "$out" 0123456789abcdef >/dev/null 2>"$tmp/err"
rc=$?
check "an unknown run id exits 1" [ "$rc" -eq 1 ]
check "... saying there is no such run" grep -q "no such run" "$tmp/err"

rm -r "$out/runs/$flat/weights"
"$gpool" cam "$out" "$flat" >/dev/null 2>"$tmp/err"
rc=$?
check "a run without weights exits 1" [ "$rc" -eq 1 ]
check "... saying how to keep them" grep -q "train.keep_weights: true" "$tmp/err"

"$gpool" cam "$out" "$gap" --method attention >/dev/null 2>"$tmp/err"
rc=$?
check "a method the head has not exits 1" [ "$rc" -eq 1 ]
check "... naming the methods it has" grep -q "head gap has no attention map (it has: score, gradcam)" "$tmp/err"

"$gpool" cam "$out" "$gap" --method saliency >/dev/null 2>"$tmp/err"
rc=$?
check "an unknown method is a bad command line (exit 2)" [ "$rc" -eq 2 ]

"$gpool" cam --help >"$tmp/help"
check "--help names every method" \
    sh -c "grep -q score '$tmp/help' && grep -q gradcam '$tmp/help' && grep -q attention '$tmp/help'"

echo "1..$n"
