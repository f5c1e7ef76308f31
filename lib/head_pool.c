/*
 * head_pool.c - global pooling ops for network heads: one layer kind
 * ("head_pool") that reduces each H x W plane to one value (two for
 * catavgmax).
 *
 * avg and max are the dispatched kernels of gpool.h, and the combinations
 * (avgmax, catavgmax, mixed) are built from their forward results, so that
 * catavgmax is bit-for-bit [avg op, max op]. Their backward broadcasts the
 * average share with the avg kernel and adds the max share at the first
 * maximum, found with the kernels' own rule (first NaN, else first maximum).
 *
 * gem and lse are computed here, one (n, c) plane per task. The elementwise
 * math is float, as in the PyTorch expressions they must match
 * (x.clamp(min=eps).pow(p).mean((2,3)).pow(1./p), and
 * m + log(exp(r (x - m)).mean((2,3))) / r); sums over a plane and everything
 * per plane (means, logs, the parameter gradient) are double, which costs
 * nothing next to one powf/expf per element and keeps the plane sums from
 * growing the error with H x W. Each plane's share of the shared parameter's
 * gradient goes to its own slot of a buffer that is summed in plane order, so
 * the result does not depend on the thread count.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpi_layer.h"

/* GeM clamp floor and initial exponent (timm's defaults); lse initial r. */
#define GPI_GEM_EPS 1e-6f
#define GPI_GEM_P0  3.0f
#define GPI_LSE_R0  10.0f

/* Elements below which a per-plane loop stays on one thread: the fork-join
 * of a parallel region (a few microseconds) must stay small next to the
 * work, about 10 ns per element with a powf/expf, 1 ns for a plain scan. */
#define GPI_HEAD_OMP_MIN_TRANSC ((size_t)8192)
#define GPI_HEAD_OMP_MIN_SCAN   ((size_t)131072)

static const char *const gpi_head_names[] = {
    [GP_HEAD_AVG] = "avg",       [GP_HEAD_MAX] = "max",     [GP_HEAD_GEM] = "gem",
    [GP_HEAD_LSE] = "lse",       [GP_HEAD_MIXED] = "mixed", [GP_HEAD_AVGMAX] = "avgmax",
    [GP_HEAD_CATAVGMAX] = "catavgmax",
};
#define GPI_HEAD_NOPS ((int)(sizeof gpi_head_names / sizeof gpi_head_names[0]))

/* Per-layer state; every array is sized for the maximum batch of the plan. */
typedef struct {
    gp_head_op op;
    float  *avg, *max;   /* n x c forward results of the combinations, for backward */
    float  *dyavg;       /* n x c gradient shares: broadcast by the avg kernel ... */
    float  *dymax;       /* ... and added at the first maximum */
    float  *cache;       /* n x c x hw: gem's clamp(x)^p or lse's exp terms (GP_TRAIN) */
    double *stat;        /* 2 per plane: gem's float mean; lse's reference m and sum */
    double *part;        /* per plane share of the parameter gradient */
} gpi_head;

/* One pass over planes: what the per-plane functions read and write. */
typedef struct {
    const gpi_head *h;
    size_t hw;
    float param;         /* p, r or sigmoid(alpha) */
    int train;
    const float *x, *dy;
    const float *yin;    /* backward: the forward output */
    float *y, *dx;       /* forward writes y, backward dx (may be NULL) */
} gpi_head_job;

typedef void (*gpi_plane_fn)(const gpi_head_job *job, size_t j);

/* Run fn on planes 0..planes-1; in parallel (static schedule) when the
 * caller judged the work worth a parallel region. Planes are independent,
 * so the result is the same for any thread count. */
static void gpi_for_planes(gpi_plane_fn fn, const gpi_head_job *job, size_t planes,
                           int worth_threads)
{
#ifdef _OPENMP
    if (worth_threads && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        long count = (long)planes;
#pragma omp parallel for schedule(static)
        for (long j = 0; j < count; j++)
            fn(job, (size_t)j);
        return;
    }
#else
    (void)worth_threads;
#endif
    for (size_t j = 0; j < planes; j++)
        fn(job, j);
}

