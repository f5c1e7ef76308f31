/*
 * cam.c - class activation maps of a trained network (see cam.h).
 */
#include "autoconfig.h"

#include "core/cam.h"

#include <stdlib.h>
#include <string.h>

#include "core/evalsize.h"
#include "core/point.h"
#include "core/schema.h"
#include "util/util.h"

static const char *const method_names[GPX_CAM_NMETHODS] = {
    [GPX_CAM_SCORE] = "score", [GPX_CAM_CAM] = "cam", [GPX_CAM_ATTENTION] = "attention",
    [GPX_CAM_GRADCAM] = "gradcam",
};

const char *gpx_cam_method_name(gpx_cam_method m)
{
    return (unsigned)m < GPX_CAM_NMETHODS ? method_names[m] : NULL;
}

int gpx_cam_method_parse(const char *name, gpx_cam_method *m)
{
    for (int k = 0; k < GPX_CAM_NMETHODS; k++)
        if (!strcmp(name, method_names[k])) {
            *m = (gpx_cam_method)k;
            return 0;
        }
    return -1;
}

static int has_attention(const gpx_model_spec *spec)
{
    return spec->design != GPX_HEAD_FLATTEN_DENSE && spec->design != GPX_HEAD_FLATTEN_MLP &&
           (spec->pool.kind == GP_LAYER_ATTN_POOL || spec->pool.kind == GP_LAYER_SIMPOOL);
}

static int method_defined(const gpx_model_spec *spec, gpx_cam_method m)
{
    switch (m) {
    case GPX_CAM_SCORE:     return spec->design == GPX_HEAD_CONV_POOL;
    case GPX_CAM_CAM:       return spec->design == GPX_HEAD_POOL_DENSE &&
                                   spec->pool.kind != GP_LAYER_SPP;
    case GPX_CAM_ATTENTION: return has_attention(spec);
    case GPX_CAM_GRADCAM:   return 1;
    }
    return 0;
}

int gpx_cam_defined(const gpx_model_spec *spec, gpx_cam_method m, char *why, size_t len)
{
    if (method_defined(spec, m))
        return 1;
    char have[128] = "";
    for (int k = 0; k < GPX_CAM_NMETHODS; k++)
        if (method_defined(spec, (gpx_cam_method)k)) {
            size_t used = strlen(have);
            snprintf(have + used, sizeof have - used, "%s%s", used ? ", " : "", method_names[k]);
        }
    const char *name = gpx_cam_method_name(m);
    snprintf(why, len, "head %s has no %s map (it has: %s)", spec->head,
             name ? name : "such", have);
    return 0;
}

gpx_cam_method gpx_cam_default(const gpx_model_spec *spec)
{
    if (method_defined(spec, GPX_CAM_SCORE))
        return GPX_CAM_SCORE;
    return method_defined(spec, GPX_CAM_CAM) ? GPX_CAM_CAM : GPX_CAM_GRADCAM;
}

/* ------------------------------------------------------------ passes */

/* One batch's buffers: the trunk's outputs in turn, each head layer's
 * output, the gradients of backward in turn, the head input's gradient,
 * and the maps at the head's resolution. */
typedef struct {
    gp_net               *net;
    const gpx_model_spec *spec;
    gpx_cam_method        method;
    int                   first, nlayers, batch;
    gp_shape              a;        /* the head's input: c planes of h x w */
    float                *trunk[2], *grad[2], *da, *small;
    float               **head;
} cam_run;

static void run_free(cam_run *r)
{
    for (int k = 0; k < 2; k++) {
        free(r->trunk[k]);
        free(r->grad[k]);
    }
    for (int i = 0; r->head && i < r->nlayers - r->first; i++)
        free(r->head[i]);
    free(r->head);
    free(r->da);
    free(r->small);
}

static float *floats(size_t count)
{
    return malloc((count ? count : 1) * sizeof(float));
}

/* The largest image of the layers [from, to) (their inputs and outputs). */
static size_t largest_image(gp_net *net, int from, int to)
{
    size_t most = 1;
    for (int i = from; i < to; i++) {
        const gp_layer *l = gp_net_layer(net, i);
        size_t in = gp_shape_image_size(l->in), out = gp_shape_image_size(l->out);
        most = in > most ? in : most;
        most = out > most ? out : most;
    }
    return most;
}

