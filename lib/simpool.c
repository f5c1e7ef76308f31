/*
 * simpool.c - SimPool (Psomas et al., ICCV 2023) for heads: c x h x w ->
 * c x 1 x 1, as timm's SimPool2d with its defaults (no bias on the
 * projections, no norm of queries and keys, no power normalisation).
 *
 * Per image, with x_p the c channels of position p (N = h w positions):
 *   z_p = LayerNorm(x_p) = gamma (x_p - mean_p) rstd_p + beta   (eps 1e-5)
 *   q   = Wq mean_p(x_p)           the query: the GAP vector of x, not of z
 *   k_p = Wk z_p                   keys; the values are z_p themselves
 *   a_g = softmax_p(scale <q_g, k_p,g>)  per head g over its c / heads
 *                                  channels, scale = (c / heads)^-1/2
 *   y_k = sum_p a_g(k)[p] z_p[k]
 * The scores are computed as u_g . z_p with u_g = scale Wk_g^T q_g (the
 * head's rows of Wk), which is the same sum taken in another order and
 * saves forming the c x N keys: then the attention is gpi_attn_pool_image's
 * (attention.c) with u as score weights and z as values.
 *
 * Backward, per image, from that function's backward (ds, du, dz):
 *   dq_j      = scale sum_i du[g(j)][i] Wk[j][i]
 *   dWk[j][i] = scale q_j du[g(j)][i],  dWq = dq mean_p(x)^T
 *   dgamma    = sum_p dz_p xhat_p,  dbeta = sum_p dz_p
 *   dx_p      = rstd_p (d - mean(d) - xhat_p mean(d xhat_p)) + (Wq^T dq) / N,
 *               d = gamma dz_p (LayerNorm's backward over the channels)
 * Every parameter gradient is summed over images in image order after the
 * loop over images, from per-image vectors kept for it.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpi_attention.h"

/* nn.LayerNorm's default eps. */
#define GPI_SIMPOOL_LN_EPS 1e-5

enum { GPI_NORM_W = 0, GPI_NORM_B, GPI_Q_W, GPI_K_W };

/* Per-layer state; every array is sized for the maximum batch of the plan. */
typedef struct {
    gpi_attn_map map;        /* first: gp_attention_map reads it */
    double  scale;           /* (c / heads)^-1/2 */
    float  *xhat, *z;        /* n x c x hw: normalised x, and the values gamma xhat + beta */
    float  *rstd;            /* n x hw: 1 / sqrt(var + eps) per position */
    float  *gap, *q;         /* n x c: the GAP vector and the query Wq gap */
    float  *u;               /* n x heads x c: the score weights scale Wk_g^T q_g */
    float  *dz, *ds;         /* backward: n x c x hw, n x heads x hw */
    double *du, *dq;         /* backward: n x heads x c, n x c */
    double *dgamma, *dbeta;  /* backward: n x c, each image's share */
    double *pos;             /* n x 2 hw: per-position sums over the channels */
} gpi_simpool;

/* One pass over images: what the per-image functions read and write. */
typedef struct {
    const gp_layer *l;
    const float *x, *dy;
    float *y, *dx;
} gpi_simpool_job;

/* Everything of image b's slice of the state. */
typedef struct {
    const float *x;
    float *a, *xhat, *z, *rstd, *gap, *q, *u, *dz, *ds;
    double *du, *dq, *dgamma, *dbeta, *pos;
} gpi_simpool_image;

static gpi_simpool_image gpi_simpool_slice(const gp_layer *l, const float *x, int b)
{
    const gpi_simpool *s = l->priv;
    size_t c = (size_t)l->in.c, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t heads = (size_t)s->map.heads, i = (size_t)b;
    return (gpi_simpool_image){
        x + i * c * hw, s->map.weights + i * heads * hw, s->xhat + i * c * hw,
        s->z + i * c * hw, s->rstd + i * hw, s->gap + i * c, s->q + i * c,
        s->u + i * heads * c, s->dz + i * c * hw, s->ds + i * heads * hw,
        s->du + i * heads * c, s->dq + i * c, s->dgamma + i * c, s->dbeta + i * c,
        s->pos + i * 2 * hw
    };
}

/* ------------------------------------------------------ forward */

/* LayerNorm over the c channels of every position (biased variance, sums
 * in double, channel by channel so that the loops run along positions),
 * into xhat, rstd and z = gamma xhat + beta. */
