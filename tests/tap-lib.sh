# tap-lib.sh - shared preamble of the shell tests, sourced (not run) as
#   : "${top_srcdir:=.}"
#   . "$top_srcdir/tests/tap-lib.sh"
#   tap_init NAME
# Sourcing only defines functions and starts the TAP counter $n, so that a
# test can decide what to do before it has a temporary directory (skip, or
# re-exec itself: exec would not run the cleanup trap).
# shellcheck shell=sh disable=SC2034 # its variables are for the test that sources it

n=0

tap_bail() { echo "Bail out! $1"; exit 1; }

abs_dir() { (cd "$1" && pwd); }

# tap_locate: absolute $builddir and $srcdir, and the built command in $gpool.
# Tests run by hand from the top of a build get "." for both directories.
tap_locate() {
    builddir=$(abs_dir "${top_builddir:-.}") || tap_bail "no top_builddir"
    srcdir=$(abs_dir "${top_srcdir:-.}") || tap_bail "no top_srcdir"
    gpool="$builddir/experiments/gpool"
    [ -x "$gpool" ] || tap_bail "$gpool is not built"
}

# tap_mktemp NAME [CLEANUP]: a fresh directory $tmp, removed on exit after the
# shell command CLEANUP (for whatever would stop rm -rf: a mount, modes).
# INT and TERM go through exit so that the EXIT trap still runs.
tap_mktemp() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpool-$1.XXXXXX") || tap_bail "mktemp"
    trap "${2:+$2; }"'rm -rf "$tmp"' EXIT
    trap 'exit 1' INT TERM
}

tap_init() { tap_locate && tap_mktemp "$@"; }

# tap_need_fashion: FashionMNIST's directory in $found, or the whole test is
# one skip when it is not installed
tap_need_fashion() {
    found=
    for d in ${GPOOL_DATA:+"$GPOOL_DATA"} ./data ./data/fashion-mnist /usr/share/datasets/fashion-mnist; do
        if [ -e "$d/train-images-idx3-ubyte.gz" ] || [ -e "$d/train-images-idx3-ubyte" ]; then
            found=$d; return 0
        fi
    done
    echo "1..0 # SKIP FashionMNIST is not installed (apt-get install dataset-fashion-mnist)"
    exit 0
}

# tap_need PROGRAM WHAT: the whole test is one skip when PROGRAM is not on
# PATH (a tool the test cannot do without, such as python3)
tap_need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    tap_skip_all "$2" "no $1"
}

# tap_data_python WHAT: Debian's python3 (python3-numpy; $DATA_PYTHON when
# set), not whichever python3 is first on PATH, in $PYTHON, for the tests
# whose data sets tests/make-image-data.py writes; else the whole test is
# one skip
tap_data_python() {
    PYTHON=${DATA_PYTHON:-/usr/bin/python3}
    [ -x "$PYTHON" ] || tap_skip_all "$1" "$PYTHON not found (the data sets are written by python3)"
}

# tap_skip_all WHAT REASON: the whole test is one skip, before any other TAP line
tap_skip_all() {
    echo "1..1"
    printf 'ok 1 - %s # SKIP %s\n' "$1" "$2"
    exit 0
}

# tap_slow WHY: the whole test is one skip when GPOOL_SLOW_TESTS=0, as in the
# sanitizer stage of .ci/run (which lists the tests that call this)
tap_slow() {
    [ "${GPOOL_SLOW_TESTS:-1}" = 0 ] || return 0
    echo "1..0 # SKIP slow test ($1): GPOOL_SLOW_TESTS=0"
    exit 0
}

# printf, not echo: a description may hold a backslash
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() { n=$((n + 1)); printf 'not ok %d - %s\n' "$n" "$1"; }
skip() { n=$((n + 1)); printf 'ok %d - %s # SKIP %s\n' "$n" "$1" "$2"; }
check() { # check DESCRIPTION COMMAND...
    desc=$1; shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_runs DESCRIPTION COMMAND...: COMMAND run with its output in
# $tmp/stdout and $tmp/stderr and its exit status in $rc; one test point that
# the status is 0, with the errors as TAP comments when it is not
check_runs() {
    check_runs_desc=$1
    shift
    "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    check "$check_runs_desc" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/stderr"
}

# tap_have_gnuplot: whether charts can be drawn here: $GNUPLOT when it is
# set (set but empty: no), else a gnuplot on PATH
tap_have_gnuplot() {
    if [ "${GNUPLOT+set}" = set ]; then
        [ -n "$GNUPLOT" ]
    else
        command -v gnuplot >/dev/null 2>&1
    fi
}

# tap_check_interrupt DIR COMMAND...: run COMMAND (output in int.out and
# int.err) and send it SIGINT a second later; it must end with status 130
# and leave nothing in DIR
tap_check_interrupt() {
    int_dir=$1; shift
    "$@" >int.out 2>int.err &
    int_pid=$!
    sleep 1
    kill -INT "$int_pid" 2>/dev/null
    wait "$int_pid"
    int_status=$?
    check "SIGINT ends the run with status 130 (got $int_status)" test "$int_status" -eq 130
    check "an interrupted run writes nothing" test -z "$(ls -A "$int_dir" 2>/dev/null)"
}

# untimed_csv FILE: the CSV without its timing columns, whose values differ
# from one run of the same point to the next
untimed_csv() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++)
                         if ($i ~ /^(train_s|img_per_s|peak_rss_mib|epoch_s|eval_s)$/) t[i] = 1 }
             { s = ""; for (i = 1; i <= NF; i++) if (!(i in t)) s = s $i ","; print s }' "$1"
}

# tap_checkout_top SCRIPT_DIR...: cd to $tmp/top, a stand-in for the top of a
# checkout, so that the README's commands run there as written:
# ./experiments/gpool and scripts/SCRIPT_DIR linked, results/ written there
tap_checkout_top() {
    mkdir -p "$tmp/top/experiments" "$tmp/top/scripts" || tap_bail "mkdir $tmp/top"
    ln -s "$gpool" "$tmp/top/experiments/gpool" || tap_bail "ln -s $gpool"
    for d; do ln -s "$srcdir/scripts/$d" "$tmp/top/scripts/$d" || tap_bail "ln -s scripts/$d"; done
    cd "$tmp/top" || tap_bail "cd $tmp/top"
}

# check_same_results SINGLE MERGED: scripts/compare-results.py finds the
# merged directory's runs.csv and epochs.csv equal to the single-process
# run's up to the timing columns (its summary shown as a TAP comment)
check_same_results() {
    python3 "$srcdir/scripts/compare-results.py" "$1" "$2" >"$tmp/compare.out" 2>&1
    same_status=$?
    sed 's/^/# /' "$tmp/compare.out"
    check "the merged runs.csv and epochs.csv equal the single run's up to timing" \
        [ "$same_status" -eq 0 ]
}
