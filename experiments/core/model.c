/* model.c - the `model:` section of a config, its typed spec, and the network it describes. */
#include "autoconfig.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"

/* ------------------------------------------------------------ layer types */

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
static const ycfg_schema adaptive_keys[] = {
    { "size", YCFG_INT, NULL, .min = 1, .max = 1024, .help = "output size (square)" },
    { NULL }
};
static const ycfg_schema no_keys[] = { { NULL } };

static int key_int(const ycfg_value *v, const char *key)
{
    return (int)ycfg_value_get(v, key)->i;
}

static float key_float(const ycfg_value *v, const char *key)
{
    return (float)ycfg_value_get(v, key)->f;
}

static void decode_conv(const ycfg_value *v, gp_layer_spec *s)
{
    int k = key_int(v, "k");
    s->u.conv2d.cout = key_int(v, "out");
    s->u.conv2d.kh = s->u.conv2d.kw = k;
    s->u.conv2d.stride = key_int(v, "stride");
    s->u.conv2d.pad = key_int(v, "pad");
    s->u.conv2d.bias = key_int(v, "bias");
}

static void decode_batchnorm(const ycfg_value *v, gp_layer_spec *s)
{
    s->u.batchnorm2d.momentum = key_float(v, "momentum");
    s->u.batchnorm2d.eps = key_float(v, "eps");
}

/* Both pooling kinds take the same keys; stride 0 means the window size. */
static void decode_pool(const ycfg_value *v, gp_layer_spec *s)
{
    int k = key_int(v, "k"), stride = key_int(v, "stride");
    s->u.pool2d.k = k;
    s->u.pool2d.stride = stride ? stride : k;
    s->u.pool2d.pad = key_int(v, "pad");
    s->u.pool2d.ceil_mode = key_int(v, "ceil");
}

static void decode_dropout(const ycfg_value *v, gp_layer_spec *s)
{
    s->u.dropout.p = key_float(v, "p");
}

static void decode_dense(const ycfg_value *v, gp_layer_spec *s)
{
    s->u.dense.out_features = key_int(v, "out");
    s->u.dense.bias = key_int(v, "bias");
}

static void decode_adaptive(const ycfg_value *v, gp_layer_spec *s)
{
    s->u.adaptive_pool2d.size = key_int(v, "size");
}

/* The trunk's layer types, one list: config type name, the library kind it
 * builds, its keys, how they decode into the kind's options (NULL: it has
 * none), and a line of help. The schema's variants and the decoding table
 * below are both made from it. */
#define GPX_LAYER_TYPES(X)                                                                   \
    X("conv",      GP_LAYER_CONV2D,      conv_keys,      decode_conv,      "2-D convolution") \
    X("batchnorm", GP_LAYER_BATCHNORM2D, batchnorm_keys, decode_batchnorm,                   \
      "batch normalization")                                                                 \
    X("relu",      GP_LAYER_RELU,        no_keys,        NULL,             "max(x, 0)")       \
    X("sigmoid",   GP_LAYER_SIGMOID,     no_keys,        NULL,             "logistic function") \
    X("avgpool",   GP_LAYER_AVGPOOL2D,   pool_keys,      decode_pool,                        \
      "local average pooling")                                                               \
    X("maxpool",   GP_LAYER_MAXPOOL2D,   pool_keys,      decode_pool,      "local max pooling") \
    X("dropout",   GP_LAYER_DROPOUT,     dropout_keys,   decode_dropout,   "inverted dropout") \
    X("flatten",   GP_LAYER_FLATTEN,     no_keys,        NULL,                               \
      "c x h x w -> features")                                                               \
    X("dense",     GP_LAYER_DENSE,       dense_keys,     decode_dense,     "fully connected") \
    X("adaptive_avgpool", GP_LAYER_ADAPTIVE_AVGPOOL2D, adaptive_keys, decode_adaptive,         \
      "average pooling to size x size bins (PyTorch's AdaptiveAvgPool2d)")                   \
    X("adaptive_maxpool", GP_LAYER_ADAPTIVE_MAXPOOL2D, adaptive_keys, decode_adaptive,         \
      "max pooling to size x size bins (PyTorch's AdaptiveMaxPool2d)")

