/*
 * test_net.c - gp_net's eval forward, and gp_net_reshape.
 *
 * The eval forward runs the batch in slices and folds each batchnorm2d and
 * relu that follows a conv2d into the conv's output; the result must equal,
 * bit for bit, the layers run one after another over the whole batch with
 * gp_layer_forward. Checked for every conv path this CPU has (direct
 * AVX-512, direct AVX2, im2col + sgemm), at 1 and 2 threads, on batches of
 * several slices plus a tail.
 *
 * A reshaped net must be, bit for bit, a net built for the new shape and
 * given the same weights: every layer's shapes, costs and description, the
 * eval and training outputs and every parameter gradient; and back at the
 * old shape, a net built for that. Checked for every layer kind that takes
 * any input size, every head op, and every conv path. A refused reshape
 * (dense after flatten at another size, another channel count, a map a
 * window does not fit) names the layer and leaves the net unchanged.
 *
 * The allocation counter (gp_alloc_stats) is measured: it moves by the
 * bytes of each block the library allocates (64-byte multiples) and back
 * when they are freed, and keeps its peak until reset.
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

/* ------------------------------------------------------------ reshape */

/* A net of the layer specs for inputs in, every weight drawn from seed and
 * every batchnorm's statistics randomized (a buffer a reshape lost would
 * show). */
static gp_net *net_of(const gp_layer_spec *specs, int count, gp_shape in)
{
    gp_net *net;
    gp_layer *l;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    for (int i = 0; i < count; i++) {
        add(net, gp_layer_create(&l, gp_net_out_shape(net), &specs[i]), &l);
        if (specs[i].kind == GP_LAYER_BATCHNORM2D)
            randomize_bn(l);
    }
    assert_int_equal(gp_net_finalize(net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, tu_next());
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    return net;
}

/* dst's parameters and buffers become src's (same architecture). */
static void copy_weights(gp_net *dst, gp_net *src)
{
    for (int i = 0; i < gp_net_layer_count(src); i++) {
        gp_layer *a = gp_net_layer(src, i), *b = gp_net_layer(dst, i);
        for (int k = 0; k < a->nparams; k++)
            memcpy(b->params[k].value, a->params[k].value, a->params[k].count * sizeof(float));
        for (int k = 0; k < a->nbuffers; k++)
            memcpy(b->buffers[k].value, a->buffers[k].value, a->buffers[k].count * sizeof(float));
    }
}

static void expect_bits(const char *what, int layer, const float *got, const float *want,
                        size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)))
            fail_msg("%s (layer %d) [%zu]: reshaped %.9g, built %.9g (seed %llu: rerun with "
                     "GPOOL_TEST_SEED=%llu)", what, layer, i, got[i], want[i],
                     (unsigned long long)seed, (unsigned long long)seed);
}

/* Every layer of a planned as b's: shapes, FLOPs, workspace, description. */
static void expect_same_plan(gp_net *a, gp_net *b)
{
    assert_int_equal(gp_net_layer_count(a), gp_net_layer_count(b));
    for (int i = 0; i < gp_net_layer_count(a); i++) {
        const gp_layer *x = gp_net_layer(a, i), *y = gp_net_layer(b, i);
        assert_memory_equal(&x->in, &y->in, sizeof x->in);
        assert_memory_equal(&x->out, &y->out, sizeof x->out);
        assert_true(x->flops == y->flops);
        assert_int_equal(x->workspace_bytes, y->workspace_bytes);
        assert_string_equal(x->desc, y->desc);
    }
}

/* a (reshaped) and b (built for its shape, same weights) on the same data:
 * the plan, the eval output, the training output and every gradient. */
static void expect_same_net(gp_net *a, gp_net *b)
{
    expect_same_plan(a, b);
    gp_shape in = gp_net_layer(a, 0)->in;
    int n = in.n;
    size_t xs = (size_t)n * image_floats(in), ys = (size_t)n * image_floats(gp_net_out_shape(a));
    float *x = malloc(xs * sizeof *x), *dy = malloc(ys * sizeof *dy);
    assert_true(x && dy);
    randomize(x, xs, -1.0f, 1.0f);
    randomize(dy, ys, -1.0f, 1.0f);
    const float *ya, *yb;
    for (int mode = GP_EVAL; mode <= GP_TRAIN; mode++) {
        assert_int_equal(gp_net_forward(a, n, x, (gp_mode)mode, &ya), GP_OK);
        assert_int_equal(gp_net_forward(b, n, x, (gp_mode)mode, &yb), GP_OK);
        expect_bits(mode == GP_TRAIN ? "training output" : "eval output", -1, ya, yb, ys);
    }
    assert_int_equal(gp_net_backward(a, n, dy), GP_OK);
    assert_int_equal(gp_net_backward(b, n, dy), GP_OK);
    for (int i = 0; i < gp_net_layer_count(a); i++)
        for (int k = 0; k < gp_net_layer(a, i)->nparams; k++)
            expect_bits("gradient", i, gp_net_layer(a, i)->params[k].grad,
                        gp_net_layer(b, i)->params[k].grad, gp_net_layer(a, i)->params[k].count);
    free(x);
    free(dy);
}

