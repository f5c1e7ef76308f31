/*
 * batchnorm2d.c - batch normalization per channel over N, H, W.
 *
 * Written to run near memory bandwidth on baseline x86-64 (SSE2), with
 * float results close to PyTorch's rather than bit-identical:
 *  - Sums run in 16 independent float partial sums (four quads, below),
 *    folded and flushed to double once per group of at most about
 *    GPI_BN_GROUP floats, so each float lane adds only a few hundred terms.
 *  - The statistics read x from memory once: a group (a few small planes of
 *    the channel, or a slice of a large one) is summed, and its squared
 *    deviations from its own mean are taken in a second pass while it is
 *    still in L1. Groups are merged in double with Chan, Golub and LeVeque's
 *    update, so the variance has two-pass accuracy even when |mean| >> std.
 *  - y = (x - mean) * alpha + beta: unlike x * alpha + (beta - mean * alpha)
 *    it does not cancel when |mean| >> std.
 * Work is split over channels and each channel runs in a fixed order, so
 * the results are the same for every thread count.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpi_bn.h"
#include "gpi_layer.h"

/* Below this many floats a parallel region costs more than it saves. */
#define GPI_BN_PAR_MIN ((size_t)1 << 15)

/* A quad (GPI_BN_Q) is one SSE2 register of floats. The scalar kernels
 * handle a block of four quads per iteration, each through its own fixed
 * 4-iteration loop (a small inline function): GCC -O2 turns each into one
 * vector instruction and keeps the four accumulators in registers, whereas
 * a single 16-iteration loop over an accumulator array leaves them on the
 * stack. The AVX2 / AVX-512 kernels (gpi_bn.h) keep the same sums. */

/* Floats per group of a channel's sums: 8 KiB stays in L1 for the second
 * pass of the statistics, and a float partial sum adds GPI_BN_GROUP /
 * GPI_BN_BLOCK = 128 terms, or a few hundred with the tails of odd planes. */
#define GPI_BN_GROUP ((size_t)2048)

/* Count, mean and sum of squared deviations of the values merged so far. */
typedef struct {
    double n, mean, m2;
} gpi_bn_moments;

typedef struct {
    float momentum;         /* PyTorch too rounds its double momentum to float */
    double eps;             /* the decimal the caller meant (gpi_bn_decimal) */
    int trained;            /* the last forward normalised with batch statistics */
    float *mean, *invstd;   /* per channel, saved by a training forward for backward */
    /* per channel: the affine y = (x - aff_mean) aff_alpha + aff_beta of the
     * last forward (gpi_bn_eval_prepare, gpi_bn_train_stats) */
    float *aff_mean, *aff_alpha, *aff_beta;
    /* per channel: dx = (dy - d_mean - (x - mean) d_k) d_scale, from gpi_bn_grad_channel */
    float *d_k, *d_mean, *d_scale;
    /* a training forward's group moments (gpi_bn_gather_row), channel by
     * channel in merge order, and which rows of groups are gathered */
    gpi_bn_moments *groups;
    unsigned char *row_done;
    size_t groups_cap, rows_cap;
} gpi_bn;


static inline void gpi_bn_q_sum(float *restrict acc, const float *restrict p)
{
    for (int k = 0; k < GPI_BN_Q; k++)
        acc[k] += p[k];
}

/* Deviations d = p - m: acc1 += d, acc2 += d * d. */
static inline void gpi_bn_q_dev(float *restrict acc1, float *restrict acc2,
                                const float *restrict p, float m)
{
    for (int k = 0; k < GPI_BN_Q; k++) {
        float d = p[k] - m;
        acc1[k] += d;
        acc2[k] += d * d;
    }
}

/* The gradient reaching the batchnorm: dy, or when masked (a relu after
 * it) what relu passes back, 0 where the relu's input (x - mean) alpha +
 * beta is <= 0 (where its output is). dy is loaded either way, so that the
 * select becomes a vector mask, not a branch that real data mispredicts. */
static inline float gpi_bn_g(float x, float dy, float mean, const gpi_bn_relu *relu,
                             int masked)
{
    return masked ? (gpi_bn_affine1(x, mean, relu->alpha, relu->beta) <= 0.0f ? 0.0f : dy) : dy;
}

