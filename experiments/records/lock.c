/*
 * lock.c - one writer per results directory (see lock.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "records/lock.h"
#include "util/util.h"

/* "key: value" lines into h (unknown keys and a torn file leave fields empty). */
static void parse_holder(const char *text, gpx_lock_holder *h)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        if (!strncmp(line, "pid: ", 5))
            h->pid = strtol(line + 5, NULL, 10);
        else if (!strncmp(line, "host: ", 6))
            snprintf(h->host, sizeof h->host, "%.*s", len - 6, line + 6);
        else if (!strncmp(line, "since: ", 7))
            snprintf(h->since, sizeof h->since, "%.*s", len - 7, line + 7);
        else if (!strncmp(line, "command: ", 9))
            snprintf(h->command, sizeof h->command, "%.*s", len - 9, line + 9);
        else if (!strncmp(line, "run: ", 5))
            snprintf(h->run, sizeof h->run, "%.*s", len - 5, line + 5);
        line += len + (end != NULL);
    }
}

/* What the lock file at fd records of its holder. */
static void read_holder(int fd, gpx_lock_holder *h)
{
    char text[2048];
    memset(h, 0, sizeof *h);
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    parse_holder(text, h);
    char host[256] = "";
    h->exited = h->pid > 0 && gethostname(host, sizeof host - 1) == 0 &&
                !strcmp(host, h->host) && kill((pid_t)h->pid, 0) != 0 && errno == ESRCH;
}

static void describe_holder(const char *dir, const gpx_lock_holder *h, char *err, size_t errlen)
{
    if (h->exited) {
        snprintf(err, errlen, "%s is in use: its recorded holder, pid %ld (%s), has exited; "
                 "a run it forked, still finishing, or another process holds it", dir, h->pid,
                 h->command);
        return;
    }
    if (!h->pid) {
        snprintf(err, errlen, "%s is in use by another process (%s/" GPX_LOCK_FILE
                 " records no holder)", dir, dir);
        return;
    }
    snprintf(err, errlen, "%s is in use by pid %ld on %s since %s: %s", dir, h->pid,
             *h->host ? h->host : "(host not recorded)",
             *h->since ? h->since : "(time not recorded)",
             *h->command ? h->command : "(command not recorded)");
}

/* The record rewritten whole, with run_id when there is one. */
static void write_record(const gpx_dir_lock *l, const char *run_id)
{
    char text[sizeof l->record + 256];
    int n = snprintf(text, sizeof text, "%s", l->record);
    if (run_id && *run_id)
        n += snprintf(text + n, sizeof text - (size_t)n, "run: %s\n", run_id);
    n = (int)strlen(text);   /* a run id too long for the record is cut */
    /* the record only serves the messages of others: the lock holds without it */
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, text, (size_t)n, 0) != n)
        fprintf(stderr, "gpool: note: could not record the lock's holder: %s\n", strerror(errno));
}

/* The holder's record: who, where, since when, what command. */
static void make_record(gpx_dir_lock *l, int argc, char **argv)
{
    char host[256] = "", since[64];
    size_t len = sizeof l->record - 1;
    if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "unknown");
    gpx_iso_time(since, sizeof since);
    int n = snprintf(l->record, len, "pid: %ld\nhost: %s\nsince: %s\ncommand: gpool",
                     (long)getpid(), host, since);
    for (int i = 0; i < argc && (size_t)n < len; i++)
        n += snprintf(l->record + n, len - (size_t)n, " %s", argv[i]);
    n = (size_t)n < len ? n : (int)len - 1;
    l->record[n] = '\n';
    l->record[n + 1] = '\0';
}

/* flock LOCK_EX, not waiting for a holder but for a `gpool status` that
 * probes the lock (it holds a shared lock for microseconds): a few tries
 * 10 ms apart. 0, or -1 with errno. */
static int take_exclusive(int fd)
{
    const struct timespec pause = { 0, 10 * 1000 * 1000 };
    int rc = flock(fd, LOCK_EX | LOCK_NB);
    for (int tries = 1; rc != 0 && errno == EWOULDBLOCK && tries < 5; tries++) {
        nanosleep(&pause, NULL);
        rc = flock(fd, LOCK_EX | LOCK_NB);
    }
    return rc;
}

/* The lock file of dir opened and locked, and still the file at its path:
 * a holder that released it may have unlinked it after this process opened
 * it, and a lock on an unlinked file locks nothing. 0 (l->fd), 1 held by
 * another (fd returned open in *busy), or -1 with errno. */
static int lock_file(gpx_dir_lock *l, int *busy)
{
    for (int tries = 0; tries < 100; tries++) {
        struct stat mine, now;
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        if (take_exclusive(fd) != 0) {
            int saved = errno;
            if (saved == EWOULDBLOCK) {
                *busy = fd;
                return 1;
            }
            close(fd);
            errno = saved;
            return -1;
        }
        if (fstat(fd, &mine) == 0 && stat(l->path, &now) == 0 && mine.st_ino == now.st_ino &&
            mine.st_dev == now.st_dev) {
            l->fd = fd;
            return 0;
        }
        close(fd);   /* unlinked under us: open the one at the path now */
    }
    errno = EAGAIN;
    return -1;
}

int gpx_dir_lock_take(gpx_dir_lock *l, const char *dir, int argc, char **argv, char *err,
                      size_t errlen)
{
    int busy = -1;
    l->fd = -1;
    if (gpx_join(l->path, sizeof l->path, dir, GPX_LOCK_FILE)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    int rc = lock_file(l, &busy);
    if (rc == 0) {
        make_record(l, argc, argv);
        write_record(l, NULL);
        return 0;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot write %s (the directory's lock): %s", l->path,
                 strerror(errno));
    } else {
        gpx_lock_holder h;
        read_holder(busy, &h);
        describe_holder(dir, &h, err, errlen);
        close(busy);
    }
    return -1;
}

void gpx_dir_lock_note_run(gpx_dir_lock *l, const char *run_id)
{
    if (l->fd >= 0)
        write_record(l, run_id);
}

void gpx_dir_lock_release(gpx_dir_lock *l)
{
    /* Unlinked while held, so that a command that writes nothing (one that
     * refuses the directory) leaves no file behind; the takers check that
     * the file they locked is still the one at the path. Where it cannot be
     * unlinked, no record of a holder outlives the lock. */
    if (l->fd >= 0 && unlink(l->path) != 0 && ftruncate(l->fd, 0) != 0)
        fprintf(stderr, "gpool: note: could not clear the lock's record %s: %s\n", l->path,
                strerror(errno));
    if (l->fd >= 0)
        close(l->fd);   /* the last descriptor closed drops the lock */
    l->fd = -1;
}

int gpx_dir_lock_holder(const char *dir, gpx_lock_holder *h, char *err, size_t errlen)
{
    char path[4096];
    memset(h, 0, sizeof *h);
    if (gpx_join(path, sizeof path, dir, GPX_LOCK_FILE)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* a shared lock taken is no holder; it goes again with the descriptor */
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0;
    if (held && errno != EWOULDBLOCK) {
        snprintf(err, errlen, "%s: cannot test the lock: %s", path, strerror(errno));
        held = -1;
    } else if (held) {
        read_holder(fd, h);
    }
    close(fd);
    return held;
}
