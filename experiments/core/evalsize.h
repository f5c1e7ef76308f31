/*
 * evalsize.h - input-size transforms, and evaluating a trained network at
 * input sizes other than the one it was trained at.
 *
 * Two ways to change an image's size: resize it (bilinear, exactly as
 * PyTorch 1.13's F.interpolate(mode='bilinear', align_corners=False,
 * antialias=False)), or place it unchanged on a larger canvas (centered, or
 * at seeded random positions) filled with what a raw zero pixel becomes
 * after normalisation.
 *
 *     static const int sizes[] = { 20, 28, 36, 56 };
 *     static const gpx_size_method methods[] = {
 *         GPX_SIZE_RESIZE, GPX_SIZE_CANVAS_CENTER, GPX_SIZE_CANVAS_RANDOM };
 *     gpx_eval_sizes_opts o = { .model = &spec,        // the net's gpx_model_spec
 *                               .sizes = sizes, .nsizes = 4,
 *                               .methods = methods, .nmethods = 3,
 *                               .seed = 1, .batch = 256 };
 *     gpx_size_row rows[4 * 3];
 *     if (gpx_eval_at_sizes(net, &data, &o, rows, err, sizeof err) != 0) ...
 *     for (int i = 0; i < 12; i++)
 *         rows[i].applicable ? print(rows[i].test_acc) : print(rows[i].reason);
 *
 * The network is evaluated in place: gp_net_reshape re-plans it for each
 * size (and the evaluation batch), and it is taken back to its own input
 * shape at the end. A size a network cannot take (a flatten_dense head at
 * another size, a canvas smaller than the image, a trunk that shrinks the
 * input to nothing) gives a row marked not applicable with the reason; it
 * does not end the sweep.
 */
#ifndef GPOOL_EXPERIMENTS_EVALSIZE_H
#define GPOOL_EXPERIMENTS_EVALSIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/data.h"
#include "core/model.h"
#include "gpool_nn.h"

/* How an evaluation image is brought to the asked size. */
typedef enum {
    GPX_SIZE_RESIZE = 0,      /* bilinear resize */
    GPX_SIZE_CANVAS_CENTER,   /* unchanged, centered on a larger canvas */
    GPX_SIZE_CANVAS_RANDOM    /* unchanged, at a seeded random place on it */
} gpx_size_method;

#define GPX_SIZE_NMETHODS 3

/* "resize", "canvas_center", "canvas_random". */
const char *gpx_size_method_name(gpx_size_method m);

/* Parse a name from gpx_size_method_name; 0, or -1 if unknown. */
int gpx_size_method_parse(const char *name, gpx_size_method *m);

/* Where gpx_place_on_canvas puts each image. */
typedef enum {
    GPX_CANVAS_CENTER = 0,    /* offset (size - h) / 2, (size - w) / 2, rounded down */
    GPX_CANVAS_RANDOM         /* uniform over all offsets that keep the image inside */
} gpx_canvas_mode;

/* Resize n x c images of h x w (NCHW, float32) to oh x ow into dst, with
 * PyTorch 1.13's bilinear rule on the CPU (align_corners=False, no
 * antialias) and its rounding, so results equal torch's bit for bit. The
 * same size is the identity (up to the sign of zero, as in torch). 0, or -1
 * if a size is below 1 or n, c are negative. */
int gpx_resize_bilinear(const float *src, int n, int c, int h, int w, float *dst,
                        int oh, int ow);

/* Copy n x c images of h x w onto size x size canvases in dst (n x c x size
 * x size), channel ch filled with fill[ch] (what a raw zero pixel becomes
 * after normalisation, gpx_pixel_zero; 0 without it). Every channel of an image gets the
 * same place. Random offsets come from a gp_rng seeded with seed, drawn per
 * image in order (row, then column): the same seed gives the same places.
 * 0, or -1 if size < h or size < w or a size is below 1. */
int gpx_place_on_canvas(const float *src, int n, int c, int h, int w, float *dst,
                        int size, const float fill[], gpx_canvas_mode mode, uint64_t seed);

/* The offsets GPX_CANVAS_RANDOM gives n images of h x w on size x size
 * canvases with seed: place[2i] the row, place[2i + 1] the column of image
 * i's top left corner. 0, or -1 if size < h or size < w or a size is below 1. */
int gpx_canvas_offsets(int n, int h, int w, int size, uint64_t seed, int *place);

/* Copy n x c images of h x w onto size x size canvases in dst, image i at
 * place[2i], place[2i + 1] (row, column) as gpx_canvas_offsets gives them,
 * channel ch's canvas filled with fill[ch]. 0, or -1 for a size below 1, a
 * canvas smaller than the image or an offset that would not keep it inside. */
int gpx_place_at(const float *src, int n, int c, int h, int w, float *dst, int size,
                 const float *fill, const int *place);

/* One evaluation: test accuracy (a fraction) and mean loss at an input size
 * by a method; NaN with applicable = 0 and the reason when it cannot run. */
typedef struct {
    int             size;
    gpx_size_method method;
    double          test_acc, test_loss;
    int             applicable;
    char            reason[256];
} gpx_size_row;

typedef struct {
    const gpx_model_spec  *model;        /* what the net was built from (for the reasons) */
    const int             *sizes;        /* square input sizes to evaluate at */
    int                    nsizes;
    const gpx_size_method *methods;
    int                    nmethods;
    uint64_t               seed;         /* canvas_random places (the same for every size) */
    int                    batch;        /* evaluation batch: the net's maximum batch */
    int                    sigmoid_loss; /* as in training (gpx_evaluate) */
} gpx_eval_sizes_opts;

/* Evaluate net (trained at its input size) on data->test brought to every
 * size by every method: rows[i * nmethods + j] is sizes[i] by methods[j].
 * For each size net is reshaped to that input and o->batch images (its
 * weights and buffers as trained), and at the end back to its own input
 * shape (it then needs a training forward before a backward). The
 * transforms start from the test split's stored images at their own size
 * (also when the split delivers them resized: data.resize). Accuracy and
 * loss equal gpx_evaluate's on the whole transformed split bit for bit (the
 * split is converted and transformed one batch at a time, so memory stays
 * at one batch). 0 when
 * the sweep ran (rows not applicable included); -1 with err on bad
 * arguments, out of memory or a failed forward pass or reshape. */
int gpx_eval_at_sizes(gp_net *net, const gpx_data *data, const gpx_eval_sizes_opts *o,
                      gpx_size_row *rows, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_EVALSIZE_H */
