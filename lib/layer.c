/* layer.c - the generic half of every layer: checked verbs and allocation. */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "gpi_layer.h"

size_t gp_shape_image_size(gp_shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

float *gpi_falloc(size_t count)
{
    return gpi_balloc((count ? count : 1) * sizeof(float));
}

void *gpi_balloc(size_t bytes)
{
    size_t rounded = ((bytes ? bytes : 1) + GPI_ALIGN - 1) / GPI_ALIGN * GPI_ALIGN;
    void *p = aligned_alloc(GPI_ALIGN, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

void gpi_free(void *p)
{
    free(p);
}

static int gpi_shape_ok(gp_shape s)
{
    return s.n > 0 && s.c > 0 && s.h > 0 && s.w > 0;
}

gp_status gpi_layer_new(gp_layer **out, const gp_layer_ops *ops, gp_shape in,
                        gp_shape out_shape, size_t priv_bytes)
{
    if (!out || !ops)
        return gpi_fail(GP_ERR_ARG, "%s: NULL argument", ops ? ops->kind : "layer");
    *out = NULL;
    if (!gpi_shape_ok(in))
        return gpi_fail(GP_ERR_ARG, "%s: input shape %dx%dx%dx%d is not positive",
                        ops->kind, in.n, in.c, in.h, in.w);
    if (!gpi_shape_ok(out_shape))
        return gpi_fail(GP_ERR_ARG, "%s: input %dx%dx%d gives an empty output %dx%dx%d",
                        ops->kind, in.c, in.h, in.w, out_shape.c, out_shape.h, out_shape.w);
    gp_layer *l = calloc(1, sizeof *l);
    if (!l)
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory", ops->kind);
    if (priv_bytes && !(l->priv = calloc(1, priv_bytes))) {
        free(l);
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory", ops->kind);
    }
    l->ops = ops;
    l->in = in;
    l->out = out_shape;
    l->out.n = in.n;
    *out = l;
    return GP_OK;
}

gp_param *gpi_layer_add_param(gp_layer *l, const char *name, size_t count,
                              int fan_in, int fan_out, int is_bias)
{
    if (l->nparams >= GP_LAYER_MAX_PARAMS) {
        gpi_fail(GP_ERR_ARG, "%s: too many parameters", l->ops->kind);
        return NULL;
    }
    gp_param *p = &l->params[l->nparams];
    memset(p, 0, sizeof *p);
    p->value = gpi_falloc(count);
    p->grad = gpi_falloc(count);
    if (!p->value || !p->grad) {
        gpi_free(p->value);
        gpi_free(p->grad);
        p->value = p->grad = NULL;
        gpi_fail(GP_ERR_NOMEM, "%s: out of memory for %s", l->ops->kind, name);
        return NULL;
    }
    p->name = name;
    p->count = count;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->is_bias = is_bias;
    l->nparams++;
    return p;
}

gp_buffer *gpi_layer_add_buffer(gp_layer *l, const char *name, size_t count)
{
    if (l->nbuffers >= GP_LAYER_MAX_BUFFERS) {
        gpi_fail(GP_ERR_ARG, "%s: too many buffers", l->ops->kind);
        return NULL;
    }
    gp_buffer *b = &l->buffers[l->nbuffers];
    if (!(b->value = gpi_falloc(count))) {
        gpi_fail(GP_ERR_NOMEM, "%s: out of memory for %s", l->ops->kind, name);
        return NULL;
    }
    b->name = name;
    b->count = count;
    l->nbuffers++;
    return b;
}

void gpi_layer_free(gp_layer *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nparams; i++) {
        gpi_free(l->params[i].value);
        gpi_free(l->params[i].grad);
    }
    for (int i = 0; i < l->nbuffers; i++)
        gpi_free(l->buffers[i].value);
    free(l->priv);
    free(l);
}

void gpi_layer_destroy_plain(gp_layer *l)
{
    gpi_layer_free(l);
}

gp_status gpi_check_batch(const gp_layer *l, int n)
{
    if (n < 1 || n > l->in.n)
        return gpi_fail(GP_ERR_ARG, "%s: batch %d outside 1..%d", l->ops->kind, n, l->in.n);
    return GP_OK;
}

gp_status gp_layer_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    if (!l || !x || !y)
        return gpi_fail(GP_ERR_ARG, "layer forward: NULL argument");
    gp_status st = gpi_check_batch(l, n);
    return st ? st : l->ops->forward(l, n, x, y, mode);
}

gp_status gp_layer_backward(gp_layer *l, int n, const float *x, const float *y,
                            const float *dy, float *dx)
{
    if (!l || !x || !y || !dy)
        return gpi_fail(GP_ERR_ARG, "layer backward: NULL argument");
    gp_status st = gpi_check_batch(l, n);
    return st ? st : l->ops->backward(l, n, x, y, dy, dx);
}

void gp_layer_destroy(gp_layer *l)
{
    if (l)
        l->ops->destroy(l);
}

size_t gp_layer_param_count(const gp_layer *l)
{
    size_t total = 0;
    for (int i = 0; i < l->nparams; i++)
        total += l->params[i].count;
    return total;
}
