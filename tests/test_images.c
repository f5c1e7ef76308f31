/*
 * test_images.c - stored images converted to floats (core/images.h): bytes
 * and floats, planar and interleaved channels, a range or an index list,
 * with and without normalisation, each value checked against the formula
 * torchvision applies; and every bad request refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/images.h"
#include "testutil.h"

enum { N = 7, C = 3, H = 5, W = 4, PLANE = H * W, IMG = C * PLANE };

static uint64_t seed;

/* Stored element (ch, p) of image k in layout, as its type's float (bytes
 * scaled by 1/255), before normalisation. */
static float stored(const gpx_images *im, int k, int ch, int p)
{
    size_t at = (size_t)k * IMG + (im->layout == GPX_LAYOUT_NCHW ? (size_t)ch * PLANE + p
                                                                  : (size_t)p * C + ch);
    if (im->type == GPX_PIXEL_U8)
        return (float)((const uint8_t *)im->data)[at] / 255.0f;
    return ((const float *)im->data)[at];
}

/* Converting images index[0..count) (or first.. when index is NULL) gives,
 * bit for bit, each stored value normalised as torchvision does in float. */
static void expect_converted(const gpx_images *im, const gpx_pixel_scale *sc, const int *index,
                             int first, int count)
{
    float *dst = malloc((size_t)count * IMG * sizeof *dst);
    assert_non_null(dst);
    assert_int_equal(gpx_images_to_floats(im, sc, index, first, count, dst), 0);
    for (int i = 0; i < count; i++)
        for (int ch = 0; ch < C; ch++)
            for (int p = 0; p < PLANE; p++) {
                float v = stored(im, index ? index[i] : first + i, ch, p);
                int t = sc->channels > 1 ? ch : 0;
                float want = sc->normalize ? (v - (float)sc->mean[t]) / (float)sc->std[t] : v;
                float got = dst[(size_t)i * IMG + (size_t)ch * PLANE + p];
                if (memcmp(&got, &want, sizeof got) != 0)
                    fail_msg("image %d channel %d pixel %d: %.9g, expected %.9g (rerun with "
                             "GPOOL_TEST_SEED=%llu)", i, ch, p, got, want,
                             (unsigned long long)seed);
            }
    free(dst);
}

/* Both types in both layouts, a range and a shuffled index with repeats,
 * with and without normalisation. */
static void test_conversions(void **state)
{
    (void)state;
    uint8_t bytes[N * IMG];
    float floats[N * IMG];
    for (int i = 0; i < N * IMG; i++) {
        bytes[i] = (uint8_t)(tu_next() & 0xff);
        floats[i] = tu_uniform(-3.0f, 3.0f);
    }
    bytes[0] = 255;   /* both ends of the table */
    bytes[1] = 0;
    const int index[] = { 6, 0, 3, 3, 5 };
    const gpx_pixel_scale scales[] = {
        { 0 }, { .normalize = 1, .mean = { 0.2860 }, .std = { 0.3530 } },
        { .normalize = 1, .channels = C, .mean = { 0.4914, 0.4822, 0.4465 },
          .std = { 0.2470, 0.2435, 0.2616 } },
    };
    for (int type = 0; type < 2; type++)
        for (int layout = 0; layout < 2; layout++)
            for (int s = 0; s < 3; s++) {
                gpx_images im = { type ? GPX_PIXEL_F32 : GPX_PIXEL_U8,
                                  layout ? GPX_LAYOUT_NHWC : GPX_LAYOUT_NCHW, N, C, H, W,
                                  type ? (const void *)floats : bytes };
                expect_converted(&im, &scales[s], NULL, 0, N);
                expect_converted(&im, &scales[s], NULL, 2, 4);
                expect_converted(&im, &scales[s], index, 0, 5);
            }
}

/* Floats without normalisation are copied as they are, NaN and -0 included. */
static void test_floats_untouched(void **state)
{
    (void)state;
    float x[IMG], y[IMG];
    for (int i = 0; i < IMG; i++)
        x[i] = tu_uniform(-1e6f, 1e6f);
    x[3] = -0.0f;
    x[4] = __builtin_nanf("");
    gpx_images im = { GPX_PIXEL_F32, GPX_LAYOUT_NCHW, 1, C, H, W, x };
    assert_int_equal(gpx_images_to_floats(&im, NULL, NULL, 0, 1, y), 0);
    assert_memory_equal(x, y, sizeof x);
}