#define GPX_AS_VARIANT(name, kind, keys, decode, text) \
    { name, YCFG_MAP, NULL, .items = keys, .help = text },
#define GPX_AS_TYPE(name, kind, keys, decode, text) { name, kind, decode },

static const ycfg_schema layer_variants[] = { GPX_LAYER_TYPES(GPX_AS_VARIANT) { NULL } };

typedef struct {
    const char    *name;
    gp_layer_kind  kind;
    void         (*decode)(const ycfg_value *v, gp_layer_spec *s);
} layer_type;

static const layer_type layer_types[] = { GPX_LAYER_TYPES(GPX_AS_TYPE) };

static const layer_type *find_layer_type(const char *name)
{
    for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
        if (!strcmp(layer_types[i].name, name))
            return &layer_types[i];
    return NULL;
}

/* ------------------------------------------------------------- heads */

/* The heads, one list: name, design, the pooling layer's kind and, for
 * head_pool, its op (unused otherwise and by the flatten heads; topk_pool and
 * spp take their options from the model section's topk: and spp: keys,
 * attn_pool and simpool from its heads: key).
 * catavgmax and spp give more features than classes, so they exist only
 * with a dense layer after them. */
#define GPX_HEADS(X)                                                                    \
    X("gap",             GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_AVG)       \
    X("gmp",             GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_MAX)       \
    X("gem",             GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_GEM)       \
    X("lse",             GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_LSE)       \
    X("mixed",           GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_MIXED)     \
    X("avgmax",          GPX_HEAD_CONV_POOL,     GP_LAYER_HEAD_POOL, GP_HEAD_AVGMAX)    \
    X("gap_dense",       GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_AVG)       \
    X("gmp_dense",       GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_MAX)       \
    X("gem_dense",       GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_GEM)       \
    X("lse_dense",       GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_LSE)       \
    X("mixed_dense",     GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_MIXED)     \
    X("avgmax_dense",    GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_AVGMAX)    \
    X("catavgmax_dense", GPX_HEAD_POOL_DENSE,    GP_LAYER_HEAD_POOL, GP_HEAD_CATAVGMAX) \
    X("flatten_dense",   GPX_HEAD_FLATTEN_DENSE, GP_LAYER_HEAD_POOL, GP_HEAD_AVG)       \
    X("topk",            GPX_HEAD_CONV_POOL,     GP_LAYER_TOPK_POOL, GP_HEAD_AVG)       \
    X("topk_dense",      GPX_HEAD_POOL_DENSE,    GP_LAYER_TOPK_POOL, GP_HEAD_AVG)       \
    X("spp_dense",       GPX_HEAD_POOL_DENSE,    GP_LAYER_SPP,       GP_HEAD_AVG)       \
    X("flatten_mlp",     GPX_HEAD_FLATTEN_MLP,   GP_LAYER_HEAD_POOL, GP_HEAD_AVG) \
    X("flatten_dropout_dense", GPX_HEAD_FLATTEN_DROPOUT_DENSE, GP_LAYER_HEAD_POOL, GP_HEAD_AVG) \
    X("attn",            GPX_HEAD_CONV_POOL,     GP_LAYER_ATTN_POOL, GP_HEAD_AVG)       \
    X("attn_dense",      GPX_HEAD_POOL_DENSE,    GP_LAYER_ATTN_POOL, GP_HEAD_AVG)       \
    X("simpool_dense",   GPX_HEAD_POOL_DENSE,    GP_LAYER_SIMPOOL,   GP_HEAD_AVG)

#define GPX_AS_NAME(name, design, kind, op) name,
#define GPX_AS_HEAD(name, design, kind, op) { name, design, kind, op },

static const char *const head_names[] = { GPX_HEADS(GPX_AS_NAME) NULL };

