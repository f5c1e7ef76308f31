#!/bin/sh
# compare-peers.sh - scripts/compare-peers.py on two small hand-made CSVs
# whose answers are known: the time ratios against the best peer, a failed
# peer row left out, the rows short of the bar's fraction targets, the
# 2-thread small-input check against the single-threaded variants, the
# PyTorch max ratio, the atomic write and the usage error. Emits TAP.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init compare-peers
script="$srcdir/scripts/compare-peers.py"
tap_need python3 "compare-peers.py"

# gpool side: 1x256x32x32 is exactly 1 MiB, 1x64x16x16 is 64 KiB
cat >"$tmp/bench.csv" <<'EOF'
variant,impl,threaded,op,pass,layout,n,c,h,w,threads,mode,median_s,probe_gbps,frac,note
auto,avx512,0,avg,fwd,nchw,1,256,32,32,1,cold,100e-6,11.0,0.95,
auto,avx512,0,avg,bwd,nchw,1,256,32,32,1,cold,1e-6,11.0,0.10,
auto,avx512,0,max,fwd,nchw,1,256,32,32,1,hot,50e-6,30.0,0.80,
auto,avx512,0,avg,fwd,nhwc,1,64,16,16,2,cold,10e-6,9.0,0.70,
avx512,avx512,0,avg,fwd,nhwc,1,64,16,16,2,cold,9e-6,9.0,0.75,
avx2,avx2,0,avg,fwd,nhwc,1,64,16,16,2,cold,12e-6,9.0,0.60,
avx512_omp,avx512_omp,1,avg,fwd,nhwc,1,64,16,16,2,cold,7e-6,9.0,0.90,
EOF
cat >"$tmp/peers.csv" <<'EOF'
N,C,H,W,impl,op,layout,threads,mode,med_us,GBps,probe_now_GBps,ok
1,256,32,32,torch.mean23,avg,nchw,1,cold,200,5.2,10.0,1
1,256,32,32,onednn_reduction,avg,nchw,1,cold,150,7.0,10.0,1
1,256,32,32,xnnpack_gavgpool_ncw,avg,nchw,1,cold,10,104.9,10.0,0
1,256,32,32,c_O3_native,avg,nchw,1,cold,20,52.4,10.0,1
1,256,32,32,onednn_pooling,max,nchw,1,hot,40,26.2,30.0,1
1,256,32,32,torch.amax23,max,nchw,1,hot,100,10.5,30.0,1
1,64,16,16,xnnpack_gavgpool_nwc,avg,nhwc,2,cold,12,5.5,9.0,1
EOF

python3 "$script" "$tmp/bench.csv" "$tmp/peers.csv" "$tmp/out.md" 2>"$tmp/err"
check "it runs on the two CSVs" [ $? -eq 0 ]
check "it leaves no temporary file beside its output" [ ! -e "$tmp/out.md.tmp" ]
out="$tmp/out.md"
check "three forward rows are compared, the backward one is not" \
    grep -q "^Rows compared: 3\. " "$out"
check "the slowest row is 0.80x the best peer (max, hot)" \
    grep -q "best peer: 0.80x (1x256x32x32 max nchw, 1 thread(s), hot)" "$out"
check "one row has a faster peer" grep -q "Rows where a peer is faster: 1\." "$out"
check "the best peer is the fastest library row, not a plain-C or failed one" \
    grep -q "^| 1x256x32x32 | avg | nchw | 1 | cold | .* | onednn_reduction | 1.50 |$" "$out"
check "the failed XNNPACK row is left out" \
    grep -q "^| 1x256x32x32 | avg | nchw | 1 | cold | [^|]* | [^|]* | [^|]* | - |" "$out"
check "one of two targeted rows is short of the bar" \
    grep -q "^Rows short of the bar's frac target: 1 of 2\.$" "$out"
check "the short row is the hot max at 0.80" \
    grep -q "^- 1x256x32x32 max nchw, 1 thread(s), hot, 1.0 MiB: 0.800$" "$out"
check "the small 2-thread row is set against the fastest single-threaded variant" \
    grep -q "variant's time is 1.11-1.11 over 1 rows; 1 rows are more than 3 % slower\.$" "$out"
check "and listed" grep -q "^- 1x64x16x16 avg nhwc: 1.11$" "$out"
check "PyTorch's max is 2.0x slower" grep -q "Against PyTorch's max on NCHW .*: 2.0x to 2.0x faster\." "$out"

python3 "$script" "$tmp/bench.csv" >"$tmp/usage" 2>&1
check "one argument is a usage error" [ $? -ne 0 ]
check "which prints the usage line" grep -q "^usage: compare-peers.py" "$tmp/usage"
echo "1..$n"
