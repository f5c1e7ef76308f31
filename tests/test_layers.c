/*
 * test_layers.c - the list of layer kinds (names, gp_layer_create from a
 * spec, gp_layer_spec_format), the small layers (relu, sigmoid, avg/max
 * pool2d, batchnorm2d, dropout, flatten) and the softmax cross-entropy loss.
 *
 * Gradients: finite differences (gradcheck.h) on inputs from gc_spread where
 * a kink could flip under a probe (relu, max), so the default tolerances
 * apply (see gradcheck.h for why they are what they are).
 * Values: direct reference loops in double, checked with the float
 * summation bound |got - ref| <= (k + 2) u sum|terms| (u = 2^-24, k terms),
 * or exactly where the layer's arithmetic is exact (copies, selections).
 * PyTorch-derived facts (pool output sizes, avg divisors in ceil mode) are
 * data below, each derived once with torch 1.13 and noted where it appears.
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

#define U ldexp(1.0, -24)   /* float unit roundoff */

/* ------------------------------------------------------------ helpers */

static float *falloc_uniform(size_t count, float lo, float hi)
{
    float *p = falloc_nan(count);
    gc_uniform(p, count, lo, hi);
    return p;
}

static size_t in_count(const gp_layer *l, int n)
{
    return (size_t)n * gp_shape_image_size(l->in);
}

static size_t out_count(const gp_layer *l, int n)
{
    return (size_t)n * gp_shape_image_size(l->out);
}

static void must(gp_status st, const char *what)
{
    if (st != GP_OK)
        FAILF("%s failed: %s", what, gp_last_error());
}

static void check_close(const char *what, size_t i, double got, double ref, double tol)
{
    if (!(fabs(got - ref) <= tol))
        FAILF("%s[%zu] = %.9g, reference %.9g (error %.3g > %.3g)", what, i, got, ref,
              fabs(got - ref), tol);
}

static void gradcheck(gp_layer *l, int n, float *x, gp_mode mode, const char *what)
{
    gc_opts o = gc_defaults();
    o.mode = mode;
    int bad = gc_check_layer(l, n, x, &o);
    if (bad)
        FAILF("%s: %d gradient elements disagree with finite differences", what, bad);
}

/* ------------------------------------------------------------ the kinds */

/* One spec of every library kind, with what gp_layer_spec_format gives it. */
static const struct {
    gp_layer_spec spec;
    const char   *name, *options;
} kinds[] = {
    { { .kind = GP_LAYER_CONV2D, .u.conv2d = { 4, 3, 1, 2, 1, 1 } }, "conv2d",
      "cout=4 kh=3 kw=1 stride=2 pad=1 bias=1" },
    { { .kind = GP_LAYER_BATCHNORM2D, .u.batchnorm2d = { 0.1f, 1e-5f } }, "batchnorm2d",
      "momentum=0.1 eps=1e-05" },
    { { .kind = GP_LAYER_RELU }, "relu", "" },
    { { .kind = GP_LAYER_SIGMOID }, "sigmoid", "" },
    { { .kind = GP_LAYER_AVGPOOL2D, .u.pool2d = { 3, 2, 1, 1 } }, "avgpool2d",
      "k=3 stride=2 pad=1 ceil_mode=1" },
    { { .kind = GP_LAYER_MAXPOOL2D, .u.pool2d = { 2, 2, 0, 0 } }, "maxpool2d",
      "k=2 stride=2 pad=0 ceil_mode=0" },
    { { .kind = GP_LAYER_DROPOUT, .u.dropout = { 0.3f, 42 } }, "dropout", "p=0.3 seed=42" },
    { { .kind = GP_LAYER_FLATTEN }, "flatten", "" },
    { { .kind = GP_LAYER_DENSE, .u.dense = { 5, 0 } }, "dense", "out_features=5 bias=0" },
    { { .kind = GP_LAYER_HEAD_POOL, .u.head_pool = { GP_HEAD_LSE } }, "head_pool", "op=lse" },
    { { .kind = GP_LAYER_TOPK_POOL, .u.topk_pool = { 0, 0.1f } }, "topk_pool",
      "k=0 fraction=0.1" },
    { { .kind = GP_LAYER_ADAPTIVE_AVGPOOL2D, .u.adaptive_pool2d = { 4 } }, "adaptive_avgpool2d",
      "size=4" },
    { { .kind = GP_LAYER_ADAPTIVE_MAXPOOL2D, .u.adaptive_pool2d = { 3 } }, "adaptive_maxpool2d",
      "size=3" },
    { { .kind = GP_LAYER_SPP, .u.spp = { 3, { 1, 2, 4 }, GP_POOL_MAX } }, "spp",
      "levels=1,2,4 op=max" },
    { { .kind = GP_LAYER_ATTN_POOL, .u.attn_pool = { 2 } }, "attn_pool", "heads=2" },
    { { .kind = GP_LAYER_SIMPOOL, .u.simpool = { 1 } }, "simpool", "heads=1" },
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

/* The same kind made by its own _create function. */
static gp_status create_by_kind(const gp_layer_spec *s, gp_shape in, gp_layer **l)
{
    switch (s->kind) {
    case GP_LAYER_CONV2D:
        return gp_conv2d_create(l, in, s->u.conv2d.cout, s->u.conv2d.kh, s->u.conv2d.kw,
                                s->u.conv2d.stride, s->u.conv2d.pad, s->u.conv2d.bias);
    case GP_LAYER_BATCHNORM2D:
        return gp_batchnorm2d_create(l, in, s->u.batchnorm2d.momentum, s->u.batchnorm2d.eps);
    case GP_LAYER_RELU:      return gp_relu_create(l, in);
    case GP_LAYER_SIGMOID:   return gp_sigmoid_create(l, in);
    case GP_LAYER_AVGPOOL2D:
    case GP_LAYER_MAXPOOL2D:
        return gp_pool2d_create(l, in, s->kind == GP_LAYER_MAXPOOL2D ? GP_POOL_MAX : GP_POOL_AVG,
                                s->u.pool2d.k, s->u.pool2d.stride, s->u.pool2d.pad,
                                s->u.pool2d.ceil_mode);
    case GP_LAYER_DROPOUT:   return gp_dropout_create(l, in, s->u.dropout.p, s->u.dropout.seed);
    case GP_LAYER_FLATTEN:   return gp_flatten_create(l, in);
    case GP_LAYER_DENSE:
        return gp_dense_create(l, in, s->u.dense.out_features, s->u.dense.bias);
    case GP_LAYER_HEAD_POOL: return gp_head_pool_create(l, in, s->u.head_pool.op);
    case GP_LAYER_TOPK_POOL:
        return gp_topk_pool_create(l, in, s->u.topk_pool.k, s->u.topk_pool.fraction);
    case GP_LAYER_ADAPTIVE_AVGPOOL2D:
    case GP_LAYER_ADAPTIVE_MAXPOOL2D:
        return gp_adaptive_pool2d_create(l, in, s->kind == GP_LAYER_ADAPTIVE_MAXPOOL2D
                                                    ? GP_POOL_MAX : GP_POOL_AVG,
                                         s->u.adaptive_pool2d.size);
    case GP_LAYER_SPP:
        return gp_spp_create(l, in, s->u.spp.levels, s->u.spp.nlevels, s->u.spp.op);
    case GP_LAYER_ATTN_POOL: return gp_attn_pool_create(l, in, s->u.attn_pool.heads);
    case GP_LAYER_SIMPOOL:   return gp_simpool_create(l, in, s->u.simpool.heads);
    default:                 return GP_ERR_ARG;
    }
}

/* Every kind's name parses back to it, and is its layers' ops->kind; its
 * options format as listed; gp_layer_create makes what the kind's own
 * _create makes, keeping the spec. */
static void kinds_list(void **state)
{
    (void)state;
    assert_int_equal(NKINDS, GP_LAYER_NKINDS - 1);
    gp_shape in = { 3, 2, 7, 6 };
    for (int k = 0; k < NKINDS; k++) {
        const gp_layer_spec *spec = &kinds[k].spec;
        gp_layer_kind parsed;
        assert_string_equal(gp_layer_kind_name(spec->kind), kinds[k].name);
        assert_int_equal(gp_layer_kind_parse(kinds[k].name, &parsed), GP_OK);
        assert_int_equal(parsed, spec->kind);
        char text[128];
        assert_int_equal(gp_layer_spec_format(spec, text, sizeof text),
                         (int)strlen(kinds[k].options));
        assert_string_equal(text, kinds[k].options);
        gp_layer *a, *b;
        must(gp_layer_create(&a, in, spec), kinds[k].name);
        must(create_by_kind(spec, in, &b), kinds[k].name);
        assert_string_equal(a->ops->kind, kinds[k].name);
        assert_ptr_equal(a->ops, b->ops);
        /* specs compare by their fields: the union has padding */
        assert_int_equal(a->spec.kind, spec->kind);
        assert_int_equal(b->spec.kind, spec->kind);
        gp_layer_spec_format(&a->spec, text, sizeof text);
        assert_string_equal(text, kinds[k].options);
        gp_layer_spec_format(&b->spec, text, sizeof text);
        assert_string_equal(text, kinds[k].options);
        assert_memory_equal(&a->out, &b->out, sizeof a->out);
        assert_true(a->flops == b->flops && a->workspace_bytes == b->workspace_bytes);
        assert_string_equal(a->desc, b->desc);
        assert_int_equal(a->nparams, b->nparams);
        for (int p = 0; p < a->nparams; p++)
            assert_memory_equal(a->params[p].value, b->params[p].value,
                                a->params[p].count * sizeof(float));
        gp_layer_destroy(a);
        gp_layer_destroy(b);
    }
    assert_string_equal(gp_layer_kind_name(GP_LAYER_CUSTOM), "custom");
    assert_null(gp_layer_kind_name((gp_layer_kind)GP_LAYER_NKINDS));
    gp_layer_kind k;
    assert_int_equal(gp_layer_kind_parse("conv", &k), GP_ERR_NOTFOUND);
}

/* What gp_layer_create refuses leaves *out NULL and says why. */
static void kinds_create_errors(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 5, 5 }, empty = { 2, 0, 5, 5 };
    gp_layer *l = (gp_layer *)&l;
    gp_layer_spec custom = { .kind = GP_LAYER_CUSTOM };
    gp_layer_spec beyond = { .kind = (gp_layer_kind)GP_LAYER_NKINDS };
    gp_layer_spec no_out = { .kind = GP_LAYER_CONV2D, .u.conv2d = { 0, 3, 3, 1, 1, 1 } };
    gp_layer_spec too_big = { .kind = GP_LAYER_CONV2D, .u.conv2d = { 4, 9, 9, 1, 1, 1 } };
    gp_layer_spec relu = { .kind = GP_LAYER_RELU };
    assert_int_equal(gp_layer_create(&l, in, &custom), GP_ERR_ARG);
    assert_null(l);
    assert_int_equal(gp_layer_create(&l, in, &beyond), GP_ERR_ARG);
    assert_int_equal(gp_layer_create(&l, in, &no_out), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "cout 0"));
    assert_int_equal(gp_layer_create(&l, in, &too_big), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "larger than the padded input"));
    assert_null(l);
    assert_int_equal(gp_layer_create(&l, empty, &relu), GP_ERR_ARG);
    assert_int_equal(gp_layer_create(NULL, in, &relu), GP_ERR_ARG);
    assert_int_equal(gp_layer_create(&l, in, NULL), GP_ERR_ARG);
    assert_int_equal(gp_layer_spec_format(&beyond, NULL, 0), -1);
}

