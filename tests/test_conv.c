/*
 * test_conv.c - conv2d against double-precision references,
 * finite-difference gradient checks, the backward contract (dx may be NULL,
 * gradients are overwritten) and argument errors.
 *
 * Reference tolerance: a float sum of k rounded products, in any order or
 * blocking (as sgemm and the per-thread gradient sums use), is within
 * (k + 1) u sum|terms| of the exact sum (u = 2^-24, the unit roundoff), so
 * each output is checked against
 *     |got - ref| <= (k + 2) u sum|terms| + 1e-30,
 * which a wrong term (|term| ~ 0.1 on U(-1, 1) data) cannot pass: sum|terms|
 * is at most a few hundred here, times k u < 1e-4. Outputs are prefilled with
 * NaN, so an element a layer forgets to write fails too.
 *
 * Every execution path of conv2d (im2col + sgemm, direct AVX2, direct
 * AVX-512; GPOOL_CONV forces one per layer) runs the same checks on shapes
 * that reach every tail of the direct kernels: widths 1..33, heights 1..20,
 * channel counts 1..17, batches 1..5, the "same" kernels 1x1..7x7 the direct
 * path takes and shapes it must leave to im2col. A path whose instruction
 * set the CPU lacks (or hides through GPOOL_CPU_MASK) is skipped.
 *
 * Data are random with a fresh seed per run (testutil.h); failures print it.
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

/* ------------------------------------------------------------ helpers */

typedef struct {
    int n, cin, h, w, cout, kh, kw, stride, pad, bias;
} conv_cfg;

static int out_dim(int in, int pad, int k, int stride)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* The path make_conv forces through GPOOL_CONV (NULL: the automatic rule). */
static const char *forced_path;

/* Whether conv c with GPOOL_CONV=path must run the direct kernels of path:
 * those handle "same" convolutions (stride 1, odd square kernel, pad
 * (k - 1) / 2). */
static int expect_direct(const conv_cfg *c, const char *path)
{
    return strcmp(path, "im2col") != 0 && c->stride == 1 && c->kh == c->kw && c->kh % 2 == 1 &&
           c->pad == (c->kh - 1) / 2;
}

/* The layer must have taken the path it was forced to (desc names it). */
static void check_path(const gp_layer *l, const conv_cfg *c, const char *path)
{
    const char *direct = strstr(l->desc, ", direct ");
    if (expect_direct(c, path)) {
        if (!direct || strcmp(direct + strlen(", direct "), path) != 0)
            FAILF("GPOOL_CONV=%s: %d->%d %dx%d/%d pad %d took \"%s\"", path, c->cin, c->cout,
                  c->kh, c->kw, c->stride, c->pad, l->desc);
    } else if (direct) {
        FAILF("GPOOL_CONV=%s: %d->%d %dx%d/%d pad %d is not for the direct path but took \"%s\"",
              path, c->cin, c->cout, c->kh, c->kw, c->stride, c->pad, l->desc);
    }
}

static gp_layer *make_conv(const conv_cfg *c)
{
    gp_layer *l = NULL;
    gp_shape in = { c->n, c->cin, c->h, c->w };
    if (forced_path)
        setenv("GPOOL_CONV", forced_path, 1);
    gp_status st = gp_conv2d_create(&l, in, c->cout, c->kh, c->kw, c->stride, c->pad, c->bias);
    unsetenv("GPOOL_CONV");
    if (st != GP_OK)
        FAILF("conv2d_create %d->%d %dx%d/%d pad %d: %s", c->cin, c->cout, c->kh, c->kw,
              c->stride, c->pad, gp_last_error());
    if (forced_path)
        check_path(l, c, forced_path);
    for (int p = 0; p < l->nparams; p++)
        gc_uniform(l->params[p].value, l->params[p].count, -1.0f, 1.0f);
    return l;
}

static const char *describe(const conv_cfg *c)
{
    static char text[200];
    snprintf(text, sizeof text, "n %d, %d->%d, %dx%d input, kernel %dx%d/%d pad %d%s%s%s", c->n,
             c->cin, c->cout, c->h, c->w, c->kh, c->kw, c->stride, c->pad,
             c->bias ? ", bias" : "", forced_path ? ", GPOOL_CONV=" : "",
             forced_path ? forced_path : "");
    return text;
}

/* ------------------------------------------------ conv reference (double) */

typedef struct {
    int ho, wo;
    size_t in_size, out_size;
} conv_dims;

static conv_dims dims_of(const conv_cfg *c)
{
    conv_dims d;
    d.ho = out_dim(c->h, c->pad, c->kh, c->stride);
    d.wo = out_dim(c->w, c->pad, c->kw, c->stride);
    d.in_size = (size_t)c->cin * c->h * c->w;
    d.out_size = (size_t)c->cout * d.ho * d.wo;
    return d;
}

