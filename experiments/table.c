/*
 * table.c - `gpool table DIR`: paper-style tables (markdown and LaTeX) and
 * gnuplot charts (PNG and SVG) from the CSVs `gpool run` wrote into DIR.
 *
 * Everything is recomputed from DIR/runs.csv, DIR/epochs.csv and the
 * `table:` section of DIR/config.yaml (or --config FILE): nothing is
 * trained, no data set is opened. One table row per group of runs sharing
 * the values of table.group_by (default: every swept path but the seeds),
 * with mean +- sample sd over the group's runs whose status is ok; the
 * others are listed under the table with their reasons.
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

#include "commands.h"
#include "util.h"

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

static const char *const column_names[] = {
    "n", "final_test_acc", "best_test_acc", "gap", "params", "flops", "memory",
    "epoch_s", "img_per_s", "peak_rss", NULL
};

/* "none" keeps the order of runs.csv; the rest are column_names. */
static const char *const sort_names[] = {
    "none", "n", "final_test_acc", "best_test_acc", "gap", "params", "flops", "memory",
    "epoch_s", "img_per_s", "peak_rss", NULL
};

static const gp_cfg_schema group_item[] = {
    { "key", GP_CFG_STRING, NULL, .help = "a runs.csv column, such as model.head" }
};
static const gp_cfg_schema column_item[] = {
    { "column", GP_CFG_ENUM, NULL, .choices = column_names, .help = "a table column" }
};

const gp_cfg_schema gpx_table_keys[] = {
    { "group_by", GP_CFG_LIST, "[]", .items = group_item,
      .help = "runs.csv columns a row shares ([]: every swept path but *.seed)" },
    { "columns", GP_CFG_LIST, "[]", .items = column_item,
      .help = "n final_test_acc best_test_acc gap params flops memory epoch_s img_per_s "
              "peak_rss ([]: all)" },
    { "sort", GP_CFG_ENUM, "none", .choices = sort_names,
      .help = "order rows by this column's mean (none: as in runs.csv)" },
    { "descending", GP_CFG_BOOL, "true", .help = "sort: largest first" },
    { "precision", GP_CFG_INT, "2", .min = 0, .max = 6, .help = "decimals of accuracies in %" },
    { NULL }
};

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

/* ====================================================== runs.csv columns */

typedef enum {
    RC_RUN_ID, RC_EXPERIMENT, RC_HEAD, RC_SEED, RC_EPOCHS, RC_PARAMS, RC_FLOPS, RC_MEM_TOTAL,
    RC_TRAIN_ACC, RC_VAL_ACC, RC_TEST_ACC, RC_BEST_ACC, RC_TRAIN_S, RC_IMG_S, RC_RSS,
    RC_STATUS, RC_REASON, NRUNCOLS
} run_column;

static const char *const run_column_names[NRUNCOLS] = {
    "run_id", "experiment", "head", "seed", "epochs", "params", "flops", "mem_total",
    "final_train_acc", "final_val_acc", "final_test_acc", "best_test_acc", "train_s",
    "img_per_s", "peak_rss_mib", "status", "reason"
};

typedef enum { EC_RUN_ID, EC_EPOCH, EC_TEST_ACC, NEPOCHCOLS } epoch_column;

static const char *const epoch_column_names[NEPOCHCOLS] = { "run_id", "epoch", "test_acc" };

/* ============================================================== CSV */

typedef struct {
    char  **field;
    size_t  n;
    int     line;      /* where the row starts in the file, 1-based */
} csv_row;

typedef struct {
    char    path[4096];
    csv_row header;
    csv_row *rows;
    size_t   nrows;
} csv_table;

typedef struct {
    char  *p;
    size_t len, cap;
} text_buf;

static int buf_put(text_buf *b, char c)
{
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}