typedef struct {
    const char      *name;
    gpx_head_design  design;
    gp_layer_kind    kind;
    gp_head_op       op;
} head_type;

static const head_type heads[] = { GPX_HEADS(GPX_AS_HEAD) };

static const head_type *find_head(const char *name)
{
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (!strcmp(name, heads[i].name))
            return &heads[i];
    return NULL;
}

int gpx_head_parse(const char *name, gpx_head_design *design, gp_head_op *op)
{
    const head_type *h = find_head(name);
    if (!h)
        return -1;
    *design = h->design;
    *op = h->op;
    return 0;
}

/* ------------------------------------------------------------ schema */

static const ycfg_schema layer_schema[] = {
    { "layer", YCFG_TAGGED, NULL, .tag = "type", .items = layer_variants,
      .help = "one layer: {type: conv, out: 8, k: 3, pad: 1}" },
    { NULL }
};

static const char *const init_names[] = {
    "torch_default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", NULL
};

static const ycfg_schema topk_keys[] = {
    { "k", YCFG_INT, "0", .min = 0, .max = 1 << 24,
      .help = "the k largest per channel (at most H x W); 0: from fraction" },
    { "fraction", YCFG_FLOAT, "0.1", .min = 1e-6, .max = 1,
      .help = "k = ceil(fraction x H x W), 1..H x W, when k is 0" },
    { NULL }
};
static const ycfg_schema spp_level_schema[] = {
    { NULL, YCFG_INT, NULL, .min = 1, .max = 64, .help = "a pyramid level: l x l bins" },
};
/* In gp_pool_op order (avg, max): ycfg's choice index is the op. */
static const char *const spp_modes[] = { "avg", "max", NULL };
static const ycfg_schema spp_keys[] = {
    { "levels", YCFG_LIST, "[1, 2, 4]", .min = 1, .max = GP_SPP_MAX_LEVELS,
      .items = spp_level_schema, .help = "pyramid levels, distinct (features: C x sum l^2)" },
    { "mode", YCFG_ENUM, "avg", .choices = spp_modes, .help = "avg or max per bin" },
    { NULL }
};

const ycfg_schema gpx_model_schema[] = {
    { "trunk", YCFG_LIST, NULL, .min = 1, .max = 1000, .items = layer_schema,
      .help = "layers from the input to the head" },
    { "head", YCFG_ENUM, NULL, .choices = head_names,
      .help = "gap, gmp, ..., <op>_dense, flatten_dense, flatten_mlp (see gpool run --help)" },
    { "head_bias", YCFG_BOOL, "true", .help = "bias on the head's conv1x1 or dense layers" },
    { "head_hidden", YCFG_INT, "1024", .min = 1, .max = 1 << 20,
      .help = "flatten_mlp: width of the hidden dense layer" },
    { "head_dropout", YCFG_FLOAT, "0.5", .min = 0, .max = 0.99,
      .help = "flatten_mlp: drop probability after the hidden layer; flatten_dropout_dense: "
              "before the dense layer (0: no dropout layer)" },
    { "topk", YCFG_MAP, "{}", .items = topk_keys,
      .help = "topk, topk_dense: k, or the fraction of H x W that gives it" },
    { "spp", YCFG_MAP, "{}", .items = spp_keys,
      .help = "spp_dense: pyramid levels and avg or max" },
    { "heads", YCFG_INT, "1", .min = 1, .max = 65536,
      .help = "attn, attn_dense, simpool_dense: attention heads, the pooled channels split "
              "into this many equal groups with an attention map each" },
    { "init", YCFG_ENUM, "torch_default", .choices = init_names,
      .help = "weight initializer" },
    { "bias_init", YCFG_FLOAT, "0", .help = "constant bias under every init but torch_default" },
    { NULL }
};

/* ------------------------------------------------------------ decode */