/* Input pixel under output (oy, ox) and kernel tap (ky, kx), or -1 in padding. */
static long tap(const conv_cfg *c, int ch, int oy, int ox, int ky, int kx)
{
    int iy = oy * c->stride - c->pad + ky, ix = ox * c->stride - c->pad + kx;
    if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
        return -1;
    return ((long)ch * c->h + iy) * c->w + ix;
}

static size_t widx(const conv_cfg *c, int o, int ch, int ky, int kx)
{
    return (((size_t)o * c->cin + ch) * c->kh + ky) * c->kw + kx;
}

/* The direct 7-loop forward for n images, checked element by element. */
static void check_forward_ref(const conv_cfg *c, int n, const float *x, const float *wt,
                              const float *b, const float *y)
{
    conv_dims d = dims_of(c);
    double terms = (double)c->cin * c->kh * c->kw + (c->bias ? 1 : 0);
    const char *ctx = describe(c);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < c->cout; o++)
            for (int oy = 0; oy < d.ho; oy++)
                for (int ox = 0; ox < d.wo; ox++) {
                    double s = b ? b[o] : 0.0, a = b ? fabs(b[o]) : 0.0;
                    for (int ch = 0; ch < c->cin; ch++)
                        for (int ky = 0; ky < c->kh; ky++)
                            for (int kx = 0; kx < c->kw; kx++) {
                                long t = tap(c, ch, oy, ox, ky, kx);
                                if (t < 0)
                                    continue;
                                double v = (double)wt[widx(c, o, ch, ky, kx)] *
                                           x[(size_t)i * d.in_size + (size_t)t];
                                s += v;
                                a += fabs(v);
                            }
                    size_t yi = (size_t)i * d.out_size + ((size_t)o * d.ho + oy) * d.wo + ox;
                    check_close("y", ctx, yi, y[yi], s, a, terms);
                }
}

/* Gradients in double: dw, db (may be NULL), dx; and |term| sums for each. */
typedef struct {
    double *dw, *dw_abs, *db, *db_abs, *dx, *dx_abs;
} conv_grads;

static conv_grads reference_grads(const conv_cfg *c, int n, const float *x, const float *wt,
                                  const float *dy)
{
    conv_dims d = dims_of(c);
    size_t wcount = (size_t)c->cout * c->cin * c->kh * c->kw;
    conv_grads g = { calloc(wcount, 8), calloc(wcount, 8), calloc(c->cout, 8),
                     calloc(c->cout, 8), calloc(n * d.in_size, 8), calloc(n * d.in_size, 8) };
    for (int i = 0; i < n; i++)
        for (int o = 0; o < c->cout; o++)
            for (int oy = 0; oy < d.ho; oy++)
                for (int ox = 0; ox < d.wo; ox++) {
                    double gy = dy[(size_t)i * d.out_size + ((size_t)o * d.ho + oy) * d.wo + ox];
                    g.db[o] += gy;
                    g.db_abs[o] += fabs(gy);
                    for (int ch = 0; ch < c->cin; ch++)
                        for (int ky = 0; ky < c->kh; ky++)
                            for (int kx = 0; kx < c->kw; kx++) {
                                long t = tap(c, ch, oy, ox, ky, kx);
                                if (t < 0)
                                    continue;
                                size_t wi = widx(c, o, ch, ky, kx);
                                size_t xi = (size_t)i * d.in_size + (size_t)t;
                                g.dw[wi] += gy * x[xi];
                                g.dw_abs[wi] += fabs(gy * x[xi]);
                                g.dx[xi] += gy * wt[wi];
                                g.dx_abs[xi] += fabs(gy * wt[wi]);
                            }
                }
    return g;
}

static void free_grads(conv_grads *g)
{
    free(g->dw); free(g->dw_abs); free(g->db); free(g->db_abs); free(g->dx); free(g->dx_abs);
}

/* ------------------------------------------------------ random configs */

/* A random valid configuration: kernels 1x1, 3x3, 5x5, 2x3, 3x2, strides
 * 1-3, pads 0-2, odd and even sizes and channel counts, batch 1-5. */
static conv_cfg random_cfg(void)
{
    static const int kernels[][2] = { { 1, 1 }, { 3, 3 }, { 5, 5 }, { 2, 3 }, { 3, 2 } };
    const int *k = kernels[tu_next() % 5];
    conv_cfg c = { .n = rand_int(1, 5), .cin = rand_int(1, 6), .cout = rand_int(1, 7),
                   .kh = k[0], .kw = k[1], .stride = rand_int(1, 3), .pad = rand_int(0, 2),
                   .bias = (int)(tu_next() & 1) };
    /* sizes from just inside the padded kernel up to 13 */
    c.h = rand_int(c.kh - 2 * c.pad > 1 ? c.kh - 2 * c.pad : 1, 13);
    c.w = rand_int(c.kw - 2 * c.pad > 1 ? c.kw - 2 * c.pad : 1, 13);
    return c;
}