/* net reshaped to `to` against a net built there with its weights. A
 * dropout layer's mask stream goes on through a reshape, one draw per
 * training forward: the built net takes as many first (trained: how many
 * net had), before it gets the weights. */
static void check_reshape_to(gp_net *net, const gp_layer_spec *specs, int count, gp_shape to,
                             int trained)
{
    assert_int_equal(gp_net_reshape(net, to), GP_OK);
    assert_string_equal(gp_last_error(), "");
    gp_net *built = net_of(specs, count, to);
    size_t xs = (size_t)to.n * image_floats(to);
    float *x = malloc(xs * sizeof *x);
    const float *y;
    assert_non_null(x);
    randomize(x, xs, -1.0f, 1.0f);
    for (int k = 0; k < trained; k++)
        assert_int_equal(gp_net_forward(built, to.n, x, GP_TRAIN, &y), GP_OK);
    free(x);
    copy_weights(built, net);
    expect_same_net(net, built);
    gp_net_destroy(built);
}

/* Every kind that takes any input size: a "same" conv (a direct path where
 * the CPU has one), batchnorm, relu, a ceil-mode maxpool, a strided conv
 * (im2col), sigmoid, a padded avgpool, dropout, a 1x1 conv, then the head. */
static const gp_layer_spec any_size_trunk[] = {
    { .kind = GP_LAYER_CONV2D, .u.conv2d = { 6, 3, 3, 1, 1, 1 } },
    { .kind = GP_LAYER_BATCHNORM2D, .u.batchnorm2d = { 0.1f, 1e-5f } },
    { .kind = GP_LAYER_RELU },
    { .kind = GP_LAYER_MAXPOOL2D, .u.pool2d = { 2, 2, 0, 1 } },
    { .kind = GP_LAYER_CONV2D, .u.conv2d = { 8, 3, 3, 2, 1, 0 } },
    { .kind = GP_LAYER_SIGMOID },
    { .kind = GP_LAYER_AVGPOOL2D, .u.pool2d = { 3, 1, 1, 0 } },
    { .kind = GP_LAYER_DROPOUT, .u.dropout = { 0.25f, 7 } },
    { .kind = GP_LAYER_CONV2D, .u.conv2d = { 5, 1, 1, 1, 0, 1 } },
};
#define ANY_SIZE_TRUNK ((int)(sizeof any_size_trunk / sizeof any_size_trunk[0]))

/* The trunk and a head pooling layer (then a dense layer when it widens the
 * features, as catavgmax does) to another size and batch, and back. */
static void check_reshape_head(gp_layer_spec head)
{
    gp_layer_spec specs[ANY_SIZE_TRUNK + 2];
    memcpy(specs, any_size_trunk, sizeof any_size_trunk);
    int count = ANY_SIZE_TRUNK;
    specs[count++] = head;
    if (head.kind == GP_LAYER_HEAD_POOL && head.u.head_pool.op == GP_HEAD_CATAVGMAX)
        specs[count++] = (gp_layer_spec){ .kind = GP_LAYER_DENSE, .u.dense = { 3, 1 } };
    gp_shape own = { 8, 2, 12, 12 }, other = { 5, 2, 19, 23 };
    gp_net *net = net_of(specs, count, own);
    check_reshape_to(net, specs, count, other, 0);
    check_reshape_to(net, specs, count, own, 1);
    gp_net_destroy(net);
}

/* Every head pooling op, and the attention pools (five heads of one
 * channel each over the trunk's 5 channels, and simpool with one). */
static void check_reshape_heads(void)
{
    for (int op = GP_HEAD_AVG; op <= GP_HEAD_CATAVGMAX; op++)
        check_reshape_head((gp_layer_spec){ .kind = GP_LAYER_HEAD_POOL,
                                            .u.head_pool = { (gp_head_op)op } });
    check_reshape_head((gp_layer_spec){ .kind = GP_LAYER_ATTN_POOL, .u.attn_pool = { 5 } });
    check_reshape_head((gp_layer_spec){ .kind = GP_LAYER_SIMPOOL, .u.simpool = { 1 } });
}

/* The trunk, then an adaptive max pool, then a top-k by fraction (its k
 * follows the map) or spp and a dense (its length does not), to another
 * size and batch, and back. */
