/*
 * sweep_read.c - the runs of an earlier invocation read back from a
 * results directory (see sweep.h): --resume keeps the finished ones, merge
 * joins every run of its shards. Their rows are kept verbatim; only what
 * the chart needs (epoch and test accuracy) is parsed.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records/csv.h"
#include "records/results.h"
#include "records/sweep.h"
#include "util/util.h"

/* dst + the line + "\n" (dst NULL: a new string); dst unchanged out of memory. */
static char *append_line(char *dst, const char *line, size_t len)
{
    size_t have = dst ? strlen(dst) : 0;
    char *grown = realloc(dst, have + len + 2);
    if (!grown)
        return dst;
    memcpy(grown + have, line, len);
    memcpy(grown + have + len, "\n", 2);
    return grown;
}

gpx_sweep_run *gpx_sweep_find_prior(gpx_sweep *sw, const char *id)
{
    for (size_t i = 0; i < sw->nprior; i++)
        if (sw->prior[i].run.id && !strcmp(sw->prior[i].run.id, id))
            return &sw->prior[i];
    return NULL;
}

static int prior_fail(const char *path, const char *why)
{
    fprintf(stderr, "gpool run: --resume: %s: %s\n", path, why);
    return -1;
}

/* A results file of an earlier run of this config: it must have the
 * columns this config writes. col[] as gpx_record_columns sets it. */
