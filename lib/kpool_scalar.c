/*
 * kpool_scalar.c - portable kernels of the k-parameterised NCHW reductions
 * (gpool.h: topk, adaptive_avg, adaptive_max; contract: gpi_kernels.h).
 *
 * These define the exact semantics the SIMD kernels (kpool_avx2.c,
 * kpool_avx512.c) reproduce, and they are what the SIMD kernels fall back
 * to where they do not settle a plane themselves (a NaN, a zero maximum,
 * top-k with k > GP_TOPK_SIMD_MAX). The backward kernels here serve every
 * variant.
 *
 * Top-k with k <= GP_TOPK_SIMD_MAX keeps the k largest values sorted, so
 * that their sum is taken in descending order as in the SIMD kernels; a
 * larger k finds the k-th largest by a radix select on order-preserving
 * integer keys (four passes of a 256-bin histogram, no scratch), then sums
 * what lies above it in scan order. The select also ranks for backward: NaN
 * above every number, -0.0 equal to 0.0, ties to the first in scan order.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gpi_kernels.h"
#include "gpool.h"

/* ------------------------------------------------------------ top-k */

/* A key whose unsigned order is the ranking: NaN highest, -0.0 as 0.0. */
static uint32_t rank_key(float v)
{
    uint32_t b;
    if (v != v)
        return UINT32_MAX;
    if (v == 0.0f)
        return 0x80000000u;
    memcpy(&b, &v, sizeof b);
    return b & 0x80000000u ? ~b : b | 0x80000000u;
}

static float key_value(uint32_t key)
{
    uint32_t b = key & 0x80000000u ? key & 0x7fffffffu : ~key;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* Where the k largest of a plane end: the k-th largest key, and how many
 * elements rank strictly above it (fewer than k; the rest of the k are the
 * first elements in scan order that equal it). */
typedef struct {
    uint32_t key;
    size_t   above;
} topk_cut;

static topk_cut cut_of(const float *p, size_t hw, size_t k)
{
    uint32_t prefix = 0, mask = 0;
    size_t above = 0, need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        size_t hist[256] = { 0 };
        for (size_t i = 0; i < hw; i++) {
            uint32_t key = rank_key(p[i]);
            if ((key & mask) == prefix)
                hist[(key >> shift) & 255u]++;
        }
        unsigned b = 255;
        while (hist[b] < need) {
            need -= hist[b];
            above += hist[b];
            b--;
        }
        prefix |= (uint32_t)b << shift;
        mask |= 255u << shift;
    }
    topk_cut c = { prefix, above };
    return c;
}

static float first_nan(const float *p, size_t hw)
{
    for (size_t i = 0; i < hw; i++)
        if (p[i] != p[i])
            return p[i];
    return NAN;
}

/* k <= GP_TOPK_SIMD_MAX: the k largest kept sorted, summed in descending order. */
static float topk_small(const float *p, size_t hw, size_t k)
{
    float t[GP_TOPK_SIMD_MAX];
    for (size_t j = 0; j < k; j++)
        t[j] = -INFINITY;
    for (size_t i = 0; i < hw; i++) {
        float v = p[i];
        if (v != v)
            return v;
        if (!(v > t[k - 1]))
            continue;
        size_t j = k - 1;
        for (; j > 0 && t[j - 1] < v; j--)
            t[j] = t[j - 1];
        t[j] = v;
    }
    double s = 0.0;
    for (size_t j = 0; j < k; j++)
        s += t[j];
    return (float)(s / (double)k);
}

static float topk_large(const float *p, size_t hw, size_t k)
{
    topk_cut c = cut_of(p, hw, k);
    if (c.key == UINT32_MAX)
        return first_nan(p, hw);
    double s = 0.0;
    for (size_t i = 0; i < hw; i++)
        if (rank_key(p[i]) > c.key)
            s += p[i];
    s += (double)(k - c.above) * key_value(c.key);
    return (float)(s / (double)k);
}

float gpi_topk_plane(const float *p, size_t hw, size_t k)
{
    return k <= GP_TOPK_SIMD_MAX ? topk_small(p, hw, k) : topk_large(p, hw, k);
}

