/*
 * sweep_read.c - the runs of an earlier invocation read back from a
 * results directory (see sweep.h): --resume keeps the finished ones, merge
 * joins every run of its shards. Their rows are kept verbatim; only what
 * the chart needs (epoch and test accuracy) is parsed.
 */
#include "autoconfig.h"

#include <stdarg.h>
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

/* A message in the voice of the command reading the directory: "gpool run:
 * --resume: ..." or "gpool merge: ...". -1. */
static int prior_fail(const gpx_sweep *sw, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: %s", sw->opt.cmd, sw->opt.resume ? "--resume: " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* Why a directory may hold what this config does not write, and the way
 * out, as the command says it. */
static const char *other_config_advice(const gpx_sweep *sw)
{
    return sw->opt.resume ? "(another config?); use --out DIR or --force"
                          : "(a shard of another sweep?)";
}

/* The files of a results directory read back and checked (records/results.h). */
typedef struct {
    gpx_csv runs, epochs, evals;
    int     rc[GPX_RUNS_NCOLUMNS], ec[GPX_EPOCHS_NCOLUMNS], vc[GPX_EVALS_NCOLUMNS];
} prior_files;

static void prior_files_free(prior_files *p)
{
    gpx_csv_free(&p->runs);
    gpx_csv_free(&p->epochs);
    gpx_csv_free(&p->evals);
}

/* DIR/f of an earlier run of this config: checked, with the columns this
 * config writes. col[] as gpx_record_columns sets it. */
static int load_prior_file(const gpx_sweep *sw, gpx_csv *t, const char *dir,
                           const gpx_record_file *f, int *col)
{
    char path[4096], err[8400];
    if (gpx_join(path, sizeof path, dir, f->name))
        return prior_fail(sw, "%s: path too long", dir);
    if (gpx_record_load(t, path, f, NULL, 0, col, NULL, err, sizeof err))
        return prior_fail(sw, "%s", err);
    /* a file of a release before some of its columns were added takes them empty */
    int upgraded = gpx_record_upgrade(t, f, sw->cfg, err, sizeof err);
    if (upgraded < 0 ||
        (upgraded == 0 && gpx_record_columns(t, f, NULL, 0, col, err, sizeof err)))
        return prior_fail(sw, "%s", err);
    if (!gpx_record_same_header(t, f, sw->cfg))
        return prior_fail(sw, "%s: its columns differ from what this config writes %s", path,
                          other_config_advice(sw));
    return 0;
}

/* runs.csv, epochs.csv and evals.csv (when the config evaluates other
 * sizes) of dir; with all_known (merge), every row of the last two of a
 * run of the first. --resume leaves that out: removing a run's row from
 * runs.csv is a way to have it run again, its other rows dropped. */
static int load_prior_files(const gpx_sweep *sw, const char *dir, int all_known,
                            prior_files *p)
{
    char err[8400];
    memset(p, 0, sizeof *p);
    int evals = ycfg_get(ycfg_point_at(sw->cfg, 0), "eval.sizes")->n > 0;
    if (load_prior_file(sw, &p->runs, dir, &gpx_runs_file, p->rc) ||
        load_prior_file(sw, &p->epochs, dir, &gpx_epochs_file, p->ec) ||
        (evals && load_prior_file(sw, &p->evals, dir, &gpx_evals_file, p->vc)))
        return -1;
    if (!all_known)
        return 0;
    if (gpx_record_runs_known(&p->epochs, p->ec[GPX_EPOCHS_RUN_ID], &p->runs,
                              p->rc[GPX_RUNS_RUN_ID], err, sizeof err) ||
        (evals && gpx_record_runs_known(&p->evals, p->vc[GPX_EVALS_RUN_ID], &p->runs,
                                        p->rc[GPX_RUNS_RUN_ID], err, sizeof err)))
        return prior_fail(sw, "%s", err);
    return 0;
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
static int not_a_point(const gpx_sweep *sw, const gpx_csv *t, size_t r, const char *id)
{
    for (size_t k = 0; k < ycfg_npoints(sw->cfg); k++)
        if (!strcmp(ycfg_point_legacy_id(ycfg_point_at(sw->cfg, k)), id))
            return prior_fail(sw, "%s:%d: run %s has the id an earlier gpool gave point %zu "
                                  "of this config; run `gpool migrate` on its directory first",
                              t->path, t->rows[r].line, id, k);
    return prior_fail(sw, "%s:%d: run %s is no point of this config %s", t->path,
                      t->rows[r].line, id, other_config_advice(sw));
}

static int is_dropped(const ycfg *cfg, const char *id)
{
    for (size_t k = 0; k < ycfg_ndropped(cfg); k++)
        if (!strcmp(ycfg_point_id(ycfg_dropped_at(cfg, k)), id))
            return 1;
    return 0;
}

/* A row that would be kept: ok or diverged, or any status with keep_all. */
static int is_kept_row(const gpx_csv *t, const int *col, size_t r, int keep_all)
{
    const char *status = gpx_csv_field(t, r, col[GPX_RUNS_STATUS]);
    return keep_all || !strcmp(status, "ok") || !strcmp(status, "diverged");
}

/* Rows kept of points the config's sweep_except drops are refused, all
 * named at once: keeping them would leave results of points the config
 * no longer has, discarding them would lose finished work unasked. A
 * failed or interrupted run of such a point is simply not run again.
 * 0, or -1 (printed). */
static int refuse_dropped_runs(const gpx_sweep *sw, const gpx_csv *t, const int *col,
                               int keep_all)
{
    char ids[1024] = "";
    size_t n = 0, used = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        const char *id = gpx_csv_field(t, r, col[GPX_RUNS_RUN_ID]);
        if (!is_kept_row(t, col, r, keep_all) || !is_dropped(sw->cfg, id))
            continue;
        if (used < sizeof ids)
            used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%s (line %d)",
                                     n ? ", " : "", id, t->rows[r].line);
        n++;
    }
    if (!n)
        return 0;
    return prior_fail(sw, "%s: sweep_except drops the point%s of %zu %s run%s: %s; %s", t->path,
                      n == 1 ? "" : "s", n, keep_all ? "recorded" : "finished", n == 1 ? "" : "s",
                      ids, sw->opt.resume ? "remove their rows from runs.csv to discard them, or "
                      "take their points out of sweep_except" : "a shard of another config?");
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
    int kept = is_kept_row(t, col, r, keep_all);
    if (k == ycfg_npoints(sw->cfg) && (kept || !is_dropped(sw->cfg, id)))
        return not_a_point(sw, t, r, id);
    if (!kept)
        return 0;   /* failed or interrupted: run again, or not at all if its point is dropped */
    for (st = 0; st < 3 && strcmp(status, statuses[st]); st++)
        ;   /* the reader took no other status */
    if (gpx_sweep_find_prior(sw, id))
        return prior_fail(sw, "%s:%d: run %s appears in two shards; merge each shard once",
                          t->path, t->rows[r].line, id);
    gpx_sweep_run *rec = &sw->prior[sw->nprior++];
    const char *raw = gpx_csv_raw(t, r, &len);
    rec->run.pt = ycfg_point_at(sw->cfg, k);
    rec->run.id = ycfg_point_id(rec->run.pt);
    rec->run.status = statuses[st];
    rec->raw_run = append_line(NULL, raw, len);
    snprintf(rec->raw_variant, sizeof rec->raw_variant, "%s",
             gpx_csv_field(t, r, col[GPX_RUNS_VARIANT]));
    return rec->raw_run ? 0 : prior_fail(sw, "%s: out of memory", t->path);
}

