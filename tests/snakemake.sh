#!/bin/sh
# snakemake.sh - the README's Snakemake line, run as written on a tiny config
# (three shards, two local jobs at a time): the workflow's shards, merge and
# table rules all run, the merged runs.csv and epochs.csv equal a
# single-process run's up to the timing columns, a second invocation finds
# nothing to do, and a missing experiment is a clear error. Skips without
# Debian's snakemake. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init snakemake
what="the Snakemake workflow of a sweep's shards, merge and table"
tap_need snakemake "$what"
tap_need python3 "$what"
# Snakemake's caches go to the temporary directory, not the user's home
export XDG_CACHE_HOME="$tmp/cache"
echo "1..7"

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/single" >"$tmp/single.out" 2>&1
check "the single-process sweep finishes" [ $? -eq 0 ]

tap_checkout_top snakemake
snakemake -s scripts/snakemake/Snakefile --cores 2 --config experiment="$cfg" shards=3 \
    >"$tmp/snakemake.out" 2>&1
st=$?
[ "$st" -eq 0 ] || tail -n 20 "$tmp/snakemake.out" | sed 's/^/# /'
check "snakemake runs the workflow to its end" [ "$st" -eq 0 ]
check "... three shard jobs, one merge and one table" \
    [ "$(grep -c '^rule shard:' "$tmp/snakemake.out")" -eq 3 -a \
      "$(grep -c '^rule merge:' "$tmp/snakemake.out")" -eq 1 -a \
      "$(grep -c '^rule table:' "$tmp/snakemake.out")" -eq 1 ]
check_same_results "$tmp/single" results/resume-test
check "the table rule drew the merged table" grep -q '^| gmp_dense ' results/resume-test/table.md

snakemake -s scripts/snakemake/Snakefile --cores 2 --config experiment="$cfg" shards=3 \
    >"$tmp/again.out" 2>&1
check "run again, it finds nothing to do" grep -q 'Nothing to be done' "$tmp/again.out"

snakemake -s scripts/snakemake/Snakefile --cores 2 >"$tmp/none.out" 2>&1
st=$?
check "without an experiment it fails and says which key is missing" \
    sh -c "[ $st -ne 0 ] && grep -q 'config experiment=' '$tmp/none.out'"
