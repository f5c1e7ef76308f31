#!/bin/sh
# profile-smoke.sh - run `gpool profile` on the synthetic config and check
# what it writes: one CSV row per part of the net (a layer, or a conv with
# the layers fused into it, whose epilogue has rows of its own) and pass,
# plus the loss and the optimizer, with positive times and the documented
# columns, shares that sum to 100%, the printed ratio line, summary.yaml, the roofline chart (when
# gnuplot is there), the default output directory, Ctrl-C, and that bad
# command lines exit 2. Emits TAP. Writes only under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init profile-smoke
config="$srcdir/tests/configs/synthetic.yaml"
cd "$tmp" || exit 1

# The synthetic net with the gap head: a 6-layer trunk (conv, batchnorm,
# relu, maxpool, conv, relu), then the 1x1 conv to the classes and the
# pooling layer. The net runs it in 5 parts: conv+batchnorm+relu fused
# (epilogue rows on layer 1), maxpool, conv+relu fused (epilogue rows on
# layer 5), the 1x1 conv and the pooling layer.
parts="0 3 4 6 7"
# Small and quick: few repeats, a small sgemm and a bandwidth probe over
# 8 MiB (not DRAM, but this checks the plumbing, not the machine).
quick="--repeats 5 --warmup 1 --sgemm-n 256 --bw-mib 8"

# shellcheck disable=SC2086
"$gpool" profile $quick --out "$tmp/out" "$config" >profile.out 2>profile.err
status=$?
check "gpool profile exits 0" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' profile.err
csv=out/profile.csv
check "profile.csv written" test -s "$csv"

# The header is the first line that is not a '#' comment.
header=$(grep -v '^#' "$csv" 2>/dev/null | head -n 1)
missing=
for c in layer kind pass out_shape median_ms min_ms wall_median_ms flops bytes gflop_s gb_s \
         flop_per_byte share_pct peak_frac desc; do
    case ",$header," in *",$c,"*) ;; *) missing="$missing $c" ;; esac
done
check "CSV header has the documented columns${missing:+ (missing:$missing)}" test -z "$missing"
check "desc is the last column (it may hold commas)" sh -c 'case "$1" in *,desc) ;; *) exit 1 ;; esac' sh "$header"
check "the CSV comments document the FLOP and byte models" \
    sh -c 'grep -q "^# flops" "$1" && grep -q "^# bytes" "$1" && grep -q "^# machine: peak_gflops" "$1"' sh "$csv"

col() { echo "$header" | tr ',' '\n' | grep -n -x "$1" | cut -d: -f1; }
c_layer=$(col layer); c_pass=$(col pass); c_med=$(col median_ms); c_min=$(col min_ms)
c_wall=$(col wall_median_ms); c_share=$(col share_pct); c_flops=$(col flops); c_bytes=$(col bytes)
grep -v '^#' "$csv" | tail -n +2 >rows.csv

c_kind=$(col kind)
rows=$(wc -l <rows.csv)
check "two rows per part and per fused epilogue, plus loss and optimizer ($rows = 2 x 5 + 2 x 2 + 2)" \
    test "$rows" -eq 16
