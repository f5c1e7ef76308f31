/*
 * cam_chart.c - class activation maps over their images, as a chart (see
 * cam_chart.h).
 */
#include "autoconfig.h"

#include "records/cam_chart.h"

#include <math.h>
#include <stdio.h>

#include "records/chart.h"
#include "util/util.h"

/* Panels per row: the smallest count whose square holds n. */
static int grid_columns(int n)
{
    int c = 1;
    while (c * c < n)
        c++;
    return c;
}

/* The map's blue-to-red scale ("jet") at t in [0, 1]. */
static void jet(double t, double rgb[3])
{
    double r = 1.5 - fabs(4.0 * t - 3.0), g = 1.5 - fabs(4.0 * t - 2.0),
           b = 1.5 - fabs(4.0 * t - 1.0);
    rgb[0] = r < 0 ? 0 : r > 1 ? 1 : r;
    rgb[1] = g < 0 ? 0 : g > 1 ? 1 : g;
    rgb[2] = b < 0 ? 0 : b > 1 ? 1 : b;
}

static void plane_range(const float *p, size_t count, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t k = 0; k < count; k++) {
        *lo = p[k] < *lo ? p[k] : *lo;
        *hi = p[k] > *hi ? p[k] : *hi;
    }
}

/* Image i's block: every pixel's column, row and blended colour. */
static void write_panel(FILE *fp, const gpx_cam_grid *g, int i)
{
    size_t plane = (size_t)g->h * (size_t)g->w;
    const float *img = g->images + (size_t)i * plane, *map = g->maps + (size_t)i * plane;
    double lo, hi, mlo, mhi;
    plane_range(img, plane, &lo, &hi);
    plane_range(map, plane, &mlo, &mhi);
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++) {
            size_t k = (size_t)y * (size_t)g->w + (size_t)x;
            double grey = hi > lo ? (img[k] - lo) / (hi - lo) : 0.0, rgb[3];
            jet(mhi > 0 && map[k] > 0 ? map[k] / mhi : 0.0, rgb);
            fprintf(fp, "%d %d %d %d %d\n", x, y, (int)lround(127.5 * (grey + rgb[0])),
                    (int)lround(127.5 * (grey + rgb[1])), (int)lround(127.5 * (grey + rgb[2])));
        }
}

static void write_data(FILE *fp, const void *ctx)
{
    const gpx_cam_grid *g = ctx;
    for (int i = 0; i < g->n; i++) {
        fprintf(fp, "%s# image %d: true %d, predicted %d\n", i ? "\n\n" : "", i, g->truth[i],
                g->pred[i]);
        write_panel(fp, g, i);
    }
}

static void class_name(const gpx_cam_grid *g, int c, char *buf, size_t len)
{
    if (g->class_names && c >= 0 && c < g->nclass_names)
        snprintf(buf, len, "%s", g->class_names[c]);
    else
        snprintf(buf, len, "%d", c);
}

/* The panels' titles as a gnuplot array. */
static void write_titles(FILE *fp, const gpx_cam_grid *g)
{
    fprintf(fp, "array panel[%d] = [", g->n);
    for (int i = 0; i < g->n; i++) {
        char t[64], p[64], text[160], quoted[400];
        class_name(g, g->truth[i], t, sizeof t);
        class_name(g, g->pred[i], p, sizeof p);
        snprintf(text, sizeof text, "true %s, pred %s", t, p);
        gpx_gnuplot_quote(quoted, sizeof quoted, text);
        fprintf(fp, "%s%s", i ? ", " : "", quoted);
    }
    fputs("]\n", fp);
}

static void write_script(FILE *fp, const void *ctx)
{
    const gpx_cam_grid *g = ctx;
    int cols = grid_columns(g->n), rows = (g->n + cols - 1) / cols;
    char title[1300];
    gpx_gnuplot_quote(title, sizeof title, g->title ? g->title : "class activation maps");
    fprintf(fp, "# written by gpool cam; redraw with\n"
                "#   gnuplot -e \"datafile='X.dat'; outbase='X'\" X.gp\n"
                "set encoding utf8\n");
    write_titles(fp, g);
    fprintf(fp, "unset key\nunset tics\nunset border\nunset colorbox\nset size ratio -1\n"
                "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n"
                "do for [fmt in 'png svg'] {\n"
                "  if (fmt eq 'png') { set terminal pngcairo size %d,%d noenhanced font ',9' } "
                "else { set terminal svg size %d,%d dynamic noenhanced font ',9' }\n"
                "  set output outbase.'.'.fmt\n"
                "  set multiplot layout %d,%d title %s\n"
                "  do for [i=1:%d] {\n"
                "    set title panel[i]\n"
                "    plot datafile index (i-1) using 1:2:3:4:5 with rgbimage\n"
                "  }\n"
                "  unset multiplot\n"
                "  unset output\n"
                "}\n",
                g->w - 1, g->h - 1, 190 * cols, 200 * rows + 40, 190 * cols, 200 * rows + 40,
                rows, cols, title, g->n);
}

int gpx_cam_grid_publish(const char *dir, const char *name, const gpx_cam_grid *g, char *err,
                         size_t errlen)
{
    gpx_chart c = { .dir = dir, .name = name, .data = write_data, .script = write_script,
                    .ctx = g };
    return gpx_chart_publish(&c, err, errlen);
}
