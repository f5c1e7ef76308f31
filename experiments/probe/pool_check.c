/*
 * pool_check.c - step 1 of a bench row (pool_rows.h): the variant's output
 * against the scalar variant's, and the scalar variant's against a double
 * precision reference, so that a broken scalar kernel cannot make every
 * other variant "agree".
 */
#include "autoconfig.h"

#include "probe/pool_rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The per-plane statistics are n x c values: too little to run out of
 * memory for once the shape's buffers are there, so running out is fatal. */
static void *must_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "gpool bench: out of memory (%zu x %zu bytes)\n", n, size);
        abort();
    }
    return p;
}

void gpx_bench_refs_free(gpx_bench_refs *r)
{
    for (int a = 0; a < GP_POOL_NOPS; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                free(r->out[a][b][c]);
    for (int a = 0; a < 2; a++) {
        free(r->meanabs[a]);
        free(r->mean[a]);
        free(r->max[a]);
    }
    free(r->kref);
    free(r->kabs);
    memset(r, 0, sizeof *r);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The exact top-k mean of each plane of x buffer 0, and the mean |x| of
 * the k (its scale); sorted copies in double (the check runs once a shape). */
static void topk_refs(gpx_bench_shape_data *sd, size_t k, double *ref, double *abs_mean)
{
    size_t planes = sd->dims.n * sd->dims.c, hw = sd->dims.h * sd->dims.w;
    double *v = must_calloc(hw, sizeof *v);
    for (size_t j = 0; j < planes; j++) {
        for (size_t i = 0; i < hw; i++)
            v[i] = sd->x.ptr[0][j * hw + i];
        qsort(v, hw, sizeof *v, cmp_desc);
        double s = 0, a = 0;
        for (size_t i = 0; i < k; i++) {
            s += v[i];
            a += fabs(v[i]);
        }
        ref[j] = s / (double)k;
        abs_mean[j] = a / (double)k;
    }
    free(v);
}

/* The exact bin means (or maxima) of each plane of x buffer 0 on a k x k
 * grid, and each bin's mean |x|. */
static void adaptive_refs(gpx_bench_shape_data *sd, int is_max, size_t k, double *ref,
                          double *abs_mean)
{
    size_t planes = sd->dims.n * sd->dims.c, h = sd->dims.h, w = sd->dims.w;
    for (size_t j = 0; j < planes; j++)
        for (size_t o = 0; o < k * k; o++) {
            size_t i = o / k, jj = o % k;
            size_t r0 = i * h / k, r1 = ((i + 1) * h + k - 1) / k;
            size_t c0 = jj * w / k, c1 = ((jj + 1) * w + k - 1) / k;
            double s = 0, a = 0, m = -INFINITY;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++) {
                    double v = sd->x.ptr[0][(j * h + r) * w + c];
                    s += v;
                    a += fabs(v);
                    m = v > m ? v : m;
                }
            double count = (double)((r1 - r0) * (c1 - c0));
            ref[j * k * k + o] = is_max ? m : s / count;
            abs_mean[j * k * k + o] = a / count;
        }
}

/* refs->kref and kabs for the kpool op and k of d (kept while they stay). */
static void kpool_stats(gpx_bench_shape_data *sd, const gp_pool_desc *d)
{
    gpx_bench_refs *r = &sd->refs;
    if (r->kref && r->kref_op == (int)d->op && r->kref_k == d->k)
        return;
    size_t outs = d->n * d->c * (d->op == GP_POOL_TOPK ? 1 : d->k * d->k);
    free(r->kref);
    free(r->kabs);
    r->kref = must_calloc(outs, sizeof *r->kref);
    r->kabs = must_calloc(outs, sizeof *r->kabs);
    r->kref_op = (int)d->op;
    r->kref_k = d->k;
    if (d->op == GP_POOL_TOPK)
        topk_refs(sd, d->k, r->kref, r->kabs);
    else
        adaptive_refs(sd, d->op == GP_POOL_ADAPTIVE_MAX, d->k, r->kref, r->kabs);
}

/* Per-plane double mean, mean |x| and max of x buffer 0 in one layout. */
static void plane_stats(gpx_bench_shape_data *sd, gp_layout layout)
{
    gpx_bench_refs *r = &sd->refs;
    if (r->meanabs[layout])
        return;
    size_t n = sd->dims.n, c = sd->dims.c, hw = sd->dims.h * sd->dims.w, outs = n * c;
    double *mean = must_calloc(outs, sizeof *mean);
    double *meanabs = must_calloc(outs, sizeof *meanabs);
    float *mx = must_calloc(outs, sizeof *mx);
    const float *x = sd->x.ptr[0];
    for (size_t b = 0; b < n; b++)
        for (size_t j = 0; j < c; j++) {
            double s = 0, sa = 0;
            float m = -INFINITY;
            for (size_t p = 0; p < hw; p++) {
                float v = layout == GP_LAYOUT_NCHW ? x[(b * c + j) * hw + p]
                                                   : x[(b * hw + p) * c + j];
                s += v;
                sa += fabs(v);
                if (v > m)
                    m = v;
            }
            mean[b * c + j] = s / (double)hw;
            meanabs[b * c + j] = sa / (double)hw;
            mx[b * c + j] = m;
        }
    r->mean[layout] = mean;
    r->meanabs[layout] = meanabs;
    r->max[layout] = mx;
}

/* Floats a pass of d writes: y (n x c, or n x c x k x k), or all of dx. */
static size_t output_count(const gp_pool_desc *d, gp_pass pass)
{
    if (pass == GP_PASS_BACKWARD)
        return d->n * d->c * d->h * d->w;
    return d->n * d->c * (d->op >= GP_POOL_ADAPTIVE_AVG ? d->k * d->k : 1);
}

static void poison(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
}

/* Compare got with want; avg forward scales its tolerance with the plane's
 * (adaptive: the bin's) mean |x| (both sides are within 1e-6 x mean|x| of
 * the exact mean), avg backward is relative, max and topk are exact. Returns the number of mismatches and
 * describes the worst one. */
static size_t compare_outputs(const float *got, const float *want, size_t count,
                              gp_pool_op op, gp_pass pass, const double *meanabs, char *why,
                              size_t whylen)
{
    size_t bad = 0, worst_i = 0;
    double worst = -1, worst_tol = 0;
    for (size_t i = 0; i < count; i++) {
        double tol = 0;
        int averages = op == GP_POOL_AVG || op == GP_POOL_ADAPTIVE_AVG;
        if (averages)
            tol = pass == GP_PASS_FORWARD ? 2e-6 * meanabs[i] + 1e-30
                                          : 2e-6 * fabs((double)want[i]) + 1e-30;
        double diff = fabs((double)got[i] - (double)want[i]);
        /* max, topk and their backward are the same bits in every variant */
        int ok = averages ? diff <= tol : got[i] == want[i];
        if (ok)
            continue;
        bad++;
        double score = isnan(diff) ? INFINITY : diff;
        if (score > worst) {
            worst = score;
            worst_i = i;
            worst_tol = tol;
        }
    }
    if (bad)
        snprintf(why, whylen,
                 "%zu of %zu outputs differ from scalar; worst at %zu: %.9g vs %.9g (tol %.2g)",
                 bad, count, worst_i, (double)got[worst_i], (double)want[worst_i], worst_tol);
    return bad;
}

/* Outputs of the scalar forward pass (out, count of them) that differ from
 * the double-precision plane statistics; *at: the first. */
static size_t double_mismatches(gpx_bench_shape_data *sd, const gp_pool_desc *d,
                                const float *out, size_t count, size_t *at)
{
    const gpx_bench_refs *r = &sd->refs;
    size_t bad = 0;
    *at = 0;
    if (d->op >= GP_POOL_TOPK) {
        kpool_stats(sd, d);
        for (size_t i = 0; i < count; i++) {
            double tol = d->op == GP_POOL_ADAPTIVE_MAX ? 0 : 1e-6 * r->kabs[i] + 1e-30;
            if (!(fabs(out[i] - r->kref[i]) <= tol) && bad++ == 0)
                *at = i;
        }
        return bad;
    }
    plane_stats(sd, d->layout);
    for (size_t i = 0; i < count; i++) {
        int ok = d->op == GP_POOL_MAX
                     ? out[i] == r->max[d->layout][i]
                     : fabs(out[i] - r->mean[d->layout][i]) <=
                           1e-6 * r->meanabs[d->layout][i] + 1e-30;
        if (!ok && bad++ == 0)
            *at = i;
    }
    return bad;
}

/* The scalar variant's output for (op, layout, pass) on buffer 0, checked
 * once against the double-precision reference (forward) so that a broken
 * scalar kernel cannot make every other variant "agree". */
static const float *reference_output(gpx_bench_shape_data *sd, const gp_pool_desc *d,
                                     gp_pass pass, char *why, size_t whylen)
{
    gpx_bench_refs *r = &sd->refs;
    float **slot = &r->out[d->op][d->layout][pass];
    if (*slot && r->out_k[d->op][d->layout][pass] != d->k) {
        free(*slot);   /* made for another k: the bench sweeps k */
        *slot = NULL;
        r->bad[d->op][d->layout][pass] = 0;
    }
    r->out_k[d->op][d->layout][pass] = d->k;
    if (r->bad[d->op][d->layout][pass]) {
        snprintf(why, whylen, "%s", r->bad_note[d->op][d->layout][pass]);
        return NULL;
    }
    if (*slot)
        return *slot;
    size_t count = output_count(d, pass);
    float *out = pass == GP_PASS_FORWARD ? sd->y.ptr[0] : sd->dx.ptr[0];
    poison(out, count);
    gp_status st = gpx_bench_call(d, pass, "scalar", sd, 0);
    char *note_buf = r->bad_note[d->op][d->layout][pass];
    size_t note_len = sizeof r->bad_note[0][0][0];
    if (st != GP_OK) {
        snprintf(note_buf, note_len, "scalar reference failed: %s", gp_last_error());
        r->bad[d->op][d->layout][pass] = 1;
        snprintf(why, whylen, "%s", note_buf);
        return NULL;
    }
    size_t bad, at;
    if (pass == GP_PASS_FORWARD && (bad = double_mismatches(sd, d, out, count, &at)) != 0) {
        snprintf(note_buf, note_len,
                 "scalar variant disagrees with the double reference at %zu of %zu outputs "
                 "(first %zu)", bad, count, at);
        r->bad[d->op][d->layout][pass] = 1;
        snprintf(why, whylen, "%s", note_buf);
        return NULL;
    }
    *slot = malloc(count * sizeof(float));
    if (!*slot) {
        snprintf(why, whylen, "out of memory for the reference output");
        return NULL;
    }
    memcpy(*slot, out, count * sizeof(float));
    return *slot;
}

int gpx_bench_check_row(gpx_bench_shape_data *sd, const gp_pool_desc *d, gp_pass pass,
                        const char *variant, char *why, size_t whylen)
{
    const float *want = reference_output(sd, d, pass, why, whylen);
    if (!want)
        return -1;
    size_t count = output_count(d, pass);
    float *out = pass == GP_PASS_FORWARD ? sd->y.ptr[0] : sd->dx.ptr[0];
    poison(out, count);
    gp_status st = gpx_bench_call(d, pass, variant, sd, 0);
    if (st != GP_OK) {
        snprintf(why, whylen, "%s", gp_last_error());
        return -1;
    }
    const double *scale = NULL;
    if (d->op == GP_POOL_AVG && pass == GP_PASS_FORWARD) {
        plane_stats(sd, d->layout);
        scale = sd->refs.meanabs[d->layout];
    } else if (d->op == GP_POOL_ADAPTIVE_AVG && pass == GP_PASS_FORWARD) {
        kpool_stats(sd, d);
        scale = sd->refs.kabs;
    }
    return compare_outputs(out, want, count, d->op, pass, scale, why, whylen) ? -1 : 0;
}

