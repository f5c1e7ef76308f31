/*
 * peak.c - the FMA peak (see peak.h): kernel choice at run time, the
 * threaded sample loop and its calibration.
 */
#include "autoconfig.h"

#include "probe/peak.h"

#include <math.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool.h"
#include "util/util.h"

/* Without AVX2: a multiply and an add per lane of 128-bit GCC vectors (SSE2
 * on x86-64, NEON elsewhere; 2 FLOPs either way), or plain floats. */
#if defined(__GNUC__)
typedef float gpx_v4 __attribute__((vector_size(16)));
#define GENERIC_LANES 4
float gpx_probe_fma_generic(size_t iters, float m, float c)
{
    gpx_v4 a[GPX_FMA_CHAINS];
    const gpx_v4 vm = { m, m, m, m }, vc = { c, c, c, c };
    for (int k = 0; k < GPX_FMA_CHAINS; k++)
        a[k] = vc * (float)(k + 1);
    for (size_t i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int k = 0; k < GPX_FMA_CHAINS; k++)
            a[k] = a[k] * vm + vc;
    for (int k = 1; k < GPX_FMA_CHAINS; k++)
        a[0] += a[k];
    return (a[0][0] + a[0][1]) + (a[0][2] + a[0][3]);
}
#else
#define GENERIC_LANES 1
float gpx_probe_fma_generic(size_t iters, float m, float c)
{
    float a[GPX_FMA_CHAINS];
    for (int k = 0; k < GPX_FMA_CHAINS; k++)
        a[k] = c * (float)(k + 1);
    for (size_t i = 0; i < iters; i++)
        for (int k = 0; k < GPX_FMA_CHAINS; k++)
            a[k] = a[k] * m + c;
    for (int k = 1; k < GPX_FMA_CHAINS; k++)
        a[0] += a[k];
    return a[0];
}
#endif

typedef struct {
    const char *name;
    gpx_fma_fn  run;
    int         lanes;
    gp_isa      isa;   /* needs it */
} fma_kernel;

static const fma_kernel all_kernels[] = {
#ifdef GPOOL_HAVE_AVX512_KERNELS
    { "zmm", gpx_probe_fma_zmm, 16, GP_ISA_AVX512 },
#endif
#ifdef GPOOL_HAVE_AVX2_KERNELS
    { "ymm", gpx_probe_fma_ymm, 8, GP_ISA_AVX2 },
#endif
    { "generic", gpx_probe_fma_generic, GENERIC_LANES, GP_ISA_SCALAR },
};
#define N_KERNELS (sizeof all_kernels / sizeof all_kernels[0])

/* Threads write their results here, one cache line each. */
typedef struct {
    float  v;
    double cpu_s;   /* the thread's CPU time for its run */
    char   pad[48];
} thread_slot;

#define MAX_SLOTS 64
volatile float gpx_fma_sink;

/* The calling thread's CPU time in seconds. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* iters steps of k on threads threads. Returns the sum over the threads of
 * each one's FMA steps per second of its own CPU time: what the cores do
 * while they run the loop, whatever else holds them in between (other
 * processes on a shared machine would otherwise make one thread's wait for
 * a core the whole team's). SMT siblings that share FMA units each get half
 * the steps in their CPU time, so the sum stays what the units deliver. */
static double sample_rate(const fma_kernel *k, size_t iters, int threads, int *ran)
{
    thread_slot slots[MAX_SLOTS];
    memset(slots, 0, sizeof slots);
    int team = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
    {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
        if (id == 0)
            team = omp_get_num_threads();
#endif
        double t0 = thread_cpu_s();
        /* m and c differ per thread and are not constants: nothing folds. */
        float v = k->run(iters, 0.999f - 1e-4f * (float)id, 0.5f);
        slots[id % MAX_SLOTS].cpu_s = thread_cpu_s() - t0;
        slots[id % MAX_SLOTS].v = v;
    }
    float s = 0;
    double rate = 0;
    for (int i = 0; i < MAX_SLOTS && i < team; i++) {
        s += slots[i].v;
        rate += slots[i].cpu_s > 0 ? (double)iters / slots[i].cpu_s : 0;
    }
    gpx_fma_sink = s;
    *ran = team;
    return rate;
}

/* Steps per sample so that one lasts min_sample_s of a thread's CPU time,
 * from the fastest of a few growing trial runs (the first also wakes the
 * threads, so it never counts). */
static size_t calibrate(const fma_kernel *k, int threads, double min_sample_s)
{
    size_t iters = 1024;
    double best = 0;   /* steps per second of one thread */
    int ran;
    for (int it = 0; it < 30; it++) {
        double r = sample_rate(k, iters, threads, &ran) / ran;
        if (it > 0 && r > best)
            best = r;
        if (it > 0 && best > 0 && (double)iters / best >= min_sample_s)
            break;
        double want = best > 0 ? 1.2 * min_sample_s * best : 8.0 * (double)iters;
        iters = want > 64.0 * (double)iters ? 64 * iters
                : want > (double)iters      ? (size_t)ceil(want) : iters;
    }
    return iters;
}

static void probe_one(const fma_kernel *k, int threads, double min_sample_s,
                      gpx_fma_result *out)
{
    size_t iters = calibrate(k, threads, min_sample_s);
    double g[GPX_FMA_SAMPLES], best = 0;
    int ran = 1;
    for (int s = 0; s < GPX_FMA_SAMPLES; s++) {
        g[s] = 2.0 * GPX_FMA_CHAINS * k->lanes * sample_rate(k, iters, threads, &ran) / 1e9;
        best = g[s] > best ? g[s] : best;
    }
    out->gflops = gpx_median(g, GPX_FMA_SAMPLES);
    out->best_gflops = best;
    out->kernel = k->name;
    out->lanes = k->lanes;
    out->fused = k->isa != GP_ISA_SCALAR;
    out->threads = ran;
}

int gpx_probe_fma(int threads, double min_sample_s, gpx_fma_result *out)
{
    if (threads < 1)
        threads = 1;
    if (!(min_sample_s > 0))
        min_sample_s = 2e-3;
    memset(out, 0, sizeof *out);
    int ran = 0, have_simd = 0;
    for (size_t i = 0; i < N_KERNELS; i++) {
        const fma_kernel *k = &all_kernels[i];
        if (k->isa != GP_ISA_SCALAR && !gp_cpu_has(k->isa))
            continue;
        if (k->isa == GP_ISA_SCALAR && have_simd)
            continue;
        have_simd |= k->isa != GP_ISA_SCALAR;
        gpx_fma_result r;
        probe_one(k, threads, min_sample_s, &r);
        if (!ran++ || r.gflops > out->gflops)
            *out = r;
    }
    return ran ? 0 : -1;
}
