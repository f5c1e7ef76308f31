/*
 * data.c - data sets for the experiments (see data.h).
 *
 * Every source is read as its files store it (bytes 0..255 or float32,
 * NCHW or NHWC; the readers of other formats are core/cifar.c,
 * core/npyimages.c and core/pngdir.c, see core/source.h), cut by the
 * limits and the validation split, and kept so: the normalisation
 * statistics come from exactly the images trained on, and a batch becomes
 * floats (gpx_split_batch, through core/images.c) only when it is used.
 */
#include "autoconfig.h"

#include "core/data.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/evalsize.h"
#include "core/source.h"
#include "gpool_nn.h"
#include "util/sha256.h"
#include "util/util.h"

/* an IDX set: training images and labels, test images and labels */
#define IDX_FILES 4

static const char *const fmnist_names[IDX_FILES] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",  "t10k-labels-idx1-ubyte",
};

#define FMNIST_CLASSES 10
#define CIFAR10_CLASSES 10
#define SOURCE_NAMES "fashion-mnist, idx, cifar10, npy, npz, imagefolder or synthetic"
#define FMNIST_INSTALL_HINT \
    "install it with `apt-get install dataset-fashion-mnist`, or put the four files " \
    "(raw or .gz) in ./data or in the directory named by GPOOL_DATA"

#define SYNTH_DEFAULT_TRAIN   2000
#define SYNTH_DEFAULT_TEST    500
#define SYNTH_DEFAULT_SIZE    12
#define SYNTH_DEFAULT_CLASSES 4
#define SYNTH_MIN_SIZE        8
#define SYNTH_MAX_SIZE        64
#define SYNTH_MAX_CLASSES     10
/* largest side data.resize accepts: one batch of 256 images at 1024 x 1024
 * already takes 1 GiB of floats */
#define RESIZE_MAX            1024
/* xor'ed into the seed so the test images are a separate draw, not a
 * continuation that could repeat training images */
#define SYNTH_TEST_STREAM     0x7465737473657421ull

size_t gpx_raw_image_bytes(const gpx_raw *r)
{
    return (size_t)r->c * (size_t)r->h * (size_t)r->w * gpx_pixel_size(r->type);
}

void gpx_raw_free(gpx_raw *r)
{
    free(r->pix);
    free(r->y);
    free(r->place);
    memset(r, 0, sizeof *r);
}

int gpx_raw_alloc(gpx_raw *r, gpx_pixel_type type, gpx_layout layout, int count, int c,
                  int h, int w, char *err, size_t errlen)
{
    *r = (gpx_raw){ count, c, h, w, type, layout, NULL, NULL, NULL };
    size_t img = gpx_raw_image_bytes(r);
    if (count < 0 || (img && (size_t)count > SIZE_MAX / 2 / img))
        return gpx_fail(err, errlen, "%d images of %d x %d x %d are too many to hold",
                        count, c, h, w);
    r->pix = malloc((size_t)count * img + 1);
    r->y = malloc((size_t)count * sizeof *r->y + 1);
    if (!r->pix || !r->y) {
        gpx_raw_free(r);
        return gpx_fail(err, errlen, "out of memory for %d images of %d x %d x %d", count, c,
                        h, w);
    }
    return 0;
}

/* ------------------------------------------------------------ IDX files */

static int read_idx(const char *path, gp_idx **idx, char *err, size_t errlen)
{
    if (gp_idx_create(idx, path) != GP_OK)
        return gpx_fail(err, errlen, "%s", gp_last_error());
    return 0;
}

/* Read an images file (count x h x w) and its labels file (count) into r. */
static int load_idx_pair(const char *images, const char *labels, gpx_raw *r,
                         char *err, size_t errlen)
{
    gp_idx *im, *lb;
    if (read_idx(images, &im, err, errlen) != 0)
        return -1;
    if (im->ndims != 3 || im->dims[0] > INT_MAX || im->dims[1] > INT_MAX ||
        im->dims[2] > INT_MAX) {
        int nd = im->ndims;
        gp_idx_destroy(im);
        return gpx_fail(err, errlen, "%s: images must have 3 dimensions (count x height x "
                         "width), this file has %d", images, nd);
    }
    if (read_idx(labels, &lb, err, errlen) != 0) {
        gp_idx_destroy(im);
        return -1;
    }
    int bad = 0;
    if (lb->ndims != 1)
        bad = gpx_fail(err, errlen, "%s: labels must have 1 dimension, this file has %d",
                        labels, lb->ndims);
    else if (lb->dims[0] != im->dims[0])
        bad = gpx_fail(err, errlen, "%s: %zu labels for %zu images in %s", labels,
                        lb->dims[0], im->dims[0], images);
    if (bad) {
        gp_idx_destroy(im);
        gp_idx_destroy(lb);
        return -1;
    }
    *r = (gpx_raw){ (int)im->dims[0], 1, (int)im->dims[1], (int)im->dims[2], GPX_PIXEL_U8,
                    GPX_LAYOUT_NCHW, NULL, NULL, NULL };
    r->pix = im->data;   /* taken over: the bytes are already in the layout we keep */
    im->data = NULL;
    gp_idx_destroy(im);
    r->y = malloc((size_t)r->count * sizeof *r->y);
    if (!r->y) {
        gp_idx_destroy(lb);
        gpx_raw_free(r);
        return gpx_fail(err, errlen, "out of memory for %d labels", r->count);
    }
    for (int i = 0; i < r->count; i++)
        r->y[i] = lb->data[i];
    gp_idx_destroy(lb);
    return 0;
}