static int row_push(csv_row *row, text_buf *field)
{
    char **grown = realloc(row->field, (row->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    row->field = grown;
    row->field[row->n++] = field->p ? field->p : strdup("");
    memset(field, 0, sizeof *field);
    return row->field[row->n - 1] ? 0 : -1;
}

static void row_free(csv_row *row)
{
    for (size_t k = 0; k < row->n; k++)
        free(row->field[k]);
    free(row->field);
    memset(row, 0, sizeof *row);
}

static void csv_free(csv_table *t)
{
    row_free(&t->header);
    for (size_t r = 0; r < t->nrows; r++)
        row_free(&t->rows[r]);
    free(t->rows);
    t->rows = NULL;
    t->nrows = 0;
}

/* A finished row becomes the header or the next row; blank lines are dropped. */
static int table_push(csv_table *t, csv_row *row)
{
    int blank = row->n == 1 && !row->field[0][0];
    if (blank) {
        row_free(row);
        return 0;
    }
    if (!t->header.n) {
        t->header = *row;
    } else {
        csv_row *grown = realloc(t->rows, (t->nrows + 1) * sizeof *grown);
        if (!grown)
            return -1;
        t->rows = grown;
        t->rows[t->nrows++] = *row;
    }
    memset(row, 0, sizeof *row);
    return 0;
}

/* RFC 4180: quoted fields may hold commas, doubled quotes and newlines. */
static int csv_parse(const char *text, csv_table *t, char *err, size_t errlen)
{
    text_buf field = {0};
    csv_row row = {0};
    int quoted = 0, line = 1, bad = 0;
    row.line = 1;
    for (const char *c = text; *c && !bad; c++) {
        if (quoted) {
            if (*c == '"' && c[1] == '"')
                bad = buf_put(&field, *c++);
            else if (*c == '"')
                quoted = 0;
            else
                bad = buf_put(&field, *c);
            line += *c == '\n';
        } else if (*c == '"') {
            quoted = 1;
        } else if (*c == ',') {
            bad = row_push(&row, &field);
        } else if (*c == '\n') {
            bad = row_push(&row, &field) || table_push(t, &row);
            row.line = ++line;
        } else if (*c != '\r') {
            bad = buf_put(&field, *c);
        }
    }
    if (!bad && (field.len || row.n))
        bad = row_push(&row, &field) || table_push(t, &row);
    free(field.p);
    row_free(&row);
    if (bad) {
        snprintf(err, errlen, "%s: out of memory", t->path);
        return -1;
    }
    if (quoted) {
        snprintf(err, errlen, "%s: a quoted field is not closed", t->path);
        return -1;
    }
    if (!t->header.n) {
        snprintf(err, errlen, "%s: empty (no header line)", t->path);
        return -1;
    }
    for (size_t r = 0; r < t->nrows; r++)
        if (t->rows[r].n != t->header.n) {
            snprintf(err, errlen, "%s:%d: %zu fields where the header has %zu", t->path,
                     t->rows[r].line, t->rows[r].n, t->header.n);
            return -1;
        }
    return 0;
}

/* Whole file into a string (caller frees); NULL with errno when unreadable. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = NULL;
    size_t len = 0, got;
    char chunk[65536];
    FILE *mem = open_memstream(&buf, &len);
    while (mem && (got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        fwrite(chunk, 1, got, mem);
    int failed = ferror(fp) || !mem;
    fclose(fp);
    if (mem)
        fclose(mem);
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    return buf;
}

/* 0, -1 with err; a missing file sets *missing (if given) instead of failing. */
static int csv_load(const char *path, csv_table *t, int *missing, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    char *text = read_text(path);
    if (!text) {
        if (missing && errno == ENOENT) {
            *missing = 1;
            return 0;
        }
        snprintf(err, errlen, "%s: cannot be read: %s", path, strerror(errno));
        return -1;
    }
    int rc = csv_parse(text, t, err, errlen);
    free(text);
    return rc;
}

static int csv_column(const csv_table *t, const char *name)
{
    for (size_t k = 0; k < t->header.n; k++)
        if (!strcmp(t->header.field[k], name))
            return (int)k;
    return -1;
}

/* Look every name up into col[]; one error listing all the missing ones. */
static int csv_require(const csv_table *t, const char *const *names, int n, int *col,
                       char *err, size_t errlen)
{
    size_t o = (size_t)snprintf(err, errlen, "%s: missing columns:", t->path);
    int missing = 0;
    for (int k = 0; k < n; k++) {
        col[k] = csv_column(t, names[k]);
        if (col[k] < 0 && o < errlen)
            o += (size_t)snprintf(err + o, errlen - o, "%s %s", missing++ ? "," : "", names[k]);
    }
    if (missing && o < errlen)
        snprintf(err + o, errlen - o, " (not a file written by gpool run?)");
    return missing ? -1 : 0;
}

/* An empty field is NaN (gpool run writes nothing for an unknown value). */
static int csv_number(const csv_table *t, size_t r, int col, double *out, char *err,
                      size_t errlen)
{
    const char *s = t->rows[r].field[col];
    char *end;
    if (!*s) {
        *out = NAN;
        return 0;
    }
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) {
        snprintf(err, errlen, "%s:%d: column %s: '%s' is not a number", t->path, t->rows[r].line,
                 t->header.field[col], s);
        return -1;
    }
    return 0;
}

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
static int settings_from_config(const gp_cfg *cfg, table_settings *s, char *err, size_t errlen)
{
    const gp_cfg_point *pt = gp_cfg_point_at(cfg, 0);
    const gp_cfg_value *group = gp_cfg_get(pt, "table.group_by");
    const gp_cfg_value *columns = gp_cfg_get(pt, "table.columns");
    snprintf(s->source, sizeof s->source, "%s", gp_cfg_path(cfg));
    if (group->n > MAX_GROUP_KEYS) {
        snprintf(err, errlen, "%s:%d:%d: table.group_by: at most %d keys", gp_cfg_path(cfg),
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
        column_id c = (column_id)enum_index(columns->items[k].s, column_names);
        for (size_t j = 0; j < s->ncolumns; j++)
            if (s->column[j] == c) {
                snprintf(err, errlen, "%s:%d:%d: table.columns: '%s' is listed twice",
                         gp_cfg_path(cfg), columns->items[k].line, columns->items[k].col,
                         columns->items[k].s);
                return -1;
            }
        s->column[s->ncolumns++] = c;
    }
    s->sort = enum_index(gp_cfg_str(pt, "table.sort"), sort_names) - 1;
    s->descending = gp_cfg_bool(pt, "table.descending");
    s->precision = (int)gp_cfg_int(pt, "table.precision");
    return 0;
}

/* Empty lists take their defaults: every column; every swept column but
 * the seeds (the columns between "experiment" and "head" in runs.csv), or
 * "head" when nothing else was swept. */
static void complete_settings(table_settings *s, const csv_table *runs)
{
    if (!s->ncolumns)
        for (int c = 0; c < NCOLUMNS; c++)
            s->column[s->ncolumns++] = (column_id)c;
    if (s->ngroup)
        return;
    int first = csv_column(runs, "experiment") + 1, last = csv_column(runs, "head");
    for (int k = first; k > 0 && k < last && s->ngroup < MAX_GROUP_KEYS; k++) {
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
static int check_group_keys(const table_settings *s, const csv_table *runs, int *key_col,
                            char *err, size_t errlen)
{
    for (size_t k = 0; k < s->ngroup; k++) {
        key_col[k] = csv_column(runs, s->group[k]);
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
    csv_table       runs, epochs;
    int             have_epochs;
    int             rc[NRUNCOLS], ec[NEPOCHCOLS];
    int             key_col[MAX_GROUP_KEYS];
    double        (*value)[NCOLUMNS];   /* per runs.csv row; NaN when unknown */
    run_group      *groups;
    size_t          ngroups;
    size_t          nexcluded;
    int             has_validation;
} table_job;

static int is_ok(const table_job *j, size_t r)
{
    return !strcmp(j->runs.rows[r].field[j->rc[RC_STATUS]], "ok");
}

/* The numbers each table column shows for one run. */
static int run_values(table_job *j, size_t r, double *v, char *err, size_t errlen)
{
    enum { NNUM = 11 };
    static const run_column need[NNUM] = { RC_EPOCHS, RC_PARAMS, RC_FLOPS, RC_MEM_TOTAL,
                                           RC_TRAIN_ACC, RC_VAL_ACC, RC_TEST_ACC, RC_BEST_ACC,
                                           RC_TRAIN_S, RC_IMG_S, RC_RSS };
    double x[NRUNCOLS];
    for (int k = 0; k < NNUM; k++)
        if (csv_number(&j->runs, r, j->rc[need[k]], &x[need[k]], err, errlen))
            return -1;
    v[COL_N] = 1;
    v[COL_FINAL] = 100 * x[RC_TEST_ACC];
    v[COL_BEST] = 100 * x[RC_BEST_ACC];
    v[COL_GAP] = 100 * (x[RC_TRAIN_ACC] - x[RC_TEST_ACC]);
    v[COL_PARAMS] = x[RC_PARAMS];
    v[COL_FLOPS] = x[RC_FLOPS] / 1e6;
    v[COL_MEMORY] = x[RC_MEM_TOTAL] / (1024.0 * 1024.0);
    v[COL_EPOCH_S] = x[RC_EPOCHS] > 0 ? x[RC_TRAIN_S] / x[RC_EPOCHS] : NAN;
    v[COL_IMG_S] = x[RC_IMG_S];
    v[COL_RSS] = x[RC_RSS];
    j->has_validation |= isfinite(x[RC_VAL_ACC]);
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
    int first = csv_column(&j->runs, "experiment") + 1, last = j->rc[RC_HEAD];
    int any = 0;
    for (int k = first; k > 0 && k < last; k++) {
        fputs(any++ ? " " : "", fp);
        put_escaped(fp, j->runs.header.field[k], f);
        fputc('=', fp);
        put_escaped(fp, j->runs.rows[r].field[k], f);
    }
    if (!any) {
        fputs("head=", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[RC_HEAD]], f);
        fputs(" seed=", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[RC_SEED]], f);
    }
    fprintf(fp, " (run %s)", j->runs.rows[r].field[j->rc[RC_RUN_ID]]);
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
        const char *reason = j->runs.rows[r].field[j->rc[RC_REASON]];
        fputs(f == FMT_MD ? "  - " : "  \\item ", fp);
        describe_run(fp, j, r, f);
        fputs(": ", fp);
        put_escaped(fp, j->runs.rows[r].field[j->rc[RC_STATUS]], f);
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
            if (!strcmp(j->runs.rows[j->groups[g].ok[i]].field[j->rc[RC_RUN_ID]], run_id))
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
        int g = find_ok_group(j, j->epochs.rows[r].field[j->ec[EC_RUN_ID]]);
        double epoch, acc;
        if (g < 0)
            continue;
        if (csv_number(&j->epochs, r, j->ec[EC_EPOCH], &epoch, err, errlen) ||
            csv_number(&j->epochs, r, j->ec[EC_TEST_ACC], &acc, err, errlen))
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
        fprintf(mem, "%s datafile index %d using 1:($2-$3):($2+$3) with filledcurves "
                     "lc %d notitle, datafile index %d using 1:2 with linespoints lc %d lw 2 "
                     "pt 7 ps 0.6 title %s",
                index ? "," : "", index, index + 1, index, index + 1, q);
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

/* ---- accuracy against input size (runs.csv column eval_size): one line
 * per group_by value other than eval_size, mean +-sd per size */

typedef struct {
    size_t  row;       /* a run of the series: its key values */
    double *x, *y;     /* eval_size and final test accuracy per ok run */
    size_t  n;
} size_series;

typedef struct {
    const table_job *job;
    int              size_col;
    int              key_col[MAX_GROUP_KEYS];
    size_t           nkeys;
    size_series     *series;
    size_t           nseries;
} size_chart;

static int same_values(const table_job *j, const int *cols, size_t n, size_t a, size_t b)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(j->runs.rows[a].field[cols[k]], j->runs.rows[b].field[cols[k]]))
            return 0;
    return 1;
}

static void free_size_chart(size_chart *c)
{
    for (size_t s = 0; s < c->nseries; s++) {
        free(c->series[s].x);
        free(c->series[s].y);
    }
    free(c->series);
}

static int collect_sizes(const table_job *j, size_chart *c, char *err, size_t errlen)
{
    size_t n = j->runs.nrows;
    for (size_t k = 0; k < j->set.ngroup; k++)
        if (j->key_col[k] != c->size_col)
            c->key_col[c->nkeys++] = j->key_col[k];
    c->series = calloc(n ? n : 1, sizeof *c->series);
    if (!c->series)
        goto oom;
    for (size_t r = 0; r < n; r++) {
        double size;
        if (!is_ok(j, r) || !isfinite(j->value[r][COL_FINAL]))
            continue;
        if (csv_number(&j->runs, r, c->size_col, &size, err, errlen))
            return -1;
        if (!isfinite(size))
            continue;
        size_t s = 0;
        while (s < c->nseries && !same_values(j, c->key_col, c->nkeys, c->series[s].row, r))
            s++;
        size_series *se = &c->series[s];
        if (s == c->nseries) {
            c->nseries++;
            se->row = r;
            se->x = calloc(n, sizeof *se->x);
            se->y = calloc(n, sizeof *se->y);
            if (!se->x || !se->y)
                goto oom;
        }
        se->x[se->n] = size;
        se->y[se->n++] = j->value[r][COL_FINAL];
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void size_label(const size_chart *c, size_t s, char *buf, size_t len)
{
    size_t o = 0;
    snprintf(buf, len, "all runs");
    for (size_t k = 0; k < c->nkeys && o + 1 < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", k ? ", " : "",
                              c->job->runs.rows[c->series[s].row].field[c->key_col[k]]);
}

/* One block per series: size, mean and sd of final test accuracy, runs; sizes ascending. */
static void write_size_data(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    char label[512];
    for (size_t s = 0; s < c->nseries; s++) {
        const size_series *se = &c->series[s];
        double *y = malloc(se->n * sizeof *y);
        if (!y)
            return;
        size_label(c, s, label, sizeof label);
        fprintf(fp, "# %s: input size, mean and sd of final test accuracy (%%), runs\n", label);
        double last = -INFINITY;
        for (;;) {
            double next = INFINITY;   /* smallest size above the last one written */
            for (size_t i = 0; i < se->n; i++)
                if (se->x[i] > last && se->x[i] < next)
                    next = se->x[i];
            if (!isfinite(next))
                break;
            size_t m = 0;
            for (size_t i = 0; i < se->n; i++)
                if (se->x[i] == next)
                    y[m++] = se->y[i];
            summary sm = summarise(y, m);
            fprintf(fp, "%g %.6f %.6f %zu\n", next, sm.mean, m > 1 ? sm.sd : 0.0, m);
            last = next;
        }
        free(y);
        fputs("\n\n", fp);
    }
}

static void write_size_script(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    char label[512], q[1100];
    chart_preamble(fp, c->job, "final test accuracy against input size (mean ± sd over seeds)");
    fputs("set xlabel 'input size (pixels per side)'\nset ylabel 'final test accuracy (%)'\n"
          "set offsets graph 0.05, graph 0.05, graph 0.08, graph 0.08\n", fp);
    char *plot = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&plot, &len);
    if (!mem)
        return;
    fputs("plot", mem);
    for (size_t s = 0; s < c->nseries; s++) {
        size_label(c, s, label, sizeof label);
        gpx_gnuplot_quote(q, sizeof q, label);
        fprintf(mem, "%s datafile index %zu using 1:2:3 with yerrorlines lc %zu lw 2 pt 7 "
                     "title %s",
                s ? "," : "", s, s + 1, q);
    }
    fclose(mem);
    chart_outputs(fp, plot);
    free(plot);
}

/* Write NAME.dat and NAME.gp, then have gnuplot draw NAME.png and NAME.svg
 * under temporary names that are renamed into place. 0 ok, 1 no gnuplot,
 * -1 failed. */
static int draw_chart(const table_job *j, const char *name, const void *ctx,
                      void (*data)(FILE *, const void *), void (*script)(FILE *, const void *))
{
    char file[256], dat[4096], gp[4096], base[4096], tmp_base[4200];
    char q1[8300], q2[8500], settings[17000], err[ERR_LEN];
    gpx_atomic_file f;
    void (*writers[2])(FILE *, const void *) = { data, script };
    const char *ext[2] = { "dat", "gp" };
    for (int k = 0; k < 2; k++) {
        char *path = k ? gp : dat;
        snprintf(file, sizeof file, "%s.%s", name, ext[k]);
        if (gpx_join(path, sizeof dat, j->out_dir, file))
            return fail(j, "%s/%s: path too long", j->out_dir, file);
        if (gpx_atomic_open(&f, path, err, sizeof err))
            return fail(j, "%s", err);
        writers[k](f.fp, ctx);
        if (gpx_atomic_commit(&f, err, sizeof err))
            return fail(j, "%s", err);
    }
    gpx_join(base, sizeof base, j->out_dir, name);
    gpx_tmp_name(tmp_base, sizeof tmp_base, base);
    gpx_gnuplot_quote(q1, sizeof q1, dat);
    gpx_gnuplot_quote(q2, sizeof q2, tmp_base);
    snprintf(settings, sizeof settings, "datafile=%s; outbase=%s", q1, q2);
    int r = gpx_run_gnuplot(gpx_gnuplot_program(), gp, settings, err, sizeof err);
    if (r < 0)
        fail(j, "%s", err);
    const char *img[2] = { "png", "svg" };
    for (int k = 0; k < 2; k++) {
        char tmp[4300], dst[4300];
        snprintf(tmp, sizeof tmp, "%s.%s", tmp_base, img[k]);
        snprintf(dst, sizeof dst, "%s.%s", base, img[k]);
        if (r != 0) {
            unlink(tmp);   /* what a failed gnuplot left behind */
        } else if (gpx_publish(tmp, dst, err, sizeof err)) {
            r = fail(j, "%s", err);
        }
    }
    return r;
}

static int draw_size_chart(const table_job *j, int size_col)
{
    char err[ERR_LEN];
    size_chart c;
    memset(&c, 0, sizeof c);
    c.job = j;
    c.size_col = size_col;
    int r = collect_sizes(j, &c, err, sizeof err);
    if (r)
        fail(j, "%s", err);
    else if (c.nseries)
        r = draw_chart(j, "accuracy-vs-size", &c, write_size_data, write_size_script);
    free_size_chart(&c);
    return r;
}

static int draw_charts(const table_job *j)
{
    const char *program = gpx_gnuplot_program();
    size_t ok = 0;
    for (size_t g = 0; g < j->ngroups; g++)
        ok += j->groups[g].nok;
    if (!*program) {
        fprintf(stderr, "%s: no gnuplot (GNUPLOT is empty): charts skipped\n", j->prog);
        return 0;
    }
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
    if (r == 0)
        r = draw_chart(j, "throughput", j, write_throughput_data, write_throughput_script);
    int size_col = csv_column(&j->runs, "eval_size");
    if (r == 0 && size_col >= 0)
        r = draw_size_chart(j, size_col);
    else if (r == 0)
        fprintf(stderr, "%s: runs.csv has no eval_size column: accuracy-vs-size chart "
                        "skipped\n", j->prog);
    if (r == 1) {
        fprintf(stderr, "%s: %s not found: charts skipped\n", j->prog, program);
        return 0;
    }
    return r;
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
            "config.yaml), without running anything:\n"
            "  table.md, table.tex   one row per group of runs (table.group_by; default:\n"
            "                        every swept path but the seeds) with mean +- sample sd\n"
            "                        over the runs whose status is ok; the others are listed\n"
            "                        under the table with their reasons\n"
            "  accuracy-mean.png/svg        test accuracy per epoch, mean line and +-sd band\n"
            "  accuracy-vs-params.png/svg   final test accuracy against parameters\n"
            "  throughput.png/svg           training images/s per group\n"
            "The markdown table is also printed.\n"
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

static int usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gpool table: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    usage(stderr);
    return 2;
}

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, table_options *o)
{
    memset(o, 0, sizeof *o);
    o->md = o->tex = o->charts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int m;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if ((m = gpx_option_value(argc, argv, &i, "-f", "--format", &v)) != 0) {
            if (m < 0 || (strcmp(v, "md") && strcmp(v, "tex") && strcmp(v, "all")))
                return usage_error("%s needs md, tex or all", a);
            o->md = strcmp(v, "tex") != 0;
            o->tex = strcmp(v, "md") != 0;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return usage_error("%s needs a directory", a);
            o->out = v;
        } else if ((m = gpx_option_value(argc, argv, &i, "-c", "--config", &v)) != 0) {
            if (m < 0 || !*v)
                return usage_error("%s needs a config file", a);
            o->config = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--no-charts")) {
            o->charts = 0;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (o->dir) {
            return usage_error("one DIR only ('%s' and '%s')", o->dir, a);
        } else {
            o->dir = a;
        }
    }
    if (!o->dir)
        return usage_error("missing DIR (for example results/heads)");
    return 0;
}

/* The config's table section, or the defaults when there is no config. */
static int load_settings(table_job *j, const table_options *o, gp_cfg **cfg)
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
    *cfg = gp_cfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!*cfg)
        return fail(j, "%s", err);
    if (settings_from_config(*cfg, &j->set, err, sizeof err))
        return fail(j, "%s", err);
    snprintf(j->name, sizeof j->name, "%s", gp_cfg_name(*cfg));
    return 0;
}

