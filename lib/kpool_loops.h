/*
 * kpool_loops.h - the SIMD loops of top-k and adaptive pooling (NCHW),
 * written once for every vector width; a per-ISA file (kpool_avx2.c,
 * kpool_avx512.c) defines the mapping below and includes this file, which
 * defines its gpi_kpool_set as KP_SET_NAME (the probe's loops,
 * experiments/probe/probe_loops.h, are built the same way).
 *
 *   KP_VEC             the float vector type; KP_LANES floats per vector
 *   KP_IVEC            the int32 vector type of gather indices
 *   KP_LOAD(p)         an unaligned load
 *   KP_LOADN(p, n)     the first n < KP_LANES floats, 0 in the other lanes
 *   KP_LOADN_LOW(p, n) the first n < KP_LANES floats, -inf in the others
 *   KP_SET1(v)         every lane v
 *   KP_MAX, KP_MIN, KP_ADD (a, b)   lane-wise (no NaN reaches max and min
 *                      when it matters: a plane with a NaN is redone)
 *   KP_ANY_GT(a, b)    1 when some lane of a is greater than b's
 *   KP_ANY_NAN(a, b)   1 when some lane of a or of b is NaN
 *   KP_MASK            a lane mask; KP_MNONE no lane, KP_NANS(a, b) the lanes
 *                      where a or b is NaN, KP_MOR(m, n) either, KP_MANY(m) 1
 *                      when m has a lane
 *   KP_STORE(p, v), KP_STOREN(p, n, v)   all lanes, the first n lanes
 *   KP_FLUSH(d, v)     d[0..KP_LANES) += the lanes of v as doubles
 *   KP_SET_NAME        the gpi_kpool_set this file defines
 *   KP_GLOBAL          the gpi_kernel_set of the same ISA (pool_*.c), whose
 *                      max kernel is top-k and adaptive max with k = 1
 * and the KS_ macros of the short-plane loops, eight lanes in every ISA
 * (kpool_ymm.h).
 *
 * Top-k with k = 1 and adaptive max with a 1 x 1 grid are the global max,
 * bit for bit (the first NaN, else the maximum, a zero with the first
 * zero's sign, which top-1 makes +0.0 as its mean does): they call that
 * kernel, which reads several planes or parts of a plane side by side.
 *
 * Top-k (k <= GP_TOPK_SIMD_MAX) keeps, lane by lane, the k largest values
 * the lane has seen as vectors sorted downwards (T[0] >= ... >= T[k-1]),
 * in registers (the loops over k are unrolled for each constant k). For
 * k < KP_NET_K a vector enters by one max/min step per level; from KP_NET_K
 * on the lane keeps its eight largest, and a block of eight vectors enters
 * by sorting networks (Batcher's 8-sort, then a bitonic merge of the two
 * sorted eights), about 9 max/min per vector instead of 2 k. A block none
 * of whose lanes beats T[k-1] is skipped after one compare, which after the
 * first few blocks of a long plane is nearly every block. Long planes put
 * their consecutive elements in the lanes and merge the lanes' lists at the
 * end (k rounds of picking the largest head); short planes (hw <=
 * KP_SHORT_HW_NET for top-k, KP_SHORT_HW or KP_SHORT_HW_NET for the adaptive
 * pools, see ks_adaptive_rows) go eight at a time,
 * plane l in lane l (8 x 8 blocks loaded and transposed), so that no merge
 * is needed and a lane's list is its plane's top k. The k values are summed
 * in descending order in double, as the scalar kernel does, so the results
 * agree bit for bit. A plane with a NaN, or whose mean is zero (whose sign
 * depends on which zeros were kept), goes to the scalar kernel, which
 * defines what it gives.
 *
 * Adaptive pooling of short planes (at most KS_MAX_BINS bins) goes eight
 * planes at a time the same way, each element added into every bin that
 * holds it (avg in double, each element converted once). Longer planes go
 * one output row at a time: the bin rows are reduced in strips of up to eight
 * vectors held in registers down the rows (max: a float maximum; avg: float
 * sums of at most GPI_AVG_BLOCK rows flushed into double), then each bin
 * reduces its columns of that row. Avg divides a bin's double sum by its
 * count through the reciprocal and one exact FMA correction, which rounds
 * as the division does. A plane with a NaN, or a bin whose maximum is zero
 * (its sign must be the first zero's), is redone by the scalar rule.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <immintrin.h>

#define KP_INLINE static inline __attribute__((always_inline))
/* Fully unrolls the loop after it: with k a constant, the k lists (and an
 * 8 x 8 block) then live in registers, which -O2 alone leaves on the stack. */
#define KP_UNROLL _Pragma("GCC unroll 8")

/* Bytes ahead of its loads that top-k's long planes prefetch (and short
 * planes' batches at least): one sequential stream alone leaves DRAM idle
 * between the hardware prefetcher's requests at one thread (top-4 of 56 x
 * 56 and top-8 of 64 x 64 planes, cold, AVX2 on Zen: 0.59 and 0.55 of the
 * probe without, 0.62 and 0.66 with). The adaptive pools' row strips do
 * not prefetch: they ran 10 to 25 % slower cold with it. */
#define KP_AHEAD 2048
/* Prefetch the line KP_AHEAD bytes past vector v of those at p, once per
 * 64 bytes of vectors. */