/* Sum of part[0..planes) in plane order, as the float gradient. */
static float gpi_sum_parts(const double *part, size_t planes)
{
    double s = 0;
    for (size_t j = 0; j < planes; j++)
        s += part[j];
    return (float)s;
}

/* ------------------------------------------------------ names */

const char *gp_head_op_name(gp_head_op op)
{
    return (int)op >= 0 && (int)op < GPI_HEAD_NOPS ? gpi_head_names[op] : "?";
}

gp_status gp_head_op_parse(const char *name, gp_head_op *op)
{
    if (!name || !op)
        return gpi_fail(GP_ERR_ARG, "gp_head_op_parse: NULL argument");
    for (int i = 0; i < GPI_HEAD_NOPS; i++)
        if (strcmp(name, gpi_head_names[i]) == 0) {
            *op = (gp_head_op)i;
            return GP_OK;
        }
    return gpi_fail(GP_ERR_NOTFOUND, "unknown head pooling op '%s' (expected avg, max, gem, "
                    "lse, mixed, avgmax or catavgmax)", name);
}

/* ------------------------------------------------------ kernels */

static gp_status gpi_kernel_forward(const gp_layer *l, int n, gp_pool_op op, const float *x,
                                    float *y)
{
    gp_pool_desc d = { .n = (size_t)n, .c = (size_t)l->in.c, .h = (size_t)l->in.h,
                       .w = (size_t)l->in.w, .layout = GP_LAYOUT_NCHW, .op = op };
    return gp_global_pool_forward(&d, NULL, x, y);
}

static gp_status gpi_kernel_backward(const gp_layer *l, int n, gp_pool_op op, const float *x,
                                     const float *dy, float *dx)
{
    gp_pool_desc d = { .n = (size_t)n, .c = (size_t)l->in.c, .h = (size_t)l->in.h,
                       .w = (size_t)l->in.w, .layout = GP_LAYOUT_NCHW, .op = op };
    return gp_global_pool_backward(&d, NULL, x, dy, dx);
}

/* The element the max kernels' backward picks: first NaN, else first maximum. */
static size_t gpi_first_max(const float *p, size_t count)
{
    float m = p[0];
    size_t best = 0;
    if (m != m)
        return 0;
    for (size_t i = 1; i < count; i++) {
        float v = p[i];
        if (v > m) {
            m = v;
            best = i;
        } else if (v != v) {
            return i;
        }
    }
    return best;
}

/* ------------------------------------------------------ avgmax, catavgmax, mixed */