/* ---------------------------------------------------------- relu, sigmoid */

static void relu_values_and_gradcheck(void **state)
{
    (void)state;
    gp_shape in = { 3, 4, 5, 7 };
    gp_layer *l;
    must(gp_relu_create(&l, in), "relu_create");
    assert_string_equal(l->ops->kind, "relu");
    assert_int_equal(l->out.c, 4);
    assert_true(l->flops == 4.0 * 5 * 7);
    assert_true(l->desc[0] != '\0');
    size_t count = in_count(l, 3);
    float *x = falloc_nan(count), *y = falloc_nan(count), *dy = falloc_uniform(count, -1, 1);
    float *dx = falloc_nan(count);
    gc_spread(x, count, 2.0f);
    x[0] = 0.0f;    /* the gradient at exactly 0 is 0 (PyTorch) */
    x[1] = NAN;     /* NaN propagates forward and lets the gradient through */
    must(gp_layer_forward(l, 3, x, y, GP_TRAIN), "relu forward");
    must(gp_layer_backward(l, 3, x, y, dy, dx), "relu backward");
    assert_true(isnan(y[1]));
    assert_true(dx[1] == dy[1]);
    for (size_t i = 0; i < count; i++) {
        if (i == 1)
            continue;
        float want = x[i] > 0 ? x[i] : 0.0f, gwant = x[i] > 0 ? dy[i] : 0.0f;
        if (y[i] != want || dx[i] != gwant)
            FAILF("relu at x = %g: y %g dx %g, expected %g and %g", (double)x[i],
                  (double)y[i], (double)dx[i], (double)want, (double)gwant);
    }
    gc_spread(x, count, 2.0f);
    gradcheck(l, 3, x, GP_TRAIN, "relu");
    free(x); free(y); free(dy); free(dx);
    gp_layer_destroy(l);
}

/* Against 1 / (1 + exp(-x)) in double: expf (< 1 ulp), the add and the
 * divide give at most 3 u relative, checked with 8 u (plus 1e-30 for deep
 * underflow). dx = dy (1 - y) y: y's error d moves it by |dy| d |1 - 2y|
 * <= 3 u |dy| y, and the float operations add 3 u |dy| y (1 - y); 16 u |dy| y
 * covers both. */
static void sigmoid_values_and_gradcheck(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 4, 5 };
    gp_layer *l;
    must(gp_sigmoid_create(&l, in), "sigmoid_create");
    assert_string_equal(l->ops->kind, "sigmoid");
    assert_true(l->flops > 0);
    size_t count = in_count(l, 2);
    float *x = falloc_uniform(count, -6, 6), *y = falloc_nan(count);
    float *dy = falloc_uniform(count, -1, 1), *dx = falloc_nan(count);
    x[0] = 100.0f;  /* saturates to exactly 1 and 0, never NaN */
    x[1] = -100.0f;
    must(gp_layer_forward(l, 2, x, y, GP_TRAIN), "sigmoid forward");
    must(gp_layer_backward(l, 2, x, y, dy, dx), "sigmoid backward");
    assert_true(y[0] == 1.0f && dx[0] == 0.0f);
    assert_true(y[1] >= 0.0f && y[1] < 1e-40f && fabsf(dx[1]) < 1e-40f);
    for (size_t i = 0; i < count; i++) {
        double s = 1.0 / (1.0 + exp(-(double)x[i]));
        check_close("sigmoid y", i, y[i], s, 8 * U * s + 1e-30);
        double g = (double)dy[i] * (1.0 - s) * s;
        check_close("sigmoid dx", i, dx[i], g, 16 * U * fabs(dy[i]) * s + 1e-30);
    }
    gc_uniform(x, count, -3, 3);
    gradcheck(l, 2, x, GP_TRAIN, "sigmoid");
    free(x); free(y); free(dy); free(dx);
    gp_layer_destroy(l);
}

/* ---------------------------------------------------------------- pool2d */

/* Output sizes from torch.nn.functional.max_pool2d in torch 1.13 for a
 * 1 x 1 x h x w input (0 = PyTorch raises "output size is too small").
 * Rows marked * are where ceil_mode's rule that the last window must start
 * inside the input or left padding removes a window the plain ceil
 * division would give. */
static const struct {
    int h, w, k, s, p, floor_h, floor_w, ceil_h, ceil_w;
} pool_sizes[] = {
    { 28, 28, 2, 2, 0, 14, 14, 14, 14 },
    {  5,  5, 2, 2, 1,  3,  3,  3,  3 },    /* * ceil division gives 4 */
    { 28, 28, 3, 4, 0,  7,  7,  7,  7 },    /* * ceil division gives 8 */
    {  3,  3, 2, 2, 0,  1,  1,  2,  2 },
    {  1,  1, 2, 2, 0,  0,  0,  1,  1 },
    {  7,  6, 3, 2, 1,  4,  3,  4,  4 },
    { 14, 13, 3, 2, 1,  7,  7,  8,  7 },
    {  6,  6, 2, 3, 0,  2,  2,  2,  2 },    /* * ceil division gives 3 */
    { 10, 10, 4, 3, 2,  4,  4,  4,  4 },    /* * ceil division gives 5 */
    {  9,  4, 3, 3, 1,  3,  2,  4,  2 },
    {  2,  2, 5, 2, 2,  1,  1,  2,  2 },
    { 13, 13, 2, 2, 1,  7,  7,  7,  7 },    /* * ceil division gives 8 */
    {  4,  4, 3, 2, 0,  1,  1,  2,  2 },
    {  8,  8, 3, 3, 1,  3,  3,  3,  3 },    /* * ceil division gives 4 */
};

static void pool2d_output_sizes(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof pool_sizes / sizeof *pool_sizes; t++) {
        for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++) {
            int want_h = ceil_mode ? pool_sizes[t].ceil_h : pool_sizes[t].floor_h;
            int want_w = ceil_mode ? pool_sizes[t].ceil_w : pool_sizes[t].floor_w;
            for (int op = GP_POOL_AVG; op <= GP_POOL_MAX; op++) {
                gp_shape in = { 1, 1, pool_sizes[t].h, pool_sizes[t].w };
                gp_layer *l = NULL;
                gp_status st = gp_pool2d_create(&l, in, (gp_pool_op)op, pool_sizes[t].k,
                                              pool_sizes[t].s, pool_sizes[t].p, ceil_mode);
                if (want_h == 0) {
                    if (st != GP_ERR_ARG || l)
                        FAILF("pool %dx%d k%d s%d p%d ceil %d: status %d, expected an "
                              "empty-output error", in.h, in.w, pool_sizes[t].k,
                              pool_sizes[t].s, pool_sizes[t].p, ceil_mode, (int)st);
                    continue;
                }
                must(st, "pool2d_create");
                if (l->out.h != want_h || l->out.w != want_w || l->out.c != 1)
                    FAILF("pool %dx%d k%d s%d p%d ceil %d: output %dx%d, torch gives %dx%d",
                          in.h, in.w, pool_sizes[t].k, pool_sizes[t].s, pool_sizes[t].p,
                          ceil_mode, l->out.h, l->out.w, want_h, want_w);
                gp_layer_destroy(l);
            }
        }
    }
}

