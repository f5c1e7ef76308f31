/* lrsearch.c - train.lr_search: a learning rate chosen per group of runs (see lrsearch.h). */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lrsearch.h"
#include "core/point.h"
#include "util/util.h"

int gpx_lr_search_wanted(const ycfg_point *pt)
{
    return ycfg_get(pt, "train.lr_search.grid")->n > 0;
}

/* The swept paths that do not split a group: the search replaces the rate,
 * and it picks one rate for all seeds. */
static int splits_groups(const char *path)
{
    return strcmp(path, "train.seed") && strcmp(path, "train.lr");
}

/* 1 when points a and b agree on every swept path that splits groups. */
static int same_group(const ycfg *cfg, const ycfg_point *a, const ycfg_point *b)
{
    for (size_t k = 0; k < ycfg_nswept(cfg); k++) {
        const char *path = ycfg_swept_path(cfg, k);
        if (!splits_groups(path))
            continue;
        char *x = ycfg_value_text(ycfg_get(a, path)), *y = ycfg_value_text(ycfg_get(b, path));
        int same = x && y && !strcmp(x, y);
        free(x);
        free(y);
        if (!same)
            return 0;
    }
    return 1;
}

void gpx_lr_search_group(const ycfg *cfg, size_t index, gpx_lr_group *g)
{
    const ycfg_point *pt = ycfg_point_at(cfg, index);
    size_t first = 0;
    while (first < index && !same_group(cfg, ycfg_point_at(cfg, first), pt))
        first++;
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", ycfg_point_id(ycfg_point_at(cfg, first)));
    size_t used = 0;
    for (size_t k = 0; k < ycfg_nswept(cfg) && used < sizeof g->text; k++) {
        const char *path = ycfg_swept_path(cfg, k);
        if (!splits_groups(path))
            continue;
        char *v = ycfg_value_text(ycfg_get(pt, path));
        used += (size_t)snprintf(g->text + used, sizeof g->text - used, "%s%s=%s",
                                 used ? " " : "", path, v ? v : "?");
        free(v);
    }
}

/* One trial: point pt's network trained at lr on data (its held-out images
 * as the validation split), from the search's seed, for its length. */
static gpx_lr_trial run_trial(const ycfg_point *pt, const gpx_model_spec *model,
                              const gpx_train_opts *o, const gpx_data *data, double lr)
{
    gpx_lr_trial t = { lr, NAN, NAN, GPX_RUN_FAILED };
    gpx_train_opts to = *o;
    char label[64], err[1024];
    to.seed = (uint64_t)ycfg_int(pt, "train.lr_search.seed");
    to.epochs = (int)ycfg_int(pt, "train.lr_search.epochs");
    to.steps = (long)ycfg_int(pt, "train.lr_search.steps");
    to.optim.lr = (float)lr;
    to.checkpoint_dir = to.resume_dir = NULL;
    to.resume_epochs = 0;
    to.train_eval_pass = 0;
    snprintf(label, sizeof label, "lr search %g:", lr);
    to.label = label;
    gp_net *net;
    gp_shape in = { to.batch, data->train.c, data->train.h, data->train.w };
    if (gpx_model_build(model, in, data->train.classes, to.seed, NULL, &net, err, sizeof err))
        return t;
    gpx_train_result res;
    gpx_train(net, data, &to, NULL, NULL, &res);
    gp_net_destroy(net);
    t.status = res.status;
    if (res.status == GPX_RUN_OK) {
        t.val_acc = res.last.val_acc;
        t.val_loss = res.last.val_loss;
    }
    return t;
}

/* The best finished trial (the first of equals), or -1. */
static int best_trial(const gpx_lr_trial *t, int n)
{
    int best = -1;
    for (int k = 0; k < n; k++)
        if (t[k].status == GPX_RUN_OK && isfinite(t[k].val_acc) &&
            (best < 0 || t[k].val_acc > t[best].val_acc))
            best = k;
    return best;
}

/* "lr search (model.head=gap): 0.0003 0.8812, 0.001 0.8901, 0.003 diverged: lr 0.001" */
static void report(const gpx_lr_group *g, const gpx_lr_trial *t, int n, int chosen)
{
    fprintf(stderr, "lr search (%s):", g->text[0] ? g->text : "all runs");
    for (int k = 0; k < n; k++) {
        fprintf(stderr, "%s %g ", k ? "," : "", t[k].lr);
        if (t[k].status == GPX_RUN_OK)
            fprintf(stderr, "%.4f", t[k].val_acc);
        else
            fputs(t[k].status == GPX_RUN_DIVERGED ? "diverged" : "failed", stderr);
    }
    if (chosen >= 0)
        fprintf(stderr, ": lr %g\n", t[chosen].lr);
    else
        fputs(": no rate\n", stderr);
}

int gpx_lr_search(const ycfg_point *pt, const gpx_model_spec *model, gpx_train_opts *o,
                  const gpx_lr_store *store, const char *dir, const gpx_lr_group *g,
                  char *err, size_t errlen)
{
    const ycfg_value *grid = ycfg_get(pt, "train.lr_search.grid");
    int n = grid->n < GPX_LR_GRID_MAX ? (int)grid->n : GPX_LR_GRID_MAX;
    gpx_data_spec spec = gpx_run_data_spec(pt);
    spec.validation = (int)ycfg_int(pt, "train.lr_search.holdout");
    gpx_data data;
    char why[1024];
    if (gpx_data_load(&spec, &data, why, sizeof why))
        return gpx_fail(err, errlen, "lr search: holding out %d training images: %s",
                        spec.validation, why);
    gpx_lr_trial trials[GPX_LR_GRID_MAX];
    for (int k = 0; k < n; k++)
        trials[k] = run_trial(pt, model, o, &data, grid->items[k].f);
    gpx_data_free(&data);
    int chosen = best_trial(trials, n);
    report(g, trials, n, chosen);
    char *settings = ycfg_value_text(ycfg_get(pt, "train.lr_search"));
    int saved = store->save(dir, g, settings ? settings : "", trials, n, chosen);
    free(settings);
    if (chosen < 0)
        return gpx_fail(err, errlen, "lr search: no rate of the grid trained without diverging");
    if (saved)
        return gpx_fail(err, errlen, "lr search: the trials could not be recorded in %s", dir);
    o->optim.lr = (float)trials[chosen].lr;
    return 0;
}
