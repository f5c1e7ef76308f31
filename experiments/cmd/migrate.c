/*
 * migrate.c - `gpool migrate DIR...`: rewrite results directories of the
 * previous release to this release's run ids (records/migrate.h).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "cmd/commands.h"
#include "records/migrate.h"
#include "util/util.h"

#define MIGRATE_CMD "gpool migrate"

static void migrate_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool migrate [-q] DIR...\n"
            "\n"
            "Rewrite a results directory written by gpool before run ids changed to this\n"
            "gpool's ids. Ids used to hash a point's whole config, defaults included, so a\n"
            "new key changed them all; they now hash the experiment name and the values\n"
            "that differ from the defaults, and manifest.yaml records the defaults.\n"
            "\n"
            "DIR/config.yaml, which spells out every key, gives each point's old and new\n"
            "id. Every id is rewritten: runs.csv, epochs.csv, evals.csv, manifest.yaml,\n"
            "accuracy.dat, each runs/<id>/manifest.yaml, and the run folders runs/<id>/\n"
            "(with their checkpoints and progress.csv, so that `gpool run --resume` goes on\n"
            "from them). An id that maps to no point refuses the directory, unchanged.\n"
            "Files are replaced whole and manifest.yaml last, so an interrupted migrate can\n"
            "be run again; a migrated directory has nothing to do.\n"
            "\n"
            "`gpool run --resume`, `merge`, `rerun` and `table` refuse a directory that\n"
            "needs this. Shards (results/<name>/shard-K-of-N) are directories of their own.\n"
            "\n"
            "Options:\n"
            "  -q, --quiet     print only errors and one line per directory\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 every DIR migrated or had nothing to do, 1 an error or a DIR\n"
            "refused, 2 bad command line.\n");
}

/* -1 to go on (dirs[0..*ndirs-1] set), or the exit status: 0 help printed,
 * 2 usage error printed. */
static int parse_migrate_options(int argc, char **argv, int *quiet, char **dirs, int *ndirs)
{
    for (int i = 1; i < argc; i++) {
        if (gpx_option_flag(argv[i], "-h", "--help")) {
            migrate_usage(stdout);
            return 0;
        } else if (gpx_option_flag(argv[i], "-q", "--quiet")) {
            *quiet = 1;
        } else if (gpx_option_operand(MIGRATE_CMD, argv[i], dirs, ndirs, argc)) {
            return 2;
        }
    }
    if (!*ndirs)
        return gpx_usage_error(MIGRATE_CMD, "missing DIR (for example results/heads)");
    return -1;
}

/* One directory migrated, with a line saying what happened: 0, or 1. */
static int migrate_one(const char *dir, int quiet)
{
    char err[8400];
    gpx_migration done;
    int rc = gpx_migrate_dir(dir, quiet ? NULL : stdout, &done, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "gpool migrate: %s\n", err);
        return 1;
    }
    if (rc == 1)
        printf("gpool migrate: %s: nothing to do (its run ids are this gpool's)\n", dir);
    else
        printf("gpool migrate: %s: %zu run ids rewritten in %zu files and %zu run folders\n",
               dir, done.ids, done.files, done.folders);
    return 0;
}

int gpx_cmd_migrate(int argc, char **argv)
{
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    int ndirs = 0, quiet = 0, failed = 0;
    if (!dirs)
        return 1;
    int status = parse_migrate_options(argc, argv, &quiet, dirs, &ndirs);
    for (int d = 0; status < 0 && d < ndirs; d++)
        failed |= migrate_one(dirs[d], quiet);
    free(dirs);
    return status >= 0 ? status : failed;
}