static void pool2d_errors(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 8, 8 };
    gp_layer *l = (gp_layer *)&l;
    /* PyTorch: "pad should be at most half of effective kernel size" */
    assert_int_equal(gp_pool2d_create(&l, in, GP_POOL_MAX, 3, 1, 2, 0), GP_ERR_ARG);
    assert_null(l);
    assert_true(strstr(gp_last_error(), "pad") != NULL);
    assert_int_equal(gp_pool2d_create(&l, in, GP_POOL_AVG, 2, 2, 2, 0), GP_ERR_ARG);
    assert_int_equal(gp_pool2d_create(&l, in, GP_POOL_MAX, 2, 2, -1, 0), GP_ERR_ARG);
    assert_int_equal(gp_pool2d_create(&l, in, GP_POOL_MAX, 0, 1, 0, 0), GP_ERR_ARG);
    assert_int_equal(gp_pool2d_create(&l, in, GP_POOL_MAX, 2, 0, 0, 0), GP_ERR_ARG);
    assert_int_equal(gp_pool2d_create(&l, in, (gp_pool_op)7, 2, 2, 0, 0), GP_ERR_ARG);
    assert_int_equal(gp_pool2d_create(NULL, in, GP_POOL_MAX, 2, 2, 0, 0), GP_ERR_ARG);
    /* pad == k / 2 is allowed */
    must(gp_pool2d_create(&l, in, GP_POOL_MAX, 3, 2, 1, 0), "pool2d_create pad k/2");
    gp_layer_destroy(l);
}

typedef struct {
    int n, c, h, w, k, s, p, ceil_mode, oh, ow;   /* oh, ow from torch 1.13 */
} pool_cfg;

static const pool_cfg pool_cfgs[] = {
    { 2, 3,  7,  7, 3, 2, 1, 0,  4,  4 },
    { 2, 3,  7,  6, 3, 2, 1, 1,  4,  4 },
    { 1, 2,  5,  5, 2, 2, 1, 1,  3,  3 },
    { 2, 2,  9,  4, 3, 3, 1, 1,  4,  2 },
    { 1, 3,  6,  6, 2, 3, 0, 0,  2,  2 },    /* stride > k: unpooled gaps */
    { 2, 2,  3,  3, 2, 2, 0, 1,  2,  2 },    /* last window hangs past the input */
    { 1, 2, 28, 28, 2, 2, 0, 0, 14, 14 },
    { 1, 1,  2,  2, 5, 2, 2, 1,  2,  2 },    /* kernel larger than the input */
    { 2, 2, 13, 13, 2, 2, 1, 0,  7,  7 },
    { 1, 2, 10, 10, 4, 3, 2, 1,  4,  4 },
    { 2, 2, 14, 13, 3, 2, 1, 1,  8,  7 },
    { 3, 1,  4,  4, 3, 2, 0, 1,  2,  2 },
    /* 2x2/2 has its own paths: quads along rows of >= 4 outputs (11 ceil:
     * an overlapping last quad and clipped edges), else across four planes
     * (7 floor: uncovered last row and column; 9 planes: one left over);
     * 14: the trunk's 14 -> 7, an overlapping last quad; 9 x 11 floor: an
     * uncovered last row and column along rows of quads */
    { 1, 2, 11, 11, 2, 2, 0, 1,  6,  6 },
    { 2, 3,  7,  7, 2, 2, 0, 0,  3,  3 },
    { 3, 3,  6,  5, 2, 2, 0, 1,  3,  3 },
    { 2, 3, 14, 14, 2, 2, 0, 0,  7,  7 },
    { 1, 2,  9, 11, 2, 2, 0, 0,  4,  5 },
};

static gp_layer *make_pool(const pool_cfg *c, gp_pool_op op)
{
    gp_shape in = { c->n, c->c, c->h, c->w };
    gp_layer *l = NULL;
    if (gp_pool2d_create(&l, in, op, c->k, c->s, c->p, c->ceil_mode) != GP_OK)
        FAILF("pool2d_create %dx%d k%d s%d p%d ceil %d: %s", c->h, c->w, c->k, c->s, c->p,
              c->ceil_mode, gp_last_error());
    if (l->out.h != c->oh || l->out.w != c->ow)
        FAILF("pool %dx%d k%d s%d p%d ceil %d: output %dx%d, torch gives %dx%d", c->h, c->w,
              c->k, c->s, c->p, c->ceil_mode, l->out.h, l->out.w, c->oh, c->ow);
    return l;
}

/* PyTorch's avg divisor: the window clipped to the padded input only. */
static int ref_pool_divisor(const pool_cfg *c, int oy, int ox)
{
    int y0 = oy * c->s - c->p, x0 = ox * c->s - c->p;
    int y1 = y0 + c->k < c->h + c->p ? y0 + c->k : c->h + c->p;
    int x1 = x0 + c->k < c->w + c->p ? x0 + c->k : c->w + c->p;
    return (y1 - y0) * (x1 - x0);
}

/* The direct definition on one plane: y (double) and, for max, the first
 * maximal input index in row-major window order; dx_ref accumulates the
 * backward of dy with |terms| in dx_abs (for the tolerance). */
static void ref_pool_plane(const pool_cfg *c, gp_pool_op op, const float *x,
                           const float *dy, double *y, double *dx_ref, double *dx_abs)
{
    for (int oy = 0; oy < c->oh; oy++)
        for (int ox = 0; ox < c->ow; ox++) {
            double best = 0, sum = 0;
            int at = -1, div = ref_pool_divisor(c, oy, ox);
            for (int ky = 0; ky < c->k; ky++)
                for (int kx = 0; kx < c->k; kx++) {
                    int iy = oy * c->s - c->p + ky, ix = ox * c->s - c->p + kx;
                    if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                        continue;
                    float v = x[iy * c->w + ix];
                    sum += v;
                    if (at < 0 || v > best) {
                        best = v;
                        at = iy * c->w + ix;
                    }
                }
            assert_true(at >= 0);   /* every window holds an input element */
            double g = dy[oy * c->ow + ox];
            y[oy * c->ow + ox] = op == GP_POOL_MAX ? best : sum / div;
            if (op == GP_POOL_MAX) {
                dx_ref[at] += g;
                dx_abs[at] += fabs(g);
                continue;
            }
            for (int ky = 0; ky < c->k; ky++)
                for (int kx = 0; kx < c->k; kx++) {
                    int iy = oy * c->s - c->p + ky, ix = ox * c->s - c->p + kx;
                    if (iy >= 0 && iy < c->h && ix >= 0 && ix < c->w) {
                        dx_ref[iy * c->w + ix] += g / div;
                        dx_abs[iy * c->w + ix] += fabs(g / div);
                    }
                }
        }
}

/* Forward and backward against ref_pool_plane. Max selects an input
 * exactly; avg is a float sum of at most k*k terms and a divide; the max
 * backward and avg backward add at most ceil(k/s)^2 terms per input. */
static void check_pool_reference(const pool_cfg *c, gp_pool_op op, int n)
{
    gp_layer *l = make_pool(c, op);
    size_t hw = (size_t)c->h * c->w, ohw = (size_t)c->oh * c->ow;
    size_t xs = in_count(l, n), ys = out_count(l, n);
    float *x = falloc_nan(xs), *y = falloc_nan(ys), *dy = falloc_uniform(ys, -1, 1);
    float *dx = falloc_nan(xs);
    double *yr = calloc(ohw, sizeof *yr), *dxr = calloc(hw, sizeof *dxr);
    double *dxa = calloc(hw, sizeof *dxa);
    assert_true(yr && dxr && dxa);
    gc_spread(x, xs, 1.0f);
    must(gp_layer_forward(l, n, x, y, GP_TRAIN), "pool forward");
    must(gp_layer_backward(l, n, x, y, dy, dx), "pool backward");
    double terms = (double)c->k * c->k + 1;
    for (size_t q = 0; q < (size_t)n * c->c; q++) {
        memset(dxr, 0, hw * sizeof *dxr);
        memset(dxa, 0, hw * sizeof *dxa);
        ref_pool_plane(c, op, x + q * hw, dy + q * ohw, yr, dxr, dxa);
        for (size_t o = 0; o < ohw; o++) {
            double tol = op == GP_POOL_MAX ? 0.0 : (terms + 2) * U * c->k * c->k;
            check_close(op == GP_POOL_MAX ? "maxpool y" : "avgpool y", q * ohw + o,
                        y[q * ohw + o], yr[o], tol);
        }
        for (size_t i = 0; i < hw; i++)
            check_close(op == GP_POOL_MAX ? "maxpool dx" : "avgpool dx", q * hw + i,
                        dx[q * hw + i], dxr[i], (terms + 2) * U * dxa[i]);
    }
    free(x); free(y); free(dy); free(dx); free(yr); free(dxr); free(dxa);
    gp_layer_destroy(l);
}

