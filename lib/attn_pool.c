/*
 * attn_pool.c - attention pooling for heads: c x h x w -> c x 1 x 1.
 *
 * A 1x1 conv (weight heads x c, over all c channels) gives every position
 * one score per head; a softmax over the h x w positions turns each head's
 * scores into weights a; channel k is pooled as sum_p a[g][p] x[k][p] with g
 * the group of k (heads equal groups of c / heads channels, in order). With
 * one head this is the context modelling of GCNet's global context block;
 * on class score maps it is attention-based MIL pooling.
 *
 * The conv has no bias: a bias adds the same constant to every score of a
 * map, which the softmax cancels, so it could never learn anything.
 *
 * The arithmetic is gpi_attn_pool_image's (attention.c) with the conv's
 * weight as the score weights and x as the values; each image's share of
 * the weight's gradient goes to its own slot, summed in image order.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "gpi_attention.h"

typedef struct {
    gpi_attn_map map;    /* first: gp_attention_map reads it */
    float  *dscore;      /* max batch x heads x hw: dL/d(scores) in backward */
    double *dw_part;     /* max batch x heads x c: each image's weight gradient */
} gpi_attn_pool;

/* One pass over images: what the per-image functions read and write. */
typedef struct {
    const gp_layer *l;
    const float *x, *dy;
    float *y, *dx;
} gpi_attn_job;

static void gpi_attn_image_forward(const void *arg, int b)
{
    const gpi_attn_job *job = arg;
    const gp_layer *l = job->l;
    const gpi_attn_pool *ap = l->priv;
    int c = l->in.c, heads = ap->map.heads;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    gpi_attn_pool_image(l->params[0].value, job->x + (size_t)b * c * hw, c, heads, hw,
                        ap->map.weights + (size_t)b * heads * hw, job->y + (size_t)b * c);
}

static gp_status gpi_attn_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;    /* the weights are kept in eval too: they are the attention map */
    gpi_attn_pool *ap = l->priv;
    gpi_attn_job job = { .l = l, .x = x, .y = y };
    size_t image = gp_shape_image_size(l->in) * (size_t)(ap->map.heads + 1);
    gpi_attn_for_images(gpi_attn_image_forward, &job, n, image);
    ap->map.last_n = n;
    return GP_OK;
}

static void gpi_attn_image_backward(const void *arg, int b)
{
    const gpi_attn_job *job = arg;
    const gp_layer *l = job->l;
    const gpi_attn_pool *ap = l->priv;
    int c = l->in.c, heads = ap->map.heads;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w, maps = (size_t)b * heads * hw;
    gpi_attn_pool_image_backward(l->params[0].value, job->x + (size_t)b * c * hw,
                                 ap->map.weights + maps, job->dy + (size_t)b * c, c, heads,
                                 hw, ap->dscore + maps, ap->dw_part + (size_t)b * heads * c,
                                 job->dx ? job->dx + (size_t)b * c * hw : NULL);
}

static gp_status gpi_attn_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    (void)y;
    gpi_attn_pool *ap = l->priv;
    gpi_attn_job job = { .l = l, .x = x, .dy = dy, .dx = dx };
    size_t image = gp_shape_image_size(l->in) * (size_t)(2 * ap->map.heads + 1);
    gpi_attn_for_images(gpi_attn_image_backward, &job, n, image);
    gpi_attn_sum_parts(ap->dw_part, n, (size_t)ap->map.heads * (size_t)l->in.c,
                       l->params[0].grad);
    return GP_OK;
}

/* ------------------------------------------------------ plan */

static void gpi_attn_free_scratch(gpi_attn_pool *ap)
{
    gpi_free(ap->map.weights);
    gpi_free(ap->dscore);
    gpi_free(ap->dw_part);
}

static void gpi_attn_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_attn_free_scratch(l->priv);
    gpi_layer_free(l);
}

/* weight [heads, c, 1, 1], as a 1x1 conv's. */
static gp_status gpi_attn_init(gp_layer *l)
{
    gpi_attn_pool *ap = l->priv;
    ap->map.heads = l->spec.u.attn_pool.heads;
    size_t dims[4] = { (size_t)ap->map.heads, (size_t)l->in.c, 1, 1 };
    if (!gpi_layer_add_param(l, "weight", 4, dims, l->in.c, ap->map.heads, 0))
        return GP_ERR_NOMEM;
    return GP_OK;
}

static gp_status gpi_attn_reshape(gp_layer *l, gp_shape in)
{
    gpi_attn_pool *ap = l->priv;
    int heads = ap->map.heads;
    size_t hw = (size_t)in.h * (size_t)in.w, maps = (size_t)in.n * (size_t)heads * hw;
    gpi_attn_pool next = { .map = { .heads = heads } };
    next.map.weights = gpi_falloc(maps);
    next.dscore = gpi_falloc(maps);
    next.dw_part = gpi_balloc((size_t)in.n * (size_t)heads * (size_t)in.c * sizeof(double));
    if (!next.map.weights || !next.dscore || !next.dw_part) {
        gpi_attn_free_scratch(&next);
        return gpi_fail(GP_ERR_NOMEM, "attn_pool: out of memory");
    }
    gpi_attn_free_scratch(ap);
    *ap = next;
    gpi_layer_set_shapes(l, in);
    l->workspace_bytes = 2 * maps * sizeof(float) +
                         (size_t)in.n * (size_t)heads * (size_t)in.c * sizeof(double);
    /* scores 2 c per head and position; softmax subtract, exp, add, scale; the weighted sum */
    l->flops = (2.0 * in.c + 4.0) * (double)heads * (double)hw + 2.0 * in.c * (double)hw;
    snprintf(l->desc, sizeof l->desc, "attention, %d head%s of %d channels", heads,
             heads == 1 ? "" : "s", in.c / heads);
    return GP_OK;
}

const gpi_layer_kind gpi_attn_pool_kind = {
    { "attn_pool", gpi_attn_forward, gpi_attn_backward, gpi_attn_destroy, gpi_attn_out_shape,
      gpi_attn_reshape },
    sizeof(gpi_attn_pool), gpi_attn_check, gpi_attn_init, gpi_attn_format
};

gp_status gp_attn_pool_create(gp_layer **out, gp_shape in, int heads)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_ATTN_POOL,
                                                      .u.attn_pool = { heads } });
}
