/*
 * fuzz_png.c - fuzz target of the PNG decoding of the imagefolder source
 * (gpx_png_decode, core/pngdir.c, over libpng): the input is one PNG file,
 * decoded to 1 and to 3 channels.
 *
 * Promises checked: a refusal names the file; an accepted file has a size
 * of at least 1 x 1, the same at both channel counts, and decodes at that
 * size; asking for another size is refused, naming the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/source.h"
#include "fuzz.h"

#define TARGET "fuzz_png"
#define NAME   "fuzz-input.png"
/* Images up to this many pixels are decoded in full (the rest only
 * through their header): what the fuzzer's memory limit allows. */
#define MAX_PIXELS (1 << 22)

/* Decode to channels: 1 accepted, 0 refused (why in err). */
static int decode(const uint8_t *data, size_t size, int channels, int *h, int *w, char *err,
                  size_t errlen)
{
    if (gpx_png_decode(data, size, NAME, channels, 0, 0, h, w, NULL, err, errlen) != 0)
        return 0;
    fuzz_require(TARGET, *h >= 1 && *w >= 1, "an accepted header has a size");
    if ((size_t)*h * (size_t)*w > MAX_PIXELS)
        return 1;
    unsigned char *pix = malloc((size_t)*h * (size_t)*w * (size_t)channels);
    fuzz_require(TARGET, pix != NULL, "out of memory for the pixels");
    int gh, gw;
    int ok = gpx_png_decode(data, size, NAME, channels, *h, *w, &gh, &gw, pix, err,
                            errlen) == 0;
    if (ok) {
        fuzz_require(TARGET, gpx_png_decode(data, size, NAME, channels, *h + 1, *w, &gh, &gw,
                                            pix, err, errlen) != 0 && strstr(err, NAME),
                     "another size is refused, naming the file");
        err[0] = '\0';
    }
    free(pix);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    int h1 = 0, w1 = 0, h3 = 0, w3 = 0;
    int grey = decode(data, size, 1, &h1, &w1, err, sizeof err);
    if (!grey)
        fuzz_require(TARGET, strstr(err, NAME) != NULL, "a refusal names the file");
    int colour = decode(data, size, 3, &h3, &w3, err, sizeof err);
    if (!colour)
        fuzz_require(TARGET, strstr(err, NAME) != NULL, "a refusal names the file");
    if (grey && colour)
        fuzz_require(TARGET, h1 == h3 && w1 == w3, "one size at both channel counts");
    fuzz_verdict(TARGET, grey && colour, err);
    return 0;
}
