/*
 * pool2d.c - local max and average pooling over k x k windows, PyTorch
 * semantics (dilation 1; avg with count_include_pad = 1 and no divisor
 * override). Max saves the argmax of every window in forward so backward
 * routes each gradient to exactly the element PyTorch picks.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gpi_layer.h"

/* Below this many input floats a parallel region costs more than it saves. */
#define GPI_POOL2D_PAR_MIN ((ptrdiff_t)1 << 15)

typedef struct {
    gp_pool2d_kind kind;
    int k, stride, pad;
    int32_t *argmax;        /* max only: index within the input plane, per output */
} gpi_pool2d;

/* The clipped input rows (or columns) of window o and, for avg, the extent
 * PyTorch divides by: the window clipped to the padded input, not the input. */
typedef struct {
    int start, end, span;
} gpi_window;

static gpi_window gpi_pool2d_window(int o, int k, int stride, int pad, int in)
{
    int start = o * stride - pad;
    int end = start + k < in + pad ? start + k : in + pad;
    gpi_window w = { start, end, end - start };
    if (w.start < 0)
        w.start = 0;
    if (w.end > in)
        w.end = in;
    return w;
}

/* PyTorch's pooling_output_shape: floor or ceil division; with ceil_mode a
 * last window starting in the right padding is dropped. 0 when empty. */
static int gpi_pool2d_out_size(int in, int k, int stride, int pad, int ceil_mode)
{
    int64_t num = (int64_t)in + 2 * (int64_t)pad - k + (ceil_mode ? stride - 1 : 0);
    int64_t q = num >= 0 ? num / stride : -((-num + stride - 1) / stride);
    int64_t out = q + 1;
    if (ceil_mode && (out - 1) * stride >= (int64_t)in + pad)
        out--;
    return out > 0 && out <= INT32_MAX ? (int)out : 0;
}

/* Output columns [first, last) whose windows lie wholly inside the input
 * width: there the window loops need no clipping and can run across outputs. */
static void gpi_pool2d_interior(const gpi_pool2d *p, int w, int ow, int *first, int *last)
{
    int lo = (p->pad + p->stride - 1) / p->stride;
    int hi = w + p->pad - p->k >= 0 ? (w + p->pad - p->k) / p->stride + 1 : 0;
    *last = hi < ow ? hi : ow;
    *first = lo < *last ? lo : *last;
}

/* Output (i, j) of a max plane. The first maximum in row-major window order
 * wins and a NaN takes over (PyTorch's `val > max || isnan(val)`), written
 * as selects rather than branches: on real data they are unpredictable. */
static void gpi_maxpool_one(const gpi_pool2d *p, gpi_window r, int j, int w, const float *x,
                            float *y, int32_t *arg)
{
    gpi_window c = gpi_pool2d_window(j, p->k, p->stride, p->pad, w);
    float m = -INFINITY;
    int32_t at = r.start * w + c.start;
    for (int a = r.start; a < r.end; a++)
        for (int b = c.start; b < c.end; b++) {
            float v = x[a * w + b];
            int take = (v > m) | (v != v);
            m = take ? v : m;
            at = take ? a * w + b : at;
        }
    *y = m;
    *arg = at;
}

/* Output row i of a max plane: the clipped edge windows one at a time, the
 * interior ones together, window element by window element in the same
 * row-major order (so the same maximum and index), vectorised across j. */
static void gpi_maxpool_row(const gpi_pool2d *p, int i, int h, int w, int ow,
                            const float *x, float *y, int32_t *arg)
{
    gpi_window r = gpi_pool2d_window(i, p->k, p->stride, p->pad, h);
    int first, last, s = p->stride;
    gpi_pool2d_interior(p, w, ow, &first, &last);
    for (int j = 0; j < ow; j++)
        if (j < first || j >= last)
            gpi_maxpool_one(p, r, j, w, x, y + j, arg + j);
    for (int j = first; j < last; j++) {
        y[j] = -INFINITY;
        arg[j] = r.start * w + j * s - p->pad;
    }
    for (int a = r.start; a < r.end; a++)
        for (int b = 0; b < p->k; b++) {
            int32_t base = a * w + b - p->pad;
#ifdef _OPENMP
#pragma omp simd
#endif
            for (int j = first; j < last; j++) {
                float v = x[base + j * s];
                int take = (v > y[j]) | (v != v);
                y[j] = take ? v : y[j];
                arg[j] = take ? base + j * s : arg[j];
            }
        }
}