#define KP_PREFETCH_VEC(p, v)                                                          \
    do {                                                                               \
        if ((v) * KP_LANES * sizeof(float) % 64 == 0)                                  \
            _mm_prefetch((const char *)((p) + (v) * KP_LANES) + KP_AHEAD, _MM_HINT_T0); \
    } while (0)

/* Planes of at most this many elements go eight at a time, plane l in lane l. */
#define KP_SHORT_HW 160
/* ... and for top-k with k from KP_NET_K on, and adaptive max, planes of at
 * most this many. */
#define KP_SHORT_HW_NET 256
/* Widest row the adaptive kernels buffer (on the stack); wider planes take
 * the scalar kernel. */
#define KP_MAX_ROW 4096
/* Most bins (k x k) of a short plane the adaptive kernels take eight
 * planes at a time (more go row by row). */
#define KS_MAX_BINS 64

/* ------------------------------------------------------------ top-k */

/* From this k on, top-k keeps the eight largest by sorting networks (about
 * 9 max/min per vector) rather than by insertion (2 k per vector). */
#define KP_NET_K 5

/* The networks on vectors of type VEC, as PFX_cx, PFX_sort8, PFX_merge8:
 * once for the long planes' vectors (KP_) and once for the short planes'
 * (KS_), which differ in width under AVX-512. */
#define KP_DEFINE_NETWORKS(PFX, VEC, MAX, MIN)                                         \
    /* Compare-exchange: *a takes the larger, *b the smaller. */                      \
    KP_INLINE void PFX##_cx(VEC *a, VEC *b)                                            \
    {                                                                                  \
        VEC hi = MAX(*a, *b);                                                          \
        *b = MIN(*a, *b);                                                              \
        *a = hi;                                                                       \
    }                                                                                  \
    /* e[0..8) sorted downwards lane by lane: Batcher's odd-even merge sort, 19     \
     * exchanges against the 28 of inserting eight into a list of eight. */           \
    KP_INLINE void PFX##_sort8(VEC *e)                                                 \
    {                                                                                  \
        PFX##_cx(&e[0], &e[1]), PFX##_cx(&e[2], &e[3]);                                \
        PFX##_cx(&e[4], &e[5]), PFX##_cx(&e[6], &e[7]);                                \
        PFX##_cx(&e[0], &e[2]), PFX##_cx(&e[1], &e[3]);                                \
        PFX##_cx(&e[4], &e[6]), PFX##_cx(&e[5], &e[7]);                                \
        PFX##_cx(&e[1], &e[2]), PFX##_cx(&e[5], &e[6]);                                \
        PFX##_cx(&e[0], &e[4]), PFX##_cx(&e[1], &e[5]);                                \
        PFX##_cx(&e[2], &e[6]), PFX##_cx(&e[3], &e[7]);                                \
        PFX##_cx(&e[2], &e[4]), PFX##_cx(&e[3], &e[5]);                                \
        PFX##_cx(&e[1], &e[2]), PFX##_cx(&e[3], &e[4]), PFX##_cx(&e[5], &e[6]);        \
    }                                                                                  \
    /* T[0..8) = the eight largest of the sorted lists T and e, sorted: the        \
     * pairwise maxima of T and e reversed hold them as a bitonic sequence,       \
     * which three rounds of exchanges sort. */                                      \
    KP_INLINE void PFX##_merge8(VEC *T, const VEC *e)                                  \
    {                                                                                  \
        KP_UNROLL                                                                      \
        for (size_t i = 0; i < 8; i++)                                                 \
            T[i] = MAX(T[i], e[7 - i]);                                                \
        PFX##_cx(&T[0], &T[4]), PFX##_cx(&T[1], &T[5]);                                \
        PFX##_cx(&T[2], &T[6]), PFX##_cx(&T[3], &T[7]);                                \
        PFX##_cx(&T[0], &T[2]), PFX##_cx(&T[1], &T[3]);                                \
        PFX##_cx(&T[4], &T[6]), PFX##_cx(&T[5], &T[7]);                                \
        PFX##_cx(&T[0], &T[1]), PFX##_cx(&T[2], &T[3]);                                \
        PFX##_cx(&T[4], &T[5]), PFX##_cx(&T[6], &T[7]);                                \
    }

KP_DEFINE_NETWORKS(kp, KP_VEC, KP_MAX, KP_MIN)
KP_DEFINE_NETWORKS(ks, KS_VEC, KS_MAX, KS_MIN)

/* Vector v into the lists T[0..k). */
KP_INLINE void kp_insert(KP_VEC *T, KP_VEC v, size_t k)
{
    KP_UNROLL
    for (size_t j = 0; j < k; j++) {
        KP_VEC hi = KP_MAX(T[j], v);
        v = KP_MIN(T[j], v);
        T[j] = hi;
    }
}

/* The mean of the k largest of KP_LANES sorted lists (T[j] lane l is list
 * l's j-th), taken in descending order. */
