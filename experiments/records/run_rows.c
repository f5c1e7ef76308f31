/*
 * run_rows.c - a run's rows in runs.csv, epochs.csv and evals.csv (see
 * run_rows.h); the columns and their formats are records/results.c's.
 */
#include "autoconfig.h"

#include "records/run_rows.h"
#include "records/csv.h"
#include "records/results.h"

#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

/* An epoch row's values in the order of the columns after run_id, head,
 * seed and epoch (epochs.csv) or after epoch (progress.csv). */
#define EPOCH_VALUES(row)                                                                   \
    { (row)->lr,      (row)->train_loss, (row)->train_acc, (row)->val_loss, (row)->val_acc, \
      (row)->test_loss, (row)->test_acc, (row)->epoch_s,   (row)->eval_s,   (row)->img_per_s }

/* run_id, the swept values, head and seed: how every row of a run starts. */
static void run_key(gpx_row *w, const gpx_run_rows *r, const char *experiment)
{
    gpx_row_text(w, r->id);
    if (experiment)
        gpx_row_text(w, experiment);
    gpx_row_swept(w, r->pt);
    gpx_row_text(w, ycfg_str(r->pt, "model.head"));
    gpx_row_int(w, ycfg_int(r->pt, "train.seed"));
}

/* params, flops and the memory columns; empty when the net was never built. */
static void run_size(gpx_row *w, const gpx_run_built *b)
{
    if (!b) {
        for (int k = GPX_RUNS_PARAMS; k <= GPX_RUNS_MEM_TOTAL; k++)
            gpx_row_empty(w);
        return;
    }
    gpx_row_real(w, b->params);
    gpx_row_real(w, b->flops);
    const size_t mem[] = { b->mem.params, b->mem.grads, b->mem.optim_state,
                           b->mem.activations, b->mem.workspace, b->mem.total };
    for (size_t k = 0; k < sizeof mem / sizeof mem[0]; k++)
        gpx_row_int(w, (long long)mem[k]);
}

void gpx_write_run_row(FILE *fp, const ycfg *cfg, const gpx_run_rows *r)
{
    const gpx_epoch_row *last = r->nepochs ? &r->epochs[r->nepochs - 1] : NULL;
    const gpx_train_result *res = r->result;
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_runs_file, cfg);
    run_key(&w, r, ycfg_name(cfg));
    gpx_row_int(&w, r->built ? r->built->threads : 0);
    gpx_row_int(&w, ycfg_int(r->pt, "train.batch"));
    gpx_row_int(&w, r->nepochs);
    run_size(&w, r->built);
    gpx_row_real(&w, last ? last->train_loss : NAN);
    gpx_row_real(&w, last ? last->train_acc : NAN);
    gpx_row_real(&w, last ? last->val_acc : NAN);
    gpx_row_real(&w, last ? last->test_loss : NAN);
    gpx_row_real(&w, last ? last->test_acc : NAN);
    gpx_row_real(&w, res->best_epoch ? res->best_test_acc : NAN);
    if (res->best_epoch)
        gpx_row_int(&w, res->best_epoch);
    else
        gpx_row_empty(&w);
    gpx_row_real(&w, r->nepochs ? res->train_s : NAN);
    gpx_row_real(&w, r->nepochs ? res->images_per_s : NAN);
    gpx_row_real(&w, r->peak_rss_mib);
    gpx_row_text(&w, r->built ? r->built->variant : "");
    gpx_row_text(&w, r->status);
    gpx_row_text(&w, r->reason);
    gpx_row_end(&w);
}

void gpx_write_epoch_rows(FILE *fp, const ycfg *cfg, const gpx_run_rows *r)
{
    for (int e = 0; e < r->nepochs; e++) {
        const gpx_epoch_row *row = &r->epochs[e];
        const double v[] = EPOCH_VALUES(row);
        gpx_row w;
        gpx_row_begin(&w, fp, &gpx_epochs_file, cfg);
        run_key(&w, r, NULL);
        gpx_row_int(&w, row->epoch);
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            gpx_row_real(&w, v[k]);
        gpx_row_end(&w);
    }
}

