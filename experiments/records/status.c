/*
 * status.c - where a results directory's sweep stands (see status.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/schema.h"
#include "records/csv.h"
#include "records/ids.h"
#include "records/results.h"
#include "records/run_rows.h"
#include "records/status.h"
#include "util/util.h"

/* Epoch times summed, for the mean. */
typedef struct {
    double seconds;
    size_t epochs;
} epoch_clock;

/* dir must be a directory gpool run wrote: config.yaml there, of this release's ids. */
static int check_results_dir(const char *dir, char *config, size_t len, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return gpx_fail(err, errlen, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gpx_fail(err, errlen, "%s: not a directory", dir);
    if (gpx_join(config, len, dir, "config.yaml"))
        return gpx_fail(err, errlen, "%s: path too long", dir);
    if (stat(config, &st) != 0)
        return gpx_fail(err, errlen,
                        "%s: not a results directory (no config.yaml; `gpool run CONFIG --out "
                        "%s` writes one)",
                        dir, dir);
    return gpx_ids_check_current(dir, err, errlen);
}

/* A results file of dir, read and checked (records/results.h); empty, every
 * column -1, when it is missing. */
static int load_file(gpx_csv *t, const char *dir, const gpx_record_file *f, const int *need,
                     size_t nneed, int *col, char *err, size_t errlen)
{
    char path[4096];
    int missing = 0;
    memset(t, 0, sizeof *t);
    for (size_t c = 0; c < f->ncolumns; c++)
        col[c] = -1;
    if (gpx_join(path, sizeof path, dir, f->name))
        return gpx_fail(err, errlen, "%s: path too long", dir);
    return gpx_record_load(t, path, f, need, nneed, col, &missing, err, errlen);
}

/* The rows of runs.csv (into runs) by status; col its columns, -1 when
 * there is no runs.csv yet. 0, or -1. */
static int count_runs(const char *dir, gpx_dir_status *st, gpx_csv *runs, int *col, char *err,
                      size_t errlen)
{
    static const int need[] = { GPX_RUNS_RUN_ID, GPX_RUNS_STATUS };
    if (load_file(runs, dir, &gpx_runs_file, need, 2, col, err, errlen))
        return -1;
    for (size_t r = 0; r < runs->nrows; r++) {
        const char *s = gpx_csv_field(runs, r, col[GPX_RUNS_STATUS]);
        /* the reader refuses any other status */
        size_t *count = !strcmp(s, "ok")       ? &st->ok
                        : !strcmp(s, "diverged") ? &st->diverged
                        : !strcmp(s, "failed")   ? &st->failed
                                                 : &st->interrupted;
        (*count)++;
    }
    return 0;
}

/* The epoch times of epochs.csv (the finished runs) into clock. */
static int time_finished_epochs(const char *dir, epoch_clock *clock, char *err, size_t errlen)
{
    static const int need[] = { GPX_EPOCHS_EPOCH_S, GPX_EPOCHS_EVAL_S };
    int col[GPX_EPOCHS_NCOLUMNS];
    gpx_csv t;
    int rc = load_file(&t, dir, &gpx_epochs_file, need, 2, col, err, errlen);
    for (size_t r = 0; rc == 0 && r < t.nrows; r++) {
        double train_s, eval_s;
        rc = gpx_csv_number(&t, r, col[GPX_EPOCHS_EPOCH_S], &train_s, err, errlen) ||
             gpx_csv_number(&t, r, col[GPX_EPOCHS_EVAL_S], &eval_s, err, errlen);
        if (rc == 0 && isfinite(train_s)) {
            clock->seconds += train_s + (isfinite(eval_s) ? eval_s : 0);
            clock->epochs++;
        }
    }
    gpx_csv_free(&t);
    return rc ? -1 : 0;
}

/* The epochs point id has saved in its progress.csv (0: none), timed into clock. */
static int epochs_saved(const char *dir, const char *id, epoch_clock *clock)
{
    char path[4096];
    gpx_epoch_row *rows;
    snprintf(path, sizeof path, "%s/runs/%s/progress.csv", dir, id);
    int n = gpx_read_progress(path, &rows);
    for (int e = 0; e < n; e++) {
        clock->seconds += rows[e].epoch_s + (isfinite(rows[e].eval_s) ? rows[e].eval_s : 0);
        clock->epochs++;
    }
    free(rows);
    return n;
}

/* Whether point id is still to run: 1 it has no row in runs, 2 it is the
 * run the holder trains again (its row, failed or interrupted, from an
 * earlier invocation), 0 neither. */
static int to_run(const gpx_dir_status *st, const gpx_csv *runs, const int *col, const char *id)
{
    size_t row = 0;
    if (col[GPX_RUNS_RUN_ID] < 0 || gpx_csv_find(runs, col[GPX_RUNS_RUN_ID], id, &row))
        return 1;
    const char *status = gpx_csv_field(runs, row, col[GPX_RUNS_STATUS]);
    return st->locked && !strcmp(id, st->holder.run) && strcmp(status, "ok") &&
                   strcmp(status, "diverged")
               ? 2
               : 0;
}

/* The points still to run: those without a row counted, the epochs of all
 * summed less those saved, the holder's run among them found. */
static void count_remaining(const char *dir, const ycfg *cfg, const gpx_csv *runs,
                            const int *col, gpx_dir_status *st, epoch_clock *clock)
{
    for (size_t i = 0; i < ycfg_npoints(cfg); i++) {
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        const char *id = ycfg_point_id(pt);
        int state = to_run(st, runs, col, id);
        if (!state)
            continue;
        int epochs = (int)ycfg_int(pt, "train.epochs"), done = epochs_saved(dir, id, clock);
        st->remaining += state == 1;
        st->epochs_left += epochs - done;
        if (st->locked && !strcmp(id, st->holder.run)) {
            st->current_epoch = done;
            st->current_epochs = epochs;
        }
    }
}

int gpx_dir_status_read(const char *dir, gpx_dir_status *st, char *err, size_t errlen)
{
    char config[4096];
    epoch_clock clock = { 0, 0 };
    gpx_csv runs;
    memset(st, 0, sizeof *st);
    if (check_results_dir(dir, config, sizeof config, err, errlen))
        return -1;
    ycfg *cfg = ycfg_load(config, gpx_run_schema(), err, errlen);
    if (!cfg)
        return -1;
    snprintf(st->experiment, sizeof st->experiment, "%s", ycfg_name(cfg));
    st->npoints = ycfg_npoints(cfg);
    int col[GPX_RUNS_NCOLUMNS];
    memset(&runs, 0, sizeof runs);
    st->locked = gpx_dir_lock_holder(dir, &st->holder, err, errlen);
    int rc = st->locked < 0 || count_runs(dir, st, &runs, col, err, errlen) ||
             time_finished_epochs(dir, &clock, err, errlen);
    if (rc == 0)
        count_remaining(dir, cfg, &runs, col, st, &clock);
    gpx_csv_free(&runs);
    ycfg_free(cfg);
    st->epochs_timed = clock.epochs;
    st->mean_epoch_s = clock.epochs ? clock.seconds / (double)clock.epochs : NAN;
    st->seconds_left = (double)st->epochs_left * st->mean_epoch_s;
    return rc ? -1 : 0;
}
