# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'input-size: final test accuracy against parameters (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'parameters (count, log scale)'
set ylabel 'final test accuracy (%)'
set logscale x
set xrange [34265:198500]
set offsets 0, 0, graph 0.08, graph 0.08
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:2:3 with yerrorbars lc 1 pt 5 ps 1.3 lw 1.5 title 'resize=28, head=gap', datafile index 1 using 1:2:3 with yerrorbars lc 2 pt 7 ps 1.3 lw 1.5 title 'resize=28, head=gmp', datafile index 2 using 1:2:3 with yerrorbars lc 3 pt 9 ps 1.3 lw 1.5 title 'resize=28, head=gem', datafile index 3 using 1:2:3 with yerrorbars lc 4 pt 11 ps 1.3 lw 1.5 title 'resize=28, head=gap_dense', datafile index 4 using 1:2:3 with yerrorbars lc 5 pt 5 ps 1.3 lw 1.5 title 'resize=28, head=flatten_dense', datafile index 5 using 1:2:3 with yerrorbars lc 6 pt 7 ps 1.3 lw 1.5 title 'resize=56, head=gap', datafile index 6 using 1:2:3 with yerrorbars lc 7 pt 9 ps 1.3 lw 1.5 title 'resize=56, head=gmp', datafile index 7 using 1:2:3 with yerrorbars lc 8 pt 11 ps 1.3 lw 1.5 title 'resize=56, head=gem', datafile index 8 using 1:2:3 with yerrorbars lc 9 pt 5 ps 1.3 lw 1.5 title 'resize=56, head=gap_dense', datafile index 9 using 1:2:3 with yerrorbars lc 10 pt 7 ps 1.3 lw 1.5 title 'resize=56, head=flatten_dense'
  unset output
}
