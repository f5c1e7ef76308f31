/*
 * test_evalsize.c - input-size transforms on known images (bilinear resize
 * against hand-derived values and values PyTorch 1.13 computed; canvas
 * placement), the data.resize option, and evaluation at other input sizes:
 * the not-applicable rows, and equality with gpx_evaluate at the trained
 * size.
 */
#include "autoconfig.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/evalsize.h"
#include "gpool_nn.h"
#include "core/model.h"
#include "testutil.h"
#include "cmocka_util.h"
#include "core/train.h"

/* Exact comparison of n floats (bit patterns, so -0 and NaN count). */
static void expect_floats(const char *what, const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0)
            FAILF("%s: element %zu is %a (%.9g), expected %a (%.9g)", what, i, got[i],
                  got[i], want[i], want[i]);
}

/* c copies of one plane (the NCHW kernel only runs with c > 1). */
static float *replicate(const float *plane, size_t size, int c)
{
    float *x = malloc(size * c * sizeof *x);
    assert_non_null(x);
    for (int k = 0; k < c; k++)
        memcpy(x + size * k, plane, size * sizeof *x);
    return x;
}

/* ----------------------------------------------------------- bilinear */

/* Resize one plane, in both of torch's kernels (c = 1 and c = 3), and
 * compare every channel with want. */
static void check_resize(const char *what, const float *x, int h, int w, const float *want,
                         int oh, int ow)
{
    for (int c = 1; c <= 3; c += 2) {
        float *in = replicate(x, (size_t)h * w, c);
        float *out = malloc((size_t)c * oh * ow * sizeof *out);
        assert_non_null(out);
        assert_int_equal(gpx_resize_bilinear(in, 1, c, h, w, out, oh, ow), 0);
        for (int k = 0; k < c; k++)
            expect_floats(what, out + (size_t)k * oh * ow, want, (size_t)oh * ow);
        free(in);
        free(out);
    }
}

/* 2x2 -> 4x4. scale = 2/4 = 0.5; source index (d + 0.5) * 0.5 - 0.5:
 *   d=0: -0.25 -> clamped to 0:   x0
 *   d=1:  0.25 -> i0=0, l1=0.25:  0.75 x0 + 0.25 x1
 *   d=2:  0.75 -> i0=0, l1=0.75:  0.25 x0 + 0.75 x1
 *   d=3:  1.25 -> i0=1 (last), i1=1: x1
 * Rows of {{0, 4}, {8, 12}}: {0, 1, 3, 4} and {8, 9, 11, 12}; between them
 * the same weights: row 1 = 0.75 {0,1,3,4} + 0.25 {8,9,11,12} = {2,3,5,6},
 * row 2 = 0.25 ... + 0.75 ... = {6,7,9,10}. Every value is exact in float,
 * so both kernels must give exactly these. */
static void test_bilinear_up_2x2(void **state)
{
    (void)state;
    static const float x[] = { 0, 4, 8, 12 };
    static const float want[] = {
        0, 1, 3, 4,
        2, 3, 5, 6,
        6, 7, 9, 10,
        8, 9, 11, 12,
    };
    check_resize("2x2 -> 4x4", x, 2, 2, want, 4, 4);
}

/* 4x4 ramp x[r][c] = 4r + c -> 2x2. scale = 2; source index
 * (d + 0.5) * 2 - 0.5 = 0.5 (i0=0) and 2.5 (i0=2), l0 = l1 = 0.5: each
 * output is the mean of a 2x2 block. Rows 0/1, columns 0/1:
 * (0 + 1 + 4 + 5) / 4 = 2.5; columns 2/3: (2 + 3 + 6 + 7) / 4 = 4.5;
 * rows 2/3: 10.5 and 12.5. */
static void test_bilinear_down_ramp(void **state)
{
    (void)state;
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    static const float want[] = { 2.5f, 4.5f, 10.5f, 12.5f };
    check_resize("4x4 ramp -> 2x2", x, 4, 4, want, 2, 2);
}

/* 3x1 -> 2x1 (a single column, so only the height is interpolated, and a
 * width that stays 1 copies). scale = 1.5; source index (d + 0.5) * 1.5 - 0.5
 * = 0.25 (i0=0, l1=0.25) and 1.75 (i0=1, l1=0.75): {0, 4, 8} gives
 * 0.75*0 + 0.25*4 = 1 and 0.25*4 + 0.75*8 = 7. */
static void test_bilinear_down_column(void **state)
{
    (void)state;
    static const float x[] = { 0, 4, 8 };
    static const float want[] = { 1, 7 };
    check_resize("3x1 -> 2x1", x, 3, 1, want, 2, 1);
}

