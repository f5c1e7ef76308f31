/*
 * test_optim.c - networks, initializers, optimizers, .npy files and
 * checkpoints.
 *
 * Two layer kinds defined here keep these tests independent of the real
 * layers: "tfc", a fully connected layer y = alpha (W x + b) with a
 * fixed_init scalar alpha and a running-mean buffer updated in training,
 * and "tvec", an identity layer carrying one parameter vector of any size
 * (for optimizer tests that set gradients by hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpool_nn.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"

static uint64_t seed;
static char tmpdir[64];

#define FAIL_SEED() \
    fprintf(stderr, "# seed %llu (rerun with GPOOL_TEST_SEED=%llu)\n", \
            (unsigned long long)seed, (unsigned long long)seed)

/* ------------------------------------------------ test-only layers */

typedef struct {
    int dx_was_null;    /* the last backward got dx = NULL */
} tl_priv;

static int tl_destroyed;    /* how many test layers were destroyed */

static void tl_destroy(gp_layer *l)
{
    for (int i = 0; i < l->nparams; i++) {
        free(l->params[i].value);
        free(l->params[i].grad);
    }
    for (int i = 0; i < l->nbuffers; i++)
        free(l->buffers[i].value);
    free(l->priv);
    free(l);
    tl_destroyed++;
}

static gp_param *tl_param(gp_layer *l, const char *name, size_t count, int fan_in,
                          int fan_out, int is_bias)
{
    gp_param *p = &l->params[l->nparams++];
    p->name = name;
    p->value = calloc(count, sizeof(float));
    p->grad = calloc(count, sizeof(float));
    assert_non_null(p->value);
    assert_non_null(p->grad);
    p->count = count;
    /* the checkpoint shape of a library weight: [out, in] when the fan divides it */
    p->ndims = fan_in > 0 && !is_bias && count % (size_t)fan_in == 0 ? 2 : 1;
    p->dims[0] = p->ndims == 2 ? count / (size_t)fan_in : count;
    p->dims[1] = (size_t)fan_in;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->is_bias = is_bias;
    return p;
}

static gp_layer *tl_new(const gp_layer_ops *ops, gp_shape in, gp_shape out)
{
    gp_layer *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->priv = calloc(1, sizeof(tl_priv));
    assert_non_null(l->priv);
    l->ops = ops;
    l->in = in;
    l->out = out;
    l->out.n = in.n;
    return l;
}

static int tfc_in(const gp_layer *l) { return l->in.c * l->in.h * l->in.w; }

/* s = W x + b for image k into s[0..out) */
static void tfc_affine(const gp_layer *l, const float *x, float *s)
{
    int in = tfc_in(l), out = l->out.c;
    const float *w = l->params[0].value, *b = l->params[1].value;
    for (int o = 0; o < out; o++) {
        float acc = b[o];
        for (int i = 0; i < in; i++)
            acc += w[(size_t)o * in + i] * x[i];
        s[o] = acc;
    }
}

static gp_status tfc_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    int in = tfc_in(l), out = l->out.c;
    float alpha = l->params[2].value[0], *running = l->buffers[0].value;
    for (int k = 0; k < n; k++) {
        tfc_affine(l, x + (size_t)k * in, y + (size_t)k * out);
        for (int o = 0; o < out; o++)
            y[(size_t)k * out + o] *= alpha;
    }
    if (mode == GP_TRAIN)
        for (int o = 0; o < out; o++) {
            float mean = 0;
            for (int k = 0; k < n; k++)
                mean += y[(size_t)k * out + o];
            running[o] = 0.9f * running[o] + 0.1f * (mean / (float)n);
        }
    return GP_OK;
}

static gp_status tfc_backward(gp_layer *l, int n, const float *x, const float *y,
                              const float *dy, float *dx)
{
    (void)y;
    int in = tfc_in(l), out = l->out.c;
    float alpha = l->params[2].value[0];
    const float *w = l->params[0].value;
    float *dw = l->params[0].grad, *db = l->params[1].grad, *da = l->params[2].grad;
    float *s = malloc((size_t)out * sizeof *s);
    assert_non_null(s);
    memset(dw, 0, l->params[0].count * sizeof(float));
    memset(db, 0, l->params[1].count * sizeof(float));
    da[0] = 0;
    for (int k = 0; k < n; k++) {
        const float *xk = x + (size_t)k * in, *dyk = dy + (size_t)k * out;
        tfc_affine(l, xk, s);
        for (int o = 0; o < out; o++) {
            da[0] += dyk[o] * s[o];
            db[o] += alpha * dyk[o];
            for (int i = 0; i < in; i++)
                dw[(size_t)o * in + i] += alpha * dyk[o] * xk[i];
        }
        for (int i = 0; dx && i < in; i++) {
            float acc = 0;
            for (int o = 0; o < out; o++)
                acc += alpha * dyk[o] * w[(size_t)o * in + i];
            dx[(size_t)k * in + i] = acc;
        }
    }
    ((tl_priv *)l->priv)->dx_was_null = dx == NULL;
    free(s);
    return GP_OK;
}

static const gp_layer_ops tfc_ops = {
    .kind = "tfc", .forward = tfc_forward, .backward = tfc_backward, .destroy = tl_destroy
};

static gp_layer *tfc_create(gp_shape in, int out_f, float alpha, size_t workspace)
{
    gp_layer *l = tl_new(&tfc_ops, in, (gp_shape){ in.n, out_f, 1, 1 });
    int in_f = tfc_in(l);
    tl_param(l, "weight", (size_t)out_f * in_f, in_f, out_f, 0);
    tl_param(l, "bias", (size_t)out_f, in_f, out_f, 1);
    gp_param *a = tl_param(l, "alpha", 1, 0, 0, 0);
    a->fixed_init = 1;
    a->value[0] = alpha;
    l->buffers[0].name = "running_mean";
    l->buffers[0].count = (size_t)out_f;
    l->buffers[0].ndims = 1;
    l->buffers[0].dims[0] = (size_t)out_f;
    l->buffers[0].value = calloc((size_t)out_f, sizeof(float));
    assert_non_null(l->buffers[0].value);
    l->nbuffers = 1;
    l->flops = 2.0 * in_f * out_f;
    l->workspace_bytes = workspace;
    return l;
}

static gp_status tvec_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    memcpy(y, x, (size_t)n * gp_shape_image_size(l->in) * sizeof(float));
    return GP_OK;
}

static gp_status tvec_backward(gp_layer *l, int n, const float *x, const float *y,
                               const float *dy, float *dx)
{
    (void)x; (void)y;
    if (dx)
        memcpy(dx, dy, (size_t)n * gp_shape_image_size(l->in) * sizeof(float));
    return GP_OK;
}

static const gp_layer_ops tvec_ops = {
    .kind = "tvec", .forward = tvec_forward, .backward = tvec_backward, .destroy = tl_destroy
};

/* A one-layer net whose only parameter is a vector of count floats. */
static gp_net *tvec_net(size_t count)
{
    gp_shape in = { 1, 1, 1, 1 };
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    gp_layer *l = tl_new(&tvec_ops, in, in);
    tl_param(l, "weight", count, (int)count, 1, 0);
    assert_int_equal(gp_net_add(net, l), GP_OK);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    return net;
}

