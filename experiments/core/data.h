/*
 * data.h - the data sets experiments train on: FashionMNIST (found by name),
 * any pair of MNIST-style IDX files, CIFAR-10's binary batches, NumPy .npy /
 * .npz arrays, a folder of PNG images per class, or a small synthetic set
 * for tests.
 *
 * Every source ends up the same way: images held as the source stores them
 * (bytes or float32, any channels, NCHW or NHWC) and int labels, split into train /
 * validation / test. A batch becomes floats only when it is used, with the
 * pixel scaling torchvision uses (ToTensor, then optionally Normalize, then
 * with data.resize a bilinear resize), so a PyTorch run on the same files
 * sees the same floats.
 *
 *     gpx_data_spec spec = { .source = "fashion-mnist", .normalize = 1,
 *                            .validation = 5000 };
 *     gpx_data d;
 *     char err[1024];
 *     if (gpx_data_load(&spec, &d, err, sizeof err) != 0) {
 *         fprintf(stderr, "gpool: %s\n", err);
 *         return 1;
 *     }
 *     float *x = malloc(64 * d.train.c * d.train.h * d.train.w * sizeof *x);
 *     gpx_split_batch(&d.train, order, 0, 64, x);   // images order[0..64), as floats
 *     ... d.train.y, d.train.count, d.val ..., d.sha256[0] ...
 *     gpx_data_free(&d);
 *
 * Errors go to the caller's buffer (they name the file or the directories
 * searched); nothing prints or exits.
 */
#ifndef GPOOL_EXPERIMENTS_DATA_H
#define GPOOL_EXPERIMENTS_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/augment.h"
#include "core/images.h"

/* One split: count images delivered as c x h x w floats, and their labels
 * y, in [0, classes). images holds them as stored (count images at the
 * source's own size, which h x w differ from when the set is resized) and
 * scale says how a stored value becomes a float. Neither images.data nor y
 * is owned by the split. An empty split (no validation asked for) has count
 * 0 and NULL images.data and y. */
typedef struct {
    int             count, c, h, w, classes;
    gpx_images      images;
    gpx_pixel_scale scale;
    const int      *y;
    /* with data.canvas: image k's top left corner on the h x w canvas, row
     * place[2k] and column place[2k + 1] (drawn once per stored image);
     * NULL without a canvas */
    const int      *place;
} gpx_split;

/* CIFAR-10's six batch files are the most a source reads */
#define GPX_DATA_MAX_FILES 6
/* the class names of an imagefolder set, comma-separated, as recorded */
#define GPX_DATA_CLASS_NAMES 1024

/* A loaded data set. mean and std are what was applied to each of the
 * train.c channels ((x - mean[ch]) / std[ch] after x = pixel / 255);
 * without normalisation they are 0 and 1. files and
 * sha256 record what was read, in the order train images, train labels, test
 * images, test labels (CIFAR-10: its six batches; npz: the archive;
 * imagefolder: the two roots, each hashed over its files' relative paths
 * and hashes); the hash is of the file as stored (a .gz is hashed
 * compressed). The synthetic set has nfiles = 0. class_names: the
 * imagefolder classes in label order, comma-separated ("" for the others). */
typedef struct {
    gpx_split train, val, test;
    double    mean[GPX_MAX_CHANNELS], std[GPX_MAX_CHANNELS];
    /* what the splits point into, freed by gpx_data_free: the training
     * images and labels (train and validation share them), then the test
     * ones, then the canvas places of both */
    void     *owned[6];
    int       nfiles;
    char      files[GPX_DATA_MAX_FILES][4096];
    char      sha256[GPX_DATA_MAX_FILES][65];
    char      source[32];
    char      class_names[GPX_DATA_CLASS_NAMES];
} gpx_data;

/* What a run trained on, as its manifest records it (a copy that fits in a
 * message from the run's process). */
typedef struct {
    int    nfiles;
    char   files[GPX_DATA_MAX_FILES][512];
    char   sha256[GPX_DATA_MAX_FILES][65];
    int    channels;       /* of the images, and of mean and std */
    double mean[GPX_MAX_CHANNELS], std[GPX_MAX_CHANNELS];
    int    train_count, val_count, test_count;
    int    classes;        /* the classes the head was built for */
    char   class_names[GPX_DATA_CLASS_NAMES];   /* gpx_data's */
    gpx_augment augment;   /* the training batches' augmentation (set by the run) */
} gpx_data_record;

