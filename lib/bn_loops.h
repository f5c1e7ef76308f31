/*
 * bn_loops.h - the batchnorm kernels of gpi_bn.h, written once for every
 * vector width. Included by ew_loops.h, whose kernel table points to this
 * one's, under the per-ISA file's EW_* mapping (ew_avx2.c, ew_avx512.c),
 * which adds:
 *   EW_SUB(a, b)      lane-wise, IEEE
 *   EW_LOAD4Z(p)      p[0..3] in lanes 0-3, +0 in the others (reads 4 floats)
 *   EW_KEEP4(v)       v's lanes 0-3, +0 in the others
 * EW_LANES must divide GPI_BN_BLOCK (16): a block is BN_VECS vectors, and
 * BN_VECS accumulators hold the scalar code's 16 partial sums lane for lane.
 * Lanes 4 and up of a quad tail add +0, which leaves a partial sum as it
 * was (one that starts at +0 is never -0).
 */
#ifdef GPI_BN_H
#error "bn_loops.h must come before gpi_bn.h, to set its GPI_BN_MUL1"
#endif

/* A product kept apart from the add after it: the asm hides its value, so
 * the compiler cannot contract the two into an FMA, which rounds once and
 * would change the bits against the scalar kernels. */
static inline float EW_NAME(bn_mul1)(float a, float b)
{
    float p = a * b;
    __asm__("" : "+x"(p));
    return p;
}
#define GPI_BN_MUL1(a, b) EW_NAME(bn_mul1)(a, b)

#include "gpi_bn.h"

#define BN_VECS (GPI_BN_BLOCK / EW_LANES)

/* The same for a vector. */
static inline EW_VEC EW_NAME(bn_mul)(EW_VEC a, EW_VEC b)
{
    EW_VEC p = EW_MUL(a, b);
    __asm__("" : "+x"(p));
    return p;
}
#define BN_MUL(a, b) EW_NAME(bn_mul)(a, b)

/* The sums walk a channel's planes image by image, a plane (or a slice of
 * it) at a time, planes a whole image apart: the next plane's line at the
 * same offset is fetched one plane ahead, as the hardware prefetcher cannot
 * know where the next plane starts. Past the last plane it fetches nothing
 * the kernel reads; a prefetch never faults. */
#define BN_PREFETCH_NEXT(p, s, j) __builtin_prefetch((const char *)(p) + (s).stride * sizeof(float) \
                                                     + (j) * sizeof(float))

/* The partial sums into one float: gpi_bn_fold on their 16 lanes. */
static float EW_NAME(bn_fold)(const EW_VEC *acc)
{
    float lanes[4][GPI_BN_Q];
    for (size_t v = 0; v < BN_VECS; v++)
        EW_STORE(&lanes[0][0] + v * EW_LANES, acc[v]);
    return gpi_bn_fold(lanes);
}

static float EW_NAME(bn_sum)(const float *p, gpi_bn_span s)
{
    EW_VEC acc[BN_VECS];
    float tail = 0.0f;
    for (size_t v = 0; v < BN_VECS; v++)
        acc[v] = EW_SET1(0.0f);
    for (int i = 0; i < s.planes; i++, p += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK) {
            BN_PREFETCH_NEXT(p, s, j);
            for (size_t v = 0; v < BN_VECS; v++)
                acc[v] = EW_ADD(acc[v], EW_LOAD(p + j + v * EW_LANES));
        }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q)
            acc[0] = EW_ADD(acc[0], EW_LOAD4Z(p + j));
        for (; j < s.len; j++)
            tail += p[j];
    }
    return EW_NAME(bn_fold)(acc) + tail;
}

static void EW_NAME(bn_dev)(const float *p, gpi_bn_span s, float m, float *sd, float *sd2)
{
    EW_VEC a1[BN_VECS], a2[BN_VECS], vm = EW_SET1(m);
    float t1 = 0.0f, t2 = 0.0f;
    for (size_t v = 0; v < BN_VECS; v++)
        a1[v] = a2[v] = EW_SET1(0.0f);
    for (int i = 0; i < s.planes; i++, p += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK)
            for (size_t v = 0; v < BN_VECS; v++) {
                EW_VEC d = EW_SUB(EW_LOAD(p + j + v * EW_LANES), vm);
                a1[v] = EW_ADD(a1[v], d);
                a2[v] = EW_ADD(a2[v], BN_MUL(d, d));
            }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q) {
            EW_VEC d = EW_KEEP4(EW_SUB(EW_LOAD4Z(p + j), vm));
            a1[0] = EW_ADD(a1[0], d);
            a2[0] = EW_ADD(a2[0], BN_MUL(d, d));
        }
        for (; j < s.len; j++) {
            float d = p[j] - m;
            t1 += d;
            t2 += GPI_BN_MUL1(d, d);
        }
    }
    *sd = EW_NAME(bn_fold)(a1) + t1;
    *sd2 = EW_NAME(bn_fold)(a2) + t2;
}

/* One vector of the gradient sums: g = dy, masked where the relu's input
 * (d alpha + beta) is <= 0; a1 += g, a2 += d g. masked is a constant
 * wherever this is inlined. */
static inline __attribute__((always_inline)) void
EW_NAME(bn_grad_vec)(EW_VEC *a1, EW_VEC *a2, EW_VEC d, EW_VEC dy, EW_VEC alpha, EW_VEC beta,
                     int masked)
{
    EW_VEC g = masked ? EW_ZERO_LE0(dy, EW_ADD(BN_MUL(d, alpha), beta)) : dy;
    *a1 = EW_ADD(*a1, g);
    *a2 = EW_ADD(*a2, BN_MUL(d, g));
}

