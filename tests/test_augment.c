/*
 * test_augment.c - the training pipeline's seeded augmentations
 * (core/augment.h) and per-channel normalisation as a data set applies it
 * (core/data.h): a flip is an exact mirror, a padded crop is the image
 * shifted with the normalised zero pixel at its borders, a seed gives one
 * batch and another pass another, batches are augmented before a resize,
 * validation and test are never augmented, and per-channel statistics the
 * images do not fit are refused naming the key.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/augment.h"
#include "core/data.h"
#include "core/evalsize.h"
#include "core/train.h"
#include "gpool_nn.h"
#include "testutil.h"
#include "cmocka_util.h"

/* Odd sizes, several channels: nothing here assumes one channel or a square. */
enum { N = 64, C = 3, H = 5, W = 7, PLANE = H * W, IMG = C * PLANE };

/* N images of floats in [1, 2): never equal to a (negative) padding value. */
static float *random_batch(void)
{
    float *x = malloc((size_t)N * IMG * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)N * IMG; i++)
        x[i] = tu_uniform(1.0f, 2.0f);
    return x;
}

static gpx_pixel_scale colour_scale(void)
{
    gpx_pixel_scale sc = { .normalize = 1, .channels = C, .mean = { 0.49, 0.48, 0.45 },
                           .std = { 0.25, 0.24, 0.26 } };
    return sc;
}

/* x augmented by a under colour_scale, with a fresh seed, in a new buffer. */
static float *augmented_copy(const float *x, const gpx_augment *a)
{
    float *y = malloc((size_t)N * IMG * sizeof *y);
    assert_non_null(y);
    memcpy(y, x, (size_t)N * IMG * sizeof *y);
    gpx_pixel_scale sc = colour_scale();
    assert_int_equal(gpx_augment_images(a, tu_next(), &sc, y, N, C, H, W), 0);
    return y;
}

/* Whether image i of y is image i of x shifted by (sy, sx) (y[r][q] =
 * x[r + sy][q' + sx], q' = q or, flipped, W - 1 - q), fill[ch] outside. */
static int is_placement(const float *x, const float *y, int i, int sy, int sx, int flip,
                        const float *fill)
{
    for (int ch = 0; ch < C; ch++) {
        const float *in = x + ((size_t)i * C + ch) * PLANE, *out = y + ((size_t)i * C + ch) * PLANE;
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++) {
                int sr = r + sy, sq = (flip ? W - 1 - q : q) + sx;
                float want = sr >= 0 && sr < H && sq >= 0 && sq < W ? in[sr * W + sq] : fill[ch];
                if (memcmp(&out[r * W + q], &want, sizeof want) != 0)
                    return 0;
            }
    }
    return 1;
}

/* The placement of each image of y among the (2 pad + 1)^2 x 2 possible:
 * counts[flip][sy + pad][sx + pad]; an image matching none fails. */
static void tally_placements(const float *x, const float *y, int pad, int flips,
                             const float *fill, int counts[2][5][5])
{
    for (int i = 0; i < N; i++) {
        int found = 0;
        for (int f = 0; f <= flips && !found; f++)
            for (int sy = -pad; sy <= pad && !found; sy++)
                for (int sx = -pad; sx <= pad && !found; sx++)
                    if (is_placement(x, y, i, sy, sx, f, fill)) {
                        counts[f][sy + pad][sx + pad]++;
                        found = 1;
                    }
        if (!found)
            FAILF("image %d is no flip or padded crop of its original", i);
    }
}

/* hflip alone: each image is itself or its exact mirror, and both occur
 * (all 64 alike by chance: 2^-63). */
static void test_flip_is_mirror(void **state)
{
    (void)state;
    float *x = random_batch(), *y = augmented_copy(x, &(gpx_augment){ .hflip = 1 });
    gpx_pixel_scale sc = colour_scale();
    int counts[2][5][5] = { { { 0 } } };
    float fill[C];
    assert_int_equal(gpx_pixel_zero(&sc, C, fill), 0);
    tally_placements(x, y, 0, 1, fill, counts);
    assert_true(counts[0][0][0] > 0 && counts[1][0][0] > 0);
    assert_int_equal(counts[0][0][0] + counts[1][0][0], N);
    free(x);
    free(y);
}

/* crop_pad 2 with the flip: every image is its original shifted by at most
 * 2 rows and columns (mirrored or not), the uncovered border holding what
 * a zero byte becomes per channel, (0 - mean[ch]) / std[ch]; shifts other
 * than none occur. */
