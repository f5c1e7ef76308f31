#!/bin/sh
# gnu-parallel.sh - the README's GNU parallel lines, run as written on a tiny
# config: three shards at once, then `gpool merge`; the merged runs.csv and
# epochs.csv equal a single-process run's up to the timing columns. Skips
# without GNU parallel. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init gnu-parallel
what="a sweep's shards run by GNU parallel"
tap_need parallel "$what"
tap_need python3 "$what"
parallel --version 2>/dev/null | grep -q 'GNU parallel' ||
    tap_skip_all "$what" "the parallel on PATH is not GNU parallel"
# GNU parallel keeps its state (and its citation notice's mark) there
export PARALLEL_HOME="$tmp/parallel"
echo "1..4"

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/single" >"$tmp/single.out" 2>&1
check "the single-process sweep finishes" [ $? -eq 0 ]

tap_checkout_top
parallel -j3 ./experiments/gpool run -q --shard {}/3 "$cfg" ::: 1 2 3 >"$tmp/parallel.out" 2>&1
check "GNU parallel runs the three shards" [ $? -eq 0 ]
./experiments/gpool merge -o results/resume-test results/resume-test/shard-*-of-3 >"$tmp/merge.out" 2>&1
check "gpool merge joins them" [ $? -eq 0 ]
check_same_results "$tmp/single" results/resume-test
