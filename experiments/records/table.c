/*
 * table.c - runs.csv grouped into the rows of `gpool table` (see table.h):
 * the settings, the input files, the groups and their summaries.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/schema.h"
#include "records/size_study.h"
#include "records/table.h"

/* md and tex headers, kind, decimals (-1: table.precision), thousands separated */
const gpx_table_column_info gpx_table_columns[GPX_TCOL_COUNT] = {
    [GPX_TCOL_N]       = { "n", "$n$", GPX_TKIND_COUNT, 0, 0 },
    [GPX_TCOL_FINAL]   = { "final test acc (%)", "final test acc.\\ (\\%)",
                           GPX_TKIND_SPREAD, -1, 0 },
    [GPX_TCOL_BEST]    = { "best test acc (%)", "best test acc.\\ (\\%)",
                           GPX_TKIND_SPREAD, -1, 0 },
    [GPX_TCOL_GAP]     = { "train-test gap (pp)", "train$-$test gap (pp)",
                           GPX_TKIND_SPREAD, -1, 0 },
    [GPX_TCOL_PARAMS]  = { "params", "params", GPX_TKIND_CONSTANT, 0, 1 },
    [GPX_TCOL_FLOPS]   = { "fwd MFLOPs/img", "fwd MFLOPs/img", GPX_TKIND_CONSTANT, 2, 0 },
    [GPX_TCOL_MEMORY]  = { "train memory (MiB)", "train mem.\\ (MiB)",
                           GPX_TKIND_CONSTANT, 2, 0 },
    [GPX_TCOL_EPOCH_S] = { "time/epoch (s)", "time/epoch (s)", GPX_TKIND_SPREAD, 2, 0 },
    [GPX_TCOL_IMG_S]   = { "img/s", "img/s", GPX_TKIND_SPREAD, 0, 0 },
    [GPX_TCOL_RSS]     = { "peak RSS (MiB)", "peak RSS (MiB)", GPX_TKIND_SPREAD, 1, 0 },
};

/* ========================================================= settings */

void gpx_table_default_settings(gpx_table_settings *s)
{
    memset(s, 0, sizeof *s);
    s->sort = -1;
    s->descending = 1;
    s->precision = 2;
}

/* table.columns, each once. */
static int columns_from_config(const ycfg *cfg, const ycfg_value *columns, gpx_table_settings *s,
                               char *err, size_t errlen)
{
    for (size_t k = 0; k < columns->n; k++) {
        gpx_table_column c = (gpx_table_column)ycfg_value_enum(&columns->items[k]);
        for (size_t j = 0; j < s->ncolumns; j++)
            if (s->column[j] == c) {
                snprintf(err, errlen, "%s:%d:%d: table.columns: '%s' is listed twice",
                         ycfg_path(cfg), columns->items[k].line, columns->items[k].col,
                         columns->items[k].s);
                return -1;
            }
        s->column[s->ncolumns++] = c;
    }
    return 0;
}

int gpx_table_settings_from_config(const ycfg *cfg, gpx_table_settings *s, char *err,
                                   size_t errlen)
{
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    const ycfg_value *group = ycfg_get(pt, "table.group_by");
    snprintf(s->source, sizeof s->source, "%s", ycfg_path(cfg));
    if (group->n > GPX_TABLE_MAX_KEYS) {
        snprintf(err, errlen, "%s:%d:%d: table.group_by: at most %d keys", ycfg_path(cfg),
                 group->line, group->col, GPX_TABLE_MAX_KEYS);
        return -1;
    }
    for (size_t k = 0; k < group->n; k++) {
        s->group[k] = group->items[k].s;
        s->group_line[k] = group->items[k].line;
        s->group_col[k] = group->items[k].col;
    }
    s->ngroup = group->n;
    if (columns_from_config(cfg, ycfg_get(pt, "table.columns"), s, err, errlen))
        return -1;
    s->sort = ycfg_enum(pt, "table.sort") - 1;   /* "none" first: -1 */
    s->descending = ycfg_bool(pt, "table.descending");
    s->precision = (int)ycfg_int(pt, "table.precision");
    return 0;
}

