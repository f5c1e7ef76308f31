#!/bin/sh
# data-classes.sh - labels checked against the classes (issue 14, item 2):
# an IDX label of 200 in a 4-class set is an error naming the labels file and
# the index, from `gpool run` and `gpool run --check` alike, with nothing
# trained and nothing written; the classes a run used are in its manifests.
# Emits TAP; the IDX files are written here, under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init data-classes
cd "$tmp" || tap_bail "cannot enter $tmp"

# be32 N: N as four big-endian bytes, in printf's octal escapes
be32() {
    printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 8 & 255)) $(($1 & 255))
}

# write_images FILE COUNT: COUNT images of 8 x 8 varied bytes (none all zero)
write_images() {
    { printf "\\000\\000\\010\\003$(be32 "$2")$(be32 8)$(be32 8)"
      printf "$(awk -v n="$2" 'BEGIN { for (i = 0; i < n * 64; i++)
                                         printf "\\%03o", (i * 37 + int(i / 64) * 11 + 1) % 256 }')"
    } >"$1"
}

# write_labels FILE COUNT [INDEX VALUE [MISSING]]: labels i % 4, label INDEX
# set to VALUE, every label MISSING made 0
write_labels() {
    { printf "\\000\\000\\010\\001$(be32 "$2")"
      printf "$(awk -v n="$2" -v at="${3:--1}" -v v="${4:-0}" -v gone="${5:--1}" 'BEGIN {
                    for (i = 0; i < n; i++)
                        printf "\\%03o", i == at ? v : i % 4 == gone ? 0 : i % 4 }')"
    } >"$1"
}

# write_config FILE [CLASSES]: a tiny net on the four files, data.classes if given
write_config() {
    cat >"$1" <<EOC
name: labels
data:
  source: idx
  train_images: train-images
  train_labels: train-labels
  test_images: test-images
  test_labels: test-labels
${2:+  classes: $2}
model:
  trunk:
    - {type: conv, out: 4, k: 3, pad: 1}
    - {type: relu}
  head: gap
train: {epochs: 1, batch: 8, threads: 1, checkpoint: false}
EOC
}

write_images train-images 32
write_images test-images 16
write_labels train-labels 32 5 200
write_labels test-labels 16
write_config derived.yaml
write_config stated.yaml 4
gpool_run() { "$gpool" run -q "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

gpool_run --out "$tmp/derived" derived.yaml
check "a label of 200 in a 4-class set: gpool run fails (status $rc)" [ "$rc" -ne 0 ]
check "... naming the labels file and the index" \
    grep -q 'train-labels: label 200 at index 5 is outside \[0, 5)' "$tmp/err"
check "... and how the classes were derived" grep -q 'take 5 different values' "$tmp/err"
check "... nothing trained, nothing written" [ ! -e "$tmp/derived" ]
gpool_run --check stated.yaml
check "with data.classes: 4, gpool run --check fails too (status $rc)" [ "$rc" -ne 0 ]
check "... naming the file, the index and data.classes" \
    grep -q 'train-labels: label 200 at index 5 is outside \[0, 4): data.classes is 4' \
    "$tmp/err"
write_labels test-labels 16 3 9
write_labels train-labels 32
gpool_run --out "$tmp/test-label" stated.yaml
check "a test label outside names the test labels file" \
    grep -q 'test-labels: label 9 at index 3 is outside \[0, 4)' "$tmp/err"

write_labels test-labels 16
write_labels train-labels 32 -1 0 2
gpool_run --out "$tmp/missing" derived.yaml
check "no training image of class 2: derived classes refuse the 3 (status $rc)" \
    grep -q 'train-labels: label 3 at index 3 is outside \[0, 3): the training labels take 3' \
    "$tmp/err"
write_config wider.yaml 6
gpool_run --out "$tmp/wider" wider.yaml
check "data.classes: 6 trains it, a head of 6 classes (status $rc)" [ "$rc" -eq 0 ]
check "... recorded in the manifest" grep -qx '  classes: 6' "$tmp/wider/manifest.yaml"

write_labels train-labels 32
gpool_run --out "$tmp/ok" derived.yaml
check "the clean set trains (status $rc)" [ "$rc" -eq 0 ]
check "... its manifest records the 4 derived classes" \
    grep -qx '  classes: 4' "$tmp/ok/manifest.yaml"
check "... and so does the run's own" \
    sh -c 'grep -qx "  classes: 4" "$1"/runs/*/manifest.yaml' sh "$tmp/ok"

# the synthetic set is checked the same way
{ printf 'name: labels\ndata:\n  source: synthetic\n  classes: 3\n'
  printf '  synthetic: {train: 32, test: 8, size: 8, classes: 4}\n'
  sed -n '/^model:/,$p' stated.yaml
} >synthetic.yaml
gpool_run --check synthetic.yaml
check "a synthetic set of 4 classes with data.classes: 3 is refused (status $rc)" \
    grep -q 'the synthetic training set: label 3 at index 3 is outside \[0, 3): data.classes is 3' \
    "$tmp/err"

echo "1..$n"