int gpx_data_add_hashed(gpx_data *out, const char *name, const char sha256[65], char *err,
                        size_t errlen)
{
    int i = out->nfiles;
    if (i >= GPX_DATA_MAX_FILES)
        return gpx_fail(err, errlen, "%s: more than %d files to record", name,
                        GPX_DATA_MAX_FILES);
    if ((size_t)snprintf(out->files[i], sizeof out->files[i], "%s", name) >=
        sizeof out->files[i])
        return gpx_fail(err, errlen, "%s: path too long", name);
    memcpy(out->sha256[i], sha256, 65);
    out->nfiles = i + 1;
    return 0;
}

int gpx_data_add_file(gpx_data *out, const char *path, char *err, size_t errlen)
{
    char hex[65];
    if (gpx_sha256_file(path, hex) != 0)
        return gpx_fail(err, errlen, "%s: cannot read for sha256: %s", path, strerror(errno));
    return gpx_data_add_hashed(out, path, hex, err, errlen);
}

/* Read the four files (train images, train labels, test images, test
 * labels); their labels are checked later, against the classes. */
static int load_files(const char *const paths[IDX_FILES], gpx_data *out,
                      gpx_raw *train, gpx_raw *test, char *err, size_t errlen)
{
    for (int i = 0; i < IDX_FILES; i++)
        if (!paths[i] || !paths[i][0])
            return gpx_fail(err, errlen, "source idx needs train_images, train_labels, "
                             "test_images and test_labels");
    if (load_idx_pair(paths[0], paths[1], train, err, errlen) != 0)
        return -1;
    if (load_idx_pair(paths[2], paths[3], test, err, errlen) != 0)
        return -1;
    if (test->h != train->h || test->w != train->w)
        return gpx_fail(err, errlen, "%s: test images are %d x %d but training images "
                         "(%s) are %d x %d", paths[2], test->h, test->w, paths[0],
                         train->h, train->w);
    for (int i = 0; i < IDX_FILES; i++)
        if (gpx_data_add_file(out, paths[i], err, errlen) != 0)
            return -1;
    return 0;
}

/* ---------------------------------------------------------- FashionMNIST */

/* dir/name.gz, else dir/name, into path: 0 when one is readable. */
static int fmnist_file(const char *dir, const char *name, char *path, size_t len)
{
    static const char *const suffixes[] = { ".gz", "" };
    for (int s = 0; s < 2; s++) {
        int n = snprintf(path, len, "%s%s%s%s", dir,
                         dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "", name, suffixes[s]);
        if (n >= 0 && (size_t)n < len && access(path, R_OK) == 0)
            return 0;
    }
    return -1;
}

static int fmnist_dir_complete(const char *dir)
{
    char path[4096];
    for (int i = 0; i < IDX_FILES; i++)
        if (fmnist_file(dir, fmnist_names[i], path, sizeof path) != 0)
            return 0;
    return 1;
}

/* The directories searched, in order; n is set to how many. */
static void fmnist_candidates(const char *cand[4], int *n)
{
    const char *env = getenv("GPOOL_DATA");
    *n = 0;
    if (env && env[0])
        cand[(*n)++] = env;
    cand[(*n)++] = "./data";
    cand[(*n)++] = "./data/fashion-mnist";
    cand[(*n)++] = "/usr/share/datasets/fashion-mnist";
}

int gpx_data_find_fashion_mnist(char *dir, size_t len)
{
    const char *cand[4];
    int n;
    fmnist_candidates(cand, &n);
    for (int i = 0; i < n; i++)
        if (fmnist_dir_complete(cand[i])) {
            int w = snprintf(dir, len, "%s", cand[i]);
            return w >= 0 && (size_t)w < len ? 0 : -1;
        }
    return -1;
}

static int fmnist_not_found(char *err, size_t errlen)
{
    const char *cand[4];
    int n;
    fmnist_candidates(cand, &n);
    char list[1024] = "";
    for (int i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", cand[i]);
    }
    return gpx_fail(err, errlen, "FashionMNIST not found: no directory holds all of %s, %s, "
                     "%s and %s (raw or .gz); searched %s%s; %s", fmnist_names[0],
                     fmnist_names[1], fmnist_names[2], fmnist_names[3], list,
                     getenv("GPOOL_DATA") && getenv("GPOOL_DATA")[0] ? ""
                                                                     : " (GPOOL_DATA is unset)",
                     FMNIST_INSTALL_HINT);
}

