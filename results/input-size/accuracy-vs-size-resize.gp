# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'input-size: test accuracy against input size, method resize (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'evaluation input size (pixels per side)'
set ylabel 'test accuracy (%)'
set yrange [3.45799:97.8219]
set xrange [16.32:115.68]
set xtics (20, 28, 36, 42, 56, 84, 112)
set arrow from 28, graph 0 to 28, graph 1 nohead dt 3 lw 1.5 lc rgb '#555555'
set label 'trained at 28' at 28, graph 0.03 offset 0.5, 0 tc rgb '#555555'
set arrow from 56, graph 0 to 56, graph 1 nohead dt 3 lw 1.5 lc rgb '#555555'
set label 'trained at 56' at 56, graph 0.03 offset 0.5, 0 tc rgb '#555555'
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:2:3 with yerrorlines lc rgb '#1f77b4' dt 1 lw 2 pt 7 ps 0.9 title 'resize=28, head=gap', datafile index 1 using 1:2:3 with yerrorlines lc rgb '#d62728' dt 1 lw 2 pt 7 ps 0.9 title 'resize=28, head=gmp', datafile index 2 using 1:2:3 with yerrorlines lc rgb '#2ca02c' dt 1 lw 2 pt 7 ps 0.9 title 'resize=28, head=gem', datafile index 3 using 1:2:3 with yerrorlines lc rgb '#ff7f0e' dt 1 lw 2 pt 7 ps 0.9 title 'resize=28, head=gap_dense', datafile index 4 using 1:2:3 with yerrorlines lc rgb '#9467bd' dt 1 lw 2 pt 7 ps 0.9 title 'resize=28, head=flatten_dense', datafile index 5 using 1:2:3 with yerrorlines lc rgb '#1f77b4' dt 2 lw 2 pt 5 ps 0.9 title 'resize=56, head=gap', datafile index 6 using 1:2:3 with yerrorlines lc rgb '#d62728' dt 2 lw 2 pt 5 ps 0.9 title 'resize=56, head=gmp', datafile index 7 using 1:2:3 with yerrorlines lc rgb '#2ca02c' dt 2 lw 2 pt 5 ps 0.9 title 'resize=56, head=gem', datafile index 8 using 1:2:3 with yerrorlines lc rgb '#ff7f0e' dt 2 lw 2 pt 5 ps 0.9 title 'resize=56, head=gap_dense', datafile index 9 using 1:2:3 with yerrorlines lc rgb '#9467bd' dt 2 lw 2 pt 5 ps 0.9 title 'resize=56, head=flatten_dense'
  unset output
}
