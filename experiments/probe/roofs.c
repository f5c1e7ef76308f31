/*
 * roofs.c - the peak GFLOP/s and read bandwidth a roofline is drawn
 * against (see roofs.h).
 */
#include "autoconfig.h"

#include "probe/roofs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "probe/peak.h"
#include "probe/probe.h"
#include "util/util.h"

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

int gpx_roofs_sgemm(int n, const volatile sig_atomic_t *stop, gpx_roofs *r)
{
    size_t nn = (size_t)n * n;
    float *a = alloc_floats(nn), *b = alloc_floats(nn), *c = alloc_floats(nn);
    int ok = a && b && c;
    for (size_t i = 0; ok && i < nn; i++) {
        a[i] = 0.25f + (float)(i % 13) * 0.01f;
        b[i] = 0.5f - (float)(i % 7) * 0.01f;
    }
    double best = INFINITY;
    for (int rep = 0; ok && rep < 6 && !*stop; rep++) {
        double t0 = gpx_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double t = gpx_now() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    if (!ok)
        return -1;
    r->sgemm_n = n;
    r->sgemm_gflops = 2.0 * n * (double)n * n / best / 1e9;
    return 0;
}

int gpx_roofs_fma(int threads, const volatile sig_atomic_t *stop, gpx_roofs *r)
{
    /* The names of the kernels peak.c can report, as roof names. */
    static const struct {
        const char *kernel, *source;
    } sources[] = { { "zmm", "fma-zmm" }, { "ymm", "fma-ymm" }, { "generic", "fma-generic" } };
    gpx_fma_result all, one;
    if (*stop || gpx_probe_fma(threads, 0, &all) || *stop || gpx_probe_fma(1, 0, &one))
        return -1;
    r->fma_gflops = all.gflops;
    r->fma_gflops_1t = one.gflops;
    r->fma_threads = all.threads;
    r->peak_gflops = all.gflops;
    r->peak_source = "fma";
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (!strcmp(all.kernel, sources[i].kernel))
            r->peak_source = sources[i].source;
    return 0;
}

/* A buffer of n floats with its pages in place; NULL when out of memory. */
static float *filled_floats(size_t n)
{
    float *p = alloc_floats(n);
    for (size_t j = 0; p && j < n; j++)
        p[j] = 1.0f + (float)(j & 7);
    return p;
}

static int probe_cold(size_t bytes, int threads, const volatile sig_atomic_t *stop,
                      gpx_roofs *r)
{
    enum { NBUF = 8 };
    float *bufs[NBUF] = { NULL };
    size_t n = bytes / NBUF / sizeof(float) / 16 * 16;
    int ok = n > 0;
    for (int i = 0; ok && i < NBUF; i++)
        ok = (bufs[i] = filled_floats(n)) != NULL;
    gpx_probe_result pr;
    size_t cursor = 0;
    if (ok && !*stop &&
        gpx_probe_read((const float *const *)bufs, NBUF, n, &cursor, threads, 0, &pr) == 0) {
        r->dram_gbps = pr.gbps;
        r->dram_kernel = pr.kernel;
        r->dram_bytes = n * NBUF * sizeof(float);
    } else {
        ok = 0;
    }
    for (int i = 0; i < NBUF; i++)
        free(bufs[i]);
    return ok ? 0 : -1;
}

static int probe_hot(size_t bytes, int threads, const volatile sig_atomic_t *stop,
                     gpx_roofs *r)
{
    size_t hn = bytes / sizeof(float);
    float *hot = filled_floats(hn);
    gpx_probe_result pr;
    int ok = hot && !*stop &&
             gpx_probe_read((const float *const *)&hot, 1, hn, NULL, threads, 0, &pr) == 0;
    if (ok) {
        r->cache_gbps = pr.gbps;
        r->cache_kernel = pr.kernel;
        r->cache_bytes = bytes;
    }
    free(hot);
    return ok ? 0 : -1;
}

int gpx_roofs_bandwidth(size_t cold_bytes, size_t hot_bytes, int threads,
                        const volatile sig_atomic_t *stop, gpx_roofs *r)
{
    if (probe_cold(cold_bytes, threads, stop, r))
        return -1;
    return probe_hot(hot_bytes, threads, stop, r);
}
