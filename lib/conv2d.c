/*
 * conv2d.c - 2-D convolution (cross-correlation, as PyTorch): the layer,
 * its two execution paths and the rule that picks one per layer.
 *
 * Direct path ("same" convolutions: stride 1, odd square kernel, pad
 * (k - 1) / 2, on a CPU with AVX2 or AVX-512): the kernels of conv_avx2.c /
 * conv_avx512.c compute forward, backward-data and backward-weights as
 * matrix products whose rows are shifted, lane-masked views of the input
 * planes (gpi_conv.h). With the tiny channel counts of the benchmark nets
 * (8..64) sgemm never gets a useful block size, while the direct kernels
 * keep an 8-channel x 48-position tile in registers and need no im2col.
 * Two layouts, chosen per direction (gpi_direct_geometry):
 *   in place  - the AVX-512 kernels read and write the NCHW tensors
 *               directly, one image per product (the weight gradient runs
 *               over a chunk of images at once), where an image's H x W
 *               fills its last vector well: forward at 28x28 and 14x14,
 *               backward at 28x28;
 *   stacked   - a chunk of images is copied channel by channel into planes
 *               holding the images' maps back to back (7x7 maps fill whole
 *               vectors that way), with margins for the AVX2 kernels'
 *               whole-vector loads; results are copied back.
 *
 * im2col path (every other shape, and CPUs without AVX2): work is split
 * into contiguous image ranges, one per OpenMP thread, and each range into
 * chunks of a few images: a chunk's column matrix [K, nb*P] (K =
 * cin*kh*kw, P = hout*wout) lives in the thread's own scratch and stays in
 * its L2 cache from im2col to sgemm. sgemm called inside the parallel region
 * runs single-threaded (OpenBLAS's OpenMP build). Measured against one
 * im2col + one threaded sgemm over the whole batch (a [cout, N*P] product
 * then transposed to NCHW), this was 2-3x faster for the small CNN of the
 * benchmark: the whole-batch column matrix (up to ~60 MB at batch 256)
 * streams through memory, while the chunks do not. Chunks group images until
 * a gemm has ~GPI_CONV_COLS columns, so 7x7 maps still give sgemm a wide
 * operand. Backward recomputes the chunk's columns from x (a cheap copy of
 * cached data) instead of keeping a whole-batch column matrix from forward.
 *
 * Both paths split the batch into the same per-thread image ranges; weight
 * and bias gradients accumulate per thread and are summed in thread order
 * afterwards, so results are bit-identical for a fixed thread count. The
 * path is chosen once, in gp_conv2d_make, by a fixed rule (never by timing),
 * so a given machine, mask and thread count always computes the same bits.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpi_conv.h"
#include "gpi_layer.h"

/* Target gemm width (images x P) of one chunk; measured 256..1024 alike. */
#define GPI_CONV_COLS 512

/* Target positions (images x H x W) of one direct chunk: long enough that
 * the weight-gradient tiles amortise their final horizontal sums, short
 * enough that 8 channels of dy stay in L1 (measured 512..2048: 1024 best). */
#define GPI_DIRECT_Q 1024

/* Where the products of one direction (forward, or backward) run. */
typedef struct {
    int    in_place;            /* 1: on the NCHW tensors, one image per product
                                 * (the weight gradient takes a chunk at once) */
    size_t cs;                  /* channel stride of the planes the products read */
    void  *masks;               /* [taps][mld] lane masks, the kernels' format */
    size_t mld;
    int   *off_f, *off_b;       /* row offsets of the forward / backward-data products */
} gpi_layout;

/* The direct path's geometry, tables and packed weights. */
typedef struct {
    const gpi_conv_kernels *k;  /* NULL: the im2col path */
    int         nb;             /* most images per chunk */
    int         taps;           /* k * k */
    size_t      margin;         /* stacked: readable floats before each plane's data */
    size_t      ld_out;         /* stacked: images x P rounded up, the product row stride */
    int        *tap_f, *tap_b;  /* tap (mask row) of each row of the two products */
    float      *wf, *wb, *bias; /* weights packed for those products, bias padded */
    gpi_layout  lay[2];         /* in place and/or stacked */
    const gpi_layout *fwd, *bwd;
} gpi_direct;

