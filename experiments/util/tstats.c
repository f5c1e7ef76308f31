/*
 * tstats.c - Student's t distribution and the paired t test (util/tstats.h).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>

#include "util/tstats.h"

/* The continued fraction of I_x(a, b) (modified Lentz), valid where it
 * converges fast: x < (a + 1) / (a + b + 2); the caller uses symmetry. */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        for (int half = 0; half < 2; half++) {
            d = 1.0 + num * d;
            c = 1.0 + num / c;
            d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
            if (fabs(c) < tiny)
                c = tiny;
            h *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        }
        if (fabs(d * c - 1.0) < 3e-16)
            break;
    }
    return h;
}

double gpx_beta_inc(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * beta_fraction(a, b, x) / a;
    return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

double gpx_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    double tail = 0.5 * gpx_beta_inc(0.5 * df, 0.5, df / (df + t * t));
    return t > 0 ? 1.0 - tail : tail;
}

double gpx_t_quantile(double p, double df)
{
    if (!(p > 0) || !(p < 1) || !(df > 0))
        return NAN;
    if (p < 0.5)
        return -gpx_t_quantile(1.0 - p, df);
    double lo = 0.0, hi = 1.0;
    while (gpx_t_cdf(hi, df) < p && hi < 1e300)
        hi *= 2.0;
    /* bisection: the CDF is monotone, and 200 halvings reach the last bit */
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (gpx_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

gpx_paired gpx_paired_t(const double *d, size_t n, double level)
{
    gpx_paired r = { .n = n, .mean = NAN, .sd = NAN, .lo = NAN, .hi = NAN, .t = NAN,
                     .p = NAN };
    if (!n)
        return r;
    double sum = 0.0, ss = 0.0;
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        sum += d[i];
        same &= d[i] == d[0];
    }
    r.mean = sum / n;
    if (n < 2)
        return r;
    r.constant = same;
    for (size_t i = 0; i < n; i++)
        ss += (d[i] - r.mean) * (d[i] - r.mean);
    r.sd = sqrt(ss / (n - 1));
    if (same || !(r.sd > 0))
        return r;
    double se = r.sd / sqrt((double)n), df = (double)(n - 1);
    double q = gpx_t_quantile(0.5 + 0.5 * level, df);
    r.lo = r.mean - q * se;
    r.hi = r.mean + q * se;
    r.t = r.mean / se;
    r.p = 2.0 * gpx_t_cdf(-fabs(r.t), df);
    return r;
}

typedef struct {
    double p;
    size_t at;
} ranked_p;

static int by_p(const void *x, const void *y)
{
    const ranked_p *a = x, *b = y;
    return a->p < b->p ? -1 : a->p > b->p ? 1 : (a->at > b->at) - (a->at < b->at);
}

void gpx_holm(const double *p, size_t n, double *adj)
{
    ranked_p *r = malloc((n ? n : 1) * sizeof *r);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        adj[i] = NAN;
        if (isfinite(p[i]) && r)
            r[m++] = (ranked_p){ p[i], i };
    }
    if (!r)
        return;
    qsort(r, m, sizeof *r, by_p);
    double running = 0.0;
    for (size_t k = 0; k < m; k++) {
        double v = fmin(1.0, (double)(m - k) * r[k].p);
        running = fmax(running, v);
        adj[r[k].at] = running;
    }
    free(r);
}
