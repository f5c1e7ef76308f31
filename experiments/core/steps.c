/*
 * steps.c - training steps set up to be measured, and what their parts
 * cost (see steps.h).
 */
#include "autoconfig.h"

#include "core/steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/point.h"

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* ===================================================== measured point */

int gpx_measured_point_open(gpx_measured_point *m, const char *config, const char *head,
                            int threads, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->threads = -1;
    m->pt = gpx_run_load_point(config, head, &m->cfg, err, errlen);
    if (!m->pt)
        return 2;
    if (gpx_run_model_spec(m->cfg, m->pt, &m->model, err, errlen))
        return 1;
    m->threads = gpx_run_prepare(m->pt, threads, &m->data, err, errlen);
    return m->threads < 0 ? 1 : 0;
}

void gpx_measured_point_close(gpx_measured_point *m)
{
    if (m->threads >= 0)
        gpx_data_free(&m->data);
    gpx_model_spec_free(&m->model);
    if (m->cfg)
        ycfg_free(m->cfg);
    memset(m, 0, sizeof *m);
}

/* ============================================================ stepper */

int gpx_stepper_create(gpx_stepper *s, const gpx_model_spec *model, const ycfg_point *pt,
                       const gpx_data *data, int batch, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->data = data;
    s->to = gpx_run_train_opts(pt);
    s->batch = batch;
    s->img = (size_t)data->train.c * data->train.h * data->train.w;
    s->nb = data->train.count / batch;
    if (s->nb < 1) {
        snprintf(err, errlen, "batch %d is larger than the %d training images", batch,
                 data->train.count);
        return 2;
    }
    if (gpx_run_build_net(pt, model, data, batch, &s->net, err, errlen))
        return -1;
    if (gp_optim_create(&s->opt, &s->to.optim, s->net) != GP_OK) {
        snprintf(err, errlen, "%s", gp_last_error());
        return -1;
    }
    s->classes = gp_net_out_shape(s->net).c;
    s->xb = alloc_floats((size_t)batch * s->img);
    if (!(s->dlogits = alloc_floats((size_t)batch * s->classes)) || !s->xb) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void gpx_stepper_destroy(gpx_stepper *s)
{
    free(s->dlogits);
    free(s->xb);
    gp_optim_destroy(s->opt);
    gp_net_destroy(s->net);
    memset(s, 0, sizeof *s);
}

const float *gpx_stepper_x(gpx_stepper *s)
{
    int first = (int)(s->k % s->nb) * s->batch;
    /* augmented as the point's training batches are, so its cost is measured too */
    return gpx_split_batch_augmented(&s->data->train, NULL, first, s->batch, &s->to.augment,
                                     gpx_augment_seed(s->to.seed, 1, first), s->xb)
           ? NULL : s->xb;
}

const int *gpx_stepper_y(const gpx_stepper *s)
{
    return s->data->train.y + (size_t)(s->k % s->nb) * s->batch;
}

gp_status gpx_stepper_step(gpx_stepper *s, float *loss)
{
    const float *x = gpx_stepper_x(s);
    gp_status st = !x ? GP_ERR_NOMEM
                      : gpx_train_step(s->net, s->opt, s->to.optim.lr, x, gpx_stepper_y(s),
                                       s->batch, s->to.sigmoid_loss, s->dlogits, loss, NULL);
    s->k++;
    return st;
}

/* ======================================================== cost models */

static double param_floats(const gp_layer *l)
{
    return (double)gp_layer_param_floats(l);
}

/* Forward FLOPs per image that are multiply-adds (the bias adds aside). */
static double madd_flops(const gp_layer *l)
{
    int has_bias = 0;
    for (int p = 0; p < l->nparams; p++)
        has_bias |= l->params[p].is_bias;
    return l->flops - (has_bias ? (double)gp_shape_image_size(l->out) : 0.0);
}

static double backward_flops(const gp_layer *l, int n, int first)
{
    const char *k = l->ops->kind;
    double fwd = l->flops * n;
    if (!strcmp(k, "conv2d") || !strcmp(k, "dense")) {
        double madd = madd_flops(l) * n;
        return madd * (first ? 1 : 2) + (fwd - madd);
    }
    if (!strcmp(k, "batchnorm2d"))
        return 2 * fwd;
    if (!strcmp(k, "flatten"))
        return 0;
    return fwd;
}

static void layer_costs(const gp_layer *l, int n, int first, gpx_step_part *fw,
                        gpx_step_part *bw)
{
    double in = (double)gp_shape_image_size(l->in) * n;
    double out = (double)gp_shape_image_size(l->out) * n;
    double p = param_floats(l);
    fw->flops = l->flops * n;
    fw->bytes = 4 * (in + out + p);
    bw->flops = backward_flops(l, n, first);
    bw->bytes = 4 * (in + out + (first ? 0 : in) + 2 * p);
}

static void loss_costs(int n, int classes, int sigmoid, gpx_step_part *r)
{
    double logits = (double)n * classes;
    r->flops = logits * (5 + (sigmoid ? 4 : 0));
    r->bytes = 4 * (2 * logits + n);
}

static void optim_costs(const gp_optim *o, double params, gpx_step_part *r)
{
    gp_optim_desc d = gp_optim_get_desc(o);
    double flops, floats;
    if (d.kind == GP_OPTIM_SGD) {
        flops = 2 + (d.momentum > 0 ? 3 : 0);
        floats = 3 + (d.momentum > 0 ? 2 : 0);
    } else {
        flops = d.kind == GP_OPTIM_ADAMW ? 14 : 12;
        floats = 7;
    }
    if (d.weight_decay > 0 && d.kind != GP_OPTIM_ADAMW)
        flops += 2;
    r->flops = flops * params;
    r->bytes = 4 * floats * params;
}

static void set_shape(char *buf, size_t len, gp_shape s, int n)
{
    if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "%dx%d", n, s.c);
    else
        snprintf(buf, len, "%dx%dx%dx%d", n, s.c, s.h, s.w);
}