static int load_prior_file(gpx_csv *t, const char *path, const gpx_record_file *f,
                           const ycfg *cfg, int *col)
{
    char err[8400];
    if (gpx_csv_load(t, path, NULL, err, sizeof err)) {
        fprintf(stderr, "gpool run: --resume: %s\n", err);
        return -1;
    }
    /* a file of a release before some of its columns were added takes them empty */
    if (gpx_record_upgrade(t, f, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gpool run: --resume: %s\n", err);
        return -1;
    }
    if (!gpx_record_same_header(t, f, cfg)) {
        gpx_csv_free(t);
        return prior_fail(path, "its columns differ from what this config writes "
                                "(another config?); use --out DIR or --force");
    }
    return gpx_record_columns(t, f, NULL, 0, col, err, sizeof err);
}

static size_t point_index(const ycfg *cfg, const char *id)
{
    size_t k;
    for (k = 0; k < ycfg_npoints(cfg); k++)
        if (!strcmp(ycfg_point_id(ycfg_point_at(cfg, k)), id))
            break;
    return k;
}

/* A run id of path that is no point of cfg: refused, and when it is the
 * id an earlier gpool gave a point, with the way out. -1 (printed). */
static int not_a_point(const ycfg *cfg, const char *path, const char *id)
{
    for (size_t k = 0; k < ycfg_npoints(cfg); k++)
        if (!strcmp(ycfg_point_legacy_id(ycfg_point_at(cfg, k)), id)) {
            fprintf(stderr, "gpool: %s: run %s has the id an earlier gpool gave point %zu of "
                            "this config; run `gpool migrate` on its directory first\n",
                    path, id, k);
            return -1;
        }
    return prior_fail(path, "it holds runs that are not points of this config; "
                            "use --out DIR or --force");
}

/* Row r of a prior runs.csv kept as a finished run, when it is one: ok or
 * diverged, or any status with keep_all (merge). 0, or -1 (printed). */
static int take_prior_run(gpx_sweep *sw, const gpx_csv *t, const int *col, size_t r,
                          int keep_all)
{
    static const char *const statuses[] = { "ok", "diverged", "failed", "interrupted" };
    const char *id = gpx_csv_field(t, r, col[GPX_RUNS_RUN_ID]);
    const char *status = gpx_csv_field(t, r, col[GPX_RUNS_STATUS]);
    size_t k = point_index(sw->cfg, id), st, len;
    if (k == ycfg_npoints(sw->cfg))
        return not_a_point(sw->cfg, t->path, id);
    for (st = 0; st < 4 && strcmp(status, statuses[st]); st++)
        ;
    if (st == 4 || (!keep_all && st >= 2))
        return 0;   /* failed or interrupted: run it again */
    if (gpx_sweep_find_prior(sw, id))
        return keep_all ? prior_fail(t->path, "a run appears in two shards; merge each shard "
                                              "once")
                        : 0;
    if (sw->nprior >= ycfg_npoints(sw->cfg))
        return 0;
    gpx_sweep_run *rec = &sw->prior[sw->nprior++];
    const char *raw = gpx_csv_raw(t, r, &len);
    rec->run.pt = ycfg_point_at(sw->cfg, k);
    rec->run.id = ycfg_point_id(rec->run.pt);
    rec->run.status = statuses[st];
    rec->raw_run = append_line(NULL, raw, len);
    snprintf(rec->raw_variant, sizeof rec->raw_variant, "%s",
             gpx_csv_field(t, r, col[GPX_RUNS_VARIANT]));
    return rec->raw_run ? 0 : prior_fail(t->path, "out of memory");
}

/* Read the finished runs of an earlier `gpool run` of the same config. */
static int load_prior_runs(gpx_sweep *sw, const char *runs_path, int keep_all)
{
    gpx_csv t;
    int col[GPX_RUNS_NCOLUMNS], rc = 0;
    if (load_prior_file(&t, runs_path, &gpx_runs_file, sw->cfg, col))
        return -1;
    if (!sw->prior)
        sw->prior = calloc(ycfg_npoints(sw->cfg) + 1, sizeof *sw->prior);
    if (!sw->prior)
        rc = prior_fail(runs_path, "out of memory");
    for (size_t r = 0; rc == 0 && r < t.nrows; r++)
        rc = take_prior_run(sw, &t, col, r, keep_all);
    gpx_csv_free(&t);
    return rc;
}

/* Attach each prior run's evals.csv lines (when the config evaluates other sizes). */
static int load_prior_evals(gpx_sweep *sw, const char *evals_path)
{
    gpx_csv t;
    int col[GPX_EVALS_NCOLUMNS];
    if (!ycfg_get(ycfg_point_at(sw->cfg, 0), "eval.sizes")->n)
        return 0;
    if (load_prior_file(&t, evals_path, &gpx_evals_file, sw->cfg, col))
        return -1;
    for (size_t r = 0; r < t.nrows; r++) {
        gpx_sweep_run *rec = gpx_sweep_find_prior(sw, gpx_csv_field(&t, r, col[GPX_EVALS_RUN_ID]));
        size_t len;
        const char *raw = gpx_csv_raw(&t, r, &len);
        if (rec)
            rec->raw_evals = append_line(rec->raw_evals, raw, len);
    }
    gpx_csv_free(&t);
    return 0;
}

/* One epochs.csv row of a prior run: kept verbatim, and its test accuracy
 * per epoch for the chart. */
static int take_prior_epoch(gpx_sweep_run *rec, const gpx_csv *t, const int *col, size_t r)
{
    char err[8400];
    double epoch, acc;
    size_t len;
    const char *raw = gpx_csv_raw(t, r, &len);
    if (gpx_csv_number(t, r, col[GPX_EPOCHS_EPOCH], &epoch, err, sizeof err) ||
        gpx_csv_number(t, r, col[GPX_EPOCHS_TEST_ACC], &acc, err, sizeof err)) {
        fprintf(stderr, "gpool run: --resume: %s\n", err);
        return -1;
    }
    gpx_run_outcome *run = &rec->run;
    gpx_epoch_row *grown = realloc(run->epochs, (size_t)(run->nepochs + 1) * sizeof *grown);
    if (!grown)
        return prior_fail(t->path, "out of memory");
    run->epochs = grown;
    gpx_epoch_row *row = &run->epochs[run->nepochs++];
    memset(row, 0, sizeof *row);
    row->epoch = isfinite(epoch) ? (int)epoch : 0;
    row->test_acc = acc;
    rec->raw_epochs = append_line(rec->raw_epochs, raw, len);
    return 0;
}

/* Attach each prior run's epochs.csv lines, and its test accuracy per epoch for the chart. */
static int load_prior_epochs(gpx_sweep *sw, const char *epochs_path)
{
    gpx_csv t;
    int col[GPX_EPOCHS_NCOLUMNS], rc = 0;
    if (load_prior_file(&t, epochs_path, &gpx_epochs_file, sw->cfg, col))
        return -1;
    for (size_t r = 0; rc == 0 && r < t.nrows; r++) {
        gpx_sweep_run *rec = gpx_sweep_find_prior(sw, gpx_csv_field(&t, r, col[GPX_EPOCHS_RUN_ID]));
        if (rec)
            rc = take_prior_epoch(rec, &t, col, r);
    }
    gpx_csv_free(&t);
    return rc;
}

int gpx_sweep_load_prior(gpx_sweep *sw, const char *dir, int keep_all)
{
    char runs[4096], epochs[4096], evals[4096];
    if (gpx_join(runs, sizeof runs, dir, "runs.csv") ||
        gpx_join(epochs, sizeof epochs, dir, "epochs.csv") ||
        gpx_join(evals, sizeof evals, dir, "evals.csv"))
        return prior_fail(dir, "path too long");
    return load_prior_runs(sw, runs, keep_all) || load_prior_epochs(sw, epochs) ||
                   load_prior_evals(sw, evals) ? -1 : 0;
}
