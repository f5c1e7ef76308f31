#!/bin/sh
# bench-smoke.sh - run `gpool bench` on a tiny config and check what it
# writes: CSV columns and row count, auto rows, numeric frac, one point id
# per sweep point, the chart (when gnuplot is there), resolved config and
# manifest, no temp files; that a row disturbed by another process is
# measured again and marked; that Ctrl-C leaves nothing behind; and that
# --list-variants lists every variant. Emits TAP. Writes only under a
# mktemp -d directory (the source tree may be read-only).
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_slow "timed benchmark rows"
tap_init bench-smoke
export GPOOL_BENCH_GP="$srcdir/experiments/records/bench.gp"
cd "$tmp" || exit 1

# 2 ops x 2 passes x 2 layouts x 2 modes x 2 thread counts = 32 points on
# one small shape (odd H*W, C not a multiple of 16); cold rotates through
# only 4 MiB to stay quick. On an idle machine this takes ~2 s; when other
# processes compete for the CPUs, every 2-thread fork-join can wait a
# scheduler slice and it takes longer.
cat > tiny.yaml <<'EOF'
name: smoke
output: not-here          # --out overrides it
bench:
  shapes: [[2, 19, 9, 11]]
  variants: [all]
  repetitions: 20
  warmup: 1
  min_sample_ms: 0.05
  probe_sample_ms: 0.05
  cold_mib: 4
sweep:
  bench.op: [avg, max]
  bench.pass: [fwd, bwd]
  bench.layout: [nchw, nhwc]
  bench.mode: [hot, cold]
  bench.threads: [1, 2]
EOF
points=32
shapes=1

"$gpool" bench --config tiny.yaml --out "$tmp/out" --quiet >bench.out 2>bench.err
status=$?
check "gpool bench exits 0" test "$status" -eq 0
[ "$status" -eq 0 ] || sed 's/^/# /' bench.err
csv=out/bench.csv

check "bench.csv written" test -s "$csv"
header=$(head -n 1 "$csv" 2>/dev/null)
missing=
for col in variant op pass layout n c h w threads mode median_s min_s gbps probe_gbps frac \
           point_id impl bytes reps status; do
    case ",$header," in *",$col,"*) ;; *) missing="$missing $col" ;; esac
done
check "CSV header has the required columns${missing:+ (missing:$missing)}" test -z "$missing"

# The expected rows: for every point, one per variant this CPU can run for
# its op and layout, plus auto; for every shape.
"$gpool" bench --list-variants >variants.txt 2>&1
expected=0
for op in avg max; do
    for layout in nchw nhwc; do
        avail=$(awk -v op=$op -v lay=$layout '$2 == op && $3 == lay && $6 == "yes"' variants.txt | wc -l)
        # each (op, layout) appears in 2 passes x 2 modes x 2 thread counts
        expected=$((expected + 8 * shapes * (avail + 1)))
    done
done
rows=$(($(wc -l <"$csv" 2>/dev/null || echo 1) - 1))
check "row count $rows = $expected" test "$rows" -eq "$expected"

col() { # col NAME: index of a CSV column in the header
    echo "$header" | tr ',' '\n' | grep -n -x "$1" | cut -d: -f1
}
c_variant=$(col variant); c_frac=$(col frac); c_status=$(col status); c_point=$(col point_id)
c_impl=$(col impl); c_median=$(col median_s)

autos=$(awk -F, -v c="$c_variant" 'NR > 1 && $c == "auto"' "$csv" | wc -l)
check "one auto row per point and shape ($autos)" test "$autos" -eq $((points * shapes))

bad_impl=$(awk -F, -v c="$c_variant" -v i="$c_impl" 'NR > 1 && $c == "auto" && ($i == "" || $i == "auto")' "$csv" | wc -l)
check "auto rows name the variant the dispatcher chose" test "$bad_impl" -eq 0

not_ok_rows=$(awk -F, -v c="$c_status" 'NR > 1 && $c != "ok"' "$csv" | wc -l)
check "every row checked and timed (status ok)" test "$not_ok_rows" -eq 0

awk -F, -v c="$c_frac" -v m="$c_median" 'NR > 1 && ($c !~ /^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ || $c + 0 <= 0 || $m + 0 <= 0)' "$csv" >bad-frac.txt
check "frac and median_s are positive numbers" test ! -s bad-frac.txt
head -n 3 bad-frac.txt | sed 's/^/# /'

c_wait=$(col cpu_wait); c_att=$(col attempts)
check "CSV has the cpu_wait and attempts columns" test -n "$c_wait" -a -n "$c_att"
awk -F, -v w="${c_wait:-0}" -v a="${c_att:-0}" 'NR > 1 && (($w != "" && $w !~ /^[0-9]+(\.[0-9]+)?$/) || $a !~ /^[123]$/)' "$csv" >bad-wait.txt
check "cpu_wait is a share >= 0 and attempts is 1 to 3 on every row" test ! -s bad-wait.txt
head -n 3 bad-wait.txt | sed 's/^/# /'

ids=$(awk -F, -v c="$c_point" 'NR > 1 { print $c }' "$csv" | sort -u | wc -l)
check "every sweep point id appears ($ids of $points)" test "$ids" -eq "$points"

check "config.yaml (resolved config) written" grep -q 'repetitions' out/config.yaml
check "manifest.yaml records CPU, L3 and the command" \
    sh -c 'grep -q "^cpu_model:" out/manifest.yaml && grep -q "^l3_bytes:" out/manifest.yaml && grep -q "^command:.*bench" out/manifest.yaml'
