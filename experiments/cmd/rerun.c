/*
 * rerun.c - `gpool rerun DIR RUN_ID`: run one recorded row of a results
 * directory again from its own config and compare the new row with it.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/commands.h"
#include "core/schema.h"
#include "records/ids.h"
#include "records/csv.h"
#include "records/results.h"
#include "records/sweep.h"
#include "util/util.h"

#define RERUN_CMD "gpool rerun"

static void rerun_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool rerun [OPTIONS] RESULTS_DIR RUN_ID\n"
            "\n"
            "Run one row of an experiment again from its own manifest and config\n"
            "(RESULTS_DIR/runs/RUN_ID/config.yaml) into another directory, then compare the\n"
            "new runs.csv row with the recorded one, column by column, leaving out the\n"
            "timing columns (train_s, img_per_s, peak_rss_mib). Results are bit-identical\n"
            "for the same thread count and build; the manifest records both.\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   where the rerun goes (default RESULTS_DIR/rerun-RUN_ID)\n"
            "  -f, --force     overwrite an earlier rerun there\n"
            "  -q, --quiet     no build log and no progress line\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 equal, 1 different or an error, 2 bad command line.\n");
}

typedef struct {
    gpx_sweep_options sweep;
    const char       *recorded[2];  /* RESULTS_DIR, RUN_ID */
} rerun_options;

static const gpx_option rerun_option_list[] = {
    { "-o", "--out", "a directory", .offset = offsetof(rerun_options, sweep.out_dir) },
    { "-f", "--force", .offset = offsetof(rerun_options, sweep.force) },
    { "-q", "--quiet", .offset = offsetof(rerun_options, sweep.quiet) },
};

static const gpx_command_line rerun_command_line = {
    RERUN_CMD, rerun_usage, 0, rerun_option_list,
    sizeof rerun_option_list / sizeof *rerun_option_list,
    .operand_name = "RESULTS_DIR and RUN_ID", .operand_offset = offsetof(rerun_options, recorded),
    .operands = 2, .operand_example = "results/tutorial 1ec4032450d1912b",
};

/* DIR/runs.csv, and the row of run id in it: 0, or -1 (printed). */
static int load_run_row(const char *dir, const char *id, gpx_csv *t, size_t *row)
{
    char path[4096], err[8400];
    const int need[] = { GPX_RUNS_RUN_ID };
    int col[GPX_RUNS_NCOLUMNS];
    gpx_join(path, sizeof path, dir, "runs.csv");
    if (gpx_record_load(t, path, &gpx_runs_file, need, 1, col, NULL, err, sizeof err)) {
        fprintf(stderr, "gpool rerun: %s\n", err);
        return -1;
    }
    *row = 0;
    if (gpx_csv_find(t, col[GPX_RUNS_RUN_ID], id, row)) {
        fprintf(stderr, "gpool rerun: %s has no run %s\n", path, id);
        gpx_csv_free(t);
        return -1;
    }
    return 0;
}

/* Run cfg (one point, run id) into o->out_dir and compare its runs.csv row
 * with the recorded one. The exit status. */
static int rerun_and_compare(gpx_sweep *sw, const char *id, const gpx_csv *recorded, size_t row)
{
    gpx_csv t;
    size_t r;
    gpx_progress_enable(!sw->opt.quiet);
    if (gpx_sweep_prepare(sw) || gpx_sweep_write_config(sw) || gpx_sweep_train(sw) != 0 ||
        load_run_row(sw->out_dir, id, &t, &r))
        return 1;
    int diffs = gpx_record_diff(&gpx_runs_file, recorded, row, &t, r, stdout);
    printf("gpool rerun: run %s %s the recorded row (timing columns left out)\n", id,
           diffs ? "DIFFERS from" : "equals");
    gpx_csv_free(&t);
    return diffs ? 1 : 0;
}

/* The recorded run id of dir rerun from its own config: the exit status. */
static int rerun_recorded(gpx_sweep_options *o, const char *dir, const char *id, int argc,
                          char **argv)
{
    char config[4096], out[4096], err[8400];
    struct stat st;
    int missing = stat(dir, &st) != 0;
    if (missing || !S_ISDIR(st.st_mode)) {
        /* else the first file looked for in it gets the blame ("has no run ID") */
        fprintf(stderr, "gpool rerun: %s: %s\n", dir,
                !missing ? "not a directory" : errno == ENOENT ? "no such directory"
                                                                : strerror(errno));
        return 1;
    }
    if (gpx_ids_check_current(dir, err, sizeof err)) {
        fprintf(stderr, "gpool rerun: %s\n", err);
        return 1;
    }
    snprintf(config, sizeof config, "%s/runs/%s/config.yaml", dir, id);
    gpx_csv recorded;
    size_t row;
    if (load_run_row(dir, id, &recorded, &row))
        return 1;
    ycfg *cfg = ycfg_load(config, gpx_run_schema(), err, sizeof err);
    int rc = 1;
    gpx_sweep sw;
    if (!cfg) {
        fprintf(stderr, "gpool rerun: %s\n", err);
    } else if (strcmp(ycfg_point_id(ycfg_point_at(cfg, 0)), id)) {
        fprintf(stderr, "gpool rerun: %s loads to run id %s, not %s\n", config,
                ycfg_point_id(ycfg_point_at(cfg, 0)), id);
    } else {
        if (!o->out_dir) {
            snprintf(out, sizeof out, "%s/rerun-%s", dir, id);
            o->out_dir = out;
        }
        if (gpx_sweep_init(&sw, o, cfg, argc, argv) == 0) {
            rc = rerun_and_compare(&sw, id, &recorded, row);
            gpx_sweep_free(&sw);
        }
    }
    ycfg_free(cfg);
    gpx_csv_free(&recorded);
    return rc;
}

int gpx_cmd_rerun(int argc, char **argv)
{
    rerun_options o = { .sweep.cmd = RERUN_CMD };
    int rc = gpx_parse_command_line(&rerun_command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    return rerun_recorded(&o.sweep, o.recorded[0], o.recorded[1], argc, argv);
}
