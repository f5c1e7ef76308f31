/*
 * gpi_attention.h - what the two attention pools of heads (attn_pool.c,
 * simpool.c) share (not installed): the softmax over an image's h x w
 * positions and its backward, the weighted sum of a channel group's planes,
 * the loop over images, and the attention map that gp_attention_map
 * (attention.c) hands out.
 *
 * Both pools work image by image: an image's output, and its share of
 * every parameter gradient, depend on that image alone. The shares are
 * kept per image and summed in image order after the loop, so results do
 * not depend on the thread count.
 */
#ifndef GPI_ATTENTION_H
#define GPI_ATTENTION_H

#include "gpi_layer.h"

/* The first member of both kinds' private state: gp_attention_map reads it. */
typedef struct {
    float *weights;     /* max batch x heads x hw softmax weights of the last forward */
    int    heads;
    int    last_n;      /* that forward's batch; 0 before the first or after a reshape */
} gpi_attn_map;

/* Attention pooling of one image's c planes v (hw values each) with the
 * score weights w (heads x c): per head g the scores s[g][p] = sum_k
 * w[g][k] v[k][p], a[g] = the softmax of s[g] over the hw positions (into
 * a, heads x hw), and y[k] = sum_p a[g(k)][p] v[k][p], g(k) the group of
 * channel k (heads equal groups in order). Sums over positions in double. */
void gpi_attn_pool_image(const float *w, const float *v, int c, int heads, size_t hw,
                         float *a, float *y);

/* Its backward for the output gradient dy (c): with da[g][p] = sum_{k in g}
 * dy[k] v[k][p], ds = a (da - sum_p a da) into ds (heads x hw, also the
 * scores' gradient); dw[g][k] = sum_p ds[g][p] v[k][p] (heads x c, double);
 * unless dv is NULL, dv[k][p] = a[g(k)][p] dy[k] + sum_g w[g][k] ds[g][p]. */
void gpi_attn_pool_image_backward(const float *w, const float *v, const float *a,
                                  const float *dy, int c, int heads, size_t hw, float *ds,
                                  double *dw, float *dv);

/* Run fn(job, b) for images b = 0..n-1, in parallel (static schedule) when
 * floats_per_image x n is worth a parallel region. */
void gpi_attn_for_images(void (*fn)(const void *job, int b), const void *job, int n,
                         size_t floats_per_image);

/* The verbs both kinds share, their spec's heads (the same field of
 * either's options) read by kind: check (heads >= 1), out_shape (c x 1 x 1,
 * for the channels the parameters were made for, which heads divides) and
 * format ("heads=N"). */
gp_status gpi_attn_check(const gp_layer_spec *spec);
gp_status gpi_attn_out_shape(const gp_layer *l, gp_shape in, gp_shape *out);
int       gpi_attn_format(const gp_layer_spec *spec, char *buf, size_t len);

/* sum over images b < n of part[b * count + i], in image order, into out[i] (floats). */
void gpi_attn_sum_parts(const double *part, int n, size_t count, float *out);

#endif /* GPI_ATTENTION_H */
