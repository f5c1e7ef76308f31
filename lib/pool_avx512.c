/*
 * pool_avx512.c - AVX-512F kernels for global average and max pooling
 * (contract and slice layout: gpi_kernels.h). Only AVX-512F intrinsics are
 * used (plus AVX/AVX2 on 256-bit halves), so "avx512f" is the whole
 * run-time requirement.
 *
 * Average: float lane sums of at most GPI_AVG_BLOCK sequential terms, then
 * a small fixed tree of float additions, then double. Every element passes
 * through at most 12 float additions on its way to double (each path below
 * states its count), so the float rounding error is below 12 * 2^-24 *
 * sum|x| < 7.2e-7 * sum|x|; the double sums and the final (float)(sum / hw)
 * add less than 0.7e-7 * mean|x|. Where one flush makes the whole sum, the
 * double sum is that float, and the mean is computed in float (fdiv_hw).
 *
 * Max: vmaxps ignores a NaN in one operand, so NaN is tracked separately
 * (ordered-compare masks over pairs of vectors). A plane or image that holds
 * a NaN, and a result that compares equal to zero (whose sign must be that
 * of the first zero), is redone by the scalar kernel, which defines the
 * exact semantics; neither happens on ordinary data except for dead
 * (all-zero) channels, which the scalar scan settles at their first element.
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "gpi_kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* Channels per block of the NHWC row kernels: 4 KiB of double sums, L1-resident. */
#define NHWC_CB 512
/* Rows per call of the forward kernel inside NCHW max backward (stack buffer). */
#define BWD_ROWS 256
/* Longest plane handled by the 16-plane batches (see seg_vsum). */
#define SHORT_HW 240
/* The same for max (no error bound; see pool_avx2.c). */
#define SHORT_HW_MAX SHORT_HW
/* Short-plane batches read this many sequential streams at once (see
 * avg_streams), each prefetching gp_pool_tuning.stream_prefetch bytes ahead
 * of its loads. Slices smaller than its stream_min_bytes (the core's L2)
 * may be L2-resident, where the streams run at half the speed of one batch
 * at a time (0.25-1.5 MiB inputs, hot), so they are read one batch at a
 * time; from DRAM that gives up 10-20 % on them (docs/TUNING.md). */
#define STREAMS 4

#define NEG_INF _mm512_set1_ps(-__builtin_inff())

INLINE __mmask16 lanes16(size_t n) /* first min(n, 16) lanes */
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

INLINE __mmask8 lanes8(size_t n)
{
    return n >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << n) - 1u);
}

INLINE __m512d lo_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

INLINE __m512d hi_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* s / hw, correctly rounded, without a divide (vdivpd is far slower than
 * the data stream): q = s * (1/hw) is within an ulp, the residual s - q*hw
 * is exact in an FMA, and one correction step rounds to nearest (Markstein).
 * Infinite and NaN sums keep q, which is then exact as well. */
typedef struct {
    __m512d d, r; /* hw and 1.0 / hw */
} divisor;

INLINE divisor divisor_of(size_t hw)
{
    divisor v = { _mm512_set1_pd((double)hw), _mm512_set1_pd(1.0 / (double)hw) };
    return v;
}

INLINE __m512d div_hw(__m512d s, divisor v)
{
    __m512d q = _mm512_mul_pd(s, v.r);
    __m512d c = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, v.d, s), v.r, q);
    /* an infinite s makes the residual NaN: keep q = s * (1/hw) there */
    return _mm512_mask_mov_pd(c, _mm512_cmp_pd_mask(c, c, _CMP_UNORD_Q), q);
}

/* (float)(sum / hw) for 16 sums held in two double vectors, stored to y under m. */
INLINE void store_mean16(float *y, __m512d lo, __m512d hi, divisor v, __mmask16 m)
{
    __m256 fl = _mm512_cvtpd_ps(div_hw(lo, v));
    __m256 fh = _mm512_cvtpd_ps(div_hw(hi, v));
    __m512 f = _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castpd256_pd512(_mm256_castps_pd(fl)), _mm256_castps_pd(fh), 1));
    _mm512_mask_storeu_ps(y, m, f);
}

/* v / hw for float sums v with one flush (hw < 2^24, exact in float): for
 * a float v, (float)((double)v / hw) == v / (float)hw, as a quotient rounded
 * to double and then to float is rounded once (53 >= 2 * 24 + 2). The
 * quotient comes from the same Markstein step in float, exact whenever it
 * is a normal number; a vector with a non-finite v or a tiny one (|v| <
 * 2^-102, where the quotient may be subnormal) takes vdivps instead. */
typedef struct {
    __m512 d, r; /* (float)hw and 1.0f / hw */
} fdivisor;

INLINE fdivisor fdivisor_of(size_t hw)
{
    fdivisor v = { _mm512_set1_ps((float)hw), _mm512_set1_ps(1.0f / (float)hw) };
    return v;
}

INLINE __m512 fdiv_hw(__m512 v, fdivisor f)
{
    __m512 q = _mm512_mul_ps(v, f.r);
    __m512 c = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, f.d, v), f.r, q);
    __m512i t = _mm512_and_epi32(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF));
    __mmask16 odd = _mm512_mask_cmp_epu32_mask(   /* v != 0 and outside [2^-102, inf) */
        _mm512_test_epi32_mask(t, t), _mm512_sub_epi32(t, _mm512_set1_epi32(0x0C800000)),
        _mm512_set1_epi32(0x7F800000 - 0x0C800000), _MM_CMPINT_NLT);
    return __builtin_expect(odd != 0, 0) ? _mm512_div_ps(v, f.d) : c;
}

/* ---------------------------------------------------------------------------
 * Transpose-reduce: lane L of the result combines all 16 lanes of argument
 * number TSLOT(L) (a 4x4 transpose of the lane index; an involution), so
 * callers pass plane TSLOT(s) as argument s to get plane r's result in lane r.
 * Four levels of OP. Arguments by value so that nothing goes through memory.
 */
#define TSLOT(r) ((((r) & 3) << 2) | ((r) >> 2))

#define DEFINE_TREE16(NAME, OP)                                                 \
    INLINE __m512 NAME##_2(__m512 a, __m512 b) /* halves of 256 bits */         \
    {                                                                           \
        return OP(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE)); \
    }                                                                           \
    INLINE __m512 NAME##_4(__m512 a, __m512 b) /* 128-bit blocks */             \
    {                                                                           \
        return OP(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD)); \
    }                                                                           \
    INLINE __m512 NAME##_8(__m512 a, __m512 b) /* pairs of lanes */             \
    {                                                                           \
        return OP(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE)); \
    }                                                                           \
    INLINE __m512 NAME##_16(__m512 a, __m512 b) /* single lanes */              \
    {                                                                           \
        return OP(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD)); \
    }                                                                           \
    INLINE __m512 NAME(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 v4,   \
                       __m512 v5, __m512 v6, __m512 v7, __m512 v8, __m512 v9,   \
                       __m512 v10, __m512 v11, __m512 v12, __m512 v13,          \
                       __m512 v14, __m512 v15)                                  \
    {                                                                           \
        __m512 s0 = NAME##_4(NAME##_2(v0, v1), NAME##_2(v2, v3));               \
        __m512 s1 = NAME##_4(NAME##_2(v4, v5), NAME##_2(v6, v7));               \
        __m512 s2 = NAME##_4(NAME##_2(v8, v9), NAME##_2(v10, v11));             \
        __m512 s3 = NAME##_4(NAME##_2(v12, v13), NAME##_2(v14, v15));           \
        return NAME##_16(NAME##_8(s0, s1), NAME##_8(s2, s3));                   \
    }

DEFINE_TREE16(tree16_add, _mm512_add_ps)
DEFINE_TREE16(tree16_max, _mm512_max_ps)

