/*
 * test_study.c - what the claims studies (issue 17) need of `gpool run`,
 * on the synthetic set: the flatten_mlp head (its layers, parameters and
 * dropout), train.steps (a fixed number of optimizer steps, one row),
 * data.train_subset (a seeded draw of the training images), the no-grad
 * train accuracy pass (train_pass_acc), and train.lr_search (groups, the
 * trials and the choice); and the new keys' defaults and ranges.
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/lrsearch.h"
#include "core/point.h"
#include "core/schema.h"
#include "core/train.h"
#include "util/util.h"

/* A synthetic 12 x 12, 4-class config: conv 6 + relu + maxpool (6 x 6 x 6 = 216
 * features) and the given head, with `extra` lines added to its train: and
 * data: maps and `sweep` after them. */
static ycfg *load_config(const char *model_extra, const char *data_extra,
                         const char *train_extra, const char *sweep)
{
    char yaml[4096], err[1024];
    snprintf(yaml, sizeof yaml,
             "name: study\n"
             "data:\n  source: synthetic\n"
             "  synthetic: {train: 600, test: 200, size: 12, classes: 4, seed: 3}\n%s"
             "model:\n  trunk:\n    - {type: conv, out: 6, k: 3, pad: 1}\n"
             "    - {type: relu}\n    - {type: maxpool, k: 2}\n  head: flatten_mlp\n%s"
             "train:\n  epochs: 1\n  batch: 32\n  threads: 1\n  lr: 3e-3\n%s%s",
             data_extra, model_extra, train_extra, sweep);
    ycfg *cfg = ycfg_load_string("study.yaml", yaml, gpx_run_schema(), err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

static gp_net *build(const ycfg *cfg, size_t point, uint64_t seed)
{
    gpx_model_spec spec;
    gp_net *net;
    char err[1024];
    const ycfg_point *pt = ycfg_point_at(cfg, point);
    gp_shape in = { 32, 1, 12, 12 };
    if (gpx_run_model_spec(cfg, pt, &spec, err, sizeof err) ||
        gpx_model_build(&spec, in, 4, seed, NULL, &net, err, sizeof err))
        fail_msg("build: %s", err);
    gpx_model_spec_free(&spec);
    return net;
}

static gpx_data load_data(const ycfg_point *pt)
{
    gpx_data d;
    char err[1024];
    gpx_data_spec spec = gpx_run_data_spec(pt);
    if (gpx_data_load(&spec, &d, err, sizeof err))
        fail_msg("data: %s", err);
    return d;
}

/* ------------------------------------------------------------- keys */

static void test_new_keys(void **state)
{
    (void)state;
    ycfg *cfg = load_config("", "", "", "");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    assert_int_equal(ycfg_int(pt, "model.head_hidden"), 1024);
    assert_true(ycfg_float(pt, "model.head_dropout") == 0.5);
    assert_int_equal(ycfg_int(pt, "train.steps"), 0);
    assert_int_equal(ycfg_int(pt, "data.train_subset"), 0);
    assert_int_equal(ycfg_int(pt, "data.subset_seed"), 0);
    assert_int_equal(ycfg_get(pt, "train.lr_search.grid")->n, 0);
    assert_int_equal(ycfg_int(pt, "train.lr_search.holdout"), 5000);
    assert_false(gpx_lr_search_wanted(pt));
    assert_int_equal(gpx_run_train_opts(pt).steps, 0);
    ycfg_free(cfg);

    static const char *const bad[][3] = {
        { "  head_dropout: 1.5\n", "", "" },
        { "  head_hidden: 0\n", "", "" },
        { "", "", "  steps: -1\n" },
        { "", "  train_subset: -5\n", "" },
        { "", "", "  lr_search: {grid: [0]}\n" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char yaml[2048], err[1024];
        snprintf(yaml, sizeof yaml, "name: s\ndata:\n  source: synthetic\n%s"
                 "model:\n  trunk: [{type: relu}]\n  head: gap\n%strain:\n  epochs: 1\n%s",
                 bad[k][1], bad[k][0], bad[k][2]);
        ycfg *c = ycfg_load_string("bad.yaml", yaml, gpx_run_schema(), err, sizeof err);
        if (c)
            fail_msg("case %zu loaded:\n%s", k, yaml);
        assert_non_null(strstr(err, "bad.yaml:"));
    }
}

/* ------------------------------------------------------------- flatten_mlp */

static void test_flatten_mlp(void **state)
{
    (void)state;
    ycfg *cfg = load_config("  head_hidden: 20\n  head_dropout: 0.25\n", "", "", "");
    gp_net *net = build(cfg, 0, 5);
    static const char *const kinds[] = { "conv2d", "relu", "maxpool2d", "flatten", "dense",
                                         "relu", "dropout", "dense" };
    assert_int_equal(gp_net_layer_count(net), 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(gp_net_layer(net, i)->ops->kind, kinds[i]);
    /* conv 6 x 9 + 6; dense 216 x 20 + 20; dense 20 x 4 + 4 */
    assert_int_equal(gp_net_param_floats(net), 60 + 4340 + 84);
    assert_true(gp_net_layer(net, 6)->spec.u.dropout.p == 0.25f);
    uint64_t seed5 = gp_net_layer(net, 6)->spec.u.dropout.seed;
    double flops = gp_net_flops(net);
    gp_net_destroy(net);
    net = build(cfg, 0, 6);
    assert_true(gp_net_layer(net, 6)->spec.u.dropout.seed != seed5);
    gp_net_destroy(net);
    ycfg_free(cfg);

    cfg = load_config("  head_hidden: 20\n  head_dropout: 0\n", "", "", "");
    net = build(cfg, 0, 5);
    assert_int_equal(gp_net_layer_count(net), 7);
    assert_string_equal(gp_net_layer(net, 6)->ops->kind, "dense");
    assert_true(gp_net_flops(net) < flops);   /* the dropout's multiply per feature is gone */
    gp_net_destroy(net);
    ycfg_free(cfg);
}

/* ------------------------------------------------------------- train.steps */

static int count_rows(const gpx_epoch_row *row, void *ctx)
{
    (void)row;
    ++*(int *)ctx;
    return 0;
}

/* The optimizer steps the checkpoint in dir was saved after, as a run resumed from it reads them. */
static long long checkpoint_steps(const ycfg *cfg, const char *dir)
{
    gp_net *net = build(cfg, 0, 0);
    gp_optim *opt;
    gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
    assert_int_equal(gp_optim_create(&opt, &od, net), GP_OK);
    assert_int_equal(gp_checkpoint_load(dir, net, opt), GP_OK);
    long long steps = (long long)gp_optim_steps(opt);
    gp_optim_destroy(opt);
    gp_net_destroy(net);
    return steps;
}

static void test_train_steps(void **state)
{
    (void)state;
    /* 600 images in batches of 32: 19 steps a pass; 45 steps end inside the third */
    ycfg *cfg = load_config("  head_hidden: 16\n", "", "  steps: 45\n", "");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    gpx_data data = load_data(pt);
    gpx_train_opts o = gpx_run_train_opts(pt);
    assert_int_equal(o.steps, 45);
    o.epochs = 7;   /* left aside by train.steps */
    assert_int_equal(gpx_train_rows(&o), 1);
    assert_int_equal(gpx_train_steps_per_row(&o, data.train.count), 45);
    char dir[] = "/tmp/test_study.XXXXXX";
    assert_non_null(mkdtemp(dir));
    o.checkpoint_dir = dir;
    gp_net *net = build(cfg, 0, o.seed);
    gpx_train_result res;
    int rows = 0;
    assert_int_equal(gpx_train(net, &data, &o, count_rows, &rows, &res), 0);
    assert_int_equal(res.status, GPX_RUN_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(res.epochs_done, 1);
    assert_int_equal(checkpoint_steps(cfg, dir), 45);
    assert_true(isfinite(res.last.test_acc));
    gp_net_destroy(net);

    o.steps = 0;   /* epochs again: 7 rows of 19 steps */
    o.epochs = 7;
    net = build(cfg, 0, o.seed);
    rows = 0;
    assert_int_equal(gpx_train(net, &data, &o, count_rows, &rows, &res), 0);
    assert_int_equal(rows, 7);
    assert_int_equal(checkpoint_steps(cfg, dir), 7 * 19);
    gp_net_destroy(net);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    gpx_data_free(&data);
    ycfg_free(cfg);
}

/* ------------------------------------------------------------- train_subset */

/* The index in full of each image of part, which must be found in order. */
static void check_drawn_in_order(const gpx_split *full, const gpx_split *part)
{
    size_t img = (size_t)full->h * full->w;
    float *fx = gpx_split_floats(full), *px = gpx_split_floats(part);
    assert_non_null(fx);
    assert_non_null(px);
    int from = 0;
    for (int k = 0; k < part->count; k++) {
        while (from < full->count &&
               (memcmp(fx + (size_t)from * img, px + (size_t)k * img, img * sizeof(float)) ||
                full->y[from] != part->y[k]))
            from++;
        if (from == full->count)
            fail_msg("subset image %d is no later image of the training split", k);
        from++;
    }
    free(fx);
    free(px);
}

static void test_train_subset(void **state)
{
    (void)state;
    ycfg *cfg = load_config("", "  validation: 100\n", "",
                            "sweep:\n  data.subset_seed: [1, 2]\n"
                            "  data.train_subset: [50, 0]\n");
    /* points: seed 1 / 50, seed 1 / all, seed 2 / 50, seed 2 / all */
    gpx_data a = load_data(ycfg_point_at(cfg, 0)), full = load_data(ycfg_point_at(cfg, 1));
    gpx_data b = load_data(ycfg_point_at(cfg, 0)), c = load_data(ycfg_point_at(cfg, 2));
    assert_int_equal(full.train.count, 500);
    assert_int_equal(a.train.count, 50);
    assert_int_equal(a.val.count, 100);   /* the held-out images are not drawn from */
    size_t bytes = (size_t)50 * 144 * sizeof(float);
    float *ax = gpx_split_floats(&a.train), *bx = gpx_split_floats(&b.train);
    float *cx = gpx_split_floats(&c.train);
    assert_true(ax && bx && cx);
    assert_memory_equal(ax, bx, bytes);
    assert_memory_not_equal(ax, cx, bytes);
    free(ax);
    free(bx);
    free(cx);
    check_drawn_in_order(&full.train, &a.train);
    check_drawn_in_order(&full.train, &c.train);
    gpx_data_free(&a);
    gpx_data_free(&b);
    gpx_data_free(&c);
    gpx_data_free(&full);
    ycfg_free(cfg);

    cfg = load_config("", "  train_subset: 501\n  validation: 100\n", "", "");
    gpx_data_spec spec = gpx_run_data_spec(ycfg_point_at(cfg, 0));
    gpx_data d;
    char err[1024];
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "train_subset 501 is more than the 500"));
    ycfg_free(cfg);
}

/* ------------------------------------------------------------- train_pass_acc */

static void test_train_pass_acc(void **state)
{
    (void)state;
    ycfg *cfg = load_config("  head_hidden: 16\n  head_dropout: 0.5\n", "", "", "");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    gpx_data data = load_data(pt);
    gpx_train_opts o = gpx_run_train_opts(pt);
    gpx_train_result res;
    gp_net *net = build(cfg, 0, o.seed);
    assert_int_equal(gpx_train(net, &data, &o, NULL, NULL, &res), 0);
    assert_true(isnan(res.last.train_pass_acc));
    double running = res.last.train_acc;
    gp_net_destroy(net);

    o.train_eval_pass = 1;
    net = build(cfg, 0, o.seed);
    assert_int_equal(gpx_train(net, &data, &o, NULL, NULL, &res), 0);
    double loss, acc;
    assert_int_equal(gpx_evaluate(net, &data.train, 0, &loss, &acc), GP_OK);
    assert_true(res.last.train_pass_acc == acc);
    assert_true(res.last.train_acc == acc);
    assert_true(acc > 0.25 && acc != running);   /* above chance, and not the running figure */
    gp_net_destroy(net);
    gpx_data_free(&data);
    ycfg_free(cfg);
}

/* ------------------------------------------------------------- lr_search */

static gpx_lr_trial saved[GPX_LR_GRID_MAX];
static int nsaved, saved_choice;

static int no_choice(const char *dir, const gpx_lr_group *g, double *lr)
{
    (void)dir; (void)g; (void)lr;
    return 0;
}

static int keep_trials(const char *dir, const gpx_lr_group *g, const char *settings,
                       const gpx_lr_trial *t, int n, int chosen)
{
    (void)dir; (void)g;
    assert_non_null(strstr(settings, "holdout: 100"));
    memcpy(saved, t, (size_t)n * sizeof *t);
    nsaved = n;
    saved_choice = chosen;
    return 0;
}

static void test_lr_search(void **state)
{
    (void)state;
    ycfg *cfg = load_config("  head_hidden: 16\n", "",
                            "  lr_search: {grid: [1e-4, 1e-2], epochs: 1, holdout: 100}\n",
                            "sweep:\n  model.head: [gap, flatten_mlp]\n  train.seed: [0, 1]\n");
    gpx_lr_group g0, g1, g3;
    gpx_lr_search_group(cfg, 0, &g0);
    gpx_lr_search_group(cfg, 1, &g1);
    gpx_lr_search_group(cfg, 3, &g3);
    assert_string_equal(g1.id, ycfg_point_id(ycfg_point_at(cfg, 0)));
    assert_string_equal(g0.id, g1.id);
    assert_string_equal(g3.id, ycfg_point_id(ycfg_point_at(cfg, 2)));
    assert_string_equal(g3.text, "model.head=flatten_mlp");

    const ycfg_point *pt = ycfg_point_at(cfg, 3);
    assert_true(gpx_lr_search_wanted(pt));
    gpx_model_spec model;
    char err[1024];
    assert_int_equal(gpx_run_model_spec(cfg, pt, &model, err, sizeof err), 0);
    gpx_train_opts o = gpx_run_train_opts(pt);
    gpx_lr_store store = { no_choice, keep_trials };
    assert_int_equal(gpx_lr_search(pt, &model, &o, &store, "unused", &g3, err, sizeof err), 0);
    assert_int_equal(nsaved, 2);
    assert_true(saved[0].lr == 1e-4 && saved[1].lr == 1e-2);
    int best = saved[1].val_acc > saved[0].val_acc ? 1 : 0;
    assert_int_equal(saved_choice, best);
    assert_true(o.optim.lr == (float)saved[best].lr);
    /* 1e-4 for one epoch barely moves the net: the larger rate must win here */
    assert_int_equal(best, 1);
    gpx_model_spec_free(&model);
    ycfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_keys),
        cmocka_unit_test(test_flatten_mlp),
        cmocka_unit_test(test_train_steps),
        cmocka_unit_test(test_train_subset),
        cmocka_unit_test(test_train_pass_acc),
        cmocka_unit_test(test_lr_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