typedef struct {
    /* "fashion-mnist" (also when NULL), "idx", "cifar10", "npy", "npz",
     * "imagefolder" or "synthetic" */
    const char *source;
    /* fashion-mnist, cifar10: read from this directory instead of searching;
     * imagefolder: the folder holding train/ and test/ (may be NULL) */
    const char *dir;
    /* idx, npy: the four files; imagefolder: train_images and test_images
     * are the two roots when dir is not given */
    const char *train_images, *train_labels, *test_images, *test_labels;
    /* npz: the archive, members x_train, y_train, x_test, y_test */
    const char *file;
    /* npy, npz: where the images' channels are: "nhwc" (also when NULL),
     * "nchw", or "nhw" (one channel) */
    const char *layout;
    /* imagefolder: every image converted to this many channels (1 grey or
     * 3 RGB; 0: 3); the others: 0, or the source's own count (checked) */
    int         channels;
    /* > 0: the number of classes; 0: derived once, as the source's own
     * (fashion-mnist 10, synthetic synthetic_classes), else (idx) the number
     * of different labels in the whole training labels file. Either way every
     * label of both files must lie in [0, classes), or loading fails naming
     * the file and the index of the first label outside. */
    int         classes;
    /* 0: x = pixel / 255; 1: then x = (x - mean[ch]) / std[ch] */
    int         normalize;
    /* with normalize: nmean (nstd) values, 0 or 1 meaning mean[0] (std[0])
     * for every channel, else one per channel of the images. Used when
     * std[0] > 0 (per channel: every std > 0, else an error), else both
     * computed per channel (in double, over the training images left after
     * the limit and the validation split; a per-channel mean with them is
     * an error). Errors about them start "data.mean" or "data.std". */
    int         nmean, nstd;
    double      mean[GPX_MAX_CHANNELS], std[GPX_MAX_CHANNELS];
    /* hold out the LAST `validation` training images as the validation split */
    int         validation;
    /* 0 = all, else only the first K images (train: before the validation split) */
    int         train_limit, test_limit;
    /* 0 = all, else train on this many of the training images left after the
     * limit and the validation split, drawn at random by subset_seed (the
     * same seed, the same images) and kept in file order; computed
     * normalisation statistics stay those of all of them */
    int         train_subset;
    uint64_t    subset_seed;
    /* synthetic: counts, image side (>= 8) and classes (2..10); 0 picks the
     * default (2000, 500, 12, 4). The same seed gives the same set. */
    int         synthetic_train, synthetic_test, synthetic_size, synthetic_classes;
    uint64_t    synthetic_seed;
    /* 0 = keep the size; else every split delivers resize x resize images,
     * each batch resized bilinearly as gpx_resize_bilinear (PyTorch's
     * F.interpolate(mode='bilinear', align_corners=False)) does it, applied
     * to the final floats: the torch equivalent interpolates after Normalize.
     * The stored images and the normalisation statistics stay the original
     * pixels'. */
    int         resize;
    /* 0 = none; else every split delivers canvas x canvas images, each
     * stored image placed unchanged on a canvas of raw zero pixels (zero
     * before normalisation) at a place drawn once per image of the files,
     * in file order, by canvas_seed (the test file by its own stream), so
     * every run sees an image at the same place; the place goes with the
     * image through the limits, the subset and the validation split
     * (gpx_split.place). The normalisation statistics stay the stored
     * images'. Not with resize. */
    int         canvas;
    uint64_t    canvas_seed;
} gpx_data_spec;

/* Load the data set spec describes into out. 0, or -1 with a message in err
 * (out is then empty; gpx_data_free on it is harmless). */
int  gpx_data_load(const gpx_data_spec *spec, gpx_data *out, char *err, size_t errlen);
/* The settings of spec that contradict each other or leave their range, as
 * gpx_data_load refuses them, without reading a file: 0, or -1 and err
 * (starting with the data key to blame, "data.canvas: ...", where one is). */
int  gpx_data_spec_check(const gpx_data_spec *spec, char *err, size_t errlen);

/* Free the splits and clear d. */
void gpx_data_free(gpx_data *d);

/* Images index[0 .. count) of s (index NULL: images first .. first + count -
 * 1) as the network takes them: count x c x h x w floats in dst, scaled and,
 * when s delivers another size than it stores, resized. 0, or -1 when an
 * image lies outside the split or memory runs out. */
int  gpx_split_batch(const gpx_split *s, const int *index, int first, int count, float *dst);

/* gpx_split_batch with the images augmented as aug says (NULL or nothing
 * on: no change), by the draw of seed (gpx_augment_seed), at their stored
 * size: after the conversion, before any resize, as torchvision's
 * transforms come before a batch's interpolation. 0 or -1 likewise. */
int  gpx_split_batch_augmented(const gpx_split *s, const int *index, int first, int count,
                               const gpx_augment *aug, uint64_t seed, float *dst);

/* The whole of s as gpx_split_batch delivers it, in a buffer to free; NULL
 * when memory runs out (or s is empty). For tools and tests that want every
 * image at once. */
float *gpx_split_floats(const gpx_split *s);

/* The record of d: its files (paths cut at 511 bytes), sizes, channels,
 * normalisation and classes (augment: none). */
void gpx_data_describe(const gpx_data *d, gpx_data_record *out);

/* Find the FashionMNIST directory: the first of $GPOOL_DATA, ./data,
 * ./data/fashion-mnist and /usr/share/datasets/fashion-mnist (Debian package
 * dataset-fashion-mnist) holding all four files (raw or .gz). 0 with the
 * directory in dir, or -1 when none does (or it does not fit in len). */
int  gpx_data_find_fashion_mnist(char *dir, size_t len);

#endif /* GPOOL_EXPERIMENTS_DATA_H */
