/*
 * table.c - `gpool table DIR`: paper-style tables (markdown and LaTeX) and
 * gnuplot charts (PNG and SVG) from the CSVs `gpool run` wrote into DIR.
 *
 * Everything is recomputed from DIR/runs.csv, epochs.csv, evals.csv and the
 * `table:` section of DIR/config.yaml (or --config FILE): nothing is
 * trained, no data set is opened. One table row per group of runs sharing
 * the values of table.group_by (default: every swept path but the seeds),
 * with mean +- sample sd over the group's runs whose status is ok; the
 * others are listed under the table with their reasons. When the config
 * evaluated other input sizes (DIR/evals.csv), a second table and one chart
 * per method show the test accuracy at each size, not-applicable sizes
 * marked with their reason.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/schema.h"
#include "records/chart.h"
#include "records/csv.h"
#include "records/ids.h"
#include "records/results.h"
#include "util/util.h"

/* Room for a message that quotes two paths and a CSV field. */
#define ERR_LEN 16384

/* ============================================================ schema */

/* The table columns a config may ask for, in their default order. */
typedef enum {
    COL_N,
    COL_FINAL,
    COL_BEST,
    COL_GAP,
    COL_PARAMS,
    COL_FLOPS,
    COL_MEMORY,
    COL_EPOCH_S,
    COL_IMG_S,
    COL_RSS,
    NCOLUMNS
} column_id;

/* How a column is summarised and printed. */
typedef enum {
    KIND_COUNT,     /* runs in the row */
    KIND_SPREAD,    /* varies from seed to seed: mean +- sd */
    KIND_CONSTANT   /* fixed by the config: one value unless it varies in the row */
} column_kind;

typedef struct {
    const char *md, *tex;  /* headers */
    column_kind kind;
    int         decimals;  /* -1: table.precision */
    int         thousands; /* separators in markdown */
} column_info;

static const column_info column_info_of[NCOLUMNS] = {
    [COL_N]       = { "n", "$n$", KIND_COUNT, 0, 0 },
    [COL_FINAL]   = { "final test acc (%)", "final test acc.\\ (\\%)", KIND_SPREAD, -1, 0 },
    [COL_BEST]    = { "best test acc (%)", "best test acc.\\ (\\%)", KIND_SPREAD, -1, 0 },
    [COL_GAP]     = { "train-test gap (pp)", "train$-$test gap (pp)", KIND_SPREAD, -1, 0 },
    [COL_PARAMS]  = { "params", "params", KIND_CONSTANT, 0, 1 },
    [COL_FLOPS]   = { "fwd MFLOPs/img", "fwd MFLOPs/img", KIND_CONSTANT, 2, 0 },
    [COL_MEMORY]  = { "train memory (MiB)", "train mem.\\ (MiB)", KIND_CONSTANT, 2, 0 },
    [COL_EPOCH_S] = { "time/epoch (s)", "time/epoch (s)", KIND_SPREAD, 2, 0 },
    [COL_IMG_S]   = { "img/s", "img/s", KIND_SPREAD, 0, 0 },
    [COL_RSS]     = { "peak RSS (MiB)", "peak RSS (MiB)", KIND_SPREAD, 1, 0 },
};

/* ================================================ the columns it reads */

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

/* ========================================================= settings */

#define MAX_GROUP_KEYS 16

typedef struct {
    size_t      ngroup;
    const char *group[MAX_GROUP_KEYS];
    int         group_line[MAX_GROUP_KEYS], group_col[MAX_GROUP_KEYS];
    size_t      ncolumns;
    column_id   column[NCOLUMNS];
    int         sort;          /* -1: none, else a column_id */
    int         descending;
    int         precision;
    char        source[4096];  /* the config the settings came from, for messages */
} table_settings;

static int enum_index(const char *value, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(value, choices[i]))
            return i;
    return -1;
}

static void default_settings(table_settings *s)
{
    memset(s, 0, sizeof *s);
    s->sort = -1;
    s->descending = 1;
    s->precision = 2;
}

/* Settings from a loaded config's table section; 0 or -1 with err. */
static int settings_from_config(const ycfg *cfg, table_settings *s, char *err, size_t errlen)
{
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    const ycfg_value *group = ycfg_get(pt, "table.group_by");
    const ycfg_value *columns = ycfg_get(pt, "table.columns");
    snprintf(s->source, sizeof s->source, "%s", ycfg_path(cfg));
    if (group->n > MAX_GROUP_KEYS) {
        snprintf(err, errlen, "%s:%d:%d: table.group_by: at most %d keys", ycfg_path(cfg),
                 group->line, group->col, MAX_GROUP_KEYS);
        return -1;
    }
    for (size_t k = 0; k < group->n; k++) {
        s->group[k] = group->items[k].s;
        s->group_line[k] = group->items[k].line;
        s->group_col[k] = group->items[k].col;
    }
    s->ngroup = group->n;
    for (size_t k = 0; k < columns->n; k++) {
        column_id c = (column_id)enum_index(columns->items[k].s, gpx_table_column_names);
        for (size_t j = 0; j < s->ncolumns; j++)
            if (s->column[j] == c) {
                snprintf(err, errlen, "%s:%d:%d: table.columns: '%s' is listed twice",
                         ycfg_path(cfg), columns->items[k].line, columns->items[k].col,
                         columns->items[k].s);
                return -1;
            }
        s->column[s->ncolumns++] = c;
    }
    s->sort = enum_index(ycfg_str(pt, "table.sort"), gpx_table_sort_names) - 1;
    s->descending = ycfg_bool(pt, "table.descending");
    s->precision = (int)ycfg_int(pt, "table.precision");
    return 0;
}

/* Empty lists take their defaults: every column; every swept column but
 * the seeds (the columns between "experiment" and "head" in runs.csv), or
 * "head" when nothing else was swept. */
static void complete_settings(table_settings *s, const gpx_csv *runs, const int *rc)
{
    if (!s->ncolumns)
        for (int c = 0; c < NCOLUMNS; c++)
            s->column[s->ncolumns++] = (column_id)c;
    if (s->ngroup)
        return;
    int first, last;
    gpx_record_swept(&gpx_runs_file, rc, &first, &last);
    for (int k = first; k < last && s->ngroup < MAX_GROUP_KEYS; k++) {
        const char *path = runs->header.field[k];
        const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        if (strcmp(leaf, "seed"))
            s->group[s->ngroup++] = path;
    }
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

/* Every group_by key must be a runs.csv column. */
static int check_group_keys(const table_settings *s, const gpx_csv *runs, int *key_col,
                            char *err, size_t errlen)
{
    for (size_t k = 0; k < s->ngroup; k++) {
        key_col[k] = gpx_csv_column(runs, s->group[k]);
        if (key_col[k] >= 0)
            continue;
        const char *near = NULL;
        size_t best = 4;
        for (size_t c = 0; c < runs->header.n; c++) {
            size_t d = distance(s->group[k], runs->header.field[c]);
            if (d < best) {
                best = d;
                near = runs->header.field[c];
            }
        }
        char hint[256] = "";
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        snprintf(err, errlen, "%s:%d:%d: table.group_by[%zu]: %s has no column '%s'%s",
                 s->source, s->group_line[k], s->group_col[k], k, runs->path, s->group[k], hint);
        return -1;
    }
    return 0;
}

/* ======================================================== aggregation */

typedef struct {
    double mean, sd;   /* sd NaN for n < 2 */
    size_t n;          /* finite values */
    int    constant;   /* every value equal */
} summary;

typedef struct {
    size_t  first;     /* runs.csv row that opened the group: its key values */
    size_t *ok;        /* runs.csv rows with status ok */
    size_t  nok;
    summary stat[NCOLUMNS];
} run_group;

typedef struct {
    const char     *prog;
    char            out_dir[4096];
    char            name[512];
    table_settings  set;
    gpx_csv       runs, epochs, evals;
    int             have_epochs, have_evals;
    int             rc[GPX_RUNS_NCOLUMNS], ec[GPX_EPOCHS_NCOLUMNS], vc[GPX_EVALS_NCOLUMNS];
    int             key_col[MAX_GROUP_KEYS];
    double        (*value)[NCOLUMNS];   /* per runs.csv row; NaN when unknown */
    run_group      *groups;
    size_t          ngroups;
    size_t          nexcluded;
    int             has_validation;
    struct size_study *study;           /* from evals.csv; NULL without one */
} table_job;

static int is_ok(const table_job *j, size_t r)
{
    return !strcmp(j->runs.rows[r].field[j->rc[GPX_RUNS_STATUS]], "ok");
}

/* The numbers each table column shows for one run. */
static int run_values(table_job *j, size_t r, double *v, char *err, size_t errlen)
{
    enum { NNUM = 11 };
    static const int need[NNUM] = { GPX_RUNS_EPOCHS, GPX_RUNS_PARAMS, GPX_RUNS_FLOPS, GPX_RUNS_MEM_TOTAL,
                                           GPX_RUNS_FINAL_TRAIN_ACC, GPX_RUNS_FINAL_VAL_ACC, GPX_RUNS_FINAL_TEST_ACC, GPX_RUNS_BEST_TEST_ACC,
                                           GPX_RUNS_TRAIN_S, GPX_RUNS_IMG_PER_S, GPX_RUNS_PEAK_RSS_MIB };
    double x[GPX_RUNS_NCOLUMNS];
    for (int k = 0; k < NNUM; k++)
        if (gpx_csv_number(&j->runs, r, j->rc[need[k]], &x[need[k]], err, errlen))
            return -1;
    v[COL_N] = 1;
    v[COL_FINAL] = 100 * x[GPX_RUNS_FINAL_TEST_ACC];
    v[COL_BEST] = 100 * x[GPX_RUNS_BEST_TEST_ACC];
    v[COL_GAP] = 100 * (x[GPX_RUNS_FINAL_TRAIN_ACC] - x[GPX_RUNS_FINAL_TEST_ACC]);
    v[COL_PARAMS] = x[GPX_RUNS_PARAMS];
    v[COL_FLOPS] = x[GPX_RUNS_FLOPS] / 1e6;
    v[COL_MEMORY] = x[GPX_RUNS_MEM_TOTAL] / (1024.0 * 1024.0);
    v[COL_EPOCH_S] = x[GPX_RUNS_EPOCHS] > 0 ? x[GPX_RUNS_TRAIN_S] / x[GPX_RUNS_EPOCHS] : NAN;
    v[COL_IMG_S] = x[GPX_RUNS_IMG_PER_S];
    v[COL_RSS] = x[GPX_RUNS_PEAK_RSS_MIB];
    j->has_validation |= isfinite(x[GPX_RUNS_FINAL_VAL_ACC]);
    return 0;
}

/* Mean and sample sd (n - 1) of the finite values, summed in row order. */
static summary summarise(const double *v, size_t n)
{
    summary s = { NAN, NAN, 0, 1 };
    double sum = 0, first = NAN;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (!s.n)
                first = v[i];
            s.constant &= v[i] == first;
            sum += v[i];
            s.n++;
        }
    if (!s.n)
        return s;
    s.mean = sum / (double)s.n;
    if (s.n < 2)
        return s;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt(ss / (double)(s.n - 1));
    return s;
}