static inline __attribute__((always_inline)) void
EW_NAME(bn_grad_sums_any)(const float *x, const float *dy, gpi_bn_span s, float mean,
                          const gpi_bn_relu *relu, int masked, float *sdy, float *sxdy)
{
    EW_VEC a1[BN_VECS], a2[BN_VECS], vm = EW_SET1(mean);
    EW_VEC alpha = EW_SET1(masked ? relu->alpha : 0.0f), beta = EW_SET1(masked ? relu->beta : 0.0f);
    float t1 = 0.0f, t2 = 0.0f;
    for (size_t v = 0; v < BN_VECS; v++)
        a1[v] = a2[v] = EW_SET1(0.0f);
    for (int i = 0; i < s.planes; i++, x += s.stride, dy += s.stride) {
        size_t j = 0;
        for (; j + GPI_BN_BLOCK <= s.len; j += GPI_BN_BLOCK) {
            BN_PREFETCH_NEXT(x, s, j);
            BN_PREFETCH_NEXT(dy, s, j);
            for (size_t v = 0; v < BN_VECS; v++) {
                size_t o = j + v * EW_LANES;
                EW_NAME(bn_grad_vec)(&a1[v], &a2[v], EW_SUB(EW_LOAD(x + o), vm),
                                     EW_LOAD(dy + o), alpha, beta, masked);
            }
        }
        for (; j + GPI_BN_Q <= s.len; j += GPI_BN_Q)
            EW_NAME(bn_grad_vec)(&a1[0], &a2[0], EW_KEEP4(EW_SUB(EW_LOAD4Z(x + j), vm)),
                                 EW_LOAD4Z(dy + j), alpha, beta, masked);
        for (; j < s.len; j++) {
            float g = gpi_bn_g1(x[j], dy[j], mean, relu);
            t1 += g;
            t2 += GPI_BN_MUL1(x[j] - mean, g);
        }
    }
    *sdy = EW_NAME(bn_fold)(a1) + t1;
    *sxdy = EW_NAME(bn_fold)(a2) + t2;
}

static void EW_NAME(bn_grad_sums)(const float *x, const float *dy, gpi_bn_span s, float mean,
                                  const gpi_bn_relu *relu, float *sdy, float *sxdy)
{
    if (relu)
        EW_NAME(bn_grad_sums_any)(x, dy, s, mean, relu, 1, sdy, sxdy);
    else
        EW_NAME(bn_grad_sums_any)(x, dy, s, mean, NULL, 0, sdy, sxdy);
}

static inline __attribute__((always_inline)) void
EW_NAME(bn_affine_any)(const float *x, float *y, size_t len, float mean, float alpha, float beta,
                       int relu)
{
    const EW_VEC vm = EW_SET1(mean), va = EW_SET1(alpha), vb = EW_SET1(beta);
    size_t j = 0;
    for (; j + 2 * EW_LANES <= len; j += 2 * EW_LANES)
        for (size_t u = 0; u < 2; u++) {
            EW_VEC v = EW_ADD(BN_MUL(EW_SUB(EW_LOAD(x + j + u * EW_LANES), vm), va), vb);
            EW_STORE(y + j + u * EW_LANES, relu ? EW_ZERO_LE0(v, v) : v);
        }
    for (; j < len; j++)
        y[j] = gpi_bn_clamp1(gpi_bn_affine1(x[j], mean, alpha, beta), relu);
}

static void EW_NAME(bn_affine)(const float *x, float *y, size_t len, float mean, float alpha,
                               float beta, int relu)
{
    if (relu)
        EW_NAME(bn_affine_any)(x, y, len, mean, alpha, beta, 1);
    else
        EW_NAME(bn_affine_any)(x, y, len, mean, alpha, beta, 0);
}

static inline __attribute__((always_inline)) void
EW_NAME(bn_dx_any)(const float *x, const float *dy, float *dx, size_t len,
                   const gpi_bn_dx_consts *k, const gpi_bn_relu *relu, int masked)
{
    const EW_VEC vm = EW_SET1(k->mean), vk = EW_SET1(k->k), gm = EW_SET1(k->grad_mean);
    const EW_VEC sc = EW_SET1(k->scale);
    const EW_VEC alpha = EW_SET1(masked ? relu->alpha : 0.0f);
    const EW_VEC beta = EW_SET1(masked ? relu->beta : 0.0f);
    size_t j = 0;
    for (; j + EW_LANES <= len; j += EW_LANES) {
        EW_VEC d = EW_SUB(EW_LOAD(x + j), vm), g = EW_LOAD(dy + j);
        if (masked)
            g = EW_ZERO_LE0(g, EW_ADD(BN_MUL(d, alpha), beta));
        EW_STORE(dx + j, EW_MUL(EW_SUB(EW_SUB(g, gm), BN_MUL(d, vk)), sc));
    }
    for (; j < len; j++)
        dx[j] = gpi_bn_dx1(x[j], gpi_bn_g1(x[j], dy[j], k->mean, relu), k);
}

static void EW_NAME(bn_dx_train)(const float *x, const float *dy, float *dx, size_t len,
                                 const gpi_bn_dx_consts *k, const gpi_bn_relu *relu)
{
    if (relu)
        EW_NAME(bn_dx_any)(x, dy, dx, len, k, relu, 1);
    else
        EW_NAME(bn_dx_any)(x, dy, dx, len, k, NULL, 0);
}

static const gpi_bn_kernels EW_NAME(gpi_bn) = {
    EW_ISA_NAME, EW_NAME(bn_sum), EW_NAME(bn_dev), EW_NAME(bn_grad_sums), EW_NAME(bn_affine),
    EW_NAME(bn_dx_train)
};
