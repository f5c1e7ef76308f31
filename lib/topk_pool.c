/*
 * topk_pool.c - top-k pooling (kind "topk_pool"): each H x W plane to the
 * mean of its k largest values, by the dispatched GP_POOL_TOPK kernels of
 * gpool.h, forward and backward. k is given, or follows the plane size as
 * a fraction of it, so that a reshaped layer keeps the fraction.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>

#include "gpi_layer.h"

/* The k of a plane of hw elements: k itself (at most hw), or ceil(f hw)
 * with f the decimal the float stands for, clamped to 1..hw (as Python's
 * math.ceil(f * hw) with the same f). */
static size_t gpi_topk_k(const gp_layer_spec *spec, size_t hw)
{
    if (spec->u.topk_pool.k > 0)
        return (size_t)spec->u.topk_pool.k < hw ? (size_t)spec->u.topk_pool.k : hw;
    double k = ceil(gpi_float_decimal(spec->u.topk_pool.fraction) * (double)hw);
    return k < 1 ? 1 : k > (double)hw ? hw : (size_t)k;
}

static gp_pool_desc gpi_topk_desc(const gp_layer *l, int n)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    gp_pool_desc d = { .n = (size_t)n, .c = (size_t)l->in.c, .h = (size_t)l->in.h,
                       .w = (size_t)l->in.w, .layout = GP_LAYOUT_NCHW, .op = GP_POOL_TOPK,
                       .k = gpi_topk_k(&l->spec, hw) };
    return d;
}

static gp_status gpi_topk_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    gp_pool_desc d = gpi_topk_desc(l, n);
    return gp_global_pool_forward(&d, NULL, x, y);
}

static gp_status gpi_topk_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    (void)y;
    if (!dx)
        return GP_OK;
    gp_pool_desc d = gpi_topk_desc(l, n);
    return gp_global_pool_backward(&d, NULL, x, dy, dx);
}

static gp_status gpi_topk_check(const gp_layer_spec *spec)
{
    int k = spec->u.topk_pool.k;
    float f = spec->u.topk_pool.fraction;
    if (k < 0)
        return gpi_fail(GP_ERR_ARG, "topk_pool: k %d must be positive (or 0 to use the "
                        "fraction)", k);
    if (k == 0 && !(f > 0.0f && f <= 1.0f))
        return gpi_fail(GP_ERR_ARG, "topk_pool: with k = 0 the fraction %g must be in (0, 1]",
                        (double)f);
    return GP_OK;
}

static gp_status gpi_topk_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    (void)l;
    *out = (gp_shape){ .n = in.n, .c = in.c, .h = 1, .w = 1 };
    return GP_OK;
}

static gp_status gpi_topk_reshape(gp_layer *l, gp_shape in)
{
    size_t hw = (size_t)in.h * (size_t)in.w, k = gpi_topk_k(&l->spec, hw);
    gpi_layer_set_shapes(l, in);
    /* a compare per element, then k adds and a divide per channel */
    l->flops = (double)in.c * ((double)hw + (double)k + 1);
    if (l->spec.u.topk_pool.k > 0) {
        snprintf(l->desc, sizeof l->desc, "k=%zu", k);
    } else {
        char f[32];
        gpi_format_float(f, sizeof f, l->spec.u.topk_pool.fraction);
        snprintf(l->desc, sizeof l->desc, "fraction=%s (k=%zu)", f, k);
    }
    return GP_OK;
}

static int gpi_topk_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    char f[32];
    gpi_format_float(f, sizeof f, spec->u.topk_pool.fraction);
    return snprintf(buf, len, "k=%d fraction=%s", spec->u.topk_pool.k, f);
}

const gpi_layer_kind gpi_topk_pool_kind = {
    { "topk_pool", gpi_topk_forward, gpi_topk_backward, gpi_layer_destroy_plain,
      gpi_topk_out_shape, gpi_topk_reshape },
    0, gpi_topk_check, NULL, gpi_topk_format
};

gp_status gp_topk_pool_create(gp_layer **out, gp_shape in, int k, float fraction)
{
    gp_layer_spec spec = { .kind = GP_LAYER_TOPK_POOL, .u.topk_pool = { k, fraction } };
    return gp_layer_create(out, in, &spec);
}