# the pool tuning the rows were measured with, forced here through the environment
GPOOL_POOL_TUNING=amd "$gpool" bench --config tiny.yaml --out "$tmp/amd" \
    --no-chart >amd.out 2>amd.err
check "GPOOL_POOL_TUNING=amd is in the bench manifest and its closing note" \
    sh -c 'grep -q "^pool_tuning: {name: amd, " amd/manifest.yaml && grep -q "pool tuning amd" amd.err'
GPOOL_POOL_TUNING=zen9 "$gpool" bench --config tiny.yaml --out "$tmp/bad" --quiet >bad.out 2>bad.err
check "an unknown GPOOL_POOL_TUNING fails the rows and names itself" \
    sh -c '! [ -s bad/bench.csv ] || grep -q "zen9" bad/bench.csv bad.err'
check "the config's own output directory was not used" test ! -e not-here

if tap_have_gnuplot; then
    check "bench.png is a PNG" sh -c 'test -s out/bench.png && head -c 4 out/bench.png | od -c | grep -q "P   N   G"'
    if command -v python3 >/dev/null 2>&1; then
        check "bench.svg parses as XML" python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith("svg") else 1)' out/bench.svg
    else
        check "bench.svg is SVG" grep -q '<svg' out/bench.svg
    fi
else
    skip "bench.png is a PNG" "no gnuplot"
    skip "bench.svg parses as XML" "no gnuplot"
fi

leftovers=$(find out -name '*.tmp.*' | wc -l)
check "no temp files left in the output directory" test "$leftovers" -eq 0

# --list-variants: every documented variant name, in all four (op, layout)
# of avg and max and in NCHW for topk, adaptive_avg and adaptive_max.
missing=
for name in scalar scalar_omp avx2 avx2_omp avx512 avx512_omp; do
    count=$(awk -v v=$name '$1 == v' variants.txt | wc -l)
    kpool=$(awk -v v=$name '$1 == v && $3 == "nchw" && ($2 == "topk" || $2 == "adaptive_avg" ||
                                                         $2 == "adaptive_max")' variants.txt | wc -l)
    [ "$count" -eq 7 ] && [ "$kpool" -eq 3 ] || missing="$missing $name"
done
check "--list-variants lists every variant${missing:+ (missing:$missing)}" test -z "$missing"
check "--list-variants has the availability column" grep -q 'available' variants.txt

# Ctrl-C: exit 130, and nothing (not even a temp file) in the output dir.
cat > slow.yaml <<'EOF'
name: interrupted
bench:
  shapes: [[4, 64, 7, 7]]
  repetitions: 1000
  min_sample_ms: 5
sweep:
  bench.threads: [1, 2]
EOF
tap_check_interrupt "$tmp/int" "$gpool" bench --config slow.yaml --out "$tmp/int" --quiet
check "an interrupted run says so" grep -q 'interrupted' int.err

# A disturbed row is measured again and says so: the benchmark and a busy
# loop pinned to the same CPU share it, so the row's thread waits for the
# CPU about half of the time, far above max_cpu_wait.
cat > shared.yaml <<'EOF'
name: shared
bench:
  shapes: [[2, 19, 9, 11], [3, 16, 7, 7]]
  variants: [auto]
  repetitions: 20
  warmup: 1
  min_sample_ms: 0.5
  probe_sample_ms: 0.5
  max_cpu_wait: 0.02
  attempts: 2
EOF
if [ -r /proc/self/schedstat ] && taskset -c 0 true 2>/dev/null; then
    taskset -c 0 sh -c 'while :; do :; done' &
    busy=$!
    taskset -c 0 "$gpool" bench --config shared.yaml --out "$tmp/shared" --quiet --no-chart \
        >shared.out 2>shared.err
    status=$?
    kill "$busy" 2>/dev/null
    wait "$busy" 2>/dev/null
    scsv="$tmp/shared/bench.csv"
    sh_h=$(head -n 1 "$scsv" 2>/dev/null)
    sc() { echo "$sh_h" | tr ',' '\n' | grep -n -x "$1" | cut -d: -f1; }
    flagged=$(awk -F, -v a="$(sc attempts)" -v w="$(sc cpu_wait)" \
        'NR > 1 && $a == 2 && $w > 0.02 && /,disturbed: /' "$scsv" 2>/dev/null | wc -l)
    check "a row sharing its CPU is measured twice and marked disturbed (status $status, $flagged of 2 rows)" \
        test "$status" -eq 0 -a "$flagged" -eq 2
else
    skip "a row sharing its CPU is measured twice and marked disturbed" "no schedstat or taskset"
fi

# A row that cannot run is an error row and a non-zero exit, never silently
# dropped: force auto onto a variant name the library rejects.
cat > one.yaml <<'EOF'
name: one
bench:
  shapes: [[1, 8, 3, 3]]
  variants: [scalar]
  min_sample_ms: 0.05
  probe_sample_ms: 0.05
EOF
GPOOL_VARIANT=no_such_variant "$gpool" bench --config one.yaml --out "$tmp/bad" --quiet --no-chart >bad.out 2>bad.err
status=$?
errs=$(awk -F, -v c="$c_status" 'NR > 1 && $c == "error"' "$tmp/bad/bench.csv" 2>/dev/null | wc -l)
check "a failing row is an error row and a non-zero exit (status $status, $errs error rows)" \
    test "$status" -ne 0 -a "$errs" -ge 1

echo "1..$n"
exit 0
