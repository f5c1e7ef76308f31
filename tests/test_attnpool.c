/*
 * test_attnpool.c - the attention pools of heads: attn_pool
 * (gp_attn_pool_create) and simpool (gp_simpool_create). Their parameters,
 * forward against double references written the direct way (simpool's as
 * timm's SimPool2d computes it: keys formed, then q . k), every gradient
 * (dx and each parameter) against finite differences with one head and
 * with several, the attention map (gp_attention_map), eval against train,
 * thread-count independence, and the options they refuse.
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
#include "cmocka_util.h"
#include "gradcheck.h"

/* nn.LayerNorm's eps, as simpool documents it. */
#define LN_EPS 1e-5

/* An attn_pool (simpool = 0) or simpool layer for n x c x h x w inputs,
 * every parameter drawn at random (simpool's norm too, so that a gamma or
 * beta used in the wrong place shows). */
static gp_layer *make(int simpool, int heads, int n, int c, int h, int w)
{
    gp_shape in = { .n = n, .c = c, .h = h, .w = w };
    gp_layer *l = NULL;
    gp_status st = simpool ? gp_simpool_create(&l, in, heads) : gp_attn_pool_create(&l, in, heads);
    if (st != GP_OK)
        FAILF("create %s heads %d: %s", simpool ? "simpool" : "attn_pool", heads,
              gp_last_error());
    for (int p = 0; p < l->nparams; p++)
        gc_uniform(l->params[p].value, l->params[p].count, -0.8f, 0.8f);
    if (simpool)
        gc_uniform(l->params[0].value, l->params[0].count, 0.5f, 1.5f);
    return l;
}

/* ------------------------------------------------------------ references */

/* a = softmax(s) over hw positions, in double. */
static void ref_softmax(const double *s, double *a, size_t hw)
{
    double m = s[0], sum = 0;
    for (size_t p = 1; p < hw; p++)
        m = fmax(m, s[p]);
    for (size_t p = 0; p < hw; p++)
        sum += a[p] = exp(s[p] - m);
    for (size_t p = 0; p < hw; p++)
        a[p] /= sum;
}

/* One image of attn_pool: the map a (heads x hw) and the output y (c). */
static void ref_attn(const gp_layer *l, const float *x, double *a, double *y)
{
    int c = l->in.c, heads = l->spec.u.attn_pool.heads, group = c / heads;
    size_t hw = (size_t)l->in.h * l->in.w;
    const float *wt = l->params[0].value;
    double *s = dalloc(hw);
    for (int g = 0; g < heads; g++) {
        for (size_t p = 0; p < hw; p++) {
            s[p] = 0;
            for (int k = 0; k < c; k++)
                s[p] += (double)wt[g * c + k] * x[k * hw + p];
        }
        ref_softmax(s, a + g * hw, hw);
    }
    for (int k = 0; k < c; k++) {
        y[k] = 0;
        for (size_t p = 0; p < hw; p++)
            y[k] += a[(k / group) * hw + p] * x[k * hw + p];
    }
    free(s);
}

/* z = LayerNorm over the channels of each position, gamma and beta applied. */
static void ref_layer_norm(const gp_layer *l, const float *x, double *z)
{
    int c = l->in.c;
    size_t hw = (size_t)l->in.h * l->in.w;
    for (size_t p = 0; p < hw; p++) {
        double mean = 0, var = 0;
        for (int k = 0; k < c; k++)
            mean += x[k * hw + p] / (double)c;
        for (int k = 0; k < c; k++)
            var += (x[k * hw + p] - mean) * (x[k * hw + p] - mean) / c;
        for (int k = 0; k < c; k++)
            z[k * hw + p] = (x[k * hw + p] - mean) / sqrt(var + LN_EPS) *
                                l->params[0].value[k] + l->params[1].value[k];
    }
}

/* One image of simpool as SimPool2d computes it: q = Wq gap(x), keys
 * k = Wk z formed in full, scores scale q_g . k_g per head, values z. */
static void ref_simpool(const gp_layer *l, const float *x, double *a, double *y)
{
    int c = l->in.c, heads = l->spec.u.simpool.heads, group = c / heads;
    size_t hw = (size_t)l->in.h * l->in.w;
    const float *wq = l->params[2].value, *wk = l->params[3].value;
    double *z = dalloc(c * hw), *k = dalloc(c * hw), *q = dalloc(c), *s = dalloc(hw);
    ref_layer_norm(l, x, z);
    for (int j = 0; j < c; j++)
        for (int m = 0; m < c; m++) {
            double gap = 0;
            for (size_t p = 0; p < hw; p++)
                gap += x[m * hw + p] / (double)hw;
            q[j] += wq[j * c + m] * gap;
            for (size_t p = 0; p < hw; p++)
                k[j * hw + p] += wk[j * c + m] * z[m * hw + p];
        }
    for (int g = 0; g < heads; g++) {
        for (size_t p = 0; p < hw; p++) {
            s[p] = 0;
            for (int j = g * group; j < (g + 1) * group; j++)
                s[p] += q[j] * k[j * hw + p] / sqrt((double)group);
        }
        ref_softmax(s, a + g * hw, hw);
    }
    for (int j = 0; j < c; j++) {
        y[j] = 0;
        for (size_t p = 0; p < hw; p++)
            y[j] += a[(j / group) * hw + p] * z[j * hw + p];
    }
    free(z); free(k); free(q); free(s);
}

