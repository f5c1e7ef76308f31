/*
 * kpool_avx2.c - the AVX2 mapping of the top-k and adaptive pooling loops
 * (kpool_loops.h; compiled with -mavx2 -mfma, run only when the CPU has AVX2).
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "gpi_kernels.h"
#include "gpool.h"
#include "kpool_ymm.h"

static const int32_t kp_lane_tbl[16] = { -1, -1, -1, -1, -1, -1, -1, -1,
                                         0,  0,  0,  0,  0,  0,  0,  0 };

static inline __attribute__((always_inline)) __m256i kp_first(size_t n) /* lanes [0, n) */
{
    return _mm256_loadu_si256((const __m256i *)(kp_lane_tbl + 8 - n));
}

static inline __attribute__((always_inline)) __m256 kp_loadn_low(const float *p, size_t n)
{
    __m256i m = kp_first(n);
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(p, m),
                            _mm256_castsi256_ps(m));
}

static inline __attribute__((always_inline)) void kp_flush(double *d, __m256 v)
{
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    _mm256_storeu_pd(d, _mm256_add_pd(_mm256_loadu_pd(d), lo));
    _mm256_storeu_pd(d + 4, _mm256_add_pd(_mm256_loadu_pd(d + 4), hi));
}

#define KP_VEC               __m256
#define KP_LANES             8
#define KP_LOAD(p)           _mm256_loadu_ps(p)
#define KP_LOADN(p, n)       _mm256_maskload_ps(p, kp_first(n))
#define KP_LOADN_LOW(p, n)   kp_loadn_low(p, n)
#define KP_SET1(v)           _mm256_set1_ps(v)
#define KP_MAX(a, b)         _mm256_max_ps(a, b)
#define KP_MIN(a, b)         _mm256_min_ps(a, b)
#define KP_ADD(a, b)         _mm256_add_ps(a, b)
#define KP_ANY_GT(a, b)      (_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)) != 0)
#define KP_ANY_NAN(a, b)     (_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q)) != 0)
#define KP_MASK              __m256
#define KP_MNONE             _mm256_setzero_ps()
#define KP_NANS(a, b)        _mm256_cmp_ps(a, b, _CMP_UNORD_Q)
#define KP_MOR(m, n)         _mm256_or_ps(m, n)
#define KP_MANY(m)           (_mm256_movemask_ps(m) != 0)
#define KP_STORE(p, v)       _mm256_storeu_ps(p, v)
#define KP_STOREN(p, n, v)   _mm256_maskstore_ps(p, kp_first(n), v)
#define KP_FLUSH(d, v)       kp_flush(d, v)
#define KP_SET_NAME          gpi_kpool_avx2
#define KP_GLOBAL            gpi_kernels_avx2
#include "kpool_loops.h"
