/*
 * source.h - what a data reader hands core/data.c: the training and test
 * images as the files store them, their labels, and the files read.
 *
 * One reader per file format (core/cifar.c, core/npyimages.c,
 * core/pngdir.c); data.c dispatches on data.source, then applies the
 * classes check, the limits, the validation split and the scaling to what
 * the reader filled, whatever its element type, layout and channels:
 *
 *     gpx_raw train = { 0 }, test = { 0 };
 *     if (gpx_cifar10_load(spec, out, &train, &test, err, errlen) != 0) ...
 *     ... train.count images of train.c x train.h x train.w, train.type, train.layout
 */
#ifndef GPOOL_EXPERIMENTS_CORE_SOURCE_H
#define GPOOL_EXPERIMENTS_CORE_SOURCE_H

#include <stddef.h>

#include "core/data.h"
#include "core/images.h"

/* A split as read: count images (c x h x w elements of type, each in
 * layout) at pix and their labels at y, both owned. */
typedef struct {
    int            count, c, h, w;
    gpx_pixel_type type;
    gpx_layout     layout;
    void          *pix;
    int           *y;
    int           *place;   /* data.canvas: row and column per image; NULL without */
} gpx_raw;

/* Bytes of one image of r. */
size_t gpx_raw_image_bytes(const gpx_raw *r);

/* Allocate r for count images of c x h x w elements of type in layout
 * (pixels and labels uninitialised). 0, or -1 with a message in err. */
int    gpx_raw_alloc      (gpx_raw *r, gpx_pixel_type type, gpx_layout layout, int count,
                           int c, int h, int w, char *err, size_t errlen);

/* Free r's buffers and clear it (a cleared r is fine). */
void   gpx_raw_free       (gpx_raw *r);

/* Record path and the sha256 of its bytes as stored as out's next file.
 * 0, or -1 with a message in err (too many files, path too long, unreadable). */
int    gpx_data_add_file  (gpx_data *out, const char *path, char *err, size_t errlen);

/* Record name with a hash computed by the reader (a folder's listing and
 * its files' hashes) as out's next file; 0 or -1 as gpx_data_add_file. */
int    gpx_data_add_hashed(gpx_data *out, const char *name, const char sha256[65],
                           char *err, size_t errlen);

/* The readers: each fills train and test (and out's files, and, where its
 * labels cannot be out of range by construction, nothing else) from spec,
 * or returns -1 with a message naming the file and where in it. */

/* source cifar10: data_batch_1..5.bin and test_batch.bin of spec->dir, or
 * of the first of $GPOOL_DATA/cifar-10-batches-bin, $GPOOL_DATA and
 * ./data/cifar-10-batches-bin holding all six; 3 x 32 x 32 bytes, NCHW. */
int gpx_cifar10_load    (const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                         gpx_raw *test, char *err, size_t errlen);

/* The batch files path[0 .. nfiles) (1 to 6), in order, as one split into
 * r, each recorded in out: what gpx_cifar10_load does for each split. */
int gpx_cifar10_read    (const char *const *path, int nfiles, gpx_raw *r, gpx_data *out,
                         char *err, size_t errlen);

/* source npy (the four .npy files of spec) and npz (spec->file's members
 * x_train, y_train, x_test, y_test): images in spec->layout. */
int gpx_npy_images_load (const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                         gpx_raw *test, char *err, size_t errlen);

/* source imagefolder: one subfolder of PNG files per class under the
 * training and the test root, converted to spec->channels (0: 3); the
 * class names, in order, into out->class_names. */
int gpx_pngdir_load     (const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                         gpx_raw *test, char *err, size_t errlen);

/* One PNG file's bytes (name: for messages) decoded to h x w x channels
 * bytes in pix (h x w as the caller expects; -1 names the file and its
 * size when it differs). 0, or -1 with a message in err. With want_h 0 the
 * size is the file's own, returned in *h, *w, and pix may be NULL (only
 * the header is read). */
int gpx_png_decode      (const void *bytes, size_t len, const char *name, int channels,
                         int want_h, int want_w, int *h, int *w, unsigned char *pix,
                         char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_CORE_SOURCE_H */
