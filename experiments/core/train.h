/*
 * train.h - the training loop behind `gpool run`: mini-batch steps, the
 * learning-rate schedule, per-epoch evaluation and divergence handling.
 * Independent of configs, so tests and the parity driver call it directly.
 */
#ifndef GPOOL_EXPERIMENTS_TRAIN_H
#define GPOOL_EXPERIMENTS_TRAIN_H

#include <stdint.h>

#include "core/data.h"
#include "gpool_nn.h"

typedef enum { GPX_LR_CONSTANT = 0, GPX_LR_STEP, GPX_LR_COSINE } gpx_lr_schedule;

typedef struct {
    int             epochs;
    long            steps;            /* > 0: train this many optimizer steps instead of
                                         epochs, in as many passes over the training set
                                         as they take; one row, evaluated after the last */
    int             batch;
    int             shuffle;          /* reshuffle the training set every epoch */
    uint64_t        seed;             /* init and shuffling streams derive from it */
    gp_init_kind    init;
    float           bias_init;
    gp_optim_desc   optim;
    gpx_lr_schedule schedule;
    int             step_size;        /* step: epochs between decays */
    double          gamma;            /* step: decay factor */
    double          min_lr;           /* cosine: the floor */
    int             sigmoid_loss;     /* softmax cross-entropy on sigmoid(logits) */
    int             train_eval_pass;  /* train accuracy from a no-grad pass after the epoch */
    int             progress;         /* progress line on a terminal */
    const char     *label;            /* shown in the progress line */
    const char     *checkpoint_dir;   /* saved after every epoch when not NULL */
    const char     *resume_dir;       /* continue from this checkpoint (NULL: start fresh) */
    int             resume_epochs;    /* epochs the checkpoint holds (it must be at
                                         resume_epochs x steps-per-epoch optimizer steps) */
    int             tensorboard;      /* the sweep writes the epochs as TensorBoard events
                                         (records/tfevents.h); the loop ignores it */
    gpx_augment     augment;          /* the training batches' flips and crops, drawn by
                                         gpx_augment_seed(seed, pass, first image) */
} gpx_train_opts;

/* One epoch's measurements. Accuracies are fractions; NaN where absent. */
typedef struct {
    int    epoch;
    double lr;
    double train_loss, train_acc;
    double val_loss, val_acc;
    double test_loss, test_acc;
    double epoch_s;        /* wall time of the training steps */
    double eval_s;         /* wall time of the evaluation passes */
    double img_per_s;      /* training images / epoch_s */
    double train_pass_acc; /* from a no-grad pass over the training split after the
                              epoch (train_eval_pass); NaN without one */
} gpx_epoch_row;

typedef enum { GPX_RUN_OK = 0, GPX_RUN_DIVERGED, GPX_RUN_FAILED } gpx_run_status;

typedef struct {
    gpx_run_status status;
    char           reason[256];
    int            epochs_done;
    double         train_s;           /* sum of epoch_s */
    double         images_per_s;      /* over all epochs */
    gpx_epoch_row  last;
    double         best_test_acc;     /* at the epoch chosen by validation when there is one */
    int            best_epoch;
    double         alloc_peak;        /* the most bytes the library held at once while the
                                         run's net was built and trained (gp_alloc_stats;
                                         set by the runner, 0 when not measured) */
} gpx_train_result;

/* Called after every epoch; a non-zero return stops training (status FAILED). */
typedef int (*gpx_epoch_fn)(const gpx_epoch_row *row, void *ctx);

/* Defaults: 1 epoch, batch 64, shuffle, seed 0, torch_default init, Adam
 * with PyTorch's defaults, constant lr. */
gpx_train_opts gpx_train_defaults(void);

/* Rows gpx_train reports (epochs, or 1 with o->steps) and the optimizer
 * steps each takes on train_count images: what a checkpoint after row r
 * holds r times. */
int     gpx_train_rows(const gpx_train_opts *o);
int64_t gpx_train_steps_per_row(const gpx_train_opts *o, int train_count);

/* Learning rate for epoch (1-based) under the schedule. */
double gpx_lr_at(const gpx_train_opts *o, int epoch);

/* Initialize net's weights from the seed (or load o->resume_dir and go on
 * after epoch o->resume_epochs), then train it on data; epochs are numbered
 * from 1 either way, so a continued run equals one never stopped (the
 * shuffle of an epoch depends only on seed and epoch; dropout streams are
 * not checkpointed). Returns 0
 * when the loop ran (the run may still have diverged: see res->status), -1
 * on an error (res->reason says which). */
int gpx_train(gp_net *net, const gpx_data *data, const gpx_train_opts *o,
              gpx_epoch_fn on_epoch, void *ctx, gpx_train_result *res);

/* One optimizer step on n images (x: n images, y: n labels). *loss and
 * *correct (may be NULL) receive the batch's mean loss and argmax hits. */
gp_status gpx_train_step(gp_net *net, gp_optim *opt, float lr, const float *x,
                         const int *y, int n, int sigmoid_loss, float *dlogits,
                         float *loss, int *correct);

/* Mean loss and accuracy over a split in eval mode (batches of the net's
 * maximum batch, each converted to floats as it is used). GP_ERR_NOMEM when
 * the batch's floats cannot be had, else the library's status. */
gp_status gpx_evaluate(gp_net *net, const gpx_split *s, int sigmoid_loss,
                       double *loss, double *acc);

/* What a failed status means: "out of memory" for GP_ERR_NOMEM (which
 * gpx_evaluate returns without a library message), else gp_last_error(). */
const char *gpx_status_message(gp_status st);

#endif /* GPOOL_EXPERIMENTS_TRAIN_H */