static float gpi_sigmoidf(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

static gp_status gpi_combo_forward(gp_layer *l, int n, const float *x, float *y)
{
    gpi_head *h = l->priv;
    gp_status st = gpi_kernel_forward(l, n, GP_POOL_AVG, x, h->avg);
    if (st == GP_OK)
        st = gpi_kernel_forward(l, n, GP_POOL_MAX, x, h->max);
    if (st != GP_OK)
        return st;
    size_t c = (size_t)l->in.c, planes = (size_t)n * c;
    if (h->op == GP_HEAD_CATAVGMAX) {
        for (size_t b = 0; b < (size_t)n; b++) {
            memcpy(y + 2 * c * b, h->avg + c * b, c * sizeof *y);
            memcpy(y + 2 * c * b + c, h->max + c * b, c * sizeof *y);
        }
    } else if (h->op == GP_HEAD_AVGMAX) {
        for (size_t j = 0; j < planes; j++)
            y[j] = 0.5f * (h->avg[j] + h->max[j]);
    } else {
        float a = gpi_sigmoidf(l->params[0].value[0]);
        for (size_t j = 0; j < planes; j++)
            y[j] = a * h->max[j] + (1.0f - a) * h->avg[j];
    }
    return GP_OK;
}

/* Split dy into the shares of the average and of the maximum. */
static void gpi_combo_shares(const gp_layer *l, int n, const float *dy)
{
    gpi_head *h = l->priv;
    size_t c = (size_t)l->in.c, planes = (size_t)n * c;
    if (h->op == GP_HEAD_CATAVGMAX) {
        for (size_t b = 0; b < (size_t)n; b++) {
            memcpy(h->dyavg + c * b, dy + 2 * c * b, c * sizeof *dy);
            memcpy(h->dymax + c * b, dy + 2 * c * b + c, c * sizeof *dy);
        }
        return;
    }
    float a = h->op == GP_HEAD_AVGMAX ? 0.5f : gpi_sigmoidf(l->params[0].value[0]);
    float na = h->op == GP_HEAD_AVGMAX ? 0.5f : 1.0f - a;
    for (size_t j = 0; j < planes; j++) {
        h->dyavg[j] = na * dy[j];
        h->dymax[j] = a * dy[j];
    }
}

static void gpi_add_max_share(const gpi_head_job *job, size_t j)
{
    const float *px = job->x + j * job->hw;
    job->dx[j * job->hw + gpi_first_max(px, job->hw)] += job->h->dymax[j];
}

/* d y / d alpha = a (1 - a) (max - avg), summed over planes in order (a
 * serial loop over n x c values: too short to be worth threads). */
static void gpi_mixed_alpha_grad(gp_layer *l, int n, const float *dy)
{
    const gpi_head *h = l->priv;
    size_t planes = (size_t)n * (size_t)l->in.c;
    double a = gpi_sigmoidf(l->params[0].value[0]), s = 0;
    for (size_t j = 0; j < planes; j++)
        s += (double)dy[j] * ((double)h->max[j] - (double)h->avg[j]);
    l->params[0].grad[0] = (float)(s * a * (1.0 - a));
}

static gp_status gpi_combo_backward(gp_layer *l, int n, const float *x, const float *dy,
                                    float *dx)
{
    gpi_head *h = l->priv;
    if (h->op == GP_HEAD_MIXED)
        gpi_mixed_alpha_grad(l, n, dy);
    if (!dx)
        return GP_OK;
    gpi_combo_shares(l, n, dy);
    gp_status st = gpi_kernel_backward(l, n, GP_POOL_AVG, NULL, h->dyavg, dx);
    if (st != GP_OK)
        return st;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w, planes = (size_t)n * (size_t)l->in.c;
    gpi_head_job job = { .h = h, .hw = hw, .x = x, .dx = dx };
    gpi_for_planes(gpi_add_max_share, &job, planes, planes * hw >= GPI_HEAD_OMP_MIN_SCAN);
    return GP_OK;
}

/* ------------------------------------------------------ gem */

/* y = mean(clamp(x, eps)^p)^(1/p); the float mean is kept for backward
 * (PyTorch differentiates pow at that float value too). */
static void gpi_gem_plane_forward(const gpi_head_job *job, size_t j)
{
    const float *px = job->x + j * job->hw;
    float *t = job->train ? job->h->cache + j * job->hw : NULL;
    float p = job->param;
    double s = 0;
    for (size_t i = 0; i < job->hw; i++) {
        float z = px[i] < GPI_GEM_EPS ? GPI_GEM_EPS : px[i];   /* NaN passes, as clamp */
        float ti = powf(z, p);
        if (t)
            t[i] = ti;
        s += ti;
    }
    float m = (float)(s / (double)job->hw);
    job->h->stat[2 * j] = m;
    job->y[j] = powf(m, 1.0f / p);
}

/* With c the mean and t_i = z_i^p (z_i = clamp(x_i)):
 *   dy/dx_i = y t_i / (N c z_i)  where x_i >= eps (clamp's gradient), else 0
 *   dy/dp   = (y / p) (sum_i t_i log z_i / (N c) - log(c) / p)
 * A mean that underflowed to 0 (every t_i below float range: a plane of
 * zeros under a large p) gets zero gradients, the limit for clamped
 * inputs, where PyTorch would produce 0 * inf = NaN. */
static void gpi_gem_plane_backward(const gpi_head_job *job, size_t j)
{
    size_t hw = job->hw;
    const float *px = job->x + j * hw, *t = job->h->cache + j * hw;
    float *dx = job->dx ? job->dx + j * hw : NULL;
    double c = job->h->stat[2 * j], y = job->yin[j], p = job->param;
    double *part = &job->h->part[j];
    if (!(c > 0)) {
        if (dx)
            memset(dx, 0, hw * sizeof *dx);
        *part = 0;
        return;
    }
    double coef = (double)job->dy[j] * y / ((double)hw * c), tlogz = 0;
    for (size_t i = 0; i < hw; i++) {
        float z = px[i] < GPI_GEM_EPS ? GPI_GEM_EPS : px[i];
        tlogz += (double)t[i] * (double)logf(z);
        if (dx)
            dx[i] = px[i] >= GPI_GEM_EPS ? (float)(coef * (double)t[i] / (double)z) : 0.0f;
    }
    *part = (double)job->dy[j] * y / p * (tlogz / ((double)hw * c) - log(c) / p);
}

/* ------------------------------------------------------ lse */

/* Shift by the max for r > 0 (by the min for r < 0) so exp never exceeds 1;
 * r = 0 is the limit, the mean. */
static void gpi_lse_plane_forward(const gpi_head_job *job, size_t j)
{
    size_t hw = job->hw;
    const float *px = job->x + j * hw;
    float *e = job->train ? job->h->cache + j * hw : NULL;
    float r = job->param, m = px[0];
    for (size_t i = 1; i < hw; i++)
        if (r >= 0 ? px[i] > m : px[i] < m)
            m = px[i];
    double s = 0, sx = 0;
    for (size_t i = 0; i < hw; i++) {
        float ei = expf(r * (px[i] - m));
        if (e)
            e[i] = ei;
        s += ei;
        sx += px[i];
    }
    job->h->stat[2 * j] = m;
    job->h->stat[2 * j + 1] = s;
    job->y[j] = r != 0 ? (float)(m + log(s / (double)hw) / r) : (float)(sx / (double)hw);
}

/* d y / d r at r = 0: half the plane's (population) variance. */
static double gpi_lse_dr_at_zero(const float *px, size_t hw)
{
    double mean = 0, var = 0;
    for (size_t i = 0; i < hw; i++)
        mean += px[i];
    mean /= (double)hw;
    for (size_t i = 0; i < hw; i++)
        var += ((double)px[i] - mean) * ((double)px[i] - mean);
    return var / (2.0 * (double)hw);
}

/* With w_i = e_i / S the softmax weights of r x:
 *   dy/dx_i = w_i
 *   dy/dr   = (sum_i w_i (x_i - m) - log(S / N) / r) / r */
static void gpi_lse_plane_backward(const gpi_head_job *job, size_t j)
{
    size_t hw = job->hw;
    const float *px = job->x + j * hw, *e = job->h->cache + j * hw;
    float *dx = job->dx ? job->dx + j * hw : NULL;
    double m = job->h->stat[2 * j], s = job->h->stat[2 * j + 1], r = job->param;
    double dy = job->dy[j], g = dy / s, wu = 0;
    for (size_t i = 0; i < hw; i++) {
        wu += (double)e[i] * ((double)px[i] - m);
        if (dx)
            dx[i] = (float)(g * (double)e[i]);
    }
    job->h->part[j] = r != 0 ? dy * (wu / s - log(s / (double)hw) / r) / r
                             : dy * gpi_lse_dr_at_zero(px, hw);
}

/* ------------------------------------------------------ gem and lse drivers */

static gp_status gpi_param_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    gpi_head *h = l->priv;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w, planes = (size_t)n * (size_t)l->in.c;
    gpi_head_job job = { .h = h, .hw = hw, .param = l->params[0].value[0],
                         .train = mode == GP_TRAIN, .x = x, .y = y };
    gpi_for_planes(h->op == GP_HEAD_GEM ? gpi_gem_plane_forward : gpi_lse_plane_forward, &job,
                   planes, planes * hw >= GPI_HEAD_OMP_MIN_TRANSC);
    return GP_OK;
}

