/*
 * schema.h - the root schema of experiment configs, and the vocabularies
 * its enums share with the code that decodes them.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_SCHEMA_H
#define GPOOL_EXPERIMENTS_CORE_SCHEMA_H

#include "cfg/cfg.h"

/* Why name cannot be one directory inside results/ (NULL: it can): one
 * path component of letters, digits, '.', '_' and '-', not starting with '.',
 * at most GPX_MAX_NAME_LEN characters. The check of the configs' `name:`. */
#define GPX_MAX_NAME_LEN 100
const char        *gpx_name_problem(const char *name);

/* The schema experiment configs (configs/tutorial.yaml, ...) are checked against. */
const ycfg_schema *gpx_run_schema(void);

/* The keys of an experiment config's `table:` section (gpx_run_schema's "table"). */
extern const ycfg_schema gpx_table_keys[];

/* table.columns choices (in their default order), and table.sort's
 * ("none", then the columns); NULL-terminated. */
extern const char *const gpx_table_column_names[];
extern const char *const gpx_table_sort_names[];

/* train.optimizer choices, in gp_optim_kind order; train.schedule choices,
 * in gpx_lr_schedule order. */
extern const char *const gpx_optim_choices[];
extern const char *const gpx_schedule_choices[];

/* The schema configs/kernels*.yaml are checked against (root table). */
const ycfg_schema *gpx_bench_schema(void);

/* bench.op, bench.pass and bench.layout choices, in gp_pool_op, gp_pass and
 * gp_layout order; NULL-terminated. */
extern const char *const gpx_op_choices[];
extern const char *const gpx_pass_choices[];
extern const char *const gpx_layout_choices[];

/* Distinct variant names a benchmark config can name, at most. */
#define GPX_MAX_VARIANT_NAMES 64

#endif /* GPOOL_EXPERIMENTS_CORE_SCHEMA_H */