/* Values PyTorch 1.13 computed (F.interpolate(x, size, mode='bilinear',
 * align_corners=False), printed as hex floats) for an image whose weights
 * and values round: they must come back bit for bit, in both of torch's
 * kernels, which round differently (one channel: channels-last kernel; more
 * channels: the NCHW kernel). */
static const float torch_src[9] = {
    0.1f, 0.7f, -0.3f,
    1.9f, -2.5f, 0.25f,
    3.3f, 0.6f, -1.1f,
};
static const float torch_5x5[2][25] = {
    {   /* one channel */
        0x1.99999ap-4f, 0x1.5c28f6p-2f, 0x1.666664p-1f, 0x1.99998p-4f, -0x1.333334p-2f,
        0x1.a3d70cp-1f, 0x1.0a3d6ep-2f, -0x1.28f5c6p-1f, -0x1.1eb852p-2f, -0x1.47ae1p-4f,
        0x1.e66668p+0f, 0x1.1eb848p-3f, -0x1.3ffffep+1f, -0x1.b3332ap-1f, 0x1.fffff4p-3f,
        0x1.5eb852p+1f, 0x1.6353f8p+0f, -0x1.47ae0cp-1f, -0x1.2f1a9ep-1f, -0x1.1eb856p-1f,
        0x1.a66666p+1f, 0x1.1c28f4p+1f, 0x1.33333p-1f, -0x1.ae1484p-2f, -0x1.19999ap+0f,
    },
    {   /* two or more channels */
        0x1.99999ap-4f, 0x1.5c28f8p-2f, 0x1.666664p-1f, 0x1.99997ep-4f, -0x1.333334p-2f,
        0x1.a3d70cp-1f, 0x1.0a3d6cp-2f, -0x1.28f5c4p-1f, -0x1.1eb852p-2f, -0x1.47ae12p-4f,
        0x1.e66668p+0f, 0x1.1eb846p-3f, -0x1.3ffffcp+1f, -0x1.b3332cp-1f, 0x1.fffff6p-3f,
        0x1.5eb852p+1f, 0x1.6353f6p+0f, -0x1.47ae0ap-1f, -0x1.2f1a9ep-1f, -0x1.1eb856p-1f,
        0x1.a66666p+1f, 0x1.1c28f4p+1f, 0x1.33333p-1f, -0x1.ae1484p-2f, -0x1.19999ap+0f,
    },
};
static const float torch_4x7[2][28] = {
    {
        0x1.99999ap-4f, 0x1.7c57c6p-3f, 0x1.c57c58p-2f, 0x1.666666p-1f, 0x1.15f15cp-2f,
        -0x1.41d42p-3f, -0x1.333334p-2f,
        0x1.39999ap+0f, 0x1.ba83a6p-1f, -0x1.be2be8p-3f, -0x1.4cccccp+0f, -0x1.72be2ap-1f,
        -0x1.2f8af8p-3f, 0x1.666662p-5f,
        0x1.366666p+1f, 0x1.e33332p+0f, 0x1.199994p-2f, -0x1.566666p+0f, -0x1.bf8af8p-1f,
        -0x1.a49248p-2f, -0x1.066668p-2f,
        0x1.a66666p+1f, 0x1.75075p+1f, 0x1.c1d41cp+0f, 0x1.333334p-1f, -0x1.07507cp-3f,
        -0x1.b6db6ep-1f, -0x1.19999ap+0f,
    },
    {
        0x1.99999ap-4f, 0x1.7c57c6p-3f, 0x1.c57c58p-2f, 0x1.666666p-1f, 0x1.15f15cp-2f,
        -0x1.41d42p-3f, -0x1.333334p-2f,
        0x1.39999ap+0f, 0x1.ba83a8p-1f, -0x1.be2beep-3f, -0x1.4cccccp+0f, -0x1.72be2ap-1f,
        -0x1.2f8af8p-3f, 0x1.666664p-5f,
        0x1.366666p+1f, 0x1.e33334p+0f, 0x1.19999p-2f, -0x1.566666p+0f, -0x1.bf8af8p-1f,
        -0x1.a49248p-2f, -0x1.066668p-2f,
        0x1.a66666p+1f, 0x1.75075p+1f, 0x1.c1d41cp+0f, 0x1.333334p-1f, -0x1.07507ep-3f,
        -0x1.b6db6ep-1f, -0x1.19999ap+0f,
    },
};