KP_INLINE float kp_merge_mean(const KP_VEC *T, size_t k)
{
    float v[GP_TOPK_SIMD_MAX][KP_LANES];
    size_t head[KP_LANES] = { 0 };
    for (size_t j = 0; j < k; j++)
        KP_STORE(v[j], T[j]);
    double s = 0.0;
    for (size_t r = 0; r < k; r++) {
        size_t best = 0;
        float m = -INFINITY;
        for (size_t l = 0; l < KP_LANES; l++)
            if (head[l] < k && v[head[l]][l] > m) {
                m = v[head[l]][l];
                best = l;
            }
        /* m stays -inf only when every head left is -inf: the value is
         * right whichever list gives it */
        s += m;
        head[best]++;
    }
    return (float)(s / (double)k);
}

/* A block of 8 vectors into the eight lists T by the networks, unless no
 * lane of it beats T[7]; 1 when one held a NaN. */
KP_INLINE int kp_topk_block8(KP_VEC *T, const float *p)
{
    const size_t L = KP_LANES;
    KP_VEC e[8];
    KP_UNROLL
    for (size_t j = 0; j < 8; j++) {
        KP_PREFETCH_VEC(p, j);
        e[j] = KP_LOAD(p + j * L);
    }
    int nan = KP_ANY_NAN(e[0], e[1]) | KP_ANY_NAN(e[2], e[3]) | KP_ANY_NAN(e[4], e[5]) |
              KP_ANY_NAN(e[6], e[7]);
    KP_VEC m = KP_MAX(KP_MAX(KP_MAX(e[0], e[1]), KP_MAX(e[2], e[3])),
                      KP_MAX(KP_MAX(e[4], e[5]), KP_MAX(e[6], e[7])));
    if (KP_ANY_GT(m, T[7])) {
        kp_sort8(e);
        kp_merge8(T, e);
    }
    return nan;
}

/* A block of 4 vectors into the k lists T by insertion, unless no lane of
 * it beats T[k - 1]; *nan set on a NaN. */
KP_INLINE void kp_topk_block4(KP_VEC *T, const float *p, size_t k, int *nan)
{
    const size_t L = KP_LANES;
    KP_UNROLL
    for (size_t v = 0; v < 4; v++)
        KP_PREFETCH_VEC(p, v);
    KP_VEC a = KP_LOAD(p), b = KP_LOAD(p + L);
    KP_VEC c = KP_LOAD(p + 2 * L), d = KP_LOAD(p + 3 * L);
    *nan |= KP_ANY_NAN(a, b) | KP_ANY_NAN(c, d);
    if (KP_ANY_GT(KP_MAX(KP_MAX(a, b), KP_MAX(c, d)), T[k - 1])) {
        kp_insert(T, a, k);
        kp_insert(T, b, k);
        kp_insert(T, c, k);
        kp_insert(T, d, k);
    }
}

/* Long planes read side by side (kp_topk_planes) from this many equal runs. */
#define KP_STREAMS 4

/* The top-k means of S <= KP_STREAMS long planes of hw floats, plane s at
 * p + s * ld, into out[0..S): their elements in the lanes, a k from
 * KP_NET_K on keeping eight lists; the planes' blocks taken in turn (S
 * planes far apart are S sequential streams, see kp_topk_rows), each plane's
 * lists seeing its vectors in the same order whatever S is. A plane with a
 * NaN, or whose mean is zero (its sign would depend on which zeros were
 * kept), is redone by the scalar rule. */
KP_INLINE void kp_topk_planes(const float *p, size_t ld, size_t S, size_t hw, size_t k,
                              float *out)
{
    const size_t L = KP_LANES, lists = k >= KP_NET_K ? 8 : k;
    KP_VEC T[KP_STREAMS][8];
    int nan[KP_STREAMS] = { 0 };
    for (size_t s = 0; s < S; s++)
        KP_UNROLL
        for (size_t j = 0; j < 8; j++)
            T[s][j] = KP_SET1(-INFINITY);
    size_t i = 0;
    if (lists == 8)
        for (; i + 8 * L <= hw; i += 8 * L)
            for (size_t s = 0; s < S; s++)
                nan[s] |= kp_topk_block8(T[s], p + s * ld + i);
    else
        for (; i + 4 * L <= hw; i += 4 * L)
            for (size_t s = 0; s < S; s++)
                kp_topk_block4(T[s], p + s * ld + i, lists, &nan[s]);
    for (size_t s = 0; s < S; s++) {
        const float *q = p + s * ld;
        size_t j = i;
        for (; j + L <= hw; j += L) {
            KP_VEC a = KP_LOAD(q + j);
            nan[s] |= KP_ANY_NAN(a, a);
            kp_insert(T[s], a, lists);
        }
        if (j < hw) {
            KP_VEC a = KP_LOADN_LOW(q + j, hw - j);
            nan[s] |= KP_ANY_NAN(a, a);
            kp_insert(T[s], a, lists);
        }
        float mean = nan[s] ? 0.0f : kp_merge_mean(T[s], k);
        out[s] = mean == 0.0f ? gpi_topk_plane(q, hw, k) : mean;
    }
}

/* Elements [p0, p0 + np) (np <= 8) of eight short planes of hw floats from
 * x, plane l in lane l, into e[0..np): plane l is min(l, count - 1), so a
 * last batch of fewer planes repeats its last one; the block is read as
 * eight row loads (masked at the end of a plane) and transposed. */
