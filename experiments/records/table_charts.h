/*
 * table_charts.h - the charts of `gpool table`, each published by the
 * chart publisher (records/chart.h) as NAME.dat, NAME.gp, NAME.png and
 * NAME.svg:
 *
 *   accuracy-mean        test accuracy per epoch (epochs.csv): a mean line
 *                        and a +-sd band per row of the table
 *   accuracy-vs-params   final test accuracy against parameters, log scale
 *   throughput           training images/s per row (bars with +-sd), when
 *                        the table shows img/s
 *   accuracy-vs-size-METHOD   test accuracy against input size, one line
 *                        per row of the size table (records/size_study.h)
 *
 * The scripts start from the same preamble (title naming the experiment)
 * and end in the same loop drawing the PNG and the SVG.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_TABLE_CHARTS_H
#define GPOOL_EXPERIMENTS_RECORDS_TABLE_CHARTS_H

#include <stddef.h>
#include <stdio.h>

#include "records/chart.h"
#include "records/table.h"

/* Publish t's charts into dir. A chart that cannot be had (no run finished
 * ok, no epochs.csv, a method applicable nowhere) is skipped with a line
 * "prog: ...: chart skipped" on log; without gnuplot, all that are left
 * are. 0, or -1 with err when one could not be published (no more drawn). */
int  gpx_table_charts  (const gpx_table *t, const char *dir, const char *prog, FILE *log,
                        char *err, size_t errlen);

/* ------------------------------------------ for the chart writers */

/* Where and how the charts of a table are published. */
typedef struct {
    const gpx_table *table;
    const char      *dir;
    const char      *prog;
    FILE            *log;
    char            *err;
    size_t           errlen;
} gpx_chart_run;

/* Publish chart name from the writers: 0 published, 1 no gnuplot (said on
 * log), -1 failed (run->err). */
int  gpx_table_chart   (const gpx_chart_run *run, const char *name, const void *ctx,
                        gpx_chart_writer data, gpx_chart_writer script);

/* What every chart script starts with: its title, "NAME: what". */
void gpx_chart_preamble(FILE *fp, const gpx_table *t, const char *what);

/* What every script ends with: the plot command (written by plot) drawn
 * to the PNG and the SVG. */
void gpx_chart_outputs (FILE *fp, gpx_chart_writer plot, const void *ctx);

/* The accuracy-vs-size charts, one per method of t->study: as gpx_table_chart. */
int  gpx_size_charts   (const gpx_chart_run *run);

#endif /* GPOOL_EXPERIMENTS_RECORDS_TABLE_CHARTS_H */
