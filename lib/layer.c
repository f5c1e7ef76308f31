/*
 * layer.c - the generic half of every layer: the list of kinds, creation
 * from a spec, the checked verbs, and allocation.
 */
#include "autoconfig.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpi_layer.h"

/* The list of kinds, in gp_layer_kind order (GP_LAYER_CUSTOM has none). */
static const gpi_layer_kind *const gpi_kinds[GP_LAYER_NKINDS] = {
    [GP_LAYER_CONV2D] = &gpi_conv2d_kind,
    [GP_LAYER_BATCHNORM2D] = &gpi_batchnorm2d_kind,
    [GP_LAYER_RELU] = &gpi_relu_kind,
    [GP_LAYER_SIGMOID] = &gpi_sigmoid_kind,
    [GP_LAYER_AVGPOOL2D] = &gpi_avgpool2d_kind,
    [GP_LAYER_MAXPOOL2D] = &gpi_maxpool2d_kind,
    [GP_LAYER_DROPOUT] = &gpi_dropout_kind,
    [GP_LAYER_FLATTEN] = &gpi_flatten_kind,
    [GP_LAYER_DENSE] = &gpi_dense_kind,
    [GP_LAYER_HEAD_POOL] = &gpi_head_pool_kind,
    [GP_LAYER_TOPK_POOL] = &gpi_topk_pool_kind,
    [GP_LAYER_ADAPTIVE_AVGPOOL2D] = &gpi_adaptive_avgpool2d_kind,
    [GP_LAYER_ADAPTIVE_MAXPOOL2D] = &gpi_adaptive_maxpool2d_kind,
    [GP_LAYER_SPP] = &gpi_spp_kind,
    [GP_LAYER_ATTN_POOL] = &gpi_attn_pool_kind,
    [GP_LAYER_SIMPOOL] = &gpi_simpool_kind,
};

static const gpi_layer_kind *gpi_kind(gp_layer_kind kind)
{
    return (unsigned)kind < GP_LAYER_NKINDS ? gpi_kinds[kind] : NULL;
}

const char *gp_layer_kind_name(gp_layer_kind kind)
{
    if (kind == GP_LAYER_CUSTOM)
        return "custom";
    return gpi_kind(kind) ? gpi_kind(kind)->ops.kind : NULL;
}

gp_status gp_layer_kind_parse(const char *name, gp_layer_kind *kind)
{
    if (!name || !kind)
        return gpi_fail(GP_ERR_ARG, "gp_layer_kind_parse: NULL argument");
    for (int k = 0; k < GP_LAYER_NKINDS; k++)
        if (!strcmp(name, gp_layer_kind_name((gp_layer_kind)k))) {
            *kind = (gp_layer_kind)k;
            return GP_OK;
        }
    return gpi_fail(GP_ERR_NOTFOUND, "no layer kind named '%s'", name);
}

int gp_layer_spec_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    const gpi_layer_kind *k = spec ? gpi_kind(spec->kind) : NULL;
    if (!k)
        return -1;
    if (!k->format)
        return snprintf(buf, len, "%s", "");
    return k->format(spec, buf, len);
}

/* ------------------------------------------------------------ shapes */

size_t gp_shape_image_size(gp_shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

static int gpi_shape_ok(gp_shape s)
{
    return s.n > 0 && s.c > 0 && s.h > 0 && s.w > 0;
}

gp_status gpi_same_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    (void)l;
    *out = in;
    return GP_OK;
}

gp_status gpi_check_channels(const gp_layer *l, gp_shape in)
{
    if (in.c != l->in.c)
        return gpi_fail(GP_ERR_ARG, "%s: its parameters are for %d channels, not %d",
                        l->ops->kind, l->in.c, in.c);
    return GP_OK;
}

gp_status gp_layer_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    if (!l || !out)
        return gpi_fail(GP_ERR_ARG, "gp_layer_out_shape: NULL argument");
    if (!l->ops->out_shape || !l->ops->reshape)
        return gpi_fail(GP_ERR_ARG, "%s: this layer kind cannot be reshaped", l->ops->kind);
    if (!gpi_shape_ok(in))
        return gpi_fail(GP_ERR_ARG, "%s: input shape %dx%dx%dx%d is not positive",
                        l->ops->kind, in.n, in.c, in.h, in.w);
    gp_status st = l->ops->out_shape(l, in, out);
    if (st == GP_OK && !gpi_shape_ok(*out))
        st = gpi_fail(GP_ERR_ARG, "%s: input %dx%dx%d gives an empty output %dx%dx%d",
                      l->ops->kind, in.c, in.h, in.w, out->c, out->h, out->w);
    out->n = in.n;
    return st;
}

gp_status gp_layer_reshape(gp_layer *l, gp_shape in)
{
    gp_shape out;
    gp_status st = gp_layer_out_shape(l, in, &out);
    return st ? st : l->ops->reshape(l, in);
}

void gpi_layer_set_shapes(gp_layer *l, gp_shape in)
{
    l->ops->out_shape(l, in, &l->out);
    l->out.n = in.n;
    l->in = in;
}

/* ------------------------------------------------------------ creation */

/* A zeroed record of spec's kind for inputs in, its private state
 * allocated; NULL with gp_last_error on failure. */
