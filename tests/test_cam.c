/*
 * test_cam.c - class activation maps (core/cam.c) on tiny trained nets:
 * for a gap head the score map, the CAM of a gap_dense head and Grad-CAM
 * agree as the algebra says they must (a mean of the score map is the
 * logit; Grad-CAM is the score map less its bias over h x w, clamped);
 * Grad-CAM of nonlinear heads against central finite differences of the
 * logit through the head's layers; the bilinear upsampling against a
 * double-precision reference of PyTorch's rule; the attention map of attn
 * against the layer's own softmax weights.
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
#include <cmocka.h>

#include "core/cam.h"
#include "core/evalsize.h"
#include "core/model.h"
#include "gpool_nn.h"
#include "testutil.h"

#define N_IMAGES 6
#define CLASSES  3
#define SIDE     8

static uint64_t seed;

/* A trunk without (pool = 0) or with a 2x2 max pool, so that the head sees
 * the input's size or half of it. */
static gpx_trunk_layer trunk_flat[] = {
    { "conv", { .kind = GP_LAYER_CONV2D, .u.conv2d = { 4, 3, 3, 1, 1, 1 } }, 0, 0 },
    { "relu", { .kind = GP_LAYER_RELU }, 0, 0 },
    { "conv", { .kind = GP_LAYER_CONV2D, .u.conv2d = { 6, 3, 3, 1, 1, 1 } }, 0, 0 },
    { "relu", { .kind = GP_LAYER_RELU }, 0, 0 },
};
static gpx_trunk_layer trunk_pooled[] = {
    { "conv", { .kind = GP_LAYER_CONV2D, .u.conv2d = { 4, 3, 3, 1, 1, 1 } }, 0, 0 },
    { "relu", { .kind = GP_LAYER_RELU }, 0, 0 },
    { "maxpool", { .kind = GP_LAYER_MAXPOOL2D, .u.pool2d = { 2, 2, 0, 0 } }, 0, 0 },
    { "conv", { .kind = GP_LAYER_CONV2D, .u.conv2d = { 6, 3, 3, 1, 1, 1 } }, 0, 0 },
    { "relu", { .kind = GP_LAYER_RELU }, 0, 0 },
};

/* The spec of head over a trunk, as gpx_model_decode would give it. */
static gpx_model_spec make_spec(const char *head, gp_layer_kind pool_kind, int pooled)
{
    gpx_model_spec s;
    memset(&s, 0, sizeof s);
    s.trunk = pooled ? trunk_pooled : trunk_flat;
    s.ntrunk = pooled ? 5 : 4;
    s.head = head;
    assert_int_equal(gpx_head_parse(head, &s.design, &s.op), 0);
    s.pool = (gp_layer_spec){ .kind = pool_kind };
    if (pool_kind == GP_LAYER_HEAD_POOL)
        s.pool.u.head_pool.op = s.op;
    else if (pool_kind == GP_LAYER_TOPK_POOL)
        s.pool.u.topk_pool.k = 3;
    else if (pool_kind == GP_LAYER_ATTN_POOL)
        s.pool.u.attn_pool.heads = 1;
    else if (pool_kind == GP_LAYER_SIMPOOL)
        s.pool.u.simpool.heads = 2;
    s.heads = 1;
    s.head_bias = 1;
    s.source = (char *)"test_cam";
    return s;
}

static void random_images(float *x, int *y, int n)
{
    for (size_t k = 0; k < (size_t)n * SIDE * SIDE; k++)
        x[k] = tu_uniform(-1.0f, 1.0f);
    for (int i = 0; i < n; i++)
        y[i] = i % CLASSES;
}

/* The net of spec, trained a few Adam steps on x, y so that its weights are
 * not those of the initializer. */