typedef struct {
    int    cin, h, w, cout, kh, kw, stride, pad, hout, wout;
    int    has_bias;
    int    x_is_cols;   /* 1x1, stride 1, no padding: x_i is its own column matrix */
    int    chunk;       /* most images per gemm (im2col) or direct chunk */
    int    slots;       /* threads the scratch was sized for */
    size_t K, P;        /* rows of the column matrix, output pixels per map */
    size_t cols_floats; /* im2col: columns of one chunk, rounded to a cache line */
    size_t slot_floats; /* per-thread scratch (0: none) */
    size_t acc_floats;  /* per-thread gradient accumulator: weight then bias */
    float *scratch;     /* slots x slot_floats */
    float *acc;         /* per-thread gradient accumulators: im2col slots - 1
                         * (thread 0 uses the grads), direct slots */
    gpi_direct d;
} gpi_conv;

/* Thread-private blocks start on a cache line so threads never share one. */
static size_t gpi_round_floats(size_t count)
{
    size_t per_line = GPI_ALIGN / sizeof(float);
    return (count + per_line - 1) / per_line * per_line;
}

static int gpi_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* dst[i] += src[i]. Written four at a time because -O2's cheap vectorizer
 * skips loops of unknown length but does pack a block of four into one
 * SSE add; elementwise, so the result is the same either way. */
static void gpi_add_rows(float *restrict dst, const float *restrict src, size_t count)
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

/* Images [*begin, *end) of thread t of nt, and its chunk count. */
static int gpi_thread_range(const gpi_conv *c, int n, int t, int nt, int *begin, int *end)
{
    *begin = (int)((long long)n * t / nt);
    *end = (int)((long long)n * (t + 1) / nt);
    int len = *end - *begin;
    return len > 0 ? (len + c->chunk - 1) / c->chunk : 0;
}

#ifdef _OPENMP
/* Threads to use for n images: one chunk per thread at least, so a tiny
 * batch runs serially and lets OpenBLAS thread the gemm itself. */
static int gpi_team(const gpi_conv *c, int n)
{
    int team = gpi_max_threads();
    team = team < c->slots ? team : c->slots;
    return n < team ? 1 : team;
}
#endif

static int gpi_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int gpi_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Chunk j of k over images [begin, end): sizes differ by at most one. */
static void gpi_chunk_bounds(int begin, int end, int j, int k, int *i0, int *nb)
{
    int len = end - begin;
    *i0 = begin + (int)((long long)len * j / k);
    *nb = begin + (int)((long long)len * (j + 1) / k) - *i0;
}

/* ------------------------------------------------------------ direct path */

/* Per-thread buffers of the stacked layout (x planes, dy planes, product
 * rows; data start after the margin) and gradient accumulators. */
typedef struct {
    float *x, *dy, *out, *acc;
} gpi_direct_bufs;

static gpi_direct_bufs gpi_direct_slot(const gpi_conv *c, int t)
{
    const gpi_direct *d = &c->d;
    gpi_direct_bufs b = { NULL, NULL, NULL, c->acc + (size_t)t * c->acc_floats };
    if (c->slot_floats) {
        size_t cs = d->ld_out + d->margin;
        b.x = c->scratch + (size_t)t * c->slot_floats + d->margin;
        b.dy = b.x + (size_t)c->cin * cs;
        b.out = b.dy + (size_t)c->cout * cs;
    }
    return b;
}

/* nb images of src (NCHW, ch channels of P floats) into stacked planes:
 * image j's map of channel k at planes + k * cs + j * P. */
static void gpi_stack(const gpi_conv *c, const float *src, int ch, int nb, float *planes)
{
    size_t cs = c->d.ld_out + c->d.margin;
    for (int j = 0; j < nb; j++)
        c->d.k->copy(src + (size_t)j * ch * c->P, c->P, planes + (size_t)j * c->P, cs, ch,
                     (int)c->P);
}

/* The inverse: stacked product rows (row stride ld_out) to nb NCHW images. */
static void gpi_unstack(const gpi_conv *c, const float *rows, int ch, int nb, float *dst)
{
    for (int j = 0; j < nb; j++)
        c->d.k->copy(rows + (size_t)j * c->P, c->d.ld_out, dst + (size_t)j * ch * c->P, c->P, ch,
                     (int)c->P);
}

/* The forward product's rows over input in (nq positions) in layout lay. */
static gpi_conv_src gpi_src_forward(const gpi_conv *c, const gpi_layout *lay, const float *in,
                                    size_t nq)
{
    gpi_conv_src s = { in, lay->off_f, c->d.tap_f, lay->masks, lay->mld, (int)c->K, nq };
    return s;
}

/* The backward-data product's rows over dy (flipped taps, cout channels). */
static gpi_conv_src gpi_src_backward(const gpi_conv *c, const gpi_layout *lay, const float *dy,
                                     size_t nq)
{
    gpi_conv_src s = { dy, lay->off_b, c->d.tap_b, lay->masks, lay->mld, c->cout * c->d.taps,
                       nq };
    return s;
}

