# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'tutorial: test accuracy per epoch (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set style fill transparent solid 0.18 noborder
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:($2-$3):($2+$3) with filledcurves lc 1 notitle, datafile index 0 using 1:2 with linespoints lc 1 lw 2 pt 7 ps 0.6 title 'gap', datafile index 1 using 1:($2-$3):($2+$3) with filledcurves lc 2 notitle, datafile index 1 using 1:2 with linespoints lc 2 lw 2 pt 7 ps 0.6 title 'gmp'
  unset output
}
