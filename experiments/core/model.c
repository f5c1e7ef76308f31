/* model.c - the `model:` section of a config, and the network it describes. */
#include "autoconfig.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/model.h"

/* ------------------------------------------------------------ schema */

static const ycfg_schema conv_keys[] = {
    { "out", YCFG_INT, NULL, .min = 1, .max = 65536, .help = "output channels" },
    { "k", YCFG_INT, "3", .min = 1, .max = 64, .help = "kernel size (square)" },
    { "stride", YCFG_INT, "1", .min = 1, .max = 64, .help = "stride" },
    { "pad", YCFG_INT, "0", .min = 0, .max = 64, .help = "zero padding on each side" },
    { "bias", YCFG_BOOL, "true", .help = "learnable bias per output channel" },
    { NULL }
};
static const ycfg_schema batchnorm_keys[] = {
    { "momentum", YCFG_FLOAT, "0.1", .min = 0, .max = 1, .help = "running-statistics momentum" },
    { "eps", YCFG_FLOAT, "1e-5", .min = 1e-12, .max = 1, .help = "added to the variance" },
    { NULL }
};
static const ycfg_schema pool_keys[] = {
    { "k", YCFG_INT, "2", .min = 1, .max = 64, .help = "window size (square)" },
    { "stride", YCFG_INT, "0", .min = 0, .max = 64, .help = "stride; 0 means k" },
    { "pad", YCFG_INT, "0", .min = 0, .max = 32, .help = "padding, at most k/2" },
    { "ceil", YCFG_BOOL, "false", .help = "ceil_mode: keep a last partial window" },
    { NULL }
};
static const ycfg_schema dropout_keys[] = {
    { "p", YCFG_FLOAT, "0.5", .min = 0, .max = 0.99, .help = "drop probability" },
    { NULL }
};
static const ycfg_schema dense_keys[] = {
    { "out", YCFG_INT, NULL, .min = 1, .max = 1 << 20, .help = "output features" },
    { "bias", YCFG_BOOL, "true", .help = "learnable bias" },
    { NULL }
};
static const ycfg_schema no_keys[] = { { NULL } };

static const ycfg_schema layer_variants[] = {
    { "conv", YCFG_MAP, NULL, .items = conv_keys, .help = "2-D convolution" },
    { "batchnorm", YCFG_MAP, NULL, .items = batchnorm_keys, .help = "batch normalization" },
    { "relu", YCFG_MAP, NULL, .items = no_keys, .help = "max(x, 0)" },
    { "sigmoid", YCFG_MAP, NULL, .items = no_keys, .help = "logistic function" },
    { "maxpool", YCFG_MAP, NULL, .items = pool_keys, .help = "local max pooling" },
    { "avgpool", YCFG_MAP, NULL, .items = pool_keys, .help = "local average pooling" },
    { "dropout", YCFG_MAP, NULL, .items = dropout_keys, .help = "inverted dropout" },
    { "flatten", YCFG_MAP, NULL, .items = no_keys, .help = "c x h x w -> features" },
    { "dense", YCFG_MAP, NULL, .items = dense_keys, .help = "fully connected" },
    { NULL }
};
static const ycfg_schema layer_schema[] = {
    { "layer", YCFG_TAGGED, NULL, .tag = "type", .items = layer_variants,
      .help = "one layer: {type: conv, out: 8, k: 3, pad: 1}" },
    { NULL }
};

static const char *const head_names[] = {
    "gap", "gmp", "gem", "lse", "mixed", "avgmax",
    "gap_dense", "gmp_dense", "gem_dense", "lse_dense", "mixed_dense", "avgmax_dense",
    "catavgmax_dense",
    "flatten_dense",
    NULL
};

static const char *const init_names[] = {
    "torch_default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", NULL
};

const ycfg_schema gpx_model_schema[] = {
    { "trunk", YCFG_LIST, NULL, .min = 1, .max = 1000, .items = layer_schema,
      .help = "layers from the input to the head" },
    { "head", YCFG_ENUM, NULL, .choices = head_names,
      .help = "gap, gmp, ..., <op>_dense, flatten_dense (see gpool help run)" },
    { "head_bias", YCFG_BOOL, "true", .help = "bias on the head's conv1x1 or dense" },
    { "init", YCFG_ENUM, "torch_default", .choices = init_names,
      .help = "weight initializer" },
    { "bias_init", YCFG_FLOAT, "0", .help = "constant bias under every init but torch_default" },
    { NULL }
};

const char *const *gpx_head_names(void)
{
    return head_names;
}

/* ------------------------------------------------------------- heads */

