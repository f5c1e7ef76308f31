/*
 * bench_rows.h - what `gpool bench` leaves in its results directory, from
 * the rows it measured (probe/pool_rows.h): bench.csv (its columns:
 * gpx_bench_file in records/results.h), the bench-specific keys of
 * manifest.yaml, and the chart (bench-chart.dat, bench.gp from the
 * template records/bench.gp, bench.png, bench.svg; records/chart.h).
 *
 * The chart shows one op/pass/layout, a panel per (mode, threads) - modes
 * the rows, thread counts ascending the columns of the multiplot - and a
 * series per variant, with the median probe of each shape for reference.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_BENCH_ROWS_H
#define GPOOL_EXPERIMENTS_RECORDS_BENCH_ROWS_H

#include <stddef.h>
#include <stdio.h>

#include "cfg/cfg.h"
#include "gpool.h"
#include "probe/pool_rows.h"

/* How a bench invocation went, for its manifest. */
typedef struct {
    int          argc;
    char       **argv;
    const char  *config_path;
    const char  *out_dir;
    char         started[64];
    double       wall_s;
    size_t       planned;        /* rows planned (written: the row list's count) */
    const char  *skipped;        /* variants this CPU or build cannot run */
    const char  *chart_status;   /* "written", "skipped: ...", "failed" */
} gpx_bench_run;

/* The op/pass/layout the config's chart: section asks for. */
typedef struct {
    gp_pool_op op;
    gp_pass    pass;
    gp_layout  layout;
} gpx_bench_chart_spec;

/* bench.csv: the header and a line per row. */
void gpx_bench_write_csv     (FILE *fp, const gpx_bench_rows *rows);

/* manifest.yaml: the shared keys (records/manifest.h), then the thread
 * counts, the points, the skipped variants, how the rows ended and what
 * their columns mean, the chart's status and the files written. */
void gpx_bench_write_manifest(FILE *fp, const gpx_bench_run *run, const ycfg *cfg,
                              const gpx_bench_point *points, size_t npoints,
                              const gpx_bench_rows *rows);

/* The chart of the ok rows of spec (of the first ok row's op/pass/layout
 * when spec has none), titled after experiment, into dir. 0 published;
 * 1 skipped (no ok rows, err empty; or no gnuplot, err says so); -1 failed
 * (err says what). *status says which, for the manifest. */
int  gpx_bench_write_chart   (const char *dir, const char *experiment,
                              const gpx_bench_chart_spec *spec, const gpx_bench_rows *rows,
                              const char **status, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_BENCH_ROWS_H */