static void topk_fwd(const float *x, float *y, size_t rows, size_t h, size_t w, size_t k)
{
    size_t hw = h * w;
    for (size_t r = 0; r < rows; r++)
        y[r] = gpi_topk_plane(x + r * hw, hw, k);
}

static void topk_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t h,
                     size_t w, size_t k)
{
    size_t hw = h * w;
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * hw;
        float *d = dx + r * hw, g = dy[r] / (float)k;
        topk_cut c = cut_of(p, hw, k);
        size_t ties = k - c.above;
        for (size_t i = 0; i < hw; i++) {
            uint32_t key = rank_key(p[i]);
            int take = key > c.key || (key == c.key && ties > 0);
            ties -= key == c.key && ties > 0;
            d[i] = take ? g : 0.0f;
        }
    }
}

/* ------------------------------------------------------ adaptive pools */

/* Bin (i, j) of a k x k grid over an h x w plane. */
typedef struct {
    size_t r0, r1, c0, c1;
} bin;

static bin bin_of(size_t i, size_t j, size_t h, size_t w, size_t k)
{
    bin b = { gpi_bin_start(i, h, k), gpi_bin_end(i, h, k), gpi_bin_start(j, w, k),
              gpi_bin_end(j, w, k) };
    return b;
}

/* Index in the plane of the first NaN of the bin, else of its first maximum. */
static size_t bin_arg_max(const float *p, size_t w, bin b)
{
    size_t best = b.r0 * w + b.c0;
    float m = p[best];
    if (m != m)
        return best;
    for (size_t a = b.r0; a < b.r1; a++)
        for (size_t c = b.c0; c < b.c1; c++) {
            float v = p[a * w + c];
            if (v > m) {
                m = v;
                best = a * w + c;
            } else if (v != v) {
                return a * w + c;
            }
        }
    return best;
}

void gpi_adaptive_max_plane(const float *p, float *y, size_t h, size_t w, size_t k)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            y[i * k + j] = p[bin_arg_max(p, w, bin_of(i, j, h, w, k))];
}

static void adaptive_max_fwd(const float *x, float *y, size_t rows, size_t h, size_t w,
                             size_t k)
{
    for (size_t r = 0; r < rows; r++)
        gpi_adaptive_max_plane(x + r * h * w, y + r * k * k, h, w, k);
}

static void adaptive_avg_fwd(const float *x, float *y, size_t rows, size_t h, size_t w,
                             size_t k)
{
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * h * w;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                bin b = bin_of(i, j, h, w, k);
                double s = 0.0;
                for (size_t a = b.r0; a < b.r1; a++)
                    for (size_t c = b.c0; c < b.c1; c++)
                        s += p[a * w + c];
                y[r * k * k + i * k + j] =
                    (float)(s / (double)((b.r1 - b.r0) * (b.c1 - b.c0)));
            }
    }
}

static void adaptive_avg_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t h,
                             size_t w, size_t k)
{
    (void)x;
    memset(dx, 0, rows * h * w * sizeof *dx);
    for (size_t r = 0; r < rows; r++) {
        float *d = dx + r * h * w;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                bin b = bin_of(i, j, h, w, k);
                float g = dy[r * k * k + i * k + j] / (float)((b.r1 - b.r0) * (b.c1 - b.c0));
                for (size_t a = b.r0; a < b.r1; a++)
                    for (size_t c = b.c0; c < b.c1; c++)
                        d[a * w + c] += g;
            }
    }
}

static void adaptive_max_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t h,
                             size_t w, size_t k)
{
    memset(dx, 0, rows * h * w * sizeof *dx);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                dx[r * h * w + bin_arg_max(x + r * h * w, w, bin_of(i, j, h, w, k))] +=
                    dy[r * k * k + i * k + j];
}

const gpi_kpool_set gpi_kpool_scalar = {
    .fwd = { topk_fwd, adaptive_avg_fwd, adaptive_max_fwd },
};

const gpi_kpool_bwd_fn gpi_kpool_backward[3] = { topk_bwd, adaptive_avg_bwd,
                                                 adaptive_max_bwd };
