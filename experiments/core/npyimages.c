/*
 * npyimages.c - images and labels as NumPy arrays: four .npy files (source
 * npy) or one .npz archive (source npz) (see core/source.h).
 *
 * The arrays are parsed by libgpool's .npy reader (gp_npy_array_create);
 * an .npz is a zip archive of .npy members, unpacked here with libzip, a
 * member at a time into memory. Images are uint8 or float32 in the layout
 * the config states (N x H x W, N x H x W x C or N x C x H x W) and are kept
 * as they are stored; labels are int64, int32 or uint8, N or N x 1.
 */
#include "autoconfig.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/source.h"
#include "gpool_nn.h"
#include "util/util.h"

/* An uncompressed size deflate cannot reach from the compressed one (its
 * best ratio is about 1032:1) is a corrupt header, not a reason to
 * allocate gigabytes. */
#define NPZ_MAX_RATIO 1100

/* What the config says of the images' dimensions. */
typedef struct {
    gpx_layout layout;   /* of the stored images */
    int        ndims;    /* the arrays' */
    const char *name;    /* as data.layout spells it */
} npy_layout;

static npy_layout layout_of(const char *name)
{
    if (name && strcmp(name, "nchw") == 0)
        return (npy_layout){ GPX_LAYOUT_NCHW, 4, "nchw" };
    if (name && strcmp(name, "nhw") == 0)
        return (npy_layout){ GPX_LAYOUT_NCHW, 3, "nhw" };
    return (npy_layout){ GPX_LAYOUT_NHWC, 4, "nhwc" };
}

static int fits_int(size_t v)
{
    return v >= 1 && v <= INT_MAX;
}

/* A float image holding a NaN or an infinity would poison every step. */
static int check_finite(const gp_npy_array *a, const char *what, char *err, size_t errlen)
{
    const float *x = a->data;
    for (size_t i = 0; i < a->count; i++)
        if (!isfinite(x[i]))
            return gpx_fail(err, errlen, "%s: element %zu (image %zu) is %g, not a finite "
                            "number", what, i, i / (a->count / a->dims[0]), x[i]);
    return 0;
}

/* The images array a (named what) as r, in layout lay; a's data moves to r. */
static int take_images(gp_npy_array *a, const char *what, npy_layout lay, gpx_raw *r,
                       char *err, size_t errlen)
{
    if (a->dtype != GP_NPY_U8 && a->dtype != GP_NPY_F32)
        return gpx_fail(err, errlen, "%s: images must be uint8 or float32 (this array is %s)",
                        what, a->dtype == GP_NPY_I32 ? "int32" : "int64");
    if (a->ndims != lay.ndims)
        return gpx_fail(err, errlen, "%s: images of data.layout %s have %d dimensions, this "
                        "array has %d (state data.layout: nhw, nhwc or nchw)", what, lay.name,
                        lay.ndims, a->ndims);
    for (int i = 0; i < a->ndims; i++)
        if (!fits_int(a->dims[i]))
            return gpx_fail(err, errlen, "%s: dimension %d is %zu (1 to %d supported)", what,
                            i, a->dims[i], INT_MAX);
    if (a->dtype == GP_NPY_F32 && check_finite(a, what, err, errlen) != 0)
        return -1;
    int n = (int)a->dims[0];
    int c = lay.ndims == 3 ? 1 : (int)a->dims[lay.layout == GPX_LAYOUT_NCHW ? 1 : 3];
    int h = (int)a->dims[lay.layout == GPX_LAYOUT_NHWC || lay.ndims == 3 ? 1 : 2];
    int w = (int)a->dims[lay.layout == GPX_LAYOUT_NHWC || lay.ndims == 3 ? 2 : 3];
    if ((size_t)c * (size_t)h * (size_t)w > INT_MAX)
        return gpx_fail(err, errlen, "%s: images of %d x %d x %d are too large", what, c, h, w);
    *r = (gpx_raw){ n, c, h, w, a->dtype == GP_NPY_U8 ? GPX_PIXEL_U8 : GPX_PIXEL_F32,
                    lay.layout, a->data, NULL, NULL };
    a->data = NULL;
    return 0;
}

