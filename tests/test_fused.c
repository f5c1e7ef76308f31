/*
 * test_fused.c - gp_net's fused training pass.
 *
 * A training forward and backward through gp_net runs each conv2d with the
 * batchnorm2d and/or relu after it as one part (gp_net_part_forward,
 * gp_net_part_backward). It must give, bit for bit, what the layers give
 * run one after another with gp_layer_forward / gp_layer_backward: the
 * net's output, every parameter gradient and every running statistic, over
 * two steps (the second starts from the first's running statistics). Two
 * nets are built alike from one seed, one stepped by gp_net, the other
 * layer by layer. Checked for every conv path this CPU has, at 1 and 2
 * threads, for every pattern (conv+bn+relu, conv+bn, conv+relu, a part at
 * the net's end, whose dy is the caller's), and for a batch of one image
 * (a team of one thread). Also: the part functions refuse what they cannot
 * run; and the vector kernels of relu, of batchnorm2d (gpi_bn.h, the layer
 * and its relu-masked backward in the fused net) and of the optimizers
 * (gpi_ew.h) give the scalar code's bits (the instruction sets hidden with
 * gp_set_cpu_mask), NaN, signed zeros and infinities included, on sizes
 * that leave a scalar tail and that split over threads.
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

/* Takes &l, not l: the maker in the same call fills it in. */
static void add(gp_net *net, gp_status made, gp_layer **l)
{
    if (made != GP_OK || gp_net_add(net, *l) != GP_OK)
        fail_msg("building the net: %s", gp_last_error());
}

static void add_conv(gp_net *net, int cout, int k, int bias)
{
    gp_layer *l = NULL;
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), cout, k, k, 1, k / 2, bias), &l);
}

static void add_bn(gp_net *net)
{
    gp_layer *l = NULL;
    add(net, gp_batchnorm2d_create(&l, gp_net_out_shape(net), 0.1f, 1e-5f), &l);
}

static void add_relu(gp_net *net)
{
    gp_layer *l = NULL;
    add(net, gp_relu_create(&l, gp_net_out_shape(net)), &l);
}

/* Every fusion pattern, and a part (conv+bn) that ends the net. */
static void build_patterns(gp_net *net)
{
    gp_layer *l = NULL;
    add_conv(net, 8, 3, 0);
    add_bn(net);
    add_relu(net);
    add(net, gp_pool2d_create(&l, gp_net_out_shape(net), GP_POOL_MAX, 2, 2, 0, 0), &l);
    add_conv(net, 12, 3, 1);
    add_relu(net);
    add_conv(net, 16, 5, 0);
    add_bn(net);
    add_relu(net);
    add_bn(net);            /* after relu: a layer of its own */
    add_conv(net, 6, 1, 1);
    add_bn(net);
}

/* A net that ends in conv+bn+relu. */
static void build_tail(gp_net *net)
{
    add_conv(net, 10, 3, 1);
    add_relu(net);
    add_conv(net, 9, 3, 0);
    add_bn(net);
    add_relu(net);
}

/* Non-trivial affine parameters, so a batchnorm that skipped them shows. */
static void randomize_bn(gp_net *net)
{
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        gp_layer *l = gp_net_layer(net, i);
        if (strcmp(l->ops->kind, "batchnorm2d"))
            continue;
        for (int c = 0; c < l->in.c; c++) {
            l->params[0].value[c] = tu_uniform(0.5f, 1.5f);
            l->params[1].value[c] = tu_uniform(-0.3f, 0.3f);
        }
    }
}

static gp_net *make(void (*build)(gp_net *), gp_shape in, uint64_t init_seed)
{
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    build(net);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, init_seed);
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    uint64_t keep = tu_state;
    tu_state = init_seed;
    randomize_bn(net);
    tu_state = keep;
    return net;
}

static size_t floats(gp_shape s, int n)
{
    return (size_t)n * s.c * s.h * s.w;
}

static float *random_floats(size_t count)
{
    float *v = tu_random_floats(count);
    assert_non_null(v);
    return v;
}

/* The reference step: every layer's forward, then every backward. */
typedef struct {
    float **out, *grad[2];
} layer_bufs;

