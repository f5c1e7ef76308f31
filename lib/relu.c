/* relu.c - max(x, 0), the gradient passing only where the output is positive. */
#include "autoconfig.h"

#include <stdio.h>

#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves. */
#define GPI_RELU_PAR_MIN ((ptrdiff_t)1 << 16)

static gp_status gpi_relu_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
    /* written as a `<= 0` test so that NaN propagates, as in PyTorch's clamp_min */
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) if (count >= GPI_RELU_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < count; i++)
        y[i] = x[i] <= 0.0f ? 0.0f : x[i];
    return GP_OK;
}

/* PyTorch's threshold_backward on the output: y <= 0 blocks the gradient,
 * so x == 0 gets 0 and a NaN output lets it through. */
static gp_status gpi_relu_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    (void)x;
    if (!dx)
        return GP_OK;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) if (count >= GPI_RELU_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < count; i++) {
        float g = dy[i];    /* loaded unconditionally so the select vectorizes */
        dx[i] = y[i] <= 0.0f ? 0.0f : g;
    }
    return GP_OK;
}

static const gp_layer_ops gpi_relu_ops = {
    "relu", gpi_relu_forward, gpi_relu_backward, gpi_layer_destroy_plain
};

gp_status gp_relu_make(gp_layer **out, gp_shape in)
{
    gp_status st = gpi_layer_new(out, &gpi_relu_ops, in, in, 0);
    if (st)
        return st;
    (*out)->flops = (double)gp_shape_image_size(in);   /* one compare per element */
    snprintf((*out)->desc, sizeof (*out)->desc, "max(x, 0)");
    return GP_OK;
}