/* want[0] for one channel, want[1] for two */
static void check_torch(const char *what, int oh, int ow, const float *const want[2])
{
    for (int c = 1; c <= 2; c++) {
        float *in = replicate(torch_src, 9, c);
        float *out = malloc((size_t)c * oh * ow * sizeof *out);
        assert_non_null(out);
        assert_int_equal(gpx_resize_bilinear(in, 1, c, 3, 3, out, oh, ow), 0);
        for (int k = 0; k < c; k++)
            expect_floats(what, out + (size_t)k * oh * ow, want[c - 1], (size_t)oh * ow);
        free(in);
        free(out);
    }
}

static void test_bilinear_matches_torch(void **state)
{
    (void)state;
    const float *const up[2] = { torch_5x5[0], torch_5x5[1] };
    const float *const odd[2] = { torch_4x7[0], torch_4x7[1] };
    check_torch("3x3 -> 5x5 (torch)", 5, 5, up);
    check_torch("3x3 -> 4x7 (torch)", 4, 7, odd);
}

/* Same size: every weight is 1 or 0, so random images come back unchanged
 * (bit for bit: x * 1 + y * 0 = x for finite nonzero x), in both kernels
 * and with several images. */
static void test_bilinear_identity(void **state)
{
    (void)state;
    for (int c = 1; c <= 3; c += 2) {
        int n = 3, h = 7 + (int)(tu_next() % 9), w = 5 + (int)(tu_next() % 9);
        size_t count = (size_t)n * c * h * w;
        float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
        assert_non_null(x);
        assert_non_null(y);
        for (size_t i = 0; i < count; i++)
            x[i] = tu_uniform(0.5f, 2.0f) * (tu_next() & 1 ? 1 : -1);
        assert_int_equal(gpx_resize_bilinear(x, n, c, h, w, y, h, w), 0);
        expect_floats("identity", y, x, count);
        free(x);
        free(y);
    }
}

/* A constant image stays that constant, up and down and in both kernels.
 * Tolerance 4 ulp: l0 = 1 - l1 and the weight products are rounded to
 * float, so the weights sum to 1 only within a few ulp (torch rounds the
 * same way, so this is its behaviour too, not an error). */
static void test_bilinear_constant(void **state)
{
    (void)state;
    static const int sizes[][4] = { { 28, 28, 20, 20 }, { 28, 28, 36, 36 },
                                    { 13, 17, 29, 7 }, { 56, 56, 28, 28 } };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int c = 1; c <= 2; c++) {
            int h = sizes[s][0], w = sizes[s][1], oh = sizes[s][2], ow = sizes[s][3];
            float k = tu_uniform(-3.0f, 3.0f);
            if (fabsf(k) < 0.1f)
                k = 0.75f;
            size_t nin = (size_t)c * h * w, nout = (size_t)c * oh * ow;
            float *x = malloc(nin * sizeof *x), *y = malloc(nout * sizeof *y);
            assert_non_null(x);
            assert_non_null(y);
            for (size_t i = 0; i < nin; i++)
                x[i] = k;
            assert_int_equal(gpx_resize_bilinear(x, 1, c, h, w, y, oh, ow), 0);
            for (size_t i = 0; i < nout; i++)
                if (fabsf(y[i] - k) > 4 * FLT_EPSILON * fabsf(k))
                    FAILF("constant %g, %dx%d -> %dx%d, c=%d: element %zu is %.9g", k, h, w,
                          oh, ow, c, i, y[i]);
            free(x);
            free(y);
        }
}

static void test_bilinear_bad_sizes(void **state)
{
    (void)state;
    float x[4] = { 1, 2, 3, 4 }, y[4];
    assert_int_equal(gpx_resize_bilinear(x, 1, 1, 2, 2, y, 0, 2), -1);
    assert_int_equal(gpx_resize_bilinear(x, 1, 1, 0, 2, y, 2, 2), -1);
    assert_int_equal(gpx_resize_bilinear(x, -1, 1, 2, 2, y, 2, 2), -1);
}

/* ------------------------------------------------------------- canvas */

/* Image pixels are drawn from [1, 2) and the fill is negative, so the
 * first non-fill pixel in reading order is the image's top-left corner. */
static float *random_images(int n, int c, int h, int w)
{
    float *x = malloc((size_t)n * c * h * w * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)n * c * h * w; i++)
        x[i] = tu_uniform(1.0f, 2.0f);
    return x;
}

/* Check that image i of x sits intact at (oy, ox) of its canvases in y,
 * every channel at the same place, with its fill[ch] everywhere else. */