/* wf[(co / cob) * K * cob + r * cob + co % cob] = w[co * K + r]; the padding
 * channels get zero weights and bias (their rows are never stored). */
static void gpi_pack_forward(const gpi_conv *c, const float *w, const float *bias)
{
    const gpi_direct *d = &c->d;
    int cob = d->k->cob, cout_pad = (c->cout + cob - 1) / cob * cob;
    size_t K = c->K;
    for (int co = 0; co < cout_pad; co++) {
        float *dst = d->wf + (size_t)(co / cob) * K * cob + co % cob;
        for (size_t r = 0; r < K; r++)
            dst[r * cob] = co < c->cout ? w[(size_t)co * K + r] : 0.0f;
        d->bias[co] = co < c->cout && bias ? bias[co] : 0.0f;
    }
}

/* Backward data convolves dy (cout channels) into dx (cin channels) with
 * the kernel flipped: row r' = co * taps + t' takes w[co][ci][taps-1-t'],
 * packed by blocks of cob input channels. */
static void gpi_pack_backward(const gpi_conv *c, const float *w)
{
    const gpi_direct *d = &c->d;
    int cob = d->k->cob, cin_pad = (c->cin + cob - 1) / cob * cob, taps = d->taps;
    size_t kb = (size_t)c->cout * taps;
    for (int ci = 0; ci < cin_pad; ci++) {
        float *dst = d->wb + (size_t)(ci / cob) * kb * cob + ci % cob;
        for (int co = 0; co < c->cout; co++)
            for (int t = 0; t < taps; t++) {
                size_t r = (size_t)co * taps + t;
                dst[r * cob] = ci < c->cin ? w[((size_t)co * c->cin + ci) * taps + taps - 1 - t]
                                           : 0.0f;
            }
    }
}

static void gpi_direct_forward_chunk(const gpi_conv *c, int has_bias, const float *x, float *y,
                                     int i0, int nb, int t)
{
    const gpi_direct *d = &c->d;
    const gpi_layout *lay = d->fwd;
    size_t in_size = (size_t)c->cin * c->P, out_size = (size_t)c->cout * c->P;
    const float *bias = has_bias ? d->bias : NULL;
    if (lay->in_place) {
        for (int i = i0; i < i0 + nb; i++) {
            gpi_conv_src s = gpi_src_forward(c, lay, x + (size_t)i * in_size, c->P);
            d->k->mm(&s, d->wf, bias, c->cout, y + (size_t)i * out_size, c->P);
        }
        return;
    }
    gpi_direct_bufs b = gpi_direct_slot(c, t);
    gpi_stack(c, x + (size_t)i0 * in_size, c->cin, nb, b.x);
    gpi_conv_src s = gpi_src_forward(c, lay, b.x, (size_t)nb * c->P);
    d->k->mm(&s, d->wf, bias, c->cout, b.out, d->ld_out);
    gpi_unstack(c, b.out, c->cout, nb, y + (size_t)i0 * out_size);
}

/* Weight and bias gradients of a chunk into the thread's accumulators
 * ([cout][K] then [cout]), then dx unless it is NULL. */
static void gpi_direct_backward_chunk(const gpi_conv *c, const float *x, const float *dy,
                                      float *dx, int i0, int nb, int t)
{
    const gpi_direct *d = &c->d;
    const gpi_layout *lay = d->bwd;
    size_t in_size = (size_t)c->cin * c->P, out_size = (size_t)c->cout * c->P;
    gpi_direct_bufs b = gpi_direct_slot(c, t);
    float *dw = b.acc, *db = b.acc + (size_t)c->cout * c->K;
    const float *xi = x + (size_t)i0 * in_size, *dyi = dy + (size_t)i0 * out_size;
    if (lay->in_place) {
        gpi_conv_src s = gpi_src_forward(c, lay, xi, c->P);
        d->k->wgrad(&s, in_size, dyi, c->P, out_size, nb, c->cout, dw);
        if (c->has_bias)
            d->k->dsum(dyi, c->P, out_size, nb, c->P, c->cout, db);
        if (dx)
            for (int i = i0; i < i0 + nb; i++) {
                gpi_conv_src sb = gpi_src_backward(c, lay, dy + (size_t)i * out_size, c->P);
                d->k->mm(&sb, d->wb, NULL, c->cin, dx + (size_t)i * in_size, c->P);
            }
        return;
    }
    size_t nq = (size_t)nb * c->P;
    gpi_stack(c, xi, c->cin, nb, b.x);
    gpi_stack(c, dyi, c->cout, nb, b.dy);
    gpi_conv_src s = gpi_src_forward(c, lay, b.x, nq);
    d->k->wgrad(&s, 0, b.dy, lay->cs, 0, 1, c->cout, dw);
    if (c->has_bias)
        d->k->dsum(b.dy, lay->cs, 0, 1, nq, c->cout, db);
    if (!dx)
        return;
    gpi_conv_src sb = gpi_src_backward(c, lay, b.dy, nq);
    d->k->mm(&sb, d->wb, NULL, c->cin, b.out, d->ld_out);
    gpi_unstack(c, b.out, c->cin, nb, dx + (size_t)i0 * in_size);
}

