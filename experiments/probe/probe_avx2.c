/*
 * probe_avx2.c - the probe's 256-bit summing and FMA peak loops (compiled
 * with -mavx2 -mfma; called only when gp_cpu_has(GP_ISA_AVX2)). On some cores (the
 * peers' Zen 4 VM) ymm loads stream DRAM faster than zmm loads, so the
 * probe tries these even when AVX-512 is there.
 */
#include <immintrin.h>

#include "probe/peak.h"
#include "probe/probe.h"

static float horizontal_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#define PROBE_VEC       __m256
#define PROBE_LANES     8
#define PROBE_ZERO()    _mm256_setzero_ps()
#define PROBE_LOAD(p)   _mm256_loadu_ps(p)
#define PROBE_ADD(a, b) _mm256_add_ps(a, b)
#define PROBE_HSUM(v)   horizontal_sum(v)
#define PROBE_SUM8      gpx_probe_sum_ymm8
#define PROBE_SUM4X2    gpx_probe_sum_ymm4x2
#define PROBE_SET1(x)      _mm256_set1_ps(x)
#define PROBE_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define PROBE_FMA_RUN      gpx_probe_fma_ymm
#include "probe/probe_loops.h"