static void step_layers(gp_net *net, int n, const float *x, const float *dy, layer_bufs *b)
{
    int count = gp_net_layer_count(net);
    for (int i = 0; i < count; i++)
        assert_int_equal(gp_layer_forward(gp_net_layer(net, i), n, i ? b->out[i - 1] : x,
                                          b->out[i], GP_TRAIN), GP_OK);
    const float *g = dy;
    for (int i = count - 1; i >= 0; i--) {
        float *dx = i ? b->grad[i % 2] : NULL;
        assert_int_equal(gp_layer_backward(gp_net_layer(net, i), n, i ? b->out[i - 1] : x,
                                           b->out[i], g, dx), GP_OK);
        g = dx;
    }
}

static void bufs_alloc(gp_net *net, int n, layer_bufs *b)
{
    int count = gp_net_layer_count(net);
    size_t most = 0;
    b->out = calloc((size_t)count, sizeof *b->out);
    assert_non_null(b->out);
    for (int i = 0; i < count; i++) {
        size_t f = floats(gp_net_layer(net, i)->out, n);
        b->out[i] = malloc(f * sizeof(float));
        assert_non_null(b->out[i]);
        most = f > most ? f : most;
    }
    b->grad[0] = malloc(most * sizeof(float));
    b->grad[1] = malloc(most * sizeof(float));
    assert_true(b->grad[0] && b->grad[1]);
}

static void bufs_free(gp_net *net, layer_bufs *b)
{
    for (int i = 0; i < gp_net_layer_count(net); i++)
        free(b->out[i]);
    free(b->out);
    free(b->grad[0]);
    free(b->grad[1]);
}

/* got (fused, vector) against want (layer by layer, scalar), bit for bit. */
static void compare_bits(const float *got, const float *want, size_t count, const char *what,
                         const char *ctx, int any_nan)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) &&
            !(any_nan && isnan(got[i]) && isnan(want[i])))
            fail_msg("%s: %s[%zu] is %.9g, the reference %.9g (seed %llu: rerun with "
                     "GPOOL_TEST_SEED=%llu)", ctx, what, i, got[i], want[i],
                     (unsigned long long)seed, (unsigned long long)seed);
}

static void same_bits(const float *got, const float *want, size_t count, const char *what,
                      const char *ctx)
{
    compare_bits(got, want, count, what, ctx, 0);
}

/* same_bits, except that any NaN matches any NaN: where arithmetic makes a
 * NaN (inf - inf gives x86's negative default NaN) or carries one, which of
 * two NaN operands an add passes on depends on the operand order the
 * compiler picked for the scalar code, which C leaves open. */
static void same_values(const float *got, const float *want, size_t count, const char *what,
                        const char *ctx)
{
    compare_bits(got, want, count, what, ctx, 1);
}

/* Every parameter gradient and buffer of the two nets. */
static void same_state(gp_net *a, gp_net *b, const char *ctx)
{
    for (int i = 0; i < gp_net_layer_count(a); i++) {
        gp_layer *la = gp_net_layer(a, i), *lb = gp_net_layer(b, i);
        for (int p = 0; p < la->nparams; p++)
            same_bits(la->params[p].grad, lb->params[p].grad, la->params[p].count,
                      la->params[p].name, ctx);
        for (int k = 0; k < la->nbuffers; k++)
            same_bits(la->buffers[k].value, lb->buffers[k].value, la->buffers[k].count,
                      la->buffers[k].name, ctx);
    }
}

/* Two steps of net a (gp_net) and b (layer by layer) on the same data. */
static void check_steps(void (*build)(gp_net *), gp_shape in, int n, const char *ctx)
{
    uint64_t init = tu_next();
    gp_net *a = make(build, in, init), *b = make(build, in, init);
    gp_shape out = gp_net_out_shape(a);
    layer_bufs bufs;
    bufs_alloc(b, n, &bufs);
    for (int step = 0; step < 2; step++) {
        float *x = random_floats(floats(in, n)), *dy = random_floats(floats(out, n));
        const float *y;
        assert_int_equal(gp_net_forward(a, n, x, GP_TRAIN, &y), GP_OK);
        assert_int_equal(gp_net_backward(a, n, dy), GP_OK);
        step_layers(b, n, x, dy, &bufs);
        same_bits(y, bufs.out[gp_net_layer_count(b) - 1], floats(out, n), "output", ctx);
        same_state(a, b, ctx);
        free(x);
        free(dy);
    }
    bufs_free(b, &bufs);
    gp_net_destroy(a);
    gp_net_destroy(b);
}