static gp_net *trained_net(const gpx_model_spec *spec, const float *x, const int *y)
{
    gp_shape in = { N_IMAGES, 1, SIDE, SIDE };
    gp_net *net;
    char err[512];
    if (gpx_model_build(spec, in, CLASSES, 1, NULL, &net, err, sizeof err))
        fail_msg("%s", err);
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
    od.lr = 1e-2f;
    gp_optim *opt;
    assert_int_equal(gp_optim_create(&opt, &od, net), GP_OK);
    for (int step = 0; step < 10; step++) {
        const float *logits;
        float loss, dlogits[N_IMAGES * CLASSES];
        assert_int_equal(gp_net_forward(net, N_IMAGES, x, GP_TRAIN, &logits), GP_OK);
        gp_softmax_xent(N_IMAGES, CLASSES, logits, y, 0, &loss, dlogits, NULL);
        assert_int_equal(gp_net_backward(net, N_IMAGES, dlogits), GP_OK);
        assert_int_equal(gp_optim_step(opt, od.lr), GP_OK);
    }
    gp_optim_destroy(opt);
    return net;
}

/* Random images and labels in x, y, and the trained net of head over a
 * trunk (pooled or not) whose spec goes to *spec. */
static gp_net *setup(const char *head, gp_layer_kind kind, int pooled, float *x, int *y,
                     gpx_model_spec *spec)
{
    random_images(x, y, N_IMAGES);
    *spec = make_spec(head, kind, pooled);
    return trained_net(spec, x, y);
}

static void maps_of(gp_net *net, const gpx_model_spec *spec, const float *x, const int *y,
                    gpx_cam_method m, float *maps, float *logits)
{
    char err[512];
    if (gpx_cam_maps(net, spec, N_IMAGES, x, y, m, maps, logits, err, sizeof err))
        fail_msg("%s: %s", gpx_cam_method_name(m), err);
}

static double max_abs(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t k = 0; k < n; k++)
        m = fabs(v[k]) > m ? fabs(v[k]) : m;
    return m;
}

/* Class 0's weights in the head's layer to the classes become minus class
 * 1's (its bias is kept), so that wherever a head linear in those weights
 * gives class 1 a positive map, class 0's is negative there: the clamp of
 * the maps meets both signs whatever the seed. */
static void mirror_class_weights(gp_net *net, int first)
{
    gp_param *w = NULL;
    for (int i = first; i < gp_net_layer_count(net); i++) {
        gp_param *p = &gp_net_layer(net, i)->params[0];
        if (gp_net_layer(net, i)->nparams > 0 && p->ndims >= 2 && (int)p->dims[0] == CLASSES)
            w = p;
    }
    assert_non_null(w);
    size_t row = w->count / CLASSES;
    for (size_t k = 0; k < row; k++)
        w->value[k] = -w->value[row + k];
}

/* gap: the score map's mean is the logit; Grad-CAM is relu((S - b) / hw).
 * Taken for every class, with class 0's weights mirrored. */
static void test_gap_score_and_gradcam(void **state)
{
    (void)state;
    float x[N_IMAGES * SIDE * SIDE], score[N_IMAGES * SIDE * SIDE], grad[N_IMAGES * SIDE * SIDE];
    float logits[N_IMAGES * CLASSES];
    int y[N_IMAGES], target[N_IMAGES];
    gpx_model_spec spec;
    gp_net *net = setup("gap", GP_LAYER_HEAD_POOL, 0, x, y, &spec);
    const gp_layer *head = gp_net_layer(net, spec.ntrunk);
    const float *bias = head->params[1].value;
    int hw = SIDE * SIDE, positive = 0;
    mirror_class_weights(net, spec.ntrunk);
    for (int shift = 0; shift < CLASSES; shift++) {
        for (int i = 0; i < N_IMAGES; i++)
            target[i] = (y[i] + shift) % CLASSES;
        maps_of(net, &spec, x, target, GPX_CAM_SCORE, score, logits);
        maps_of(net, &spec, x, target, GPX_CAM_GRADCAM, grad, NULL);
        for (int i = 0; i < N_IMAGES; i++) {
            const float *s = score + i * hw, *g = grad + i * hw;
            double mean = 0.0, tol = 1e-5 * (1.0 + max_abs(s, (size_t)hw));
            for (int p = 0; p < hw; p++)
                mean += s[p] / hw;
            assert_true(fabs(mean - logits[i * CLASSES + target[i]]) < tol);
            for (int p = 0; p < hw; p++) {
                double want = (s[p] - bias[target[i]]) / hw;
                assert_true(fabs(g[p] - (want > 0 ? want : 0.0)) < tol / hw);
                positive += want > 0;
            }
        }
    }
    assert_true(positive > 0 && positive < CLASSES * N_IMAGES * hw);
    gp_net_destroy(net);
}