static void pool2d_reference(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof pool_cfgs / sizeof *pool_cfgs; t++) {
        check_pool_reference(&pool_cfgs[t], GP_POOL_MAX, pool_cfgs[t].n);
        check_pool_reference(&pool_cfgs[t], GP_POOL_AVG, pool_cfgs[t].n);
        if (pool_cfgs[t].n > 1) {   /* a partial batch */
            check_pool_reference(&pool_cfgs[t], GP_POOL_MAX, pool_cfgs[t].n - 1);
            check_pool_reference(&pool_cfgs[t], GP_POOL_AVG, pool_cfgs[t].n - 1);
        }
    }
}

/* torch 1.13, avg_pool2d(ones(1, 1, 4, 4), 3, 2, 1, ceil_mode=True) * 36:
 * the last window reaches past the padded edge and PyTorch divides by its
 * extent inside the padded input (2), not by k (3). */
static void avgpool_ceil_divisor(void **state)
{
    (void)state;
    static const float torch_times_36[9] = { 16, 24, 12, 24, 36, 18, 12, 18, 9 };
    gp_shape in = { 1, 1, 4, 4 };
    gp_layer *l;
    must(gp_pool2d_create(&l, in, GP_POOL_AVG, 3, 2, 1, 1), "pool2d_create");
    assert_int_equal(l->out.h, 3);
    float x[16], y[9];
    for (int i = 0; i < 16; i++)
        x[i] = 1.0f;
    must(gp_layer_forward(l, 1, x, y, GP_EVAL), "avgpool forward");
    for (int i = 0; i < 9; i++)
        check_close("avgpool ceil y * 36", (size_t)i, y[i] * 36.0, torch_times_36[i], 8 * U * 36);
    gp_layer_destroy(l);
}

/* Ties go to the first maximum (row-major within the window), NaN wins. */
static void maxpool_ties_and_nan(void **state)
{
    (void)state;
    gp_shape in = { 1, 1, 4, 4 };
    gp_layer *l;
    must(gp_pool2d_create(&l, in, GP_POOL_MAX, 2, 2, 0, 0), "pool2d_create");
    float x[16], y[4], dy[4] = { 1, 2, 3, 4 }, dx[16];
    for (int i = 0; i < 16; i++)
        x[i] = 0.5f;
    x[10] = NAN;    /* window (1, 1) covers rows 2-3, columns 2-3 */
    must(gp_layer_forward(l, 1, x, y, GP_TRAIN), "maxpool forward");
    must(gp_layer_backward(l, 1, x, y, dy, dx), "maxpool backward");
    assert_true(y[0] == 0.5f && y[1] == 0.5f && y[2] == 0.5f && isnan(y[3]));
    for (int i = 0; i < 16; i++) {
        /* first element of each window: 0, 2, 8; the NaN at 10 */
        float want = i == 0 ? 1 : i == 2 ? 2 : i == 8 ? 3 : i == 10 ? 4 : 0;
        if (dx[i] != want)
            FAILF("maxpool tie/NaN dx[%d] = %g, expected %g", i, (double)dx[i], (double)want);
    }
    gp_layer_destroy(l);

    /* 3x3/2 pad 1: clipped edge windows rows/cols [0, 2) and [1, 4); first
     * elements 0, 1, 4, 5, except that window (1, 0) holds the NaN at 8 */
    must(gp_pool2d_create(&l, in, GP_POOL_MAX, 3, 2, 1, 0), "pool2d_create padded");
    x[10] = 0.5f;
    x[8] = NAN;
    must(gp_layer_forward(l, 1, x, y, GP_TRAIN), "maxpool padded forward");
    must(gp_layer_backward(l, 1, x, y, dy, dx), "maxpool padded backward");
    assert_true(y[0] == 0.5f && y[1] == 0.5f && isnan(y[2]) && y[3] == 0.5f);
    for (int i = 0; i < 16; i++) {
        float want = i == 0 ? 1 : i == 1 ? 2 : i == 8 ? 3 : i == 5 ? 4 : 0;
        if (dx[i] != want)
            FAILF("padded maxpool tie/NaN dx[%d] = %g, expected %g", i, (double)dx[i],
                  (double)want);
    }
    /* all -inf: nothing beats the initial -inf and each window's gradient goes to
     * its first element, as torch 1.13 does (x.grad = [[1, 2, 0, 0], [3, 4, 0, 0], 0...]) */
    for (int i = 0; i < 16; i++)
        x[i] = -INFINITY;
    must(gp_layer_forward(l, 1, x, y, GP_TRAIN), "maxpool -inf forward");
    must(gp_layer_backward(l, 1, x, y, dy, dx), "maxpool -inf backward");
    for (int i = 0; i < 16; i++) {
        float want = i == 0 ? 1 : i == 1 ? 2 : i == 4 ? 3 : i == 5 ? 4 : 0;
        if (dx[i] != want || (i < 4 && y[i] != -INFINITY))
            FAILF("all -inf maxpool dx[%d] = %g, expected %g", i, (double)dx[i], (double)want);
    }
    gp_layer_destroy(l);
}

/* PyTorch's max_pool2d rule on one output: from -inf and the window's first
 * element, `v > max || isnan(v)` in row-major order takes over. */
static void ref_max_window(const float *x, int w, int y0, int y1, int x0, int x1, float *m,
                           int *at)
{
    *m = -INFINITY;
    *at = y0 * w + x0;
    for (int a = y0; a < y1; a++)
        for (int b = x0; b < x1; b++) {
            float v = x[a * w + b];
            if (v > *m || isnan(v)) {
                *m = v;
                *at = a * w + b;
            }
        }
}

/* The 2x2/2 fast paths on data full of ties, NaNs and infinities: y and the
 * element each gradient goes to must follow ref_max_window exactly. */
static void maxpool_2x2_ties_and_nan(void **state)
{
    (void)state;
    static const float pick[] = { -1.0f, 0.5f, 0.5f, 0.5f, 2.0f, NAN, -INFINITY, INFINITY };
    static const int shapes[][4] = { { 2, 3, 8, 10 }, { 3, 3, 5, 7 }, { 2, 2, 9, 9 } };
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++)
        for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++) {
            gp_shape in = { shapes[t][0], shapes[t][1], shapes[t][2], shapes[t][3] };
            gp_layer *l;
            must(gp_pool2d_create(&l, in, GP_POOL_MAX, 2, 2, 0, ceil_mode), "pool2d_create");
            int h = in.h, w = in.w, oh = l->out.h, ow = l->out.w, n = in.n;
            size_t xs = in_count(l, n), ys = out_count(l, n);
            float *x = falloc_nan(xs), *y = falloc_nan(ys), *dy = falloc_nan(ys);
            float *dx = falloc_nan(xs);
            for (size_t i = 0; i < xs; i++)
                x[i] = pick[tu_next() % (sizeof pick / sizeof *pick)];
            for (size_t o = 0; o < ys; o++)
                dy[o] = (float)(o + 1);
            must(gp_layer_forward(l, n, x, y, GP_TRAIN), "maxpool 2x2 forward");
            must(gp_layer_backward(l, n, x, y, dy, dx), "maxpool 2x2 backward");
            for (size_t q = 0; q < (size_t)n * in.c; q++) {
                const float *xq = x + q * h * w, *dxq = dx + q * h * w;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        size_t o = q * oh * ow + (size_t)i * ow + j;
                        float m;
                        int at;
                        ref_max_window(xq, w, 2 * i, 2 * i + 2 < h ? 2 * i + 2 : h, 2 * j,
                                       2 * j + 2 < w ? 2 * j + 2 : w, &m, &at);
                        if (!(y[o] == m || (isnan(y[o]) && isnan(m))) || dxq[at] != dy[o])
                            FAILF("maxpool 2x2 %dx%d ceil %d plane %zu output (%d, %d): y %g "
                                  "dx[%d] %g, expected %g and %g", h, w, ceil_mode, q, i, j,
                                  (double)y[o], at, (double)dxq[at], (double)m,
                                  (double)dy[o]);
                    }
            }
            /* every other input gets exactly zero: the dx entries sum to the dy ones */
            double sdx = 0, sdy = 0;
            for (size_t i = 0; i < xs; i++)
                sdx += dx[i];
            for (size_t o = 0; o < ys; o++)
                sdy += dy[o];
            if (sdx != sdy)
                FAILF("maxpool 2x2 %dx%d ceil %d: dx sums to %g, dy to %g", h, w, ceil_mode,
                      sdx, sdy);
            free(x); free(y); free(dy); free(dx);
            gp_layer_destroy(l);
        }
}

