/*
 * lrsearch.h - a learning rate chosen per group of runs on held-out
 * training images (train.lr_search), so that heads compared in one sweep
 * each train at a rate that suits them rather than at one shared rate.
 *
 * A group is the runs of a sweep that differ only in train.seed (and
 * train.lr, which the search replaces): one head at one map size, say. The
 * first run of a group to train searches: for each rate of
 * train.lr_search.grid it trains the point from train.lr_search.seed for
 * train.lr_search.epochs (or .steps) on the training images left after
 * holding out the last train.lr_search.holdout, and scores the final
 * accuracy on those held out. The best rate (the first of equals, never a
 * diverged trial) is recorded through a store with every trial, and every
 * run of the group trains at it, on the full training split.
 *
 *     gpx_lr_group g;
 *     gpx_lr_search_group(cfg, index, &g);
 *     double lr;
 *     if (store->find(dir, &g, &lr) == 1) ... o.optim.lr = lr ...
 *     else gpx_lr_search(pt, &model, &o, store, dir, &g, err, errlen);
 */
#ifndef GPOOL_EXPERIMENTS_CORE_LRSEARCH_H
#define GPOOL_EXPERIMENTS_CORE_LRSEARCH_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "core/model.h"
#include "core/train.h"

#define GPX_LR_GRID_MAX 32

/* A search group: the run id of its first point, and its swept values but
 * train.seed and train.lr as "model.head=gap trunk=..." ("" when none). */
typedef struct {
    char id[17];
    char text[512];
} gpx_lr_group;

/* One trial of a search. */
typedef struct {
    double         lr;
    double         val_acc, val_loss;   /* NaN when it diverged or failed */
    gpx_run_status status;
} gpx_lr_trial;

/* Where a sweep keeps its searches (records/lr_search.h: DIR/lr-search.csv). */
typedef struct {
    /* The rate chosen for group g in dir, into *lr: 1 found, 0 none, -1 error (printed). */
    int (*find)(const char *dir, const gpx_lr_group *g, double *lr);
    /* Record g's trials, trial `chosen` the choice: 0, or -1 (printed). */
    int (*save)(const char *dir, const gpx_lr_group *g, const char *settings,
                const gpx_lr_trial *trials, int n, int chosen);
} gpx_lr_store;

/* 1 when point pt asks for a search (a non-empty train.lr_search.grid). */
int  gpx_lr_search_wanted(const ycfg_point *pt);

/* The group of point index of cfg. */
void gpx_lr_search_group(const ycfg *cfg, size_t index, gpx_lr_group *g);

/* Point pt's search for group g (model: its decoded model, o: its training
 * options, threads already set): the trials, saved to store in dir, and
 * the chosen rate into o->optim.lr. 0, or -1 with err (no trial finished,
 * the data cannot be held out, a store error). */
int  gpx_lr_search(const ycfg_point *pt, const gpx_model_spec *model, gpx_train_opts *o,
                   const gpx_lr_store *store, const char *dir, const gpx_lr_group *g,
                   char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_CORE_LRSEARCH_H */