KP_INLINE void ks_block(const float *x, size_t hw, size_t count, size_t p0, size_t np,
                        KS_VEC *e)
{
    /* the block reads 8 x 32 bytes of the eight planes' 32 hw bytes:
     * prefetch the 256 bytes at 32 p0 of the next batch (at least KP_AHEAD
     * on), so that the blocks together prefetch that batch whole before it
     * is read (the 8 strided streams alone are too few requests cold; 14 x
     * 14 top-8 2.5 times faster cold than with KP_AHEAD, 7 x 7 as fast) */
    const char *ahead = (const char *)x + 32 * p0 + (32 * hw > KP_AHEAD ? 32 * hw : KP_AHEAD);
    KP_UNROLL
    for (size_t q = 0; q < 4; q++)
        _mm_prefetch(ahead + 64 * q, _MM_HINT_T0);
    KP_UNROLL
    for (size_t l = 0; l < 8; l++) {
        const float *row = x + (l < count ? l : count - 1) * hw + p0;
        e[l] = np == 8 ? KS_LOAD(row) : KS_LOADN(row, np);
    }
    KS_TRANSPOSE8(e);
}

/* The lanes of e[0..np) that are NaN (a tail block's other vectors are
 * not looked at, so that they need not be transposed). */
KP_INLINE KS_VEC ks_block_nans(const KS_VEC *e, size_t np)
{
    if (np == 8)
        return KS_OR(KS_OR(KS_NANS(e[0], e[1]), KS_NANS(e[2], e[3])),
                     KS_OR(KS_NANS(e[4], e[5]), KS_NANS(e[6], e[7])));
    KS_VEC m = KS_NANS(e[0], e[0]);
    for (size_t i = 1; i < np; i++)
        m = KS_OR(m, KS_NANS(e[i], e[i]));
    return m;
}

/* e[0..np) into the lists T: whole blocks of a large k by the networks,
 * the rest one vector at a time. */
KP_INLINE void ks_topk_block(KS_VEC *T, KS_VEC *e, size_t np, size_t k)
{
    if (k >= KP_NET_K && np == 8) {
        ks_sort8(e);
        ks_merge8(T, e);
        return;
    }
    const size_t lists = k >= KP_NET_K ? 8 : k;
    for (size_t i = 0; i < np; i++) {
        KS_VEC v = e[i];
        KP_UNROLL
        for (size_t j = 0; j < lists; j++)
            ks_cx(&T[j], &v);
    }
}

/* Planes [0, count) of short planes (count <= 8), plane l in lane l. A
 * plane with a NaN, or whose mean is zero (its sign would depend on which
 * zeros were kept), is redone by the scalar rule. */
KP_INLINE void kp_topk_short(const float *x, float *y, size_t count, size_t hw, size_t k)
{
    KS_VEC T[8], e[8], nans = KS_SET1(0.0f);
    KP_UNROLL
    for (size_t j = 0; j < 8; j++)
        T[j] = KS_SET1(-INFINITY);
    size_t p0 = 0;
    for (; p0 + 8 <= hw; p0 += 8) {
        ks_block(x, hw, count, p0, 8, e);
        nans = KS_OR(nans, ks_block_nans(e, 8));
        ks_topk_block(T, e, 8, k);
    }
    if (p0 < hw) { /* with hw a constant, np is one too */
        ks_block(x, hw, count, p0, hw - p0, e);
        nans = KS_OR(nans, ks_block_nans(e, hw - p0));
        ks_topk_block(T, e, hw - p0, k);
    }
    /* the eight planes' sums in double from +0.0 in descending order, as
     * the scalar rule adds them, lanes 0-3 in lo and 4-7 in hi */
    KS_DVEC lo = KS_DZERO(), hi = KS_DZERO();
    KP_UNROLL
    for (size_t j = 0; j < k; j++) {
        lo = KS_DADD(lo, KS_DLO(T[j]));
        hi = KS_DADD(hi, KS_DHI(T[j]));
    }
    float mean[8];
    KS_STORE(mean, KS_DDIV_TO_PS(lo, hi, (double)k));
    int nan = KS_ANY(nans);
    for (size_t l = 0; l < count; l++)
        y[l] = nan || mean[l] == 0.0f ? gpi_topk_plane(x + l * hw, hw, k) : mean[l];
}

KP_INLINE void kp_topk_rows(const float *x, float *y, size_t rows, size_t hw, size_t k)
{
    /* every k takes planes a little past KP_SHORT_HW eight at a time too:
     * each lane's list would see too few elements to skip blocks (the long
     * path ran 14 x 14 and 16 x 16 top-4 at 7.0 and 8.2 GB/s hot on the Zen 3
     * VM, compute-bound, this one at 11.5 and 11.9; 14 x 14 cold 5.2-6.4 ->
     * 9.3-10.8) */
    if (hw <= KP_SHORT_HW_NET) {
        /* 7 x 7 (the ResNet heads) with hw a constant: its last block of
         * one element loads and transposes only what it keeps */
        if (hw == 49)
            for (size_t r = 0; r < rows; r += 8)
                kp_topk_short(x + r * 49, y + r, rows - r < 8 ? rows - r : 8, 49, k);
        else
            for (size_t r = 0; r < rows; r += 8)
                kp_topk_short(x + r * hw, y + r, rows - r < 8 ? rows - r : 8, hw, k);
        return;
    }
    /* From the tuning's stream_min_bytes on (smaller slices may sit in L2),
     * KP_STREAMS planes from as many equal runs at a time: one core of the
     * Zen 3 VM reads DRAM at about 11 GB/s from one sequential stream and
     * 14-17 GB/s from four read side by side (docs/TUNING.md) */
    size_t run = rows * hw * sizeof(float) >= gpi_pool_tuning()->stream_min_bytes
                     ? rows / KP_STREAMS : 0;
    for (size_t i = 0; i < run; i++) {
        float m[KP_STREAMS];
        kp_topk_planes(x + i * hw, run * hw, KP_STREAMS, hw, k, m);
        for (size_t s = 0; s < KP_STREAMS; s++)
            y[i + s * run] = m[s];
    }
    for (size_t r = KP_STREAMS * run; r < rows; r++)
        kp_topk_planes(x + r * hw, 0, 1, hw, k, y + r);
}

