/*
 * adaptive_pool.c - adaptive average and max pooling to a size x size grid
 * of bins (kinds "adaptive_avgpool2d", "adaptive_maxpool2d"), and spatial
 * pyramid pooling made of them (kind "spp"), all by the dispatched
 * GP_POOL_ADAPTIVE_* kernels of gpool.h. Max backward finds each bin's
 * maximum again from x, so nothing is saved in forward.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "gpi_layer.h"

static gp_pool_op gpi_adaptive_op(gp_pool_op op)
{
    return op == GP_POOL_MAX ? GP_POOL_ADAPTIVE_MAX : GP_POOL_ADAPTIVE_AVG;
}

/* n images of l's input pooled to size x size by op (GP_POOL_AVG or MAX). */
static gp_pool_desc gpi_adaptive_desc(const gp_layer *l, int n, gp_pool_op op, int size)
{
    gp_pool_desc d = { .n = (size_t)n, .c = (size_t)l->in.c, .h = (size_t)l->in.h,
                       .w = (size_t)l->in.w, .layout = GP_LAYOUT_NCHW,
                       .op = gpi_adaptive_op(op), .k = (size_t)size };
    return d;
}

/* A compare or an add per element of every bin (bins overlap by at most
 * one row and column), and a divide per avg output. */
static double gpi_adaptive_flops(gp_shape in, int size, gp_pool_op op)
{
    double rows = (double)in.h + (in.h % size ? size : 0);
    double cols = (double)in.w + (in.w % size ? size : 0);
    return (double)in.c * (rows * cols + (op == GP_POOL_AVG ? (double)size * size : 0));
}

/* ------------------------------------------------------ adaptive pools */

static gp_pool_op gpi_adaptive_kind_op(const gp_layer_spec *spec)
{
    return spec->kind == GP_LAYER_ADAPTIVE_MAXPOOL2D ? GP_POOL_MAX : GP_POOL_AVG;
}

static gp_status gpi_adaptive_forward(gp_layer *l, int n, const float *x, float *y,
                                      gp_mode mode)
{
    (void)mode;
    gp_pool_desc d = gpi_adaptive_desc(l, n, gpi_adaptive_kind_op(&l->spec),
                                       l->spec.u.adaptive_pool2d.size);
    return gp_global_pool_forward(&d, NULL, x, y);
}

static gp_status gpi_adaptive_backward(gp_layer *l, int n, const float *x, const float *y,
                                       const float *dy, float *dx)
{
    (void)y;
    if (!dx)
        return GP_OK;
    gp_pool_desc d = gpi_adaptive_desc(l, n, gpi_adaptive_kind_op(&l->spec),
                                       l->spec.u.adaptive_pool2d.size);
    return gp_global_pool_backward(&d, NULL, x, dy, dx);
}

static gp_status gpi_adaptive_check(const gp_layer_spec *spec)
{
    int size = spec->u.adaptive_pool2d.size;
    if (size < 1 || size > 65536)
        return gpi_fail(GP_ERR_ARG, "%s: size %d outside 1..65536",
                        gp_layer_kind_name(spec->kind), size);
    return GP_OK;
}

static gp_status gpi_adaptive_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    int size = l->spec.u.adaptive_pool2d.size;
    *out = (gp_shape){ .n = in.n, .c = in.c, .h = size, .w = size };
    return GP_OK;
}

static gp_status gpi_adaptive_reshape(gp_layer *l, gp_shape in)
{
    int size = l->spec.u.adaptive_pool2d.size;
    gpi_layer_set_shapes(l, in);
    l->flops = gpi_adaptive_flops(in, size, gpi_adaptive_kind_op(&l->spec));
    snprintf(l->desc, sizeof l->desc, "%dx%d -> %dx%d", in.h, in.w, size, size);
    return GP_OK;
}

static int gpi_adaptive_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "size=%d", spec->u.adaptive_pool2d.size);
}

const gpi_layer_kind gpi_adaptive_avgpool2d_kind = {
    { "adaptive_avgpool2d", gpi_adaptive_forward, gpi_adaptive_backward,
      gpi_layer_destroy_plain, gpi_adaptive_out_shape, gpi_adaptive_reshape },
    0, gpi_adaptive_check, NULL, gpi_adaptive_format
};