/* Apply TREE to F(TSLOT(0)), ..., F(TSLOT(15)): lane r gets plane r. The
 * planes are read in memory order first: as call arguments they would be
 * read in whatever order the compiler picks (backwards and scattered over
 * the batch in practice), which defeats the hardware prefetcher on data
 * that comes from DRAM. */
#define TREE_OF_PLANES(TREE, F)                                                 \
    __extension__({                                                             \
        __m512 t0_ = F(0), t1_ = F(1), t2_ = F(2), t3_ = F(3), t4_ = F(4),      \
               t5_ = F(5), t6_ = F(6), t7_ = F(7), t8_ = F(8), t9_ = F(9),      \
               t10_ = F(10), t11_ = F(11), t12_ = F(12), t13_ = F(13),          \
               t14_ = F(14), t15_ = F(15);                                      \
        TREE(t0_, t4_, t8_, t12_, t1_, t5_, t9_, t13_,                          \
             t2_, t6_, t10_, t14_, t3_, t7_, t11_, t15_);                       \
    })

/* The transpose-reduce with plane r as argument r (the order the planes
 * arrive in memory) leaves plane TSLOT(r)'s result in lane r; this puts
 * plane r's result in lane r. */
INLINE __m512 in_plane_order(__m512 v) /* lane r <- lane TSLOT(r) */
{
    return _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
}

/* ===========================================================================
 * NCHW forward
 * ======================================================================== */

/* Short planes (hw <= SHORT_HW) are handled 16 at a time: the 16 planes are
 * 16 * hw consecutive floats, i.e. hw vectors V[0..hw-1] counted from the
 * batch start. Plane r covers floats [r*hw, (r+1)*hw): the tail lanes of
 * V[v0], the whole vectors after it and the head lanes of V[v1]. Its lane
 * sums come from those vectors (the partial ones through masked adds), so
 * every load is a whole vector at a multiple of 64 bytes from the batch
 * start, and one transpose-reduce serves 16 planes. */
typedef struct {
    size_t    v0, v1;  /* first and last vector of the plane */
    __mmask16 m0, m1;  /* lanes of V[v0] and V[v1] that belong to it */
} seg;

INLINE seg seg_of(size_t hw, size_t r)
{
    size_t s = r * hw, e = s + hw;
    seg g = { s / 16, (e - 1) / 16, (__mmask16)(0xFFFFu << (s % 16)), 0 };
    g.m1 = lanes16(e - 16 * g.v1);
    if (g.v0 == g.v1)
        g.m0 = g.m1 = (__mmask16)(g.m0 & g.m1);
    return g;
}

/* Lane sums of plane r: two accumulators taking alternate vectors. A plane
 * of hw <= SHORT_HW floats spans at most 16 vectors, so each accumulator
 * lane adds at most 8 terms (7 additions); with the final a + b and the
 * 4-level transpose-reduce a term passes through at most 12 float additions. */
INLINE __m512 seg_vsum(const float *B, size_t hw, size_t r)
{
    seg g = seg_of(hw, r);
    __m512 e0 = _mm512_loadu_ps(B + 16 * g.v0); /* whole vectors, masked add: */
    if (g.v1 == g.v0)                           /* cheaper than masked loads */
        return _mm512_maskz_mov_ps(g.m0, e0);
    __m512 e1 = _mm512_loadu_ps(B + 16 * g.v1);
    if (g.v1 == g.v0 + 1)
        return _mm512_mask_add_ps(_mm512_maskz_mov_ps(g.m0, e0), g.m1, e1,
                                  _mm512_maskz_mov_ps(g.m0, e0));
    size_t v = g.v0 + 1;
    __m512 a = _mm512_loadu_ps(B + 16 * v), b;
    if (v + 1 < g.v1) {
        b = _mm512_loadu_ps(B + 16 * v + 16);
        for (v += 2; v + 2 <= g.v1; v += 2) {
            a = _mm512_add_ps(a, _mm512_loadu_ps(B + 16 * v));
            b = _mm512_add_ps(b, _mm512_loadu_ps(B + 16 * v + 16));
        }
        if (v < g.v1)
            a = _mm512_add_ps(a, _mm512_loadu_ps(B + 16 * v));
        b = _mm512_mask_add_ps(b, g.m1, b, e1);
    } else {
        b = _mm512_maskz_mov_ps(g.m1, e1);
    }
    a = _mm512_mask_add_ps(a, g.m0, a, e0);
    return _mm512_add_ps(a, b);
}

/* Lane maxima of plane r (NaN ignored), shaped like seg_vsum: the whole
 * vectors first, the partial ones merged in last under their masks. *ok
 * gets the lanes where all the vectors the plane touches are ordered (a
 * NaN in a neighbour's part of a shared vector also clears it: the batch
 * then goes to the scalar kernel, which is exact either way). */
INLINE __m512 seg_vmax(const float *B, size_t hw, size_t r, __mmask16 *ok)
{
    seg g = seg_of(hw, r);
    __m512 e0 = _mm512_loadu_ps(B + 16 * g.v0);
    if (g.v1 == g.v0) {
        *ok = _mm512_cmp_ps_mask(e0, e0, _CMP_ORD_Q);
        return _mm512_mask_mov_ps(NEG_INF, g.m0, e0);
    }
    __m512 e1 = _mm512_loadu_ps(B + 16 * g.v1);
    __mmask16 k = _mm512_cmp_ps_mask(e0, e1, _CMP_ORD_Q);
    if (g.v1 == g.v0 + 1) {
        *ok = k;
        return _mm512_mask_max_ps(_mm512_mask_mov_ps(NEG_INF, g.m0, e0), g.m1, e1,
                                  _mm512_mask_mov_ps(NEG_INF, g.m0, e0));
    }
    size_t v = g.v0 + 1;
    __m512 a = _mm512_loadu_ps(B + 16 * v), b = a;
    if (v + 1 < g.v1) {
        b = _mm512_loadu_ps(B + 16 * v + 16);
        k = _mm512_mask_cmp_ps_mask(k, a, b, _CMP_ORD_Q);
        for (v += 2; v + 2 <= g.v1; v += 2) {
            __m512 u = _mm512_loadu_ps(B + 16 * v), w = _mm512_loadu_ps(B + 16 * v + 16);
            k = _mm512_mask_cmp_ps_mask(k, u, w, _CMP_ORD_Q);
            a = _mm512_max_ps(u, a);
            b = _mm512_max_ps(w, b);
        }
        if (v < g.v1) {
            __m512 u = _mm512_loadu_ps(B + 16 * v);
            k = _mm512_mask_cmp_ps_mask(k, u, u, _CMP_ORD_Q);
            a = _mm512_max_ps(u, a);
        }
    } else {
        k = _mm512_mask_cmp_ps_mask(k, a, a, _CMP_ORD_Q);
    }
    *ok = k;
    a = _mm512_mask_max_ps(a, g.m0, e0, a);
    b = _mm512_mask_max_ps(b, g.m1, e1, b);
    return _mm512_max_ps(a, b);
}

/* 16 consecutive short planes: per-plane lane sums, one transpose-reduce,
 * one conversion to double. */
INLINE void avg_batch16(const float *p, float *y, size_t hw)
{
#define PLANE(r) seg_vsum(p, hw, r)
    __m512 s = TREE_OF_PLANES(tree16_add, PLANE);
#undef PLANE
    /* one flush: the double sum is s itself (see fdiv_hw) */
    _mm512_storeu_ps(y, fdiv_hw(s, fdivisor_of(hw)));
}

/* Store the maxima m of the 16 planes at p, unless a NaN cleared a lane of
 * ok; the scalar kernel settles that batch, and any zero maximum (whose sign
 * is that of the plane's first zero). */
INLINE void max_store16(const float *p, float *y, size_t hw, __m512 m, __mmask16 ok)
{
    if (ok != 0xFFFF) { /* a NaN somewhere: the scalar kernel finds the first one */
        gpi_kernels_scalar.nchw_max_fwd(p, y, 16, hw);
        return;
    }
    _mm512_storeu_ps(y, m);
    unsigned z = _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_EQ_OQ);
    while (z) {
        unsigned r = (unsigned)__builtin_ctz(z);
        gpi_kernels_scalar.nchw_max_fwd(p + r * hw, y + r, 1, hw);
        z &= z - 1;
    }
}