/* The variants of a loop that differ by a constant flag (masked, relu)
 * must be inlined where the flag is known, or the test stays in the loop. */
#define GPI_BN_INLINE static inline __attribute__((always_inline))

/* acc1 += g, acc2 += (x - mean) g (g: gpi_bn_g). masked is a constant
 * wherever this is inlined, so the test folds away. */
GPI_BN_INLINE void gpi_bn_q_grad(float *restrict acc1, float *restrict acc2,
                                 const float *restrict x, const float *restrict dy,
                                 const gpi_bn_relu *relu, float mean, int masked)
{
    for (int k = 0; k < GPI_BN_Q; k++) {
        float g = gpi_bn_g(x[k], dy[k], mean, relu, masked);
        acc1[k] += g;
        acc2[k] += (x[k] - mean) * g;
    }
}

static float gpi_bn_sum(const float *restrict p, gpi_bn_span s)
{
    float acc[4][GPI_BN_Q] = { { 0 } }, tail = 0.0f;
    for (int i = 0; i < s.planes; i++, p += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK) {
            gpi_bn_q_sum(acc[0], p + j);
            gpi_bn_q_sum(acc[1], p + j + GPI_BN_Q);
            gpi_bn_q_sum(acc[2], p + j + 2 * GPI_BN_Q);
            gpi_bn_q_sum(acc[3], p + j + 3 * GPI_BN_Q);
        }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q)
            gpi_bn_q_sum(acc[0], p + j);
        for (; j < s.len; j++)
            tail += p[j];
    }
    return gpi_bn_fold(acc) + tail;
}

/* Sums of d = x - m and of d * d. */
static void gpi_bn_dev(const float *restrict p, gpi_bn_span s, float m, float *sd, float *sd2)
{
    float a1[4][GPI_BN_Q] = { { 0 } }, a2[4][GPI_BN_Q] = { { 0 } }, t1 = 0.0f, t2 = 0.0f;
    for (int i = 0; i < s.planes; i++, p += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK) {
            gpi_bn_q_dev(a1[0], a2[0], p + j, m);
            gpi_bn_q_dev(a1[1], a2[1], p + j + GPI_BN_Q, m);
            gpi_bn_q_dev(a1[2], a2[2], p + j + 2 * GPI_BN_Q, m);
            gpi_bn_q_dev(a1[3], a2[3], p + j + 3 * GPI_BN_Q, m);
        }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q)
            gpi_bn_q_dev(a1[0], a2[0], p + j, m);
        for (; j < s.len; j++) {
            float d = p[j] - m;
            t1 += d;
            t2 += d * d;
        }
    }
    *sd = gpi_bn_fold(a1) + t1;
    *sd2 = gpi_bn_fold(a2) + t2;
}

/* Sums of g and of (x - mean) * g (g as in gpi_bn_q_grad). Inlined into
 * gpi_bn_grad_sums, where relu is NULL or not for the whole loop. */
GPI_BN_INLINE void gpi_bn_grad_sums_any(const float *restrict x, const float *restrict dy,
                                        gpi_bn_span s, float mean, const gpi_bn_relu *relu,
                                        int masked, float *sdy, float *sxdy)
{
    float a1[4][GPI_BN_Q] = { { 0 } }, a2[4][GPI_BN_Q] = { { 0 } }, t1 = 0.0f, t2 = 0.0f;
    const size_t q2 = 2 * GPI_BN_Q, q3 = 3 * GPI_BN_Q;
    for (int i = 0; i < s.planes; i++, x += s.stride, dy += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK) {
            gpi_bn_q_grad(a1[0], a2[0], x + j, dy + j, relu, mean, masked);
            gpi_bn_q_grad(a1[1], a2[1], x + j + GPI_BN_Q, dy + j + GPI_BN_Q, relu, mean, masked);
            gpi_bn_q_grad(a1[2], a2[2], x + j + q2, dy + j + q2, relu, mean, masked);
            gpi_bn_q_grad(a1[3], a2[3], x + j + q3, dy + j + q3, relu, mean, masked);
        }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q)
            gpi_bn_q_grad(a1[0], a2[0], x + j, dy + j, relu, mean, masked);
        for (; j < s.len; j++) {
            float g = gpi_bn_g(x[j], dy[j], mean, relu, masked);
            t1 += g;
            t2 += (x[j] - mean) * g;
        }
    }
    *sdy = gpi_bn_fold(a1) + t1;
    *sxdy = gpi_bn_fold(a2) + t2;
}

