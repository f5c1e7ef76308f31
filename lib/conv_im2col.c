/*
 * conv_im2col.c - conv2d's im2col path (every shape the direct kernels do
 * not take, and CPUs without AVX2): a chunk of a few images' column matrix
 * [K, nb*P] (K = cin*kh*kw, P = hout*wout) lives in the thread's own scratch
 * and stays in its L2 cache from im2col to sgemm; sgemm called inside the
 * parallel region runs single-threaded (OpenBLAS's OpenMP build). Measured
 * against one im2col + one threaded sgemm over the whole batch (a [cout,
 * N*P] product then transposed to NCHW), this was 2-3x faster for the small
 * CNN of the benchmark: the whole-batch column matrix (up to ~60 MB at
 * batch 256) streams through memory, while the chunks do not. Chunks group
 * images until a gemm has ~GPI_CONV_COLS columns, so 7x7 maps still give
 * sgemm a wide operand. Backward recomputes the chunk's columns from x (a
 * cheap copy of cached data) instead of keeping a whole-batch column matrix
 * from forward. conv2d.c splits the batch between threads.
 */
#include "autoconfig.h"

#include <string.h>

#include <cblas.h>

#include "gpi_conv2d.h"

/* ------------------------------------------------------------ arithmetic */

size_t gpi_round_floats(size_t count)
{
    size_t per_line = GPI_ALIGN / sizeof(float);
    return (count + per_line - 1) / per_line * per_line;
}


/* dst[i] += src[i]. Written four at a time because -O2's cheap vectorizer
 * skips loops of unknown length but does pack a block of four into one
 * SSE add; elementwise, so the result is the same either way. */
void gpi_conv_add_rows(float *restrict dst, const float *restrict src, size_t count)
{
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        dst[i] += src[i];
        dst[i + 1] += src[i + 1];
        dst[i + 2] += src[i + 2];
        dst[i + 3] += src[i + 3];
    }
    for (; i < count; i++)
        dst[i] += src[i];
}

/* dst[i] += value, four at a time as above. */
static void gpi_add_value(float *restrict dst, float value, size_t count)
{
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        dst[i] += value;
        dst[i + 1] += value;
        dst[i + 2] += value;
        dst[i + 3] += value;
    }
    for (; i < count; i++)
        dst[i] += value;
}

/* Sum of v[0..count) in four interleaved partial sums (a fixed order, so
 * deterministic, and four independent add chains instead of one). */
static float gpi_sum(const float *v, size_t count)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        a0 += v[i];
        a1 += v[i + 1];
        a2 += v[i + 2];
        a3 += v[i + 3];
    }
    for (; i < count; i++)
        a0 += v[i];
    return (a0 + a1) + (a2 + a3);
}

/* ------------------------------------------------------------ columns */

/* Output columns [lo, hi) whose input column ox*stride - pad + kx is inside
 * 0..w-1; the rest read padding. */
static void gpi_valid_range(int kx, int stride, int pad, int w, int wout, int *lo, int *hi)
{
    int first = pad - kx;                      /* ox * stride >= first */
    int a = first > 0 ? (first + stride - 1) / stride : 0;
    int limit = w + pad - kx;                  /* ox * stride < limit */
    int b = limit > 0 ? (limit + stride - 1) / stride : 0;
    a = a < wout ? a : wout;
    b = b < wout ? b : wout;
    *lo = a;
    *hi = b > a ? b : a;
}

