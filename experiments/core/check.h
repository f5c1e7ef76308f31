/*
 * check.h - check every point of an experiment before anything trains:
 * the data it loads, and its network built at every input size it will
 * meet (the training size, after data.resize, and every eval.sizes entry),
 * so that a sweep does not fail the same way once per point after hours of
 * work. Nothing is trained or written.
 *
 *     gpx_check_opts o = { .shard_k = 0, .shard_n = 0, .report = stdout };
 *     int errors = gpx_check_sweep(cfg, &o);       // in this process
 *     int errors = gpx_check_sweep_apart(cfg, &o); // in a process of its own
 *
 * Every error found is printed to stderr ("gpool run: MESSAGE (point ID)"),
 * with the file:line:column of the config value responsible where there is
 * one: a kernel larger than its input, a map shrunk to nothing, a bad
 * GPOOL_VARIANT, data that cannot be loaded. An eval size the network
 * cannot take is not an error: it gives an n/a row in evals.csv, and the
 * report says so.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_CHECK_H
#define GPOOL_EXPERIMENTS_CORE_CHECK_H

#include <stdio.h>

#include "cfg/cfg.h"

typedef struct {
    int   shard_k, shard_n;  /* only the points i with i % N == K - 1 (N = 0: all) */
    FILE *report;            /* one line per point and input size; NULL for none */
} gpx_check_opts;

/* Check the points of cfg that o selects: the number of errors (each
 * printed to stderr), 0 when all is well. May enter OpenMP regions. */
int gpx_check_sweep      (const ycfg *cfg, const gpx_check_opts *o);

/* gpx_check_sweep in a child process, so that the caller stays out of
 * OpenMP (libgomp's pool does not survive fork) and keeps none of the
 * memory the check used: 0 when all is well, 1 when errors were found (or
 * the check died), -1 when no process could be started (printed). */
int gpx_check_sweep_apart(const ycfg *cfg, const gpx_check_opts *o);

#endif /* GPOOL_EXPERIMENTS_CORE_CHECK_H */