static void gpi_bn_grad_sums(const float *x, const float *dy, gpi_bn_span s, float mean,
                             const gpi_bn_relu *relu, float *sdy, float *sxdy)
{
    if (relu)
        gpi_bn_grad_sums_any(x, dy, s, mean, relu, 1, sdy, sxdy);
    else
        gpi_bn_grad_sums_any(x, dy, s, mean, NULL, 0, sdy, sxdy);
}

/* Chan et al.'s merge of a group's (n, mean, m2) into the running moments. */
static void gpi_bn_merge(gpi_bn_moments *a, double n, double mean, double m2)
{
    double total = a->n + n, delta = mean - a->mean;
    a->mean += delta * (n / total);
    a->m2 += m2 + delta * delta * (a->n * n / total);
    a->n = total;
}

/* Moments of one group: its mean from a float sum, then deviations from
 * that (rounded) mean with the exact correction for the rounding. */
static gpi_bn_moments gpi_bn_group_moments(const gpi_bn_kernels *k, const float *p,
                                           gpi_bn_span s)
{
    double n = (double)s.planes * (double)s.len;
    float m = (float)((double)k->sum(p, s) / n), sd, sd2;
    k->dev(p, s, m, &sd, &sd2);
    double shift = (double)sd / n;
    gpi_bn_moments g = { n, (double)m + shift, (double)sd2 - (double)sd * shift };
    return g;
}

/* How channel sums are cut into groups: `per` whole planes at a time when
 * planes are small, else slices of `chunk` floats of one plane. */
static void gpi_bn_grouping(size_t hw, int *per, size_t *chunk)
{
    *per = hw < GPI_BN_GROUP ? (int)(GPI_BN_GROUP / hw) : 1;
    *chunk = hw < GPI_BN_GROUP ? hw : GPI_BN_GROUP;
}

/* The group of a channel's planes that starts at image i0, element j0. */
static gpi_bn_span gpi_bn_group(const gp_layer *l, int n, int i0, size_t j0, int per,
                                size_t chunk)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    gpi_bn_span s = { (size_t)l->in.c * hw, hw - j0 < chunk ? hw - j0 : chunk,
                      n - i0 < per ? n - i0 : per };
    return s;
}

/* Channel c's plane in image i of an NCHW batch. */
static inline size_t gpi_bn_plane(const gp_layer *l, int i, int c)
{
    return ((size_t)i * (size_t)l->in.c + (size_t)c) * (size_t)l->in.h * (size_t)l->in.w;
}

static const gpi_bn_kernels *gpi_bn_kernels_now(void);

/* The groups of n images: rows of `per` images (the last may be short),
 * each cut into `slices` slices of a plane. */
typedef struct {
    int per, rows, slices;
    size_t chunk;
} gpi_bn_layout;

static gpi_bn_layout gpi_bn_layout_of(const gp_layer *l, int n)
{
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    gpi_bn_layout g;
    gpi_bn_grouping(hw, &g.per, &g.chunk);
    g.rows = (n + g.per - 1) / g.per;
    g.slices = (int)((hw + g.chunk - 1) / g.chunk);
    return g;
}

/* The moments of channel c's groups in row r of n images, into the table. */
static void gpi_bn_gather_row(const gp_layer *l, int n, int r, int c, const float *x)
{
    const gpi_bn *b = l->priv;
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    gpi_bn_layout g = gpi_bn_layout_of(l, n);
    gpi_bn_moments *out = b->groups + ((size_t)c * (size_t)g.rows + (size_t)r) * (size_t)g.slices;
    int i0 = r * g.per;
    for (int s = 0; s < g.slices; s++) {
        size_t j0 = (size_t)s * g.chunk;
        out[s] = gpi_bn_group_moments(k, x + gpi_bn_plane(l, i0, c) + j0,
                                      gpi_bn_group(l, n, i0, j0, g.per, g.chunk));
    }
}

