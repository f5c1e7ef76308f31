/*
 * results.h - the results files of the gpool commands, each defined once
 * as a list of columns that its writer and every reader use:
 *
 *   runs.csv    gpool run: one row per run          (gpx_runs_file)
 *   epochs.csv  gpool run: one row per run and epoch (gpx_epochs_file)
 *   evals.csv   gpool run: one row per run, evaluation size and method
 *               (gpx_evals_file)
 *   bench.csv   gpool bench: one row per point, shape and variant
 *               (gpx_bench_file)
 *   profile.csv gpool profile: one row per layer and pass, after comment
 *               lines (gpx_profile_file)
 *   throughput CSV  gpool throughput: one row per measurement
 *               (gpx_throughput_file)
 *   runs/<id>/progress.csv   gpool run: a run's epochs so far, exact to the
 *               bit, to continue it after an interruption (gpx_progress_file)
 *   lr-search.csv  gpool run with train.lr_search: one row per trial of each
 *               group's search, the chosen rate marked (gpx_lr_search_file)
 *   where.csv   gpool where: one row per run and map method, how well the
 *               maps find the placed item (gpx_where_file)
 *
 * The files of gpool run have the swept paths of the experiment's config
 * as columns of their own, between the leading columns (run_id, and
 * experiment in runs.csv) and the rest (from head on): swept_at says where.
 * Each file's columns are also an enum (GPX_RUNS_STATUS ...) that indexes
 * the list and the column numbers a reader looks up.
 *
 * Writing: gpx_record_header, then per row gpx_row_begin, one gpx_row_*
 * call per column in the list's order (gpx_row_swept at swept_at), and
 * gpx_row_end. A call that does not match the column's type is a bug and
 * asserts.
 * Reading: gpx_record_load is the one reader every command uses. It reads
 * the CSV strictly (records/csv.h), looks the list's columns up in the
 * header (gpx_record_columns), so the caller sees the columns by the enum,
 * and checks every value against its column's rule, declared once in the
 * list (records/results.c): a type, a range, the choices of a text, never
 * empty, part of the key no two rows share. Its messages say file and line
 * only; the command that called it says them in its own voice.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_RESULTS_H
#define GPOOL_EXPERIMENTS_RECORDS_RESULTS_H

#include <stddef.h>
#include <stdio.h>

#include "cfg/cfg.h"
#include "records/csv.h"

typedef enum {
    GPX_COL_TEXT,   /* quoted when it needs it */
    GPX_COL_INT,    /* a whole number */
    GPX_COL_REAL    /* printf format; empty when not finite */
} gpx_column_type;

/* What a column's values may be, checked by every reader (gpx_record_load).
 * An empty field is an unknown value, allowed unless GPX_REQUIRED. */
enum {
    GPX_REQUIRED = 1,   /* never empty */
    GPX_KEY      = 2,   /* one of the columns no two rows share all of */
    GPX_NAN_TOO  = 4    /* GPX_COL_REAL: "nan" is an unknown value too (as written
                           by the release before; the writers now leave it empty) */
};

typedef struct {
    const char        *name;
    gpx_column_type    type;
    const char        *format;   /* GPX_COL_REAL: how the writer prints it */
    int                timing;   /* measures the machine, not the result */
    double             min, max; /* GPX_COL_INT, GPX_COL_REAL: a value's range (finite) */
    const char *const *choices;  /* GPX_COL_TEXT: the values it takes, NULL-ended; NULL: any */
    unsigned           rule;     /* GPX_REQUIRED, GPX_KEY */
    int                added;    /* added since its file was first written: a file
                                    without it is read as if it were empty there */
} gpx_column;

typedef struct {
    const char       *name;       /* "runs.csv" */
    const gpx_column *columns;
    size_t            ncolumns;
    size_t            swept_at;   /* the swept paths go before columns[swept_at]; 0: none */
    unsigned          csv_flags;  /* GPX_CSV_COMMENTS: comment lines before the header */
} gpx_record_file;

