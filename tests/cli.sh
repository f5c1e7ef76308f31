#!/bin/sh
# cli.sh - bad command lines and bad configs make `gpool` say what and where
# and exit non-zero; --help and --version exit 0. Emits TAP. Writes only
# under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init cli
cd "$tmp" || exit 1

result() { # result OK DESCRIPTION
    if [ "$1" -eq 0 ]; then ok "$2"; else
        not_ok "$2"
        sed 's/^/#   stderr: /' err 2>/dev/null | head -n 5
    fi
}

# expect STATUS PATTERN DESCRIPTION -- ARGS...: run gpool ARGS; the exit
# status must be STATUS ("nonzero" for any failure) and PATTERN (an
# extended regex, "" for none) must match stdout + stderr.
expect() {
    want=$1 pattern=$2 desc=$3
    shift 4
    "$gpool" "$@" >out 2>err
    got=$?
    ok=0
    case $want in
        nonzero) [ "$got" -ne 0 ] || ok=1 ;;
        *) [ "$got" -eq "$want" ] || ok=1 ;;
    esac
    if [ -n "$pattern" ] && ! cat out err | grep -E -q -- "$pattern"; then ok=1; fi
    result $ok "$desc (exit $got)"
}

# ---- the gpool command itself
expect 2 'Usage: gpool' "no command: usage, exit 2" --
expect 0 'Usage: gpool COMMAND' "--help exits 0" -- --help
expect 0 'bench' "--help lists the bench command" -- -h
expect 0 '^gpool [0-9]' "--version exits 0" -- --version
expect 2 "unknown command 'frobnicate'" "unknown command: message, exit 2" -- frobnicate
expect 2 "gpool --help" "unknown command: usage hint" -- frobnicate
expect 2 "unknown option '--frob'" "unknown global option: exit 2" -- --frob
expect 0 'Usage: gpool bench' "help bench exits 0" -- help bench
expect 2 "unknown command 'nope'" "help for an unknown command: exit 2" -- help nope

# ---- gpool bench options
expect 0 '--config FILE' "bench --help documents --config" -- bench --help
expect 0 'default' "bench --help shows defaults" -- bench --help
expect 0 '--list-variants' "bench --help documents --list-variants" -- bench --help
expect 2 "unknown option '--frob'" "bench: unknown option, exit 2" -- bench --frob
expect 2 "gpool bench --help" "bench: unknown option, usage hint" -- bench --frob

# ---- gpool migrate's command line (its work: tests/migrate.sh)
expect 0 'migrate .*run ids' "--help lists the migrate command" -- --help
expect 0 'Usage: gpool migrate' "migrate --help exits 0" -- migrate --help
expect 2 'missing DIR' "migrate without DIR: exit 2" -- migrate
expect 2 "unknown option '--frob'" "migrate: unknown option, exit 2" -- migrate --frob
expect 1 'nowhere/config.yaml' "migrate of a directory without config.yaml: exit 1, named" -- \
    migrate nowhere
expect 1 'nowhere-2/config.yaml' "migrate goes on to the next DIR after one it refuses" -- \
    migrate nowhere nowhere-2

# ---- the command lines of run, merge and rerun (their work: run-smoke.sh, shard.sh)
expect 2 "missing CONFIG \\(for example" "run without CONFIG: exit 2, an example" -- run
expect 2 "--shard needs K/N .*not '4/3'" "run --shard 4/3: what it needs and what it got" -- \
    run --shard 4/3 x.yaml
expect 2 "--out needs a directory" "run --out= without a directory: exit 2" -- run --out= x.yaml
expect 2 "gpool run --help" "run: a bad command line points to --help" -- run --frob
expect 2 "missing SHARD_DIR" "merge without SHARD_DIR: exit 2" -- merge -o out
expect 2 "missing RESULTS_DIR and RUN_ID \\(1 of 2" "rerun with a DIR only: exit 2" -- rerun results
expect 2 "unexpected 'extra' after RESULTS_DIR and RUN_ID" "rerun: a third operand, exit 2" -- \
    rerun results id extra
expect 0 'Usage: gpool rerun' "rerun --help exits 0" -- rerun id --help
expect 2 "needs a value" "bench: --config without a file, exit 2" -- bench --config
expect 2 "unexpected argument" "bench: stray argument, exit 2" -- bench extra.yaml
expect 0 'avx512_omp' "bench --list-variants exits 0" -- bench --list-variants

