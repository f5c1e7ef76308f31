/* sigmoid.c - 1 / (1 + exp(-x)); backward needs only the output. */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>

#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves. */
#define GPI_SIGMOID_PAR_MIN ((ptrdiff_t)1 << 14)

static gp_status gpi_sigmoid_forward(gp_layer *l, int n, const float *x, float *y,
                                     gp_mode mode)
{
    (void)mode;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) if (count >= GPI_SIGMOID_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < count; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
    return GP_OK;
}

/* PyTorch's sigmoid_backward: dy * (1 - y) * y, in that order. */
static gp_status gpi_sigmoid_backward(gp_layer *l, int n, const float *x, const float *y,
                                      const float *dy, float *dx)
{
    (void)x;
    if (!dx)
        return GP_OK;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) if (count >= GPI_SIGMOID_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < count; i++)
        dx[i] = dy[i] * (1.0f - y[i]) * y[i];
    return GP_OK;
}

static gp_status gpi_sigmoid_reshape(gp_layer *l, gp_shape in)
{
    gpi_layer_set_shapes(l, in);
    /* negate, exp, add, divide: four elementwise operations */
    l->flops = 4.0 * (double)gp_shape_image_size(in);
    snprintf(l->desc, sizeof l->desc, "1 / (1 + exp(-x))");
    return GP_OK;
}

const gpi_layer_kind gpi_sigmoid_kind = {
    { "sigmoid", gpi_sigmoid_forward, gpi_sigmoid_backward, gpi_layer_destroy_plain,
      gpi_same_shape, gpi_sigmoid_reshape },
    0, NULL, NULL, NULL
};

gp_status gp_sigmoid_create(gp_layer **out, gp_shape in)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_SIGMOID });
}