static void gpi_simpool_norm(const gp_layer *l, gpi_simpool_image *im)
{
    int c = l->in.c;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    const float *gamma = l->params[GPI_NORM_W].value, *beta = l->params[GPI_NORM_B].value;
    double *mean = im->pos, *var = im->pos + hw;
    memset(im->pos, 0, 2 * hw * sizeof *im->pos);
    for (int k = 0; k < c; k++)
        for (size_t p = 0; p < hw; p++)
            mean[p] += im->x[(size_t)k * hw + p];
    for (size_t p = 0; p < hw; p++)
        mean[p] /= c;
    for (int k = 0; k < c; k++)
        for (size_t p = 0; p < hw; p++) {
            double d = (double)im->x[(size_t)k * hw + p] - mean[p];
            var[p] += d * d;
        }
    for (size_t p = 0; p < hw; p++) {
        var[p] = 1.0 / sqrt(var[p] / c + GPI_SIMPOOL_LN_EPS);    /* now rstd */
        im->rstd[p] = (float)var[p];
    }
    for (int k = 0; k < c; k++)
        for (size_t p = 0; p < hw; p++) {
            size_t at = (size_t)k * hw + p;
            float xh = (float)(((double)im->x[at] - mean[p]) * var[p]);
            im->xhat[at] = xh;
            im->z[at] = gamma[k] * xh + beta[k];
        }
}

/* gap = mean_p x_p, q = Wq gap, u_g = scale Wk_g^T q_g (sums in double). */
static void gpi_simpool_query(const gp_layer *l, gpi_simpool_image *im)
{
    const gpi_simpool *s = l->priv;
    int c = l->in.c, group = c / s->map.heads;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    const float *wq = l->params[GPI_Q_W].value, *wk = l->params[GPI_K_W].value;
    for (int k = 0; k < c; k++) {
        double sum = 0;
        for (size_t p = 0; p < hw; p++)
            sum += im->x[(size_t)k * hw + p];
        im->gap[k] = (float)(sum / (double)hw);
    }
    for (int j = 0; j < c; j++) {
        double sum = 0;
        for (int m = 0; m < c; m++)
            sum += (double)wq[(size_t)j * c + m] * (double)im->gap[m];
        im->q[j] = (float)sum;
    }
    for (int g = 0; g < s->map.heads; g++)
        for (int i = 0; i < c; i++) {
            double sum = 0;
            for (int j = g * group; j < (g + 1) * group; j++)
                sum += (double)im->q[j] * (double)wk[(size_t)j * c + i];
            im->u[(size_t)g * c + i] = (float)(s->scale * sum);
        }
}

static void gpi_simpool_image_forward(const void *arg, int b)
{
    const gpi_simpool_job *job = arg;
    const gp_layer *l = job->l;
    gpi_simpool_image im = gpi_simpool_slice(l, job->x, b);
    int c = l->in.c;
    gpi_simpool_norm(l, &im);
    gpi_simpool_query(l, &im);
    gpi_attn_pool_image(im.u, im.z, c, ((const gpi_simpool *)l->priv)->map.heads,
                        (size_t)l->in.h * (size_t)l->in.w, im.a, job->y + (size_t)b * c);
}

static gp_status gpi_simpool_forward(gp_layer *l, int n, const float *x, float *y,
                                     gp_mode mode)
{
    (void)mode;    /* the weights are kept in eval too: they are the attention map */
    gpi_simpool *s = l->priv;
    gpi_simpool_job job = { .l = l, .x = x, .y = y };
    gpi_attn_for_images(gpi_simpool_image_forward, &job, n,
                        gp_shape_image_size(l->in) * (size_t)(s->map.heads + 4));
    s->map.last_n = n;
    return GP_OK;
}

/* ------------------------------------------------------ backward */

/* dq_j = scale sum_i du[g(j)][i] Wk[j][i]. */
static void gpi_simpool_query_grad(const gp_layer *l, gpi_simpool_image *im)
{
    const gpi_simpool *s = l->priv;
    int c = l->in.c, group = c / s->map.heads;
    const float *wk = l->params[GPI_K_W].value;
    for (int j = 0; j < c; j++) {
        const double *du = im->du + (size_t)(j / group) * c;
        double sum = 0;
        for (int i = 0; i < c; i++)
            sum += du[i] * (double)wk[(size_t)j * c + i];
        im->dq[j] = s->scale * sum;
    }
}

/* This image's shares of dgamma and dbeta. */
static void gpi_simpool_norm_param_grad(const gp_layer *l, gpi_simpool_image *im)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int k = 0; k < l->in.c; k++) {
        const float *dz = im->dz + (size_t)k * hw, *xh = im->xhat + (size_t)k * hw;
        double sg = 0, sb = 0;
        for (size_t p = 0; p < hw; p++) {
            sg += (double)dz[p] * (double)xh[p];
            sb += dz[p];
        }
        im->dgamma[k] = sg;
        im->dbeta[k] = sb;
    }
}