int gpx_step_part_count(const gpx_stepper *s)
{
    int rows = 2;
    for (int i = 0; i < gp_net_layer_count(s->net); i += 1 + gp_net_part_fused(s->net, i))
        rows += gp_net_part_fused(s->net, i) ? 4 : 2;
    return rows;
}

int gpx_step_part_row(const gpx_stepper *s, int i)
{
    int row = 0;
    for (int j = 0; j < i; j += 1 + gp_net_part_fused(s->net, j))
        row += gp_net_part_fused(s->net, j) ? 4 : 2;
    return row;
}

static void layer_parts(const gpx_stepper *s, int i, gpx_step_part *fw, gpx_step_part *bw)
{
    const gp_layer *l = gp_net_layer(s->net, i);
    fw->layer = bw->layer = i;
    fw->kind = bw->kind = l->ops->kind;
    fw->pass = "forward";
    bw->pass = "backward";
    snprintf(fw->desc, sizeof fw->desc, "%s", l->desc);
    snprintf(bw->desc, sizeof bw->desc, "%s", l->desc);
    set_shape(fw->shape, sizeof fw->shape, l->out, s->batch);
    set_shape(bw->shape, sizeof bw->shape, l->out, s->batch);
    layer_costs(l, s->batch, i == 0, fw, bw);
}

/* The epilogue rows of the part that fuses the layers after conv i into
 * it: the fused layers' FLOPs; bytes as the fused pass moves them (out:
 * floats of the conv's output at the batch). Forward reads the conv's
 * output for the statistics and again to normalise, and writes the
 * output (relu alone: read and write in place). Backward reads x, dy and
 * relu's output for the sums and again to build the conv's gradient,
 * which it writes (relu alone: reads y and dy, writes the gradient). */
