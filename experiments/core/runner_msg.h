/*
 * runner_msg.h - what a run's process sends its parent over the pipe
 * (core/runner.c reads, core/runner_child.c writes): fixed-size messages,
 * so that a short one is a sign of a run that died while writing it.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_RUNNER_MSG_H
#define GPOOL_EXPERIMENTS_CORE_RUNNER_MSG_H

#include "core/runner.h"

typedef enum {
    GPX_MSG_BUILT = 1,   /* the network is built */
    GPX_MSG_DATA,        /* the data set is loaded */
    GPX_MSG_EPOCH,       /* an epoch is trained (and saved, with checkpoints) */
    GPX_MSG_EVAL,        /* the test set at one evaluation size and method */
    GPX_MSG_DONE         /* the run's result; nothing follows */
} gpx_runner_msg_kind;

typedef struct {
    gpx_runner_msg_kind kind;
    union {
        gpx_run_built    built;
        gpx_data_record  data;
        gpx_epoch_row    epoch;
        gpx_size_row     eval;
        gpx_train_result done;
    } u;
} gpx_runner_msg;

/* The child's side: train job's point, reporting on fd. Its exit status. */
int gpx_runner_child_main(const gpx_run_job *job, int fd);

#endif /* GPOOL_EXPERIMENTS_CORE_RUNNER_MSG_H */