void gpi_bn_train_rows(gp_layer *l, int n, int first, int i0, int i1, const float *x)
{
    gpi_bn *b = l->priv;
    gpi_bn_layout g = gpi_bn_layout_of(l, n);
    for (int r = (first + g.per - 1) / g.per; r < g.rows && r * g.per < i1; r++) {
        int last = (r + 1) * g.per < n ? (r + 1) * g.per - 1 : n - 1;
        if (last < i0 || last >= i1)
            continue;
        for (int c = 0; c < l->in.c; c++)
            gpi_bn_gather_row(l, n, r, c, x);
        b->row_done[r] = 1;
    }
}

/* Batch mean and sum of squared deviations of channel c over n images: the
 * rows not gathered yet gathered, then every group merged in a fixed order
 * (row by row, slice by slice), whoever gathered it. */
static void gpi_bn_stats(const gp_layer *l, int n, int c, const float *x, double *mean,
                         double *m2)
{
    const gpi_bn *b = l->priv;
    gpi_bn_layout g = gpi_bn_layout_of(l, n);
    for (int r = 0; r < g.rows; r++)
        if (!b->row_done[r])
            gpi_bn_gather_row(l, n, r, c, x);
    const gpi_bn_moments *in = b->groups + (size_t)c * (size_t)g.rows * (size_t)g.slices;
    gpi_bn_moments acc = { 0.0, 0.0, 0.0 };
    for (size_t i = 0; i < (size_t)g.rows * (size_t)g.slices; i++)
        gpi_bn_merge(&acc, in[i].n, in[i].mean, in[i].m2);
    *mean = acc.mean;
    *m2 = acc.m2;
}

/* Channel c's sums of g and (x - mean) g (g as in gpi_bn_q_grad), in
 * double across groups. */
static void gpi_bn_channel_grad_sums(const gp_layer *l, int n, int c, const float *x,
                                     const float *dy, const gpi_bn_relu *relu, float mean,
                                     double *sdy, double *sxdy)
{
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    size_t hw = (size_t)l->in.h * (size_t)l->in.w, chunk;
    int per;
    gpi_bn_grouping(hw, &per, &chunk);
    *sdy = *sxdy = 0.0;
    for (int i0 = 0; i0 < n; i0 += per)
        for (size_t j0 = 0; j0 < hw; j0 += chunk) {
            size_t off = gpi_bn_plane(l, i0, c) + j0;
            gpi_bn_span s = gpi_bn_group(l, n, i0, j0, per, chunk);
            float a, b;
            k->grad_sums(x + off, dy + off, s, mean, relu, &a, &b);
            *sdy += a;
            *sxdy += b;
        }
}

/* y = (x - mean) alpha + beta, then with relu max(y, 0) by relu.c's rule
 * (y <= 0 gives 0, so NaN passes): the relu layer's result on the
 * batchnorm's. relu is a constant wherever this is inlined. */
GPI_BN_INLINE void gpi_bn_q_affine(float *restrict y, const float *restrict x, float mean,
                                   float alpha, float beta, int relu)
{
    for (int k = 0; k < GPI_BN_Q; k++)
        y[k] = gpi_bn_clamp1(gpi_bn_affine1(x[k], mean, alpha, beta), relu);
}

GPI_BN_INLINE void gpi_bn_affine_any(const float *restrict x, float *restrict y, size_t len,
                                     float mean, float alpha, float beta, int relu)
{
    size_t j = 0;
    for (; j + GPI_BN_Q <= len; j += GPI_BN_Q)
        gpi_bn_q_affine(y + j, x + j, mean, alpha, beta, relu);
    for (; j < len; j++)
        y[j] = gpi_bn_clamp1(gpi_bn_affine1(x[j], mean, alpha, beta), relu);
}

static void gpi_bn_affine(const float *x, float *y, size_t len, float mean, float alpha,
                          float beta, int relu)
{
    if (relu)
        gpi_bn_affine_any(x, y, len, mean, alpha, beta, 1);
    else
        gpi_bn_affine_any(x, y, len, mean, alpha, beta, 0);
}

/* dx of a training forward (gpi_bn_dx1), g as in gpi_bn_g. dx may be dy
 * itself (the fused backward builds the conv's gradient in place): the
 * quad is read whole before it is written. */
GPI_BN_INLINE void gpi_bn_q_dx_train(float *dx, const float *x, const float *dy,
                                     const gpi_bn_dx_consts *k, const gpi_bn_relu *relu,
                                     int masked)
{
    float v[GPI_BN_Q];
    for (int q = 0; q < GPI_BN_Q; q++)
        v[q] = gpi_bn_dx1(x[q], gpi_bn_g(x[q], dy[q], k->mean, relu, masked), k);
    for (int q = 0; q < GPI_BN_Q; q++)
        dx[q] = v[q];
}

