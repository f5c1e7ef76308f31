/*
 * point.c - one point of an experiment config decoded into the typed
 * options the core takes (data spec, training options, threads), and the
 * set-up a `gpool run` child makes for it.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "core/model.h"
#include "core/point.h"
#include "core/schema.h"

static void set_threads(int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    openblas_set_num_threads(threads);
}

int gpx_run_threads(const ycfg_point *pt)
{
    long long t = ycfg_int(pt, "train.threads");
    if (t > 0)
        return (int)t;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

gpx_data_spec gpx_run_data_spec(const ycfg_point *pt)
{
    gpx_data_spec s;
    memset(&s, 0, sizeof s);
    s.source = ycfg_str(pt, "data.source");
    s.dir = *ycfg_str(pt, "data.dir") ? ycfg_str(pt, "data.dir") : NULL;
    s.train_images = ycfg_str(pt, "data.train_images");
    s.train_labels = ycfg_str(pt, "data.train_labels");
    s.test_images = ycfg_str(pt, "data.test_images");
    s.test_labels = ycfg_str(pt, "data.test_labels");
    s.file = ycfg_str(pt, "data.file");
    s.layout = ycfg_str(pt, "data.layout");
    s.channels = (int)ycfg_int(pt, "data.channels");
    s.classes = (int)ycfg_int(pt, "data.classes");
    s.normalize = ycfg_bool(pt, "data.normalize");
    s.nmean = (int)ycfg_floats(pt, "data.mean", s.mean, GPX_MAX_CHANNELS);
    s.nstd = (int)ycfg_floats(pt, "data.std", s.std, GPX_MAX_CHANNELS);
    s.validation = (int)ycfg_int(pt, "data.validation");
    s.train_limit = (int)ycfg_int(pt, "data.train_limit");
    s.test_limit = (int)ycfg_int(pt, "data.test_limit");
    s.train_subset = (int)ycfg_int(pt, "data.train_subset");
    s.subset_seed = (uint64_t)ycfg_int(pt, "data.subset_seed");
    s.synthetic_train = (int)ycfg_int(pt, "data.synthetic.train");
    s.synthetic_test = (int)ycfg_int(pt, "data.synthetic.test");
    s.synthetic_size = (int)ycfg_int(pt, "data.synthetic.size");
    s.synthetic_classes = (int)ycfg_int(pt, "data.synthetic.classes");
    s.synthetic_seed = (uint64_t)ycfg_int(pt, "data.synthetic.seed");
    s.resize = (int)ycfg_int(pt, "data.resize");
    s.canvas = (int)ycfg_int(pt, "data.canvas.size");
    s.canvas_seed = (uint64_t)ycfg_int(pt, "data.canvas.seed");
    return s;
}

gpx_train_opts gpx_run_train_opts(const ycfg_point *pt)
{
    gpx_train_opts o = gpx_train_defaults();
    o.epochs = (int)ycfg_int(pt, "train.epochs");
    o.steps = (long)ycfg_int(pt, "train.steps");
    o.batch = (int)ycfg_int(pt, "train.batch");
    o.shuffle = ycfg_bool(pt, "train.shuffle");
    o.seed = (uint64_t)ycfg_int(pt, "train.seed");
    gpx_model_decode_init(ycfg_get(pt, "model"), &o.init, &o.bias_init);
    /* the schema lists the choices in the enums' order (core/schema.h) */
    o.optim = gp_optim_defaults((gp_optim_kind)ycfg_enum(pt, "train.optimizer"));
    o.optim.lr = (float)ycfg_float(pt, "train.lr");
    o.optim.momentum = (float)ycfg_float(pt, "train.momentum");
    o.optim.dampening = (float)ycfg_float(pt, "train.dampening");
    o.optim.nesterov = ycfg_bool(pt, "train.nesterov");
    o.optim.weight_decay = (float)ycfg_float(pt, "train.weight_decay");
    o.optim.beta1 = (float)ycfg_float(pt, "train.beta1");
    o.optim.beta2 = (float)ycfg_float(pt, "train.beta2");
    o.optim.eps = (float)ycfg_float(pt, "train.eps");
    o.schedule = (gpx_lr_schedule)ycfg_enum(pt, "train.schedule");
    o.step_size = (int)ycfg_int(pt, "train.step_size");
    o.gamma = ycfg_float(pt, "train.gamma");
    o.min_lr = ycfg_float(pt, "train.min_lr");
    o.sigmoid_loss = ycfg_bool(pt, "train.loss_on_sigmoid");
    o.train_eval_pass = !strcmp(ycfg_str(pt, "train.train_accuracy"), "eval_pass");
    o.tensorboard = ycfg_bool(pt, "train.tensorboard");
    o.augment.hflip = ycfg_bool(pt, "data.augment.hflip");
    o.augment.crop_pad = (int)ycfg_int(pt, "data.augment.crop_pad");
    return o;
}

const ycfg_point *gpx_run_point(const ycfg *cfg, const char *head)
{
    for (size_t i = 0; i < ycfg_npoints(cfg); i++) {
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        if (!head || !strcmp(ycfg_str(pt, "model.head"), head))
            return pt;
    }
    return NULL;
}

const ycfg_point *gpx_run_load_point(const char *path, const char *head, ycfg **cfg,
                                       char *err, size_t errlen)
{
    *cfg = ycfg_load(path, gpx_run_schema(), err, errlen);
    if (!*cfg)
        return NULL;
    const ycfg_point *pt = gpx_run_point(*cfg, head);
    if (!pt) {
        snprintf(err, errlen, "%s has no point with model.head %s", path, head);
        ycfg_free(*cfg);
        *cfg = NULL;
    }
    return pt;
}

int gpx_run_use_threads(const ycfg_point *pt, int threads)
{
    if (!threads)
        threads = gpx_run_threads(pt);
    set_threads(threads);
    return threads;
}

int gpx_run_prepare(const ycfg_point *pt, int threads, gpx_data *data, char *err,
                    size_t errlen)
{
    threads = gpx_run_use_threads(pt, threads);
    gpx_data_spec spec = gpx_run_data_spec(pt);
    return gpx_data_load(&spec, data, err, errlen) ? -1 : threads;
}

int gpx_run_model_spec(const ycfg *cfg, const ycfg_point *pt, gpx_model_spec *model,
                       char *err, size_t errlen)
{
    return gpx_model_decode(ycfg_get(pt, "model"), ycfg_path(cfg), model, err, errlen);
}

int gpx_run_build_net(const ycfg_point *pt, const gpx_model_spec *model, const gpx_data *data,
                      int batch, gp_net **net, char *err, size_t errlen)
{
    uint64_t seed = gpx_run_train_opts(pt).seed;
    gp_shape in = { batch, data->train.c, data->train.h, data->train.w };
    if (gpx_model_build(model, in, data->train.classes, seed, NULL, net, err, errlen))
        return -1;
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    if (gp_net_init(*net, model->init, model->bias_init, &rng) != GP_OK) {
        snprintf(err, errlen, "%s", gp_last_error());
        gp_net_destroy(*net);
        *net = NULL;
        return -1;
    }
    return 0;
}