static void expect_placed(const float *x, const float *y, int i, int c, int h, int w,
                          int size, const float *fill, int oy, int ox)
{
    for (int ch = 0; ch < c; ch++) {
        const float *src = x + ((size_t)i * c + ch) * h * w;
        const float *dst = y + ((size_t)i * c + ch) * size * size;
        for (int r = 0; r < size; r++)
            for (int q = 0; q < size; q++) {
                int in = r >= oy && r < oy + h && q >= ox && q < ox + w;
                float want = in ? src[(r - oy) * w + (q - ox)] : fill[ch];
                if (dst[r * size + q] != want)
                    FAILF("image %d channel %d at (%d, %d): %g, expected %g (image at "
                          "%d, %d)", i, ch, r, q, dst[r * size + q], want, oy, ox);
            }
    }
}

/* Where image i was put: its first non-fill pixel (channel 0). */
static void find_place(const float *y, int i, int c, int size, float fill, int *oy, int *ox)
{
    const float *dst = y + (size_t)i * c * size * size;
    for (int k = 0; k < size * size; k++)
        if (dst[k] != fill) {
            *oy = k / size;
            *ox = k % size;
            return;
        }
    FAILF("image %d is not on its canvas", i);
}

static void test_canvas_center(void **state)
{
    (void)state;
    /* (10 - 5) / 2 = 2 rows, (10 - 3) / 2 = 3 columns; an odd margin of 3
     * (8 - 5) rounds down to 1 above (2 below) */
    static const int cases[][5] = { /* h, w, size, oy, ox */
        { 5, 3, 10, 2, 3 }, { 5, 5, 8, 1, 1 }, { 4, 6, 6, 1, 0 }, { 6, 6, 6, 0, 0 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int n = 3, c = 2, h = cases[k][0], w = cases[k][1], size = cases[k][2];
        float fill[2] = { -tu_uniform(0.1f, 1.0f), -tu_uniform(0.1f, 1.0f) };
        float *x = random_images(n, c, h, w);
        float *y = malloc((size_t)n * c * size * size * sizeof *y);
        assert_non_null(y);
        assert_int_equal(gpx_place_on_canvas(x, n, c, h, w, y, size, fill, GPX_CANVAS_CENTER,
                                             tu_next()), 0);
        for (int i = 0; i < n; i++)
            expect_placed(x, y, i, c, h, w, size, fill, cases[k][3], cases[k][4]);
        free(x);
        free(y);
    }
}

/* Random places: the same seed gives the same canvases, another seed other
 * ones; every one of the (6-3+1) x (6-2+1) = 20 offsets is reached by 400
 * images (the chance that a uniform draw misses one is 20 * (19/20)^400,
 * about 3e-8), and every image is intact at its place. */
static void test_canvas_random(void **state)
{
    (void)state;
    int n = 400, c = 2, h = 3, w = 2, size = 6;
    const float fill[2] = { -0.4242f, -0.1717f };   /* one per channel */
    uint64_t s = tu_next();
    float *x = random_images(n, c, h, w);
    size_t count = (size_t)n * c * size * size;
    float *y = malloc(count * sizeof *y), *y2 = malloc(count * sizeof *y2);
    assert_non_null(y);
    assert_non_null(y2);
    assert_int_equal(gpx_place_on_canvas(x, n, c, h, w, y, size, fill, GPX_CANVAS_RANDOM, s), 0);
    assert_int_equal(gpx_place_on_canvas(x, n, c, h, w, y2, size, fill, GPX_CANVAS_RANDOM, s), 0);
    expect_floats("same seed", y2, y, count);
    assert_int_equal(gpx_place_on_canvas(x, n, c, h, w, y2, size, fill, GPX_CANVAS_RANDOM,
                                         s ^ 0x5a5a5a5aull), 0);
    if (memcmp(y, y2, count * sizeof *y) == 0)
        FAILF("seeds %llu and %llu placed all %d images alike", (unsigned long long)s,
              (unsigned long long)(s ^ 0x5a5a5a5aull), n);
    int seen[4][5] = { { 0 } };
    for (int i = 0; i < n; i++) {
        int oy = -1, ox = -1;
        find_place(y, i, c, size, fill[0], &oy, &ox);
        if (oy > size - h || ox > size - w)
            FAILF("image %d at (%d, %d) does not fit", i, oy, ox);
        expect_placed(x, y, i, c, h, w, size, fill, oy, ox);
        seen[oy][ox]++;
    }
    for (int oy = 0; oy <= size - h; oy++)
        for (int ox = 0; ox <= size - w; ox++)
            if (!seen[oy][ox])
                FAILF("offset (%d, %d) never drawn in %d images", oy, ox, n);
    free(x);
    free(y);
    free(y2);
}

static void test_canvas_too_small(void **state)
{
    (void)state;
    float x[12] = { 1 }, y[64], fill[1] = { 0 };
    assert_int_equal(gpx_place_on_canvas(x, 1, 1, 4, 3, y, 3, fill, GPX_CANVAS_CENTER, 1), -1);
    assert_int_equal(gpx_place_on_canvas(x, 1, 1, 3, 4, y, 3, fill, GPX_CANVAS_RANDOM, 1), -1);
    assert_int_equal(gpx_place_on_canvas(x, 1, 1, 3, 4, y, 4, fill, (gpx_canvas_mode)7, 1), -1);
}

static void test_method_names(void **state)
{
    (void)state;
    for (int m = 0; m < GPX_SIZE_NMETHODS; m++) {
        gpx_size_method back = (gpx_size_method)-1;
        assert_int_equal(gpx_size_method_parse(gpx_size_method_name((gpx_size_method)m),
                                               &back), 0);
        assert_int_equal(back, m);
    }
    gpx_size_method back;
    assert_int_equal(gpx_size_method_parse("crop", &back), -1);
    assert_string_equal(gpx_size_method_name(GPX_SIZE_CANVAS_RANDOM), "canvas_random");
}

/* ---------------------------------------------------------- data.resize */

static gpx_data_spec synthetic_spec(int normalize, uint64_t data_seed)
{
    gpx_data_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.source = "synthetic";
    spec.synthetic_train = 200;   /* enough that resizing it runs threaded */
    spec.synthetic_test = 80;
    spec.synthetic_size = 12;
    spec.synthetic_classes = 4;
    spec.synthetic_seed = data_seed;
    spec.normalize = normalize;
    spec.validation = 16;
    return spec;
}

static gpx_data load(const gpx_data_spec *spec)
{
    gpx_data d;
    char err[512];
    if (gpx_data_load(spec, &d, err, sizeof err))
        FAILF("loading data: %s", err);
    return d;
}

/* Every split comes out resized, equal to resizing the original floats,
 * whole or gathered in any order; what it stores stays the original bytes. */
static void test_data_resize(void **state)
{
    (void)state;
    uint64_t ds = tu_next();
    gpx_data_spec spec = synthetic_spec(1, ds);
    gpx_data plain = load(&spec);
    static const int sides[] = { 20, 7 };
    for (int k = 0; k < 2; k++) {
        spec.resize = sides[k];
        gpx_data big = load(&spec);
        const gpx_split *a[3] = { &plain.train, &plain.val, &plain.test };
        const gpx_split *b[3] = { &big.train, &big.val, &big.test };
        for (int s = 0; s < 3; s++) {
            assert_int_equal(b[s]->count, a[s]->count);
            assert_int_equal(b[s]->h, sides[k]);
            assert_int_equal(b[s]->w, sides[k]);
            assert_memory_equal(b[s]->y, a[s]->y, a[s]->count * sizeof *a[s]->y);
            assert_memory_equal(b[s]->images.data, a[s]->images.data,
                                (size_t)a[s]->count * a[s]->h * a[s]->w);
            size_t img = (size_t)sides[k] * sides[k], nout = a[s]->count * img;
            float *want = malloc(nout * sizeof *want), *orig = gpx_split_floats(a[s]);
            float *got = gpx_split_floats(b[s]), *one = malloc(img * sizeof *one);
            assert_true(want && orig && got && one);
            assert_int_equal(gpx_resize_bilinear(orig, a[s]->count, 1, a[s]->h, a[s]->w,
                                                 want, sides[k], sides[k]), 0);
            expect_floats("data.resize", got, want, nout);
            int last = a[s]->count - 1;   /* one image gathered alone is resized the same */
            assert_int_equal(gpx_split_batch(b[s], &last, 0, 1, one), 0);
            expect_floats("data.resize, gathered", one, want + last * img, img);
            free(want);
            free(orig);
            free(got);
            free(one);
        }
        /* the statistics are those of the original pixels */
        assert_memory_equal(&big.mean, &plain.mean, sizeof big.mean);
        assert_memory_equal(&big.std, &plain.std, sizeof big.std);
        gpx_data_free(&big);
    }
    gpx_data_free(&plain);
    spec.resize = -3;
    gpx_data d;
    char err[512];
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "resize"));
}

