/*
 * pool_loops.h - the scaffolding the global pooling kernels of every
 * vector width share, written once (as ggml's SIMD mappings do): the NCHW
 * forward drivers (batches of short planes, then plane by plane), both
 * backward passes of both layouts, the NHWC drivers around the per-image
 * kernels, and the exported kernel set. What depends on the instruction
 * set - the batch, plane, flat and row kernels, and how a vector is masked
 * - stays in pool_avx2.c and pool_avx512.c, each compiled with its own
 * flags, which include this file at their end after defining:
 *
 *   POOL_VEC             the vector type
 *   POOL_LANES           floats per vector (at most 16)
 *   POOL_ZERO()          a vector of zeros
 *   POOL_SET1(x)         a vector of x
 *   POOL_LOADU(p)        an unaligned load
 *   POOL_STOREU(p, v)    an unaligned store
 *   POOL_LOAD_N(p, n)    the first min(n, POOL_LANES) floats, zeros after;
 *                        nothing past them is read
 *   POOL_STORE_N(p, n, v) the first n < POOL_LANES lanes of v
 *   POOL_DIV(a, b)       lane-wise a / b
 *   POOL_EQ_BITS(a, b)   a lane bit mask (bit l for lane l) of a == b, ordered
 *   POOL_NAN_BITS(a)     a lane bit mask of the NaN lanes of a
 *   POOL_KERNEL_SET      the name of the exported gpi_kernel_set
 *
 * and the functions and constants these drivers call:
 *
 *   POOL_AVG_BATCH, POOL_MAX_BATCH   one batch of POOL_LANES planes of hw <=
 *                              SHORT_HW (avg; the error bound sets it) or
 *                              SHORT_HW_MAX (max; only speed does)
 *   avg_streams, max_streams   STREAMS such batches ld floats apart at once
 *   prefetch_batch, STREAMS
 *   plane_sum, plane_max_raw   one plane (the raw max flags a NaN)
 *   POOL_PLANE_STREAMS         optional: planes longer than the batches' are
 *                              then read this many at a time, one from each
 *                              of as many equal runs (plane_runs gives the
 *                              run, 0 for none), by plane_means_streams and
 *                              plane_maxes_streams
 *   flat_period, flat_small, flat_small_kernel, flat_avg, flat_max
 *                              NHWC images whose rows repeat with period R
 *   rows_avg, rows_max         NHWC channel blocks with a row stride
 *   SHORT_HW, SHORT_HW_MAX, NHWC_CB, BWD_ROWS
 *
 * The drivers do what the kernels of both widths did before they were
 * written once, in the same order, so every result is bit for bit the one
 * the per-width code gave.
 */

#define POOL_MATCH_BITS(v, m) (POOL_EQ_BITS(v, m) | POOL_NAN_BITS(v))

INLINE unsigned pool_low_bits(size_t n) /* bits [0, min(n, POOL_LANES)) */
{
    return n >= POOL_LANES ? (1u << POOL_LANES) - 1u : (1u << n) - 1u;
}

/* ===========================================================================
 * NCHW forward
 * ======================================================================== */

/* nb batches of POOL_LANES planes of hw: the i-th of each of STREAMS equal
 * runs together (STREAMS_FN, told the tuning's stream_prefetch), the
 * remainder one by one (ONE_FN, after a prefetch of batch_prefetch bytes
 * ahead when the tuning asks); all one by one for a slice that may sit in
 * L2 (under stream_min_bytes), where streams gain nothing. */
#define STREAM_BATCHES(STREAMS_FN, ONE_FN, p, y, nb, hw, t)                     \
    do {                                                                        \
        const size_t B_ = POOL_LANES * (hw);                                    \
        size_t run_ = (nb) * B_ * sizeof(float) >= (t)->stream_min_bytes ? (nb) / STREAMS : 0; \
        for (size_t b_ = 0; b_ < run_; b_++)                                    \
            STREAMS_FN(p + b_ * B_, run_ * B_, y + b_ * POOL_LANES, run_ * POOL_LANES, hw, \
                       (t)->stream_prefetch);                                   \
        for (size_t b_ = run_ * STREAMS; b_ < (nb); b_++) {                     \
            if ((t)->batch_prefetch)                                            \
                prefetch_batch(p + b_ * B_, hw, (t)->batch_prefetch);           \
            ONE_FN(p + b_ * B_, y + b_ * POOL_LANES, hw);                       \
        }                                                                       \
    } while (0)

