# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'heads-study: final test accuracy against parameters (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'parameters (count, log scale)'
set ylabel 'final test accuracy (%)'
set logscale x
set xrange [34265:147300]
set offsets 0, 0, graph 0.08, graph 0.08
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:2:3 with yerrorbars lc 1 pt 5 ps 1.3 lw 1.5 title 'gap', datafile index 1 using 1:2:3 with yerrorbars lc 2 pt 7 ps 1.3 lw 1.5 title 'gmp', datafile index 2 using 1:2:3 with yerrorbars lc 3 pt 9 ps 1.3 lw 1.5 title 'gap_dense', datafile index 3 using 1:2:3 with yerrorbars lc 4 pt 11 ps 1.3 lw 1.5 title 'flatten_dense', datafile index 4 using 1:2:3 with yerrorbars lc 5 pt 5 ps 1.3 lw 1.5 title 'gem', datafile index 5 using 1:2:3 with yerrorbars lc 6 pt 7 ps 1.3 lw 1.5 title 'gem_dense', datafile index 6 using 1:2:3 with yerrorbars lc 7 pt 9 ps 1.3 lw 1.5 title 'lse', datafile index 7 using 1:2:3 with yerrorbars lc 8 pt 11 ps 1.3 lw 1.5 title 'lse_dense', datafile index 8 using 1:2:3 with yerrorbars lc 9 pt 5 ps 1.3 lw 1.5 title 'mixed', datafile index 9 using 1:2:3 with yerrorbars lc 10 pt 7 ps 1.3 lw 1.5 title 'mixed_dense', datafile index 10 using 1:2:3 with yerrorbars lc 11 pt 9 ps 1.3 lw 1.5 title 'avgmax', datafile index 11 using 1:2:3 with yerrorbars lc 12 pt 11 ps 1.3 lw 1.5 title 'avgmax_dense', datafile index 12 using 1:2:3 with yerrorbars lc 13 pt 5 ps 1.3 lw 1.5 title 'catavgmax_dense'
  unset output
}
