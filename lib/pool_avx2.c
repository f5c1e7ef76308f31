/*
 * pool_avx2.c - AVX2+FMA kernels for global average and max pooling
 * (contract and slice layout: gpi_kernels.h). Same structure as
 * pool_avx512.c with 8-lane vectors and vector masks instead of k-masks.
 *
 * Average: every float that reaches a double accumulator (or, for a sum
 * made of one flush, the final division) went through at most 12 float
 * additions (at most GPI_AVG_BLOCK sequential terms per lane, then a fixed
 * tree), so its rounding error is below 12 * 2^-24 * sum|x| < 7.2e-7 sum|x|.
 *
 * Max: vmaxps ignores a NaN in its first operand, so NaN is tracked with
 * unordered compares of pairs of vectors. A plane or image that holds a
 * NaN, and a result equal to zero (whose sign must be that of the first
 * zero), is redone by the scalar kernel, which defines the exact semantics.
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "gpi_kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* Channels per block of the NHWC row kernels (doubles and floats in L1). */
#define NHWC_CB 512
/* Rows per call of the forward kernel inside NCHW max backward. */
#define BWD_ROWS 256
/* Longest plane handled by the 8-plane batches (see seg_vsum). */
#define SHORT_HW 120
/* Longest plane of the 8-plane max batches: max has no error bound to
 * keep, and one plane at a time (plane_max_raw, a horizontal reduction per
 * plane) ran 14 x 14 planes at 0.47-0.59 of the probe on Zen 5 against
 * 0.80 for avg's batches (docs/TUNING.md). */
#define SHORT_HW_MAX 240

#define NEG_INF _mm256_set1_ps(-__builtin_inff())

static const int32_t lane_tbl[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

INLINE __m256i first_n(size_t n) /* lanes [0, min(n, 8)) set */
{
    return _mm256_loadu_si256((const __m256i *)(lane_tbl + 8 - (n < 8 ? n : 8)));
}

INLINE __m256 mask_ps(__m256i m)
{
    return _mm256_castsi256_ps(m);
}

INLINE __m256 load_n(const float *p, size_t n) /* first n lanes, zeros after */
{
    return _mm256_maskload_ps(p, first_n(n));
}

INLINE __m256 load_n_max(const float *p, size_t n) /* first n lanes, -inf after */
{
    __m256i m = first_n(n);
    return _mm256_blendv_ps(NEG_INF, _mm256_maskload_ps(p, m), mask_ps(m));
}

INLINE void store_n(float *p, size_t n, __m256 v)
{
    _mm256_maskstore_ps(p, first_n(n), v);
}

INLINE int any_set(__m256 m)
{
    return _mm256_movemask_ps(m) != 0;
}

INLINE __m256d lo_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_castps256_ps128(v));
}

INLINE __m256d hi_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

/* s / hw correctly rounded without vdivpd (Markstein: q = s * (1/hw) is
 * within an ulp, the FMA residual is exact, one correction rounds to
 * nearest); an infinite or NaN s keeps q, which is then exact too. */
typedef struct {
    __m256d d, r;
} divisor;

INLINE divisor divisor_of(size_t hw)
{
    divisor v = { _mm256_set1_pd((double)hw), _mm256_set1_pd(1.0 / (double)hw) };
    return v;
}

INLINE __m256d div_hw(__m256d s, divisor v)
{
    __m256d q = _mm256_mul_pd(s, v.r);
    __m256d c = _mm256_fmadd_pd(_mm256_fnmadd_pd(q, v.d, s), v.r, q);
    return _mm256_blendv_pd(c, q, _mm256_cmp_pd(c, c, _CMP_UNORD_Q));
}

/* (float)(sum / hw) for 8 double sums, first n lanes stored. */
INLINE void store_mean8(float *y, __m256d lo, __m256d hi, divisor v, size_t n)
{
    __m256 f = _mm256_set_m128(_mm256_cvtpd_ps(div_hw(hi, v)), _mm256_cvtpd_ps(div_hw(lo, v)));
    if (n >= 8)
        _mm256_storeu_ps(y, f);
    else
        store_n(y, n, f);
}

/* For a sum made of one flush (a float s) and hw < 2^24, (float)((double)s
 * / hw) == s / (float)hw: a quotient rounded to double and then to float is
 * rounded once (53 >= 2 * 24 + 2). */
INLINE __m256 fdiv_hw(__m256 s, size_t hw)
{
    return _mm256_div_ps(s, _mm256_set1_ps((float)hw));
}

/* ---------------------------------------------------------------------------
 * Transpose-reduce of 8 vectors in 3 levels: lane L of the result combines
 * all lanes of argument S(L), S = {0, 2, 4, 6, 1, 3, 5, 7}; TREE_OF_PLANES
 * passes plane r as argument S(r), so that lane r holds plane r.
 */
#define DEFINE_TREE8(NAME, OP)                                                  \
    INLINE __m256 NAME##_2(__m256 a, __m256 b) /* 128-bit halves */             \
    {                                                                           \
        return OP(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31)); \
    }                                                                           \
    INLINE __m256 NAME##_4(__m256 a, __m256 b) /* pairs of lanes */             \
    {                                                                           \
        return OP(_mm256_shuffle_ps(a, b, 0x44), _mm256_shuffle_ps(a, b, 0xEE)); \
    }                                                                           \
    INLINE __m256 NAME##_8(__m256 a, __m256 b) /* single lanes */               \
    {                                                                           \
        return OP(_mm256_shuffle_ps(a, b, 0x88), _mm256_shuffle_ps(a, b, 0xDD)); \
    }                                                                           \
    INLINE __m256 NAME(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4,   \
                       __m256 v5, __m256 v6, __m256 v7)                         \
    {                                                                           \
        return NAME##_8(NAME##_4(NAME##_2(v0, v1), NAME##_2(v2, v3)),           \
                        NAME##_4(NAME##_2(v4, v5), NAME##_2(v6, v7)));          \
    }

DEFINE_TREE8(tree8_add, _mm256_add_ps)
DEFINE_TREE8(tree8_max, _mm256_max_ps)

/* The planes are read in memory order first (as call arguments the compiler
 * would read them in any order, which defeats the hardware prefetcher). */
