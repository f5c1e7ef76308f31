/*
 * model.h - networks described in an experiment config: the `model:` section
 * (a trunk as a list of layers plus a named head), decoded once into a typed
 * spec, and the builder that turns a spec into a gp_net, printing one line
 * per layer.
 *
 *     gpx_model_spec spec;
 *     if (gpx_model_decode(ycfg_get(pt, "model"), ycfg_path(cfg), &spec, err, errlen))
 *         ...;
 *     gp_shape in = { batch, 1, 28, 28 };
 *     gp_net *net;
 *     if (gpx_model_build(&spec, in, classes, seed, stderr, &net, err, errlen)) ...;
 *     gpx_model_spec_free(&spec);
 *
 * Two tables drive it (model.c): the trunk's layer types (config type name,
 * the library kind it builds, its keys and how they decode into the kind's
 * gp_layer_spec), and the heads (head name -> design and pooling op).
 *
 * Head names: the conv_pool design (1x1 conv to the classes, then a pooling
 * op; the NIN / tutorial head) is named after its op: gap, gmp, gem, lse,
 * mixed, avgmax, topk. The pool_dense design (a pooling op, then dense to
 * the classes) adds "_dense": gap_dense, gmp_dense, gem_dense, lse_dense,
 * mixed_dense, avgmax_dense, catavgmax_dense, topk_dense, spp_dense.
 * flatten_dense is the classic flatten + dense head; flatten_mlp the classic
 * head with a hidden layer (flatten, dense to model.head_hidden, ReLU,
 * dropout of model.head_dropout, dense to the classes). topk's k (or
 * fraction) and spp's levels and mode are keys of the model section (topk:,
 * spp:).
 * The attention heads attn (conv_pool: attention pooling of the class maps),
 * attn_dense and simpool_dense (pool_dense) take heads: (1 unless written;
 * an error on any other head).
 */
#ifndef GPOOL_EXPERIMENTS_MODEL_H
#define GPOOL_EXPERIMENTS_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "cfg/cfg.h"
#include "gpool_nn.h"

typedef enum {
    GPX_HEAD_CONV_POOL = 0,
    GPX_HEAD_POOL_DENSE,
    GPX_HEAD_FLATTEN_DENSE,
    GPX_HEAD_FLATTEN_MLP,
    GPX_HEAD_FLATTEN_DROPOUT_DENSE   /* flatten_dense with dropout before its dense layer */
} gpx_head_design;

/* One trunk layer: the library's typed options, and where it was written. */
typedef struct {
    const char    *type;        /* the config's type name: "conv", "maxpool", ... */
    gp_layer_spec  layer;       /* a dropout's seed is set when a net is built */
    int            line, col;   /* in the config; 0 when not written there */
} gpx_trunk_layer;

/* A `model:` section, decoded: everything the builder needs. */
typedef struct {
    gpx_trunk_layer *trunk;
    int              ntrunk;
    const char      *head;       /* "gap", "gem_dense", ... (static storage) */
    gpx_head_design  design;
    gp_head_op       op;         /* head_pool's op (GP_HEAD_AVG for the other kinds) */
    gp_layer_spec    pool;       /* the head's pooling layer (unused by flatten_dense) */
    int              heads;      /* model.heads (in pool for attn_pool and simpool) */
    int              heads_line, heads_col;   /* where heads was written; 0 when not */
    int              head_bias;  /* bias on the head's conv1x1 or dense layers */
    int              head_hidden;   /* flatten_mlp: hidden width */
    float            head_dropout;  /* flatten_mlp: drop probability (0: no dropout layer) */
    int              head_line, head_col;
    gp_init_kind     init;
    float            bias_init;
    char            *source;     /* the config's path, for messages */
} gpx_model_spec;

/* Key table of the `model:` map (for an experiment's root schema). */
extern const ycfg_schema gpx_model_schema[];

/* Decode a resolved `model:` value (from a config at source) into *spec, to
 * free with gpx_model_spec_free. 0, or -1 with err (out of memory, or a head
 * option that cannot be, such as heads written for a head without attention
 * heads, at its file:line:column). */
int gpx_model_decode(const ycfg_value *model, const char *source, gpx_model_spec *spec,
                     char *err, size_t errlen);

/* Free what gpx_model_decode allocated (a zeroed spec is fine). */
void gpx_model_spec_free(gpx_model_spec *spec);

/* The initializer keys of a `model:` value, as gpx_model_decode reads them
 * (for a point's training options). */
void gpx_model_decode_init(const ycfg_value *model, gp_init_kind *init, float *bias_init);

/* Split a head name into its design and pooling op; -1 if unknown. */
int gpx_head_parse(const char *name, gpx_head_design *design, gp_head_op *op);

/* Build the network of spec for inputs `in` (in.n = the maximum batch) and
 * `classes` outputs; seed varies the dropout masks. One line per layer goes
 * to log (NULL for none). Errors name source:line:column of the offending
 * layer (of heads: when it does not divide the channels the head pools).
 * 0, or -1 with err. */
int gpx_model_build(const gpx_model_spec *spec, gp_shape in, int classes, uint64_t seed,
                    FILE *log, gp_net **out, char *err, size_t errlen);

/* Where layer i of a net built from spec came from, for messages:
 * "config.yaml:12:7: trunk[3] (maxpool)" or "config.yaml:14:9: head gap". */
void gpx_model_layer_origin(const gpx_model_spec *spec, int i, char *buf, size_t len);

/* The pooling variant "auto" picks for the input the net's head pooling
 * layer (head_pool, topk_pool or spp) now has, into *v, and that layer's
 * index into *layer (-1 when the net has none): GP_OK (also without one),
 * or gp_select_variant's error (a bad GPOOL_VARIANT among them). */
gp_status gpx_model_head_variant(gp_net *net, gp_variant_info *v, int *layer);

/* "12.3K", "4.56M", "1.20G" (decimal units, three significant digits). */
const char *gpx_si(char *buf, size_t len, double value);

#endif /* GPOOL_EXPERIMENTS_MODEL_H */