static void test_padded_crop(void **state)
{
    (void)state;
    float *x = random_batch();
    float *y = augmented_copy(x, &(gpx_augment){ .hflip = 1, .crop_pad = 2 });
    gpx_pixel_scale sc = colour_scale();
    float fill[C];
    for (int ch = 0; ch < C; ch++)   /* torchvision: pad the bytes with 0, then Normalize */
        fill[ch] = (0.0f - (float)sc.mean[ch]) / (float)sc.std[ch];
    int counts[2][5][5] = { { { 0 } } };
    tally_placements(x, y, 2, 1, fill, counts);
    int shifted = 0;
    for (int f = 0; f < 2; f++)
        for (int sy = 0; sy < 5; sy++)
            for (int sx = 0; sx < 5; sx++)
                shifted += (sy != 2 || sx != 2) ? counts[f][sy][sx] : 0;
    assert_true(shifted > N / 2);   /* 24 of the 25 shifts move the image */
    free(x);
    free(y);
}

/* The same seed, the same batch; another pass or another first image, another. */
static void test_seeded(void **state)
{
    (void)state;
    float *x = random_batch();
    size_t bytes = (size_t)N * IMG * sizeof *x;
    float *a1 = malloc(bytes), *a2 = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    assert_true(a1 && a2 && b && c);
    gpx_pixel_scale sc = colour_scale();
    gpx_augment a = { .hflip = 1, .crop_pad = 2 };
    uint64_t run = tu_next();
    float *outs[] = { a1, a2, b, c };
    uint64_t seeds[] = { gpx_augment_seed(run, 3, 128), gpx_augment_seed(run, 3, 128),
                         gpx_augment_seed(run, 4, 128), gpx_augment_seed(run, 3, 192) };
    for (int k = 0; k < 4; k++) {
        memcpy(outs[k], x, bytes);
        assert_int_equal(gpx_augment_images(&a, seeds[k], &sc, outs[k], N, C, H, W), 0);
    }
    assert_memory_equal(a1, a2, bytes);
    assert_true(memcmp(a1, b, bytes) != 0);   /* another epoch */
    assert_true(memcmp(a1, c, bytes) != 0);   /* another batch of the epoch */
    assert_true(memcmp(a1, x, bytes) != 0);
    gpx_augment none = { 0 };
    memcpy(b, x, bytes);
    assert_int_equal(gpx_augment_images(&none, seeds[0], &sc, b, N, C, H, W), 0);
    assert_memory_equal(b, x, bytes);
    assert_false(gpx_augment_on(&none) || gpx_augment_on(NULL));
    free(x);
    free(a1);
    free(a2);
    free(b);
    free(c);
}

