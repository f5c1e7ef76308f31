/*
 * pool2d.c - local average and max pooling over k x k windows, PyTorch
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
    gp_pool_op op;
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

/* Every plane of a max layer but 2x2/2 (which has its own path below). */
static void gpi_maxpool_plane(const gpi_pool2d *p, int h, int w, int oh, int ow,
                              const float *x, float *y, int32_t *arg)
{
    for (int i = 0; i < oh; i++)
        gpi_maxpool_row(p, i, h, w, ow, x, y + (size_t)i * ow, arg + (size_t)i * ow);
}

/*
 * 2x2 windows at stride 2 without padding, the usual downsampling. Output
 * (i, j) reads rows 2i, 2i + 1 and columns 2j, 2j + 1, all inside the input
 * for i < h / 2 and j < w / 2: the "full" outputs, computed four at a time
 * (a quad, one SSE2 register) by one fixed 4-iteration loop of selects
 * that writes local arrays, copied out after: with nothing the loop
 * writes able to overlap what it reads, GCC -O2 vectorizes it wherever it
 * is inlined, whereas written one output at a time the selects become
 * jumps that mispredict on real data. Rows of at least four full outputs
 * take quads along the row (deinterleaving loads); narrower planes take
 * the same output of four planes (strided loads). The clipped last row and
 * column of ceil_mode go through the general code.
 */
static int gpi_pool2d_is_2x2(const gpi_pool2d *p)
{
    return p->k == 2 && p->stride == 2 && p->pad == 0;
}

#define GPI_POOL2D_Q 4

/* One window, elements a, b, c, d in row-major order from plane index
 * base, with gpi_maxpool_one's rule and order. */
static inline void gpi_max2_window(float a, float b, float c, float d, int32_t base, int32_t w,
                                   float *m, int32_t *at)
{
    float best = a;
    int32_t idx = base;
    int take = (b > best) | (b != b);
    best = take ? b : best;
    idx = take ? base + 1 : idx;
    take = (c > best) | (c != c);
    best = take ? c : best;
    idx = take ? base + w : idx;
    take = (d > best) | (d != d);
    best = take ? d : best;
    idx = take ? base + w + 1 : idx;
    *m = best;
    *at = idx;
}

/* Four consecutive full outputs of a row: r0 and r1 point at the first
 * window's top-left and bottom-left elements, base is r0's plane index. */
static inline void gpi_max2_row_quad(const float *r0, const float *r1, int32_t base, int32_t w,
                                     float *y, int32_t *arg)
{
    float m[GPI_POOL2D_Q];
    int32_t at[GPI_POOL2D_Q];
    for (int k = 0; k < GPI_POOL2D_Q; k++)
        gpi_max2_window(r0[2 * k], r0[2 * k + 1], r1[2 * k], r1[2 * k + 1], base + 2 * k, w,
                        m + k, at + k);
    for (int k = 0; k < GPI_POOL2D_Q; k++) {
        y[k] = m[k];
        arg[k] = at[k];
    }
}

/* The full outputs [0, full) of row i, full >= 4: the last quad overlaps
 * the one before rather than leave a scalar tail (it rewrites equal values). */
static void gpi_max2_row(int i, int w, int full, const float *x, float *y, int32_t *arg)
{
    int32_t base = 2 * i * w;
    const float *r0 = x + base, *r1 = r0 + w;
    for (int j = 0;; j += GPI_POOL2D_Q) {
        j = j + GPI_POOL2D_Q <= full ? j : full - GPI_POOL2D_Q;
        gpi_max2_row_quad(r0 + 2 * j, r1 + 2 * j, base + 2 * j, w, y + j, arg + j);
        if (j + GPI_POOL2D_Q == full)
            break;
    }
}

/* Full output (i, j) of four consecutive planes, the window at plane index
 * base (inputs hw floats apart, outputs ohw). */
static inline void gpi_max2_planes_quad(const float *x, size_t hw, size_t ohw, int32_t base,
                                        int32_t w, float *y, int32_t *arg)
{
    float m[GPI_POOL2D_Q];
    int32_t at[GPI_POOL2D_Q];
    for (int k = 0; k < GPI_POOL2D_Q; k++) {
        const float *r = x + (size_t)k * hw + base;
        gpi_max2_window(r[0], r[1], r[w], r[w + 1], base, w, m + k, at + k);
    }
    for (int k = 0; k < GPI_POOL2D_Q; k++) {
        y[(size_t)k * ohw] = m[k];
        arg[(size_t)k * ohw] = at[k];
    }
}