/* in -> 7 -> 6 -> 4 (three tfc layers, so both ping-pong buffers are used). */
static gp_net *tfc_net(gp_shape in, int last)
{
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    const int outs[3] = { 7, 6, last };
    for (int i = 0; i < 3; i++) {
        gp_layer *l = tfc_create(gp_net_out_shape(net), outs[i], 0.75f + 0.125f * (float)i,
                               100 * (size_t)(i + 1));
        assert_int_equal(gp_net_add(net, l), GP_OK);
    }
    assert_int_equal(gp_net_finalize(net), GP_OK);
    return net;
}

static void fill_uniform(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(lo, hi);
}

/* ------------------------------------------------------------- nets */

static void test_net_add_checks_shape(void **state)
{
    (void)state;
    gp_shape in = { 4, 2, 3, 3 };
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    gp_shape wrong_w = { 4, 2, 3, 4 }, wrong_n = { 5, 2, 3, 3 };
    int before = tl_destroyed;
    assert_int_equal(gp_net_add(net, tfc_create(wrong_w, 3, 1, 0)), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "4x2x3x4"));
    assert_non_null(strstr(gp_last_error(), "4x2x3x3"));
    assert_int_equal(gp_net_add(net, tfc_create(wrong_n, 3, 1, 0)), GP_ERR_ARG);
    assert_int_equal(tl_destroyed, before + 2);     /* the net took ownership */
    assert_int_equal(gp_net_layer_count(net), 0);
    assert_int_equal(gp_net_finalize(net), GP_ERR_ARG);    /* no layers */

    assert_int_equal(gp_net_add(net, tfc_create(in, 3, 1, 0)), GP_OK);
    gp_shape out = gp_net_out_shape(net);
    assert_true(out.n == 4 && out.c == 3 && out.h == 1 && out.w == 1);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    before = tl_destroyed;
    assert_int_equal(gp_net_add(net, tfc_create(out, 2, 1, 0)), GP_ERR_ARG);
    assert_int_equal(tl_destroyed, before + 1);
    gp_net_destroy(net);
    assert_int_equal(tl_destroyed, before + 2);
}

static void test_net_matches_manual_composition(void **state)
{
    (void)state;
    gp_shape in = { 5, 2, 3, 3 };
    gp_net *net = tfc_net(in, 4);
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0, &rng), GP_OK);
    const int n = 3;    /* a partial batch */
    const size_t sizes[4] = { 18, 7, 6, 4 };
    float x[5 * 18], dy[3 * 4], y[4][3 * 18], g[4][3 * 18];
    fill_uniform(x, sizeof x / sizeof x[0], -1, 1);
    fill_uniform(dy, sizeof dy / sizeof dy[0], -1, 1);

    const float *out;
    assert_int_equal(gp_net_forward(net, n, x, GP_TRAIN, &out), GP_OK);
    float net_y[3 * 4];
    memcpy(net_y, out, sizeof net_y);
    assert_int_equal(gp_net_backward(net, n + 1, dy), GP_ERR_ARG);   /* batch differs */
    assert_int_equal(gp_net_backward(net, n, dy), GP_OK);
    assert_true(((tl_priv *)gp_net_layer(net, 0)->priv)->dx_was_null);
    float *net_grads[9];
    for (int i = 0; i < gp_net_param_tensors(net); i++) {
        gp_param *p = gp_net_param(net, i);
        net_grads[i] = malloc(p->count * sizeof(float));
        memcpy(net_grads[i], p->grad, p->count * sizeof(float));
    }

    /* the same layers called by hand, each output in its own buffer */
    memcpy(y[0], x, (size_t)n * sizes[0] * sizeof(float));
    for (int i = 0; i < 3; i++)
        assert_int_equal(gp_layer_forward(gp_net_layer(net, i), n, y[i], y[i + 1], GP_TRAIN),
                         GP_OK);
    assert_memory_equal(net_y, y[3], sizeof net_y);
    memcpy(g[3], dy, sizeof dy);
    for (int i = 2; i >= 0; i--)
        assert_int_equal(gp_layer_backward(gp_net_layer(net, i), n, y[i], y[i + 1], g[i + 1],
                                           g[i]), GP_OK);
    assert_int_equal(gp_net_param_tensors(net), 9);
    for (int i = 0; i < 9; i++) {
        gp_param *p = gp_net_param(net, i);
        assert_memory_equal(net_grads[i], p->grad, p->count * sizeof(float));
        free(net_grads[i]);
    }
    /* the output really depends on the weights (not a trivially equal pair) */
    float spread = 0;
    for (int i = 0; i < n * 4; i++)
        spread += fabsf(net_y[i] - net_y[0]);
    assert_true(spread > 1e-3f);
    assert_null(gp_net_param(net, 9));
    assert_null(gp_net_layer(net, 3));
    gp_net_destroy(net);
}

static void test_net_memory_report(void **state)
{
    (void)state;
    gp_shape in = { 5, 2, 3, 3 };
    gp_net *net = tfc_net(in, 4);
    /* weights + bias + alpha: 7*18+7+1, 6*7+6+1, 4*6+4+1 */
    const size_t params = 134 + 49 + 29;
    assert_int_equal(gp_net_param_floats(net), params);
    assert_true(gp_net_flops(net) == 2.0 * (18 * 7 + 7 * 6 + 6 * 4));
    gp_mem_report r = gp_net_memory(net, 2);
    assert_int_equal(r.params, params * 4);
    assert_int_equal(r.grads, params * 4);
    assert_int_equal(r.optim_state, params * 4 * 2);
    /* outputs 5 x (7 + 6 + 4), plus two gradient buffers of the largest (5 x 7) */
    assert_int_equal(r.activations, (5 * (7 + 6 + 4) + 2 * 5 * 7) * 4);
    assert_int_equal(r.workspace, 100 + 200 + 300);
    assert_int_equal(r.total, r.params + r.grads + r.optim_state + r.activations + r.workspace);
    gp_net_destroy(net);
}

/* -------------------------------------------------------------- init */

/* A net with one 512 -> 256 tfc (131072 weights) for the statistics. */
static gp_net *big_net(void)
{
    gp_shape in = { 1, 512, 1, 1 };
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    assert_int_equal(gp_net_add(net, tfc_create(in, 256, 0.5f, 0)), GP_OK);
    assert_int_equal(gp_net_finalize(net), GP_OK);
    return net;
}

static void moments(const float *v, size_t n, double *mean, double *var, double *maxabs)
{
    double s = 0, s2 = 0;
    *maxabs = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        *maxabs = fmax(*maxabs, fabs(v[i]));
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += (v[i] - *mean) * (v[i] - *mean);
    *var = s2 / (double)n;
}

/* Tolerances: with N = 131072 samples the sample variance of a uniform has
 * relative standard error sqrt(0.8 / N) = 0.25%, of a normal sqrt(2 / N) =
 * 0.4%; 3% is more than 7 standard errors. The mean's standard error is
 * sigma / sqrt(N) = 0.003 sigma; 0.02 sigma is 7 of them. A uniform's
 * largest |value| falls short of the bound by about bound / N. */
static void check_weights(const gp_param *w, int uniform, double bound_or_std)
{
    double mean, var, maxabs;
    moments(w->value, w->count, &mean, &var, &maxabs);
    double want_var = uniform ? bound_or_std * bound_or_std / 3 : bound_or_std * bound_or_std;
    if (fabs(var / want_var - 1) > 0.03 || fabs(mean) > 0.02 * sqrt(want_var))
        FAIL_SEED();
    assert_true(fabs(var / want_var - 1) <= 0.03);
    assert_true(fabs(mean) <= 0.02 * sqrt(want_var));
    if (uniform) {
        assert_true(maxabs < bound_or_std);
        assert_true(maxabs > 0.999 * bound_or_std);
    } else {
        assert_true(maxabs > 3.5 * bound_or_std);   /* tails exist (P(miss) ~ 1e-23) */
    }
}

