/*
 * model.h - networks described in an experiment config: the `model:` section
 * (a trunk as a list of layers plus a named head) and the builder that turns
 * it into a gp_net, printing one line per layer.
 *
 * Head names: the conv_pool design (1x1 conv to the classes, then a pooling
 * op; the NIN / tutorial head) is named after its op: gap, gmp, gem, lse,
 * mixed, avgmax. The pool_dense design (a pooling op, then dense to the
 * classes) adds "_dense": gap_dense, gmp_dense, gem_dense, lse_dense,
 * mixed_dense, avgmax_dense, catavgmax_dense. flatten_dense is the classic
 * flatten + dense head.
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
    GPX_HEAD_FLATTEN_DENSE
} gpx_head_design;

/* Key table of the `model:` map (for an experiment's root schema). */
extern const ycfg_schema gpx_model_schema[];

/* NULL-terminated list of head names, in the order of the comment above. */
const char *const *gpx_head_names(void);

/* Split a head name into its design and pooling op; -1 if unknown. */
int gpx_head_parse(const char *name, gpx_head_design *design, gp_head_op *op);

/* "conv_pool", "pool_dense" or "flatten_dense". */
const char *gpx_head_design_name(gpx_head_design design);

/* 1 when a head accepts inputs of another size than it was built for
 * (every design except flatten_dense). */
int gpx_head_size_agnostic(gpx_head_design design);

/* Build the network of a resolved `model:` value for inputs `in` (in.n = the
 * maximum batch) and `classes` outputs; seed varies the dropout masks. One
 * line per layer goes to log (NULL for none). Errors name
 * config_path:line:column of the offending layer. 0, or -1 with err. */
int gpx_model_build(const ycfg_value *model, const char *config_path, gp_shape in,
                    int classes, uint64_t seed, FILE *log, gp_net **out, char *err,
                    size_t errlen);

/* "12.3K", "4.56M", "1.20G" (decimal units, three significant digits). */
const char *gpx_si(char *buf, size_t len, double value);

#endif /* GPOOL_EXPERIMENTS_MODEL_H */