/* Shapes of the benchmark CNN (batch trimmed so the double reference stays
 * quick), where several images share one gemm, plus a 1x1 stride-1 conv
 * that skips im2col, and an uneven batch. */
static const conv_cfg net_cfgs[] = {
    { 6, 1, 28, 28, 8, 3, 3, 1, 1, 1 },
    { 5, 8, 14, 14, 32, 3, 3, 1, 1, 1 },
    { 13, 32, 7, 7, 64, 3, 3, 1, 1, 0 },
    { 9, 64, 7, 7, 10, 1, 1, 1, 0, 1 },
    { 7, 16, 9, 9, 24, 3, 3, 2, 1, 1 },
};
#define N_NET_CFGS (sizeof net_cfgs / sizeof net_cfgs[0])

/* Forward n <= c->n images and check them; images n.. stay untouched. */
static void run_forward_check(const conv_cfg *c, int n)
{
    conv_dims d = dims_of(c);
    gp_layer *l = make_conv(c);
    assert_int_equal(l->out.n, c->n);
    assert_int_equal(l->out.c, c->cout);
    assert_int_equal(l->out.h, d.ho);
    assert_int_equal(l->out.w, d.wo);
    float *x = falloc_uniform((size_t)c->n * d.in_size);
    float *y = falloc_nan((size_t)c->n * d.out_size);
    if (gp_layer_forward(l, n, x, y, GP_TRAIN) != GP_OK)
        FAILF("forward failed for %s: %s", describe(c), gp_last_error());
    check_forward_ref(c, n, x, l->params[0].value, c->bias ? l->params[1].value : NULL, y);
    for (size_t i = (size_t)n * d.out_size; i < (size_t)c->n * d.out_size; i++)
        if (!isnan(y[i]))
            FAILF("forward of %d images wrote y[%zu] of image %zu for %s", n, i,
                  i / d.out_size, describe(c));
    free(x);
    free(y);
    gp_layer_destroy(l);
}

/* ---------------------------------------------------------------- tests */

static void conv_create_fields(void **state)
{
    (void)state;
    conv_cfg c = { 4, 3, 11, 9, 5, 3, 2, 2, 1, 1 };
    gp_layer *l = make_conv(&c);
    assert_string_equal(l->ops->kind, "conv2d");
    assert_int_equal(l->out.h, 6);   /* floor((11 + 2 - 3) / 2) + 1 */
    assert_int_equal(l->out.w, 5);   /* floor((9 + 2 - 2) / 2) + 1 */
    assert_int_equal(l->nparams, 2);
    gp_param *w = &l->params[0], *b = &l->params[1];
    assert_string_equal(w->name, "weight");
    assert_int_equal(w->count, 5 * 3 * 3 * 2);
    assert_int_equal(w->fan_in, 3 * 3 * 2);
    assert_int_equal(w->fan_out, 5 * 3 * 2);
    assert_int_equal(w->is_bias, 0);
    assert_string_equal(b->name, "bias");
    assert_int_equal(b->count, 5);
    assert_int_equal(b->fan_in, 3 * 3 * 2);
    assert_int_equal(b->is_bias, 1);
    /* 2 x MACs + one add per output for the bias */
    assert_true(l->flops == 2.0 * 5 * 18 * 30 + 5 * 30);
    assert_string_equal(l->desc, "3x2/2 pad 1, bias");
    assert_true(l->workspace_bytes > 0);
    assert_int_equal(gp_layer_param_floats(l), 5 * 18 + 5);
    gp_layer_destroy(l);

    c.bias = 0;
    l = make_conv(&c);
    assert_int_equal(l->nparams, 1);
    assert_true(l->flops == 2.0 * 5 * 18 * 30);
    assert_string_equal(l->desc, "3x2/2 pad 1");
    gp_layer_destroy(l);
}

static void conv_forward_random(void **state)
{
    (void)state;
    for (int t = 0; t < 60; t++) {
        conv_cfg c = random_cfg();
        run_forward_check(&c, c.n);
    }
}

static void conv_forward_partial_batch(void **state)
{
    (void)state;
    for (int t = 0; t < 20; t++) {
        conv_cfg c = random_cfg();
        c.n += 2;   /* maximum 3..7, run 1..max-1 */
        run_forward_check(&c, rand_int(1, c.n - 1));
    }
    for (size_t i = 0; i < N_NET_CFGS; i++)
        run_forward_check(&net_cfgs[i], net_cfgs[i].n - 1 - (int)(i % 3));
}

static void conv_forward_net_shapes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_NET_CFGS; i++)
        run_forward_check(&net_cfgs[i], net_cfgs[i].n);
}

/* Forward and backward of n images through an existing layer l (made for
 * c), checked against the double reference. */
