/*
 * gradcheck.h - finite-difference check of a layer's backward pass.
 *
 * The scalar probed is L = sum_i y_i r_i with r a fixed random U(-1, 1)
 * "upstream gradient", accumulated in double. Each input element and each
 * parameter element (or an evenly spread sample of at most GC_MAX_PROBES of
 * them) is moved by +-step and the central difference
 *     (L(v + step) - L(v - step)) / (2 step)
 * is compared with what backward wrote:
 *     |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
 * Why these defaults (step 1e-2, atol 2e-3, rtol 2e-2): the forward runs in
 * float, so an output moved by the probe carries ~6e-8 relative rounding
 * that the division by 2 step amplifies to ~3e-6 per output; the truncation
 * error of a central difference is step^2/6 |f'''| ~ 2e-5 for smooth layers
 * on O(1) data. Layers with kinks (relu, max) must be fed inputs that stay
 * more than step away from them: gc_spread() makes such data.
 */
#ifndef GPOOL_GRADCHECK_H
#define GPOOL_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpool_nn.h"
#include "testutil.h"

#define GC_MAX_PROBES 600

typedef struct {
    double step, atol, rtol;
    gp_mode mode;
} gc_opts;

static inline gc_opts gc_defaults(void)
{
    gc_opts o = { 1e-2, 2e-3, 2e-2, GP_TRAIN };
    return o;
}

/* Values whose pairwise gaps are all >= 4 * 1e-2 and none within 2e-2 of
 * zero: a random permutation of a spaced grid, so relu and max never flip
 * under a probe. Range about [-scale, scale]. */
static inline void gc_spread(float *x, size_t count, float scale)
{
    for (size_t i = 0; i < count; i++) {
        double t = ((double)i + 0.5) / (double)count;     /* (0, 1) */
        x[i] = (float)((2.0 * t - 1.0) * scale);
    }
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)(tu_next() % i);
        float tmp = x[i - 1]; x[i - 1] = x[j]; x[j] = tmp;
    }
    for (size_t i = 0; i < count; i++)
        if (fabsf(x[i]) < 2e-2f)
            x[i] = x[i] < 0 ? x[i] - 3e-2f : x[i] + 3e-2f;
}

static inline void gc_uniform(float *x, size_t count, float lo, float hi)
{
    for (size_t i = 0; i < count; i++)
        x[i] = tu_uniform(lo, hi);
}

static inline double gc_loss(gp_layer *l, int n, const float *x, float *y,
                             const float *r, size_t ysize, gp_mode mode)
{
    if (gp_layer_forward(l, n, x, y, mode) != GP_OK) {
        fprintf(stderr, "# forward failed: %s\n", gp_last_error());
        return NAN;
    }
    double s = 0;
    for (size_t i = 0; i < ysize; i++)
        s += (double)y[i] * (double)r[i];
    return s;
}

static inline int gc_compare(const char *what, size_t i, double a, double num,
                             const gc_opts *o, int *reported)
{
    double tol = o->atol + o->rtol * fmax(fabs(a), fabs(num));
    if (fabs(a - num) <= tol && !isnan(a))
        return 0;
    if ((*reported)++ < 8)
        fprintf(stderr, "# %s[%zu]: backward %.6g, finite difference %.6g (tol %.3g)\n",
                what, i, a, num, tol);
    return 1;
}

/* Probe every k-th element of v[0..count) so at most GC_MAX_PROBES are done. */
static inline int gc_probe(gp_layer *l, int n, float *x, float *y, const float *r,
                           size_t ysize, float *v, size_t count, const float *analytic,
                           const char *what, const gc_opts *o, int *reported)
{
    size_t stride = count > GC_MAX_PROBES ? (count + GC_MAX_PROBES - 1) / GC_MAX_PROBES : 1;
    int bad = 0;
    for (size_t i = (size_t)(tu_next() % stride); i < count; i += stride) {
        float saved = v[i];
        v[i] = (float)(saved + o->step);
        double up = gc_loss(l, n, x, y, r, ysize, o->mode);
        v[i] = (float)(saved - o->step);
        double down = gc_loss(l, n, x, y, r, ysize, o->mode);
        v[i] = saved;
        /* the probe moved v by the float-rounded step, not exactly step */
        double h = ((double)(float)(saved + o->step) - (double)(float)(saved - o->step)) / 2;
        bad += gc_compare(what, i, analytic[i], (up - down) / (2 * h), o, reported);
    }
    return bad;
}

/* Check dx and every parameter gradient of l at input x (n images).
 * Returns the number of mismatching elements (0 = pass). */
static inline int gc_check_layer(gp_layer *l, int n, float *x, const gc_opts *o)
{
    size_t xsize = (size_t)n * gp_shape_image_size(l->in);
    size_t ysize = (size_t)n * gp_shape_image_size(l->out);
    float *y = malloc(ysize * sizeof *y), *r = malloc(ysize * sizeof *r);
    float *dx = malloc(xsize * sizeof *dx);
    float *grads[GP_LAYER_MAX_PARAMS] = { 0 };
    int bad = 0, reported = 0;
    gc_uniform(r, ysize, -1.0f, 1.0f);
    if (gp_layer_forward(l, n, x, y, o->mode) != GP_OK ||
        gp_layer_backward(l, n, x, y, r, dx) != GP_OK) {
        fprintf(stderr, "# %s failed: %s\n", l->ops->kind, gp_last_error());
        bad = 1;
        goto out;
    }
    for (int p = 0; p < l->nparams; p++) {
        grads[p] = malloc(l->params[p].count * sizeof(float));
        memcpy(grads[p], l->params[p].grad, l->params[p].count * sizeof(float));
    }
    bad += gc_probe(l, n, x, y, r, ysize, x, xsize, dx, "dx", o, &reported);
    for (int p = 0; p < l->nparams; p++)
        bad += gc_probe(l, n, x, y, r, ysize, l->params[p].value, l->params[p].count,
                        grads[p], l->params[p].name, o, &reported);
out:
    for (int p = 0; p < GP_LAYER_MAX_PARAMS; p++)
        free(grads[p]);
    free(y); free(r); free(dx);
    return bad;
}

#endif /* GPOOL_GRADCHECK_H */