#define TREE_OF_PLANES(TREE, F)                                                 \
    __extension__({                                                             \
        __m256 t0_ = F(0), t1_ = F(1), t2_ = F(2), t3_ = F(3), t4_ = F(4),      \
               t5_ = F(5), t6_ = F(6), t7_ = F(7);                              \
        TREE(t0_, t4_, t1_, t5_, t2_, t6_, t3_, t7_);                           \
    })

/* ===========================================================================
 * NCHW forward
 * ======================================================================== */

/* Short planes go 8 at a time: the 8 planes are hw consecutive vectors
 * V[0..hw-1] from the batch start; plane r takes the tail lanes of V[v0],
 * the vectors after it and the head lanes of V[v1], so all loads are whole
 * vectors at multiples of 32 bytes from the batch start. */
typedef struct {
    size_t v0, v1;  /* first and last vector of the plane */
    size_t o, e;    /* its lanes: [o, 8) of V[v0], [0, e) of V[v1] */
} seg;

INLINE seg seg_of(size_t hw, size_t r)
{
    size_t s = r * hw, end = s + hw;
    seg g = { s / 8, (end - 1) / 8, s % 8, 0 };
    g.e = end - 8 * g.v1;
    return g;
}

INLINE __m256 head_part(__m256 v, const seg *g) /* lanes >= o (and < e if one vector) */
{
    __m256 m = _mm256_andnot_ps(mask_ps(first_n(g->o)), mask_ps(first_n(8)));
    if (g->v0 == g->v1)
        m = _mm256_and_ps(m, mask_ps(first_n(g->e)));
    return _mm256_and_ps(v, m);
}

/* Lane sums of plane r: two accumulators taking alternate vectors. A plane
 * of hw <= SHORT_HW floats spans at most 16 vectors, so each accumulator lane
 * adds at most 8 terms; with a + b and the 3-level transpose-reduce a term
 * passes through at most 11 float additions. */
INLINE __m256 seg_vsum(const float *B, size_t hw, size_t r)
{
    seg g = seg_of(hw, r);
    __m256 a = head_part(_mm256_loadu_ps(B + 8 * g.v0), &g);
    if (g.v1 == g.v0)
        return a;
    __m256 b = _mm256_and_ps(_mm256_loadu_ps(B + 8 * g.v1), mask_ps(first_n(g.e)));
    size_t v = g.v0 + 1;
    for (; v + 2 <= g.v1; v += 2) {
        a = _mm256_add_ps(a, _mm256_loadu_ps(B + 8 * v));
        b = _mm256_add_ps(b, _mm256_loadu_ps(B + 8 * v + 8));
    }
    if (v < g.v1)
        a = _mm256_add_ps(a, _mm256_loadu_ps(B + 8 * v));
    return _mm256_add_ps(a, b);
}

/* Lane maxima of plane r (hw >= 8 here): whole vectors from the plane start
 * and one more ending at its last element, overlapping the one before (max
 * does not mind seeing an element twice), so no masks are needed. NaN
 * lanes are or-ed into *u. */
INLINE __m256 plane_vmax8(const float *q, size_t hw, __m256 *u)
{
    __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + hw - 8);
    __m256 n = _mm256_cmp_ps(a, b, _CMP_UNORD_Q);
    size_t k = 8;
    for (; k + 16 <= hw; k += 16) {
        __m256 v = _mm256_loadu_ps(q + k), w = _mm256_loadu_ps(q + k + 8);
        n = _mm256_or_ps(n, _mm256_cmp_ps(v, w, _CMP_UNORD_Q));
        a = _mm256_max_ps(v, a);
        b = _mm256_max_ps(w, b);
    }
    if (k + 8 <= hw) {
        __m256 v = _mm256_loadu_ps(q + k);
        n = _mm256_or_ps(n, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        a = _mm256_max_ps(v, a);
    }
    *u = _mm256_or_ps(*u, n);
    return _mm256_max_ps(a, b);
}

INLINE void avg_batch8(const float *p, float *y, size_t hw)
{
#define PLANE(r) seg_vsum(p, hw, r)
    __m256 s = TREE_OF_PLANES(tree8_add, PLANE);
#undef PLANE
    _mm256_storeu_ps(y, fdiv_hw(s, hw)); /* one flush (see fdiv_hw) */
}

/* Store the maxima m of the 8 planes at p, unless u flags a NaN lane; the
 * scalar kernel settles that batch, and any zero maximum (whose sign is
 * that of the plane's first zero). */
INLINE void max_store8(const float *p, float *y, size_t hw, __m256 m, __m256 u)
{
    if (any_set(u)) { /* a NaN somewhere: the scalar kernel finds the first */
        gpi_kernels_scalar.nchw_max_fwd(p, y, 8, hw);
        return;
    }
    _mm256_storeu_ps(y, m);
    unsigned z = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_EQ_OQ));
    while (z) { /* zero maximum: the sign of the first zero */
        unsigned r = (unsigned)__builtin_ctz(z);
        gpi_kernels_scalar.nchw_max_fwd(p + r * hw, y + r, 1, hw);
        z &= z - 1;
    }
}

INLINE void max_batch8(const float *p, float *y, size_t hw)
{
    if (hw < 8) { /* tiny planes: the scalar kernel */
        gpi_kernels_scalar.nchw_max_fwd(p, y, 8, hw);
        return;
    }
    __m256 u = _mm256_setzero_ps();
#define PLANE(r) plane_vmax8(p + (r) * hw, hw, &u)
    __m256 m = TREE_OF_PLANES(tree8_max, PLANE);
#undef PLANE
    max_store8(p, y, hw, m, u);
}

/* Sequential streams the short-plane batches read at once (STREAM_BATCHES,
 * pool_loops.h). */
#define STREAMS 4

/* STREAMS batches, batch s at p + s * ld (its results at y + s * ldy), read
 * plane by plane in turn: one core of the Zen 3 VM reads DRAM at about
 * 9-11 GB/s from one sequential stream and 14-17 GB/s from four read side
 * by side in steps of 256 bytes; in steps of 2 KiB (a batch at a time)
 * four streams gain little (docs/TUNING.md). Each batch's planes meet the
 * same tree as in avg_batch8 / max_batch8, so no result changes. Avg's
 * loop over planes is unrolled (9-14 % faster cold on 7 x 7 planes); max
 * reads the planes of all four in steps (planes_vmax8), rolled. */
