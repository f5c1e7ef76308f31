/*
 * test_tstats.c - experiments/util/tstats.h against values worked out
 * another way: the incomplete beta at parameters where it has a closed
 * form; Student's t CDF and quantiles in closed form (1 and 2 degrees of
 * freedom) and by Simpson integration of the t density with a bisection
 * over it (4, 9, 29 degrees of freedom); the paired test's interval and
 * p-value rebuilt from those; Holm's adjustment worked by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/tstats.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double t_density(double x, double df)
{
    return exp(lgamma(0.5 * (df + 1)) - lgamma(0.5 * df) - 0.5 * log(df * M_PI) -
               0.5 * (df + 1) * log1p(x * x / df));
}

/* P(T <= t) by composite Simpson over [0, |t|] (the density is symmetric). */
static double simpson_cdf(double t, double df)
{
    const int n = 20000;
    double h = fabs(t) / n, s = t_density(0, df) + t_density(fabs(t), df);
    for (int i = 1; i < n; i++)
        s += (i % 2 ? 4 : 2) * t_density(i * h, df);
    double half = s * h / 3.0;
    return t >= 0 ? 0.5 + half : 0.5 - half;
}

static double simpson_quantile(double p, double df)
{
    double lo = 0, hi = 50;
    for (int i = 0; i < 60; i++) {
        double mid = 0.5 * (lo + hi);
        if (simpson_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void test_beta_closed_forms(void **state)
{
    (void)state;
    const double xs[] = { 0.05, 0.3, 0.5, 0.77, 0.99 };
    for (size_t i = 0; i < 5; i++) {
        double x = xs[i];
        assert_true(fabs(gpx_beta_inc(2.5, 1, x) - pow(x, 2.5)) < 1e-13);
        assert_true(fabs(gpx_beta_inc(1, 3.5, x) - (1 - pow(1 - x, 3.5))) < 1e-13);
        /* I_x(2, 2) = 3x^2 - 2x^3 */
        assert_true(fabs(gpx_beta_inc(2, 2, x) - (3 * x * x - 2 * x * x * x)) < 1e-13);
        /* symmetry I_x(a, b) = 1 - I_{1-x}(b, a) */
        assert_true(fabs(gpx_beta_inc(4.5, 0.5, x) + gpx_beta_inc(0.5, 4.5, 1 - x) - 1) < 1e-13);
    }
    assert_true(isnan(gpx_beta_inc(1, 1, 1.5)));
    assert_true(isnan(gpx_beta_inc(0, 1, 0.5)));
}

static void test_t_cdf_and_quantile_closed_forms(void **state)
{
    (void)state;
    const double ts[] = { -7.3, -1.1, 0.0, 0.4, 2.2, 12.7 };
    for (size_t i = 0; i < 6; i++) {
        double t = ts[i];
        assert_true(fabs(gpx_t_cdf(t, 1) - (0.5 + atan(t) / M_PI)) < 1e-13);
        assert_true(fabs(gpx_t_cdf(t, 2) - (0.5 + t / (2 * sqrt(2 + t * t)))) < 1e-13);
    }
    const double ps[] = { 0.6, 0.9, 0.975, 0.995, 0.025 };
    for (size_t i = 0; i < 5; i++) {
        double p = ps[i];
        double q1 = tan(M_PI * (p - 0.5)), q2 = (2 * p - 1) / sqrt(2 * p * (1 - p));
        assert_true(fabs(gpx_t_quantile(p, 1) - q1) < 1e-9 * fmax(1, fabs(q1)));
        assert_true(fabs(gpx_t_quantile(p, 2) - q2) < 1e-9 * fmax(1, fabs(q2)));
    }
    assert_true(isnan(gpx_t_quantile(1.0, 3)));
}

static void test_t_against_integration(void **state)
{
    (void)state;
    const double dfs[] = { 4, 9, 29 };
    for (size_t i = 0; i < 3; i++) {
        double df = dfs[i];
        for (double t = -3.5; t <= 3.5; t += 0.7)
            assert_true(fabs(gpx_t_cdf(t, df) - simpson_cdf(t, df)) < 1e-10);
        double q = simpson_quantile(0.975, df);
        assert_true(fabs(gpx_t_quantile(0.975, df) - q) < 1e-8);
        assert_true(fabs(gpx_t_cdf(gpx_t_quantile(0.975, df), df) - 0.975) < 1e-13);
    }
}

static void test_paired(void **state)
{
    (void)state;
    const double d[] = { 0.012, -0.004, 0.021, 0.007, 0.015 };
    gpx_paired s = gpx_paired_t(d, 5, 0.95);
    double mean = 0.0102, ss = 0;
    for (int i = 0; i < 5; i++)
        ss += (d[i] - mean) * (d[i] - mean);
    double se = sqrt(ss / 4) / sqrt(5.0), q = simpson_quantile(0.975, 4);
    assert_int_equal(s.n, 5);
    assert_false(s.constant);
    assert_true(fabs(s.mean - mean) < 1e-15);
    assert_true(fabs(s.lo - (mean - q * se)) < 1e-9);
    assert_true(fabs(s.hi - (mean + q * se)) < 1e-9);
    assert_true(fabs(s.p - 2 * simpson_cdf(-mean / se, 4)) < 1e-9);
    assert_true(s.p > 0.01 && s.p < 0.2);

    const double same[] = { -5120, -5120, -5120 };
    s = gpx_paired_t(same, 3, 0.95);
    assert_true(s.constant);
    assert_true(s.mean == -5120);
    assert_true(isnan(s.lo) && isnan(s.p));
    s = gpx_paired_t(d, 1, 0.95);
    assert_false(s.constant);
    assert_true(isnan(s.lo) && s.mean == d[0]);
}

static void test_holm(void **state)
{
    (void)state;
    /* finite ones sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06,
     * 0.04 x 1 = 0.04 -> 0.06 (never below the one before) */
    const double p[] = { 0.01, 0.04, 0.03, NAN, 0.005 };
    const double want[] = { 0.03, 0.06, 0.06, NAN, 0.02 };
    double adj[5];
    gpx_holm(p, 5, adj);
    for (int i = 0; i < 5; i++)
        if (isnan(want[i]))
            assert_true(isnan(adj[i]));
        else
            assert_true(fabs(adj[i] - want[i]) < 1e-15);
    const double big[] = { 0.6, 0.5 };
    gpx_holm(big, 2, adj);
    assert_true(adj[0] == 1.0 && adj[1] == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beta_closed_forms),
        cmocka_unit_test(test_t_cdf_and_quantile_closed_forms),
        cmocka_unit_test(test_t_against_integration),
        cmocka_unit_test(test_paired),
        cmocka_unit_test(test_holm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