/* ------------------------------------------------- evaluation at sizes */

#define BATCH 32

static const ycfg_schema root_schema[] = {
    { "model", YCFG_MAP, NULL, .items = gpx_model_schema, .help = "the network" },
    { NULL }
};

/* conv 3x3 pad 1 (4 channels), batchnorm, relu, maxpool 2, then the head:
 * a 12x12 input reaches the head as 4 x 6 x 6 = 144 features. */
static ycfg *model_config(const char *head)
{
    char yaml[512], err[512];
    snprintf(yaml, sizeof yaml,
             "model:\n"
             "  trunk:\n"
             "    - {type: conv, out: 4, k: 3, pad: 1}\n"
             "    - {type: batchnorm}\n"
             "    - {type: relu}\n"
             "    - {type: maxpool, k: 2}\n"
             "  head: %s\n", head);
    ycfg *cfg = ycfg_load_string("evalsize.yaml", yaml, root_schema, err, sizeof err);
    if (!cfg)
        FAILF("model config: %s", err);
    return cfg;
}

/* The config's `model:` decoded (free with gpx_model_spec_free). */
static gpx_model_spec model_of(const ycfg *cfg)
{
    gpx_model_spec spec;
    char err[512];
    if (gpx_model_decode(ycfg_get(ycfg_point_at(cfg, 0), "model"), ycfg_path(cfg), &spec, err,
                         sizeof err))
        FAILF("decoding the model: %s", err);
    return spec;
}

