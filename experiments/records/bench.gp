# bench.gp - gnuplot template for the chart of `gpool bench`.
#
# gpool bench writes DIR/bench-chart.dat and DIR/bench.gp: this chart's
# settings, such as
#   maintitle = 'gpool bench: avg fwd nchw (kernels)'
#   npanels = 4; nrows = 2; ncols = 2; nseries = 7
#   panel_modes = 'hot hot cold cold'; panel_threads = '1 2 1 2'
# followed by this template, and runs it with
#   gnuplot -e "datafile='...'; outbase='...'" bench.gp
# to draw outbase.png and outbase.svg (records/chart.h); `gnuplot bench.gp`
# in DIR redraws bench.png and bench.svg from bench-chart.dat.
# The data file has one block per panel (blocks separated by two blank
# lines), each a header line "shape probe VARIANT..." and one line per shape:
# the shape label (NxCxHxW), the median read-bandwidth probe of that shape's
# rows, and every variant's GB/s (NaN where a variant has no row).
# Each panel is a clustered bar chart - one cluster per shape, one bar per
# variant - with the probe drawn as a black mark across its cluster, so a
# bar reaching the mark runs at the bandwidth the machine attained for the
# same buffers at that moment. Edit the settings at the top to restyle.

if (!exists("datafile"))      datafile = 'bench-chart.dat'
if (!exists("outbase"))       outbase = 'bench'
png_out = outbase.'.png'
svg_out = outbase.'.svg'

if (!exists("maintitle"))     maintitle = 'gpool bench'
if (!exists("npanels"))       npanels = 1
if (!exists("nrows"))         nrows = 1
if (!exists("ncols"))         ncols = 1
if (!exists("nseries"))       nseries = 1
if (!exists("panel_modes"))   panel_modes = 'hot'
if (!exists("panel_threads")) panel_threads = '1'

width = 900 * ncols + 200
height = 480 * nrows + 80

set datafile missing 'NaN'
set key autotitle columnheader
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb 'gray30'
set boxwidth 0.95
set grid ytics lc rgb 'gray80'
set xtics rotate by 30 right nomirror scale 0 font ',9'
set ytics nomirror
set yrange [0:*]
set ylabel 'GB/s (bytes read + written per call / median time; 1 GB = 10^9 B)'
set xlabel 'shape N x C x H x W'
set key outside right top vertical spacing 1.1 font ',9'

# Probe marks: a horizontal bar across cluster i (centred on x = i).
probe_half = 0.45

do for [out = 1:2] {
    if (out == 1) {
        if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
            set terminal pngcairo size width, height font 'sans,10' noenhanced
        } else {
            set terminal png size width, height noenhanced
        }
        set output png_out
    } else {
        set terminal svg size width, height font 'sans,10' noenhanced background rgb 'white'
        set output svg_out
    }
    set multiplot layout nrows, ncols title maintitle font ',13'
    do for [p = 1:npanels] {
        t = word(panel_threads, p)
        set title sprintf('%s, %s thread%s', word(panel_modes, p), t, t eq '1' ? '' : 's')
        plot for [i = 3:2 + nseries] datafile index (p - 1) using i:xtic(1) with histograms, \
             datafile index (p - 1) using ($0 - probe_half):2:(2 * probe_half):(0) \
                 with vectors nohead lw 3 lc rgb 'black' title 'read-bandwidth probe'
    }
    unset multiplot
    set output
}