static gpx_data load_synthetic(int resize)
{
    gpx_data_spec spec = { .source = "synthetic", .synthetic_train = 256,
                           .synthetic_test = 64, .synthetic_seed = seed, .normalize = 1,
                           .validation = 32, .resize = resize };
    gpx_data d;
    char err[1024];
    if (gpx_data_load(&spec, &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    return d;
}

/* A split's augmented batch is its plain batch augmented at the stored
 * size, then (data.resize) resized; without augmentation it is the plain one. */
static void test_split_batches(void **state)
{
    (void)state;
    gpx_augment a = { .hflip = 1, .crop_pad = 3 };
    int order[] = { 5, 200, 17, 17, 101, 0, 64 }, n = 7;
    for (int resize = 0; resize <= 20; resize += 20) {
        gpx_data d = load_synthetic(resize);
        const gpx_split *t = &d.train;
        const gpx_images *im = &t->images;
        size_t stored = (size_t)n * im->c * im->h * im->w, out = (size_t)n * t->c * t->h * t->w;
        float *want = malloc(stored * sizeof *want), *wres = malloc(out * sizeof *wres);
        float *got = malloc(out * sizeof *got), *plain = malloc(out * sizeof *plain);
        assert_true(want && wres && got && plain);
        uint64_t s = gpx_augment_seed(9, 2, 64);
        assert_int_equal(gpx_images_to_floats(im, &t->scale, order, 0, n, want), 0);
        assert_int_equal(gpx_augment_images(&a, s, &t->scale, want, n, im->c, im->h, im->w), 0);
        if (resize)
            assert_int_equal(gpx_resize_bilinear(want, n, im->c, im->h, im->w, wres, t->h,
                                                 t->w), 0);
        else
            memcpy(wres, want, out * sizeof *wres);
        assert_int_equal(gpx_split_batch_augmented(t, order, 0, n, &a, s, got), 0);
        assert_memory_equal(got, wres, out * sizeof *got);
        assert_int_equal(gpx_split_batch(t, order, 0, n, plain), 0);
        assert_true(memcmp(plain, got, out * sizeof *got) != 0);
        assert_int_equal(gpx_split_batch_augmented(t, order, 0, n, NULL, s, got), 0);
        assert_memory_equal(got, plain, out * sizeof *got);
        free(want);
        free(wres);
        free(got);
        free(plain);
        gpx_data_free(&d);
    }
}

static void add(gp_net *net, gp_status made, gp_layer **l)
{
    if (made != GP_OK || gp_net_add(net, *l) != GP_OK)
        fail_msg("building the net: %s", gp_last_error());
}

/* conv 3x3 to the classes, then global average pooling. */
static gp_net *small_net(const gpx_split *s, int batch)
{
    gp_shape in = { batch, s->c, s->h, s->w };
    gp_net *net;
    gp_layer *l;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    add(net, gp_conv2d_create(&l, gp_net_out_shape(net), s->classes, 3, 3, 1, 1, 1), &l);
    add(net, gp_head_pool_create(&l, gp_net_out_shape(net), GP_HEAD_AVG), &l);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    return net;
}

/* One epoch with and without augmentation: the training differs (the
 * batches were augmented), but the validation and test figures the loop
 * reports are those of the plain splits (gpx_evaluate on the trained net). */
static void test_only_training_augmented(void **state)
{
    (void)state;
    gpx_data d = load_synthetic(0);
    gpx_train_result with, without;
    double val_loss, val_acc, test_loss, test_acc;
    for (int aug = 1; aug >= 0; aug--) {
        gp_net *net = small_net(&d.train, 32);
        gpx_train_opts o = gpx_train_defaults();
        o.batch = 32;
        o.seed = 5;
        o.optim.lr = 1e-2f;
        o.augment = (gpx_augment){ .hflip = aug, .crop_pad = aug ? 2 : 0 };
        gpx_train_result *res = aug ? &with : &without;
        assert_int_equal(gpx_train(net, &d, &o, NULL, NULL, res), 0);
        assert_int_equal(res->status, GPX_RUN_OK);
        assert_int_equal(gpx_evaluate(net, &d.val, 0, &val_loss, &val_acc), GP_OK);
        assert_int_equal(gpx_evaluate(net, &d.test, 0, &test_loss, &test_acc), GP_OK);
        assert_true(res->last.val_loss == val_loss && res->last.val_acc == val_acc);
        assert_true(res->last.test_loss == test_loss && res->last.test_acc == test_acc);
        gp_net_destroy(net);
    }
    assert_true(with.last.train_loss != without.last.train_loss);
    gpx_data_free(&d);
}

/* Per-channel statistics: a list that does not fit the images' channels,
 * a per-channel std of 0, a per-channel mean with computed statistics, each
 * refused naming its key; a list of one is the single number. */
static void test_channel_statistics_refused(void **state)
{
    (void)state;
    struct { int nmean, nstd; double mean0, std0, std1; const char *needle; } cases[] = {
        { 3, 1, 0.5, 0.25, 0, "data.mean: 3 values for 1-channel images" },
        { 1, 2, 0.5, 0.25, 0, "data.std: value 2 is 0" },
        { 1, 2, 0.5, 0.25, 0.3, "data.std: 2 values for 1-channel images" },
        { 2, 0, 0.5, 0, 0, "data.mean: 2 values given, but data.std is 0" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gpx_data_spec spec = { .source = "synthetic", .synthetic_train = 64,
                               .synthetic_test = 16, .normalize = 1,
                               .nmean = cases[k].nmean, .nstd = cases[k].nstd,
                               .mean = { cases[k].mean0, 0.4, 0.3 },
                               .std = { cases[k].std0, cases[k].std1 } };
        gpx_data d;
        char err[1024] = "";
        assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);
        if (strncmp(err, cases[k].needle, strlen(cases[k].needle)) != 0)
            fail_msg("case %zu: \"%s\" does not start with \"%s\"", k, err, cases[k].needle);
    }
    gpx_data_spec one = { .source = "synthetic", .synthetic_train = 64, .synthetic_test = 16,
                          .normalize = 1, .nmean = 1, .nstd = 1, .mean = { 0.3 },
                          .std = { 0.2 } };
    gpx_data d;
    char err[1024];
    assert_int_equal(gpx_data_load(&one, &d, err, sizeof err), 0);
    assert_true(d.mean[0] == 0.3 && d.std[0] == 0.2 && d.train.scale.mean[0] == 0.3);
    gpx_data_free(&d);
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flip_is_mirror),
        cmocka_unit_test(test_padded_crop),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_split_batches),
        cmocka_unit_test(test_only_training_augmented),
        cmocka_unit_test(test_channel_statistics_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
