/*
 * data.h - the data sets experiments train on: FashionMNIST (found by name),
 * any pair of MNIST-style IDX files, or a small synthetic set for tests.
 *
 * Every source ends up the same way: float images (count x c x h x w, NCHW,
 * c = 1) and int labels, split into train / validation / test, with the
 * pixel scaling torchvision uses (ToTensor, then optionally Normalize), so a
 * PyTorch run on the same files sees the same floats.
 *
 *     gpx_data_spec spec = { .source = "fashion-mnist", .normalize = 1,
 *                            .validation = 5000 };
 *     gpx_data d;
 *     char err[1024];
 *     if (gpx_data_load(&spec, &d, err, sizeof err) != 0) {
 *         fprintf(stderr, "gpool: %s\n", err);
 *         return 1;
 *     }
 *     ... d.train.x, d.train.y, d.train.count, d.val ..., d.sha256[0] ...
 *     gpx_data_free(&d);
 *
 * Errors go to the caller's buffer (they name the file or the directories
 * searched); nothing prints or exits.
 */
#ifndef GPOOL_EXPERIMENTS_DATA_H
#define GPOOL_EXPERIMENTS_DATA_H

#include <stddef.h>
#include <stdint.h>

/* One split. x holds count * c * h * w floats; y holds count labels in
 * [0, classes). An empty split (no validation asked for) has count 0 and
 * NULL x and y. */
typedef struct {
    int    count, c, h, w, classes;
    float *x;
    int   *y;
} gpx_split;

#define GPX_DATA_MAX_FILES 4

/* A loaded data set. mean and std are what was applied ((x - mean) / std
 * after x = pixel / 255); without normalisation they are 0 and 1. files and
 * sha256 record what was read, in the order train images, train labels, test
 * images, test labels; the hash is of the file as stored (a .gz is hashed
 * compressed). The synthetic set has nfiles = 0. */
typedef struct {
    gpx_split train, val, test;
    double    mean, std;
    int       nfiles;
    char      files[GPX_DATA_MAX_FILES][4096];
    char      sha256[GPX_DATA_MAX_FILES][65];
    char      source[32];
} gpx_data;

/* What a run trained on, as its manifest records it (a copy that fits in a
 * message from the run's process). */
typedef struct {
    int    nfiles;
    char   files[GPX_DATA_MAX_FILES][512];
    char   sha256[GPX_DATA_MAX_FILES][65];
    double mean, std;
    int    train_count, val_count, test_count;
} gpx_data_record;

typedef struct {
    /* "fashion-mnist" (also when NULL), "idx" or "synthetic" */
    const char *source;
    /* fashion-mnist: read from this directory instead of searching (may be NULL) */
    const char *dir;
    /* idx: the four files; classes = largest label + 1 */
    const char *train_images, *train_labels, *test_images, *test_labels;
    /* 0: x = pixel / 255; 1: then x = (x - mean) / std */
    int         normalize;
    /* with normalize: used when std > 0, else computed (in double, over the
     * training images left after the limit and the validation split) */
    double      mean, std;
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
    /* 0 = keep the size; else every split is resized to resize x resize
     * right after loading, bilinearly as gpx_resize_bilinear (PyTorch's
     * F.interpolate(mode='bilinear', align_corners=False)) does it, applied
     * to the final floats: the torch equivalent interpolates after Normalize.
     * The normalisation statistics stay those of the original pixels. */
    int         resize;
} gpx_data_spec;

/* Load the data set spec describes into out. 0, or -1 with a message in err
 * (out is then empty; gpx_data_free on it is harmless). */
int  gpx_data_load(const gpx_data_spec *spec, gpx_data *out, char *err, size_t errlen);

/* Free the splits and clear d. */
void gpx_data_free(gpx_data *d);

/* The record of d: its files (paths cut at 511 bytes), sizes and normalisation. */
void gpx_data_describe(const gpx_data *d, gpx_data_record *out);

/* Find the FashionMNIST directory: the first of $GPOOL_DATA, ./data,
 * ./data/fashion-mnist and /usr/share/datasets/fashion-mnist (Debian package
 * dataset-fashion-mnist) holding all four files (raw or .gz). 0 with the
 * directory in dir, or -1 when none does (or it does not fit in len). */
int  gpx_data_find_fashion_mnist(char *dir, size_t len);

#endif /* GPOOL_EXPERIMENTS_DATA_H */