INLINE void max_batch16(const float *p, float *y, size_t hw)
{
    __mmask16 k[16];
#define PLANE(r) seg_vmax(p, hw, r, &k[r])
    __m512 m = TREE_OF_PLANES(tree16_max, PLANE);
#undef PLANE
    __mmask16 ok = (__mmask16)(((k[0] & k[1]) & (k[2] & k[3])) & ((k[4] & k[5]) & (k[6] & k[7])) &
                               ((k[8] & k[9]) & (k[10] & k[11])) & ((k[12] & k[13]) & (k[14] & k[15])));
    max_store16(p, y, hw, m, ok);
}

/* Prefetch the n vectors at q, ahead bytes on. */
INLINE void prefetch_ahead(const float *q, int n, size_t ahead)
{
    for (int v = 0; v < n; v++)
        _mm_prefetch((const char *)(q + 16 * v) + ahead, _MM_HINT_T0);
}

/* Prefetch, ahead bytes on, the vectors that plane r of the batch at B
 * starts in (planes 0..15 together cover the batch's hw vectors once). */
INLINE void prefetch_plane(const float *B, size_t hw, size_t r, size_t ahead)
{
    size_t v0 = (r * hw) / 16, v1 = ((r + 1) * hw) / 16;
    prefetch_ahead(B + 16 * v0, (int)(v1 - v0), ahead);
}

/* STREAMS batches, batch s at p + s * ld (and its results at y + s * ldy),
 * read plane by plane in turn. One core reads DRAM faster from several
 * sequential streams at once than from one (the bandwidth probe's 4-stream
 * loop shows it), and the software prefetch keeps more lines in flight
 * than the hardware prefetcher alone; together 10-20 % on 7 x 7 and
 * 14 x 14 planes from DRAM. The trees are built four planes at a time in
 * a loop that is not unrolled: fully unrolled, the four batches' code
 * outgrows the decoded-uop cache and costs up to 10 % on L3-resident data.
 * l4[s][i] is the tree of planes 4i..4i+3 of batch s, as in tree16_*. */
#define STREAM_TREES(TREE, PLANE, l4)                                           \
    _Pragma("GCC unroll 1")                                                     \
    for (size_t i_ = 0; i_ < 4; i_++) {                                         \
        __m512 l2_[STREAMS][2];                                                 \
        _Pragma("GCC unroll 4")                                                 \
        for (size_t j_ = 0; j_ < 4; j_++)                                       \
            _Pragma("GCC unroll 4")                                             \
            for (int s_ = 0; s_ < STREAMS; s_++) {                              \
                prefetch_plane(p + s_ * ld, hw, 4 * i_ + j_, ahead);            \
                __m512 t_ = PLANE(s_, 4 * i_ + j_);                             \
                l2_[s_][j_ >> 1] = j_ & 1 ? TREE##_2(l2_[s_][j_ >> 1], t_) : t_; \
            }                                                                   \
        _Pragma("GCC unroll 4")                                                 \
        for (int s_ = 0; s_ < STREAMS; s_++)                                    \
            l4[s_][i_] = TREE##_4(l2_[s_][0], l2_[s_][1]);                      \
    }

#define TREE_OF_L4(TREE, l4) \
    TREE##_16(TREE##_8((l4)[0], (l4)[1]), TREE##_8((l4)[2], (l4)[3]))

INLINE void avg_streams(const float *p, size_t ld, float *y, size_t ldy, size_t hw,
                        size_t ahead)
{
    __m512 l4[STREAMS][4];
#define PLANE(s, r) seg_vsum(p + (s) * ld, hw, r)
    STREAM_TREES(tree16_add, PLANE, l4)
#undef PLANE
    fdivisor f = fdivisor_of(hw);
#pragma GCC unroll 4
    for (int s = 0; s < STREAMS; s++) /* one flush: see avg_batch16 */
        _mm512_storeu_ps(y + s * ldy, fdiv_hw(in_plane_order(TREE_OF_L4(tree16_add, l4[s])), f));
}

INLINE void max_streams(const float *p, size_t ld, float *y, size_t ldy, size_t hw,
                        size_t ahead)
{
    __m512 l4[STREAMS][4];
    __mmask16 ok[STREAMS];
#pragma GCC unroll 4
    for (int s = 0; s < STREAMS; s++)
        ok[s] = 0xFFFF;
#define PLANE(s, r) __extension__({ __mmask16 k_; __m512 v_ = seg_vmax(p + (s) * ld, hw, r, &k_); \
                                    ok[s] = (__mmask16)(ok[s] & k_); v_; })
    STREAM_TREES(tree16_max, PLANE, l4)
#undef PLANE
#pragma GCC unroll 4
    for (int s = 0; s < STREAMS; s++)
        max_store16(p + s * ld, y + s * ldy, hw, in_plane_order(TREE_OF_L4(tree16_max, l4[s])),
                    ok[s]);
}

/* Prefetch the batch of 16 planes of hw at B, ahead bytes on (the batch
 * read one at a time, when the tuning asks for it). */
INLINE void prefetch_batch(const float *B, size_t hw, size_t ahead)
{
    for (size_t o = 0; o < 64 * hw; o += 64)
        _mm_prefetch((const char *)B + o + ahead, _MM_HINT_T0);
}

/* Sum of a plane of any length: 8 accumulators, flushed to double after 8
 * vectors each (tree of 3 levels). */
static double plane_sum(const float *p, size_t n)
{
    __m512d d0 = _mm512_setzero_pd(), d1 = d0;
    __m512 a0, a1, a2, a3, a4, a5, a6, a7;
    size_t i = 0;
#define FLUSH8()                                                                \
    do {                                                                        \
        __m512 s_ = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), \
                                  _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))); \
        d0 = _mm512_add_pd(d0, lo_pd(s_));                                      \
        d1 = _mm512_add_pd(d1, hi_pd(s_));                                      \
    } while (0)
    for (; n - i >= 1024; i += 1024) {
        const float *q = p + i;
        a0 = _mm512_loadu_ps(q);       a1 = _mm512_loadu_ps(q + 16);
        a2 = _mm512_loadu_ps(q + 32);  a3 = _mm512_loadu_ps(q + 48);
        a4 = _mm512_loadu_ps(q + 64);  a5 = _mm512_loadu_ps(q + 80);
        a6 = _mm512_loadu_ps(q + 96);  a7 = _mm512_loadu_ps(q + 112);
        for (size_t k = 128; k < 1024; k += 128) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(q + k));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(q + k + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(q + k + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(q + k + 48));
            a4 = _mm512_add_ps(a4, _mm512_loadu_ps(q + k + 64));
            a5 = _mm512_add_ps(a5, _mm512_loadu_ps(q + k + 80));
            a6 = _mm512_add_ps(a6, _mm512_loadu_ps(q + k + 96));
            a7 = _mm512_add_ps(a7, _mm512_loadu_ps(q + k + 112));
        }
        FLUSH8();
    }
    if (i < n) {
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm512_setzero_ps();
        for (; n - i >= 128; i += 128) { /* at most 7 rounds */
            const float *q = p + i;
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(q));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(q + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(q + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(q + 48));
            a4 = _mm512_add_ps(a4, _mm512_loadu_ps(q + 64));
            a5 = _mm512_add_ps(a5, _mm512_loadu_ps(q + 80));
            a6 = _mm512_add_ps(a6, _mm512_loadu_ps(q + 96));
            a7 = _mm512_add_ps(a7, _mm512_loadu_ps(q + 112));
        }
        size_t r = n - i; /* < 128: one more term for some accumulators */
        const float *q = p + i;
#define TAIL_ADD(A, J)                                                          \
        if (r > 16 * (J)) A = _mm512_add_ps(A, _mm512_maskz_loadu_ps(lanes16(r - 16 * (J)), q + 16 * (J)))
        TAIL_ADD(a0, 0); TAIL_ADD(a1, 1); TAIL_ADD(a2, 2); TAIL_ADD(a3, 3);
        TAIL_ADD(a4, 4); TAIL_ADD(a5, 5); TAIL_ADD(a6, 6); TAIL_ADD(a7, 7);
#undef TAIL_ADD
        FLUSH8();
    }