/* ------------------------------------------------------------- the files */

enum {
    GPX_RUNS_RUN_ID, GPX_RUNS_EXPERIMENT, GPX_RUNS_HEAD, GPX_RUNS_SEED, GPX_RUNS_THREADS,
    GPX_RUNS_BATCH, GPX_RUNS_EPOCHS, GPX_RUNS_PARAMS, GPX_RUNS_FLOPS, GPX_RUNS_MEM_PARAMS,
    GPX_RUNS_MEM_GRADS, GPX_RUNS_MEM_OPTIM, GPX_RUNS_MEM_ACTIVATIONS, GPX_RUNS_MEM_WORKSPACE,
    GPX_RUNS_MEM_TOTAL, GPX_RUNS_MEM_ALLOC_PEAK, GPX_RUNS_FINAL_TRAIN_LOSS, GPX_RUNS_FINAL_TRAIN_ACC,
    GPX_RUNS_FINAL_VAL_ACC, GPX_RUNS_FINAL_TEST_LOSS, GPX_RUNS_FINAL_TEST_ACC,
    GPX_RUNS_BEST_TEST_ACC, GPX_RUNS_BEST_EPOCH, GPX_RUNS_TRAIN_S, GPX_RUNS_IMG_PER_S,
    GPX_RUNS_PEAK_RSS_MIB, GPX_RUNS_VARIANT, GPX_RUNS_STATUS, GPX_RUNS_REASON,
    GPX_RUNS_NCOLUMNS
};

enum {
    GPX_EPOCHS_RUN_ID, GPX_EPOCHS_HEAD, GPX_EPOCHS_SEED, GPX_EPOCHS_EPOCH, GPX_EPOCHS_LR,
    GPX_EPOCHS_TRAIN_LOSS, GPX_EPOCHS_TRAIN_ACC, GPX_EPOCHS_TRAIN_PASS_ACC, GPX_EPOCHS_VAL_LOSS, GPX_EPOCHS_VAL_ACC,
    GPX_EPOCHS_TEST_LOSS, GPX_EPOCHS_TEST_ACC, GPX_EPOCHS_EPOCH_S, GPX_EPOCHS_EVAL_S,
    GPX_EPOCHS_IMG_PER_S,
    GPX_EPOCHS_NCOLUMNS
};

enum {
    GPX_EVALS_RUN_ID, GPX_EVALS_HEAD, GPX_EVALS_SEED, GPX_EVALS_TRAIN_SIZE, GPX_EVALS_EVAL_SIZE,
    GPX_EVALS_METHOD, GPX_EVALS_TEST_ACC, GPX_EVALS_TEST_LOSS, GPX_EVALS_STATUS,
    GPX_EVALS_REASON,
    GPX_EVALS_NCOLUMNS
};

enum {
    GPX_BENCH_POINT_ID, GPX_BENCH_VARIANT, GPX_BENCH_IMPL, GPX_BENCH_ISA, GPX_BENCH_THREADED,
    GPX_BENCH_OP, GPX_BENCH_PASS, GPX_BENCH_LAYOUT, GPX_BENCH_K, GPX_BENCH_N, GPX_BENCH_C, GPX_BENCH_H,
    GPX_BENCH_W, GPX_BENCH_THREADS, GPX_BENCH_MODE, GPX_BENCH_BUFFERS, GPX_BENCH_BYTES,
    GPX_BENCH_REPS, GPX_BENCH_CALLS, GPX_BENCH_MEDIAN_S, GPX_BENCH_MIN_S, GPX_BENCH_GBPS,
    GPX_BENCH_PROBE_GBPS, GPX_BENCH_FRAC, GPX_BENCH_PROBE_SET, GPX_BENCH_PROBE_KERNEL,
    GPX_BENCH_CPU_WAIT, GPX_BENCH_ATTEMPTS, GPX_BENCH_STATUS, GPX_BENCH_NOTE,
    GPX_BENCH_NCOLUMNS
};