static void check_backward_on(gp_layer *l, const conv_cfg *c, int n)
{
    conv_dims d = dims_of(c);
    float *x = falloc_uniform((size_t)c->n * d.in_size);
    float *y = falloc_nan((size_t)c->n * d.out_size);
    float *dy = falloc_uniform((size_t)c->n * d.out_size);
    float *dx = falloc_nan((size_t)c->n * d.in_size);
    assert_int_equal(gp_layer_forward(l, n, x, y, GP_TRAIN), GP_OK);
    for (int p = 0; p < l->nparams; p++)
        for (size_t i = 0; i < l->params[p].count; i++)
            l->params[p].grad[i] = NAN;
    if (gp_layer_backward(l, n, x, y, dy, dx) != GP_OK)
        FAILF("backward failed for %s: %s", describe(c), gp_last_error());
    conv_grads g = reference_grads(c, n, x, l->params[0].value, dy);
    double per_out = (double)n * d.ho * d.wo;
    const char *ctx = describe(c);
    for (size_t i = 0; i < l->params[0].count; i++)
        check_close("dweight", ctx, i, l->params[0].grad[i], g.dw[i], g.dw_abs[i], per_out);
    if (c->bias)
        for (int o = 0; o < c->cout; o++)
            check_close("dbias", ctx, o, l->params[1].grad[o], g.db[o], g.db_abs[o], per_out);
    for (size_t i = 0; i < (size_t)n * d.in_size; i++)
        check_close("dx", ctx, i, dx[i], g.dx[i], g.dx_abs[i], (double)c->cout * c->kh * c->kw);
    for (size_t i = (size_t)n * d.in_size; i < (size_t)c->n * d.in_size; i++)
        if (!isnan(dx[i]))
            FAILF("backward of %d images wrote dx[%zu] for %s", n, i, describe(c));
    free_grads(&g);
    free(x); free(y); free(dy); free(dx);
}

/* Backward against the double reference. */
static void run_backward_check(const conv_cfg *c, int n)
{
    gp_layer *l = make_conv(c);
    check_backward_on(l, c, n);
    gp_layer_destroy(l);
}

static void conv_backward_reference(void **state)
{
    (void)state;
    for (int t = 0; t < 30; t++) {
        conv_cfg c = random_cfg();
        run_backward_check(&c, c.n);
    }
    for (size_t i = 0; i < N_NET_CFGS; i++)
        run_backward_check(&net_cfgs[i], net_cfgs[i].n - (int)(i % 2));
}

static void conv_gradcheck(void **state)
{
    (void)state;
    /* conv is bilinear, so central differences are exact up to rounding and
     * gradcheck.h's default tolerances apply as they are. One image where
     * the thread split is not the point: a check is ~1500 forwards, and on
     * a busy machine two threads spend most of that waiting at barriers. */
    static const conv_cfg cfgs[] = {
        { 1, 3, 7, 6, 4, 3, 3, 1, 1, 1 },   /* 3x3 same padding */
        { 1, 5, 5, 4, 3, 1, 1, 1, 0, 1 },   /* 1x1 stride 1: no im2col */
        { 1, 2, 9, 8, 3, 3, 3, 2, 1, 1 },   /* stride 2 */
        { 1, 3, 8, 9, 2, 2, 3, 3, 2, 0 },   /* 2x3 kernel, stride 3, pad 2, no bias */
        { 6, 3, 5, 5, 4, 3, 3, 1, 1, 1 },   /* several images per chunk, split over threads */
        { 1, 4, 6, 6, 3, 1, 1, 2, 0, 1 },   /* 1x1 stride 2: im2col after all */
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        gp_layer *l = make_conv(&cfgs[i]);
        run_gradcheck(l, cfgs[i].n, describe(&cfgs[i]));
        gp_layer_destroy(l);
    }
}

static void conv_backward_contract(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_NET_CFGS; i++) {
        gp_layer *l = make_conv(&net_cfgs[i]);
        backward_contract(l, net_cfgs[i].n);
        gp_layer_destroy(l);
    }
}

static void expect_conv_error(gp_shape in, int cout, int kh, int kw, int stride, int pad)
{
    static gp_layer dummy;
    gp_layer *l = &dummy;   /* must be cleared */
    if (gp_conv2d_create(&l, in, cout, kh, kw, stride, pad, 1) != GP_ERR_ARG)
        FAILF("conv2d %dx%dx%dx%d -> %d, %dx%d/%d pad %d was accepted", in.n, in.c, in.h, in.w,
              cout, kh, kw, stride, pad);
    assert_null(l);
    assert_true(strstr(gp_last_error(), "conv2d") != NULL);
}