static int run_alloc(cam_run *r)
{
    size_t b = (size_t)r->batch;
    size_t trunk = largest_image(r->net, 0, r->first), head = largest_image(r->net, r->first,
                                                                            r->nlayers);
    r->head = calloc((size_t)(r->nlayers - r->first), sizeof *r->head);
    if (!r->head)
        return -1;
    for (int i = r->first; i < r->nlayers; i++)
        if (!(r->head[i - r->first] = floats(b * gp_shape_image_size(
                                                     gp_net_layer(r->net, i)->out))))
            return -1;
    for (int k = 0; k < 2; k++)
        if (!(r->trunk[k] = floats(b * trunk)) || !(r->grad[k] = floats(b * head)))
            return -1;
    r->da = floats(b * gp_shape_image_size(r->a));
    r->small = floats(b * (size_t)r->a.h * (size_t)r->a.w);
    return r->da && r->small ? 0 : -1;
}

/* The trunk's output for nb images (x itself without a trunk), or NULL. */
static const float *run_trunk(cam_run *r, int nb, const float *x)
{
    const float *in = x;
    for (int i = 0; i < r->first; i++) {
        float *out = r->trunk[i & 1];
        if (gp_layer_forward(gp_net_layer(r->net, i), nb, in, out, GP_EVAL) != GP_OK)
            return NULL;
        in = out;
    }
    return in;
}

/* The head's layers on a; Grad-CAM's pass keeps what backward needs, but a
 * dropout stays off. */
static int run_head(cam_run *r, int nb, const float *a)
{
    const float *in = a;
    for (int i = r->first; i < r->nlayers; i++) {
        gp_layer *l = gp_net_layer(r->net, i);
        gp_mode mode = r->method == GPX_CAM_GRADCAM && l->spec.kind != GP_LAYER_DROPOUT
                           ? GP_TRAIN : GP_EVAL;
        if (gp_layer_forward(l, nb, in, r->head[i - r->first], mode) != GP_OK)
            return -1;
        in = r->head[i - r->first];
    }
    return 0;
}

/* d logit[cls[b]] / d a into r->da, through the head's layers. */
static int backward_head(cam_run *r, int nb, const float *a, const int *cls, int classes)
{
    float *dy = r->grad[0];
    memset(dy, 0, (size_t)nb * (size_t)classes * sizeof *dy);
    for (int b = 0; b < nb; b++)
        dy[(size_t)b * (size_t)classes + (size_t)cls[b]] = 1.0f;
    for (int i = r->nlayers - 1, turn = 1; i >= r->first; i--, turn ^= 1) {
        gp_layer *l = gp_net_layer(r->net, i);
        const float *x = i == r->first ? a : r->head[i - r->first - 1];
        float *dx = i == r->first ? r->da : r->grad[turn];
        if (l->spec.kind == GP_LAYER_DROPOUT)
            memcpy(dx, dy, (size_t)nb * gp_shape_image_size(l->in) * sizeof *dx);
        else if (gp_layer_backward(l, nb, x, r->head[i - r->first], dy, dx) != GP_OK)
            return -1;
        dy = dx;
    }
    return 0;
}

/* ------------------------------------------------------------ the maps */

/* map = sum_k coef[k] a_k over one image's c planes of hw. */
static void weighted_sum(const float *a, const double *coef, int c, size_t hw, float *map)
{
    for (size_t p = 0; p < hw; p++) {
        double s = 0.0;
        for (int k = 0; k < c; k++)
            s += coef[k] * a[(size_t)k * hw + p];
        map[p] = (float)s;
    }
}

/* Zhou et al.'s weights of class cls: the dense layer's row (catavgmax:
 * each channel's avg and max weights summed). */
static void cam_weights(const cam_run *r, int cls, double *coef)
{
    const gp_layer *dense = gp_net_layer(r->net, r->first + 1);
    const float *w = dense->params[0].value;
    int c = r->a.c, features = dense->in.c;
    const float *row = w + (size_t)cls * (size_t)features;
    for (int k = 0; k < c; k++)
        coef[k] = row[k] + (features == 2 * c ? row[c + k] : 0.0f);
}