void gpx_model_decode_init(const ycfg_value *model, gp_init_kind *init, float *bias_init)
{
    gp_init_parse(ycfg_value_get(model, "init")->s, init);
    *bias_init = (float)ycfg_value_get(model, "bias_init")->f;
}

/* The schema admits only the types and heads of the tables, so a miss here
 * is a table out of step with the schema. */
static int decode_trunk(const ycfg_value *trunk, gpx_model_spec *spec, char *err, size_t errlen)
{
    spec->trunk = calloc(trunk->n ? trunk->n : 1, sizeof *spec->trunk);
    if (!spec->trunk) {
        snprintf(err, errlen, "%s: out of memory for %zu layers", spec->source, trunk->n);
        return -1;
    }
    for (size_t i = 0; i < trunk->n; i++) {
        const ycfg_value *v = &trunk->items[i];
        const layer_type *t = find_layer_type(ycfg_value_get(v, "type")->s);
        gpx_trunk_layer *l = &spec->trunk[i];
        if (!t) {
            snprintf(err, errlen, "%s:%d:%d: trunk[%zu]: unknown layer type '%s'", spec->source,
                     v->line, v->col, i, ycfg_value_get(v, "type")->s);
            return -1;
        }
        *l = (gpx_trunk_layer){ t->name, { .kind = t->kind }, v->line, v->col };
        if (t->decode)
            t->decode(v, &l->layer);
        spec->ntrunk++;
    }
    return 0;
}

/* model.topk: k or the fraction, not both written. */
static int decode_topk(const ycfg_value *model, gpx_model_spec *spec, char *err, size_t errlen)
{
    const ycfg_value *topk = ycfg_value_get(model, "topk");
    const ycfg_value *k = ycfg_value_get(topk, "k"), *f = ycfg_value_get(topk, "fraction");
    if (!k->from_default && !f->from_default && k->i > 0) {
        snprintf(err, errlen, "%s:%d:%d: model.topk: give k or fraction, not both (k %lld, "
                 "fraction at line %d)", spec->source, k->line, k->col, k->i, f->line);
        return -1;
    }
    spec->pool.u.topk_pool.k = (int)k->i;
    spec->pool.u.topk_pool.fraction = (float)f->f;
    return 0;
}

/* model.spp: distinct levels, avg or max. */
static int decode_spp(const ycfg_value *model, gpx_model_spec *spec, char *err, size_t errlen)
{
    const ycfg_value *spp = ycfg_value_get(model, "spp");
    const ycfg_value *levels = ycfg_value_get(spp, "levels");
    for (size_t i = 0; i < levels->n; i++) {
        const ycfg_value *l = &levels->items[i];
        for (size_t j = 0; j < i; j++)
            if (levels->items[j].i == l->i) {
                snprintf(err, errlen, "%s:%d:%d: model.spp.levels: level %lld is given twice",
                         spec->source, l->line, l->col, l->i);
                return -1;
            }
        spec->pool.u.spp.levels[i] = (int)l->i;
    }
    spec->pool.u.spp.nlevels = (int)levels->n;
    spec->pool.u.spp.op = !strcmp(ycfg_value_get(spp, "mode")->s, "max") ? GP_POOL_MAX
                                                                         : GP_POOL_AVG;
    return 0;
}

/* model.heads for attn_pool and simpool; on any other head an error, as it
 * would change a run's id and nothing else. */
static int decode_heads(const ycfg_value *model, const head_type *h, gpx_model_spec *spec,
                        char *err, size_t errlen)
{
    const ycfg_value *v = ycfg_value_get(model, "heads");
    spec->heads = (int)v->i;
    spec->heads_line = v->line;
    spec->heads_col = v->col;
    if (h->kind == GP_LAYER_ATTN_POOL)
        spec->pool.u.attn_pool.heads = spec->heads;
    else if (h->kind == GP_LAYER_SIMPOOL)
        spec->pool.u.simpool.heads = spec->heads;
    else if (spec->heads != 1) {
        snprintf(err, errlen, "%s:%d:%d: heads: %d: head %s has no attention heads (heads "
                 "applies to attn, attn_dense and simpool_dense)", spec->source, v->line,
                 v->col, spec->heads, h->name);
        return -1;
    }
    return 0;
}