void gpx_write_eval_rows(FILE *fp, const ycfg *cfg, const gpx_run_rows *r)
{
    for (int e = 0; e < r->nevals; e++) {
        const gpx_size_row *row = &r->evals[e];
        gpx_row w;
        gpx_row_begin(&w, fp, &gpx_evals_file, cfg);
        run_key(&w, r, NULL);
        gpx_row_int(&w, r->built ? r->built->input_size : 0);
        gpx_row_int(&w, row->size);
        gpx_row_text(&w, gpx_size_method_name(row->method));
        gpx_row_real(&w, row->applicable ? row->test_acc : NAN);
        gpx_row_real(&w, row->applicable ? row->test_loss : NAN);
        gpx_row_text(&w, row->applicable ? "ok" : "n/a");
        gpx_row_text(&w, row->applicable ? "" : row->reason);
        gpx_row_end(&w);
    }
}

void gpx_write_progress(FILE *fp, const gpx_epoch_row *rows, int n)
{
    gpx_record_header(fp, &gpx_progress_file, NULL);
    for (int e = 0; e < n; e++) {
        const double v[] = EPOCH_VALUES(&rows[e]);
        gpx_row w;
        gpx_row_begin(&w, fp, &gpx_progress_file, NULL);
        gpx_row_int(&w, rows[e].epoch);
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            gpx_row_real(&w, v[k]);
        gpx_row_end(&w);
    }
}

/* Row r of a progress.csv; 0, or -1 when a field is no number. */
static int progress_row(const gpx_csv *t, size_t r, gpx_epoch_row *row)
{
    double v[GPX_PROGRESS_NCOLUMNS];
    char err[8400];
    for (int c = 0; c < GPX_PROGRESS_NCOLUMNS; c++)
        if (gpx_csv_number(t, r, c, &v[c], err, sizeof err))
            return -1;
    *row = (gpx_epoch_row){ (int)v[GPX_PROGRESS_EPOCH], v[GPX_PROGRESS_LR],
                            v[GPX_PROGRESS_TRAIN_LOSS], v[GPX_PROGRESS_TRAIN_ACC],
                            v[GPX_PROGRESS_VAL_LOSS],   v[GPX_PROGRESS_VAL_ACC],
                            v[GPX_PROGRESS_TEST_LOSS],  v[GPX_PROGRESS_TEST_ACC],
                            v[GPX_PROGRESS_EPOCH_S],    v[GPX_PROGRESS_EVAL_S],
                            v[GPX_PROGRESS_IMG_PER_S] };
    return 0;
}

int gpx_read_progress(const char *path, gpx_epoch_row **rows)
{
    gpx_csv t;
    char err[8400];
    int col[GPX_PROGRESS_NCOLUMNS];
    size_t r = 0;
    *rows = NULL;
    if (gpx_record_load(&t, path, &gpx_progress_file, NULL, 0, col, NULL, err, sizeof err))
        return 0;
    if (gpx_record_same_header(&t, &gpx_progress_file, NULL) && t.nrows > 0)
        *rows = malloc(t.nrows * sizeof **rows);
    while (*rows && r < t.nrows && !progress_row(&t, r, &(*rows)[r]) &&
           (*rows)[r].epoch == (int)r + 1)
        r++;
    if (r < t.nrows) {
        free(*rows);
        *rows = NULL;
    }
    gpx_csv_free(&t);
    return *rows ? (int)r : 0;
}

static int progress_path(const char *run_dir, char *path, size_t len)
{
    return gpx_join(path, len, run_dir, "progress.csv");
}

static int save_progress(const char *run_dir, const gpx_epoch_row *rows, int n)
{
    char path[4200], err[512];
    gpx_atomic_file f;
    if (progress_path(run_dir, path, sizeof path) || gpx_atomic_open(&f, path, err, sizeof err))
        return -1;
    gpx_write_progress(f.fp, rows, n);
    return gpx_atomic_commit(&f, err, sizeof err);
}

static int load_progress(const char *run_dir, gpx_epoch_row **rows)
{
    char path[4200];
    *rows = NULL;
    return progress_path(run_dir, path, sizeof path) ? 0 : gpx_read_progress(path, rows);
}

static void discard_progress(const char *run_dir)
{
    char path[4200];
    if (!progress_path(run_dir, path, sizeof path))
        unlink(path);
}

const gpx_progress_store gpx_progress_csv = { save_progress, load_progress, discard_progress };