static const struct {
    const char     *prefix;   /* name without the "_dense" suffix */
    gp_head_op      op;
} head_ops[] = {
    { "gap", GP_HEAD_AVG }, { "gmp", GP_HEAD_MAX }, { "gem", GP_HEAD_GEM },
    { "lse", GP_HEAD_LSE }, { "mixed", GP_HEAD_MIXED }, { "avgmax", GP_HEAD_AVGMAX },
    { "catavgmax", GP_HEAD_CATAVGMAX },
};

int gpx_head_parse(const char *name, gpx_head_design *design, gp_head_op *op)
{
    if (!strcmp(name, "flatten_dense")) {
        *design = GPX_HEAD_FLATTEN_DENSE;
        *op = GP_HEAD_AVG;
        return 0;
    }
    size_t len = strlen(name);
    int dense = len > 6 && !strcmp(name + len - 6, "_dense");
    size_t stem = dense ? len - 6 : len;
    for (size_t i = 0; i < sizeof head_ops / sizeof head_ops[0]; i++) {
        if (strlen(head_ops[i].prefix) != stem || strncmp(name, head_ops[i].prefix, stem))
            continue;
        /* concatenation doubles the channels: it cannot be the class scores */
        if (!dense && head_ops[i].op == GP_HEAD_CATAVGMAX)
            return -1;
        *design = dense ? GPX_HEAD_POOL_DENSE : GPX_HEAD_CONV_POOL;
        *op = head_ops[i].op;
        return 0;
    }
    return -1;
}

const char *gpx_head_design_name(gpx_head_design design)
{
    switch (design) {
    case GPX_HEAD_CONV_POOL: return "conv_pool";
    case GPX_HEAD_POOL_DENSE: return "pool_dense";
    case GPX_HEAD_FLATTEN_DENSE: return "flatten_dense";
    }
    return "?";
}

int gpx_head_size_agnostic(gpx_head_design design)
{
    return design != GPX_HEAD_FLATTEN_DENSE;
}

/* ------------------------------------------------------------ build */

const char *gpx_si(char *buf, size_t len, double value)
{
    static const char suffix[] = { ' ', 'K', 'M', 'G', 'T' };
    int k = 0;
    while (fabs(value) >= 999.5 && k < 4) {
        value /= 1000;
        k++;
    }
    if (k == 0)
        snprintf(buf, len, "%.0f", value);
    else
        snprintf(buf, len, "%.*f%c", fabs(value) < 9.995 ? 2 : fabs(value) < 99.95 ? 1 : 0,
                 value, suffix[k]);
    return buf;
}

typedef struct {
    const char *path;   /* config file, for messages */
    char       *err;
    size_t      errlen;
    FILE       *log;
    uint64_t    seed;
} build_ctx;