/* The clipped outputs of one plane (ceil_mode with an odd size). */
static void gpi_max2_edges(const gpi_pool2d *p, int h, int w, int oh, int ow, int full_h,
                           int full_w, const float *x, float *y, int32_t *arg)
{
    for (int i = 0; i < full_h; i++) {
        gpi_window r = gpi_pool2d_window(i, 2, 2, 0, h);
        for (int j = full_w; j < ow; j++)
            gpi_maxpool_one(p, r, j, w, x, y + (size_t)i * ow + j, arg + (size_t)i * ow + j);
    }
    for (int i = full_h; i < oh; i++)
        gpi_maxpool_row(p, i, h, w, ow, x, y + (size_t)i * ow, arg + (size_t)i * ow);
}

/* Planes [q0, q1) of a 2x2 layer: quads along rows of at least four full
 * outputs, else quads across four planes (one at a time for the last
 * planes of a batch that does not divide by four). */
static void gpi_max2_planes(const gpi_pool2d *p, ptrdiff_t q0, ptrdiff_t q1, int h, int w,
                            int oh, int ow, const float *x, float *y, int32_t *arg)
{
    int full_h = h / 2 < oh ? h / 2 : oh, full_w = w / 2 < ow ? w / 2 : ow;
    size_t hw = (size_t)h * (size_t)w, ohw = (size_t)oh * (size_t)ow;
    if (full_w >= GPI_POOL2D_Q) {
        for (ptrdiff_t q = q0; q < q1; q++)
            for (int i = 0; i < full_h; i++)
                gpi_max2_row(i, w, full_w, x + q * hw, y + q * ohw + (size_t)i * ow,
                             arg + q * ohw + (size_t)i * ow);
    } else if (q1 - q0 == GPI_POOL2D_Q) {
        for (int i = 0; i < full_h; i++)
            for (int j = 0; j < full_w; j++) {
                size_t o = q0 * ohw + (size_t)i * ow + j;
                gpi_max2_planes_quad(x + q0 * hw, hw, ohw, 2 * i * w + 2 * j, w, y + o,
                                     arg + o);
            }
    } else {
        for (ptrdiff_t q = q0; q < q1; q++)
            gpi_maxpool_plane(p, h, w, oh, ow, x + q * hw, y + q * ohw, arg + q * ohw);
        return;
    }
    if (full_h < oh || full_w < ow)
        for (ptrdiff_t q = q0; q < q1; q++)
            gpi_max2_edges(p, h, w, oh, ow, full_h, full_w, x + q * hw, y + q * ohw,
                           arg + q * ohw);
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

/* With k <= stride the windows do not overlap and each input takes at most
 * one gradient: a store, without the load and add (and their dependency
 * through dx) of the general case. */
static void gpi_maxpool_plane_backward(const gpi_pool2d *p, int hw, int ohw,
                                       const int32_t *arg, const float *dy, float *dx)
{
    memset(dx, 0, (size_t)hw * sizeof *dx);
    if (p->k <= p->stride) {
        for (int o = 0; o < ohw; o++)
            dx[arg[o]] = dy[o];
    } else {
        for (int o = 0; o < ohw; o++)
            dx[arg[o]] += dy[o];
    }
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
    if (p->op == GP_POOL_MAX && gpi_pool2d_is_2x2(p)) {
        ptrdiff_t quads = (planes + GPI_POOL2D_Q - 1) / GPI_POOL2D_Q;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
        for (ptrdiff_t t = 0; t < quads; t++) {
            ptrdiff_t q0 = t * GPI_POOL2D_Q;
            ptrdiff_t q1 = q0 + GPI_POOL2D_Q < planes ? q0 + GPI_POOL2D_Q : planes;
            gpi_max2_planes(p, q0, q1, h, w, oh, ow, x, y, p->argmax);
        }
        return GP_OK;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (ptrdiff_t q = 0; q < planes; q++) {
        if (p->op == GP_POOL_MAX)
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
        if (p->op == GP_POOL_MAX)
            gpi_maxpool_plane_backward(p, (int)hw, (int)ohw, p->argmax + q * ohw,
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

/* PyTorch's argument checks (dilation 1): positive kernel and stride,
 * 0 <= pad <= k / 2. */
static gp_status gpi_pool2d_check(const gp_layer_spec *spec)
{
    const char *kind = gp_layer_kind_name(spec->kind);
    int k = spec->u.pool2d.k, stride = spec->u.pool2d.stride, pad = spec->u.pool2d.pad;
    if (k < 1 || stride < 1)
        return gpi_fail(GP_ERR_ARG, "%s: kernel %d and stride %d must be positive",
                        kind, k, stride);
    if (pad < 0 || pad > k / 2)
        return gpi_fail(GP_ERR_ARG, "%s: pad %d must be between 0 and half the kernel (%d)",
                        kind, pad, k / 2);
    return GP_OK;
}

static gp_status gpi_pool2d_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    int k = l->spec.u.pool2d.k, s = l->spec.u.pool2d.stride, pad = l->spec.u.pool2d.pad;
    int ceil_mode = l->spec.u.pool2d.ceil_mode;
    *out = (gp_shape){ in.n, in.c, gpi_pool2d_out_size(in.h, k, s, pad, ceil_mode),
                       gpi_pool2d_out_size(in.w, k, s, pad, ceil_mode) };
    return GP_OK;
}

static gp_status gpi_pool2d_init(gp_layer *l)
{
    gpi_pool2d *p = l->priv;
    p->op = l->spec.kind == GP_LAYER_MAXPOOL2D ? GP_POOL_MAX : GP_POOL_AVG;
    p->k = l->spec.u.pool2d.k;
    p->stride = l->spec.u.pool2d.stride;
    p->pad = l->spec.u.pool2d.pad;
    return GP_OK;
}

/* Max keeps an argmax per output at the maximum batch. */
static gp_status gpi_pool2d_reshape(gp_layer *l, gp_shape in)
{
    gpi_pool2d *p = l->priv;
    gp_shape o;
    gpi_pool2d_out_shape(l, in, &o);
    size_t outputs = (size_t)in.n * (size_t)in.c * (size_t)o.h * (size_t)o.w;
    if (p->op == GP_POOL_MAX) {
        int32_t *argmax = gpi_balloc(outputs * sizeof *argmax);
        if (!argmax)
            return gpi_fail(GP_ERR_NOMEM, "maxpool2d: out of memory for %zu indices", outputs);
        gpi_free(p->argmax);
        p->argmax = argmax;
        l->workspace_bytes = outputs * sizeof *argmax;
    }
    gpi_layer_set_shapes(l, in);
    /* a compare (max) or an add (avg) per window element, plus avg's divide */
    l->flops = (double)in.c * o.h * o.w * ((double)p->k * p->k + (p->op == GP_POOL_AVG));
    snprintf(l->desc, sizeof l->desc, "%dx%d/%d pad %d%s", p->k, p->k, p->stride, p->pad,
             l->spec.u.pool2d.ceil_mode ? ", ceil" : "");
    return GP_OK;
}

static int gpi_pool2d_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "k=%d stride=%d pad=%d ceil_mode=%d", spec->u.pool2d.k,
                    spec->u.pool2d.stride, spec->u.pool2d.pad, spec->u.pool2d.ceil_mode != 0);
}

const gpi_layer_kind gpi_avgpool2d_kind = {
    { "avgpool2d", gpi_pool2d_forward, gpi_pool2d_backward, gpi_pool2d_destroy,
      gpi_pool2d_out_shape, gpi_pool2d_reshape },
    sizeof(gpi_pool2d), gpi_pool2d_check, gpi_pool2d_init, gpi_pool2d_format
};

const gpi_layer_kind gpi_maxpool2d_kind = {
    { "maxpool2d", gpi_pool2d_forward, gpi_pool2d_backward, gpi_pool2d_destroy,
      gpi_pool2d_out_shape, gpi_pool2d_reshape },
    sizeof(gpi_pool2d), gpi_pool2d_check, gpi_pool2d_init, gpi_pool2d_format
};

gp_status gp_pool2d_create(gp_layer **out, gp_shape in, gp_pool_op op,
                           int k, int stride, int pad, int ceil_mode)
{
    if (op != GP_POOL_AVG && op != GP_POOL_MAX) {
        if (out)
            *out = NULL;
        return gpi_fail(GP_ERR_ARG, "pool2d: unknown op %d", (int)op);
    }
    gp_layer_spec spec = { .kind = op == GP_POOL_MAX ? GP_LAYER_MAXPOOL2D : GP_LAYER_AVGPOOL2D,
                           .u.pool2d = { k, stride, pad, ceil_mode != 0 } };
    return gp_layer_create(out, in, &spec);
}