static void test_init_kinds(void **state)
{
    (void)state;
    const double fi = 512, fo = 256;
    const struct { gp_init_kind kind; int uniform; double scale; } cases[] = {
        { GP_INIT_TORCH_DEFAULT, 1, 1 / sqrt(fi) },
        { GP_INIT_XAVIER_UNIFORM, 1, sqrt(6 / (fi + fo)) },
        { GP_INIT_XAVIER_NORMAL, 0, sqrt(2 / (fi + fo)) },
        { GP_INIT_KAIMING_UNIFORM, 1, sqrt(6 / fi) },
        { GP_INIT_KAIMING_NORMAL, 0, sqrt(2 / fi) },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gp_net *net = big_net();
        gp_rng rng;
        gp_rng_seed(&rng, seed + c);
        assert_int_equal(gp_net_init(net, cases[c].kind, 0.25f, &rng), GP_OK);
        gp_param *w = gp_net_param(net, 0), *b = gp_net_param(net, 1), *a = gp_net_param(net, 2);
        check_weights(w, cases[c].uniform, cases[c].scale);
        double bmean, bvar, bmax;
        moments(b->value, b->count, &bmean, &bvar, &bmax);
        if (cases[c].kind == GP_INIT_TORCH_DEFAULT) {
            /* bias U(+-1/sqrt(fan_in)): inside the bound and spread out */
            assert_true(bmax < 1 / sqrt(fi));
            assert_true(bvar > 0.5 * (1 / fi) / 3);
        } else {
            for (size_t i = 0; i < b->count; i++)
                assert_true(b->value[i] == 0.25f);
        }
        assert_true(a->value[0] == 0.5f);    /* fixed_init: untouched */
        gp_net_destroy(net);
    }
}

/* Layers and parameters draw from the stream in order; constant biases and
 * fixed_init parameters draw nothing. */
static void test_init_stream_order(void **state)
{
    (void)state;
    gp_shape in = { 2, 3, 1, 1 };
    gp_net *net = tfc_net(in, 2);
    gp_rng rng, ref;
    gp_rng_seed(&rng, seed);
    gp_rng_seed(&ref, seed);
    assert_int_equal(gp_net_init(net, GP_INIT_XAVIER_UNIFORM, -0.5f, &rng), GP_OK);
    for (int li = 0; li < 3; li++) {
        gp_param *w = &gp_net_layer(net, li)->params[0];
        float bound = (float)sqrt(6.0 / (w->fan_in + w->fan_out));
        for (size_t i = 0; i < w->count; i++)
            assert_true(w->value[i] == gp_rng_uniform(&ref, -bound, bound));
        assert_true(gp_net_layer(net, li)->params[1].value[0] == -0.5f);
    }
    assert_true(gp_rng_next(&rng) == gp_rng_next(&ref));

    /* same seed, same weights; another seed, other weights */
    gp_net *twin = tfc_net(in, 2), *other = tfc_net(in, 2);
    gp_rng_seed(&rng, seed);
    assert_int_equal(gp_net_init(twin, GP_INIT_XAVIER_UNIFORM, -0.5f, &rng), GP_OK);
    gp_rng_seed(&rng, seed ^ 0x5555);
    assert_int_equal(gp_net_init(other, GP_INIT_XAVIER_UNIFORM, -0.5f, &rng), GP_OK);
    gp_param *p = gp_net_param(net, 0);
    assert_memory_equal(p->value, gp_net_param(twin, 0)->value, p->count * sizeof(float));
    assert_memory_not_equal(p->value, gp_net_param(other, 0)->value, p->count * sizeof(float));
    gp_net_destroy(net);
    gp_net_destroy(twin);
    gp_net_destroy(other);
}

static void test_init_names_and_errors(void **state)
{
    (void)state;
    for (int k = GP_INIT_TORCH_DEFAULT; k <= GP_INIT_KAIMING_NORMAL; k++) {
        gp_init_kind back;
        assert_int_equal(gp_init_parse(gp_init_name((gp_init_kind)k), &back), GP_OK);
        assert_int_equal(back, k);
    }
    gp_init_kind kind;
    assert_int_equal(gp_init_parse("he_normal", &kind), GP_ERR_NOTFOUND);
    assert_string_equal(gp_init_name(GP_INIT_XAVIER_NORMAL), "xavier_normal");

    /* a weight without fans cannot be initialized; nothing is drawn or written */
    gp_net *net = tvec_net(4);
    gp_param *w = gp_net_param(net, 0);
    w->fan_in = 0;
    w->value[0] = 7;
    gp_rng rng;
    gp_rng_seed(&rng, 1);
    assert_int_equal(gp_net_init(net, GP_INIT_KAIMING_UNIFORM, 0, &rng), GP_ERR_ARG);
    assert_true(w->value[0] == 7);
    gp_net_destroy(net);
}

/* -------------------------------------------------------- optimizers */

static void test_optim_defaults(void **state)
{
    (void)state;
    /* torch.optim 1.13: SGD(lr=required, momentum=0, dampening=0,
     * weight_decay=0, nesterov=False); Adam(lr=1e-3, betas=(0.9, 0.999),
     * eps=1e-8, weight_decay=0); AdamW(... weight_decay=1e-2) */
    gp_optim_desc s = gp_optim_defaults(GP_OPTIM_SGD);
    assert_int_equal(s.kind, GP_OPTIM_SGD);
    assert_true(s.lr == 0.01f && s.momentum == 0 && s.dampening == 0 && !s.nesterov &&
                s.weight_decay == 0);
    gp_optim_desc a = gp_optim_defaults(GP_OPTIM_ADAM);
    assert_true(a.lr == 1e-3f && a.beta1 == 0.9f && a.beta2 == 0.999f && a.eps == 1e-8f &&
                a.weight_decay == 0);
    gp_optim_desc w = gp_optim_defaults(GP_OPTIM_ADAMW);
    assert_int_equal(w.kind, GP_OPTIM_ADAMW);
    assert_true(w.lr == 1e-3f && w.beta1 == 0.9f && w.beta2 == 0.999f && w.eps == 1e-8f &&
                w.weight_decay == 1e-2f);

    for (int k = GP_OPTIM_SGD; k <= GP_OPTIM_ADAMW; k++) {
        gp_optim_kind back;
        assert_int_equal(gp_optim_parse(gp_optim_name((gp_optim_kind)k), &back), GP_OK);
        assert_int_equal(back, k);
    }
    gp_optim_kind kind;
    assert_int_equal(gp_optim_parse("rmsprop", &kind), GP_ERR_NOTFOUND);

    gp_net *net = tvec_net(3);
    gp_optim *o;
    assert_int_equal(gp_optim_create(&o, &s, net), GP_OK);
    assert_int_equal(gp_optim_state_per_param(o), 0);
    gp_optim_destroy(o);
    s.momentum = 0.9f;
    assert_int_equal(gp_optim_create(&o, &s, net), GP_OK);
    assert_int_equal(gp_optim_state_per_param(o), 1);
    const char *name = NULL;
    assert_non_null(gp_optim_state(o, 0, 0, &name));
    assert_string_equal(name, "momentum");
    assert_null(gp_optim_state(o, 0, 1, NULL));
    gp_optim_destroy(o);
    assert_int_equal(gp_optim_create(&o, &a, net), GP_OK);
    assert_int_equal(gp_optim_state_per_param(o), 2);
    assert_non_null(gp_optim_state(o, 0, 1, &name));
    assert_string_equal(name, "exp_avg_sq");
    gp_optim_destroy(o);

    /* what torch.optim rejects */
    gp_optim_desc bad = gp_optim_defaults(GP_OPTIM_SGD);
    bad.nesterov = 1;
    assert_int_equal(gp_optim_create(&o, &bad, net), GP_ERR_ARG);   /* no momentum */
    bad.momentum = 0.9f;
    bad.dampening = 0.1f;
    assert_int_equal(gp_optim_create(&o, &bad, net), GP_ERR_ARG);   /* dampening */
    bad = gp_optim_defaults(GP_OPTIM_ADAM);
    bad.beta1 = 1.0f;
    assert_int_equal(gp_optim_create(&o, &bad, net), GP_ERR_ARG);
    bad = gp_optim_defaults(GP_OPTIM_ADAM);
    bad.lr = -1e-3f;
    assert_int_equal(gp_optim_create(&o, &bad, net), GP_ERR_ARG);
    gp_net_destroy(net);
}

