# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'heads-study: training throughput per head'
set key outside right top
set grid
set xlabel 'head'
set ylabel 'training throughput (images/s)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -35 scale 0 ('gap' 0, 'gmp' 1, 'gap_dense' 2, 'flatten_dense' 3, 'gem' 4, 'gem_dense' 5, 'lse' 6, 'lse_dense' 7, 'mixed' 8, 'mixed_dense' 9, 'avgmax' 10, 'avgmax_dense' 11, 'catavgmax_dense' 12)
set xrange [-0.7:12.7]
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile using 1:2:3 with boxerrorbars lc 3 title 'mean ± sd over seeds'
  unset output
}
