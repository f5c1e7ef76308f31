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
 * last masks the final vector. nv and, for whole tiles, last are constants
 * after inlining, so the unrolled loops keep the tile in registers. */
INLINE void mm_tile(const gpi_conv_src *s, const float *w, const float *bias, int nc,
                    float *out, size_t ld, size_t q0, int nv, __mmask16 last)
{
    __m512 acc[COB][NV];
#pragma GCC unroll 8
    for (int c = 0; c < COB; c++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[c][v] = bias ? _mm512_set1_ps(bias[c]) : _mm512_setzero_ps();
    const float *base = s->in + q0;
    const uint16_t *mbase = (const uint16_t *)s->masks + q0 / V;
    for (int r = 0; r < s->K; r++) {
        const float *p = base + s->off[r];
        const uint16_t *m = mbase + (size_t)s->tap[r] * s->mld;
        const float *wr = w + (size_t)r * COB;
        __m512 xv[NV];
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            if (v < nv) {
                __mmask16 k = (__mmask16)m[v];
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

static void mm(const gpi_conv_src *s, const float *wpk, const float *bias, int cout,
               float *out, size_t ld)
{
    size_t nq = s->nq;
    for (int cb = 0; cb < cout; cb += COB) {
        const float *w = wpk + (size_t)cb * s->K, *b = bias ? bias + cb : NULL;
        int nc = cout - cb < COB ? cout - cb : COB;
        float *o = out + (size_t)cb * ld;
        size_t q0 = 0;
        for (; q0 + NV * V <= nq; q0 += NV * V)
            mm_tile(s, w, b, nc, o, ld, q0, NV, ALL);
        size_t rest = nq - q0;
        __mmask16 last = first_lanes(rest - (rest - 1) / V * V);
        if (rest > 2 * V)
            mm_tile(s, w, b, nc, o, ld, q0, 3, last);
        else if (rest > V)
            mm_tile(s, w, b, nc, o, ld, q0, 2, last);
        else if (rest > 0)
            mm_tile(s, w, b, nc, o, ld, q0, 1, last);
    }
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

/* One wgrad tile: cb channels x rb rows from row r0, both constants. */
INLINE void wg_tile(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                    size_t dy_stride, int nimg, float *dw, int r0, int cb, int rb)
{
    __m512 acc[WCB][WRB];
    const float *xp[WRB];
    const uint16_t *mp[WRB];
#pragma GCC unroll 8
    for (int c = 0; c < WCB; c++)
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++)
            acc[c][j] = _mm512_setzero_ps();
    size_t nq = s->nq, full = nq / V * V;
    __mmask16 last = first_lanes(nq - full);
    for (int i = 0; i < nimg; i++) {
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++) {
            int r = j < rb ? r0 + j : r0;
            xp[j] = s->in + (size_t)i * in_stride + s->off[r];
            mp[j] = (const uint16_t *)s->masks + (size_t)s->tap[r] * s->mld;
        }
        const float *d = dy + (size_t)i * dy_stride;
        for (size_t q = 0; q < full; q += V)
            wg_step(acc, xp, mp, d, ld, q, cb, rb, ALL);
        if (full < nq)
            wg_step(acc, xp, mp, d, ld, full, cb, rb, last);
    }
#pragma GCC unroll 8
    for (int c = 0; c < WCB; c++)
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++)
            if (c < cb && j < rb)
                dw[(size_t)c * s->K + r0 + j] += _mm512_reduce_add_ps(acc[c][j]);
}

/* All rows for cb channels (a constant: 8, 4, 2 or 1). */
INLINE void wg_rows(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                    size_t dy_stride, int nimg, float *dw, int cb)
{
    int r = 0, K = s->K;
    for (; r + WRB <= K; r += WRB)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, WRB);
    if (K - r == 2)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, 2);
    else if (K - r == 1)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, 1);
}

static void wgrad(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                  size_t dy_stride, int nimg, int cout, float *dw)
{
    int co = 0;
    size_t K = (size_t)s->K;
#define WG_ROWS(cb) wg_rows(s, in_stride, dy + (size_t)co * ld, ld, dy_stride, nimg, dw + co * K, cb)
    for (; co + WCB <= cout; co += WCB)
        WG_ROWS(WCB);
    if (cout - co >= 4) {
        WG_ROWS(4);
        co += 4;
    }
    if (cout - co >= 2) {
        WG_ROWS(2);
        co += 2;
    }
    if (cout - co == 1)
        WG_ROWS(1);
#undef WG_ROWS
}

static void dsum(const float *dy, size_t ld, size_t dy_stride, int nimg, size_t nq, int cout,
                 float *db)
{
    size_t full = nq / V * V;
    __mmask16 last = first_lanes(nq - full);
    for (int co = 0; co < cout; co++) {
        __m512 a = _mm512_setzero_ps();
        for (int i = 0; i < nimg; i++) {
            const float *d = dy + (size_t)i * dy_stride + (size_t)co * ld;
            for (size_t q = 0; q < full; q += V)
                a = _mm512_add_ps(a, _mm512_loadu_ps(d + q));
            if (full < nq)
                a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(last, d + full));
        }
        db[co] += _mm512_reduce_add_ps(a);
    }
}

static void copy(const float *src, size_t ss, float *dst, size_t ds, int rows, int w)
{
    int full = w / V * V;
    __mmask16 tail = first_lanes((size_t)(w - full));
    for (int i = 0; i < rows; i++) {
        const float *s = src + (size_t)i * ss;
        float *d = dst + (size_t)i * ds;
        for (int j = 0; j < full; j += V)
            _mm512_storeu_ps(d + j, _mm512_loadu_ps(s + j));
        if (tail)
            _mm512_mask_storeu_ps(d + full, tail, _mm512_maskz_loadu_ps(tail, s + full));
    }
}

const gpi_conv_kernels gpi_conv_avx512 = {
    .name = "avx512",
    .cob = COB,
    .exact_reads = 1,
    .lane_masks = 0,
    .mm = mm,
    .wgrad = wgrad,
    .dsum = dsum,
    .copy = copy,
};
