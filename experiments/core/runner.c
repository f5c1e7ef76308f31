/*
 * runner.c - the parent's side of a run (see runner.h): fork, read the
 * child's messages, wait for it and settle how the run ended.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/runner_msg.h"
#include "util/interrupt.h"
#include "util/util.h"

static int read_msg(int fd, gpx_runner_msg *m)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fd, p + got, sizeof *m - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got ? -1 : 0;
        got += (size_t)r;
    }
    return 1;
}

/* item appended to the array *items of *n elements of size bytes: 0, or -1 out of memory. */
static int append(void *items, int *n, size_t size, const void *item)
{
    void **array = items;
    char *grown = realloc(*array, (size_t)(*n + 1) * size);
    if (!grown)
        return -1;
    memcpy(grown + (size_t)*n * size, item, size);
    *array = grown;
    (*n)++;
    return 0;
}

static int take_msg(gpx_run_outcome *out, const gpx_runner_msg *m)
{
    switch (m->kind) {
    case GPX_MSG_BUILT:
        out->built = m->u.built;
        out->have_built = 1;
        return 0;
    case GPX_MSG_DATA:
        out->data = m->u.data;
        out->have_data = 1;
        return 0;
    case GPX_MSG_EPOCH:
        return append(&out->epochs, &out->nepochs, sizeof m->u.epoch, &m->u.epoch);
    case GPX_MSG_EVAL:
        return append(&out->evals, &out->nevals, sizeof m->u.eval, &m->u.eval);
    case GPX_MSG_DONE:
        out->result = m->u.done;
        out->have_done = 1;
        return 0;
    }
    return -1;
}

static void settle_status(gpx_run_outcome *out, int wstatus, int read_error)
{
    if (WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGINT || WTERMSIG(wstatus) == SIGTERM)) {
        out->status = "interrupted";
        snprintf(out->reason, sizeof out->reason, "signal %d after %d epochs",
                 WTERMSIG(wstatus), out->nepochs);
    } else if (WIFSIGNALED(wstatus)) {
        out->status = "failed";
        snprintf(out->reason, sizeof out->reason, "run died of signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    } else if (!out->have_done || read_error) {
        out->status = "failed";
        snprintf(out->reason, sizeof out->reason, "run ended without a result (exit %d)",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    } else {
        out->status = out->result.status == GPX_RUN_OK        ? "ok"
                      : out->result.status == GPX_RUN_DIVERGED ? "diverged"
                                                               : "failed";
        snprintf(out->reason, sizeof out->reason, "%s", out->result.reason);
    }
}

static volatile sig_atomic_t caught_signal;
static volatile pid_t run_in_progress;   /* the run's process, to pass a signal on to */
static gpx_interrupts before_runs;      /* the handlers there were, put back after */

static void on_signal(int sig)
{
    caught_signal = sig;
    if (run_in_progress > 0)
        kill(run_in_progress, sig);
}

/* Not once: every signal goes on to the run then in progress, which
 * records itself as interrupted. */
void gpx_runner_catch_signals(int on)
{
    if (on)
        gpx_interrupts_catch(&before_runs, on_signal, 0);
    else
        gpx_interrupts_restore(&before_runs);
}

int gpx_runner_interrupted(void)
{
    return caught_signal;
}

/* Train time, images/s and the best epoch, from every epoch row: a run
 * continued from a checkpoint reports its earlier epochs as rows too. The
 * best epoch is chosen by validation accuracy when there is a validation
 * split (choosing by test accuracy would flatter it), else by test
 * accuracy; the first of equals wins. */
static void summarize_epochs(gpx_run_outcome *out)
{
    double train_s = 0, images = 0, best_key = 0;
    out->result.best_epoch = 0;
    for (int e = 0; e < out->nepochs; e++) {
        const gpx_epoch_row *r = &out->epochs[e];
        double key = isnan(r->val_acc) ? r->test_acc : r->val_acc;
        train_s += r->epoch_s;
        images += r->epoch_s * r->img_per_s;
        if (out->result.best_epoch == 0 || key > best_key) {
            best_key = key;
            out->result.best_epoch = r->epoch;
            out->result.best_test_acc = r->test_acc;
        }
    }
    out->result.train_s = train_s;
    out->result.images_per_s = train_s > 0 ? images / train_s : NAN;
}

/* The child's messages until it closes the pipe, each epoch also handed to
 * the job's on_epoch; 1 when one was short or could not be kept. */
static int collect_messages(int fd, const gpx_run_job *job, gpx_run_outcome *out)
{
    gpx_runner_msg m;
    int r, read_error = 0;
    while ((r = read_msg(fd, &m)) > 0) {
        if (take_msg(out, &m))
            read_error = 1;
        else if (m.kind == GPX_MSG_EPOCH && job->on_epoch)
            (void)job->on_epoch(&m.u.epoch, job->epoch_ctx);
    }
    return r < 0 ? 1 : read_error;
}

/* Wait for the run's process and settle the outcome from how it ended. */
static int wait_for_run(pid_t pid, gpx_run_outcome *out, int read_error)
{
    int wstatus = 0;
    struct rusage ru;
    while (wait4(pid, &wstatus, 0, &ru) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "gpool run: wait: %s\n", strerror(errno));
            return -1;
        }
    run_in_progress = 0;
    gpx_iso_time(out->finished, sizeof out->finished);
    if (WIFSIGNALED(wstatus))
        snprintf(out->exit_text, sizeof out->exit_text, "signal %d", WTERMSIG(wstatus));
    else
        snprintf(out->exit_text, sizeof out->exit_text, "exit %d", WEXITSTATUS(wstatus));
    out->peak_rss_mib = (double)ru.ru_maxrss / 1024.0;   /* KiB on Linux */
    settle_status(out, wstatus, read_error);
    summarize_epochs(out);
    return 0;
}