/* Columns of one image into col (rows K, row stride ld floats). */
static void gpi_im2col(const gpi_conv *c, const float *x, float *col, size_t ld)
{
    const int s = c->stride;
    for (int ch = 0; ch < c->cin; ch++)
        for (int ky = 0; ky < c->kh; ky++)
            for (int kx = 0; kx < c->kw; kx++) {
                size_t row_index = ((size_t)ch * c->kh + ky) * c->kw + kx;
                float *row = col + row_index * ld;
                int lo, hi;
                gpi_valid_range(kx, s, c->pad, c->w, c->wout, &lo, &hi);
                for (int oy = 0; oy < c->hout; oy++) {
                    float *r = row + (size_t)oy * c->wout;
                    int iy = oy * s - c->pad + ky;
                    if (iy < 0 || iy >= c->h) {
                        memset(r, 0, (size_t)c->wout * sizeof *r);
                        continue;
                    }
                    const float *xr = x + ((size_t)ch * c->h + iy) * c->w + kx - c->pad;
                    for (int ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (s == 1)
                        memcpy(r + lo, xr + lo, (size_t)(hi - lo) * sizeof *r);
                    else
                        for (int ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox * s];
                    for (int ox = hi; ox < c->wout; ox++)
                        r[ox] = 0.0f;
                }
            }
}

/* dx of one image from its column gradients (overwrites dx). Rows are added
 * in a fixed order, so the result does not depend on threading. */
static void gpi_col2im(const gpi_conv *c, const float *col, size_t ld, float *dx)
{
    const int s = c->stride;
    memset(dx, 0, (size_t)c->cin * c->h * c->w * sizeof *dx);
    for (int ch = 0; ch < c->cin; ch++)
        for (int ky = 0; ky < c->kh; ky++)
            for (int kx = 0; kx < c->kw; kx++) {
                size_t row_index = ((size_t)ch * c->kh + ky) * c->kw + kx;
                const float *row = col + row_index * ld;
                int lo, hi;
                gpi_valid_range(kx, s, c->pad, c->w, c->wout, &lo, &hi);
                for (int oy = 0; oy < c->hout; oy++) {
                    int iy = oy * s - c->pad + ky;
                    if (iy < 0 || iy >= c->h)
                        continue;
                    const float *r = row + (size_t)oy * c->wout;
                    float *xr = dx + ((size_t)ch * c->h + iy) * c->w + kx - c->pad;
                    if (s == 1)
                        gpi_conv_add_rows(xr + lo, r + lo, (size_t)(hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            xr[ox * s] += r[ox];
                }
            }
}

/* The column matrix of images i0..i0+nb-1: x itself for a direct 1x1 conv
 * of one image, else built in cols. */
static const float *gpi_chunk_cols(const gpi_conv *c, const float *x, int i0, int nb,
                                   float *cols)
{
    size_t in_size = (size_t)c->cin * c->h * c->w, ld = (size_t)nb * c->P;
    if (c->x_is_cols && nb == 1)
        return x + (size_t)i0 * in_size;
    for (int j = 0; j < nb; j++)
        gpi_im2col(c, x + (size_t)(i0 + j) * in_size, cols + (size_t)j * c->P, ld);
    return cols;
}

/* Chunk layout [cout, nb*P] to nb NCHW images. */
static void gpi_chunk_scatter(const gpi_conv *c, const float *chunk, int nb, float *nchw)
{
    size_t P = c->P, ld = (size_t)nb * P;
    for (int j = 0; j < nb; j++)
        for (int o = 0; o < c->cout; o++)
            memcpy(nchw + ((size_t)j * c->cout + o) * P, chunk + (size_t)o * ld + (size_t)j * P,
                   P * sizeof *nchw);
}

/* nb NCHW images to the chunk layout [cout, nb*P]. */
static void gpi_chunk_gather(const gpi_conv *c, const float *nchw, int nb, float *chunk)
{
    size_t P = c->P, ld = (size_t)nb * P;
    for (int j = 0; j < nb; j++)
        for (int o = 0; o < c->cout; o++)
            memcpy(chunk + (size_t)o * ld + (size_t)j * P, nchw + ((size_t)j * c->cout + o) * P,
                   P * sizeof *chunk);
}

static void gpi_add_bias(const gpi_conv *c, const float *bias, float *y, int nb)
{
    for (int j = 0; j < nb; j++)
        for (int o = 0; o < c->cout; o++)
            gpi_add_value(y + ((size_t)j * c->cout + o) * c->P, bias[o], c->P);
}

/* ------------------------------------------------------------ chunks */

void gpi_im2col_forward_chunk(const gpi_conv *c, const float *weight, const float *bias,
                              const float *x, float *y, int i0, int nb, float *slot)
{
    size_t ld = (size_t)nb * c->P;
    float *cols = slot, *gathered = slot + c->cols_floats;
    const float *b = gpi_chunk_cols(c, x, i0, nb, cols);
    float *yi = y + (size_t)i0 * c->cout * c->P;
    float *out = nb == 1 ? yi : gathered;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)ld, (int)c->K,
                1.0f, weight, (int)c->K, b, (int)ld, 0.0f, out, (int)ld);
    if (nb > 1)
        gpi_chunk_scatter(c, gathered, nb, yi);
    if (bias)
        gpi_add_bias(c, bias, yi, nb);
}

gpi_conv_acc gpi_im2col_thread_acc(gp_layer *l, int t)
{
    gpi_conv *c = l->priv;
    gpi_conv_acc a;
    if (t == 0) {
        a.dw = l->params[0].grad;
        a.db = c->has_bias ? l->params[1].grad : NULL;
    } else {
        a.dw = c->acc + (size_t)(t - 1) * c->acc_floats;
        a.db = c->has_bias ? a.dw + (size_t)c->cout * c->K : NULL;
    }
    memset(a.dw, 0, (size_t)c->cout * c->K * sizeof *a.dw);
    if (a.db)
        memset(a.db, 0, (size_t)c->cout * sizeof *a.db);
    return a;
}

void gpi_im2col_backward_chunk(const gpi_conv *c, const float *weight, const float *x,
                               const float *dy, float *dx, int i0, int nb, float *slot,
                               gpi_conv_acc a)
{
    size_t ld = (size_t)nb * c->P, in_size = (size_t)c->cin * c->h * c->w;
    float *cols = slot, *gathered = slot + c->cols_floats;
    const float *b = gpi_chunk_cols(c, x, i0, nb, cols);
    const float *g = dy + (size_t)i0 * c->cout * c->P;
    if (nb > 1) {
        gpi_chunk_gather(c, g, nb, gathered);
        g = gathered;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->cout, (int)c->K, (int)ld,
                1.0f, g, (int)ld, b, (int)ld, 1.0f, a.dw, (int)c->K);
    if (a.db)
        for (int o = 0; o < c->cout; o++)
            a.db[o] += gpi_sum(g + (size_t)o * ld, ld);
    if (!dx)
        return;
    float *dxi = dx + (size_t)i0 * in_size;
    /* the columns are spent: their buffer takes the column gradients */
    float *dcols = (c->x_is_cols && nb == 1) ? dxi : cols;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->K, (int)ld, c->cout,
                1.0f, weight, (int)c->K, g, (int)ld, 0.0f, dcols, (int)ld);
    if (dcols != dxi)
        for (int j = 0; j < nb; j++)
            gpi_col2im(c, dcols + (size_t)j * c->P, ld, dxi + (size_t)j * in_size);
}

