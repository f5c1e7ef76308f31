/* lr_search.c - DIR/lr-search.csv, the store of train.lr_search (see lr_search.h). */
#include "autoconfig.h"

#include "records/lr_search.h"
#include "records/csv.h"
#include "records/results.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* DIR/lr-search.csv loaded into t (empty when there is none yet): 0, or -1 (printed). */
static int load_trials(const char *dir, gpx_csv *t, int *col, char *path, size_t len)
{
    char err[8400];
    int missing = 0;
    memset(t, 0, sizeof *t);
    if (gpx_join(path, len, dir, gpx_lr_search_file.name) ||
        gpx_csv_load(t, path, &missing, err, sizeof err) ||
        (!missing && gpx_record_columns(t, &gpx_lr_search_file, NULL, 0, col, err, sizeof err))) {
        fprintf(stderr, "gpool run: lr search: %s\n", err);
        gpx_csv_free(t);
        return -1;
    }
    return 0;
}

static int find_choice(const char *dir, const gpx_lr_group *g, double *lr)
{
    gpx_csv t;
    int col[GPX_LRS_NCOLUMNS], found = 0;
    char path[4200], err[8400];
    if (load_trials(dir, &t, col, path, sizeof path))
        return -1;
    for (size_t r = 0; r < t.nrows && !found; r++) {
        if (strcmp(gpx_csv_field(&t, r, col[GPX_LRS_GROUP_ID]), g->id) ||
            strcmp(gpx_csv_field(&t, r, col[GPX_LRS_CHOSEN]), "1"))
            continue;
        found = gpx_csv_number(&t, r, col[GPX_LRS_LR], lr, err, sizeof err) ? -1 : 1;
        if (found < 0 || !(*lr > 0)) {
            fprintf(stderr, "gpool run: lr search: %s\n",
                    found < 0 ? err : "a chosen rate is no positive number");
            found = -1;
        }
    }
    gpx_csv_free(&t);
    return found;
}

static void write_trial(FILE *fp, const gpx_lr_group *g, const char *settings,
                        const gpx_lr_trial *t, int chosen)
{
    static const char *const status[] = { "ok", "diverged", "failed" };
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_lr_search_file, NULL);
    gpx_row_text(&w, g->id);
    gpx_row_text(&w, g->text);
    gpx_row_text(&w, settings);
    gpx_row_real(&w, t->lr);
    gpx_row_real(&w, t->val_acc);
    gpx_row_real(&w, t->val_loss);
    gpx_row_text(&w, status[t->status]);
    gpx_row_int(&w, chosen);
    gpx_row_end(&w);
}

/* The file as it was, then g's trials: written whole, in place of it. */
static int save_trials(const char *dir, const gpx_lr_group *g, const char *settings,
                       const gpx_lr_trial *trials, int n, int chosen)
{
    gpx_csv t;
    int col[GPX_LRS_NCOLUMNS];
    char path[4200], err[512];
    gpx_atomic_file f;
    if (load_trials(dir, &t, col, path, sizeof path))
        return -1;
    if (gpx_atomic_open(&f, path, err, sizeof err)) {
        fprintf(stderr, "gpool run: lr search: %s\n", err);
        gpx_csv_free(&t);
        return -1;
    }
    gpx_record_header(f.fp, &gpx_lr_search_file, NULL);
    for (size_t r = 0; r < t.nrows; r++) {
        size_t len;
        const char *raw = gpx_csv_raw(&t, r, &len);
        fprintf(f.fp, "%.*s\n", (int)len, raw);
    }
    gpx_csv_free(&t);
    for (int k = 0; k < n; k++)
        write_trial(f.fp, g, settings, &trials[k], k == chosen);
    if (gpx_atomic_commit(&f, err, sizeof err)) {
        fprintf(stderr, "gpool run: lr search: %s\n", err);
        return -1;
    }
    return 0;
}

const gpx_lr_store gpx_lr_search_csv = { find_choice, save_trials };