const char *gpx_key_leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Empty lists take their defaults: every column; every swept column but
 * the seeds (the columns between "experiment" and "head" in runs.csv), or
 * "head" when nothing else was swept. */
static void complete_settings(gpx_table_settings *s, const gpx_csv *runs, const int *rc)
{
    if (!s->ncolumns)
        for (int c = 0; c < GPX_TCOL_COUNT; c++)
            s->column[s->ncolumns++] = (gpx_table_column)c;
    if (s->ngroup)
        return;
    int first, last;
    gpx_record_swept(&gpx_runs_file, rc, &first, &last);
    for (int k = first; k < last && s->ngroup < GPX_TABLE_MAX_KEYS; k++)
        if (strcmp(gpx_key_leaf(runs->header.field[k]), "seed"))
            s->group[s->ngroup++] = runs->header.field[k];
    if (!s->ngroup)
        s->group[s->ngroup++] = "head";
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (la >= 128 || lb >= 128)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The runs.csv column closest to name (fewer than 4 edits), or NULL. */
static const char *closest_column(const gpx_csv *runs, const char *name)
{
    const char *near = NULL;
    size_t best = 4;
    for (size_t c = 0; c < runs->header.n; c++) {
        size_t d = distance(name, runs->header.field[c]);
        if (d < best) {
            best = d;
            near = runs->header.field[c];
        }
    }
    return near;
}

int gpx_table_resolve_settings(gpx_table *t, char *err, size_t errlen)
{
    gpx_table_settings *s = &t->set;
    complete_settings(s, &t->runs, t->rc);
    for (size_t k = 0; k < s->ngroup; k++) {
        t->key_col[k] = gpx_csv_column(&t->runs, s->group[k]);
        if (t->key_col[k] >= 0)
            continue;
        const char *near = closest_column(&t->runs, s->group[k]);
        char hint[256] = "";
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        snprintf(err, errlen, "%s:%d:%d: table.group_by[%zu]: %s has no column '%s'%s",
                 s->source, s->group_line[k], s->group_col[k], k, t->runs.path, s->group[k],
                 hint);
        return -1;
    }
    return 0;
}

/* ============================================================= input */

/* The columns of runs.csv, epochs.csv and evals.csv (records/results.h)
 * that the tables and charts need: a file without one is an error. */
static const int runs_needed[] = {
    GPX_RUNS_RUN_ID, GPX_RUNS_EXPERIMENT, GPX_RUNS_HEAD, GPX_RUNS_SEED, GPX_RUNS_EPOCHS,
    GPX_RUNS_PARAMS, GPX_RUNS_FLOPS, GPX_RUNS_MEM_TOTAL, GPX_RUNS_FINAL_TRAIN_ACC,
    GPX_RUNS_FINAL_VAL_ACC, GPX_RUNS_FINAL_TEST_ACC, GPX_RUNS_BEST_TEST_ACC, GPX_RUNS_TRAIN_S,
    GPX_RUNS_IMG_PER_S, GPX_RUNS_PEAK_RSS_MIB, GPX_RUNS_STATUS, GPX_RUNS_REASON
};

static const int epochs_needed[] = { GPX_EPOCHS_RUN_ID, GPX_EPOCHS_EPOCH, GPX_EPOCHS_TEST_ACC };

static const int evals_needed[] = {
    GPX_EVALS_RUN_ID, GPX_EVALS_TRAIN_SIZE, GPX_EVALS_EVAL_SIZE, GPX_EVALS_METHOD,
    GPX_EVALS_TEST_ACC, GPX_EVALS_STATUS, GPX_EVALS_REASON
};

#define NELEMS(a) (sizeof a / sizeof a[0])

/* DIR/NAME read as the results file f into csv (records/results.h checks
 * it), with the needed columns looked up into col; a missing file sets
 * *missing when it is given. */
static int load_csv(const char *dir, const gpx_record_file *f, const int *need, size_t nneed,
                    gpx_csv *csv, int *col, int *missing, char *err, size_t errlen)
{
    char path[4096];
    if (gpx_join(path, sizeof path, dir, f->name))
        return gpx_fail(err, errlen, "%s: path too long", dir);
    return gpx_record_load(csv, path, f, need, nneed, col, missing, err, errlen);
}

int gpx_table_load(gpx_table *t, const char *dir, char *err, size_t errlen)
{
    int no_epochs = 0, no_evals = 0;
    if (load_csv(dir, &gpx_runs_file, runs_needed, NELEMS(runs_needed), &t->runs, t->rc, NULL,
                 err, errlen) ||
        load_csv(dir, &gpx_epochs_file, epochs_needed, NELEMS(epochs_needed), &t->epochs,
                 t->ec, &no_epochs, err, errlen) ||
        load_csv(dir, &gpx_evals_file, evals_needed, NELEMS(evals_needed), &t->evals, t->vc,
                 &no_evals, err, errlen))
        return -1;
    t->have_epochs = !no_epochs;
    t->have_evals = !no_evals;
    const int runs_id = t->rc[GPX_RUNS_RUN_ID];
    if (gpx_record_runs_known(&t->epochs, t->ec[GPX_EPOCHS_RUN_ID], &t->runs, runs_id, err,
                              errlen) ||
        gpx_record_runs_known(&t->evals, t->vc[GPX_EVALS_RUN_ID], &t->runs, runs_id, err,
                              errlen))
        return -1;
    return 0;
}

/* ============================================================== rows */

int gpx_table_run_ok(const gpx_table *t, size_t r)
{
    return !strcmp(t->runs.rows[r].field[t->rc[GPX_RUNS_STATUS]], "ok");
}

/* The numbers each table column shows for one run. */
static int run_values(gpx_table *t, size_t r, double *v, char *err, size_t errlen)
{
    enum { NNUM = 11 };
    static const int need[NNUM] = {
        GPX_RUNS_EPOCHS, GPX_RUNS_PARAMS, GPX_RUNS_FLOPS, GPX_RUNS_MEM_TOTAL,
        GPX_RUNS_FINAL_TRAIN_ACC, GPX_RUNS_FINAL_VAL_ACC, GPX_RUNS_FINAL_TEST_ACC,
        GPX_RUNS_BEST_TEST_ACC, GPX_RUNS_TRAIN_S, GPX_RUNS_IMG_PER_S, GPX_RUNS_PEAK_RSS_MIB
    };
    double x[GPX_RUNS_NCOLUMNS];
    for (int k = 0; k < NNUM; k++)
        if (gpx_csv_number(&t->runs, r, t->rc[need[k]], &x[need[k]], err, errlen))
            return -1;
    v[GPX_TCOL_N] = 1;
    v[GPX_TCOL_FINAL] = 100 * x[GPX_RUNS_FINAL_TEST_ACC];
    v[GPX_TCOL_BEST] = 100 * x[GPX_RUNS_BEST_TEST_ACC];
    v[GPX_TCOL_GAP] = 100 * (x[GPX_RUNS_FINAL_TRAIN_ACC] - x[GPX_RUNS_FINAL_TEST_ACC]);
    v[GPX_TCOL_PARAMS] = x[GPX_RUNS_PARAMS];
    v[GPX_TCOL_FLOPS] = x[GPX_RUNS_FLOPS] / 1e6;
    v[GPX_TCOL_MEMORY] = x[GPX_RUNS_MEM_TOTAL] / (1024.0 * 1024.0);
    v[GPX_TCOL_EPOCH_S] =
        x[GPX_RUNS_EPOCHS] > 0 ? x[GPX_RUNS_TRAIN_S] / x[GPX_RUNS_EPOCHS] : NAN;
    v[GPX_TCOL_IMG_S] = x[GPX_RUNS_IMG_PER_S];
    v[GPX_TCOL_RSS] = x[GPX_RUNS_PEAK_RSS_MIB];
    t->has_validation |= isfinite(x[GPX_RUNS_FINAL_VAL_ACC]);
    return 0;
}

static int same_key(const gpx_table *t, size_t a, size_t b)
{
    for (size_t k = 0; k < t->set.ngroup; k++)
        if (strcmp(t->runs.rows[a].field[t->key_col[k]], t->runs.rows[b].field[t->key_col[k]]))
            return 0;
    return 1;
}

/* Run r's group, opened when r is the first of it; NULL out of memory. */
static gpx_run_group *group_of(gpx_table *t, size_t r)
{
    for (size_t g = 0; g < t->ngroups; g++)
        if (same_key(t, t->groups[g].first, r))
            return &t->groups[g];
    gpx_run_group *g = &t->groups[t->ngroups++];
    memset(g, 0, sizeof *g);
    g->first = r;
    g->ok = calloc(t->runs.nrows, sizeof *g->ok);
    return g->ok ? g : NULL;
}

static void summarise_group(gpx_table *t, gpx_run_group *g)
{
    double *v = malloc((g->nok ? g->nok : 1) * sizeof *v);
    for (int c = 0; v && c < GPX_TCOL_COUNT; c++) {
        for (size_t i = 0; i < g->nok; i++)
            v[i] = t->value[g->ok[i]][c];
        g->stat[c] = gpx_summarise(v, g->nok);
    }
    g->stat[GPX_TCOL_N].n = g->nok;
    free(v);
}

/* A group's sort key: NaN (no runs) sorts last either way. */
static int group_before(const gpx_table *t, const gpx_run_group *a, const gpx_run_group *b)
{
    int c = t->set.sort;
    double x = c == GPX_TCOL_N ? (double)a->nok : a->stat[c].mean;
    double y = c == GPX_TCOL_N ? (double)b->nok : b->stat[c].mean;
    if (isnan(y))
        return !isnan(x);
    if (isnan(x))
        return 0;
    return t->set.descending ? x > y : x < y;
}

static void sort_groups(gpx_table *t)
{
    if (t->set.sort < 0)
        return;
    /* insertion sort: stable, so ties keep the order of runs.csv */
    for (size_t i = 1; i < t->ngroups; i++) {
        gpx_run_group g = t->groups[i];
        size_t k = i;
        while (k > 0 && group_before(t, &g, &t->groups[k - 1])) {
            t->groups[k] = t->groups[k - 1];
            k--;
        }
        t->groups[k] = g;
    }
}

int gpx_table_group(gpx_table *t, char *err, size_t errlen)
{
    size_t n = t->runs.nrows;
    t->value = calloc(n ? n : 1, sizeof *t->value);
    t->groups = calloc(n ? n : 1, sizeof *t->groups);
    if (!t->value || !t->groups) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t r = 0; r < n; r++) {
        gpx_run_group *g = group_of(t, r);
        if (!g) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (!gpx_table_run_ok(t, r)) {
            t->nexcluded++;
            continue;
        }
        if (run_values(t, r, t->value[r], err, errlen))
            return -1;
        g->ok[g->nok++] = r;
    }
    for (size_t g = 0; g < t->ngroups; g++)
        summarise_group(t, &t->groups[g]);
    sort_groups(t);
    return 0;
}