/* ------------------------------------------------------------ create */

static void test_create(void **state)
{
    (void)state;
    gp_layer *a = make(0, 2, 3, 6, 5, 4), *s = make(1, 3, 3, 6, 5, 4);
    assert_string_equal(a->ops->kind, "attn_pool");
    assert_string_equal(s->ops->kind, "simpool");
    assert_true(a->out.c == 6 && a->out.h == 1 && a->out.w == 1 && a->out.n == 3);
    assert_true(s->out.c == 6 && s->out.h == 1 && s->out.w == 1);
    /* attn_pool: a bias-free 1x1 conv's weight, heads x c x 1 x 1 */
    assert_int_equal(a->nparams, 1);
    assert_string_equal(a->params[0].name, "weight");
    assert_true(a->params[0].ndims == 4 && a->params[0].dims[0] == 2 &&
                a->params[0].dims[1] == 6 && a->params[0].dims[2] == 1);
    assert_true(a->params[0].fan_in == 6 && !a->params[0].fixed_init);
    /* simpool: LayerNorm's weight and bias, then the two c x c projections */
    static const char *const names[] = { "norm_weight", "norm_bias", "q_weight", "k_weight" };
    assert_int_equal(s->nparams, 4);
    for (int p = 0; p < 4; p++) {
        assert_string_equal(s->params[p].name, names[p]);
        assert_int_equal(s->params[p].ndims, p < 2 ? 1 : 2);
        assert_int_equal(s->params[p].count, p < 2 ? 6 : 36);
        assert_int_equal(s->params[p].fixed_init, p < 2);
    }
    assert_true(a->flops > 0 && s->flops > a->flops && s->workspace_bytes > 0);
    gp_layer_destroy(a);
    gp_layer_destroy(s);
    gp_shape in = { 2, 6, 3, 3 };
    gp_layer *fresh;
    assert_int_equal(gp_simpool_create(&fresh, in, 1), GP_OK);
    for (int k = 0; k < 6; k++)     /* nn.LayerNorm starts as the identity affine */
        assert_true(fresh->params[0].value[k] == 1.0f && fresh->params[1].value[k] == 0.0f);
    gp_layer_destroy(fresh);
}

/* heads must be at least 1 and divide the channels; a reshape must keep them. */
static void test_refused(void **state)
{
    (void)state;
    gp_shape in = { 2, 6, 3, 3 };
    gp_layer *l = (gp_layer *)&l;
    assert_int_equal(gp_attn_pool_create(&l, in, 4), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "6 channels do not split into 4 heads"));
    assert_null(l);
    assert_int_equal(gp_simpool_create(&l, in, 0), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "heads 0"));
    assert_int_equal(gp_attn_pool_create(&l, in, -1), GP_ERR_ARG);
    gp_layer *s = make(1, 2, 2, 6, 3, 3);
    gp_shape other = { 2, 8, 3, 3 }, bigger = { 5, 6, 9, 7 }, out;
    assert_int_equal(gp_layer_out_shape(s, other, &out), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "parameters are for 6 channels"));
    assert_int_equal(gp_layer_reshape(s, bigger), GP_OK);
    assert_true(s->in.h == 9 && s->in.w == 7 && s->out.n == 5);
    gp_layer_destroy(s);
}

/* ------------------------------------------------------------ forward */

/* 1e-5 relative: float scores of at most 12 O(1) terms, a float exp and
 * float LayerNorm outputs carry a few 1e-7; a wrong scale, norm or group
 * moves outputs by 1e-2 or more. */
#define FORWARD_RTOL 1e-5

