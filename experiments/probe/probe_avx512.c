/*
 * probe_avx512.c - the probe's 512-bit summing and FMA peak loops
 * (compiled with -mavx512f -mavx2 -mfma; called only when
 * gp_cpu_has(GP_ISA_AVX512)).
 */
#include <immintrin.h>

#include "probe/peak.h"
#include "probe/probe.h"

#define PROBE_VEC       __m512
#define PROBE_LANES     16
#define PROBE_ZERO()    _mm512_setzero_ps()
#define PROBE_LOAD(p)   _mm512_loadu_ps(p)
#define PROBE_ADD(a, b) _mm512_add_ps(a, b)
#define PROBE_HSUM(v)   _mm512_reduce_add_ps(v)
#define PROBE_SUM8      gpx_probe_sum_zmm8
#define PROBE_SUM4X2    gpx_probe_sum_zmm4x2
#define PROBE_SET1(x)      _mm512_set1_ps(x)
#define PROBE_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define PROBE_FMA_RUN      gpx_probe_fma_zmm
#include "probe/probe_loops.h"