#define OPT_N     6
#define OPT_STEPS 4

/* One step of the reference, in double, written from the formulas in
 * gpool_nn.h / the PyTorch documentation rather than from optim.c. */
static void ref_step(const gp_optim_desc *d, int t, double lr, double *p, const double *grad,
                     double *s0, double *s1)
{
    for (int i = 0; i < OPT_N; i++) {
        double g = grad[i];
        if (d->kind == GP_OPTIM_SGD) {
            g += (double)d->weight_decay * p[i];
            if (d->momentum != 0) {
                s0[i] = t == 1 ? g : d->momentum * s0[i] + (1 - (double)d->dampening) * g;
                g = d->nesterov ? g + (double)d->momentum * s0[i] : s0[i];
            }
            p[i] -= lr * g;
            continue;
        }
        if (d->kind == GP_OPTIM_ADAMW)
            p[i] *= 1 - lr * d->weight_decay;
        else
            g += (double)d->weight_decay * p[i];
        s0[i] = d->beta1 * s0[i] + (1 - (double)d->beta1) * g;
        s1[i] = d->beta2 * s1[i] + (1 - (double)d->beta2) * g * g;
        double mhat = s0[i] / (1 - pow(d->beta1, t));
        double vhat = s1[i] / (1 - pow(d->beta2, t));
        p[i] -= lr * mhat / (sqrt(vhat) + d->eps);
    }
}

/* Four steps of d on six parameters against the double reference.
 * Tolerance 2e-6 absolute + 2e-6 relative: parameters are O(1) and each
 * float step adds a few roundings of 6e-8 relative to the parameter and to
 * an update of at most ~lr; four steps stay below 1e-6. A wrong rule (bias
 * correction, dampening, nesterov term, decay placement) moves a parameter
 * by a sizeable fraction of lr = 0.05, four orders of magnitude more. */
static void check_optimizer(const gp_optim_desc *d, const char *label)
{
    gp_net *net = tvec_net(OPT_N);
    gp_param *p = gp_net_param(net, 0);
    double rp[OPT_N], g[OPT_N], s0[OPT_N] = { 0 }, s1[OPT_N] = { 0 };
    for (int i = 0; i < OPT_N; i++)
        rp[i] = p->value[i] = tu_uniform(-1, 1);
    gp_optim *o;
    assert_int_equal(gp_optim_create(&o, d, net), GP_OK);
    for (int t = 1; t <= OPT_STEPS; t++) {
        for (int i = 0; i < OPT_N; i++) {
            float v = tu_uniform(0.1f, 2.0f);
            g[i] = p->grad[i] = tu_next() & 1 ? v : -v;
        }
        /* a learning-rate schedule: the step's lr is the one used */
        float lr = d->lr * (t == 3 ? 0.5f : 1.0f);
        assert_int_equal(gp_optim_step(o, lr), GP_OK);
        ref_step(d, t, lr, rp, g, s0, s1);
        assert_int_equal(gp_optim_steps(o), t);
        for (int i = 0; i < OPT_N; i++) {
            double err = fabs(p->value[i] - rp[i]), tol = 2e-6 + 2e-6 * fabs(rp[i]);
            if (err > tol) {
                fprintf(stderr, "# %s step %d p[%d] = %.9g, reference %.9g\n", label, t, i,
                        (double)p->value[i], rp[i]);
                FAIL_SEED();
            }
            assert_true(err <= tol);
        }
    }
    gp_optim_destroy(o);
    gp_net_destroy(net);
}

static void test_optim_against_reference(void **state)
{
    (void)state;
    gp_optim_desc d = gp_optim_defaults(GP_OPTIM_SGD);
    d.lr = 0.05f;
    check_optimizer(&d, "sgd");
    d.weight_decay = 0.1f;
    check_optimizer(&d, "sgd wd");
    d.weight_decay = 0;
    d.momentum = 0.9f;
    check_optimizer(&d, "sgd momentum");
    d.dampening = 0.3f;
    check_optimizer(&d, "sgd momentum dampening");
    d.dampening = 0;
    d.nesterov = 1;
    d.weight_decay = 0.05f;
    check_optimizer(&d, "sgd nesterov wd");

    d = gp_optim_defaults(GP_OPTIM_ADAM);
    d.lr = 0.05f;
    check_optimizer(&d, "adam");
    d.weight_decay = 0.1f;
    d.beta1 = 0.8f;
    d.beta2 = 0.99f;
    d.eps = 1e-3f;
    check_optimizer(&d, "adam wd");
    d = gp_optim_defaults(GP_OPTIM_ADAMW);
    d.lr = 0.05f;
    d.weight_decay = 0.5f;
    check_optimizer(&d, "adamw");
}

/* ------------------------------------------- bit-exactness with torch */

#define TORCH_N     40009   /* odd, and above the threaded threshold */
#define TORCH_STEPS 5

typedef struct {
    const char *name, *kind, *lr, *momentum, *dampening, *nesterov, *beta1, *beta2, *eps, *wd;
} torch_case;

static const torch_case torch_cases[] = {
    { "adam", "adam", "0.0123", "0", "0", "0", "0.85", "0.995", "1e-07", "0" },
    { "adam_wd", "adam", "0.001", "0", "0", "0", "0.9", "0.999", "1e-08", "0.05" },
    { "adamw", "adamw", "0.002", "0", "0", "0", "0.9", "0.999", "1e-08", "0.01" },
    { "sgd", "sgd", "0.05", "0", "0", "0", "0", "0", "0", "0" },
    { "sgd_nesterov", "sgd", "0.03", "0.9", "0", "1", "0", "0", "0", "0.001" },
    { "sgd_damp", "sgd", "0.01", "0.8", "0.3", "0", "0", "0", "0", "0" },
};

