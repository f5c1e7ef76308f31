/*
 * migrate.c - `gpool migrate DIR...`: rewrite results directories of the
 * previous release to this release's run ids (records/migrate.h).
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cmd/commands.h"
#include "records/lock.h"
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

typedef struct {
    int              quiet;
    gpx_operand_list dirs;
} migrate_options;

static const gpx_option migrate_option_list[] = {
    { "-q", "--quiet", .offset = offsetof(migrate_options, quiet) },
};

static const gpx_command_line migrate_command_line = {
    MIGRATE_CMD, migrate_usage, 0, migrate_option_list, 1,
    .operand_name = "DIR", .operand_offset = offsetof(migrate_options, dirs),
    .operands = GPX_ONE_OR_MORE, .operand_example = "results/heads",
};

/* dir locked against a sweep writing it (records/lock.h) when it is a
 * directory; what is not, gpx_migrate_dir refuses in its own words. 0, or -1. */
static int lock_dir(gpx_dir_lock *lock, const char *dir, int argc, char **argv, char *err,
                    size_t errlen)
{
    struct stat st;
    lock->fd = -1;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode)
               ? gpx_dir_lock_take(lock, dir, argc, argv, err, errlen)
               : 0;
}

/* One directory migrated, with a line saying what happened: 0, or 1. */
static int migrate_one(const char *dir, int quiet, int argc, char **argv)
{
    char err[8400];
    gpx_migration done;
    gpx_dir_lock lock;
    int rc = lock_dir(&lock, dir, argc, argv, err, sizeof err);
    if (rc == 0)
        rc = gpx_migrate_dir(dir, quiet ? NULL : stdout, &done, err, sizeof err);
    gpx_dir_lock_release(&lock);
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
    migrate_options o = { 0 };
    int rc = gpx_parse_command_line(&migrate_command_line, argc, argv, &o), failed = 0;
    for (int d = 0; rc == 0 && d < o.dirs.n; d++)
        failed |= migrate_one(o.dirs.arg[d], o.quiet, argc, argv);
    free(o.dirs.arg);
    return rc == 0 ? failed : rc == 1 ? 0 : 2;
}