/* dx through LayerNorm (from dz) and through the GAP query (from dq); the
 * sums over channels per position run channel by channel, as the norm's. */
static void gpi_simpool_input_grad(const gp_layer *l, gpi_simpool_image *im, float *dx)
{
    int c = l->in.c;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    const float *gamma = l->params[GPI_NORM_W].value, *wq = l->params[GPI_Q_W].value;
    double *s1 = im->pos, *s2 = im->pos + hw;
    memset(im->pos, 0, 2 * hw * sizeof *im->pos);
    for (int k = 0; k < c; k++)
        for (size_t p = 0; p < hw; p++) {
            size_t at = (size_t)k * hw + p;
            double d = (double)gamma[k] * (double)im->dz[at];
            s1[p] += d;
            s2[p] += d * (double)im->xhat[at];
        }
    for (int k = 0; k < c; k++) {
        double dgap = 0;
        for (int j = 0; j < c; j++)
            dgap += (double)wq[(size_t)j * c + k] * im->dq[j];
        dgap /= (double)hw;
        for (size_t p = 0; p < hw; p++) {
            size_t at = (size_t)k * hw + p;
            double d = (double)gamma[k] * (double)im->dz[at];
            dx[at] = (float)((double)im->rstd[p] * (d - s1[p] / c -
                                                   (double)im->xhat[at] * (s2[p] / c)) + dgap);
        }
    }
}

static void gpi_simpool_image_backward(const void *arg, int b)
{
    const gpi_simpool_job *job = arg;
    const gp_layer *l = job->l;
    gpi_simpool_image im = gpi_simpool_slice(l, job->x, b);
    int c = l->in.c;
    gpi_attn_pool_image_backward(im.u, im.z, im.a, job->dy + (size_t)b * c, c,
                                 ((const gpi_simpool *)l->priv)->map.heads,
                                 (size_t)l->in.h * (size_t)l->in.w, im.ds, im.du, im.dz);
    gpi_simpool_query_grad(l, &im);
    gpi_simpool_norm_param_grad(l, &im);
    if (job->dx)
        gpi_simpool_input_grad(l, &im, job->dx + (size_t)b * gp_shape_image_size(l->in));
}

/* dWq[j][m] = sum_b dq_b[j] gap_b[m]; dWk[j][i] = scale sum_b q_b[j] du_b[g(j)][i]. */
static void gpi_simpool_projection_grads(gp_layer *l, int n)
{
    const gpi_simpool *s = l->priv;
    int c = l->in.c, heads = s->map.heads, group = c / heads;
    float *dwq = l->params[GPI_Q_W].grad, *dwk = l->params[GPI_K_W].grad;
    for (int j = 0; j < c; j++)
        for (int i = 0; i < c; i++) {
            double sq = 0, sk = 0;
            for (int b = 0; b < n; b++) {
                size_t img = (size_t)b * c;
                sq += s->dq[img + j] * (double)s->gap[img + i];
                sk += (double)s->q[img + j] *
                      s->du[((size_t)b * heads + (size_t)(j / group)) * c + i];
            }
            dwq[(size_t)j * c + i] = (float)sq;
            dwk[(size_t)j * c + i] = (float)(s->scale * sk);
        }
}

static gp_status gpi_simpool_backward(gp_layer *l, int n, const float *x, const float *y,
                                      const float *dy, float *dx)
{
    (void)y;
    gpi_simpool *s = l->priv;
    gpi_simpool_job job = { .l = l, .x = x, .dy = dy, .dx = dx };
    gpi_attn_for_images(gpi_simpool_image_backward, &job, n,
                        gp_shape_image_size(l->in) * (size_t)(2 * s->map.heads + 6));
    gpi_attn_sum_parts(s->dgamma, n, (size_t)l->in.c, l->params[GPI_NORM_W].grad);
    gpi_attn_sum_parts(s->dbeta, n, (size_t)l->in.c, l->params[GPI_NORM_B].grad);
    gpi_simpool_projection_grads(l, n);
    return GP_OK;
}

/* ------------------------------------------------------ plan */

/* The scratch buffers, listed once for allocating and freeing (a buffer
 * missing from one of two lists leaked). */
#define GPI_SIMPOOL_FLOATS(s)                                                        \
    { &(s)->map.weights, &(s)->xhat, &(s)->z, &(s)->rstd, &(s)->gap, &(s)->q, &(s)->u, \
      &(s)->dz, &(s)->ds }
#define GPI_SIMPOOL_DOUBLES(s) { &(s)->du, &(s)->dq, &(s)->dgamma, &(s)->dbeta, &(s)->pos }