/* The head's pooling layer: its kind, and its options from the head table
 * (head_pool's op) or the model section (topk:, spp:). */
static int decode_head_pool(const ycfg_value *model, const head_type *h, gpx_model_spec *spec,
                            char *err, size_t errlen)
{
    spec->pool = (gp_layer_spec){ .kind = h->kind };
    switch (h->kind) {
    case GP_LAYER_TOPK_POOL: return decode_topk(model, spec, err, errlen);
    case GP_LAYER_SPP:       return decode_spp(model, spec, err, errlen);
    default:
        spec->pool.u.head_pool.op = h->op;
        return 0;
    }
}

static int decode_head(const ycfg_value *model, gpx_model_spec *spec, char *err, size_t errlen)
{
    const ycfg_value *head = ycfg_value_get(model, "head");
    const head_type *h = find_head(head->s);
    if (!h) {
        snprintf(err, errlen, "%s:%d:%d: unknown head '%s'", spec->source, head->line,
                 head->col, head->s);
        return -1;
    }
    spec->head = h->name;
    spec->design = h->design;
    spec->op = h->op;
    spec->head_line = head->line;
    spec->head_col = head->col;
    spec->head_bias = ycfg_value_get(model, "head_bias")->i != 0;
    spec->head_hidden = (int)ycfg_value_get(model, "head_hidden")->i;
    spec->head_dropout = (float)ycfg_value_get(model, "head_dropout")->f;
    return decode_head_pool(model, h, spec, err, errlen) ||
           decode_heads(model, h, spec, err, errlen) ? -1 : 0;
}

int gpx_model_decode(const ycfg_value *model, const char *source, gpx_model_spec *spec,
                     char *err, size_t errlen)
{
    memset(spec, 0, sizeof *spec);
    spec->source = strdup(source ? source : "config");
    if (!spec->source) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gpx_model_decode_init(model, &spec->init, &spec->bias_init);
    if (decode_trunk(ycfg_value_get(model, "trunk"), spec, err, errlen) ||
        decode_head(model, spec, err, errlen)) {
        gpx_model_spec_free(spec);
        return -1;
    }
    return 0;
}

void gpx_model_spec_free(gpx_model_spec *spec)
{
    free(spec->trunk);
    free(spec->source);
    memset(spec, 0, sizeof *spec);
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

/* "path:line:col: " where something was written, "path: " otherwise. */
static void where_prefix(const gpx_model_spec *spec, int line, int col, char *buf, size_t len)
{
    if (line)
        snprintf(buf, len, "%s:%d:%d", spec->source, line, col);
    else
        snprintf(buf, len, "%s", spec->source);
}

void gpx_model_layer_origin(const gpx_model_spec *spec, int i, char *buf, size_t len)
{
    char where[4096];
    if (i < spec->ntrunk) {
        where_prefix(spec, spec->trunk[i].line, spec->trunk[i].col, where, sizeof where);
        snprintf(buf, len, "%s: trunk[%d] (%s)", where, i, spec->trunk[i].type);
    } else {
        where_prefix(spec, spec->head_line, spec->head_col, where, sizeof where);
        snprintf(buf, len, "%s: head %s", where, spec->head);
    }
}

/* The op whose kernels a head's pooling layer runs, or -1 for a layer that
 * runs none. Every op of a size dispatches alike: its first op stands for it. */
static int head_kernel_op(const gp_layer *l)
{
    switch (l->spec.kind) {
    case GP_LAYER_HEAD_POOL: return GP_POOL_AVG;
    case GP_LAYER_TOPK_POOL: return GP_POOL_TOPK;
    case GP_LAYER_SPP:       return GP_POOL_ADAPTIVE_AVG;
    default:                 return -1;
    }
}

gp_status gpx_model_head_variant(gp_net *net, gp_variant_info *v, int *layer)
{
    *layer = -1;
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        const gp_layer *l = gp_net_layer(net, i);
        int op = head_kernel_op(l);
        if (op < 0)
            continue;
        gp_pool_desc d = { (size_t)l->in.n, (size_t)l->in.c, (size_t)l->in.h, (size_t)l->in.w,
                           GP_LAYOUT_NCHW, (gp_pool_op)op, 1 };
        *layer = i;
        return gp_select_variant(&d, GP_PASS_FORWARD, v);
    }
    return GP_OK;
}