/* Top-1 is the global max, but for the sign of a zero: the mean adds the
 * kept values to a double +0.0, so the scalar rule's zero mean is +0.0. */
static void kp_top1_rows(const float *x, float *y, size_t rows, size_t hw)
{
    KP_GLOBAL.nchw_max_fwd(x, y, rows, hw);
    for (size_t r = 0; r < rows; r++)
        if (y[r] == 0.0f)
            y[r] = 0.0f;
}

/* Each k of 1..GP_TOPK_SIMD_MAX gets loops of its own with k a constant;
 * a larger k takes the portable selection. */
static void kp_topk_fwd(const float *x, float *y, size_t rows, size_t h, size_t w, size_t k)
{
    size_t hw = h * w;
    switch (k) {
    case 1: kp_top1_rows(x, y, rows, hw); return;
    case 2: kp_topk_rows(x, y, rows, hw, 2); return;
    case 3: kp_topk_rows(x, y, rows, hw, 3); return;
    case 4: kp_topk_rows(x, y, rows, hw, 4); return;
    case 5: kp_topk_rows(x, y, rows, hw, 5); return;
    case 6: kp_topk_rows(x, y, rows, hw, 6); return;
    case 7: kp_topk_rows(x, y, rows, hw, 7); return;
    case 8: kp_topk_rows(x, y, rows, hw, 8); return;
    default:
        for (size_t r = 0; r < rows; r++)
            y[r] = gpi_topk_plane(x + r * hw, hw, k);
    }
}

/* ------------------------------------------------------ adaptive pools */

/* Vector v of the nv of a strip starting at column c of a row: whole, or
 * the last one, when tail is not 0, the tail < KP_LANES columns of the
 * row's end, its other lanes -inf (low, for a max) or 0. */
#define KP_STRIP_LOAD(row, c, v, nv, tail, low)                                        \
    ((tail) && (v) + 1 == (nv)                                                          \
         ? ((low) ? KP_LOADN_LOW((row) + (c) + (v) * KP_LANES, tail)                    \
                  : KP_LOADN((row) + (c) + (v) * KP_LANES, tail))                       \
         : KP_LOAD((row) + (c) + (v) * KP_LANES))

/* The strips of a row of w columns, by STRIP(c, nv, tail) with nv and tail
 * constants: eight vectors each (eight independent chains down the rows; a
 * row of up to eight vectors is read in order, as the prefetcher likes it
 * cold), then one of the 1..8 vectors left, its last one masked at the
 * row's end. */
#define KP_STRIP_CASES(c, n, tail, STRIP)                                              \
    switch (n) {                                                                       \
    case 1: STRIP(c, 1, tail); break;                                                  \
    case 2: STRIP(c, 2, tail); break;                                                  \
    case 3: STRIP(c, 3, tail); break;                                                  \
    case 4: STRIP(c, 4, tail); break;                                                  \
    case 5: STRIP(c, 5, tail); break;                                                  \
    case 6: STRIP(c, 6, tail); break;                                                  \
    case 7: STRIP(c, 7, tail); break;                                                  \
    default: STRIP(c, 8, tail); break;                                                 \
    }
#define KP_FOR_STRIPS(w, STRIP)                                                        \
    do {                                                                               \
        size_t c_ = 0, left_;                                                          \
        for (; c_ + 8 * KP_LANES <= (w); c_ += 8 * KP_LANES)                           \
            STRIP(c_, 8, 0);                                                           \
        left_ = (w) - c_;                                                              \
        if (left_ % KP_LANES)                                                          \
            KP_STRIP_CASES(c_, left_ / KP_LANES + 1, left_ % KP_LANES, STRIP)          \
        else if (left_)                                                                \
            KP_STRIP_CASES(c_, left_ / KP_LANES, 0, STRIP)                             \
    } while (0)

/* m[c .. c + nv L) = the maximum of rows [r0, r1) in those columns (the
 * last vector masked when tail is not 0); 1 when one held a NaN. The strip's maxima
 * stay in registers down the rows, each column taking max(acc, row) in
 * row order, as a column-by-column loop would. */
