/*
 * lock.h - a results directory written by one command at a time: `gpool
 * run`, `rerun`, `merge` and `migrate` take an exclusive lock on DIR/gpool.lock
 * before they read or write the directory, and a second one fails at once,
 * naming the holder (pid, host, command, since when) that the lock file
 * records. The lock is flock(2)'s: the kernel drops it when the last
 * descriptor of it closes, so a killed command never leaves a stale lock
 * (its file stays, and the next command reuses it; a command that ends
 * removes it). A run that `gpool run` forks shares
 * the parent's descriptor: its exit leaves the parent's lock alone, and a
 * run orphaned by a killed parent (it dies at its next report to the parent)
 * keeps the directory locked while it still writes there. The descriptor is
 * close-on-exec, so gnuplot does not hold it. `flock(1)` of util-linux takes
 * the same lock.
 *
 *     gpx_dir_lock lock;
 *     if (gpx_dir_lock_take(&lock, dir, argc, argv, err, sizeof err)) ... (err names the holder)
 *     ... write the directory ...
 *     gpx_dir_lock_release(&lock);
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_LOCK_H
#define GPOOL_EXPERIMENTS_RECORDS_LOCK_H

#include <stddef.h>

#define GPX_LOCK_FILE "gpool.lock"

typedef struct {
    int  fd;            /* -1: not held */
    char path[4096];    /* DIR/gpool.lock */
    char record[2048];  /* what the lock file says of the holder, the run aside */
} gpx_dir_lock;

/* Who holds a directory's lock, as its lock file records it. */
typedef struct {
    long pid;            /* 0: not recorded */
    char host[256];
    char since[64];      /* ISO 8601 with its offset */
    char command[1024];  /* "gpool run -q configs/x.yaml" */
    char run[128];       /* the run id in progress, "" when none was noted */
    int  exited;         /* pid, of this host, is gone: a run it forked still holds the lock */
} gpx_lock_holder;

/* The lock of dir (which must exist) taken for the command argv[0..argc-1]
 * (argv[0] the verb, as the verbs get it). 0; or -1 with "DIR is in use by
 * pid P on HOST since T: gpool ..." or the system's error in err. */
int  gpx_dir_lock_take   (gpx_dir_lock *l, const char *dir, int argc, char **argv, char *err,
                          size_t errlen);

/* The holder's record says that run_id is in progress (NULL or "": none),
 * for `gpool status`. */
void gpx_dir_lock_note_run(gpx_dir_lock *l, const char *run_id);

/* The lock released (safe on a lock not held). */
void gpx_dir_lock_release(gpx_dir_lock *l);

/* Whether dir's lock is held by another process: 1 (*h filled), 0 not held
 * (no lock file is not held), -1 with the system's error in err. */
int  gpx_dir_lock_holder (const char *dir, gpx_lock_holder *h, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_LOCK_H */
