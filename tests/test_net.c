/*
 * test_net.c - gp_net's eval forward. It runs the batch in slices and folds
 * each batchnorm2d and relu that follows a conv2d into the conv's output;
 * the result must equal, bit for bit, the layers run one after another
 * over the whole batch with gp_layer_forward. Checked for every conv path
 * this CPU has (direct AVX-512, direct AVX2, im2col + sgemm), at 1 and 2
 * threads, on batches of several slices plus a tail.
 *
 * Data are random with a fresh seed per run (testutil.h); failures print it.
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>
#include <cmocka.h>

#include "gpool.h"
#include "gpool_nn.h"
#include "testutil.h"

static uint64_t seed;

/* Several eval slices plus a tail: a slice holds at most 2 MiB per thread
 * of the widest layer's input and output (net.c), about 40 images of the
 * first block of either net here at one thread, 80 at two. */
#define BATCH 301

/* Takes &l, not l: the maker in the same call fills it in. */
static void add(gp_net *net, gp_status made, gp_layer **l)
{
    if (made != GP_OK || gp_net_add(net, *l) != GP_OK)
        fail_msg("building the net: %s", gp_last_error());
}

static void randomize(float *v, size_t count, float lo, float hi)
{
    for (size_t i = 0; i < count; i++)
        v[i] = tu_uniform(lo, hi);
}

/* Non-trivial eval statistics and affine parameters, so that a fused
 * batchnorm that did nothing, or the wrong channel's, would show. */
static void randomize_bn(gp_layer *l)
{
    size_t c = (size_t)l->in.c;
    randomize(l->buffers[0].value, c, -0.5f, 0.5f);  /* running_mean */
    randomize(l->buffers[1].value, c, 0.2f, 2.0f);   /* running_var */
    randomize(l->params[0].value, c, 0.5f, 1.5f);    /* weight */
    randomize(l->params[1].value, c, -0.3f, 0.3f);   /* bias */
}

static void add_bn(gp_net *net)
{
    gp_layer *l;
    add(net, gp_batchnorm2d_create(&l, gp_net_out_shape(net), 0.1f, 1e-5f), &l);
    randomize_bn(l);
}

static void add_conv(gp_net *net, int cout, int k, int bias)
{
    gp_layer *l;
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), cout, k, k, 1, k / 2, bias), &l);
}

static void add_relu(gp_net *net)
{
    gp_layer *l;
    add(net, gp_relu_create(&l, gp_net_out_shape(net)), &l);
}

/* Every fusion pattern: conv+bn+relu, conv+relu, conv+bn, a bare conv,
 * and a 1x1 conv at the end. No global pooling head: its dispatched
 * kernels may sum a plane in another order depending on where the plane
 * falls in the batch (a vector body or a tail), so a slice may change the
 * last bit of a logit; that is the pooling kernels' contract (within
 * 1e-6 of the mean), not the net's. */
static gp_net *patterns_net(void)
{
    gp_shape in = { BATCH, 1, 28, 28 };
    gp_net *net;
    gp_layer *l;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    add_conv(net, 8, 3, 0);
    add_bn(net);
    add_relu(net);
    add(net, gp_pool2d_create(&l, gp_net_out_shape(net), GP_POOL_MAX, 2, 2, 0, 0), &l);
    add_conv(net, 16, 3, 1);
    add_relu(net);
    add_conv(net, 16, 5, 0);
    add_bn(net);
    add_conv(net, 12, 3, 1);
    add_relu(net);
    add_bn(net);            /* a batchnorm after relu is not fused */
    add_conv(net, 5, 1, 1);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, tu_next());
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    return net;
}

/* The same net, ending in conv + bn + relu: the fused output is the net's. */
static gp_net *fused_tail_net(void)
{
    gp_shape in = { BATCH, 3, 20, 20 };
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    add_conv(net, 24, 3, 1);
    add_bn(net);
    add_relu(net);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, tu_next());
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    return net;
}