int gpx_runner_train(const gpx_run_job *job, gpx_run_outcome *out)
{
    int fds[2];
    memset(out, 0, sizeof *out);
    out->pt = ycfg_point_at(job->cfg, job->index);
    out->id = ycfg_point_id(out->pt);
    gpx_iso_time(out->started, sizeof out->started);
    fflush(NULL);
    if (pipe(fds)) {
        fprintf(stderr, "gpool run: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "gpool run: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int rc = gpx_runner_child_main(job, fds[1]);
        fflush(NULL);
        _exit(rc);
    }
    close(fds[1]);
    run_in_progress = pid;
    int read_error = collect_messages(fds[0], job, out);
    close(fds[0]);
    return wait_for_run(pid, out, read_error);
}

void gpx_run_outcome_free(gpx_run_outcome *out)
{
    free(out->epochs);
    free(out->evals);
    out->epochs = NULL;
    out->evals = NULL;
    out->nepochs = out->nevals = 0;
}

/* Move *p past word and the digits after it: 0, or -1 when either is missing. */
static int skip_numbered(const char **p, const char *word)
{
    size_t len = strlen(word);
    if (strncmp(*p, word, len) != 0 || (*p)[len] < '0' || (*p)[len] > '9')
        return -1;
    for (*p += len; **p >= '0' && **p <= '9'; (*p)++)
        ;
    return 0;
}

/* The readers (records/sweep.c, core/runner_child.c) ignore what they cannot
 * parse: a misspelt fault would let a test of --resume pass without a fault. */
int gpx_runner_check_fault(char *err, size_t errlen)
{
    const char *fault = getenv("GPOOL_FAULT"), *p = fault;
    if (!fault || !fault[0])
        return 0;
    if (!skip_numbered(&p, "after-run:") && !*p)
        return 0;
    p = fault;
    if (!skip_numbered(&p, "run:") && !skip_numbered(&p, ":epoch:") && !*p)
        return 0;
    return gpx_fail(err, errlen, "GPOOL_FAULT='%.80s' is neither after-run:R nor run:R:epoch:E "
                                 "(R, E: numbers; unset it to run without a fault)", fault);
}
