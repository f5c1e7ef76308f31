#!/bin/sh
# replay.sh - the fuzz targets of tests/fuzz/ run once over every input of
# their committed corpus, and over the files of the tree that are inputs of
# the same readers (configs, bad configs, results fixtures, checkpoints):
# one TAP line per input. A crash, a sanitizer report or a broken promise of
# the reader fails it; so does a verdict other than the file's name says:
# ok-* must be accepted and bad-* refused (FUZZ_EXPECT, tests/fuzz/fuzz.h);
# seed-* and the files a fuzzer found only must not crash. Works with the
# plain build (replay.c) and the libFuzzer one alike. Writes only under a
# mktemp -d directory (the configs over the size limit it makes).
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init fuzz-replay
fuzz="$builddir/tests/fuzz"
corpus="$srcdir/tests/fuzz/corpus"
# a target per corpus directory
targets=$(cd "$corpus" && ls)
for t in $targets; do
    [ -x "$fuzz/fuzz_$t" ] || tap_bail "$fuzz/fuzz_$t is not built"
done

# replay TARGET EXPECT FILE: one input, its verdict EXPECT (accept, refuse
# or "" for none); the target's output is shown when it fails
replay() {
    name="fuzz_$1 $(echo "$3" | sed "s|^$srcdir/||; s|^$tmp/||")"
    if FUZZ_EXPECT=$2 "$fuzz/fuzz_$1" "$3" >"$tmp/out" 2>&1; then
        ok "$name${2:+ ($2)}"
    else
        not_ok "$name${2:+ ($2)}"
        grep -v '^INFO:\|^Running:\|^Executed' "$tmp/out" | head -n 40 | sed 's/^/# /'
    fi
}

# replay_all TARGET EXPECT FILE...: each file that exists, its verdict from
# its name when EXPECT is "name"
replay_all() {
    target=$1 expect=$2; shift 2
    for f in "$@"; do
        [ -f "$f" ] || continue
        e=$expect
        if [ "$e" = name ]; then
            case $(basename "$f") in
                ok-*) e=accept ;;
                bad-*) e=refuse ;;
                *) e= ;;
            esac
        fi
        replay "$target" "$e" "$f"
    done
}

for t in $targets; do
    replay_all "$t" name "$corpus/$t"/*
done
replay_all config accept "$srcdir"/configs/*.yaml "$srcdir"/tests/configs/*.yaml \
    "$srcdir"/tests/fixtures/*/config.yaml
replay_all config refuse "$srcdir"/tests/bad-configs/*.yaml
replay_all npy accept "$srcdir"/tests/fixtures/*/runs/*/checkpoint/*.npy
replay_all csv "" "$srcdir"/tests/fixtures/*/*.csv "$srcdir"/tests/fixtures/*/runs/*/*.csv

# The size limit of configs (1 MiB, cfg.h's YCFG_MAX_BYTES): a valid config
# padded with comments to exactly the limit loads; issue 14's 10 MB one
# (took 10 s and 750 MB) is refused, as is one byte over the limit.
# pad_config FILE BYTES: ok-synthetic.yaml and comment lines, BYTES in all
pad_config() {
    { cat "$corpus/config/ok-synthetic.yaml"
      yes '# padding: a config near the size limit of the loader' | head -c "$2"
    } | head -c "$(($2 - 1))" >"$1"
    echo >>"$1"
    [ "$(wc -c <"$1")" -eq "$2" ] || tap_bail "$1 is not $2 bytes"
}
pad_config "$tmp/config-1MiB.yaml" 1048576
pad_config "$tmp/config-1MiB-and-1-byte.yaml" 1048577
pad_config "$tmp/config-10MB.yaml" 10000000
replay config accept "$tmp/config-1MiB.yaml"
replay config refuse "$tmp/config-1MiB-and-1-byte.yaml"
replay config refuse "$tmp/config-10MB.yaml"

echo "1..$n"
