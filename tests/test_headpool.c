/*
 * test_headpool.c - the global pooling ops for heads (gp_head_pool_create):
 * the name table, layer shapes and parameters, forward against double
 * references, every gradient (dx and the op's scalar parameter) against
 * finite differences, and the edge cases each op promises: lse with large
 * inputs and lse -> max as r grows, gem on negative (clamped) and dead
 * planes, the catavgmax layout, and thread-count independence.
 *
 * Data are random with a fresh seed per run (testutil.h), printed at the
 * start so a failure can be rerun with GPOOL_TEST_SEED.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool_nn.h"
#include "testutil.h"
#include "gradcheck.h"

#define NOPS 7
#define GEM_EPS 1e-6

static const char *const op_names[NOPS] = {
    "avg", "max", "gem", "lse", "mixed", "avgmax", "catavgmax",
};

/* The op's scalar parameter name and initial value (NULL: none). */
static const char *param_of(gp_head_op op, double *init)
{
    switch (op) {
    case GP_HEAD_GEM:   *init = 3;  return "p";
    case GP_HEAD_LSE:   *init = 10; return "r";
    case GP_HEAD_MIXED: *init = 0;  return "alpha";
    default:            return NULL;
    }
}

static gp_layer *make(gp_head_op op, int n, int c, int h, int w)
{
    gp_shape in = { .n = n, .c = c, .h = h, .w = w };
    gp_layer *l = NULL;
    gp_status st = gp_head_pool_create(&l, in, op);
    if (st != GP_OK)
        fprintf(stderr, "# create %s: %s\n", op_names[op], gp_last_error());
    assert_int_equal(st, GP_OK);
    assert_non_null(l);
    return l;
}