#undef FLUSH8
    return _mm512_reduce_add_pd(_mm512_add_pd(d0, d1));
}

/* Maximum of a plane of any length with NaN ignored; *nan set when one was seen. */
static float plane_max_raw(const float *p, size_t n, int *nan)
{
    __m512 a0 = NEG_INF, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __mmask16 k0 = 0xFFFF, k1 = k0, k2 = k0, k3 = k0;
    size_t i = 0;
#define MAX8(x0, x1, x2, x3, x4, x5, x6, x7)                                    \
    do {                                                                        \
        k0 = _mm512_mask_cmp_ps_mask(k0, x0, x1, _CMP_ORD_Q);                   \
        k1 = _mm512_mask_cmp_ps_mask(k1, x2, x3, _CMP_ORD_Q);                   \
        k2 = _mm512_mask_cmp_ps_mask(k2, x4, x5, _CMP_ORD_Q);                   \
        k3 = _mm512_mask_cmp_ps_mask(k3, x6, x7, _CMP_ORD_Q);                   \
        a0 = _mm512_max_ps(x0, a0); a1 = _mm512_max_ps(x1, a1);                 \
        a2 = _mm512_max_ps(x2, a2); a3 = _mm512_max_ps(x3, a3);                 \
        a4 = _mm512_max_ps(x4, a4); a5 = _mm512_max_ps(x5, a5);                 \
        a6 = _mm512_max_ps(x6, a6); a7 = _mm512_max_ps(x7, a7);                 \
    } while (0)
    /* Four parts of the plane side by side, two vectors of each per step
     * (the bandwidth probe's best loop): one core reads DRAM faster from
     * several sequential streams than from one (1T, about 10 % here). The
     * order of a maximum does not matter (NaN and zero: see nchw_max_fwd). */
    const size_t part = n / 128 * 32;
    for (const float *q = p; q < p + part; q += 32) {
        __m512 x0 = _mm512_loadu_ps(q), x1 = _mm512_loadu_ps(q + 16);
        __m512 x2 = _mm512_loadu_ps(q + part), x3 = _mm512_loadu_ps(q + part + 16);
        __m512 x4 = _mm512_loadu_ps(q + 2 * part), x5 = _mm512_loadu_ps(q + 2 * part + 16);
        __m512 x6 = _mm512_loadu_ps(q + 3 * part), x7 = _mm512_loadu_ps(q + 3 * part + 16);
        MAX8(x0, x1, x2, x3, x4, x5, x6, x7);
    }
    i = 4 * part; /* fewer than 128 left */
    if (i < n) {
        size_t r = n - i;
        const float *q = p + i;
#define TAIL_LD(J) (r > 16 * (J) ? _mm512_mask_loadu_ps(NEG_INF, lanes16(r - 16 * (J)), q + 16 * (J)) : NEG_INF)
        __m512 x0 = TAIL_LD(0), x1 = TAIL_LD(1), x2 = TAIL_LD(2), x3 = TAIL_LD(3);
        __m512 x4 = TAIL_LD(4), x5 = TAIL_LD(5), x6 = TAIL_LD(6), x7 = TAIL_LD(7);
#undef TAIL_LD
        MAX8(x0, x1, x2, x3, x4, x5, x6, x7);
    }
#undef MAX8
    *nan = (__mmask16)(k0 & k1 & k2 & k3) != 0xFFFF;
    __m512 m = _mm512_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3)),
                             _mm512_max_ps(_mm512_max_ps(a4, a5), _mm512_max_ps(a6, a7)));
    return _mm512_reduce_max_ps(m);
}

/* ===========================================================================
 * NHWC forward.
 *
 * ldc == c with c / gcd(c, 16) <= 8 (c = 3, 10, 64, 128, ...): an image is a
 * flat stream with period 16R floats (R = lcm(c, 16) / 16) held in registers;
 * lane i of the period belongs to channel i mod c and is folded into its
 * channel at the end. Images of one flush (the small-image kernel) fold in
 * float; larger ones flush lane sums into double and fold once.
 * Otherwise (large c, or a channel slice with ldc > c): rows, in chunks of 8
 * per 16-channel vector, accumulated per channel in L1 buffers.
 * ======================================================================== */

static size_t flat_period(size_t c) /* R, or 0 when the flat kernel does not apply */
{
    size_t g = 16;
    while (c % g)
        g /= 2;
    size_t r = c / g;
    return r <= 8 ? r : 0;
}

/* The flat kernels keep U = R * M accumulators in named registers (arrays
 * of vectors would live on the stack at -O2): accumulator k holds period
 * position k mod R. ACC8 expands X(k) for k = 0..7; with U a compile-time
 * constant the unused ones vanish. */