typedef struct {
    const gpx_model_spec *spec;
    gp_net               *net;
    char                 *err;
    size_t                errlen;
    FILE                 *log;
    uint64_t              seed;
} build_ctx;

static void log_layer(const build_ctx *b, int index, const gp_layer *l)
{
    if (!b->log)
        return;
    char shape[32], params[16], flops[16];
    snprintf(shape, sizeof shape, "%dx%dx%d", l->out.c, l->out.h, l->out.w);
    fprintf(b->log, "  %-3d %-12s %-14s %10s %10s  %s\n", index, l->ops->kind, shape,
            gpx_si(params, sizeof params, (double)gp_layer_param_floats(l)),
            gpx_si(flops, sizeof flops, l->flops), l->desc);
}

/* Create the next layer of spec and append it; on failure err names where
 * the layer was written. */
static int add_layer(build_ctx *b, const gp_layer_spec *spec)
{
    int index = gp_net_layer_count(b->net);
    gp_layer *l = NULL;
    gp_status st = gp_layer_create(&l, gp_net_out_shape(b->net), spec);
    if (st == GP_OK)
        st = gp_net_add(b->net, l);
    if (st != GP_OK) {
        char origin[4352];
        gpx_model_layer_origin(b->spec, index, origin, sizeof origin);
        snprintf(b->err, b->errlen, "%s: %s", origin, gp_last_error());
        return -1;
    }
    log_layer(b, index, l);
    return 0;
}

static int add_trunk(build_ctx *b)
{
    for (int i = 0; i < b->spec->ntrunk; i++) {
        gp_layer_spec s = b->spec->trunk[i].layer;
        /* each dropout layer draws its own stream, different for every run seed */
        if (s.kind == GP_LAYER_DROPOUT)
            s.u.dropout.seed = b->seed * 1000003u + (uint64_t)i;
        if (add_layer(b, &s))
            return -1;
    }
    return 0;
}

/* A head's dropout of probability p (none at p = 0), drawing a stream of
 * its own per run seed. */
static int add_head_dropout(build_ctx *b, float p)
{
    if (!(p > 0))
        return 0;
    uint64_t index = (uint64_t)gp_net_layer_count(b->net);
    gp_layer_spec dropout = { .kind = GP_LAYER_DROPOUT,
                              .u.dropout = { p, b->seed * 1000003u + index } };
    return add_layer(b, &dropout);
}

/* flatten_mlp: flatten, dense to the hidden width, ReLU, dropout (none at
 * p = 0), dense to the classes: the classic head of the Fashion-MNIST
 * benchmark ConvNet. */
static int add_flatten_mlp(build_ctx *b, int classes)
{
    const gpx_model_spec *m = b->spec;
    gp_layer_spec flatten = { .kind = GP_LAYER_FLATTEN };
    gp_layer_spec hidden = { .kind = GP_LAYER_DENSE, .u.dense = { m->head_hidden, m->head_bias } };
    gp_layer_spec relu = { .kind = GP_LAYER_RELU };
    gp_layer_spec dense = { .kind = GP_LAYER_DENSE, .u.dense = { classes, m->head_bias } };
    if (add_layer(b, &flatten) || add_layer(b, &hidden) || add_layer(b, &relu) ||
        add_head_dropout(b, m->head_dropout))
        return -1;
    return add_layer(b, &dense);
}

/* An attention pool's heads must split the channels it pools into equal
 * groups (the library would refuse too; this names where heads was written). */