static int same_key(const table_job *j, size_t a, size_t b)
{
    for (size_t k = 0; k < j->set.ngroup; k++)
        if (strcmp(j->runs.rows[a].field[j->key_col[k]], j->runs.rows[b].field[j->key_col[k]]))
            return 0;
    return 1;
}

static run_group *group_of(table_job *j, size_t r)
{
    for (size_t g = 0; g < j->ngroups; g++)
        if (same_key(j, j->groups[g].first, r))
            return &j->groups[g];
    run_group *g = &j->groups[j->ngroups++];
    memset(g, 0, sizeof *g);
    g->first = r;
    g->ok = calloc(j->runs.nrows, sizeof *g->ok);
    return g->ok ? g : NULL;
}

static void summarise_group(table_job *j, run_group *g)
{
    double *v = malloc((g->nok ? g->nok : 1) * sizeof *v);
    for (int c = 0; v && c < NCOLUMNS; c++) {
        for (size_t i = 0; i < g->nok; i++)
            v[i] = j->value[g->ok[i]][c];
        g->stat[c] = summarise(v, g->nok);
    }
    g->stat[COL_N].n = g->nok;
    free(v);
}

/* A group's sort key: NaN (no runs) sorts last either way. */
static int group_before(const table_job *j, const run_group *a, const run_group *b)
{
    int c = j->set.sort;
    double x = c == COL_N ? (double)a->nok : a->stat[c].mean;
    double y = c == COL_N ? (double)b->nok : b->stat[c].mean;
    if (isnan(y))
        return !isnan(x);
    if (isnan(x))
        return 0;
    return j->set.descending ? x > y : x < y;
}

static void sort_groups(table_job *j)
{
    if (j->set.sort < 0)
        return;
    /* insertion sort: stable, so ties keep the order of runs.csv */
    for (size_t i = 1; i < j->ngroups; i++) {
        run_group g = j->groups[i];
        size_t k = i;
        while (k > 0 && group_before(j, &g, &j->groups[k - 1])) {
            j->groups[k] = j->groups[k - 1];
            k--;
        }
        j->groups[k] = g;
    }
}

static int build_groups(table_job *j, char *err, size_t errlen)
{
    size_t n = j->runs.nrows;
    j->value = calloc(n ? n : 1, sizeof *j->value);
    j->groups = calloc(n ? n : 1, sizeof *j->groups);
    if (!j->value || !j->groups) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t r = 0; r < n; r++) {
        run_group *g = group_of(j, r);
        if (!g) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (!is_ok(j, r)) {
            j->nexcluded++;
            continue;
        }
        if (run_values(j, r, j->value[r], err, errlen))
            return -1;
        g->ok[g->nok++] = r;
    }
    for (size_t g = 0; g < j->ngroups; g++)
        summarise_group(j, &j->groups[g]);
    sort_groups(j);
    return 0;
}

/* ========================================================= formatting */

typedef enum { FMT_MD, FMT_TEX } text_format;

/* x with decimals, "-0.00" as "0.00", and thousands separators if asked. */
static void format_number(char *buf, size_t len, double x, int decimals, const char *sep)
{
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, x);
    if (raw[0] == '-' && strspn(raw + 1, "0.") == strlen(raw + 1))
        memmove(raw, raw + 1, strlen(raw));
    if (!sep) {
        snprintf(buf, len, "%s", raw);
        return;
    }
    const char *digits = raw + (raw[0] == '-');
    size_t nint = strcspn(digits, "."), o = 0;
    if (raw[0] == '-' && o + 1 < len)
        buf[o++] = '-';
    for (size_t i = 0; i < nint && o + strlen(sep) + 1 < len; i++) {
        if (i && (nint - i) % 3 == 0)
            for (const char *s = sep; *s; s++)
                buf[o++] = *s;
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    snprintf(buf + o, len - o, "%s", digits + nint);
}

static void format_cell(char *buf, size_t len, const table_job *j, const run_group *g,
                        column_id c, text_format f)
{
    const column_info *info = &column_info_of[c];
    const summary *s = &g->stat[c];
    int decimals = info->decimals < 0 ? j->set.precision : info->decimals;
    const char *sep = info->thousands ? (f == FMT_MD ? "," : "{,}") : NULL;
    const char *pm = f == FMT_MD ? " ± " : " $\\pm$ ";
    char mean[64], sd[64];
    if (info->kind == KIND_COUNT) {
        snprintf(buf, len, "%zu", g->nok);
        return;
    }
    if (!s->n) {
        snprintf(buf, len, "n/a");
        return;
    }
    format_number(mean, sizeof mean, s->mean, decimals, sep);
    /* in LaTeX a text hyphen is no minus sign */
    int negative = f == FMT_TEX && mean[0] == '-';
    const char *sign = negative ? "$-$" : "", *digits = mean + negative;
    if (info->kind == KIND_CONSTANT && s->constant)
        snprintf(buf, len, "%s%s", sign, digits);
    else if (s->n < 2)
        snprintf(buf, len, "%s%s%s%s", sign, digits, pm, f == FMT_MD ? "-" : "--");
    else {
        format_number(sd, sizeof sd, s->sd, decimals, sep);
        snprintf(buf, len, "%s%s%s%s", sign, digits, pm, sd);
    }
}

/* Text in a table cell: markdown pipes escaped; LaTeX specials escaped. */
static void put_escaped(FILE *fp, const char *s, text_format f)
{
    for (; *s; s++) {
        if (f == FMT_MD) {
            if (*s == '|')
                fputc('\\', fp);
            fputc(*s == '\n' ? ' ' : *s, fp);
        } else if (strchr("&%$#_{}", *s)) {
            fprintf(fp, "\\%c", *s);
        } else if (*s == '\\') {
            fputs("\\textbackslash{}", fp);
        } else if (*s == '~') {
            fputs("\\textasciitilde{}", fp);
        } else if (*s == '^') {
            fputs("\\textasciicircum{}", fp);
        } else {
            fputc(*s, fp);
        }
    }
}

static const char *key_value(const table_job *j, const run_group *g, size_t k)
{
    return j->runs.rows[g->first].field[j->key_col[k]];
}

/* "model.head=gem train.seed=2": a run by its swept values. */
static void describe_run(FILE *fp, const table_job *j, size_t r, text_format f)
{
    int first, last, any = 0;
    gpx_record_swept(&gpx_runs_file, j->rc, &first, &last);
    for (int k = first; k < last; k++) {
        fputs(any++ ? " " : "", fp);
        put_escaped(fp, j->runs.header.field[k], f);
        fputc('=', fp);
        put_escaped(fp, j->runs.rows[r].field[k], f);
    }
    if (!any) {
        fputs("head=", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[GPX_RUNS_HEAD]], f);
        fputs(" seed=", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[GPX_RUNS_SEED]], f);
    }
    fprintf(fp, " (run %s)", j->runs.rows[r].field[j->rc[GPX_RUNS_RUN_ID]]);
}

static int has_column(const table_job *j, column_id c)
{
    for (size_t k = 0; k < j->set.ncolumns; k++)
        if (j->set.column[k] == c)
            return 1;
    return 0;
}

/* The notes under a table: what "best" and "gap" mean, and the excluded runs. */
static void write_notes(FILE *fp, const table_job *j, text_format f)
{
    const char *item = f == FMT_MD ? "- " : "\\item ";
    const char *pm = f == FMT_MD ? "±" : "$\\pm$";
    fprintf(fp, "%sMean %s sample sd (n%s1) over the n runs of a row (their seeds); "
                "%s: one run, no sd.\n",
            item, pm, f == FMT_MD ? "-" : "$-$", f == FMT_MD ? "\"-\"" : "--");
    if (has_column(j, COL_BEST))
        fprintf(fp, "%sbest test acc: at the epoch with the highest %s accuracy.\n", item,
                j->has_validation ? "validation" : "test (no validation split)");
    if (has_column(j, COL_GAP))
        fprintf(fp, "%strain-test gap: final train accuracy minus final test accuracy, in "
                    "percentage points.\n", item);
    if (!j->nexcluded)
        return;
    fprintf(fp, "%sExcluded from the means: %zu of %zu runs (status not ok):\n", item,
            j->nexcluded, j->runs.nrows);
    if (f == FMT_TEX)
        fputs("  \\begin{itemize}\n", fp);
    for (size_t r = 0; r < j->runs.nrows; r++) {
        if (is_ok(j, r))
            continue;
        const char *reason = j->runs.rows[r].field[j->rc[GPX_RUNS_REASON]];
        fputs(f == FMT_MD ? "  - " : "  \\item ", fp);
        describe_run(fp, j, r, f);
        fputs(": ", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[GPX_RUNS_STATUS]], f);
        fputs(": ", fp);
        put_escaped(fp, *reason ? reason : "no reason recorded", f);
        fputc('\n', fp);
    }
    if (f == FMT_TEX)
        fputs("  \\end{itemize}\n", fp);
}

