/*
 * kpool_avx512.c - the AVX-512 mapping of the top-k and adaptive pooling
 * loops (kpool_loops.h; compiled with -mavx512f -mavx2 -mfma, run only when
 * the CPU has AVX-512F). Masks replace kpool_avx2.c's blends.
 */
#include "autoconfig.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "gpi_kernels.h"
#include "gpool.h"
#include "kpool_ymm.h"

static inline __attribute__((always_inline)) __mmask16 kp_first(size_t n) /* lanes [0, n) */
{
    return (__mmask16)((1u << n) - 1u);
}

static inline __attribute__((always_inline)) void kp_flush(double *d, __m512 v)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    _mm512_storeu_pd(d, _mm512_add_pd(_mm512_loadu_pd(d), lo));
    _mm512_storeu_pd(d + 8, _mm512_add_pd(_mm512_loadu_pd(d + 8), hi));
}

#define KP_VEC               __m512
#define KP_LANES             16
#define KP_LOAD(p)           _mm512_loadu_ps(p)
#define KP_LOADN(p, n)       _mm512_maskz_loadu_ps(kp_first(n), p)
#define KP_LOADN_LOW(p, n)   _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), kp_first(n), p)
#define KP_SET1(v)           _mm512_set1_ps(v)
#define KP_MAX(a, b)         _mm512_max_ps(a, b)
#define KP_MIN(a, b)         _mm512_min_ps(a, b)
#define KP_ADD(a, b)         _mm512_add_ps(a, b)
#define KP_ANY_GT(a, b)      (_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) != 0)
#define KP_ANY_NAN(a, b)     (_mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q) != 0)
#define KP_MASK              __mmask16
#define KP_MNONE             ((__mmask16)0)
#define KP_NANS(a, b)        _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q)
#define KP_MOR(m, n)         ((__mmask16)((m) | (n)))
#define KP_MANY(m)           ((m) != 0)
#define KP_STORE(p, v)       _mm512_storeu_ps(p, v)
#define KP_STOREN(p, n, v)   _mm512_mask_storeu_ps(p, kp_first(n), v)
#define KP_FLUSH(d, v)       kp_flush(d, v)
#define KP_SET_NAME          gpi_kpool_avx512
#define KP_GLOBAL            gpi_kernels_avx512
#include "kpool_loops.h"
