/*
 * tstats.h - Student's t distribution and the paired t test, for the claims
 * table (records/claims.h): the regularized incomplete beta function, the t
 * CDF and its quantiles computed (not looked up), a paired difference's
 * mean with its t interval and two-sided p-value, and Holm's step-down
 * adjustment of a family of p-values.
 *
 * Nothing here knows gpool; every function is pure and prints nothing.
 */
#ifndef GPOOL_EXPERIMENTS_UTIL_TSTATS_H
#define GPOOL_EXPERIMENTS_UTIL_TSTATS_H

#include <stddef.h>

/* I_x(a, b), the regularized incomplete beta function, a, b > 0, x in [0, 1]
 * (NaN outside), by its continued fraction (relative error about 1e-14). */
double gpx_beta_inc       (double a, double b, double x);

/* P(T <= t) for Student's t with df > 0 degrees of freedom. */
double gpx_t_cdf          (double t, double df);

/* The t with P(T <= t) = p, 0 < p < 1 (NaN outside), df > 0. */
double gpx_t_quantile     (double p, double df);

/* A paired comparison summarised: the differences d[0..n-1]. */
typedef struct {
    size_t n;          /* pairs */
    double mean;       /* mean difference */
    double sd;         /* sample sd (n - 1); NaN for n < 2 */
    double lo, hi;     /* the level's t interval of the mean; NaN for n < 2 or sd 0 */
    double t, p;       /* t statistic and two-sided p-value; NaN where lo is */
    int    constant;   /* n >= 2 and every difference equal: nothing varies */
} gpx_paired;

/* The paired t test of d[0..n-1] against 0 at confidence level (0.95). */
gpx_paired gpx_paired_t   (const double *d, size_t n, double level);

/* Holm's step-down adjustment of p[0..n-1] into adj[0..n-1]: the k-th
 * smallest (from 0) times (m - k), made monotone and capped at 1, where m
 * counts the finite p-values; a NaN p-value is left out of the family and
 * its adj is NaN. */
void       gpx_holm       (const double *p, size_t n, double *adj);

#endif /* GPOOL_EXPERIMENTS_UTIL_TSTATS_H */
