/*
 * conv_loops.h - the scaffolding the direct convolution kernels of every
 * vector width share, written once against a few width macros (as ggml's
 * SIMD mappings do): the mm driver over tiles, the wgrad tile and its
 * drivers, the bias-gradient sum, the row copy and the exported kernel set.
 * The register tiles' inner steps (mm_tile, wg_step), whose masking is the
 * instruction set's, stay in conv_avx2.c and conv_avx512.c, each compiled
 * with its own flags, which include this file after defining:
 *
 *   V, COB, NV, WCB, WRB   floats per vector and the tile sizes (gpi_conv.h)
 *   CONV_VEC               the vector type
 *   CONV_TAIL              what limits the lanes of a last vector: a lane
 *                          mask vector or a k-mask, made by first_lanes(n)
 *   CONV_WHOLE             the mm_tile / wg_step argument for a whole vector
 *   CONV_LIMIT(t)          the argument for a vector limited to tail t
 *   CONV_MASK_T            the element type of a tap's mask row
 *   CONV_MASK_ROW(s, t)    tap t's mask row
 *   CONV_ZERO(), CONV_ADD(a, b), CONV_LOADU(p), CONV_STOREU(p, v)
 *   CONV_LOAD_LIMITED(p, t)    a load of the lanes of tail t, zeros after
 *   CONV_COPY_LIMITED(d, s, t) the lanes of tail t copied from s to d
 *   CONV_LOAD_WHERE(p, m, q)   a load of the vector at p of the lanes mask
 *                          row m sets at positions q.., zeros elsewhere
 *   CONV_HSUM(v)           the sum of the lanes in one fixed tree
 *   CONV_KERNELS, CONV_NAME, CONV_EXACT_READS, CONV_LANE_MASKS
 *                          the exported set's name and its fields
 *
 * Each loop does what the per-width code did, in the same order, so the
 * results are bit for bit the same.
 */

/* The product, masked a constant after inlining. */
INLINE void mm_rows(const gpi_conv_src *s, const float *wpk, const float *bias, int cout,
                    float *out, size_t ld, int masked)
{
    size_t nq = s->nq;
    for (int cb = 0; cb < cout; cb += COB) {
        const float *w = wpk + (size_t)cb * s->K, *b = bias ? bias + cb : NULL;
        int nc = cout - cb < COB ? cout - cb : COB;
        float *o = out + (size_t)cb * ld;
        size_t q0 = 0;
        for (; q0 + NV * V <= nq; q0 += NV * V)
            mm_tile(s, w, b, nc, o, ld, q0, NV, CONV_WHOLE, masked);
        size_t rest = nq - q0;
        CONV_TAIL tail = first_lanes(rest - (rest - 1) / V * V);
        if (rest > 2 * V)
            mm_tile(s, w, b, nc, o, ld, q0, 3, CONV_LIMIT(tail), masked);
        else if (rest > V)
            mm_tile(s, w, b, nc, o, ld, q0, 2, CONV_LIMIT(tail), masked);
        else if (rest > 0)
            mm_tile(s, w, b, nc, o, ld, q0, 1, CONV_LIMIT(tail), masked);
    }
}

/* Rows from zero-padded copies (masks NULL) need no mask loads. */
static void mm(const gpi_conv_src *s, const float *wpk, const float *bias, int cout,
               float *out, size_t ld)
{
    if (s->masks)
        mm_rows(s, wpk, bias, cout, out, ld, 1);
    else
        mm_rows(s, wpk, bias, cout, out, ld, 0);
}

/* One wgrad tile: cb channels x rb rows from row r0, both constants. */
INLINE void wg_tile(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                    size_t dy_stride, int nimg, float *dw, int r0, int cb, int rb)
{
    CONV_VEC acc[WCB][WRB];
    const float *xp[WRB];
    const CONV_MASK_T *mp[WRB];
#pragma GCC unroll 8
    for (int c = 0; c < WCB; c++)
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++)
            acc[c][j] = CONV_ZERO();
    size_t nq = s->nq, full = nq / V * V;
    CONV_TAIL tail = first_lanes(nq - full);
    for (int i = 0; i < nimg; i++) {
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++) {
            int r = j < rb ? r0 + j : r0;
            xp[j] = s->in + (size_t)i * in_stride + s->off[r];
            mp[j] = CONV_MASK_ROW(s, s->tap[r]);
        }
        const float *d = dy + (size_t)i * dy_stride;
        for (size_t q = 0; q < full; q += V)
            wg_step(acc, xp, mp, d, ld, q, cb, rb, CONV_WHOLE);
        if (full < nq)
            wg_step(acc, xp, mp, d, ld, full, cb, rb, CONV_LIMIT(tail));
    }
