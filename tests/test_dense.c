/*
 * test_dense.c - the dense layer against a double-precision reference (the
 * summation bound of layer_checks.h), finite-difference gradient checks, the
 * backward contract (dx may be NULL, gradients are overwritten), reshape and
 * argument errors. Data are random with a fresh seed per run; failures
 * print it.
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
#include "gradcheck.h"
#include "testutil.h"
#include "cmocka_util.h"
#include "layer_checks.h"

/* ---------------------------------------------------------------- dense */

static gp_layer *make_dense(gp_shape in, int out, int bias)
{
    gp_layer *l = NULL;
    if (gp_dense_create(&l, in, out, bias) != GP_OK)
        FAILF("dense_create %dx%dx%d -> %d: %s", in.c, in.h, in.w, out, gp_last_error());
    for (int p = 0; p < l->nparams; p++)
        gc_uniform(l->params[p].value, l->params[p].count, -1.0f, 1.0f);
    return l;
}

static void dense_create_fields(void **state)
{
    (void)state;
    gp_shape in = { 8, 3, 4, 5 };
    gp_layer *l = make_dense(in, 7, 1);
    assert_string_equal(l->ops->kind, "dense");
    assert_int_equal(l->out.n, 8);
    assert_int_equal(l->out.c, 7);
    assert_int_equal(l->out.h, 1);
    assert_int_equal(l->out.w, 1);
    assert_int_equal(l->nparams, 2);
    assert_string_equal(l->params[0].name, "weight");
    assert_int_equal(l->params[0].count, 7 * 60);
    assert_int_equal(l->params[0].fan_in, 60);
    assert_int_equal(l->params[0].fan_out, 7);
    assert_int_equal(l->params[0].is_bias, 0);
    assert_string_equal(l->params[1].name, "bias");
    assert_int_equal(l->params[1].count, 7);
    assert_int_equal(l->params[1].fan_in, 60);
    assert_int_equal(l->params[1].is_bias, 1);
    assert_true(l->flops == 2.0 * 7 * 60 + 7);
    gp_layer_destroy(l);
    l = make_dense(in, 7, 0);
    assert_int_equal(l->nparams, 1);
    assert_true(l->flops == 2.0 * 7 * 60);
    gp_layer_destroy(l);
}

static void dense_reference(void **state)
{
    (void)state;
    for (int t = 0; t < 12; t++) {
        gp_shape in = { rand_int(2, 9), rand_int(1, 9), rand_int(1, 4), rand_int(1, 4) };
        int fo = rand_int(1, 12), bias = t & 1, n = rand_int(1, in.n);
        size_t fi = gp_shape_image_size(in);
        char what[96];
        snprintf(what, sizeof what, "dense %zu -> %d%s, %d of %d images", fi, fo,
                 bias ? ", bias" : "", n, in.n);
        gp_layer *l = make_dense(in, fo, bias);
        const float *wt = l->params[0].value, *b = bias ? l->params[1].value : NULL;
        float *x = falloc_uniform((size_t)in.n * fi), *y = falloc_nan((size_t)in.n * fo);
        float *dy = falloc_uniform((size_t)in.n * fo), *dx = falloc_nan((size_t)in.n * fi);
        assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < fo; o++) {
                double s = b ? b[o] : 0, a = b ? fabs(b[o]) : 0;
                for (size_t k = 0; k < fi; k++) {
                    double v = (double)wt[(size_t)o * fi + k] * x[(size_t)i * fi + k];
                    s += v;
                    a += fabs(v);
                }
                check_close("dense y", what, (size_t)i * fo + o, y[(size_t)i * fo + o], s, a,
                            (double)fi + 1);
            }
        for (size_t i = (size_t)n * fo; i < (size_t)in.n * fo; i++)
            assert_true(isnan(y[i]));
        assert_int_equal(gp_layer_backward(l, n, x, y, dy, dx), GP_OK);
        for (int o = 0; o < fo; o++) {
            double sb = 0, ab = 0;
            for (int i = 0; i < n; i++) {
                sb += dy[(size_t)i * fo + o];
                ab += fabs(dy[(size_t)i * fo + o]);
            }
            if (bias)
                check_close("dense dbias", what, o, l->params[1].grad[o], sb, ab, n);
            for (size_t k = 0; k < fi; k++) {
                double s = 0, a = 0;
                for (int i = 0; i < n; i++) {
                    double v = (double)dy[(size_t)i * fo + o] * x[(size_t)i * fi + k];
                    s += v;
                    a += fabs(v);
                }
                check_close("dense dweight", what, (size_t)o * fi + k,
                            l->params[0].grad[(size_t)o * fi + k], s, a, n);
            }
        }
        for (int i = 0; i < n; i++)
            for (size_t k = 0; k < fi; k++) {
                double s = 0, a = 0;
                for (int o = 0; o < fo; o++) {
                    double v = (double)dy[(size_t)i * fo + o] * wt[(size_t)o * fi + k];
                    s += v;
                    a += fabs(v);
                }
                check_close("dense dx", what, (size_t)i * fi + k, dx[(size_t)i * fi + k], s, a,
                            fo);
            }
        for (size_t i = (size_t)n * fi; i < (size_t)in.n * fi; i++)
            assert_true(isnan(dx[i]));
        free(x); free(y); free(dy); free(dx);
        gp_layer_destroy(l);
    }
}