/* Common plane sizes get their own unrolled copy. */
#define BATCH_CASES(STREAMS_FN, ONE_FN, p, y, nb, hw, t)                        \
    switch (hw) {                                                               \
    case 49:  STREAM_BATCHES(STREAMS_FN, ONE_FN, p, y, nb, 49, t); break;       \
    case 196: STREAM_BATCHES(STREAMS_FN, ONE_FN, p, y, nb, 196, t); break;      \
    default:  STREAM_BATCHES(STREAMS_FN, ONE_FN, p, y, nb, hw, t); break;       \
    }

static void avg_batches(const float *p, float *y, size_t nb, size_t hw)
{
    const gp_pool_tuning *t = gpi_pool_tuning();
    BATCH_CASES(avg_streams, POOL_AVG_BATCH, p, y, nb, hw, t)
}

static void max_batches(const float *p, float *y, size_t nb, size_t hw)
{
    const gp_pool_tuning *t = gpi_pool_tuning();
    BATCH_CASES(max_streams, POOL_MAX_BATCH, p, y, nb, hw, t)
}

static void nchw_avg_fwd(const float *x, float *y, size_t rows, size_t hw)
{
    size_t r = 0;
    if (hw <= SHORT_HW) {
        size_t nb = rows / POOL_LANES;
        avg_batches(x, y, nb, hw);
        r = nb * POOL_LANES;
    }
#ifdef POOL_PLANE_STREAMS
    size_t run = plane_runs(rows - r, hw);
    for (size_t i = 0; i < run; i++)
        plane_means_streams(x + (r + i) * hw, run * hw, y + r + i, run, hw);
    r += POOL_PLANE_STREAMS * run;
#endif
    for (; r < rows; r++)
        y[r] = (float)(plane_sum(x + r * hw, hw) / (double)hw);
}

/* Plane r's maximum into y[r]; a NaN plane or a zero maximum (whose sign is
 * the first zero's) is settled by the scalar kernel. */
static void settle_max(const float *x, float *y, size_t r, size_t hw, float m, int nan)
{
    if (nan || m == 0.0f)
        gpi_kernels_scalar.nchw_max_fwd(x + r * hw, &m, 1, hw);
    y[r] = m;
}

static void nchw_max_fwd(const float *x, float *y, size_t rows, size_t hw)
{
    size_t r = 0;
    if (hw <= SHORT_HW_MAX) {
        size_t nb = rows / POOL_LANES;
        max_batches(x, y, nb, hw);
        r = nb * POOL_LANES;
    }
#ifdef POOL_PLANE_STREAMS
    size_t run = plane_runs(rows - r, hw);
    for (size_t i = 0; i < run; i++) {
        float m[POOL_PLANE_STREAMS];
        int nan[POOL_PLANE_STREAMS];
        plane_maxes_streams(x + (r + i) * hw, run * hw, hw, m, nan);
        for (size_t s = 0; s < POOL_PLANE_STREAMS; s++)
            settle_max(x, y, r + i + s * run, hw, m[s], nan[s]);
    }
    r += POOL_PLANE_STREAMS * run;
#endif
    for (; r < rows; r++) {
        int nan;
        float m = plane_max_raw(x + r * hw, hw, &nan);
        settle_max(x, y, r, hw, m, nan);
    }
}

/* ===========================================================================
 * NCHW backward
 * ======================================================================== */

static void fill_span(float *d, size_t n, POOL_VEC v)
{
    const size_t L = POOL_LANES;
    size_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
        POOL_STOREU(d + i, v);         POOL_STOREU(d + i + L, v);
        POOL_STOREU(d + i + 2 * L, v); POOL_STOREU(d + i + 3 * L, v);
    }
    for (; i + L <= n; i += L)
        POOL_STOREU(d + i, v);
    if (i < n)
        POOL_STORE_N(d + i, n - i, v);
}

static void nchw_avg_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t hw)
{
    (void)x;
    const float fhw = (float)hw;
    for (size_t r = 0; r < rows; r++)
        fill_span(dx + r * hw, hw, POOL_SET1(dy[r] / fhw));
}

/* Index of the first element equal to m, or of the first NaN (m is NaN
 * exactly when the plane holds one). */
static size_t first_match(const float *p, size_t n, float m)
{
    POOL_VEC mv = POOL_SET1(m);
    for (size_t i = 0; i < n; i += POOL_LANES) {
        POOL_VEC v = n - i >= POOL_LANES ? POOL_LOADU(p + i) : POOL_LOAD_N(p + i, n - i);
        unsigned k = POOL_MATCH_BITS(v, mv) & pool_low_bits(n - i);
        if (k)
            return i + (size_t)__builtin_ctz(k);
    }
    return 0; /* not reached: m is one of the elements */
}