const gpi_layer_kind gpi_adaptive_maxpool2d_kind = {
    { "adaptive_maxpool2d", gpi_adaptive_forward, gpi_adaptive_backward,
      gpi_layer_destroy_plain, gpi_adaptive_out_shape, gpi_adaptive_reshape },
    0, gpi_adaptive_check, NULL, gpi_adaptive_format
};

gp_status gp_adaptive_pool2d_create(gp_layer **out, gp_shape in, gp_pool_op op, int size)
{
    if (op != GP_POOL_AVG && op != GP_POOL_MAX) {
        if (out)
            *out = NULL;
        return gpi_fail(GP_ERR_ARG, "adaptive_pool2d: op %d is neither avg nor max", (int)op);
    }
    gp_layer_spec spec = { .kind = op == GP_POOL_MAX ? GP_LAYER_ADAPTIVE_MAXPOOL2D
                                                     : GP_LAYER_ADAPTIVE_AVGPOOL2D,
                           .u.adaptive_pool2d = { size } };
    return gp_layer_create(out, in, &spec);
}

/* ------------------------------------------------------------ spp */

/* Scratch at the maximum batch: one level's output (or its dy) and, for
 * backward, one level's dx. */
typedef struct {
    float *level_y;
    float *level_dx;
} gpi_spp;

/* Features per channel: the sum of the levels' l^2. */
static int gpi_spp_bins(const gp_layer_spec *spec)
{
    int bins = 0;
    for (int i = 0; i < spec->u.spp.nlevels; i++)
        bins += spec->u.spp.levels[i] * spec->u.spp.levels[i];
    return bins;
}

static gp_status gpi_spp_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    const gpi_spp *s = l->priv;
    size_t c = (size_t)l->in.c, features = (size_t)l->out.c, offset = 0;
    for (int i = 0; i < l->spec.u.spp.nlevels; i++) {
        int size = l->spec.u.spp.levels[i];
        size_t part = c * (size_t)size * (size_t)size;
        gp_pool_desc d = gpi_adaptive_desc(l, n, l->spec.u.spp.op, size);
        gp_status st = gp_global_pool_forward(&d, NULL, x, s->level_y);
        if (st != GP_OK)
            return st;
        for (size_t b = 0; b < (size_t)n; b++)
            memcpy(y + b * features + offset, s->level_y + b * part, part * sizeof *y);
        offset += part;
    }
    return GP_OK;
}

/* dx = the sum over the levels of each level's backward. */
static gp_status gpi_spp_backward(gp_layer *l, int n, const float *x, const float *y,
                                  const float *dy, float *dx)
{
    (void)y;
    if (!dx)
        return GP_OK;
    const gpi_spp *s = l->priv;
    size_t c = (size_t)l->in.c, features = (size_t)l->out.c, offset = 0;
    size_t count = (size_t)n * c * (size_t)l->in.h * (size_t)l->in.w;
    for (int i = 0; i < l->spec.u.spp.nlevels; i++) {
        int size = l->spec.u.spp.levels[i];
        size_t part = c * (size_t)size * (size_t)size;
        for (size_t b = 0; b < (size_t)n; b++)
            memcpy(s->level_y + b * part, dy + b * features + offset, part * sizeof *dy);
        offset += part;
        gp_pool_desc d = gpi_adaptive_desc(l, n, l->spec.u.spp.op, size);
        gp_status st = gp_global_pool_backward(&d, NULL, x, s->level_y, i ? s->level_dx : dx);
        if (st != GP_OK)
            return st;
        for (size_t e = 0; i && e < count; e++)
            dx[e] += s->level_dx[e];
    }
    return GP_OK;
}

static void gpi_spp_destroy(gp_layer *l)
{
    if (l && l->priv) {
        gpi_spp *s = l->priv;
        gpi_free(s->level_y);
        gpi_free(s->level_dx);
    }
    gpi_layer_free(l);
}

