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

static gp_status gpi_dense_check(const gp_layer_spec *spec)
{
    if (spec->u.dense.out_features < 1)
        return gpi_fail(GP_ERR_ARG, "dense: out_features %d < 1", spec->u.dense.out_features);
    return GP_OK;
}

/* The weight fixes the features: a reshape must keep c*h*w. */
static gp_status gpi_dense_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    size_t features = gp_shape_image_size(in), want = gp_shape_image_size(l->in);
    if (features > (size_t)INT32_MAX)
        return gpi_fail(GP_ERR_ARG, "dense: %zu input features are too many", features);
    if (features != want)
        return gpi_fail(GP_ERR_ARG, "dense: its weight takes %zu features, a %dx%dx%d input "
                        "gives %zu", want, in.c, in.h, in.w, features);
    *out = (gp_shape){ in.n, l->spec.u.dense.out_features, 1, 1 };
    return GP_OK;
}

/* weight [out_features, features], bias [out_features]. */
static gp_status gpi_dense_init(gp_layer *l)
{
    gpi_dense *d = l->priv;
    *d = (gpi_dense){ (int)gp_shape_image_size(l->in), l->spec.u.dense.out_features,
                      l->spec.u.dense.bias != 0 };
    size_t wdims[2] = { (size_t)d->out_features, (size_t)d->in_features };
    if (!gpi_layer_add_param(l, "weight", 2, wdims, d->in_features, d->out_features, 0) ||
        (d->has_bias && !gpi_layer_add_param(l, "bias", 1, wdims, d->in_features,
                                             d->out_features, 1)))
        return GP_ERR_NOMEM;
    return GP_OK;
}

static gp_status gpi_dense_reshape(gp_layer *l, gp_shape in)
{
    const gpi_dense *d = l->priv;
    gpi_layer_set_shapes(l, in);
    l->flops = 2.0 * (double)d->out_features * (double)d->in_features +
               (d->has_bias ? d->out_features : 0);
    snprintf(l->desc, sizeof l->desc, "%d -> %d%s", d->in_features, d->out_features,
             d->has_bias ? ", bias" : "");
    return GP_OK;
}

static int gpi_dense_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "out_features=%d bias=%d", spec->u.dense.out_features,
                    spec->u.dense.bias != 0);
}

const gpi_layer_kind gpi_dense_kind = {
    { "dense", gpi_dense_forward, gpi_dense_backward, gpi_layer_destroy_plain,
      gpi_dense_out_shape, gpi_dense_reshape },
    sizeof(gpi_dense), gpi_dense_check, gpi_dense_init, gpi_dense_format
};

gp_status gp_dense_create(gp_layer **out, gp_shape in, int out_features, int bias)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_DENSE,
                                                      .u.dense = { out_features, bias != 0 } });
}
