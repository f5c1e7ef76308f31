/*
 * sweep.h - an experiment's results directory as `gpool run`, `merge` and
 * `rerun` write it: the points of a config trained one by one
 * (core/runner.h), and after each run every file of the directory
 * rewritten whole: runs.csv, epochs.csv, evals.csv, manifest.yaml, and the
 * run's own runs/<id>/config.yaml and manifest.yaml; the chart at the end.
 *
 *     gpx_sweep sw;
 *     if (gpx_sweep_init(&sw, &opt, cfg, argc, argv) || gpx_sweep_prepare(&sw) ||
 *         gpx_sweep_write_config(&sw)) ...
 *     status = gpx_sweep_train(&sw);
 *     gpx_sweep_free(&sw);
 *
 * With resume, the finished runs (ok or diverged) of the directory's
 * runs.csv are kept, matched by run id, their rows copied verbatim; the
 * others run again, a run cut short going on from its checkpoint; the run
 * restart_id names trains from scratch, kept or not, its checkpoint unused.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_SWEEP_H
#define GPOOL_EXPERIMENTS_RECORDS_SWEEP_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/runner.h"
#include "records/lock.h"

typedef struct {
    const char *out_dir;          /* NULL: results/<name>, or results/<name>/shard-K-of-N */
    int         force;            /* overwrite an existing runs.csv */
    int         resume;           /* keep its finished runs and run the rest */
    int         quiet;            /* no build log */
    int         shard_k, shard_n; /* only the points i with i % N == K - 1; N = 0: all */
    const char *restart_id;       /* with resume: this run trains again from scratch */
    const char *cmd;              /* whose messages: "gpool merge"; NULL: "gpool run" */
} gpx_sweep_options;

/* A run of the sweep: as it ran now, or kept from an earlier invocation
 * (raw_run set: its rows are copied as they stand). */
typedef struct {
    gpx_run_outcome run;
    char           *raw_run;         /* its runs.csv line */
    char            raw_variant[32]; /* ... and its variant column */
    char           *raw_epochs;      /* its epochs.csv lines */
    char           *raw_evals;       /* its evals.csv lines */
} gpx_sweep_run;

typedef struct {
    gpx_sweep_options opt;
    const ycfg       *cfg;
    char              out_dir[2048];
    gpx_sweep_run    *runs;         /* in config order; one per point at most */
    size_t            nruns;        /* finished so far */
    gpx_sweep_run    *prior;        /* kept from an earlier invocation, not reached yet */
    size_t            nprior;
    const char      **merged_from;  /* gpool merge: the shard directories */
    int               nmerged;
    gpx_data_record   data;         /* from the first run that loaded data */
    int               have_data;
    char              started[64];
    int               argc;         /* the command line, for the manifests */
    char            **argv;
    gpx_dir_lock      lock;         /* out_dir's, from prepare to free */
} gpx_sweep;

/* A sweep of cfg for the command line argc/argv, nothing run yet. 0, or -1
 * out of memory (printed). */
int  gpx_sweep_init        (gpx_sweep *sw, const gpx_sweep_options *o, const ycfg *cfg,
                            int argc, char **argv);

/* Free the runs (not cfg). */
void gpx_sweep_free        (gpx_sweep *sw);

/* The output directory chosen, made and locked (records/lock.h); with resume, its finished runs
 * read back; without force, an existing runs.csv refused. 0, or -1 (printed). */
int  gpx_sweep_prepare     (gpx_sweep *sw);

/* Train the points (those of the shard) not kept, one line each on stdout,
 * rewriting the directory's files after each. The exit status: 0 every run
 * finished (ok or diverged), 1 one failed or an error, 130 interrupted. */
int  gpx_sweep_train       (gpx_sweep *sw);

/* ---- the files (records/sweep_write.c); each 0, or -1 (printed) */

/* config.yaml: the resolved config. */
int  gpx_sweep_write_config(const gpx_sweep *sw);
/* runs.csv, epochs.csv, evals.csv (when the config evaluates other sizes), manifest.yaml. */
int  gpx_sweep_write_tables(const gpx_sweep *sw);
/* runs/<id>/config.yaml and runs/<id>/manifest.yaml of a run. */
int  gpx_sweep_write_run_files(const gpx_sweep *sw, const gpx_sweep_run *r);
/* accuracy.{dat,gp,png,svg}: test accuracy per epoch (skipped, with a note,
 * without gnuplot). */
int  gpx_sweep_write_chart (const gpx_sweep *sw);

/* A run's legend: its swept values ("head=" left out), else its head. */
void gpx_sweep_run_title   (const gpx_sweep *sw, const gpx_sweep_run *r, char *buf, size_t len);

/* ---- reading back (records/sweep_read.c) */

/* The runs of DIR (runs.csv, epochs.csv, evals.csv, written for this
 * config, each read and checked by gpx_record_load) into sw->prior: the
 * finished ones, or with keep_all (merge) every one, refusing one seen
 * twice and rows of epochs.csv or evals.csv of a run runs.csv lacks.
 * 0, or -1 (printed in the voice of sw->opt.cmd). */
int  gpx_sweep_load_prior  (gpx_sweep *sw, const char *dir, int keep_all);

/* The prior run of id, or NULL. */
gpx_sweep_run *gpx_sweep_find_prior(gpx_sweep *sw, const char *id);

#endif /* GPOOL_EXPERIMENTS_RECORDS_SWEEP_H */
