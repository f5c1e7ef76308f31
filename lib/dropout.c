/*
 * dropout.c - inverted dropout: in training each element is kept with
 * probability 1 - p and scaled by 1 / (1 - p) (PyTorch's x * noise, noise
 * = bernoulli(1 - p) / (1 - p)); in eval the identity.
 *
 * The mask does not depend on the thread count: each training forward takes
 * one draw from the layer's generator and seeds a stream per image from it,
 * so images can be masked in parallel.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves. */
#define GPI_DROPOUT_PAR_MIN ((size_t)1 << 15)

typedef struct {
    float p, scale;
    uint64_t keep_below;    /* keep when the top 32 bits of a draw are below this */
    gp_rng rng;
    int masked;             /* the last forward applied mask (train with p > 0) */
    uint8_t *mask;          /* 1 = kept, per element at the maximum batch */
} gpi_dropout;

/* Image-sized mask from its own stream: each 64-bit draw decides two
 * elements, one per 32-bit half. */
static void gpi_dropout_mask(uint64_t seed, uint64_t keep_below, size_t size, uint8_t *mask)
{
    gp_rng r;
    gp_rng_seed(&r, seed);
    for (size_t j = 0; j < size; j += 2) {
        uint64_t bits = gp_rng_next(&r);
        mask[j] = (bits >> 32) < keep_below;
        if (j + 1 < size)
            mask[j + 1] = (bits & 0xffffffffu) < keep_below;
    }
}

static void gpi_dropout_image(const gpi_dropout *d, uint64_t seed, size_t size,
                              const float *x, float *y, uint8_t *mask)
{
    float scale = d->scale;
    gpi_dropout_mask(seed, d->keep_below, size, mask);
    /* a multiply by 0 rather than a store of 0, so NaN and inf propagate as in PyTorch */
#ifdef _OPENMP
#pragma omp simd
#endif
    for (size_t j = 0; j < size; j++)
        y[j] = x[j] * ((float)mask[j] * scale);
}

static gp_status gpi_dropout_forward(gp_layer *l, int n, const float *x, float *y,
                                     gp_mode mode)
{
    gpi_dropout *d = l->priv;
    size_t size = gp_shape_image_size(l->in);
    d->masked = mode == GP_TRAIN && d->p > 0.0f;
    if (!d->masked) {
        if (y != x)
            memcpy(y, x, (size_t)n * size * sizeof *y);
        return GP_OK;
    }
    uint64_t base = gp_rng_next(&d->rng);
    int parallel = (size_t)n * size >= GPI_DROPOUT_PAR_MIN;
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (int i = 0; i < n; i++)
        gpi_dropout_image(d, base + (uint64_t)i, size, x + (size_t)i * size,
                          y + (size_t)i * size, d->mask + (size_t)i * size);
    return GP_OK;
}

static gp_status gpi_dropout_backward(gp_layer *l, int n, const float *x, const float *y,
                                      const float *dy, float *dx)
{
    (void)x; (void)y;
    const gpi_dropout *d = l->priv;
    if (!dx)
        return GP_OK;
    size_t count = (size_t)n * gp_shape_image_size(l->in);
    if (!d->masked) {
        if (dx != dy)
            memcpy(dx, dy, count * sizeof *dx);
        return GP_OK;
    }
    ptrdiff_t total = (ptrdiff_t)count;
    const uint8_t *mask = d->mask;
    float scale = d->scale;
    int parallel = count >= GPI_DROPOUT_PAR_MIN;
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) if (parallel)
#endif
    for (ptrdiff_t j = 0; j < total; j++)
        dx[j] = dy[j] * ((float)mask[j] * scale);   /* mask 0 or 1: 0 or scale */
    return GP_OK;
}

static void gpi_dropout_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_free(((gpi_dropout *)l->priv)->mask);
    gpi_layer_free(l);
}

static gp_status gpi_dropout_check(const gp_layer_spec *spec)
{
    float p = spec->u.dropout.p;
    if (!(p >= 0.0f && p < 1.0f))
        return gpi_fail(GP_ERR_ARG, "dropout: p = %g is outside [0, 1)", (double)p);
    return GP_OK;
}

static gp_status gpi_dropout_init(gp_layer *l)
{
    gpi_dropout *d = l->priv;
    d->p = l->spec.u.dropout.p;
    /* PyTorch's noise.div_(1 - p): 1 - p in double (p as the decimal meant), the
     * division in float */
    double keep = 1.0 - gpi_float_decimal(d->p);
    d->scale = 1.0f / (float)keep;
    d->keep_below = (uint64_t)(keep * 4294967296.0);
    gp_rng_seed(&d->rng, l->spec.u.dropout.seed);
    return GP_OK;
}

/* A mask for the new maximum batch; the stream goes on where it was. */
static gp_status gpi_dropout_reshape(gp_layer *l, gp_shape in)
{
    gpi_dropout *d = l->priv;
    size_t count = (size_t)in.n * gp_shape_image_size(in);
    uint8_t *mask = gpi_balloc(count);
    if (!mask)
        return gpi_fail(GP_ERR_NOMEM, "dropout: out of memory for a %zu-element mask", count);
    gpi_free(d->mask);
    d->mask = mask;
    d->masked = 0;
    gpi_layer_set_shapes(l, in);
    l->workspace_bytes = count;                         /* one mask byte per element */
    l->flops = (double)gp_shape_image_size(in);         /* one multiply per element */
    snprintf(l->desc, sizeof l->desc, "p %g", (double)d->p);
    return GP_OK;
}

static int gpi_dropout_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    char p[32];
    gpi_format_float(p, sizeof p, spec->u.dropout.p);
    return snprintf(buf, len, "p=%s seed=%llu", p, (unsigned long long)spec->u.dropout.seed);
}

const gpi_layer_kind gpi_dropout_kind = {
    { "dropout", gpi_dropout_forward, gpi_dropout_backward, gpi_dropout_destroy, gpi_same_shape,
      gpi_dropout_reshape },
    sizeof(gpi_dropout), gpi_dropout_check, gpi_dropout_init, gpi_dropout_format
};

gp_status gp_dropout_create(gp_layer **out, gp_shape in, float p, uint64_t seed)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_DROPOUT,
                                                      .u.dropout = { p, seed } });
}
