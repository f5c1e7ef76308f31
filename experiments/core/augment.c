/*
 * augment.c - seeded flips and padded random crops of training batches
 * (see augment.h).
 */
#include "autoconfig.h"

#include "core/augment.h"

#include <stdlib.h>
#include <string.h>

#include "gpool_nn.h"

/* xor'ed into the seed so the augmentation draws are not the shuffle's */
#define AUGMENT_STREAM 0x6175676d656e7421ull

int gpx_augment_on(const gpx_augment *a)
{
    return a && (a->hflip || a->crop_pad > 0);
}

uint64_t gpx_augment_seed(uint64_t run_seed, int pass, int first)
{
    /* pass and first below 2^31 each: every batch of a run gets its own seed */
    return (run_seed * 0x9e3779b97f4a7c15ull) ^ AUGMENT_STREAM ^
           ((uint64_t)(uint32_t)pass << 32) ^ (uint64_t)(uint32_t)first;
}

/* One image's draw: where the crop starts in the padded image, and the flip. */
typedef struct {
    int dy, dx, flip;
} placement;

static placement draw(const gpx_augment *a, gp_rng *rng)
{
    placement p = { a->crop_pad, a->crop_pad, 0 };   /* the centre: no shift */
    if (a->crop_pad > 0) {
        p.dy = (int)gp_rng_below(rng, (uint64_t)(2 * a->crop_pad + 1));
        p.dx = (int)gp_rng_below(rng, (uint64_t)(2 * a->crop_pad + 1));
    }
    if (a->hflip)
        p.flip = (int)gp_rng_below(rng, 2);
    return p;
}

/* One plane (h x w) from its copy in src, placed as p says, padding fill. */
static void place_plane(const placement *p, int pad, const float *src, float fill, float *dst,
                        int h, int w)
{
    for (int r = 0; r < h; r++) {
        int sr = r + p->dy - pad;
        float *out = dst + (size_t)r * w;
        if (sr < 0 || sr >= h) {
            for (int q = 0; q < w; q++)
                out[q] = fill;
            continue;
        }
        const float *row = src + (size_t)sr * w;
        for (int q = 0; q < w; q++) {
            int sq = (p->flip ? w - 1 - q : q) + p->dx - pad;
            out[q] = sq >= 0 && sq < w ? row[sq] : fill;
        }
    }
}

int gpx_augment_images(const gpx_augment *a, uint64_t seed, const gpx_pixel_scale *scale,
                       float *x, int n, int c, int h, int w)
{
    if (!gpx_augment_on(a) || n <= 0)
        return 0;
    size_t plane = (size_t)h * (size_t)w;
    float *fill = malloc(((size_t)c + plane) * sizeof *fill + 1), *copy = fill + c;
    if (!fill || gpx_pixel_zero(scale, c, fill) != 0) {
        free(fill);
        return -1;
    }
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        placement p = draw(a, &rng);
        if (p.dy == a->crop_pad && p.dx == a->crop_pad && !p.flip)
            continue;   /* drawn to stay as it is */
        for (int ch = 0; ch < c; ch++) {
            float *at = x + ((size_t)i * c + ch) * plane;
            memcpy(copy, at, plane * sizeof *copy);
            place_plane(&p, a->crop_pad, copy, fill[ch], at, h, w);
        }
    }
    free(fill);
    return 0;
}
