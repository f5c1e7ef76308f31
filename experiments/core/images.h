/*
 * images.h - images as a data source stores them, and the one routine that
 * turns a batch of them into the floats a network takes.
 *
 * A data set keeps its images in the source's own element type and layout
 * (bytes, one channel, for IDX files and the synthetic set) and converts
 * only the images of the batch at hand, so a set costs its file's size in
 * memory, not four times it. A reader of another format describes its
 * buffer and gets the same conversion:
 *
 *     gpx_images im = { GPX_PIXEL_U8, GPX_LAYOUT_NHWC, count, 3, 32, 32, bytes };
 *     gpx_pixel_scale sc = { .normalize = 1, .channels = 3,
 *                            .mean = { 0.4914, 0.4822, 0.4465 },
 *                            .std = { 0.2470, 0.2435, 0.2616 } };
 *     if (gpx_images_to_floats(&im, &sc, order + i, 0, 64, batch) != 0) ...
 *     ... batch: 64 x 3 x 32 x 32 floats, NCHW, (p / 255 - mean[ch]) / std[ch]
 *
 * One mean and std for every channel is .channels = 1 (or 0) with mean[0]
 * and std[0]; gpx_images_channel_stats computes them per channel.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_IMAGES_H
#define GPOOL_EXPERIMENTS_CORE_IMAGES_H

#include <stddef.h>

/* The most channels a normalisation can give per-channel values for. */
#define GPX_MAX_CHANNELS 16

/* The element type of the stored images. */
typedef enum {
    GPX_PIXEL_U8 = 0,   /* bytes 0..255, scaled by 1/255 as torchvision's ToTensor */
    GPX_PIXEL_F32       /* floats, taken as they are */
} gpx_pixel_type;

/* Where the channels of a stored image are. */
typedef enum {
    GPX_LAYOUT_NCHW = 0,   /* planes: channel, then row, then column */
    GPX_LAYOUT_NHWC        /* interleaved: row, then column, then channel */
} gpx_layout;

/* n images of c x h x w elements of type, one after the other, each in
 * layout; data is not owned. */
typedef struct {
    gpx_pixel_type type;
    gpx_layout     layout;
    int            n, c, h, w;
    const void    *data;
} gpx_images;

/* What a stored value v of channel ch becomes after its type's scaling (u8
 * p: p / 255; f32 x: x): with normalize, (v - mean[ch]) / std[ch], in float
 * as torchvision's Normalize computes it; without, v itself. channels 0 or
 * 1: mean[0] and std[0] serve every channel; else one value per channel of
 * the images (a conversion of images with another count fails). */
typedef struct {
    int    normalize;
    int    channels;
    double mean[GPX_MAX_CHANNELS], std[GPX_MAX_CHANNELS];
} gpx_pixel_scale;

/* Bytes per stored element of t; 0 for an unknown type. */
size_t gpx_pixel_size      (gpx_pixel_type t);

/* Images index[0 .. count) of src (index NULL: images first .. first +
 * count - 1) into dst as floats, count x c x h x w in NCHW, scaled by
 * scale. 0, or -1 when an image lies outside [0, n) or the type or layout
 * is unknown (dst then holds no defined values). */
int    gpx_images_to_floats(const gpx_images *src, const gpx_pixel_scale *scale,
                            const int *index, int first, int count, float *dst);

/* What a stored 0 of each of c channels becomes under scale (what padding
 * with zero pixels before the conversion gives) into fill[0 .. c); NULL
 * scale: 0. 0, or -1 when scale has per-channel values for another c. */
int    gpx_pixel_zero      (const gpx_pixel_scale *scale, int c, float fill[]);

/* Population mean and std, per channel, of the scaled (not normalised)
 * values of images first .. first + count - 1 of src, in double (exact up
 * to double rounding for bytes), into mean[0 .. c) and std[0 .. c). 0, or
 * -1 for an empty or out-of-range request or an unknown type or layout. */
int    gpx_images_channel_stats(const gpx_images *src, int first, int count,
                                double mean[], double std[]);

#endif /* GPOOL_EXPERIMENTS_CORE_IMAGES_H */
