# Roofline of a training step, one point per layer and pass (written by gpool
# profile). Redraw with: gnuplot roofline.gp (in this directory).
if (!exists('datafile')) datafile = 'roofline.dat'
if (!exists('outbase')) outbase = 'roofline'
peak = 324.67; dram = 33.1849; cache = 333.662
roof(bw, x) = (bw * x < peak) ? bw * x : peak
set title 'gpool profile: heads, head gap, batch 64, 2 threads' noenhanced
set logscale xy
set grid xtics ytics mxtics mytics
set xrange [0.0416667:684.218]
set yrange [0.0805366:974.011]
set xlabel 'arithmetic intensity (FLOP/byte, analytic model)'
set ylabel 'GFLOP/s'
set key top left noenhanced
set samples 1000
do for [fmt in 'png svg'] {
  if (fmt eq 'png') { set terminal pngcairo size 1200,800 font ',10' } else { set terminal svg size 1200,800 dynamic font ',10' }
  set output outbase.'.'.fmt
  plot roof(dram, x) with lines lw 2 lc rgb '#444444' title sprintf('DRAM %.1f GB/s, sgemm peak %.1f GFLOP/s', dram, peak), \
       roof(cache, x) with lines lw 2 dt 2 lc rgb '#888888' title sprintf('cache-resident %.1f GB/s', cache), \
       datafile using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 1.2 lc rgb '#1f77b4' title 'forward', \
       datafile using 1:($3 == 1 ? $2 : 1/0) with points pt 5 ps 1.2 lc rgb '#d62728' title 'backward', \
       datafile using 1:($3 == 2 ? $2 : 1/0) with points pt 9 ps 1.4 lc rgb '#2ca02c' title 'loss, optimizer', \
       datafile using 1:2:4 with labels offset 0.6,0.6 left font ',7' noenhanced notitle
  unset output
}
