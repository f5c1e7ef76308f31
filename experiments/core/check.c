/*
 * check.c - every point of a sweep checked before anything trains (see
 * check.h): its data loaded, its network built at its training size and
 * reshaped to each eval size, its head's pooling variant selected.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/check.h"
#include "core/evalsize.h"
#include "core/model.h"
#include "core/point.h"

/* What the points checked so far share: the data set of the last one (the
 * points of a sweep mostly load the same) and the errors found. */
typedef struct {
    const ycfg          *cfg;
    const gpx_check_opts *o;
    gpx_data_spec        data_spec;
    int                  have_data;   /* data holds data_spec's set */
    char                 data_err[1024];
    gpx_data             data;
    int                  errors;
    int                  variant_reported;
} checker;

static void check_error(checker *c, const char *point, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "gpool run: %s (point %s)\n", msg, point);
    c->errors++;
}

static void report(const checker *c, const char *fmt, ...)
{
    if (!c->o->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->o->report, fmt, ap);
    va_end(ap);
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_data_spec(const gpx_data_spec *a, const gpx_data_spec *b)
{
    return same_text(a->source, b->source) && same_text(a->dir, b->dir) &&
           same_text(a->train_images, b->train_images) &&
           same_text(a->train_labels, b->train_labels) &&
           same_text(a->test_images, b->test_images) &&
           same_text(a->test_labels, b->test_labels) && same_text(a->file, b->file) &&
           same_text(a->layout, b->layout) && a->channels == b->channels &&
           a->classes == b->classes &&
           a->normalize == b->normalize &&
           a->nmean == b->nmean && a->nstd == b->nstd &&
           !memcmp(a->mean, b->mean, sizeof a->mean) && !memcmp(a->std, b->std, sizeof a->std) &&
           a->validation == b->validation &&
           a->train_limit == b->train_limit && a->test_limit == b->test_limit &&
           a->synthetic_train == b->synthetic_train && a->synthetic_test == b->synthetic_test &&
           a->synthetic_size == b->synthetic_size &&
           a->synthetic_classes == b->synthetic_classes &&
           a->synthetic_seed == b->synthetic_seed && a->resize == b->resize;
}

/* The config key a data error is about: the one it starts with when it
 * names one of the normalisation's, else data.source. */
static const char *blamed_key(const char *err)
{
    static const char *const keys[] = { "data.mean", "data.std", "data.canvas" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!strncmp(err, keys[k], strlen(keys[k])) && err[strlen(keys[k])] == ':')
            return keys[k];
    return "data.source";
}

/* The point's data set, loaded unless the point before loaded the same:
 * NULL when it cannot be (reported once per data set). Loaded at its own
 * size (data.resize is applied to the size the net is built for): the
 * sizes are what matter, and resizing would enter OpenMP. */
static const gpx_data *point_data(checker *c, const ycfg_point *pt)
{
    gpx_data_spec spec = gpx_run_data_spec(pt);
    if (c->have_data && same_data_spec(&spec, &c->data_spec))
        return c->data_err[0] ? NULL : &c->data;
    gpx_data_free(&c->data);
    c->data_spec = spec;
    c->have_data = 1;
    gpx_data_spec native = spec;
    native.resize = 0;
    if (gpx_data_spec_check(&spec, c->data_err, sizeof c->data_err) == 0 &&
        gpx_data_load(&native, &c->data, c->data_err, sizeof c->data_err) == 0) {
        c->data_err[0] = '\0';
        return &c->data;
    }
    if (!c->data_err[0])
        snprintf(c->data_err, sizeof c->data_err, "the data cannot be loaded");
    const ycfg_value *source = ycfg_get(pt, blamed_key(c->data_err));
    if (source && source->line)
        check_error(c, ycfg_point_id(pt), "%s:%d:%d: data: %s", ycfg_path(c->cfg),
                    source->line, source->col, c->data_err);
    else
        check_error(c, ycfg_point_id(pt), "%s: data: %s", ycfg_path(c->cfg), c->data_err);
    return NULL;
}

/* The head's global pooling has a variant for its input. A bad
 * GPOOL_VARIANT is refused here, reported once: it is the same for every
 * point, and no config value is to blame. */
static void check_variant(checker *c, const ycfg_point *pt, const gpx_model_spec *m,
                          gp_net *net)
{
    gp_variant_info v;
    int i;
    gp_status st = gpx_model_head_variant(net, &v, &i);
    if (st == GP_OK || (st == GP_ERR_ENV && c->variant_reported))
        return;
    c->variant_reported |= st == GP_ERR_ENV;
    if (st == GP_ERR_ENV || i < 0) { /* the environment's fault, not the config's */
        check_error(c, ycfg_point_id(pt), "%s", gp_last_error());
        return;
    }
    const gp_layer *l = gp_net_layer(net, i);
    char origin[4352];
    gpx_model_layer_origin(m, i, origin, sizeof origin);
    check_error(c, ycfg_point_id(pt), "%s: %dx%d input: %s", origin, l->in.h, l->in.w,
                gp_last_error());
}

/* Whether every eval method needs a canvas at least as large as the image. */
static int canvas_only(const ycfg_value *methods)
{
    for (size_t j = 0; j < methods->n; j++)
        if (!strcmp(methods->items[j].s, "resize"))
            return 0;
    return methods->n > 0;
}

/* The net reshaped to one eval size: n/a (reported, not an error) when it
 * cannot take it, as evals.csv will say. */
static void check_eval_size(checker *c, const ycfg_point *pt, const gpx_model_spec *m,
                            gp_net *net, int size)
{
    const gpx_split *img = &c->data.test;
    const char *id = ycfg_point_id(pt);
    if (canvas_only(ycfg_get(pt, "eval.methods")) && (size < img->h || size < img->w)) {
        report(c, "%s: eval at %dx%d: n/a: canvas smaller than the %dx%d image\n", id, size,
               size, img->h, img->w);
        return;
    }
    gp_shape in = { 1, img->c, size, size }, at;
    int layer = -1;
    if (gp_net_reshape_check(net, in, &layer, &at) != GP_OK && layer >= 0) {
        char origin[4352];
        gpx_model_layer_origin(m, layer, origin, sizeof origin);
        report(c, "%s: eval at %dx%d: n/a: %s: %s\n", id, size, size, origin, gp_last_error());
        return;
    }
    if (layer >= 0 || gp_net_reshape(net, in) != GP_OK) {
        check_error(c, id, "%s: eval at %dx%d: %s", ycfg_path(c->cfg), size, size,
                    gp_last_error());
        return;
    }
    report(c, "%s: eval at %dx%d: ok\n", id, size, size);
    check_variant(c, pt, m, net);
}

/* Build the point's network at its training size, then at every eval size. */
static void check_net(checker *c, const ycfg_point *pt, const gpx_model_spec *m,
                      const gpx_data *d)
{
    int resize = (int)ycfg_int(pt, "data.resize");
    int h = resize > 0 ? resize : d->train.h, w = resize > 0 ? resize : d->train.w;
    gp_shape in = { 1, d->train.c, h, w };
    gp_net *net = NULL;
    char err[4608];
    const char *id = ycfg_point_id(pt);
    if (gpx_model_build(m, in, d->train.classes, 1, NULL, &net, err, sizeof err)) {
        check_error(c, id, "%s (training at %dx%d)", err, h, w);
        return;
    }
    report(c, "%s: training at %dx%d: ok, %zu parameters\n", id, h, w,
           gp_net_param_floats(net));
    check_variant(c, pt, m, net);
    const ycfg_value *sizes = ycfg_get(pt, "eval.sizes");
    if (sizes->n && gpx_run_data_spec(pt).canvas) {
        check_error(c, id, "%s:%d:%d: eval.sizes: evaluation at other sizes starts from the "
                    "stored images and would leave out data.canvas; it is not available with a "
                    "canvas", ycfg_path(c->cfg), sizes->line, sizes->col);
        gp_net_destroy(net);
        return;
    }
    for (size_t i = 0; i < sizes->n; i++)
        check_eval_size(c, pt, m, net, (int)sizes->items[i].i);
    gp_net_destroy(net);
}

static void check_point(checker *c, const ycfg_point *pt)
{
    const gpx_data *d = point_data(c, pt);
    gpx_model_spec m;
    char err[4096];
    if (gpx_run_model_spec(c->cfg, pt, &m, err, sizeof err)) {
        check_error(c, ycfg_point_id(pt), "%s", err);
        return;
    }
    if (d)
        check_net(c, pt, &m, d);
    gpx_model_spec_free(&m);
}

int gpx_check_sweep(const ycfg *cfg, const gpx_check_opts *o)
{
    checker c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.o = o;
    for (size_t i = 0; i < ycfg_npoints(cfg); i++)
        if (!o->shard_n || (int)(i % (size_t)o->shard_n) == o->shard_k - 1)
            check_point(&c, ycfg_point_at(cfg, i));
    gpx_data_free(&c.data);
    return c.errors;
}

int gpx_check_sweep_apart(const ycfg *cfg, const gpx_check_opts *o)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "gpool run: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int errors = gpx_check_sweep(cfg, o);
        fflush(NULL);
        _exit(errors ? 1 : 0);
    }
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "gpool run: wait: %s\n", strerror(errno));
            return -1;
        }
    return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? 0 : 1;
}