/* Parameter gradients = the thread accumulators summed in thread order. */
static void gpi_direct_reduce(gp_layer *l, int nt)
{
    const gpi_conv *c = l->priv;
    size_t count = (size_t)c->cout * c->K;
    float *dw = l->params[0].grad, *db = c->has_bias ? l->params[1].grad : NULL;
    memcpy(dw, c->acc, count * sizeof *dw);
    if (db)
        memcpy(db, c->acc + count, (size_t)c->cout * sizeof *db);
    for (int t = 1; t < nt; t++) {
        const float *a = c->acc + (size_t)t * c->acc_floats;
        gpi_add_rows(dw, a, count);
        if (db)
            gpi_add_rows(db, a + count, (size_t)c->cout);
    }
}

/* ------------------------------------------------------------ im2col path */

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
                        gpi_add_rows(xr + lo, r + lo, (size_t)(hi - lo));
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

static void gpi_forward_chunk(const gpi_conv *c, const float *weight, const float *bias,
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

/* Per-thread accumulators: thread 0 writes the parameter gradients directly. */
typedef struct {
    float *dw, *db;
} gpi_conv_acc;

static gpi_conv_acc gpi_thread_acc(gp_layer *l, int t)
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

static void gpi_backward_chunk(const gpi_conv *c, const float *weight, const float *x,
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

/* ------------------------------------------------------------ verbs */

/* Images [i0, i0 + nb) of y through the epilogue, just after the chunk
 * that wrote them. */
static void gpi_apply_epilogue(const gpi_conv *c, const gpi_epilogue *epi, float *y, int i0,
                               int nb)
{
    size_t out_size = (size_t)c->cout * c->P;
    for (int i = i0; i < i0 + nb; i++) {
        float *image = y + (size_t)i * out_size;
        if (epi->bn)
            gpi_bn_eval_image(epi->bn, image);
        if (epi->relu)
            gpi_relu_inplace(image, out_size);
    }
}

static gp_status gpi_conv_forward_epi(gp_layer *l, int n, const float *x, float *y,
                                      const gpi_epilogue *epi)
{
    gpi_conv *c = l->priv;
    const float *weight = l->params[0].value;
    const float *bias = c->has_bias ? l->params[1].value : NULL;
    if (c->d.k)
        gpi_pack_forward(c, weight, bias);
#ifdef _OPENMP
    int team = gpi_team(c, n);
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
        int t = gpi_thread_id(), begin, end;
        int k = gpi_thread_range(c, n, t, gpi_thread_count(), &begin, &end);
        float *slot = c->scratch + (size_t)t * c->slot_floats;
        for (int j = 0; j < k; j++) {
            int i0, nb;
            gpi_chunk_bounds(begin, end, j, k, &i0, &nb);
            if (c->d.k)
                gpi_direct_forward_chunk(c, c->has_bias, x, y, i0, nb, t);
            else
                gpi_forward_chunk(c, weight, bias, x, y, i0, nb, slot);
            if (epi)
                gpi_apply_epilogue(c, epi, y, i0, nb);
        }
    }
    return GP_OK;
}

static gp_status gpi_conv_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    return gpi_conv_forward_epi(l, n, x, y, NULL);
}

gp_status gpi_conv_forward_eval_fused(gp_layer *conv, int n, const float *x, float *y,
                                      const gpi_epilogue *epi)
{
    gp_status st = gpi_check_batch(conv, n);
    if (st != GP_OK)
        return st;
    if (epi->bn)
        gpi_bn_eval_prepare(epi->bn);
    return gpi_conv_forward_epi(conv, n, x, y, epi);
}

/* grad = acc_0 + acc_1 + ... in thread order (deterministic). */
static void gpi_reduce_acc(gp_layer *l, int nt)
{
    const gpi_conv *c = l->priv;
    for (int t = 1; t < nt; t++) {
        const float *part = c->acc + (size_t)(t - 1) * c->acc_floats;
        gpi_add_rows(l->params[0].grad, part, (size_t)c->cout * c->K);
        if (c->has_bias)
            gpi_add_rows(l->params[1].grad, part + (size_t)c->cout * c->K, (size_t)c->cout);
    }
}

