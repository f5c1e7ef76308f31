#!/bin/sh
# campaign.sh BUILDDIR SECONDS [TARGET...] - a short libFuzzer run of each
# fuzz target (by default every one with a corpus directory in
# tests/fuzz/corpus/: config idx npy csv cifar png) of a build configured with
# --enable-fuzzing, from the committed corpus and the tree's own inputs of
# the same reader. The corpus in the tree is only read: what the fuzzer
# finds goes to a temporary directory. A crash, a sanitizer report, a leak,
# a timeout or running out of memory is a failure: its log is printed with
# the input that caused it, kept as BUILDDIR/fuzz-<target>-crash-... (add
# it to tests/fuzz/corpus/<target>/ once fixed). Exit status 1 when a
# target failed. .ci/run calls it; by hand:
#   mkdir build-fuzz && cd build-fuzz && ../configure CC=clang --enable-fuzzing
#   make -j2 fuzz-targets && sh ../tests/fuzz/campaign.sh . 60 config
set -u

[ $# -ge 2 ] || { echo "usage: $0 BUILDDIR SECONDS [TARGET...]" >&2; exit 2; }
builddir=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
# shellcheck disable=SC2046 # the corpus directories are target names
[ $# -gt 0 ] || set -- $(cd "$srcdir/tests/fuzz/corpus" && ls)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpool-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# seeds TARGET: the tree's directories of inputs of the target's reader
seeds() {
    case $1 in
        config) echo "$srcdir/configs $srcdir/tests/configs $srcdir/tests/bad-configs" ;;
        npy) echo "$srcdir/tests/fixtures/prev-release/runs/6b27eff586863f53/checkpoint" ;;
        csv) echo "$srcdir/tests/fixtures/heads-mini $srcdir/tests/fixtures/sizes-mini" ;;
    esac
}

status=0
for t in "$@"; do
    prog="$builddir/tests/fuzz/fuzz_$t"
    [ -x "$prog" ] || { echo "fuzz $t: $prog is not built"; status=1; continue; }
    mkdir "$tmp/$t"
    start=$(date +%s)
    # -timeout: one input may take 10 s (an ASan build loading a big sweep);
    # -rss_limit_mb: what the 2 cores' machine can spare
    # shellcheck disable=SC2046 # seeds are directory lists without spaces
    "$prog" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$builddir/fuzz-$t-" \
        "$tmp/$t" "$srcdir/tests/fuzz/corpus/$t" $(seeds "$t") >"$tmp/$t.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
    found=$(find "$tmp/$t" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ok, ${runs:-?} runs in $(($(date +%s) - start)) s, $found new inputs"
    else
        echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs:"
        grep -v '^#[0-9]*\s*\(NEW\|REDUCE\|pulse\|INITED\)' "$tmp/$t.log" | tail -n 60
        status=1
    fi
done
exit "$status"
