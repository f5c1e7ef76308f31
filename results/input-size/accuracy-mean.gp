# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'input-size: test accuracy per epoch (mean ± sd over seeds)'
set key outside right top
set grid
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set style fill transparent solid 0.18 noborder
set xtics 1
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile index 0 using 1:($2-$3):($2+$3) with filledcurves lc 1 notitle, datafile index 0 using 1:2 with linespoints lc 1 lw 2 dt 1 pt 7 ps 0.6 title 'resize=28, head=gap', datafile index 1 using 1:($2-$3):($2+$3) with filledcurves lc 2 notitle, datafile index 1 using 1:2 with linespoints lc 2 lw 2 dt 1 pt 7 ps 0.6 title 'resize=28, head=gmp', datafile index 2 using 1:($2-$3):($2+$3) with filledcurves lc 3 notitle, datafile index 2 using 1:2 with linespoints lc 3 lw 2 dt 1 pt 7 ps 0.6 title 'resize=28, head=gem', datafile index 3 using 1:($2-$3):($2+$3) with filledcurves lc 4 notitle, datafile index 3 using 1:2 with linespoints lc 4 lw 2 dt 1 pt 7 ps 0.6 title 'resize=28, head=gap_dense', datafile index 4 using 1:($2-$3):($2+$3) with filledcurves lc 5 notitle, datafile index 4 using 1:2 with linespoints lc 5 lw 2 dt 1 pt 7 ps 0.6 title 'resize=28, head=flatten_dense', datafile index 5 using 1:($2-$3):($2+$3) with filledcurves lc 6 notitle, datafile index 5 using 1:2 with linespoints lc 6 lw 2 dt 1 pt 7 ps 0.6 title 'resize=56, head=gap', datafile index 6 using 1:($2-$3):($2+$3) with filledcurves lc 7 notitle, datafile index 6 using 1:2 with linespoints lc 7 lw 2 dt 1 pt 7 ps 0.6 title 'resize=56, head=gmp', datafile index 7 using 1:($2-$3):($2+$3) with filledcurves lc 8 notitle, datafile index 7 using 1:2 with linespoints lc 8 lw 2 dt 1 pt 7 ps 0.6 title 'resize=56, head=gem', datafile index 8 using 1:($2-$3):($2+$3) with filledcurves lc 9 notitle, datafile index 8 using 1:2 with linespoints lc 9 lw 2 dt 2 pt 5 ps 0.6 title 'resize=56, head=gap_dense', datafile index 9 using 1:($2-$3):($2+$3) with filledcurves lc 10 notitle, datafile index 9 using 1:2 with linespoints lc 10 lw 2 dt 2 pt 5 ps 0.6 title 'resize=56, head=flatten_dense'
  unset output
}
