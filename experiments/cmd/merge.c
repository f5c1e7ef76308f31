/*
 * merge.c - `gpool merge SHARD_DIR...`: join the outputs of `gpool run
 * --shard K/N` into one experiment directory, as if one process had run
 * the whole sweep (records/sweep.h reads the shards and writes the result).
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/schema.h"
#include "records/ids.h"
#include "records/lr_search.h"
#include "records/sweep.h"
#include "records/tfevents.h"
#include "util/util.h"

#define MERGE_CMD "gpool merge"

static void merge_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool merge [-o DIR] SHARD_DIR...\n"
            "\n"
            "Join the outputs of `gpool run --shard K/N` (one directory per shard, each with\n"
            "runs.csv, epochs.csv and config.yaml) into one experiment directory, as if one\n"
            "process had run the whole sweep: rows in sweep order, the chart and the\n"
            "manifest redone. Every shard must come from the same config, no run may\n"
            "appear twice, and every point must be present.\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   the merged directory (default results/<name>)\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 merged, 1 an error, 2 bad command line.\n");
}

/* 1 when two configs expand to the same points (same ids, same order). */
static int same_points(const ycfg *a, const ycfg *b)
{
    if (ycfg_npoints(a) != ycfg_npoints(b))
        return 0;
    for (size_t i = 0; i < ycfg_npoints(a); i++)
        if (strcmp(ycfg_point_id(ycfg_point_at(a, i)), ycfg_point_id(ycfg_point_at(b, i))))
            return 0;
    return 1;
}

static int merge_shard(gpx_sweep *sw, const char *dir)
{
    char path[4096], err[8400];
    if (gpx_ids_check_current(dir, err, sizeof err)) {
        fprintf(stderr, "gpool merge: %s\n", err);
        return -1;
    }
    gpx_join(path, sizeof path, dir, "config.yaml");
    ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool merge: %s\n", err);
        return -1;
    }
    int same = same_points(cfg, sw->cfg);
    ycfg_free(cfg);
    if (!same) {
        fprintf(stderr, "gpool merge: %s: another config than %s's\n", dir, sw->merged_from[0]);
        return -1;
    }
    return gpx_sweep_load_prior(sw, dir, 1);
}

/* Move the merged runs into sweep order; -1 (naming one) if a point is missing. */
static int order_merged(gpx_sweep *sw)
{
    size_t missing = 0;
    const char *example = NULL;
    for (size_t i = 0; i < ycfg_npoints(sw->cfg); i++) {
        const char *id = ycfg_point_id(ycfg_point_at(sw->cfg, i));
        gpx_sweep_run *r = gpx_sweep_find_prior(sw, id);
        if (!r) {
            missing++;
            example = example ? example : id;
            continue;
        }
        sw->runs[sw->nruns++] = *r;
        memset(r, 0, sizeof *r);
    }
    if (missing)
        fprintf(stderr, "gpool merge: %zu of %zu points have no run in the shards (e.g. %s)\n",
                missing, ycfg_npoints(sw->cfg), example);
    return missing ? -1 : 0;
}

/* Copy a run's file (text, or a TensorBoard event file) into place,
 * atomically, byte for byte. */
static int copy_run_file(const char *from, const char *to)
{
    char err[4600], buf[65536];
    FILE *in = fopen(from, "rb");
    if (!in) {
        fprintf(stderr, "gpool merge: %s: cannot read\n", from);
        return -1;
    }
    gpx_atomic_file f;
    int rc = gpx_atomic_open(&f, to, err, sizeof err), opened = rc == 0;
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, f.fp) != n)
            rc = -1;
    if (rc == 0 && ferror(in)) {
        snprintf(err, sizeof err, "%s: read error", from);
        rc = -1;
    }
    fclose(in);
    if (rc == 0)
        rc = gpx_atomic_commit(&f, err, sizeof err);
    else if (opened)
        gpx_atomic_abort(&f);
    if (rc)
        fprintf(stderr, "gpool merge: %s\n", err);
    return rc;
}