# ---- configs that cannot run
expect 1 "missing\.yaml" "missing config file: names it, exit 1" -- bench --config missing.yaml

bad() { # bad NAME REGEX DESCRIPTION: a config from stdin must fail with REGEX
    cat >"$1"
    expect nonzero "$2" "$3" -- bench --config "$1" --out "$tmp/out-$1" --quiet
    if [ -e "$tmp/out-$1/bench.csv" ]; then result 1 "$1: no results written"; fi
}

bad typo.yaml '^typo\.yaml:3:3: .*repetitons.*did you mean' "misspelt key: file:line:col and a suggestion" <<'EOF'
name: typo
bench:
  repetitons: 21
EOF

bad range.yaml '^range\.yaml:3:16: .*repetitions' "too few repetitions: file:line:col" <<'EOF'
name: range
bench:
  repetitions: 5
EOF

bad variant.yaml '^variant\.yaml:3:[0-9]+: .*avx1024' "unknown variant: file:line:col" <<'EOF'
name: variant
bench:
  variants: [scalar, avx1024]
EOF

bad shape.yaml '^shape\.yaml:3:[0-9]+: .*4 items' "shape without 4 dimensions: file:line:col" <<'EOF'
name: shape
bench:
  shapes: [[64, 512, 7]]
EOF

bad zero.yaml '^zero\.yaml:3:[0-9]+: ' "zero dimension: file:line:col" <<'EOF'
name: zero
bench:
  shapes: [[0, 512, 7, 7]]
EOF

bad mode.yaml '^mode\.yaml:3:[0-9]+: .*warm' "unknown mode: file:line:col" <<'EOF'
name: mode
sweep:
  bench.mode: [hot, warm]
EOF

bad sweep.yaml '^sweep\.yaml:3:[0-9]+: .*threadz' "sweep of an unknown key: file:line:col" <<'EOF'
name: sweep
sweep:
  bench.threadz: [1, 2]
EOF

bad syntax.yaml '^syntax\.yaml:[0-9]+:[0-9]+: ' "YAML syntax error: file:line:col" <<'EOF'
name: syntax
bench: [
EOF

# an output directory that cannot be created fails before any measuring
printf 'name: ok\nbench:\n  shapes: [[1, 8, 3, 3]]\n' >good.yaml
: >afile
expect 1 "cannot create directory" "unwritable --out: says why, exit 1" -- bench --config good.yaml --out afile/sub --quiet

# ---- a value that would be a path outside results/, or a malformed one
# (gpool run from a directory of its own: nothing may appear beside it)
mkdir -p names/work
for name in '../../x' '""' '/abs/x' '"a\nb"' '..'; do
    printf 'name: %s\nmodel: {trunk: [{type: relu}], head: gap}\n' "$name" >names/work/n.yaml
    (cd names/work && "$gpool" run n.yaml >../../out 2>../../err)
    got=$?
    ok=0
    [ "$got" -eq 2 ] || ok=1
    grep -E -q "^gpool run: n\.yaml:1:7: 'name' (must|may)" err || ok=1
    [ "$(find names | sort | tr '\n' ' ')" = "names names/work names/work/n.yaml " ] || ok=1
    result $ok "name: $name is a config error at 1:7 and writes nothing (exit $got)"
done
expect 2 "not ' 1/3'" "run --shard ' 1/3': refused like '1/3 ', exit 2" -- run --shard " 1/3" x.yaml
expect 2 "not '1/3 '" "run --shard '1/3 ': refused, exit 2" -- run --shard "1/3 " x.yaml
expect 2 "not '\+1/3'" "run --shard '+1/3': refused, exit 2" -- run --shard "+1/3" x.yaml
expect 1 "missing-dir: no such directory" "rerun of a missing directory says so, exit 1" -- \
    rerun missing-dir 0123456789abcdef
printf 'name: fault\nmodel: {trunk: [{type: relu}], head: gap}\ndata: {source: synthetic}\n' \
    >fault.yaml
GPOOL_FAULT=garbage "$gpool" run -q fault.yaml --out fault-out >out 2>err
got=$?
ok=0
[ "$got" -eq 1 ] || ok=1
grep -q "GPOOL_FAULT='garbage' is neither after-run:R nor run:R:epoch:E" err || ok=1
[ ! -e fault-out/runs.csv ] || ok=1
result $ok "GPOOL_FAULT=garbage is refused before any run (exit $got)"

echo "1..$n"
exit 0