static void conv_errors(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 5, 6 };
    expect_conv_error(in, 4, 8, 3, 1, 1);     /* kernel taller than 5 + 2 */
    expect_conv_error(in, 4, 3, 7, 1, 0);     /* kernel wider than 6 */
    expect_conv_error(in, 0, 3, 3, 1, 1);     /* zero output channels */
    expect_conv_error(in, 4, 0, 3, 1, 1);
    expect_conv_error(in, 4, 3, 3, 0, 1);     /* stride 0 */
    expect_conv_error(in, 4, 3, 3, 1, -1);    /* negative pad */
    gp_shape no_channels = { 2, 0, 5, 6 }, no_batch = { 0, 3, 5, 6 }, no_rows = { 2, 3, 0, 6 };
    expect_conv_error(no_channels, 4, 3, 3, 1, 1);
    expect_conv_error(no_batch, 4, 3, 3, 1, 1);
    expect_conv_error(no_rows, 4, 1, 1, 1, 0);
    assert_int_equal(gp_conv2d_create(NULL, in, 4, 3, 3, 1, 1, 1), GP_ERR_ARG);

    /* a kernel exactly the padded input is fine: a 1x1 output */
    gp_layer *l = NULL;
    assert_int_equal(gp_conv2d_create(&l, in, 4, 7, 8, 1, 1, 0), GP_OK);
    assert_int_equal(l->out.h, 1);
    assert_int_equal(l->out.w, 1);
    gp_layer_destroy(l);

    /* batches outside 1..maximum are refused by the checked verbs */
    conv_cfg c = { 2, 3, 5, 6, 4, 3, 3, 1, 1, 1 };
    l = make_conv(&c);
    float x[3 * 3 * 30] = { 1 }, y[3 * 4 * 30];
    assert_int_equal(gp_layer_forward(l, 3, x, y, GP_TRAIN), GP_ERR_ARG);
    assert_int_equal(gp_layer_forward(l, 0, x, y, GP_TRAIN), GP_ERR_ARG);
    gp_layer_destroy(l);
}

/* ------------------------------------------------- execution paths */

/* Skip unless path can run here (im2col always can). */
static void require_path(const char *path)
{
    if (!strcmp(path, "avx2") && !gp_cpu_has(GP_ISA_AVX2))
        skip();
    if (!strcmp(path, "avx512") && !gp_cpu_has(GP_ISA_AVX512))
        skip();
}

/* A random stride-1 3x3 pad-1 configuration (the shape the direct path is
 * for): channels 1..17 cover every tail of the 4- and 8-channel blocks,
 * widths 1..33 every tail of the 8- and 16-float vectors. */
static conv_cfg direct_cfg(void)
{
    conv_cfg c = { .n = rand_int(1, 5), .cin = rand_int(1, 17), .h = rand_int(1, 12),
                   .w = rand_int(1, 33), .cout = rand_int(1, 17), .kh = 3, .kw = 3,
                   .stride = 1, .pad = 1, .bias = (int)(tu_next() & 1) };
    return c;
}

/* Kernels of the direct path (1x1, 3x3, 5x5, 7x7 "same"), plus kernels,
 * pads and strides that a forced direct path must leave to im2col. */
static conv_cfg kernel_cfg(int i)
{
    static const int k[][4] = {   /* kh, kw, pad, stride */
        { 1, 1, 0, 1 }, { 5, 5, 2, 1 }, { 7, 7, 3, 1 }, { 3, 3, 1, 1 }, { 5, 5, 2, 1 },
        { 2, 2, 0, 1 }, { 3, 3, 0, 1 }, { 3, 3, 2, 1 }, { 5, 5, 1, 1 }, { 2, 3, 1, 1 },
        { 3, 1, 0, 1 }, { 1, 1, 1, 1 }, { 3, 3, 1, 2 }, { 1, 5, 0, 1 }, { 7, 7, 3, 1 },
        { 1, 1, 0, 1 },
    };
    const int *p = k[i % (int)(sizeof k / sizeof k[0])];
    conv_cfg c = direct_cfg();
    c.kh = p[0];
    c.kw = p[1];
    c.pad = p[2];
    c.stride = p[3];
    /* big kernels with fewer channels and images: the double reference
     * costs n cin cout h w k^2 */
    if (c.kh * c.kw >= 25) {
        c.cin = rand_int(1, 9);
        c.cout = rand_int(1, 9);
        c.n = rand_int(1, 3);
    }
    /* at least one output row and column */
    if (c.h + 2 * c.pad < c.kh)
        c.h = c.kh - 2 * c.pad;
    if (c.w + 2 * c.pad < c.kw)
        c.w = c.kw - 2 * c.pad;
    return c;
}

#define N_KERNEL_CFGS 16

static void path_widths(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    for (int w = 1; w <= 33; w++) {
        conv_cfg c = direct_cfg();
        c.w = w;
        run_forward_check(&c, c.n);
        run_backward_check(&c, c.n);
    }
    forced_path = NULL;
}