#define STREAM_PLANES(PLANE, v)                                                 \
    _Pragma("GCC unroll 8")                                                     \
    for (size_t r_ = 0; r_ < 8; r_++)                                           \
        _Pragma("GCC unroll 4")                                                 \
        for (size_t s_ = 0; s_ < STREAMS; s_++)                                 \
            v[s_][r_] = PLANE(s_, r_);

#define TREE_OF_ROW(TREE, v) TREE(v[0], v[4], v[1], v[5], v[2], v[6], v[3], v[7])

INLINE void avg_streams(const float *p, size_t ld, float *y, size_t ldy, size_t hw,
                        size_t ahead)
{
    (void)ahead; /* no software prefetch: no gain with four streams (docs/TUNING.md) */
    __m256 v[STREAMS][8];
#define PLANE(s, r) seg_vsum(p + (s) * ld, hw, r)
    STREAM_PLANES(PLANE, v)
#undef PLANE
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++) /* one flush (see fdiv_hw) */
        _mm256_storeu_ps(y + s * ldy, fdiv_hw(TREE_OF_ROW(tree8_add, v[s]), hw));
}

/* Lane maxima of the STREAMS planes of hw >= 8 at q + s * ld into out[s],
 * NaN lanes or-ed into u[s]: the planes read side by side in steps of 16
 * floats, each in address order (its last vector, which may overlap the one
 * before, last: plane_vmax8's order, which loads it second, ran 14 x 14
 * planes 20-35 % slower from DRAM so). Max is exact, and a zero maximum is
 * settled by the scalar kernel, so the order changes no result. */
INLINE void planes_vmax8(const float *q, size_t ld, size_t hw, __m256 *out, __m256 *u)
{
    __m256 a[STREAMS], b[STREAMS], n[STREAMS];
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++) {
        a[s] = b[s] = _mm256_loadu_ps(q + s * ld);
        n[s] = _mm256_cmp_ps(a[s], a[s], _CMP_UNORD_Q);
    }
    size_t k = 8;
    for (; k + 16 <= hw; k += 16)
#pragma GCC unroll 4
        for (size_t s = 0; s < STREAMS; s++) {
            __m256 v = _mm256_loadu_ps(q + s * ld + k), w = _mm256_loadu_ps(q + s * ld + k + 8);
            n[s] = _mm256_or_ps(n[s], _mm256_cmp_ps(v, w, _CMP_UNORD_Q));
            a[s] = _mm256_max_ps(v, a[s]);
            b[s] = _mm256_max_ps(w, b[s]);
        }
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++) {
        __m256 v = _mm256_loadu_ps(q + s * ld + (k + 8 <= hw ? k : hw - 8));
        __m256 w = _mm256_loadu_ps(q + s * ld + hw - 8);
        n[s] = _mm256_or_ps(n[s], _mm256_cmp_ps(v, w, _CMP_UNORD_Q));
        u[s] = _mm256_or_ps(u[s], n[s]);
        out[s] = _mm256_max_ps(_mm256_max_ps(v, a[s]), _mm256_max_ps(w, b[s]));
    }
}

INLINE void max_streams(const float *p, size_t ld, float *y, size_t ldy, size_t hw,
                        size_t ahead)
{
    (void)ahead; /* as avg_streams */
    if (hw < 8) { /* tiny planes: max_batch8 hands them to the scalar kernel */
        for (size_t s = 0; s < STREAMS; s++)
            max_batch8(p + s * ld, y + s * ldy, hw);
        return;
    }
    __m256 v[STREAMS][8], u[STREAMS];
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++)
        u[s] = _mm256_setzero_ps();
#pragma GCC unroll 1
    for (size_t r = 0; r < 8; r++) {
        __m256 m[STREAMS];
        planes_vmax8(p + r * hw, ld, hw, m, u);
#pragma GCC unroll 4
        for (size_t s = 0; s < STREAMS; s++)
            v[s][r] = m[s];
    }
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++)
        max_store8(p + s * ld, y + s * ldy, hw, TREE_OF_ROW(tree8_max, v[s]), u[s]);
}

/* Prefetch the batch of 8 planes of hw at B, ahead bytes on: the tuning's
 * batch_prefetch (0 on both profiles: docs/TUNING.md has the Zen 3 A/B). */
INLINE void prefetch_batch(const float *B, size_t hw, size_t ahead)
{
    for (size_t o = 0; o < 32 * hw; o += 64)
        _mm_prefetch((const char *)B + o + ahead, _MM_HINT_T0);
}

/* Sums of S planes of n floats (plane s at p + s * ld) into out[0..S), read
 * side by side in steps of 64 floats (STREAMS planes far apart are
 * STREAMS sequential streams, see STREAM_PLANES). Each plane: 8
 * accumulators, flushed to double after 8 vectors each (tree of 3 levels),
 * the same additions in the same order whatever S is. */
INLINE void plane_sums(const float *p, size_t ld, size_t S, size_t n, double *out)
{
    __m256d d[STREAMS][2];
    __m256 a[STREAMS][8];
    size_t i = 0;
#define FLUSH8(s)                                                               \
    do {                                                                        \
        __m256 s_ = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[s][0], a[s][1]), \
                                                _mm256_add_ps(a[s][2], a[s][3])), \
                                  _mm256_add_ps(_mm256_add_ps(a[s][4], a[s][5]), \
                                                _mm256_add_ps(a[s][6], a[s][7]))); \
        d[s][0] = _mm256_add_pd(d[s][0], lo_pd(s_));                            \
        d[s][1] = _mm256_add_pd(d[s][1], hi_pd(s_));                            \
    } while (0)