/* gap_dense: Zhou's CAM is Grad-CAM times hw where positive. */
static void test_gap_dense_cam_and_gradcam(void **state)
{
    (void)state;
    float x[N_IMAGES * SIDE * SIDE], cam[N_IMAGES * SIDE * SIDE], grad[N_IMAGES * SIDE * SIDE];
    int y[N_IMAGES];
    gpx_model_spec spec;
    gp_net *net = setup("gap_dense", GP_LAYER_HEAD_POOL, 0, x, y, &spec);
    maps_of(net, &spec, x, y, GPX_CAM_CAM, cam, NULL);
    maps_of(net, &spec, x, y, GPX_CAM_GRADCAM, grad, NULL);
    double tol = 1e-5 * (1.0 + max_abs(cam, sizeof cam / sizeof *cam));
    int hw = SIDE * SIDE;
    for (int k = 0; k < N_IMAGES * hw; k++)
        assert_true(fabs(grad[k] * hw - (cam[k] > 0 ? cam[k] : 0.0f)) < tol);
    gp_net_destroy(net);
}

/* ------------------------------------------------- finite differences */

/* The logit of class cls of image b when the head is given a (one image). */
static double head_logit(gp_net *net, int first, const float *a, int cls, float *bufs[2])
{
    const float *in = a;
    for (int i = first, t = 0; i < gp_net_layer_count(net); i++, t ^= 1) {
        assert_int_equal(gp_layer_forward(gp_net_layer(net, i), 1, in, bufs[t], GP_EVAL),
                         GP_OK);
        in = bufs[t];
    }
    return in[cls];
}

/* PyTorch's bilinear rule (align_corners=False) in double, one plane. */
static void upsample_reference(const double *src, int h, int w, double *dst, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            double sy = (oy + 0.5) * h / oh - 0.5, sx = (ox + 0.5) * w / ow - 0.5;
            sy = sy < 0 ? 0 : sy;
            sx = sx < 0 ? 0 : sx;
            int y0 = (int)sy, x0 = (int)sx;
            int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            double ly = sy - y0, lx = sx - x0;
            dst[oy * ow + ox] = (1 - ly) * ((1 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1]) +
                                ly * ((1 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1]);
        }
}

/* Grad-CAM of image b from central differences of its logit in a. */
static void gradcam_by_differences(gp_net *net, int first, float *a, gp_shape as, int cls,
                                   double *map)
{
    size_t hw = (size_t)as.h * (size_t)as.w;
    float *bufs[2] = { malloc(4096 * sizeof(float)), malloc(4096 * sizeof(float)) };
    double *acc = calloc(hw, sizeof *acc);
    for (int k = 0; k < as.c; k++) {
        double alpha = 0.0;
        for (size_t p = 0; p < hw; p++) {
            /* small: simpool's layer norm at a position the trunk's relu zeroed is
             * curved on the scale of sqrt(eps) = 3e-3 */
            float keep = a[k * hw + p], h = 1e-3f;
            a[k * hw + p] = keep + h;
            double up = head_logit(net, first, a, cls, bufs);
            a[k * hw + p] = keep - h;
            double down = head_logit(net, first, a, cls, bufs);
            a[k * hw + p] = keep;
            alpha += (up - down) / (2.0 * h) / (double)hw;
        }
        for (size_t p = 0; p < hw; p++)
            acc[p] += alpha * a[k * hw + p];
    }
    for (size_t p = 0; p < hw; p++)
        acc[p] = acc[p] > 0 ? acc[p] : 0.0;
    upsample_reference(acc, as.h, as.w, map, SIDE, SIDE);
    free(acc);
    free(bufs[0]);
    free(bufs[1]);
}

