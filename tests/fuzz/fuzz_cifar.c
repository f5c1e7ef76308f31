/*
 * fuzz_cifar.c - fuzz target of the CIFAR-10 binary reader (core/cifar.c):
 * the input is one batch file, read as the training split is.
 *
 * Promises checked: a refusal names the file; an accepted file is a whole
 * number of 3,073-byte records, read as that many 3 x 32 x 32 byte images
 * with labels in 0..9, each image the record's bytes after its label.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/source.h"
#include "fuzz.h"

#define TARGET "fuzz_cifar"
#define RECORD 3073

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(TARGET, 0, data, size);
    gpx_data out;
    gpx_raw r = { 0 };
    char err[1024] = "";
    memset(&out, 0, sizeof out);
    int accepted = gpx_cifar10_read(&path, 1, &r, &out, err, sizeof err) == 0;
    if (accepted) {
        fuzz_require(TARGET, size % RECORD == 0 && (size_t)r.count == size / RECORD,
                     "an accepted file is a whole number of records, one image each");
        fuzz_require(TARGET, r.c == 3 && r.h == 32 && r.w == 32 && r.type == GPX_PIXEL_U8,
                     "an accepted file holds 3 x 32 x 32 byte images");
        for (int i = 0; i < r.count; i++) {
            fuzz_require(TARGET, r.y[i] == data[(size_t)i * RECORD] && r.y[i] < 10,
                         "a label is its record's first byte, 0..9");
            fuzz_require(TARGET, memcmp((const uint8_t *)r.pix + (size_t)i * (RECORD - 1),
                                        data + (size_t)i * RECORD + 1, RECORD - 1) == 0,
                         "an image is its record's bytes after the label");
        }
        fuzz_require(TARGET, out.nfiles == 1, "the file read is recorded");
    } else {
        fuzz_require(TARGET, strstr(err, path) != NULL, "a refusal names the file");
    }
    gpx_raw_free(&r);
    fuzz_verdict(TARGET, accepted, err);
    return 0;
}
