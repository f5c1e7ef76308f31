/*
 * point.h - one point of an experiment config, decoded into the typed
 * options of the core, and the process set-up a `gpool run` child makes.
 */
#ifndef GPOOL_EXPERIMENTS_CORE_POINT_H
#define GPOOL_EXPERIMENTS_CORE_POINT_H

#include "cfg/cfg.h"
#include "core/data.h"
#include "core/model.h"
#include "core/train.h"
#include "gpool_nn.h"

/* What one point of an experiment config asks for, as `gpool run` reads it:
 * the data set, and the training options (epochs, batch, seed, init,
 * optimizer, schedule, loss; no progress line, label or checkpoint). For
 * programs that reproduce a run step by step (tests/parity_driver.c). */
gpx_data_spec  gpx_run_data_spec(const ycfg_point *pt);
gpx_train_opts gpx_run_train_opts(const ycfg_point *pt);

/* OpenMP threads a point runs with: train.threads, or every online CPU for 0. */
int            gpx_run_threads(const ycfg_point *pt);

/* Set OpenMP and OpenBLAS to threads threads (0: gpx_run_threads); the count. */
int            gpx_run_use_threads(const ycfg_point *pt, int threads);

/* The first point of cfg whose model.head is head (the first point for
 * NULL), or NULL. */
const ycfg_point *gpx_run_point(const ycfg *cfg, const char *head);

/* Load the experiment config at path (gpx_run_schema) and pick its point for
 * head as gpx_run_point does. The point, *cfg to free with ycfg_free; or
 * NULL with err (a bad config or no such head: a bad command line or
 * config, not a failure). */
const ycfg_point *gpx_run_load_point(const char *path, const char *head, ycfg **cfg,
                                       char *err, size_t errlen);

/* Set this process up for one point as a `gpool run` child is: OpenMP and
 * OpenBLAS on threads threads (0: gpx_run_threads), and the point's data
 * loaded into *data. The thread count, or -1 with err. */
int gpx_run_prepare(const ycfg_point *pt, int threads, gpx_data *data, char *err,
                    size_t errlen);

/* The point's `model:` section decoded once (gpx_model_decode; messages
 * name cfg's path), to free with gpx_model_spec_free. 0, or -1 with err. */
int gpx_run_model_spec(const ycfg *cfg, const ycfg_point *pt, gpx_model_spec *model,
                       char *err, size_t errlen);

/* The point's network (model, its decoded `model:`) for batches of up to
 * batch of data's training images, with the weights gpx_train starts a run
 * from (model.init and bias_init, seeded by train.seed), so that what is
 * measured or compared is what `gpool run` trains. 0, or -1 with err and
 * *net NULL. */
int gpx_run_build_net(const ycfg_point *pt, const gpx_model_spec *model, const gpx_data *data,
                      int batch, gp_net **net, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_CORE_POINT_H */
