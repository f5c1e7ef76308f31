/*
 * test_train.c - the training loop: a tiny network learns the synthetic set,
 * runs are bit-identical for a seed and thread count, the lr schedules
 * follow PyTorch's formulas, and a NaN loss ends a run as diverged.
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

#include "core/data.h"
#include "gpool_nn.h"
#include "testutil.h"
#include "core/train.h"

#define BATCH 32

static gpx_data load_synthetic(int train, int test, uint64_t seed)
{
    gpx_data_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.source = "synthetic";
    spec.synthetic_train = train;
    spec.synthetic_test = test;
    spec.synthetic_size = 12;
    spec.synthetic_classes = 4;
    spec.synthetic_seed = seed;
    gpx_data d;
    char err[512];
    if (gpx_data_load(&spec, &d, err, sizeof err))
        fail_msg("synthetic data: %s", err);
    return d;
}

static void add(gp_net *net, gp_status made, gp_layer **l)
{
    if (made != GP_OK || gp_net_add(net, *l) != GP_OK)
        fail_msg("building the net: %s", gp_last_error());
}

/* conv 3x3 8 + BN + relu, maxpool, conv 3x3 16 + relu, then the GAP head. */
static gp_net *tiny_net(int classes)
{
    gp_shape in = { BATCH, 1, 12, 12 };
    gp_net *net;
    gp_layer *l;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), 8, 3, 3, 1, 1, 0), &l);
    add(net, gp_batchnorm2d_create(&l, gp_net_out_shape(net), 0.1f, 1e-5f), &l);
    add(net, gp_relu_create(&l, gp_net_out_shape(net)), &l);
    add(net, gp_pool2d_create(&l, gp_net_out_shape(net), GP_POOL_MAX, 2, 2, 0, 0), &l);
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), 16, 3, 3, 1, 1, 1), &l);
    add(net, gp_relu_create(&l, gp_net_out_shape(net)), &l);
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), classes, 1, 1, 1, 0, 1), &l);
    add(net, gp_head_pool_create(&l, gp_net_out_shape(net), GP_HEAD_AVG), &l);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    return net;
}

static gpx_train_opts tiny_opts(int epochs)
{
    gpx_train_opts o = gpx_train_defaults();
    o.epochs = epochs;
    o.batch = BATCH;
    o.seed = 7;
    o.optim.lr = 3e-3f;
    return o;
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

/* ---------------------------------------------------------------- tests */

/* Held-out accuracy goes from about chance (1/4) to >= 90%. */
static void test_learns_synthetic(void **state)
{
    (void)state;
    gpx_data d = load_synthetic(2000, 500, 11);
    gp_net *net = tiny_net(d.train.classes);
    gp_rng rng;
    gp_rng_seed(&rng, 7);
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0, &rng), GP_OK);
    double loss0, acc0;
    assert_int_equal(gpx_evaluate(net, &d.test, 0, &loss0, &acc0), GP_OK);
    /* four balanced classes: an untrained net scores near 0.25, and its loss is near log 4 */
    assert_true(acc0 < 0.5);
    assert_true(fabs(loss0 - log(4.0)) < 0.5);

    gpx_train_opts o = tiny_opts(6);
    gpx_train_result res;
    assert_int_equal(gpx_train(net, &d, &o, NULL, NULL, &res), 0);
    assert_int_equal(res.status, GPX_RUN_OK);
    assert_int_equal(res.epochs_done, 6);
    printf("# untrained test accuracy %.3f, after 6 epochs %.3f (best %.3f at epoch %d)\n", acc0,
           res.last.test_acc, res.best_test_acc, res.best_epoch);
    assert_true(res.last.test_acc >= 0.90);
    assert_true(res.last.train_loss < loss0);
    gp_net_destroy(net);
    gpx_data_free(&d);
}

typedef struct {
    double losses[8];
    int    n;
} loss_log;

static int record_epoch(const gpx_epoch_row *row, void *ctx)
{
    loss_log *log = ctx;
    if (log->n < 8)
        log->losses[log->n++] = row->train_loss;
    return 0;
}

/* Train for two epochs and return every parameter, concatenated. */
static float *train_and_dump(const gpx_data *d, size_t *count, loss_log *log)
{
    gp_net *net = tiny_net(d->train.classes);
    gpx_train_opts o = tiny_opts(2);
    gpx_train_result res;
    memset(log, 0, sizeof *log);
    assert_int_equal(gpx_train(net, d, &o, record_epoch, log, &res), 0);
    size_t total = 0;
    for (int i = 0; i < gp_net_param_tensors(net); i++)
        total += gp_net_param(net, i)->count;
    float *all = malloc(total * sizeof *all), *p = all;
    for (int i = 0; i < gp_net_param_tensors(net); i++) {
        gp_param *prm = gp_net_param(net, i);
        memcpy(p, prm->value, prm->count * sizeof *p);
        p += prm->count;
    }
    *count = total;
    gp_net_destroy(net);
    return all;
}

