/* train.c - mini-batch training with per-epoch evaluation. */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/train.h"
#include "util/util.h"

gpx_train_opts gpx_train_defaults(void)
{
    gpx_train_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.batch = 64;
    o.shuffle = 1;
    o.init = GP_INIT_TORCH_DEFAULT;
    o.optim = gp_optim_defaults(GP_OPTIM_ADAM);
    o.schedule = GPX_LR_CONSTANT;
    o.step_size = 1;
    o.gamma = 0.1;
    return o;
}

double gpx_lr_at(const gpx_train_opts *o, int epoch)
{
    double lr0 = o->optim.lr;
    switch (o->schedule) {
    case GPX_LR_STEP:
        return lr0 * pow(o->gamma, (epoch - 1) / (o->step_size > 0 ? o->step_size : 1));
    case GPX_LR_COSINE:
        /* torch CosineAnnealingLR with T_max = epochs, stepped once per epoch */
        return o->min_lr + (lr0 - o->min_lr) *
               (1 + cos(M_PI * (epoch - 1) / (o->epochs > 0 ? o->epochs : 1))) / 2;
    case GPX_LR_CONSTANT:
        break;
    }
    return lr0;
}

gp_status gpx_train_step(gp_net *net, gp_optim *opt, float lr, const float *x,
                         const int *y, int n, int sigmoid_loss, float *dlogits,
                         float *loss, int *correct)
{
    const float *logits;
    gp_shape out = gp_net_out_shape(net);
    gp_status st = gp_net_forward(net, n, x, GP_TRAIN, &logits);
    if (st == GP_OK)
        st = gp_softmax_xent(n, out.c, logits, y, sigmoid_loss, loss, dlogits, correct);
    if (st == GP_OK && !isfinite(*loss))
        return GP_OK;   /* the caller stops the run; stepping would spread the NaN */
    if (st == GP_OK)
        st = gp_net_backward(net, n, dlogits);
    if (st == GP_OK)
        st = gp_optim_step(opt, lr);
    return st;
}

const char *gpx_status_message(gp_status st)
{
    return st == GP_ERR_NOMEM ? "out of memory" : gp_last_error();
}

gp_status gpx_evaluate(gp_net *net, const gpx_split *s, int sigmoid_loss,
                       double *loss, double *acc)
{
    gp_shape out = gp_net_out_shape(net);
    int batch = gp_net_layer(net, 0)->in.n;
    size_t img = (size_t)s->c * s->h * s->w;
    float *x = malloc((size_t)(s->count < batch ? s->count : batch) * img * sizeof *x + 1);
    if (!x)
        return GP_ERR_NOMEM;
    double loss_sum = 0;
    long hits = 0;
    gp_status st = GP_OK;
    for (int i = 0; i < s->count && st == GP_OK; i += batch) {
        int n = s->count - i < batch ? s->count - i : batch;
        const float *logits;
        float l;
        int c;
        if (gpx_split_batch(s, NULL, i, n, x) != 0)
            st = GP_ERR_NOMEM;
        if (st == GP_OK)
            st = gp_net_forward(net, n, x, GP_EVAL, &logits);
        if (st == GP_OK)
            st = gp_softmax_xent(n, out.c, logits, s->y + i, sigmoid_loss, &l, NULL, &c);
        loss_sum += st == GP_OK ? (double)l * n : 0;
        hits += st == GP_OK ? c : 0;
    }
    free(x);
    *loss = s->count ? loss_sum / s->count : NAN;
    *acc = s->count ? (double)hits / s->count : NAN;
    return st;
}

/* ------------------------------------------------------------- loop */

typedef struct {
    gp_net         *net;
    gp_optim       *opt;
    const gpx_data *data;
    const gpx_train_opts *o;
    int            *order;     /* training image indices, reshuffled per epoch */
    float          *xb;        /* gathered batch */
    int            *yb;
    float          *dlogits;
    size_t          img;       /* floats per image */
    gpx_train_opts  schedule;  /* o, with train.steps: epochs = the passes they take */
    long            images;    /* trained on so far in this call */
} loop_state;

