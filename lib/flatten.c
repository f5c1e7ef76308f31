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

static gp_status gpi_flatten_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    (void)l;
    size_t features = gp_shape_image_size(in);
    if (features > (size_t)0x7fffffff)
        return gpi_fail(GP_ERR_ARG, "flatten: %zu features do not fit an int", features);
    *out = (gp_shape){ in.n, (int)features, 1, 1 };
    return GP_OK;
}

static gp_status gpi_flatten_reshape(gp_layer *l, gp_shape in)
{
    gpi_layer_set_shapes(l, in);
    l->flops = 0.0;    /* a copy, no arithmetic */
    snprintf(l->desc, sizeof l->desc, "%dx%dx%d -> %d", in.c, in.h, in.w, l->out.c);
    return GP_OK;
}

const gpi_layer_kind gpi_flatten_kind = {
    { "flatten", gpi_flatten_forward, gpi_flatten_backward, gpi_layer_destroy_plain,
      gpi_flatten_out_shape, gpi_flatten_reshape },
    0, NULL, NULL, NULL
};

gp_status gp_flatten_create(gp_layer **out, gp_shape in)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_FLATTEN });
}