/* An image outside the set, a bad range, type or layout: -1. */
static void test_refusals(void **state)
{
    (void)state;
    uint8_t bytes[N * IMG] = { 1 };
    float dst[N * IMG];
    gpx_images im = { GPX_PIXEL_U8, GPX_LAYOUT_NCHW, N, C, H, W, bytes };
    gpx_pixel_scale sc = { 0 };
    const int outside[] = { 0, N }, negative[] = { -1 };
    assert_int_equal(gpx_images_to_floats(&im, &sc, outside, 0, 2, dst), -1);
    assert_int_equal(gpx_images_to_floats(&im, &sc, negative, 0, 1, dst), -1);
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, N - 2, 3, dst), -1);
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, -1, 1, dst), -1);
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, 0, -1, dst), -1);
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, N, 0, dst), 0);
    im.type = (gpx_pixel_type)7;
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, 0, 1, dst), -1);
    assert_int_equal(gpx_pixel_size(im.type), 0);
    im.type = GPX_PIXEL_U8;
    im.layout = (gpx_layout)5;
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, 0, 1, dst), -1);
    assert_int_equal(gpx_pixel_size(GPX_PIXEL_U8), 1);
    assert_int_equal(gpx_pixel_size(GPX_PIXEL_F32), 4);
}

/* Odd sizes for the per-channel checks: no dimension a multiple of another. */
enum { PN = 3, PC = 5, PH = 7, PW = 3, PPLANE = PH * PW, PIMG = PC * PPLANE };

/* Element (ch, p) of image k of a PN x PC x PH x PW set in layout. */
static size_t element_at(gpx_layout layout, int k, int ch, int p)
{
    return (size_t)k * PIMG + (layout == GPX_LAYOUT_NCHW ? (size_t)ch * PPLANE + p
                                                         : (size_t)p * PC + ch);
}

/* Each channel normalised by its own mean and std: every delivered float
 * within a few float roundings of the double-precision (v - mean) / std,
 * for bytes and floats, planar and interleaved. */
static void test_per_channel_against_double(void **state)
{
    (void)state;
    uint8_t bytes[PN * PIMG];
    float floats[PN * PIMG], got[PN * PIMG];
    for (int i = 0; i < PN * PIMG; i++) {
        bytes[i] = (uint8_t)(1 + tu_next() % 255);
        floats[i] = tu_uniform(-2.0f, 2.0f);
    }
    gpx_pixel_scale sc = { .normalize = 1, .channels = PC };
    for (int ch = 0; ch < PC; ch++) {
        sc.mean[ch] = 0.1 + 0.17 * ch;
        sc.std[ch] = 0.05 + 0.3 * ch;
    }
    for (int type = 0; type < 2; type++)
        for (int layout = 0; layout < 2; layout++) {
            gpx_images im = { type ? GPX_PIXEL_F32 : GPX_PIXEL_U8,
                              layout ? GPX_LAYOUT_NHWC : GPX_LAYOUT_NCHW, PN, PC, PH, PW,
                              type ? (const void *)floats : bytes };
            assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, 0, PN, got), 0);
            for (int k = 0; k < PN; k++)
                for (int ch = 0; ch < PC; ch++)
                    for (int p = 0; p < PPLANE; p++) {
                        size_t at = element_at(im.layout, k, ch, p);
                        double v = type ? (double)floats[at] : bytes[at] / 255.0;
                        double want = (v - sc.mean[ch]) / sc.std[ch];
                        double d = got[(size_t)k * PIMG + (size_t)ch * PPLANE + p];
                        if (fabs(d - want) > 4e-7 * (1.0 + fabs(want)))
                            fail_msg("type %d layout %d image %d channel %d pixel %d: %.9g, "
                                     "double %.9g (GPOOL_TEST_SEED=%llu)", type, layout, k,
                                     ch, p, d, want, (unsigned long long)seed);
                    }
        }
    /* values for another channel count: refused, not read past */
    gpx_images three = { GPX_PIXEL_U8, GPX_LAYOUT_NCHW, 1, 3, PH, PW, bytes };
    assert_int_equal(gpx_images_to_floats(&three, &sc, NULL, 0, 1, got), -1);
}

