# test accuracy per epoch, one line per run (written by gpool run)
set title sprintf('%s: test accuracy per epoch', 'heads-study') noenhanced
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set key outside right top noenhanced
set grid
set xrange [0:*]
set yrange [0:100]
titles = "gap_seed=0 gap_seed=1 gap_seed=2 gap_seed=3 gap_seed=4 gmp_seed=0 gmp_seed=1 gmp_seed=2 gmp_seed=3 gmp_seed=4 gap_dense_seed=0 gap_dense_seed=1 gap_dense_seed=2 gap_dense_seed=3 gap_dense_seed=4 flatten_dense_seed=0 flatten_dense_seed=1 flatten_dense_seed=2 flatten_dense_seed=3 flatten_dense_seed=4 gem_seed=0 gem_seed=1 gem_seed=2 gem_seed=3 gem_seed=4 gem_dense_seed=0 gem_dense_seed=1 gem_dense_seed=2 gem_dense_seed=3 gem_dense_seed=4 lse_seed=0 lse_seed=1 lse_seed=2 lse_seed=3 lse_seed=4 lse_dense_seed=0 lse_dense_seed=1 lse_dense_seed=2 lse_dense_seed=3 lse_dense_seed=4 mixed_seed=0 mixed_seed=1 mixed_seed=2 mixed_seed=3 mixed_seed=4 mixed_dense_seed=0 mixed_dense_seed=1 mixed_dense_seed=2 mixed_dense_seed=3 mixed_dense_seed=4 avgmax_seed=0 avgmax_seed=1 avgmax_seed=2 avgmax_seed=3 avgmax_seed=4 avgmax_dense_seed=0 avgmax_dense_seed=1 avgmax_dense_seed=2 avgmax_dense_seed=3 avgmax_dense_seed=4 catavgmax_dense_seed=0 catavgmax_dense_seed=1 catavgmax_dense_seed=2 catavgmax_dense_seed=3 catavgmax_dense_seed=4"
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 } else { set terminal svg size 1100,650 dynamic }
  set output outbase.'.'.fmt
  plot for [i=0:64] datafile index i using 1:2 with linespoints pt 7 ps 0.5 title word(titles, i+1)
  unset output
}
