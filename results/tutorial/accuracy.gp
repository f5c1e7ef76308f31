# test accuracy per epoch, one line per run (written by gpool run)
set title sprintf('%s: test accuracy per epoch', 'tutorial') noenhanced
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set key outside right top noenhanced
set grid
set xrange [0:*]
set yrange [0:100]
titles = "gap_seed=0 gap_seed=1 gap_seed=2 gmp_seed=0 gmp_seed=1 gmp_seed=2"
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 } else { set terminal svg size 1100,650 dynamic }
  set output outbase.'.'.fmt
  plot for [i=0:5] datafile index i using 1:2 with linespoints pt 7 ps 0.5 title word(titles, i+1)
  unset output
}
