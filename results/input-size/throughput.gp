# written by gpool table; redraw with
#   gnuplot -e "datafile='X.dat'; outbase='X'" X.gp
set encoding utf8
set title 'input-size: training throughput per resize, head'
set key outside right top
set grid
set xlabel 'resize, head'
set ylabel 'training throughput (images/s)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -35 scale 0 ('resize=28, head=gap' 0, 'resize=28, head=gmp' 1, 'resize=28, head=gem' 2, 'resize=28, head=gap_dense' 3, 'resize=28, head=flatten_dense' 4, 'resize=56, head=gap' 5, 'resize=56, head=gmp' 6, 'resize=56, head=gem' 7, 'resize=56, head=gap_dense' 8, 'resize=56, head=flatten_dense' 9)
set xrange [-0.7:9.7]
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } else { set terminal svg size 1100,650 dynamic noenhanced }
  set output outbase.'.'.fmt
  plot datafile using 1:2:3 with boxerrorbars lc 3 title 'mean ± sd over seeds'
  unset output
}
