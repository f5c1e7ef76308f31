/*
 * fuzz_npy.c - fuzz target of the .npy reader (lib/npy.c), the format of
 * checkpoints' tensors.
 *
 * The reader takes the count of floats its caller expects; the target asks
 * for the count the file's own bytes would hold after its header, so that
 * a well-formed file is read through, and a mismatch is still met.
 *
 * Promises checked: a refusal names the file; an accepted file's shape
 * holds exactly the floats asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    fuzz_verdict(TARGET, accepted, accepted ? "" : gp_last_error());
    return 0;
}
