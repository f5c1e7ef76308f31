/*
 * probe.h - read-bandwidth probe: how fast can this machine, right now,
 * stream through these very buffers with this many threads?
 *
 * The probe sums float buffers STREAM-style (a sum, so it only reads) with
 * several SIMD loops - 512-bit and 256-bit loads, one stream or four
 * concurrent streams, each with eight independent accumulators so the loop
 * is bound by loads, not by add latency - and reports the loop that was
 * fastest this time. Which loop wins depends on the machine and the level
 * of the memory hierarchy (on a Sapphire Rapids VM the four-stream zmm loop
 * streams DRAM up to ~15% faster than one zmm stream on one core; on the
 * peers' Zen 4 VM ymm loads won), so every call tries them all, like the
 * peers' bw.c best-of: zmm8, zmm4x2 and ymm8 with AVX-512; ymm8 and ymm4x2
 * with AVX2 only; a generic loop without either.
 *
 * With T threads every thread sums its own contiguous, 64-byte aligned share
 * of each buffer, and a sample has no barrier between buffers: the figure is
 * a sync-free upper bound for a kernel that reads the same bytes.
 *
 * A sample reads m consecutive buffers of the set, continuing the rotation
 * from *cursor, with m chosen so that a sample lasts at least min_sample_s
 * (default GPX_PROBE_MIN_SAMPLE_S, 2 ms):
 *   hot  - a set of one buffer, summed m times (cache-resident if it fits);
 *   cold - a rotation over buffers totalling more than the caches, so each
 *          buffer was last touched a whole rotation ago.
 * The result is the median GB/s (1 GB = 1e9 bytes) of GPX_PROBE_SAMPLES
 * samples after calibration and warm-up.
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_H
#define GPOOL_EXPERIMENTS_PROBE_H

#include <stddef.h>

#define GPX_PROBE_SAMPLES      7
#define GPX_PROBE_MIN_SAMPLE_S 2e-3

/* Sum of p[0..n-1] in any order (the value only defeats dead-code removal). */
typedef float (*gpx_sum_fn)(const float *p, size_t n);

typedef struct {
    const char *name;  /* "zmm8", "zmm4x2", "ymm8", "ymm4x2", "generic" */
    gpx_sum_fn  sum;
} gpx_probe_kernel;

/* Kernels this build and CPU can run now (gp_cpu_has(), so GPOOL_CPU_MASK
 * hides the wide ones too), widest first. Returns the count; *out points at
 * a static table. */
size_t gpx_probe_kernels(const gpx_probe_kernel **out);

typedef struct {
    double      gbps;       /* median GB/s of the fastest kernel */
    double      best_gbps;  /* that kernel's fastest sample */
    const char *kernel;     /* its name */
    int         threads;    /* threads that ran (1 without OpenMP) */
    size_t      sample_bytes; /* bytes one sample read */
    double      sample_s;   /* the sample length asked for */
    int         samples;    /* timed samples per kernel */
} gpx_probe_result;

/* Probe the set of nbufs buffers of n floats each (64-byte aligned, so the
 * thread shares are too). cursor (may be NULL) is the rotation position the
 * caller shares with its own use of the set; the probe advances it. threads
 * < 1 means 1; min_sample_s <= 0 means GPX_PROBE_MIN_SAMPLE_S. Returns 0, or
 * -1 when n or nbufs is 0. */
int gpx_probe_read(const float *const *bufs, size_t nbufs, size_t n, size_t *cursor,
                   int threads, double min_sample_s, gpx_probe_result *out);

/* Same with one named kernel (for tests and --probe diagnostics); -1 when
 * the name is not among gpx_probe_kernels(). */
int gpx_probe_read_with(const char *kernel, const float *const *bufs, size_t nbufs,
                        size_t n, size_t *cursor, int threads, double min_sample_s,
                        gpx_probe_result *out);

/* The per-ISA loops (probe_avx512.c, probe_avx2.c; probe.c has the generic
 * one). Only call them when gp_cpu_has() says the ISA is there. */
float gpx_probe_sum_zmm8  (const float *p, size_t n);
float gpx_probe_sum_zmm4x2(const float *p, size_t n);
float gpx_probe_sum_ymm8  (const float *p, size_t n);
float gpx_probe_sum_ymm4x2(const float *p, size_t n);
float gpx_probe_sum_generic(const float *p, size_t n);

#endif /* GPOOL_EXPERIMENTS_PROBE_H */