static void gpi_simpool_free_scratch(gpi_simpool *s)
{
    float **floats[] = GPI_SIMPOOL_FLOATS(s);
    double **doubles[] = GPI_SIMPOOL_DOUBLES(s);
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        gpi_free(*floats[i]);
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++)
        gpi_free(*doubles[i]);
}

static void gpi_simpool_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_simpool_free_scratch(l->priv);
    gpi_layer_free(l);
}

/* The scratch for inputs in into s, and its bytes; on failure s holds what
 * was allocated. */
static gp_status gpi_simpool_scratch(gpi_simpool *s, gp_shape in, size_t *bytes)
{
    size_t n = (size_t)in.n, c = (size_t)in.c, hw = (size_t)in.h * (size_t)in.w;
    size_t heads = (size_t)s->map.heads;
    float **floats[] = GPI_SIMPOOL_FLOATS(s);
    size_t float_counts[] = { heads * hw, c * hw, c * hw, hw, c, c, heads * c, c * hw,
                              heads * hw };
    double **doubles[] = GPI_SIMPOOL_DOUBLES(s);
    size_t double_counts[] = { heads * c, c, c, c, 2 * hw };
    _Static_assert(sizeof float_counts / sizeof *float_counts ==
                   sizeof floats / sizeof *floats, "a count per float buffer");
    int ok = 1;
    *bytes = 0;
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
        ok &= (*floats[i] = gpi_falloc(n * float_counts[i])) != NULL;
        *bytes += n * float_counts[i] * sizeof(float);
    }
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++) {
        ok &= (*doubles[i] = gpi_balloc(n * double_counts[i] * sizeof(double))) != NULL;
        *bytes += n * double_counts[i] * sizeof(double);
    }
    return ok ? GP_OK : gpi_fail(GP_ERR_NOMEM, "simpool: out of memory");
}

/* norm_weight, norm_bias [c] (1 and 0, as nn.LayerNorm's), q_weight and
 * k_weight [c, c] (nn.Linear's [out, in]). */
static gp_status gpi_simpool_init(gp_layer *l)
{
    gpi_simpool *s = l->priv;
    int c = l->in.c;
    s->map.heads = l->spec.u.simpool.heads;
    s->scale = 1.0 / sqrt((double)(c / s->map.heads));
    size_t vec = (size_t)c, mat[2] = { (size_t)c, (size_t)c };
    gp_param *w = gpi_layer_add_param(l, "norm_weight", 1, &vec, 0, 0, 0);
    gp_param *b = w ? gpi_layer_add_param(l, "norm_bias", 1, &vec, 0, 0, 1) : NULL;
    if (!b || !gpi_layer_add_param(l, "q_weight", 2, mat, c, c, 0) ||
        !gpi_layer_add_param(l, "k_weight", 2, mat, c, c, 0))
        return GP_ERR_NOMEM;
    for (int k = 0; k < c; k++)
        w->value[k] = 1.0f;
    w->fixed_init = b->fixed_init = 1;
    return GP_OK;
}

static gp_status gpi_simpool_reshape(gp_layer *l, gp_shape in)
{
    gpi_simpool *s = l->priv;
    gpi_simpool next = { .map = { .heads = s->map.heads }, .scale = s->scale };
    size_t bytes;
    if (gpi_simpool_scratch(&next, in, &bytes) != GP_OK) {
        gpi_simpool_free_scratch(&next);
        return GP_ERR_NOMEM;
    }
    gpi_simpool_free_scratch(s);
    *s = next;
    gpi_layer_set_shapes(l, in);
    l->workspace_bytes = bytes;
    double c = in.c, hw = (double)in.h * (double)in.w, heads = s->map.heads;
    /* GAP c hw; LayerNorm 7 c hw (mean, variance, normalise, affine); q and
     * u 2 c^2 each; scores 2 c per head and position; softmax 4 per head and
     * position; the weighted sum 2 c hw */
    l->flops = 10.0 * c * hw + 4.0 * c * c + (2.0 * c + 4.0) * heads * hw;
    snprintf(l->desc, sizeof l->desc, "simpool, %d head%s of %d channels", s->map.heads,
             s->map.heads == 1 ? "" : "s", in.c / s->map.heads);
    return GP_OK;
}

const gpi_layer_kind gpi_simpool_kind = {
    { "simpool", gpi_simpool_forward, gpi_simpool_backward, gpi_simpool_destroy,
      gpi_attn_out_shape, gpi_simpool_reshape },
    sizeof(gpi_simpool), gpi_attn_check, gpi_simpool_init, gpi_attn_format
};

gp_status gp_simpool_create(gp_layer **out, gp_shape in, int heads)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_SIMPOOL,
                                                      .u.simpool = { heads } });
}