static void write_markdown(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char cell[256];
    fputs("**", fp);
    put_escaped(fp, j->name, FMT_MD);
    fprintf(fp, "**: %zu runs, mean ± sd over seeds\n\n|", j->runs.nrows);
    for (size_t k = 0; k < j->set.ngroup; k++) {
        fputc(' ', fp);
        put_escaped(fp, j->set.group[k], FMT_MD);
        fputs(" |", fp);
    }
    for (size_t k = 0; k < j->set.ncolumns; k++)
        fprintf(fp, " %s |", column_info_of[j->set.column[k]].md);
    fputs("\n|", fp);
    for (size_t k = 0; k < j->set.ngroup; k++)
        fputs(" :-- |", fp);
    for (size_t k = 0; k < j->set.ncolumns; k++)
        fputs(" --: |", fp);
    fputc('\n', fp);
    for (size_t g = 0; g < j->ngroups; g++) {
        fputc('|', fp);
        for (size_t k = 0; k < j->set.ngroup; k++) {
            fputc(' ', fp);
            put_escaped(fp, key_value(j, &j->groups[g], k), FMT_MD);
            fputs(" |", fp);
        }
        for (size_t k = 0; k < j->set.ncolumns; k++) {
            format_cell(cell, sizeof cell, j, &j->groups[g], j->set.column[k], FMT_MD);
            fprintf(fp, " %s |", cell);
        }
        fputc('\n', fp);
    }
    fputc('\n', fp);
    write_notes(fp, j, FMT_MD);
}

static void write_latex(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char cell[256];
    fputs("% written by gpool table from runs.csv; needs \\usepackage{booktabs}\n"
          "\\begin{table}[t]\n\\centering\n\\caption{", fp);
    put_escaped(fp, j->name, FMT_TEX);
    fprintf(fp, ": %zu runs, mean $\\pm$ sd over seeds.}\n\\label{tab:", j->runs.nrows);
    for (const char *c = j->name; *c; c++)
        fputc(strchr("&%$#_{}\\~^ ", *c) ? '-' : *c, fp);
    fputs("}\n\\begin{tabular}{", fp);
    for (size_t k = 0; k < j->set.ngroup; k++)
        fputc('l', fp);
    for (size_t k = 0; k < j->set.ncolumns; k++)
        fputc('r', fp);
    fputs("}\n\\toprule\n", fp);
    for (size_t k = 0; k < j->set.ngroup; k++) {
        fputs(k ? " & " : "", fp);
        put_escaped(fp, j->set.group[k], FMT_TEX);
    }
    for (size_t k = 0; k < j->set.ncolumns; k++)
        fprintf(fp, " & %s", column_info_of[j->set.column[k]].tex);
    fputs(" \\\\\n\\midrule\n", fp);
    for (size_t g = 0; g < j->ngroups; g++) {
        for (size_t k = 0; k < j->set.ngroup; k++) {
            fputs(k ? " & " : "", fp);
            put_escaped(fp, key_value(j, &j->groups[g], k), FMT_TEX);
        }
        for (size_t k = 0; k < j->set.ncolumns; k++) {
            format_cell(cell, sizeof cell, j, &j->groups[g], j->set.column[k], FMT_TEX);
            fprintf(fp, " & %s", cell);
        }
        fputs(" \\\\\n", fp);
    }
    fputs("\\bottomrule\n\\end{tabular}\n\n\\footnotesize\n\\begin{itemize}\n", fp);
    write_notes(fp, j, FMT_TEX);
    fputs("\\end{itemize}\n\\end{table}\n", fp);
}

/* ============================================================= output */

static int fail(const table_job *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(const table_job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", j->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static int write_out(const table_job *j, const char *name, void (*body)(FILE *, const void *))
{
    char path[4096], err[ERR_LEN];
    gpx_atomic_file f;
    if (gpx_join(path, sizeof path, j->out_dir, name))
        return fail(j, "%s/%s: path too long", j->out_dir, name);
    if (gpx_atomic_open(&f, path, err, sizeof err))
        return fail(j, "%s", err);
    body(f.fp, j);
    if (gpx_atomic_commit(&f, err, sizeof err))
        return fail(j, "%s", err);
    return 0;
}

/* ================================================= other input sizes */

/* evals.csv (the test set at other input sizes, written when the config
 * has eval.sizes) as one row per (method, group) and one column per
 * evaluation size. The groups are the table's, without the seeds; only
 * the runs the main table keeps (status ok) count. */

#define CELL_REASONS 4

/* A (method, group, eval size): the accuracies of its ok rows, and why the
 * others could not be had. */
typedef struct {
    double *acc;                   /* test accuracy (%), evals.csv order */
    size_t  n, cap;
    size_t  nna;                   /* rows not applicable */
    int     reason[CELL_REASONS];  /* their distinct reasons: size_study.reason indices */
    int     nreasons;
} size_cell;

typedef struct {
    size_t run;          /* a runs.csv row of the group: its key values */
    long   train[4];     /* the distinct sizes its runs were trained at */
    int    ntrain;       /* 5: more than four */
} size_group;

typedef struct size_study {
    size_t         nkeys;            /* the table's group keys but the seeds */
    const char    *key[MAX_GROUP_KEYS];
    int            key_col[MAX_GROUP_KEYS];
    size_group    *group;            /* in the order of the main table */
    size_t         ngroups;
    int           *group_of_run;     /* per runs.csv row; -1: not ok */
    size_t        *run_of_eval;      /* per evals.csv row: its runs.csv row */
    char         **method;           /* in evals.csv order */
    size_t         nmethods;
    long          *size;             /* ascending */
    size_t         nsizes;
    char         **reason;           /* distinct, in evals.csv order */
    int           *reason_number;    /* 1-based, in the order the table cites them */
    size_t         nreasons;
    size_cell     *cell;             /* [method][group][size] */
    unsigned char *seen;             /* [run][method]: the run has a row for the method */
    size_t         nskipped;         /* rows of runs the main table leaves out */
} size_study;

static size_cell *study_cell(const size_study *st, size_t m, size_t g, size_t z)
{
    return &st->cell[(m * st->ngroups + g) * st->nsizes + z];
}

static int same_values(const table_job *j, const int *cols, size_t n, size_t a, size_t b)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(j->runs.rows[a].field[cols[k]], j->runs.rows[b].field[cols[k]]))
            return 0;
    return 1;
}

static int is_seed_key(const char *path)
{
    const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
    return !strcmp(leaf, "seed");
}

/* Index of s in list, appended when absent; -1 out of memory. */
static int intern(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s))
            return (int)i;
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strdup(s)))
        return -1;
    return (int)(*n)++;
}

static void free_study(size_study *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nmethods; i++)
        free(st->method[i]);
    for (size_t i = 0; i < st->nreasons; i++)
        free(st->reason[i]);
    for (size_t i = 0; st->cell && i < st->nmethods * st->ngroups * st->nsizes; i++)
        free(st->cell[i].acc);
    free(st->method);
    free(st->reason);
    free(st->reason_number);
    free(st->cell);
    free(st->seen);
    free(st->size);
    free(st->group);
    free(st->group_of_run);
    free(st->run_of_eval);
    free(st);
}

/* The main table's groups (in its order) merged over the seed keys. */
static int study_groups(const table_job *j, size_study *st)
{
    for (size_t k = 0; k < j->set.ngroup; k++)
        if (!is_seed_key(j->set.group[k])) {
            st->key[st->nkeys] = j->set.group[k];
            st->key_col[st->nkeys++] = j->key_col[k];
        }
    size_t n = j->runs.nrows ? j->runs.nrows : 1;
    st->group_of_run = malloc(n * sizeof *st->group_of_run);
    st->group = calloc(n, sizeof *st->group);
    if (!st->group_of_run || !st->group)
        return -1;
    for (size_t r = 0; r < j->runs.nrows; r++)
        st->group_of_run[r] = -1;
    for (size_t g = 0; g < j->ngroups; g++)
        for (size_t i = 0; i < j->groups[g].nok; i++) {
            size_t r = j->groups[g].ok[i], s = 0;
            while (s < st->ngroups && !same_values(j, st->key_col, st->nkeys, st->group[s].run, r))
                s++;
            if (s == st->ngroups)
                st->group[st->ngroups++].run = r;
            st->group_of_run[r] = (int)s;
        }
    return 0;
}

/* The runs.csv row of an evals.csv row; a run's rows are adjacent, so the
 * previous answer is tried first. */
static int find_run(const table_job *j, const char *id, size_t hint, size_t *out)
{
    for (size_t i = 0; i < j->runs.nrows; i++) {
        size_t r = (hint + i) % j->runs.nrows;
        if (!strcmp(j->runs.rows[r].field[j->rc[GPX_RUNS_RUN_ID]], id)) {
            *out = r;
            return 0;
        }
    }
    return -1;
}