static void pool2d_gradcheck(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof pool_cfgs / sizeof *pool_cfgs; t++) {
        for (int op = GP_POOL_AVG; op <= GP_POOL_MAX; op++) {
            gp_layer *l = make_pool(&pool_cfgs[t], (gp_pool_op)op);
            size_t xs = in_count(l, pool_cfgs[t].n);
            float *x = falloc_nan(xs);
            /* max: gaps of 2 * scale / count = 0.06 > 4 probe steps, no flips (its y
             * copies x, so the large values add no rounding); avg is linear and
             * gets O(1) data so that rounding in y stays far below atol */
            if (op == GP_POOL_MAX)
                gc_spread(x, xs, 0.03f * (float)xs);
            else
                gc_uniform(x, xs, -1.0f, 1.0f);
            gradcheck(l, pool_cfgs[t].n, x, GP_TRAIN, l->ops->kind);
            free(x);
            gp_layer_destroy(l);
        }
    }
}

/* topk_pool (k given, and a fraction), the adaptive pools on bins that
 * overlap and on a grid finer than the map, and spp of both modes: the
 * selections (top k, bin maxima) on gc_spread data, whose gaps no probe
 * closes; the averages on U(-1, 1). */
static void kpool_layers_gradcheck(void **state)
{
    (void)state;
    static const int levels[] = { 1, 2, 3 };
    gp_shape in = { 2, 3, 7, 5 };
    for (int t = 0; t < 8; t++) {
        gp_layer *l = NULL;
        int selects = t == 0 || t == 1 || t == 3 || t == 5 || t == 7;
        gp_pool_op op = t == 3 || t == 5 || t == 7 ? GP_POOL_MAX : GP_POOL_AVG;
        if (t < 2)
            must(gp_topk_pool_create(&l, in, t == 0 ? 3 : 0, 0.25f), "topk_pool_create");
        else if (t < 6)
            must(gp_adaptive_pool2d_create(&l, in, op, t < 4 ? 3 : 9), "adaptive_pool2d");
        else
            must(gp_spp_create(&l, in, levels, 3, op), "spp_create");
        size_t xs = in_count(l, in.n);
        float *x = falloc_nan(xs);
        if (selects)
            gc_spread(x, xs, 0.03f * (float)xs);
        else
            gc_uniform(x, xs, -1.0f, 1.0f);
        gradcheck(l, in.n, x, GP_TRAIN, l->desc);
        free(x);
        gp_layer_destroy(l);
    }
}

/* topk's k follows the plane (fraction) or is clamped to it; spp's length
 * does not depend on the plane, and is the adaptive pools' outputs side by
 * side; the options each kind refuses. */
static void kpool_layers_fields(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 7, 7 }, big = { 2, 3, 10, 10 };
    gp_layer *l, *a1, *a2;
    must(gp_topk_pool_create(&l, in, 0, 0.1f), "topk fraction");
    assert_string_equal(l->desc, "fraction=0.1 (k=5)");   /* ceil(0.1 x 49) */
    must(gp_layer_reshape(l, big), "topk reshape");
    assert_string_equal(l->desc, "fraction=0.1 (k=10)");
    assert_int_equal(l->out.c, 3);
    gp_layer_destroy(l);
    must(gp_topk_pool_create(&l, in, 60, 0.0f), "topk k beyond the plane");
    assert_string_equal(l->desc, "k=49");
    gp_layer_destroy(l);
    static const int levels[] = { 2, 1 };
    must(gp_spp_create(&l, in, levels, 2, GP_POOL_AVG), "spp");
    must(gp_adaptive_pool2d_create(&a2, in, GP_POOL_AVG, 2), "adaptive 2");
    must(gp_adaptive_pool2d_create(&a1, in, GP_POOL_AVG, 1), "adaptive 1");
    assert_int_equal(l->out.c, 3 * 5);
    float *x = falloc_uniform(in_count(l, 2), -1.0f, 1.0f);
    float *y = falloc_nan(out_count(l, 2)), *y1 = falloc_nan(6), *y2 = falloc_nan(24);
    must(gp_layer_forward(l, 2, x, y, GP_EVAL), "spp forward");
    must(gp_layer_forward(a1, 2, x, y1, GP_EVAL), "adaptive 1 forward");
    must(gp_layer_forward(a2, 2, x, y2, GP_EVAL), "adaptive 2 forward");
    for (int b = 0; b < 2; b++) {
        assert_memory_equal(y + b * 15, y2 + b * 12, 12 * sizeof *y);
        assert_memory_equal(y + b * 15 + 12, y1 + b * 3, 3 * sizeof *y);
    }
    must(gp_layer_reshape(l, big), "spp reshape");
    assert_int_equal(l->out.c, 15);
    free(x);
    free(y);
    free(y1);
    free(y2);
    gp_layer_destroy(l);
    gp_layer_destroy(a1);
    gp_layer_destroy(a2);
    static const int twice[] = { 2, 2 };
    assert_int_equal(gp_spp_create(&l, in, twice, 2, GP_POOL_AVG), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "repeats"));
    assert_int_equal(gp_spp_create(&l, in, levels, 2, GP_POOL_TOPK), GP_ERR_ARG);
    assert_int_equal(gp_topk_pool_create(&l, in, -1, 0.5f), GP_ERR_ARG);
    assert_int_equal(gp_topk_pool_create(&l, in, 0, 0.0f), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "fraction"));
    assert_int_equal(gp_adaptive_pool2d_create(&l, in, GP_POOL_AVG, 0), GP_ERR_ARG);
    assert_null(l);
}

static void pool2d_fields(void **state)
{
    (void)state;
    gp_shape in = { 5, 3, 7, 7 };
    gp_layer *mx, *av;
    must(gp_pool2d_create(&mx, in, GP_POOL_MAX, 3, 2, 1, 0), "pool2d_create max");
    must(gp_pool2d_create(&av, in, GP_POOL_AVG, 3, 2, 1, 0), "pool2d_create avg");
    assert_string_equal(mx->ops->kind, "maxpool2d");
    assert_string_equal(av->ops->kind, "avgpool2d");
    assert_int_equal(mx->out.n, 5);
    assert_int_equal(mx->nparams + av->nparams, 0);
    /* one int32 argmax per output at the maximum batch */
    assert_int_equal(mx->workspace_bytes, 5 * 3 * 4 * 4 * sizeof(int32_t));
    assert_int_equal(av->workspace_bytes, 0);
    assert_true(mx->flops == 3.0 * 16 * 9);
    assert_true(av->flops == 3.0 * 16 * 10);
    assert_true(mx->desc[0] && av->desc[0]);
    gp_layer_destroy(mx);
    gp_layer_destroy(av);
}

/* ----------------------------------------------------------- batchnorm2d */

static gp_layer *make_bn(gp_shape in, float momentum)
{
    gp_layer *l;
    must(gp_batchnorm2d_create(&l, in, momentum, 1e-5f), "batchnorm2d_create");
    return l;
}

static void batchnorm_fields(void **state)
{
    (void)state;
    gp_shape in = { 4, 3, 5, 6 };
    gp_layer *l = make_bn(in, 0.1f);
    assert_string_equal(l->ops->kind, "batchnorm2d");
    assert_int_equal(l->nparams, 2);
    assert_string_equal(l->params[0].name, "weight");
    assert_string_equal(l->params[1].name, "bias");
    assert_int_equal(l->nbuffers, 2);
    assert_string_equal(l->buffers[0].name, "running_mean");
    assert_string_equal(l->buffers[1].name, "running_var");
    for (int p = 0; p < 2; p++) {
        assert_int_equal(l->params[p].count, 3);
        assert_int_equal(l->params[p].fixed_init, 1);
        assert_int_equal(l->buffers[p].count, 3);
    }
    assert_int_equal(l->params[1].is_bias, 1);
    for (int c = 0; c < 3; c++) {
        assert_true(l->params[0].value[c] == 1.0f && l->params[1].value[c] == 0.0f);
        assert_true(l->buffers[0].value[c] == 0.0f && l->buffers[1].value[c] == 1.0f);
    }
    assert_int_equal(gp_layer_param_floats(l), 6);
    assert_true(l->flops == 2.0 * 3 * 30);
    /* mean and invstd; 30-float planes make one group of moments (three
     * doubles) per channel, and one row flag */
    assert_int_equal(l->workspace_bytes, 2 * 3 * sizeof(float) + 3 * 3 * sizeof(double) + 1);
    assert_true(l->desc[0] != '\0');
    gp_layer_destroy(l);
    gp_layer *bad = (gp_layer *)&bad;
    assert_int_equal(gp_batchnorm2d_create(&bad, in, -0.1f, 1e-5f), GP_ERR_ARG);
    assert_null(bad);
    assert_int_equal(gp_batchnorm2d_create(&bad, in, 0.1f, 0.0f), GP_ERR_ARG);
}

