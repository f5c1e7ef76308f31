/*
 * roofs.h - the roofs of a roofline chart for this machine, measured on
 * the threads the caller runs with: the FMA peak (peak.h; the compute
 * roof), the peak GFLOP/s of a large square sgemm (OpenBLAS; beside it, as
 * what a library sgemm reaches here), and the read bandwidth of the probe
 * (probe.h) from DRAM and from a cache-resident buffer.
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_ROOFS_H
#define GPOOL_EXPERIMENTS_PROBE_ROOFS_H

#include <signal.h>
#include <stddef.h>

typedef struct {
    double      peak_gflops;   /* the compute roof: fma_gflops once measured */
    const char *peak_source;   /* which peak that is: "fma-zmm", "fma-ymm", "fma-generic" */
    double      fma_gflops;    /* FMA peak on the caller's threads */
    double      fma_gflops_1t; /* ... and on one thread */
    int         fma_threads;   /* threads of fma_gflops */
    double      sgemm_gflops;  /* best sgemm */
    int         sgemm_n;       /* its side */
    double      dram_gbps, cache_gbps;
    const char *dram_kernel, *cache_kernel;   /* the probe loops that won */
    size_t      dram_bytes;    /* the cold rotation the DRAM figure read */
    size_t      cache_bytes;   /* the hot buffer the cache figure read */
} gpx_roofs;

/* The best of a few n x n sgemms (the first, untimed, starts the threads)
 * into sgemm_gflops and sgemm_n. 0, or -1 when out of memory. Stops early
 * (with a figure from what ran) once *stop is set. */
int gpx_roofs_sgemm(int n, const volatile sig_atomic_t *stop, gpx_roofs *r);

/* The FMA peak on threads threads and on one (peak.h) into fma_*, and
 * the compute roof (peak_gflops, peak_source) set from it. 0, or -1 when
 * *stop is set. */
int gpx_roofs_fma(int threads, const volatile sig_atomic_t *stop, gpx_roofs *r);

/* The probe's read bandwidth with threads threads: cold, a rotation through
 * cold_bytes in 8 buffers (each last touched a rotation ago); hot, one
 * buffer of hot_bytes (a size that fits the L2 of the cores it is split
 * over). The buffers are filled first so their pages exist. 0, or -1 when
 * out of memory or *stop is set. */
int gpx_roofs_bandwidth(size_t cold_bytes, size_t hot_bytes, int threads,
                        const volatile sig_atomic_t *stop, gpx_roofs *r);

#endif /* GPOOL_EXPERIMENTS_PROBE_ROOFS_H */