/* A size in pixels: a whole number from 1 to 100000. */
static int eval_size_at(const table_job *j, size_t e, int c, long *out, char *err,
                        size_t errlen)
{
    const gpx_csv *t = &j->evals;
    const char *s = t->rows[e].field[j->vc[c]];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > 100000) {
        snprintf(err, errlen, "%s:%d: column %s: '%s' is not a size in pixels", t->path,
                 t->rows[e].line, gpx_evals_file.columns[c].name, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* First pass: every row's run, the methods and the sizes. */
static int study_scan(const table_job *j, size_study *st, char *err, size_t errlen)
{
    const gpx_csv *t = &j->evals;
    size_t hint = 0;
    st->run_of_eval = calloc(t->nrows ? t->nrows : 1, sizeof *st->run_of_eval);
    st->size = calloc(t->nrows ? t->nrows : 1, sizeof *st->size);
    if (!st->run_of_eval || !st->size)
        goto oom;
    for (size_t e = 0; e < t->nrows; e++) {
        const char *id = t->rows[e].field[j->vc[GPX_EVALS_RUN_ID]];
        long size, train;
        if (find_run(j, id, hint, &hint)) {
            snprintf(err, errlen, "%s:%d: run %s is not in %s (files of different sweeps?)",
                     t->path, t->rows[e].line, id, j->runs.path);
            return -1;
        }
        st->run_of_eval[e] = hint;
        if (eval_size_at(j, e, GPX_EVALS_EVAL_SIZE, &size, err, errlen) ||
            eval_size_at(j, e, GPX_EVALS_TRAIN_SIZE, &train, err, errlen))
            return -1;
        if (intern(&st->method, &st->nmethods, t->rows[e].field[j->vc[GPX_EVALS_METHOD]]) < 0)
            goto oom;
        size_t z = 0;
        while (z < st->nsizes && st->size[z] != size)
            z++;
        if (z == st->nsizes)
            st->size[st->nsizes++] = size;
    }
    qsort(st->size, st->nsizes, sizeof *st->size, compare_long);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void add_train_size(size_group *g, long train)
{
    for (int i = 0; i < g->ntrain && i < 4; i++)
        if (g->train[i] == train)
            return;
    if (g->ntrain < 4)
        g->train[g->ntrain] = train;
    g->ntrain += g->ntrain < 5;
}

static int cell_add_reason(size_study *st, size_cell *c, const char *reason)
{
    int id = intern(&st->reason, &st->nreasons, *reason ? reason : "no reason recorded");
    if (id < 0)
        return -1;
    for (int i = 0; i < c->nreasons; i++)
        if (c->reason[i] == id)
            return 0;
    if (c->nreasons < CELL_REASONS)
        c->reason[c->nreasons++] = id;
    return 0;
}

static int cell_add_acc(size_cell *c, double acc)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        double *grown = realloc(c->acc, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->acc = grown;
        c->cap = cap;
    }
    c->acc[c->n++] = acc;
    return 0;
}

static size_t index_of_size(const size_study *st, long size)
{
    size_t z = 0;
    while (z + 1 < st->nsizes && st->size[z] != size)
        z++;
    return z;
}

/* Second pass: the rows of ok runs into their cells. */
static int study_fill(const table_job *j, size_study *st, char *err, size_t errlen)
{
    const gpx_csv *t = &j->evals;
    size_t ncells = st->nmethods * st->ngroups * st->nsizes;
    st->cell = calloc(ncells ? ncells : 1, sizeof *st->cell);
    st->seen = calloc((j->runs.nrows ? j->runs.nrows : 1) * (st->nmethods ? st->nmethods : 1), 1);
    if (!st->cell || !st->seen)
        goto oom;
    for (size_t e = 0; e < t->nrows; e++) {
        size_t r = st->run_of_eval[e];
        if (st->group_of_run[r] < 0) {
            st->nskipped++;
            continue;
        }
        const char *const *f = (const char *const *)t->rows[e].field;
        size_t g = (size_t)st->group_of_run[r];
        size_t m = (size_t)intern(&st->method, &st->nmethods, f[j->vc[GPX_EVALS_METHOD]]);
        long size = 0, train = 0;
        double acc;
        /* both were checked by study_scan */
        eval_size_at(j, e, GPX_EVALS_EVAL_SIZE, &size, err, errlen);
        eval_size_at(j, e, GPX_EVALS_TRAIN_SIZE, &train, err, errlen);
        size_cell *c = study_cell(st, m, g, index_of_size(st, size));
        st->seen[r * st->nmethods + m] = 1;
        add_train_size(&st->group[g], train);
        if (strcmp(f[j->vc[GPX_EVALS_STATUS]], "ok")) {
            c->nna++;
            if (cell_add_reason(st, c, f[j->vc[GPX_EVALS_REASON]]))
                goto oom;
            continue;
        }
        if (gpx_csv_number(t, e, j->vc[GPX_EVALS_TEST_ACC], &acc, err, errlen))
            return -1;
        if (!isfinite(acc)) {
            snprintf(err, errlen, "%s:%d: status ok but no test_acc", t->path, t->rows[e].line);
            return -1;
        }
        if (cell_add_acc(c, 100 * acc))
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Runs of a group with rows for a method: the table's n. */
static size_t study_runs(const table_job *j, const size_study *st, size_t m, size_t g)
{
    size_t n = 0;
    for (size_t r = 0; r < j->runs.nrows; r++)
        n += st->group_of_run[r] == (int)g && st->seen[r * st->nmethods + m];
    return n;
}

/* Reasons are numbered in the order the table cites them, row by row. */
static int number_reasons(const table_job *j, size_study *st)
{
    int next = 1;
    st->reason_number = calloc(st->nreasons ? st->nreasons : 1, sizeof *st->reason_number);
    if (!st->reason_number)
        return -1;
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            if (!study_runs(j, st, m, g))
                continue;
            for (size_t z = 0; z < st->nsizes; z++) {
                const size_cell *c = study_cell(st, m, g, z);
                for (int i = 0; i < c->nreasons; i++)
                    if (!st->reason_number[c->reason[i]])
                        st->reason_number[c->reason[i]] = next++;
            }
        }
    return 0;
}

/* j->study from evals.csv; 0 (also without one), or -1 with err. */
static int build_study(table_job *j, char *err, size_t errlen)
{
    if (!j->have_evals)
        return 0;
    size_study *st = j->study = calloc(1, sizeof *st);
    if (!st || study_groups(j, st)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (study_scan(j, st, err, errlen) || study_fill(j, st, err, errlen))
        return -1;
    if (number_reasons(j, st)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- the table */

static const char *method_meaning(const char *method)
{
    if (!strcmp(method, "resize"))
        return "the test images resized to the size (bilinear, as PyTorch's interpolate "
               "with align_corners=False)";
    if (!strcmp(method, "canvas_center"))
        return "the test images unchanged, centred on a larger canvas of zero pixels";
    if (!strcmp(method, "canvas_random"))
        return "the test images unchanged, at seeded random places on a larger canvas of "
               "zero pixels";
    return NULL;
}

/* "28", "28/56", or "varies" when a group has more than four. */
static void train_sizes_text(char *buf, size_t len, const size_group *g)
{
    size_t o = 0;
    buf[0] = '\0';
    if (g->ntrain > 4) {
        snprintf(buf, len, "varies");
        return;
    }
    for (int i = 0; i < g->ntrain && o + 1 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%ld", i ? "/" : "", g->train[i]);
}

/* mean +- sd, then "(n=k)" when fewer runs than the row has, then the
 * reason numbers of rows that were not applicable; "n/a [k]" when none was,
 * "-" when the size was not evaluated. */
static void format_size_cell(char *buf, size_t len, const table_job *j, const size_study *st,
                             const size_cell *c, size_t nruns, text_format f)
{
    size_t o = 0;
    const char *pm = f == FMT_MD ? " ± " : " $\\pm$ ";
    buf[0] = '\0';
    if (c->n) {
        char mean[64], sd[64] = "-";
        summary s = summarise(c->acc, c->n);
        format_number(mean, sizeof mean, s.mean, j->set.precision, NULL);
        if (c->n > 1)
            format_number(sd, sizeof sd, s.sd, j->set.precision, NULL);
        o += (size_t)snprintf(buf, len, "%s%s%s", mean, pm,
                              c->n > 1 ? sd : f == FMT_MD ? "-" : "--");
        if (c->n < nruns && o < len)
            o += (size_t)snprintf(buf + o, len - o, " (n=%zu)", c->n);
    } else if (c->nna) {
        o += (size_t)snprintf(buf, len, "n/a");
    } else {
        snprintf(buf, len, "%s", f == FMT_MD ? "-" : "--");
        return;
    }
    for (int i = 0; i < c->nreasons && o < len; i++) {
        int k = st->reason_number[c->reason[i]];
        if (f == FMT_MD)
            o += (size_t)snprintf(buf + o, len - o, "%s%d%s", i ? "," : " [", k,
                                  i + 1 == c->nreasons ? "]" : "");
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%d%s", i ? "," : "$^{", k,
                                  i + 1 == c->nreasons ? "}$" : "");
    }
}

/* Whether a printed cell has fewer accuracies than its row has runs
 * (*partial), or none and no reason either (*missing). */
static void study_gaps(const table_job *j, const size_study *st, int *partial, int *missing)
{
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            size_t nruns = study_runs(j, st, m, g);
            for (size_t z = 0; nruns && z < st->nsizes; z++) {
                const size_cell *c = study_cell(st, m, g, z);
                *partial |= c->n && c->n < nruns;
                *missing |= !c->n && !c->nna;
            }
        }
}

/* The notes under the size table: what a cell is, the methods, the reasons. */
static void write_size_notes(FILE *fp, const table_job *j, const size_study *st,
                             text_format f)
{
    const char *item = f == FMT_MD ? "- " : "\\item ";
    const char *pm = f == FMT_MD ? "±" : "$\\pm$";
    const char *dash = f == FMT_MD ? "\"-\"" : "--";
    int partial = 0, missing = 0;
    study_gaps(j, st, &partial, &missing);
    fprintf(fp, "%sTest accuracy (%s) at each evaluation size (pixels per side): mean %s "
                "sample sd (n%s1) over the n runs of a row (their seeds); sd %s: one run.\n",
            item, f == FMT_MD ? "%" : "\\%", pm, f == FMT_MD ? "-" : "$-$", dash);
    if (partial)
        fprintf(fp, "%s(n=k): only k of the row's runs have an accuracy there.\n", item);
    if (missing)
        fprintf(fp, "%s%s: not evaluated.\n", item, dash);
    for (size_t m = 0; m < st->nmethods; m++) {
        const char *meaning = method_meaning(st->method[m]);
        if (!meaning)
            continue;
        fputs(item, fp);
        put_escaped(fp, st->method[m], f);
        fputs(": ", fp);
        put_escaped(fp, meaning, f);
        fputs(".\n", fp);
    }
    if (st->nreasons) {
        fprintf(fp, "%sn/a: not applicable, the network cannot be evaluated that way; why:\n",
                item);
        if (f == FMT_TEX)
            fputs("  \\begin{itemize}\n", fp);
        for (int k = 1; k <= (int)st->nreasons; k++)
            for (size_t i = 0; i < st->nreasons; i++) {
                if (st->reason_number[i] != k)
                    continue;
                fprintf(fp, f == FMT_MD ? "  - [%d] " : "  \\item[$^{%d}$] ", k);
                put_escaped(fp, st->reason[i], f);
                fputc('\n', fp);
            }
        if (f == FMT_TEX)
            fputs("  \\end{itemize}\n", fp);
    }
    if (j->nexcluded) {
        fprintf(fp, "%sLeft out, as from the main table: the runs whose status is not ok "
                    "(%zu)", item, j->nexcluded);
        if (st->nskipped)
            fprintf(fp, " (%zu rows of evals.csv)", st->nskipped);
        fputs(".\n", fp);
    }
}

/* The cells of one table row, each followed by sep. */
static void write_size_cells(FILE *fp, const table_job *j, const size_study *st, size_t m,
                             size_t g, text_format f)
{
    char cell[512], train[64];
    size_t nruns = study_runs(j, st, m, g);
    const char *sep = f == FMT_MD ? " | " : " & ";
    put_escaped(fp, st->method[m], f);
    for (size_t k = 0; k < st->nkeys; k++) {
        fputs(sep, fp);
        put_escaped(fp, j->runs.rows[st->group[g].run].field[st->key_col[k]], f);
    }
    train_sizes_text(train, sizeof train, &st->group[g]);
    fprintf(fp, "%s%s%s%zu", sep, train, sep, nruns);
    for (size_t z = 0; z < st->nsizes; z++) {
        format_size_cell(cell, sizeof cell, j, st, study_cell(st, m, g, z), nruns, f);
        fprintf(fp, "%s%s", sep, cell);
    }
}

static void write_size_markdown(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    const size_study *st = j->study;
    fputs("**", fp);
    put_escaped(fp, j->name, FMT_MD);
    fputs("**: test accuracy (%) at other input sizes, mean ± sd over seeds\n\n| method |", fp);
    for (size_t k = 0; k < st->nkeys; k++) {
        fputc(' ', fp);
        put_escaped(fp, st->key[k], FMT_MD);
        fputs(" |", fp);
    }
    fputs(" train size (px) | n |", fp);
    for (size_t z = 0; z < st->nsizes; z++)
        fprintf(fp, " %ld px |", st->size[z]);
    fputs("\n| :-- |", fp);
    for (size_t k = 0; k < st->nkeys; k++)
        fputs(" :-- |", fp);
    fputs(" --: | --: |", fp);
    for (size_t z = 0; z < st->nsizes; z++)
        fputs(" --: |", fp);
    fputc('\n', fp);
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            if (!study_runs(j, st, m, g))
                continue;
            fputs("| ", fp);
            write_size_cells(fp, j, st, m, g, FMT_MD);
            fputs(" |\n", fp);
        }
    fputc('\n', fp);
    write_size_notes(fp, j, st, FMT_MD);
}

static void write_size_latex(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    const size_study *st = j->study;
    fputs("% written by gpool table from evals.csv; needs \\usepackage{booktabs}\n"
          "\\begin{table}[t]\n\\centering\n\\caption{", fp);
    put_escaped(fp, j->name, FMT_TEX);
    fputs(": test accuracy (\\%) at other input sizes, mean $\\pm$ sd over seeds.}\n"
          "\\label{tab:", fp);
    for (const char *c = j->name; *c; c++)
        fputc(strchr("&%$#_{}\\~^ ", *c) ? '-' : *c, fp);
    fputs("-sizes}\n\\begin{tabular}{l", fp);
    for (size_t k = 0; k < st->nkeys; k++)
        fputc('l', fp);
    fputs("rr", fp);
    for (size_t z = 0; z < st->nsizes; z++)
        fputc('r', fp);
    fputs("}\n\\toprule\nmethod", fp);
    for (size_t k = 0; k < st->nkeys; k++) {
        fputs(" & ", fp);
        put_escaped(fp, st->key[k], FMT_TEX);
    }
    fputs(" & train size (px) & $n$", fp);
    for (size_t z = 0; z < st->nsizes; z++)
        fprintf(fp, " & %ld px", st->size[z]);
    fputs(" \\\\\n\\midrule\n", fp);
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            if (!study_runs(j, st, m, g))
                continue;
            write_size_cells(fp, j, st, m, g, FMT_TEX);
            fputs(" \\\\\n", fp);
        }
    fputs("\\bottomrule\n\\end{tabular}\n\n\\footnotesize\n\\begin{itemize}\n", fp);
    write_size_notes(fp, j, st, FMT_TEX);
    fputs("\\end{itemize}\n\\end{table}\n", fp);
}

/* ============================================================= charts */

/* A group's legend entry: its key values ("gap", or "head=gap, batch=32"). */
static void group_label(const table_job *j, const run_group *g, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < j->set.ngroup && o + 1 < len; k++) {
        const char *path = j->set.group[k];
        const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        if (j->set.ngroup == 1)
            o += (size_t)snprintf(buf + o, len - o, "%s", key_value(j, g, k));
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", k ? ", " : "", leaf,
                                  key_value(j, g, k));
    }
}

/* The group_by keys by their last part: "head, batch". */
static void key_leaves(const table_job *j, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < j->set.ngroup && o + 1 < len; k++) {
        const char *path = j->set.group[k];
        const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        o += (size_t)snprintf(buf + o, len - o, "%s%s", k ? ", " : "", leaf);
    }
}

static void quoted_label(const table_job *j, const run_group *g, char *buf, size_t len)
{
    char label[512];
    group_label(j, g, label, sizeof label);
    gpx_gnuplot_quote(buf, len, label);
}

/* What every chart script starts with: its title names the experiment. */
static void chart_preamble(FILE *fp, const table_job *j, const char *what)
{
    char title[1200], quoted[1300];
    snprintf(title, sizeof title, "%s: %s", j->name, what);
    gpx_gnuplot_quote(quoted, sizeof quoted, title);
    fprintf(fp,
            "# written by gpool table; redraw with\n"
            "#   gnuplot -e \"datafile='X.dat'; outbase='X'\" X.gp\n"
            "set encoding utf8\n"
            "set title %s\n"
            "set key outside right top\n"
            "set grid\n",
            quoted);
}

/* The PNG + SVG loop around one plot command. */
static void chart_outputs(FILE *fp, const char *plot)
{
    fprintf(fp,
            "do for [fmt in 'png svg'] {\n"
            "  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } "
            "else { set terminal svg size 1100,650 dynamic noenhanced }\n"
            "  set output outbase.'.'.fmt\n"
            "  %s\n"
            "  unset output\n"
            "}\n",
            plot);
}

/* ---- test accuracy per epoch: mean line and +-sd band per group */

typedef struct {
    int     epochs;          /* largest epoch seen */
    double *sum, *sumsq;     /* per epoch, 1-based */
    size_t *count;
} epoch_curve;

static int find_ok_group(const table_job *j, const char *run_id)
{
    for (size_t g = 0; g < j->ngroups; g++)
        for (size_t i = 0; i < j->groups[g].nok; i++)
            if (!strcmp(j->runs.rows[j->groups[g].ok[i]].field[j->rc[GPX_RUNS_RUN_ID]], run_id))
                return (int)g;
    return -1;
}

/* Per-group, per-epoch test accuracy; *curves has one entry per group. */
static int collect_curves(const table_job *j, epoch_curve **curves, char *err, size_t errlen)
{
    enum { MAX_EPOCHS = 100000 };
    epoch_curve *c = calloc(j->ngroups ? j->ngroups : 1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *curves = c;
    for (size_t r = 0; r < j->epochs.nrows; r++) {
        int g = find_ok_group(j, j->epochs.rows[r].field[j->ec[GPX_EPOCHS_RUN_ID]]);
        double epoch, acc;
        if (g < 0)
            continue;
        if (gpx_csv_number(&j->epochs, r, j->ec[GPX_EPOCHS_EPOCH], &epoch, err, errlen) ||
            gpx_csv_number(&j->epochs, r, j->ec[GPX_EPOCHS_TEST_ACC], &acc, err, errlen))
            return -1;
        if (!(epoch >= 1 && epoch <= MAX_EPOCHS) || !isfinite(acc))
            continue;
        epoch_curve *k = &c[g];
        int e = (int)epoch;
        if (e > k->epochs) {
            double *s = realloc(k->sum, (size_t)(e + 1) * sizeof *s);
            if (s)
                k->sum = s;
            double *q = realloc(k->sumsq, (size_t)(e + 1) * sizeof *q);
            if (q)
                k->sumsq = q;
            size_t *n = realloc(k->count, (size_t)(e + 1) * sizeof *n);
            if (n)
                k->count = n;
            if (!s || !q || !n) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            for (int x = k->epochs + 1; x <= e; x++) {
                k->sum[x] = k->sumsq[x] = 0;
                k->count[x] = 0;
            }
            k->epochs = e;
        }
        k->sum[e] += 100 * acc;
        k->sumsq[e] += 1e4 * acc * acc;
        k->count[e]++;
    }
    return 0;
}

static void free_curves(epoch_curve *c, size_t n)
{
    for (size_t g = 0; c && g < n; g++) {
        free(c[g].sum);
        free(c[g].sumsq);
        free(c[g].count);
    }
    free(c);
}

typedef struct {
    const table_job   *job;
    const epoch_curve *curves;
} curve_ctx;

/* One block per group with data: epoch, mean, sd (0 for one run), n. */
static void write_curve_data(FILE *fp, const void *ctx)
{
    const curve_ctx *x = ctx;
    char label[512];
    for (size_t g = 0; g < x->job->ngroups; g++) {
        const epoch_curve *k = &x->curves[g];
        if (!k->epochs)
            continue;
        group_label(x->job, &x->job->groups[g], label, sizeof label);
        fprintf(fp, "# %s: epoch, mean and sd of test accuracy (%%), runs\n", label);
        for (int e = 1; e <= k->epochs; e++) {
            size_t n = k->count[e];
            if (!n)
                continue;
            double mean = k->sum[e] / (double)n;
            double var = n > 1 ? (k->sumsq[e] - (double)n * mean * mean) / (double)(n - 1) : 0;
            fprintf(fp, "%d %.6f %.6f %zu\n", e, mean, var > 0 ? sqrt(var) : 0.0, n);
        }
        fputs("\n\n", fp);
    }
}

static void write_curve_script(FILE *fp, const void *ctx)
{
    const curve_ctx *x = ctx;
    char q[1100];
    chart_preamble(fp, x->job, "test accuracy per epoch (mean ± sd over seeds)");
    fputs("set xlabel 'epoch'\nset ylabel 'test accuracy (%)'\n"
          "set style fill transparent solid 0.18 noborder\n", fp);
    int epochs = 0;
    for (size_t g = 0; g < x->job->ngroups; g++)
        epochs = x->curves[g].epochs > epochs ? x->curves[g].epochs : epochs;
    if (epochs <= 20)
        fputs("set xtics 1\n", fp);   /* whole epochs; gnuplot would pick 0.5 steps */
    char *plot = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&plot, &len);
    if (!mem)
        return;
    fputs("plot", mem);
    int index = 0;
    for (size_t g = 0; g < x->job->ngroups; g++) {
        if (!x->curves[g].epochs)
            continue;
        quoted_label(x->job, &x->job->groups[g], q, sizeof q);
        /* gnuplot cycles through 8 colours: past them, the line is dashed
         * and the point changes so that two heads never look alike */
        static const int point[] = { 7, 5, 9, 11 };
        int cycle = index / 8;
        fprintf(mem, "%s datafile index %d using 1:($2-$3):($2+$3) with filledcurves "
                     "lc %d notitle, datafile index %d using 1:2 with linespoints lc %d lw 2 "
                     "dt %d pt %d ps 0.6 title %s",
                index ? "," : "", index, index + 1, index, index + 1, cycle % 4 + 1,
                point[cycle % 4], q);
        index++;
    }
    fclose(mem);
    chart_outputs(fp, plot);
    free(plot);
}

/* ---- accuracy against parameters: one point (+-sd) per group */

static void write_params_data(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char label[512];
    for (size_t g = 0; g < j->ngroups; g++) {
        const run_group *gr = &j->groups[g];
        if (!gr->stat[COL_PARAMS].n || !gr->stat[COL_FINAL].n)
            continue;
        group_label(j, gr, label, sizeof label);
        fprintf(fp, "# %s: parameters, mean and sd of final test accuracy (%%)\n%.0f %.6f %.6f\n\n\n",
                label, gr->stat[COL_PARAMS].mean, gr->stat[COL_FINAL].mean,
                gr->stat[COL_FINAL].n > 1 ? gr->stat[COL_FINAL].sd : 0.0);
    }
}

static void write_params_script(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char q[1100];
    double lo = INFINITY, hi = 0;
    chart_preamble(fp, j, "final test accuracy against parameters (mean ± sd over seeds)");
    for (size_t g = 0; g < j->ngroups; g++)
        if (j->groups[g].stat[COL_PARAMS].n && j->groups[g].stat[COL_FINAL].n) {
            double p = j->groups[g].stat[COL_PARAMS].mean;
            lo = p < lo ? p : lo;
            hi = p > hi ? p : hi;
        }
    /* a log axis needs positive bounds; pad by 2x so points clear the border */
    fprintf(fp, "set xlabel 'parameters (count, log scale)'\nset ylabel 'final test accuracy (%%)'\n"
                "set logscale x\nset xrange [%g:%g]\nset offsets 0, 0, graph 0.08, graph 0.08\n",
            lo > 0 && isfinite(lo) ? lo / 2 : 1, hi > 0 ? hi * 2 : 10);
    char *plot = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&plot, &len);
    if (!mem)
        return;
    fputs("plot", mem);
    int index = 0;
    for (size_t g = 0; g < j->ngroups; g++) {
        if (!j->groups[g].stat[COL_PARAMS].n || !j->groups[g].stat[COL_FINAL].n)
            continue;
        quoted_label(j, &j->groups[g], q, sizeof q);
        fprintf(mem, "%s datafile index %d using 1:2:3 with yerrorbars lc %d pt %d ps 1.3 "
                     "lw 1.5 title %s",
                index ? "," : "", index, index + 1, 5 + 2 * (index % 4), q);
        index++;
    }
    fclose(mem);
    chart_outputs(fp, plot);
    free(plot);
}

