/*
 * run_rows.h - one run of `gpool run` as the rows it leaves in runs.csv,
 * epochs.csv and evals.csv (their columns: records/results.h).
 *
 * The supervisor fills a gpx_run_rows from what the run's process
 * reported and writes its rows; a run kept from an earlier invocation
 * (--resume, merge) is copied from the old files verbatim instead. While it
 * trains, a run keeps its epochs in runs/<id>/progress.csv, from which an
 * interrupted run continues.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_RUN_ROWS_H
#define GPOOL_EXPERIMENTS_RECORDS_RUN_ROWS_H

#include <stdio.h>

#include "cfg/cfg.h"
#include "core/evalsize.h"
#include "core/runner.h"
#include "core/train.h"

/* A run, as its rows record it. */
typedef struct {
    const char             *id;
    const ycfg_point       *pt;       /* its swept values, head, seed and batch */
    const gpx_run_built    *built;    /* NULL: the network was never built */
    const gpx_train_result *result;   /* best epoch, training time, images/s */
    const gpx_epoch_row    *epochs;   /* every epoch trained, in order */
    int                     nepochs;
    const gpx_size_row     *evals;    /* eval.sizes x eval.methods */
    int                     nevals;
    double                  peak_rss_mib;
    const char             *status;   /* ok, diverged, failed, interrupted */
    const char             *reason;
} gpx_run_rows;

/* The run's runs.csv row (cfg: the experiment, for its name and swept paths). */
void gpx_write_run_row   (FILE *fp, const ycfg *cfg, const gpx_run_rows *r);
/* Its epochs.csv rows, one per epoch. */
void gpx_write_epoch_rows(FILE *fp, const ycfg *cfg, const gpx_run_rows *r);
/* Its evals.csv rows, one per evaluation size and method. */
void gpx_write_eval_rows (FILE *fp, const ycfg *cfg, const gpx_run_rows *r);

/* runs/<id>/progress.csv: rows[0..n-1], a run's epochs so far. */
void gpx_write_progress  (FILE *fp, const gpx_epoch_row *rows, int n);

/* The rows of a progress.csv into *rows (caller frees): how many, or 0
 * (*rows NULL) when it is missing or malformed, or its epochs are not
 * 1, 2, 3 ... in order. */
int  gpx_read_progress   (const char *path, gpx_epoch_row **rows);

/* A run's epochs so far as RUN_DIR/progress.csv (written atomically), for
 * core/runner.h. */
extern const gpx_progress_store gpx_progress_csv;

#endif /* GPOOL_EXPERIMENTS_RECORDS_RUN_ROWS_H */