static gp_net *build(const ycfg *cfg, int size)
{
    gp_net *net;
    char err[512];
    gp_shape in = { BATCH, 1, size, size };
    gpx_model_spec spec = model_of(cfg);
    if (gpx_model_build(&spec, in, 4, 1, NULL, &net, err, sizeof err))
        FAILF("building at %d: %s", size, err);
    gpx_model_spec_free(&spec);
    return net;
}

/* After the sweep the net is back at its own input shape and gives what
 * it gave before it, bit for bit. */
static void expect_restored(gp_net *net, const gpx_data *d, double loss0, double acc0)
{
    gp_shape in = gp_net_layer(net, 0)->in;
    assert_true(in.n == BATCH && in.c == 1 && in.h == d->test.h && in.w == d->test.w);
    double loss, acc;
    assert_int_equal(gpx_evaluate(net, &d->test, 0, &loss, &acc), GP_OK);
    assert_memory_equal(&loss, &loss0, sizeof loss);
    assert_memory_equal(&acc, &acc0, sizeof acc);
}

/* The "trained" net: random weights, and running statistics far from
 * their defaults, so that a buffer not copied would change the results. */
static gp_net *trained_net(const ycfg *cfg)
{
    gp_net *net = build(cfg, 12);
    gp_rng rng;
    gp_rng_seed(&rng, tu_next());
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng), GP_OK);
    int nbuf = 0;
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        gp_layer *l = gp_net_layer(net, i);
        for (int k = 0; k < l->nbuffers; k++, nbuf++)
            for (size_t j = 0; j < l->buffers[k].count; j++)
                l->buffers[k].value[j] = !strcmp(l->buffers[k].name, "running_var")
                                             ? tu_uniform(0.2f, 3.0f)
                                             : tu_uniform(-1.0f, 1.0f);
    }
    assert_true(nbuf > 0);
    return net;
}

/* What a row at `size` must hold, computed the long way: a net built for
 * that size carrying the weights (what the sweep did before nets could be
 * reshaped), the whole split transformed at once, and gpx_evaluate. */
static void reference(const ycfg *cfg, gp_net *trained, const gpx_data *d, int size,
                      gpx_size_method m, uint64_t canvas_seed, double *loss, double *acc)
{
    gp_net *net = build(cfg, size);
    for (int i = 0; i < gp_net_param_tensors(trained); i++)
        memcpy(gp_net_param(net, i)->value, gp_net_param(trained, i)->value,
               gp_net_param(trained, i)->count * sizeof(float));
    for (int i = 0; i < gp_net_layer_count(trained); i++)
        for (int k = 0; k < gp_net_layer(trained, i)->nbuffers; k++)
            memcpy(gp_net_layer(net, i)->buffers[k].value,
                   gp_net_layer(trained, i)->buffers[k].value,
                   gp_net_layer(trained, i)->buffers[k].count * sizeof(float));
    gpx_split s = d->test;
    float *orig = gpx_split_floats(&d->test);
    float *x = malloc((size_t)s.count * size * size * sizeof *x);
    assert_true(orig && x);
    float fill[1] = { (0.0f - (float)d->mean[0]) / (float)d->std[0] };
    if (m == GPX_SIZE_RESIZE)
        assert_int_equal(gpx_resize_bilinear(orig, s.count, 1, d->test.h, d->test.w, x,
                                             size, size), 0);
    else
        assert_int_equal(gpx_place_on_canvas(orig, s.count, 1, d->test.h, d->test.w, x,
                                             size, fill,
                                             m == GPX_SIZE_CANVAS_RANDOM ? GPX_CANVAS_RANDOM
                                                                         : GPX_CANVAS_CENTER,
                                             canvas_seed), 0);
    /* the transformed floats, taken as they are */
    s.h = s.w = size;
    s.images = (gpx_images){ GPX_PIXEL_F32, GPX_LAYOUT_NCHW, s.count, 1, size, size, x };
    s.scale = (gpx_pixel_scale){ 0 };
    assert_int_equal(gpx_evaluate(net, &s, 0, loss, acc), GP_OK);
    free(orig);
    free(x);
    gp_net_destroy(net);
}