# Every part's first layer has one forward and one backward row.
bad=$(awk -F, -v l="$c_layer" -v p="$c_pass" -v k="$c_kind" -v parts="$parts" '
    $l != "" && $k !~ /^epi / { seen[$l "," $p]++ }
    END {
        bad = 0
        np = split(parts, P, " ")
        for (i = 1; i <= np; i++)
            if (seen[P[i] ",forward"] != 1 || seen[P[i] ",backward"] != 1) bad++
        print bad
    }' rows.csv)
check "parts $parts each have one forward and one backward row" test "$bad" -eq 0
# The passes of a fused epilogue's rows, on its first fused layer.
epi_passes() { # epi_passes LAYER KIND
    awk -F, -v l="$c_layer" -v p="$c_pass" -v k="$c_kind" -v L="$1" -v K="$2" \
        '$l == L && $k == K { print $p }' rows.csv | sort | tr '\n' ' '
}
check "layer 1 has the forward and backward rows of conv 0's epilogue (epi bn+relu)" \
    test "$(epi_passes 1 'epi bn+relu')" = "backward forward "
check "layer 5 has the forward and backward rows of conv 4's epilogue (epi relu)" \
    test "$(epi_passes 5 'epi relu')" = "backward forward "
others=$(awk -F, -v l="$c_layer" -v p="$c_pass" '$l == "" { print $p }' rows.csv | sort | tr '\n' ' ')
check "a loss row and an optimizer step row (got: $others)" test "$others" = "loss step "

awk -F, -v a="$c_med" -v b="$c_min" -v c="$c_wall" \
    '!($a + 0 > 0 && $b + 0 > 0 && $c + 0 > 0 && $b + 0 <= $a + 0)' rows.csv >bad-times.txt
check "every row has positive times, min <= median" test ! -s bad-times.txt
head -n 3 bad-times.txt | sed 's/^/# /'

awk -F, -v f="$c_flops" -v b="$c_bytes" -v p="$c_pass" \
    '$f + 0 < 0 || $b + 0 <= 0 || ($p == "forward" && NR == 1 && $f + 0 <= 0)' rows.csv >bad-cost.txt
check "FLOPs are non-negative and bytes positive (the first conv has FLOPs)" test ! -s bad-cost.txt

# Shares are rounded to 0.001%: 16 of them sum to 100 within 0.01.
total=$(awk -F, -v s="$c_share" '{ t += $s } END { printf "%.4f", t }' rows.csv)
# peak_frac: a conv2d row's GFLOP/s over the FMA peak, and nothing else's.
c_gflops=$(col gflop_s); c_frac=$(col peak_frac)
peak=$(sed -n 's/^  peak_gflops: \([0-9.]*\)$/\1/p' out/summary.yaml)
awk -F, -v k="$c_kind" -v f="$c_frac" -v g="$c_gflops" -v peak="$peak" '
    ($k == "conv2d") != ($f != "") { print; next }
    $k == "conv2d" && ($f + 0 <= 0 || ($g / peak - $f) ^ 2 > 1e-6) { print }' rows.csv >bad-frac.txt
check "peak_frac is gflop_s / peak_gflops in the conv2d rows (peak $peak), empty elsewhere" \
    test -n "$peak" -a ! -s bad-frac.txt
head -n 3 bad-frac.txt | sed 's/^/# /'
check "the table shows the conv rows' share of the FMA peak and names the peak" \
    sh -c 'grep -q "^machine: FMA peak [0-9.]* GFLOP/s (fma-" "$1" &&
           test "$(grep -c -E "^ *[0-9]+  conv2d .* [0-9.]+%  " "$1")" -eq 6' sh profile.out
check "summary.yaml names the peak it used and keeps the sgemm figure" \
    sh -c 'grep -q "^  peak_source: fma-\(zmm\|ymm\|generic\)$" "$1" &&
           grep -q "^  sgemm_gflops: [0-9]" "$1" && grep -q "^  fma_gflops_1thread: [0-9]" "$1"' \
    sh out/summary.yaml

check "shares sum to 100% ($total)" awk -v t="$total" 'BEGIN { exit !(t > 99.99 && t < 100.01) }'

check "the table prints the ratio line" grep -q '^ratio sum/step  *[0-9]' profile.out
check "the table has a row per part, epilogue and pass" \
    test "$(grep -c -E '^ *[0-9]+  .* (forward|backward) ' profile.out)" -eq 14
check "summary.yaml records the peaks and the step times" \
    sh -c 'grep -q "^  peak_gflops: [0-9]" "$1" && grep -q "^  dram_gbps: [0-9]" "$1" &&
           grep -q "^  uninstrumented_ms: [0-9]" "$1" && grep -q "^  ratio: [0-9]" "$1"' \
    sh out/summary.yaml

if tap_have_gnuplot; then
    # the 8-byte PNG signature: \211 P N G \r \n \032 \n
    check "roofline.png is a PNG" \
        sh -c 'head -c 8 out/roofline.png | od -An -c | tr -s " " | grep -q "211 P N G \\\\r \\\\n 032 \\\\n"'
    check "roofline.svg is SVG" grep -q '<svg' out/roofline.svg
    check "roofline.gp and roofline.dat (to redraw it) are written" \
        sh -c 'test -s out/roofline.gp && test -s out/roofline.dat'
else
    skip "roofline.png is a PNG" "no gnuplot"
    skip "roofline.svg is SVG" "no gnuplot"
    skip "roofline.gp and roofline.dat (to redraw it) are written" "no gnuplot"
fi
check "no temp files left in the output directory" test "$(find out -name '*.tmp.*' | wc -l)" -eq 0

# Without --out: results/<name>/profile under the current directory.
# shellcheck disable=SC2086
"$gpool" profile $quick --no-chart --head gem_dense "$config" >default.out 2>default.err
status=$?
check "--head gem_dense without --out writes results/synthetic-smoke/profile (status $status)" \
    test "$status" -eq 0 -a -s results/synthetic-smoke/profile/profile.csv
check "--no-chart draws no chart" test ! -e results/synthetic-smoke/profile/roofline.png

# Bad command lines: exit 2, with a message.
bad_cli() { # bad_cli DESCRIPTION ARGS...
    desc=$1; shift
    "$gpool" profile "$@" >bad.out 2>bad.err
    status=$?
    check "$desc exits 2 (got $status)" sh -c 'test "$1" -eq 2 && test -s bad.err' sh "$status"
}
bad_cli "an unknown option" --no-such-option "$config"
bad_cli "--repeats 0" --repeats 0 "$config"
bad_cli "--batch abc" --batch abc "$config"
bad_cli "--threads without a value" "$config" --threads
bad_cli "no CONFIG" --repeats 3
bad_cli "two CONFIGs" "$config" "$config"
bad_cli "a head the config does not sweep" --head no_such_head "$config"
bad_cli "a batch larger than the training set" --batch 60000 "$config"
bad_cli "a missing config file" "$tmp/no-such.yaml"
"$gpool" profile --help >help.out 2>&1
check "--help exits 0 and documents the byte model" \
    sh -c 'test "$1" -eq 0 && grep -q "backward bytes" help.out' sh "$?"

# Ctrl-C: exit 130 and nothing written.
tap_check_interrupt "$tmp/int" "$gpool" profile --repeats 100000 --warmup 0 --sgemm-n 256 \
    --bw-mib 8 --no-chart --out "$tmp/int" "$config"

echo "1..$n"
exit 0