static void check_reshape_kpool(int spp)
{
    gp_layer_spec specs[ANY_SIZE_TRUNK + 3];
    memcpy(specs, any_size_trunk, sizeof any_size_trunk);
    int count = ANY_SIZE_TRUNK;
    specs[count++] = (gp_layer_spec){ .kind = GP_LAYER_ADAPTIVE_MAXPOOL2D,
                                      .u.adaptive_pool2d = { 5 } };
    if (spp) {
        specs[count++] = (gp_layer_spec){ .kind = GP_LAYER_SPP,
                                          .u.spp = { 2, { 1, 2 }, GP_POOL_AVG } };
        specs[count++] = (gp_layer_spec){ .kind = GP_LAYER_DENSE, .u.dense = { 3, 1 } };
    } else {
        specs[count++] = (gp_layer_spec){ .kind = GP_LAYER_TOPK_POOL,
                                          .u.topk_pool = { 0, 0.3f } };
    }
    gp_shape own = { 8, 2, 12, 12 }, other = { 5, 2, 19, 23 };
    gp_net *net = net_of(specs, count, own);
    check_reshape_to(net, specs, count, other, 0);
    check_reshape_to(net, specs, count, own, 1);
    gp_net_destroy(net);
}

static void test_reshape_equals_built(void **state)
{
    (void)state;
    static const char *const paths[] = { "avx512", "avx2", "im2col", "auto" };
    static const gp_isa isas[] = { GP_ISA_AVX512, GP_ISA_AVX2, GP_ISA_SCALAR, GP_ISA_SCALAR };
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    openblas_set_num_threads(2);
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (!gp_cpu_has(isas[p]))
            continue;
        setenv("GPOOL_CONV", paths[p], 1);
        check_reshape_heads();
        check_reshape_kpool(0);
        check_reshape_kpool(1);
        printf("# reshape, GPOOL_CONV=%s: every head bit-identical to a built net\n",
               paths[p]);
    }
    unsetenv("GPOOL_CONV");
}

/* conv, relu, maxpool 2, flatten, dense: 4 x 4 x 4 = 64 features at 8x8. */
static const gp_layer_spec flatten_net[] = {
    { .kind = GP_LAYER_CONV2D, .u.conv2d = { 4, 3, 3, 1, 1, 1 } },
    { .kind = GP_LAYER_RELU },
    { .kind = GP_LAYER_MAXPOOL2D, .u.pool2d = { 2, 2, 0, 0 } },
    { .kind = GP_LAYER_FLATTEN },
    { .kind = GP_LAYER_DENSE, .u.dense = { 3, 1 } },
};
#define FLATTEN_NET ((int)(sizeof flatten_net / sizeof flatten_net[0]))

/* What a refused reshape must not change: each layer's record (shapes,
 * costs, parameter pointers) and the net's eval output at its shape. */
typedef struct {
    gp_layer layers[FLATTEN_NET];
    float   *y;
    size_t   ys;
} net_snapshot;

static void snapshot(gp_net *net, const float *x, net_snapshot *s)
{
    const float *y;
    gp_shape in = gp_net_layer(net, 0)->in;
    for (int i = 0; i < FLATTEN_NET; i++)
        s->layers[i] = *gp_net_layer(net, i);
    assert_int_equal(gp_net_forward(net, in.n, x, GP_EVAL, &y), GP_OK);
    s->ys = (size_t)in.n * image_floats(gp_net_out_shape(net));
    s->y = malloc(s->ys * sizeof *s->y);
    assert_non_null(s->y);
    memcpy(s->y, y, s->ys * sizeof *y);
}

static void expect_unchanged(gp_net *net, const float *x, const net_snapshot *s)
{
    const float *y;
    for (int i = 0; i < FLATTEN_NET; i++)
        assert_memory_equal(gp_net_layer(net, i), &s->layers[i], sizeof(gp_layer));
    assert_int_equal(gp_net_forward(net, s->layers[0].in.n, x, GP_EVAL, &y), GP_OK);
    expect_bits("output after a refused reshape", -1, y, s->y, s->ys);
}

