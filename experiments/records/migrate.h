/*
 * migrate.h - rewrite a results directory of the previous release to the
 * run ids of this one (records/ids.h says what changed).
 *
 * The previous release hashed a point's whole resolved config; the
 * directory's config.yaml spells out every key that release knew, so
 * ycfg_point_legacy_id of it gives each point's old id exactly, and
 * ycfg_point_id its new one. Every place that holds an id is rewritten:
 * the run_id column of runs.csv, epochs.csv and evals.csv, the run ids of
 * manifest.yaml and of each runs/<id>/manifest.yaml, the run blocks of
 * accuracy.dat, and the run folders runs/<id>/ (renamed whole, with their
 * checkpoints and progress.csv, so a half-finished run still continues).
 * manifest.yaml gets the id section (id_scheme, the defaults) last.
 *
 * Nothing is written until every id is known to map to a point: an id that
 * is neither a point's old id nor its new one refuses the directory
 * unchanged. Each file goes into place whole and each folder by one
 * rename, and an id already new maps to itself, so a migrate that was
 * interrupted can simply be run again; a migrated directory has nothing
 * to do.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_MIGRATE_H
#define GPOOL_EXPERIMENTS_RECORDS_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

/* What a migration did. */
typedef struct {
    size_t ids;      /* distinct run ids rewritten */
    size_t files;    /* files rewritten */
    size_t folders;  /* run folders renamed */
} gpx_migration;

/* Migrate DIR (see above), one line per file or folder to log (NULL: none).
 * 0 migrated (*done says what), 1 nothing to do, -1 refused or failed with
 * err (refused: nothing was changed). */
int gpx_migrate_dir(const char *dir, FILE *log, gpx_migration *done, char *err,
                    size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_MIGRATE_H */