/* Per-channel batch statistics in double: mean, biased and unbiased var. */
static void ref_bn_stats(const gp_layer *l, int n, const float *x, int c, double *mean,
                         double *var, double *unbiased)
{
    size_t hw = (size_t)l->in.h * l->in.w;
    double s = 0, q = 0, m = (double)n * hw;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < hw; j++)
            s += x[((size_t)i * l->in.c + c) * hw + j];
    *mean = s / m;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < hw; j++) {
            double d = x[((size_t)i * l->in.c + c) * hw + j] - *mean;
            q += d * d;
        }
    *var = q / m;
    *unbiased = q / (m - 1);
}

/* Two training steps, then eval, against a hand computation in double:
 * r = (1 - m) r + m stat with the unbiased variance. The float layer rounds
 * the mean, the variance and each update: a few u relative to the magnitudes
 * involved, so 64 u (|r| + |stat| + 1) leaves room and still catches the
 * biased variance (off by a factor 1 + 1/(N H W - 1) = 1 + 1/59). */
static void batchnorm_running_stats(void **state)
{
    (void)state;
    gp_shape in = { 3, 4, 4, 5 };
    const float m = 0.25f;
    gp_layer *l = make_bn(in, m);
    size_t count = in_count(l, 3), hw = 20;
    float *x = falloc_nan(count), *y = falloc_nan(count);
    double rm[4] = { 0, 0, 0, 0 }, rv[4] = { 1, 1, 1, 1 };
    gc_uniform(l->params[0].value, 4, 0.5f, 2.0f);
    gc_uniform(l->params[1].value, 4, -1.0f, 1.0f);
    for (int step = 0; step < 2; step++) {
        gc_uniform(x, count, -2.0f + step, 3.0f + 2 * step);
        must(gp_layer_forward(l, 3, x, y, GP_TRAIN), "batchnorm train forward");
        for (int c = 0; c < 4; c++) {
            double mean, var, unb;
            ref_bn_stats(l, 3, x, c, &mean, &var, &unb);
            rm[c] = (1 - m) * rm[c] + m * mean;
            rv[c] = (1 - m) * rv[c] + m * unb;
            check_close("running_mean", (size_t)c, l->buffers[0].value[c], rm[c],
                        64 * U * (fabs(rm[c]) + fabs(mean) + 1));
            check_close("running_var", (size_t)c, l->buffers[1].value[c], rv[c],
                        64 * U * (fabs(rv[c]) + unb + 1));
            /* train output: (x - mean) / sqrt(var + eps) gamma + beta; |xhat| <~ 3
             * here, so a few u times (|gamma| * 3 + |beta|) bounds the error */
            double g = l->params[0].value[c], b = l->params[1].value[c];
            for (int i = 0; i < 3; i++)
                for (size_t j = 0; j < hw; j++) {
                    size_t at = ((size_t)i * 4 + c) * hw + j;
                    double want = (x[at] - mean) / sqrt(var + 1e-5) * g + b;
                    check_close("batchnorm train y", at, y[at], want,
                                32 * U * (fabs(g) * 4 + fabs(b)));
                }
        }
    }
    /* eval normalises with the running statistics */
    gc_uniform(x, count, -3.0f, 3.0f);
    must(gp_layer_forward(l, 2, x, y, GP_EVAL), "batchnorm eval forward");
    for (int c = 0; c < 4; c++) {
        double g = l->params[0].value[c], b = l->params[1].value[c];
        double rmc = l->buffers[0].value[c], rvc = l->buffers[1].value[c];
        for (int i = 0; i < 2; i++)
            for (size_t j = 0; j < hw; j++) {
                size_t at = ((size_t)i * 4 + c) * hw + j;
                double xhat = (x[at] - rmc) / sqrt(rvc + 1e-5);
                check_close("batchnorm eval y", at, y[at], xhat * g + b,
                            32 * U * (fabs(xhat * g) + fabs(b) + 1));
            }
    }
    /* eval leaves the running statistics alone */
    check_close("running_mean after eval", 0, l->buffers[0].value[0], rm[0],
                64 * U * (fabs(rm[0]) + 1));
    free(x); free(y);
    gp_layer_destroy(l);
}

/* Data far from zero (|mean| / std ~ 2000) must not lose the variance to
 * cancellation. Momentum 1 makes the running statistics the batch ones.
 * The mean is a float: within 2 u |mean| of the double one. The variance
 * comes from float partial sums of at most about 130 positive squared
 * deviations each for these shapes, so within 256 u relative.
 * y = (x - mean) alpha + beta inherits the mean's rounding times invstd,
 * plus a few u of |y| terms: 8 u |mean| invstd |g| + 32 u (2 |g| + |b|)
 * (|xhat| < 2 here). Shapes: small planes grouped several at a time, and
 * a plane larger than one statistics group. */
static void batchnorm_offset_data(void **state)
{
    (void)state;
    static const gp_shape shapes[] = { { 4, 2, 30, 30 }, { 2, 2, 50, 50 } };
    static const float offset[2] = { 1000.0f, -500.0f };
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        gp_layer *l = make_bn(shapes[t], 1.0f);
        int n = shapes[t].n;
        size_t count = in_count(l, n), hw = (size_t)shapes[t].h * shapes[t].w;
        float *x = falloc_nan(count), *y = falloc_nan(count);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 2; c++)
                gc_uniform(x + ((size_t)i * 2 + c) * hw, hw, offset[c] - 1.0f, offset[c] + 1.0f);
        gc_uniform(l->params[0].value, 2, 0.5f, 2.0f);
        gc_uniform(l->params[1].value, 2, -1.0f, 1.0f);
        must(gp_layer_forward(l, n, x, y, GP_TRAIN), "batchnorm forward, offset data");
        for (int c = 0; c < 2; c++) {
            double mean, var, unb;
            ref_bn_stats(l, n, x, c, &mean, &var, &unb);
            check_close("offset running_mean", (size_t)c, l->buffers[0].value[c], mean,
                        2 * U * fabs(mean));
            check_close("offset running_var", (size_t)c, l->buffers[1].value[c], unb,
                        256 * U * unb);
            double g = l->params[0].value[c], b = l->params[1].value[c];
            double invstd = 1.0 / sqrt(var + 1e-5);
            double tol = 8 * U * fabs(mean) * invstd * fabs(g) + 32 * U * (2 * fabs(g) + fabs(b));
            for (int i = 0; i < n; i++)
                for (size_t j = 0; j < hw; j++) {
                    size_t at = ((size_t)i * 2 + c) * hw + j;
                    check_close("offset batchnorm y", at, y[at], (x[at] - mean) * invstd * g + b,
                                tol);
                }
        }
        free(x); free(y);
        gp_layer_destroy(l);
    }
}

static void batchnorm_gradcheck(void **state)
{
    (void)state;
    gp_shape in = { 3, 3, 4, 5 };
    gp_layer *l = make_bn(in, 0.1f);
    size_t count = in_count(l, 3);
    float *x = falloc_uniform(count, -2, 2);
    gc_uniform(l->params[0].value, 3, 0.5f, 1.5f);
    gc_uniform(l->params[1].value, 3, -1.0f, 1.0f);
    gradcheck(l, 3, x, GP_TRAIN, "batchnorm2d train (x, weight, bias)");
    gradcheck(l, 2, x, GP_TRAIN, "batchnorm2d train, partial batch");
    gc_uniform(l->buffers[0].value, 3, -0.5f, 0.5f);
    gc_uniform(l->buffers[1].value, 3, 0.5f, 2.0f);
    gradcheck(l, 3, x, GP_EVAL, "batchnorm2d eval (x, weight, bias)");
    free(x);
    gp_layer_destroy(l);
}

/* backward overwrites the parameter gradients and accepts dx == NULL;
 * one value per channel in training is an error (as in PyTorch). */
static void batchnorm_contract(void **state)
{
    (void)state;
    gp_shape in = { 2, 2, 3, 3 };
    gp_layer *l = make_bn(in, 0.1f);
    size_t count = in_count(l, 2);
    float *x = falloc_uniform(count, -1, 1), *y = falloc_nan(count);
    float *dy = falloc_uniform(count, -1, 1), *dx = falloc_nan(count);
    must(gp_layer_forward(l, 2, x, y, GP_TRAIN), "batchnorm forward");
    must(gp_layer_backward(l, 2, x, y, dy, dx), "batchnorm backward");
    float g0[2] = { l->params[0].grad[0], l->params[0].grad[1] };
    must(gp_layer_backward(l, 2, x, y, dy, NULL), "batchnorm backward, dx NULL");
    assert_true(l->params[0].grad[0] == g0[0] && l->params[0].grad[1] == g0[1]);
    gp_layer_destroy(l);

    gp_shape single = { 1, 2, 1, 1 };
    l = make_bn(single, 0.1f);
    assert_int_equal(gp_layer_forward(l, 1, x, y, GP_TRAIN), GP_ERR_ARG);
    must(gp_layer_forward(l, 1, x, y, GP_EVAL), "batchnorm eval, one value");
    gp_layer_destroy(l);
    free(x); free(y); free(dy); free(dx);
}