static float *falloc(size_t count)
{
    float *p = malloc((count ? count : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------------ references */

static double ref_mean(const float *p, size_t hw)
{
    double s = 0;
    for (size_t i = 0; i < hw; i++)
        s += p[i];
    return s / (double)hw;
}

static double ref_max(const float *p, size_t hw)
{
    double m = p[0];
    for (size_t i = 1; i < hw; i++)
        m = p[i] > m ? p[i] : m;
    return m;
}

static double ref_gem(const float *p, size_t hw, double pw)
{
    double s = 0;
    for (size_t i = 0; i < hw; i++)
        s += pow(p[i] < GEM_EPS ? GEM_EPS : p[i], pw);
    return pow(s / (double)hw, 1.0 / pw);
}

static double ref_lse(const float *p, size_t hw, double r)
{
    double m = ref_max(p, hw), s = 0;
    for (size_t i = 0; i < hw; i++)
        s += exp(r * (p[i] - m));
    return m + log(s / (double)hw) / r;
}

/* Reference of image b, output feature k (features of catavgmax: avg then max). */
static double ref_out(gp_head_op op, double param, const float *x, int b, int k, int c,
                      size_t hw)
{
    int ch = op == GP_HEAD_CATAVGMAX ? k % c : k;
    const float *p = x + ((size_t)b * c + ch) * hw;
    double a = 1.0 / (1.0 + exp(-param));
    switch (op) {
    case GP_HEAD_AVG:       return ref_mean(p, hw);
    case GP_HEAD_MAX:       return ref_max(p, hw);
    case GP_HEAD_GEM:       return ref_gem(p, hw, param);
    case GP_HEAD_LSE:       return ref_lse(p, hw, param);
    case GP_HEAD_MIXED:     return a * ref_max(p, hw) + (1 - a) * ref_mean(p, hw);
    case GP_HEAD_AVGMAX:    return 0.5 * (ref_max(p, hw) + ref_mean(p, hw));
    case GP_HEAD_CATAVGMAX: return k < c ? ref_mean(p, hw) : ref_max(p, hw);
    }
    return NAN;
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < NOPS; i++) {
        gp_head_op op = (gp_head_op)-1;
        assert_string_equal(gp_head_op_name((gp_head_op)i), op_names[i]);
        assert_int_equal(gp_head_op_parse(gp_head_op_name((gp_head_op)i), &op), GP_OK);
        assert_int_equal(op, i);
    }
    gp_head_op op = GP_HEAD_LSE;
    assert_int_equal(gp_head_op_parse("bogus", &op), GP_ERR_NOTFOUND);
    assert_non_null(strstr(gp_last_error(), "bogus"));
    assert_int_equal(op, GP_HEAD_LSE); /* untouched on failure */
    assert_int_equal(gp_head_op_parse("GEM", &op), GP_ERR_NOTFOUND);
    assert_int_equal(gp_head_op_parse("", &op), GP_ERR_NOTFOUND);
    assert_int_equal(gp_head_op_parse(NULL, &op), GP_ERR_ARG);
    assert_int_equal(gp_head_op_parse("avg", NULL), GP_ERR_ARG);
    assert_string_equal(gp_head_op_name((gp_head_op)NOPS), "?");
    assert_string_equal(gp_head_op_name((gp_head_op)-1), "?");
}

/* ------------------------------------------------------------ create */

static void test_create(void **state)
{
    (void)state;
    for (int i = 0; i < NOPS; i++) {
        gp_head_op op = (gp_head_op)i;
        gp_layer *l = make(op, 5, 6, 7, 3);
        assert_string_equal(l->ops->kind, "head_pool");
        assert_int_equal(l->out.n, 5);
        assert_int_equal(l->out.c, op == GP_HEAD_CATAVGMAX ? 12 : 6);
        assert_int_equal(l->out.h, 1);
        assert_int_equal(l->out.w, 1);
        assert_true(l->flops >= 6.0 * 7 * 3);
        assert_true(l->desc[0] != '\0');
        double init = 0;
        const char *pname = param_of(op, &init);
        if (pname) {
            assert_int_equal(l->nparams, 1);
            assert_string_equal(l->params[0].name, pname);
            assert_int_equal(l->params[0].count, 1);
            assert_int_equal(l->params[0].fixed_init, 1);
            assert_int_equal(l->params[0].is_bias, 0);
            assert_true(l->params[0].value[0] == (float)init);
            /* gem and lse keep n x c x h x w floats of saved terms */
            if (op != GP_HEAD_MIXED)
                assert_true(l->workspace_bytes >= 5 * 6 * 7 * 3 * sizeof(float));
        } else {
            assert_int_equal(l->nparams, 0);
        }
        assert_int_equal(gp_layer_param_floats(l), pname ? 1 : 0);
        gp_layer_destroy(l);
    }
    gp_layer *l = (gp_layer *)&l;
    gp_shape good = { 2, 3, 4, 4 }, empty = { 2, 3, 0, 4 };
    assert_int_equal(gp_head_pool_create(&l, good, (gp_head_op)NOPS), GP_ERR_ARG);
    assert_null(l);
    assert_int_equal(gp_head_pool_create(&l, empty, GP_HEAD_GEM), GP_ERR_ARG);
    assert_null(l);
    assert_int_equal(gp_head_pool_create(NULL, good, GP_HEAD_AVG), GP_ERR_ARG);
}

/* ------------------------------------------------------------ forward */

/* Every op on U(-2, 2) data, for a batch below the layer's maximum and
 * several plane shapes, with the default and a moved parameter.
 * Tolerance 4e-6 x max(|ref|, 1): the float math of each op is within a
 * few ulps of the value (avg: 1e-6 x mean|x| by gpool.h; gem: one powf per
 * element and a final powf, ~3e-7 relative; lse: the float r (x - m) is off
 * by up to 40 x 6e-8 in the exponent, 2.4e-7 / r in y); 4e-6 leaves 10x. */
static void test_forward_reference(void **state)
{
    (void)state;
    static const int shapes[][2] = { { 3, 5 }, { 7, 7 }, { 1, 1 }, { 1, 9 }, { 14, 14 } };
    static const double moved[NOPS] = { 0, 0, 2.2, 3.5, 0.7, 0, 0 };
    const int nmax = 4, n = 3, c = 5;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int h = shapes[s][0], w = shapes[s][1];
        size_t hw = (size_t)h * w, xs = (size_t)nmax * c * hw;
        float *x = falloc(xs), *y = falloc((size_t)nmax * 2 * c);
        gc_uniform(x, xs, -2.0f, 2.0f);
        for (int i = 0; i < NOPS; i++)
            for (int variant = 0; variant < 2; variant++) {
                gp_head_op op = (gp_head_op)i;
                gp_layer *l = make(op, nmax, c, h, w);
                double param = 0;
                if (param_of(op, &param) && variant)
                    l->params[0].value[0] = (float)(param = moved[i]);
                int fo = (int)l->out.c;
                for (size_t k = 0; k < (size_t)nmax * fo; k++)
                    y[k] = -777.0f;
                assert_int_equal(gp_layer_forward(l, n, x, y, variant ? GP_EVAL : GP_TRAIN),
                                 GP_OK);
                for (int b = 0; b < n; b++)
                    for (int k = 0; k < fo; k++) {
                        double ref = ref_out(op, param, x, b, k, c, hw);
                        double got = y[(size_t)b * fo + k];
                        if (!(fabs(got - ref) <= 4e-6 * fmax(fabs(ref), 1.0)))
                            fail_msg("%s %dx%d param %g image %d feature %d: %.9g, "
                                     "reference %.9g", op_names[i], h, w, param, b, k, got,
                                     ref);
                    }
                /* the image past the batch is not written */
                assert_true(y[(size_t)n * fo] == -777.0f);
                gp_layer_destroy(l);
            }
        free(x);
        free(y);
    }
}

/* ------------------------------------------------------------ gradients */

/* Finite differences of dx and the parameter (gradcheck.h explains the
 * default step and tolerances). gc_spread's grid is 2 scale / count apart;
 * scale = 0.05 count keeps every gap at 0.1, well above the 4e-2 that max
 * needs so that no probe flips the argmax. */
static int check_op(gp_head_op op, int h, int w, int moved)
{
    const int n = 2, c = 3;
    gp_layer *l = make(op, n + 1, c, h, w);
    static const double moved_values[NOPS] = { 0, 0, 2.2, 2.5, 0.8, 0, 0 };
    double param = 0;
    if (param_of(op, &param) && moved)
        l->params[0].value[0] = (float)(param = moved_values[op]);
    size_t xs = (size_t)n * c * h * w;
    float *x = falloc(xs);
    gc_spread(x, xs, (float)(0.05 * (double)xs));
    gc_opts o = gc_defaults();
    int bad = gc_check_layer(l, n, x, &o);
    if (bad)
        fprintf(stderr, "# %s %dx%d param %g: %d mismatches\n", op_names[op], h, w, param,
                bad);
    free(x);
    gp_layer_destroy(l);
    return bad;
}

static void test_gradcheck(void **state)
{
    (void)state;
    static const int shapes[][2] = { { 3, 5 }, { 7, 7 }, { 1, 1 }, { 2, 3 } };
    int bad = 0;
    for (int i = 0; i < NOPS; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int moved = 0; moved < 2; moved++)
                bad += check_op((gp_head_op)i, shapes[s][0], shapes[s][1], moved);
    assert_int_equal(bad, 0);
}

/* gem's FD checks above see few clamped elements near the kink; here the
 * parameter gradients are compared directly on data where both the
 * parameter and every input matter: U(0.1, 2) for gem, U(-1, 1) otherwise,
 * against a central difference of the double reference (step 1e-3:
 * truncation ~1e-7 relative; the float forward is not involved).
 * Tolerance 1e-4 relative + 1e-6: the analytic double formula from float
 * saved terms (5e-7 relative) against the reference's own ~1e-9. */
static double ref_loss(gp_head_op op, double param, const float *x, const float *r, int n,
                       int c, size_t hw)
{
    double s = 0;
    int fo = op == GP_HEAD_CATAVGMAX ? 2 * c : c;
    for (int b = 0; b < n; b++)
        for (int k = 0; k < fo; k++)
            s += r[b * fo + k] * ref_out(op, param, x, b, k, c, hw);
    return s;
}

static void test_param_grad_reference(void **state)
{
    (void)state;
    static const gp_head_op ops[] = { GP_HEAD_GEM, GP_HEAD_LSE, GP_HEAD_MIXED };
    const int n = 3, c = 4, h = 5, w = 6;
    size_t hw = (size_t)h * w, xs = (size_t)n * c * hw;
    float *x = falloc(xs), *y = falloc((size_t)n * c), *r = falloc((size_t)n * c);
    float *dx = falloc(xs);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        gp_head_op op = ops[k];
        gp_layer *l = make(op, n, c, h, w);
        if (op == GP_HEAD_GEM)
            gc_uniform(x, xs, 0.1f, 2.0f);
        else
            gc_uniform(x, xs, -1.0f, 1.0f);
        gc_uniform(r, (size_t)n * c, -1.0f, 1.0f);
        double p = l->params[0].value[0], hstep = 1e-3;
        assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
        assert_int_equal(gp_layer_backward(l, n, x, y, r, dx), GP_OK);
        double got = l->params[0].grad[0];
        double num = (ref_loss(op, p + hstep, x, r, n, c, hw) -
                      ref_loss(op, p - hstep, x, r, n, c, hw)) / (2 * hstep);
        if (!(fabs(got - num) <= 1e-6 + 1e-4 * fabs(num)))
            fail_msg("%s: d/d%s %.9g, reference %.9g", op_names[op], l->params[0].name, got,
                     num);
        /* dx = NULL (first layer) still writes the same parameter gradient */
        l->params[0].grad[0] = -777.0f;
        assert_int_equal(gp_layer_backward(l, n, x, y, r, NULL), GP_OK);
        assert_true(l->params[0].grad[0] == (float)got);
        gp_layer_destroy(l);
    }
    free(x); free(y); free(r); free(dx);
}

