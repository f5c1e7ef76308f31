/*
 * pool_scalar.c - portable C kernels for global average and max pooling
 * (contract and slice layout: gpi_kernels.h). Built with the baseline flags
 * of the library; no intrinsics, no fast-math.
 *
 * These kernels also define the exact semantics the SIMD kernels fall back
 * to for the rare cases they do not settle themselves (a NaN in the data, a
 * zero maximum whose sign is that of the first zero).
 *
 * Average: each float partial sum holds at most GPI_AVG_BLOCK consecutive
 * terms of one accumulator before it is added into a double.
 * Max: one sequential scan in p order with a strict >, so ties (and -0.0
 * against 0.0) keep the first element, and the first NaN ends the scan.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <string.h>

#include "gpi_kernels.h"

/* Channels per block of the NHWC kernels' stack buffers. */
#define CBLOCK 256

/* Accumulators of the NCHW sum: ACC independent float chains, each taking
 * every ACC-th element, flushed to double after GPI_AVG_BLOCK terms. */
#define ACC 4
#define SPAN (ACC * GPI_AVG_BLOCK)

static double plane_sum(const float *p, size_t n)
{
    double d[ACC] = { 0 };
    size_t i = 0;
    for (; i + SPAN <= n; i += SPAN) {
        float s[ACC];
        for (int a = 0; a < ACC; a++)
            s[a] = p[i + a];
        for (size_t k = ACC; k < SPAN; k += ACC)
            for (int a = 0; a < ACC; a++)
                s[a] += p[i + k + a];
        for (int a = 0; a < ACC; a++)
            d[a] += s[a];
    }
    if (i < n) {
        float s[ACC] = { 0 };
        for (size_t k = 0; i + k < n; k++)
            s[k % ACC] += p[i + k];
        for (int a = 0; a < ACC; a++)
            d[a] += s[a];
    }
    return (d[0] + d[1]) + (d[2] + d[3]);
}

/* Index of the first NaN of p[0], p[stride], ... p[(n-1)*stride] if there
 * is one, else of the first maximum. */
static size_t arg_max(const float *p, size_t n, size_t stride)
{
    float m = p[0];
    if (m != m)
        return 0;
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        float v = p[i * stride];
        if (v > m) {
            m = v;
            best = i;
        } else if (v != v) {
            return i;
        }
    }
    return best;
}

static void nchw_avg_fwd(const float *x, float *y, size_t rows, size_t hw)
{
    for (size_t r = 0; r < rows; r++)
        y[r] = (float)(plane_sum(x + r * hw, hw) / (double)hw);
}

static void nchw_max_fwd(const float *x, float *y, size_t rows, size_t hw)
{
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * hw;
        y[r] = p[arg_max(p, hw, 1)];
    }
}

static void nchw_avg_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t hw)
{
    (void)x;
    for (size_t r = 0; r < rows; r++) {
        float g = dy[r] / (float)hw;
        float *d = dx + r * hw;
        for (size_t i = 0; i < hw; i++)
            d[i] = g;
    }
}

static void nchw_max_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t hw)
{
    for (size_t r = 0; r < rows; r++) {
        float *d = dx + r * hw;
        memset(d, 0, hw * sizeof *d);
        d[arg_max(x + r * hw, hw, 1)] = dy[r];
    }
}

/* NHWC: per image, rows are swept in order (the image streams
 * contiguously); channels are processed in blocks of CBLOCK. */

