/*
 * ids.h - which run ids a results directory holds: its manifest.yaml says
 * how they were made and under which schema defaults.
 *
 * A run id hashes the experiment name and the values that differ from the
 * schema's defaults (cfg/cfg.h), so a key added with a default changes no
 * id, but a changed default changes the meaning of every run that took it.
 * The experiment manifest therefore records
 *
 *   id_scheme: non-defaults
 *   defaults_digest: 0123456789abcdef        (ycfg_defaults_digest, for a glance)
 *   defaults:                                (every declared default)
 *     train.lr: "0.001"
 *     model.trunk[conv].k: "3"
 *
 * and --resume refuses a directory written when a default a point of its
 * config relies on was another. A directory of the previous release (ids
 * that hashed the whole resolved config) has a manifest without id_scheme:
 * `gpool migrate DIR` rewrites it (records/migrate.h), and the commands
 * that match ids (--resume, merge, rerun, table) refuse it until then.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_IDS_H
#define GPOOL_EXPERIMENTS_RECORDS_IDS_H

#include <stddef.h>
#include <stdio.h>

#include "cfg/cfg.h"

/* The value of id_scheme in the manifests of this release. */
#define GPX_ID_SCHEME "non-defaults"

/* The id section of a manifest, as read back. */
typedef struct {
    int     have_manifest;  /* 0: the directory has no manifest.yaml */
    char    scheme[64];     /* "" when the manifest has no id_scheme */
    char    digest[24];
    size_t  ndefaults;
    char  **path;           /* generic paths, as ycfg_schema_default_path */
    char  **text;           /* the defaults then, as ycfg_schema_default_text */
} gpx_id_record;

/* id_scheme, defaults_digest and defaults of cfg's schema, as manifest lines. */
void gpx_ids_write         (FILE *fp, const ycfg *cfg);

/* The id section of DIR/manifest.yaml into *rec (free it with gpx_ids_free):
 * 0 (a missing manifest too: have_manifest 0), or -1 with err. */
int  gpx_ids_read          (const char *dir, gpx_id_record *rec, char *err, size_t errlen);

/* Free what gpx_ids_read allocated. */
void gpx_ids_free          (gpx_id_record *rec);

/* 0 when DIR's run ids are of this release's scheme, or it has no manifest
 * to tell; -1 with "DIR: ... run `gpool migrate DIR` first" in err when
 * they are the previous release's (or the manifest cannot be read). */
int  gpx_ids_check_current(const char *dir, char *err, size_t errlen);

/* For --resume into a directory whose id section is rec: -1 with err naming
 * the key, its default then and now, when a default that some point of cfg
 * takes (ycfg_relies_on_default) has changed since; else 0. Keys added or
 * dropped since do not matter. */
int  gpx_ids_check_defaults(const gpx_id_record *rec, const ycfg *cfg, const char *dir,
                            char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_IDS_H */