GPI_BN_INLINE void gpi_bn_dx_train_any(const float *x, const float *dy, float *dx, size_t len,
                                       const gpi_bn_dx_consts *k, const gpi_bn_relu *relu,
                                       int masked)
{
    size_t j = 0;
    for (; j + GPI_BN_Q <= len; j += GPI_BN_Q)
        gpi_bn_q_dx_train(dx + j, x + j, dy + j, k, relu, masked);
    for (; j < len; j++)
        dx[j] = gpi_bn_dx1(x[j], gpi_bn_g(x[j], dy[j], k->mean, relu, masked), k);
}

static void gpi_bn_dx_train(const float *x, const float *dy, float *dx, size_t len,
                            const gpi_bn_dx_consts *k, const gpi_bn_relu *relu)
{
    if (relu)
        gpi_bn_dx_train_any(x, dy, dx, len, k, relu, 1);
    else
        gpi_bn_dx_train_any(x, dy, dx, len, k, NULL, 0);
}

/* The scalar kernels, and the kernels this CPU runs. */
static const gpi_bn_kernels gpi_bn_scalar = {
    "scalar", gpi_bn_sum, gpi_bn_dev, gpi_bn_grad_sums, gpi_bn_affine, gpi_bn_dx_train
};

static const gpi_bn_kernels *gpi_bn_kernels_now(void)
{
    const gpi_bn_kernels *k = gpi_bn_pick();
    return k ? k : &gpi_bn_scalar;
}

/* dx of an eval forward: the statistics are constants. */
static inline void gpi_bn_q_scale(float *restrict dx, const float *restrict dy, float scale)
{
    for (int q = 0; q < GPI_BN_Q; q++)
        dx[q] = dy[q] * scale;
}

static void gpi_bn_dx_eval(const float *restrict dy, float *restrict dx, size_t len, float scale)
{
    size_t j = 0;
    for (; j + GPI_BN_Q <= len; j += GPI_BN_Q)
        gpi_bn_q_scale(dx + j, dy + j, scale);
    for (; j < len; j++)
        dx[j] = dy[j] * scale;
}

/* Running statistics with the unbiased variance, PyTorch's update rule. */
static void gpi_bn_update_running(gp_layer *l, int c, double mean, double m2, double count)
{
    const gpi_bn *b = l->priv;
    float *rm = l->buffers[0].value, *rv = l->buffers[1].value;
    float m = b->momentum, keep = 1.0f - m;
    rm[c] = m * (float)mean + keep * rm[c];
    rv[c] = m * (float)(m2 / (count - 1.0)) + keep * rv[c];
}

gp_status gpi_bn_train_begin(gp_layer *l, int n)
{
    if ((int64_t)n * l->in.h * l->in.w < 2)
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: training needs more than one value "
                        "per channel (batch %d of %dx%d)", n, l->in.h, l->in.w);
    gpi_bn *b = l->priv;
    gpi_bn_layout g = gpi_bn_layout_of(l, n);
    if ((size_t)l->in.c * (size_t)g.rows * (size_t)g.slices > b->groups_cap ||
        (size_t)g.rows > b->rows_cap)
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: batch %d is above the %d it was shaped for",
                        n, l->in.n);
    memset(b->row_done, 0, (size_t)g.rows);
    b->trained = 1;
    return GP_OK;
}

void gpi_bn_train_stats(gp_layer *l, int n, int c, const float *x)
{
    gpi_bn *b = l->priv;
    double count = (double)n * (double)l->in.h * (double)l->in.w, dmean, m2;
    gpi_bn_stats(l, n, c, x, &dmean, &m2);
    float mean = (float)dmean, invstd = (float)(1.0 / sqrt(m2 / count + b->eps));
    gpi_bn_update_running(l, c, dmean, m2, count);
    b->mean[c] = b->aff_mean[c] = mean;
    b->invstd[c] = invstd;
    b->aff_alpha[c] = invstd * l->params[0].value[c];
    b->aff_beta[c] = l->params[1].value[c];
}

