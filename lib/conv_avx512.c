/*
 * conv_avx512.c - AVX-512F direct convolution kernels (contract and data
 * layout: gpi_conv.h). Only AVX-512F intrinsics are used.
 *
 * Every input row is read with a zero-masking load whose mask is the tap's
 * mask (and the tail mask on the last vector), so nothing outside the valid
 * pixels is touched (exact_reads = 1) and the kernels run on NCHW tensors
 * in place.
 *
 * mm: a register tile of 8 output channels x 3 vectors of 16 positions
 * (24 accumulators). Per row r: three masked loads of the shifted input,
 * eight weight broadcasts, 24 FMAs. Weights come packed as
 * [channel block][r][8] so the broadcasts read consecutive floats.
 *
 * wgrad: a tile of up to 8 output channels x 3 rows (24 accumulators) runs
 * over all positions of all images of the call; each lane sums every 16th
 * position in order, and the 16 lanes are reduced by one fixed tree, so the
 * result depends only on the data.
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "gpi_conv.h"

#define INLINE static inline __attribute__((always_inline))

/* Pins a loaded vector to a register: otherwise GCC folds the load into
 * every FMA that uses it, and the wgrad tile issues three loads per dy
 * vector instead of one (measured 1.5x slower). */
#define IN_REG(v) __asm__("" : "+v"(v))

#define V 16        /* floats per vector */
#define COB 8       /* output channels per mm tile (the weight packing block) */
#define NV 3        /* vectors of positions per mm tile */
#define WCB 8       /* output channels per wgrad tile (4 x 6 and 6 x 4 measured slower) */
#define WRB 3       /* rows per wgrad tile */

#define ALL ((__mmask16)0xFFFF)

INLINE __mmask16 first_lanes(size_t n) /* lanes [0, n), n <= 16 */
{
    return (__mmask16)((1u << n) - 1u);
}

/* One mm tile: COB channels (the first nc stored) x nv vectors from q0;
 * last masks the final vector; masked 0 skips the tap masks (rows from
 * zero-padded copies). nv, masked and, for whole tiles, last are constants
 * after inlining, so the unrolled loops keep the tile in registers. */
INLINE void mm_tile(const gpi_conv_src *s, const float *w, const float *bias, int nc,
                    float *out, size_t ld, size_t q0, int nv, __mmask16 last, int masked)
{
    __m512 acc[COB][NV];
#pragma GCC unroll 8
    for (int c = 0; c < COB; c++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[c][v] = bias ? _mm512_set1_ps(bias[c]) : _mm512_setzero_ps();
    const float *base = s->in + q0;
    const uint16_t *mbase = masked ? (const uint16_t *)s->masks + q0 / V : NULL;
    for (int r = 0; r < s->K; r++) {
        const float *p = base + s->off[r];
        const uint16_t *m = masked ? mbase + (size_t)s->tap[r] * s->mld : NULL;
        const float *wr = w + (size_t)r * COB;
        __m512 xv[NV];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            if (v < nv) {
                __mmask16 k = masked ? (__mmask16)m[v] : ALL;
                if (v == nv - 1)
                    k &= last;
                xv[v] = _mm512_maskz_loadu_ps(k, p + v * V);
            }
#pragma GCC unroll 8
        for (int c = 0; c < COB; c++) {
            __m512 wv = _mm512_set1_ps(wr[c]);
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                if (v < nv)
                    acc[c][v] = _mm512_fmadd_ps(wv, xv[v], acc[c][v]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < COB; c++)
        if (c < nc)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                if (v < nv)
                    _mm512_mask_storeu_ps(out + (size_t)c * ld + q0 + (size_t)v * V,
                                          v == nv - 1 ? last : ALL, acc[c][v]);
}

/* One position vector of a wgrad tile: rows xp[] (masks mp[]) against the
 * dy rows d + c * ld, lanes limited to last. */
INLINE void wg_step(__m512 acc[WCB][WRB], const float *const *xp, const uint16_t *const *mp,
                    const float *d, size_t ld, size_t q, int cb, int rb, __mmask16 last)
{
    __m512 xv[WRB];
#pragma GCC unroll 3
    for (int j = 0; j < WRB; j++)
        if (j < rb)
            xv[j] = _mm512_maskz_loadu_ps((__mmask16)(mp[j][q / V] & last), xp[j] + q);
#pragma GCC unroll 8
    for (int c = 0; c < WCB; c++)
        if (c < cb) {
            __m512 dv = _mm512_maskz_loadu_ps(last, d + (size_t)c * ld + q);
            IN_REG(dv);
#pragma GCC unroll 3
            for (int j = 0; j < WRB; j++)
                if (j < rb)
                    acc[c][j] = _mm512_fmadd_ps(dv, xv[j], acc[c][j]);
        }
}

/* Tap t's mask row of the table (a 16-bit k-mask per vector of positions). */
INLINE const uint16_t *mask_row(const gpi_conv_src *s, int t)
{
    return (const uint16_t *)s->masks + (size_t)t * s->mld;
}

#define CONV_VEC                   __m512
#define CONV_TAIL                  __mmask16
#define CONV_WHOLE                 ALL
#define CONV_LIMIT(t)              (t)
#define CONV_MASK_T                uint16_t
#define CONV_MASK_ROW(s, t)        mask_row(s, t)
#define CONV_ZERO()                _mm512_setzero_ps()
#define CONV_ADD(a, b)             _mm512_add_ps(a, b)
#define CONV_LOADU(p)              _mm512_loadu_ps(p)
#define CONV_STOREU(p, v)          _mm512_storeu_ps(p, v)
#define CONV_LOAD_LIMITED(p, t)    _mm512_maskz_loadu_ps(t, p)
#define CONV_COPY_LIMITED(d, s, t) _mm512_mask_storeu_ps(d, t, _mm512_maskz_loadu_ps(t, s))
#define CONV_LOAD_WHERE(p, m, q)   _mm512_maskz_loadu_ps((m)[(q) / V], p)
#define CONV_HSUM(v)               _mm512_reduce_add_ps(v)
#define CONV_KERNELS               gpi_conv_avx512
#define CONV_NAME                  "avx512"
#define CONV_EXACT_READS           1
#define CONV_LANE_MASKS            0
#include "conv_loops.h"