void gpi_im2col_reduce(gp_layer *l, int nt)
{
    const gpi_conv *c = l->priv;
    for (int t = 1; t < nt; t++) {
        const float *part = c->acc + (size_t)(t - 1) * c->acc_floats;
        gpi_conv_add_rows(l->params[0].grad, part, (size_t)c->cout * c->K);
        if (c->has_bias)
            gpi_conv_add_rows(l->params[1].grad, part + (size_t)c->cout * c->K, (size_t)c->cout);
    }
}

/* ------------------------------------------------------------ plan */

gp_status gpi_im2col_alloc(gpi_conv *c, int max_batch)
{
    int wide = (int)((GPI_CONV_COLS + c->P - 1) / c->P);
    c->chunk = c->x_is_cols ? 1 : (wide < max_batch ? wide : max_batch);
    size_t gathered = c->chunk > 1 ? (size_t)c->cout * c->chunk * c->P : 0;
    c->cols_floats = c->x_is_cols ? 0 : gpi_round_floats(c->K * c->chunk * c->P);
    c->slot_floats = c->cols_floats + gpi_round_floats(gathered);
    c->acc_floats = gpi_round_floats((size_t)c->cout * c->K + (size_t)c->cout);
    c->scratch = gpi_falloc((size_t)c->slots * c->slot_floats);
    c->acc = gpi_falloc((size_t)(c->slots - 1) * c->acc_floats);
    if (!c->scratch || !c->acc)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for scratch");
    c->workspace_bytes = ((size_t)c->slots * c->slot_floats +
                          (size_t)(c->slots - 1) * c->acc_floats) * sizeof(float);
    return GP_OK;
}