static int load_fashion_mnist(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                              gpx_raw *test, char *err, size_t errlen)
{
    char dir[4096];
    if (spec->dir && spec->dir[0]) {
        if (snprintf(dir, sizeof dir, "%s", spec->dir) >= (int)sizeof dir)
            return gpx_fail(err, errlen, "%s: directory name too long", spec->dir);
    } else if (gpx_data_find_fashion_mnist(dir, sizeof dir) != 0) {
        return fmnist_not_found(err, errlen);
    }
    char paths[IDX_FILES][4096];
    const char *p[IDX_FILES];
    for (int i = 0; i < IDX_FILES; i++) {
        if (fmnist_file(dir, fmnist_names[i], paths[i], sizeof paths[i]) != 0)
            return gpx_fail(err, errlen, "%s: no readable %s or %s.gz in this directory; %s",
                             dir, fmnist_names[i], fmnist_names[i], FMNIST_INSTALL_HINT);
        p[i] = paths[i];
    }
    return load_files(p, out, train, test, err, errlen);
}

/* ------------------------------------------------------------- synthetic */

/* Ink a pixel; overlapping strokes keep the brighter value. */
static void synth_put(uint8_t *img, int s, int r, int c, int ink)
{
    if (r >= 0 && r < s && c >= 0 && c < s && img[r * s + c] < ink)
        img[r * s + c] = (uint8_t)ink;
}

static void synth_hline(uint8_t *img, int s, int r, int c, int len, int ink)
{
    for (int i = 0; i < len; i++)
        synth_put(img, s, r, c + i, ink);
}

static void synth_vline(uint8_t *img, int s, int r, int c, int len, int ink)
{
    for (int i = 0; i < len; i++)
        synth_put(img, s, r + i, c, ink);
}

static int synth_below(gp_rng *rng, int bound)
{
    return bound > 0 ? (int)gp_rng_below(rng, (uint64_t)bound) : 0;
}

/* Draw class cls's shape, of a random size at a random place, on img (s x s).
 * Shapes: 0 horizontal bar, 1 vertical bar, 2 plus, 3 filled square,
 * 4 diagonal, 5 anti-diagonal, 6 hollow square, 7 X, 8 corner, 9 two bars. */
static void synth_shape(gp_rng *rng, int cls, int s, uint8_t *img)
{
    int ink = 160 + synth_below(rng, 96);
    int len = s / 2 + synth_below(rng, s - 1 - s / 2);       /* s/2 .. s-2 */
    int thick = 1 + synth_below(rng, 2);
    int side = cls == 3 ? 3 + synth_below(rng, 3)             /* blob: 3..5 */
             : cls == 6 ? 5 + synth_below(rng, (len > 5 ? len : 5) - 4)
             : len;
    int gap = 2 + synth_below(rng, 3);
    /* extent of the shape, so that it always fits */
    int eh = cls == 0 ? thick : cls == 9 ? gap + 1 : side;
    int ew = cls == 1 ? thick : side;
    int r0 = synth_below(rng, s - eh + 1), c0 = synth_below(rng, s - ew + 1);
    switch (cls) {
    case 0:
        for (int t = 0; t < thick; t++)
            synth_hline(img, s, r0 + t, c0, len, ink);
        break;
    case 1:
        for (int t = 0; t < thick; t++)
            synth_vline(img, s, r0, c0 + t, len, ink);
        break;
    case 2:
        synth_hline(img, s, r0 + side / 2, c0, side, ink);
        synth_vline(img, s, r0, c0 + side / 2, side, ink);
        break;
    case 3:
        for (int r = 0; r < side; r++)
            synth_hline(img, s, r0 + r, c0, side, ink);
        break;
    case 4: case 5: case 7:
        for (int i = 0; i < side; i++) {
            if (cls != 5)
                synth_put(img, s, r0 + i, c0 + i, ink);
            if (cls != 4)
                synth_put(img, s, r0 + i, c0 + side - 1 - i, ink);
        }
        break;
    case 6:
        synth_hline(img, s, r0, c0, side, ink);
        synth_hline(img, s, r0 + side - 1, c0, side, ink);
        synth_vline(img, s, r0, c0, side, ink);
        synth_vline(img, s, r0, c0 + side - 1, side, ink);
        break;
    case 8:
        synth_vline(img, s, r0, c0, side, ink);
        synth_hline(img, s, r0 + side - 1, c0, side, ink);
        break;
    default:
        synth_hline(img, s, r0, c0, len, ink);
        synth_hline(img, s, r0 + gap, c0, len, ink);
        break;
    }
}

/* count images; label i % classes, so every contiguous range (a limit, the
 * validation tail) is balanced to within one image per class. */
