/*
 * dense.c - fully connected layer, y = x W^T + b over the batch.
 *
 * Each pass is one sgemm over the whole batch, called outside any parallel
 * region so that OpenBLAS threads it; OpenBLAS splits a gemm over the output
 * (never over the summed dimension), so results are reproducible for a fixed
 * thread count. The bias gradient sums the batch in image order.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "gpi_layer.h"

typedef struct {
    int in_features, out_features, has_bias;
} gpi_dense;

static gp_status gpi_dense_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    const gpi_dense *d = l->priv;
    const int fi = d->in_features, fo = d->out_features;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fo, fi,
                1.0f, x, fi, l->params[0].value, fi, 0.0f, y, fo);
    if (d->has_bias) {
        const float *b = l->params[1].value;
        for (int i = 0; i < n; i++)
            for (int o = 0; o < fo; o++)
                y[(size_t)i * fo + o] += b[o];
    }
    return GP_OK;
}

/* db[o] = sum over images of dy[i][o], images in order. */
static void gpi_dense_bias_grad(int n, int fo, const float *dy, float *db)
{
    memcpy(db, dy, (size_t)fo * sizeof *db);
    for (int i = 1; i < n; i++)
        for (int o = 0; o < fo; o++)
            db[o] += dy[(size_t)i * fo + o];
}

static gp_status gpi_dense_backward(gp_layer *l, int n, const float *x, const float *y,
                                    const float *dy, float *dx)
{
    const gpi_dense *d = l->priv;
    const int fi = d->in_features, fo = d->out_features;
    /* dW [fo, fi] = dy^T [fo, n] x [n, fi] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fo, fi, n,
                1.0f, dy, fo, x, fi, 0.0f, l->params[0].grad, fi);
    if (d->has_bias)
        gpi_dense_bias_grad(n, fo, dy, l->params[1].grad);
    /* dx [n, fi] = dy [n, fo] W [fo, fi] */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fi, fo,
                    1.0f, dy, fo, l->params[0].value, fi, 0.0f, dx, fi);
    return GP_OK;
}

static const gp_layer_ops gpi_dense_ops = {
    .kind = "dense",
    .forward = gpi_dense_forward,
    .backward = gpi_dense_backward,
    .destroy = gpi_layer_destroy_plain,
};

gp_status gp_dense_make(gp_layer **out, gp_shape in, int out_features, int bias)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "dense: NULL argument");
    *out = NULL;
    if (out_features < 1)
        return gpi_fail(GP_ERR_ARG, "dense: out_features %d < 1", out_features);
    size_t features = gp_shape_image_size(in);
    if (in.c > 0 && in.h > 0 && in.w > 0 && features > (size_t)INT32_MAX)
        return gpi_fail(GP_ERR_ARG, "dense: %zu input features are too many", features);
    gp_shape os = { in.n, out_features, 1, 1 };
    gp_layer *l;
    gp_status st = gpi_layer_new(&l, &gpi_dense_ops, in, os, sizeof(gpi_dense));
    if (st)
        return st;
    gpi_dense *d = l->priv;
    *d = (gpi_dense){ (int)features, out_features, bias != 0 };
    if (!gpi_layer_add_param(l, "weight", (size_t)out_features * features, (int)features,
                             out_features, 0) ||
        (d->has_bias && !gpi_layer_add_param(l, "bias", (size_t)out_features, (int)features,
                                             out_features, 1))) {
        gpi_layer_free(l);
        return GP_ERR_NOMEM;
    }
    l->flops = 2.0 * (double)out_features * (double)features + (d->has_bias ? out_features : 0);
    snprintf(l->desc, sizeof l->desc, "%zu -> %d%s", features, out_features,
             d->has_bias ? ", bias" : "");
    *out = l;
    return GP_OK;
}