static int build_fail(build_ctx *b, const ycfg_value *where, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int build_fail(build_ctx *b, const ycfg_value *where, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (where && where->line)
        snprintf(b->err, b->errlen, "%s:%d:%d: %s", b->path, where->line, where->col, msg);
    else
        snprintf(b->err, b->errlen, "%s: %s", b->path, msg);
    return -1;
}

static void log_layer(build_ctx *b, int index, const gp_layer *l)
{
    if (!b->log)
        return;
    char shape[32], params[16], flops[16];
    snprintf(shape, sizeof shape, "%dx%dx%d", l->out.c, l->out.h, l->out.w);
    fprintf(b->log, "  %-3d %-12s %-14s %10s %10s  %s\n", index, l->ops->kind, shape,
            gpx_si(params, sizeof params, (double)gp_layer_param_floats(l)),
            gpx_si(flops, sizeof flops, l->flops), l->desc);
}

/* Append l to net and log it; on failure the net has already freed l. */
static int add_layer(build_ctx *b, gp_net *net, gp_status made, gp_layer *l,
                     const ycfg_value *where, const char *what)
{
    if (made != GP_OK)
        return build_fail(b, where, "%s: %s", what, gp_last_error());
    if (gp_net_add(net, l) != GP_OK)
        return build_fail(b, where, "%s: %s", what, gp_last_error());
    log_layer(b, gp_net_layer_count(net) - 1, l);
    return 0;
}

static long long item_int(const ycfg_value *v, const char *key)
{
    return ycfg_value_get(v, key)->i;
}

static int add_trunk_layer(build_ctx *b, gp_net *net, const ycfg_value *v, int index)
{
    const char *type = ycfg_value_get(v, "type")->s;
    gp_shape in = gp_net_out_shape(net);
    gp_layer *l = NULL;
    gp_status st;
    char what[48];
    snprintf(what, sizeof what, "trunk[%d] (%s)", index, type);
    if (!strcmp(type, "conv")) {
        int k = (int)item_int(v, "k");
        st = gp_conv2d_create(&l, in, (int)item_int(v, "out"), k, k, (int)item_int(v, "stride"),
                            (int)item_int(v, "pad"), (int)item_int(v, "bias"));
    } else if (!strcmp(type, "batchnorm")) {
        st = gp_batchnorm2d_create(&l, in, (float)ycfg_value_get(v, "momentum")->f,
                                 (float)ycfg_value_get(v, "eps")->f);
    } else if (!strcmp(type, "relu")) {
        st = gp_relu_create(&l, in);
    } else if (!strcmp(type, "sigmoid")) {
        st = gp_sigmoid_create(&l, in);
    } else if (!strcmp(type, "maxpool") || !strcmp(type, "avgpool")) {
        int k = (int)item_int(v, "k"), stride = (int)item_int(v, "stride");
        st = gp_pool2d_create(&l, in, type[0] == 'm' ? GP_POOL_MAX : GP_POOL_AVG, k,
                            stride ? stride : k, (int)item_int(v, "pad"), (int)item_int(v, "ceil"));
    } else if (!strcmp(type, "dropout")) {
        /* each dropout layer draws its own stream, different for every run seed */
        st = gp_dropout_create(&l, in, (float)ycfg_value_get(v, "p")->f,
                             b->seed * 1000003u + (uint64_t)index);
    } else if (!strcmp(type, "flatten")) {
        st = gp_flatten_create(&l, in);
    } else if (!strcmp(type, "dense")) {
        st = gp_dense_create(&l, in, (int)item_int(v, "out"), (int)item_int(v, "bias"));
    } else {
        return build_fail(b, v, "%s: unknown layer type", what);
    }
    return add_layer(b, net, st, l, v, what);
}

static int add_head(build_ctx *b, gp_net *net, const ycfg_value *model, int classes)
{
    const ycfg_value *head = ycfg_value_get(model, "head");
    int bias = ycfg_value_get(model, "head_bias")->i != 0;
    gpx_head_design design;
    gp_head_op op;
    gp_layer *l = NULL;
    if (gpx_head_parse(head->s, &design, &op))
        return build_fail(b, head, "unknown head '%s'", head->s);
    char what[48];
    snprintf(what, sizeof what, "head %s", head->s);
    gp_status st;
    switch (design) {
    case GPX_HEAD_CONV_POOL:
        st = gp_conv2d_create(&l, gp_net_out_shape(net), classes, 1, 1, 1, 0, bias);
        if (add_layer(b, net, st, l, head, what))
            return -1;
        st = gp_head_pool_create(&l, gp_net_out_shape(net), op);
        return add_layer(b, net, st, l, head, what);
    case GPX_HEAD_POOL_DENSE:
        st = gp_head_pool_create(&l, gp_net_out_shape(net), op);
        if (add_layer(b, net, st, l, head, what))
            return -1;
        st = gp_dense_create(&l, gp_net_out_shape(net), classes, bias);
        return add_layer(b, net, st, l, head, what);
    case GPX_HEAD_FLATTEN_DENSE:
        st = gp_flatten_create(&l, gp_net_out_shape(net));
        if (add_layer(b, net, st, l, head, what))
            return -1;
        st = gp_dense_create(&l, gp_net_out_shape(net), classes, bias);
        return add_layer(b, net, st, l, head, what);
    }
    return build_fail(b, head, "unknown head design");
}

static void log_totals(build_ctx *b, const gp_net *net)
{
    if (!b->log)
        return;
    char params[16], flops[16];
    fprintf(b->log, "  %-3s %-12s %-14s %10s %10s  (%zu parameters, %.0f FLOPs per image)\n",
            "", "total", "", gpx_si(params, sizeof params, (double)gp_net_param_floats(net)),
            gpx_si(flops, sizeof flops, gp_net_flops(net)), gp_net_param_floats(net),
            gp_net_flops(net));
}

int gpx_model_build(const ycfg_value *model, const char *config_path, gp_shape in,
                    int classes, uint64_t seed, FILE *log, gp_net **out, char *err, size_t errlen)
{
    build_ctx b = { config_path, err, errlen, log, seed };
    const ycfg_value *trunk = ycfg_value_get(model, "trunk");
    gp_net *net = NULL;
    *out = NULL;
    if (gp_net_create(&net, in) != GP_OK)
        return build_fail(&b, NULL, "network: %s", gp_last_error());
    if (log)
        fprintf(log, "  %-3s %-12s %-14s %10s %10s  %s\n  %-3s %-12s %dx%dx%d\n", "#", "layer",
                "output", "params", "FLOPs", "details", "", "input", in.c, in.h, in.w);
    for (size_t i = 0; i < trunk->n; i++)
        if (add_trunk_layer(&b, net, &trunk->items[i], (int)i))
            goto fail;
    if (add_head(&b, net, model, classes))
        goto fail;
    if (gp_net_finalize(net) != GP_OK) {
        build_fail(&b, NULL, "network: %s", gp_last_error());
        goto fail;
    }
    log_totals(&b, net);
    *out = net;
    return 0;
fail:
    gp_net_destroy(net);
    return -1;
}