static void nchw_max_bwd(const float *x, const float *dy, float *dx, size_t rows, size_t hw)
{
    float m[BWD_ROWS];
    for (size_t r0 = 0; r0 < rows; r0 += BWD_ROWS) {
        size_t nr = rows - r0 < BWD_ROWS ? rows - r0 : BWD_ROWS;
        nchw_max_fwd(x + r0 * hw, m, nr, hw);
        for (size_t r = 0; r < nr; r++) {
            float *d = dx + (r0 + r) * hw;
            fill_span(d, hw, POOL_ZERO());
            d[first_match(x + (r0 + r) * hw, hw, m[r])] = dy[r0 + r];
        }
    }
}

/* ===========================================================================
 * NHWC forward: the drivers around the flat and row kernels
 * ======================================================================== */

static void nhwc_avg_image(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    size_t R = ldc == c ? flat_period(c) : 0;
    if (R) {
        flat_avg(xb, yb, c, hw, R);
        return;
    }
    for (size_t j = 0; j < c; j += NHWC_CB)
        rows_avg(xb + j, yb + j, c - j < NHWC_CB ? c - j : NHWC_CB, hw, ldc);
}

/* Zero maxima of yb[0..c) get the sign of the first zero of their channel
 * (the scalar kernel settles them at that zero). */
static void fix_zero_maxima(const float *xb, float *yb, size_t c, size_t hw, size_t ldc)
{
    for (size_t j = 0; j < c; j += POOL_LANES) {
        size_t n = c - j;
        unsigned z = POOL_EQ_BITS(POOL_LOAD_N(yb + j, n), POOL_ZERO()) & pool_low_bits(n);
        while (z) {
            size_t l = j + (size_t)__builtin_ctz(z);
            gpi_kernels_scalar.nhwc_max_fwd(xb + l, yb + l, 1, 1, hw, ldc);
            z &= z - 1;
        }
    }
}

/* Channel maxima of one image (first NaN where there is one). With
 * fix_zero, zero maxima get the sign of the first zero (forward); backward
 * compares with ==, where the sign does not matter. */
static void nhwc_max_image(const float *xb, float *yb, size_t c, size_t hw, size_t ldc,
                           int fix_zero)
{
    size_t R = ldc == c ? flat_period(c) : 0;
    int ok = 1;
    if (R) {
        ok = flat_max(xb, yb, c, hw, R);
    } else {
        for (size_t j = 0; j < c && ok; j += GPI_NHWC_MAX_CB) {
            size_t cb = c - j < GPI_NHWC_MAX_CB ? c - j : GPI_NHWC_MAX_CB;
            ok = rows_max(xb + j, yb + j, cb, hw, ldc);
        }
    }
    if (!ok)
        gpi_kernels_scalar.nhwc_max_fwd(xb, yb, 1, c, hw, ldc);
    else if (fix_zero)
        fix_zero_maxima(xb, yb, c, hw, ldc);
}

/* Both forward ops: images of a small period all at once, else one by one. */
static void nhwc_fwd(const float *x, float *y, size_t n, size_t c, size_t hw, size_t ldc,
                     int is_max)
{
    size_t R = ldc == c ? flat_period(c) : 0;
    if (R && flat_small(c, hw, R)) {
        flat_small_kernel(x, y, n, c, hw, R, is_max);
        return;
    }
    for (size_t b = 0; b < n; b++)
        if (is_max)
            nhwc_max_image(x + b * hw * ldc, y + b * ldc, c, hw, ldc, 1);
        else
            nhwc_avg_image(x + b * hw * ldc, y + b * ldc, c, hw, ldc);
}

static void nhwc_avg_fwd(const float *x, float *y, size_t n, size_t c, size_t hw, size_t ldc)
{
    nhwc_fwd(x, y, n, c, hw, ldc, 0);
}

static void nhwc_max_fwd(const float *x, float *y, size_t n, size_t c, size_t hw, size_t ldc)
{
    nhwc_fwd(x, y, n, c, hw, ldc, 1);
}

/* ===========================================================================
 * NHWC backward
 * ======================================================================== */

/* Smallest multiple of c that is also a multiple of POOL_LANES. */
static size_t lcm_lanes(size_t c)
{
    size_t g = POOL_LANES;
    while (c % g)
        g /= 2;
    return c * (POOL_LANES / g);
}