static void synth_fill(gpx_raw *r, int classes, uint64_t seed)
{
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    int s = r->h;
    for (int i = 0; i < r->count; i++) {
        uint8_t *img = (uint8_t *)r->pix + (size_t)i * (size_t)s * (size_t)s;
        for (int p = 0; p < s * s; p++)
            img[p] = (uint8_t)synth_below(&rng, 48);     /* background noise */
        r->y[i] = i % classes;
        synth_shape(&rng, r->y[i], s, img);
    }
}

static int load_synthetic(const gpx_data_spec *spec, gpx_raw *train, gpx_raw *test,
                          int *classes, char *err, size_t errlen)
{
    int ntrain = spec->synthetic_train ? spec->synthetic_train : SYNTH_DEFAULT_TRAIN;
    int ntest = spec->synthetic_test ? spec->synthetic_test : SYNTH_DEFAULT_TEST;
    int size = spec->synthetic_size ? spec->synthetic_size : SYNTH_DEFAULT_SIZE;
    int ncls = spec->synthetic_classes ? spec->synthetic_classes : SYNTH_DEFAULT_CLASSES;
    if (ntrain < 1 || ntest < 1)
        return gpx_fail(err, errlen, "synthetic: image counts must be positive (train %d, "
                         "test %d)", ntrain, ntest);
    if (size < SYNTH_MIN_SIZE || size > SYNTH_MAX_SIZE)
        return gpx_fail(err, errlen, "synthetic: size %d outside %d..%d", size,
                         SYNTH_MIN_SIZE, SYNTH_MAX_SIZE);
    if (ncls < 2 || ncls > SYNTH_MAX_CLASSES)
        return gpx_fail(err, errlen, "synthetic: %d classes outside 2..%d", ncls,
                         SYNTH_MAX_CLASSES);
    if (gpx_raw_alloc(train, GPX_PIXEL_U8, GPX_LAYOUT_NCHW, ntrain, 1, size, size, err,
                      errlen) != 0 ||
        gpx_raw_alloc(test, GPX_PIXEL_U8, GPX_LAYOUT_NCHW, ntest, 1, size, size, err,
                      errlen) != 0)
        return -1;
    synth_fill(train, ncls, spec->synthetic_seed);
    synth_fill(test, ncls, spec->synthetic_seed ^ SYNTH_TEST_STREAM);
    *classes = ncls;
    return 0;
}

/* --------------------------------------------------------------- classes */

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* How many different labels r holds; -1 when out of memory. */
static int distinct_labels(const gpx_raw *r)
{
    int *sorted = malloc((size_t)r->count * sizeof *sorted + 1);
    if (!sorted)
        return -1;
    memcpy(sorted, r->y, (size_t)r->count * sizeof *sorted);
    qsort(sorted, (size_t)r->count, sizeof *sorted, compare_ints);
    int n = r->count > 0;
    for (int i = 1; i < r->count; i++)
        n += sorted[i] != sorted[i - 1];
    free(sorted);
    return n;
}

/* Where a split's labels came from, as the messages name it, in buf: the
 * labels file, the archive's member, the root, or the generated set. */
static const char *labels_origin(const gpx_data *out, int test, char *buf, size_t len)
{
    if (out->nfiles == IDX_FILES)   /* train images, train labels, test images, test labels */
        snprintf(buf, len, "%s", out->files[test ? 3 : 1]);
    else if (out->nfiles == 1)      /* an .npz archive of all four */
        snprintf(buf, len, "%s:%s.npy", out->files[0], test ? "y_test" : "y_train");
    else if (out->nfiles == 2)      /* the training and the test root */
        snprintf(buf, len, "%s", out->files[test ? 1 : 0]);
    else
        snprintf(buf, len, "%s", test ? "the synthetic test set" : "the synthetic training set");
    return buf;
}

/* Every label of r in [0, classes), else an error naming the file (origin),
 * the index of the first label outside and why the classes are what they are. */
static int check_labels(const gpx_raw *r, int classes, const char *origin, const char *why,
                        char *err, size_t errlen)
{
    for (int i = 0; i < r->count; i++)
        if (r->y[i] < 0 || r->y[i] >= classes)
            return gpx_fail(err, errlen, "%s: label %d at index %d is outside [0, %d): %s",
                             origin, r->y[i], i, classes, why);
    return 0;
}

/* The classes, decided once: data.classes when stated, else the source's
 * own (source_classes), else the number of different training labels (the
 * whole file, before limits); then every label of both files checked. */
