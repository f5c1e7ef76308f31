/*
 * manifest.h - manifest.yaml: what made a results directory, where and
 * with what, in one set of keys for every command (gpool run, its runs,
 * merge, rerun, bench, and profile's summary.yaml).
 *
 * gpx_manifest_write writes the part every manifest shares, in this order:
 *   command, cwd            the command line and where it ran (when given)
 *   experiment, config, config_sha256, swept     the config (when given)
 *   started, finished
 *   gpool_version, libgpool_version, git_commit, git_dirty, compiler, cflags
 *   host, kernel, cpu_model, cpus_online, cpu_isa, l3_bytes, l3_source,
 *   openmp, openblas
 *   environment             the variables that steer threads and kernels
 *   defaults_used           the config's keys that took their default
 * and the command then adds its own keys. Manifests written before these
 * names were settled (results/ keeps some) said cpu for cpu_model,
 * online_cpus for cpus_online, cpu_flags for cpu_isa, and profile's name
 * and date for experiment and finished. Only the id section of an
 * experiment manifest (records/ids.h) is read back.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_MANIFEST_H
#define GPOOL_EXPERIMENTS_RECORDS_MANIFEST_H

#include <stdio.h>

#include "cfg/cfg.h"
#include "core/data.h"

typedef struct {
    const char  *comment;        /* the first line, after "# " */
    int          argc;           /* the command line; 0: not recorded */
    char *const *argv;
    const ycfg  *cfg;            /* the experiment's config; NULL: none */
    const char  *config_path;    /* instead of ycfg_path(cfg): a run's own config.yaml */
    const char  *config_sha256;  /* of config_path; NULL: hash ycfg_path(cfg) */
    const char  *started;        /* ISO 8601 time */
    const char  *finished;       /* NULL: now */
} gpx_manifest;

/* The shared part of a manifest (see above). */
void gpx_manifest_write (FILE *fp, const gpx_manifest *m);

/* data: the split sizes, classes, normalisation (per channel when the images have
 * several), the training batches' augmentation and every file with its sha256. */
void gpx_manifest_data  (FILE *fp, const gpx_data_record *d);

/* key: "value" on a line of its own (NULL: null). */
void gpx_manifest_string(FILE *fp, const char *key, const char *value);

#endif /* GPOOL_EXPERIMENTS_RECORDS_MANIFEST_H */