static const char torch_script[] =
    "import sys, numpy as np, torch\n"
    "d = sys.argv[1]\n"
    "for line in open(d + '/cases.txt'):\n"
    "    name, kind, lr, mom, damp, nest, b1, b2, eps, wd, steps = line.split()\n"
    "    p = torch.nn.Parameter(torch.from_numpy(np.load(f'{d}/{name}.p0.npy')))\n"
    "    if kind == 'sgd':\n"
    "        o = torch.optim.SGD([p], lr=float(lr), momentum=float(mom), dampening=float(damp),\n"
    "                            nesterov=bool(int(nest)), weight_decay=float(wd), foreach=False)\n"
    "    else:\n"
    "        cls = torch.optim.Adam if kind == 'adam' else torch.optim.AdamW\n"
    "        o = cls([p], lr=float(lr), betas=(float(b1), float(b2)), eps=float(eps),\n"
    "                weight_decay=float(wd), foreach=False)\n"
    "    for t in range(int(steps)):\n"
    "        p.grad = torch.from_numpy(np.load(f'{d}/{name}.g{t}.npy'))\n"
    "        o.step()\n"
    "    np.save(f'{d}/{name}.p.npy', p.detach().numpy())\n"
    "    for k, v in o.state[p].items():\n"
    "        if k != 'step' and v is not None:\n"
    "            np.save(f'{d}/{name}.{k}.npy', v.numpy())\n";

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int have_python_module(const char *module)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, PYTHON " -c 'import %s' >/dev/null 2>&1", module);
    return system(cmd) == 0;
}

static gp_optim_desc torch_desc(const torch_case *c)
{
    gp_optim_kind kind;
    assert_int_equal(gp_optim_parse(c->kind, &kind), GP_OK);
    gp_optim_desc d = gp_optim_defaults(kind);
    d.lr = strtof(c->lr, NULL);
    d.momentum = strtof(c->momentum, NULL);
    d.dampening = strtof(c->dampening, NULL);
    d.nesterov = atoi(c->nesterov);
    if (kind != GP_OPTIM_SGD) {
        d.beta1 = strtof(c->beta1, NULL);
        d.beta2 = strtof(c->beta2, NULL);
        d.eps = strtof(c->eps, NULL);
    }
    d.weight_decay = strtof(c->wd, NULL);
    return d;
}

/* Inputs for one case: initial parameters and a gradient per step, with
 * magnitudes over six decades so small and large updates both occur. */
static void torch_write_inputs(const torch_case *c, float *p0, float *grads)
{
    char path[256], file[128];
    size_t dims[1] = { TORCH_N };
    fill_uniform(p0, TORCH_N, -1, 1);
    snprintf(file, sizeof file, "%s.p0.npy", c->name);
    path_in(path, sizeof path, file);
    assert_int_equal(gp_npy_write(path, p0, dims, 1), GP_OK);
    for (int t = 0; t < TORCH_STEPS; t++) {
        float *g = grads + (size_t)t * TORCH_N;
        for (size_t i = 0; i < TORCH_N; i++)
            g[i] = tu_uniform(-1, 1) * powf(10.0f, tu_uniform(-4, 2));
        snprintf(file, sizeof file, "%s.g%d.npy", c->name, t);
        path_in(path, sizeof path, file);
        assert_int_equal(gp_npy_write(path, g, dims, 1), GP_OK);
    }
}

static void torch_compare(const torch_case *c, const char *what, const float *ours)
{
    char path[256], file[128];
    snprintf(file, sizeof file, "%s.%s.npy", c->name, what);
    path_in(path, sizeof path, file);
    float *theirs = malloc(TORCH_N * sizeof(float));
    assert_non_null(theirs);
    assert_int_equal(gp_npy_read(path, theirs, TORCH_N, NULL, NULL), GP_OK);
    size_t diff = 0, first = 0;
    for (size_t i = TORCH_N; i-- > 0;)
        if (memcmp(&theirs[i], &ours[i], sizeof(float)) != 0) {
            diff++;
            first = i;
        }
    if (diff)
        fprintf(stderr, "# %s %s: %zu of %d floats differ from torch, e.g. [%zu] %.9g vs "
                "%.9g\n", c->name, what, diff, TORCH_N, first, (double)ours[first],
                (double)theirs[first]);
    free(theirs);
    assert_int_equal(diff, 0);
}

static void torch_run_ours(const torch_case *c, const float *p0, const float *grads)
{
    gp_net *net = tvec_net(TORCH_N);
    gp_param *p = gp_net_param(net, 0);
    memcpy(p->value, p0, TORCH_N * sizeof(float));
    gp_optim_desc d = torch_desc(c);
    gp_optim *o;
    assert_int_equal(gp_optim_create(&o, &d, net), GP_OK);
    for (int t = 0; t < TORCH_STEPS; t++) {
        memcpy(p->grad, grads + (size_t)t * TORCH_N, TORCH_N * sizeof(float));
        assert_int_equal(gp_optim_step(o, d.lr), GP_OK);
    }
    torch_compare(c, "p", p->value);
    for (int k = 0; k < (int)gp_optim_state_per_param(o); k++) {
        const char *name;
        float *s = gp_optim_state(o, 0, k, &name);
        torch_compare(c, strcmp(name, "momentum") ? name : "momentum_buffer", s);
    }
    gp_optim_destroy(o);
    gp_net_destroy(net);
}

/* Bit for bit what torch.optim (foreach=False) computes on this CPU. */
static void test_optim_bit_exact_with_torch(void **state)
{
    (void)state;
    if (!have_python_module("torch, numpy")) {
        print_message("torch or numpy not importable by " PYTHON "\n");
        skip();
    }
    const size_t ncases = sizeof torch_cases / sizeof torch_cases[0];
    float *p0 = malloc(ncases * TORCH_N * sizeof(float));
    float *grads = malloc(ncases * TORCH_STEPS * TORCH_N * sizeof(float));
    assert_non_null(p0);
    assert_non_null(grads);
    char path[256], cmd[512];
    path_in(path, sizeof path, "cases.txt");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < ncases; i++) {
        const torch_case *c = &torch_cases[i];
        fprintf(fp, "%s %s %s %s %s %s %s %s %s %s %d\n", c->name, c->kind, c->lr, c->momentum,
                c->dampening, c->nesterov, c->beta1, c->beta2, c->eps, c->wd, TORCH_STEPS);
        torch_write_inputs(c, p0 + i * TORCH_N, grads + i * TORCH_STEPS * TORCH_N);
    }
    fclose(fp);
    path_in(path, sizeof path, "torch_optim.py");
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(torch_script, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, PYTHON " '%s' '%s'", path, tmpdir);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < ncases; i++)
        torch_run_ours(&torch_cases[i], p0 + i * TORCH_N, grads + i * TORCH_STEPS * TORCH_N);
    free(p0);
    free(grads);
}

/* --------------------------------------------------------------- npy */

