/*
 * table.h - what `gpool table` renders, read from a results directory:
 * runs.csv grouped into the rows of a paper-style table, each column
 * summarised over a row's runs.
 *
 * A row is a group of runs sharing the values of table.group_by (default:
 * every swept path but the seeds, or "head" when nothing else was swept);
 * its columns are the mean +- sample sd over the group's runs whose status
 * is ok (records/table_text.h prints them, records/table_charts.h draws
 * them). epochs.csv and evals.csv are read with it when they are there:
 * the first for the accuracy curves, the second for the input-size study
 * (records/size_study.h).
 *
 *     gpx_table t;                                   (zeroed)
 *     gpx_table_default_settings(&t.set);            or _settings_from_config
 *     gpx_table_load(&t, dir, err, sizeof err);      the CSVs
 *     gpx_table_resolve_settings(&t, err, sizeof err);
 *     gpx_table_group(&t, err, sizeof err);          the rows
 *     ... write ...
 *     gpx_table_free(&t);
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_TABLE_H
#define GPOOL_EXPERIMENTS_RECORDS_TABLE_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "records/csv.h"
#include "records/results.h"
#include "util/util.h"

/* At most this many table.group_by keys. */
#define GPX_TABLE_MAX_KEYS 16

/* The table columns a config may ask for, in their default order (the order
 * of the table.columns choices of core/schema.c). */
typedef enum {
    GPX_TCOL_N,
    GPX_TCOL_FINAL,
    GPX_TCOL_BEST,
    GPX_TCOL_GAP,
    GPX_TCOL_PARAMS,
    GPX_TCOL_FLOPS,
    GPX_TCOL_MEMORY,
    GPX_TCOL_EPOCH_S,
    GPX_TCOL_IMG_S,
    GPX_TCOL_RSS,
    GPX_TCOL_COUNT
} gpx_table_column;

/* How a column is summarised and printed. */
typedef enum {
    GPX_TKIND_COUNT,     /* runs in the row */
    GPX_TKIND_SPREAD,    /* varies from seed to seed: mean +- sd */
    GPX_TKIND_CONSTANT   /* fixed by the config: one value unless it varies in the row */
} gpx_table_column_kind;

typedef struct {
    const char           *md, *tex;  /* headers */
    gpx_table_column_kind kind;
    int                   decimals;  /* -1: table.precision */
    int                   thousands; /* separators */
} gpx_table_column_info;

extern const gpx_table_column_info gpx_table_columns[GPX_TCOL_COUNT];

/* The config's table: section. */
typedef struct {
    size_t           ngroup;
    const char      *group[GPX_TABLE_MAX_KEYS];
    int              group_line[GPX_TABLE_MAX_KEYS], group_col[GPX_TABLE_MAX_KEYS];
    size_t           ncolumns;
    gpx_table_column column[GPX_TCOL_COUNT];
    int              sort;          /* -1: none, else a gpx_table_column */
    int              descending;
    int              precision;     /* decimals of the accuracies */
    char             source[4096];  /* the config they came from, for messages */
} gpx_table_settings;

/* A row of the table. */
typedef struct {
    size_t      first;   /* the runs.csv row that opened the group: its key values */
    size_t     *ok;      /* the runs.csv rows with status ok, in file order */
    size_t      nok;
    gpx_summary stat[GPX_TCOL_COUNT];
} gpx_run_group;

struct gpx_size_study;

typedef struct {
    char                   name[512];  /* the experiment: titles and captions */
    gpx_table_settings     set;
    gpx_csv                runs, epochs, evals;
    int                    have_epochs, have_evals;
    int                    rc[GPX_RUNS_NCOLUMNS];    /* runs.csv's columns by enum */
    int                    ec[GPX_EPOCHS_NCOLUMNS];
    int                    vc[GPX_EVALS_NCOLUMNS];
    int                    key_col[GPX_TABLE_MAX_KEYS];  /* runs.csv column of group[k] */
    double               (*value)[GPX_TCOL_COUNT];  /* per runs.csv row; NaN unknown */
    gpx_run_group         *groups;                  /* in the table's order */
    size_t                 ngroups;
    size_t                 nexcluded;                /* runs whose status is not ok */
    int                    has_validation;           /* some run had a validation split */
    struct gpx_size_study *study;                    /* from evals.csv; NULL: none */
} gpx_table;

/* ------------------------------------------------------------ settings */

/* No config: every column, default grouping, no sorting, precision 2. */
void        gpx_table_default_settings    (gpx_table_settings *s);

/* The table: section of a config loaded against gpx_run_schema (which
 * checked the names); s->group points into cfg. 0, or -1 with
 * "config:line:col: why" in err. */
int         gpx_table_settings_from_config(const ycfg *cfg, gpx_table_settings *s,
                                           char *err, size_t errlen);

/* Empty lists to their defaults, from runs.csv; every group key must be a
 * runs.csv column (else -1, and "config:line:col: ... did you mean" in err). */
int         gpx_table_resolve_settings    (gpx_table *t, char *err, size_t errlen);

/* -------------------------------------------------------------- input */

/* DIR/runs.csv, and DIR/epochs.csv and DIR/evals.csv when they are there,
 * with the columns the table needs (a file without one is an error). */
int         gpx_table_load                (gpx_table *t, const char *dir, char *err,
                                           size_t errlen);

/* -------------------------------------------------------------- rows */

/* The groups, each column summarised over their ok runs, sorted as the
 * settings say (stable: ties keep the order of runs.csv). 0, or -1 with
 * err (a field that is not a number, or out of memory). */
int         gpx_table_group               (gpx_table *t, char *err, size_t errlen);

/* 1 when run r (a runs.csv row) finished ok. */
int         gpx_table_run_ok              (const gpx_table *t, size_t r);

/* Group g's value of group key k. */
const char *gpx_table_key_value           (const gpx_table *t, const gpx_run_group *g,
                                           size_t k);

/* 1 when the table shows column c. */
int         gpx_table_has_column          (const gpx_table *t, gpx_table_column c);

/* The last part of a dotted path: "train.seed" -> "seed". */
const char *gpx_key_leaf                  (const char *path);

/* A row by its key values, for a legend: "gap" for one key, "head=gap,
 * batch=32" (the keys' leaves) for more, "all runs" for none; the values are
 * runs.csv row r's fields in cols[0..nkeys-1]. */
void        gpx_table_label               (const gpx_table *t, const char *const *keys,
                                           const int *cols, size_t nkeys, size_t r,
                                           char *buf, size_t len);

/* Free what load and group allocated, the size study too; t is zeroed. */
void        gpx_table_free                (gpx_table *t);

#endif /* GPOOL_EXPERIMENTS_RECORDS_TABLE_H */