/* Channel c of n images through the affine of the last forward. */
static void gpi_bn_affine_channel(const gp_layer *l, int n, int c, const float *x, float *y)
{
    const gpi_bn *b = l->priv;
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int i = 0; i < n; i++) {
        size_t off = gpi_bn_plane(l, i, c);
        k->affine(x + off, y + off, hw, b->aff_mean[c], b->aff_alpha[c], b->aff_beta[c], 0);
    }
}

void gpi_bn_train_image(const gp_layer *l, const float *x, float *y, int relu)
{
    const gpi_bn *b = l->priv;
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int c = 0; c < l->in.c; c++)
        k->affine(x + (size_t)c * hw, y + (size_t)c * hw, hw, b->aff_mean[c], b->aff_alpha[c],
                  b->aff_beta[c], relu);
}

/* Eval normalises image by image, so each thread works on the same images
 * as the layers around it (conv, relu and pooling split the batch by
 * images) and the activations stay in that core's cache. The per-channel
 * affine is worked out once per call, not once per image. */
void gpi_bn_eval_prepare(gp_layer *l)
{
    gpi_bn *b = l->priv;
    for (int c = 0; c < l->in.c; c++) {
        float invstd = (float)(1.0 / sqrt((double)l->buffers[1].value[c] + b->eps));
        b->aff_mean[c] = l->buffers[0].value[c];
        b->aff_alpha[c] = invstd * l->params[0].value[c];
        b->aff_beta[c] = l->params[1].value[c];
    }
}

/* gpi_bn_affine's arithmetic in place (its restrict forbids x == y). */
static inline void gpi_bn_q_affine_inplace(float *v, float mean, float alpha, float beta)
{
    for (int k = 0; k < GPI_BN_Q; k++)
        v[k] = (v[k] - mean) * alpha + beta;
}

void gpi_bn_eval_image(const gp_layer *l, float *image)
{
    const gpi_bn *b = l->priv;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        float mean = b->aff_mean[c], alpha = b->aff_alpha[c], beta = b->aff_beta[c];
        float *v = image + (size_t)c * hw;
        size_t j = 0;
        for (; j + GPI_BN_Q <= hw; j += GPI_BN_Q)
            gpi_bn_q_affine_inplace(v + j, mean, alpha, beta);
        for (; j < hw; j++)
            v[j] = (v[j] - mean) * alpha + beta;
    }
}

static void gpi_bn_forward_eval(gp_layer *l, int n, const float *x, float *y)
{
    gpi_bn_eval_prepare(l);
    size_t image = gp_shape_image_size(l->in);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n * image >= GPI_BN_PAR_MIN)
#endif
    for (int i = 0; i < n; i++)
        gpi_bn_train_image(l, x + (size_t)i * image, y + (size_t)i * image, 0);
}

static gp_status gpi_bn_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    if (mode != GP_TRAIN) {
        gpi_bn_forward_eval(l, n, x, y);
        ((gpi_bn *)l->priv)->trained = 0;
        return GP_OK;
    }
    gp_status st = gpi_bn_train_begin(l, n);
    if (st != GP_OK)
        return st;
    int channels = l->in.c;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n * gp_shape_image_size(l->in) >= GPI_BN_PAR_MIN)
#endif
    for (int c = 0; c < channels; c++) {
        gpi_bn_train_stats(l, n, c, x);
        gpi_bn_affine_channel(l, n, c, x, y);
    }
    return GP_OK;
}

/* The relu mask of channel c (gpi_bn_relu) after a forward in the mode
 * `trained` (eval's affine has the running mean, which backward uses then).
 * A training forward's affine is worked out again from what it saved, with
 * its operations, as eval_prepare may since have replaced aff_*. */
static gpi_bn_relu gpi_bn_relu_of(const gp_layer *l, int c)
{
    const gpi_bn *b = l->priv;
    gpi_bn_relu r = { b->trained ? b->invstd[c] * l->params[0].value[c] : b->aff_alpha[c],
                      b->trained ? l->params[1].value[c] : b->aff_beta[c] };
    return r;
}

