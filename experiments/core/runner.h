/*
 * runner.h - train one point of an experiment in a process of its own and
 * collect what it reports: how its network was built, the data it loaded,
 * every epoch, its evaluations at other input sizes and how it ended.
 *
 * The run forks: its peak RSS (wait4's ru_maxrss) then belongs to that run
 * alone, and a crash cannot take the sweep down. The caller must not have
 * entered an OpenMP region before (libgomp's thread pool does not survive
 * fork). The child reports over a pipe, message by message, so that a run
 * killed half-way still leaves the epochs it finished.
 *
 *     gpx_run_job job = { cfg, i, run_dir, resume, show_build, &store };
 *     gpx_run_outcome run;
 *     gpx_runner_catch_signals(1);
 *     if (gpx_runner_train(&job, &run) == 0) ... run.status, run.epochs ...
 *     gpx_run_outcome_free(&run);
 *
 * With train.checkpoint the child saves the weights and optimizer state to
 * RUN_DIR/checkpoint after every epoch, then its epochs so far through the
 * progress store (the floor above decides the file), and only then reports
 * the epoch; with resume it goes on from a checkpoint whose stored epochs
 * match it.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_RUNNER_H
#define GPOOL_EXPERIMENTS_CORE_RUNNER_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/evalsize.h"
#include "core/lrsearch.h"
#include "core/train.h"
#include "gpool_nn.h"

/* What building a run's network told: runs.csv and the manifests record it. */
typedef struct {
    double        params, flops;
    gp_mem_report mem;
    int           threads;
    char          variant[32];   /* global pooling variant "auto" picks for the head */
    int           input_size;    /* side of the square images it trained on */
} gpx_run_built;

/* Where a run keeps its epochs so far, named by the run's folder. */
typedef struct {
    /* Replace them by rows[0..n-1] (whole or not at all): 0, or -1. */
    int  (*save)   (const char *run_dir, const gpx_epoch_row *rows, int n);
    /* Read them back into *rows (caller frees): how many, 0 when none can be used. */
    int  (*load)   (const char *run_dir, gpx_epoch_row **rows);
    /* Forget them: a fresh start must not take them for its own. */
    void (*discard)(const char *run_dir);
} gpx_progress_store;

/* One point to train. */
typedef struct {
    const ycfg               *cfg;
    size_t                    index;       /* the point, 0 <= index < ycfg_npoints(cfg) */
    const char               *run_dir;     /* the run's folder (checkpoint/ goes below it) */
    int                       resume;      /* continue from a matching checkpoint */
    int                       show_build;  /* print the network to stderr */
    const gpx_progress_store *progress;
    const char               *restart_command; /* retrains it from scratch: named when its
                                                * checkpoint fails verification (NULL: none) */
    gpx_epoch_fn              on_epoch;    /* NULL, or called here (not in the run's process)
                                            * with each epoch as it arrives; its return ignored */
    void                     *epoch_ctx;   /* on_epoch's ctx */
    const gpx_lr_store       *lr_store;    /* train.lr_search's choices (NULL: none) */
    const char               *sweep_dir;   /* the directory lr_store keeps them in */
} gpx_run_job;

/* What a run reported and how its process ended. */
typedef struct {
    const ycfg_point *pt;
    const char       *id;
    int               have_built, have_done, have_data;
    gpx_run_built     built;
    gpx_train_result  result;        /* best epoch, train time and images/s from every epoch */
    gpx_epoch_row    *epochs;        /* every epoch reported, continued ones included */
    int               nepochs;
    gpx_size_row     *evals;         /* eval.sizes x eval.methods, in that order */
    int               nevals;
    gpx_data_record   data;
    double            peak_rss_mib;
    const char       *status;        /* ok, diverged, failed, interrupted */
    char              reason[256];
    char              started[64], finished[64];
    char              exit_text[48]; /* how the run's process ended: "exit 0", "signal 9" */
} gpx_run_outcome;

/* Train job's point in a child process into *out (cleared first): 0 when
 * the run was carried out, whatever its status; -1 when no process could
 * be started or waited for (printed). */
int  gpx_runner_train        (const gpx_run_job *job, gpx_run_outcome *out);

/* Free the rows an outcome holds. */
void gpx_run_outcome_free    (gpx_run_outcome *out);

/* Install (on 1) or restore (on 0) handlers for SIGINT and SIGTERM that
 * pass the signal on to the run in progress and note it. */
void gpx_runner_catch_signals(int on);

/* The signal caught since then, or 0. */
int  gpx_runner_interrupted  (void);

/* GPOOL_FAULT (a test's request to kill the sweep at a set point, see
 * gpool run --help) checked before any run: 0 when unset, empty or one of
 * the known forms; -1 and err naming the value and the forms otherwise. */
int  gpx_runner_check_fault  (char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_CORE_RUNNER_H */
