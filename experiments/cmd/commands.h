/*
 * commands.h - entry points of the gpool subcommands (cmd/main.c dispatches
 * to them).
 *
 * A subcommand gets the command line from its own name on: argv[0] is the
 * subcommand's name ("bench") and its options follow. It returns the exit
 * status: 0 success, 1 failure (the message already printed), 2 a bad
 * command line, 130 interrupted.
 */
#ifndef GPOOL_EXPERIMENTS_COMMANDS_H
#define GPOOL_EXPERIMENTS_COMMANDS_H

#include "cfg/cfg.h"

/* gpool bench: time every pooling variant against the read bandwidth. */
int gpx_cmd_bench(int argc, char **argv);

/* gpool run: train every point of an experiment config. */
int gpx_cmd_run(int argc, char **argv);

/* gpool throughput: training-step and inference images/s of a config's net. */
int gpx_cmd_throughput(int argc, char **argv);

/* gpool merge: join the outputs of `gpool run --shard K/N` into one experiment. */
int gpx_cmd_merge(int argc, char **argv);

/* gpool rerun: run one recorded row again from its manifest and compare. */
int gpx_cmd_rerun(int argc, char **argv);

/* gpool migrate: rewrite a results directory of the previous release to this one's run ids. */
int gpx_cmd_migrate(int argc, char **argv);

/* gpool status: where the sweep of a results directory stands. */
int gpx_cmd_status(int argc, char **argv);

/* gpool table: markdown and LaTeX tables and charts from results/<experiment>/ CSVs. */
int gpx_cmd_table(int argc, char **argv);

/* gpool claims: the claims of configs/claims.yaml tested on the studies' results. */
int gpx_cmd_claims(int argc, char **argv);

/* gpool cam: class activation maps of a run's kept weights over test images. */
int gpx_cmd_cam(int argc, char **argv);

/* gpool where: the localization measures of every run of a results directory. */
int gpx_cmd_where(int argc, char **argv);

/* gpool profile: per-layer forward/backward time of a config's network. */
int gpx_cmd_profile(int argc, char **argv);

#endif /* GPOOL_EXPERIMENTS_COMMANDS_H */