#define ACC8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PICK8(v, i)                                                             \
    ((i) == 0 ? v##0 : (i) == 1 ? v##1 : (i) == 2 ? v##2 : (i) == 3 ? v##3 :    \
     (i) == 4 ? v##4 : (i) == 5 ? v##5 : (i) == 6 ? v##6 : v##7)
#define FLAT_M(R) ((R) >= 4 ? 1 : (R) == 1 ? 4 : 2) /* register sets: U >= 4 */

/* Channels [j, j+16) of the 16R lane values at fb (period c): the sum of
 * the per = 16R / c values of each channel (per is a power of two), as a
 * tree of log2(per) levels. */
INLINE __m512 fold_sum(const float *fb, size_t c, size_t j, size_t per, __mmask16 m)
{
#define FLD(k) _mm512_maskz_loadu_ps(m, fb + (k) * c + j)
#define ADD2(a, b) _mm512_add_ps(a, b)
    switch (per) {
    case 1: return FLD(0);
    case 2: return ADD2(FLD(0), FLD(1));
    case 4: return ADD2(ADD2(FLD(0), FLD(1)), ADD2(FLD(2), FLD(3)));
    case 8:
        return ADD2(ADD2(ADD2(FLD(0), FLD(1)), ADD2(FLD(2), FLD(3))),
                    ADD2(ADD2(FLD(4), FLD(5)), ADD2(FLD(6), FLD(7))));
    default:
        return ADD2(ADD2(ADD2(ADD2(FLD(0), FLD(1)), ADD2(FLD(2), FLD(3))),
                         ADD2(ADD2(FLD(4), FLD(5)), ADD2(FLD(6), FLD(7)))),
                    ADD2(ADD2(ADD2(FLD(8), FLD(9)), ADD2(FLD(10), FLD(11))),
                         ADD2(ADD2(FLD(12), FLD(13)), ADD2(FLD(14), FLD(15)))));
    }
#undef FLD
#undef ADD2
}

/* Channel maxima from the 16R lane maxima at fb. */
INLINE __m512 fold_max(const float *fb, size_t c, size_t j, size_t per, __mmask16 m)
{
    __m512 s = _mm512_maskz_loadu_ps(m, fb + j);
    for (size_t k = 1; k < per; k++)
        s = _mm512_max_ps(_mm512_maskz_loadu_ps(m, fb + k * c + j), s);
    return s;
}

/* The small-image kernel uses more register sets (U = R * MS up to 16), so
 * that an image is only a few super-periods long and the dependency chains
 * through the accumulators stay short. */
#define FLAT_MS(R) ((R) == 1 ? 8 : (R) <= 3 ? 4 : 2)
#define ACC16(X) ACC8(X) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define PICK16(v, i)                                                            \
    ((i) < 8 ? PICK8(v, i) : (i) == 8 ? v##8 : (i) == 9 ? v##9 : (i) == 10 ? v##10 : \
     (i) == 11 ? v##11 : (i) == 12 ? v##12 : (i) == 13 ? v##13 : (i) == 14 ? v##14 : v##15)

static int ceil_log2(size_t v)
{
    int l = 0;
    while (((size_t)1 << l) < v)
        l++;
    return l;
}

/* Super-periods one flush of the small-image kernel may hold: every float
 * passes (it - 1) sequential additions, log2(MS) for the register sets and
 * log2(per) for the fold into channels, at most 12 in all. */
static size_t flat_it_max(size_t c, size_t R)
{
    int lim = 13 - ceil_log2((size_t)FLAT_MS(R)) - ceil_log2(16 * R / c);
    return lim < GPI_AVG_BLOCK ? (size_t)lim : GPI_AVG_BLOCK;
}

/* 1 when each image fits one flush of the small-image kernel. */
static int flat_small(size_t c, size_t hw, size_t R)
{
    size_t step = 16 * R * (size_t)FLAT_MS(R);
    return (hw * c + step - 1) / step <= flat_it_max(c, R);
}

/* Lane partial sums or maxima of one whole image of at most it_max
 * super-periods (the last one masked), register sets already combined,
 * stored to fb[0 .. 16R). For max, returns 0 when a NaN was seen. */
INLINE int flat_image_lanes(const float *q, size_t N, float *fb, const int R, const int is_max)
{
    const int M = FLAT_MS(R), U = R * M;
    const size_t step = 16 * (size_t)U;
    const __m512 e = is_max ? NEG_INF : _mm512_setzero_ps();
    __m512 a0 = e, a1 = e, a2 = e, a3 = e, a4 = e, a5 = e, a6 = e, a7 = e;
    __m512 a8 = e, a9 = e, a10 = e, a11 = e, a12 = e, a13 = e, a14 = e, a15 = e;
    __mmask16 k0 = 0xFFFF, k1 = 0xFFFF;
    size_t left = N;
    for (; left >= step; left -= step, q += step) {
        if (is_max) {
#define FS_MAX(k)                                                               \
            if ((k) < U) {                                                      \
                __m512 u_ = _mm512_loadu_ps(q + 16 * (k));                      \
                a##k = _mm512_max_ps(u_, a##k);                                 \
                if ((k) % 2 == 0) { /* ordered check of the pair (k, k+1) */    \
                    __m512 w_ = (k) + 1 < U ? _mm512_loadu_ps(q + 16 * (k) + 16) : u_; \
                    if ((k) % 4 == 0) k0 = _mm512_mask_cmp_ps_mask(k0, u_, w_, _CMP_ORD_Q); \
                    else k1 = _mm512_mask_cmp_ps_mask(k1, u_, w_, _CMP_ORD_Q);  \
                }                                                               \
            }
            ACC16(FS_MAX)
        } else {
#define FS_ADD(k) if ((k) < U) a##k = _mm512_add_ps(a##k, _mm512_loadu_ps(q + 16 * (k)));
            ACC16(FS_ADD)
        }
    }
    if (left) { /* the masked end */
#define FS_TAIL(k)                                                              \
        if ((k) < U && left > 16 * (size_t)(k)) {                               \
            __m512 t_ = _mm512_mask_loadu_ps(e, lanes16(left - 16 * (size_t)(k)), q + 16 * (k)); \
            if (is_max) {                                                       \
                k0 = _mm512_mask_cmp_ps_mask(k0, t_, t_, _CMP_ORD_Q);           \
                a##k = _mm512_max_ps(t_, a##k);                                 \
            } else {                                                            \
                a##k = _mm512_add_ps(a##k, t_);                                 \
            }                                                                   \
        }
        ACC16(FS_TAIL)
    }
#define FS_OP(x, y) (is_max ? _mm512_max_ps(x, y) : _mm512_add_ps(x, y))
#define FS_STORE(r)                                                             \
    if ((r) < R) {                                                              \
        __m512 s_ = PICK16(a, r);                                               \
        if (M == 2) {                                                           \
            s_ = FS_OP(s_, PICK16(a, (r) + R));                                 \
        } else if (M == 4) {                                                    \
            s_ = FS_OP(FS_OP(s_, PICK16(a, (r) + R)),                           \
                       FS_OP(PICK16(a, (r) + 2 * R), PICK16(a, (r) + 3 * R)));  \
        } else if (M == 8) {                                                    \
            s_ = FS_OP(FS_OP(FS_OP(a0, a1), FS_OP(a2, a3)),                     \
                       FS_OP(FS_OP(a4, a5), FS_OP(a6, a7)));                    \
        }                                                                       \
        _mm512_store_ps(fb + 16 * (r), s_);                                     \
    }
    ACC8(FS_STORE)
#undef FS_OP
    return (__mmask16)(k0 & k1) == 0xFFFF;
}

/* Channel results of one image from its lane values (see flat_small_impl). */
INLINE void flat_fold(const float *fb, float *yb, const float *xb, size_t c, size_t hw,
                      size_t per, fdivisor f, int is_max, int ok)
{
    if (!is_max) { /* one flush: divide in float (see fdiv_hw) */
        for (size_t j = 0; j < c; j += 16) {
            __mmask16 t = lanes16(c - j);
            _mm512_mask_storeu_ps(yb + j, t, fdiv_hw(fold_sum(fb, c, j, per, t), f));
        }
        return;
    }
    if (!ok) { /* a NaN: the scalar kernel finds the first one */
        gpi_kernels_scalar.nhwc_max_fwd(xb, yb, 1, c, hw, c);
        return;
    }
    for (size_t j = 0; j < c; j += 16) {
        __mmask16 t = lanes16(c - j);
        __m512 m = fold_max(fb, c, j, per, t);
        _mm512_mask_storeu_ps(yb + j, t, m);
        unsigned z = _mm512_mask_cmp_ps_mask(t, m, _mm512_setzero_ps(), _CMP_EQ_OQ);
        while (z) { /* zero maximum: the sign of the first zero */
            size_t l = j + (size_t)__builtin_ctz(z);
            gpi_kernels_scalar.nhwc_max_fwd(xb + l, yb + l, 1, 1, hw, c);
            z &= z - 1;
        }
    }
}

/* Many small images (ldc == c, one flush each): image b's lane values go to
 * a slot and are folded LAG - 1 images later, so that the fold's loads (which
 * straddle the stores) do not stall on stores still in flight. */
INLINE void flat_small_impl(const float *x, float *y, size_t n, size_t c, size_t hw,
                            const int R, const int is_max)
{
    enum { LAG = 4 }; /* images between the stores of lane values and their fold */
    float fb[LAG][128] __attribute__((aligned(64)));
    int ok[LAG];
    const size_t N = hw * c, per = 16 * (size_t)R / c;
    const fdivisor f = fdivisor_of(hw);
    for (size_t b = 0; b < n + LAG - 1; b++) {
        if (b < n)
            ok[b % LAG] = flat_image_lanes(x + b * N, N, fb[b % LAG], R, is_max);
        if (b >= LAG - 1) {
            size_t i = b - (LAG - 1);
            flat_fold(fb[i % LAG], y + i * c, x + i * N, c, hw, per, f, is_max, ok[i % LAG]);
        }
    }
}

static void flat_small_kernel(const float *x, float *y, size_t n, size_t c, size_t hw,
                              size_t R, int is_max)
{
#define FS_CASE(r)                                                              \
    case r:                                                                     \
        if (is_max) flat_small_impl(x, y, n, c, hw, r, 1);                      \
        else flat_small_impl(x, y, n, c, hw, r, 0);                             \
        break;
    switch (R) {
    FS_CASE(1) FS_CASE(2) FS_CASE(3) FS_CASE(4) FS_CASE(5) FS_CASE(6) FS_CASE(7)
    default: FS_CASE(8)
    }
#undef FS_CASE
}

/* Sums of the 16R lanes (double), folded into c channels and divided by hw. */
static void fold_mean(const double *buf, float *yb, size_t c, size_t hw, size_t R)
{
    const size_t per = 16 * R / c;
    const divisor dv = divisor_of(hw);
    for (size_t j = 0; j < c; j += 8) {
        __mmask8 m = lanes8(c - j);
        __m512d s = _mm512_maskz_loadu_pd(m, buf + j);
        for (size_t k = 1; k < per; k++)
            s = _mm512_add_pd(s, _mm512_maskz_loadu_pd(m, buf + k * c + j));
        __m256 f = _mm512_cvtpd_ps(div_hw(s, dv));
        _mm512_mask_storeu_ps(yb + j, (__mmask16)m, _mm512_castps256_ps512(f));
    }
}

/* Flat kernel for avg on a large image: flushes of GPI_AVG_BLOCK
 * super-periods into double sums per lane (M sets combined by a tree of at
 * most 2 levels first), folded into channels in double at the end. The
 * software prefetch (the tuning's stream_prefetch) gains 7-20 % from DRAM (flat_max_impl reads four
 * parts of the image at once instead: prefetch lost about 5 % there). */
INLINE void flat_avg_impl(const float *xb, float *yb, size_t c, size_t hw, const int R)
{
    const int M = FLAT_M(R), U = R * M;
    const size_t N = hw * c, step = 16 * (size_t)U;
    const size_t ahead = gpi_pool_tuning()->stream_prefetch;
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
    const __m512d zd = _mm512_setzero_pd();
    __m512d l0 = zd, l1 = zd, l2 = zd, l3 = zd, l4 = zd, l5 = zd, l6 = zd, l7 = zd;
    __m512d h0 = zd, h1 = zd, h2 = zd, h3 = zd, h4 = zd, h5 = zd, h6 = zd, h7 = zd;
    size_t i = 0;
    while (i < N) {
        size_t left = N - i;
        const float *q = xb + i;
        if (left >= step) { /* up to GPI_AVG_BLOCK whole super-periods */
            size_t it = left / step < GPI_AVG_BLOCK ? left / step : GPI_AVG_BLOCK;
#define FL_LOAD(k) if ((k) < U) a##k = _mm512_loadu_ps(q + 16 * (k));
#define FL_ADD(k) if ((k) < U) a##k = _mm512_add_ps(a##k, _mm512_loadu_ps(q + 16 * (k)));
            prefetch_ahead(q, U, ahead);
            ACC8(FL_LOAD)
            for (size_t t = 1; t < it; t++) {
                q += step;
                prefetch_ahead(q, U, ahead);
                ACC8(FL_ADD)
            }
            i += it * step;
        } else { /* last partial super-period: one masked term per lane */
#define FL_TAIL(k)                                                              \
            if ((k) < U)                                                        \
                a##k = left > 16 * (size_t)(k)                                  \
                    ? _mm512_maskz_loadu_ps(lanes16(left - 16 * (size_t)(k)), q + 16 * (k)) : z;
            ACC8(FL_TAIL)
            i = N;
        }
#define FL_FLUSH(r)                                                             \
        if ((r) < R) {                                                          \
            __m512 s_ = PICK8(a, r);                                            \
            if (M == 2)                                                         \
                s_ = _mm512_add_ps(s_, PICK8(a, (r) + R));                      \
            else if (M == 4)                                                    \
                s_ = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)); \
            l##r = _mm512_add_pd(l##r, lo_pd(s_));                              \
            h##r = _mm512_add_pd(h##r, hi_pd(s_));                              \
        }
        ACC8(FL_FLUSH)
    }
    double buf[128] __attribute__((aligned(64)));
#define FL_STORE(r)                                                             \
    if ((r) < R) {                                                              \
        _mm512_store_pd(buf + 16 * (r), l##r);                                  \
        _mm512_store_pd(buf + 16 * (r) + 8, h##r);                              \
    }
    ACC8(FL_STORE)
    fold_mean(buf, yb, c, hw, (size_t)R);
}

static void flat_avg(const float *xb, float *yb, size_t c, size_t hw, size_t R)
{
    switch (R) {
    case 1: flat_avg_impl(xb, yb, c, hw, 1); break;
    case 2: flat_avg_impl(xb, yb, c, hw, 2); break;
    case 3: flat_avg_impl(xb, yb, c, hw, 3); break;
    case 4: flat_avg_impl(xb, yb, c, hw, 4); break;
    case 5: flat_avg_impl(xb, yb, c, hw, 5); break;
    case 6: flat_avg_impl(xb, yb, c, hw, 6); break;
    case 7: flat_avg_impl(xb, yb, c, hw, 7); break;
    default: flat_avg_impl(xb, yb, c, hw, 8); break;
    }
}

/* Maxima (NaN ignored) of the flat stream; returns 0 when a NaN was seen. */
INLINE int flat_max_impl(const float *xb, float *yb, size_t c, size_t hw, const int R)
{
    const int M = FLAT_M(R), U = R * M;
    const size_t N = hw * c, step = 16 * (size_t)U;
    const __m512 ni = NEG_INF;
    __m512 a0 = ni, a1 = ni, a2 = ni, a3 = ni, a4 = ni, a5 = ni, a6 = ni, a7 = ni;
    __m512 x0 = ni, x1 = ni, x2 = ni, x3 = ni, x4 = ni, x5 = ni, x6 = ni, x7 = ni;
    __mmask16 k0 = 0xFFFF, k1 = 0xFFFF, k2 = 0xFFFF, k3 = 0xFFFF;
    /* ordered checks on pairs (x0,x1) (x2,x3) ...; an odd last one alone */
#define FX_CHECK()                                                              \
    do {                                                                        \
        k0 = _mm512_mask_cmp_ps_mask(k0, x0, U > 1 ? x1 : x0, _CMP_ORD_Q);      \
        if (U > 2) k1 = _mm512_mask_cmp_ps_mask(k1, x2, U > 3 ? x3 : x2, _CMP_ORD_Q); \
        if (U > 4) k2 = _mm512_mask_cmp_ps_mask(k2, x4, U > 5 ? x5 : x4, _CMP_ORD_Q); \
        if (U > 6) k3 = _mm512_mask_cmp_ps_mask(k3, x6, U > 7 ? x7 : x6, _CMP_ORD_Q); \
    } while (0)
#define FX_LOAD(k) if ((k) < U) x##k = _mm512_loadu_ps(q + 16 * (k));
#define FX_MAX(k) if ((k) < U) a##k = _mm512_max_ps(x##k, a##k);
    /* STREAMS equal parts of the image side by side, one super-period of
     * each in turn: one core reads DRAM faster from several sequential
     * streams than from one (1T, 7-18 % here); the order of a maximum does
     * not matter (a NaN or a zero goes to the scalar kernel). */
    const size_t part = N / (STREAMS * step) * step;
    for (size_t i = 0; i < part; i += step) {
#pragma GCC unroll 4
        for (int s = 0; s < STREAMS; s++) {
            const float *q = xb + (size_t)s * part + i;
            ACC8(FX_LOAD)
            FX_CHECK();
            ACC8(FX_MAX)
        }
    }
    size_t i = STREAMS * part;
    while (i < N) {
        size_t left = N - i;
        const float *q = xb + i;
        if (left >= step) {
            ACC8(FX_LOAD)
            i += step;
        } else {
#define FX_TAIL(k)                                                              \
            if ((k) < U)                                                        \
                x##k = left > 16 * (size_t)(k)                                  \
                    ? _mm512_mask_loadu_ps(ni, lanes16(left - 16 * (size_t)(k)), q + 16 * (k)) : ni;
            ACC8(FX_TAIL)
            i = N;
        }
        FX_CHECK();
        ACC8(FX_MAX)
    }
#undef FX_CHECK
    if ((__mmask16)(k0 & k1 & k2 & k3) != 0xFFFF)
        return 0;
    float buf[128] __attribute__((aligned(64)));
#define FX_STORE(r)                                                             \
    if ((r) < R) {                                                              \
        __m512 s_ = PICK8(a, r);                                                \
        if (M == 2)                                                             \
            s_ = _mm512_max_ps(s_, PICK8(a, (r) + R));                          \
        else if (M == 4)                                                        \
            s_ = _mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3));   \
        _mm512_store_ps(buf + 16 * (r), s_);                                    \
    }
    ACC8(FX_STORE)
    const size_t per = 16 * (size_t)R / c;
    for (size_t j = 0; j < c; j += 16) {
        __mmask16 m = lanes16(c - j);
        __m512 s = _mm512_maskz_loadu_ps(m, buf + j);
        for (size_t k = 1; k < per; k++)
            s = _mm512_max_ps(_mm512_maskz_loadu_ps(m, buf + k * c + j), s);
        _mm512_mask_storeu_ps(yb + j, m, s);
    }
    return 1;
}

