/*
 * batchnorm2d.c - batch normalization per channel over N, H, W.
 *
 * The forward reproduces PyTorch 1.13's CPU arithmetic bit for bit (checked
 * against torch.native_batch_norm): the mean and the sum of squared
 * deviations are accumulated in double from float terms and stored as float;
 * invstd = 1 / sqrt(var + eps) is taken in double; the output is
 * fma(x, alpha, beta) with alpha = invstd * gamma and
 * beta = fma(-mean, alpha, bias); running_var is updated with an fma.
 * Baseline x86-64 has no FMA instruction, so the per-element fma is done in
 * double: the float product is exact there and only a sum landing exactly on
 * a float rounding boundary could differ. Backward sums run in double,
 * more accurate than PyTorch's float vector sums.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves. */
#define GPI_BN_PAR_MIN ((size_t)1 << 15)

typedef struct {
    float momentum;         /* PyTorch too rounds its double momentum to float */
    double eps;             /* the decimal the caller meant (gpi_bn_decimal) */
    int trained;            /* the last forward normalised with batch statistics */
    float *mean, *invstd;   /* per channel, saved by a training forward for backward */
} gpi_bn;

/* Channel c's pointer into image i of an NCHW batch. */
static inline size_t gpi_bn_plane(const gp_layer *l, int i, int c)
{
    return ((size_t)i * (size_t)l->in.c + (size_t)c) * (size_t)l->in.h * (size_t)l->in.w;
}

/* Batch mean and sum of squared deviations of channel c, PyTorch's way. */
static void gpi_bn_stats(const gp_layer *l, int n, int c, const float *x,
                         float *mean, float *var_sum)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    double count = (double)n * (double)hw, sum = 0.0, sq = 0.0;
    for (int i = 0; i < n; i++) {
        const float *p = x + gpi_bn_plane(l, i, c);
        for (size_t j = 0; j < hw; j++)
            sum += p[j];
    }
    float m = (float)(sum / count);
    for (int i = 0; i < n; i++) {
        const float *p = x + gpi_bn_plane(l, i, c);
        for (size_t j = 0; j < hw; j++) {
            float d = p[j] - m;
            sq += (double)(d * d);
        }
    }
    *mean = m;
    *var_sum = (float)sq;
}

/* Update channel c's running statistics as PyTorch does: momentum rounded
 * to float, a float update for the mean and an fma for the unbiased variance. */
static void gpi_bn_update_running(gp_layer *l, int c, float mean, float var_sum, int64_t count)
{
    const gpi_bn *b = l->priv;
    float *rm = l->buffers[0].value, *rv = l->buffers[1].value;
    float m = b->momentum, keep = 1.0f - m;
    rm[c] = m * mean + keep * rm[c];
    rv[c] = fmaf(m, var_sum / (float)(count - 1), keep * rv[c]);
}

/* y = fma(x, alpha, beta) over channel c of n images (see the file comment). */
static void gpi_bn_apply(const gp_layer *l, int n, int c, float alpha, float beta,
                         const float *x, float *y)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    double a = alpha, b = beta;
    for (int i = 0; i < n; i++) {
        size_t off = gpi_bn_plane(l, i, c);
#ifdef _OPENMP
#pragma omp simd
#endif
        for (size_t j = 0; j < hw; j++)
            y[off + j] = (float)((double)x[off + j] * a + b);
    }
}

static void gpi_bn_forward_channel(gp_layer *l, int n, int c, const float *x, float *y,
                                   int train)
{
    gpi_bn *b = l->priv;
    float mean, invstd;
    if (train) {
        int64_t count = (int64_t)n * l->in.h * l->in.w;
        float var_sum;
        gpi_bn_stats(l, n, c, x, &mean, &var_sum);
        invstd = (float)(1.0 / sqrt((double)(var_sum / (float)count) + b->eps));
        gpi_bn_update_running(l, c, mean, var_sum, count);
        b->mean[c] = mean;
        b->invstd[c] = invstd;
    } else {
        mean = l->buffers[0].value[c];
        invstd = 1.0f / sqrtf(l->buffers[1].value[c] + (float)b->eps);
    }
    float alpha = invstd * l->params[0].value[c];
    float beta = fmaf(-mean, alpha, l->params[1].value[c]);
    gpi_bn_apply(l, n, c, alpha, beta, x, y);
}

static gp_status gpi_bn_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    gpi_bn *b = l->priv;
    int train = mode == GP_TRAIN;
    if (train && (int64_t)n * l->in.h * l->in.w < 2)
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: training needs more than one value "
                        "per channel (batch %d of %dx%d)", n, l->in.h, l->in.w);
    int channels = l->in.c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n * gp_shape_image_size(l->in) >= GPI_BN_PAR_MIN)
#endif
    for (int c = 0; c < channels; c++)
        gpi_bn_forward_channel(l, n, c, x, y, train);
    b->trained = train;
    return GP_OK;
}