static void nhwc_avg_fwd(const float *x, float *y, size_t n, size_t c, size_t hw, size_t ldc)
{
    double acc[CBLOCK];
    for (size_t b = 0; b < n; b++) {
        for (size_t j0 = 0; j0 < c; j0 += CBLOCK) {
            size_t cb = c - j0 < CBLOCK ? c - j0 : CBLOCK;
            const float *xb = x + b * hw * ldc + j0;
            for (size_t j = 0; j < cb; j++)
                acc[j] = 0.0;
            for (size_t p = 0; p < hw; p += GPI_AVG_BLOCK) {
                size_t g = hw - p < GPI_AVG_BLOCK ? hw - p : GPI_AVG_BLOCK;
                const float *q = xb + p * ldc;
                for (size_t j = 0; j < cb; j++) {
                    float s = q[j];
                    for (size_t k = 1; k < g; k++)
                        s += q[k * ldc + j];
                    acc[j] += s;
                }
            }
            for (size_t j = 0; j < cb; j++)
                y[b * ldc + j0 + j] = (float)(acc[j] / (double)hw);
        }
    }
}

/* Running first-NaN-else-first-maximum of every channel of one image, and
 * the row where it was found. */
static void nhwc_scan(const float *xb, float *m, size_t *at, size_t c, size_t hw, size_t ldc)
{
    for (size_t j = 0; j < c; j++) {
        m[j] = xb[j];
        at[j] = 0;
    }
    for (size_t p = 1; p < hw; p++) {
        const float *q = xb + p * ldc;
        for (size_t j = 0; j < c; j++) {
            float v = q[j], cur = m[j];
            /* replace on a larger value, or on the first NaN */
            if (v > cur || (v != v && cur == cur)) {
                m[j] = v;
                at[j] = p;
            }
        }
    }
}

static void nhwc_max_fwd(const float *x, float *y, size_t n, size_t c, size_t hw, size_t ldc)
{
    float m[CBLOCK];
    size_t at[CBLOCK];
    for (size_t b = 0; b < n; b++)
        for (size_t j0 = 0; j0 < c; j0 += CBLOCK) {
            size_t cb = c - j0 < CBLOCK ? c - j0 : CBLOCK;
            nhwc_scan(x + b * hw * ldc + j0, m, at, cb, hw, ldc);
            memcpy(y + b * ldc + j0, m, cb * sizeof *m);
        }
}

static void nhwc_avg_bwd(const float *x, const float *dy, float *dx, size_t n, size_t c,
                         size_t hw, size_t ldc)
{
    (void)x;
    float g[CBLOCK];
    for (size_t b = 0; b < n; b++)
        for (size_t j0 = 0; j0 < c; j0 += CBLOCK) {
            size_t cb = c - j0 < CBLOCK ? c - j0 : CBLOCK;
            for (size_t j = 0; j < cb; j++)
                g[j] = dy[b * ldc + j0 + j] / (float)hw;
            for (size_t p = 0; p < hw; p++)
                memcpy(dx + (b * hw + p) * ldc + j0, g, cb * sizeof *g);
        }
}

static void nhwc_max_bwd(const float *x, const float *dy, float *dx, size_t n, size_t c,
                         size_t hw, size_t ldc)
{
    float m[CBLOCK];
    size_t at[CBLOCK];
    for (size_t b = 0; b < n; b++)
        for (size_t j0 = 0; j0 < c; j0 += CBLOCK) {
            size_t cb = c - j0 < CBLOCK ? c - j0 : CBLOCK;
            float *db = dx + b * hw * ldc + j0;
            for (size_t p = 0; p < hw; p++)
                memset(db + p * ldc, 0, cb * sizeof *db);
            nhwc_scan(x + b * hw * ldc + j0, m, at, cb, hw, ldc);
            for (size_t j = 0; j < cb; j++)
                db[at[j] * ldc + j] = dy[b * ldc + j0 + j];
        }
}

const gpi_kernel_set gpi_kernels_scalar = {
    .nchw_avg_fwd = nchw_avg_fwd,
    .nchw_max_fwd = nchw_max_fwd,
    .nchw_avg_bwd = nchw_avg_bwd,
    .nchw_max_bwd = nchw_max_bwd,
    .nhwc_avg_fwd = nhwc_avg_fwd,
    .nhwc_max_fwd = nhwc_max_fwd,
    .nhwc_avg_bwd = nhwc_avg_bwd,
    .nhwc_max_bwd = nhwc_max_bwd,
};
