/*
 * fuzz_idx.c - fuzz target of the IDX reader (lib/idx.c, raw or gzip), and
 * of the labels checks core/data.c makes when a one-dimensional file is
 * the labels of a `source: idx` data set (its images made to match).
 *
 * Promises checked: a refusal names the file; an accepted file has 1 to 4
 * non-zero dimensions and its bytes. The input is accepted when the reader
 * accepts it and, for labels, the data set loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data.h"
#include "fuzz.h"
#include "gpool_nn.h"

#define TARGET "fuzz_idx"

/* Labels files up to this many entries also go through core/data.c. */
#define MAX_LABELS 4096
#define SIDE       4

static void require_names_file(const char *msg, const char *path)
{
    fuzz_require(TARGET, msg && strstr(msg, path) != NULL, "a refusal names the file");
}

/* count images of SIDE x SIDE, not all alike, as an IDX file in slot 1. */
static const char *images_for(size_t count)
{
    size_t size = 16 + count * SIDE * SIDE;
    uint8_t *file = malloc(size);
    fuzz_require(TARGET, file != NULL, "out of memory for the images");
    const uint8_t head[16] = { 0, 0, 8, 3, (uint8_t)(count >> 24), (uint8_t)(count >> 16),
                               (uint8_t)(count >> 8), (uint8_t)count, 0, 0, 0, SIDE,
                               0, 0, 0, SIDE };
    memcpy(file, head, sizeof head);
    for (size_t i = 16; i < size; i++)
        file[i] = (uint8_t)(i * 37 + 11);
    const char *path = fuzz_input_path(TARGET, 1, file, size);
    free(file);
    return path;
}

/* The input as both label files of a data set: 1 loaded, 0 refused (why
 * in err). */
static int load_as_labels(const char *labels, size_t count, char *err, size_t errlen)
{
    const char *images = images_for(count);
    gpx_data_spec spec = { .source = "idx", .train_images = images, .train_labels = labels,
                           .test_images = images, .test_labels = labels };
    gpx_data d;
    int loaded = gpx_data_load(&spec, &d, err, errlen) == 0;
    if (loaded)
        fuzz_require(TARGET, d.train.count == (int)count && d.train.classes > 0,
                     "a loaded set has an image per label and classes");
    else
        fuzz_require(TARGET, err[0] != '\0', "a refused data set says why");
    gpx_data_free(&d);
    return loaded;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(TARGET, 0, data, size);
    gp_idx *idx = NULL;
    if (gp_idx_create(&idx, path) != GP_OK) {
        require_names_file(gp_last_error(), path);
        fuzz_verdict(TARGET, 0, gp_last_error());
        return 0;
    }
    fuzz_require(TARGET, idx->ndims >= 1 && idx->ndims <= 4 && idx->data != NULL,
                 "an accepted file has 1 to 4 dimensions and its bytes");
    for (int i = 0; i < idx->ndims; i++)
        fuzz_require(TARGET, idx->dims[i] > 0, "an accepted file has no zero dimension");
    int accepted = 1;
    char err[1024] = "";
    if (idx->ndims == 1 && idx->dims[0] <= MAX_LABELS)
        accepted = load_as_labels(path, idx->dims[0], err, sizeof err);
    gp_idx_destroy(idx);
    fuzz_verdict(TARGET, accepted, err);
    return 0;
}
