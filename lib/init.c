/*
 * init.c - weight initializers with PyTorch's formulas.
 *
 * Values are drawn from one gp_rng, layer by layer and parameter by
 * parameter in order, so a seed fixes every weight of a net. Parameters
 * set to a constant (biases under every kind but the default) and those a
 * layer initializes itself (fixed_init) draw nothing, so adding such a
 * parameter does not shift the stream of the others.
 */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "gpi.h"
#include "gpool_nn.h"

static const char *const gpi_init_names[] = {
    [GP_INIT_TORCH_DEFAULT]   = "torch_default",
    [GP_INIT_XAVIER_UNIFORM]  = "xavier_uniform",
    [GP_INIT_XAVIER_NORMAL]   = "xavier_normal",
    [GP_INIT_KAIMING_UNIFORM] = "kaiming_uniform",
    [GP_INIT_KAIMING_NORMAL]  = "kaiming_normal",
};

#define GPI_INIT_KINDS ((int)(sizeof gpi_init_names / sizeof gpi_init_names[0]))

const char *gp_init_name(gp_init_kind kind)
{
    return (int)kind >= 0 && (int)kind < GPI_INIT_KINDS ? gpi_init_names[kind] : "?";
}

gp_status gp_init_parse(const char *name, gp_init_kind *kind)
{
    if (!name || !kind)
        return gpi_fail(GP_ERR_ARG, "gp_init_parse: NULL argument");
    for (int i = 0; i < GPI_INIT_KINDS; i++)
        if (strcmp(name, gpi_init_names[i]) == 0) {
            *kind = (gp_init_kind)i;
            return GP_OK;
        }
    return gpi_fail(GP_ERR_NOTFOUND, "unknown initializer '%s' (torch_default, "
                    "xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal)", name);
}

static void init_uniform(float *v, size_t count, double bound, gp_rng *rng)
{
    float b = (float)bound;
    for (size_t i = 0; i < count; i++)
        v[i] = gp_rng_uniform(rng, -b, b);
}

static void init_normal(float *v, size_t count, double std, gp_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)(std * gp_rng_normal(rng));
}

static void init_constant(float *v, size_t count, float value)
{
    for (size_t i = 0; i < count; i++)
        v[i] = value;
}

/* A layer that forgot to set its fans would otherwise get infinite bounds. */
static gp_status init_need_fans(const gp_layer *l, const gp_param *p, int need_out)
{
    if (p->fan_in > 0 && (!need_out || p->fan_out > 0))
        return GP_OK;
    return gpi_fail(GP_ERR_ARG, "gp_net_init: %s.%s has fan_in %d, fan_out %d; the "
                    "initializer needs them positive", l->ops->kind, p->name,
                    p->fan_in, p->fan_out);
}

/* The rule for p needs fans that are positive; checked for every parameter
 * before anything is drawn, so a failing call leaves the net untouched. */
static gp_status init_check(const gp_layer *l, const gp_param *p, gp_init_kind kind)
{
    if (p->fixed_init || (p->is_bias && kind != GP_INIT_TORCH_DEFAULT))
        return GP_OK;
    int xavier = !p->is_bias && (kind == GP_INIT_XAVIER_UNIFORM ||
                                 kind == GP_INIT_XAVIER_NORMAL);
    return init_need_fans(l, p, xavier);
}

static void init_bias(gp_param *p, gp_init_kind kind, float bias_value, gp_rng *rng)
{
    if (kind == GP_INIT_TORCH_DEFAULT)
        init_uniform(p->value, p->count, 1.0 / sqrt((double)p->fan_in), rng);
    else
        init_constant(p->value, p->count, bias_value);
}

static void init_weight(gp_param *p, gp_init_kind kind, gp_rng *rng)
{
    double fan_in = p->fan_in, fan_sum = (double)p->fan_in + (double)p->fan_out;
    switch (kind) {
    case GP_INIT_TORCH_DEFAULT:
        /* kaiming_uniform(a = sqrt(5)): gain sqrt(1/3), bound gain sqrt(3 / fan_in) */
        init_uniform(p->value, p->count, 1.0 / sqrt(fan_in), rng);
        break;
    case GP_INIT_XAVIER_UNIFORM:
        init_uniform(p->value, p->count, sqrt(6.0 / fan_sum), rng);
        break;
    case GP_INIT_XAVIER_NORMAL:
        init_normal(p->value, p->count, sqrt(2.0 / fan_sum), rng);
        break;
    case GP_INIT_KAIMING_UNIFORM:
        init_uniform(p->value, p->count, sqrt(6.0 / fan_in), rng);
        break;
    case GP_INIT_KAIMING_NORMAL:
        init_normal(p->value, p->count, sqrt(2.0 / fan_in), rng);
        break;
    }
}

gp_status gp_net_init(gp_net *net, gp_init_kind kind, float bias_value, gp_rng *rng)
{
    if (!net || !rng)
        return gpi_fail(GP_ERR_ARG, "gp_net_init: NULL argument");
    if ((int)kind < 0 || (int)kind >= GPI_INIT_KINDS)
        return gpi_fail(GP_ERR_ARG, "gp_net_init: unknown initializer %d", (int)kind);
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        const gp_layer *l = gp_net_layer(net, i);
        for (int j = 0; j < l->nparams; j++) {
            gp_status st = init_check(l, &l->params[j], kind);
            if (st != GP_OK)
                return st;
        }
    }
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        gp_layer *l = gp_net_layer(net, i);
        for (int j = 0; j < l->nparams; j++) {
            gp_param *p = &l->params[j];
            if (p->fixed_init)
                continue;
            if (p->is_bias)
                init_bias(p, kind, bias_value, rng);
            else
                init_weight(p, kind, rng);
        }
    }
    return GP_OK;
}
