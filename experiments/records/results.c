/*
 * results.c - the column lists of the results files, and their writer and
 * reader (see results.h). A list's order is the files' order: changing it
 * changes every file written from then on, and what `--resume` accepts.
 */
#include "autoconfig.h"

#include "records/results.h"
#include "util/util.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A column's range: any value, >= 0, >= 1, a fraction in [0, 1], an image side, a
 * difference of two fractions. */
#define ANY      -INFINITY, INFINITY
#define NONNEG   0, INFINITY
#define POSITIVE 1, INFINITY
#define UNIT     0, 1
#define PIXELS   1, 100000
#define SIGNED_UNIT -1, 1

#define TEXT(name)               { name, GPX_COL_TEXT, NULL, 0, ANY, NULL, 0, 0 }
#define ID(name)                 { name, GPX_COL_TEXT, NULL, 0, ANY, NULL, GPX_REQUIRED | GPX_KEY, 0 }
#define NAME(name)               { name, GPX_COL_TEXT, NULL, 0, ANY, NULL, GPX_REQUIRED, 0 }
#define CHOICE(name, choices)    { name, GPX_COL_TEXT, NULL, 0, ANY, choices, GPX_REQUIRED, 0 }
#define INT(name, range)         { name, GPX_COL_INT, NULL, 0, range, NULL, 0, 0 }
#define KEY_INT(name, range)     { name, GPX_COL_INT, NULL, 0, range, NULL, GPX_REQUIRED | GPX_KEY, 0 }
#define REAL(name, fmt, range)   { name, GPX_COL_REAL, fmt, 0, range, NULL, 0, 0 }
#define TIMING(name, fmt)        { name, GPX_COL_REAL, fmt, 1, NONNEG, NULL, 0, 0 }
#define TIMING_INT(name)         { name, GPX_COL_INT, NULL, 1, NONNEG, NULL, 0, 0 }
#define TIMING_TEXT(name)        { name, GPX_COL_TEXT, NULL, 1, ANY, NULL, 0, 0 }
#define EXACT(name, range)       { name, GPX_COL_REAL, "%.17g", 0, range, NULL, GPX_NAN_TOO, 0 }
#define EXACT_TIMING(name)       { name, GPX_COL_REAL, "%.17g", 1, NONNEG, NULL, GPX_NAN_TOO, 0 }
#define ADDED_REAL(name, fmt, range) { name, GPX_COL_REAL, fmt, 0, range, NULL, 0, 1 }
#define ADDED_EXACT(name, range)  { name, GPX_COL_REAL, "%.17g", 0, range, NULL, GPX_NAN_TOO, 1 }
#define ADDED_INT(name, range)    { name, GPX_COL_INT, NULL, 0, range, NULL, 0, 1 }
#define ADDED_TIMING_INT(name)    { name, GPX_COL_INT, NULL, 1, NONNEG, NULL, 0, 1 }
#define ADDED_TIMING(name, fmt)   { name, GPX_COL_REAL, fmt, 1, NONNEG, NULL, 0, 1 }
#define NCOLS(list)              (sizeof list / sizeof list[0])

/* ------------------------------------------------------------- the files */

/* What core/runner.c and the evaluation at other sizes record, and how a
 * bench row ended (probe/pool_rows.c). */
static const char *const run_statuses[] = { "ok", "diverged", "failed", "interrupted", NULL };
static const char *const eval_statuses[] = { "ok", "n/a", NULL };
static const char *const bench_statuses[] = { "ok", "mismatch", "error", "interrupted", NULL };

/* Losses are cross-entropies (>= 0), accuracies fractions, counts and
 * sizes >= 0; threads is 0 in the row of a run whose network was never
 * built (and its params to mem_total are empty). */
