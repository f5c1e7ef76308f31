/*
 * conv_avx2.c - AVX2+FMA direct convolution kernels (contract and data
 * layout: gpi_conv.h): the scheme of conv_avx512.c on 8-float vectors,
 * sized for the 16 ymm registers.
 *
 * AVX2 has no cheap zero-masking load, so rows are loaded whole and ANDed
 * with the tap's mask vector, taken from a table with a 32-bit lane per
 * position (lane_masks = 1) as the AND's memory operand: masking costs one
 * load and no register. Input rows and dy are loaded as whole vectors,
 * past the positions they are valid at (exact_reads = 0): conv_direct.c
 * runs the kernels on copies with readable margins; only mm's output is
 * the caller's tensor (its last vector is a masked store). On zero-padded
 * copies (masks NULL) mm loads no mask.
 *
 * mm: a register tile of 4 output channels x 3 vectors of 8 positions
 * (12 accumulators, 3 input vectors, 1 broadcast weight).
 *
 * wgrad: a tile of up to 4 output channels x 3 rows (12 accumulators); each
 * lane sums every 8th position in order, then one fixed tree of 8 lanes.
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "gpi_conv.h"

#define INLINE static inline __attribute__((always_inline))

/* Pins a loaded vector to a register: otherwise GCC folds the load into
 * every FMA that uses it and the wgrad tile loads each dy vector thrice. */
#define IN_REG(v) __asm__("" : "+x"(v))

#define V 8         /* floats per vector */
#define COB 4       /* output channels per mm tile (the weight packing block) */
#define NV 3        /* vectors of positions per mm tile */
#define WCB 4       /* output channels per wgrad tile */
#define WRB 3       /* rows per wgrad tile */

/* Lanes [0, n) all ones, n <= 8. */
INLINE __m256 first_lanes(size_t n)
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx));
}

/* Tap t's mask row of the table (a float per position). */
INLINE const float *mask_row(const gpi_conv_src *s, int t)
{
    return (const float *)s->masks + (size_t)t * s->mld * 16;
}

/* One mm tile: COB channels (the first nc stored) x nv vectors from q0;
 * tail (when not NULL) limits the final vector; masked 0 skips the tap
 * masks (rows from zero-padded copies). nv, whether there is a tail and
 * masked are constants after inlining. */
INLINE void mm_tile(const gpi_conv_src *s, const float *w, const float *bias, int nc,
                    float *out, size_t ld, size_t q0, int nv, const __m256 *tail, int masked)
{
    __m256 acc[COB][NV];
#pragma GCC unroll 4
    for (int c = 0; c < COB; c++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[c][v] = bias ? _mm256_set1_ps(bias[c]) : _mm256_setzero_ps();
    const float *base = s->in + q0;
    for (int r = 0; r < s->K; r++) {
        const float *p = base + s->off[r];
        const float *m = masked ? mask_row(s, s->tap[r]) + q0 : NULL;
        const float *wr = w + (size_t)r * COB;
        __m256 xv[NV];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            if (v < nv) {
                xv[v] = _mm256_loadu_ps(p + v * V);
                if (masked)
                    xv[v] = _mm256_and_ps(xv[v], _mm256_load_ps(m + v * V));
                if (tail && v == nv - 1)
                    xv[v] = _mm256_and_ps(xv[v], *tail);
            }
#pragma GCC unroll 4
        for (int c = 0; c < COB; c++) {
            __m256 wv = _mm256_set1_ps(wr[c]);
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                if (v < nv)
                    acc[c][v] = _mm256_fmadd_ps(wv, xv[v], acc[c][v]);
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < COB; c++)
        if (c < nc)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++)
                if (v < nv) {
                    float *o = out + (size_t)c * ld + q0 + (size_t)v * V;
                    if (tail && v == nv - 1)
                        _mm256_maskstore_ps(o, _mm256_castps_si256(*tail), acc[c][v]);
                    else
                        _mm256_storeu_ps(o, acc[c][v]);
                }
}

/* Sum of the 8 lanes in one fixed tree. */
INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One position vector of a wgrad tile: rows xp[] (mask rows mp[]) against
 * the dy rows d + c * ld, lanes limited to *tail when it is not NULL. */
INLINE void wg_step(__m256 acc[WCB][WRB], const float *const *xp, const float *const *mp,
                    const float *d, size_t ld, size_t q, int cb, int rb, const __m256 *tail)
{
    __m256 xv[WRB];
#pragma GCC unroll 3
    for (int j = 0; j < WRB; j++)
        if (j < rb) {
            xv[j] = _mm256_and_ps(_mm256_loadu_ps(xp[j] + q), _mm256_load_ps(mp[j] + q));
            if (tail)
                xv[j] = _mm256_and_ps(xv[j], *tail);
        }
#pragma GCC unroll 4
    for (int c = 0; c < WCB; c++)
        if (c < cb) {
            __m256 dv = _mm256_loadu_ps(d + (size_t)c * ld + q);
            if (tail)
                dv = _mm256_and_ps(dv, *tail);
            IN_REG(dv);
#pragma GCC unroll 3
            for (int j = 0; j < WRB; j++)
                if (j < rb)
                    acc[c][j] = _mm256_fmadd_ps(dv, xv[j], acc[c][j]);
        }
}

#define CONV_VEC                   __m256
#define CONV_TAIL                  __m256
#define CONV_WHOLE                 NULL
#define CONV_LIMIT(t)              (&(t))
#define CONV_MASK_T                float
#define CONV_MASK_ROW(s, t)        mask_row(s, t)
#define CONV_ZERO()                _mm256_setzero_ps()
#define CONV_ADD(a, b)             _mm256_add_ps(a, b)
#define CONV_LOADU(p)              _mm256_loadu_ps(p)
#define CONV_STOREU(p, v)          _mm256_storeu_ps(p, v)
#define CONV_LOAD_LIMITED(p, t)    _mm256_and_ps(_mm256_loadu_ps(p), t)
#define CONV_COPY_LIMITED(d, s, t)                                                  \
    _mm256_maskstore_ps(d, _mm256_castps_si256(t), _mm256_maskload_ps(s, _mm256_castps_si256(t)))
#define CONV_LOAD_WHERE(p, m, q)                                                    \
    _mm256_maskload_ps(p, _mm256_castps_si256(_mm256_load_ps((m) + (q))))
#define CONV_HSUM(v)               hsum(v)
#define CONV_KERNELS               gpi_conv_avx2
#define CONV_NAME                  "avx2"
#define CONV_EXACT_READS           0
#define CONV_LANE_MASKS            1
#include "conv_loops.h"
