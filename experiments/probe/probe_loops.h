/*
 * probe_loops.h - the probe's summing loops, written once for every vector
 * width (as ggml's SIMD mappings do). A per-ISA file defines the mapping
 * and includes this file:
 *   PROBE_VEC          the vector type
 *   PROBE_LANES        floats per vector
 *   PROBE_ZERO()       a vector of zeros
 *   PROBE_LOAD(p)      an unaligned load
 *   PROBE_ADD(a, b)    lane-wise a + b
 *   PROBE_HSUM(v)      the sum of the lanes, as a float
 *   PROBE_SUM8         the one-stream function's name
 *   PROBE_SUM4X2       the four-stream function's name
 *   PROBE_SET1(x)      a vector of x in every lane
 *   PROBE_FMA(a, b, c) lane-wise a * b + c, one fused instruction
 *   PROBE_FMA_RUN      the FMA peak loop's name (probe/peak.h)
 * Eight independent accumulators keep the adds off the critical path, so
 * the loops are bound by how fast loads arrive.
 */
#define PROBE_ADD4(a, b, c, d) PROBE_ADD(PROBE_ADD(a, b), PROBE_ADD(c, d))

/* One stream: consecutive loads into eight accumulators. */
float PROBE_SUM8(const float *p, size_t n)
{
    const size_t v = PROBE_LANES;
    PROBE_VEC a[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        a[k] = PROBE_ZERO();
    size_t i = 0;
    for (; i + 8 * v <= n; i += 8 * v)
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            a[k] = PROBE_ADD(a[k], PROBE_LOAD(p + i + k * v));
    for (; i + v <= n; i += v)
        a[0] = PROBE_ADD(a[0], PROBE_LOAD(p + i));
    float s = PROBE_HSUM(PROBE_ADD(PROBE_ADD4(a[0], a[1], a[2], a[3]),
                                   PROBE_ADD4(a[4], a[5], a[6], a[7])));
    for (; i < n; i++)
        s += p[i];
    return s;
}

/* Four concurrent streams (the quarters of the range), two loads each per
 * step: more open DRAM pages and hardware-prefetch streams per core, which
 * one core needs to approach DRAM bandwidth on some machines. */
float PROBE_SUM4X2(const float *p, size_t n)
{
    const size_t v = PROBE_LANES;
    size_t q = (n / 4) & ~(2 * v - 1);
    PROBE_VEC a[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        a[k] = PROBE_ZERO();
    for (size_t i = 0; i < q; i += 2 * v)
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            a[k] = PROBE_ADD(a[k], PROBE_LOAD(p + (size_t)(k % 4) * q + i + (size_t)(k / 4) * v));
    float s = PROBE_HSUM(PROBE_ADD(PROBE_ADD4(a[0], a[1], a[2], a[3]),
                                   PROBE_ADD4(a[4], a[5], a[6], a[7])));
    return s + PROBE_SUM8(p + 4 * q, n - 4 * q);
}

/* The FMA peak (probe/peak.h): GPX_FMA_CHAINS independent chains in
 * registers, so the loop is bound by the FMA units' throughput, not by one
 * FMA's latency, and touches no memory. m < 1 keeps every chain finite
 * (it converges to c / (1 - m)). */
float PROBE_FMA_RUN(size_t iters, float m, float c)
{
    PROBE_VEC a[GPX_FMA_CHAINS];
    const PROBE_VEC vm = PROBE_SET1(m), vc = PROBE_SET1(c);
#pragma GCC unroll 12
    for (int k = 0; k < GPX_FMA_CHAINS; k++)
        a[k] = PROBE_SET1(c * (float)(k + 1));
    for (size_t i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int k = 0; k < GPX_FMA_CHAINS; k++)
            a[k] = PROBE_FMA(a[k], vm, vc);
#pragma GCC unroll 12
    for (int k = 1; k < GPX_FMA_CHAINS; k++)
        a[0] = PROBE_ADD(a[0], a[k]);
    return PROBE_HSUM(a[0]);
}