static const gpx_column runs_columns[] = {
    [GPX_RUNS_RUN_ID] = ID("run_id"),
    [GPX_RUNS_EXPERIMENT] = TEXT("experiment"),
    [GPX_RUNS_HEAD] = TEXT("head"),
    [GPX_RUNS_SEED] = INT("seed", NONNEG),
    [GPX_RUNS_THREADS] = INT("threads", NONNEG),
    [GPX_RUNS_BATCH] = INT("batch", POSITIVE),
    [GPX_RUNS_EPOCHS] = INT("epochs", NONNEG),
    [GPX_RUNS_PARAMS] = REAL("params", "%.0f", NONNEG),
    [GPX_RUNS_FLOPS] = REAL("flops", "%.0f", NONNEG),
    [GPX_RUNS_MEM_PARAMS] = INT("mem_params", NONNEG),
    [GPX_RUNS_MEM_GRADS] = INT("mem_grads", NONNEG),
    [GPX_RUNS_MEM_OPTIM] = INT("mem_optim", NONNEG),
    [GPX_RUNS_MEM_ACTIVATIONS] = INT("mem_activations", NONNEG),
    [GPX_RUNS_MEM_WORKSPACE] = INT("mem_workspace", NONNEG),
    [GPX_RUNS_MEM_TOTAL] = INT("mem_total", NONNEG),
    /* measured, as this build allocates (gp_alloc_stats): like peak RSS, not a result */
    [GPX_RUNS_MEM_ALLOC_PEAK] = ADDED_TIMING_INT("mem_alloc_peak"),
    [GPX_RUNS_FINAL_TRAIN_LOSS] = REAL("final_train_loss", "%.6f", NONNEG),
    [GPX_RUNS_FINAL_TRAIN_ACC] = REAL("final_train_acc", "%.5f", UNIT),
    [GPX_RUNS_FINAL_VAL_ACC] = REAL("final_val_acc", "%.5f", UNIT),
    [GPX_RUNS_FINAL_TEST_LOSS] = REAL("final_test_loss", "%.6f", NONNEG),
    [GPX_RUNS_FINAL_TEST_ACC] = REAL("final_test_acc", "%.5f", UNIT),
    [GPX_RUNS_BEST_TEST_ACC] = REAL("best_test_acc", "%.5f", UNIT),
    [GPX_RUNS_BEST_EPOCH] = INT("best_epoch", POSITIVE),
    [GPX_RUNS_TRAIN_S] = TIMING("train_s", "%.3f"),
    [GPX_RUNS_IMG_PER_S] = TIMING("img_per_s", "%.1f"),
    [GPX_RUNS_PEAK_RSS_MIB] = TIMING("peak_rss_mib", "%.1f"),
    [GPX_RUNS_VARIANT] = TEXT("variant"),
    [GPX_RUNS_STATUS] = CHOICE("status", run_statuses),
    [GPX_RUNS_REASON] = TEXT("reason"),
};

static const gpx_column epochs_columns[] = {
    [GPX_EPOCHS_RUN_ID] = ID("run_id"),
    [GPX_EPOCHS_HEAD] = TEXT("head"),
    [GPX_EPOCHS_SEED] = INT("seed", NONNEG),
    [GPX_EPOCHS_EPOCH] = KEY_INT("epoch", POSITIVE),
    [GPX_EPOCHS_LR] = REAL("lr", "%.6g", NONNEG),
    [GPX_EPOCHS_TRAIN_LOSS] = REAL("train_loss", "%.6f", NONNEG),
    [GPX_EPOCHS_TRAIN_ACC] = REAL("train_acc", "%.5f", UNIT),
    [GPX_EPOCHS_TRAIN_PASS_ACC] = ADDED_REAL("train_pass_acc", "%.5f", UNIT),
    [GPX_EPOCHS_VAL_LOSS] = REAL("val_loss", "%.6f", NONNEG),
    [GPX_EPOCHS_VAL_ACC] = REAL("val_acc", "%.5f", UNIT),
    [GPX_EPOCHS_TEST_LOSS] = REAL("test_loss", "%.6f", NONNEG),
    [GPX_EPOCHS_TEST_ACC] = REAL("test_acc", "%.5f", UNIT),
    [GPX_EPOCHS_EPOCH_S] = TIMING("epoch_s", "%.3f"),
    [GPX_EPOCHS_EVAL_S] = TIMING("eval_s", "%.3f"),
    [GPX_EPOCHS_IMG_PER_S] = TIMING("img_per_s", "%.1f"),
};

/* No key: eval.sizes may name a size twice, and each gets its rows. */
static const gpx_column evals_columns[] = {
    [GPX_EVALS_RUN_ID] = NAME("run_id"),
    [GPX_EVALS_HEAD] = TEXT("head"),
    [GPX_EVALS_SEED] = INT("seed", NONNEG),
    [GPX_EVALS_TRAIN_SIZE] = INT("train_size", PIXELS),
    [GPX_EVALS_EVAL_SIZE] = INT("eval_size", PIXELS),
    [GPX_EVALS_METHOD] = TEXT("method"),
    [GPX_EVALS_TEST_ACC] = REAL("test_acc", "%.5f", UNIT),
    [GPX_EVALS_TEST_LOSS] = REAL("test_loss", "%.6f", NONNEG),
    [GPX_EVALS_STATUS] = CHOICE("status", eval_statuses),
    [GPX_EVALS_REASON] = TEXT("reason"),
};

/* gpool where: core/cam.h's methods; pointing, IoU and the centre baseline
 * are fractions, the margin is pointing less the baseline. */