static void check_all(const char *path)
{
    char ctx[128];
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        openblas_set_num_threads(threads);
        static const int batches[] = { 1, 2, 37 };
        for (size_t k = 0; k < sizeof batches / sizeof *batches; k++) {
            int n = batches[k];
            snprintf(ctx, sizeof ctx, "GPOOL_CONV=%s, %d thread(s), batch %d", path, threads, n);
            check_steps(build_patterns, (gp_shape){ 37, 2, 18, 18 }, n, ctx);
            check_steps(build_tail, (gp_shape){ 37, 3, 11, 13 }, n, ctx);
        }
        printf("# GPOOL_CONV=%s, %d thread(s): bit-identical\n", path, threads);
    }
}

/* Every conv path this CPU has, forced in turn through GPOOL_CONV. */
static void test_fused_equals_layer_by_layer(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        gp_isa isa;
    } paths[] = { { "avx512", GP_ISA_AVX512 }, { "avx2", GP_ISA_AVX2 },
                  { "im2col", GP_ISA_SCALAR } };
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        if (!gp_cpu_has(paths[p].isa)) {
            printf("# GPOOL_CONV=%s skipped: this CPU lacks its instructions\n", paths[p].path);
            continue;
        }
        setenv("GPOOL_CONV", paths[p].path, 1);
        check_all(paths[p].path);
    }
    unsetenv("GPOOL_CONV");
}

/* The parts as the net plans them, and what the part functions refuse. */
static void test_parts(void **state)
{
    (void)state;
    gp_shape in = { 4, 2, 18, 18 };
    gp_net *net = make(build_patterns, in, tu_next());
    static const int want[] = { 2, 0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 0 };
    for (int i = 0; i < gp_net_layer_count(net); i++)
        assert_int_equal(gp_net_part_fused(net, i), want[i]);
    float *x = random_floats(floats(in, 4)), *a = random_floats(floats(gp_net_layer(net, 0)->out, 4));
    float *ys[3] = { a, NULL, NULL };
    assert_int_equal(gp_net_part_forward(net, 0, 4, x, ys, NULL, NULL), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "is NULL"));
    ys[2] = a;
    assert_int_equal(gp_net_part_backward(net, 0, 4, x, ys, a, a, a, NULL, NULL), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "work must not be dx"));
    assert_int_equal(gp_net_part_forward(net, 99, 4, x, ys, NULL, NULL), GP_ERR_ARG);
    free(x);
    free(a);
    gp_net_destroy(net);
}

/* Random values with NaN, +-0, +-inf and a subnormal sprinkled in. */
static float *special_floats(size_t count)
{
    static const float specials[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f };
    float *v = random_floats(count);
    for (size_t i = 0; i < count; i += 1 + tu_next() % 13)
        v[i] = specials[tu_next() % (sizeof specials / sizeof *specials)];
    return v;
}

/* relu's forward and backward, vector and scalar. */
static void check_relu_kernels(void)
{
    const int n = 3;
    gp_shape in = { n, 7, 61, 59 };     /* 75,537 floats: threaded, with a tail */
    size_t count = floats(in, n);
    gp_layer *l = NULL;
    assert_int_equal(gp_relu_create(&l, in), GP_OK);
    float *x = special_floats(count), *dy = special_floats(count);
    float *y[2], *dx[2];
    for (int scalar = 0; scalar < 2; scalar++) {
        assert_int_equal(gp_set_cpu_mask(scalar ? GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512 : 0),
                         GP_OK);
        y[scalar] = malloc(count * sizeof(float));
        dx[scalar] = malloc(count * sizeof(float));
        assert_true(y[scalar] && dx[scalar]);
        assert_int_equal(gp_layer_forward(l, n, x, y[scalar], GP_TRAIN), GP_OK);
        assert_int_equal(gp_layer_backward(l, n, x, y[scalar], dy, dx[scalar]), GP_OK);
    }
    same_bits(y[0], y[1], count, "relu forward", "vector vs scalar");
    same_bits(dx[0], dx[1], count, "relu backward", "vector vs scalar");
    for (int k = 0; k < 2; k++) {
        free(y[k]);
        free(dx[k]);
    }
    free(x);
    free(dy);
    gp_layer_destroy(l);
}

