/*
 * ew_avx512.c - the elementwise kernels (gpi_ew.h, loops in ew_loops.h) on
 * AVX-512F: 16 floats a vector. Compiled with -mavx512f -mavx2 -mfma only.
 */
#include "autoconfig.h"

#include <immintrin.h>

#include "gpi_ew.h"

#define EW_VEC              __m512
#define EW_LANES            ((size_t)16)
#define EW_SET1(f)          _mm512_set1_ps(f)
#define EW_LOAD(p)          _mm512_loadu_ps(p)
#define EW_STORE(p, v)      _mm512_storeu_ps(p, v)
#define EW_ADD(a, b)        _mm512_add_ps(a, b)
#define EW_MUL(a, b)        _mm512_mul_ps(a, b)
#define EW_SUB(a, b)        _mm512_sub_ps(a, b)
#define EW_DIV(a, b)        _mm512_div_ps(a, b)
#define EW_FMA(a, b, c)     _mm512_fmadd_ps(a, b, c)
#define EW_SQRT(a)          _mm512_sqrt_ps(a)
/* t <= 0 (ordered: false for NaN) clears the lane */
#define EW_ZERO_LE0(v, t)   \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t, _mm512_setzero_ps(), _CMP_NLE_UQ), v)
/* bn_loops.h's quad tails: lanes 0-3 only, +0 in the others */
#define EW_LOAD4Z(p)        _mm512_maskz_loadu_ps(0x000F, p)
#define EW_KEEP4(v)         _mm512_maskz_mov_ps(0x000F, v)
#define EW_NAME(f)          f##_avx512
#define EW_ISA_NAME         "avx512"

#include "ew_loops.h"
