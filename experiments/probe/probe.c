/*
 * probe.c - read-bandwidth probe (see probe.h): kernel choice at run time,
 * the threaded sample loop, calibration and the best-of over kernels.
 */
#include "autoconfig.h"

#include "probe/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool.h"
#include "util/util.h"

/* Portable fallback: eight accumulators of 128-bit GCC vectors (SSE2 on
 * x86-64, NEON elsewhere), or plain floats for other compilers. */
#if defined(__GNUC__)
typedef float gpx_v4 __attribute__((vector_size(16)));

float gpx_probe_sum_generic(const float *p, size_t n)
{
    gpx_v4 a[8] = { { 0 } };
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 8; k++) {
            gpx_v4 v;
            memcpy(&v, p + i + 4 * k, sizeof v); /* unaligned-safe load */
            a[k] += v;
        }
    gpx_v4 t = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    float s = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++)
        s += p[i];
    return s;
}
#else
float gpx_probe_sum_generic(const float *p, size_t n)
{
    float a[8] = { 0 };
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            a[k] += p[i + k];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++)
        s += p[i];
    return s;
}
#endif

/* ------------------------------------------------------- kernel table */

typedef struct {
    gpx_probe_kernel k;
    gp_isa           isa;         /* needs it */
    int              redundant;   /* left out when AVX-512 is there (see below) */
} kernel_entry;

/* Every kernel costs probe time before every row, so only the ones that
 * can win compete: with AVX-512, the 4-stream loop uses zmm loads (the one
 * bw.c has); the ymm 4-stream loop is for AVX2-only machines, and the
 * generic loop only runs where no SIMD loop can. */
static const kernel_entry all_kernels[] = {
#ifdef GPOOL_HAVE_AVX512_KERNELS
    { { "zmm8", gpx_probe_sum_zmm8 }, GP_ISA_AVX512, 0 },
    { { "zmm4x2", gpx_probe_sum_zmm4x2 }, GP_ISA_AVX512, 0 },
#endif
#ifdef GPOOL_HAVE_AVX2_KERNELS
    { { "ymm8", gpx_probe_sum_ymm8 }, GP_ISA_AVX2, 0 },
    { { "ymm4x2", gpx_probe_sum_ymm4x2 }, GP_ISA_AVX2, 1 },
#endif
    { { "generic", gpx_probe_sum_generic }, GP_ISA_SCALAR, 0 },
};
#define N_ALL_KERNELS (sizeof all_kernels / sizeof all_kernels[0])

size_t gpx_probe_kernels(const gpx_probe_kernel **out)
{
    /* Rebuilt per call: the CPU mask can change at run time. */
    static gpx_probe_kernel usable[N_ALL_KERNELS];
    size_t count = 0;
    int have_simd = 0, have_avx512 = 0;
    for (size_t i = 0; i < N_ALL_KERNELS; i++) {
        const kernel_entry *e = &all_kernels[i];
        if (e->isa != GP_ISA_SCALAR && !gp_cpu_has(e->isa))
            continue;
        if ((e->isa == GP_ISA_SCALAR && have_simd) || (e->redundant && have_avx512))
            continue;
        have_simd |= e->isa != GP_ISA_SCALAR;
        have_avx512 |= e->isa == GP_ISA_AVX512;
        usable[count++] = e->k;
    }
    *out = usable;
    return count;
}

/* ------------------------------------------------------- the sampling */

/* Threads write their partial sums here, one cache line each, so the sink
 * stores do not bounce a shared line between cores. */
typedef struct {
    float v;
    char  pad[60];
} padded_float;

#define MAX_SLOTS 64
volatile float gpx_probe_sink;

/* [begin, end) of thread id's share of n floats, in whole 16-float (64-byte)
 * blocks; the last thread also takes the tail. */
static void thread_share(size_t n, int id, int nt, size_t *begin, size_t *end)
{
    size_t blocks = n / 16;
    *begin = 16 * (blocks * (size_t)id / (size_t)nt);
    *end = id == nt - 1 ? n : 16 * (blocks * (size_t)(id + 1) / (size_t)nt);
}

