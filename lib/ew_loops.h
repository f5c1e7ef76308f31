/*
 * ew_loops.h - the elementwise kernels of gpi_ew.h, written once for every
 * vector width (as probe_loops.h and ggml's SIMD mappings do). A per-ISA
 * file defines the mapping and includes this file:
 *   EW_VEC            the vector type
 *   EW_LANES          floats per vector
 *   EW_SET1(f)        every lane f
 *   EW_LOAD(p)        an unaligned load;  EW_STORE(p, v) an unaligned store
 *   EW_ADD, EW_MUL, EW_DIV(a, b)   lane-wise, IEEE
 *   EW_FMA(a, b, c)   a * b + c rounded once (fmaf)
 *   EW_SQRT(a)        the IEEE square root
 *   EW_ZERO_LE0(v, t) v where t > 0 or t is NaN, else +0 (relu's rule)
 *   EW_NAME(f)        f's name in this file (f ## _avx2 ...)
 *   EW_SUB, EW_LOAD4Z, EW_KEEP4   for bn_loops.h (which it lists)
 * Two vectors per iteration keep two independent chains in flight; the
 * element operations are exactly those of the scalar code (gpi_ew.h).
 */

static size_t EW_NAME(ew_relu_fwd)(const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 2 * EW_LANES <= n; i += 2 * EW_LANES) {
        EW_VEC a = EW_LOAD(x + i), b = EW_LOAD(x + i + EW_LANES);
        EW_STORE(y + i, EW_ZERO_LE0(a, a));
        EW_STORE(y + i + EW_LANES, EW_ZERO_LE0(b, b));
    }
    for (; i + EW_LANES <= n; i += EW_LANES) {
        EW_VEC a = EW_LOAD(x + i);
        EW_STORE(y + i, EW_ZERO_LE0(a, a));
    }
    return i;
}

static size_t EW_NAME(ew_relu_bwd)(const float *y, const float *dy, float *dx, size_t n)
{
    size_t i = 0;
    for (; i + EW_LANES <= n; i += EW_LANES)
        EW_STORE(dx + i, EW_ZERO_LE0(EW_LOAD(dy + i), EW_LOAD(y + i)));
    return i;
}

/* optim.c's Adam element: w decayed (AdamW) or wd folded into g (Adam),
 * m = fma(g, 1 - b1, m b1), v = fma((1 - b2) g, g, v b2),
 * p = w + (-step m) / (sqrt(v) / sqrt(bc2) + eps). */
static size_t EW_NAME(ew_adam)(const gpi_adam_consts *c, float *p, const float *g, float *m,
                               float *v, size_t n)
{
    const EW_VEC wd = EW_SET1(c->wd), b1 = EW_SET1(c->b1), omb1 = EW_SET1(c->one_minus_b1);
    const EW_VEC b2 = EW_SET1(c->b2), omb2 = EW_SET1(c->one_minus_b2);
    const EW_VEC bc2 = EW_SET1(c->bc2_sqrt), eps = EW_SET1(c->eps);
    const EW_VEC step = EW_SET1(c->neg_step), decay = EW_SET1(c->decay);
    size_t i = 0;
    for (; i + EW_LANES <= n; i += EW_LANES) {
        EW_VEC gi = EW_LOAD(g + i), w = EW_LOAD(p + i);
        if (c->decoupled)
            w = EW_MUL(w, decay);
        else if (c->use_wd)
            gi = EW_FMA(w, wd, gi);
        EW_VEC mi = EW_FMA(gi, omb1, EW_MUL(EW_LOAD(m + i), b1));
        EW_VEC vi = EW_FMA(EW_MUL(omb2, gi), gi, EW_MUL(EW_LOAD(v + i), b2));
        EW_VEC denom = EW_ADD(EW_DIV(EW_SQRT(vi), bc2), eps);
        EW_STORE(m + i, mi);
        EW_STORE(v + i, vi);
        EW_STORE(p + i, EW_ADD(w, EW_DIV(EW_MUL(step, mi), denom)));
    }
    return i;
}

/* optim.c's SGD element: wd folded into g, the momentum buffer (g itself
 * at the first step), nesterov, p = fma(g, -lr, p). */
static size_t EW_NAME(ew_sgd)(const gpi_sgd_consts *c, float *p, const float *g, float *buf,
                              size_t n)
{
    const EW_VEC wd = EW_SET1(c->wd), mu = EW_SET1(c->mu);
    const EW_VEC omd = EW_SET1(c->one_minus_damp), lr = EW_SET1(c->neg_lr);
    size_t i = 0;
    for (; i + EW_LANES <= n; i += EW_LANES) {
        EW_VEC gi = EW_LOAD(g + i), w = EW_LOAD(p + i);
        if (c->use_wd)
            gi = EW_FMA(w, wd, gi);
        if (c->use_momentum) {
            EW_VEC b = c->first ? gi : EW_FMA(gi, omd, EW_MUL(EW_LOAD(buf + i), mu));
            EW_STORE(buf + i, b);
            gi = c->nesterov ? EW_FMA(b, mu, gi) : b;
        }
        EW_STORE(p + i, EW_FMA(gi, lr, w));
    }
    return i;
}

/* batchnorm2d's kernels, reached through this set's table */
#include "bn_loops.h"

const gpi_ew_kernels EW_NAME(gpi_ew) = {
    EW_ISA_NAME, EW_NAME(ew_relu_fwd), EW_NAME(ew_relu_bwd), EW_NAME(ew_adam), EW_NAME(ew_sgd),
    &EW_NAME(gpi_bn)
};
