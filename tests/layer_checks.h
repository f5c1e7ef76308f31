/*
 * layer_checks.h - checks the cmocka tests of layers share: a result against
 * a double-precision reference within the float summation bound, the
 * finite-difference gradient check of a layer, and the backward contract.
 * Include after <cmocka.h>, testutil.h, cmocka_util.h and gradcheck.h.
 *
 * The summation bound: a float sum of k rounded products, in any order or
 * blocking, is within (k + 1) u sum|terms| of the exact sum (u = 2^-24), so
 * a result is checked against |got - ref| <= (k + 2) u sum|terms| + 1e-30.
 */
#ifndef GPOOL_LAYER_CHECKS_H
#define GPOOL_LAYER_CHECKS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* an integer uniform in [lo, hi] */
static inline int rand_int(int lo, int hi)
{
    return lo + (int)(tu_next() % (uint64_t)(hi - lo + 1));
}

static inline float *falloc_uniform(size_t count)
{
    float *p = falloc_nan(count);
    gc_uniform(p, count, -1.0f, 1.0f);
    return p;
}

/* got against ref with the summation bound above (terms summed values);
 * ctx names the layer in the message. */
static inline void check_close(const char *what, const char *ctx, size_t i, float got, double ref,
                        double abs_sum, double terms)
{
    double tol = (terms + 2.0) * ldexp(1.0, -24) * abs_sum + 1e-30;
    if (!(fabs((double)got - ref) <= tol))
        FAILF("%s[%zu] = %.9g, reference %.9g (error %.3g > %.3g) for %s", what, i,
              (double)got, ref, fabs((double)got - ref), tol, ctx);
}

static inline void run_gradcheck(gp_layer *l, int n, const char *what)
{
    size_t xs = (size_t)n * gp_shape_image_size(l->in);
    float *x = falloc_uniform(xs);
    gc_opts o = gc_defaults();
    int bad = gc_check_layer(l, n, x, &o);
    if (bad)
        FAILF("%s: %d gradient elements differ from finite differences", what, bad);
    free(x);
}

/* dx NULL changes nothing else, and a second backward overwrites the
 * gradients (same bits) instead of adding to them. */
static inline void backward_contract(gp_layer *l, int n)
{
    size_t xs = (size_t)n * gp_shape_image_size(l->in);
    size_t ys = (size_t)n * gp_shape_image_size(l->out);
    float *x = falloc_uniform(xs), *y = falloc_nan(ys), *dy = falloc_uniform(ys);
    float *dx = falloc_nan(xs), *dx2 = falloc_nan(xs);
    float *first[GP_LAYER_MAX_PARAMS] = { 0 };
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, n, x, y, dy, NULL), GP_OK);
    for (int p = 0; p < l->nparams; p++) {
        first[p] = malloc(l->params[p].count * sizeof(float));
        memcpy(first[p], l->params[p].grad, l->params[p].count * sizeof(float));
        double norm = 0;
        for (size_t i = 0; i < l->params[p].count; i++)
            norm += fabs(first[p][i]);
        assert_true(norm > 0);   /* there is something to accumulate */
    }
    for (int rep = 0; rep < 2; rep++) {
        assert_int_equal(gp_layer_backward(l, n, x, y, dy, rep ? dx2 : dx), GP_OK);
        for (int p = 0; p < l->nparams; p++)
            if (memcmp(first[p], l->params[p].grad, l->params[p].count * sizeof(float)))
                FAILF("%s %s: gradient of %s differs between backward calls", l->ops->kind,
                      l->desc, l->params[p].name);
    }
    assert_memory_equal(dx, dx2, xs * sizeof(float));
    for (int p = 0; p < l->nparams; p++)
        free(first[p]);
    free(x); free(y); free(dy); free(dx); free(dx2);
}

#endif /* GPOOL_LAYER_CHECKS_H */
