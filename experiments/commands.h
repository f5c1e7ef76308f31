/*
 * commands.h - entry points of the gpool subcommands (experiments/gpool.c
 * dispatches to them).
 *
 * A subcommand gets the command line from its own name on: argv[0] is the
 * subcommand's name ("bench") and its options follow. It returns the exit
 * status: 0 success, 1 failure (the message already printed), 2 a bad
 * command line, 130 interrupted.
 */
#ifndef GPOOL_EXPERIMENTS_COMMANDS_H
#define GPOOL_EXPERIMENTS_COMMANDS_H

#include "config.h"
#include "data.h"
#include "train.h"

/* gpool bench: time every pooling variant against the read bandwidth. */
int gpx_cmd_bench(int argc, char **argv);

/* The schema configs/kernels*.yaml are checked against (root table). */
const gp_cfg_schema *gpx_bench_schema(void);

/* gpool run: train every point of an experiment config. */
int gpx_cmd_run(int argc, char **argv);

/* The schema experiment configs (configs/tutorial.yaml, ...) are checked against. */
const gp_cfg_schema *gpx_run_schema(void);

/* What one point of an experiment config asks for, as `gpool run` reads it:
 * the data set, and the training options (epochs, batch, seed, init,
 * optimizer, schedule, loss; no progress line, label or checkpoint). For
 * programs that reproduce a run step by step (tests/parity_driver.c). */
gpx_data_spec  gpx_run_data_spec(const gp_cfg_point *pt);
gpx_train_opts gpx_run_train_opts(const gp_cfg_point *pt);

/* OpenMP threads a point runs with: train.threads, or every online CPU for 0. */
int            gpx_run_threads(const gp_cfg_point *pt);

/* The first point of cfg whose model.head is head (the first point for
 * NULL), or NULL. */
const gp_cfg_point *gpx_run_point(const gp_cfg *cfg, const char *head);

/* Load the experiment config at path (gpx_run_schema) and pick its point for
 * head as gpx_run_point does. The point, *cfg to free with gp_cfg_free; or
 * NULL with err (a bad config or no such head: a bad command line or
 * config, not a failure). */
const gp_cfg_point *gpx_run_load_point(const char *path, const char *head, gp_cfg **cfg,
                                       char *err, size_t errlen);

/* Set this process up for one point as a `gpool run` child is: OpenMP and
 * OpenBLAS on threads threads (0: gpx_run_threads), and the point's data
 * loaded into *data. The thread count, or -1 with err. */
int gpx_run_prepare(const gp_cfg_point *pt, int threads, gpx_data *data, char *err,
                    size_t errlen);

/* The point's network for batches of up to batch of data's training images,
 * with the weights gpx_train starts a run from (train.init, bias_init, seeded
 * by train.seed), so that what is measured or compared is what `gpool run`
 * trains. 0, or -1 with err and *net NULL. */
int gpx_run_build_net(const gp_cfg *cfg, const gp_cfg_point *pt, const gpx_data *data, int batch,
                      gp_net **net, char *err, size_t errlen);

/* gpool throughput: training-step and inference images/s of a config's net. */
int gpx_cmd_throughput(int argc, char **argv);

/* gpool merge: join the outputs of `gpool run --shard K/N` into one experiment. */
int gpx_cmd_merge(int argc, char **argv);

/* gpool rerun: run one recorded row again from its manifest and compare. */
int gpx_cmd_rerun(int argc, char **argv);

/* gpool table: markdown and LaTeX tables and charts from results/<experiment>/ CSVs. */
int gpx_cmd_table(int argc, char **argv);

/* The keys of an experiment config's `table:` section (gpx_run_schema's "table"). */
extern const gp_cfg_schema gpx_table_keys[];

/* gpool profile: per-layer forward/backward time of a config's network. */
int gpx_cmd_profile(int argc, char **argv);

#endif /* GPOOL_EXPERIMENTS_COMMANDS_H */