/* --------------------------------------------------------------- dropout */

static gp_layer *make_dropout(gp_shape in, float p, uint64_t s)
{
    gp_layer *l;
    must(gp_dropout_create(&l, in, p, s), "dropout_create");
    return l;
}

/* Keep rate within 5 standard deviations of 1 - p (a false failure about
 * once in 3.5 million runs); kept elements scaled by PyTorch's
 * 1 / (1 - p) (1 - p in double, the division in float); dx = dy mask / (1 - p). */
static void dropout_train(void **state)
{
    (void)state;
    gp_shape in = { 16, 8, 16, 16 };
    const float p = 0.3f;
    gp_layer *l = make_dropout(in, p, tu_next());
    assert_string_equal(l->ops->kind, "dropout");
    assert_int_equal(l->workspace_bytes, 16 * 8 * 16 * 16);    /* one byte per element */
    assert_true(l->flops == 8.0 * 16 * 16);
    size_t count = in_count(l, 16);
    float *x = falloc_uniform(count, 0.5f, 1.5f), *y = falloc_nan(count);
    float *dy = falloc_uniform(count, -1, 1), *dx = falloc_nan(count);
    for (size_t i = 0; i < count; i += 2)
        x[i] = -x[i];
    must(gp_layer_forward(l, 16, x, y, GP_TRAIN), "dropout forward");
    must(gp_layer_backward(l, 16, x, y, dy, dx), "dropout backward");
    float scale = 1.0f / (float)(1.0 - 0.3);
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        int keep = y[i] != 0.0f;
        kept += (size_t)keep;
        if ((keep && (y[i] != x[i] * scale || dx[i] != dy[i] * scale)) ||
            (!keep && dx[i] != 0.0f))
            FAILF("dropout element %zu: x %g y %g dy %g dx %g (scale %g)", i, (double)x[i],
                  (double)y[i], (double)dy[i], (double)dx[i], (double)scale);
    }
    double rate = (double)kept / (double)count, sd = sqrt(0.3 * 0.7 / (double)count);
    if (fabs(rate - 0.7) > 5 * sd)
        FAILF("dropout keep rate %.4f, expected 0.7 +- %.4f", rate, 5 * sd);
    free(x); free(y); free(dy); free(dx);
    gp_layer_destroy(l);
}

static void dropout_eval_and_p0(void **state)
{
    (void)state;
    gp_shape in = { 3, 5, 4, 4 };
    gp_layer *l = make_dropout(in, 0.5f, 7), *z = make_dropout(in, 0.0f, 7);
    size_t count = in_count(l, 3);
    float *x = falloc_uniform(count, -1, 1), *y = falloc_nan(count);
    float *dy = falloc_uniform(count, -1, 1), *dx = falloc_nan(count);
    must(gp_layer_forward(l, 3, x, y, GP_EVAL), "dropout eval forward");
    must(gp_layer_backward(l, 3, x, y, dy, dx), "dropout eval backward");
    assert_memory_equal(y, x, count * sizeof *x);
    assert_memory_equal(dx, dy, count * sizeof *x);
    must(gp_layer_forward(z, 3, x, y, GP_TRAIN), "dropout p 0 forward");
    must(gp_layer_backward(z, 3, x, y, dy, dx), "dropout p 0 backward");
    assert_memory_equal(y, x, count * sizeof *x);
    assert_memory_equal(dx, dy, count * sizeof *x);
    gp_layer *bad = (gp_layer *)&bad;
    assert_int_equal(gp_dropout_create(&bad, in, 1.0f, 1), GP_ERR_ARG);
    assert_null(bad);
    assert_int_equal(gp_dropout_create(&bad, in, -0.1f, 1), GP_ERR_ARG);
    free(x); free(y); free(dy); free(dx);
    gp_layer_destroy(l);
    gp_layer_destroy(z);
}

/* Masks of two successive training forwards (kept = nonzero). */
static void dropout_masks(gp_layer *l, int n, const float *x, float *y, uint8_t *m1,
                          uint8_t *m2)
{
    size_t count = in_count(l, n);
    must(gp_layer_forward(l, n, x, y, GP_TRAIN), "dropout forward 1");
    for (size_t i = 0; i < count; i++)
        m1[i] = y[i] != 0.0f;
    must(gp_layer_forward(l, n, x, y, GP_TRAIN), "dropout forward 2");
    for (size_t i = 0; i < count; i++)
        m2[i] = y[i] != 0.0f;
}

/* Same seed, same masks (whatever the thread count); the stream advances
 * between forwards; another seed gives another mask. With 32768 elements
 * at p = 0.5, two independent masks agree by chance with probability 2^-32768. */
static void dropout_determinism(void **state)
{
    (void)state;
    gp_shape in = { 16, 8, 16, 16 };   /* large enough for the parallel path */
    uint64_t s = tu_next();
    gp_layer *a = make_dropout(in, 0.5f, s), *b = make_dropout(in, 0.5f, s);
    gp_layer *c = make_dropout(in, 0.5f, s + 1);
    size_t count = in_count(a, 16);
    float *x = falloc_uniform(count, 1.0f, 2.0f), *y = falloc_nan(count);
    uint8_t *a1 = malloc(count), *a2 = malloc(count), *b1 = malloc(count), *b2 = malloc(count);
    uint8_t *c1 = malloc(count), *c2 = malloc(count);
    assert_true(a1 && a2 && b1 && b2 && c1 && c2);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    dropout_masks(a, 16, x, y, a1, a2);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    dropout_masks(b, 16, x, y, b1, b2);
    dropout_masks(c, 16, x, y, c1, c2);
    assert_memory_equal(a1, b1, count);
    assert_memory_equal(a2, b2, count);
    assert_memory_not_equal(a1, a2, count);
    assert_memory_not_equal(a1, c1, count);
    /* a partial batch draws the same mask for the images it has */
    gp_layer *d = make_dropout(in, 0.5f, s);
    must(gp_layer_forward(d, 5, x, y, GP_TRAIN), "dropout partial batch");
    for (size_t i = 0; i < in_count(d, 5); i++)
        if ((y[i] != 0.0f) != a1[i])
            FAILF("dropout partial batch mask differs at %zu", i);
    free(x); free(y); free(a1); free(a2); free(b1); free(b2); free(c1); free(c2);
    gp_layer_destroy(a); gp_layer_destroy(b); gp_layer_destroy(c); gp_layer_destroy(d);
}

/* --------------------------------------------------------------- flatten */

static void flatten_copy_and_gradcheck(void **state)
{
    (void)state;
    gp_shape in = { 3, 4, 5, 3 };
    gp_layer *l;
    must(gp_flatten_create(&l, in), "flatten_create");
    assert_string_equal(l->ops->kind, "flatten");
    assert_true(l->out.n == 3 && l->out.c == 60 && l->out.h == 1 && l->out.w == 1);
    assert_true(l->flops == 0.0 && l->workspace_bytes == 0 && l->desc[0]);
    size_t count = in_count(l, 3);
    float *x = falloc_uniform(count, -1, 1), *y = falloc_nan(count);
    float *dy = falloc_uniform(count, -1, 1), *dx = falloc_nan(count);
    must(gp_layer_forward(l, 2, x, y, GP_TRAIN), "flatten forward");
    must(gp_layer_backward(l, 2, x, y, dy, dx), "flatten backward");
    assert_memory_equal(y, x, 2 * 60 * sizeof *x);
    assert_memory_equal(dx, dy, 2 * 60 * sizeof *x);
    assert_true(isnan(y[2 * 60]) && isnan(dx[2 * 60]));   /* nothing past n images */
    gradcheck(l, 3, x, GP_TRAIN, "flatten");
    free(x); free(y); free(dy); free(dx);
    gp_layer_destroy(l);
}

/* ------------------------------------------------------------------ loss */

/* Mean over samples of logsumexp(s) - s[label] in double, with the max
 * subtracted; s = the logits (sig 0), their sigmoids in float as the library
 * computes them (sig 1, for the loss value) or in double (sig 2, smooth
 * enough for finite differences). */
static double ref_xent(int n, int k, const float *z, const int *labels, int sig)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        double s[64], m = -INFINITY, sum = 0;
        for (int j = 0; j < k; j++) {
            float v = z[i * k + j];
            s[j] = sig == 1 ? 1.0f / (1.0f + expf(-v)) : sig == 2 ? 1.0 / (1.0 + exp(-(double)v)) : v;
            m = fmax(m, s[j]);
        }
        for (int j = 0; j < k; j++)
            sum += exp(s[j] - m);
        total += log(sum) + m - s[labels[i]];
    }
    return total / n;
}

/* Loss against ref_xent: the only float rounding is the final cast, so
 * 4 u relative. dlogits against central differences of ref_xent in double
 * (step 1e-3: truncation ~1e-8, rounding ~1e-13 over 2e-3, the float
 * sigmoid inside the library ~1e-7 relative), within 1e-6 plus 1e-4 relative. */