enum {
    GPX_PROFILE_LAYER, GPX_PROFILE_KIND, GPX_PROFILE_PASS, GPX_PROFILE_OUT_SHAPE,
    GPX_PROFILE_MEDIAN_MS, GPX_PROFILE_MIN_MS, GPX_PROFILE_WALL_MEDIAN_MS, GPX_PROFILE_FLOPS,
    GPX_PROFILE_BYTES, GPX_PROFILE_GFLOP_S, GPX_PROFILE_GB_S, GPX_PROFILE_FLOP_PER_BYTE,
    GPX_PROFILE_SHARE_PCT, GPX_PROFILE_PEAK_FRAC, GPX_PROFILE_DESC,
    GPX_PROFILE_NCOLUMNS
};

enum {
    GPX_PROGRESS_EPOCH, GPX_PROGRESS_LR, GPX_PROGRESS_TRAIN_LOSS, GPX_PROGRESS_TRAIN_ACC,
    GPX_PROGRESS_TRAIN_PASS_ACC, GPX_PROGRESS_VAL_LOSS, GPX_PROGRESS_VAL_ACC, GPX_PROGRESS_TEST_LOSS, GPX_PROGRESS_TEST_ACC,
    GPX_PROGRESS_EPOCH_S, GPX_PROGRESS_EVAL_S, GPX_PROGRESS_IMG_PER_S,
    GPX_PROGRESS_NCOLUMNS
};

enum {
    GPX_LRS_GROUP_ID, GPX_LRS_GROUP, GPX_LRS_SETTINGS, GPX_LRS_LR, GPX_LRS_VAL_ACC,
    GPX_LRS_VAL_LOSS, GPX_LRS_STATUS, GPX_LRS_CHOSEN,
    GPX_LRS_NCOLUMNS
};

enum {
    GPX_THROUGHPUT_KIND, GPX_THROUGHPUT_HEAD, GPX_THROUGHPUT_BATCH, GPX_THROUGHPUT_REP,
    GPX_THROUGHPUT_STEPS, GPX_THROUGHPUT_SECONDS, GPX_THROUGHPUT_IMG_PER_S,
    GPX_THROUGHPUT_MS_PER_STEP, GPX_THROUGHPUT_THREADS,
    GPX_THROUGHPUT_NCOLUMNS
};

enum {
    GPX_WHERE_RUN_ID, GPX_WHERE_HEAD, GPX_WHERE_SEED, GPX_WHERE_METHOD, GPX_WHERE_IMAGES,
    GPX_WHERE_TEST_ACC, GPX_WHERE_POINTING, GPX_WHERE_IOU, GPX_WHERE_CENTRE,
    GPX_WHERE_MARGIN,
    GPX_WHERE_NCOLUMNS
};

extern const gpx_record_file gpx_runs_file;
extern const gpx_record_file gpx_epochs_file;
extern const gpx_record_file gpx_evals_file;
extern const gpx_record_file gpx_bench_file;
extern const gpx_record_file gpx_profile_file;
extern const gpx_record_file gpx_progress_file;
extern const gpx_record_file gpx_throughput_file;
extern const gpx_record_file gpx_lr_search_file;
extern const gpx_record_file gpx_where_file;

/* ------------------------------------------------------------- writing */

/* A row being written: the next column of file. */
typedef struct {
    FILE                  *fp;
    const gpx_record_file *file;
    const ycfg            *cfg;      /* the swept paths; NULL: none */
    size_t                 next;
    int                    swept;    /* the swept values are written */
    int                    fields;   /* written so far, for the commas */
} gpx_row;

/* The header line: the columns' names, the swept paths of cfg at swept_at. */
void gpx_record_header(FILE *fp, const gpx_record_file *f, const ycfg *cfg);