static const char *const where_methods[] = { "score", "cam", "attention", "gradcam", NULL };
static const gpx_column where_columns[] = {
    [GPX_WHERE_RUN_ID] = ID("run_id"),
    [GPX_WHERE_HEAD] = TEXT("head"),
    [GPX_WHERE_SEED] = INT("seed", NONNEG),
    [GPX_WHERE_METHOD] = { "method", GPX_COL_TEXT, NULL, 0, ANY, where_methods,
                           GPX_REQUIRED | GPX_KEY, 0 },
    [GPX_WHERE_IMAGES] = INT("images", POSITIVE),
    [GPX_WHERE_TEST_ACC] = REAL("test_acc", "%.5f", UNIT),
    [GPX_WHERE_POINTING] = REAL("pointing", "%.5f", UNIT),
    [GPX_WHERE_IOU] = REAL("iou", "%.5f", UNIT),
    [GPX_WHERE_CENTRE] = REAL("centre_pointing", "%.5f", UNIT),
    [GPX_WHERE_MARGIN] = REAL("margin", "%.5f", SIGNED_UNIT),
};

/* GB/s in significant digits, not decimals: a 2-thread row that lost the
 * CPU to another process can run at 1e-4 GB/s and must not print as 0. */
static const gpx_column bench_columns[] = {
    [GPX_BENCH_POINT_ID] = NAME("point_id"),
    [GPX_BENCH_VARIANT] = TEXT("variant"),
    [GPX_BENCH_IMPL] = TEXT("impl"),
    [GPX_BENCH_ISA] = TEXT("isa"),
    [GPX_BENCH_THREADED] = INT("threaded", UNIT),
    [GPX_BENCH_OP] = TEXT("op"),
    [GPX_BENCH_PASS] = TEXT("pass"),
    [GPX_BENCH_LAYOUT] = TEXT("layout"),
    [GPX_BENCH_K] = ADDED_INT("k", NONNEG),   /* top-k's k; 0 for the other ops */
    [GPX_BENCH_N] = INT("n", NONNEG),
    [GPX_BENCH_C] = INT("c", NONNEG),
    [GPX_BENCH_H] = INT("h", NONNEG),
    [GPX_BENCH_W] = INT("w", NONNEG),
    [GPX_BENCH_THREADS] = INT("threads", NONNEG),
    [GPX_BENCH_MODE] = TEXT("mode"),
    [GPX_BENCH_BUFFERS] = INT("buffers", NONNEG),
    [GPX_BENCH_BYTES] = INT("bytes", NONNEG),
    [GPX_BENCH_REPS] = INT("reps", NONNEG),
    [GPX_BENCH_CALLS] = TIMING_INT("calls"),
    [GPX_BENCH_MEDIAN_S] = TIMING("median_s", "%.6e"),
    [GPX_BENCH_MIN_S] = TIMING("min_s", "%.6e"),
    [GPX_BENCH_GBPS] = TIMING("gbps", "%.5g"),
    [GPX_BENCH_PROBE_GBPS] = TIMING("probe_gbps", "%.5g"),
    [GPX_BENCH_FRAC] = TIMING("frac", "%.4g"),
    [GPX_BENCH_PROBE_SET] = TEXT("probe_set"),
    [GPX_BENCH_PROBE_KERNEL] = TIMING_TEXT("probe_kernel"),
    [GPX_BENCH_CPU_WAIT] = TIMING("cpu_wait", "%.4f"),
    [GPX_BENCH_ATTEMPTS] = TIMING_INT("attempts"),
    [GPX_BENCH_STATUS] = CHOICE("status", bench_statuses),
    [GPX_BENCH_NOTE] = TEXT("note"),
};

/* layer is empty in the rows that are no layer (the loss, the optimizer),
 * peak_frac (GFLOP/s over the FMA peak, probe/peak.h) in the rows that are
 * no conv2d. */
static const gpx_column profile_columns[] = {
    [GPX_PROFILE_LAYER] = INT("layer", NONNEG),
    [GPX_PROFILE_KIND] = TEXT("kind"),
    [GPX_PROFILE_PASS] = TEXT("pass"),
    [GPX_PROFILE_OUT_SHAPE] = TEXT("out_shape"),
    [GPX_PROFILE_MEDIAN_MS] = TIMING("median_ms", "%.6f"),
    [GPX_PROFILE_MIN_MS] = TIMING("min_ms", "%.6f"),
    [GPX_PROFILE_WALL_MEDIAN_MS] = TIMING("wall_median_ms", "%.6f"),
    [GPX_PROFILE_FLOPS] = REAL("flops", "%.0f", NONNEG),
    [GPX_PROFILE_BYTES] = REAL("bytes", "%.0f", NONNEG),
    [GPX_PROFILE_GFLOP_S] = TIMING("gflop_s", "%.4f"),
    [GPX_PROFILE_GB_S] = TIMING("gb_s", "%.4f"),
    [GPX_PROFILE_FLOP_PER_BYTE] = REAL("flop_per_byte", "%.4f", NONNEG),
    [GPX_PROFILE_SHARE_PCT] = TIMING("share_pct", "%.3f"),
    [GPX_PROFILE_PEAK_FRAC] = ADDED_TIMING("peak_frac", "%.4f"),
    [GPX_PROFILE_DESC] = TEXT("desc"),
};

