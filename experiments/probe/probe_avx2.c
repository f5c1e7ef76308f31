/*
 * probe_avx2.c - the probe's 256-bit summing loops (compiled with -mavx2
 * -mfma; called only when gp_cpu_has(GP_ISA_AVX2)). On some cores (the
 * peers' Zen 4 VM) ymm loads stream DRAM faster than zmm loads, so the
 * probe tries these even when AVX-512 is there.
 */
#include <immintrin.h>

#include "probe/probe.h"

static float horizontal_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* One stream: consecutive 32-byte loads into eight accumulators. */
float gpx_probe_sum_ymm8(const float *p, size_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
        a4 = _mm256_add_ps(a4, _mm256_loadu_ps(p + i + 32));
        a5 = _mm256_add_ps(a5, _mm256_loadu_ps(p + i + 40));
        a6 = _mm256_add_ps(a6, _mm256_loadu_ps(p + i + 48));
        a7 = _mm256_add_ps(a7, _mm256_loadu_ps(p + i + 56));
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    float s = horizontal_sum(a0);
    for (; i < n; i++)
        s += p[i];
    return s;
}

/* Four concurrent streams (the quarters of the range), two loads each. */
float gpx_probe_sum_ymm4x2(const float *p, size_t n)
{
    size_t q = (n / 4) & ~(size_t)15;
    const float *p0 = p, *p1 = p + q, *p2 = p + 2 * q, *p3 = p + 3 * q;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (size_t i = 0; i < q; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p0 + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p1 + i));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p2 + i));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p3 + i));
        b0 = _mm256_add_ps(b0, _mm256_loadu_ps(p0 + i + 8));
        b1 = _mm256_add_ps(b1, _mm256_loadu_ps(p1 + i + 8));
        b2 = _mm256_add_ps(b2, _mm256_loadu_ps(p2 + i + 8));
        b3 = _mm256_add_ps(b3, _mm256_loadu_ps(p3 + i + 8));
    }
    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3)));
    return horizontal_sum(a0) + gpx_probe_sum_ymm8(p + 4 * q, n - 4 * q);
}