/* ---- training throughput per group: bars with +-sd */

static void write_throughput_data(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char label[512];
    fputs("# bar, mean and sd of training images/s, runs, group\n", fp);
    int bar = 0;
    for (size_t g = 0; g < j->ngroups; g++) {
        const summary *s = &j->groups[g].stat[COL_IMG_S];
        if (!s->n)
            continue;
        group_label(j, &j->groups[g], label, sizeof label);
        fprintf(fp, "%d %.3f %.3f %zu # %s\n", bar++, s->mean, s->n > 1 ? s->sd : 0.0, s->n,
                label);
    }
}

static void write_throughput_script(FILE *fp, const void *ctx)
{
    const table_job *j = ctx;
    char q[1100];
    char keys[512], what[600];
    key_leaves(j, keys, sizeof keys);
    snprintf(what, sizeof what, "training throughput per %s", keys);
    chart_preamble(fp, j, what);
    gpx_gnuplot_quote(q, sizeof q, keys);
    fprintf(fp, "set xlabel %s\nset ylabel 'training throughput (images/s)'\n"
                "set style fill solid 0.6 border -1\nset boxwidth 0.6\nset yrange [0:*]\n"
                "set xtics rotate by -35 scale 0 (", q);
    int bar = 0;
    for (size_t g = 0; g < j->ngroups; g++) {
        if (!j->groups[g].stat[COL_IMG_S].n)
            continue;
        quoted_label(j, &j->groups[g], q, sizeof q);
        fprintf(fp, "%s%s %d", bar ? ", " : "", q, bar);
        bar++;
    }
    fprintf(fp, ")\nset xrange [-0.7:%g]\n", bar - 0.3);
    chart_outputs(fp, "plot datafile using 1:2:3 with boxerrorbars lc 3 "
                      "title 'mean ± sd over seeds'");
}