static gp_status gpi_conv_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    gpi_conv *c = l->priv;
    const float *weight = l->params[0].value;
    int used = 1;
    if (c->d.k && dx)
        gpi_pack_backward(c, weight);
#ifdef _OPENMP
    int team = gpi_team(c, n);
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
        int t = gpi_thread_id(), nt = gpi_thread_count(), begin, end;
        if (t == 0)
            used = nt;
        int k = gpi_thread_range(c, n, t, nt, &begin, &end);
        gpi_conv_acc a = { NULL, NULL };
        if (c->d.k)
            memset(gpi_direct_slot(c, t).acc, 0,
                   ((size_t)c->cout * c->K + (size_t)c->cout) * sizeof(float));
        else
            a = gpi_thread_acc(l, t);
        float *slot = c->scratch + (size_t)t * c->slot_floats;
        for (int j = 0; j < k; j++) {
            int i0, nb;
            gpi_chunk_bounds(begin, end, j, k, &i0, &nb);
            if (c->d.k)
                gpi_direct_backward_chunk(c, x, dy, dx, i0, nb, t);
            else
                gpi_backward_chunk(c, weight, x, dy, dx, i0, nb, slot, a);
        }
    }
    if (c->d.k)
        gpi_direct_reduce(l, used);
    else
        gpi_reduce_acc(l, used);
    return GP_OK;
}

static void gpi_conv_destroy(gp_layer *l)
{
    gpi_conv *c = l->priv;
    if (c) {
        gpi_free(c->scratch);
        gpi_free(c->acc);
        for (int i = 0; i < 2; i++) {
            gpi_free(c->d.lay[i].masks);
            gpi_free(c->d.lay[i].off_f);
            gpi_free(c->d.lay[i].off_b);
        }
        gpi_free(c->d.tap_f);
        gpi_free(c->d.tap_b);
        gpi_free(c->d.wf);
        gpi_free(c->d.wb);
        gpi_free(c->d.bias);
    }
    gpi_layer_free(l);
}

static const gp_layer_ops gpi_conv_ops = {
    .kind = "conv2d",
    .forward = gpi_conv_forward,
    .backward = gpi_conv_backward,
    .destroy = gpi_conv_destroy,
};

int gpi_is_conv2d(const gp_layer *l)
{
    return l->ops == &gpi_conv_ops;
}

/* ------------------------------------------------------------ making */

static gp_status gpi_conv_check(gp_shape in, int cout, int kh, int kw, int stride, int pad)
{
    if (cout < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0)
        return gpi_fail(GP_ERR_ARG, "conv2d: need cout, kernel and stride >= 1 and pad >= 0 "
                        "(cout %d, kernel %dx%d, stride %d, pad %d)", cout, kh, kw, stride, pad);
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return gpi_fail(GP_ERR_ARG, "conv2d: input shape %dx%dx%dx%d is not positive",
                        in.n, in.c, in.h, in.w);
    if (kh > in.h + 2 * pad || kw > in.w + 2 * pad)
        return gpi_fail(GP_ERR_ARG, "conv2d: kernel %dx%d larger than the padded input %dx%d",
                        kh, kw, in.h + 2 * pad, in.w + 2 * pad);
    /* sgemm takes int sizes */
    if ((double)in.c * kh * kw > INT_MAX / 2 || (double)in.h * in.w > INT_MAX / 2)
        return gpi_fail(GP_ERR_ARG, "conv2d: %d channels of %dx%d with a %dx%d kernel is too large",
                        in.c, in.h, in.w, kh, kw);
    return GP_OK;
}

/* Scratch of the im2col path for the maximum batch. */
static gp_status gpi_im2col_alloc(gp_layer *l)
{
    gpi_conv *c = l->priv;
    int wide = (int)((GPI_CONV_COLS + c->P - 1) / c->P);
    c->chunk = c->x_is_cols ? 1 : (wide < l->in.n ? wide : l->in.n);
    size_t gathered = c->chunk > 1 ? (size_t)c->cout * c->chunk * c->P : 0;
    c->cols_floats = c->x_is_cols ? 0 : gpi_round_floats(c->K * c->chunk * c->P);
    c->slot_floats = c->cols_floats + gpi_round_floats(gathered);
    c->acc_floats = gpi_round_floats((size_t)c->cout * c->K + (size_t)c->cout);
    c->scratch = gpi_falloc((size_t)c->slots * c->slot_floats);
    c->acc = gpi_falloc((size_t)(c->slots - 1) * c->acc_floats);
    if (!c->scratch || !c->acc)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for scratch");
    l->workspace_bytes = ((size_t)c->slots * c->slot_floats +
                          (size_t)(c->slots - 1) * c->acc_floats) * sizeof(float);
    return GP_OK;
}