static int load_csvs(table_job *j, const char *dir)
{
    char path[4096], err[ERR_LEN];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(j, "%s: %s", dir, stat(dir, &st) ? strerror(errno) : "not a directory");
    gpx_join(path, sizeof path, dir, "runs.csv");
    if (access(path, F_OK) != 0)
        return fail(j, "%s: no runs.csv (write one with gpool run CONFIG --out %s)", dir, dir);
    if (csv_load(path, &j->runs, NULL, err, sizeof err) ||
        csv_require(&j->runs, run_column_names, NRUNCOLS, j->rc, err, sizeof err))
        return fail(j, "%s", err);
    int missing = 0;
    gpx_join(path, sizeof path, dir, "epochs.csv");
    if (csv_load(path, &j->epochs, &missing, err, sizeof err))
        return fail(j, "%s", err);
    j->have_epochs = !missing;
    if (j->have_epochs &&
        csv_require(&j->epochs, epoch_column_names, NEPOCHCOLS, j->ec, err, sizeof err))
        return fail(j, "%s", err);
    return 0;
}

static void name_experiment(table_job *j, const char *dir)
{
    if (j->name[0])
        return;
    if (j->runs.nrows && j->runs.rows[0].field[j->rc[RC_EXPERIMENT]][0]) {
        snprintf(j->name, sizeof j->name, "%s", j->runs.rows[0].field[j->rc[RC_EXPERIMENT]]);
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

static int write_all_outputs(table_job *j, const table_options *o)
{
    char err[ERR_LEN];
    if (gpx_mkdir_p(j->out_dir, err, sizeof err))
        return fail(j, "%s", err);
    if ((o->md && write_out(j, "table.md", write_markdown)) ||
        (o->tex && write_out(j, "table.tex", write_latex)))
        return -1;
    if (o->charts && draw_charts(j))
        return -1;
    if (o->md)
        write_markdown(stdout, j);
    else
        write_latex(stdout, j);
    return fflush(stdout) ? fail(j, "stdout: %s", strerror(errno)) : 0;
}

static void free_job(table_job *j)
{
    for (size_t g = 0; g < j->ngroups; g++)
        free(j->groups[g].ok);
    free(j->groups);
    free(j->value);
    csv_free(&j->runs);
    csv_free(&j->epochs);
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
    gp_cfg *cfg = NULL;
    char err[ERR_LEN];
    rc = 1;
    if (load_csvs(&j, o.dir) || load_settings(&j, &o, &cfg))
        goto out;
    complete_settings(&j.set, &j.runs);
    if (check_group_keys(&j.set, &j.runs, j.key_col, err, sizeof err)) {
        fail(&j, "%s", err);
        goto out;
    }
    name_experiment(&j, o.dir);
    if (build_groups(&j, err, sizeof err)) {
        fail(&j, "%s", err);
        goto out;
    }
    rc = write_all_outputs(&j, &o) ? 1 : 0;
out:
    free_job(&j);
    gp_cfg_free(cfg);
    return rc;
}
