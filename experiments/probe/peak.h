/*
 * peak.h - the machine's FMA peak: how many GFLOP/s can this machine's
 * cores, right now, get out of fused multiply-adds that never touch memory?
 *
 * The loop (written once in probe_loops.h for every vector width) runs
 * GPX_FMA_CHAINS independent chains a = a * m + c in registers: enough
 * chains to cover the FMA latency on every FMA unit of today's x86 cores
 * (4 cycles x 2 units on Zen 4/5 and Golden Cove, 5 x 2 on Zen 2/3 need
 * 8-10), few enough to stay in the 16 ymm registers of AVX2 with m and c.
 * A sample runs the loop on T threads (an OpenMP team; each thread its own
 * chains, no shared data) for at least min_sample_s of a thread's CPU time;
 * its figure is 2 FLOPs per lane per FMA, summed over the threads, each
 * thread's over its own CPU time (on a shared machine a thread's wait for a
 * core would otherwise stall the whole team: the roof is what the cores do
 * while they run). The result is the median of GPX_FMA_SAMPLES samples. Every kernel this CPU can run (gp_cpu_has: zmm with AVX-512, ymm
 * with AVX2, else a generic 128-bit multiply-and-add) is tried, widest
 * first, and the fastest is reported, so a core whose 512-bit FMAs run at
 * half rate (Zen 4 splits them in two) is not under-reported.
 *
 * It is the compute roof of `gpool profile` instead of OpenBLAS's sgemm,
 * which on some cores runs narrower kernels than gpool's own convolutions.
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_PEAK_H
#define GPOOL_EXPERIMENTS_PROBE_PEAK_H

#include <stddef.h>

#define GPX_FMA_CHAINS  12
#define GPX_FMA_SAMPLES 7

/* iters steps of every chain (a = a * m + c, lane-wise, from a = c); the
 * value only defeats dead-code removal. */
typedef float (*gpx_fma_fn)(size_t iters, float m, float c);

typedef struct {
    double      gflops;       /* median GFLOP/s of the fastest kernel, all threads */
    double      best_gflops;  /* that kernel's fastest sample */
    const char *kernel;       /* "zmm", "ymm" or "generic" */
    int         lanes;        /* floats per vector of that kernel */
    int         fused;        /* 1: one instruction per multiply-add (FMA) */
    int         threads;      /* threads that ran (1 without OpenMP) */
} gpx_fma_result;

/* The FMA peak with threads threads (< 1 means 1); min_sample_s <= 0 means
 * 2 ms. Fills out and returns 0; -1 when no kernel ran. */
int gpx_probe_fma(int threads, double min_sample_s, gpx_fma_result *out);

/* The per-ISA loops (probe_avx512.c, probe_avx2.c; peak.c has the generic
 * one). Only call them when gp_cpu_has() says the ISA is there. */
float gpx_probe_fma_zmm    (size_t iters, float m, float c);
float gpx_probe_fma_ymm    (size_t iters, float m, float c);
float gpx_probe_fma_generic(size_t iters, float m, float c);

#endif /* GPOOL_EXPERIMENTS_PROBE_PEAK_H */