static gp_status gpi_param_backward(gp_layer *l, int n, const float *x, const float *y,
                                    const float *dy, float *dx)
{
    gpi_head *h = l->priv;
    size_t hw = (size_t)l->in.h * (size_t)l->in.w, planes = (size_t)n * (size_t)l->in.c;
    gpi_head_job job = { .h = h, .hw = hw, .param = l->params[0].value[0], .x = x,
                         .dy = dy, .yin = y, .dx = dx };
    gpi_for_planes(h->op == GP_HEAD_GEM ? gpi_gem_plane_backward : gpi_lse_plane_backward, &job,
                   planes, planes * hw >= GPI_HEAD_OMP_MIN_TRANSC);
    l->params[0].grad[0] = gpi_sum_parts(h->part, planes);
    return GP_OK;
}

/* ------------------------------------------------------ layer verbs */

static gp_status gpi_head_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    const gpi_head *h = l->priv;
    switch (h->op) {
    case GP_HEAD_AVG: return gpi_kernel_forward(l, n, GP_POOL_AVG, x, y);
    case GP_HEAD_MAX: return gpi_kernel_forward(l, n, GP_POOL_MAX, x, y);
    case GP_HEAD_GEM:
    case GP_HEAD_LSE: return gpi_param_forward(l, n, x, y, mode);
    default:          return gpi_combo_forward(l, n, x, y);
    }
}

