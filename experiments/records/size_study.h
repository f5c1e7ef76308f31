/*
 * size_study.h - evals.csv (the test set at other input sizes, written when
 * the config has eval.sizes) as `gpool table` shows it: one row per
 * (method, group) and one column per evaluation size.
 *
 * The groups are the table's (records/table.h), in its order, merged over
 * the seed keys; only the runs the main table keeps (status ok) count. A
 * cell holds the test accuracies of its ok evals.csv rows and the reasons
 * of the rows that were not applicable (a network that cannot take the
 * size), numbered in the order the table cites them.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_SIZE_STUDY_H
#define GPOOL_EXPERIMENTS_RECORDS_SIZE_STUDY_H

#include <stddef.h>

#include "records/table.h"

/* At most this many distinct reasons are kept per cell. */
#define GPX_CELL_REASONS 4

/* A (method, group, eval size). */
typedef struct {
    double *acc;                       /* test accuracy (%), evals.csv order */
    size_t  n, cap;
    size_t  nna;                       /* rows not applicable */
    int     reason[GPX_CELL_REASONS];  /* their distinct reasons: indices of study.reason */
    int     nreasons;
} gpx_size_cell;

/* A row group of the study: the table's group keys but the seeds. */
typedef struct {
    size_t run;          /* a runs.csv row of the group: its key values */
    long   train[4];     /* the distinct sizes its runs were trained at */
    int    ntrain;       /* 5: more than four */
} gpx_size_group;

typedef struct gpx_size_study {
    size_t          nkeys;             /* the table's group keys but the seeds */
    const char     *key[GPX_TABLE_MAX_KEYS];
    int             key_col[GPX_TABLE_MAX_KEYS];
    gpx_size_group *group;             /* in the order of the main table */
    size_t          ngroups;
    size_t          nruns;             /* runs.csv rows */
    int            *group_of_run;      /* per runs.csv row; -1: not ok */
    size_t         *run_of_eval;       /* per evals.csv row: its runs.csv row */
    char          **method;            /* in evals.csv order */
    size_t          nmethods;
    long           *size;              /* ascending */
    size_t          nsizes;
    char          **reason;            /* distinct, in evals.csv order */
    int            *reason_number;     /* 1-based, in the order the table cites them */
    size_t          nreasons;
    gpx_size_cell  *cell;              /* [method][group][size] */
    unsigned char  *seen;              /* [run][method]: the run has a row for the method */
    size_t          nskipped;          /* rows of runs the main table leaves out */
} gpx_size_study;

/* t->study from t->evals, after gpx_table_group; 0 (also without evals.csv,
 * t->study then NULL), or -1 with "evals.csv:line: why" in err. */
int                  gpx_size_study_build      (gpx_table *t, char *err, size_t errlen);

/* Free a study (NULL is fine). */
void                 gpx_size_study_free       (gpx_size_study *st);

/* The cell of method m, group g, size index z. */
const gpx_size_cell *gpx_size_cell_at          (const gpx_size_study *st, size_t m, size_t g,
                                                size_t z);

/* Runs of group g with rows for method m: the n of a table row, 0 for no row. */
size_t               gpx_size_study_runs       (const gpx_size_study *st, size_t m, size_t g);

/* 1 when the study has a table row: some ok run with evals.csv rows. */
int                  gpx_size_study_has_rows   (const gpx_size_study *st);

/* Group g's value of study key k (t->study's group). */
const char          *gpx_size_study_value      (const gpx_table *t, size_t g, size_t k);

/* 1 when method m has an accuracy for group g at some size. */
int                  gpx_size_series_has_points(const gpx_size_study *st, size_t m, size_t g);

#endif /* GPOOL_EXPERIMENTS_RECORDS_SIZE_STUDY_H */