/* NAME.dat, NAME.gp, NAME.png and NAME.svg, published together
 * (records/chart.h). 0 ok, 1 no gnuplot (said), -1 failed (said). */
static int draw_chart(const table_job *j, const char *name, const void *ctx,
                      gpx_chart_writer data, gpx_chart_writer script)
{
    char err[ERR_LEN];
    gpx_chart chart = { j->out_dir, name, NULL, data, script, NULL, NULL, ctx };
    int r = gpx_chart_publish(&chart, err, sizeof err);
    if (r < 0)
        fail(j, "%s", err);
    else if (r > 0)
        fprintf(stderr, "%s: %s: charts skipped\n", j->prog, err);
    return r;
}

/* ---- accuracy against input size: one chart per evals.csv method, one
 * line per group (mean +- sd over seeds); sizes that were not applicable
 * are simply absent */

/* Colours apart in print and for the colour-blind (the "tableau" set). */
static const char *const size_palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};
#define NPALETTE (sizeof size_palette / sizeof *size_palette)

typedef struct {
    const table_job *job;
    size_t           method;
    double           ylo, yhi;    /* the same in every method's chart, to compare them */
    double           xlo, xhi;    /* the sizes, padded so no point sits on the border */
} size_chart;

static const char *study_value(const table_job *j, const size_study *st, size_t g, size_t k)
{
    return j->runs.rows[st->group[g].run].field[st->key_col[k]];
}