static int settle_classes(const gpx_data_spec *spec, const gpx_data *out,
                          const gpx_raw *train, const gpx_raw *test, int *classes,
                          char *err, size_t errlen)
{
    char why[256];
    int source_classes = *classes;
    if (spec->classes > 0) {
        *classes = spec->classes;
        snprintf(why, sizeof why, "data.classes is %d", spec->classes);
    } else if (source_classes > 0) {
        *classes = source_classes;
        snprintf(why, sizeof why, "the %s set has %d classes", out->source, source_classes);
    } else {
        *classes = distinct_labels(train);
        if (*classes < 0)
            return gpx_fail(err, errlen, "out of memory for %d labels", train->count);
        snprintf(why, sizeof why, "the training labels take %d different values, so they "
                 "must be 0 to %d (or state data.classes)", *classes, *classes - 1);
    }
    char origin[sizeof out->files[0] + 32];
    if (check_labels(train, *classes, labels_origin(out, 0, origin, sizeof origin), why, err,
                     errlen) != 0 ||
        check_labels(test, *classes, labels_origin(out, 1, origin, sizeof origin), why, err,
                     errlen) != 0)
        return -1;
    return 0;
}

/* --------------------------------------------------------- scaling, splits */

/* Images [first, first + count) of r as a split delivering size x size
 * images (0: their own size); it points into r's buffers. */
static gpx_split make_split(const gpx_raw *r, int first, int count, int classes, int size,
                            const gpx_pixel_scale *scale)
{
    size_t img = gpx_raw_image_bytes(r);
    gpx_split s = { .count = count, .c = r->c, .h = size ? size : r->h,
                    .w = size ? size : r->w, .classes = classes, .scale = *scale };
    s.images = (gpx_images){ r->type, r->layout, count, r->c, r->h, r->w,
                             count ? (const char *)r->pix + (size_t)first * img : NULL };
    s.y = count ? r->y + first : NULL;
    if (r->place && count) {
        s.place = r->place + 2 * (size_t)first;
        s.h = s.w = size;
    }
    return s;
}