/* The finished runs of an earlier `gpool run` of the same config. */
static int take_prior_runs(gpx_sweep *sw, const prior_files *p, int keep_all)
{
    int rc = 0;
    if (!sw->prior)
        sw->prior = calloc(ycfg_npoints(sw->cfg) + 1, sizeof *sw->prior);
    if (!sw->prior)
        return prior_fail(sw, "%s: out of memory", p->runs.path);
    if (refuse_dropped_runs(sw, &p->runs, p->rc, keep_all))
        return -1;
    for (size_t r = 0; rc == 0 && r < p->runs.nrows; r++)
        rc = take_prior_run(sw, &p->runs, p->rc, r, keep_all);
    return rc;
}

/* Attach each prior run's evals.csv lines. */
static void take_prior_evals(gpx_sweep *sw, const prior_files *p)
{
    for (size_t r = 0; r < p->evals.nrows; r++) {
        gpx_sweep_run *rec = gpx_sweep_find_prior(
            sw, gpx_csv_field(&p->evals, r, p->vc[GPX_EVALS_RUN_ID]));
        size_t len;
        const char *raw = gpx_csv_raw(&p->evals, r, &len);
        if (rec)
            rec->raw_evals = append_line(rec->raw_evals, raw, len);
    }
}

/* One epochs.csv row of a prior run: kept verbatim, and its test accuracy
 * per epoch for the chart (the reader checked both numbers). */
static int take_prior_epoch(gpx_sweep *sw, gpx_sweep_run *rec, const prior_files *p, size_t r)
{
    char err[8400];
    double epoch, acc;
    size_t len;
    const char *raw = gpx_csv_raw(&p->epochs, r, &len);
    if (gpx_csv_number(&p->epochs, r, p->ec[GPX_EPOCHS_EPOCH], &epoch, err, sizeof err) ||
        gpx_csv_number(&p->epochs, r, p->ec[GPX_EPOCHS_TEST_ACC], &acc, err, sizeof err))
        return prior_fail(sw, "%s", err);
    gpx_run_outcome *run = &rec->run;
    gpx_epoch_row *grown = realloc(run->epochs, (size_t)(run->nepochs + 1) * sizeof *grown);
    if (!grown)
        return prior_fail(sw, "%s: out of memory", p->epochs.path);
    run->epochs = grown;
    gpx_epoch_row *row = &run->epochs[run->nepochs++];
    memset(row, 0, sizeof *row);
    row->epoch = (int)epoch;
    row->test_acc = acc;
    rec->raw_epochs = append_line(rec->raw_epochs, raw, len);
    return 0;
}

/* Attach each prior run's epochs.csv lines, and its test accuracy per epoch for the chart. */
static int take_prior_epochs(gpx_sweep *sw, const prior_files *p)
{
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < p->epochs.nrows; r++) {
        gpx_sweep_run *rec = gpx_sweep_find_prior(
            sw, gpx_csv_field(&p->epochs, r, p->ec[GPX_EPOCHS_RUN_ID]));
        if (rec)
            rc = take_prior_epoch(sw, rec, p, r);
    }
    return rc;
}

int gpx_sweep_load_prior(gpx_sweep *sw, const char *dir, int keep_all)
{
    prior_files p;
    int rc = load_prior_files(sw, dir, keep_all, &p) || take_prior_runs(sw, &p, keep_all) ||
                     take_prior_epochs(sw, &p) ? -1 : 0;
    if (rc == 0)
        take_prior_evals(sw, &p);
    prior_files_free(&p);
    return rc;
}