/* ------------------------------------------------------------ lse */

/* Inputs around 1e3 with r = 10: exp(r x) would overflow a float 77x over,
 * the max-subtracted form must not. Tolerance 4 ulps of 1e3 (6e-5 each):
 * y rounds to float at that magnitude. dx is the softmax, so each plane's
 * dx sums to dy (tolerance 1e-5: 49 float terms of ~1/49 in a double sum,
 * each rounded once). */
static void test_lse_large(void **state)
{
    (void)state;
    const int n = 2, c = 3, h = 7, w = 7;
    size_t hw = (size_t)h * w, xs = (size_t)n * c * hw;
    float *x = falloc(xs), *y = falloc((size_t)n * c), *dy = falloc((size_t)n * c);
    float *dx = falloc(xs);
    gc_uniform(x, xs, 999.0f, 1001.0f);
    gc_uniform(dy, (size_t)n * c, 0.5f, 1.5f);
    gp_layer *l = make(GP_HEAD_LSE, n, c, h, w);
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, n, x, y, dy, dx), GP_OK);
    assert_true(isfinite(l->params[0].grad[0]));
    for (int j = 0; j < n * c; j++) {
        double ref = ref_lse(x + j * hw, hw, 10.0), s = 0;
        assert_true(isfinite(y[j]));
        if (!(fabs(y[j] - ref) <= 4 * 6.1e-5))
            fail_msg("plane %d: %.9g, reference %.9g", j, y[j], ref);
        for (size_t i = 0; i < hw; i++) {
            assert_true(isfinite(dx[j * hw + i]) && dx[j * hw + i] >= 0);
            s += dx[j * hw + i];
        }
        assert_true(fabs(s - dy[j]) <= 1e-5);
    }
    gp_layer_destroy(l);
    free(x); free(y); free(dy); free(dx);
}

