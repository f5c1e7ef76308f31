/*
 * lr_search.h - where a sweep keeps the learning-rate searches of
 * train.lr_search (core/lrsearch.h): DIR/lr-search.csv, one row per trial
 * (its group's id and swept values, the search's settings, the rate, the
 * held-out accuracy and loss, how it ended), the chosen trial of each group
 * marked 1 in `chosen`. A group's choice is looked up by its id, so a
 * --resume or a later run of the same config trains at it without searching
 * again; the file outlives --force (delete it to search again).
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_LR_SEARCH_H
#define GPOOL_EXPERIMENTS_RECORDS_LR_SEARCH_H

#include "core/lrsearch.h"

/* The store of DIR/lr-search.csv. */
extern const gpx_lr_store gpx_lr_search_csv;

#endif /* GPOOL_EXPERIMENTS_RECORDS_LR_SEARCH_H */