static void epilogue_parts(const gpx_stepper *s, int i, gpx_step_part *fw, gpx_step_part *bw)
{
    int f = gp_net_part_fused(s->net, i), bn = 0, relu = 0;
    const gp_layer *last = gp_net_layer(s->net, i + f);
    fw->flops = bw->flops = 0;
    for (int j = i + 1; j <= i + f; j++) {
        const gp_layer *l = gp_net_layer(s->net, j);
        bn |= !strcmp(l->ops->kind, "batchnorm2d");
        relu |= !strcmp(l->ops->kind, "relu");
        fw->flops += l->flops * s->batch;
        bw->flops += backward_flops(l, s->batch, 0);
    }
    double out = 4.0 * (double)gp_shape_image_size(last->out) * s->batch;
    fw->bytes = out * (bn ? 3 : 2);
    bw->bytes = out * (bn ? (relu ? 7 : 5) : 3);
    fw->layer = bw->layer = i + 1;
    fw->kind = bw->kind = bn ? (relu ? "epi bn+relu" : "epi bn") : "epi relu";
    fw->pass = "forward";
    bw->pass = "backward";
    snprintf(fw->desc, sizeof fw->desc, "fused into conv2d %d", i);
    snprintf(bw->desc, sizeof bw->desc, "fused into conv2d %d", i);
    set_shape(fw->shape, sizeof fw->shape, last->out, s->batch);
    set_shape(bw->shape, sizeof bw->shape, last->out, s->batch);
}

void gpx_step_parts(const gpx_stepper *s, gpx_step_part *parts)
{
    int nlayers = gp_net_layer_count(s->net), row = 0;
    memset(parts, 0, (size_t)gpx_step_part_count(s) * sizeof *parts);
    for (int i = 0; i < nlayers; i += 1 + gp_net_part_fused(s->net, i)) {
        layer_parts(s, i, &parts[row], &parts[row + 1]);
        if (gp_net_part_fused(s->net, i))
            epilogue_parts(s, i, &parts[row + 2], &parts[row + 3]);
        row += gp_net_part_fused(s->net, i) ? 4 : 2;
    }
    gpx_step_part *loss = &parts[row], *opt = loss + 1;
    loss->layer = opt->layer = -1;
    loss->kind = s->to.sigmoid_loss ? "sigmoid_softmax_xent" : "softmax_xent";
    loss->pass = "loss";
    snprintf(loss->shape, sizeof loss->shape, "%dx%d", s->batch, s->classes);
    loss_costs(s->batch, s->classes, s->to.sigmoid_loss, loss);
    opt->kind = gp_optim_name(gp_optim_get_desc(s->opt).kind);
    opt->pass = "step";
    snprintf(opt->desc, sizeof opt->desc, "%zu parameters", gp_net_param_floats(s->net));
    optim_costs(s->opt, (double)gp_net_param_floats(s->net), opt);
}

/* ===================================================== replay buffers */

int gpx_replay_alloc(gpx_replay_buffers *b, const gpx_stepper *s)
{
    size_t most = 0;
    memset(b, 0, sizeof *b);
    b->nlayers = gp_net_layer_count(s->net);
    b->act = calloc((size_t)b->nlayers, sizeof *b->act);
    if (!b->act)
        return -1;
    for (int i = 0; i < b->nlayers; i++) {
        size_t f = (size_t)s->batch * gp_shape_image_size(gp_net_layer(s->net, i)->out);
        if (!(b->act[i] = alloc_floats(f)))
            return -1;
        memset(b->act[i], 0, f * sizeof(float));
        most = f > most ? f : most;
    }
    b->grad[0] = alloc_floats(most);
    b->grad[1] = alloc_floats(most);
    return b->grad[0] && b->grad[1] ? 0 : -1;
}

void gpx_replay_free(gpx_replay_buffers *b)
{
    for (int i = 0; b->act && i < b->nlayers; i++)
        free(b->act[i]);
    free(b->act);
    free(b->grad[0]);
    free(b->grad[1]);
    memset(b, 0, sizeof *b);
}
