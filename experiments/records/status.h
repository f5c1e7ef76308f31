/*
 * status.h - where a results directory's sweep stands, for `gpool status`:
 * its runs by status (runs.csv), the points of its config.yaml without a
 * row yet, the run in progress and its epoch (the lock's holder,
 * records/lock.h, and runs/<id>/progress.csv), and the time left at the mean
 * epoch time so far (epochs.csv and the progress files).
 *
 *     gpx_dir_status st;
 *     if (gpx_dir_status_read(dir, &st, err, sizeof err)) ... (err says why)
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_STATUS_H
#define GPOOL_EXPERIMENTS_RECORDS_STATUS_H

#include <stddef.h>

#include "records/lock.h"

typedef struct {
    char            experiment[256];
    size_t          npoints;      /* points of config.yaml */
    size_t          ok, diverged, failed, interrupted;  /* rows of runs.csv by status */
    size_t          remaining;    /* points without a row in runs.csv */
    int             locked;       /* a command holds the directory: holder */
    gpx_lock_holder holder;
    int             current_epoch;    /* epochs of holder.run done (progress.csv) */
    int             current_epochs;   /* ... of its train.epochs; 0: no run noted */
    size_t          epochs_timed;     /* epochs the mean is taken over */
    double          mean_epoch_s;     /* training and evaluation, per epoch */
    long long       epochs_left;      /* to train: the remaining points, the holder's run */
    double          seconds_left;     /* epochs_left x mean_epoch_s; NaN: nothing timed */
} gpx_dir_status;

/* The status of dir. 0; or -1 with "DIR: not a results directory (...)" or
 * what a file of it is wrong with in err. */
int gpx_dir_status_read(const char *dir, gpx_dir_status *st, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_STATUS_H */