static void check_deterministic(int threads)
{
    set_threads(threads);
    gpx_data d = load_synthetic(600, 100, 5);
    size_t n1, n2;
    loss_log l1, l2;
    float *w1 = train_and_dump(&d, &n1, &l1);
    float *w2 = train_and_dump(&d, &n2, &l2);
    assert_int_equal(n1, n2);
    assert_int_equal(l1.n, 2);
    assert_memory_equal(l1.losses, l2.losses, sizeof l1.losses);
    assert_memory_equal(w1, w2, n1 * sizeof *w1);
    free(w1);
    free(w2);
    gpx_data_free(&d);
    set_threads(1);
}

static void test_deterministic_1_thread(void **state)
{
    (void)state;
    check_deterministic(1);
}

static void test_deterministic_2_threads(void **state)
{
    (void)state;
#ifdef _OPENMP
    check_deterministic(2);
#else
    skip();
#endif
}

/* PyTorch: StepLR(step_size, gamma) and CosineAnnealingLR(T_max = epochs,
 * eta_min), both stepped once per epoch; epoch 1 uses the initial lr. */
static void test_lr_schedules(void **state)
{
    (void)state;
    gpx_train_opts o = gpx_train_defaults();
    o.optim.lr = 0.1f;
    o.epochs = 10;
    assert_float_equal(gpx_lr_at(&o, 7), 0.1, 1e-9);
    o.schedule = GPX_LR_STEP;
    o.step_size = 3;
    o.gamma = 0.5;
    const double step_want[] = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025 };
    for (int e = 1; e <= 7; e++)
        assert_float_equal(gpx_lr_at(&o, e), step_want[e - 1], 1e-8);
    o.schedule = GPX_LR_COSINE;
    o.min_lr = 0.01;
    assert_float_equal(gpx_lr_at(&o, 1), 0.1, 1e-8);
    assert_float_equal(gpx_lr_at(&o, 6), 0.01 + 0.09 * 0.5, 1e-7);   /* cos(pi/2) = 0 */
    assert_float_equal(gpx_lr_at(&o, 10), 0.01 + 0.045 * (1 + cos(M_PI * 0.9)), 1e-7);
}

/* A NaN pixel (in a float copy of the set: bytes cannot hold one) makes the
 * loss NaN: the run ends as diverged, it does not crash. */
static void test_nan_loss_diverges(void **state)
{
    (void)state;
    gpx_data d = load_synthetic(200, 50, 9);
    float *x = gpx_split_floats(&d.train);
    assert_non_null(x);
    x[5 * 144 + 17] = NAN;
    d.train.images = (gpx_images){ GPX_PIXEL_F32, GPX_LAYOUT_NCHW, d.train.count, 1, 12, 12, x };
    d.train.scale = (gpx_pixel_scale){ 0 };
    gp_net *net = tiny_net(d.train.classes);
    gpx_train_opts o = tiny_opts(3);
    o.shuffle = 0;
    gpx_train_result res;
    assert_int_equal(gpx_train(net, &d, &o, NULL, NULL, &res), 0);
    assert_int_equal(res.status, GPX_RUN_DIVERGED);
    assert_int_equal(res.epochs_done, 0);
    assert_non_null(strstr(res.reason, "loss"));
    gp_net_destroy(net);
    gpx_data_free(&d);
    free(x);
}

/* The last partial batch is trained on: 70 images in batches of 32 is 3 steps. */
static void test_partial_batch_kept(void **state)
{
    (void)state;
    gpx_data d = load_synthetic(70, 20, 4);
    gp_net *net = tiny_net(d.train.classes);
    gpx_train_opts o = tiny_opts(1);
    gpx_train_result res;
    assert_int_equal(gpx_train(net, &d, &o, NULL, NULL, &res), 0);
    assert_int_equal(res.status, GPX_RUN_OK);
    gp_optim *opt;
    /* a fresh optimizer over the trained net starts at 0; the loop's own took 3 steps,
     * which the checkpoint records */
    char dir[] = "/tmp/gpool-test-train-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ck[64];
    snprintf(ck, sizeof ck, "%s/ck", dir);
    gpx_train_opts o2 = o;
    o2.checkpoint_dir = ck;
    gp_net_destroy(net);
    net = tiny_net(d.train.classes);
    assert_int_equal(gpx_train(net, &d, &o2, NULL, NULL, &res), 0);
    gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
    assert_int_equal(gp_optim_create(&opt, &od, net), GP_OK);
    assert_int_equal(gp_checkpoint_load(ck, net, opt), GP_OK);
    assert_int_equal(gp_optim_steps(opt), 3);
    gp_optim_destroy(opt);
    gp_net_destroy(net);
    gpx_data_free(&d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    uint64_t seed = tu_seed();
    printf("# seed %llu\n", (unsigned long long)seed);
    set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_synthetic),
        cmocka_unit_test(test_deterministic_1_thread),
        cmocka_unit_test(test_deterministic_2_threads),
        cmocka_unit_test(test_lr_schedules),
        cmocka_unit_test(test_nan_loss_diverges),
        cmocka_unit_test(test_partial_batch_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