/* What GPOOL_CONV asks for: the widest path allowed, and whether the shape
 * rule is overridden (a forced path runs wherever its kernels can). */
typedef struct {
    gp_isa widest;
    int    forced;
} gpi_conv_choice;

static gp_status gpi_conv_env(gpi_conv_choice *ch)
{
    const char *env = getenv("GPOOL_CONV");
    *ch = (gpi_conv_choice){ GP_ISA_AVX512, 0 };
    if (!env || !*env || !strcmp(env, "auto"))
        return GP_OK;
    if (!strcmp(env, "im2col"))
        *ch = (gpi_conv_choice){ GP_ISA_SCALAR, 1 };
    else if (!strcmp(env, "avx2"))
        *ch = (gpi_conv_choice){ GP_ISA_AVX2, 1 };
    else if (!strcmp(env, "avx512"))
        *ch = (gpi_conv_choice){ GP_ISA_AVX512, 1 };
    else
        return gpi_fail(GP_ERR_ENV, "GPOOL_CONV: unknown path '%s' (known: auto, im2col, avx2, "
                        "avx512)", env);
    return GP_OK;
}

/* Shapes the direct kernels handle: "same" convolutions (gpi_conv.h). */
static int gpi_direct_fits(const gpi_conv *c)
{
    return c->stride == 1 && c->kh == c->kw && c->kh % 2 == 1 && c->pad == (c->kh - 1) / 2;
}

/* Where the direct kernels k were measured faster than im2col + sgemm
 * (batch 16-64, one thread, maps 7x7..56x56; sgemm used AVX-512 in every
 * run, so on an AVX2-only CPU the AVX2 bound is conservative). Not 1x1: that
 * is a plain sgemm without im2col already. AVX-512: up to 192 channels
 * (1.1-2.8x; at 256 sgemm is as fast or faster). AVX2: up to 32 input and
 * 64 output channels, or 64 on maps of at most 8x8 (1.05-1.7x; 64 channels
 * on 14x14 and larger maps ran 0.8x). */
static int gpi_direct_pays(const gpi_conv *c, const gpi_conv_kernels *k)
{
    if (c->kh == 1)
        return 0;
#ifdef GPOOL_HAVE_AVX512_KERNELS
    if (k == &gpi_conv_avx512)
        return c->cin <= 192 && c->cout <= 192;
#endif
    (void)k;
    return (c->cin <= 32 && c->cout <= 64) || (c->P <= 64 && c->cin <= 64 && c->cout <= 64);
}

/* Kernels of the direct path for c, or NULL for im2col: the widest the CPU
 * offers (and GPOOL_CONV allows), where the shape fits and, unless forced,
 * where they pay. */
static const gpi_conv_kernels *gpi_direct_pick(const gpi_conv *c, gpi_conv_choice ch)
{
    const gpi_conv_kernels *k = NULL;
    if (!gpi_direct_fits(c))
        return NULL;
#ifdef GPOOL_HAVE_AVX2_KERNELS
    if (ch.widest >= GP_ISA_AVX2 && gp_cpu_has(GP_ISA_AVX2))
        k = &gpi_conv_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
    if (ch.widest >= GP_ISA_AVX512 && gp_cpu_has(GP_ISA_AVX512))
        k = &gpi_conv_avx512;
#endif
    return k && (ch.forced || gpi_direct_pays(c, k)) ? k : NULL;
}

/* Chunk size and layouts of the direct path. Forward runs in place when
 * the kernels allow it and an image's last vector is at least 15/16 used
 * (28x28: exactly full, 14x14: 196 of 208), backward only when images fill
 * whole vectors: its weight-gradient tiles stream 8 dy rows at once and
 * measured 15% slower on rows that do not start on a cache line. Stacked
 * planes are a chunk's maps back to back (7x7 maps fill whole vectors that
 * way), with margins for the whole-vector loads of kernels without exact
 * reads. */
