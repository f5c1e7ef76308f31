/*
 * fuzz_npy.c - fuzz target of the .npy readers (lib/npy.c): the float32
 * one of checkpoints' tensors, the typed one of data sets (from the file
 * and from memory, as an .npz member is read), and the images and labels
 * layouts of `source: npy` (core/npyimages.c) the typed array then goes
 * through.
 *
 * The float reader takes the count of floats its caller expects; the
 * target asks for the count the file's own bytes would hold after its
 * header, so that a well-formed file is read through, and a mismatch is
 * still met. An array the typed reader accepts is then loaded as the
 * images of a data set in each layout (labels made to match) and, with
 * one or two dimensions, as its labels (images made to match).
 *
 * Promises checked: a refusal names the file; an accepted file's shape
 * holds exactly the floats asked for; the typed reader gives the same
 * array from the file and from memory, its count the product of its
 * dimensions; a loaded data set has an image per label, of the array's
 * elements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data.h"
#include "fuzz.h"
#include "gpool_nn.h"

#define TARGET "fuzz_npy"

/* Floats a checkpoint tensor of the fuzzed size may hold, at most. */
#define MAX_FLOATS (1u << 20)

/* The floats after the header the file says it has (version 1.0's 2-byte
 * or 2.0's 4-byte length), or 0 when it is too short to say. */
static size_t floats_after_header(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    size_t header = data[6] == 1 ? 10 + (size_t)(data[8] | data[9] << 8)
                                 : 12 + (size_t)(data[8] | data[9] << 8 |
                                                 (uint32_t)data[10] << 16 |
                                                 (uint32_t)data[11] << 24);
    size_t n = header < size ? (size - header) / 4 : 0;
    return n < MAX_FLOATS ? n : MAX_FLOATS;
}

/* Arrays up to this many elements also go through core/npyimages.c. */
#define MAX_SET (1u << 18)

/* A .npy of count uint8 values (i % 3, or i * 37 + 11 for images: dims
 * count x 4 x 4) in slot 1. */
static const char *companion(size_t count, int images)
{
    char head[128];
    int n = images ? snprintf(head, sizeof head, "{'descr': '|u1', 'fortran_order': False, "
                              "'shape': (%zu, 4, 4), }", count)
                   : snprintf(head, sizeof head, "{'descr': '|u1', 'fortran_order': False, "
                              "'shape': (%zu,), }", count);
    size_t values = images ? count * 16 : count, size = 10 + (size_t)n + 1 + values;
    uint8_t *file = malloc(size);
    fuzz_require(TARGET, file != NULL, "out of memory for the companion file");
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (uint8_t)((n + 1) & 255);
    file[9] = (uint8_t)((n + 1) >> 8);
    memcpy(file + 10, head, (size_t)n);
    file[10 + n] = '\n';
    for (size_t i = 0; i < values; i++)
        file[11 + (size_t)n + i] = (uint8_t)(images ? i * 37 + 11 : i % 3);
    const char *path = fuzz_input_path(TARGET, 1, file, size);
    free(file);
    return path;
}

/* The input as the images (in layout) or the labels of a `source: npy`
 * set, the other file made to match: 1 loaded, 0 refused. */
static int load_as_set(const char *path, const gp_npy_array *a, const char *layout, int labels)
{
    const char *other = companion(a->dims[0], labels);
    const char *im = labels ? other : path, *lb = labels ? path : other;
    gpx_data_spec spec = { .source = "npy", .layout = layout, .train_images = im,
                           .train_labels = lb, .test_images = im, .test_labels = lb };
    gpx_data d;
    char err[1024];
    int loaded = gpx_data_load(&spec, &d, err, sizeof err) == 0;
    if (loaded) {
        fuzz_require(TARGET, (size_t)d.train.count == a->dims[0] && d.train.classes > 0,
                     "a loaded set has an image per label and classes");
        if (!labels)
            fuzz_require(TARGET, (size_t)d.train.count * d.train.c * d.train.h * d.train.w ==
                                 a->count, "a loaded set's images are the array's elements");
    } else {
        fuzz_require(TARGET, err[0] != '\0', "a refused data set says why");
    }
    gpx_data_free(&d);
    return loaded;
}

/* The typed reader on the input, from the file and from memory; then the
 * data-set layouts on what it accepts. */
static void typed_arrays(const char *path, const uint8_t *data, size_t size)
{
    gp_npy_array *a = NULL, *m = NULL;
    int from_file = gp_npy_array_create(&a, path, NULL, 0) == GP_OK;
    if (!from_file)
        fuzz_require(TARGET, strstr(gp_last_error(), path) != NULL, "a refusal names the file");
    int from_memory = gp_npy_array_create(&m, "member.npy", data, size) == GP_OK;
    fuzz_require(TARGET, from_file == from_memory, "file and memory give one verdict");
    if (from_file) {
        size_t held = 1, bytes = a->count * gp_npy_dtype_size(a->dtype);
        for (int i = 0; i < a->ndims; i++)
            held *= a->dims[i];
        fuzz_require(TARGET, held == a->count && a->dtype == m->dtype && a->count == m->count &&
                             (!bytes || memcmp(a->data, m->data, bytes) == 0),
                     "an accepted array is the same from file and memory, count its dims");
        if (a->ndims >= 1 && a->dims[0] > 0 && a->count <= MAX_SET) {
            static const char *const layouts[] = { "nhwc", "nchw", "nhw" };
            for (int k = 0; k < 3; k++)
                load_as_set(path, a, layouts[k], 0);
            load_as_set(path, a, "nhwc", 1);
        }
    }
    gp_npy_array_destroy(a);
    gp_npy_array_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(TARGET, 0, data, size);
    size_t count = floats_after_header(data, size);
    float *values = malloc((count ? count : 1) * sizeof *values);
    fuzz_require(TARGET, values != NULL, "out of memory for the floats");
    size_t dims[8];
    int ndims = -1;
    int accepted = gp_npy_read(path, values, count, dims, &ndims) == GP_OK;
    if (accepted) {
        size_t held = 1;
        fuzz_require(TARGET, ndims >= 0 && ndims <= 8, "an accepted file has 0 to 8 dims");
        for (int i = 0; i < ndims; i++)
            held *= dims[i];
        fuzz_require(TARGET, held == count, "an accepted shape holds the floats asked for");
    } else {
        fuzz_require(TARGET, strstr(gp_last_error(), path) != NULL, "a refusal names the file");
    }
    free(values);
    typed_arrays(path, data, size);
    fuzz_verdict(TARGET, accepted, accepted ? "" : gp_last_error());
    return 0;
}