/* The per-channel statistics against direct double sums over the channel's
 * values, for both types and layouts; and over a range of the images only. */
static void test_channel_stats(void **state)
{
    (void)state;
    uint8_t bytes[PN * PIMG];
    float floats[PN * PIMG];
    for (int i = 0; i < PN * PIMG; i++) {
        bytes[i] = (uint8_t)(tu_next() % 256);
        floats[i] = tu_uniform(-5.0f, 3.0f);
    }
    for (int i = 0; i < PN * PIMG; i++)   /* channel 2 of every layout darker */
        if (i % PC == 2)
            bytes[i] /= 4;
    for (int type = 0; type < 2; type++)
        for (int layout = 0; layout < 2; layout++) {
            gpx_images im = { type ? GPX_PIXEL_F32 : GPX_PIXEL_U8,
                              layout ? GPX_LAYOUT_NHWC : GPX_LAYOUT_NCHW, PN, PC, PH, PW,
                              type ? (const void *)floats : bytes };
            double mean[PC], std[PC];
            assert_int_equal(gpx_images_channel_stats(&im, 1, PN - 1, mean, std), 0);
            for (int ch = 0; ch < PC; ch++) {
                double sum = 0, sq = 0;
                size_t n = (size_t)(PN - 1) * PPLANE;
                for (int k = 1; k < PN; k++)
                    for (int p = 0; p < PPLANE; p++) {
                        size_t at = element_at(im.layout, k, ch, p);
                        sum += type ? (double)floats[at] : bytes[at] / 255.0;
                    }
                double m = sum / (double)n;
                for (int k = 1; k < PN; k++)
                    for (int p = 0; p < PPLANE; p++) {
                        size_t at = element_at(im.layout, k, ch, p);
                        double v = type ? (double)floats[at] : bytes[at] / 255.0;
                        sq += (v - m) * (v - m);
                    }
                assert_true(fabs(mean[ch] - m) <= 1e-12 * (1.0 + fabs(m)));
                assert_true(fabs(std[ch] - sqrt(sq / (double)n)) <= 1e-12);
                assert_true(std[ch] > 0);
            }
        }
    gpx_images im = { GPX_PIXEL_U8, GPX_LAYOUT_NCHW, PN, PC, PH, PW, bytes };
    double m[PC], sd[PC];
    assert_int_equal(gpx_images_channel_stats(&im, 0, 0, m, sd), -1);
    assert_int_equal(gpx_images_channel_stats(&im, 1, PN, m, sd), -1);
}

/* What a stored 0 becomes: bit for bit the converted value of a 0 byte,
 * per channel or shared; 0 without normalisation. */
static void test_pixel_zero(void **state)
{
    (void)state;
    uint8_t zeros[PIMG] = { 0 };
    float got[PIMG], fill[PC];
    gpx_pixel_scale sc = { .normalize = 1, .channels = PC };
    for (int ch = 0; ch < PC; ch++) {
        sc.mean[ch] = tu_uniform(0.1f, 0.9f);
        sc.std[ch] = tu_uniform(0.1f, 0.5f);
    }
    gpx_images im = { GPX_PIXEL_U8, GPX_LAYOUT_NHWC, 1, PC, PH, PW, zeros };
    assert_int_equal(gpx_images_to_floats(&im, &sc, NULL, 0, 1, got), 0);
    assert_int_equal(gpx_pixel_zero(&sc, PC, fill), 0);
    for (int ch = 0; ch < PC; ch++) {
        assert_memory_equal(&fill[ch], &got[ch * PPLANE], sizeof fill[ch]);
        assert_true(fill[ch] < 0);
    }
    sc.channels = 1;   /* mean[0], std[0] for every channel */
    assert_int_equal(gpx_pixel_zero(&sc, PC, fill), 0);
    for (int ch = 1; ch < PC; ch++)
        assert_memory_equal(&fill[ch], &fill[0], sizeof fill[0]);
    sc.channels = 2;
    assert_int_equal(gpx_pixel_zero(&sc, PC, fill), -1);
    assert_int_equal(gpx_pixel_zero(NULL, PC, fill), 0);
    assert_true(fill[PC - 1] == 0.0f);
}

int main(void)
{
    seed = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_floats_untouched),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_per_channel_against_double),
        cmocka_unit_test(test_channel_stats),
        cmocka_unit_test(test_pixel_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