/* Sum m consecutive buffers starting at *cursor; returns seconds. */
static double timed_sample(gpx_sum_fn sum, const float *const *bufs, size_t nbufs, size_t n,
                           size_t *cursor, size_t m, int threads, int *threads_ran)
{
    padded_float slots[MAX_SLOTS];
    memset(slots, 0, sizeof slots);
    size_t start = *cursor;
    int ran = 1;
    double t0 = gpx_now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
    {
        int id = 0, nt = 1;
#ifdef _OPENMP
        id = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        size_t b, e;
        thread_share(n, id, nt, &b, &e);
        float acc = 0;
        size_t k = start;
        for (size_t i = 0; i < m; i++) {
            if (e > b)
                acc += sum(bufs[k] + b, e - b);
            if (++k == nbufs)
                k = 0;
#if defined(__GNUC__)
            /* Keep each pass a real re-read of memory. */
            __asm__ volatile("" ::: "memory");
#endif
        }
        slots[id % MAX_SLOTS].v = acc;
        if (id == 0)
            ran = nt;
    }
    double dt = gpx_now() - t0;
    float s = 0;
    for (int i = 0; i < MAX_SLOTS; i++)
        s += slots[i].v;
    gpx_probe_sink = s;
    *cursor = (start + m) % nbufs;
    *threads_ran = ran;
    return dt;
}

/* Calibrate the buffers per sample, warm up, then time the samples. */
static void probe_one(const gpx_probe_kernel *kern, const float *const *bufs, size_t nbufs,
                      size_t n, size_t *cursor, int threads, double min_sample_s,
                      gpx_probe_result *out)
{
    int ran = 1;
    size_t m = 1;
    /* Size samples from the fastest buffer pass seen, not the last one: a
     * sample that lost the CPU to another process (a whole scheduler slice
     * on a shared VM) would otherwise leave m tiny and every later sample
     * dominated by fork-join. The first sample also wakes sleeping threads,
     * so it never counts. */
    double best_pass = INFINITY;
    for (int it = 0; it < 40; it++) {
        double dt = timed_sample(kern->sum, bufs, nbufs, n, cursor, m, threads, &ran);
        if (it > 0 && dt / (double)m < best_pass)
            best_pass = dt / (double)m;
        if (it > 0 && (double)m * best_pass >= min_sample_s)
            break;
        double want = isfinite(best_pass) && best_pass > 0
                          ? 1.2 * min_sample_s / best_pass
                          : (double)m * 8;
        if (want > (double)m * 64)
            want = (double)m * 64;
        m = want > (double)m ? (size_t)ceil(want) : m + 1;
    }
    double gbps[GPX_PROBE_SAMPLES];
    double bytes = (double)m * (double)n * sizeof(float);
    for (int s = 0; s < GPX_PROBE_SAMPLES; s++) {
        double dt = timed_sample(kern->sum, bufs, nbufs, n, cursor, m, threads, &ran);
        gbps[s] = bytes / dt / 1e9;
    }
    double best = gbps[0];
    for (int s = 1; s < GPX_PROBE_SAMPLES; s++)
        if (gbps[s] > best)
            best = gbps[s];
    out->gbps = gpx_median(gbps, GPX_PROBE_SAMPLES);
    out->best_gbps = best;
    out->kernel = kern->name;
    out->threads = ran;
    out->sample_bytes = (size_t)bytes;
    out->samples = GPX_PROBE_SAMPLES;
    out->sample_s = min_sample_s;
}

static int check_args(const float *const *bufs, size_t nbufs, size_t n, int *threads,
                      double *min_sample_s)
{
    if (!bufs || nbufs == 0 || n == 0)
        return -1;
    if (*threads < 1)
        *threads = 1;
    if (!(*min_sample_s > 0))
        *min_sample_s = GPX_PROBE_MIN_SAMPLE_S;
    return 0;
}

/* The fastest of the kernels named only (NULL: every kernel this CPU can
 * run) on the buffers; -1 if none ran. */
static int probe_best(const char *only, const float *const *bufs, size_t nbufs, size_t n,
                      size_t *cursor, int threads, double min_sample_s, gpx_probe_result *out)
{
    if (check_args(bufs, nbufs, n, &threads, &min_sample_s) != 0)
        return -1;
    size_t own_cursor = 0;
    if (!cursor)
        cursor = &own_cursor;
    const gpx_probe_kernel *kernels;
    size_t count = gpx_probe_kernels(&kernels);
    int ran = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < count; i++) {
        if (only && strcmp(kernels[i].name, only))
            continue;
        gpx_probe_result r;
        probe_one(&kernels[i], bufs, nbufs, n, cursor, threads, min_sample_s, &r);
        if (!ran++ || r.gbps > out->gbps)
            *out = r;
    }
    return ran ? 0 : -1;
}

int gpx_probe_read(const float *const *bufs, size_t nbufs, size_t n, size_t *cursor,
                   int threads, double min_sample_s, gpx_probe_result *out)
{
    return probe_best(NULL, bufs, nbufs, n, cursor, threads, min_sample_s, out);
}

int gpx_probe_read_with(const char *kernel, const float *const *bufs, size_t nbufs,
                        size_t n, size_t *cursor, int threads, double min_sample_s,
                        gpx_probe_result *out)
{
    return probe_best(kernel, bufs, nbufs, n, cursor, threads, min_sample_s, out);
}