/* The trunk's output for image b, run layer by layer in eval mode. */
static float *trunk_output(gp_net *net, int first, const float *x, gp_shape *as)
{
    float *bufs[2] = { malloc(4096 * sizeof(float)), malloc(4096 * sizeof(float)) };
    const float *in = x;
    for (int i = 0; i < first; i++) {
        assert_int_equal(gp_layer_forward(gp_net_layer(net, i), 1, in, bufs[i & 1], GP_EVAL),
                         GP_OK);
        in = bufs[i & 1];
    }
    *as = gp_net_layer(net, first)->in;
    float *a = malloc(gp_shape_image_size(*as) * sizeof *a);
    memcpy(a, in, gp_shape_image_size(*as) * sizeof *a);
    free(bufs[0]);
    free(bufs[1]);
    return a;
}

/* Grad-CAM of head against differences, for every class as the target,
 * class 0's weights mirrored (a map that the clamp makes all zero would
 * check nothing; for a head linear in those weights classes 0 and 1 cannot
 * both be). */
static void check_gradcam(const char *head, gp_layer_kind kind)
{
    float x[N_IMAGES * SIDE * SIDE], grad[N_IMAGES * SIDE * SIDE];
    int y[N_IMAGES], target[N_IMAGES];
    gpx_model_spec spec;
    gp_net *net = setup(head, kind, 1, x, y, &spec);
    mirror_class_weights(net, spec.ntrunk);
    double largest = 0.0;
    for (int shift = 0; shift < CLASSES; shift++) {
        for (int i = 0; i < N_IMAGES; i++)
            target[i] = (y[i] + shift) % CLASSES;
        maps_of(net, &spec, x, target, GPX_CAM_GRADCAM, grad, NULL);
        double scale = max_abs(grad, sizeof grad / sizeof *grad);
        largest = scale > largest ? scale : largest;
        for (int b = 0; b < N_IMAGES; b++) {
            gp_shape as;
            double want[SIDE * SIDE];
            float *a = trunk_output(net, spec.ntrunk, x + b * SIDE * SIDE, &as);
            gradcam_by_differences(net, spec.ntrunk, a, as, target[b], want);
            for (int p = 0; p < SIDE * SIDE; p++)
                if (fabs(grad[b * SIDE * SIDE + p] - want[p]) > 1e-2 * scale + 1e-5)
                    fail_msg("%s: image %d class %d pixel %d: Grad-CAM %g, by differences %g "
                             "(seed %llu)", head, b, target[b], p, grad[b * SIDE * SIDE + p],
                             want[p], (unsigned long long)seed);
            free(a);
        }
    }
    if (!(largest > 0))
        fail_msg("%s: every Grad-CAM map is zero (seed %llu)", head, (unsigned long long)seed);
    gp_net_destroy(net);
}

static void test_gradcam_by_differences(void **state)
{
    (void)state;
    check_gradcam("lse", GP_LAYER_HEAD_POOL);
    check_gradcam("attn", GP_LAYER_ATTN_POOL);
    check_gradcam("gem_dense", GP_LAYER_HEAD_POOL);
    check_gradcam("simpool_dense", GP_LAYER_SIMPOOL);
    check_gradcam("flatten_dense", GP_LAYER_HEAD_POOL);
}