void gpx_row_begin(gpx_row *w, FILE *fp, const gpx_record_file *f, const ycfg *cfg);
/* A text column. */
void gpx_row_text (gpx_row *w, const char *s);
/* An integer column. */
void gpx_row_int  (gpx_row *w, long long v);
/* A real column, in the column's format; empty when v is NaN or infinite. */
void gpx_row_real (gpx_row *w, double v);
/* Any column left empty (a value that is not known). */
void gpx_row_empty(gpx_row *w);
/* The point's values of the swept paths, at swept_at. */
void gpx_row_swept(gpx_row *w, const ycfg_point *pt);
/* Ends the line; every column must have been written. */
void gpx_row_end  (gpx_row *w);

/* ------------------------------------------------------------- reading */

/* The one reader of the results files: path read as the file f, strictly.
 * The CSV as records/csv.h reads it, every line ended (a row without its
 * line ending was cut short), f's comment lines skipped; the columns
 * need[0..nneed-1] there (need NULL: all of them), col[] set as
 * gpx_record_columns sets it; then gpx_record_check. A missing file sets
 * *missing when missing is not NULL (t empty, col[] all -1) and returns 0.
 * 0, or -1 with "PATH:LINE: why" in err, t empty; the caller says it in its
 * own voice ("gpool merge: PATH:LINE: why"). */
int  gpx_record_load   (gpx_csv *t, const char *path, const gpx_record_file *f,
                        const int *need, size_t nneed, int *col, int *missing, char *err,
                        size_t errlen);

/* The rules of f's columns (col[] as gpx_record_columns sets it; columns
 * t lacks are skipped) on every row of t: an integer column holds a whole
 * number, a real column a finite number, both within [min, max]; a text
 * column one of its choices; a GPX_REQUIRED column is never empty; no two
 * rows have the same values in every GPX_KEY column. 0, or -1 with
 * "PATH:LINE: column NAME: why" in err. */
int  gpx_record_check  (const gpx_csv *t, const gpx_record_file *f, const int *col, char *err,
                        size_t errlen);

/* Every row of t (epochs.csv or evals.csv; id_col its run_id column) is of
 * a run that runs (runs_col its run_id column) has a row for: else runs.csv
 * lost rows. 0, or -1 with "PATH:LINE: ..." in err. */
int  gpx_record_runs_known(const gpx_csv *t, int id_col, const gpx_csv *runs, int runs_col,
                           char *err, size_t errlen);

/* col[k] = the column of t named f->columns[k].name, -1 when t has none.
 * need[0..nneed-1] (indices into f->columns) must be there: else -1 and
 * "PATH: missing columns: a, b (...)" in err. need NULL: all of them but the
 * added ones (a file of an earlier release lacks them: their col is -1). */
int  gpx_record_columns(const gpx_csv *t, const gpx_record_file *f, const int *need,
                        size_t nneed, int *col, char *err, size_t errlen);

/* The swept columns of a file read with gpx_record_columns: [*first, *end),
 * between the leading columns and the rest (empty when there are none). */
void gpx_record_swept  (const gpx_record_file *f, const int *col, int *first, int *end);

/* 1 when t's header is exactly what the writer writes for cfg. */
int  gpx_record_same_header(const gpx_csv *t, const gpx_record_file *f, const ycfg *cfg);

/* A file of an earlier release, whose header lacks only `added` columns,
 * turned into what this one writes: t parsed again from its rows with an
 * empty field in each added column (a file already current is left as it
 * is). 0; 1 when t's header is neither (t unchanged); -1 with err (out of
 * memory: t is then empty). */
int  gpx_record_upgrade(gpx_csv *t, const gpx_record_file *f, const ycfg *cfg, char *err,
                        size_t errlen);

/* Row ra of a against row rb of b, column by column by name: a's columns
 * that b also has, the timing columns of f left out. Prints one line per
 * difference to out; returns how many. */
int  gpx_record_diff   (const gpx_record_file *f, const gpx_csv *a, size_t ra, const gpx_csv *b,
                        size_t rb, FILE *out);

#endif /* GPOOL_EXPERIMENTS_RECORDS_RESULTS_H */
