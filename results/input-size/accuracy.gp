# test accuracy per epoch, one line per run (written by gpool run)
set title sprintf('%s: test accuracy per epoch', 'input-size') noenhanced
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set key outside right top noenhanced
set grid
set xrange [0:*]
set yrange [0:100]
titles = "resize=28_gap_seed=0 resize=28_gap_seed=1 resize=28_gap_seed=2 resize=28_gmp_seed=0 resize=28_gmp_seed=1 resize=28_gmp_seed=2 resize=28_gem_seed=0 resize=28_gem_seed=1 resize=28_gem_seed=2 resize=28_gap_dense_seed=0 resize=28_gap_dense_seed=1 resize=28_gap_dense_seed=2 resize=28_flatten_dense_seed=0 resize=28_flatten_dense_seed=1 resize=28_flatten_dense_seed=2 resize=56_gap_seed=0 resize=56_gap_seed=1 resize=56_gap_seed=2 resize=56_gmp_seed=0 resize=56_gmp_seed=1 resize=56_gmp_seed=2 resize=56_gem_seed=0 resize=56_gem_seed=1 resize=56_gem_seed=2 resize=56_gap_dense_seed=0 resize=56_gap_dense_seed=1 resize=56_gap_dense_seed=2 resize=56_flatten_dense_seed=0 resize=56_flatten_dense_seed=1 resize=56_flatten_dense_seed=2"
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 } else { set terminal svg size 1100,650 dynamic }
  set output outbase.'.'.fmt
  plot for [i=0:29] datafile index i using 1:2 with linespoints pt 7 ps 0.5 title word(titles, i+1)
  unset output
}