static void check_xent(int n, int k, const float *z, const int *labels, int sig)
{
    float loss = NAN, *g = falloc_nan((size_t)n * k), *zp = falloc_nan((size_t)n * k);
    int correct = -1;
    must(gp_softmax_xent(n, k, z, labels, sig, &loss, g, &correct), "softmax_xent");
    double ref = ref_xent(n, k, z, labels, sig);
    check_close(sig ? "xent(sigmoid) loss" : "xent loss", 0, loss, ref, 4 * U * fabs(ref));
    int hits = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < k; j++)
            best = z[i * k + j] > z[i * k + best] ? j : best;
        hits += best == labels[i];
    }
    assert_int_equal(correct, hits);
    memcpy(zp, z, (size_t)n * k * sizeof *z);
    for (size_t i = 0; i < (size_t)n * k; i++) {
        float saved = zp[i];
        zp[i] = saved + 1e-3f;
        double up = ref_xent(n, k, zp, labels, sig ? 2 : 0);
        double hu = (double)zp[i] - saved;
        zp[i] = saved - 1e-3f;
        double down = ref_xent(n, k, zp, labels, sig ? 2 : 0);
        double h = hu + (saved - (double)zp[i]);
        zp[i] = saved;
        double num = (up - down) / h;
        check_close(sig ? "xent(sigmoid) dlogits" : "xent dlogits", i, g[i], num,
                    1e-6 + 1e-4 * fabs(num));
    }
    free(g); free(zp);
}

static void xent_reference(void **state)
{
    (void)state;
    enum { N = 17, K = 10 };
    float z[N * K];
    int labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = (int)(tu_next() % K);
    for (int sig = 0; sig <= 1; sig++) {
        gc_uniform(z, N * K, -3, 3);
        check_xent(N, K, z, labels, sig);
        gc_uniform(z, N * K, -12, 12);
        check_xent(N, K, z, labels, sig);
    }
}

/* Large logits: no overflow, closed forms, and no NaN in the gradient. */
static void xent_large_logits(void **state)
{
    (void)state;
    const float z[9] = { 1e4f, 1e4f, -1e4f,      /* label 0: log 2 */
                         1e4f, 0.0f, 0.0f,       /* label 1: 1e4 + log(1 + 2 e^-1e4) */
                         -1e4f, 3.0f, 1e4f };    /* label 2: log(1 + e^-1e4 + e^(3-1e4)) ~ 0 */
    const int labels[3] = { 0, 1, 2 };
    float loss, g[9];
    int correct;
    must(gp_softmax_xent(3, 3, z, labels, 0, &loss, g, &correct), "softmax_xent large");
    double want = (log(2.0) + 1e4 + 0.0) / 3;
    check_close("xent large-logit loss", 0, loss, want, 4 * U * want);
    assert_int_equal(correct, 2);     /* row 0 ties at 0 and 1: first max, 0, is a hit */
    const double gw[9] = { -0.5 / 3, 0.5 / 3, 0, 1.0 / 3, -1.0 / 3, 0, 0, 0, 0 };
    for (int i = 0; i < 9; i++)
        check_close("xent large-logit dlogits", (size_t)i, g[i], gw[i], 1e-7);
    must(gp_softmax_xent(3, 3, z, labels, 1, &loss, g, NULL), "softmax_xent large, sigmoid");
    assert_true(isfinite(loss));
    for (int i = 0; i < 9; i++)
        assert_true(isfinite(g[i]));
    check_close("xent large-logit loss (sigmoid)", 0, loss, ref_xent(3, 3, z, labels, 1),
                4 * U * 2);
}

static void xent_errors(void **state)
{
    (void)state;
    float z[6] = { 1, 2, 3, 4, 5, 6 }, loss = 0;
    int bad_hi[2] = { 0, 3 }, bad_lo[2] = { -1, 0 }, ok[2] = { 2, 0 };
    assert_int_equal(gp_softmax_xent(2, 3, z, bad_hi, 0, &loss, NULL, NULL), GP_ERR_ARG);
    assert_true(strstr(gp_last_error(), "label") != NULL);
    assert_int_equal(gp_softmax_xent(2, 3, z, bad_lo, 0, &loss, NULL, NULL), GP_ERR_ARG);
    assert_int_equal(gp_softmax_xent(0, 3, z, ok, 0, &loss, NULL, NULL), GP_ERR_ARG);
    assert_int_equal(gp_softmax_xent(2, 3, NULL, ok, 0, &loss, NULL, NULL), GP_ERR_ARG);
    must(gp_softmax_xent(2, 3, z, ok, 0, &loss, NULL, NULL), "softmax_xent, NULL outputs");
    /* row 0: -log softmax([1, 2, 3])[2]; row 1: -log softmax([4, 5, 6])[0] */
    double want = (log(exp(-2.0) + exp(-1.0) + 1.0) + log(1.0 + exp(1.0) + exp(2.0))) / 2;
    check_close("xent hand loss", 0, loss, want, 4 * U * want);
}

/* ---------------------------------------------- thread-count independence */

/* The layers split work over planes or channels and never over a sum, so
 * one and two threads give bit-identical results. */
static void layers_thread_invariant(void **state)
{
    (void)state;
#ifndef _OPENMP
    skip();
#else
    gp_shape in = { 8, 16, 16, 16 };   /* above every parallel threshold */
    gp_layer *ls[5];
    must(gp_pool2d_create(&ls[0], in, GP_POOL_MAX, 3, 2, 1, 1), "pool2d_create");
    must(gp_pool2d_create(&ls[1], in, GP_POOL_AVG, 3, 2, 1, 1), "pool2d_create");
    must(gp_batchnorm2d_create(&ls[2], in, 0.1f, 1e-5f), "batchnorm2d_create");
    must(gp_pool2d_create(&ls[3], in, GP_POOL_MAX, 2, 2, 0, 0), "pool2d_create 2x2");
    must(gp_relu_create(&ls[4], in), "relu_create");
    size_t xs = in_count(ls[0], 8);
    float *x = falloc_uniform(xs, -1, 1), *dx1 = falloc_nan(xs), *dx2 = falloc_nan(xs);
    float *y1 = falloc_nan(xs), *y2 = falloc_nan(xs), *dy = falloc_uniform(xs, -1, 1);
    for (int k = 0; k < 5; k++) {
        size_t ys = out_count(ls[k], 8);
        omp_set_num_threads(1);
        must(gp_layer_forward(ls[k], 8, x, y1, GP_TRAIN), "forward, 1 thread");
        must(gp_layer_backward(ls[k], 8, x, y1, dy, dx1), "backward, 1 thread");
        float g1 = ls[k]->nparams ? ls[k]->params[0].grad[3] : 0;
        omp_set_num_threads(2);
        must(gp_layer_forward(ls[k], 8, x, y2, GP_TRAIN), "forward, 2 threads");
        must(gp_layer_backward(ls[k], 8, x, y2, dy, dx2), "backward, 2 threads");
        float g2 = ls[k]->nparams ? ls[k]->params[0].grad[3] : 0;
        assert_memory_equal(y1, y2, ys * sizeof *y1);
        assert_memory_equal(dx1, dx2, xs * sizeof *dx1);
        assert_true(g1 == g2);
        gp_layer_destroy(ls[k]);
    }
    free(x); free(dx1); free(dx2); free(y1); free(y2); free(dy);
#endif
}

/* ----------------------------------------------------------------- main */

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("layers");
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_list),
        cmocka_unit_test(kinds_create_errors),
        cmocka_unit_test(relu_values_and_gradcheck),
        cmocka_unit_test(sigmoid_values_and_gradcheck),
        cmocka_unit_test(pool2d_output_sizes),
        cmocka_unit_test(pool2d_errors),
        cmocka_unit_test(pool2d_fields),
        cmocka_unit_test(pool2d_reference),
        cmocka_unit_test(avgpool_ceil_divisor),
        cmocka_unit_test(maxpool_ties_and_nan),
        cmocka_unit_test(maxpool_2x2_ties_and_nan),
        cmocka_unit_test(pool2d_gradcheck),
        cmocka_unit_test(kpool_layers_gradcheck),
        cmocka_unit_test(kpool_layers_fields),
        cmocka_unit_test(batchnorm_fields),
        cmocka_unit_test(batchnorm_running_stats),
        cmocka_unit_test(batchnorm_offset_data),
        cmocka_unit_test(batchnorm_gradcheck),
        cmocka_unit_test(batchnorm_contract),
        cmocka_unit_test(dropout_train),
        cmocka_unit_test(dropout_eval_and_p0),
        cmocka_unit_test(dropout_determinism),
        cmocka_unit_test(flatten_copy_and_gradcheck),
        cmocka_unit_test(xent_reference),
        cmocka_unit_test(xent_large_logits),
        cmocka_unit_test(xent_errors),
        cmocka_unit_test(layers_thread_invariant),
    };
    return cmocka_run_group_tests_name("layers", tests, group_setup, NULL);
}