/* Grad-CAM's weights: the mean over positions of each plane of da. */
static void gradcam_weights(const float *da, int c, size_t hw, double *coef)
{
    for (int k = 0; k < c; k++) {
        double s = 0.0;
        for (size_t p = 0; p < hw; p++)
            s += da[(size_t)k * hw + p];
        coef[k] = s / (double)hw;
    }
}

/* Image b's attention map for class cls into map. */
static int attention_map(const cam_run *r, int b, int cls, int classes, float *map)
{
    int pool = r->spec->design == GPX_HEAD_CONV_POOL ? r->first + 1 : r->first;
    int n, heads;
    const float *w;
    if (gp_attention_map(gp_net_layer(r->net, pool), &n, &heads, &w) != GP_OK || b >= n)
        return -1;
    size_t hw = (size_t)r->a.h * (size_t)r->a.w;
    const float *img = w + (size_t)b * (size_t)heads * hw;
    if (r->spec->design == GPX_HEAD_CONV_POOL) {
        memcpy(map, img + (size_t)(cls / (classes / heads)) * hw, hw * sizeof *map);
        return 0;
    }
    for (size_t p = 0; p < hw; p++) {
        double s = 0.0;
        for (int g = 0; g < heads; g++)
            s += img[(size_t)g * hw + p];
        map[p] = (float)(s / heads);
    }
    return 0;
}

/* Image b's map at the head's resolution into r->small + b * hw. */
static int image_map(cam_run *r, const float *a, int b, int cls, int classes, double *coef)
{
    size_t hw = (size_t)r->a.h * (size_t)r->a.w, img = gp_shape_image_size(r->a);
    float *map = r->small + (size_t)b * hw;
    switch (r->method) {
    case GPX_CAM_SCORE:
        memcpy(map, r->head[0] + ((size_t)b * (size_t)classes + (size_t)cls) * hw,
               hw * sizeof *map);
        return 0;
    case GPX_CAM_CAM:
        cam_weights(r, cls, coef);
        weighted_sum(a + (size_t)b * img, coef, r->a.c, hw, map);
        return 0;
    case GPX_CAM_ATTENTION:
        return attention_map(r, b, cls, classes, map);
    case GPX_CAM_GRADCAM:
        gradcam_weights(r->da + (size_t)b * img, r->a.c, hw, coef);
        weighted_sum(a + (size_t)b * img, coef, r->a.c, hw, map);
        for (size_t p = 0; p < hw; p++)
            map[p] = map[p] > 0.0f ? map[p] : 0.0f;
        return 0;
    }
    return -1;
}

/* nb images from x: their maps upsampled into maps, logits copied. */
static int run_batch(cam_run *r, int nb, const float *x, const int *cls, float *maps,
                     float *logits, double *coef, char *err, size_t errlen)
{
    int classes = gp_net_layer(r->net, r->nlayers - 1)->out.c;
    const float *a = run_trunk(r, nb, x);
    if (!a || run_head(r, nb, a) ||
        (r->method == GPX_CAM_GRADCAM && backward_head(r, nb, a, cls, classes)))
        return gpx_fail(err, errlen, "class activation maps: %s", gp_last_error());
    for (int b = 0; b < nb; b++) {
        if (cls[b] < 0 || cls[b] >= classes)
            return gpx_fail(err, errlen, "class activation maps: class %d outside [0, %d)",
                            cls[b], classes);
        if (image_map(r, a, b, cls[b], classes, coef))
            return gpx_fail(err, errlen, "class activation maps: no attention map: %s",
                            gp_last_error());
    }
    if (logits)
        memcpy(logits, r->head[r->nlayers - 1 - r->first],
               (size_t)nb * (size_t)classes * sizeof *logits);
    const gp_shape in = gp_net_layer(r->net, 0)->in;
    if (gpx_resize_bilinear(r->small, nb, 1, r->a.h, r->a.w, maps, in.h, in.w))
        return gpx_fail(err, errlen, "class activation maps: cannot upsample %d x %d to "
                        "%d x %d", r->a.h, r->a.w, in.h, in.w);
    return 0;
}

