/*
 * optim.c - SGD, Adam and AdamW with PyTorch 1.13's update rules.
 *
 * A later test replays our training in PyTorch and compares weights, so
 * every update is written as the same float32 operations, in the same
 * order, as torch.optim's single-tensor (foreach=False) code on CPU:
 *   - tensor.add(other, alpha=a) runs as fma(other, a, tensor)
 *     (ATen's vectorized add is vec::fmadd);
 *   - addcmul(t1, t2, value=c) is fma(c * t1, t2, self) (GCC contracts
 *     ATen's self + c * t1 * t2 into one fma);
 *   - addcdiv(t1, t2, value=c) is self + (c * t1) / t2, and tensor / scalar
 *     divides (no reciprocal);
 *   - Python scalars (1 - beta, lr / (1 - beta^t), sqrt(1 - beta2^t),
 *     1 - lr * wd) are computed in double and rounded to float once.
 * These were checked bit for bit against the installed torch 1.13 CPU
 * build. Elementwise updates are independent, so splitting them over
 * threads cannot change a result, nor can the vector kernels (gpi_ew.h),
 * which do each element's operations in the same order.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpi_ew.h"
#include "gpi_layer.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define GPI_OPTIM_MAX_SLOTS 2
/* Below this many floats in all the parameters together a step runs on
 * one thread: starting the team costs more than the update. */
#define GPI_OPTIM_OMP_MIN   32768

struct gp_optim {
    gp_optim_desc d;
    int         nparams;
    gp_param  **params;                        /* the net's, in net order */
    float     **state[GPI_OPTIM_MAX_SLOTS];    /* state[k][i]: slot k of param i */
    int         nslots;
    int64_t     steps;
    /* hyper-parameters as the doubles PyTorch computes with */
    double      wd, mu, damp, b1, b2, eps;
    float       lr_cached;
    double      lr_cached_d;
};

static const char *const gpi_optim_names[] = { "sgd", "adam", "adamw" };

const char *gp_optim_name(gp_optim_kind kind)
{
    return (unsigned)kind < 3 ? gpi_optim_names[kind] : "?";
}

gp_status gp_optim_parse(const char *name, gp_optim_kind *kind)
{
    if (!name || !kind)
        return gpi_fail(GP_ERR_ARG, "gp_optim_parse: NULL argument");
    for (int i = 0; i < 3; i++)
        if (strcmp(name, gpi_optim_names[i]) == 0) {
            *kind = (gp_optim_kind)i;
            return GP_OK;
        }
    return gpi_fail(GP_ERR_NOTFOUND, "unknown optimizer '%s' (sgd, adam, adamw)", name);
}

gp_optim_desc gp_optim_defaults(gp_optim_kind kind)
{
    gp_optim_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    if (kind == GP_OPTIM_SGD) {
        d.lr = 0.01f;
        return d;
    }
    d.lr = 1e-3f;
    d.beta1 = 0.9f;
    d.beta2 = 0.999f;
    d.eps = 1e-8f;
    d.weight_decay = kind == GP_OPTIM_ADAMW ? 1e-2f : 0.0f;
    return d;
}

/* The double the user meant by float f: the shortest decimal that rounds
 * to f, read back as a double. PyTorch's scalar arithmetic starts from the
 * Python value (0.9), not from 0.899999976 = (double)0.9f, and 1 - beta or
 * lr / (1 - beta^t) round to different floats from the two. */
static double optim_decimal(float f)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    return f;
}

static int optim_finite_nonneg(float v)
{
    return isfinite(v) && v >= 0.0f;
}

/* The checks torch.optim's constructors make. */
static gp_status optim_check_desc(const gp_optim_desc *d)
{
    if ((unsigned)d->kind > GP_OPTIM_ADAMW)
        return gpi_fail(GP_ERR_ARG, "optimizer: unknown kind %d", (int)d->kind);
    if (!optim_finite_nonneg(d->lr) || !optim_finite_nonneg(d->weight_decay))
        return gpi_fail(GP_ERR_ARG, "%s: lr %g and weight_decay %g must be >= 0",
                        gp_optim_name(d->kind), (double)d->lr, (double)d->weight_decay);
    if (d->kind == GP_OPTIM_SGD) {
        if (!optim_finite_nonneg(d->momentum) || !isfinite(d->dampening))
            return gpi_fail(GP_ERR_ARG, "sgd: momentum %g must be >= 0",
                            (double)d->momentum);
        if (d->nesterov && (d->momentum <= 0.0f || d->dampening != 0.0f))
            return gpi_fail(GP_ERR_ARG, "sgd: nesterov needs momentum > 0 and dampening 0");
        return GP_OK;
    }
    if (!(d->beta1 >= 0.0f && d->beta1 < 1.0f) || !(d->beta2 >= 0.0f && d->beta2 < 1.0f))
        return gpi_fail(GP_ERR_ARG, "%s: betas (%g, %g) must be in [0, 1)",
                        gp_optim_name(d->kind), (double)d->beta1, (double)d->beta2);
    if (!optim_finite_nonneg(d->eps))
        return gpi_fail(GP_ERR_ARG, "%s: eps %g must be >= 0", gp_optim_name(d->kind),
                        (double)d->eps);
    return GP_OK;
}