static int fail_with(gpx_train_result *res, const char *what, gp_status st)
{
    res->status = GPX_RUN_FAILED;
    snprintf(res->reason, sizeof res->reason, "%s: %s", what, gpx_status_message(st));
    return -1;
}

/* After a library call failed, with gp_last_error() saying why. */
static int fail(gpx_train_result *res, const char *what)
{
    return fail_with(res, what, GP_OK);
}

/* The permutation of an epoch depends only on (seed, epoch), so a run
 * continued from a checkpoint sees the same order as one never stopped. */
static void epoch_order(loop_state *s, int epoch)
{
    int n = s->data->train.count;
    for (int i = 0; i < n; i++)
        s->order[i] = i;
    if (!s->o->shuffle)
        return;
    gp_rng rng;
    gp_rng_seed(&rng, s->o->seed * 0x9e3779b97f4a7c15ull + (uint64_t)epoch);
    gp_rng_shuffle(&rng, s->order, (size_t)n);
}

/* The batch of images order[start .. start + n) of pass `pass`, as
 * floats, augmented by a draw that depends only on (seed, pass, start), so
 * a resumed run sees the same batches. 0, or -1. */
static int gather(loop_state *s, int pass, int start, int n)
{
    const gpx_split *t = &s->data->train;
    for (int i = 0; i < n; i++)
        s->yb[i] = t->y[s->order[start + i]];
    return gpx_split_batch_augmented(t, s->order + start, 0, n, &s->o->augment,
                                     gpx_augment_seed(s->o->seed, pass, start), s->xb);
}

/* The running figures of one pass's steps, and the row's steps before it. */
typedef struct {
    double loss_sum;
    long   hits, images, steps;
    long   steps_before;
} row_tally;

static void show_progress(const loop_state *s, int row, const row_tally *t)
{
    const char *label = s->o->label ? s->o->label : "";
    double loss = t->loss_sum / (double)t->images;
    if (s->o->steps > 0)
        gpx_progress("%s step %ld/%ld  loss %.4f", label, t->steps_before + t->steps,
                     s->o->steps, loss);
    else
        gpx_progress("%s epoch %d/%d  %5.1f%%  loss %.4f", label, row, s->o->epochs,
                     100.0 * (double)t->images / s->data->train.count, loss);
}

/* One pass over the training set in the order of pass `pass` (from 1), at
 * lr, stopping after max_steps steps; 1 when the loss went NaN/inf, -1 on
 * error. */
static int train_pass(loop_state *s, int row, int pass, float lr, long max_steps,
                      row_tally *t, gpx_train_result *res)
{
    const gpx_split *tr = &s->data->train;
    int batch = s->o->batch;
    double shown = gpx_now();
    epoch_order(s, pass);
    for (int i = 0; i < tr->count && t->steps < max_steps; i += batch) {
        int n = tr->count - i < batch ? tr->count - i : batch, c = 0;
        float loss;
        if (gather(s, pass, i, n) != 0)
            return fail_with(res, "gathering a batch", GP_ERR_NOMEM);
        if (gpx_train_step(s->net, s->opt, lr, s->xb, s->yb, n, s->o->sigmoid_loss,
                           s->dlogits, &loss, &c) != GP_OK)
            return fail(res, "training step");
        if (!isfinite(loss)) {
            res->status = GPX_RUN_DIVERGED;
            snprintf(res->reason, sizeof res->reason, "loss %g at epoch %d, image %d", loss,
                     pass, i);
            return 1;
        }
        t->loss_sum += (double)loss * n;
        t->hits += c;
        t->images += n;
        t->steps++;
        if (s->o->progress && gpx_now() - shown > 0.25) {
            shown = gpx_now();
            show_progress(s, row, t);
        }
    }
    return 0;
}