static void path_heights_channels(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    for (int h = 1; h <= 20; h++) {
        conv_cfg c = direct_cfg();
        c.h = h;
        run_backward_check(&c, c.n);
    }
    for (int ch = 1; ch <= 17; ch++) {
        conv_cfg c = direct_cfg();
        c.cin = ch;
        c.cout = 18 - ch;
        run_forward_check(&c, c.n);
        run_backward_check(&c, c.n);
    }
    forced_path = NULL;
}

static void path_kernels(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    for (int i = 0; i < 2 * N_KERNEL_CFGS; i++) {
        conv_cfg c = kernel_cfg(i);
        run_forward_check(&c, c.n);
        run_backward_check(&c, c.n);
    }
    forced_path = NULL;
}

/* Forward and backward of each of cfgs[0..count) against the reference,
 * the backward also on one image less where partial. */
static void check_cfgs(const conv_cfg *cfgs, size_t count, int partial)
{
    for (size_t i = 0; i < count; i++) {
        run_forward_check(&cfgs[i], cfgs[i].n);
        gp_layer *l = make_conv(&cfgs[i]);
        check_backward_on(l, &cfgs[i], cfgs[i].n);
        if (partial)
            check_backward_on(l, &cfgs[i], cfgs[i].n - 1);
        gp_layer_destroy(l);
    }
}

/* The benchmark nets' shapes, several images per chunk, on two threads;
 * then the shifted-copies layout of the AVX2 path (maps of at least 100
 * pixels; 99 stays stacked): odd channel counts and map sides, every
 * "same" kernel 1x1 / 3x3 / 5x5 (pad 0 / 1 / 2), 28x28 maps one image a
 * chunk, 14x14 a few, the batch's last image at the end of the tensors
 * (dy and dx are read and written in place), then a partial batch. */
static void path_net_shapes(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    static const conv_cfg nets[] = {
        { 3, 1, 28, 28, 8, 3, 3, 1, 1, 1 },   { 2, 8, 28, 28, 8, 3, 3, 1, 1, 1 },
        { 5, 8, 14, 14, 16, 3, 3, 1, 1, 1 },  { 5, 16, 14, 14, 16, 3, 3, 1, 1, 0 },
        { 9, 16, 7, 7, 32, 3, 3, 1, 1, 1 },   { 7, 32, 7, 7, 32, 3, 3, 1, 1, 1 },
        { 4, 8, 14, 14, 32, 3, 3, 1, 1, 1 },  { 3, 32, 7, 7, 64, 3, 3, 1, 1, 1 },
        { 3, 64, 7, 7, 64, 3, 3, 1, 1, 1 },   { 5, 32, 3, 3, 10, 1, 1, 1, 0, 1 },
    };
    static const conv_cfg copies[] = {
        { 5, 3, 9, 11, 5, 3, 3, 1, 1, 1 },    { 4, 5, 10, 10, 7, 3, 3, 1, 1, 0 },
        { 3, 7, 11, 13, 9, 5, 5, 1, 2, 1 },   { 6, 13, 14, 14, 11, 5, 5, 1, 2, 1 },
        { 3, 1, 28, 28, 6, 5, 5, 1, 2, 1 },   { 4, 9, 17, 9, 5, 1, 1, 1, 0, 1 },
        { 7, 33, 14, 14, 3, 3, 3, 1, 1, 0 },  { 2, 3, 28, 27, 5, 3, 3, 1, 1, 1 },
    };
    check_cfgs(nets, sizeof nets / sizeof nets[0], 0);
    check_cfgs(copies, sizeof copies / sizeof copies[0], 1);
    forced_path = NULL;
}

/* One layer run with batches that shrink and grow again: chunks of every
 * size must give the reference, whatever an earlier, larger call left in
 * the layer's buffers. 14x14 and 7x7 maps put several images in a chunk. */
static void path_partial_batches(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    static const conv_cfg cfgs[] = {
        { 23, 5, 14, 14, 6, 3, 3, 1, 1, 1 },
        { 37, 7, 7, 7, 9, 3, 3, 1, 1, 1 },
        { 11, 3, 5, 9, 4, 3, 3, 1, 1, 1 },
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        const conv_cfg *c = &cfgs[i];
        gp_layer *l = make_conv(c);
        int batches[] = { c->n, rand_int(1, c->n / 2), c->n - 1, 1, rand_int(2, c->n), c->n };
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            run_forward_check(c, batches[b]);
            check_backward_on(l, c, batches[b]);
        }
        gp_layer_destroy(l);
    }
    forced_path = NULL;
}

