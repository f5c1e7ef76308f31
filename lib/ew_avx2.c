/*
 * ew_avx2.c - the elementwise kernels (gpi_ew.h, loops in ew_loops.h) on
 * AVX2 + FMA: 8 floats a vector. Compiled with -mavx2 -mfma only.
 */
#include "autoconfig.h"

#include <immintrin.h>

#include "gpi_ew.h"

#define EW_VEC              __m256
#define EW_LANES            ((size_t)8)
#define EW_SET1(f)          _mm256_set1_ps(f)
#define EW_LOAD(p)          _mm256_loadu_ps(p)
#define EW_STORE(p, v)      _mm256_storeu_ps(p, v)
#define EW_ADD(a, b)        _mm256_add_ps(a, b)
#define EW_MUL(a, b)        _mm256_mul_ps(a, b)
#define EW_SUB(a, b)        _mm256_sub_ps(a, b)
#define EW_DIV(a, b)        _mm256_div_ps(a, b)
#define EW_FMA(a, b, c)     _mm256_fmadd_ps(a, b, c)
#define EW_SQRT(a)          _mm256_sqrt_ps(a)
/* t <= 0 (ordered: false for NaN) clears the lane */
#define EW_ZERO_LE0(v, t)   _mm256_andnot_ps(_mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_LE_OQ), v)
/* bn_loops.h's quad tails: lanes 0-3 only, +0 in the others */
#define EW_LOAD4Z(p)        _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_loadu_ps(p), 0)
#define EW_KEEP4(v)         _mm256_blend_ps(_mm256_setzero_ps(), v, 0x0F)
#define EW_NAME(f)          f##_avx2
#define EW_ISA_NAME         "avx2"

#include "ew_loops.h"