static void expect_same(const char *what, double got, double want)
{
    if (memcmp(&got, &want, sizeof got) != 0)
        FAILF("%s: %.17g, expected %.17g bit for bit", what, got, want);
}

/* The GAP head takes every size its trunk can: at the trained size all
 * methods are the identity and equal gpx_evaluate on the original split;
 * elsewhere each row equals the long way; a canvas smaller than the image
 * and a size the trunk cannot take are rows marked not applicable. */
static void test_eval_gap(void **state)
{
    (void)state;
    gpx_data_spec spec = synthetic_spec(1, tu_next());
    gpx_data d = load(&spec);
    ycfg *cfg = model_config("gap");
    gpx_model_spec model = model_of(cfg);
    gp_net *net = trained_net(cfg);
    double loss0, acc0;
    assert_int_equal(gpx_evaluate(net, &d.test, 0, &loss0, &acc0), GP_OK);

    static const int sizes[] = { 12, 8, 20, 1 };
    static const gpx_size_method methods[] = { GPX_SIZE_RESIZE, GPX_SIZE_CANVAS_CENTER,
                                               GPX_SIZE_CANVAS_RANDOM };
    gpx_eval_sizes_opts o = { .model = &model, .sizes = sizes, .nsizes = 4,
                              .methods = methods, .nmethods = 3, .seed = tu_next(),
                              .batch = BATCH };
    gpx_size_row rows[12];
    char err[512];
    if (gpx_eval_at_sizes(net, &d, &o, rows, err, sizeof err) != 0)
        FAILF("gpx_eval_at_sizes: %s", err);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(rows[i].size, sizes[i / 3]);
        assert_int_equal(rows[i].method, methods[i % 3]);
    }
    /* trained size: the baseline, bit for bit, by every method */
    for (int j = 0; j < 3; j++) {
        assert_true(rows[j].applicable);
        expect_same("accuracy at the trained size", rows[j].test_acc, acc0);
        expect_same("loss at the trained size", rows[j].test_loss, loss0);
    }
    /* 8: resize runs; canvas methods cannot */
    double loss, acc;
    assert_true(rows[3].applicable);
    reference(cfg, net, &d, 8, GPX_SIZE_RESIZE, 0, &loss, &acc);
    expect_same("accuracy resized to 8", rows[3].test_acc, acc);
    expect_same("loss resized to 8", rows[3].test_loss, loss);
    for (int j = 4; j < 6; j++) {
        assert_false(rows[j].applicable);
        assert_true(isnan(rows[j].test_acc) && isnan(rows[j].test_loss));
        assert_string_equal(rows[j].reason, "canvas smaller than the 12x12 image");
    }
    /* 20: every method, each as the long way computes it */
    for (int j = 0; j < 3; j++) {
        const gpx_size_row *r = &rows[6 + j];
        assert_true(r->applicable);
        assert_string_equal(r->reason, "");
        reference(cfg, net, &d, 20, methods[j], o.seed, &loss, &acc);
        expect_same(gpx_size_method_name(methods[j]), r->test_acc, acc);
        expect_same(gpx_size_method_name(methods[j]), r->test_loss, loss);
    }
    /* 1: the maxpool cannot take a 1x1 map; the reason says where it was written */
    assert_false(rows[9].applicable);
    assert_string_equal(rows[9].reason, "the network cannot take a 1x1 input: evalsize.yaml:6:7: "
                        "trunk[3] (maxpool): maxpool2d: input 4x1x1 gives an empty output 4x0x0");
    for (int j = 10; j < 12; j++) {
        assert_false(rows[j].applicable);
        assert_string_equal(rows[j].reason, "canvas smaller than the 12x12 image");
    }
    expect_restored(net, &d, loss0, acc0);
    gpx_model_spec_free(&model);
    gp_net_destroy(net);
    ycfg_free(cfg);
    gpx_data_free(&d);
}