#define EACH_PLANE _Pragma("GCC unroll 4") for (size_t s = 0; s < S; s++)
#define EACH_ACC _Pragma("GCC unroll 8") for (size_t k = 0; k < 8; k++)
    EACH_PLANE
        d[s][0] = d[s][1] = _mm256_setzero_pd();
    for (; n - i >= 512; i += 512) {
        EACH_PLANE
            EACH_ACC
                a[s][k] = _mm256_loadu_ps(p + s * ld + i + 8 * k);
        for (size_t j = i + 64; j < i + 512; j += 64)
            EACH_PLANE
                EACH_ACC
                    a[s][k] = _mm256_add_ps(a[s][k], _mm256_loadu_ps(p + s * ld + j + 8 * k));
        EACH_PLANE
            FLUSH8(s);
    }
    if (i < n) {
        EACH_PLANE
            EACH_ACC
                a[s][k] = _mm256_setzero_ps();
        for (; n - i >= 64; i += 64) /* at most 7 rounds */
            EACH_PLANE
                EACH_ACC
                    a[s][k] = _mm256_add_ps(a[s][k], _mm256_loadu_ps(p + s * ld + i + 8 * k));
        size_t r = n - i; /* < 64: one more term for some accumulators */
        EACH_PLANE {
            EACH_ACC
                if (r > 8 * k)
                    a[s][k] = _mm256_add_ps(a[s][k], load_n(p + s * ld + i + 8 * k, r - 8 * k));
            FLUSH8(s);
        }
    }
#undef FLUSH8
    EACH_PLANE {
        __m256d t = _mm256_add_pd(d[s][0], d[s][1]);
        __m128d h = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
        out[s] = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }
}

/* Sum of a plane of any length. */
static double plane_sum(const float *p, size_t n)
{
    double s;
    plane_sums(p, 0, 1, n, &s);
    return s;
}

/* Means of STREAMS planes of hw floats at once, plane s at p + s * ld, its
 * mean at y[s * ldy]. */
static void plane_means_streams(const float *p, size_t ld, float *y, size_t ldy, size_t hw)
{
    double s[STREAMS];
    plane_sums(p, ld, STREAMS, hw, s);
    for (size_t k = 0; k < STREAMS; k++)
        y[k * ldy] = (float)(s[k] / (double)hw);
}

/* Maxima of STREAMS planes of hw >= 8 floats at once, plane s at p + s * ld,
 * read side by side in steps of 32 floats into two accumulators each (so
 * that all stay in registers); NaN ignored, nan[s] set when plane s holds
 * one. */
static void plane_maxes_streams(const float *p, size_t ld, size_t hw, float *m, int *nan)
{
    __m256 a[STREAMS][2], u[STREAMS];
    size_t i = 0;
#pragma GCC unroll 4
    for (size_t s = 0; s < STREAMS; s++) {
        a[s][0] = a[s][1] = NEG_INF;
        u[s] = _mm256_setzero_ps();
    }
    for (; hw - i >= 32; i += 32)
#pragma GCC unroll 4
        for (size_t s = 0; s < STREAMS; s++) {
            const float *q = p + s * ld + i;
            __m256 x0 = _mm256_loadu_ps(q), x1 = _mm256_loadu_ps(q + 8);
            __m256 x2 = _mm256_loadu_ps(q + 16), x3 = _mm256_loadu_ps(q + 24);
            u[s] = _mm256_or_ps(u[s], _mm256_or_ps(_mm256_cmp_ps(x0, x1, _CMP_UNORD_Q),
                                                   _mm256_cmp_ps(x2, x3, _CMP_UNORD_Q)));
            a[s][0] = _mm256_max_ps(_mm256_max_ps(x0, x1), a[s][0]);
            a[s][1] = _mm256_max_ps(_mm256_max_ps(x2, x3), a[s][1]);
        }
    for (size_t s = 0; s < STREAMS; s++) {
        for (size_t j = i; j < hw; j += 8) { /* the last vector may overlap the one before */
            __m256 x = _mm256_loadu_ps(p + s * ld + (hw - j >= 8 ? j : hw - 8));
            u[s] = _mm256_or_ps(u[s], _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
            a[s][0] = _mm256_max_ps(x, a[s][0]);
        }
        nan[s] = any_set(u[s]);
        __m256 v = _mm256_max_ps(a[s][0], a[s][1]);
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        m[s] = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    }
}

/* Planes [0, rows) of hw floats read STREAMS at a time (one from each of
 * STREAMS equal runs): the run length, or 0 when the slice may sit in L2
 * (the tuning's stream_min_bytes) or the planes are too short. */
static size_t plane_runs(size_t rows, size_t hw)
{
    return hw >= 8 && rows * hw * sizeof(float) >= gpi_pool_tuning()->stream_min_bytes
               ? rows / STREAMS : 0;
}

/* Maximum of a plane of any length with NaN ignored; *nan set when one was seen. */
static float plane_max_raw(const float *p, size_t n, int *nan)
{
    __m256 a0 = NEG_INF, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m256 u0 = _mm256_setzero_ps(), u1 = u0;
    size_t i = 0;
#define MAX8(x0, x1, x2, x3, x4, x5, x6, x7)                                    \
    do {                                                                        \
        u0 = _mm256_or_ps(u0, _mm256_cmp_ps(x0, x1, _CMP_UNORD_Q));             \
        u1 = _mm256_or_ps(u1, _mm256_cmp_ps(x2, x3, _CMP_UNORD_Q));             \
        u0 = _mm256_or_ps(u0, _mm256_cmp_ps(x4, x5, _CMP_UNORD_Q));             \
        u1 = _mm256_or_ps(u1, _mm256_cmp_ps(x6, x7, _CMP_UNORD_Q));             \
        a0 = _mm256_max_ps(x0, a0); a1 = _mm256_max_ps(x1, a1);                 \
        a2 = _mm256_max_ps(x2, a2); a3 = _mm256_max_ps(x3, a3);                 \
        a4 = _mm256_max_ps(x4, a4); a5 = _mm256_max_ps(x5, a5);                 \
        a6 = _mm256_max_ps(x6, a6); a7 = _mm256_max_ps(x7, a7);                 \
    } while (0)
    /* Four parts of the plane side by side, as in pool_avx512.c. */
    const size_t part = n / 64 * 16;
    for (const float *q = p; q < p + part; q += 16) {
        __m256 x0 = _mm256_loadu_ps(q), x1 = _mm256_loadu_ps(q + 8);
        __m256 x2 = _mm256_loadu_ps(q + part), x3 = _mm256_loadu_ps(q + part + 8);
        __m256 x4 = _mm256_loadu_ps(q + 2 * part), x5 = _mm256_loadu_ps(q + 2 * part + 8);
        __m256 x6 = _mm256_loadu_ps(q + 3 * part), x7 = _mm256_loadu_ps(q + 3 * part + 8);
        MAX8(x0, x1, x2, x3, x4, x5, x6, x7);
    }
    i = 4 * part; /* fewer than 64 left */
    if (i < n) {
        size_t r = n - i;
        const float *q = p + i;
#define TAIL_LD(J) (r > 8 * (J) ? load_n_max(q + 8 * (J), r - 8 * (J)) : NEG_INF)
        __m256 x0 = TAIL_LD(0), x1 = TAIL_LD(1), x2 = TAIL_LD(2), x3 = TAIL_LD(3);
        __m256 x4 = TAIL_LD(4), x5 = TAIL_LD(5), x6 = TAIL_LD(6), x7 = TAIL_LD(7);
#undef TAIL_LD
        MAX8(x0, x1, x2, x3, x4, x5, x6, x7);
    }
#undef MAX8
    *nan = any_set(_mm256_or_ps(u0, u1));
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)),
                             _mm256_max_ps(_mm256_max_ps(a4, a5), _mm256_max_ps(a6, a7)));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* ===========================================================================
 * NHWC forward, one image at a time.
 *
 * Small ldc == c (ldc / gcd(ldc, 8) <= 8): the image is a flat stream with
 * period 8R floats (R = lcm(c, 8) / 8) held in registers; lane i of the
 * period belongs to channel i mod c. Images of one flush keep U = R * M
 * register sets and fold lanes into channels in float; longer images flush
 * lane sums into double in L1 and fold at the end. Else rows: chunks of 8
 * rows per 8-channel vector (tree), per-channel sums in L1 buffers.
 * ======================================================================== */