static gp_status gpi_head_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    const gpi_head *h = l->priv;
    switch (h->op) {
    case GP_HEAD_AVG: return dx ? gpi_kernel_backward(l, n, GP_POOL_AVG, NULL, dy, dx) : GP_OK;
    case GP_HEAD_MAX: return dx ? gpi_kernel_backward(l, n, GP_POOL_MAX, x, dy, dx) : GP_OK;
    case GP_HEAD_GEM:
    case GP_HEAD_LSE: return gpi_param_backward(l, n, x, y, dy, dx);
    default:          return gpi_combo_backward(l, n, x, dy, dx);
    }
}

/* Free the scratch of h (the layer's, or a reshape's that failed). */
static void gpi_head_free_scratch(gpi_head *h)
{
    gpi_free(h->avg);
    gpi_free(h->max);
    gpi_free(h->dyavg);
    gpi_free(h->dymax);
    gpi_free(h->cache);
    gpi_free(h->stat);
    gpi_free(h->part);
}

static void gpi_head_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_head_free_scratch(l->priv);
    gpi_layer_free(l);
}

/* ------------------------------------------------------ plan */

/* The learnable scalar of op (NULL name: none) and its initial value. */
static const char *gpi_head_param(gp_head_op op, float *init)
{
    switch (op) {
    case GP_HEAD_GEM:   *init = GPI_GEM_P0; return "p";
    case GP_HEAD_LSE:   *init = GPI_LSE_R0; return "r";
    case GP_HEAD_MIXED: *init = 0.0f;       return "alpha";
    default:            return NULL;
    }
}

/* Scratch of h->op for at most `planes` planes of hw elements into h, and
 * its bytes; on failure h holds what was allocated. */
static gp_status gpi_head_scratch(gpi_head *h, size_t planes, size_t hw, size_t *bytes)
{
    int combo = h->op == GP_HEAD_MIXED || h->op == GP_HEAD_AVGMAX ||
                h->op == GP_HEAD_CATAVGMAX;
    int custom = h->op == GP_HEAD_GEM || h->op == GP_HEAD_LSE;
    *bytes = 0;
    if (combo) {
        h->avg = gpi_falloc(planes);
        h->max = gpi_falloc(planes);
        h->dyavg = gpi_falloc(planes);
        h->dymax = gpi_falloc(planes);
        if (!h->avg || !h->max || !h->dyavg || !h->dymax)
            return gpi_fail(GP_ERR_NOMEM, "head_pool: out of memory");
        *bytes = 4 * planes * sizeof(float);
    }
    if (custom) {
        h->cache = gpi_falloc(planes * hw);
        h->stat = gpi_balloc(2 * planes * sizeof(double));
        h->part = gpi_balloc(planes * sizeof(double));
        if (!h->cache || !h->stat || !h->part)
            return gpi_fail(GP_ERR_NOMEM, "head_pool: out of memory");
        *bytes = planes * hw * sizeof(float) + 3 * planes * sizeof(double);
    }
    return GP_OK;
}

/* Forward FLOPs per image, a transcendental counted as one operation:
 * avg/max one per element; a combination both reductions plus a mix per
 * channel; gem clamp, pow and add per element, divide and root per channel;
 * lse compare, subtract, multiply, exp and add per element, log and
 * four more per channel. */
