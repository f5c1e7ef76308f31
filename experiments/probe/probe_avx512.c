/*
 * probe_avx512.c - the probe's 512-bit summing loops (compiled with
 * -mavx512f -mavx2 -mfma; called only when gp_cpu_has(GP_ISA_AVX512)).
 * Eight independent accumulators keep the adds off the critical path, so
 * the loops are bound by how fast loads arrive.
 */
#include <immintrin.h>

#include "probe/probe.h"

/* One stream: consecutive 64-byte loads. */
float gpx_probe_sum_zmm8(const float *p, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
        a4 = _mm512_add_ps(a4, _mm512_loadu_ps(p + i + 64));
        a5 = _mm512_add_ps(a5, _mm512_loadu_ps(p + i + 80));
        a6 = _mm512_add_ps(a6, _mm512_loadu_ps(p + i + 96));
        a7 = _mm512_add_ps(a7, _mm512_loadu_ps(p + i + 112));
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    float s = _mm512_reduce_add_ps(a0);
    for (; i < n; i++)
        s += p[i];
    return s;
}

/* Four concurrent streams (the quarters of the range), two loads each per
 * step: more open DRAM pages and hardware-prefetch streams per core, which
 * one core needs to approach DRAM bandwidth on some machines. */
float gpx_probe_sum_zmm4x2(const float *p, size_t n)
{
    size_t q = (n / 4) & ~(size_t)31;
    const float *p0 = p, *p1 = p + q, *p2 = p + 2 * q, *p3 = p + 3 * q;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (size_t i = 0; i < q; i += 32) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p0 + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p1 + i));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p2 + i));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p3 + i));
        b0 = _mm512_add_ps(b0, _mm512_loadu_ps(p0 + i + 16));
        b1 = _mm512_add_ps(b1, _mm512_loadu_ps(p1 + i + 16));
        b2 = _mm512_add_ps(b2, _mm512_loadu_ps(p2 + i + 16));
        b3 = _mm512_add_ps(b3, _mm512_loadu_ps(p3 + i + 16));
    }
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)));
    return _mm512_reduce_add_ps(a0) + gpx_probe_sum_zmm8(p + 4 * q, n - 4 * q);
}