static const gpx_column throughput_columns[] = {
    [GPX_THROUGHPUT_KIND] = TEXT("kind"),
    [GPX_THROUGHPUT_HEAD] = TEXT("head"),
    [GPX_THROUGHPUT_BATCH] = INT("batch", POSITIVE),
    [GPX_THROUGHPUT_REP] = INT("rep", NONNEG),
    [GPX_THROUGHPUT_STEPS] = INT("steps", NONNEG),
    [GPX_THROUGHPUT_SECONDS] = TIMING("seconds", "%.4f"),
    [GPX_THROUGHPUT_IMG_PER_S] = TIMING("img_per_s", "%.1f"),
    [GPX_THROUGHPUT_MS_PER_STEP] = TIMING("ms_per_step", "%.4f"),
    [GPX_THROUGHPUT_THREADS] = INT("threads", NONNEG),
};

/* %.17g: read back, every value is the same double. */
static const gpx_column progress_columns[] = {
    [GPX_PROGRESS_EPOCH] = KEY_INT("epoch", POSITIVE),
    [GPX_PROGRESS_LR] = EXACT("lr", NONNEG),
    [GPX_PROGRESS_TRAIN_LOSS] = EXACT("train_loss", NONNEG),
    [GPX_PROGRESS_TRAIN_ACC] = EXACT("train_acc", UNIT),
    [GPX_PROGRESS_TRAIN_PASS_ACC] = ADDED_EXACT("train_pass_acc", UNIT),
    [GPX_PROGRESS_VAL_LOSS] = EXACT("val_loss", NONNEG),
    [GPX_PROGRESS_VAL_ACC] = EXACT("val_acc", UNIT),
    [GPX_PROGRESS_TEST_LOSS] = EXACT("test_loss", NONNEG),
    [GPX_PROGRESS_TEST_ACC] = EXACT("test_acc", UNIT),
    [GPX_PROGRESS_EPOCH_S] = EXACT_TIMING("epoch_s"),
    [GPX_PROGRESS_EVAL_S] = EXACT_TIMING("eval_s"),
    [GPX_PROGRESS_IMG_PER_S] = EXACT_TIMING("img_per_s"),
};

/* the rate in %.9g: read back, it is the same float */
static const gpx_column lr_search_columns[] = {
    [GPX_LRS_GROUP_ID] = NAME("group_id"),
    [GPX_LRS_GROUP] = TEXT("group"),
    [GPX_LRS_SETTINGS] = TEXT("settings"),
    [GPX_LRS_LR] = REAL("lr", "%.9g", NONNEG),
    [GPX_LRS_VAL_ACC] = REAL("val_acc", "%.5f", UNIT),
    [GPX_LRS_VAL_LOSS] = REAL("val_loss", "%.6f", NONNEG),
    [GPX_LRS_STATUS] = TEXT("status"),
    [GPX_LRS_CHOSEN] = INT("chosen", UNIT),
};

_Static_assert(NCOLS(runs_columns) == GPX_RUNS_NCOLUMNS, "runs.csv: enum and list differ");
_Static_assert(NCOLS(epochs_columns) == GPX_EPOCHS_NCOLUMNS, "epochs.csv: enum and list differ");
_Static_assert(NCOLS(evals_columns) == GPX_EVALS_NCOLUMNS, "evals.csv: enum and list differ");
_Static_assert(NCOLS(where_columns) == GPX_WHERE_NCOLUMNS, "where.csv: enum and list differ");
_Static_assert(NCOLS(bench_columns) == GPX_BENCH_NCOLUMNS, "bench.csv: enum and list differ");
_Static_assert(NCOLS(profile_columns) == GPX_PROFILE_NCOLUMNS,
               "profile.csv: enum and list differ");
_Static_assert(NCOLS(throughput_columns) == GPX_THROUGHPUT_NCOLUMNS,
               "throughput: enum and list differ");
_Static_assert(NCOLS(progress_columns) == GPX_PROGRESS_NCOLUMNS,
               "progress.csv: enum and list differ");
