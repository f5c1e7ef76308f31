#!/bin/sh
# check-mode.sh - `gpool run --check`: every point's data loaded and network
# built at every input size it will meet, every error reported with the
# file:line:column of the config value responsible, nothing trained and
# nothing written; and `gpool run` making the same checks before its first
# run. Emits TAP; writes only under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init check-mode

work="$tmp/work"
mkdir "$work" && cd "$work" || tap_bail "cannot enter $work"

# write_config FILE SIZES TRUNK_TAIL EVAL: a synthetic sweep over the image
# side; line 9 holds the trunk's third layer (TRUNK_TAIL).
write_config() {
    cat >"$1" <<EOC
name: check-mode
data:
  source: synthetic
  synthetic: {train: 64, test: 32, size: 12, classes: 4, seed: 5}
model:
  trunk:
    - {type: conv, out: 4, k: 5}
    - {type: maxpool, k: 2}
    - $3
  head: gap
train: {epochs: 1, batch: 16, threads: 1}
eval: {sizes: $4, methods: [resize]}
sweep:
  data.synthetic.size: $2
EOC
}

# 12 -> conv k5 -> 8 -> maxpool 2 -> 4 -> maxpool 8: nothing left
write_config shrink.yaml "[12]" "{type: maxpool, k: 8}" "[]"
# 16 -> 12 -> 6 -> 4; 12 -> 8 -> 4 -> 2; 9 -> 5 -> 2 (a 3x3 kernel does not fit); 8 -> 4 -> 2
write_config some-bad.yaml "[16, 9, 12, 8]" "{type: conv, out: 4, k: 3}" "[]"
# a good sweep, with an eval size the trunk cannot take (n/a, not an error)
write_config good.yaml "[12, 16]" "{type: relu}" "[4, 12, 24]"
snapshot() { find "$work" | sort; }
snapshot >"$tmp/before"
# unchanged: the working directory holds what it held before the checks
unchanged() { snapshot >"$tmp/after"; cmp -s "$tmp/before" "$tmp/after"; }
# gpool_run ARGS...: `gpool run ARGS` into $tmp/out and $tmp/err, its status in $rc
gpool_run() { "$gpool" run "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
# lines FILE PATTERN = COUNT: whether COUNT lines of FILE match PATTERN
lines() { [ "$(grep -c "$2" "$1")" -eq "$4" ]; }

gpool_run --check shrink.yaml
check "a trunk that shrinks a 12x12 input to nothing: exit 1" [ "$rc" -eq 1 ]
check "... the error names shrink.yaml:9:7, the maxpool written there" \
    grep -q '^gpool run: shrink.yaml:9:7: trunk\[2\] (maxpool)' "$tmp/err"
check "... and the training size" grep -q 'training at 12x12' "$tmp/err"
check "... the summary counts 1 error" grep -q ': 1 error; nothing trained' "$tmp/out"
check "... nothing is written" unchanged
check "... nothing is trained (no build log, no epoch)" \
    sh -c "! grep -qiE 'epoch|^  [0-9]+ +conv2d' '$tmp/out' '$tmp/err'"

gpool_run --check some-bad.yaml
check "a sweep with two bad points of four: exit 1" [ "$rc" -eq 1 ]
check "... both bad points are reported, with file:line:column" \
    lines "$tmp/err" '^gpool run: some-bad.yaml:9:7: trunk\[2\] (conv)' = 2
check "... at their own sizes (9x9 and 8x8)" \
    sh -c "grep -q 'training at 9x9' '$tmp/err' && grep -q 'training at 8x8' '$tmp/err'"
check "... the good points are reported ok" \
    lines "$tmp/out" ': training at 1[26]x1[26]: ok' = 2
check "... the summary counts 2 errors" grep -q ': 2 errors; nothing trained' "$tmp/out"

gpool_run --check good.yaml
check "a good config: exit 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
check "... no error printed" [ ! -s "$tmp/err" ]
check "... each point builds at its training size" \
    lines "$tmp/out" ': training at 1[26]x1[26]: ok' = 2
check "... an eval size the trunk cannot take is n/a with where and why" \
    lines "$tmp/out" ': eval at 4x4: n/a: good.yaml:7:7: trunk\[0\] (conv)' = 2
check "... the other eval sizes are ok" lines "$tmp/out" ': eval at \(12x12\|24x24\): ok' = 4
check "... nothing is written" unchanged

# (not as a prefix of gpool_run: a shell may keep an assignment made before a function)
env GPOOL_VARIANT=no_such_variant "$gpool" run --check good.yaml >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a bad GPOOL_VARIANT: exit 1" [ "$rc" -eq 1 ]
check "... reported once (it is the same for every point), naming it" \
    lines "$tmp/err" 'no_such_variant' = 1
check "... as the environment's fault, not a config value's" \
    sh -c "grep -q '^gpool run: GPOOL_VARIANT: ' '$tmp/err' && ! grep -q 'good.yaml:' '$tmp/err'"

printf 'name: check-mode\ndata:\n  source: idx\n  train_images: %s\n  train_labels: b\n  test_images: c\n  test_labels: d\nmodel: {trunk: [{type: relu}], head: gap}\nsweep: {model.head: [gap, gmp]}\n' \
    "$tmp/no-such-file" >no-data.yaml
gpool_run --check no-data.yaml
check "data that cannot be loaded: exit 1" [ "$rc" -eq 1 ]
check "... naming the file, at data.source (no-data.yaml:3:11)" \
    grep -q "^gpool run: no-data.yaml:3:11: data: $tmp/no-such-file: " "$tmp/err"
check "... once for the two points that load it" lines "$tmp/err" 'no-such-file' = 1
rm no-data.yaml

printf 'name: check-mode\nmodel: {head: no_such_head}\n' >bad-head.yaml
gpool_run --check bad-head.yaml
check "a config error: exit 2" [ "$rc" -eq 2 ]
check "... with file:line:column" grep -q 'bad-head.yaml:2:[0-9]*:' "$tmp/err"
rm bad-head.yaml

# heads: on a head without attention heads, and a count that does not
# divide the channels pooled (attn pools the 4 class maps)
printf 'name: check-mode\ndata: {source: synthetic, synthetic: {train: 64, test: 32, size: 12, classes: 4}}\nmodel:\n  trunk: [{type: conv, out: 6, k: 3}]\n  head: attn\n  heads: 3\nsweep: {model.head: [attn, attn_dense, gap]}\n' >heads.yaml
gpool_run --check heads.yaml
check "heads: 3 for attn over 4 classes and for gap: exit 1" [ "$rc" -eq 1 ]
check "... attn: its 4 channels do not split into 3, at heads.yaml:6:10" \
    grep -q '^gpool run: heads.yaml:6:10: heads: 3: head attn pools 4 channels' "$tmp/err"
check "... gap has no attention heads, at heads.yaml:6:10" \
    grep -q '^gpool run: heads.yaml:6:10: heads: 3: head gap has no attention heads' "$tmp/err"
check "... attn_dense over the trunk's 6 channels is ok" lines "$tmp/out" ': training at 12x12: ok' = 1
rm heads.yaml

gpool_run some-bad.yaml --out "$tmp/results"
check "gpool run on a sweep with bad points: exit 1" [ "$rc" -eq 1 ]
check "... before the first run: no results directory" [ ! -e "$tmp/results" ]
check "... every bad point is reported" \
    lines "$tmp/err" '^gpool run: some-bad.yaml:9:7: trunk\[2\] (conv)' = 2
check "... and says nothing was run" grep -q 'nothing was run' "$tmp/err"
check "... no run started (no build log)" sh -c "! grep -qE '^  [0-9]+ +conv2d' '$tmp/err'"
check "... nothing is written in the working directory" unchanged

gpool_run good.yaml --out "$tmp/results" --quiet
check "gpool run on the good config runs every point" \
    [ "$rc" -eq 0 -a "$(tail -n +2 "$tmp/results/runs.csv" | wc -l)" -eq 2 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"

"$gpool" run --help >"$tmp/out" 2>&1
check "gpool run --help describes --check" grep -q -- '--check' "$tmp/out"

echo "1..$n"