static size_t flat_period(size_t c) /* R, or 0 when the flat kernels do not apply */
{
    size_t g = 8;
    while (c % g)
        g /= 2;
    size_t r = c / g;
    return r <= 8 ? r : 0;
}

#define ACC8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PICK8(v, i)                                                             \
    ((i) == 0 ? v##0 : (i) == 1 ? v##1 : (i) == 2 ? v##2 : (i) == 3 ? v##3 :    \
     (i) == 4 ? v##4 : (i) == 5 ? v##5 : (i) == 6 ? v##6 : v##7)
/* register sets of the flat kernels: U = R * M <= 8 accumulators */
#define FLAT_M(R) ((R) == 1 ? 8 : (R) == 2 ? 4 : (R) <= 4 ? 2 : 1)

static int ceil_log2(size_t v)
{
    int l = 0;
    while (((size_t)1 << l) < v)
        l++;
    return l;
}

/* Super-periods one flush may hold: a float passes (it - 1) sequential
 * additions, log2(M) for the register sets and log2(per) for the fold into
 * channels (small images), at most 12 in all. */
static size_t flat_it_max(size_t c, size_t R)
{
    int lim = 13 - ceil_log2((size_t)FLAT_M(R)) - ceil_log2(8 * R / c);
    return lim < GPI_AVG_BLOCK ? (size_t)lim : GPI_AVG_BLOCK;
}

static int flat_small(size_t c, size_t hw, size_t R)
{
    size_t step = 8 * R * (size_t)FLAT_M(R);
    return (hw * c + step - 1) / step <= flat_it_max(c, R);
}

/* Lane sums or maxima of a run of at most `max_it` super-periods starting
 * at q (the last one possibly partial, as long as `left` says), register
 * sets combined, stored to fb[0 .. 8R). For max, *unord collects NaN lanes.
 * Returns the floats consumed. */
INLINE size_t flat_run(const float *q, size_t left, size_t max_it, float *fb, __m256 *unord,
                       const int R, const int is_max)
{
    const int M = FLAT_M(R), U = R * M;
    const size_t step = 8 * (size_t)U;
    const __m256 e = is_max ? NEG_INF : _mm256_setzero_ps();
    __m256 a0 = e, a1 = e, a2 = e, a3 = e, a4 = e, a5 = e, a6 = e, a7 = e;
    __m256 u = *unord;
    size_t used = 0, it = 0;
    for (; it < max_it && left - used >= step; it++, used += step) {
        const float *s = q + used;
        if (is_max) {
#define FR_MAX(k)                                                               \
            if ((k) < U) {                                                      \
                __m256 x_ = _mm256_loadu_ps(s + 8 * (k));                       \
                a##k = _mm256_max_ps(x_, a##k);                                 \
                if ((k) % 2 == 0) {                                             \
                    __m256 w_ = (k) + 1 < U ? _mm256_loadu_ps(s + 8 * (k) + 8) : x_; \
                    u = _mm256_or_ps(u, _mm256_cmp_ps(x_, w_, _CMP_UNORD_Q));   \
                }                                                               \
            }
            ACC8(FR_MAX)
        } else {
#define FR_ADD(k) if ((k) < U) a##k = _mm256_add_ps(a##k, _mm256_loadu_ps(s + 8 * (k)));
            ACC8(FR_ADD)
        }
    }
    if (it < max_it && left > used && left - used < step) { /* the masked end */
        const float *s = q + used;
        size_t rest = left - used;
#define FR_TAIL(k)                                                              \
        if ((k) < U && rest > 8 * (size_t)(k)) {                                \
            __m256 t_ = is_max ? load_n_max(s + 8 * (k), rest - 8 * (size_t)(k)) \
                               : load_n(s + 8 * (k), rest - 8 * (size_t)(k));   \
            if (is_max) {                                                       \
                u = _mm256_or_ps(u, _mm256_cmp_ps(t_, t_, _CMP_UNORD_Q));       \
                a##k = _mm256_max_ps(t_, a##k);                                 \
            } else {                                                            \
                a##k = _mm256_add_ps(a##k, t_);                                 \
            }                                                                   \
        }
        ACC8(FR_TAIL)
        used = left;
    }
#define FR_OP(x, y) (is_max ? _mm256_max_ps(x, y) : _mm256_add_ps(x, y))
#define FR_STORE(r)                                                             \
    if ((r) < R) {                                                              \
        __m256 s_ = PICK8(a, r);                                                \
        if (M == 2) {                                                           \
            s_ = FR_OP(s_, PICK8(a, (r) + R));                                  \
        } else if (M == 4) {                                                    \
            s_ = FR_OP(FR_OP(s_, PICK8(a, (r) + R)),                            \
                       FR_OP(PICK8(a, (r) + 2 * R), PICK8(a, (r) + 3 * R)));    \
        } else if (M == 8) {                                                    \
            s_ = FR_OP(FR_OP(FR_OP(a0, a1), FR_OP(a2, a3)),                     \
                       FR_OP(FR_OP(a4, a5), FR_OP(a6, a7)));                    \
        }                                                                       \
        _mm256_storeu_ps(fb + 8 * (r), s_);                                     \
    }
    ACC8(FR_STORE)
#undef FR_OP
    *unord = u;
    return used;
}

/* Channels [j, j+8) of the 8R lane values at fb: sums over the per periods
 * (a power of two) as a tree, or maxima. */
INLINE __m256 fold8(const float *fb, size_t c, size_t j, size_t per, size_t n, const int is_max)
{
#define FLD(k) (is_max ? load_n_max(fb + (k) * c + j, n) : load_n(fb + (k) * c + j, n))
#define OP2(a, b) (is_max ? _mm256_max_ps(a, b) : _mm256_add_ps(a, b))
    switch (per) {
    case 1: return FLD(0);
    case 2: return OP2(FLD(0), FLD(1));
    case 4: return OP2(OP2(FLD(0), FLD(1)), OP2(FLD(2), FLD(3)));
    default:
        return OP2(OP2(OP2(FLD(0), FLD(1)), OP2(FLD(2), FLD(3))),
                   OP2(OP2(FLD(4), FLD(5)), OP2(FLD(6), FLD(7))));
    }
#undef FLD
#undef OP2
}

/* Channel results of one small image from its lane values. */
INLINE void flat_fold(const float *fb, float *yb, const float *xb, size_t c, size_t hw,
                      size_t R, const int is_max, int ok)
{
    const size_t per = 8 * R / c;
    if (is_max && !ok) { /* a NaN: the scalar kernel finds the first one */
        gpi_kernels_scalar.nhwc_max_fwd(xb, yb, 1, c, hw, c);
        return;
    }
    for (size_t j = 0; j < c; j += 8) {
        size_t n = c - j < 8 ? c - j : 8;
        __m256 v = fold8(fb, c, j, per, n, is_max);
        if (!is_max)
            v = fdiv_hw(v, hw); /* one flush (see fdiv_hw) */
        store_n(yb + j, n, v);
        if (!is_max)
            continue;
        unsigned z = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_EQ_OQ));
        z &= (1u << n) - 1;
        while (z) { /* zero maximum: the sign of the first zero */
            size_t l = j + (size_t)__builtin_ctz(z);
            gpi_kernels_scalar.nhwc_max_fwd(xb + l, yb + l, 1, 1, hw, c);
            z &= z - 1;
        }
    }
}