/* One training step of a batchnorm2d (gamma, beta from init) on x, dy:
 * its output, dx, parameter gradients and running statistics, in that
 * order, in out[0..4]. */
static void bn_step(gp_shape in, int n, uint64_t init, const float *x, const float *dy,
                    float *out[5])
{
    gp_layer *l = NULL;
    assert_int_equal(gp_batchnorm2d_create(&l, in, 0.1f, 1e-5f), GP_OK);
    uint64_t keep = tu_state;
    tu_state = init;
    for (int c = 0; c < in.c; c++) {
        l->params[0].value[c] = tu_uniform(0.5f, 1.5f);
        l->params[1].value[c] = tu_uniform(-0.3f, 0.3f);
    }
    tu_state = keep;
    size_t count = floats(in, n);
    out[0] = malloc(count * sizeof(float));
    out[1] = malloc(count * sizeof(float));
    assert_true(out[0] && out[1]);
    assert_int_equal(gp_layer_forward(l, n, x, out[0], GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, n, x, out[0], dy, out[1]), GP_OK);
    for (int k = 0; k < 3; k++) {
        const float *v = k < 2 ? l->params[k].grad : l->buffers[0].value;
        out[2 + k] = malloc(2 * (size_t)in.c * sizeof(float));
        assert_non_null(out[2 + k]);
        memcpy(out[2 + k], v, (size_t)in.c * sizeof(float));
        if (k == 2)
            memcpy(out[4] + in.c, l->buffers[1].value, (size_t)in.c * sizeof(float));
    }
    gp_layer_destroy(l);
}

/* batchnorm2d's sums, affine and dx, vector and scalar, on odd shapes
 * (planes not a multiple of a block, a quad or a vector; planes over one
 * group of 2,048 floats; batch 1; values far from zero; NaN and signed
 * zeros), for the layer; its relu-masked kernels run in the fused net. */
static void check_bn_kernels(void)
{
    static const int shapes[][4] = { { 3, 3, 5, 7 }, { 64, 2, 13, 13 }, { 3, 5, 1, 1 },
                                     { 1, 4, 3, 3 }, { 2, 2, 61, 59 }, { 5, 3, 7, 7 } };
    static const char *names[] = { "y", "dx", "gamma grad", "beta grad", "running stats" };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int n = shapes[s][0];
        gp_shape in = { n, shapes[s][1], shapes[s][2], shapes[s][3] };
        size_t count = floats(in, n);
        int special = s == sizeof shapes / sizeof *shapes - 1;
        float *x = special ? special_floats(count) : random_floats(count);
        float *dy = special ? special_floats(count) : random_floats(count), *out[2][5];
        for (size_t i = 0; !special && i < count; i++)
            x[i] = 40.0f + x[i];        /* |mean| >> std */
        uint64_t init = tu_next();
        for (int scalar = 0; scalar < 2; scalar++) {
            assert_int_equal(gp_set_cpu_mask(scalar ? GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512 : 0),
                             GP_OK);
            bn_step(in, n, init, x, dy, out[scalar]);
        }
        for (int k = 0; k < 5; k++) {
            size_t len = k < 2 ? count : (size_t)(k == 4 ? 2 : 1) * (size_t)in.c;
            same_values(out[0][k], out[1][k], len, names[k], "batchnorm2d, vector vs scalar");
            free(out[0][k]);
            free(out[1][k]);
        }
        free(x);
        free(dy);
    }
}

/* Two steps of the fused net (conv+bn+relu parts) with the vector and the
 * scalar batchnorm kernels: the relu mask recomputed from the conv's output. */
