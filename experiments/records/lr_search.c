/* lr_search.c - DIR/lr-search.csv, the store of train.lr_search (see lr_search.h). */
#include "autoconfig.h"

#include "records/lr_search.h"
#include "records/csv.h"
#include "records/results.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* DIR/lr-search.csv loaded into t, every value checked (empty when there
 * is none yet): 0, or -1 with err. */
static int read_trials(const char *dir, gpx_csv *t, int *col, int *missing, char *path,
                       size_t len, char *err, size_t errlen)
{
    *missing = 0;
    memset(t, 0, sizeof *t);
    if (gpx_join(path, len, dir, gpx_lr_search_file.name)) {
        snprintf(err, errlen, "%s: the path is too long", dir);
        return -1;
    }
    return gpx_record_load(t, path, &gpx_lr_search_file, NULL, 0, col, missing, err, errlen);
}

/* read_trials, the error printed in run's voice. */
static int load_trials(const char *dir, gpx_csv *t, int *col, char *path, size_t len)
{
    char err[8400];
    int missing;
    if (read_trials(dir, t, col, &missing, path, len, err, sizeof err)) {
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

/* ------------------------------------------------------------- merging */

/* A group already written to the merged file, with its chosen rate. */
typedef struct {
    char   id[17];
    double lr;
} merged_group;

typedef struct {
    merged_group *at;
    size_t        n, cap;
} merged_groups;

/* The rate chosen for group id in t (NaN when none is marked). */
static double chosen_rate(const gpx_csv *t, const int *col, const char *id)
{
    for (size_t r = 0; r < t->nrows; r++)
        if (!strcmp(gpx_csv_field(t, r, col[GPX_LRS_GROUP_ID]), id) &&
            !strcmp(gpx_csv_field(t, r, col[GPX_LRS_CHOSEN]), "1"))
            return strtod(gpx_csv_field(t, r, col[GPX_LRS_LR]), NULL);
    return NAN;
}

/* Index of id in g, or -1. */
static long find_group(const merged_groups *g, const char *id)
{
    for (size_t k = 0; k < g->n; k++)
        if (!strcmp(g->at[k].id, id))
            return (long)k;
    return -1;
}

static int add_group(merged_groups *g, const char *id, double lr)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        merged_group *at = realloc(g->at, cap * sizeof *at);
        if (!at)
            return -1;
        g->at = at;
        g->cap = cap;
    }
    merged_group *m = &g->at[g->n++];
    snprintf(m->id, sizeof m->id, "%s", id);
    m->lr = lr;
    return 0;
}

static int same_rate(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Shard t's groups into fp, each group once: a group searched in two
 * shards (its runs fell in both) must have chosen the same rate there. */
static int merge_shard_trials(FILE *fp, merged_groups *g, const gpx_csv *t, const int *col,
                              const char *path, char *err, size_t errlen)
{
    size_t first = g->n;
    for (size_t r = 0; r < t->nrows; r++) {
        const char *id = gpx_csv_field(t, r, col[GPX_LRS_GROUP_ID]);
        long k = find_group(g, id);
        if (k >= (long)first) {
            /* a later row of a group this shard brought */
        } else if (k >= 0) {
            double lr = chosen_rate(t, col, id);
            if (!same_rate(lr, g->at[k].lr)) {
                snprintf(err, errlen, "%s: group %s chose the rate %.9g, another shard %.9g: "
                         "the shards did not search alike", path, id, lr, g->at[k].lr);
                return -1;
            }
            continue;
        } else if (add_group(g, id, chosen_rate(t, col, id))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        size_t len;
        const char *raw = gpx_csv_raw(t, r, &len);
        fprintf(fp, "%.*s\n", (int)len, raw);
    }
    return 0;
}

/* The shards' files into f, each group once. */
static int merge_all_trials(gpx_atomic_file *f, const char *const *dirs, int ndirs,
                            int *any, char *err, size_t errlen)
{
    merged_groups g = { 0 };
    int rc = 0;
    gpx_record_header(f->fp, &gpx_lr_search_file, NULL);
    for (int d = 0; d < ndirs && rc == 0; d++) {
        gpx_csv t;
        int col[GPX_LRS_NCOLUMNS], missing;
        char path[4200];
        rc = read_trials(dirs[d], &t, col, &missing, path, sizeof path, err, errlen);
        if (rc == 0 && !missing) {
            *any = 1;
            rc = merge_shard_trials(f->fp, &g, &t, col, path, err, errlen);
        }
        gpx_csv_free(&t);
    }
    free(g.at);
    return rc;
}

int gpx_lr_search_merge(const char *out_dir, const char *const *dirs, int ndirs, char *err,
                        size_t errlen)
{
    char path[4200];
    gpx_atomic_file f;
    int any = 0;
    if (gpx_join(path, sizeof path, out_dir, gpx_lr_search_file.name)) {
        snprintf(err, errlen, "%s: the path is too long", out_dir);
        return -1;
    }
    if (gpx_atomic_open(&f, path, err, errlen))
        return -1;
    if (merge_all_trials(&f, dirs, ndirs, &any, err, errlen) || !any) {
        gpx_atomic_abort(&f);
        return any ? -1 : 0;
    }
    return gpx_atomic_commit(&f, err, errlen);
}