static size_t read_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static void write_file(const char *path, const void *buf, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

static void test_npy_round_trip_and_layout(void **state)
{
    (void)state;
    char path[256];
    path_in(path, sizeof path, "rt.npy");
    const size_t shapes[3][3] = { { 2, 3, 4 }, { 5, 0, 0 }, { 0, 0, 0 } };
    const int ndims[3] = { 3, 1, 0 };
    const char *const texts[3] = { "(2, 3, 4)", "(5,)", "()" };
    for (int s = 0; s < 3; s++) {
        size_t count = 1;
        for (int i = 0; i < ndims[s]; i++)
            count *= shapes[s][i];
        float data[24], back[24];
        fill_uniform(data, count, -100, 100);
        assert_int_equal(gp_npy_write(path, data, shapes[s], ndims[s]), GP_OK);
        size_t dims[8];
        int nd = -1;
        memset(back, 0, sizeof back);
        assert_int_equal(gp_npy_read(path, back, count, dims, &nd), GP_OK);
        assert_int_equal(nd, ndims[s]);
        for (int i = 0; i < nd; i++)
            assert_int_equal(dims[i], shapes[s][i]);
        assert_memory_equal(back, data, count * sizeof(float));

        unsigned char raw[512];
        size_t n = read_file(path, raw, sizeof raw);
        assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
        size_t hlen = raw[8] | (size_t)raw[9] << 8;
        assert_int_equal((10 + hlen) % 64, 0);
        assert_int_equal(n, 10 + hlen + count * 4);
        assert_int_equal(raw[10 + hlen - 1], '\n');
        char header[256];
        memcpy(header, raw + 10, hlen);
        header[hlen] = '\0';
        assert_non_null(strstr(header, "'descr': '<f4'"));
        assert_non_null(strstr(header, "'fortran_order': False"));
        assert_non_null(strstr(header, texts[s]));
        /* little-endian payload */
        uint32_t bits;
        memcpy(&bits, &data[0], 4);
        assert_int_equal(raw[10 + hlen], bits & 0xff);
        assert_int_equal(raw[10 + hlen + 3], bits >> 24);
    }
}

/* Files written by numpy (format 1.0 and 2.0) read here, and numpy reads ours. */
static void test_npy_numpy_interop(void **state)
{
    (void)state;
    if (!have_python_module("numpy")) {
        print_message("numpy not importable by " PYTHON "\n");
        skip();
    }
    char ours[256], v1[256], v2[256], cmd[1400];
    path_in(ours, sizeof ours, "ours.npy");
    path_in(v1, sizeof v1, "np_v1.npy");
    path_in(v2, sizeof v2, "np_v2.npy");
    float data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (float)i * 0.5f - 1.25f;
    const size_t dims[2] = { 3, 4 };
    assert_int_equal(gp_npy_write(ours, data, dims, 2), GP_OK);
    snprintf(cmd, sizeof cmd, PYTHON " -c \"\n"
             "import numpy as np\n"
             "a = (np.arange(12, dtype='<f4') * 0.5 - 1.25).reshape(3, 4)\n"
             "b = np.load('%s')\n"
             "assert b.dtype == np.dtype('<f4') and b.shape == (3, 4) and (a == b).all()\n"
             "np.save('%s', a.reshape(2, 2, 3))\n"
             "with open('%s', 'wb') as f:\n"
             "    np.lib.format.write_array(f, a.reshape(12), version=(2, 0))\n"
             "\"", ours, v1, v2);
    assert_int_equal(system(cmd), 0);
    float back[12];
    size_t got[8];
    int nd;
    assert_int_equal(gp_npy_read(v1, back, 12, got, &nd), GP_OK);
    assert_int_equal(nd, 3);
    assert_true(got[0] == 2 && got[1] == 2 && got[2] == 3);
    assert_memory_equal(back, data, sizeof data);
    memset(back, 0, sizeof back);
    assert_int_equal(gp_npy_read(v2, back, 12, got, &nd), GP_OK);
    assert_int_equal(nd, 1);
    assert_memory_equal(back, data, sizeof data);
}

/* A .npy with the given version, dict text and payload bytes. */
static void write_npy_raw(const char *path, int major, const char *dict, size_t payload)
{
    unsigned char buf[512];
    size_t hlen = strlen(dict), off = 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (unsigned char)hlen;
        buf[9] = 0;
        off = 10;
    } else {
        buf[8] = (unsigned char)hlen;
        buf[9] = buf[10] = buf[11] = 0;
        off = 12;
    }
    memcpy(buf + off, dict, hlen);
    off += hlen;
    for (size_t i = 0; i < payload; i++)
        buf[off++] = (unsigned char)(0x3f * (i % 4 == 3));   /* 0.5f-ish little-endian */
    write_file(path, buf, off);
}

static void test_npy_rejects_bad_files(void **state)
{
    (void)state;
    char path[256];
    path_in(path, sizeof path, "bad.npy");
    float out[6];
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    write_npy_raw(path, 1, good, 24);
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_OK);   /* the control */
    write_npy_raw(path, 2, good, 24);
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_OK);

    const struct { int major; const char *dict; size_t payload, count; const char *msg; } bad[] = {
        { 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", 48, 6, "'<f8'" },
        { 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, 6, "'>f4'" },
        { 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24, 6, "Fortran" },
        { 1, good, 24, 5, "holds 6 floats, expected 5" },
        { 1, good, 20, 6, "truncated data" },
        { 1, good, 28, 6, "trailing" },
        { 3, good, 24, 6, "version 3.0" },
        { 1, "{'descr': '<f4', 'shape': (2, 3), }\n", 24, 6, "lacks" },
        { 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }\n", 24, 6, "shape" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_npy_raw(path, bad[i].major, bad[i].dict, bad[i].payload);
        gp_status st = gp_npy_read(path, out, bad[i].count, NULL, NULL);
        if (st == GP_OK || !strstr(gp_last_error(), bad[i].msg))
            fprintf(stderr, "# bad file %zu: status %d, message '%s'\n", i, (int)st,
                    gp_last_error());
        assert_int_equal(st, GP_ERR_PARSE);
        assert_non_null(strstr(gp_last_error(), bad[i].msg));
    }
    write_file(path, "\x93NUMPX\x01\x00\x10\x00", 10);
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_ERR_PARSE);
    assert_non_null(strstr(gp_last_error(), "magic"));
    write_file(path, "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_ERR_PARSE);
    assert_non_null(strstr(gp_last_error(), "truncated header"));
    write_file(path, "\x93NUM", 4);
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_ERR_PARSE);
    path_in(path, sizeof path, "missing.npy");
    assert_int_equal(gp_npy_read(path, out, 6, NULL, NULL), GP_ERR_IO);
}

/* -------------------------------------------------------- checkpoints */

#define CK_BATCH 4

static void train_steps(gp_net *net, gp_optim *o, const float *x, const float *target,
                        int steps)
{
    for (int s = 0; s < steps; s++) {
        const float *y;
        float dy[CK_BATCH * 3];
        const float *xs = x + (size_t)s * CK_BATCH * 8;
        const float *ts = target + (size_t)s * CK_BATCH * 3;
        assert_int_equal(gp_net_forward(net, CK_BATCH, xs, GP_TRAIN, &y), GP_OK);
        for (int i = 0; i < CK_BATCH * 3; i++)
            dy[i] = (y[i] - ts[i]) / CK_BATCH;
        assert_int_equal(gp_net_backward(net, CK_BATCH, dy), GP_OK);
        assert_int_equal(gp_optim_step(o, 0.01f), GP_OK);
    }
}

typedef struct {
    gp_net   *net;
    gp_optim *opt;
} ck_model;

static ck_model ck_new(gp_optim_kind kind, uint64_t init_seed)
{
    gp_shape in = { CK_BATCH, 2, 2, 2 };
    ck_model m = { tfc_net(in, 3), NULL };
    gp_rng rng;
    gp_rng_seed(&rng, init_seed);
    assert_int_equal(gp_net_init(m.net, GP_INIT_TORCH_DEFAULT, 0, &rng), GP_OK);
    gp_optim_desc d = gp_optim_defaults(kind);
    if (kind == GP_OPTIM_SGD)
        d.momentum = 0.9f;
    assert_int_equal(gp_optim_create(&m.opt, &d, m.net), GP_OK);
    return m;
}

static void ck_free(ck_model m)
{
    gp_optim_destroy(m.opt);
    gp_net_destroy(m.net);
}

