/*
 * steps.h - training steps set up to be measured (gpool profile, gpool
 * throughput): a point's network and optimizer built as `gpool run` trains
 * them, stepping through consecutive batches of the training set; the
 * parts of a step (every layer's forward and backward, the loss, the
 * optimizer step) with their analytic FLOPs and bytes; and the buffers to
 * replay a step part by part.
 *
 * Cost model, per call at batch n (in, out: floats of one input and one
 * output image; P: the layer's parameter floats; 4 bytes a float):
 *   forward FLOPs    n x the layer's forward FLOPs per image (2 per multiply-add)
 *   backward FLOPs   conv2d, dense: 2 x the multiply-add FLOPs (dW and dx; 1 x
 *                    for the first layer, which computes no dx) plus the bias
 *                    sum; batchnorm2d: 2 x forward; flatten: 0; others: 1 x
 *                    forward
 *   forward bytes    4 (n in + n out + P)
 *   backward bytes   4 (n in + n out + n in + 2 P), no dx for the first layer
 *   fused epilogue   the fused layers' FLOPs; bytes 4 n out x 3 forward (bn),
 *                    x 2 (relu alone), x 7 backward (bn+relu), x 5 (bn), x 3
 *                    (relu alone)
 *   loss             n classes (5 + 4 with a sigmoid) FLOPs; logits, labels
 *                    and logit gradients moved
 *   optimizer        per parameter float: Adam 12 FLOPs (AdamW 14), 7 floats
 *                    moved; SGD 2 FLOPs, 3 floats (+3 and +2 with momentum);
 *                    weight decay +2 FLOPs
 */
#ifndef GPOOL_EXPERIMENTS_CORE_STEPS_H
#define GPOOL_EXPERIMENTS_CORE_STEPS_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/model.h"
#include "core/train.h"
#include "gpool_nn.h"

/* The point a measuring command works on: the config's point for a head,
 * loaded, and the process set up for it as a `gpool run` child is
 * (gpx_run_prepare: threads, data). */
typedef struct {
    ycfg             *cfg;
    const ycfg_point *pt;
    gpx_model_spec    model;     /* its model: section, decoded once */
    gpx_data          data;
    int               threads;   /* -1 until the data is loaded */
} gpx_measured_point;

/* Load config, pick its point for head (NULL: the first), decode its model
 * and set the process up with threads threads (0: the point's). 0; 2 with
 * err for a bad config or head (a bad command line); 1 with err when the
 * model or the data is wrong. Close it either way. */
int          gpx_measured_point_open (gpx_measured_point *m, const char *config,
                                      const char *head, int threads, char *err,
                                      size_t errlen);
void         gpx_measured_point_close(gpx_measured_point *m);

/* A point's network and optimizer on consecutive training batches. */
typedef struct {
    gp_net         *net;
    gp_optim       *opt;
    gpx_train_opts  to;        /* the point's training options (lr, loss) */
    const gpx_data *data;
    int             batch;
    int             nb;        /* whole batches in the training set */
    int             classes;
    size_t          img;       /* floats per training image */
    float          *xb;        /* the batch's images as floats */
    float          *dlogits;   /* the loss gradient of a batch */
    long            k;         /* batches used so far; batch k % nb is next */
} gpx_stepper;

/* The point's network (model, its decoded model: section) for batches of
 * batch images of data, with the weights `gpool run` starts from, and its
 * optimizer. 0; -1 with err; 2 with err when the training set holds less
 * than one batch. Destroy it either way. */
int          gpx_stepper_create (gpx_stepper *s, const gpx_model_spec *model,
                                 const ycfg_point *pt, const gpx_data *data, int batch,
                                 char *err, size_t errlen);
void         gpx_stepper_destroy(gpx_stepper *s);

/* The next batch's images (converted to floats and augmented, as a training step does;
 * NULL when memory runs out) and labels. */
const float *gpx_stepper_x      (gpx_stepper *s);
const int   *gpx_stepper_y      (const gpx_stepper *s);

/* One training step (gpx_train_step) on the next batch, *loss its loss
 * (GP_ERR_NOMEM, with no library message, when its images cannot be had). */
gp_status    gpx_stepper_step   (gpx_stepper *s, float *loss);

/* One part of a step, and what it costs (see above). */
typedef struct {
    int         layer;          /* -1: not a layer (loss, optimizer) */
    const char *kind;
    const char *pass;           /* "forward", "backward", "loss", "step" */
    char        desc[64];
    char        shape[48];      /* its output at the batch */
    double      flops, bytes;   /* per call at the batch */
} gpx_step_part;

/* Parts in a step of s: forward and backward of every part the net runs
 * (gp_net_part_fused: a layer, or a conv2d with the layers fused into it,
 * which has two more rows, its epilogue's forward and backward), the loss
 * and the optimizer step. */
int          gpx_step_part_count(const gpx_stepper *s);

/* The row of the forward of the net's part that starts at layer i; its
 * backward is the next, and a fused part's epilogue forward and backward
 * the two after. */
int          gpx_step_part_row  (const gpx_stepper *s, int i);

/* Every part's rows in layer order, then the loss and the optimizer step
 * (gpx_step_part_count entries). An epilogue row names the first fused
 * layer, kind "epi bn+relu", "epi bn" or "epi relu". */
void         gpx_step_parts     (const gpx_stepper *s, gpx_step_part *parts);

/* A step replayed part by part owns its activations, laid out as the net
 * lays out its own: one output per layer, two ping-pong gradient buffers
 * of the largest output. */
typedef struct {
    float **act;
    float  *grad[2];
    int     nlayers;
} gpx_replay_buffers;

/* 0, or -1 when out of memory. Free them either way. */
int          gpx_replay_alloc   (gpx_replay_buffers *b, const gpx_stepper *s);
void         gpx_replay_free    (gpx_replay_buffers *b);

#endif /* GPOOL_EXPERIMENTS_CORE_STEPS_H */