_Static_assert(NCOLS(lr_search_columns) == GPX_LRS_NCOLUMNS,
               "lr-search.csv: enum and list differ");

/* name, columns, how many, where the swept paths go, comment lines */
const gpx_record_file gpx_runs_file = { "runs.csv", runs_columns, GPX_RUNS_NCOLUMNS,
                                        GPX_RUNS_HEAD, 0 };
const gpx_record_file gpx_epochs_file = { "epochs.csv", epochs_columns, GPX_EPOCHS_NCOLUMNS,
                                          GPX_EPOCHS_HEAD, 0 };
const gpx_record_file gpx_evals_file = { "evals.csv", evals_columns, GPX_EVALS_NCOLUMNS,
                                         GPX_EVALS_HEAD, 0 };
const gpx_record_file gpx_where_file = { "where.csv", where_columns, GPX_WHERE_NCOLUMNS,
                                         GPX_WHERE_HEAD, 0 };
const gpx_record_file gpx_bench_file = { "bench.csv", bench_columns, GPX_BENCH_NCOLUMNS, 0, 0 };
const gpx_record_file gpx_profile_file = { "profile.csv", profile_columns, GPX_PROFILE_NCOLUMNS,
                                           0, GPX_CSV_COMMENTS };
const gpx_record_file gpx_throughput_file = { "throughput.csv", throughput_columns,
                                              GPX_THROUGHPUT_NCOLUMNS, 0, 0 };
const gpx_record_file gpx_progress_file = { "progress.csv", progress_columns,
                                            GPX_PROGRESS_NCOLUMNS, 0, 0 };
const gpx_record_file gpx_lr_search_file = { "lr-search.csv", lr_search_columns,
                                             GPX_LRS_NCOLUMNS, 0, 0 };

/* ------------------------------------------------------------- writing */

static size_t nswept(const gpx_record_file *f, const ycfg *cfg)
{
    return f->swept_at && cfg ? ycfg_nswept(cfg) : 0;
}

void gpx_record_header(FILE *fp, const gpx_record_file *f, const ycfg *cfg)
{
    for (size_t k = 0; k < f->ncolumns; k++) {
        if (k == f->swept_at)
            for (size_t s = 0; s < nswept(f, cfg); s++) {
                fputc(',', fp);
                gpx_csv_write_text(fp, ycfg_swept_path(cfg, s));
            }
        fprintf(fp, "%s%s", k ? "," : "", f->columns[k].name);
    }
    fputc('\n', fp);
}

void gpx_row_begin(gpx_row *w, FILE *fp, const gpx_record_file *f, const ycfg *cfg)
{
    memset(w, 0, sizeof *w);
    w->fp = fp;
    w->file = f;
    w->cfg = cfg;
    w->swept = !f->swept_at;
}

/* The separator before the next column; asserts it has the given type. */
static void next_column(gpx_row *w, int type)
{
    assert(w->next < w->file->ncolumns);
    assert(w->next != w->file->swept_at || w->swept);
    assert(type < 0 || (int)w->file->columns[w->next].type == type);
    if (w->fields++)
        fputc(',', w->fp);
    w->next++;
}

void gpx_row_text(gpx_row *w, const char *s)
{
    next_column(w, GPX_COL_TEXT);
    gpx_csv_write_text(w->fp, s ? s : "");
}

void gpx_row_int(gpx_row *w, long long v)
{
    next_column(w, GPX_COL_INT);
    fprintf(w->fp, "%lld", v);
}

void gpx_row_real(gpx_row *w, double v)
{
    const char *format = w->file->columns[w->next].format;
    next_column(w, GPX_COL_REAL);
    gpx_csv_write_number(w->fp, format, v);
}

void gpx_row_empty(gpx_row *w)
{
    next_column(w, -1);
}

void gpx_row_swept(gpx_row *w, const ycfg_point *pt)
{
    assert(w->next == w->file->swept_at && !w->swept);
    for (size_t s = 0; s < nswept(w->file, w->cfg); s++) {
        char *text = ycfg_value_text(ycfg_get(pt, ycfg_swept_path(w->cfg, s)));
        if (w->fields++)
            fputc(',', w->fp);
        gpx_csv_write_text(w->fp, text ? text : "");
        free(text);
    }
    w->swept = 1;
}

void gpx_row_end(gpx_row *w)
{
    assert(w->next == w->file->ncolumns && w->swept);
    fputc('\n', w->fp);
}

/* ------------------------------------------------------------- reading */

