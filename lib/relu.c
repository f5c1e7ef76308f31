/* relu.c - max(x, 0), the gradient passing only where the output is positive.
 * The widest vector kernels the CPU has (gpi_ew.h) take each range's whole
 * vectors; the quads below the rest (or everything, without them). */
#include "autoconfig.h"

#include <stdio.h>

#include "gpi_ew.h"
#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves (a
 * few microseconds against about 0.25 ns per float). */
#define GPI_RELU_PAR_MIN ((ptrdiff_t)1 << 15)

/* Floats per parallel work item: whole items per thread under a static
 * schedule, so each thread streams one contiguous range. */
#define GPI_RELU_CHUNK ((ptrdiff_t)4096)

/* One SSE2 register of floats: a fixed 4-iteration loop that GCC -O2 turns
 * into vector compares and masks without a scalar epilogue. */
#define GPI_RELU_Q 4

/* Written as a `<= 0` test so that NaN propagates, as in PyTorch's clamp_min. */
static inline void gpi_relu_q_forward(float *restrict y, const float *restrict x)
{
    for (int k = 0; k < GPI_RELU_Q; k++)
        y[k] = x[k] <= 0.0f ? 0.0f : x[k];
}

/* PyTorch's threshold_backward on the output: y <= 0 blocks the gradient,
 * so x == 0 gets 0 and a NaN output lets it through. */
static inline void gpi_relu_q_backward(float *restrict dx, const float *restrict y,
                                       const float *restrict dy)
{
    for (int k = 0; k < GPI_RELU_Q; k++) {
        float g = dy[k];    /* loaded unconditionally so that the select vectorizes */
        dx[k] = y[k] <= 0.0f ? 0.0f : g;
    }
}

static void gpi_relu_forward_range(const float *restrict x, float *restrict y, ptrdiff_t count)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    ptrdiff_t i = k ? (ptrdiff_t)k->relu_fwd(x, y, (size_t)count) : 0;
    for (; i + GPI_RELU_Q <= count; i += GPI_RELU_Q)
        gpi_relu_q_forward(y + i, x + i);
    for (; i < count; i++)
        y[i] = x[i] <= 0.0f ? 0.0f : x[i];
}

static inline void gpi_relu_q_inplace(float *v)
{
    for (int k = 0; k < GPI_RELU_Q; k++)
        v[k] = v[k] <= 0.0f ? 0.0f : v[k];
}

void gpi_relu_inplace(float *v, size_t count)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    size_t i = k ? k->relu_fwd(v, v, count) : 0;
    for (; i + GPI_RELU_Q <= count; i += GPI_RELU_Q)
        gpi_relu_q_inplace(v + i);
    for (; i < count; i++)
        v[i] = v[i] <= 0.0f ? 0.0f : v[i];
}

static void gpi_relu_backward_range(const float *restrict y, const float *restrict dy,
                                    float *restrict dx, ptrdiff_t count)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    ptrdiff_t i = k ? (ptrdiff_t)k->relu_bwd(y, dy, dx, (size_t)count) : 0;
    for (; i + GPI_RELU_Q <= count; i += GPI_RELU_Q)
        gpi_relu_q_backward(dx + i, y + i, dy + i);
    for (; i < count; i++)
        dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

/* gpi_relu_q_backward read whole before written, so that dx may be dy. */
static inline void gpi_relu_q_backward_alias(float *dx, const float *y, const float *dy)
{
    float g[GPI_RELU_Q];
    for (int k = 0; k < GPI_RELU_Q; k++)
        g[k] = y[k] <= 0.0f ? 0.0f : dy[k];
    for (int k = 0; k < GPI_RELU_Q; k++)
        dx[k] = g[k];
}

void gpi_relu_backward_span(const float *y, const float *dy, float *dx, size_t count)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    size_t i = k ? k->relu_bwd(y, dy, dx, count) : 0;
    for (; i + GPI_RELU_Q <= count; i += GPI_RELU_Q)
        gpi_relu_q_backward_alias(dx + i, y + i, dy + i);
    for (; i < count; i++)
        dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

static gp_status gpi_relu_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
    ptrdiff_t chunks = (count + GPI_RELU_CHUNK - 1) / GPI_RELU_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (count >= GPI_RELU_PAR_MIN)
#endif
    for (ptrdiff_t q = 0; q < chunks; q++) {
        ptrdiff_t at = q * GPI_RELU_CHUNK, len = count - at;
        gpi_relu_forward_range(x + at, y + at, len < GPI_RELU_CHUNK ? len : GPI_RELU_CHUNK);
    }
    return GP_OK;
}

static gp_status gpi_relu_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    (void)x;
    if (!dx)
        return GP_OK;
    ptrdiff_t count = (ptrdiff_t)n * (ptrdiff_t)gp_shape_image_size(l->in);
    ptrdiff_t chunks = (count + GPI_RELU_CHUNK - 1) / GPI_RELU_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (count >= GPI_RELU_PAR_MIN)
#endif
    for (ptrdiff_t q = 0; q < chunks; q++) {
        ptrdiff_t at = q * GPI_RELU_CHUNK, len = count - at;
        gpi_relu_backward_range(y + at, dy + at, dx + at,
                                len < GPI_RELU_CHUNK ? len : GPI_RELU_CHUNK);
    }
    return GP_OK;
}

static gp_status gpi_relu_reshape(gp_layer *l, gp_shape in)
{
    gpi_layer_set_shapes(l, in);
    l->flops = (double)gp_shape_image_size(in);   /* one compare per element */
    snprintf(l->desc, sizeof l->desc, "max(x, 0)");
    return GP_OK;
}

const gpi_layer_kind gpi_relu_kind = {
    { "relu", gpi_relu_forward, gpi_relu_backward, gpi_layer_destroy_plain, gpi_same_shape,
      gpi_relu_reshape },
    0, NULL, NULL, NULL
};

gp_status gp_relu_create(gp_layer **out, gp_shape in)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_RELU });
}