static void gpi_direct_geometry(gpi_conv *c, int max_batch)
{
    gpi_direct *d = &c->d;
    size_t P = c->P, vec = gpi_round_floats(P), line = GPI_ALIGN / sizeof(float);
    size_t nb = (GPI_DIRECT_Q + P / 2) / P;
    d->nb = nb < 1 ? 1 : nb > (size_t)max_batch ? max_batch : (int)nb;
    d->taps = c->kh * c->kw;
    int fwd_in_place = d->k->exact_reads && (vec - P) * 16 <= vec;
    int bwd_in_place = d->k->exact_reads && vec == P;
    d->ld_out = gpi_round_floats((size_t)d->nb * P);
    d->margin = gpi_round_floats((size_t)c->pad * c->w + (size_t)c->pad + line);
    gpi_layout in_place = { 1, P, NULL, (P + 15) / 16, NULL, NULL };
    gpi_layout stacked = { 0, d->ld_out + d->margin, NULL, (d->ld_out + 15) / 16, NULL, NULL };
    int n = 0;
    if (fwd_in_place || bwd_in_place)
        d->lay[n++] = in_place;
    if (!fwd_in_place || !bwd_in_place)
        d->lay[n++] = stacked;
    d->fwd = &d->lay[fwd_in_place ? 0 : n - 1];
    d->bwd = &d->lay[bwd_in_place ? 0 : n - 1];
}

/* Bytes of a layout's mask table: a bit per position, or for kernels with
 * lane masks a 32-bit lane. */
static size_t gpi_mask_bytes(const gpi_conv *c, const gpi_layout *lay)
{
    size_t per = c->d.k->lane_masks ? 16 * sizeof(uint32_t) : sizeof(uint16_t);
    return (size_t)c->d.taps * lay->mld * per;
}

/* Lane masks: position q of tap t's row is set where q (of the images
 * stacked in one plane, or of one image) reads a pixel inside its map. */
static void gpi_direct_masks(const gpi_conv *c, gpi_layout *lay)
{
    size_t nq = lay->mld * 16;
    for (int t = 0; t < c->d.taps; t++) {
        int sy = t / c->kw - c->pad, sx = t % c->kw - c->pad;
        for (size_t q = 0; q < nq; q++) {
            int p = (int)(q % c->P), iy = p / c->w + sy, ix = p % c->w + sx;
            if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                continue;
            if (c->d.k->lane_masks)
                ((uint32_t *)lay->masks)[(size_t)t * nq + q] = UINT32_MAX;
            else
                ((uint16_t *)lay->masks)[(size_t)t * lay->mld + q / 16] |=
                    (uint16_t)(1u << (q % 16));
        }
    }
}

/* Taps of both products; backward-data row co * taps + t uses the flipped
 * tap t (gpi_pack_backward flips the weights to match). */
static void gpi_direct_taps(gpi_conv *c)
{
    gpi_direct *d = &c->d;
    for (size_t r = 0; r < c->K; r++)
        d->tap_f[r] = (int)(r % (size_t)d->taps);
    for (int r = 0; r < c->cout * d->taps; r++)
        d->tap_b[r] = r % d->taps;
}

/* Row offsets of a layout: channel ch, tap t reads its plane shifted by s_t. */
static void gpi_direct_offsets(const gpi_conv *c, gpi_layout *lay)
{
    int chans = c->cin > c->cout ? c->cin : c->cout, taps = c->d.taps;
    for (int ch = 0; ch < chans; ch++)
        for (int t = 0; t < taps; t++) {
            int r = ch * taps + t;
            int o = (int)((size_t)ch * lay->cs) + (t / c->kw - c->pad) * c->w + t % c->kw - c->pad;
            if (ch < c->cin)
                lay->off_f[r] = o;
            if (ch < c->cout)
                lay->off_b[r] = o;
        }
}

/* Tables, packed weights and per-thread buffers of the direct path; leaves
 * d->k NULL (im2col) when the planes are too large for int offsets. */
