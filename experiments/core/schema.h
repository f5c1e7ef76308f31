/*
 * schema.h - the root schemas of experiment and benchmark configs. Their
 * enums' choices are listed in the order of the C enums they decode to, so
 * that ycfg_enum gives the C value.
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

/* The schema configs/kernels*.yaml are checked against (root table). */
const ycfg_schema *gpx_bench_schema(void);

/* Distinct variant names a benchmark config can name, at most. */
#define GPX_MAX_VARIANT_NAMES 64

#endif /* GPOOL_EXPERIMENTS_CORE_SCHEMA_H */
