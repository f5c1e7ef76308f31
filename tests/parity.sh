#!/bin/sh
# parity.sh - step-by-step parity with PyTorch 1.13 (TAP).
#
# For the tutorial net (heads gap, gmp), the BN trunk with every head, a
# trunk with adaptive pools under the heads topk, topk_dense and spp_dense,
# and the Fashion-MNIST benchmark ConvNet with its flatten_mlp head (whose
# dropout masks parity.py draws as gpool does), and the attention heads
# with one and two attention heads each (tests/configs/attention.yaml),
# tests/parity_driver trains gpool for 50 Adam steps on the first training
# images in order and saves the initial weights, the batches, the losses and
# the state before and after the last step; tests/parity.py (one python
# process for all cases: importing torch takes seconds) builds the same
# networks in PyTorch, repeats the steps from gpool's initial weights, and
# replays the last step from gpool's state. The bounds, and why they are
# what they are, are at the top of parity.py.
#
# The BN trunk and the benchmark ConvNet run at batch 32 instead of their
# configs' 64 to halve the test's time: the arithmetic compared is the same.
#
# Skipped when /usr/bin/python3 (or $PARITY_PYTHON) cannot import torch and
# numpy (Debian: python3-torch python3-numpy). Uses FashionMNIST when
# installed, else the synthetic set. Writes only under a mktemp -d
# directory. One thread: the comparison is of arithmetic, not of speed.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_slow "50 training steps of every network, against PyTorch"
PYTHON=${PARITY_PYTHON:-/usr/bin/python3}
STEPS=50

abs_dir() { (cd "$1" && pwd); }
builddir=$(abs_dir "$top_builddir") || { echo "Bail out! no top_builddir"; exit 1; }
srcdir=$(abs_dir "$top_srcdir") || { echo "Bail out! no top_srcdir"; exit 1; }
driver="$builddir/tests/parity_driver"

if ! [ -x "$PYTHON" ]; then
  echo "1..0 # SKIP $PYTHON not found (install python3-torch)"; exit 0
fi
if ! why=$("$PYTHON" -c 'import numpy, torch' 2>&1); then
  why=$(printf '%s\n' "$why" | tail -n 1)
  echo "1..0 # SKIP $PYTHON cannot import torch and numpy: $why"; exit 0
fi
[ -x "$driver" ] || { echo "Bail out! $driver is not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpool-parity.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMP_NUM_THREADS OPENBLAS_NUM_THREADS

# run_driver CONFIG HEAD BATCH [HEADS]: one case, in $tmp/<config>-<head>[-<heads>]
run_driver() {
  name=$(basename "$1" .yaml)-$2${4:+-$4}
  if ! "$driver" "$srcdir/$1" "$tmp/$name" --head "$2" ${4:+--heads "$4"} --steps "$STEPS" \
       --batch "$3" >"$tmp/$name.log" 2>&1; then
    echo "Bail out! parity_driver failed for $1 --head $2${4:+ --heads $4}:"
    sed 's/^/# /' "$tmp/$name.log"
    exit 1
  fi
}

for head in gap gmp; do
  run_driver configs/tutorial.yaml "$head" 64
done
for head in gap gmp gap_dense flatten_dense gem gem_dense lse lse_dense mixed mixed_dense \
            avgmax avgmax_dense catavgmax_dense; do
  run_driver configs/heads.yaml "$head" 32
done
for heads in 1 2; do
  for head in attn attn_dense simpool_dense; do
    run_driver tests/configs/attention.yaml "$head" 32 "$heads"
  done
done
# the pooling ops of issue 16: topk (k given, and a fraction past the SIMD
# k), spp (avg and max), the adaptive pools in the trunk
for head in topk topk_dense spp_dense; do
  run_driver tests/configs/parity-pools-a.yaml "$head" 32
done
for head in topk_dense spp_dense; do
  run_driver tests/configs/parity-pools-b.yaml "$head" 32
done
run_driver configs/fmnist-benchmark.yaml flatten_mlp 32

set --
for dir in "$tmp"/*/; do
  set -- "$@" "${dir%/}"
done
"$PYTHON" "$srcdir/tests/parity.py" "$@"