static double gpi_head_flops(gp_head_op op, double c, double hw)
{
    switch (op) {
    case GP_HEAD_AVG:
    case GP_HEAD_MAX:       return c * hw;
    case GP_HEAD_GEM:       return 3 * c * hw + 2 * c;
    case GP_HEAD_LSE:       return 5 * c * hw + 5 * c;
    case GP_HEAD_CATAVGMAX: return 2 * c * hw;
    default:                return 2 * c * hw + 3 * c;
    }
}

static void gpi_head_desc(gp_layer *l, gp_head_op op)
{
    switch (op) {
    case GP_HEAD_GEM:
        snprintf(l->desc, sizeof l->desc, "gem p=%g eps=%g", (double)GPI_GEM_P0,
                 (double)GPI_GEM_EPS);
        break;
    case GP_HEAD_LSE:
        snprintf(l->desc, sizeof l->desc, "lse r=%g", (double)GPI_LSE_R0);
        break;
    case GP_HEAD_MIXED:
        snprintf(l->desc, sizeof l->desc, "mixed a=sigmoid(alpha=0)");
        break;
    case GP_HEAD_CATAVGMAX:
        snprintf(l->desc, sizeof l->desc, "catavgmax -> %d", 2 * l->in.c);
        break;
    default:
        snprintf(l->desc, sizeof l->desc, "%s", gp_head_op_name(op));
        break;
    }
}

static gp_status gpi_head_check(const gp_layer_spec *spec)
{
    if ((int)spec->u.head_pool.op < 0 || (int)spec->u.head_pool.op >= GPI_HEAD_NOPS)
        return gpi_fail(GP_ERR_ARG, "head_pool: unknown op %d", (int)spec->u.head_pool.op);
    return GP_OK;
}

static gp_status gpi_head_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    int cat = l->spec.u.head_pool.op == GP_HEAD_CATAVGMAX;
    *out = (gp_shape){ .n = in.n, .c = cat ? 2 * in.c : in.c, .h = 1, .w = 1 };
    return GP_OK;
}

/* The op, and its learnable scalar if it has one. */
static gp_status gpi_head_init(gp_layer *l)
{
    gpi_head *h = l->priv;
    h->op = l->spec.u.head_pool.op;
    float init = 0;
    const char *pname = gpi_head_param(h->op, &init);
    size_t one = 1;
    if (pname) {
        gp_param *p = gpi_layer_add_param(l, pname, 1, &one, 0, 0, 0);
        if (!p)
            return GP_ERR_NOMEM;
        p->value[0] = init;
        p->fixed_init = 1;
    }
    return GP_OK;
}

static gp_status gpi_head_reshape(gp_layer *l, gp_shape in)
{
    gpi_head *h = l->priv;
    gpi_head next = { .op = h->op };
    size_t hw = (size_t)in.h * (size_t)in.w, planes = (size_t)in.n * (size_t)in.c, bytes;
    gp_status st = gpi_head_scratch(&next, planes, hw, &bytes);
    if (st != GP_OK) {
        gpi_head_free_scratch(&next);
        return st;
    }
    gpi_head_free_scratch(h);
    *h = next;
    gpi_layer_set_shapes(l, in);
    l->workspace_bytes = bytes;
    l->flops = gpi_head_flops(h->op, in.c, (double)hw);
    gpi_head_desc(l, h->op);
    return GP_OK;
}

static int gpi_head_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "op=%s", gp_head_op_name(spec->u.head_pool.op));
}

const gpi_layer_kind gpi_head_pool_kind = {
    { "head_pool", gpi_head_forward, gpi_head_backward, gpi_head_destroy, gpi_head_out_shape,
      gpi_head_reshape },
    sizeof(gpi_head), gpi_head_check, gpi_head_init, gpi_head_format
};

gp_status gp_head_pool_create(gp_layer **out, gp_shape in, gp_head_op op)
{
    return gp_layer_create(out, in, &(gp_layer_spec){ .kind = GP_LAYER_HEAD_POOL,
                                                      .u.head_pool = { op } });
}