/* Train one row: epoch `row` (one pass), or with o->steps that many steps
 * in as many passes as they take (numbered from 1, each with its own order
 * and the schedule's lr for that pass). The running loss and accuracy are
 * the last pass's. 1 when the loss went NaN/inf, -1 on error. */
static int train_row(loop_state *s, int row, gpx_epoch_row *out, gpx_train_result *res)
{
    long left = s->o->steps > 0 ? s->o->steps : 1 + (s->data->train.count - 1) / s->o->batch;
    int pass = s->o->steps > 0 ? 1 : row;
    double t0 = gpx_now();
    long images = 0;
    row_tally t = { 0 };
    float lr = 0;
    while (left > 0) {
        lr = (float)gpx_lr_at(&s->schedule, pass);
        t = (row_tally){ .steps_before = t.steps_before + t.steps };
        int r = train_pass(s, row, pass++, lr, left, &t, res);
        if (r != 0)
            return r;
        if (t.steps == 0)
            break;
        left -= t.steps;
        images += t.images;
    }
    s->images += images;
    out->epoch = row;
    out->lr = lr;
    out->epoch_s = gpx_now() - t0;
    out->img_per_s = (double)images / out->epoch_s;
    out->train_loss = t.loss_sum / (double)t.images;
    out->train_acc = (double)t.hits / (double)t.images;
    return 0;
}

static int evaluate_epoch(loop_state *s, gpx_epoch_row *row, gpx_train_result *res)
{
    double t0 = gpx_now(), pass_loss;
    gp_status st;
    row->val_loss = row->val_acc = row->train_pass_acc = NAN;
    /* train_loss stays the running mean of the epoch's batch losses (as the
     * tutorial and train.py report it); only the accuracy comes from the pass */
    if (s->o->train_eval_pass) {
        if ((st = gpx_evaluate(s->net, &s->data->train, s->o->sigmoid_loss, &pass_loss,
                               &row->train_pass_acc)) != GP_OK)
            return fail_with(res, "train evaluation", st);
        row->train_acc = row->train_pass_acc;
    }
    if (s->data->val.count > 0 &&
        (st = gpx_evaluate(s->net, &s->data->val, s->o->sigmoid_loss, &row->val_loss,
                           &row->val_acc)) != GP_OK)
        return fail_with(res, "validation", st);
    if ((st = gpx_evaluate(s->net, &s->data->test, s->o->sigmoid_loss, &row->test_loss,
                           &row->test_acc)) != GP_OK)
        return fail_with(res, "test evaluation", st);
    row->eval_s = gpx_now() - t0;
    return 0;
}

/* Best epoch: by validation accuracy when there is a validation split
 * (choosing by test accuracy would report an optimistic number), else by
 * test accuracy; the first of equals wins. */
static void track_best(gpx_train_result *res, const gpx_epoch_row *row, double *best_key)
{
    double key = isnan(row->val_acc) ? row->test_acc : row->val_acc;
    if (res->best_epoch == 0 || key > *best_key) {
        *best_key = key;
        res->best_epoch = row->epoch;
        res->best_test_acc = row->test_acc;
    }
}

