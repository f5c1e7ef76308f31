/*
 * kpool_ymm.h - the 8-lane (256-bit) mapping of the short-plane loops of
 * kpool_loops.h (the KS_ macros), shared by kpool_avx2.c and kpool_avx512.c:
 * the short planes go eight at a time, one per lane, in both, since a block
 * of 8 x 8 floats transposes in registers in 24 shuffles (gathers are far
 * slower where measured, and a 16 x 16 block would not fit a 7 x 7 plane
 * better). Needs AVX2, which every AVX-512 CPU has.
 */
#ifndef GPOOL_KPOOL_YMM_H
#define GPOOL_KPOOL_YMM_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static const int32_t ks_lane_tbl[16] = { -1, -1, -1, -1, -1, -1, -1, -1,
                                         0,  0,  0,  0,  0,  0,  0,  0 };

/* v[e] lane l = element e of row l, for the 8 x 8 block of rows v[0..8). */
static inline __attribute__((always_inline)) void ks_transpose8(__m256 *v)
{
    __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    v[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    v[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    v[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    v[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    v[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    v[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    v[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    v[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

#define KS_VEC             __m256
#define KS_DVEC            __m256d
#define KS_LOAD(p)         _mm256_loadu_ps(p)
#define KS_LOADN(p, n)     _mm256_maskload_ps(p, _mm256_loadu_si256( \
                               (const __m256i *)(ks_lane_tbl + 8 - (n))))
#define KS_SET1(v)         _mm256_set1_ps(v)
#define KS_MAX(a, b)       _mm256_max_ps(a, b)
#define KS_MIN(a, b)       _mm256_min_ps(a, b)
#define KS_ANY_NAN(a)      (_mm256_movemask_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q)) != 0)
#define KS_NANS(a, b)      _mm256_cmp_ps(a, b, _CMP_UNORD_Q)
#define KS_OR(a, b)        _mm256_or_ps(a, b)
#define KS_ANY(m)          (_mm256_movemask_ps(m) != 0)
#define KS_STORE(p, v)     _mm256_storeu_ps(p, v)
#define KS_TRANSPOSE8(v)   ks_transpose8(v)
#define KS_DZERO()         _mm256_setzero_pd()
#define KS_DLO(v)          _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define KS_DHI(v)          _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define KS_DADD(a, b)      _mm256_add_pd(a, b)
#define KS_DDIV_TO_PS(lo, hi, c)                                                     \
    _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(hi, _mm256_set1_pd(c))),          \
                    _mm256_cvtpd_ps(_mm256_div_pd(lo, _mm256_set1_pd(c))))
#define KS_DQUOT_TO_PS(lo, hi, c, rc)                                                \
    _mm256_set_m128(ks_quot(hi, c, rc), ks_quot(lo, c, rc))

/* s / c rounded once to double, then to float, as the scalar division gives
 * it, from rc = 1 / c rounded: q = s rc is within an ulp, and one
 * correction by the exact residue s - q c rounds it correctly (Markstein);
 * several times faster than a vector division. An infinite s keeps q. */
static inline __attribute__((always_inline)) __m128 ks_quot(__m256d s, double c, double rc)
{
    __m256d vc = _mm256_set1_pd(c), vrc = _mm256_set1_pd(rc);
    __m256d q = _mm256_mul_pd(s, vrc);
    __m256d r = _mm256_fnmadd_pd(q, vc, s);
    __m256d q2 = _mm256_fmadd_pd(r, vrc, q);
    return _mm256_cvtpd_ps(_mm256_blendv_pd(q2, q, _mm256_cmp_pd(r, r, _CMP_UNORD_Q)));
}

#endif /* GPOOL_KPOOL_YMM_H */