/* Every parameter, buffer and optimizer state of a and b is bit-identical. */
static void ck_assert_same(ck_model a, ck_model b)
{
    assert_int_equal(gp_optim_steps(a.opt), gp_optim_steps(b.opt));
    for (int i = 0; i < gp_net_param_tensors(a.net); i++) {
        gp_param *pa = gp_net_param(a.net, i), *pb = gp_net_param(b.net, i);
        assert_memory_equal(pa->value, pb->value, pa->count * sizeof(float));
        for (int k = 0; k < (int)gp_optim_state_per_param(a.opt); k++)
            assert_memory_equal(gp_optim_state(a.opt, i, k, NULL),
                                gp_optim_state(b.opt, i, k, NULL), pa->count * sizeof(float));
    }
    for (int i = 0; i < gp_net_layer_count(a.net); i++) {
        gp_layer *la = gp_net_layer(a.net, i), *lb = gp_net_layer(b.net, i);
        for (int j = 0; j < la->nbuffers; j++)
            assert_memory_equal(la->buffers[j].value, lb->buffers[j].value,
                                la->buffers[j].count * sizeof(float));
    }
}

static int path_exists(const char *dir, const char *name)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

/* Stop after 3 steps, save, load into a fresh model, go on for 3: the same
 * bits as 6 steps without stopping (weights, running means, Adam state). */
static void check_resume(gp_optim_kind kind)
{
    float x[6 * CK_BATCH * 8], target[6 * CK_BATCH * 3];
    fill_uniform(x, sizeof x / sizeof x[0], -1, 1);
    fill_uniform(target, sizeof target / sizeof target[0], -1, 1);
    char dir[256];
    path_in(dir, sizeof dir, "sub/ckpt");

    ck_model straight = ck_new(kind, seed);
    train_steps(straight.net, straight.opt, x, target, 6);

    ck_model first = ck_new(kind, seed);
    train_steps(first.net, first.opt, x, target, 3);
    assert_int_equal(gp_checkpoint_save(dir, first.net, first.opt), GP_OK);
    ck_model resumed = ck_new(kind, seed + 99);     /* other weights until loaded */
    assert_int_equal(gp_checkpoint_load(dir, resumed.net, resumed.opt), GP_OK);
    ck_assert_same(first, resumed);
    train_steps(resumed.net, resumed.opt, x + 3 * CK_BATCH * 8, target + 3 * CK_BATCH * 3, 3);
    ck_assert_same(straight, resumed);
    /* and training did move the weights (the comparison is not vacuous) */
    assert_memory_not_equal(gp_net_param(first.net, 0)->value,
                            gp_net_param(resumed.net, 0)->value, 7 * 8 * sizeof(float));
    ck_free(straight);
    ck_free(first);
    ck_free(resumed);
}

static void test_checkpoint_resume_is_bit_identical(void **state)
{
    (void)state;
    check_resume(GP_OPTIM_ADAM);
    check_resume(GP_OPTIM_SGD);
}