static int optim_slots(const gp_optim_desc *d)
{
    if (d->kind == GP_OPTIM_SGD)
        return d->momentum != 0.0f ? 1 : 0;
    return 2;
}

static gp_status optim_alloc(gp_optim *o, gp_net *net)
{
    o->nparams = gp_net_param_tensors(net);
    o->params = calloc((size_t)o->nparams + 1, sizeof *o->params);
    for (int k = 0; k < o->nslots; k++)
        o->state[k] = calloc((size_t)o->nparams + 1, sizeof *o->state[k]);
    if (!o->params || (o->nslots > 0 && !o->state[0]) || (o->nslots > 1 && !o->state[1]))
        return gpi_fail(GP_ERR_NOMEM, "optimizer: out of memory");
    for (int i = 0; i < o->nparams; i++) {
        o->params[i] = gp_net_param(net, i);
        for (int k = 0; k < o->nslots; k++)
            if (!(o->state[k][i] = gpi_falloc(o->params[i]->count)))
                return gpi_fail(GP_ERR_NOMEM, "optimizer: out of memory for state");
    }
    return GP_OK;
}

gp_status gp_optim_create(gp_optim **out, const gp_optim_desc *d, gp_net *net)
{
    if (!out || !d || !net)
        return gpi_fail(GP_ERR_ARG, "gp_optim_create: NULL argument");
    *out = NULL;
    gp_status st = optim_check_desc(d);
    if (st != GP_OK)
        return st;
    gp_optim *o = calloc(1, sizeof *o);
    if (!o)
        return gpi_fail(GP_ERR_NOMEM, "optimizer: out of memory");
    o->d = *d;
    o->nslots = optim_slots(d);
    o->wd = optim_decimal(d->weight_decay);
    o->mu = optim_decimal(d->momentum);
    o->damp = optim_decimal(d->dampening);
    o->b1 = optim_decimal(d->beta1);
    o->b2 = optim_decimal(d->beta2);
    o->eps = optim_decimal(d->eps);
    o->lr_cached = d->lr;
    o->lr_cached_d = optim_decimal(d->lr);
    if ((st = optim_alloc(o, net)) != GP_OK) {
        gp_optim_destroy(o);
        return st;
    }
    *out = o;
    return GP_OK;
}

void gp_optim_destroy(gp_optim *o)
{
    if (!o)
        return;
    for (int k = 0; k < o->nslots; k++) {
        for (int i = 0; o->state[k] && i < o->nparams; i++)
            gpi_free(o->state[k][i]);
        free(o->state[k]);
    }
    free(o->params);
    free(o);
}

/* ------------------------------------------------------------ updates */

/* Elements [from, to) of parameter i: the vector kernels (gpi_ew.h) take
 * the whole vectors, this scalar code the rest. */
static void optim_sgd_span(const gp_optim *o, const gpi_sgd_consts *c, int i, size_t from,
                           size_t to)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    float *p = o->params[i]->value + from, *buf = o->nslots ? o->state[0][i] + from : NULL;
    const float *grad = o->params[i]->grad + from;
    size_t n = to - from, j = k ? k->sgd(c, p, grad, buf, n) : 0;
    for (; j < n; j++) {
        float g = grad[j];
        if (c->use_wd)
            g = fmaf(p[j], c->wd, g);
        if (c->use_momentum) {
            /* torch clones d_p into a new buffer at the first step */
            float b = c->first ? g : fmaf(g, c->one_minus_damp, buf[j] * c->mu);
            buf[j] = b;
            g = c->nesterov ? fmaf(b, c->mu, g) : b;
        }
        p[j] = fmaf(g, c->neg_lr, p[j]);
    }
}

static void optim_adam_span(const gp_optim *o, const gpi_adam_consts *c, int i, size_t from,
                            size_t to)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    float *p = o->params[i]->value + from, *m = o->state[0][i] + from;
    float *v = o->state[1][i] + from;
    const float *grad = o->params[i]->grad + from;
    size_t n = to - from, j = k ? k->adam(c, p, grad, m, v, n) : 0;
    for (; j < n; j++) {
        float g = grad[j], w = p[j];
        if (c->decoupled)
            w = w * c->decay;
        else if (c->use_wd)
            g = fmaf(w, c->wd, g);
        float mi = fmaf(g, c->one_minus_b1, m[j] * c->b1);
        float vi = fmaf(c->one_minus_b2 * g, g, v[j] * c->b2);
        float denom = sqrtf(vi) / c->bc2_sqrt + c->eps;
        m[j] = mi;
        v[j] = vi;
        p[j] = w + (c->neg_step * mi) / denom;
    }
}

