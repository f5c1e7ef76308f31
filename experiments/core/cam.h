/*
 * cam.h - class activation maps: where in an image a trained network finds
 * a class, one map per image at the input's size.
 *
 *     gpx_cam_method m = gpx_cam_default(&spec);
 *     char why[256];
 *     if (!gpx_cam_defined(&spec, m, why, sizeof why)) ... why;
 *     float *maps = malloc(n * h * w * sizeof *maps), logits[n * classes];
 *     if (gpx_cam_maps(net, &spec, n, x, labels, m, maps, logits, err, sizeof err)) ...
 *     ... maps[i * h * w ...]: image i's map for class labels[i], upsampled
 *
 * The methods, each a map at the head's input resolution (the trunk's last
 * feature maps, A: c planes of h' x w'), then upsampled bilinearly to the
 * input size (gpx_resize_bilinear, PyTorch's rule):
 *   score      conv_pool heads (gap, gmp, gem, lse, mixed, avgmax, topk,
 *              attn): the class's plane of the 1x1 conv's output, the map
 *              the pooling op reduces to the class score.
 *   cam        pool_dense heads whose pooling keeps one feature per channel
 *              (gap_dense, gmp_dense, gem_dense, lse_dense, mixed_dense,
 *              avgmax_dense, topk_dense, attn_dense, simpool_dense): Zhou et
 *              al.'s CAM, sum_k w[class][k] A_k with the dense layer's
 *              weights (no bias). catavgmax_dense pools each channel twice
 *              (avg, then max): its CAM weights channel k by the sum of its
 *              two features' weights. spp_dense's features are pyramid bins
 *              of a channel, not the channel, so it has no CAM; neither have
 *              the flatten heads: Grad-CAM covers them.
 *   attention  attn, attn_dense, simpool_dense: the softmax weights of the
 *              attention pool (gp_attention_map); attn takes the map of the
 *              attention head whose group holds the class's channel, the
 *              dense heads the mean of their attention heads' maps.
 *   gradcam    every head (Selvaraju et al.): ReLU(sum_k alpha_k A_k) with
 *              alpha_k the mean over positions of d logit[class] / d A_k,
 *              the gradient of the raw logit through the head's layers.
 *
 * The trunk runs in eval mode (batchnorm's running statistics, no
 * dropout), layer by layer; Grad-CAM's backward runs through the head's
 * layers only (a head's dropout passes the gradient through unchanged), so
 * no running statistic changes. Parameter gradients of the head's layers
 * are overwritten.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_CAM_H
#define GPOOL_EXPERIMENTS_CORE_CAM_H

#include <stddef.h>

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/model.h"
#include "gpool_nn.h"

typedef enum {
    GPX_CAM_SCORE = 0,
    GPX_CAM_CAM,
    GPX_CAM_ATTENTION,
    GPX_CAM_GRADCAM
} gpx_cam_method;

#define GPX_CAM_NMETHODS 4

/* "score", "cam", "attention", "gradcam"; NULL out of range. */
const char    *gpx_cam_method_name (gpx_cam_method m);

/* Parse a name from gpx_cam_method_name: 0, or -1 if unknown. */
int            gpx_cam_method_parse(const char *name, gpx_cam_method *m);

/* Whether method m is defined for the head spec describes: 1, or 0 with
 * the reason (naming the methods the head has) in why. */
int            gpx_cam_defined     (const gpx_model_spec *spec, gpx_cam_method m, char *why,
                                    size_t len);

/* The map a head is best read by: score (conv_pool), cam where defined,
 * else gradcam. */
gpx_cam_method gpx_cam_default     (const gpx_model_spec *spec);

/* The maps of method m for n images x (net's input shape; any n, run in
 * batches of the net's maximum) and classes cls[0..n): maps gets n planes
 * of the input's h x w. logits (may be NULL) gets n x classes outputs of
 * the eval forward. net must have been built from spec. 0, or -1 with err
 * (a method the head does not define, out of memory, a failed pass). */
int            gpx_cam_maps        (gp_net *net, const gpx_model_spec *spec, int n,
                                    const float *x, const int *cls, gpx_cam_method m,
                                    float *maps, float *logits, char *err, size_t errlen);

/* A run of a results directory brought back: its own config (one point),
 * its data, and its network with the final weights it kept
 * (train.keep_weights: RUN_DIR/weights/, verified against its checksums). */
typedef struct {
    ycfg             *cfg;
    const ycfg_point *pt;
    gpx_model_spec    model;
    gpx_data          data;
    gp_net           *net;
} gpx_trained_run;

/* Load run_dir (RESULTS_DIR/runs/RUN_ID) into *r, its net built for batches
 * of up to batch images on threads threads (0: the run's own). 0, or -1
 * with err: no such run, a run that kept no weights (saying how to keep
 * them), weights that fail their checksums, or data that cannot be read. */
int  gpx_trained_run_load(const char *run_dir, int batch, int threads, gpx_trained_run *r,
                          char *err, size_t errlen);

/* Free what gpx_trained_run_load holds (a zeroed r is fine). */
void gpx_trained_run_free(gpx_trained_run *r);

#endif /* GPOOL_EXPERIMENTS_CORE_CAM_H */