/* Many small images (ldc == c, one flush each); the lane values of an image
 * are folded LAG - 1 images later so that the fold's loads, which straddle
 * the stores, do not wait for them. */
INLINE void flat_small_impl(const float *x, float *y, size_t n, size_t c, size_t hw,
                            const int R, const int is_max)
{
    enum { LAG = 2 };
    float fb[LAG][64 + 8];
    int ok[LAG];
    const size_t N = hw * c;
    for (size_t b = 0; b < n + LAG - 1; b++) {
        if (b < n) {
            __m256 u = _mm256_setzero_ps();
            flat_run(x + b * N, N, GPI_AVG_BLOCK, fb[b % LAG], &u, R, is_max);
            ok[b % LAG] = !any_set(u);
        }
        if (b >= LAG - 1) {
            size_t f = b - (LAG - 1);
            flat_fold(fb[f % LAG], y + f * c, x + f * N, c, hw, (size_t)R, is_max, ok[f % LAG]);
        }
    }
}

/* One large image (ldc == c): runs of up to GPI_AVG_BLOCK super-periods;
 * avg adds each run's lane sums into double lane sums (M sets combined by a
 * tree first: at most 7 + 3 additions), max keeps running lane maxima; the
 * fold into channels happens once at the end. Returns 0 on a NaN (max). */
INLINE int flat_large_impl(const float *xb, float *yb, size_t c, size_t hw, const int R,
                           const int is_max)
{
    const size_t N = hw * c, per = 8 * (size_t)R / c;
    float fb[64 + 8];
    double ds[64];
    float mx[64 + 8];
    __m256 u = _mm256_setzero_ps();
    int first = 1;
    for (size_t i = 0; i < N; first = 0) {
        i += flat_run(xb + i, N - i, GPI_AVG_BLOCK, fb, &u, R, is_max);
        for (size_t l = 0; l < 8 * (size_t)R; l += 8) {
            __m256 s = _mm256_loadu_ps(fb + l);
            if (is_max) {
                _mm256_storeu_ps(mx + l, first ? s : _mm256_max_ps(s, _mm256_loadu_ps(mx + l)));
                continue;
            }
            __m256d lo = lo_pd(s), hi = hi_pd(s);
            if (!first) {
                lo = _mm256_add_pd(lo, _mm256_loadu_pd(ds + l));
                hi = _mm256_add_pd(hi, _mm256_loadu_pd(ds + l + 4));
            }
            _mm256_storeu_pd(ds + l, lo);
            _mm256_storeu_pd(ds + l + 4, hi);
        }
    }
    if (is_max) {
        if (any_set(u))
            return 0;
        for (size_t j = 0; j < c; j += 8) {
            size_t n = c - j < 8 ? c - j : 8;
            store_n(yb + j, n, fold8(mx, c, j, per, n, 1));
        }
        return 1;
    }
    for (size_t j = 0; j < c; j++) { /* fold in double: c <= 64 channels, once */
        double s = 0.0;
        for (size_t k = 0; k < per; k++)
            s += ds[k * c + j];
        yb[j] = (float)(s / (double)hw);
    }
    return 1;
}

#define FLAT_DISPATCH(CALL)                                                     \
    switch (R) {                                                                \
    case 1: CALL(1); break;                                                     \
    case 2: CALL(2); break;                                                     \
    case 3: CALL(3); break;                                                     \
    case 4: CALL(4); break;                                                     \
    case 5: CALL(5); break;                                                     \
    case 6: CALL(6); break;                                                     \
    case 7: CALL(7); break;                                                     \
    default: CALL(8); break;                                                    \
    }