static long long label_at(const gp_npy_array *a, size_t i)
{
    switch (a->dtype) {
    case GP_NPY_U8:
        return ((const uint8_t *)a->data)[i];
    case GP_NPY_I32:
        return ((const int32_t *)a->data)[i];
    default:
        return ((const int64_t *)a->data)[i];
    }
}

/* The labels array a (named what), one per image of r, into r->y. */
static int take_labels(const gp_npy_array *a, const char *what, gpx_raw *r, char *err,
                       size_t errlen)
{
    if (a->dtype == GP_NPY_F32)
        return gpx_fail(err, errlen, "%s: labels must be integers (int64, int32 or uint8), "
                        "this array is float32", what);
    if (a->ndims < 1 || a->ndims > 2 || (a->ndims == 2 && a->dims[1] != 1))
        return gpx_fail(err, errlen, "%s: labels must be N or N x 1, this array has %d "
                        "dimensions", what, a->ndims);
    if (a->dims[0] != (size_t)r->count)
        return gpx_fail(err, errlen, "%s: %zu labels for %d images", what, a->dims[0],
                        r->count);
    r->y = malloc((size_t)r->count * sizeof *r->y + 1);
    if (!r->y)
        return gpx_fail(err, errlen, "%s: out of memory for %d labels", what, r->count);
    for (int i = 0; i < r->count; i++) {
        long long v = label_at(a, (size_t)i);
        if (v < 0 || v > INT_MAX)
            return gpx_fail(err, errlen, "%s: label %lld at index %d is negative or too "
                            "large", what, v, i);
        r->y[i] = (int)v;
    }
    return 0;
}

static int npy_fail(char *err, size_t errlen)
{
    return gpx_fail(err, errlen, "%s", gp_last_error());
}

/* Images and labels (already read, named by their paths) into r; both
 * arrays are freed. */
static int take_pair(gp_npy_array *im, const char *im_name, gp_npy_array *lb,
                     const char *lb_name, npy_layout lay, gpx_raw *r, char *err, size_t errlen)
{
    int rc = take_images(im, im_name, lay, r, err, errlen);
    if (rc == 0)
        rc = take_labels(lb, lb_name, r, err, errlen);
    gp_npy_array_destroy(im);
    gp_npy_array_destroy(lb);
    return rc;
}

/* ------------------------------------------------------------- .npy files */

static int load_npy_pair(const char *images, const char *labels, npy_layout lay, gpx_raw *r,
                         char *err, size_t errlen)
{
    gp_npy_array *im = NULL, *lb = NULL;
    if (gp_npy_array_create(&im, images, NULL, 0) != GP_OK)
        return npy_fail(err, errlen);
    if (gp_npy_array_create(&lb, labels, NULL, 0) != GP_OK) {
        gp_npy_array_destroy(im);
        return npy_fail(err, errlen);
    }
    return take_pair(im, images, lb, labels, lay, r, err, errlen);
}

