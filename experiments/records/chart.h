/*
 * chart.h - the one chart publisher of the gpool commands: a chart is four
 * files in a results directory, published together or not at all:
 *
 *   NAME.dat   its data (data_name overrides the name)
 *   NAME.gp    the gnuplot script that draws it: written by the command,
 *              or the command's settings followed by a template from
 *              records/ (bench.gp); `gnuplot NAME.gp` in the directory
 *              redraws it when the script gives datafile and outbase
 *              defaults, as the templates do
 *   NAME.png, NAME.svg   drawn by gnuplot
 *
 * Everything is written under temporary names; gnuplot runs on those with
 * -e "datafile='...'; outbase='...'" and draws outbase.png and outbase.svg;
 * only when it succeeds are the four renamed into place. On a failure none
 * of them is, and no temporary file is left. Without gnuplot the chart is
 * skipped: nothing when GNUPLOT is set but empty, the data and script
 * (still useful to draw it later) when the program is not found.
 *
 * A template NAME is looked for in $GPOOL_<NAME>_GP (GPOOL_BENCH_GP for
 * bench.gp), then experiments/records/NAME under the working directory (a
 * source tree), then the installed data directory.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_CHART_H
#define GPOOL_EXPERIMENTS_RECORDS_CHART_H

#include <stddef.h>
#include <stdio.h>

/* Writes one of a chart's files from the command's context. */
typedef void (*gpx_chart_writer)(FILE *fp, const void *ctx);

typedef struct {
    const char      *dir;           /* the results directory */
    const char      *name;          /* NAME.gp, NAME.png, NAME.svg */
    const char      *data_name;     /* the data file; NULL: NAME.dat */
    gpx_chart_writer data;
    gpx_chart_writer script;        /* NULL: the template ... */
    const char      *template_name; /* ... named here ("bench.gp") */
    const char      *settings;      /* gnuplot statements the template starts from */
    const void      *ctx;
} gpx_chart;

/* Publish the chart: 0 published; 1 skipped, no gnuplot (err says why);
 * -1 failed, nothing published (err says what and where). */
int         gpx_chart_publish (const gpx_chart *c, char *err, size_t errlen);

/* Where template name is (see above) into buf, or NULL when it is nowhere. */
const char *gpx_chart_template(const char *name, char *buf, size_t len);

#endif /* GPOOL_EXPERIMENTS_RECORDS_CHART_H */