/* Write the c-float row pattern g to every one of hw rows of stride ldc. */
static void fill_rows(float *d, const float *g, size_t c, size_t hw, size_t ldc)
{
    const size_t L = POOL_LANES;
    size_t period = lcm_lanes(c);
    if (ldc == c && period <= 256) { /* flat: the image repeats g with period c */
        float pat[256 + POOL_LANES];
        for (size_t i = 0; i < period + L; i++)
            pat[i] = g[i % c];
        size_t n = hw * c, i = 0, o = 0;
        for (; i + L <= n; i += L) {
            POOL_STOREU(d + i, POOL_LOADU(pat + o));
            o += L;
            if (o == period)
                o = 0;
        }
        if (i < n)
            POOL_STORE_N(d + i, n - i, POOL_LOADU(pat + o));
        return;
    }
    for (size_t p = 0; p < hw; p++) {
        float *r = d + p * ldc;
        size_t j = 0;
        for (; j + L <= c; j += L)
            POOL_STOREU(r + j, POOL_LOADU(g + j));
        if (j < c)
            POOL_STORE_N(r + j, c - j, POOL_LOAD_N(g + j, c - j));
    }
}

static void nhwc_avg_bwd(const float *x, const float *dy, float *dx, size_t n, size_t c,
                         size_t hw, size_t ldc)
{
    (void)x;
    float g[NHWC_CB + POOL_LANES];
    const POOL_VEC fhw = POOL_SET1((float)hw);
    for (size_t b = 0; b < n; b++) {
        for (size_t j0 = 0; j0 < c; j0 += NHWC_CB) {
            size_t cb = c - j0 < NHWC_CB ? c - j0 : NHWC_CB;
            const float *dyb = dy + b * ldc + j0;
            for (size_t j = 0; j < cb; j += POOL_LANES)
                POOL_STOREU(g + j, POOL_DIV(POOL_LOAD_N(dyb + j, cb - j), fhw));
            fill_rows(dx + b * hw * ldc + j0, g, cb, hw, ldc);
        }
    }
}

/* dy of each channel of rows xb[0..cb) of an image into db at the first
 * position p where the row equals its maximum m (or is NaN). found[v] marks
 * the channels of vector v settled so far. */
static void scatter_first_max(const float *xb, const float *m, const float *dyb, float *db,
                              size_t cb, size_t hw, size_t ldc, unsigned *found)
{
    const size_t L = POOL_LANES, nv = (cb + L - 1) / L;
    const unsigned all = pool_low_bits(L);
    size_t left = cb;
    for (size_t v = 0; v < nv; v++) /* lanes past cb count as found */
        found[v] = all & ~pool_low_bits(cb - L * v);
    for (size_t p = 0; p < hw && left; p++) {
        const float *r = xb + p * ldc;
        for (size_t v = 0; v < nv; v++) {
            unsigned want = all & ~found[v];
            if (!want)
                continue;
            POOL_VEC xv = POOL_LOAD_N(r + L * v, cb - L * v);
            unsigned hit = want & POOL_MATCH_BITS(xv, POOL_LOADU(m + L * v));
            found[v] |= hit;
            while (hit) {
                size_t l = L * v + (size_t)__builtin_ctz(hit);
                db[p * ldc + l] = dyb[l];
                left--;
                hit &= hit - 1;
            }
        }
    }
}

static void nhwc_max_bwd(const float *x, const float *dy, float *dx, size_t n, size_t c,
                         size_t hw, size_t ldc)
{
    float m[NHWC_CB + POOL_LANES];
    float zero[NHWC_CB + POOL_LANES] = { 0 };
    unsigned found[NHWC_CB / POOL_LANES];
    for (size_t b = 0; b < n; b++) {
        if (ldc == c) /* the image is contiguous: zero it in one sweep */
            fill_span(dx + b * hw * ldc, hw * c, POOL_ZERO());
        for (size_t j0 = 0; j0 < c; j0 += NHWC_CB) {
            size_t cb = c - j0 < NHWC_CB ? c - j0 : NHWC_CB;
            const float *xb = x + b * hw * ldc + j0;
            float *db = dx + b * hw * ldc + j0;
            if (ldc != c)
                fill_rows(db, zero, cb, hw, ldc);
            nhwc_max_image(xb, m, cb, hw, ldc, 0);
            scatter_first_max(xb, m, dy + b * ldc + j0, db, cb, hw, ldc, found);
        }
    }
}

const gpi_kernel_set POOL_KERNEL_SET = {
    .nchw_avg_fwd = nchw_avg_fwd,
    .nchw_max_fwd = nchw_max_fwd,
    .nchw_avg_bwd = nchw_avg_bwd,
    .nchw_max_bwd = nchw_max_bwd,
    .nhwc_avg_fwd = nhwc_avg_fwd,
    .nhwc_max_fwd = nhwc_max_fwd,
    .nhwc_avg_bwd = nhwc_avg_bwd,
    .nhwc_max_bwd = nhwc_max_bwd,
};
