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

/* The lr-search.csv files of the shard directories dirs[0 .. ndirs) as one
 * OUT_DIR/lr-search.csv (none when no shard has one), each group once: a
 * group whose runs fell in several shards was searched in each, alike. 0,
 * or -1 with err (a file fails its checks; two shards chose differently). */
int gpx_lr_search_merge(const char *out_dir, const char *const *dirs, int ndirs, char *err,
                        size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_LR_SEARCH_H */
