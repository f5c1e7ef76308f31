#!/bin/sh
# bench-vs-peers.sh - the comparison committed in results/kernels/: the peers
# harness (PyTorch, oneDNN, XNNPACK; ../shared/peers beside the checkout) and
# `gpool bench` on the same nine shapes, one after the other in one sitting,
# then scripts/compare-peers.py over both CSVs.
#   sh scripts/bench-vs-peers.sh [PEERS_DIR]     (from the top of a built tree)
set -eu
peers_src=${1:-../shared/peers}
work=$(mktemp -d /tmp/gpool-peers.XXXXXX)
cp -r "$peers_src" "$work/peers"
echo "bench-vs-peers: peers harness in $work/peers" >&2
(cd "$work/peers" && ./run.sh) > "$work/peers.log" 2>&1
./experiments/gpool bench --config configs/kernels.yaml --out results/kernels
cp "$work/peers/results.csv" results/kernels/peers-results.csv
cp "$work/peers/versions.txt" results/kernels/peers-versions.txt 2>/dev/null || true
python3 scripts/compare-peers.py results/kernels/bench.csv results/kernels/peers-results.csv \
  results/kernels/peers-comparison.md
echo "bench-vs-peers: wrote results/kernels/peers-comparison.md" >&2