static void flat_small_kernel(const float *x, float *y, size_t n, size_t c, size_t hw,
                              size_t R, int is_max)
{
#define SMALL_CALL(r)                                                           \
    if (is_max) flat_small_impl(x, y, n, c, hw, r, 1);                          \
    else flat_small_impl(x, y, n, c, hw, r, 0)
    FLAT_DISPATCH(SMALL_CALL)
#undef SMALL_CALL
}

static int flat_large(const float *xb, float *yb, size_t c, size_t hw, size_t R, int is_max)
{
    int ok = 1;
#define LARGE_CALL(r)                                                           \
    ok = is_max ? flat_large_impl(xb, yb, c, hw, r, 1) : flat_large_impl(xb, yb, c, hw, r, 0)
    FLAT_DISPATCH(LARGE_CALL)
#undef LARGE_CALL
    return ok;
}

/* Rows kernels (any c and ldc), per block of at most NHWC_CB channels: the
 * rows are swept in chunks of 8 (8 row pointers, one index), reduced per
 * 8-channel vector by a 3-level tree. Two chunks (16 rows) meet in a float
 * buffer before going into the double sums; a remainder of fewer than 8
 * rows joins the last chunk, added in sequence. Every float passes through
 * at most 3 + 1 + 1 additions (6 + 1 + 1 for the remainder rows). */
enum { OUT_TMP, OUT_ACC_FIRST, OUT_ACC_ADD };

INLINE void chunk_out(__m256 s, float *tmp, double *acc, size_t j, const int out)
{
    if (out == OUT_TMP) {
        _mm256_storeu_ps(tmp + j, s);
        return;
    }
    if (tmp)
        s = _mm256_add_ps(s, _mm256_loadu_ps(tmp + j));
    __m256d l = lo_pd(s), h = hi_pd(s);
    if (out == OUT_ACC_ADD) {
        l = _mm256_add_pd(l, _mm256_loadu_pd(acc + j));
        h = _mm256_add_pd(h, _mm256_loadu_pd(acc + j + 4));
    }
    _mm256_storeu_pd(acc + j, l);
    _mm256_storeu_pd(acc + j + 4, h);
}

INLINE __m256 tree8_rows(const float *r0, const float *r1, const float *r2, const float *r3,
                         const float *r4, const float *r5, const float *r6, const float *r7,
                         size_t j, size_t n)
{
#define LD(r) (n >= 8 ? _mm256_loadu_ps(r + j) : load_n(r + j, n))
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(LD(r0), LD(r1)), _mm256_add_ps(LD(r2), LD(r3))),
                         _mm256_add_ps(_mm256_add_ps(LD(r4), LD(r5)), _mm256_add_ps(LD(r6), LD(r7))));
#undef LD
}

/* Rows r8 .. r8 + (extra - 1) * ldc of one 8-channel vector, in sequence. */
INLINE __m256 extra_rows(const float *r8, size_t ldc, size_t extra, size_t j, size_t n)
{
    __m256 e = load_n(r8 + j, n);
    for (size_t k = 1; k < extra; k++)
        e = _mm256_add_ps(e, load_n(r8 + k * ldc + j, n));
    return e;
}

/* One chunk: rows q + i * rs (i < 8), then extra rows from r8, ldc apart
 * (extra < 8, only at the end of an image). Which rows: see pool_avx512.c,
 * rows kernels (chunk k takes rows k, k + hw/8, ..., k + 7 hw/8). */
INLINE void chunk8(const float *q, size_t rs, const float *r8, size_t ldc, size_t c,
                   size_t extra, float *tmp, double *acc, const int out)
{
    const float *r0 = q, *r1 = q + rs, *r2 = q + 2 * rs, *r3 = q + 3 * rs;
    const float *r4 = q + 4 * rs, *r5 = q + 5 * rs, *r6 = q + 6 * rs, *r7 = q + 7 * rs;
    const size_t cf = c - c % 8;
    size_t j = 0;
    if (!extra) {
        for (; j + 16 <= cf; j += 16) {
            __m256 s0 = tree8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j, 8);
            __m256 s1 = tree8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j + 8, 8);
            chunk_out(s0, tmp, acc, j, out);
            chunk_out(s1, tmp, acc, j + 8, out);
        }
    }
    for (; j < c; j += 8) {
        size_t n = c - j < 8 ? c - j : 8;
        __m256 s = tree8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j, n);
        if (extra)
            s = _mm256_add_ps(s, extra_rows(r8, ldc, extra, j, n));
        chunk_out(s, tmp, acc, j, out);
    }
}

INLINE size_t row_group(size_t p, size_t hw)
{
    size_t left = hw - p;
    return left >= 24 || left == 16 ? 16 : left;
}

/* Rows kernel for c <= NHWC_CB channels of one image (see pool_avx512.c). */
static void rows_avg(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    double acc[NHWC_CB + 8];
    float tmp[NHWC_CB + 8];
    if (hw < 8) /* one short chunk */
        for (size_t j = 0; j < c; j += 8)
            chunk_out(extra_rows(xb, ldc, hw, j, c - j < 8 ? c - j : 8), NULL, acc, j,
                      OUT_ACC_FIRST);
    const size_t rs = hw / 8 * ldc;
    const float *const r8 = xb + 8 * rs;
    for (size_t p = 0, g; hw >= 8 && p < hw; p += g) {
        g = row_group(p, hw);
        const float *q = xb + (p / 8) * ldc, *q2 = q + ldc;
        if (g >= 16) {
            chunk8(q, rs, NULL, ldc, c, 0, tmp, acc, OUT_TMP);
            if (p == 0)
                chunk8(q2, rs, r8, ldc, c, g - 16, tmp, acc, OUT_ACC_FIRST);
            else
                chunk8(q2, rs, r8, ldc, c, g - 16, tmp, acc, OUT_ACC_ADD);
        } else if (p == 0) {
            chunk8(q, rs, r8, ldc, c, g - 8, NULL, acc, OUT_ACC_FIRST);
        } else {
            chunk8(q, rs, r8, ldc, c, g - 8, NULL, acc, OUT_ACC_ADD);
        }
    }
    const divisor dv = divisor_of(hw);
    for (size_t j = 0; j < c; j += 8)
        store_mean8(yb + j, _mm256_loadu_pd(acc + j), _mm256_loadu_pd(acc + j + 4), dv, c - j);
}