static gp_layer *gpi_layer_record(const gpi_layer_kind *k, const gp_layer_spec *spec, gp_shape in)
{
    gp_layer *l = calloc(1, sizeof *l);
    if (!l || (k->priv_bytes && !(l->priv = calloc(1, k->priv_bytes)))) {
        free(l);
        gpi_fail(GP_ERR_NOMEM, "%s: out of memory", k->ops.kind);
        return NULL;
    }
    l->ops = &k->ops;
    l->spec = *spec;
    l->in = in;
    return l;
}

gp_status gp_layer_create(gp_layer **out, gp_shape in, const gp_layer_spec *spec)
{
    const gpi_layer_kind *k = spec ? gpi_kind(spec->kind) : NULL;
    if (!out || !spec)
        return gpi_fail(GP_ERR_ARG, "gp_layer_create: NULL argument");
    *out = NULL;
    if (!k)
        return gpi_fail(GP_ERR_ARG, "gp_layer_create: no layer kind %d", (int)spec->kind);
    if (!gpi_shape_ok(in))
        return gpi_fail(GP_ERR_ARG, "%s: input shape %dx%dx%dx%d is not positive",
                        k->ops.kind, in.n, in.c, in.h, in.w);
    gp_status st = k->check ? k->check(spec) : GP_OK;
    if (st != GP_OK)
        return st;
    gp_layer *l = gpi_layer_record(k, spec, in);
    if (!l)
        return GP_ERR_NOMEM;
    st = gp_layer_out_shape(l, in, &l->out);
    if (st == GP_OK && k->init)
        st = k->init(l);
    if (st == GP_OK)
        st = l->ops->reshape(l, in);
    if (st != GP_OK) {
        l->ops->destroy(l);
        return st;
    }
    *out = l;
    return GP_OK;
}

/* ------------------------------------------------------------ memory */

/* The bytes of the library's tensors and scratch, counted where they are
 * allocated (gp_alloc_stats): every block carries its size in a header of
 * GPI_ALIGN bytes in front of it, so gpi_free can take it off again and the
 * block itself stays aligned. Atomic, so that nets built on other threads
 * count too. */
static atomic_size_t gpi_alloc_current, gpi_alloc_peak;

static void gpi_alloc_count(size_t bytes)
{
    size_t now = atomic_fetch_add(&gpi_alloc_current, bytes) + bytes;
    size_t peak = atomic_load(&gpi_alloc_peak);
    while (now > peak && !atomic_compare_exchange_weak(&gpi_alloc_peak, &peak, now))
        ;
}

gp_alloc_stats gp_alloc_stats_get(void)
{
    return (gp_alloc_stats){ atomic_load(&gpi_alloc_current), atomic_load(&gpi_alloc_peak) };
}

void gp_alloc_reset_peak(void)
{
    atomic_store(&gpi_alloc_peak, atomic_load(&gpi_alloc_current));
}

float *gpi_falloc(size_t count)
{
    return gpi_balloc((count ? count : 1) * sizeof(float));
}

void *gpi_balloc(size_t bytes)
{
    size_t rounded = ((bytes ? bytes : 1) + GPI_ALIGN - 1) / GPI_ALIGN * GPI_ALIGN;
    if (rounded > SIZE_MAX - GPI_ALIGN)
        return NULL;
    unsigned char *block = aligned_alloc(GPI_ALIGN, GPI_ALIGN + rounded);
    if (!block)
        return NULL;
    memcpy(block, &rounded, sizeof rounded);
    memset(block + GPI_ALIGN, 0, rounded);
    gpi_alloc_count(rounded);
    return block + GPI_ALIGN;
}

void gpi_free(void *p)
{
    if (!p)
        return;
    unsigned char *block = (unsigned char *)p - GPI_ALIGN;
    size_t bytes;
    memcpy(&bytes, block, sizeof bytes);
    atomic_fetch_sub(&gpi_alloc_current, bytes);
    free(block);
}

gp_param *gpi_layer_add_param(gp_layer *l, const char *name, int ndims, const size_t *dims,
                              int fan_in, int fan_out, int is_bias)
{
    if (l->nparams >= GP_LAYER_MAX_PARAMS || ndims < 1 || ndims > GP_TENSOR_MAX_DIMS) {
        gpi_fail(GP_ERR_ARG, "%s: too many parameters, or %d dims", l->ops->kind, ndims);
        return NULL;
    }
    gp_param *p = &l->params[l->nparams];
    memset(p, 0, sizeof *p);
    p->count = 1;
    for (int i = 0; i < ndims; i++)
        p->count *= p->dims[i] = dims[i];
    p->ndims = ndims;
    p->value = gpi_falloc(p->count);
    p->grad = gpi_falloc(p->count);
    if (!p->value || !p->grad) {
        gpi_free(p->value);
        gpi_free(p->grad);
        p->value = p->grad = NULL;
        gpi_fail(GP_ERR_NOMEM, "%s: out of memory for %s", l->ops->kind, name);
        return NULL;
    }
    p->name = name;
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
    b->ndims = 1;
    b->dims[0] = count;
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

/* ------------------------------------------------------------ verbs */

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

size_t gp_layer_param_floats(const gp_layer *l)
{
    size_t total = 0;
    for (int i = 0; i < l->nparams; i++)
        total += l->params[i].count;
    return total;
}