/* Distinct values of key k among groups 0 .. g-1: g's colour or dash index
 * when g brings a new value, else the index of the group that brought it. */
static size_t value_index(const table_job *j, const size_study *st, size_t k, size_t g)
{
    size_t distinct = 0;
    for (size_t h = 0; h < g; h++) {
        size_t first = 0;
        while (strcmp(study_value(j, st, first, k), study_value(j, st, h, k)))
            first++;
        if (first < h)
            continue;
        if (!strcmp(study_value(j, st, h, k), study_value(j, st, g, k)))
            return distinct;
        distinct++;
    }
    return distinct;
}

/* The key with the most distinct values (the head, say) picks the colour;
 * the other keys together pick the dash type and point shape. */
static void series_style(const table_job *j, const size_study *st, size_t g, size_t *colour,
                         size_t *dash)
{
    size_t colour_key = 0, most = 0;
    for (size_t k = 0; k < st->nkeys; k++) {
        size_t n = st->ngroups ? value_index(j, st, k, st->ngroups - 1) + 1 : 0;
        /* ties go to the later key: the head comes after the data keys in runs.csv */
        if (n >= most) {
            most = n;
            colour_key = k;
        }
    }
    *colour = st->nkeys ? value_index(j, st, colour_key, g) : g;
    *dash = 0;
    for (size_t k = 0; k < st->nkeys; k++) {
        if (k == colour_key)
            continue;
        size_t n = value_index(j, st, k, st->ngroups - 1) + 1;
        *dash = *dash * n + value_index(j, st, k, g);
    }
}

/* A line's legend entry: "gap", or "resize=56, head=gap". */
static void study_label(const table_job *j, const size_study *st, size_t g, char *buf,
                        size_t len)
{
    size_t o = 0;
    snprintf(buf, len, "all runs");
    for (size_t k = 0; k < st->nkeys && o + 1 < len; k++) {
        const char *leaf = strrchr(st->key[k], '.') ? strrchr(st->key[k], '.') + 1 : st->key[k];
        if (st->nkeys == 1)
            o += (size_t)snprintf(buf + o, len - o, "%s", study_value(j, st, g, k));
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", k ? ", " : "", leaf,
                                  study_value(j, st, g, k));
    }
}

static int series_has_points(const size_study *st, size_t m, size_t g)
{
    for (size_t z = 0; z < st->nsizes; z++)
        if (study_cell(st, m, g, z)->n)
            return 1;
    return 0;
}

/* One block per group with points: size, mean and sd of test accuracy, runs. */
static void write_study_data(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    const size_study *st = c->job->study;
    char label[512];
    for (size_t g = 0; g < st->ngroups; g++) {
        if (!series_has_points(st, c->method, g))
            continue;
        study_label(c->job, st, g, label, sizeof label);
        fprintf(fp, "# %s, %s: input size (pixels), mean and sd of test accuracy (%%), runs\n",
                label, st->method[c->method]);
        for (size_t z = 0; z < st->nsizes; z++) {
            const size_cell *cell = study_cell(st, c->method, g, z);
            if (!cell->n)
                continue;
            summary s = summarise(cell->acc, cell->n);
            fprintf(fp, "%ld %.6f %.6f %zu\n", st->size[z], s.mean, cell->n > 1 ? s.sd : 0.0,
                    cell->n);
        }
        fputs("\n\n", fp);
    }
}

/* Dotted verticals where the runs were trained: the size every head can take. */
static void mark_train_sizes(FILE *fp, const size_study *st)
{
    long seen[16];
    size_t nseen = 0;
    for (size_t g = 0; g < st->ngroups; g++)
        for (int i = 0; i < st->group[g].ntrain && i < 4; i++) {
            size_t k = 0;
            while (k < nseen && seen[k] != st->group[g].train[i])
                k++;
            if (k < nseen || nseen == 16)
                continue;
            seen[nseen++] = st->group[g].train[i];
            fprintf(fp, "set arrow from %ld, graph 0 to %ld, graph 1 nohead dt 3 lw 1.5 "
                        "lc rgb '#555555'\n"
                        "set label 'trained at %ld' at %ld, graph 0.03 offset 0.5, 0 "
                        "tc rgb '#555555'\n",
                    seen[k], seen[k], seen[k], seen[k]);
        }
}

static void write_study_script(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    const size_study *st = c->job->study;
    char what[600], label[512], q[1100];
    static const int point[] = { 7, 5, 9, 11, 13 };
    snprintf(what, sizeof what, "test accuracy against input size, method %s "
                                "(mean ± sd over seeds)", st->method[c->method]);
    chart_preamble(fp, c->job, what);
    fprintf(fp, "set xlabel 'evaluation input size (pixels per side)'\n"
                "set ylabel 'test accuracy (%%)'\nset yrange [%g:%g]\n"
                "set xrange [%g:%g]\n",
            c->ylo, c->yhi, c->xlo, c->xhi);
    if (st->nsizes <= 16) {
        fputs("set xtics (", fp);
        for (size_t z = 0; z < st->nsizes; z++)
            fprintf(fp, "%s%ld", z ? ", " : "", st->size[z]);
        fputs(")\n", fp);
    }
    mark_train_sizes(fp, st);
    char *plot = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&plot, &len);
    if (!mem)
        return;
    fputs("plot", mem);
    int index = 0;
    for (size_t g = 0; g < st->ngroups; g++) {
        size_t colour, dash;
        if (!series_has_points(st, c->method, g))
            continue;
        series_style(c->job, st, g, &colour, &dash);
        study_label(c->job, st, g, label, sizeof label);
        gpx_gnuplot_quote(q, sizeof q, label);
        fprintf(mem, "%s datafile index %d using 1:2:3 with yerrorlines lc rgb '%s' dt %zu "
                     "lw 2 pt %d ps 0.9 title %s",
                index ? "," : "", index, size_palette[colour % NPALETTE], dash % 5 + 1,
                point[dash % 5], q);
        index++;
    }
    fclose(mem);
    chart_outputs(fp, plot);
    free(plot);
}

/* mean -+ sd over every point of every method, padded, within 0-100 %. */
static void study_yrange(const size_study *st, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < st->nmethods * st->ngroups * st->nsizes; i++) {
        const size_cell *c = &st->cell[i];
        if (!c->n)
            continue;
        summary s = summarise(c->acc, c->n);
        double sd = c->n > 1 ? s.sd : 0;
        *lo = s.mean - sd < *lo ? s.mean - sd : *lo;
        *hi = s.mean + sd > *hi ? s.mean + sd : *hi;
    }
    double pad = 0.06 * (*hi - *lo) > 1 ? 0.06 * (*hi - *lo) : 1;
    *lo = *lo - pad > 0 ? *lo - pad : 0;
    *hi = *hi + pad < 100 ? *hi + pad : 100;
}

static int draw_study_charts(const table_job *j)
{
    const size_study *st = j->study;
    size_chart c = { j, 0, 0, 0, 0, 0 };
    double span = (double)(st->size[st->nsizes - 1] - st->size[0]);
    study_yrange(st, &c.ylo, &c.yhi);
    c.xlo = (double)st->size[0] - (span > 0 ? 0.04 * span : 1);
    c.xhi = (double)st->size[st->nsizes - 1] + (span > 0 ? 0.04 * span : 1);
    for (c.method = 0; c.method < st->nmethods; c.method++) {
        char name[256];
        size_t o = (size_t)snprintf(name, sizeof name, "accuracy-vs-size-");
        /* the method names a file: anything but [A-Za-z0-9_-] becomes '-' */
        for (const char *s = st->method[c.method]; *s && o + 1 < sizeof name; s++)
            name[o++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_-", *s) ? *s : '-';
        name[o] = '\0';
        int any = 0;
        for (size_t g = 0; g < st->ngroups; g++)
            any |= series_has_points(st, c.method, g);
        if (!any) {
            fprintf(stderr, "%s: evals.csv: method %s is not applicable anywhere: %s chart "
                            "skipped\n", j->prog, st->method[c.method], name);
            continue;
        }
        int r = draw_chart(j, name, &c, write_study_data, write_study_script);
        if (r)
            return r;
    }
    return 0;
}

static int draw_charts(const table_job *j)
{
    size_t ok = 0;
    for (size_t g = 0; g < j->ngroups; g++)
        ok += j->groups[g].nok;
    if (!ok) {
        fprintf(stderr, "%s: no run finished ok: charts skipped\n", j->prog);
        return 0;
    }
    int r = 0;
    if (j->have_epochs) {
        char err[ERR_LEN];
        epoch_curve *curves = NULL;
        if (collect_curves(j, &curves, err, sizeof err)) {
            free_curves(curves, j->ngroups);
            return fail(j, "%s", err);
        }
        curve_ctx cx = { j, curves };
        r = draw_chart(j, "accuracy-mean", &cx, write_curve_data, write_curve_script);
        free_curves(curves, j->ngroups);
    } else {
        fprintf(stderr, "%s: %s/epochs.csv missing: accuracy-mean chart skipped\n", j->prog,
                j->out_dir);
    }
    if (r == 0)
        r = draw_chart(j, "accuracy-vs-params", j, write_params_data, write_params_script);
    /* a config that leaves img/s out of its table (timings taken on a
     * shared machine, say) does not want them charted either */
    if (r == 0 && has_column(j, COL_IMG_S))
        r = draw_chart(j, "throughput", j, write_throughput_data, write_throughput_script);
    if (r == 0 && j->study)
        r = draw_study_charts(j);
    return r == 1 ? 0 : r;
}

/* ========================================================= command */

typedef struct {
    const char *dir, *out, *config;
    int         md, tex, charts;
} table_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool table [OPTIONS] DIR\n"
            "\n"
            "Tables and charts from what `gpool run` wrote into DIR (runs.csv, epochs.csv,\n"
            "evals.csv, config.yaml), without running anything:\n"
            "  table.md, table.tex   one row per group of runs (table.group_by; default:\n"
            "                        every swept path but the seeds) with mean +- sample sd\n"
            "                        over the runs whose status is ok; the others are listed\n"
            "                        under the table with their reasons\n"
            "  accuracy-mean.png/svg        test accuracy per epoch, mean line and +-sd band\n"
            "  accuracy-vs-params.png/svg   final test accuracy against parameters\n"
            "  throughput.png/svg           training images/s per group (when the\n"
            "                               table's columns include img_per_s)\n"
            "With DIR/evals.csv (the config had eval.sizes), also:\n"
            "  table-sizes.md, .tex  test accuracy at each evaluation size, one row per\n"
            "                        method and group (the seeds merged), n/a where the\n"
            "                        network cannot take the size, with the reason\n"
            "  accuracy-vs-size-METHOD.png/svg   test accuracy against input size\n"
            "The markdown tables are also printed.\n"
            "\n"
            "Options:\n"
            "  -f, --format md|tex|all  which tables to write (default all; tex prints LaTeX)\n"
            "  -o, --out DIR2      write into DIR2 instead of DIR\n"
            "  -c, --config FILE   take the table section from FILE (an experiment config)\n"
            "                      instead of DIR/config.yaml\n"
            "  -n, --no-charts     tables only\n"
            "  -h, --help          show this help\n"
            "\n"
            "Config (the experiment config's table: section; changing it does not change\n"
            "run ids):\n"
            "  group_by: [model.head]   runs.csv columns a row shares\n"
            "  columns: [n, final_test_acc, best_test_acc, gap, params, flops, memory,\n"
            "            epoch_s, img_per_s, peak_rss]   (default: all, in this order)\n"
            "  sort: none | a column    descending: true    precision: 2 (accuracy decimals)\n"
            "Exit status: 0 written, 1 an error, 2 bad command line.\n");
}

