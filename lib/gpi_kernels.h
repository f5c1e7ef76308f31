/*
 * gpi_kernels.h - internal contract between the dispatcher (variants.c) and
 * the per-ISA kernel files (pool_scalar.c, pool_avx2.c, pool_avx512.c).
 *
 * Every ISA file defines the same eight single-threaded kernels. They work on
 * a slice of the tensor so that the OpenMP driver in variants.c can split
 * the work between threads without any ISA-specific threading code.
 *
 * NCHW kernels see `rows` contiguous planes of hw floats each: plane r is
 * x[r*hw .. r*hw+hw-1], its result y[r] / gradient dy[r].
 *
 * NHWC kernels see `n` images, each hw rows of `ldc` floats, and reduce the
 * first `c` channels of every row (c <= ldc; the driver passes x, y, dy, dx
 * already offset to the first channel of its slice):
 *     x[(b*hw + p)*ldc + j],  y[b*ldc + j],  0 <= j < c.
 *
 * Semantics every variant must match as documented in gpool.h:
 *   - avg forward: float lane sums of at most GPI_AVG_BLOCK sequential terms
 *     (plus a fixed tree: at most 12 float additions per element), flushed
 *     into double; result = the double sum / hw rounded once to float.
 *     Variants differ in summation order, so they agree within the bound,
 *     not bit for bit.
 *   - avg backward: dx = dy[r] / (float)hw, written to every element.
 *   - max forward: the first NaN if any element is NaN; else the maximum; a zero result
 *     carries the sign of the first zero in scan order.
 *   - max backward: dx = 0 except at the first NaN (if any) or else the first
 *     maximum in scan order, which receives dy.
 * Names are gpi_ so the library's export filter (^gp_) hides them.
 */
#ifndef GPI_KERNELS_H
#define GPI_KERNELS_H

#include <stddef.h>

#include "gpool.h"

typedef void (*gpi_nchw_fwd_fn)(const float *x, float *y, size_t rows, size_t hw);
typedef void (*gpi_nchw_bwd_fn)(const float *x, const float *dy, float *dx,
                                size_t rows, size_t hw);
typedef void (*gpi_nhwc_fwd_fn)(const float *x, float *y, size_t n, size_t c,
                                size_t hw, size_t ldc);
typedef void (*gpi_nhwc_bwd_fn)(const float *x, const float *dy, float *dx, size_t n,
                                size_t c, size_t hw, size_t ldc);

/* The eight kernels of one instruction set. */
typedef struct {
    gpi_nchw_fwd_fn nchw_avg_fwd, nchw_max_fwd;
    gpi_nchw_bwd_fn nchw_avg_bwd, nchw_max_bwd;
    gpi_nhwc_fwd_fn nhwc_avg_fwd, nhwc_max_fwd;
    gpi_nhwc_bwd_fn nhwc_avg_bwd, nhwc_max_bwd;
} gpi_kernel_set;

extern const gpi_kernel_set gpi_kernels_scalar;
#ifdef GPOOL_HAVE_AVX2_KERNELS
extern const gpi_kernel_set gpi_kernels_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
extern const gpi_kernel_set gpi_kernels_avx512;
#endif

/* The k-parameterised NCHW reductions (kpool_*.c): `rows` planes of h x w,
 * k as gp_pool_desc.k; forward writes one float per plane (topk) or k x k
 * (adaptive), backward overwrites the planes' dx. */
typedef void (*gpi_kpool_fwd_fn)(const float *x, float *y, size_t rows, size_t h, size_t w,
                                 size_t k);
typedef void (*gpi_kpool_bwd_fn)(const float *x, const float *dy, float *dx, size_t rows,
                                 size_t h, size_t w, size_t k);

/* One instruction set's forward kernels of GP_POOL_TOPK, GP_POOL_ADAPTIVE_AVG
 * and GP_POOL_ADAPTIVE_MAX, indexed by op - GP_POOL_TOPK. Backward is the one
 * portable kernel of each op (gpi_kpool_backward). */
typedef struct {
    gpi_kpool_fwd_fn fwd[3];
} gpi_kpool_set;

extern const gpi_kpool_set gpi_kpool_scalar;
#ifdef GPOOL_HAVE_AVX2_KERNELS
extern const gpi_kpool_set gpi_kpool_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
extern const gpi_kpool_set gpi_kpool_avx512;
#endif

/* The portable backward kernels, indexed as gpi_kpool_set.fwd. */
extern const gpi_kpool_bwd_fn gpi_kpool_backward[3];

/* Shared by the SIMD files: one plane's top-k mean by the portable
 * selection (any k), and one plane's adaptive max by the scalar rule (for
 * what the SIMD paths leave to it: NaN, a zero maximum). */
float gpi_topk_plane(const float *p, size_t hw, size_t k);
void  gpi_adaptive_max_plane(const float *p, float *y, size_t h, size_t w, size_t k);

/* Bin i of k over n rows (or columns): [floor(i n / k), ceil((i + 1) n / k)). */
static inline size_t gpi_bin_start(size_t i, size_t n, size_t k)
{
    return i * n / k;
}

static inline size_t gpi_bin_end(size_t i, size_t n, size_t k)
{
    return ((i + 1) * n + k - 1) / k;
}

/* Most sequential terms one float lane may accumulate before it is flushed
 * to double: with the fixed tree after it, at most 12 float additions per
 * element, an error bound of 12 x 2^-24 x sum|x| < 1e-6 x sum|x|. */
#define GPI_AVG_BLOCK 8

/* Channels per block of the SIMD NHWC max row kernels. Max keeps its running
 * maximum in y, not in an L1 buffer, so only L1 bounds the block (16 KiB of
 * y): each row is read in longer runs than in the avg kernels' 512-channel
 * blocks, up to 5 % faster (AVX-512) and 15 % (AVX2) at 1024-2048 channels. */
#define GPI_NHWC_MAX_CB 4096

/* The tuning in effect (pool_tuning.c); the kernels read it once per call. */
const gp_pool_tuning *gpi_pool_tuning(void);

#endif /* GPI_KERNELS_H */
