/*
 * gpi_ew.h - internal contract between the elementwise layers and
 * optimizers (relu.c, optim.c) and their per-ISA kernels (ew_avx2.c,
 * ew_avx512.c, one loop structure in ew_loops.h; not installed).
 *
 * Every kernel is single-threaded (the callers split the work) and handles
 * a whole number of vectors: it returns how many leading elements it did,
 * and the caller does the rest with its own scalar code. Each element is
 * computed with the float operations of that scalar code in the same order
 * (fma where it calls fmaf, an IEEE square root and division), so a result
 * does not depend on the kernel, the vector width or where a thread's
 * range starts.
 */
#ifndef GPI_EW_H
#define GPI_EW_H

#include <stddef.h>

/* Adam and AdamW's per-step constants (optim.c says how each is rounded). */
typedef struct {
    float wd, b1, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, neg_step, decay;
    int   use_wd, decoupled;
} gpi_adam_consts;

/* SGD's per-step constants. */
typedef struct {
    float wd, mu, one_minus_damp, neg_lr;
    int   use_wd, use_momentum, first, nesterov;
} gpi_sgd_consts;

/* One instruction set's elementwise kernels; each returns the elements done. */
typedef struct {
    const char *name;
    /* y = x <= 0 ? 0 : x (so NaN passes) */
    size_t (*relu_fwd)(const float *x, float *y, size_t n);
    /* dx = y <= 0 ? 0 : dy (dx may be dy) */
    size_t (*relu_bwd)(const float *y, const float *dy, float *dx, size_t n);
    /* one Adam/AdamW step of p with gradient g and moments m, v */
    size_t (*adam)(const gpi_adam_consts *c, float *p, const float *g, float *m, float *v,
                   size_t n);
    /* one SGD step of p with gradient g and momentum buffer buf (NULL without) */
    size_t (*sgd)(const gpi_sgd_consts *c, float *p, const float *g, float *buf, size_t n);
    /* batchnorm2d's kernels of the same set (gpi_bn.h) */
    const struct gpi_bn_kernels *bn;
} gpi_ew_kernels;

#ifdef GPOOL_HAVE_AVX2_KERNELS
extern const gpi_ew_kernels gpi_ew_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
extern const gpi_ew_kernels gpi_ew_avx512;
#endif

/* The widest set the CPU offers and gp_set_cpu_mask / GPOOL_CPU_MASK
 * allow, or NULL for the scalar code alone (relu.c). */
const gpi_ew_kernels *gpi_ew_pick(void);

#endif /* GPI_EW_H */