static void check_fused_bn_kernels(void (*build)(gp_net *), gp_shape in, int n)
{
    uint64_t init = tu_next();
    gp_net *net[2] = { make(build, in, init), make(build, in, init) };
    gp_shape out = gp_net_out_shape(net[0]);
    for (int step = 0; step < 2; step++) {
        float *x = random_floats(floats(in, n)), *dy = random_floats(floats(out, n));
        const float *y[2];
        for (int scalar = 0; scalar < 2; scalar++) {
            assert_int_equal(gp_set_cpu_mask(scalar ? GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512 : 0),
                             GP_OK);
            assert_int_equal(gp_net_forward(net[scalar], n, x, GP_TRAIN, &y[scalar]), GP_OK);
            assert_int_equal(gp_net_backward(net[scalar], n, dy), GP_OK);
        }
        same_bits(y[0], y[1], floats(out, n), "output", "fused net, vector vs scalar");
        same_state(net[0], net[1], "fused net, vector vs scalar");
        free(x);
        free(dy);
    }
    gp_net_destroy(net[0]);
    gp_net_destroy(net[1]);
}

/* A net of 37,000 + 61 parameter floats (threaded, with tails). */
static void build_params(gp_net *net)
{
    add_conv(net, 61, 1, 1);
    add_conv(net, 600, 1, 0);
}

/* Three steps of optimizer d from the same weights and gradients, vector
 * and scalar: every parameter and state slot. */
static void check_optimizer(gp_optim_desc d, const char *what)
{
    uint64_t init = tu_next(), grads = tu_next();
    gp_net *net[2];
    gp_optim *o[2];
    for (int scalar = 0; scalar < 2; scalar++) {
        assert_int_equal(gp_set_cpu_mask(scalar ? GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512 : 0),
                         GP_OK);
        net[scalar] = make(build_params, (gp_shape){ 1, 1, 3, 3 }, init);
        assert_int_equal(gp_optim_create(&o[scalar], &d, net[scalar]), GP_OK);
        uint64_t keep = tu_state;
        tu_state = grads;
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < gp_net_param_tensors(net[scalar]); i++) {
                gp_param *p = gp_net_param(net[scalar], i);
                float *g = special_floats(p->count);
                memcpy(p->grad, g, p->count * sizeof(float));
                free(g);
            }
            assert_int_equal(gp_optim_step(o[scalar], d.lr), GP_OK);
        }
        tu_state = keep;
    }
    for (int i = 0; i < gp_net_param_tensors(net[0]); i++) {
        gp_param *a = gp_net_param(net[0], i), *b = gp_net_param(net[1], i);
        same_bits(a->value, b->value, a->count, "parameter", what);
        for (int k = 0; k < (int)gp_optim_state_per_param(o[0]); k++)
            same_bits(gp_optim_state(o[0], i, k, NULL), gp_optim_state(o[1], i, k, NULL),
                      a->count, "optimizer state", what);
    }
    for (int k = 0; k < 2; k++) {
        gp_optim_destroy(o[k]);
        gp_net_destroy(net[k]);
    }
}

static void test_vector_kernels_equal_scalar(void **state)
{
    (void)state;
    if (!gp_cpu_has(GP_ISA_AVX2))
        skip();
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        check_relu_kernels();
        check_bn_kernels();
        check_fused_bn_kernels(build_patterns, (gp_shape){ 37, 2, 18, 18 }, 3);
        check_fused_bn_kernels(build_tail, (gp_shape){ 37, 3, 11, 13 }, 1);
        gp_optim_desc d = gp_optim_defaults(GP_OPTIM_SGD);
        check_optimizer(d, "sgd");
        d.momentum = 0.9f;
        d.nesterov = 1;
        d.weight_decay = 0.01f;
        check_optimizer(d, "sgd nesterov wd");
        d.nesterov = 0;
        d.dampening = 0.25f;
        check_optimizer(d, "sgd momentum dampening");
        d = gp_optim_defaults(GP_OPTIM_ADAM);
        check_optimizer(d, "adam");
        d.weight_decay = 0.05f;
        check_optimizer(d, "adam wd");
        check_optimizer(gp_optim_defaults(GP_OPTIM_ADAMW), "adamw");
    }
    assert_int_equal(gp_set_cpu_mask(0), GP_OK);
    printf("# relu, batchnorm2d (layer and fused), sgd, adam, adamw: the %s kernels give the scalar bits\n",
           gp_cpu_has(GP_ISA_AVX512) ? "avx512" : "avx2");
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_layer_by_layer),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_vector_kernels_equal_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