static void check_forward(int simpool, int heads, int n, int c, int h, int w)
{
    gp_layer *l = make(simpool, heads, n, c, h, w);
    size_t hw = (size_t)h * w, xs = (size_t)n * c * hw;
    float *x = falloc_nan(xs), *y = falloc_nan((size_t)n * c);
    double *a = dalloc(heads * hw), *yr = dalloc(c);
    gc_uniform(x, xs, -2.0f, 2.0f);
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
    int mn, mheads;
    const float *map;
    assert_int_equal(gp_attention_map(l, &mn, &mheads, &map), GP_OK);
    assert_true(mn == n && mheads == heads);
    for (int b = 0; b < n; b++) {
        (simpool ? ref_simpool : ref_attn)(l, x + b * c * hw, a, yr);
        for (int k = 0; k < c; k++)
            if (!(fabs(y[b * c + k] - yr[k]) <= FORWARD_RTOL * fmax(1.0, fabs(yr[k]))))
                FAILF("%s heads %d: y[%d][%d] = %.9g, reference %.9g",
                      l->ops->kind, heads, b, k, y[b * c + k], yr[k]);
        for (size_t i = 0; i < heads * hw; i++)
            if (!(fabs(map[b * heads * hw + i] - a[i]) <= FORWARD_RTOL))
                FAILF("%s heads %d: map[%d][%zu] = %.9g, reference %.9g", l->ops->kind,
                      heads, b, i, map[b * heads * hw + i], a[i]);
    }
    gp_layer_destroy(l);
    free(x); free(y); free(a); free(yr);
}

static void test_forward_reference(void **state)
{
    (void)state;
    for (int simpool = 0; simpool <= 1; simpool++) {
        check_forward(simpool, 1, 3, 8, 5, 4);
        check_forward(simpool, 2, 3, 8, 5, 4);
        check_forward(simpool, 4, 2, 12, 3, 3);
        check_forward(simpool, 12, 2, 12, 1, 7);
        check_forward(simpool, 1, 1, 5, 1, 1);     /* one position: the weight is 1 */
    }
}

/* With a zero score weight every position weighs 1 / hw: attn_pool is then
 * global average pooling (the sum in double rounded once, the mean's own
 * rounding apart). */
static void test_attn_uniform_is_mean(void **state)
{
    (void)state;
    const int n = 2, c = 4;
    const size_t hw = 6 * 5;
    gp_layer *l = make(0, 2, n, c, 6, 5);
    memset(l->params[0].value, 0, l->params[0].count * sizeof(float));
    float *x = falloc_nan(n * c * hw), *y = falloc_nan(n * c);
    gc_uniform(x, n * c * hw, -1.0f, 3.0f);
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_EVAL), GP_OK);
    for (int j = 0; j < n * c; j++) {
        double mean = 0;
        for (size_t p = 0; p < hw; p++)
            mean += x[j * hw + p];
        mean /= (double)hw;
        assert_true(fabs(y[j] - mean) <= 1e-6 * fmax(1.0, fabs(mean)));
    }
    gp_layer_destroy(l);
    free(x); free(y);
}

/* ------------------------------------------------------------ gradients */

static void check_gradients(int simpool, int heads, int n, int c, int h, int w)
{
    gp_layer *l = make(simpool, heads, n, c, h, w);
    size_t xs = (size_t)n * c * h * w;
    float *x = falloc_nan(xs);
    gc_uniform(x, xs, -1.5f, 1.5f);
    gc_opts o = gc_defaults();
    int bad = gc_check_layer(l, n, x, &o);
    if (bad)
        FAILF("%s heads %d (%dx%dx%dx%d): %d gradient elements disagree with finite "
              "differences", l->ops->kind, heads, n, c, h, w, bad);
    gp_layer_destroy(l);
    free(x);
}

static void test_gradcheck(void **state)
{
    (void)state;
    for (int simpool = 0; simpool <= 1; simpool++) {
        check_gradients(simpool, 1, 3, 6, 4, 5);
        check_gradients(simpool, 3, 2, 6, 3, 4);
        check_gradients(simpool, 2, 2, 8, 1, 6);
        check_gradients(simpool, 10, 2, 10, 3, 3);
    }
}

/* backward without dx gives the same parameter gradients. */
static void test_no_dx(void **state)
{
    (void)state;
    for (int simpool = 0; simpool <= 1; simpool++) {
        const int n = 3, c = 6, hw = 12;
        gp_layer *l = make(simpool, 2, n, c, 3, 4);
        float *x = falloc_nan(n * c * hw), *y = falloc_nan(n * c), *dy = falloc_nan(n * c);
        float *dx = falloc_nan(n * c * hw);
        gc_uniform(x, n * c * hw, -1.0f, 1.0f);
        gc_uniform(dy, n * c, -1.0f, 1.0f);
        float *with[4] = { 0 };
        assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
        assert_int_equal(gp_layer_backward(l, n, x, y, dy, dx), GP_OK);
        for (int p = 0; p < l->nparams; p++) {
            with[p] = falloc_nan(l->params[p].count);
            memcpy(with[p], l->params[p].grad, l->params[p].count * sizeof(float));
        }
        assert_int_equal(gp_layer_backward(l, n, x, y, dy, NULL), GP_OK);
        for (int p = 0; p < l->nparams; p++) {
            assert_memory_equal(with[p], l->params[p].grad, l->params[p].count * sizeof(float));
            free(with[p]);
        }
        gp_layer_destroy(l);
        free(x); free(y); free(dy); free(dx);
    }
}