int gpx_cam_maps(gp_net *net, const gpx_model_spec *spec, int n, const float *x,
                 const int *cls, gpx_cam_method m, float *maps, float *logits, char *err,
                 size_t errlen)
{
    char why[256];
    if (!gpx_cam_defined(spec, m, why, sizeof why))
        return gpx_fail(err, errlen, "%s", why);
    cam_run r = { net, spec, m, spec->ntrunk, gp_net_layer_count(net), 0, { 0 }, { 0 },
                  { 0 }, NULL, NULL, NULL };
    if (r.first >= r.nlayers)
        return gpx_fail(err, errlen, "class activation maps: the net has no head layers");
    r.a = gp_net_layer(net, r.first)->in;
    r.batch = r.a.n;
    const gp_shape in = gp_net_layer(net, 0)->in;
    size_t in_img = gp_shape_image_size(in), plane = (size_t)in.h * (size_t)in.w;
    int classes = gp_net_layer(net, r.nlayers - 1)->out.c;
    double *coef = malloc((size_t)r.a.c * sizeof *coef);
    int rc = coef && !run_alloc(&r) ? 0 : gpx_fail(err, errlen, "class activation maps: out "
                                                   "of memory for a batch of %d", r.batch);
    for (int first = 0; rc == 0 && first < n; first += r.batch) {
        int nb = n - first < r.batch ? n - first : r.batch;
        rc = run_batch(&r, nb, x + (size_t)first * in_img, cls + first,
                       maps + (size_t)first * plane,
                       logits ? logits + (size_t)first * (size_t)classes : NULL, coef, err,
                       errlen);
    }
    free(coef);
    run_free(&r);
    return rc;
}

/* ------------------------------------------------------------ a kept run */

void gpx_trained_run_free(gpx_trained_run *r)
{
    gp_net_destroy(r->net);
    gpx_model_spec_free(&r->model);
    gpx_data_free(&r->data);
    ycfg_free(r->cfg);
    memset(r, 0, sizeof *r);
}

/* run_dir/config.yaml and run_dir/weights, which must both be there. */
static int kept_files(const char *run_dir, char *config, char *weights, size_t len, char *err,
                      size_t errlen)
{
    if (gpx_join(config, len, run_dir, "config.yaml") ||
        gpx_join(weights, len, run_dir, "weights"))
        return gpx_fail(err, errlen, "%s: path too long", run_dir);
    if (!gpx_readable(config))
        return gpx_fail(err, errlen, "%s: no such run (no readable %s)", run_dir, config);
    char list[4200];
    if (gpx_join(list, sizeof list, weights, "crc32.txt") || !gpx_readable(list))
        return gpx_fail(err, errlen, "%s: the run kept no weights (no %s/crc32.txt): run its "
                        "config with train.keep_weights: true to keep them", run_dir, weights);
    return 0;
}

int gpx_trained_run_load(const char *run_dir, int batch, int threads, gpx_trained_run *r,
                         char *err, size_t errlen)
{
    char config[4096], weights[4096];
    memset(r, 0, sizeof *r);
    if (kept_files(run_dir, config, weights, sizeof config, err, errlen))
        return -1;
    r->cfg = ycfg_load(config, gpx_run_schema(), err, errlen);
    if (!r->cfg)
        return -1;
    r->pt = ycfg_point_at(r->cfg, 0);
    if (gpx_run_prepare(r->pt, threads, &r->data, err, errlen) < 0 ||
        gpx_run_model_spec(r->cfg, r->pt, &r->model, err, errlen) ||
        gpx_run_build_net(r->pt, &r->model, &r->data, batch, &r->net, err, errlen)) {
        gpx_trained_run_free(r);
        return -1;
    }
    if (gp_checkpoint_verify(weights) != GP_OK ||
        gp_checkpoint_load(weights, r->net, NULL) != GP_OK) {
        gpx_fail(err, errlen, "%s: %s", weights, gp_last_error());
        gpx_trained_run_free(r);
        return -1;
    }
    return 0;
}
