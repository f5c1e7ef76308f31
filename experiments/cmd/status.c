/*
 * status.c - `gpool status DIR`: where the sweep of a results directory
 * stands, read from its files (records/status.h) while `gpool run` writes
 * it or after.
 */
#include "autoconfig.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "cmd/commands.h"
#include "records/status.h"
#include "util/util.h"

#define STATUS_CMD "gpool status"

typedef struct {
    const char *dir;
} status_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool status DIR\n"
            "\n"
            "Where the sweep of the results directory DIR (written by `gpool run`) stands:\n"
            "  ok, diverged, failed, interrupted   rows of runs.csv by status\n"
            "  remaining     points of DIR/config.yaml without a row in runs.csv yet (a\n"
            "                shard's directory counts the whole config's points)\n"
            "  in progress   the command that holds DIR's lock (gpool.lock: pid, host,\n"
            "                since when, command line), the run it trains and the epochs\n"
            "                that run has saved (runs/<id>/progress.csv); or none\n"
            "  time left     the epochs of the remaining points at the mean epoch time\n"
            "                (training and evaluation) of the epochs recorded so far\n"
            "It reads DIR only, and works during a run and after it.\n"
            "\n"
            "Options:\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 shown, 1 DIR is no results directory or a file of it is\n"
            "malformed, 2 bad command line.\n");
}

static const gpx_command_line status_command_line = {
    STATUS_CMD, usage, 0, NULL, 0,
    .operand_name = "DIR", .operand_offset = offsetof(status_options, dir),
    .operand_example = "results/heads",
};

/* Seconds as "2 h 05 min", "3 min 20 s" or "12 s". */
static void format_duration(double s, char *buf, size_t len)
{
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, len, "%ld h %02ld min", t / 3600, t % 3600 / 60);
    else if (t >= 60)
        snprintf(buf, len, "%ld min %02ld s", t / 60, t % 60);
    else
        snprintf(buf, len, "%ld s", t);
}

static void print_in_progress(const gpx_dir_status *st)
{
    const gpx_lock_holder *h = &st->holder;
    if (!st->locked) {
        printf("in progress:  none (no command holds the directory)\n");
        return;
    }
    if (h->exited)
        printf("in progress:  pid %ld (%s) has exited; a run it forked, still finishing, or\n"
               "              another process holds the directory\n", h->pid, h->command);
    else if (h->pid)
        printf("in progress:  pid %ld on %s since %s: %s\n", h->pid, h->host, h->since,
               h->command);
    else
        printf("in progress:  a process that recorded no holder holds the directory\n");
    if (st->current_epochs)
        printf("current run:  %s, epoch %d of %d done\n", h->run, st->current_epoch,
               st->current_epochs);
    else if (h->run[0])
        printf("current run:  %s\n", h->run);
}

static void print_time_left(const gpx_dir_status *st)
{
    char left[64];
    if (!st->epochs_left) {
        printf("time left:    0 s (every point has a row)\n");
        return;
    }
    if (!isfinite(st->seconds_left)) {
        printf("time left:    unknown (%lld epochs to go, none timed yet)\n", st->epochs_left);
        return;
    }
    format_duration(st->seconds_left, left, sizeof left);
    printf("time left:    about %s (%lld epochs to go at %.3g s, the mean of %zu epochs)\n",
           left, st->epochs_left, st->mean_epoch_s, st->epochs_timed);
}

static void print_status(const char *dir, const gpx_dir_status *st)
{
    printf("directory:    %s\n", dir);
    printf("experiment:   %s (%zu points)\n", st->experiment, st->npoints);
    printf("ok:           %zu\n", st->ok);
    printf("diverged:     %zu\n", st->diverged);
    printf("failed:       %zu\n", st->failed);
    printf("interrupted:  %zu\n", st->interrupted);
    printf("remaining:    %zu\n", st->remaining);
    print_in_progress(st);
    print_time_left(st);
}

int gpx_cmd_status(int argc, char **argv)
{
    status_options o = { 0 };
    char err[8400];
    gpx_dir_status st;
    int rc = gpx_parse_command_line(&status_command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (gpx_dir_status_read(o.dir, &st, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", STATUS_CMD, err);
        return 1;
    }
    print_status(o.dir, &st);
    return 0;
}
