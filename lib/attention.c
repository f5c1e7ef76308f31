/*
 * attention.c - what the attention pools of heads share (gpi_attention.h),
 * and gp_attention_map, the accessor of the weights their last forward
 * computed (for class activation maps).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpi_attention.h"

/* Floats below which the images stay on one thread: a parallel region's
 * fork-join (a few microseconds) must stay small next to the work, a few
 * nanoseconds per float here (an exp per position, a few multiply-adds per
 * channel and position). */
#define GPI_ATTN_OMP_MIN ((size_t)16384)

/* s[g][p] = sum_k w[g][k] v[k][p] for every head g (float sums over the
 * channels, in channel order, as a 1x1 conv's). */
static void gpi_attn_scores(const float *w, const float *v, int c, int heads, size_t hw,
                            float *s)
{
    memset(s, 0, (size_t)heads * hw * sizeof *s);
    for (int g = 0; g < heads; g++) {
        float *sg = s + (size_t)g * hw;
        for (int k = 0; k < c; k++) {
            float wgk = w[(size_t)g * c + k];
            const float *vk = v + (size_t)k * hw;
            for (size_t p = 0; p < hw; p++)
                sg[p] += wgk * vk[p];
        }
    }
}

/* The softmax of a[0..hw) in place: max-subtracted, exp in float, the sum
 * in double. */
static void gpi_attn_softmax(float *a, size_t hw)
{
    float m = a[0];
    for (size_t p = 1; p < hw; p++)
        m = a[p] > m ? a[p] : m;
    double sum = 0;
    for (size_t p = 0; p < hw; p++) {
        a[p] = expf(a[p] - m);
        sum += a[p];
    }
    float inv = (float)(1.0 / sum);
    for (size_t p = 0; p < hw; p++)
        a[p] *= inv;
}

void gpi_attn_pool_image(const float *w, const float *v, int c, int heads, size_t hw,
                         float *a, float *y)
{
    int group = c / heads;
    gpi_attn_scores(w, v, c, heads, hw, a);
    for (int g = 0; g < heads; g++)
        gpi_attn_softmax(a + (size_t)g * hw, hw);
    for (int k = 0; k < c; k++) {
        const float *ak = a + (size_t)(k / group) * hw, *vk = v + (size_t)k * hw;
        double s = 0;
        for (size_t p = 0; p < hw; p++)
            s += (double)ak[p] * (double)vk[p];
        y[k] = (float)s;
    }
}

/* ds = dL/da for the weighted sum, then through the softmax: ds = a (da -
 * sum_p a da). */
static void gpi_attn_scores_grad(const float *v, const float *a, const float *dy, int c,
                                 int heads, size_t hw, float *ds)
{
    int group = c / heads;
    memset(ds, 0, (size_t)heads * hw * sizeof *ds);
    for (int k = 0; k < c; k++) {
        float *dsk = ds + (size_t)(k / group) * hw;
        const float *vk = v + (size_t)k * hw;
        for (size_t p = 0; p < hw; p++)
            dsk[p] += dy[k] * vk[p];
    }
    for (int g = 0; g < heads; g++) {
        const float *ag = a + (size_t)g * hw;
        float *dsg = ds + (size_t)g * hw;
        double dot = 0;
        for (size_t p = 0; p < hw; p++)
            dot += (double)ag[p] * (double)dsg[p];
        for (size_t p = 0; p < hw; p++)
            dsg[p] = (float)((double)ag[p] * ((double)dsg[p] - dot));
    }
}

/* dv[k][p] = a[g(k)][p] dy[k] + sum_g w[g][k] ds[g][p]: the value's own
 * path and its path through the scores. */
static void gpi_attn_values_grad(const float *w, const float *a, const float *ds,
                                 const float *dy, int c, int heads, size_t hw, float *dv)
{
    int group = c / heads;
    for (int k = 0; k < c; k++) {
        float *dvk = dv + (size_t)k * hw;
        const float *ak = a + (size_t)(k / group) * hw;
        for (size_t p = 0; p < hw; p++)
            dvk[p] = ak[p] * dy[k];
        for (int g = 0; g < heads; g++) {
            float wgk = w[(size_t)g * c + k];
            const float *dsg = ds + (size_t)g * hw;
            for (size_t p = 0; p < hw; p++)
                dvk[p] += wgk * dsg[p];
        }
    }
}

void gpi_attn_pool_image_backward(const float *w, const float *v, const float *a,
                                  const float *dy, int c, int heads, size_t hw, float *ds,
                                  double *dw, float *dv)
{
    gpi_attn_scores_grad(v, a, dy, c, heads, hw, ds);
    for (int g = 0; g < heads; g++)
        for (int k = 0; k < c; k++) {
            const float *dsg = ds + (size_t)g * hw, *vk = v + (size_t)k * hw;
            double s = 0;
            for (size_t p = 0; p < hw; p++)
                s += (double)dsg[p] * (double)vk[p];
            dw[(size_t)g * c + k] = s;
        }
    if (dv)
        gpi_attn_values_grad(w, a, ds, dy, c, heads, hw, dv);
}

void gpi_attn_for_images(void (*fn)(const void *job, int b), const void *job, int n,
                         size_t floats_per_image)
{
#ifdef _OPENMP
    if ((size_t)n * floats_per_image >= GPI_ATTN_OMP_MIN && omp_get_max_threads() > 1 &&
        !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; b++)
            fn(job, b);
        return;
    }
#else
    (void)floats_per_image;
#endif
    for (int b = 0; b < n; b++)
        fn(job, b);
}

static int gpi_attn_heads(const gp_layer_spec *spec)
{
    return spec->kind == GP_LAYER_SIMPOOL ? spec->u.simpool.heads : spec->u.attn_pool.heads;
}

gp_status gpi_attn_check(const gp_layer_spec *spec)
{
    if (gpi_attn_heads(spec) < 1)
        return gpi_fail(GP_ERR_ARG, "%s: heads %d < 1", gp_layer_kind_name(spec->kind),
                        gpi_attn_heads(spec));
    return GP_OK;
}

gp_status gpi_attn_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    int heads = gpi_attn_heads(&l->spec);
    *out = (gp_shape){ .n = in.n, .c = in.c, .h = 1, .w = 1 };
    gp_status st = gpi_check_channels(l, in);
    if (st == GP_OK && in.c % heads)
        st = gpi_fail(GP_ERR_ARG, "%s: %d channels do not split into %d heads of equal size",
                      l->ops->kind, in.c, heads);
    return st;
}

int gpi_attn_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "heads=%d", gpi_attn_heads(spec));
}

void gpi_attn_sum_parts(const double *part, int n, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++) {
        double s = 0;
        for (int b = 0; b < n; b++)
            s += part[(size_t)b * count + i];
        out[i] = (float)s;
    }
}

gp_status gp_attention_map(const gp_layer *l, int *n, int *heads, const float **weights)
{
    if (!l || !n || !heads || !weights)
        return gpi_fail(GP_ERR_ARG, "gp_attention_map: NULL argument");
    if (l->spec.kind != GP_LAYER_ATTN_POOL && l->spec.kind != GP_LAYER_SIMPOOL)
        return gpi_fail(GP_ERR_ARG, "gp_attention_map: a %s layer has no attention map",
                        l->ops->kind);
    const gpi_attn_map *m = l->priv;
    if (m->last_n < 1)
        return gpi_fail(GP_ERR_ARG, "gp_attention_map: the %s layer has not run a forward "
                        "at its current shape", l->ops->kind);
    *n = m->last_n;
    *heads = m->heads;
    *weights = m->weights;
    return GP_OK;
}