INLINE __m256 max8_rows(const float *r0, const float *r1, const float *r2, const float *r3,
                        const float *r4, const float *r5, const float *r6, const float *r7,
                        size_t j, size_t n, __m256 *u)
{
#define LD(r) (n >= 8 ? _mm256_loadu_ps(r + j) : load_n_max(r + j, n))
    __m256 x0 = LD(r0), x1 = LD(r1), x2 = LD(r2), x3 = LD(r3);
    __m256 x4 = LD(r4), x5 = LD(r5), x6 = LD(r6), x7 = LD(r7);
#undef LD
    __m256 c01 = _mm256_or_ps(_mm256_cmp_ps(x0, x1, _CMP_UNORD_Q), _mm256_cmp_ps(x2, x3, _CMP_UNORD_Q));
    __m256 c45 = _mm256_or_ps(_mm256_cmp_ps(x4, x5, _CMP_UNORD_Q), _mm256_cmp_ps(x6, x7, _CMP_UNORD_Q));
    *u = _mm256_or_ps(*u, _mm256_or_ps(c01, c45));
    return _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(x0, x1), _mm256_max_ps(x2, x3)),
                         _mm256_max_ps(_mm256_max_ps(x4, x5), _mm256_max_ps(x6, x7)));
}

/* Rows r8 .. of one 8-channel vector: maximum in sequence, NaN lanes in *u. */
INLINE __m256 extra_max(const float *r8, size_t ldc, size_t extra, size_t j, size_t n, __m256 *u)
{
    __m256 m = NEG_INF;
    for (size_t i = 0; i < extra; i++) {
        __m256 v = load_n_max(r8 + i * ldc + j, n);
        *u = _mm256_or_ps(*u, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        m = _mm256_max_ps(v, m);
    }
    return m;
}

INLINE void max_chunk8(const float *q, size_t rs, const float *r8, size_t ldc, size_t c,
                       size_t extra, float *yb, const int first, __m256 *u)
{
    const float *r0 = q, *r1 = q + rs, *r2 = q + 2 * rs, *r3 = q + 3 * rs;
    const float *r4 = q + 4 * rs, *r5 = q + 5 * rs, *r6 = q + 6 * rs, *r7 = q + 7 * rs;
    __m256 u0 = *u, u1 = _mm256_setzero_ps();
    size_t j = 0;
    if (!extra) {
        for (; j + 16 <= c; j += 16) {
            __m256 m0 = max8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j, 8, &u0);
            __m256 m1 = max8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j + 8, 8, &u1);
            if (!first) {
                m0 = _mm256_max_ps(m0, _mm256_loadu_ps(yb + j));
                m1 = _mm256_max_ps(m1, _mm256_loadu_ps(yb + j + 8));
            }
            _mm256_storeu_ps(yb + j, m0);
            _mm256_storeu_ps(yb + j + 8, m1);
        }
    }
    for (; j < c; j += 8) {
        size_t n = c - j < 8 ? c - j : 8;
        __m256 m = max8_rows(r0, r1, r2, r3, r4, r5, r6, r7, j, n, &u0);
        if (extra)
            m = _mm256_max_ps(extra_max(r8, ldc, extra, j, n, &u1), m);
        if (!first)
            m = _mm256_max_ps(m, load_n(yb + j, n));
        store_n(yb + j, n, m);
    }
    *u = _mm256_or_ps(u0, u1);
}

/* Rows kernel for max: yb is the running maximum; returns 0 on a NaN.
 * Chunks of 8 rows, the last one taking the remainder (< 8 rows). */
static int rows_max(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    __m256 u = _mm256_setzero_ps();
    if (hw < 8) {
        for (size_t j = 0; j < c; j += 8) {
            size_t n = c - j < 8 ? c - j : 8;
            store_n(yb + j, n, extra_max(xb, ldc, hw, j, n, &u));
        }
        return !any_set(u);
    }
    const size_t rs = hw / 8 * ldc;
    const float *const r8 = xb + 8 * rs;
    for (size_t p = 0; p + 8 <= hw; p += 8) {
        size_t extra = hw - p < 16 ? hw - p - 8 : 0;
        if (p == 0)
            max_chunk8(xb, rs, r8, ldc, c, extra, yb, 1, &u);
        else
            max_chunk8(xb + (p / 8) * ldc, rs, r8, ldc, c, extra, yb, 0, &u);
        p += extra;
    }
    return !any_set(u);
}

/* The flat kernels under the names pool_loops.h calls. */
static void flat_avg(const float *xb, float *yb, size_t c, size_t hw, size_t R)
{
    flat_large(xb, yb, c, hw, R, 0);
}

static int flat_max(const float *xb, float *yb, size_t c, size_t hw, size_t R)
{
    return flat_large(xb, yb, c, hw, R, 1);
}

/* ===========================================================================
 * The drivers, both backward passes and the kernel set (pool_loops.h)
 * ======================================================================== */

INLINE unsigned eq_bits(__m256 a, __m256 b)
{
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ));
}

INLINE unsigned nan_bits(__m256 a)
{
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}

#define POOL_VEC              __m256
#define POOL_LANES            8
#define POOL_ZERO()           _mm256_setzero_ps()
#define POOL_SET1(x)          _mm256_set1_ps(x)
#define POOL_LOADU(p)         _mm256_loadu_ps(p)
#define POOL_STOREU(p, v)     _mm256_storeu_ps(p, v)
#define POOL_LOAD_N(p, n)     load_n(p, n)
#define POOL_STORE_N(p, n, v) store_n(p, n, v)
#define POOL_DIV(a, b)        _mm256_div_ps(a, b)
#define POOL_EQ_BITS(a, b)    eq_bits(a, b)
#define POOL_NAN_BITS(a)      nan_bits(a)
/* planes longer than the batches: STREAMS at a time (pool_loops.h) */
#define POOL_PLANE_STREAMS    STREAMS
#define POOL_AVG_BATCH        avg_batch8
#define POOL_MAX_BATCH        max_batch8
#define POOL_KERNEL_SET       gpi_kernels_avx2
#include "pool_loops.h"