static void gpi_maxpool_plane(const gpi_pool2d *p, int h, int w, int oh, int ow,
                              const float *x, float *y, int32_t *arg)
{
    for (int i = 0; i < oh; i++)
        gpi_maxpool_row(p, i, h, w, ow, x, y + (size_t)i * ow, arg + (size_t)i * ow);
}

/* Output (i, j) of an avg plane: a float sum in row-major window order
 * divided by the window's extent in the padded input, the exact arithmetic
 * of PyTorch's CPU kernel. */
static float gpi_avgpool_one(const gpi_pool2d *p, gpi_window r, int j, int w, const float *x)
{
    gpi_window c = gpi_pool2d_window(j, p->k, p->stride, p->pad, w);
    float sum = 0.0f;
    for (int a = r.start; a < r.end; a++)
        for (int b = c.start; b < c.end; b++)
            sum += x[a * w + b];
    return r.start < r.end && c.start < c.end ? sum / (float)(r.span * c.span) : 0.0f;
}

/* Output row i of an avg plane, split like gpi_maxpool_row; each interior
 * sum still adds its window in row-major order. */
static void gpi_avgpool_row(const gpi_pool2d *p, int i, int h, int w, int ow,
                            const float *x, float *y)
{
    gpi_window r = gpi_pool2d_window(i, p->k, p->stride, p->pad, h);
    int first, last, s = p->stride;
    gpi_pool2d_interior(p, w, ow, &first, &last);
    for (int j = 0; j < ow; j++)
        if (j < first || j >= last)
            y[j] = gpi_avgpool_one(p, r, j, w, x);
    for (int j = first; j < last; j++)
        y[j] = 0.0f;
    for (int a = r.start; a < r.end; a++)
        for (int b = 0; b < p->k; b++) {
            const float *row = x + a * w + b - p->pad;
#ifdef _OPENMP
#pragma omp simd
#endif
            for (int j = first; j < last; j++)
                y[j] += row[j * s];
        }
    float div = (float)(r.span * p->k);   /* interior columns span k */
    for (int j = first; j < last; j++)
        y[j] = r.start < r.end ? y[j] / div : 0.0f;
}

static void gpi_avgpool_plane(const gpi_pool2d *p, int h, int w, int oh, int ow,
                              const float *x, float *y)
{
    for (int i = 0; i < oh; i++)
        gpi_avgpool_row(p, i, h, w, ow, x, y + (size_t)i * ow);
}

static void gpi_maxpool_plane_backward(int hw, int ohw, const int32_t *arg,
                                       const float *dy, float *dx)
{
    memset(dx, 0, (size_t)hw * sizeof *dx);
    for (int o = 0; o < ohw; o++)
        dx[arg[o]] += dy[o];
}

static void gpi_avgpool_plane_backward(const gpi_pool2d *p, int h, int w, int oh, int ow,
                                       const float *dy, float *dx)
{
    memset(dx, 0, (size_t)h * (size_t)w * sizeof *dx);
    for (int i = 0; i < oh; i++) {
        gpi_window r = gpi_pool2d_window(i, p->k, p->stride, p->pad, h);
        for (int j = 0; j < ow; j++) {
            gpi_window c = gpi_pool2d_window(j, p->k, p->stride, p->pad, w);
            float g = dy[i * ow + j] / (float)(r.span * c.span);
            for (int a = r.start; a < r.end; a++)
                for (int b = c.start; b < c.end; b++)
                    dx[a * w + b] += g;
        }
    }
}

static gp_status gpi_pool2d_forward(gp_layer *l, int n, const float *x, float *y,
                                    gp_mode mode)
{
    (void)mode;     /* max saves its argmax in eval too: it is cheap and keeps backward valid */
    const gpi_pool2d *p = l->priv;
    int h = l->in.h, w = l->in.w, oh = l->out.h, ow = l->out.w;
    ptrdiff_t planes = (ptrdiff_t)n * l->in.c;
    size_t hw = (size_t)h * (size_t)w, ohw = (size_t)oh * (size_t)ow;
    int parallel = planes * (ptrdiff_t)hw >= GPI_POOL2D_PAR_MIN;
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (ptrdiff_t q = 0; q < planes; q++) {
        if (p->kind == GP_POOL2D_MAX)
            gpi_maxpool_plane(p, h, w, oh, ow, x + q * hw, y + q * ohw, p->argmax + q * ohw);
        else
            gpi_avgpool_plane(p, h, w, oh, ow, x + q * hw, y + q * ohw);
    }
    return GP_OK;
}