static void path_gradcheck(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    /* bilinear, so gradcheck.h's default tolerances apply as they are; one
     * image each, so the thousand forwards of a check run on one thread
     * (thread splits are checked against the reference above, and waiting
     * at a barrier on a busy machine would dominate the run time) */
    static const conv_cfg cfgs[] = {
        { 1, 3, 7, 17, 5, 3, 3, 1, 1, 1 },
        { 1, 2, 5, 6, 3, 1, 1, 1, 0, 0 },
        { 1, 9, 6, 5, 2, 5, 5, 1, 2, 1 },
        { 1, 4, 3, 3, 9, 3, 3, 1, 1, 1 },
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        gp_layer *l = make_conv(&cfgs[i]);
        run_gradcheck(l, cfgs[i].n, describe(&cfgs[i]));
        gp_layer_destroy(l);
    }
    forced_path = NULL;
}

/* At least one output row and column for c's kernel and padding. */
static void fit_input(conv_cfg *c)
{
    if (c->h + 2 * c->pad < c->kh)
        c->h = c->kh - 2 * c->pad;
    if (c->w + 2 * c->pad < c->kw)
        c->w = c->kw - 2 * c->pad;
}

/* l reshaped to to's input (the path chosen again under GPOOL_CONV=path). */
static void reshape_conv(gp_layer *l, const conv_cfg *to, const char *path)
{
    gp_shape in = { to->n, to->cin, to->h, to->w };
    setenv("GPOOL_CONV", path, 1);
    gp_status st = gp_layer_reshape(l, in);
    unsetenv("GPOOL_CONV");
    if (st != GP_OK)
        FAILF("reshape to %s: %s", describe(to), gp_last_error());
    check_path(l, to, path);
}

/* A layer reshaped to another size and batch computes, forward and
 * backward, what the reference says at the new shape, and its gradients
 * pass finite differences there. */
static void path_reshape(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    for (int i = 0; i < 6; i++) {
        conv_cfg c = i < 3 ? direct_cfg() : kernel_cfg(rand_int(0, N_KERNEL_CFGS - 1));
        conv_cfg to = c;
        to.n = rand_int(1, 6);
        to.h = rand_int(1, 12);
        to.w = rand_int(1, 33);
        fit_input(&to);
        gp_layer *l = make_conv(&c);
        reshape_conv(l, &to, path);
        check_backward_on(l, &to, to.n);
        gp_layer_destroy(l);
    }
    conv_cfg g = { 1, 3, 7, 6, 4, 3, 3, 1, 1, 1 }, to = { 2, 3, 5, 9, 4, 3, 3, 1, 1, 1 };
    gp_layer *l = make_conv(&g);
    reshape_conv(l, &to, path);
    run_gradcheck(l, 1, describe(&to));
    gp_layer_destroy(l);
    forced_path = NULL;
}

/* Repeated calls give the same bits and dx NULL changes nothing else. */
/* One forward and backward of l on x and dy into y, dx and the gradients
 * (every output and gradient back to back in out). */
static void run_pass_into(gp_layer *l, const conv_cfg *c, const float *x, const float *dy,
                          float *out)
{
    conv_dims d = dims_of(c);
    float *y = out, *dx = y + (size_t)c->n * d.out_size, *g = dx + (size_t)c->n * d.in_size;
    assert_int_equal(gp_layer_forward(l, c->n, x, y, GP_TRAIN), GP_OK);
    assert_int_equal(gp_layer_backward(l, c->n, x, y, dy, dx), GP_OK);
    for (int p = 0; p < l->nparams; p++) {
        memcpy(g, l->params[p].grad, l->params[p].count * sizeof *g);
        g += l->params[p].count;
    }
}

/* Layer c run 40 times on the same data: every output and gradient must
 * be the bits of the first run, which is checked against the reference. */
static void check_runs_agree(const conv_cfg *c)
{
    conv_dims d = dims_of(c);
    gp_layer *l = make_conv(c);
    check_backward_on(l, c, c->n);
    size_t count = (size_t)c->n * (d.out_size + d.in_size) + gp_layer_param_floats(l);
    float *x = falloc_uniform((size_t)c->n * d.in_size);
    float *dy = falloc_uniform((size_t)c->n * d.out_size);
    float *first = falloc_nan(count), *again = falloc_nan(count);
    run_pass_into(l, c, x, dy, first);
    for (int run = 0; run < 40; run++) {
        run_pass_into(l, c, x, dy, again);
        if (memcmp(first, again, count * sizeof *first) != 0)
            FAILF("run %d of %s differs from the first run in its bits", run, describe(c));
    }
    free(x); free(dy); free(first); free(again);
    gp_layer_destroy(l);
}

/* Chunks shared out between threads: one that finishes its own range
 * early takes the chunks left at the back of the others' ranges. Whichever
 * thread ran which chunk, the results must not change. Four threads on a
 * two-core machine are preempted often, so chunks change hands in many of
 * the runs; the shapes give 1 to 3 chunks per thread, stacked planes (7x7,
 * 5x7) and shifted copies (13x13). */
