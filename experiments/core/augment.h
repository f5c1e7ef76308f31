/*
 * augment.h - the seeded augmentations of CIFAR training recipes, applied
 * to a training batch as it is converted (never to validation or test):
 * a horizontal flip with probability 1/2, and a random crop of the image's
 * own size from the image padded with zero pixels on every side
 * (torchvision's RandomCrop(size, padding=crop_pad), then
 * RandomHorizontalFlip(), both before ToTensor and Normalize). The padding
 * is a stored 0, so after normalisation it is (0 - mean[ch]) / std[ch].
 *
 *     gpx_augment a = { .hflip = 1, .crop_pad = 4 };
 *     uint64_t seed = gpx_augment_seed(run_seed, epoch, first);
 *     if (gpx_augment_images(&a, seed, &split.scale, x, 64, 3, 32, 32) != 0) ...
 *
 * (gpx_split_batch_augmented in core/data.h converts and augments a batch.)
 *
 * Each batch's draw depends only on (run seed, pass, first image of the
 * batch in the pass's order), so a run continued from a checkpoint sees the
 * batches a run never stopped would have.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_AUGMENT_H
#define GPOOL_EXPERIMENTS_CORE_AUGMENT_H

#include <stdint.h>

#include "core/images.h"

/* What to do to every training image; all 0 is nothing. */
typedef struct {
    int hflip;      /* mirror left-right with probability 1/2 */
    int crop_pad;   /* > 0: pad by this many zero pixels, crop the own size at random */
} gpx_augment;

/* Whether a changes anything (a NULL a does not). */
int      gpx_augment_on    (const gpx_augment *a);

/* The draw of the batch whose first image is position first of pass
 * pass's order in a run seeded by run_seed. */
uint64_t gpx_augment_seed  (uint64_t run_seed, int pass, int first);

/* Augment n images of c x h x w floats (NCHW) at x, converted under
 * scale, in place, each drawn in turn from seed: crop offsets (rows, then
 * columns), then the flip; pixels from the padding become what a stored 0
 * becomes under scale (gpx_pixel_zero). 0, or -1 when out of memory or
 * scale has per-channel values for another c. */
int      gpx_augment_images(const gpx_augment *a, uint64_t seed, const gpx_pixel_scale *scale,
                            float *x, int n, int c, int h, int w);

#endif /* GPOOL_EXPERIMENTS_CORE_AUGMENT_H */
