/*
 * gpi_conv.h - internal contract between conv2d.c (layout, threading,
 * dispatch) and the direct convolution kernels of conv_avx2.c and
 * conv_avx512.c (not installed).
 *
 * The direct path covers "same" convolutions: stride 1, a square odd kernel
 * k and pad (k - 1) / 2, so that output and input maps are both H x W and
 * output position p = oy * W + ox reads input position p + s_t for tap
 * t = ky * k + kx, s_t = (ky - pad) * W + (kx - pad), whenever that pixel is
 * inside the map. With the map stored densely (NCHW itself, or several
 * images' maps of one channel back to back), the convolution is a matrix
 * product whose K = channels x taps "rows" are the input planes shifted by
 * s_t, and a per-tap lane mask zeroes the reads that fall outside the map
 * (padding, the neighbouring row, the neighbouring image). The kernels see
 * the rows only through tables of offsets and taps, and the masks through a
 * bit table; nothing is padded and no output position is wasted.
 *
 * Backward-data is the same product over dy with the kernel flipped (tap t
 * becomes k*k-1-t, s_t becomes -s_t) and the weights transposed;
 * backward-weights reduces dy x (shifted, masked input) over all positions.
 *
 * The kernels are single-threaded and deterministic: every sum runs in a
 * fixed order that depends only on the arguments.
 */
#ifndef GPI_CONV_H
#define GPI_CONV_H

#include <stddef.h>
#include <stdint.h>

/* One implicit input matrix: row r (0 <= r < K) at position q (0 <= q < nq)
 * is in[off[r] + q] where tap tap[r] is valid at q, and 0 where it is not.
 * Validity comes from a table of mld groups of 16 positions per tap: a bit
 * per position (uint16_t per group, bit q % 16), or for kernel sets with
 * lane_masks a 32-bit lane per position (all ones or zero), so that a mask
 * vector is one aligned load. Entries for q >= nq may be anything. For mm,
 * masks may be NULL: every row is then valid at every q (rows read from
 * zero-padded copies, so no mask is loaded and tap is not read); wgrad
 * needs them. */
typedef struct {
    const float *in;
    const int   *off;
    const int   *tap;
    const void  *masks;
    size_t       mld;
    int          K;
    size_t       nq;
} gpi_conv_src;

/* out[co * ld + q] = bias[co] + sum_r wpk[(co / cob) * K * cob + r * cob + co % cob] * row_r[q]
 * for co < cout, q < nq; bias may be NULL for zero. wpk holds whole blocks
 * of cob channels (zeros past cout). Writes nothing else. */
typedef void (*gpi_conv_mm_fn)(const gpi_conv_src *s, const float *wpk, const float *bias,
                               int cout, float *out, size_t ld);

/* For each image j < nimg, with rows read from s->in + j * in_stride and
 * dy_j = dy + j * dy_stride:
 *     dw[co * K + r] += sum_j sum_{q < nq} dy_j[co * ld + q] * row_r[q],   co < cout,
 * one rounded addition into each dw element per call. */
typedef void (*gpi_conv_wgrad_fn)(const gpi_conv_src *s, size_t in_stride, const float *dy,
                                  size_t ld, size_t dy_stride, int nimg, int cout, float *dw);

/* db[co] += sum over j < nimg, q < nq of dy[j * dy_stride + co * ld + q]. */
typedef void (*gpi_conv_dsum_fn)(const float *dy, size_t ld, size_t dy_stride, int nimg,
                                 size_t nq, int cout, float *db);

/* dst[i * ds + j] = src[i * ss + j] for i < rows, j < w; touches nothing else. */
typedef void (*gpi_conv_copy_fn)(const float *src, size_t ss, float *dst, size_t ds, int rows,
                                 int w);

/* dst[q] = src[q] where the mask row (one of a table's rows, format as in
 * gpi_conv_src) has position q set, 0 where it has not, for q < nq rounded
 * up to a whole vector (dst must have room); src is read only at set
 * positions. */
typedef void (*gpi_conv_mask_copy_fn)(const float *src, float *dst, const void *mask_row,
                                      size_t nq);

/* One instruction set's direct convolution kernels. */
typedef struct {
    const char        *name;       /* "avx2", "avx512" */
    int                cob;        /* output channels per packed weight block */
    /* 1: rows and dy are read only at unmasked positions q < nq, so the
     * kernels may run on the caller's tensors; 0: every row and dy row is
     * read at all positions q < nq rounded up to a multiple of 16 (the
     * values are masked after the load), so those must be readable. mm
     * writes only positions q < nq either way. */
    int                exact_reads;
    int                lane_masks;  /* mask table format, see gpi_conv_src */
    gpi_conv_mm_fn     mm;
    gpi_conv_wgrad_fn  wgrad;
    gpi_conv_dsum_fn   dsum;
    gpi_conv_copy_fn   copy;
    gpi_conv_mask_copy_fn mask_copy;
} gpi_conv_kernels;

#ifdef GPOOL_HAVE_AVX2_KERNELS
extern const gpi_conv_kernels gpi_conv_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
extern const gpi_conv_kernels gpi_conv_avx512;
#endif

#endif /* GPI_CONV_H */