static void path_shared_chunks(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
#ifdef _OPENMP
    omp_set_num_threads(4);
#endif
    static const conv_cfg shapes[] = {
        { 97, 13, 7, 7, 11, 3, 3, 1, 1, 1 },  { 53, 5, 13, 13, 7, 3, 3, 1, 1, 0 },
        { 17, 3, 5, 7, 9, 3, 3, 1, 1, 1 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_runs_agree(&shapes[i]);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    forced_path = NULL;
}

static void path_contract(void **state)
{
    const char *path = *state;
    require_path(path);
    forced_path = path;
    for (int i = 0; i < 6; i++) {
        conv_cfg c = i < 3 ? direct_cfg() : kernel_cfg(rand_int(0, N_KERNEL_CFGS - 1));
        c.n += 3;   /* two threads with several images each */
        gp_layer *l = make_conv(&c);
        backward_contract(l, c.n);
        gp_layer_destroy(l);
    }
    forced_path = NULL;
}

/* Without GPOOL_CONV a 3x3 conv with few channels takes the widest direct
 * kernels the CPU mask leaves visible, and im2col when it hides AVX2; a 1x1
 * conv and a 256-channel 3x3 conv stay on im2col (sgemm measured faster). */
static void conv_auto_path(void **state)
{
    (void)state;
    unsigned hidden_before = 0;   /* restored at the end (GPOOL_CPU_MASK's effect) */
    for (gp_isa isa = GP_ISA_AVX2; isa <= GP_ISA_AVX512; isa++)
        if (gp_cpu_has_native(isa) && !gp_cpu_has(isa))
            hidden_before |= 1u << isa;
    static const unsigned masks[] = { 0, GP_CPU_MASK_AVX512, GP_CPU_MASK_AVX2 };
    conv_cfg c3 = { 2, 3, 9, 11, 5, 3, 3, 1, 1, 1 }, c1 = { 2, 3, 9, 11, 5, 1, 1, 1, 0, 1 };
    conv_cfg wide = { 1, 256, 4, 4, 256, 3, 3, 1, 1, 0 };
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        assert_int_equal(gp_set_cpu_mask(masks[m] | hidden_before), GP_OK);
        const char *want = gp_cpu_has(GP_ISA_AVX512) ? "avx512"
                           : gp_cpu_has(GP_ISA_AVX2) ? "avx2" : "im2col";
        gp_layer *l = make_conv(&c3);
        check_path(l, &c3, want);
        run_forward_check(&c3, c3.n);
        gp_layer_destroy(l);
        l = make_conv(&c1);
        check_path(l, &c1, "im2col");
        gp_layer_destroy(l);
        l = make_conv(&wide);
        check_path(l, &wide, "im2col");
        gp_layer_destroy(l);
    }
    assert_int_equal(gp_set_cpu_mask(hidden_before), GP_OK);
}

static void conv_bad_env(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 5, 6 };
    gp_layer *l = NULL;
    setenv("GPOOL_CONV", "avx1024", 1);
    gp_status st = gp_conv2d_create(&l, in, 4, 3, 3, 1, 1, 1);
    unsetenv("GPOOL_CONV");
    assert_int_equal(st, GP_ERR_ENV);
    assert_null(l);
    assert_non_null(strstr(gp_last_error(), "GPOOL_CONV"));
}

/* ----------------------------------------------------------------- main */

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("conv");
#ifdef _OPENMP
    omp_set_num_threads(2);   /* the per-thread split and gradient sums are exercised */
#endif
    return 0;
}

/* The path tests once per path, named e.g. "path_widths/avx2". */
#define PATH_TEST(f, path) { #f "/" path, f, NULL, NULL, (void *)path }
#define PATH_TESTS(path)                                                          \
    PATH_TEST(path_widths, path), PATH_TEST(path_heights_channels, path),         \
    PATH_TEST(path_kernels, path), PATH_TEST(path_net_shapes, path),              \
    PATH_TEST(path_partial_batches, path), PATH_TEST(path_gradcheck, path),       \
    PATH_TEST(path_contract, path), PATH_TEST(path_reshape, path),                \
    PATH_TEST(path_shared_chunks, path)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_create_fields),
        cmocka_unit_test(conv_forward_random),
        cmocka_unit_test(conv_forward_partial_batch),
        cmocka_unit_test(conv_forward_net_shapes),
        cmocka_unit_test(conv_backward_reference),
        cmocka_unit_test(conv_gradcheck),
        cmocka_unit_test(conv_backward_contract),
        cmocka_unit_test(conv_errors),
        cmocka_unit_test(conv_auto_path),
        cmocka_unit_test(conv_bad_env),
        PATH_TESTS("im2col"),
        PATH_TESTS("avx2"),
        PATH_TESTS("avx512"),
    };
    return cmocka_run_group_tests_name("conv", tests, group_setup, NULL);
}