#define TABLE_CMD "gpool table"

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, table_options *o)
{
    memset(o, 0, sizeof *o);
    o->md = o->tex = o->charts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int m;
        if (gpx_option_flag(a, "-h", "--help")) {
            usage(stdout);
            return 1;
        } else if ((m = gpx_option_value(argc, argv, &i, "-f", "--format", &v)) != 0) {
            if (m < 0 || (strcmp(v, "md") && strcmp(v, "tex") && strcmp(v, "all")))
                return gpx_usage_error_full(TABLE_CMD, usage, "%s needs md, tex or all", a);
            o->md = strcmp(v, "tex") != 0;
            o->tex = strcmp(v, "md") != 0;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error_full(TABLE_CMD, usage, "%s needs a directory", a);
            o->out = v;
        } else if ((m = gpx_option_value(argc, argv, &i, "-c", "--config", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error_full(TABLE_CMD, usage, "%s needs a config file", a);
            o->config = v;
        } else if (gpx_option_flag(a, "-n", "--no-charts")) {
            o->charts = 0;
        } else if (a[0] == '-' && a[1]) {
            return gpx_usage_error_full(TABLE_CMD, usage, "unknown option '%s'", a);
        } else if (o->dir) {
            return gpx_usage_error_full(TABLE_CMD, usage, "one DIR only ('%s' and '%s')", o->dir,
                                        a);
        } else {
            o->dir = a;
        }
    }
    if (!o->dir)
        return gpx_usage_error_full(TABLE_CMD, usage, "missing DIR (for example results/heads)");
    return 0;
}

/* The config's table section, or the defaults when there is no config. */
static int load_settings(table_job *j, const table_options *o, ycfg **cfg)
{
    char path[4096], err[ERR_LEN];
    default_settings(&j->set);
    *cfg = NULL;
    if (o->config)
        snprintf(path, sizeof path, "%s", o->config);
    else if (gpx_join(path, sizeof path, o->dir, "config.yaml"))
        return fail(j, "%s: path too long", o->dir);
    if (!o->config && access(path, F_OK) != 0)
        return 0;
    *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!*cfg)
        return fail(j, "%s", err);
    if (settings_from_config(*cfg, &j->set, err, sizeof err))
        return fail(j, "%s", err);
    snprintf(j->name, sizeof j->name, "%s", ycfg_name(*cfg));
    return 0;
}

/* DIR/NAME read as the results file f into t, with the columns the tables
 * need looked up into col; a missing file sets *missing when it is given. */
static int load_csv(table_job *j, const char *dir, const gpx_record_file *f, const int *need,
                    size_t nneed, gpx_csv *t, int *col, int *missing)
{
    char path[4096], err[ERR_LEN];
    gpx_join(path, sizeof path, dir, f->name);
    if (gpx_csv_load(t, path, missing, err, sizeof err))
        return fail(j, "%s", err);
    if ((!missing || !*missing) &&
        gpx_record_columns(t, f, need, nneed, col, err, sizeof err))
        return fail(j, "%s", err);
    return 0;
}

static int load_csvs(table_job *j, const char *dir)
{
    char path[4096];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(j, "%s: %s", dir, stat(dir, &st) ? strerror(errno) : "not a directory");
    char err[ERR_LEN];
    if (gpx_ids_check_current(dir, err, sizeof err))
        return fail(j, "%s", err);
    gpx_join(path, sizeof path, dir, "runs.csv");
    if (access(path, F_OK) != 0)
        return fail(j, "%s: no runs.csv (write one with gpool run CONFIG --out %s)", dir, dir);
    int no_epochs = 0, no_evals = 0;
    if (load_csv(j, dir, &gpx_runs_file, runs_needed, NELEMS(runs_needed), &j->runs, j->rc,
                 NULL) ||
        load_csv(j, dir, &gpx_epochs_file, epochs_needed, NELEMS(epochs_needed), &j->epochs,
                 j->ec, &no_epochs) ||
        load_csv(j, dir, &gpx_evals_file, evals_needed, NELEMS(evals_needed), &j->evals, j->vc,
                 &no_evals))
        return -1;
    j->have_epochs = !no_epochs;
    j->have_evals = !no_evals;
    return 0;
}

static void name_experiment(table_job *j, const char *dir)
{
    if (j->name[0])
        return;
    if (j->runs.nrows && j->runs.rows[0].field[j->rc[GPX_RUNS_EXPERIMENT]][0]) {
        snprintf(j->name, sizeof j->name, "%s", j->runs.rows[0].field[j->rc[GPX_RUNS_EXPERIMENT]]);
        return;
    }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", dir);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
    snprintf(j->name, sizeof j->name, "%s", base);
}

/* A size table needs a row: some ok run with evals.csv rows. */
static int study_has_rows(const table_job *j)
{
    const size_study *st = j->study;
    for (size_t m = 0; st && m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++)
            if (study_runs(j, st, m, g))
                return 1;
    return 0;
}

static int write_all_outputs(table_job *j, const table_options *o)
{
    char err[ERR_LEN];
    if (gpx_mkdir_p(j->out_dir, err, sizeof err))
        return fail(j, "%s", err);
    if ((o->md && write_out(j, "table.md", write_markdown)) ||
        (o->tex && write_out(j, "table.tex", write_latex)))
        return -1;
    if (j->study && !study_has_rows(j)) {
        fprintf(stderr, "%s: %s has no rows of runs that finished ok: size table and "
                        "charts skipped\n", j->prog, j->evals.path);
        free_study(j->study);
        j->study = NULL;
    }
    if (j->study && ((o->md && write_out(j, "table-sizes.md", write_size_markdown)) ||
                     (o->tex && write_out(j, "table-sizes.tex", write_size_latex))))
        return -1;
    if (o->charts && draw_charts(j))
        return -1;
    void (*print[2])(FILE *, const void *) = { write_markdown, write_size_markdown };
    if (!o->md) {
        print[0] = write_latex;
        print[1] = write_size_latex;
    }
    print[0](stdout, j);
    if (j->study) {
        fputc('\n', stdout);
        print[1](stdout, j);
    }
    return fflush(stdout) ? fail(j, "stdout: %s", strerror(errno)) : 0;
}

static void free_job(table_job *j)
{
    for (size_t g = 0; g < j->ngroups; g++)
        free(j->groups[g].ok);
    free(j->groups);
    free(j->value);
    gpx_csv_free(&j->runs);
    gpx_csv_free(&j->epochs);
    gpx_csv_free(&j->evals);
    free_study(j->study);
}

int gpx_cmd_table(int argc, char **argv)
{
    table_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    table_job j;
    memset(&j, 0, sizeof j);
    j.prog = "gpool table";
    snprintf(j.out_dir, sizeof j.out_dir, "%s", o.out ? o.out : o.dir);
    ycfg *cfg = NULL;
    char err[ERR_LEN];
    rc = 1;
    if (load_csvs(&j, o.dir) || load_settings(&j, &o, &cfg))
        goto out;
    complete_settings(&j.set, &j.runs, j.rc);
    if (check_group_keys(&j.set, &j.runs, j.key_col, err, sizeof err)) {
        fail(&j, "%s", err);
        goto out;
    }
    name_experiment(&j, o.dir);
    if (build_groups(&j, err, sizeof err) || build_study(&j, err, sizeof err)) {
        fail(&j, "%s", err);
        goto out;
    }
    rc = write_all_outputs(&j, &o) ? 1 : 0;
out:
    free_job(&j);
    ycfg_free(cfg);
    return rc;
}