static void dense_gradcheck(void **state)
{
    (void)state;
    gp_shape in = { 4, 3, 2, 2 };
    for (int bias = 0; bias <= 1; bias++) {
        gp_layer *l = make_dense(in, 5, bias);
        run_gradcheck(l, 4, bias ? "dense 12 -> 5, bias" : "dense 12 -> 5");
        gp_layer_destroy(l);
    }
    gp_shape wide = { 3, 40, 1, 1 };
    gp_layer *l = make_dense(wide, 10, 1);
    run_gradcheck(l, 2, "dense 40 -> 10, 2 of 3 images");
    gp_layer_destroy(l);
}

static void dense_backward_contract(void **state)
{
    (void)state;
    gp_shape in = { 6, 4, 3, 3 };
    gp_layer *l = make_dense(in, 9, 1);
    backward_contract(l, 6);
    gp_layer_destroy(l);
}

static void dense_errors(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 4, 4 }, no_channels = { 2, 0, 4, 4 }, no_batch = { 0, 3, 4, 4 };
    static gp_layer dummy;
    gp_layer *l = &dummy;
    assert_int_equal(gp_dense_create(&l, in, 0, 1), GP_ERR_ARG);
    assert_null(l);
    assert_true(strstr(gp_last_error(), "dense") != NULL);
    assert_int_equal(gp_dense_create(&l, no_channels, 4, 1), GP_ERR_ARG);
    assert_null(l);
    assert_int_equal(gp_dense_create(&l, no_batch, 4, 1), GP_ERR_ARG);
    assert_null(l);
    assert_int_equal(gp_dense_create(NULL, in, 4, 1), GP_ERR_ARG);
}

/* A dense layer takes another batch, or another c x h x w of as many
 * features; other features are refused, naming both counts, and leave it
 * unchanged. */
static void dense_reshape(void **state)
{
    (void)state;
    gp_shape in = { 8, 3, 4, 5 }, fewer = { 3, 3, 4, 5 }, same = { 8, 3, 5, 4 };
    gp_shape other = { 8, 3, 5, 5 };
    gp_layer *l = make_dense(in, 7, 1);
    assert_int_equal(gp_layer_reshape(l, fewer), GP_OK);
    assert_true(l->in.n == 3 && l->out.n == 3 && l->out.c == 7);
    assert_int_equal(gp_layer_reshape(l, same), GP_OK);
    assert_true(l->in.h == 5 && l->in.w == 4 && l->out.n == 8);
    gp_layer before = *l;
    assert_int_equal(gp_layer_reshape(l, other), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "takes 60 features"));
    assert_non_null(strstr(gp_last_error(), "gives 75"));
    assert_memory_equal(l, &before, sizeof before);
    gp_layer_destroy(l);
}

/* ----------------------------------------------------------------- main */

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("dense");
#ifdef _OPENMP
    omp_set_num_threads(2);   /* the per-thread split and gradient sums are exercised */
#endif
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dense_create_fields),
        cmocka_unit_test(dense_reference),
        cmocka_unit_test(dense_gradcheck),
        cmocka_unit_test(dense_backward_contract),
        cmocka_unit_test(dense_errors),
        cmocka_unit_test(dense_reshape),
    };
    return cmocka_run_group_tests_name("dense", tests, group_setup, NULL);
}