static int flat_max(const float *xb, float *yb, size_t c, size_t hw, size_t R)
{
    switch (R) {
    case 1: return flat_max_impl(xb, yb, c, hw, 1);
    case 2: return flat_max_impl(xb, yb, c, hw, 2);
    case 3: return flat_max_impl(xb, yb, c, hw, 3);
    case 4: return flat_max_impl(xb, yb, c, hw, 4);
    case 5: return flat_max_impl(xb, yb, c, hw, 5);
    case 6: return flat_max_impl(xb, yb, c, hw, 6);
    case 7: return flat_max_impl(xb, yb, c, hw, 7);
    default: return flat_max_impl(xb, yb, c, hw, 8);
    }
}

/* Rows kernels (any c and ldc): per block of at most NHWC_CB channels, the
 * image's rows are swept in chunks of 8 (8 row pointers, one index: every
 * load is base + index), each chunk reduced per 16-channel vector by a
 * 3-level tree. Two chunks (16 rows) meet in a float buffer before their
 * sum goes into the double sums; a remainder of fewer than 8 rows joins the
 * last chunk, added in sequence. Every float passes through at most 3 + 1 +
 * 1 additions (6 + 1 + 1 for the remainder rows) before reaching double.
 * With S = hw / 8, chunk k takes rows k, k + S, ..., k + 7S (rs = S * ldc
 * apart), so that the chunks read the image as eight sequential streams
 * rather than one (from DRAM, 5-14 % faster on 256 and 512 channels); the
 * remainder is rows 8S .. hw - 1 (from r8 = x + 8 * rs). */
