/*
 * test_peak.c - the FMA peak (probe/peak.h) gives a plausible figure:
 * positive, and at most what the cores could do at a generous clock:
 * threads x 2 FMA units x 2 FLOPs x lanes x GHz, the clock taken from
 * cpufreq's maximum or twice /proc/cpuinfo's "cpu MHz" (a VM's nominal
 * clock; boost runs above it), 6.5 GHz when neither is there. Also: the
 * kernel is the widest the CPU has, and a CPU mask that hides the SIMD
 * sets falls back to the generic loop. No timing assertion beyond that
 * physical bound: a lower one (a quarter of sgemm's figure) failed in
 * CI's sanitizer build, where only the probe loop is instrumented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool.h"
#include "probe/peak.h"
#include "probe/roofs.h"

/* cpufreq's maximum clock of cpu0 in GHz, or 0. */
static double cpufreq_max_ghz(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
    double khz = 0;
    if (f) {
        if (fscanf(f, "%lf", &khz) != 1)
            khz = 0;
        fclose(f);
    }
    return khz / 1e6;
}

/* The largest "cpu MHz" of /proc/cpuinfo in GHz, or 0. */
static double cpuinfo_ghz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    double best = 0, mhz;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 && mhz / 1e3 > best)
            best = mhz / 1e3;
    if (f)
        fclose(f);
    return best;
}

static double bound_ghz(void)
{
    double g = cpufreq_max_ghz(), c = 2 * cpuinfo_ghz();
    g = g > c ? g : c;
    return g > 0 ? g : 6.5;
}

/* The most GFLOP/s r's kernel could reach on its threads (capped at the
 * CPUs online: more threads share the same FMA units). */
static double upper_bound(const gpx_fma_result *r)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double cores = r->threads < cpus || cpus < 1 ? r->threads : (double)cpus;
    return cores * 2 * 2 * r->lanes * bound_ghz();
}

static int all_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void test_widest_kernel(void **state)
{
    (void)state;
    gpx_fma_result r;
    assert_int_equal(gpx_probe_fma(1, 1e-3, &r), 0);
    const char *want = gp_cpu_has(GP_ISA_AVX512) ? "zmm" : gp_cpu_has(GP_ISA_AVX2) ? "ymm"
                                                                                  : "generic";
    /* zmm may lose to ymm on a core that splits 512-bit FMAs in two. */
    if (strcmp(want, "zmm") || strcmp(r.kernel, "ymm"))
        assert_string_equal(r.kernel, want);
    assert_int_equal(r.threads, 1);
    assert_int_equal(r.fused, strcmp(r.kernel, "generic") != 0);
    assert_true(r.best_gflops >= r.gflops);
}

static void test_plausible_on_all_threads(void **state)
{
    (void)state;
    static volatile sig_atomic_t never;
    gpx_roofs m;
    memset(&m, 0, sizeof m);
    assert_int_equal(gpx_roofs_sgemm(384, &never, &m), 0);
    assert_int_equal(gpx_roofs_fma(all_threads(), &never, &m), 0);
    gpx_fma_result r;
    assert_int_equal(gpx_probe_fma(all_threads(), 0, &r), 0);
    print_message("# FMA peak %.1f GFLOP/s (%s, %d threads; %.1f on 1), sgemm 384 %.1f, "
                  "bound %.1f\n", m.fma_gflops, m.peak_source, m.fma_threads, m.fma_gflops_1t,
                  m.sgemm_gflops, upper_bound(&r));
    assert_true(m.sgemm_gflops > 0);
    assert_true(m.fma_gflops > 0);
    assert_true(r.gflops > 0);
    assert_true(r.gflops <= upper_bound(&r));
    assert_true(m.fma_gflops_1t > 0);
    assert_true(m.peak_gflops == m.fma_gflops);
    assert_true(!strncmp(m.peak_source, "fma-", 4));
    assert_int_equal(m.fma_threads, all_threads());
}

static void test_generic_under_mask(void **state)
{
    (void)state;
    assert_int_equal(gp_set_cpu_mask(GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512), GP_OK);
    gpx_fma_result r;
    int rc = gpx_probe_fma(1, 1e-3, &r);
    gp_set_cpu_mask(0);
    assert_int_equal(rc, 0);
    assert_string_equal(r.kernel, "generic");
    assert_int_equal(r.fused, 0);
    assert_true(r.gflops > 0 && r.gflops <= upper_bound(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widest_kernel),
        cmocka_unit_test(test_plausible_on_all_threads),
        cmocka_unit_test(test_generic_under_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