static void test_checkpoint_layout(void **state)
{
    (void)state;
    char dir[256], path[512];
    path_in(dir, sizeof dir, "layout");
    ck_model m = ck_new(GP_OPTIM_ADAMW, seed);
    gp_net_layer(m.net, 1)->buffers[0].value[2] = 0.125f;
    assert_int_equal(gp_optim_step(m.opt, 1e-3f), GP_OK);
    assert_int_equal(gp_checkpoint_save(dir, m.net, m.opt), GP_OK);
    const char *names[] = { "L00_tfc.weight.npy", "L00_tfc.weight.exp_avg.npy",
                            "L00_tfc.weight.exp_avg_sq.npy", "L02_tfc.bias.npy",
                            "L02_tfc.alpha.exp_avg_sq.npy", "L01_tfc.running_mean.npy",
                            "optim.txt" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_true(path_exists(dir, names[i]));
    assert_false(path_exists(dir, "L01_tfc.running_mean.exp_avg.npy"));

    /* natural shapes, readable without gpool */
    float w[7 * 8], rm[6];
    size_t dims[8];
    int nd;
    snprintf(path, sizeof path, "%s/L00_tfc.weight.npy", dir);
    assert_int_equal(gp_npy_read(path, w, 7 * 8, dims, &nd), GP_OK);
    assert_true(nd == 2 && dims[0] == 7 && dims[1] == 8);
    assert_memory_equal(w, gp_net_param(m.net, 0)->value, sizeof w);
    snprintf(path, sizeof path, "%s/L01_tfc.running_mean.npy", dir);
    assert_int_equal(gp_npy_read(path, rm, 6, dims, &nd), GP_OK);
    assert_true(nd == 1 && dims[0] == 6 && rm[2] == 0.125f);

    snprintf(path, sizeof path, "%s/optim.txt", dir);
    unsigned char text[512] = { 0 };
    read_file(path, text, sizeof text - 1);
    assert_non_null(strstr((char *)text, "kind adamw\n"));
    assert_non_null(strstr((char *)text, "steps 1\n"));
    assert_non_null(strstr((char *)text, "weight_decay 0.01\n"));
    assert_non_null(strstr((char *)text, "beta2 0.999\n"));

    /* saving again replaces it and leaves no temporary siblings */
    assert_int_equal(gp_checkpoint_save(dir, m.net, NULL), GP_OK);
    assert_false(path_exists(dir, "optim.txt"));
    assert_true(path_exists(dir, "L00_tfc.weight.npy"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -d '%s'/layout.* >/dev/null 2>&1", tmpdir);
    assert_int_not_equal(system(cmd), 0);
    ck_free(m);
}

static void test_checkpoint_refusals(void **state)
{
    (void)state;
    char dir[256], path[512];
    ck_model m = ck_new(GP_OPTIM_ADAM, seed);

    /* a directory that is not a checkpoint is never replaced */
    path_in(dir, sizeof dir, "precious");
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_file(path, "keep me", 7);
    assert_int_equal(gp_checkpoint_save(dir, m.net, m.opt), GP_ERR_IO);
    assert_non_null(strstr(gp_last_error(), "not a checkpoint"));
    assert_true(path_exists(dir, "notes.txt"));

    path_in(dir, sizeof dir, "refuse");
    assert_int_equal(gp_checkpoint_save(dir, m.net, m.opt), GP_OK);

    /* another optimizer kind */
    ck_model sgd = ck_new(GP_OPTIM_SGD, seed);
    assert_int_equal(gp_checkpoint_load(dir, sgd.net, sgd.opt), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "adam"));
    assert_int_equal(gp_checkpoint_load(dir, sgd.net, NULL), GP_OK);    /* weights only */
    ck_free(sgd);

    /* another shape: 8 -> 7 -> 6 -> 2; nothing may change on failure */
    gp_shape in = { CK_BATCH, 2, 2, 2 };
    gp_net *other = tfc_net(in, 2);
    gp_param *w0 = gp_net_param(other, 0);
    fill_uniform(w0->value, w0->count, -1, 1);
    float before[7 * 8];
    memcpy(before, w0->value, sizeof before);
    assert_int_equal(gp_checkpoint_load(dir, other, NULL), GP_ERR_PARSE);
    assert_non_null(strstr(gp_last_error(), "L02_tfc.weight.npy"));
    assert_memory_equal(before, w0->value, sizeof before);
    gp_net_destroy(other);

    /* a shallower net: the checkpoint holds tensors it lacks */
    gp_net *shallow;
    assert_int_equal(gp_net_create(&shallow, in), GP_OK);
    assert_int_equal(gp_net_add(shallow, tfc_create(in, 7, 1, 0)), GP_OK);
    assert_int_equal(gp_net_finalize(shallow), GP_OK);
    assert_int_equal(gp_checkpoint_load(dir, shallow, NULL), GP_ERR_PARSE);
    assert_non_null(strstr(gp_last_error(), "tensor files"));
    gp_net_destroy(shallow);

    /* an optimizer of another net */
    ck_model twin = ck_new(GP_OPTIM_ADAM, seed);
    assert_int_equal(gp_checkpoint_load(dir, twin.net, m.opt), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "not created over"));
    assert_int_equal(gp_checkpoint_save(dir, twin.net, m.opt), GP_ERR_ARG);
    assert_ptr_equal(gp_optim_param(twin.opt, 0), gp_net_param(twin.net, 0));
    assert_null(gp_optim_param(twin.opt, gp_net_param_tensors(twin.net)));
    ck_free(twin);

    /* a missing file */
    snprintf(path, sizeof path, "%s/L01_tfc.bias.exp_avg.npy", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_not_equal(gp_checkpoint_load(dir, m.net, m.opt), GP_OK);
    path_in(dir, sizeof dir, "does-not-exist");
    assert_int_not_equal(gp_checkpoint_load(dir, m.net, NULL), GP_OK);
    ck_free(m);
}

/* A library net with a tensor of every shape rule: a conv2d with a 3x2
 * kernel and a bias, batchnorm2d (parameters and buffers), head_pool gem
 * (a scalar), dense. */
static gp_net *every_shape_net(void)
{
    static const gp_layer_spec specs[] = {
        { .kind = GP_LAYER_CONV2D, .u.conv2d = { 3, 3, 2, 1, 1, 1 } },
        { .kind = GP_LAYER_BATCHNORM2D, .u.batchnorm2d = { 0.1f, 1e-5f } },
        { .kind = GP_LAYER_RELU },
        { .kind = GP_LAYER_MAXPOOL2D, .u.pool2d = { 2, 2, 0, 0 } },
        { .kind = GP_LAYER_HEAD_POOL, .u.head_pool = { GP_HEAD_GEM } },
        { .kind = GP_LAYER_DENSE, .u.dense = { 4, 1 } },
    };
    gp_shape in = { 2, 2, 6, 6 };
    gp_net *net;
    assert_int_equal(gp_net_create(&net, in), GP_OK);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        gp_layer *l;
        assert_int_equal(gp_layer_create(&l, gp_net_out_shape(net), &specs[i]), GP_OK);
        assert_int_equal(gp_net_add(net, l), GP_OK);
    }
    assert_int_equal(gp_net_finalize(net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    assert_int_equal(gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0, &rng), GP_OK);
    return net;
}

/* Each file has the shape PyTorch gives the tensor, from the dims the layer
 * set (a non-square kernel included), and a reshape changes no file. */
static void test_checkpoint_library_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int         ndims;
        size_t      dims[4];
    } want[] = {
        { "L00_conv2d.weight.npy", 4, { 3, 2, 3, 2 } }, { "L00_conv2d.bias.npy", 1, { 3 } },
        { "L01_batchnorm2d.weight.npy", 1, { 3 } }, { "L01_batchnorm2d.bias.npy", 1, { 3 } },
        { "L01_batchnorm2d.running_mean.npy", 1, { 3 } },
        { "L01_batchnorm2d.running_var.npy", 1, { 3 } },
        { "L04_head_pool.p.npy", 1, { 1 } },
        { "L05_dense.weight.npy", 2, { 4, 3 } }, { "L05_dense.bias.npy", 1, { 4 } },
    };
    char dir[256], again[256], path[512];
    path_in(dir, sizeof dir, "shapes");
    path_in(again, sizeof again, "shapes-reshaped");
    gp_net *net = every_shape_net();
    assert_int_equal(gp_checkpoint_save(dir, net, NULL), GP_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        float data[64];
        size_t dims[8], count = 1;
        int nd;
        for (int k = 0; k < want[i].ndims; k++)
            count *= want[i].dims[k];
        snprintf(path, sizeof path, "%s/%s", dir, want[i].file);
        assert_int_equal(gp_npy_read(path, data, count, dims, &nd), GP_OK);
        assert_int_equal(nd, want[i].ndims);
        assert_memory_equal(dims, want[i].dims, (size_t)nd * sizeof dims[0]);
    }
    gp_shape big = { 3, 2, 9, 11 };
    assert_int_equal(gp_net_reshape(net, big), GP_OK);
    assert_int_equal(gp_checkpoint_save(again, net, NULL), GP_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned char a[1024], b[1024];
        snprintf(path, sizeof path, "%s/%s", dir, want[i].file);
        size_t na = read_file(path, a, sizeof a);
        snprintf(path, sizeof path, "%s/%s", again, want[i].file);
        assert_int_equal(read_file(path, b, sizeof b), na);
        assert_memory_equal(a, b, na);
    }
    assert_int_equal(gp_checkpoint_load(dir, net, NULL), GP_OK);
    gp_net_destroy(net);
}

/* A tensor whose dims do not hold its floats cannot go into a file; a
 * layer without reshape verbs (this file's test layers) refuses a reshape
 * and leaves the net as it was. */
static void test_checkpoint_dims_and_custom_reshape(void **state)
{
    (void)state;
    char dir[256];
    path_in(dir, sizeof dir, "bad-dims");
    gp_net *net = tvec_net(6);
    gp_net_param(net, 0)->dims[1] = 5;
    assert_int_equal(gp_checkpoint_save(dir, net, NULL), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "weight of layer 0 (tvec)"));
    gp_net_destroy(net);

    gp_shape in = { 2, 2, 2, 2 }, wider = { 3, 2, 2, 2 };
    net = tfc_net(in, 3);
    gp_layer before = *gp_net_layer(net, 0);
    assert_int_equal(gp_net_reshape(net, wider), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "layer 0: tfc: this layer kind cannot be reshaped"));
    assert_memory_equal(gp_net_layer(net, 0), &before, sizeof before);
    assert_int_equal(gp_layer_reshape(gp_net_layer(net, 1), wider), GP_ERR_ARG);
    gp_net_destroy(net);
}

/* ------------------------------------------------------------- main */

static int group_setup(void **state)
{
    (void)state;
    return tu_group_setup("optim", &seed, tmpdir, sizeof tmpdir);
}

static int group_teardown(void **state)
{
    (void)state;
    return tu_group_teardown(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_add_checks_shape),
        cmocka_unit_test(test_net_matches_manual_composition),
        cmocka_unit_test(test_net_memory_report),
        cmocka_unit_test(test_init_kinds),
        cmocka_unit_test(test_init_stream_order),
        cmocka_unit_test(test_init_names_and_errors),
        cmocka_unit_test(test_optim_defaults),
        cmocka_unit_test(test_optim_against_reference),
        cmocka_unit_test(test_optim_bit_exact_with_torch),
        cmocka_unit_test(test_npy_round_trip_and_layout),
        cmocka_unit_test(test_npy_numpy_interop),
        cmocka_unit_test(test_npy_rejects_bad_files),
        cmocka_unit_test(test_checkpoint_resume_is_bit_identical),
        cmocka_unit_test(test_checkpoint_layout),
        cmocka_unit_test(test_checkpoint_refusals),
        cmocka_unit_test(test_checkpoint_library_shapes),
        cmocka_unit_test(test_checkpoint_dims_and_custom_reshape),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