enum { OUT_TMP, OUT_ACC_FIRST, OUT_ACC_ADD };

INLINE __m512 tree8_at(const float *const *r, size_t j, __mmask16 t)
{
    __m512 x0 = _mm512_maskz_loadu_ps(t, r[0] + j), x1 = _mm512_maskz_loadu_ps(t, r[1] + j);
    __m512 x2 = _mm512_maskz_loadu_ps(t, r[2] + j), x3 = _mm512_maskz_loadu_ps(t, r[3] + j);
    __m512 x4 = _mm512_maskz_loadu_ps(t, r[4] + j), x5 = _mm512_maskz_loadu_ps(t, r[5] + j);
    __m512 x6 = _mm512_maskz_loadu_ps(t, r[6] + j), x7 = _mm512_maskz_loadu_ps(t, r[7] + j);
    return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)),
                         _mm512_add_ps(_mm512_add_ps(x4, x5), _mm512_add_ps(x6, x7)));
}

INLINE __m512 tree8_full(const float *r0, const float *r1, const float *r2, const float *r3,
                         const float *r4, const float *r5, const float *r6, const float *r7,
                         size_t j)
{
    return _mm512_add_ps(
        _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(r0 + j), _mm512_loadu_ps(r1 + j)),
                      _mm512_add_ps(_mm512_loadu_ps(r2 + j), _mm512_loadu_ps(r3 + j))),
        _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(r4 + j), _mm512_loadu_ps(r5 + j)),
                      _mm512_add_ps(_mm512_loadu_ps(r6 + j), _mm512_loadu_ps(r7 + j))));
}

/* Deliver the chunk sum s of channels [j, j+16) (lanes t) as `out` says. */
INLINE void chunk_out(__m512 s, float *tmp, double *acc, size_t j, __mmask16 t, const int out)
{
    if (out == OUT_TMP) {
        _mm512_store_ps(tmp + j, s);
        return;
    }
    if (tmp)
        s = _mm512_add_ps(s, _mm512_load_ps(tmp + j));
    (void)t;
    __m512d l = lo_pd(s), h = hi_pd(s);
    if (out == OUT_ACC_ADD) {
        l = _mm512_add_pd(l, _mm512_load_pd(acc + j));
        h = _mm512_add_pd(h, _mm512_load_pd(acc + j + 8));
    }
    _mm512_store_pd(acc + j, l);
    _mm512_store_pd(acc + j + 8, h);
}

/* Rows 8 .. 8 + extra - 1 after a chunk's first 8 (the end of an image),
 * added in sequence. */
INLINE __m512 extra_rows(const float *r8, size_t ldc, size_t extra, size_t j, __mmask16 t)
{
    __m512 e = _mm512_maskz_loadu_ps(t, r8 + j);
    for (size_t k = 1; k < extra; k++)
        e = _mm512_add_ps(e, _mm512_maskz_loadu_ps(t, r8 + k * ldc + j));
    return e;
}

/* One chunk over c channels: rows q + i * rs (i < 8), then extra rows
 * from r8, ldc apart (extra < 8, only at the end of an image). tmp is NULL
 * when the accumulator outputs take the chunk sum alone. */
INLINE void chunk8(const float *q, size_t rs, const float *r8, size_t ldc, size_t c,
                   size_t extra, float *tmp, double *acc, const int out)
{
    const float *r0 = q, *r1 = q + rs, *r2 = q + 2 * rs, *r3 = q + 3 * rs;
    const float *r4 = q + 4 * rs, *r5 = q + 5 * rs, *r6 = q + 6 * rs, *r7 = q + 7 * rs;
    const size_t cf = c - c % 16;
    size_t j = 0;
    if (!extra) {
        for (; j + 32 <= cf; j += 32) {
            __m512 s0 = tree8_full(r0, r1, r2, r3, r4, r5, r6, r7, j);
            __m512 s1 = tree8_full(r0, r1, r2, r3, r4, r5, r6, r7, j + 16);
            chunk_out(s0, tmp, acc, j, 0xFFFF, out);
            chunk_out(s1, tmp, acc, j + 16, 0xFFFF, out);
        }
    }
    for (; j < cf; j += 16) {
        __m512 s = tree8_full(r0, r1, r2, r3, r4, r5, r6, r7, j);
        if (extra)
            s = _mm512_add_ps(s, extra_rows(r8, ldc, extra, j, 0xFFFF));
        chunk_out(s, tmp, acc, j, 0xFFFF, out);
    }
    if (j < c) {
        const float *r[8] = { r0, r1, r2, r3, r4, r5, r6, r7 };
        __mmask16 t = lanes16(c - j);
        __m512 s = tree8_at(r, j, t);
        if (extra)
            s = _mm512_add_ps(s, extra_rows(r8, ldc, extra, j, t));
        chunk_out(s, tmp, acc, j, t, out);
    }
}

/* A chunk of k < 8 rows (a whole image of fewer than 8 rows): rows added
 * in sequence. */
static void chunk_k(const float *q, size_t ldc, size_t k, size_t c, double *acc)
{
    for (size_t j = 0; j < c; j += 16) {
        __mmask16 t = lanes16(c - j);
        chunk_out(extra_rows(q, ldc, k, j, t), NULL, acc, j, t, OUT_ACC_FIRST);
    }
}

/* Size of the group of rows that starts at row p: 16, or everything left
 * (< 24 rows) at the end. */