static gp_status gpi_spp_check(const gp_layer_spec *spec)
{
    int nl = spec->u.spp.nlevels;
    if (nl < 1 || nl > GP_SPP_MAX_LEVELS)
        return gpi_fail(GP_ERR_ARG, "spp: %d levels, not 1..%d", nl, GP_SPP_MAX_LEVELS);
    if (spec->u.spp.op != GP_POOL_AVG && spec->u.spp.op != GP_POOL_MAX)
        return gpi_fail(GP_ERR_ARG, "spp: op %d is neither avg nor max", (int)spec->u.spp.op);
    for (int i = 0; i < nl; i++) {
        int level = spec->u.spp.levels[i];
        if (level < 1 || level > 64)
            return gpi_fail(GP_ERR_ARG, "spp: level %d is %d, not 1..64", i, level);
        for (int j = 0; j < i; j++)
            if (spec->u.spp.levels[j] == level)
                return gpi_fail(GP_ERR_ARG, "spp: level %d repeats level %d (%d)", i, j, level);
    }
    return GP_OK;
}

static gp_status gpi_spp_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    *out = (gp_shape){ .n = in.n, .c = in.c * gpi_spp_bins(&l->spec), .h = 1, .w = 1 };
    return GP_OK;
}

static void gpi_spp_desc(gp_layer *l)
{
    int at = snprintf(l->desc, sizeof l->desc, "%s", gp_pool_op_name(l->spec.u.spp.op));
    for (int i = 0; i < l->spec.u.spp.nlevels && at > 0 && (size_t)at < sizeof l->desc; i++)
        at += snprintf(l->desc + at, sizeof l->desc - (size_t)at, "%s%d", i ? "," : " ",
                       l->spec.u.spp.levels[i]);
}

static gp_status gpi_spp_reshape(gp_layer *l, gp_shape in)
{
    gpi_spp *s = l->priv;
    int largest = 0;
    double flops = 0;
    for (int i = 0; i < l->spec.u.spp.nlevels; i++) {
        int size = l->spec.u.spp.levels[i];
        largest = size > largest ? size : largest;
        flops += gpi_adaptive_flops(in, size, l->spec.u.spp.op);
    }
    size_t planes = (size_t)in.n * (size_t)in.c, hw = (size_t)in.h * (size_t)in.w;
    size_t ycount = planes * (size_t)largest * (size_t)largest;
    float *level_y = gpi_falloc(ycount), *level_dx = gpi_falloc(planes * hw);
    if (!level_y || !level_dx) {
        gpi_free(level_y);
        gpi_free(level_dx);
        return gpi_fail(GP_ERR_NOMEM, "spp: out of memory");
    }
    gpi_free(s->level_y);
    gpi_free(s->level_dx);
    s->level_y = level_y;
    s->level_dx = level_dx;
    l->workspace_bytes = (ycount + planes * hw) * sizeof(float);
    gpi_layer_set_shapes(l, in);
    l->flops = flops;
    gpi_spp_desc(l);
    return GP_OK;
}

static int gpi_spp_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    char levels[GP_SPP_MAX_LEVELS * 4] = "";
    size_t at = 0;
    for (int i = 0; i < spec->u.spp.nlevels && at < sizeof levels; i++)
        at += (size_t)snprintf(levels + at, sizeof levels - at, "%s%d", i ? "," : "",
                               spec->u.spp.levels[i]);
    return snprintf(buf, len, "levels=%s op=%s", levels, gp_pool_op_name(spec->u.spp.op));
}

const gpi_layer_kind gpi_spp_kind = {
    { "spp", gpi_spp_forward, gpi_spp_backward, gpi_spp_destroy, gpi_spp_out_shape,
      gpi_spp_reshape },
    sizeof(gpi_spp), gpi_spp_check, NULL, gpi_spp_format
};

gp_status gp_spp_create(gp_layer **out, gp_shape in, const int *levels, int nlevels,
                        gp_pool_op op)
{
    gp_layer_spec spec = { .kind = GP_LAYER_SPP, .u.spp = { .nlevels = nlevels, .op = op } };
    if (!levels || nlevels < 1 || nlevels > GP_SPP_MAX_LEVELS) {
        if (out)
            *out = NULL;
        return gpi_fail(GP_ERR_ARG, "spp: %d levels (%s), not 1..%d", nlevels,
                        levels ? "given" : "NULL", GP_SPP_MAX_LEVELS);
    }
    memcpy(spec.u.spp.levels, levels, (size_t)nlevels * sizeof *levels);
    return gp_layer_create(out, in, &spec);
}