KP_INLINE int kp_strip_max(const float *p, size_t w, size_t r0, size_t r1, size_t c,
                           size_t nv, size_t tail, float *m)
{
    KP_VEC acc[8];
    KP_MASK nans = KP_MNONE;
    KP_UNROLL
    for (size_t v = 0; v < nv; v++) {
        acc[v] = KP_STRIP_LOAD(p + r0 * w, c, v, nv, tail, 1);
        nans = KP_MOR(nans, KP_NANS(acc[v], acc[v]));
    }
    for (size_t r = r0 + 1; r < r1; r++) {
        KP_UNROLL
        for (size_t v = 0; v < nv; v++) {
            KP_VEC b = KP_STRIP_LOAD(p + r * w, c, v, nv, tail, 1);
            nans = KP_MOR(nans, KP_NANS(b, b));
            acc[v] = KP_MAX(acc[v], b);
        }
    }
    KP_UNROLL
    for (size_t v = 0; v < nv; v++)
        KP_STORE(m + c + v * KP_LANES, acc[v]);
    return KP_MANY(nans);
}

/* m[0..w) = the maximum of rows [r0, r1) of a plane (m has room for whole
 * vectors past w); 1 when one held a NaN. */
static int kp_rows_max(const float *p, size_t w, size_t r0, size_t r1, float *m)
{
    int nan = 0;
#define KP_STRIP_MAX(c, nv, tail) nan |= kp_strip_max(p, w, r0, r1, c, nv, tail, m)
    KP_FOR_STRIPS(w, KP_STRIP_MAX);
#undef KP_STRIP_MAX
    return nan;
}

/* d[c .. c + nv L) += the sums of rows [r0, r1) in those columns (masked
 * as for kp_strip_max), as float sums of at most GPI_AVG_BLOCK rows
 * each added into double: each column adds its rows in order, in registers. */
KP_INLINE void kp_strip_sum(const float *p, size_t w, size_t r0, size_t r1, size_t c,
                            size_t nv, size_t tail, double *d)
{
    for (size_t g = r0; g < r1; g += GPI_AVG_BLOCK) {
        size_t g1 = r1 - g < GPI_AVG_BLOCK ? r1 : g + GPI_AVG_BLOCK;
        KP_VEC acc[8];
        KP_UNROLL
        for (size_t v = 0; v < nv; v++)
            acc[v] = KP_STRIP_LOAD(p + g * w, c, v, nv, tail, 0);
        for (size_t r = g + 1; r < g1; r++) {
            KP_UNROLL
            for (size_t v = 0; v < nv; v++)
                acc[v] = KP_ADD(acc[v], KP_STRIP_LOAD(p + r * w, c, v, nv, tail, 0));
        }
        KP_UNROLL
        for (size_t v = 0; v < nv; v++)
            KP_FLUSH(d + c + v * KP_LANES, acc[v]);
    }
}

/* d[0..w) = the sum of rows [r0, r1) of a plane (d has room for whole
 * vectors past w). */
static void kp_rows_sum(const float *p, size_t w, size_t r0, size_t r1, double *d)
{
    for (size_t c = 0; c < (w + KP_LANES - 1) / KP_LANES * KP_LANES; c++)
        d[c] = 0.0;
#define KP_STRIP_SUM(c, nv, tail) kp_strip_sum(p, w, r0, r1, c, nv, tail, d)
    KP_FOR_STRIPS(w, KP_STRIP_SUM);
#undef KP_STRIP_SUM
}

/* e[0..np) kept as E[p0..] or D[2 p0..] (see ks_planes): vector by vector
 * from the registers of the transpose (a loop the compiler may turn into a
 * memcpy through the stack, which cost a quarter of the time). */
KP_INLINE void ks_keep(const KS_VEC *e, size_t np, size_t p0, KS_VEC *E, KS_DVEC *D)
{
    KP_UNROLL
    for (size_t q = 0; q < np; q++)
        if (D) {
            D[2 * (p0 + q)] = KS_DLO(e[q]);
            D[2 * (p0 + q) + 1] = KS_DHI(e[q]);
        } else {
            E[p0 + q] = e[q];
        }
}

/* Eight short planes (count <= 8 real) transposed: E[p] lane l is element
 * p of plane l, or for avg (D not NULL) the same as doubles, D[2 p] lanes
 * 0-3 and D[2 p + 1] lanes 4-7, converted once rather than once per bin
 * that holds the element. 1 when a plane held a NaN. */
KP_INLINE int ks_planes(const float *x, size_t count, size_t hw, KS_VEC *E, KS_DVEC *D)
{
    KS_VEC e[8], nans = KS_SET1(0.0f);
    size_t p0 = 0;
    for (; p0 + 8 <= hw; p0 += 8) {
        ks_block(x, hw, count, p0, 8, e);
        nans = KS_OR(nans, ks_block_nans(e, 8));
        ks_keep(e, 8, p0, E, D);
    }
    if (p0 < hw) { /* with hw a constant, np is one too */
        ks_block(x, hw, count, p0, hw - p0, e);
        nans = KS_OR(nans, ks_block_nans(e, hw - p0));
        ks_keep(e, hw - p0, p0, E, D);
    }
    return KS_ANY(nans);
}

/* The bin bounds of a short plane's k x k grid (k * k <= KS_MAX_BINS, so
 * k <= 8) and each bin's element count and its reciprocal, worked out once
 * per call. */
typedef struct {
    size_t r0[8], r1[8], c0[8], c1[8];
    double count[KS_MAX_BINS], rcp[KS_MAX_BINS];
} ks_grid;