int gpx_record_columns(const gpx_csv *t, const gpx_record_file *f, const int *need,
                       size_t nneed, int *col, char *err, size_t errlen)
{
    for (size_t k = 0; k < f->ncolumns; k++)
        col[k] = gpx_csv_column(t, f->columns[k].name);
    size_t o = (size_t)snprintf(err, errlen, "%s: missing columns:", t->path);
    int missing = 0;
    for (size_t i = 0; i < (need ? nneed : f->ncolumns); i++) {
        int k = need ? need[i] : (int)i;
        if (!need && f->columns[k].added)
            continue;   /* a file of an earlier release lacks it: the reader sees -1 */
        if (col[k] < 0 && o < errlen)
            o += (size_t)snprintf(err + o, errlen - o, "%s %s", missing ? "," : "",
                                  f->columns[k].name);
        missing += col[k] < 0;
    }
    if (missing && o < errlen)
        snprintf(err + o, errlen - o, " (not a %s written by gpool?)", f->name);
    return missing ? -1 : 0;
}

void gpx_record_swept(const gpx_record_file *f, const int *col, int *first, int *end)
{
    *first = *end = 0;
    if (!f->swept_at || col[f->swept_at - 1] < 0 || col[f->swept_at] <= col[f->swept_at - 1])
        return;
    *first = col[f->swept_at - 1] + 1;
    *end = col[f->swept_at];
}

int gpx_record_same_header(const gpx_csv *t, const gpx_record_file *f, const ycfg *cfg)
{
    size_t n = nswept(f, cfg), k = 0;
    if (t->header.n != f->ncolumns + n)
        return 0;
    for (size_t c = 0; c < f->ncolumns; c++) {
        if (c == f->swept_at)
            for (size_t s = 0; s < n; s++)
                if (strcmp(t->header.field[k++], ycfg_swept_path(cfg, s)))
                    return 0;
        if (strcmp(t->header.field[k++], f->columns[c].name))
            return 0;
    }
    return 1;
}

/* Each column f writes (cfg's swept paths among them), in order: its name
 * into name[] and where t's header has it into at[] (-1: an added column t
 * lacks). 1 when t lacks only added columns, else 0. */
static int header_map(const gpx_csv *t, const gpx_record_file *f, const ycfg *cfg,
                      const char **name, int *at)
{
    size_t n = nswept(f, cfg), k = 0, i = 0;
    int ok = 1;
    for (size_t c = 0; c < f->ncolumns; c++) {
        for (size_t s = 0; c == f->swept_at && s < n; s++, i++) {
            name[i] = ycfg_swept_path(cfg, s);
            at[i] = k < t->header.n && !strcmp(t->header.field[k], name[i]) ? (int)k++ : -1;
            ok &= at[i] >= 0;
        }
        name[i] = f->columns[c].name;
        at[i] = k < t->header.n && !strcmp(t->header.field[k], name[i]) ? (int)k++ : -1;
        ok &= at[i] >= 0 || f->columns[c].added;
        i++;
    }
    return ok && k == t->header.n;
}

/* t with an empty field where at[] is -1, as CSV text (caller frees; NULL: out of memory). */
static char *upgraded_text(const gpx_csv *t, const char **name, const int *at, size_t ncols)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp)
        return NULL;
    for (size_t i = 0; i < ncols; i++) {
        fputs(i ? "," : "", fp);
        gpx_csv_write_text(fp, name[i]);
    }
    fputc('\n', fp);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < ncols; i++) {
            fputs(i ? "," : "", fp);
            if (at[i] >= 0)
                gpx_csv_write_text(fp, gpx_csv_field(t, r, at[i]));
        }
        fputc('\n', fp);
    }
    if (fclose(fp)) {
        free(text);
        return NULL;
    }
    return text;
}

int gpx_record_upgrade(gpx_csv *t, const gpx_record_file *f, const ycfg *cfg, char *err,
                       size_t errlen)
{
    if (gpx_record_same_header(t, f, cfg))
        return 0;
    size_t ncols = f->ncolumns + nswept(f, cfg);
    int *at = malloc(ncols * sizeof *at);
    const char **name = malloc(ncols * sizeof *name);
    int oom = !at || !name, fits = !oom && header_map(t, f, cfg, name, at);
    char path[sizeof t->path], *text = fits ? upgraded_text(t, name, at, ncols) : NULL;
    free(name);
    free(at);
    if (!fits && !oom)
        return 1;
    snprintf(path, sizeof path, "%s", t->path);
    gpx_csv_free(t);
    if (!text)
        return gpx_fail(err, errlen, "%s: out of memory", path);
    int rc = gpx_csv_parse(t, path, text, err, errlen);
    free(text);
    return rc;
}