void gpi_bn_grad_channel(gp_layer *l, int n, int c, const float *x, const float *dy, int relu)
{
    gpi_bn *b = l->priv;
    float mean, invstd;
    if (b->trained) {
        mean = b->mean[c];
        invstd = b->invstd[c];
    } else {
        mean = l->buffers[0].value[c];
        invstd = (float)(1.0 / sqrt((double)l->buffers[1].value[c] + b->eps));
    }
    double sum, dot, count = (double)n * (double)l->in.h * (double)l->in.w;
    gpi_bn_relu mask = gpi_bn_relu_of(l, c);
    gpi_bn_channel_grad_sums(l, n, c, x, dy, relu ? &mask : NULL, mean, &sum, &dot);
    l->params[0].grad[c] = (float)(dot * invstd);
    l->params[1].grad[c] = (float)sum;
    b->d_k[c] = (float)(dot * invstd * invstd / count);
    b->d_mean[c] = (float)(sum / count);
    b->d_scale[c] = invstd * l->params[0].value[c];
}

/* Channel c's constants of gpi_bn_dx1, after gpi_bn_grad_channel. */
static gpi_bn_dx_consts gpi_bn_dx_consts_of(const gpi_bn *b, int c)
{
    gpi_bn_dx_consts k = { b->mean[c], b->d_k[c], b->d_mean[c], b->d_scale[c] };
    return k;
}

/* dx of channel c over n images, after gpi_bn_grad_channel. */
static void gpi_bn_dx_channel(const gp_layer *l, int n, int c, const float *x,
                             const float *dy, float *dx)
{
    const gpi_bn *b = l->priv;
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    gpi_bn_dx_consts dk = gpi_bn_dx_consts_of(b, c);
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int i = 0; i < n; i++) {
        size_t off = gpi_bn_plane(l, i, c);
        if (b->trained)
            k->dx_train(x + off, dy + off, dx + off, hw, &dk, NULL);
        else
            gpi_bn_dx_eval(dy + off, dx + off, hw, b->d_scale[c]);
    }
}

void gpi_bn_dx_image(const gp_layer *l, const float *x, const float *dy, int relu, float *dx)
{
    const gpi_bn *b = l->priv;
    const gpi_bn_kernels *k = gpi_bn_kernels_now();
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        size_t off = (size_t)c * hw;
        gpi_bn_dx_consts dk = gpi_bn_dx_consts_of(b, c);
        gpi_bn_relu mask = gpi_bn_relu_of(l, c);
        k->dx_train(x + off, dy + off, dx + off, hw, &dk, relu ? &mask : NULL);
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
    for (int c = 0; c < channels; c++) {
        gpi_bn_grad_channel(l, n, c, x, dy, 0);
        if (dx)
            gpi_bn_dx_channel(l, n, c, x, dy, dx);
    }
    return GP_OK;
}

static void gpi_bn_destroy(gp_layer *l)
{
    if (l && l->priv) {
        gpi_bn *b = l->priv;
        gpi_free(b->mean);
        gpi_free(b->invstd);
        gpi_free(b->aff_mean);
        gpi_free(b->aff_alpha);
        gpi_free(b->aff_beta);
        gpi_free(b->d_k);
        gpi_free(b->d_mean);
        gpi_free(b->d_scale);
        gpi_free(b->groups);
        gpi_free(b->row_done);
    }
    gpi_layer_free(l);
}

static gp_status gpi_bn_check(const gp_layer_spec *spec)
{
    float momentum = spec->u.batchnorm2d.momentum, eps = spec->u.batchnorm2d.eps;
    if (!(momentum >= 0.0f && momentum <= 1.0f) || !(eps > 0.0f))
        return gpi_fail(GP_ERR_ARG, "batchnorm2d: momentum %g must be in [0, 1] and eps %g "
                        "positive", (double)momentum, (double)eps);
    return GP_OK;
}

static gp_status gpi_bn_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    *out = in;
    return gpi_check_channels(l, in);
}

/* gamma = 1, beta = 0, running_mean = 0, running_var = 1 (PyTorch's reset);
 * everything else is per channel too, so nothing depends on the input size. */