/* As r grows lse tends to the max: max - log(N) / r <= y <= max (the sum
 * of the exp terms is between 1 and N), and the gap shrinks. Tolerance
 * 1e-6 on U(-1, 1) data: float y and the float exponent as in the forward
 * test; at r = 1e5 that bound is tighter than the gap itself. */
static void test_lse_to_max(void **state)
{
    (void)state;
    const int c = 4, h = 6, w = 5;
    size_t hw = (size_t)h * w, xs = (size_t)c * hw;
    float *x = falloc(xs), *y = falloc((size_t)c);
    gc_uniform(x, xs, -1.0f, 1.0f);
    gp_layer *l = make(GP_HEAD_LSE, 1, c, h, w);
    double prev_gap[4] = { INFINITY, INFINITY, INFINITY, INFINITY };
    for (double r = 10; r <= 1e5; r *= 10) {
        l->params[0].value[0] = (float)r;
        assert_int_equal(gp_layer_forward(l, 1, x, y, GP_EVAL), GP_OK);
        for (int j = 0; j < c; j++) {
            double m = ref_max(x + j * hw, hw), gap = m - y[j];
            if (!(gap >= -1e-6 && gap <= log((double)hw) / r + 1e-6 && gap <= prev_gap[j]))
                fail_msg("r %g plane %d: max %.9g, lse %.9g", r, j, m, y[j]);
            prev_gap[j] = gap;
        }
    }
    assert_true(prev_gap[0] <= 1e-4);
    gp_layer_destroy(l);
    free(x); free(y);
}

/* r = 0 is the limit: the mean, dx = dy / N, dr = dy var / 2.
 * Tolerance 1e-6 (float mean of U(-1, 1), double variance). */