static int is_timing(const gpx_record_file *f, const char *name)
{
    for (size_t k = 0; k < f->ncolumns; k++)
        if (!strcmp(f->columns[k].name, name))
            return f->columns[k].timing;
    return 0;
}

int gpx_record_diff(const gpx_record_file *f, const gpx_csv *a, size_t ra, const gpx_csv *b,
                    size_t rb, FILE *out)
{
    int diffs = 0;
    for (size_t k = 0; k < a->header.n; k++) {
        const char *name = a->header.field[k];
        int kb = gpx_csv_column(b, name);
        if (kb < 0 || is_timing(f, name))
            continue;   /* swept columns exist only in the sweep's file */
        const char *x = gpx_csv_field(a, ra, (int)k), *y = gpx_csv_field(b, rb, kb);
        if (strcmp(x, y)) {
            fprintf(out, "  %-18s recorded %s, rerun %s\n", name, x, y);
            diffs++;
        }
    }
    return diffs;
}

/* ------------------------------------------------------------- checks */

/* "PATH:LINE: column NAME: why" for row r's field in column c. -1. */
static int value_fail(const gpx_csv *t, size_t r, int c, const char *why, char *err,
                      size_t errlen)
{
    snprintf(err, errlen, "%s:%d: column %s: %s", t->path, t->rows[r].line, t->header.field[c],
             why);
    return -1;
}

/* s as the number column k holds: a whole number or a finite one, as its
 * type says; 0, or -1 with why. */
static int parse_value(const gpx_column *k, const char *s, double *v, char *why, size_t len)
{
    char *end;
    errno = 0;
    if (k->type == GPX_COL_INT) {
        long long n = strtoll(s, &end, 10);
        *v = (double)n;
        if (end == s || *end || errno == ERANGE || isspace((unsigned char)*s))
            return gpx_fail(why, len, "'%.64s' is not a whole number", s);
        return 0;
    }
    *v = strtod(s, &end);
    if (end == s || *end || isspace((unsigned char)*s))
        return gpx_fail(why, len, "'%.64s' is not a number", s);
    if (isnan(*v) && (k->rule & GPX_NAN_TOO))
        return 0;
    if (!isfinite(*v) || (errno == ERANGE && fabs(*v) == HUGE_VAL))
        return gpx_fail(why, len, "'%.64s' is not a finite number (gpool writes a value it "
                                  "does not know as an empty field)", s);
    return 0;
}

/* A text value of column k: one of its choices, when it has them. */
static int check_choice(const gpx_column *k, const char *s, char *why, size_t len)
{
    if (!k->choices)
        return 0;
    for (size_t c = 0; k->choices[c]; c++)
        if (!strcmp(s, k->choices[c]))
            return 0;
    size_t o = (size_t)snprintf(why, len, "'%.64s' is none of", s);
    for (size_t c = 0; k->choices[c] && o < len; c++)
        o += (size_t)snprintf(why + o, len - o, "%s %s", c ? "," : "", k->choices[c]);
    return -1;
}

/* A value of column k, against its rule; 0, or -1 with why. */
static int check_value(const gpx_column *k, const char *s, char *why, size_t len)
{
    double v;
    if (!*s)
        return k->rule & GPX_REQUIRED ? gpx_fail(why, len, "empty, where a value is required")
                                      : 0;
    if (k->type == GPX_COL_TEXT)
        return check_choice(k, s, why, len);
    if (parse_value(k, s, &v, why, len))
        return -1;
    if (isnan(v) || (v >= k->min && v <= k->max))
        return 0;   /* NaN: an unknown value, where GPX_NAN_TOO allows it */
    if (isinf(k->max))
        return gpx_fail(why, len, "%.64s is below %g, the least it can be", s, k->min);
    return gpx_fail(why, len, "%.64s is outside [%g, %g]", s, k->min, k->max);
}

/* A row's key: the fields of the key columns, each after its length so
 * that no two keys run together. NULL out of memory. */
static char *row_key(const gpx_csv *t, size_t r, const gpx_record_file *f, const int *col)
{
    size_t len = 1;
    for (size_t k = 0; k < f->ncolumns; k++)
        if (f->columns[k].rule & GPX_KEY)
            len += strlen(t->rows[r].field[col[k]]) + 24;
    char *key = malloc(len), *p = key;
    for (size_t k = 0; key && k < f->ncolumns; k++)
        if (f->columns[k].rule & GPX_KEY) {
            const char *field = t->rows[r].field[col[k]];
            p += snprintf(p, len - (size_t)(p - key), "%zu:%s;", strlen(field), field);
        }
    return key;
}

typedef struct {
    char  *key;
    size_t row;
} keyed_row;