static int ascending(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* k of the indices [0, n) drawn without replacement by seed (the first k of
 * a seeded shuffle), in ascending order; NULL when out of memory. */
static int *draw_subset(int n, int k, uint64_t seed)
{
    int *idx = malloc((size_t)n * sizeof *idx);
    if (!idx)
        return NULL;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    gp_rng_shuffle(&rng, idx, (size_t)n);
    qsort(idx, (size_t)k, sizeof *idx, ascending);
    return idx;
}

/* The training images: the first nfit of r, or spec->train_subset of them
 * drawn by spec->subset_seed and moved, in file order, to the front of r
 * (images past nfit, the validation split, stay in place); *ntrain gets
 * their count. */
static int pick_train_subset(const gpx_data_spec *spec, gpx_raw *r, int nfit, int *ntrain,
                             char *err, size_t errlen)
{
    *ntrain = nfit;
    if (spec->train_subset <= 0)
        return 0;
    if (spec->train_subset > nfit)
        return gpx_fail(err, errlen, "train_subset %d is more than the %d training images "
                         "left after the limit and the validation split", spec->train_subset,
                         nfit);
    int *pick = draw_subset(nfit, spec->train_subset, spec->subset_seed);
    if (!pick)
        return gpx_fail(err, errlen, "out of memory drawing %d of %d images",
                         spec->train_subset, nfit);
    size_t img = gpx_raw_image_bytes(r);
    char *pix = r->pix;
    for (int k = 0; k < spec->train_subset; k++) {   /* pick[k] >= k: moves go forward */
        memmove(pix + (size_t)k * img, pix + (size_t)pick[k] * img, img);
        r->y[k] = r->y[pick[k]];
        if (r->place)
            memmove(r->place + 2 * k, r->place + 2 * pick[k], 2 * sizeof *r->place);
    }
    free(pick);
    *ntrain = spec->train_subset;
    return 0;
}

/* n values of a list (0 or 1: one value), each finite and, for a std
 * list, > 0 (a single std may be 0: compute). */
static int check_stats_list(const char *key, const double *v, int n, int is_std, char *err,
                            size_t errlen)
{
    if (n < 0 || n > GPX_MAX_CHANNELS)
        return gpx_fail(err, errlen, "%s: %d values, at most %d (one per channel)", key, n,
                        GPX_MAX_CHANNELS);
    for (int k = 0; k < (n > 1 ? n : 1); k++)
        if (!isfinite(v[k]) || (is_std && (n > 1 ? v[k] <= 0 : v[k] < 0)))
            return gpx_fail(err, errlen, "%s: value %d is %g; %s", key, k + 1, v[k],
                            !is_std ? "it must be finite"
                            : n > 1 ? "a per-channel std must be > 0"
                                    : "std must be > 0, or 0 to compute mean and std");
    return 0;
}

static int check_stats_spec(const gpx_data_spec *spec, char *err, size_t errlen)
{
    if (check_stats_list("data.mean", spec->mean, spec->nmean, 0, err, errlen) != 0 ||
        check_stats_list("data.std", spec->std, spec->nstd, 1, err, errlen) != 0)
        return -1;
    if (spec->nmean > 1 && spec->nstd <= 1 && spec->std[0] == 0)
        return gpx_fail(err, errlen, "data.mean: %d values given, but data.std is 0, which "
                        "computes both: give data.std too, or leave data.mean out",
                        spec->nmean);
    return 0;
}

int gpx_data_spec_check(const gpx_data_spec *spec, char *err, size_t errlen)
{
    if (spec->validation < 0 || spec->train_limit < 0 || spec->test_limit < 0)
        return gpx_fail(err, errlen, "validation (%d), train_limit (%d) and test_limit (%d) "
                         "must not be negative", spec->validation, spec->train_limit,
                         spec->test_limit);
    if (spec->normalize && check_stats_spec(spec, err, errlen) != 0)
        return -1;
    if (spec->channels < 0 || spec->channels > 4)
        return gpx_fail(err, errlen, "channels %d outside 0 (the source's own) .. 4",
                        spec->channels);
    if (spec->resize < 0 || spec->resize > RESIZE_MAX)
        return gpx_fail(err, errlen, "resize %d outside 0 (keep the size) .. %d",
                         spec->resize, RESIZE_MAX);
    if (spec->canvas < 0 || spec->canvas > RESIZE_MAX)
        return gpx_fail(err, errlen, "data.canvas: size %d outside 0 (none) .. %d",
                        spec->canvas, RESIZE_MAX);
    if (spec->canvas && spec->resize)
        return gpx_fail(err, errlen, "data.canvas: a canvas places the stored images "
                        "unchanged, so it cannot go with data.resize (%d): give one of them",
                        spec->resize);
    return 0;
}

/* Keep only the first count images of r (the limit), giving the rest back. */
static void raw_keep(gpx_raw *r, int count)
{
    if (count >= r->count)
        return;
    size_t img = gpx_raw_image_bytes(r);
    void *pix = realloc(r->pix, (size_t)count * img + 1);
    int *y = realloc(r->y, (size_t)count * sizeof *y + 1);
    r->pix = pix ? pix : r->pix;   /* a failed shrink keeps the larger block */
    r->y = y ? y : r->y;
    r->count = count;
}

/* The n values given for key (n 0 or 1: one for every channel) as c per
 * channel into out: 0, or -1 when there are values for another count. */
static int expand_stats(const char *key, const double *v, int n, int c, double *out,
                        char *err, size_t errlen)
{
    if (n > 1 && n != c)
        return gpx_fail(err, errlen, "%s: %d values for %d-channel images (give one "
                        "value, or one per channel)", key, n, c);
    for (int ch = 0; ch < c; ch++)
        out[ch] = v[n > 1 ? ch : 0];
    return 0;
}

/* The normalisation of out, per channel of the images train (the nfit
 * trained on come first): given, else computed from them. */
static int settle_scale(const gpx_data_spec *spec, const gpx_images *train, int nfit,
                        gpx_data *out, char *err, size_t errlen)
{
    int c = train->c;
    if (spec->normalize && c > GPX_MAX_CHANNELS)
        return gpx_fail(err, errlen, "cannot normalise %d-channel images: at most %d "
                        "channels", c, GPX_MAX_CHANNELS);
    for (int ch = 0; ch < c && ch < GPX_MAX_CHANNELS; ch++) {
        out->mean[ch] = 0.0;
        out->std[ch] = 1.0;
    }
    if (!spec->normalize)
        return 0;
    if (spec->std[0] > 0)
        return expand_stats("data.mean", spec->mean, spec->nmean, c, out->mean, err,
                            errlen) != 0 ||
               expand_stats("data.std", spec->std, spec->nstd, c, out->std, err, errlen) != 0
               ? -1 : 0;
    if (gpx_images_channel_stats(train, 0, nfit, out->mean, out->std) != 0)
        return gpx_fail(err, errlen, "cannot compute the normalisation of %d training "
                        "images of %d x %d x %d", nfit, c, train->h, train->w);
    for (int ch = 0; ch < c; ch++)
        if (!(out->std[ch] > 0))
            return gpx_fail(err, errlen, "cannot normalise: channel %d of the %d training "
                            "images is all one value (std 0)", ch + 1, nfit);
    return 0;
}

/* Apply limits, the validation split and the scaling; out's splits then
 * point into train's and test's buffers, which out takes over. */
static int build_splits(const gpx_data_spec *spec, gpx_raw *train, gpx_raw *test,
                        int classes, gpx_data *out, char *err, size_t errlen)
{
    if (spec->train_limit > 0)
        raw_keep(train, spec->train_limit);
    if (spec->test_limit > 0)
        raw_keep(test, spec->test_limit);
    if (spec->validation >= train->count)
        return gpx_fail(err, errlen, "validation split of %d images leaves no training "
                         "images (only %d to split)", spec->validation, train->count);
    int nfit = train->count - spec->validation;
    gpx_images fit = { train->type, train->layout, nfit, train->c, train->h, train->w,
                       train->pix };
    if (settle_scale(spec, &fit, nfit, out, err, errlen) != 0)
        return -1;
    int ntrain;
    if (pick_train_subset(spec, train, nfit, &ntrain, err, errlen) != 0)
        return -1;
    /* unnormalised images of more channels than the table holds: 0 and 1 for all */
    gpx_pixel_scale scale = { .normalize = spec->normalize,
                              .channels = fit.c <= GPX_MAX_CHANNELS ? fit.c : 1 };
    memcpy(scale.mean, out->mean, sizeof scale.mean);
    memcpy(scale.std, out->std, sizeof scale.std);
    int size = spec->canvas ? spec->canvas : spec->resize;
    out->train = make_split(train, 0, ntrain, classes, size, &scale);
    out->val = make_split(train, nfit, spec->validation, classes, size, &scale);
    out->test = make_split(test, 0, test->count, classes, size, &scale);
    void *owned[6] = { train->pix, train->y, test->pix, test->y, train->place, test->place };
    memcpy(out->owned, owned, sizeof owned);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    return 0;
}

/* --------------------------------------------------------------- canvas */

/* xor'ed into canvas_seed for the test file's places, a stream of its own */
#define CANVAS_TEST_STREAM 0x63616e7661732174ull

/* With data.canvas, a place for every image of both files, before any is
 * left out, so that an image's place never depends on the limits. */
static int draw_canvas_places(const gpx_data_spec *spec, gpx_raw *train, gpx_raw *test,
                              char *err, size_t errlen)
{
    if (!spec->canvas)
        return 0;
    gpx_raw *r[2] = { train, test };
    for (int k = 0; k < 2; k++) {
        r[k]->place = malloc(2 * (size_t)r[k]->count * sizeof *r[k]->place + 1);
        if (!r[k]->place)
            return gpx_fail(err, errlen, "out of memory for %d canvas places", r[k]->count);
        if (gpx_canvas_offsets(r[k]->count, r[k]->h, r[k]->w, spec->canvas,
                               spec->canvas_seed ^ (k ? CANVAS_TEST_STREAM : 0), r[k]->place))
            return gpx_fail(err, errlen, "canvas %d is smaller than the %d x %d images",
                            spec->canvas, r[k]->h, r[k]->w);
    }
    return 0;
}

/* ------------------------------------------------------------ public */

/* Read the source's images and labels; *classes is the number of classes
 * the source itself defines, or 0 when only its labels can tell (idx). */
static int load_raw(const gpx_data_spec *spec, const char *source, gpx_data *out,
                    gpx_raw *train, gpx_raw *test, int *classes, char *err, size_t errlen)
{
    *classes = 0;
    if (strcmp(source, "fashion-mnist") == 0) {
        *classes = FMNIST_CLASSES;
        return load_fashion_mnist(spec, out, train, test, err, errlen);
    }
    if (strcmp(source, "idx") == 0) {
        const char *const paths[IDX_FILES] = {
            spec->train_images, spec->train_labels, spec->test_images, spec->test_labels,
        };
        return load_files(paths, out, train, test, err, errlen);
    }
    if (strcmp(source, "synthetic") == 0)
        return load_synthetic(spec, train, test, classes, err, errlen);
    if (strcmp(source, "cifar10") == 0) {
        *classes = CIFAR10_CLASSES;
        return gpx_cifar10_load(spec, out, train, test, err, errlen);
    }
    if (strcmp(source, "npy") == 0 || strcmp(source, "npz") == 0)
        return gpx_npy_images_load(spec, out, train, test, err, errlen);
    if (strcmp(source, "imagefolder") == 0)
        return gpx_pngdir_load(spec, out, train, test, err, errlen);
    return gpx_fail(err, errlen, "unknown data source \"%s\" (%s)", source, SOURCE_NAMES);
}

/* The two splits must be images of one kind, and of the channels asked for. */
static int check_raw_shapes(const gpx_data_spec *spec, const gpx_data *out,
                            const gpx_raw *train, const gpx_raw *test, char *err,
                            size_t errlen)
{
    if (test->c != train->c || test->h != train->h || test->w != train->w ||
        test->type != train->type)
        return gpx_fail(err, errlen, "%s: the test images are %d x %d x %d %s, the training "
                        "images %d x %d x %d %s", out->source, test->c, test->h, test->w,
                        test->type == GPX_PIXEL_U8 ? "bytes" : "floats", train->c, train->h,
                        train->w, train->type == GPX_PIXEL_U8 ? "bytes" : "floats");
    if (spec->channels > 0 && spec->channels != train->c)
        return gpx_fail(err, errlen, "data.channels is %d but the %s images have %d",
                        spec->channels, out->source, train->c);
    return 0;
}

int gpx_data_load(const gpx_data_spec *spec, gpx_data *out, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!out)
        return gpx_fail(err, errlen, "gpx_data_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!spec)
        return gpx_fail(err, errlen, "gpx_data_load: spec is NULL");
    const char *source = spec->source ? spec->source : "fashion-mnist";
    if (gpx_data_spec_check(spec, err, errlen) != 0)
        return -1;
    if (snprintf(out->source, sizeof out->source, "%s", source) >= (int)sizeof out->source)
        return gpx_fail(err, errlen, "unknown data source \"%s\" (%s)", source, SOURCE_NAMES);
    gpx_raw train = { 0 }, test = { 0 };
    int classes = 0;
    int rc = load_raw(spec, source, out, &train, &test, &classes, err, errlen);
    if (rc == 0)
        rc = check_raw_shapes(spec, out, &train, &test, err, errlen);
    if (rc == 0)
        rc = settle_classes(spec, out, &train, &test, &classes, err, errlen);
    if (rc == 0)
        rc = draw_canvas_places(spec, &train, &test, err, errlen);
    if (rc == 0)
        rc = build_splits(spec, &train, &test, classes, out, err, errlen);
    gpx_raw_free(&train);
    gpx_raw_free(&test);
    if (rc != 0)
        gpx_data_free(out);
    return rc;
}

void gpx_data_free(gpx_data *d)
{
    if (!d)
        return;
    for (int i = 0; i < 6; i++)
        free(d->owned[i]);
    memset(d, 0, sizeof *d);
}

/* Images of s converted at their stored size into x, then augmented. */
static int convert_augmented(const gpx_split *s, const int *index, int first, int count,
                             const gpx_augment *aug, uint64_t seed, float *x)
{
    const gpx_images *im = &s->images;
    if (gpx_images_to_floats(im, &s->scale, index, first, count, x) != 0)
        return -1;
    return gpx_augment_images(aug, seed, &s->scale, x, count, im->c, im->h, im->w);
}

/* A batch on its canvases: converted (and augmented) at the stored size,
 * then each image placed where it was drawn, on what a raw zero pixel
 * becomes. */
static int canvas_batch(const gpx_split *s, const int *index, int first, int count,
                        const gpx_augment *aug, uint64_t seed, float *dst)
{
    const gpx_images *im = &s->images;
    int *place = malloc(2 * (size_t)count * sizeof *place + 1);
    float *own = malloc((size_t)count * im->c * im->h * im->w * sizeof *own + 1);
    float *fill = malloc((size_t)im->c * sizeof *fill + 1);
    int rc = place && own && fill && gpx_pixel_zero(&s->scale, im->c, fill) == 0 &&
             convert_augmented(s, index, first, count, aug, seed, own) == 0 ? 0 : -1;
    for (int i = 0; rc == 0 && i < count; i++)
        memcpy(place + 2 * i, s->place + 2 * (size_t)(index ? index[i] : first + i),
               2 * sizeof *place);
    if (rc == 0)
        rc = gpx_place_at(own, count, im->c, im->h, im->w, dst, s->h, fill, place);
    free(place);
    free(own);
    free(fill);
    return rc;
}

int gpx_split_batch_augmented(const gpx_split *s, const int *index, int first, int count,
                              const gpx_augment *aug, uint64_t seed, float *dst)
{
    const gpx_images *im = &s->images;
    if (s->place)
        return canvas_batch(s, index, first, count, aug, seed, dst);
    if (s->h == im->h && s->w == im->w)
        return convert_augmented(s, index, first, count, aug, seed, dst);
    /* resized from the stored size: converted there first, as torch
     * interpolates the normalised tensor */
    float *own = malloc((size_t)count * im->c * im->h * im->w * sizeof *own + 1);
    int rc = own && convert_augmented(s, index, first, count, aug, seed, own) == 0 &&
             gpx_resize_bilinear(own, count, im->c, im->h, im->w, dst, s->h, s->w) == 0
             ? 0 : -1;
    free(own);
    return rc;
}

int gpx_split_batch(const gpx_split *s, const int *index, int first, int count, float *dst)
{
    return gpx_split_batch_augmented(s, index, first, count, NULL, 0, dst);
}

float *gpx_split_floats(const gpx_split *s)
{
    size_t n = (size_t)s->count * s->c * s->h * s->w;
    float *x = n ? malloc(n * sizeof *x) : NULL;
    if (x && gpx_split_batch(s, NULL, 0, s->count, x) != 0) {
        free(x);
        x = NULL;
    }
    return x;
}

void gpx_data_describe(const gpx_data *d, gpx_data_record *out)
{
    memset(out, 0, sizeof *out);
    out->nfiles = d->nfiles < GPX_DATA_MAX_FILES ? d->nfiles : GPX_DATA_MAX_FILES;
    for (int i = 0; i < out->nfiles; i++) {
        snprintf(out->files[i], sizeof out->files[i], "%s", d->files[i]);
        snprintf(out->sha256[i], sizeof out->sha256[i], "%s", d->sha256[i]);
    }
    out->channels = d->train.c;
    memcpy(out->mean, d->mean, sizeof out->mean);
    memcpy(out->std, d->std, sizeof out->std);
    out->train_count = d->train.count;
    out->val_count = d->val.count;
    out->test_count = d->test.count;
    out->classes = d->train.classes;
    snprintf(out->class_names, sizeof out->class_names, "%s", d->class_names);
}