static gp_status gpi_pool2d_backward(gp_layer *l, int n, const float *x, const float *y,
                                     const float *dy, float *dx)
{
    (void)x; (void)y;
    if (!dx)
        return GP_OK;
    const gpi_pool2d *p = l->priv;
    int h = l->in.h, w = l->in.w, oh = l->out.h, ow = l->out.w;
    ptrdiff_t planes = (ptrdiff_t)n * l->in.c;
    size_t hw = (size_t)h * (size_t)w, ohw = (size_t)oh * (size_t)ow;
    int parallel = planes * (ptrdiff_t)hw >= GPI_POOL2D_PAR_MIN;
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (ptrdiff_t q = 0; q < planes; q++) {
        if (p->kind == GP_POOL2D_MAX)
            gpi_maxpool_plane_backward((int)hw, (int)ohw, p->argmax + q * ohw,
                                       dy + q * ohw, dx + q * hw);
        else
            gpi_avgpool_plane_backward(p, h, w, oh, ow, dy + q * ohw, dx + q * hw);
    }
    return GP_OK;
}

static void gpi_pool2d_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_free(((gpi_pool2d *)l->priv)->argmax);
    gpi_layer_free(l);
}

static const gp_layer_ops gpi_maxpool2d_ops = {
    "maxpool2d", gpi_pool2d_forward, gpi_pool2d_backward, gpi_pool2d_destroy
};

static const gp_layer_ops gpi_avgpool2d_ops = {
    "avgpool2d", gpi_pool2d_forward, gpi_pool2d_backward, gpi_pool2d_destroy
};

/* PyTorch's argument checks (dilation 1): positive kernel and stride,
 * 0 <= pad <= k / 2. */
static gp_status gpi_pool2d_check(const char *kind, int k, int stride, int pad)
{
    if (k < 1 || stride < 1)
        return gpi_fail(GP_ERR_ARG, "%s: kernel %d and stride %d must be positive",
                        kind, k, stride);
    if (pad < 0 || pad > k / 2)
        return gpi_fail(GP_ERR_ARG, "%s: pad %d must be between 0 and half the kernel (%d)",
                        kind, pad, k / 2);
    return GP_OK;
}

gp_status gp_pool2d_make(gp_layer **out, gp_shape in, gp_pool2d_kind kind,
                         int k, int stride, int pad, int ceil_mode)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "pool2d: NULL argument");
    *out = NULL;
    if (kind != GP_POOL2D_MAX && kind != GP_POOL2D_AVG)
        return gpi_fail(GP_ERR_ARG, "pool2d: unknown kind %d", (int)kind);
    const gp_layer_ops *ops = kind == GP_POOL2D_MAX ? &gpi_maxpool2d_ops : &gpi_avgpool2d_ops;
    gp_status st = gpi_pool2d_check(ops->kind, k, stride, pad);
    if (st)
        return st;
    gp_shape o = { in.n, in.c, gpi_pool2d_out_size(in.h, k, stride, pad, ceil_mode),
                   gpi_pool2d_out_size(in.w, k, stride, pad, ceil_mode) };
    gp_layer *l;
    if ((st = gpi_layer_new(&l, ops, in, o, sizeof(gpi_pool2d))))
        return st;
    gpi_pool2d *p = l->priv;
    p->kind = kind;
    p->k = k;
    p->stride = stride;
    p->pad = pad;
    size_t outputs = (size_t)in.n * (size_t)in.c * (size_t)o.h * (size_t)o.w;
    if (kind == GP_POOL2D_MAX) {
        if (!(p->argmax = gpi_balloc(outputs * sizeof *p->argmax))) {
            gpi_pool2d_destroy(l);
            return gpi_fail(GP_ERR_NOMEM, "maxpool2d: out of memory for %zu indices", outputs);
        }
        l->workspace_bytes = outputs * sizeof *p->argmax;
    }
    /* a compare (max) or an add (avg) per window element, plus avg's divide */
    l->flops = (double)in.c * o.h * o.w * ((double)k * k + (kind == GP_POOL2D_AVG));
    snprintf(l->desc, sizeof l->desc, "%dx%d/%d pad %d%s", k, k, stride, pad,
             ceil_mode ? ", ceil" : "");
    *out = l;
    return GP_OK;
}