static int by_key_then_row(const void *a, const void *b)
{
    const keyed_row *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* "PATH:LINE: a second row of run_id X, epoch N (the first is line M)". -1. */
static int duplicate_fail(const gpx_csv *t, const gpx_record_file *f, const int *col,
                          size_t first, size_t again, char *err, size_t errlen)
{
    size_t o = (size_t)snprintf(err, errlen, "%s:%d: a second row of", t->path,
                                t->rows[again].line);
    int any = 0;
    for (size_t k = 0; k < f->ncolumns && o < errlen; k++)
        if (f->columns[k].rule & GPX_KEY)
            o += (size_t)snprintf(err + o, errlen - o, "%s %s %.64s", any++ ? "," : "",
                                  f->columns[k].name, t->rows[again].field[col[k]]);
    if (o < errlen)
        snprintf(err + o, errlen - o, " (the first is line %d)", t->rows[first].line);
    return -1;
}

/* No two rows of t share every key column of f (when t has them all). */
static int check_keys(const gpx_csv *t, const gpx_record_file *f, const int *col, char *err,
                      size_t errlen)
{
    int nkeys = 0, rc = 0;
    for (size_t k = 0; k < f->ncolumns; k++)
        if (f->columns[k].rule & GPX_KEY) {
            if (col[k] < 0)
                return 0;
            nkeys++;
        }
    if (!nkeys || t->nrows < 2)
        return 0;
    keyed_row *rows = calloc(t->nrows, sizeof *rows);
    for (size_t r = 0; rows && rc == 0 && r < t->nrows; r++) {
        rows[r] = (keyed_row){ row_key(t, r, f, col), r };
        rc = rows[r].key ? 0 : gpx_fail(err, errlen, "%s: out of memory", t->path);
    }
    if (!rows)
        return gpx_fail(err, errlen, "%s: out of memory", t->path);
    size_t again = t->nrows, first = 0;
    if (rc == 0)
        qsort(rows, t->nrows, sizeof *rows, by_key_then_row);
    for (size_t r = 1, start = 0; rc == 0 && r < t->nrows; r++) {
        if (strcmp(rows[r].key, rows[start].key))
            start = r;
        else if (rows[r].row < again) {
            again = rows[r].row;
            first = rows[start].row;
        }
    }
    for (size_t r = 0; r < t->nrows; r++)
        free(rows[r].key);
    free(rows);
    if (rc == 0 && again < t->nrows)
        rc = duplicate_fail(t, f, col, first, again, err, errlen);
    return rc;
}

int gpx_record_check(const gpx_csv *t, const gpx_record_file *f, const int *col, char *err,
                     size_t errlen)
{
    char why[512];
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t k = 0; k < f->ncolumns; k++)
            if (col[k] >= 0 && check_value(&f->columns[k], t->rows[r].field[col[k]], why,
                                           sizeof why))
                return value_fail(t, r, col[k], why, err, errlen);
    return check_keys(t, f, col, err, errlen);
}

int gpx_record_load(gpx_csv *t, const char *path, const gpx_record_file *f, const int *need,
                    size_t nneed, int *col, int *missing, char *err, size_t errlen)
{
    for (size_t k = 0; k < f->ncolumns; k++)
        col[k] = -1;
    if (missing)
        *missing = 0;
    if (gpx_csv_load_with(t, path, f->csv_flags | GPX_CSV_WHOLE_LINES, missing, err, errlen))
        return -1;
    if (missing && *missing)
        return 0;
    if (gpx_record_columns(t, f, need, nneed, col, err, errlen) ||
        gpx_record_check(t, f, col, err, errlen)) {
        gpx_csv_free(t);
        snprintf(t->path, sizeof t->path, "%s", path);
        return -1;
    }
    return 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gpx_record_runs_known(const gpx_csv *t, int id_col, const gpx_csv *runs, int runs_col,
                          char *err, size_t errlen)
{
    const char **ids = malloc((runs->nrows ? runs->nrows : 1) * sizeof *ids);
    if (!ids)
        return gpx_fail(err, errlen, "%s: out of memory", t->path);
    for (size_t r = 0; r < runs->nrows; r++)
        ids[r] = runs->rows[r].field[runs_col];
    qsort(ids, runs->nrows, sizeof *ids, by_text);
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < t->nrows; r++) {
        const char *id = t->rows[r].field[id_col];
        if (!bsearch(&id, ids, runs->nrows, sizeof *ids, by_text))
            rc = gpx_fail(err, errlen, "%s:%d: run %.64s is not in %s (files of different "
                                       "sweeps, or rows lost?)",
                          t->path, t->rows[r].line, id, runs->path);
    }
    free(ids);
    return rc;
}