/* The upsampling the maps go through, against the double reference. */
static void test_upsampling(void **state)
{
    (void)state;
    static const int sizes[][4] = { { 3, 3, 84, 84 }, { 4, 7, 28, 28 }, { 5, 5, 11, 13 } };
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int h = sizes[t][0], w = sizes[t][1], oh = sizes[t][2], ow = sizes[t][3];
        float src[64], *dst = malloc((size_t)oh * ow * sizeof *dst);
        double srcd[64], *want = malloc((size_t)oh * ow * sizeof *want);
        for (int k = 0; k < h * w; k++)
            srcd[k] = src[k] = tu_uniform(-2.0f, 3.0f);
        assert_int_equal(gpx_resize_bilinear(src, 1, 1, h, w, dst, oh, ow), 0);
        upsample_reference(srcd, h, w, want, oh, ow);
        for (int k = 0; k < oh * ow; k++)
            assert_true(fabs(dst[k] - want[k]) < 1e-5);
        free(dst);
        free(want);
    }
}

/* attn: the map is the layer's softmax weights, upsampled. */
static void test_attention_map(void **state)
{
    (void)state;
    float x[N_IMAGES * SIDE * SIDE], maps[N_IMAGES * SIDE * SIDE];
    int y[N_IMAGES];
    gpx_model_spec spec;
    gp_net *net = setup("attn", GP_LAYER_ATTN_POOL, 1, x, y, &spec);
    maps_of(net, &spec, x, y, GPX_CAM_ATTENTION, maps, NULL);
    int n, heads;
    const float *w;
    assert_int_equal(gp_attention_map(gp_net_layer(net, spec.ntrunk + 1), &n, &heads, &w),
                     GP_OK);
    assert_int_equal(n, N_IMAGES);
    int hw = (SIDE / 2) * (SIDE / 2);
    for (int b = 0; b < N_IMAGES; b++) {
        double src[16], want[SIDE * SIDE], sum = 0.0;
        for (int p = 0; p < hw; p++)
            sum += src[p] = w[b * hw + p];
        assert_true(fabs(sum - 1.0) < 1e-5);
        upsample_reference(src, SIDE / 2, SIDE / 2, want, SIDE, SIDE);
        for (int p = 0; p < SIDE * SIDE; p++)
            assert_true(fabs(maps[b * SIDE * SIDE + p] - want[p]) < 1e-6);
    }
    gp_net_destroy(net);
}

/* Which head has which map, and what the refusal says. */
static void test_methods_defined(void **state)
{
    (void)state;
    char why[256];
    gpx_model_spec gap = make_spec("gap", GP_LAYER_HEAD_POOL, 0);
    gpx_model_spec spp = make_spec("spp_dense", GP_LAYER_SPP, 0);
    gpx_model_spec flat = make_spec("flatten_dense", GP_LAYER_HEAD_POOL, 0);
    assert_int_equal(gpx_cam_default(&gap), GPX_CAM_SCORE);
    assert_int_equal(gpx_cam_default(&spp), GPX_CAM_GRADCAM);
    assert_false(gpx_cam_defined(&gap, GPX_CAM_CAM, why, sizeof why));
    assert_string_equal(why, "head gap has no cam map (it has: score, gradcam)");
    assert_false(gpx_cam_defined(&spp, GPX_CAM_CAM, why, sizeof why));
    assert_false(gpx_cam_defined(&flat, GPX_CAM_ATTENTION, why, sizeof why));
    assert_true(gpx_cam_defined(&flat, GPX_CAM_GRADCAM, why, sizeof why));
    gpx_cam_method m;
    assert_int_equal(gpx_cam_method_parse("gradcam", &m), 0);
    assert_int_equal(m, GPX_CAM_GRADCAM);
    assert_int_equal(gpx_cam_method_parse("grad-cam", &m), -1);
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_score_and_gradcam),
        cmocka_unit_test(test_gap_dense_cam_and_gradcam),
        cmocka_unit_test(test_gradcam_by_differences),
        cmocka_unit_test(test_upsampling),
        cmocka_unit_test(test_attention_map),
        cmocka_unit_test(test_methods_defined),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed)
        fprintf(stderr, "rerun with GPOOL_TEST_SEED=%llu\n", (unsigned long long)seed);
    return failed;
}
