/*
 * gpi_bn.h - internal contract between batchnorm2d.c and its per-ISA
 * kernels (bn_loops.h, compiled in ew_avx2.c and ew_avx512.c and reached
 * through their gpi_ew.h tables; not installed).
 *
 * Every kernel does a whole span, tails included, with the float operations
 * of the scalar kernels in batchnorm2d.c in the same order: a sum keeps the
 * scalar code's 16 partial sums lane for lane (lane l of vector v is
 * element v * lanes + l of a block of 16, the quad tail adds into lanes
 * 0-3), folds them with gpi_bn_fold, and no product is fused into the add
 * that follows it. So the batchnorm's results do not depend on the kernel,
 * and the fused conv epilogue and the batchnorm2d layer agree bit for bit.
 */
#ifndef GPI_BN_H
#define GPI_BN_H

#include <stddef.h>

/* A quad is four floats; a block of four quads is the unit of the sums. */
#define GPI_BN_Q 4
#define GPI_BN_BLOCK (4 * GPI_BN_Q)

/* Elements [j0, j0 + len) of `planes` consecutive images' planes of one
 * channel; stride is the distance in floats between two images' planes. */
typedef struct {
    size_t stride, len;
    int planes;
} gpi_bn_span;

/* The relu after a batchnorm, for its backward: its gradient mask (0 where
 * the relu's input v = (x - mean) alpha + beta is <= 0) recomputed from x
 * with the training forward's affine, so the relu's output is not read. */
typedef struct {
    float alpha, beta;
} gpi_bn_relu;

/* dx of a training forward: (g - grad_mean - (x - mean) k) scale. */
typedef struct {
    float mean, k, grad_mean, scale;
} gpi_bn_dx_consts;

/* One instruction set's batchnorm kernels (relu: NULL for none). */
typedef struct gpi_bn_kernels {
    const char *name;
    /* the sum of a span */
    float (*sum)(const float *p, gpi_bn_span s);
    /* sums of d = x - m and of d * d */
    void (*dev)(const float *p, gpi_bn_span s, float m, float *sd, float *sd2);
    /* sums of g and of (x - mean) g, g = dy masked by relu */
    void (*grad_sums)(const float *x, const float *dy, gpi_bn_span s, float mean,
                      const gpi_bn_relu *relu, float *sdy, float *sxdy);
    /* y = (x - mean) alpha + beta, then clamped by relu's rule when relu */
    void (*affine)(const float *x, float *y, size_t len, float mean, float alpha, float beta,
                   int relu);
    /* dx of a training forward from dy masked by relu (dx may be dy) */
    void (*dx_train)(const float *x, const float *dy, float *dx, size_t len,
                     const gpi_bn_dx_consts *k, const gpi_bn_relu *relu);
} gpi_bn_kernels;

/* The widest set the CPU offers and gp_set_cpu_mask / GPOOL_CPU_MASK
 * allow, or NULL for batchnorm2d.c's scalar kernels. */
const gpi_bn_kernels *gpi_bn_pick(void);

/* A product that the add after it must not absorb into an FMA (a file
 * compiled with FMA defines it as a rounding barrier before this header). */
#ifndef GPI_BN_MUL1
#define GPI_BN_MUL1(a, b) ((a) * (b))
#endif

/* The four quads of a block into one float, in a fixed order. */
static inline float gpi_bn_fold(float acc[4][GPI_BN_Q])
{
    for (int k = 0; k < GPI_BN_Q; k++)
        acc[0][k] = (acc[0][k] + acc[1][k]) + (acc[2][k] + acc[3][k]);
    return (acc[0][0] + acc[0][1]) + (acc[0][2] + acc[0][3]);
}

/* The elements of the elementwise kernels, shared by their tails. */
static inline float gpi_bn_affine1(float x, float mean, float alpha, float beta)
{
    return GPI_BN_MUL1(x - mean, alpha) + beta;
}

/* relu's rule: v <= 0 gives 0, so NaN passes. */
static inline float gpi_bn_clamp1(float v, int relu)
{
    return relu && v <= 0.0f ? 0.0f : v;
}

/* dy through the relu mask of x (relu NULL: dy). */
static inline float gpi_bn_g1(float x, float dy, float mean, const gpi_bn_relu *relu)
{
    return relu && gpi_bn_affine1(x, mean, relu->alpha, relu->beta) <= 0.0f ? 0.0f : dy;
}

static inline float gpi_bn_dx1(float x, float g, const gpi_bn_dx_consts *k)
{
    return (g - k->grad_mean - GPI_BN_MUL1(x - k->mean, k->k)) * k->scale;
}

#endif /* GPI_BN_H */