static void ks_grid_of(size_t h, size_t w, size_t k, ks_grid *g)
{
    for (size_t i = 0; i < k; i++) {
        g->r0[i] = gpi_bin_start(i, h, k);
        g->r1[i] = gpi_bin_end(i, h, k);
        g->c0[i] = gpi_bin_start(i, w, k);
        g->c1[i] = gpi_bin_end(i, w, k);
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            g->count[i * k + j] = (double)((g->r1[i] - g->r0[i]) * (g->c1[j] - g->c0[j]));
            g->rcp[i * k + j] = 1.0 / g->count[i * k + j];
        }
}

/* Bin o = (i, j) of the grid over the eight planes of E or D (row length w)
 * as one vector (lane l: plane l): its elements in row-major order, as the
 * scalar rule takes them; max(v, acc) keeps acc on ties, so a zero keeps
 * the first zero's sign; avg adds in double. Accumulators in registers. */
KP_INLINE KS_VEC ks_bin(const KS_VEC *E, const KS_DVEC *D, size_t w, const ks_grid *g,
                        size_t i, size_t j, size_t o, int is_max)
{
    size_t r0 = g->r0[i], r1 = g->r1[i], c0 = g->c0[j], c1 = g->c1[j];
    if (is_max) {
        KS_VEC m = KS_SET1(-INFINITY);
        for (size_t r = r0; r < r1; r++)
            for (size_t c = c0; c < c1; c++)
                m = KS_MAX(E[r * w + c], m);
        return m;
    }
    KS_DVEC lo = KS_DZERO(), hi = KS_DZERO();
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++) {
            lo = KS_DADD(lo, D[2 * (r * w + c)]);
            hi = KS_DADD(hi, D[2 * (r * w + c) + 1]);
        }
    return KS_DQUOT_TO_PS(lo, hi, g->count[o], g->rcp[o]);
}

/* Bins [o0, o0 + nb) (nb <= 8) of eight planes, bin b in B[b] (lane l:
 * plane l), transposed so that each plane's bins are stored as one row. */
KP_INLINE void ks_store_bins(KS_VEC *B, size_t nb, float *y, size_t count, size_t kk,
                             size_t o0)
{
    KS_TRANSPOSE8(B);
    for (size_t l = 0; l < count; l++) {
        if (nb == 8) {
            KS_STORE(y + l * kk + o0, B[l]);
            continue;
        }
        float t[8];
        KS_STORE(t, B[l]);
        for (size_t b = 0; b < nb; b++)
            y[l * kk + o0 + b] = t[b];
    }
}

/* Planes [0, count) (count <= 8) of short planes, bin by bin. */
/* A 1 x 1 avg grid of planes [0, count) (count <= 8): each element added
 * in double as its block is transposed, in the order ks_bin takes them
 * (the whole plane in row-major order), without keeping the planes. */
KP_INLINE void ks_mean_short(const float *x, float *y, size_t count, size_t hw,
                             const ks_grid *g)
{
    KS_VEC e[8], nans = KS_SET1(0.0f);
    KS_DVEC lo = KS_DZERO(), hi = KS_DZERO();
    size_t p0 = 0;
    for (; p0 + 8 <= hw; p0 += 8) {
        ks_block(x, hw, count, p0, 8, e);
        nans = KS_OR(nans, ks_block_nans(e, 8));
        KP_UNROLL
        for (size_t q = 0; q < 8; q++) {
            lo = KS_DADD(lo, KS_DLO(e[q]));
            hi = KS_DADD(hi, KS_DHI(e[q]));
        }
    }
    if (p0 < hw) { /* with hw a constant, np is one too */
        ks_block(x, hw, count, p0, hw - p0, e);
        nans = KS_OR(nans, ks_block_nans(e, hw - p0));
        for (size_t q = 0; q < hw - p0; q++) {
            lo = KS_DADD(lo, KS_DLO(e[q]));
            hi = KS_DADD(hi, KS_DHI(e[q]));
        }
    }
    float mean[8];
    KS_STORE(mean, KS_DQUOT_TO_PS(lo, hi, g->count[0], g->rcp[0]));
    int nan = KS_ANY(nans);
    for (size_t l = 0; l < count; l++)
        if (nan)
            gpi_kpool_scalar.fwd[1](x + l * hw, y + l, 1, 1, hw, 1);
        else
            y[l] = mean[l];
}

KP_INLINE void ks_adaptive_short(const float *x, float *y, size_t count, size_t h, size_t w,
                                 size_t k, const ks_grid *g, int is_max)
{
    if (!is_max && k == 1) {
        ks_mean_short(x, y, count, h * w, g);
        return;
    }
    KS_VEC E[KP_SHORT_HW_NET];
    KS_DVEC D[2 * KP_SHORT_HW];
    size_t kk = k * k;
    if (ks_planes(x, count, h * w, E, is_max ? NULL : D)) {
        for (size_t l = 0; l < count; l++)
            gpi_kpool_scalar.fwd[is_max ? 2 : 1](x + l * h * w, y + l * kk, 1, h, w, k);
        return;
    }
    KS_VEC B[8];
    size_t o = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++, o++) {
            B[o % 8] = ks_bin(E, D, w, g, i, j, o, is_max);
            if (o % 8 == 7 || o + 1 == kk)
                ks_store_bins(B, o % 8 + 1, y, count, kk, o - o % 8);
        }
}