INLINE size_t row_group(size_t p, size_t hw)
{
    size_t left = hw - p;
    return left >= 24 || left == 16 ? 16 : left;
}

/* Rows kernel for c <= NHWC_CB channels of one image. A group of 16 + e
 * rows is two chunks: 8 rows into tmp, then 8 + e rows plus tmp into the
 * double sums; a group of 8 + e rows is one chunk. */
static void rows_avg(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    double acc[NHWC_CB] __attribute__((aligned(64)));
    float tmp[NHWC_CB] __attribute__((aligned(64)));
    if (hw < 8)
        chunk_k(xb, ldc, hw, c, acc);
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
        } else if (p == 0) { /* 8 <= g < 16: one chunk */
            chunk8(q, rs, r8, ldc, c, g - 8, NULL, acc, OUT_ACC_FIRST);
        } else {
            chunk8(q, rs, r8, ldc, c, g - 8, NULL, acc, OUT_ACC_ADD);
        }
    }
    const divisor dv = divisor_of(hw);
    for (size_t j = 0; j < c; j += 16)
        store_mean16(yb + j, _mm512_load_pd(acc + j), _mm512_load_pd(acc + j + 8), dv,
                     lanes16(c - j));
}

/* Max over 8 rows per 16-channel vector into the running maximum at yb
 * (first: no previous value), with ordered checks of the pairs in *ok. */
INLINE __m512 max8_at(const float *r0, const float *r1, const float *r2, const float *r3,
                      const float *r4, const float *r5, const float *r6, const float *r7,
                      size_t j, __mmask16 t, __mmask16 *k0, __mmask16 *k1)
{
    const __m512 ni = NEG_INF;
    __m512 x0 = _mm512_mask_loadu_ps(ni, t, r0 + j), x1 = _mm512_mask_loadu_ps(ni, t, r1 + j);
    __m512 x2 = _mm512_mask_loadu_ps(ni, t, r2 + j), x3 = _mm512_mask_loadu_ps(ni, t, r3 + j);
    __m512 x4 = _mm512_mask_loadu_ps(ni, t, r4 + j), x5 = _mm512_mask_loadu_ps(ni, t, r5 + j);
    __m512 x6 = _mm512_mask_loadu_ps(ni, t, r6 + j), x7 = _mm512_mask_loadu_ps(ni, t, r7 + j);
    *k0 = _mm512_mask_cmp_ps_mask(*k0, x0, x1, _CMP_ORD_Q);
    *k1 = _mm512_mask_cmp_ps_mask(*k1, x2, x3, _CMP_ORD_Q);
    *k0 = _mm512_mask_cmp_ps_mask(*k0, x4, x5, _CMP_ORD_Q);
    *k1 = _mm512_mask_cmp_ps_mask(*k1, x6, x7, _CMP_ORD_Q);
    return _mm512_max_ps(_mm512_max_ps(_mm512_max_ps(x0, x1), _mm512_max_ps(x2, x3)),
                         _mm512_max_ps(_mm512_max_ps(x4, x5), _mm512_max_ps(x6, x7)));
}

/* Rows 8 .. 8 + extra - 1 of a chunk (the end of an image): maximum in
 * sequence, each row checked for NaN. */
INLINE __m512 extra_max(const float *r8, size_t ldc, size_t extra, size_t j, __mmask16 t,
                        __mmask16 *k)
{
    __m512 m = NEG_INF;
    for (size_t i = 0; i < extra; i++) {
        __m512 v = _mm512_mask_loadu_ps(NEG_INF, t, r8 + i * ldc + j);
        *k = _mm512_mask_cmp_ps_mask(*k, v, v, _CMP_ORD_Q);
        m = _mm512_max_ps(v, m);
    }
    return m;
}

/* Max over a chunk (rows as in chunk8) into yb (first: yb has no previous
 * value). */
INLINE void max_chunk8(const float *q, size_t rs, const float *r8, size_t ldc, size_t c,
                       size_t extra, float *yb, const int first, __mmask16 *ok)
{
    const float *r0 = q, *r1 = q + rs, *r2 = q + 2 * rs, *r3 = q + 3 * rs;
    const float *r4 = q + 4 * rs, *r5 = q + 5 * rs, *r6 = q + 6 * rs, *r7 = q + 7 * rs;
    const size_t cf = c - c % 16;
    __mmask16 k0 = *ok, k1 = 0xFFFF, k2 = 0xFFFF, k3 = 0xFFFF;
    size_t j = 0;
    if (!extra) {
        for (; j + 32 <= cf; j += 32) {
            __m512 m0 = max8_at(r0, r1, r2, r3, r4, r5, r6, r7, j, 0xFFFF, &k0, &k1);
            __m512 m1 = max8_at(r0, r1, r2, r3, r4, r5, r6, r7, j + 16, 0xFFFF, &k2, &k3);
            if (!first) {
                m0 = _mm512_max_ps(m0, _mm512_loadu_ps(yb + j));
                m1 = _mm512_max_ps(m1, _mm512_loadu_ps(yb + j + 16));
            }
            _mm512_storeu_ps(yb + j, m0);
            _mm512_storeu_ps(yb + j + 16, m1);
        }
    }
    for (; j < c; j += 16) {
        __mmask16 t = lanes16(c - j);
        __m512 m = max8_at(r0, r1, r2, r3, r4, r5, r6, r7, j, t, &k0, &k1);
        if (extra)
            m = _mm512_max_ps(extra_max(r8, ldc, extra, j, t, &k2), m);
        if (!first)
            m = _mm512_max_ps(m, _mm512_maskz_loadu_ps(t, yb + j));
        _mm512_mask_storeu_ps(yb + j, t, m);
    }
    *ok = (__mmask16)(k0 & k1 & k2 & k3);
}

/* Rows kernel for max: yb is the running maximum; returns 0 on a NaN.
 * Chunks of 8 rows, the last one taking the remainder (< 8 rows). */
static int rows_max(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    __mmask16 ok = 0xFFFF;
    if (hw < 8) { /* one short chunk */
        for (size_t j = 0; j < c; j += 16) {
            __mmask16 t = lanes16(c - j);
            _mm512_mask_storeu_ps(yb + j, t, extra_max(xb, ldc, hw, j, t, &ok));
        }
        return ok == 0xFFFF;
    }
    const size_t rs = hw / 8 * ldc;
    const float *const r8 = xb + 8 * rs;
    for (size_t p = 0; p + 8 <= hw; p += 8) {
        size_t extra = hw - p < 16 ? hw - p - 8 : 0;
        if (p == 0)
            max_chunk8(xb, rs, r8, ldc, c, extra, yb, 1, &ok);
        else
            max_chunk8(xb + (p / 8) * ldc, rs, r8, ldc, c, extra, yb, 0, &ok);
        p += extra;
    }
    return ok == 0xFFFF;
}

/* ===========================================================================
 * The drivers, both backward passes and the kernel set (pool_loops.h)
 * ======================================================================== */

#define POOL_VEC              __m512
#define POOL_LANES            16
#define POOL_ZERO()           _mm512_setzero_ps()
#define POOL_SET1(x)          _mm512_set1_ps(x)
#define POOL_LOADU(p)         _mm512_loadu_ps(p)
#define POOL_STOREU(p, v)     _mm512_storeu_ps(p, v)
#define POOL_LOAD_N(p, n)     _mm512_maskz_loadu_ps(lanes16(n), p)
#define POOL_STORE_N(p, n, v) _mm512_mask_storeu_ps(p, lanes16(n), v)
#define POOL_DIV(a, b)        _mm512_div_ps(a, b)
#define POOL_EQ_BITS(a, b)    ((unsigned)_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ))
#define POOL_NAN_BITS(a)      ((unsigned)_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q))
#define POOL_AVG_BATCH        avg_batch16
#define POOL_MAX_BATCH        max_batch16
#define POOL_KERNEL_SET       gpi_kernels_avx512
#include "pool_loops.h"