#pragma GCC unroll 8
    for (int c = 0; c < WCB; c++)
#pragma GCC unroll 3
        for (int j = 0; j < WRB; j++)
            if (c < cb && j < rb)
                dw[(size_t)c * s->K + r0 + j] += CONV_HSUM(acc[c][j]);
}

/* All rows for cb channels (a constant: WCB, 4, 2 or 1). */
INLINE void wg_rows(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                    size_t dy_stride, int nimg, float *dw, int cb)
{
    int r = 0, K = s->K;
    for (; r + WRB <= K; r += WRB)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, WRB);
    if (K - r == 2)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, 2);
    else if (K - r == 1)
        wg_tile(s, in_stride, dy, ld, dy_stride, nimg, dw, r, cb, 1);
}

/* Tiles of WCB channels, then (where WCB is larger) 4, then 2, then 1. */
static void wgrad(const gpi_conv_src *s, size_t in_stride, const float *dy, size_t ld,
                  size_t dy_stride, int nimg, int cout, float *dw)
{
    int co = 0;
    size_t K = (size_t)s->K;
#define WG_ROWS(cb) wg_rows(s, in_stride, dy + (size_t)co * ld, ld, dy_stride, nimg, dw + co * K, cb)
    for (; co + WCB <= cout; co += WCB)
        WG_ROWS(WCB);
    if (WCB > 4 && cout - co >= 4) {
        WG_ROWS(4);
        co += 4;
    }
    if (cout - co >= 2) {
        WG_ROWS(2);
        co += 2;
    }
    if (cout - co == 1)
        WG_ROWS(1);
#undef WG_ROWS
}

static void dsum(const float *dy, size_t ld, size_t dy_stride, int nimg, size_t nq, int cout,
                 float *db)
{
    size_t full = nq / V * V;
    CONV_TAIL tail = first_lanes(nq - full);
    for (int co = 0; co < cout; co++) {
        CONV_VEC a = CONV_ZERO();
        for (int i = 0; i < nimg; i++) {
            const float *d = dy + (size_t)i * dy_stride + (size_t)co * ld;
            for (size_t q = 0; q < full; q += V)
                a = CONV_ADD(a, CONV_LOADU(d + q));
            if (full < nq)
                a = CONV_ADD(a, CONV_LOAD_LIMITED(d + full, tail));
        }
        db[co] += CONV_HSUM(a);
    }
}

static void copy(const float *src, size_t ss, float *dst, size_t ds, int rows, int w)
{
    int full = w / V * V;
    CONV_TAIL tail = first_lanes((size_t)(w - full));
    for (int i = 0; i < rows; i++) {
        const float *s = src + (size_t)i * ss;
        float *d = dst + (size_t)i * ds;
        for (int j = 0; j < full; j += V)
            CONV_STOREU(d + j, CONV_LOADU(s + j));
        if (w > full)
            CONV_COPY_LIMITED(d + full, s + full, tail);
    }
}

static void mask_copy(const float *src, float *dst, const void *mask_row, size_t nq)
{
    const CONV_MASK_T *m = mask_row;
    for (size_t q = 0; q < nq; q += V)
        CONV_STOREU(dst + q, CONV_LOAD_WHERE(src + q, m, q));
}

const gpi_conv_kernels CONV_KERNELS = {
    .name = CONV_NAME,
    .cob = COB,
    .exact_reads = CONV_EXACT_READS,
    .lane_masks = CONV_LANE_MASKS,
    .mm = mm,
    .wgrad = wgrad,
    .dsum = dsum,
    .copy = copy,
    .mask_copy = mask_copy,
};