/* ------------------------------------------------------------ the map */

/* The map is that of the last call, in eval as in train, with that call's
 * batch; every plane sums to 1; other kinds and a layer that has not run
 * have none. */
static void test_attention_map(void **state)
{
    (void)state;
    const int n = 4, c = 6, heads = 3;
    const size_t hw = 20, xs = (size_t)n * c * hw;
    float *x = falloc_nan(xs), *yt = falloc_nan(n * c), *ye = falloc_nan(n * c);
    gc_uniform(x, xs, -2.0f, 2.0f);
    for (int simpool = 0; simpool <= 1; simpool++) {
        gp_layer *l = make(simpool, heads, n, c, 4, 5);
        int mn, mh;
        const float *map;
        assert_int_equal(gp_attention_map(l, &mn, &mh, &map), GP_ERR_ARG);
        assert_int_equal(gp_layer_forward(l, n, x, yt, GP_TRAIN), GP_OK);
        assert_int_equal(gp_layer_forward(l, 2, x + 2 * c * hw, ye, GP_EVAL), GP_OK);
        assert_memory_equal(ye, yt + 2 * c, 2 * c * sizeof(float));
        assert_int_equal(gp_attention_map(l, &mn, &mh, &map), GP_OK);
        assert_true(mn == 2 && mh == heads);
        for (int plane = 0; plane < mn * mh; plane++) {
            double sum = 0;
            for (size_t p = 0; p < hw; p++) {
                assert_true(map[plane * hw + p] > 0.0f);
                sum += map[plane * hw + p];
            }
            assert_true(fabs(sum - 1.0) <= 1e-6);
        }
        gp_shape bigger = { n, c, 5, 5 };
        assert_int_equal(gp_layer_reshape(l, bigger), GP_OK);
        assert_int_equal(gp_attention_map(l, &mn, &mh, &map), GP_ERR_ARG);
        gp_layer_destroy(l);
    }
    gp_layer *relu;
    gp_shape in = { 1, 2, 2, 2 };
    int mn, mh;
    const float *map;
    assert_int_equal(gp_relu_create(&relu, in), GP_OK);
    assert_int_equal(gp_attention_map(relu, &mn, &mh, &map), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "relu layer has no attention map"));
    assert_int_equal(gp_attention_map(NULL, &mn, &mh, &map), GP_ERR_ARG);
    gp_layer_destroy(relu);
    free(x); free(yt); free(ye);
}

/* ------------------------------------------------------------ threads */

#ifdef _OPENMP
/* Forward and backward with `threads` threads; y, dx and every parameter
 * gradient, one after another, into out. */
static void run_once(int simpool, int threads, const float *x, const float *dy, float *out)
{
    const int n = 16, c = 16, h = 8, w = 8;
    size_t xs = (size_t)n * c * h * w;
    omp_set_num_threads(threads);
    uint64_t saved = tu_state;
    gp_layer *l = make(simpool, 4, n, c, h, w);
    tu_state = saved;
    assert_int_equal(gp_layer_forward(l, n, x, out, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, n, x, out, dy, out + n * c), GP_OK);
    float *at = out + n * c + xs;
    for (int p = 0; p < l->nparams; p++, at += l->params[p - 1].count)
        memcpy(at, l->params[p].grad, l->params[p].count * sizeof(float));
    gp_layer_destroy(l);
}
#endif

/* One thread and two give the same bits, on inputs large enough for the
 * parallel loop over images. */
static void test_threads(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#else
    const size_t xs = 16 * 16 * 64, ys = 16 * 16, total = ys + xs + 2 * 16 + 2 * 256;
    float *x = falloc_nan(xs), *dy = falloc_nan(ys), *one = falloc_nan(total), *two = falloc_nan(total);
    gc_uniform(x, xs, -1.0f, 2.0f);
    gc_uniform(dy, ys, -1.0f, 1.0f);
    for (int simpool = 0; simpool <= 1; simpool++) {
        memset(one, 0, total * sizeof(float));
        memset(two, 0, total * sizeof(float));
        run_once(simpool, 1, x, dy, one);
        run_once(simpool, 2, x, dy, two);
        assert_memory_equal(one, two, total * sizeof(float));
    }
    omp_set_num_threads(2);
    free(x); free(dy); free(one); free(two);
#endif
}

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("attnpool");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_forward_reference),
        cmocka_unit_test(test_attn_uniform_is_mean),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_no_dx),
        cmocka_unit_test(test_attention_map),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("attnpool", tests, group_setup, NULL);
}