/* Refused shapes: each names its reason and the layer, and changes nothing. */
static void test_reshape_refused(void **state)
{
    (void)state;
    gp_shape own = { 4, 1, 8, 8 };
    gp_net *net = net_of(flatten_net, FLATTEN_NET, own);
    float x[4 * 64];
    randomize(x, 4 * 64, -1.0f, 1.0f);
    net_snapshot snap;
    snapshot(net, x, &snap);
    static const struct {
        gp_shape    in;
        int         layer;      /* the layer gp_net_reshape_check names; -1: none */
        gp_shape    at;         /* the input it refuses */
        const char *words[2];   /* in gp_net_reshape's message */
    } refused[] = {
        { { 4, 1, 10, 10 }, 4, { 4, 100, 1, 1 }, { "layer 4: dense", "takes 64 features" } },
        { { 4, 1, 6, 6 }, 4, { 4, 36, 1, 1 }, { "layer 4: dense", "gives 36" } },
        { { 4, 1, 1, 1 }, 2, { 4, 4, 1, 1 }, { "layer 2: maxpool2d", "empty output" } },
        { { 4, 2, 8, 8 }, -1, { 0, 0, 0, 0 }, { "channels", "not 2" } },
        { { 0, 1, 8, 8 }, -1, { 0, 0, 0, 0 }, { "not positive", "0x1x8x8" } },
    };
    for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
        int layer = 99;
        gp_shape at;
        assert_int_equal(gp_net_reshape_check(net, refused[k].in, &layer, &at), GP_ERR_ARG);
        assert_int_equal(layer, refused[k].layer);
        if (layer >= 0)
            assert_memory_equal(&at, &refused[k].at, sizeof at);
        assert_int_equal(gp_net_reshape(net, refused[k].in), GP_ERR_ARG);
        for (int w = 0; w < 2; w++)
            if (!strstr(gp_last_error(), refused[k].words[w]))
                fail_msg("refusal %zu: \"%s\" lacks \"%s\"", k, gp_last_error(),
                         refused[k].words[w]);
        expect_unchanged(net, x, &snap);
    }
    /* another batch keeps the features: the dense layer takes it */
    check_reshape_to(net, flatten_net, FLATTEN_NET, (gp_shape){ 7, 1, 8, 8 }, 0);
    free(snap.y);
    gp_net_destroy(net);
}

/* The new maximum batch bounds passes; backward needs a training forward
 * at the new shape; a net not finalized cannot be reshaped. */
static void test_reshape_passes(void **state)
{
    (void)state;
    gp_shape own = { 4, 1, 8, 8 }, small = { 2, 1, 8, 8 };
    gp_net *net = net_of(flatten_net, FLATTEN_NET, own);
    float x[4 * 64], dy[4 * 3];
    randomize(x, 4 * 64, -1.0f, 1.0f);
    randomize(dy, 4 * 3, -1.0f, 1.0f);
    const float *y;
    assert_int_equal(gp_net_forward(net, 4, x, GP_TRAIN, &y), GP_OK);
    assert_int_equal(gp_net_reshape(net, small), GP_OK);
    assert_int_equal(gp_net_backward(net, 2, dy), GP_ERR_ARG);
    assert_int_equal(gp_net_forward(net, 3, x, GP_EVAL, &y), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "batch 3 outside 1..2"));
    assert_int_equal(gp_net_forward(net, 2, x, GP_TRAIN, &y), GP_OK);
    assert_int_equal(gp_net_backward(net, 2, dy), GP_OK);
    gp_net_destroy(net);

    gp_net *open;
    gp_layer *l;
    assert_int_equal(gp_net_create(&open, own), GP_OK);
    add(open, gp_relu_create(&l, own), &l);
    assert_int_equal(gp_net_reshape(open, small), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "gp_net_finalize"));
    gp_net_destroy(open);
}

/* bytes a block of count floats takes in the counter: rounded up to 64 */
static size_t counted_floats(size_t count)
{
    return (count * sizeof(float) + 63) / 64 * 64;
}

static void test_alloc_counter(void **state)
{
    (void)state;
    gp_alloc_stats before = gp_alloc_stats_get();
    gp_shape in = { 4, 100, 1, 1 };
    gp_net *net;
    gp_layer *l;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    add(net, gp_dense_create(&l, in, 50, 1), &l);
    gp_alloc_stats with_layer = gp_alloc_stats_get();
    /* weight and bias, each with its gradient */
    size_t params = 2 * (counted_floats(100 * 50) + counted_floats(50));
    assert_true(with_layer.current >= before.current + params);
    assert_true(with_layer.peak >= with_layer.current);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    size_t built = gp_alloc_stats_get().current;

    /* Adam adds two moments per parameter tensor, and nothing else the counter sees */
    gp_optim *opt;
    gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
    assert_int_equal(gp_optim_create(&opt, &od, net), GP_OK);
    assert_int_equal(gp_alloc_stats_get().current - built, params);
    gp_optim_destroy(opt);
    assert_int_equal(gp_alloc_stats_get().current, built);
    assert_true(gp_alloc_stats_get().peak >= built + params);

    gp_net_destroy(net);
    gp_alloc_stats after = gp_alloc_stats_get();
    assert_int_equal(after.current, before.current);
    assert_true(after.peak >= built + params);
    gp_alloc_reset_peak();
    assert_int_equal(gp_alloc_stats_get().peak, before.current);
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_equals_layer_by_layer),
        cmocka_unit_test(test_backward_needs_train_forward),
        cmocka_unit_test(test_reshape_equals_built),
        cmocka_unit_test(test_reshape_refused),
        cmocka_unit_test(test_reshape_passes),
        cmocka_unit_test(test_alloc_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