/* 1 when the adaptive op took the rows by the short-plane path. */
KP_INLINE int ks_adaptive_rows(const float *x, float *y, size_t rows, size_t h, size_t w,
                               size_t k, int is_max)
{
    /* max is exact in either path, so a grid finer than 4 x 4, whose bins
     * cost the row path more than its rows, takes this one up to
     * KP_SHORT_HW_NET (coarser grids of 13 x 13 and 14 x 14 planes ran
     * 1.3 to 2 times faster so hot, but about 10 % slower cold); avg keeps
     * each plane size's summation order */
    size_t limit = is_max && k * k > 16 ? KP_SHORT_HW_NET : KP_SHORT_HW;
    if (h * w > limit || k * k > KS_MAX_BINS)
        return 0;
    ks_grid g;
    ks_grid_of(h, w, k, &g);
    /* the ResNet heads' 1 x 1 mean with the plane a constant (see
     * kp_topk_rows); finer grids were slower so, their bins unrolled */
    if (h == 7 && w == 7 && k == 1 && !is_max)
        for (size_t r = 0; r < rows; r += 8)
            ks_adaptive_short(x + r * 49, y + r * k * k, rows - r < 8 ? rows - r : 8, 7, 7, k,
                              &g, is_max);
    else
        for (size_t r = 0; r < rows; r += 8)
            ks_adaptive_short(x + r * h * w, y + r * k * k, rows - r < 8 ? rows - r : 8, h, w,
                              k, &g, is_max);
    return 1;
}

/* Output row i of one plane; 1 when the plane must be redone by the scalar rule. */
static int kp_adaptive_max_row(const float *p, float *y, size_t i, size_t h, size_t w,
                               size_t k, float *m)
{
    if (kp_rows_max(p, w, gpi_bin_start(i, h, k), gpi_bin_end(i, h, k), m))
        return 1;
    for (size_t j = 0; j < k; j++) {
        size_t c0 = gpi_bin_start(j, w, k), c1 = gpi_bin_end(j, w, k);
        float v = m[c0];
        for (size_t c = c0 + 1; c < c1; c++)
            v = m[c] > v ? m[c] : v;
        if (v == 0.0f)
            return 1;
        y[i * k + j] = v;
    }
    return 0;
}

static void kp_adaptive_max_fwd(const float *x, float *y, size_t rows, size_t h, size_t w,
                                size_t k)
{
    if (k == 1) {
        KP_GLOBAL.nchw_max_fwd(x, y, rows, h * w);
        return;
    }
    if (ks_adaptive_rows(x, y, rows, h, w, k, 1))
        return;
    float m[KP_MAX_ROW];
    for (size_t r = 0; r < rows; r++) {
        const float *p = x + r * h * w;
        float *yr = y + r * k * k;
        int redo = w > KP_MAX_ROW;
        for (size_t i = 0; i < k && !redo; i++)
            redo = kp_adaptive_max_row(p, yr, i, h, w, k, m);
        if (redo)
            gpi_adaptive_max_plane(p, yr, h, w, k);
    }
}

/* s / c rounded as the division rounds it, from rc = 1 / c: see ks_quot. */
KP_INLINE double kp_quot(double s, double c, double rc)
{
    double q = s * rc, r = fma(-q, c, s);
    return r == r ? fma(r, rc, q) : q;
}

/* One plane; g, when not NULL, holds the grid's bins (k * k <= KS_MAX_BINS)
 * with their counts' reciprocals, so that no bin needs a division. */
static void kp_adaptive_avg_plane(const float *p, float *y, size_t h, size_t w, size_t k,
                                  const ks_grid *g, double *d)
{
    for (size_t i = 0; i < k; i++) {
        size_t r0 = gpi_bin_start(i, h, k), r1 = gpi_bin_end(i, h, k);
        kp_rows_sum(p, w, r0, r1, d);
        for (size_t j = 0; j < k; j++) {
            size_t c0 = gpi_bin_start(j, w, k), c1 = gpi_bin_end(j, w, k);
            double s = 0.0;
            for (size_t c = c0; c < c1; c++)
                s += d[c];
            y[i * k + j] = (float)(g ? kp_quot(s, g->count[i * k + j], g->rcp[i * k + j])
                                     : s / (double)((r1 - r0) * (c1 - c0)));
        }
    }
}

static void kp_adaptive_avg_fwd(const float *x, float *y, size_t rows, size_t h, size_t w,
                                size_t k)
{
    double d[KP_MAX_ROW];
    if (ks_adaptive_rows(x, y, rows, h, w, k, 0))
        return;
    if (w > KP_MAX_ROW) {
        gpi_kpool_scalar.fwd[GP_POOL_ADAPTIVE_AVG - GP_POOL_TOPK](x, y, rows, h, w, k);
        return;
    }
    ks_grid g;
    if (k * k <= KS_MAX_BINS)
        ks_grid_of(h, w, k, &g);
    for (size_t r = 0; r < rows; r++)
        kp_adaptive_avg_plane(x + r * h * w, y + r * k * k, h, w, k,
                              k * k <= KS_MAX_BINS ? &g : NULL, d);
}

const gpi_kpool_set KP_SET_NAME = {
    .fwd = { kp_topk_fwd, kp_adaptive_avg_fwd, kp_adaptive_max_fwd },
};