static int load_npy_files(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                          gpx_raw *test, char *err, size_t errlen)
{
    const char *paths[4] = { spec->train_images, spec->train_labels, spec->test_images,
                             spec->test_labels };
    for (int i = 0; i < 4; i++)
        if (!paths[i] || !paths[i][0])
            return gpx_fail(err, errlen, "source npy needs train_images, train_labels, "
                            "test_images and test_labels (.npy files)");
    npy_layout lay = layout_of(spec->layout);
    if (load_npy_pair(paths[0], paths[1], lay, train, err, errlen) != 0 ||
        load_npy_pair(paths[2], paths[3], lay, test, err, errlen) != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (gpx_data_add_file(out, paths[i], err, errlen) != 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ .npz archive */

static const char *const npz_members[4] = { "x_train", "y_train", "x_test", "y_test" };

/* The members of z, for a message. */
static void npz_listing(zip_t *z, char *list, size_t len)
{
    list[0] = '\0';
    zip_int64_t n = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        size_t used = strlen(list);
        if (name && used + 1 < len)
            snprintf(list + used, len - used, "%s%s", i ? ", " : "", name);
    }
}

/* Member member (.npy added) of archive path, at index idx, in a buffer to free. */
static int npz_member_bytes(zip_t *z, const char *where, zip_int64_t idx, void **bytes,
                            size_t *len, char *err, size_t errlen)
{
    zip_stat_t st;
    if (zip_stat_index(z, (zip_uint64_t)idx, 0, &st) != 0 ||
        !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
        return gpx_fail(err, errlen, "%s: cannot read its entry: %s", where, zip_strerror(z));
    if (st.size > (zip_uint64_t)NPZ_MAX_RATIO * st.comp_size + 1024 || st.size > SIZE_MAX / 2)
        return gpx_fail(err, errlen, "%s: entry claims %llu bytes from %llu compressed: a "
                        "corrupt archive", where, (unsigned long long)st.size,
                        (unsigned long long)st.comp_size);
    *len = (size_t)st.size;
    *bytes = malloc(*len + 1);
    zip_file_t *f = *bytes ? zip_fopen_index(z, (zip_uint64_t)idx, 0) : NULL;
    zip_int64_t got = f ? zip_fread(f, *bytes, *len) : -1;
    char past;   /* libzip checks the CRC-32 when a read meets the end */
    if (got == (zip_int64_t)*len && zip_fread(f, &past, 1) != 0)
        got = -1;
    int rc = got == (zip_int64_t)*len ? 0
             : gpx_fail(err, errlen, "%s: cannot unpack (%zu bytes): %s", where, *len,
                        !*bytes ? "out of memory" : f ? zip_file_strerror(f) : zip_strerror(z));
    if (f && zip_fclose(f) != 0 && rc == 0)
        rc = gpx_fail(err, errlen, "%s: %s", where, zip_strerror(z));
    if (rc != 0) {
        free(*bytes);
        *bytes = NULL;
    }
    return rc;
}

/* Member k of npz_members of the archive path as an array; where gets
 * "path:member.npy", the name its messages use. */
static int npz_member(zip_t *z, const char *path, int k, gp_npy_array **a, char *where,
                      size_t wlen, char *err, size_t errlen)
{
    char name[32], list[512];
    snprintf(name, sizeof name, "%s.npy", npz_members[k]);
    snprintf(where, wlen, "%s:%s", path, name);
    zip_int64_t idx = zip_name_locate(z, name, 0);
    if (idx < 0) {
        npz_listing(z, list, sizeof list);
        return gpx_fail(err, errlen, "%s: no member %s (an npz for gpool holds x_train, "
                        "y_train, x_test and y_test, as numpy.savez(file, x_train=...) "
                        "writes them; this one holds: %s)", path, name,
                        list[0] ? list : "nothing");
    }
    void *bytes = NULL;
    size_t len = 0;
    if (npz_member_bytes(z, where, idx, &bytes, &len, err, errlen) != 0)
        return -1;
    gp_status st = gp_npy_array_create(a, where, bytes, len);
    free(bytes);
    return st == GP_OK ? 0 : npy_fail(err, errlen);
}

static int npz_split(zip_t *z, const char *path, int first, npy_layout lay, gpx_raw *r,
                     char *err, size_t errlen)
{
    char im_name[4200], lb_name[4200];
    gp_npy_array *im = NULL, *lb = NULL;
    if (npz_member(z, path, first, &im, im_name, sizeof im_name, err, errlen) != 0)
        return -1;
    if (npz_member(z, path, first + 1, &lb, lb_name, sizeof lb_name, err, errlen) != 0) {
        gp_npy_array_destroy(im);
        return -1;
    }
    return take_pair(im, im_name, lb, lb_name, lay, r, err, errlen);
}

static int load_npz(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train, gpx_raw *test,
                    char *err, size_t errlen)
{
    const char *path = spec->file;
    if (!path || !path[0])
        return gpx_fail(err, errlen, "source npz needs data.file, the .npz archive");
    int code = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        gpx_fail(err, errlen, "%s: cannot open as an .npz (zip) archive: %s", path,
                 zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }
    npy_layout lay = layout_of(spec->layout);
    int rc = npz_split(z, path, 0, lay, train, err, errlen);
    if (rc == 0)
        rc = npz_split(z, path, 2, lay, test, err, errlen);
    zip_discard(z);
    return rc == 0 ? gpx_data_add_file(out, path, err, errlen) : -1;
}

int gpx_npy_images_load(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train,
                        gpx_raw *test, char *err, size_t errlen)
{
    if (spec->source && strcmp(spec->source, "npz") == 0)
        return load_npz(spec, out, train, test, err, errlen);
    return load_npy_files(spec, out, train, test, err, errlen);
}