static gp_status gpi_direct_alloc(gp_layer *l)
{
    gpi_conv *c = l->priv;
    gpi_direct *d = &c->d;
    gpi_direct_geometry(c, l->in.n);
    int chans = c->cin > c->cout ? c->cin : c->cout, cob = d->k->cob;
    size_t cs = d->ld_out + d->margin;
    if ((double)(chans + 1) * (double)cs > INT_MAX / 2) {
        d->k = NULL;
        return GP_OK;
    }
    int stacked = !d->fwd->in_place || !d->bwd->in_place;
    size_t kf = c->K, kb = (size_t)c->cout * d->taps;
    size_t cout_pad = (size_t)(c->cout + cob - 1) / cob * cob;
    size_t cin_pad = (size_t)(c->cin + cob - 1) / cob * cob;
    c->chunk = d->nb;
    c->slot_floats = stacked ? d->margin + ((size_t)c->cin + c->cout) * cs +
                               (size_t)chans * d->ld_out : 0;
    c->acc_floats = gpi_round_floats((size_t)c->cout * c->K + (size_t)c->cout);
    size_t table_bytes = (2 * kf + 2 * kb) * sizeof(int);
    d->tap_f = gpi_balloc(kf * sizeof(int));
    d->tap_b = gpi_balloc(kb * sizeof(int));
    int ok = d->tap_f && d->tap_b;
    for (int i = 0; i < 2 && ok; i++) {
        gpi_layout *lay = &d->lay[i];
        if (!lay->mld)
            continue;   /* one layout serves both directions */
        lay->masks = gpi_balloc(gpi_mask_bytes(c, lay));
        lay->off_f = gpi_balloc(kf * sizeof(int));
        lay->off_b = gpi_balloc(kb * sizeof(int));
        ok = lay->masks && lay->off_f && lay->off_b;
        if (ok) {
            gpi_direct_masks(c, lay);
            gpi_direct_offsets(c, lay);
            table_bytes += gpi_mask_bytes(c, lay);
        }
    }
    d->wf = gpi_falloc(cout_pad * kf);
    d->wb = gpi_falloc(cin_pad * kb);
    d->bias = gpi_falloc(cout_pad);
    c->scratch = gpi_falloc((size_t)c->slots * c->slot_floats);
    c->acc = gpi_falloc((size_t)c->slots * c->acc_floats);
    if (!ok || !d->wf || !d->wb || !d->bias || !c->scratch || !c->acc)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for scratch");
    gpi_direct_taps(c);
    l->workspace_bytes = ((size_t)c->slots * (c->slot_floats + c->acc_floats) + cout_pad * kf +
                          cin_pad * kb + cout_pad) * sizeof(float) + table_bytes;
    return GP_OK;
}

/* Scratch for the maximum batch and the current thread count. */
static gp_status gpi_conv_alloc(gp_layer *l)
{
    gpi_conv *c = l->priv;
    c->slots = gpi_max_threads();
    if (c->d.k) {
        gp_status st = gpi_direct_alloc(l);
        if (st || c->d.k)
            return st;
    }
    return gpi_im2col_alloc(l);
}

static void gpi_conv_describe(gp_layer *l)
{
    const gpi_conv *c = l->priv;
    double macs = (double)c->cout * (double)c->K * (double)c->P;
    l->flops = 2.0 * macs + (c->has_bias ? (double)c->cout * (double)c->P : 0.0);
    snprintf(l->desc, sizeof l->desc, "%dx%d/%d pad %d%s%s%s", c->kh, c->kw, c->stride, c->pad,
             c->has_bias ? ", bias" : "", c->d.k ? ", direct " : "", c->d.k ? c->d.k->name : "");
}

gp_status gp_conv2d_make(gp_layer **out, gp_shape in, int cout, int kh, int kw,
                         int stride, int pad, int bias)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "conv2d: NULL argument");
    *out = NULL;
    gpi_conv_choice choice;
    gp_status st = gpi_conv_check(in, cout, kh, kw, stride, pad);
    if (st || (st = gpi_conv_env(&choice)))
        return st;
    gp_shape os = { in.n, cout, (in.h + 2 * pad - kh) / stride + 1,
                    (in.w + 2 * pad - kw) / stride + 1 };
    gp_layer *l;
    if ((st = gpi_layer_new(&l, &gpi_conv_ops, in, os, sizeof(gpi_conv))))
        return st;
    gpi_conv *c = l->priv;
    *c = (gpi_conv){ .cin = in.c, .h = in.h, .w = in.w, .cout = cout, .kh = kh, .kw = kw,
                     .stride = stride, .pad = pad, .hout = os.h, .wout = os.w,
                     .has_bias = bias != 0,
                     .x_is_cols = kh == 1 && kw == 1 && stride == 1 && pad == 0,
                     .K = (size_t)in.c * kh * kw, .P = (size_t)os.h * os.w };
    c->d.k = gpi_direct_pick(c, choice);
    int fan_in = (int)c->K, fan_out = cout * kh * kw;
    if (!gpi_layer_add_param(l, "weight", (size_t)cout * c->K, fan_in, fan_out, 0) ||
        (c->has_bias && !gpi_layer_add_param(l, "bias", (size_t)cout, fan_in, fan_out, 1)) ||
        (st = gpi_conv_alloc(l))) {
        gpi_conv_destroy(l);
        return st ? st : GP_ERR_NOMEM;
    }
    gpi_conv_describe(l);
    *out = l;
    return GP_OK;
}