static int setup(loop_state *s, gp_net *net, const gpx_data *data, const gpx_train_opts *o,
                 gpx_train_result *res)
{
    gp_shape in = gp_net_layer(net, 0)->in;
    memset(s, 0, sizeof *s);
    s->net = net;
    s->data = data;
    s->o = o;
    s->schedule = *o;
    if (o->steps > 0) {   /* the schedule runs over the passes the steps take */
        long per_pass = (data->train.count + o->batch - 1) / o->batch;
        s->schedule.epochs = (int)((o->steps + per_pass - 1) / per_pass);
    }
    s->img = gp_shape_image_size(in);
    if (o->batch != in.n) {
        snprintf(res->reason, sizeof res->reason, "batch %d but the net was built for %d",
                 o->batch, in.n);
        return -1;
    }
    if ((size_t)data->train.c * data->train.h * data->train.w != s->img) {
        snprintf(res->reason, sizeof res->reason, "images are %dx%dx%d but the net takes %dx%dx%d",
                 data->train.c, data->train.h, data->train.w, in.c, in.h, in.w);
        return -1;
    }
    s->order = malloc((size_t)data->train.count * sizeof *s->order);
    s->xb = malloc((size_t)o->batch * s->img * sizeof *s->xb);
    s->yb = malloc((size_t)o->batch * sizeof *s->yb);
    s->dlogits = malloc((size_t)o->batch * gp_net_out_shape(net).c * sizeof *s->dlogits);
    if (!s->order || !s->xb || !s->yb || !s->dlogits) {
        snprintf(res->reason, sizeof res->reason, "out of memory");
        return -1;
    }
    gp_rng rng;
    gp_rng_seed(&rng, o->seed);
    if (gp_net_init(net, o->init, o->bias_init, &rng) != GP_OK)
        return fail(res, "init");
    if (gp_optim_create(&s->opt, &o->optim, net) != GP_OK)
        return fail(res, "optimizer");
    return 0;
}

static void teardown(loop_state *s)
{
    gp_optim_destroy(s->opt);
    free(s->order);
    free(s->xb);
    free(s->yb);
    free(s->dlogits);
}

int gpx_train_rows(const gpx_train_opts *o)
{
    return o->steps > 0 ? 1 : o->epochs;
}

int64_t gpx_train_steps_per_row(const gpx_train_opts *o, int train_count)
{
    return o->steps > 0 ? o->steps : (train_count + o->batch - 1) / o->batch;
}

/* Load o->resume_dir, which must hold the end of row o->resume_epochs. 0, or -1 with res. */
static int resume_from(loop_state *s, const gpx_train_opts *o, gpx_train_result *res)
{
    int64_t per_row = gpx_train_steps_per_row(o, s->data->train.count);
    if (gp_checkpoint_load(o->resume_dir, s->net, s->opt) != GP_OK)
        return fail(res, "resume");
    if (gp_optim_steps(s->opt) != per_row * o->resume_epochs) {
        res->status = GPX_RUN_FAILED;
        snprintf(res->reason, sizeof res->reason,
                 "resume: checkpoint after %lld steps is not the end of epoch %d",
                 (long long)gp_optim_steps(s->opt), o->resume_epochs);
        return -1;
    }
    res->epochs_done = o->resume_epochs;
    return 0;
}

int gpx_train(gp_net *net, const gpx_data *data, const gpx_train_opts *o,
              gpx_epoch_fn on_epoch, void *ctx, gpx_train_result *res)
{
    loop_state s;
    double best_key = 0;
    memset(res, 0, sizeof *res);
    res->status = GPX_RUN_FAILED;
    if (setup(&s, net, data, o, res) || (o->resume_dir && resume_from(&s, o, res))) {
        teardown(&s);
        return -1;
    }
    res->status = GPX_RUN_OK;
    for (int epoch = res->epochs_done + 1; epoch <= gpx_train_rows(o); epoch++) {
        gpx_epoch_row row;
        memset(&row, 0, sizeof row);
        int r = train_row(&s, epoch, &row, res);
        if (r == 0)
            r = evaluate_epoch(&s, &row, res);
        if (r == 0 && o->checkpoint_dir && gp_checkpoint_save(o->checkpoint_dir, net, s.opt))
            r = fail(res, "checkpoint");
        if (r != 0)
            break;
        res->epochs_done = epoch;
        res->train_s += row.epoch_s;
        res->last = row;
        track_best(res, &row, &best_key);
        if (on_epoch && on_epoch(&row, ctx)) {
            res->status = GPX_RUN_FAILED;
            snprintf(res->reason, sizeof res->reason, "stopped after epoch %d", epoch);
            break;
        }
    }
    if (o->progress)
        gpx_progress_clear();
    if (res->train_s > 0)
        res->images_per_s = (double)s.images / res->train_s;
    teardown(&s);
    return res->status == GPX_RUN_FAILED ? -1 : 0;
}
