/* flatten.c - c x h x w -> (c*h*w) x 1 x 1; NCHW memory is already in that order. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "gpi_layer.h"

static gp_status gpi_flatten_forward(gp_layer *l, int n, const float *x, float *y,
                                     gp_mode mode)
{
    (void)mode;
    if (y != x)
        memcpy(y, x, (size_t)n * gp_shape_image_size(l->in) * sizeof *y);
    return GP_OK;
}

static gp_status gpi_flatten_backward(gp_layer *l, int n, const float *x, const float *y,
                                      const float *dy, float *dx)
{
    (void)x; (void)y;
    if (dx && dx != dy)
        memcpy(dx, dy, (size_t)n * gp_shape_image_size(l->in) * sizeof *dx);
    return GP_OK;
}

static const gp_layer_ops gpi_flatten_ops = {
    "flatten", gpi_flatten_forward, gpi_flatten_backward, gpi_layer_destroy_plain
};

gp_status gp_flatten_make(gp_layer **out, gp_shape in)
{
    size_t features = gp_shape_image_size(in);
    if (in.c > 0 && in.h > 0 && in.w > 0 && features > (size_t)0x7fffffff) {
        if (out)
            *out = NULL;
        return gpi_fail(GP_ERR_ARG, "flatten: %zu features do not fit an int", features);
    }
    gp_shape o = { in.n, (int)features, 1, 1 };
    gp_status st = gpi_layer_new(out, &gpi_flatten_ops, in, o, 0);
    if (st)
        return st;
    (*out)->flops = 0.0;    /* a copy, no arithmetic */
    snprintf((*out)->desc, sizeof (*out)->desc, "%dx%dx%d -> %d", in.c, in.h, in.w, o.c);
    return GP_OK;
}