const char *gpx_table_key_value(const gpx_table *t, const gpx_run_group *g, size_t k)
{
    return t->runs.rows[g->first].field[t->key_col[k]];
}

int gpx_table_has_column(const gpx_table *t, gpx_table_column c)
{
    for (size_t k = 0; k < t->set.ncolumns; k++)
        if (t->set.column[k] == c)
            return 1;
    return 0;
}

void gpx_table_label(const gpx_table *t, const char *const *keys, const int *cols, size_t nkeys,
                     size_t r, char *buf, size_t len)
{
    const char *const *field = (const char *const *)t->runs.rows[r].field;
    size_t o = 0;
    snprintf(buf, len, "all runs");
    for (size_t k = 0; k < nkeys && o + 1 < len; k++) {
        if (nkeys == 1)
            o += (size_t)snprintf(buf + o, len - o, "%s", field[cols[k]]);
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", k ? ", " : "",
                                  gpx_key_leaf(keys[k]), field[cols[k]]);
    }
}

void gpx_table_free(gpx_table *t)
{
    for (size_t g = 0; g < t->ngroups; g++)
        free(t->groups[g].ok);
    free(t->groups);
    free(t->value);
    gpx_csv_free(&t->runs);
    gpx_csv_free(&t->epochs);
    gpx_csv_free(&t->evals);
    gpx_size_study_free(t->study);
    memset(t, 0, sizeof *t);
}