static gp_status gpi_bn_init(gp_layer *l)
{
    size_t c = (size_t)l->in.c;
    gp_param *gamma = gpi_layer_add_param(l, "weight", 1, &c, 0, 0, 0);
    gp_param *beta = gamma ? gpi_layer_add_param(l, "bias", 1, &c, 0, 0, 1) : NULL;
    gp_buffer *rm = beta ? gpi_layer_add_buffer(l, "running_mean", c) : NULL;
    gp_buffer *rv = rm ? gpi_layer_add_buffer(l, "running_var", c) : NULL;
    gpi_bn *b = l->priv;
    if (!rv || !(b->mean = gpi_falloc(c)) || !(b->invstd = gpi_falloc(c)) ||
        !(b->aff_mean = gpi_falloc(c)) || !(b->aff_alpha = gpi_falloc(c)) ||
        !(b->aff_beta = gpi_falloc(c)) || !(b->d_k = gpi_falloc(c)) ||
        !(b->d_mean = gpi_falloc(c)) || !(b->d_scale = gpi_falloc(c)))
        return rv ? gpi_fail(GP_ERR_NOMEM, "batchnorm2d: out of memory") : GP_ERR_NOMEM;
    gamma->fixed_init = beta->fixed_init = 1;
    for (size_t i = 0; i < c; i++) {
        gamma->value[i] = 1.0f;
        rv->value[i] = 1.0f;
    }
    b->momentum = l->spec.u.batchnorm2d.momentum;
    /* PyTorch adds eps as a double (1e-5, not the float 1e-5f) */
    b->eps = gpi_float_decimal(l->spec.u.batchnorm2d.eps);
    return GP_OK;
}

/* The table of group moments for batches up to the shape's, made when the
 * layer is shaped, so that no training step allocates (and the memory a
 * run peaks at does not depend on what ran before it). */
static gp_status gpi_bn_alloc_groups(gp_layer *l)
{
    gpi_bn *b = l->priv;
    gpi_bn_layout g = gpi_bn_layout_of(l, l->in.n);
    size_t groups = (size_t)l->in.c * (size_t)g.rows * (size_t)g.slices;
    if (groups <= b->groups_cap && (size_t)g.rows <= b->rows_cap)
        return GP_OK;
    gpi_free(b->groups);
    gpi_free(b->row_done);
    b->groups = gpi_balloc(groups * sizeof *b->groups);
    b->row_done = gpi_balloc((size_t)g.rows);
    b->groups_cap = b->groups && b->row_done ? groups : 0;
    b->rows_cap = b->groups_cap ? (size_t)g.rows : 0;
    if (!b->groups_cap)
        return gpi_fail(GP_ERR_NOMEM, "batchnorm2d: out of memory for the statistics of %zu "
                        "groups (batch %d)", groups, l->in.n);
    return GP_OK;
}

static gp_status gpi_bn_reshape(gp_layer *l, gp_shape in)
{
    gpi_layer_set_shapes(l, in);
    gp_status st = gpi_bn_alloc_groups(l);
    if (st != GP_OK)
        return st;
    /* a training step's memory: the saved mean and invstd and the group
     * moments table (eval's three per-channel arrays are not used in training) */
    gpi_bn_layout g = gpi_bn_layout_of(l, in.n);
    l->workspace_bytes = 2 * (size_t)in.c * sizeof(float) +
                         (size_t)in.c * (size_t)g.rows * (size_t)g.slices * sizeof(gpi_bn_moments) +
                         (size_t)g.rows;
    l->flops = 2.0 * (double)gp_shape_image_size(in);        /* a multiply and an add */
    snprintf(l->desc, sizeof l->desc, "momentum %g, eps %g",
             (double)l->spec.u.batchnorm2d.momentum, (double)l->spec.u.batchnorm2d.eps);
    return GP_OK;
}

static int gpi_bn_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    char momentum[32], eps[32];
    gpi_format_float(momentum, sizeof momentum, spec->u.batchnorm2d.momentum);
    gpi_format_float(eps, sizeof eps, spec->u.batchnorm2d.eps);
    return snprintf(buf, len, "momentum=%s eps=%s", momentum, eps);
}

const gpi_layer_kind gpi_batchnorm2d_kind = {
    { "batchnorm2d", gpi_bn_forward, gpi_bn_backward, gpi_bn_destroy, gpi_bn_out_shape,
      gpi_bn_reshape },
    sizeof(gpi_bn), gpi_bn_check, gpi_bn_init, gpi_bn_format
};

gp_status gp_batchnorm2d_create(gp_layer **out, gp_shape in, float momentum, float eps)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_BATCHNORM2D,
                                                      .u.batchnorm2d = { momentum, eps } });
}
