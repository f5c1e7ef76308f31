# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'tutorial: final test accuracy against parameters (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'parameters (count, log scale)'
set ylabel 'final test accuracy (%)'
set logscale x
set xrange [9185:36740]
set offsets 0, 0, graph 0.08, graph 0.08
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:2:3 with yerrorbars lc 1 pt 5 ps 1.3 lw 1.5 title 'gap', datafile index 1 using 1:2:3 with yerrorbars lc 2 pt 7 ps 1.3 lw 1.5 title 'gmp'
  unset output
}