/* The run's own files from the shard that has them, into DIR/runs/<id>/. */
static int copy_run_files(const gpx_sweep *sw, const char *id, const char **dirs, int ndirs)
{
    static const char *const files[] = { "config.yaml", "manifest.yaml", "progress.csv",
                                         GPX_TFEVENTS_NAME };
    char from[4400], to[4400], dir[4200], err[512];
    for (int d = 0; d < ndirs; d++) {
        snprintf(from, sizeof from, "%s/runs/%s/manifest.yaml", dirs[d], id);
        if (!gpx_readable(from))
            continue;
        snprintf(dir, sizeof dir, "%s/runs/%s", sw->out_dir, id);
        if (gpx_mkdir_p(dir, err, sizeof err)) {
            fprintf(stderr, "gpool merge: %s\n", err);
            return -1;
        }
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            snprintf(from, sizeof from, "%s/runs/%s/%s", dirs[d], id, files[k]);
            snprintf(to, sizeof to, "%s/%s", dir, files[k]);
            if (gpx_readable(from) && copy_run_file(from, to))
                return -1;
        }
        return 0;
    }
    return 0;
}

/* Each run's own config, manifest, progress and event file go along with
 * its rows (the checkpoints stay in the shards: they are large and only
 * resume needs them). */
static int merge_run_files(const gpx_sweep *sw, const char **dirs, int ndirs)
{
    for (size_t i = 0; i < sw->nruns; i++)
        if (copy_run_files(sw, sw->runs[i].run.id, dirs, ndirs))
            return -1;
    return 0;
}

typedef struct {
    const char      *out;
    gpx_operand_list shards;
} merge_options;

static const gpx_option merge_option_list[] = {
    { "-o", "--out", "a directory", .offset = offsetof(merge_options, out) },
};

static const gpx_command_line merge_command_line = {
    MERGE_CMD, merge_usage, 0, merge_option_list, 1,
    .operand_name = "SHARD_DIR", .operand_offset = offsetof(merge_options, shards),
    .operands = GPX_ONE_OR_MORE, .operand_example = "results/tutorial/shard-1-of-2",
};

/* The shards read, ordered and written to sw->out_dir: 0, or 1 (printed). */
static int merge_into(gpx_sweep *sw, const char **dirs, int ndirs)
{
    char err[6000];
    for (int d = 0; d < ndirs; d++)
        if (merge_shard(sw, dirs[d]))
            return 1;
    if (order_merged(sw))
        return 1;
    if (gpx_mkdir_p(sw->out_dir, err, sizeof err) ||
        gpx_dir_lock_take(&sw->lock, sw->out_dir, sw->argc, sw->argv, err, sizeof err)) {
        fprintf(stderr, "gpool merge: %s\n", err);
        return 1;
    }
    if (gpx_sweep_write_config(sw) || gpx_sweep_write_tables(sw) ||
        merge_run_files(sw, dirs, ndirs))
        return 1;
    if (gpx_lr_search_merge(sw->out_dir, dirs, ndirs, err, sizeof err)) {
        fprintf(stderr, "gpool merge: lr search: %s\n", err);
        return 1;
    }
    if (gpx_sweep_write_chart(sw))
        return 1;
    printf("gpool merge: %zu runs from %d shards -> %s\n", sw->nruns, ndirs, sw->out_dir);
    return 0;
}

/* The shards into one directory, as o says: the exit status. */
static int merge(const merge_options *o, int argc, char **argv)
{
    const char **dirs = o->shards.arg;
    int ndirs = o->shards.n;
    char path[4096], err[1024];
    gpx_join(path, sizeof path, dirs[0], "config.yaml");
    ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool merge: %s\n", err);
        return 1;
    }
    gpx_sweep_options so = { .out_dir = o->out, .quiet = 1, .cmd = MERGE_CMD };
    gpx_sweep sw;
    int rc = 1;
    if (gpx_sweep_init(&sw, &so, cfg, argc, argv) == 0) {
        sw.merged_from = dirs;
        sw.nmerged = ndirs;
        if (o->out)
            snprintf(sw.out_dir, sizeof sw.out_dir, "%s", o->out);
        else
            snprintf(sw.out_dir, sizeof sw.out_dir, "results/%s", ycfg_name(cfg));
        rc = merge_into(&sw, dirs, ndirs);
        gpx_sweep_free(&sw);
    }
    ycfg_free(cfg);
    return rc;
}

int gpx_cmd_merge(int argc, char **argv)
{
    merge_options o = { 0 };
    int rc = gpx_parse_command_line(&merge_command_line, argc, argv, &o);
    if (rc == 0)
        rc = merge(&o, argc, argv);
    else if (rc == 1)
        rc = 0;
    free(o.shards.arg);
    return rc;
}