/* flatten_dense runs only at the size it was trained at; elsewhere its row
 * says why, and the sweep goes on. */
static void test_eval_flatten_dense(void **state)
{
    (void)state;
    gpx_data_spec spec = synthetic_spec(0, tu_next());
    gpx_data d = load(&spec);
    ycfg *cfg = model_config("flatten_dense");
    gpx_model_spec model = model_of(cfg);
    gp_net *net = trained_net(cfg);
    double loss0, acc0;
    assert_int_equal(gpx_evaluate(net, &d.test, 0, &loss0, &acc0), GP_OK);
    static const int sizes[] = { 20, 12, 8 };
    static const gpx_size_method methods[] = { GPX_SIZE_CANVAS_CENTER, GPX_SIZE_RESIZE };
    gpx_eval_sizes_opts o = { .model = &model, .sizes = sizes, .nsizes = 3,
                              .methods = methods, .nmethods = 2, .seed = tu_next(),
                              .batch = BATCH };
    gpx_size_row rows[6];
    char err[512];
    if (gpx_eval_at_sizes(net, &d, &o, rows, err, sizeof err) != 0)
        FAILF("gpx_eval_at_sizes: %s", err);
    /* 20: 4 channels x 10 x 10 after the pool, the dense layer wants 4 x 6 x 6 */
    for (int j = 0; j < 2; j++) {
        assert_false(rows[j].applicable);
        assert_true(isnan(rows[j].test_acc));
        assert_string_equal(rows[j].reason,
                            "flatten_dense's dense layer takes 144 features, a 20x20 input "
                            "gives 400");
    }
    for (int j = 2; j < 4; j++) {
        assert_true(rows[j].applicable);
        expect_same("flatten_dense accuracy at the trained size", rows[j].test_acc, acc0);
        expect_same("flatten_dense loss at the trained size", rows[j].test_loss, loss0);
    }
    assert_string_equal(rows[4].reason, "canvas smaller than the 12x12 image");
    assert_false(rows[5].applicable);
    assert_string_equal(rows[5].reason,
                        "flatten_dense's dense layer takes 144 features, a 8x8 input gives 64");
    expect_restored(net, &d, loss0, acc0);
    gpx_model_spec_free(&model);
    gp_net_destroy(net);
    ycfg_free(cfg);
    gpx_data_free(&d);
}

static void test_eval_bad_args(void **state)
{
    (void)state;
    gpx_data_spec spec = synthetic_spec(0, tu_next());
    gpx_data d = load(&spec);
    ycfg *cfg = model_config("gap");
    gpx_model_spec model = model_of(cfg);
    gp_net *net = trained_net(cfg);
    static const int sizes[] = { 12, 0 };
    static const gpx_size_method methods[] = { GPX_SIZE_RESIZE };
    gpx_eval_sizes_opts o = { .model = &model, .sizes = sizes, .nsizes = 2, .methods = methods,
                              .nmethods = 1, .batch = BATCH };
    gpx_size_row rows[2];
    char err[512] = "";
    assert_int_equal(gpx_eval_at_sizes(net, &d, &o, rows, err, sizeof err), -1);
    assert_non_null(strstr(err, "size 0"));
    o.nsizes = 1;
    o.batch = 0;
    assert_int_equal(gpx_eval_at_sizes(net, &d, &o, rows, err, sizeof err), -1);
    gpx_model_spec_free(&model);
    gp_net_destroy(net);
    ycfg_free(cfg);
    gpx_data_free(&d);
}

int main(void)
{
    seed = tu_seed();
    printf("# seed %llu (rerun with GPOOL_TEST_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bilinear_up_2x2),
        cmocka_unit_test(test_bilinear_down_ramp),
        cmocka_unit_test(test_bilinear_down_column),
        cmocka_unit_test(test_bilinear_matches_torch),
        cmocka_unit_test(test_bilinear_identity),
        cmocka_unit_test(test_bilinear_constant),
        cmocka_unit_test(test_bilinear_bad_sizes),
        cmocka_unit_test(test_canvas_center),
        cmocka_unit_test(test_canvas_random),
        cmocka_unit_test(test_canvas_too_small),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_data_resize),
        cmocka_unit_test(test_eval_gap),
        cmocka_unit_test(test_eval_flatten_dense),
        cmocka_unit_test(test_eval_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