static size_t image_floats(gp_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

/* The reference: each layer over the whole batch, one after another. */
static float *layer_by_layer(gp_net *net, const float *x)
{
    int count = gp_net_layer_count(net);
    const float *in = x;
    float *prev = NULL;
    for (int i = 0; i < count; i++) {
        gp_layer *l = gp_net_layer(net, i);
        float *y = malloc(sizeof(float) * BATCH * image_floats(l->out));
        assert_non_null(y);
        assert_int_equal(gp_layer_forward(l, BATCH, in, y, GP_EVAL), GP_OK);
        free(prev);
        prev = y;
        in = y;
    }
    return prev;
}

/* Largest |got - want| over max |want|; 0 when bit-identical (NaN never). */
static double max_rel_diff(const float *got, const float *want, size_t count, size_t *where)
{
    double worst = 0.0, scale = 0.0;
    *where = 0;
    for (size_t i = 0; i < count; i++)
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    for (size_t i = 0; i < count; i++) {
        double d = memcmp(&got[i], &want[i], sizeof(float)) ? fabs((double)got[i] - want[i])
                                                             : 0.0;
        if (d != d)
            d = INFINITY;
        if (d > worst) {
            worst = d;
            *where = i;
        }
    }
    return worst == 0.0 ? 0.0 : worst / (scale > 0.0 ? scale : 1.0);
}

/* exact: every conv runs a direct kernel, which computes each image on its
 * own, so slicing cannot change a bit. Otherwise OpenBLAS's sgemm may pick
 * another kernel (its small-matrix one) for the narrower matrices of a
 * slice and round differently; the bound then is 1e-4 of the output's
 * largest value (measured: about 1e-7), still far below what a wrong
 * channel, a skipped batchnorm or a missing relu would give (order 1e-1). */
static void check_eval_equals_layers(gp_net *(*make)(void), const char *what, int threads,
                                     int exact)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    openblas_set_num_threads(threads);
    gp_net *net = make();
    size_t in_floats = BATCH * image_floats(gp_net_layer(net, 0)->in);
    size_t out_floats = BATCH * image_floats(gp_net_out_shape(net));
    float *x = malloc(sizeof(float) * in_floats);
    assert_non_null(x);
    randomize(x, in_floats, -1.0f, 1.0f);
    float *want = layer_by_layer(net, x);
    const float *got;
    assert_int_equal(gp_net_forward(net, BATCH, x, GP_EVAL, &got), GP_OK);
    size_t at;
    double diff = max_rel_diff(got, want, out_floats, &at);
    if (diff > (exact ? 0.0 : 1e-4))
        fail_msg("%s, %d thread(s), GPOOL_CONV=%s: output %zu is %.9g, layer by layer %.9g "
                 "(relative %.3g; seed %llu: rerun with GPOOL_TEST_SEED=%llu)", what, threads,
                 getenv("GPOOL_CONV"), at, got[at], want[at], diff, (unsigned long long)seed,
                 (unsigned long long)seed);
    printf("# %s, %d thread(s), GPOOL_CONV=%s: %s\n", what, threads, getenv("GPOOL_CONV"),
           diff == 0.0 ? "bit-identical" : "within bound");
    free(want);
    free(x);
    gp_net_destroy(net);
}

static void check_all_nets(int exact)
{
    for (int threads = 1; threads <= 2; threads++) {
        check_eval_equals_layers(patterns_net, "fusion patterns", threads, exact);
        check_eval_equals_layers(fused_tail_net, "net ending in conv+bn+relu", threads, exact);
    }
}

/* The conv paths this CPU can run, forced in turn through GPOOL_CONV; a
 * forced direct path takes every conv of these nets (all "same" convs). */
static void test_eval_equals_layer_by_layer(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        gp_isa isa;
        int exact;
    } paths[] = { { "avx512", GP_ISA_AVX512, 1 }, { "avx2", GP_ISA_AVX2, 1 },
                  { "im2col", GP_ISA_SCALAR, 0 }, { "auto", GP_ISA_SCALAR, 0 } };
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (!gp_cpu_has(paths[p].isa)) {
            printf("# GPOOL_CONV=%s skipped: this CPU lacks its instructions\n", paths[p].path);
            continue;
        }
        setenv("GPOOL_CONV", paths[p].path, 1);
        check_all_nets(paths[p].exact);
    }
    unsetenv("GPOOL_CONV");
}

/* An eval forward keeps no state for backward (and slices overwrite the
 * layers' saved state), so backward needs a training forward first. */
static void test_backward_needs_train_forward(void **state)
{
    (void)state;
    gp_net *net = fused_tail_net();
    size_t in_floats = BATCH * image_floats(gp_net_layer(net, 0)->in);
    size_t out_floats = BATCH * image_floats(gp_net_out_shape(net));
    float *x = malloc(sizeof(float) * in_floats), *dy = malloc(sizeof(float) * out_floats);
    assert_true(x && dy);
    randomize(x, in_floats, -1.0f, 1.0f);
    randomize(dy, out_floats, -1.0f, 1.0f);
    const float *y;
    assert_int_equal(gp_net_forward(net, BATCH, x, GP_TRAIN, &y), GP_OK);
    assert_int_equal(gp_net_backward(net, BATCH, dy), GP_OK);
    assert_int_equal(gp_net_forward(net, BATCH, x, GP_EVAL, &y), GP_OK);
    assert_int_equal(gp_net_backward(net, BATCH, dy), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "GP_TRAIN"));
    free(x);
    free(dy);
    gp_net_destroy(net);
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_equals_layer_by_layer),
        cmocka_unit_test(test_backward_needs_train_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
