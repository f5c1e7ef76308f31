/*
 * profile_rows.h - what `gpool profile` reports from a profiled training
 * step: the table on stdout, profile.csv (comment lines giving the model,
 * the machine and the step times, then the columns of gpx_profile_file in
 * records/results.h), summary.yaml (the shared manifest keys, then the
 * roofs and the step times) and the roofline chart (roofline.dat,
 * roofline.gp, roofline.png, roofline.svg; records/chart.h).
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_PROFILE_ROWS_H
#define GPOOL_EXPERIMENTS_RECORDS_PROFILE_ROWS_H

#include <stddef.h>
#include <stdio.h>

#include "cfg/cfg.h"
#include "core/steps.h"
#include "probe/roofs.h"

/* One part of the step, and its times over the profiled steps. */
typedef struct {
    gpx_step_part part;
    double        median_s, min_s;   /* wall clock less the waits for a CPU */
    double        wall_median_s;     /* plain wall clock */
    double        share;             /* percent of the sum of the row medians */
} gpx_profile_row;

/* The step as a whole. */
typedef struct {
    double sum_s;           /* sum of the row medians */
    double fwd_s, bwd_s;    /* its layer forward and backward parts */
    double step_s;          /* median plain step, waits taken out */
    double step_wall_s;     /* median plain step, wall clock */
    double waited;          /* share of the plain steps' wall time the timing thread waited */
    double profiled_s;      /* median of the profiled steps' sums, waits taken out */
    double ratio;           /* sum_s / step_s */
} gpx_profile_totals;

/* Everything a profile reports. */
typedef struct {
    const char               *config;    /* the path given */
    const ycfg               *cfg;
    const char               *head;
    int                       batch, threads, repeats, warmup;
    int                       argc;      /* the command line, for summary.yaml */
    char                    **argv;
    const char               *started;
    const gpx_profile_row    *rows;
    int                       nrows;
    const gpx_roofs          *roofs;
    const gpx_profile_totals *totals;
} gpx_profile_report;

/* 1 when the row medians add up to the plain step within 10%. */
int  gpx_profile_ratio_ok   (const gpx_profile_totals *t);

/* The table: a line per row, then the step times. */
void gpx_profile_print_table(FILE *out, const gpx_profile_report *r);

/* profile.csv and summary.yaml into dir, each atomically. 0, or -1 with err. */
int  gpx_profile_write_files(const char *dir, const gpx_profile_report *r, char *err,
                             size_t errlen);

/* The roofline chart into dir: as gpx_chart_publish (0 published, 1
 * skipped: no gnuplot, -1 failed; err says why). */
int  gpx_profile_write_chart(const char *dir, const gpx_profile_report *r, char *err,
                             size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_PROFILE_ROWS_H */