/* Channel c of backward: sums in double, then PyTorch's formulas in float. */
static void gpi_bn_backward_channel(gp_layer *l, int n, int c, const float *x,
                                    const float *dy, float *dx)
{
    const gpi_bn *b = l->priv;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    float mean, invstd, w = l->params[0].value[c];
    if (b->trained) {
        mean = b->mean[c];
        invstd = b->invstd[c];
    } else {
        mean = l->buffers[0].value[c];
        invstd = (float)(1.0 / sqrt((double)l->buffers[1].value[c] + b->eps));
    }
    double sum = 0.0, dot = 0.0;
    for (int i = 0; i < n; i++) {
        size_t off = gpi_bn_plane(l, i, c);
        /* vector partial sums: a fixed order for a given build, whatever the threads */
#ifdef _OPENMP
#pragma omp simd reduction(+ : sum, dot)
#endif
        for (size_t j = 0; j < hw; j++) {
            sum += dy[off + j];
            dot += (double)(x[off + j] - mean) * dy[off + j];
        }
    }
    float sumf = (float)sum, dotf = (float)dot;
    l->params[0].grad[c] = dotf * invstd;
    l->params[1].grad[c] = sumf;
    if (!dx)
        return;
    float count = (float)((double)n * (double)hw);
    float k = dotf * invstd * invstd / count, grad_mean = sumf / count, scale = invstd * w;
    for (int i = 0; i < n; i++) {
        size_t off = gpi_bn_plane(l, i, c);
        if (b->trained) {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t j = 0; j < hw; j++)
                dx[off + j] = (dy[off + j] - grad_mean - (x[off + j] - mean) * k) * invstd * w;
        } else {
#ifdef _OPENMP
#pragma omp simd
#endif
            for (size_t j = 0; j < hw; j++)
                dx[off + j] = dy[off + j] * scale;
        }
    }
}

static gp_status gpi_bn_backward(gp_layer *l, int n, const float *x, const float *y,
                                 const float *dy, float *dx)
{
    (void)y;
    int channels = l->in.c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n * gp_shape_image_size(l->in) >= GPI_BN_PAR_MIN)
#endif
    for (int c = 0; c < channels; c++)
        gpi_bn_backward_channel(l, n, c, x, dy, dx);
    return GP_OK;
}

/* PyTorch adds eps as a double (1e-5, not the float 1e-5f) when it takes
 * invstd in double: recover that double from the shortest decimal that
 * rounds to the given float. */
static double gpi_bn_decimal(float v)
{
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)v);
        if (strtof(text, NULL) == v)
            return strtod(text, NULL);
    }
    return v;
}

static void gpi_bn_destroy(gp_layer *l)
{
    if (l && l->priv) {
        gpi_bn *b = l->priv;
        gpi_free(b->mean);
        gpi_free(b->invstd);
    }
    gpi_layer_free(l);
}

static const gp_layer_ops gpi_bn_ops = {
    "batchnorm2d", gpi_bn_forward, gpi_bn_backward, gpi_bn_destroy
};

/* gamma = 1, beta = 0, running_mean = 0, running_var = 1 (PyTorch's reset). */
static gp_status gpi_bn_add_state(gp_layer *l)
{
    size_t c = (size_t)l->in.c;
    gp_param *gamma = gpi_layer_add_param(l, "weight", c, 0, 0, 0);
    gp_param *beta = gamma ? gpi_layer_add_param(l, "bias", c, 0, 0, 1) : NULL;
    gp_buffer *rm = beta ? gpi_layer_add_buffer(l, "running_mean", c) : NULL;
    gp_buffer *rv = rm ? gpi_layer_add_buffer(l, "running_var", c) : NULL;
    gpi_bn *b = l->priv;
    if (!rv || !(b->mean = gpi_falloc(c)) || !(b->invstd = gpi_falloc(c)))
        return rv ? gpi_fail(GP_ERR_NOMEM, "batchnorm2d: out of memory") : GP_ERR_NOMEM;
    gamma->fixed_init = beta->fixed_init = 1;
    for (size_t i = 0; i < c; i++) {
        gamma->value[i] = 1.0f;
        rv->value[i] = 1.0f;
    }
    return GP_OK;
}

gp_status gp_batchnorm2d_make(gp_layer **out, gp_shape in, float momentum, float eps)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: NULL argument");
    *out = NULL;
    if (!(momentum >= 0.0f && momentum <= 1.0f) || !(eps > 0.0f))
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: momentum %g must be in [0, 1] and eps %g "
                        "positive", (double)momentum, (double)eps);
    gp_layer *l;
    gp_status st = gpi_layer_new(&l, &gpi_bn_ops, in, in, sizeof(gpi_bn));
    if (st)
        return st;
    gpi_bn *b = l->priv;
    b->momentum = momentum;
    b->eps = gpi_bn_decimal(eps);
    if ((st = gpi_bn_add_state(l))) {
        gpi_bn_destroy(l);
        return st;
    }
    l->workspace_bytes = 2 * (size_t)in.c * sizeof(float);   /* saved mean and invstd */
    l->flops = 2.0 * (double)gp_shape_image_size(in);        /* a multiply and an add */
    snprintf(l->desc, sizeof l->desc, "momentum %g, eps %g", (double)momentum, (double)eps);
    *out = l;
    return GP_OK;
}