static int check_heads(build_ctx *b, int channels)
{
    const gpx_model_spec *m = b->spec;
    if ((m->pool.kind != GP_LAYER_ATTN_POOL && m->pool.kind != GP_LAYER_SIMPOOL) ||
        channels % m->heads == 0)
        return 0;
    char where[4096];
    where_prefix(m, m->heads_line, m->heads_col, where, sizeof where);
    snprintf(b->err, b->errlen, "%s: heads: %d: head %s pools %d channels, which do not split "
             "into %d equal groups", where, m->heads, m->head, channels, m->heads);
    return -1;
}

/* The head's layers: conv1x1 + pooling, pooling + dense, flatten + dense, or
 * flatten_mlp's. */
static int add_head(build_ctx *b, int classes)
{
    const gpx_model_spec *m = b->spec;
    gp_layer_spec conv = { .kind = GP_LAYER_CONV2D,
                           .u.conv2d = { classes, 1, 1, 1, 0, m->head_bias } };
    gp_layer_spec pool = m->pool;
    gp_layer_spec dense = { .kind = GP_LAYER_DENSE, .u.dense = { classes, m->head_bias } };
    gp_layer_spec flatten = { .kind = GP_LAYER_FLATTEN };
    switch (m->design) {
    case GPX_HEAD_CONV_POOL:
        return check_heads(b, classes) || add_layer(b, &conv) || add_layer(b, &pool) ? -1 : 0;
    case GPX_HEAD_POOL_DENSE:
        return check_heads(b, gp_net_out_shape(b->net).c) || add_layer(b, &pool) ||
               add_layer(b, &dense) ? -1 : 0;
    case GPX_HEAD_FLATTEN_DENSE:
        return add_layer(b, &flatten) || add_layer(b, &dense) ? -1 : 0;
    case GPX_HEAD_FLATTEN_MLP:
        return add_flatten_mlp(b, classes);
    case GPX_HEAD_FLATTEN_DROPOUT_DENSE:   /* NIN's fully connected head with dropout */
        return add_layer(b, &flatten) || add_head_dropout(b, m->head_dropout) ||
               add_layer(b, &dense) ? -1 : 0;
    }
    snprintf(b->err, b->errlen, "%s: head %s: unknown design", m->source, m->head);
    return -1;
}

static void log_totals(const build_ctx *b)
{
    if (!b->log)
        return;
    char params[16], flops[16];
    size_t floats = gp_net_param_floats(b->net);
    double fl = gp_net_flops(b->net);
    fprintf(b->log, "  %-3s %-12s %-14s %10s %10s  (%zu parameters, %.0f FLOPs per image)\n",
            "", "total", "", gpx_si(params, sizeof params, (double)floats),
            gpx_si(flops, sizeof flops, fl), floats, fl);
}

int gpx_model_build(const gpx_model_spec *spec, gp_shape in, int classes, uint64_t seed,
                    FILE *log, gp_net **out, char *err, size_t errlen)
{
    build_ctx b = { spec, NULL, err, errlen, log, seed };
    *out = NULL;
    if (gp_net_create(&b.net, in) != GP_OK) {
        snprintf(err, errlen, "%s: network: %s", spec->source, gp_last_error());
        return -1;
    }
    if (log)
        fprintf(log, "  %-3s %-12s %-14s %10s %10s  %s\n  %-3s %-12s %dx%dx%d\n", "#", "layer",
                "output", "params", "FLOPs", "details", "", "input", in.c, in.h, in.w);
    int rc = add_trunk(&b) || add_head(&b, classes) ? -1 : 0;
    if (rc == 0 && gp_net_finalize(b.net) != GP_OK) {
        snprintf(err, errlen, "%s: network: %s", spec->source, gp_last_error());
        rc = -1;
    }
    if (rc != 0) {
        gp_net_destroy(b.net);
        return -1;
    }
    log_totals(&b);
    *out = b.net;
    return 0;
}