/* Thread t of nt's share of every parameter's floats taken as one range
 * (whole parameters for most threads, so each streams few ranges): the
 * parallel region is entered once per step, not once per parameter. */
static void optim_share(const gp_optim *o, const void *c, int t, int nt)
{
    size_t total = 0, at = 0;
    for (int i = 0; i < o->nparams; i++)
        total += o->params[i]->count;
    size_t lo = total * (size_t)t / (size_t)nt, hi = total * (size_t)(t + 1) / (size_t)nt;
    for (int i = 0; i < o->nparams && at < hi; at += o->params[i]->count, i++) {
        size_t from = lo > at ? lo - at : 0, end = at + o->params[i]->count;
        size_t to = (hi < end ? hi : end) - at;
        if (from >= to)
            continue;
        if (o->d.kind == GP_OPTIM_SGD)
            optim_sgd_span(o, c, i, from, to);
        else
            optim_adam_span(o, c, i, from, to);
    }
}

static void optim_update(const gp_optim *o, const void *c)
{
    size_t total = 0;
    for (int i = 0; i < o->nparams; i++)
        total += o->params[i]->count;
    (void)total;
#ifdef _OPENMP
#pragma omp parallel if (total >= GPI_OPTIM_OMP_MIN)
    optim_share(o, c, omp_get_thread_num(), omp_get_num_threads());
#else
    optim_share(o, c, 0, 1);
#endif
}

static void optim_sgd_step(gp_optim *o, double lr)
{
    gpi_sgd_consts c = {
        .wd = (float)o->wd, .mu = (float)o->mu, .one_minus_damp = (float)(1.0 - o->damp),
        .neg_lr = (float)-lr, .use_wd = o->wd != 0.0, .use_momentum = o->nslots > 0,
        .first = o->steps == 1, .nesterov = o->d.nesterov,
    };
    optim_update(o, &c);
}

static void optim_adam_step(gp_optim *o, double lr)
{
    double t = (double)o->steps;
    double bc1 = 1.0 - pow(o->b1, t), bc2 = 1.0 - pow(o->b2, t);
    gpi_adam_consts c = {
        .wd = (float)o->wd, .b1 = (float)o->b1, .one_minus_b1 = (float)(1.0 - o->b1),
        .b2 = (float)o->b2, .one_minus_b2 = (float)(1.0 - o->b2),
        .bc2_sqrt = (float)sqrt(bc2), .eps = (float)o->eps, .neg_step = (float)-(lr / bc1),
        .decay = (float)(1.0 - lr * o->wd), .use_wd = o->wd != 0.0,
        .decoupled = o->d.kind == GP_OPTIM_ADAMW,
    };
    optim_update(o, &c);
}

gp_status gp_optim_step(gp_optim *o, float lr)
{
    if (!o)
        return gpi_fail(GP_ERR_ARG, "gp_optim_step: optimizer is NULL");
    if (!optim_finite_nonneg(lr))
        return gpi_fail(GP_ERR_ARG, "gp_optim_step: lr %g must be >= 0", (double)lr);
    if (lr != o->lr_cached) {
        o->lr_cached = lr;
        o->lr_cached_d = optim_decimal(lr);
    }
    o->steps++;     /* torch counts the step before using it */
    if (o->d.kind == GP_OPTIM_SGD)
        optim_sgd_step(o, o->lr_cached_d);
    else
        optim_adam_step(o, o->lr_cached_d);
    return GP_OK;
}

/* ------------------------------------------------------------ access */

size_t gp_optim_state_per_param(const gp_optim *o)
{
    return o ? (size_t)o->nslots : 0;
}

int64_t gp_optim_steps(const gp_optim *o)
{
    return o ? o->steps : 0;
}

gp_status gp_optim_set_steps(gp_optim *o, int64_t steps)
{
    if (!o || steps < 0)
        return gpi_fail(GP_ERR_ARG, "gp_optim_set_steps: %s", o ? "negative steps"
                                                                 : "optimizer is NULL");
    o->steps = steps;
    return GP_OK;
}

gp_optim_desc gp_optim_get_desc(const gp_optim *o)
{
    return o ? o->d : gp_optim_defaults(GP_OPTIM_SGD);
}

float *gp_optim_state(const gp_optim *o, int i, int k, const char **name)
{
    if (!o || i < 0 || i >= o->nparams || k < 0 || k >= o->nslots)
        return NULL;
    if (name)
        *name = o->d.kind == GP_OPTIM_SGD ? "momentum" : k == 0 ? "exp_avg" : "exp_avg_sq";
    return o->state[k][i];
}

gp_param *gp_optim_param(const gp_optim *o, int i)
{
    return o && i >= 0 && i < o->nparams ? o->params[i] : NULL;
}