static void test_lse_r_zero(void **state)
{
    (void)state;
    const int hw = 12;
    float x[12], y[1], dy[1] = { 0.75f }, dx[12];
    gc_uniform(x, hw, -1.0f, 1.0f);
    gp_layer *l = make(GP_HEAD_LSE, 1, 1, 3, 4);
    l->params[0].value[0] = 0.0f;
    assert_int_equal(gp_layer_forward(l, 1, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, 1, x, y, dy, dx), GP_OK);
    double mean = ref_mean(x, hw), var = 0;
    for (int i = 0; i < hw; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= hw;
    assert_true(fabs(y[0] - mean) <= 1e-6);
    for (int i = 0; i < hw; i++)
        assert_true(fabs(dx[i] - 0.75 / hw) <= 1e-7);
    assert_true(fabs(l->params[0].grad[0] - 0.75 * var / 2) <= 1e-6);
    gp_layer_destroy(l);
}

/* ------------------------------------------------------------ gem */

/* Negative inputs are clamped to eps: an all-negative plane gives eps, a
 * mixed plane the reference over clamped values, and no gradient reaches
 * a clamped input. Tolerances as the forward test; dp of a constant
 * (all-clamped) plane is 0 up to the float logf(eps) against the double
 * log of the mean: (y / p) x 1e-6 = 3e-13, checked against 1e-12. */
static void test_gem_negative(void **state)
{
    (void)state;
    const int c = 2, h = 4, w = 5;
    size_t hw = (size_t)h * w, xs = (size_t)c * hw;
    float *x = falloc(xs), *dx = falloc(xs), y[2], dy[2] = { 1.0f, 0.0f };
    gc_uniform(x, hw, -3.0f, -0.01f);         /* plane 0: all clamped */
    gc_uniform(x + hw, hw, -1.0f, 1.0f);      /* plane 1: about half clamped */
    x[hw] = 0.5f;                             /* at least one that is not */
    gp_layer *l = make(GP_HEAD_GEM, 1, c, h, w);
    assert_int_equal(gp_layer_forward(l, 1, x, y, GP_TRAIN), GP_OK);
    assert_true(fabs(y[0] - GEM_EPS) <= 4e-6 * GEM_EPS);
    assert_true(fabs(y[1] - ref_gem(x + hw, hw, 3.0)) <= 4e-6);
    assert_int_equal(gp_layer_backward(l, 1, x, y, dy, dx), GP_OK);
    for (size_t i = 0; i < hw; i++)
        assert_true(dx[i] == 0.0f);
    assert_true(fabs(l->params[0].grad[0]) <= 1e-12);
    /* plane 1 alone, with dy on it: clamped inputs get exactly 0, others > 0 */
    dy[0] = 0.0f;
    dy[1] = 1.0f;
    assert_int_equal(gp_layer_backward(l, 1, x, y, dy, dx), GP_OK);
    for (size_t i = hw; i < xs; i++)
        assert_true(x[i] < GEM_EPS ? dx[i] == 0.0f : dx[i] > 0.0f);
    gp_layer_destroy(l);
    free(x); free(dx);
}

/* A dead channel (all zeros, as after relu) under a large p: eps^p
 * underflows a float, the mean is 0; outputs and gradients stay finite. */
static void test_gem_dead_plane(void **state)
{
    (void)state;
    float x[2 * 9] = { 0 }, dx[2 * 9], y[2], dy[2] = { 1.0f, -1.0f };
    for (int i = 9; i < 18; i++)
        x[i] = tu_uniform(0.5f, 1.5f);
    gp_layer *l = make(GP_HEAD_GEM, 1, 2, 3, 3);
    l->params[0].value[0] = 12.0f;
    assert_int_equal(gp_layer_forward(l, 1, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, 1, x, y, dy, dx), GP_OK);
    assert_true(isfinite(y[0]) && y[0] >= 0.0f && y[0] <= 2e-6f);
    assert_true(isfinite(l->params[0].grad[0]));
    for (int i = 0; i < 18; i++)
        assert_true(isfinite(dx[i]));
    for (int i = 0; i < 9; i++)
        assert_true(dx[i] == 0.0f);
    gp_layer_destroy(l);
}

/* ------------------------------------------------------------ catavgmax */

/* Image b's features are [avg of its c channels, max of its c channels],
 * bit for bit the avg and max ops; backward gives dx = dy_avg / (float)N
 * everywhere plus dy_max at the first maximum (float math in that order,
 * so exact). */
static void test_catavgmax_layout(void **state)
{
    (void)state;
    const int n = 3, c = 4, h = 3, w = 5;
    size_t hw = (size_t)h * w, xs = (size_t)n * c * hw, nc = (size_t)n * c;
    float *x = falloc(xs), *dx = falloc(xs);
    float *ya = falloc(nc), *ym = falloc(nc), *y = falloc(2 * nc), *dy = falloc(2 * nc);
    gc_uniform(x, xs, -1.0f, 1.0f);
    gc_uniform(dy, 2 * nc, -1.0f, 1.0f);
    gp_layer *la = make(GP_HEAD_AVG, n, c, h, w), *lm = make(GP_HEAD_MAX, n, c, h, w);
    gp_layer *lc = make(GP_HEAD_CATAVGMAX, n, c, h, w);
    assert_int_equal(gp_layer_forward(la, n, x, ya, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_forward(lm, n, x, ym, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_forward(lc, n, x, y, GP_TRAIN), GP_OK);
    for (int b = 0; b < n; b++)
        for (int j = 0; j < c; j++) {
            assert_memory_equal(&y[b * 2 * c + j], &ya[b * c + j], sizeof(float));
            assert_memory_equal(&y[b * 2 * c + c + j], &ym[b * c + j], sizeof(float));
        }
    assert_int_equal(gp_layer_backward(lc, n, x, y, dy, dx), GP_OK);
    for (int b = 0; b < n; b++)
        for (int j = 0; j < c; j++) {
            const float *p = x + ((size_t)b * c + j) * hw;
            size_t at = 0;
            for (size_t i = 1; i < hw; i++)
                at = p[i] > p[at] ? i : at;
            for (size_t i = 0; i < hw; i++) {
                float want = dy[b * 2 * c + j] / (float)hw;
                if (i == at)
                    want += dy[b * 2 * c + c + j];
                assert_true(dx[((size_t)b * c + j) * hw + i] == want);
            }
        }
    gp_layer_destroy(la);
    gp_layer_destroy(lm);
    gp_layer_destroy(lc);
    free(x); free(dx); free(ya); free(ym); free(y); free(dy);
}

/* ------------------------------------------------------------ threads */

/* One thread and two give bit-identical outputs, dx and parameter
 * gradients, on an input large enough for the parallel paths. */
#ifdef _OPENMP
static void run_once(gp_head_op op, int threads, const float *x, const float *dy, float *y,
                     float *dx, float *grad)
{
    omp_set_num_threads(threads);
    const int n = 16, c = 32, h = 7, w = 7;
    gp_layer *l = make(op, n, c, h, w);
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, n, x, y, dy, dx), GP_OK);
    *grad = l->nparams ? l->params[0].grad[0] : 0.0f;
    gp_layer_destroy(l);
}
#endif

static void test_threads(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#else
    const size_t xs = 16 * 32 * 49, ys = 2 * 16 * 32;
    float *x = falloc(xs), *dy = falloc(ys), *y1 = falloc(ys), *y2 = falloc(ys);
    float *dx1 = falloc(xs), *dx2 = falloc(xs), g1, g2;
    gc_uniform(x, xs, -1.0f, 2.0f);
    gc_uniform(dy, ys, -1.0f, 1.0f);
    for (int i = 0; i < NOPS; i++) {
        gp_head_op op = (gp_head_op)i;
        size_t yn = op == GP_HEAD_CATAVGMAX ? ys : ys / 2;
        run_once(op, 1, x, dy, y1, dx1, &g1);
        run_once(op, 2, x, dy, y2, dx2, &g2);
        assert_memory_equal(y1, y2, yn * sizeof(float));
        assert_memory_equal(dx1, dx2, xs * sizeof(float));
        assert_memory_equal(&g1, &g2, sizeof g1);
    }
    omp_set_num_threads(2);
    free(x); free(dy); free(y1); free(y2); free(dx1); free(dx2);
#endif
}

static int group_setup(void **state)
{
    (void)state;
    tu_seed_announce("headpool");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_forward_reference),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_param_grad_reference),
        cmocka_unit_test(test_lse_large),
        cmocka_unit_test(test_lse_to_max),
        cmocka_unit_test(test_lse_r_zero),
        cmocka_unit_test(test_gem_negative),
        cmocka_unit_test(test_gem_dead_plane),
        cmocka_unit_test(test_catavgmax_layout),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("headpool", tests, group_setup, NULL);
}
