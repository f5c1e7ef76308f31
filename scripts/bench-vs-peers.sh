#!/bin/sh
# bench-vs-peers.sh - the comparison committed in results/kernels/: the peers
# harness (PyTorch, oneDNN, XNNPACK; ../shared/peers beside the checkout) and
# `gpool bench` on the same nine shapes, one after the other in one sitting,
# then scripts/compare-peers.py over both CSVs. Both sides' cold rows rotate
# through three times the L3.
#   sh scripts/bench-vs-peers.sh [PEERS_DIR]     (from the top of a built tree)
set -eu
peers_src=${1:-../shared/peers}
work=$(mktemp -d /tmp/gpool-peers.XXXXXX)
cp -r "$peers_src" "$work/peers"
# The harness's cold rows rotate through 96 MiB, three times the L3 it was
# written for. Where the L3 is larger (480 MiB on the VM this ran on) part of
# that rotation stays cached, and "cold" rows read faster than DRAM allows.
# Give it gpool bench's rotation instead: three times this machine's L3.
l3=$(getconf LEVEL3_CACHE_SIZE 2>/dev/null || echo 0)
rot_mib=$(( 3 * ${l3:-0} / 1048576 ))
if [ "$rot_mib" -gt 96 ]; then
    sed -i "s/(96ull << 20)/(${rot_mib}ull << 20)/" "$work/peers/harness.h" "$work/peers/bw.c"
    sed -i "s/^ROT_BYTES = 96 << 20/ROT_BYTES = ${rot_mib} << 20/" "$work/peers/torch_bench.py"
    sed -i "s/totalling >= 96 MiB/totalling >= ${rot_mib} MiB/" "$work/peers/run_all.py"
    for f in harness.h bw.c torch_bench.py; do
        grep -q "${rot_mib}ull << 20\|= ${rot_mib} << 20" "$work/peers/$f" || {
            echo "bench-vs-peers: could not set the cold rotation in $f" >&2; exit 1; }
    done
    echo "bench-vs-peers: peers' cold rotation set to $rot_mib MiB (3 x L3)" >&2
fi
echo "bench-vs-peers: peers harness in $work/peers" >&2
(cd "$work/peers" && ./run.sh) > "$work/peers.log" 2>&1
./experiments/gpool bench --config configs/kernels.yaml --out results/kernels
cp "$work/peers/results.csv" results/kernels/peers-results.csv
cp "$work/peers/versions.txt" results/kernels/peers-versions.txt 2>/dev/null || true
python3 scripts/compare-peers.py results/kernels/bench.csv results/kernels/peers-results.csv \
  results/kernels/peers-comparison.md
echo "bench-vs-peers: wrote results/kernels/peers-comparison.md" >&2
