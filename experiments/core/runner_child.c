/*
 * runner_child.c - the process that trains one point (see runner.h): it
 * loads the data, builds the network, trains, evaluates at other input
 * sizes and reports each step to its parent as a message (runner_msg.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/model.h"
#include "core/point.h"
#include "core/runner_msg.h"
#include "util/util.h"

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int send_msg(int fd, const gpx_runner_msg *m)
{
    /* the parent takes a short message for a failed run */
    return write_all(fd, m, sizeof *m);
}

static void child_fail(int fd, const char *fmt, ...)
{
    gpx_runner_msg m;
    memset(&m, 0, sizeof m);
    m.kind = GPX_MSG_DONE;
    m.u.done.status = GPX_RUN_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.u.done.reason, sizeof m.u.done.reason, fmt, ap);
    va_end(ap);
    (void)send_msg(fd, &m);
}

static void report_data(int fd, const gpx_data *d, const gpx_augment *augment)
{
    gpx_runner_msg m;
    memset(&m, 0, sizeof m);
    m.kind = GPX_MSG_DATA;
    gpx_data_describe(d, &m.u.data);
    m.u.data.augment = *augment;
    (void)send_msg(fd, &m);
}

/* The global pooling kernel variant the head's pooling layer dispatches to. */
static void head_variant(gp_net *net, char *buf, size_t len)
{
    gp_variant_info v;
    int layer;
    snprintf(buf, len, "none");
    if (gpx_model_head_variant(net, &v, &layer) == GP_OK && layer >= 0)
        snprintf(buf, len, "%s", v.name);
}

static void report_built(int fd, gp_net *net, const gpx_train_opts *o, int threads)
{
    gpx_runner_msg m;
    memset(&m, 0, sizeof m);
    m.kind = GPX_MSG_BUILT;
    m.u.built.params = (double)gp_net_param_floats(net);
    m.u.built.flops = gp_net_flops(net);
    m.u.built.mem = gp_net_memory(net, o->optim.kind == GP_OPTIM_SGD
                                           ? (o->optim.momentum > 0 ? 1 : 0) : 2);
    m.u.built.threads = threads;
    m.u.built.input_size = gp_net_layer(net, 0)->in.h;
    head_variant(net, m.u.built.variant, sizeof m.u.built.variant);
    (void)send_msg(fd, &m);
}

/* ---- the epochs so far, for continuing an interrupted run ----
 * After every epoch the checkpoint is saved (by gpx_train), then the
 * epochs so far (through the progress store), and only then is the epoch
 * reported. --resume continues a run whose stored epochs match its
 * checkpoint (the optimizer has taken rows x steps-per-epoch steps). */

typedef struct {
    int                       fd;
    gpx_epoch_row            *rows;
    int                       nrows, cap;
    const char               *run_dir;     /* NULL without checkpoints */
    const gpx_progress_store *store;
    int                       fault_epoch; /* GPOOL_FAULT: die after this epoch (0: never) */
} epoch_sink;

static int keep_row(epoch_sink *k, const gpx_epoch_row *row)
{
    if (k->nrows == k->cap) {
        int cap = k->cap ? 2 * k->cap : 64;
        gpx_epoch_row *grown = realloc(k->rows, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        k->rows = grown;
        k->cap = cap;
    }
    k->rows[k->nrows++] = *row;
    return 0;
}

/* "steps N" from a checkpoint's optim.txt; -1 when absent. */
static long long checkpoint_steps(const char *ckpt)
{
    char path[8400], line[256];
    long long steps = -1;
    snprintf(path, sizeof path, "%s/optim.txt", ckpt);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "steps %lld", &steps) == 1)
            break;
    fclose(fp);
    return steps;
}

static int send_epoch(const gpx_epoch_row *row, void *ctx)
{
    epoch_sink *k = ctx;
    gpx_runner_msg m;
    if (keep_row(k, row))
        return -1;
    if (k->run_dir && k->store->save(k->run_dir, k->rows, k->nrows))
        return -1;
    memset(&m, 0, sizeof m);
    m.kind = GPX_MSG_EPOCH;
    m.u.epoch = *row;
    if (send_msg(k->fd, &m))
        return -1;
    if (k->fault_epoch && row->epoch == k->fault_epoch) {
        /* fault injection for the resume tests: die like kill -9 of the whole sweep */
        kill(getppid(), SIGKILL);
        raise(SIGKILL);
    }
    return 0;
}

/* GPOOL_FAULT="run:R:epoch:E" kills the sweep (parent and child, SIGKILL)
 * right after epoch E of point R (0-based) is saved. For tests of --resume. */
static int fault_epoch_for(size_t index)
{
    const char *f = getenv("GPOOL_FAULT");
    unsigned long run;
    int epoch;
    if (f && sscanf(f, "run:%lu:epoch:%d", &run, &epoch) == 2 && run == index)
        return epoch;
    return 0;
}

/* After training: the test set at every eval.sizes x eval.methods, one
 * message per pair (not-applicable pairs included, with their reason). The
 * transforms start from the data set's stored images, also when training
 * resized them (data.resize). 0, or -1 with err. */
static int evaluate_sizes(int fd, const ycfg_point *pt, const gpx_model_spec *model,
                          gp_net *net, const gpx_data *data, int sigmoid_loss, char *err,
                          size_t errlen)
{
    const ycfg_value *sizes = ycfg_get(pt, "eval.sizes");
    const ycfg_value *methods = ycfg_get(pt, "eval.methods");
    if (!sizes->n)
        return 0;
    int size[64], nsizes = sizes->n < 64 ? (int)sizes->n : 64, nmethods = (int)methods->n;
    gpx_size_method method[3];
    for (int i = 0; i < nsizes; i++)
        size[i] = (int)sizes->items[i].i;
    for (int j = 0; j < nmethods && j < 3; j++)
        gpx_size_method_parse(methods->items[j].s, &method[j]);
    gpx_eval_sizes_opts eo = { model, size, nsizes, method, nmethods,
                               (uint64_t)ycfg_int(pt, "eval.seed"),
                               (int)ycfg_int(pt, "eval.batch"), sigmoid_loss };
    gpx_size_row *rows = calloc((size_t)nsizes * (size_t)nmethods, sizeof *rows);
    int rc = rows ? gpx_eval_at_sizes(net, data, &eo, rows, err, errlen) : -1;
    for (int i = 0; rc == 0 && i < nsizes * nmethods; i++) {
        gpx_runner_msg m;
        memset(&m, 0, sizeof m);
        m.kind = GPX_MSG_EVAL;
        m.u.eval = rows[i];
        (void)send_msg(fd, &m);
    }
    free(rows);
    return rc;
}

/* A checkpoint to continue from must match its crc32.txt: a corrupt one
 * would train on and record a wrong result. One without checksums (an
 * older release's) is used with a warning. 0, or -1 with err naming the
 * file and the command that retrains the run from scratch. */
static int verify_checkpoint(const gpx_run_job *job, const char *ckpt, char *err, size_t errlen)
{
    const char *id = ycfg_point_id(ycfg_point_at(job->cfg, job->index));
    gp_status st = gp_checkpoint_verify(ckpt);
    if (st == GP_OK)
        return 0;
    if (st == GP_ERR_NOTFOUND) {
        fprintf(stderr, "gpool run: run %s: warning: %s\n", id, gp_last_error());
        return 0;
    }
    fprintf(stderr, "gpool run: run %s: cannot continue from its checkpoint: %s\n"
            "gpool run: to retrain run %s from scratch (its checkpoint and epochs discarded): ",
            id, gp_last_error(), id);
    if (job->restart_command)
        fprintf(stderr, "%s\n", job->restart_command);
    else
        fprintf(stderr, "gpool run --resume --restart %s CONFIG\n", id);
    const char *file = gp_last_error();
    size_t skip = strlen(ckpt);
    if (!strncmp(file, ckpt, skip) && file[skip] == '/')
        file += skip + 1;   /* runs.csv keeps the name within the checkpoint */
    snprintf(err, errlen, "resume: checkpoint %s; retrain with --resume --restart %s", file, id);
    return -1;
}

/* With resume, go on from the run's checkpoint when its stored epochs
 * match it: report those epochs first, as if they had just been trained.
 * 0, or -1 with err when that checkpoint fails verification. */
static int continue_run(const gpx_run_job *job, epoch_sink *sink, gpx_train_opts *o,
                        const gpx_data *data, char *err, size_t errlen)
{
    free(sink->rows);
    sink->rows = NULL;
    sink->nrows = sink->cap = job->resume ? sink->store->load(job->run_dir, &sink->rows) : 0;
    int rows = sink->nrows;
    long long per_row = gpx_train_steps_per_row(o, data->train.count);
    if (rows > 0 && rows <= gpx_train_rows(o) &&
        checkpoint_steps(o->checkpoint_dir) == rows * per_row) {
        if (verify_checkpoint(job, o->checkpoint_dir, err, errlen))
            return -1;
        o->resume_dir = o->checkpoint_dir;
        o->resume_epochs = rows;
        fprintf(stderr, "run %s: continuing after epoch %d from %s\n",
                ycfg_point_id(ycfg_point_at(job->cfg, job->index)), rows, o->checkpoint_dir);
        for (int i = 0; i < rows; i++) {
            gpx_runner_msg m;
            memset(&m, 0, sizeof m);
            m.kind = GPX_MSG_EPOCH;
            m.u.epoch = sink->rows[i];
            (void)send_msg(sink->fd, &m);
        }
        return 0;
    }
    sink->nrows = 0;
    sink->store->discard(job->run_dir);
    return 0;
}

/* With train.checkpoint: the run's folder made, the checkpoint inside it,
 * and the epochs stored there (continued from, with resume). 0, or -1 with
 * err. */
static int checkpoint_into_run_dir(const gpx_run_job *job, epoch_sink *sink, gpx_train_opts *o,
                                   const gpx_data *data, char *ckpt, size_t len, char *err,
                                   size_t errlen)
{
    if (gpx_mkdir_p(job->run_dir, err, errlen))
        return -1;
    if (gpx_join(ckpt, len, job->run_dir, "checkpoint")) {
        snprintf(err, errlen, "%s: path too long", job->run_dir);
        return -1;
    }
    o->checkpoint_dir = ckpt;
    sink->run_dir = job->run_dir;
    return continue_run(job, sink, o, data, err, errlen);
}

/* The point's model decoded into *model and its network for data, printed
 * when show_build. 0, or -1 with err (*net NULL). */
static int build_net(const gpx_run_job *job, const ycfg_point *pt, const gpx_data *data,
                     const gpx_train_opts *o, gpx_model_spec *model, gp_net **net, char *err,
                     size_t errlen)
{
    gp_shape in = { o->batch, data->train.c, data->train.h, data->train.w };
    *net = NULL;
    memset(model, 0, sizeof *model);
    if (job->show_build)
        fprintf(stderr, "network of run %s (%s):\n", ycfg_point_id(pt),
                ycfg_str(pt, "model.head"));
    return gpx_run_model_spec(job->cfg, pt, model, err, errlen) ||
                   gpx_model_build(model, in, data->train.classes, o->seed,
                                   job->show_build ? stderr : NULL, net, err, errlen)
               ? -1
               : 0;
}

/* With train.keep_weights, the trained weights (no optimizer state) into
 * RUN_DIR/weights, as a checkpoint with its checksums, for `gpool cam`.
 * 0, or -1 with the reason in res. */
static int keep_final_weights(const gpx_run_job *job, const ycfg_point *pt, gp_net *net,
                              gpx_train_result *res)
{
    char dir[8192];
    if (!ycfg_bool(pt, "train.keep_weights"))
        return 0;
    if (gpx_join(dir, sizeof dir, job->run_dir, "weights") ||
        gp_checkpoint_save(dir, net, NULL) != GP_OK) {
        res->status = GPX_RUN_FAILED;
        snprintf(res->reason, sizeof res->reason, "keeping the weights in %.100s: %.120s",
                 job->run_dir, gp_last_error());
        return -1;
    }
    return 0;
}

/* Train the built net, then evaluate it at other sizes: the result, with
 * the most bytes the library held for the net while it was built and
 * trained (held: what it held before). */
static gpx_train_result train_and_evaluate(const gpx_run_job *job, int fd,
                                           const gpx_model_spec *model, gp_net *net,
                                           const gpx_data *data, gpx_train_opts *o, size_t held)
{
    const ycfg_point *pt = ycfg_point_at(job->cfg, job->index);
    char label[96], ckpt[8192], err[1024];
    snprintf(label, sizeof label, "[%zu/%zu] %s", job->index + 1, ycfg_npoints(job->cfg),
             ycfg_str(pt, "model.head"));
    o->label = label;
    o->progress = gpx_progress_enabled();
    epoch_sink sink = { .fd = fd, .store = job->progress,
                        .fault_epoch = fault_epoch_for(job->index) };
    gpx_train_result res;
    memset(&res, 0, sizeof res);
    if (ycfg_bool(pt, "train.checkpoint") &&
        checkpoint_into_run_dir(job, &sink, o, data, ckpt, sizeof ckpt, err, sizeof err)) {
        res.status = GPX_RUN_FAILED;
        snprintf(res.reason, sizeof res.reason, "%.250s", err);
        return res;
    }
    gpx_train(net, data, o, send_epoch, &sink, &res);
    /* before the evaluation at other sizes, which reshapes the net */
    res.alloc_peak = (double)(gp_alloc_stats_get().peak - held);
    free(sink.rows);
    if (res.status == GPX_RUN_OK && keep_final_weights(job, pt, net, &res))
        return res;
    if (res.status == GPX_RUN_OK &&
        evaluate_sizes(fd, pt, model, net, data, o->sigmoid_loss, err, sizeof err)) {
        res.status = GPX_RUN_FAILED;
        snprintf(res.reason, sizeof res.reason, "evaluation at other sizes: %.200s", err);
    }
    return res;
}

/* With train.lr_search, o's rate is its group's choice: found in the store,
 * or searched for now (before the run's own data is loaded, so that the two
 * are never held at once). 0, or -1 with err. */
static int choose_lr(const gpx_run_job *job, const ycfg_point *pt, gpx_train_opts *o,
                     char *err, size_t errlen)
{
    if (!gpx_lr_search_wanted(pt))
        return 0;
    if (!job->lr_store)
        return gpx_fail(err, errlen, "train.lr_search needs a results directory to keep its "
                        "choices in");
    gpx_lr_group g;
    gpx_lr_search_group(job->cfg, job->index, &g);
    double lr;
    int found = job->lr_store->find(job->sweep_dir, &g, &lr);
    if (found < 0)
        return gpx_fail(err, errlen, "lr search: the choices in %s cannot be read",
                        job->sweep_dir);
    if (found) {
        o->optim.lr = (float)lr;
        return 0;
    }
    gpx_model_spec model;
    if (gpx_run_model_spec(job->cfg, pt, &model, err, errlen))
        return -1;
    int rc = gpx_lr_search(pt, &model, o, job->lr_store, job->sweep_dir, &g, err, errlen);
    gpx_model_spec_free(&model);
    return rc;
}

int gpx_runner_child_main(const gpx_run_job *job, int fd)
{
    const ycfg_point *pt = ycfg_point_at(job->cfg, job->index);
    char err[1024];
    gpx_data data;
    gpx_train_opts o = gpx_run_train_opts(pt);
    int threads = gpx_run_use_threads(pt, 0);
    if (choose_lr(job, pt, &o, err, sizeof err) ||
        gpx_run_prepare(pt, threads, &data, err, sizeof err) < 0) {
        child_fail(fd, "%s", err);
        return 1;
    }
    report_data(fd, &data, &o.augment);
    gp_net *net;
    gpx_model_spec model;
    size_t held = gp_alloc_stats_get().current;
    gp_alloc_reset_peak();
    if (build_net(job, pt, &data, &o, &model, &net, err, sizeof err)) {
        child_fail(fd, "%s", err);
        gpx_model_spec_free(&model);
        gpx_data_free(&data);
        return 1;
    }
    report_built(fd, net, &o, threads);
    gpx_runner_msg m;
    memset(&m, 0, sizeof m);
    m.kind = GPX_MSG_DONE;
    m.u.done = train_and_evaluate(job, fd, &model, net, &data, &o, held);
    (void)send_msg(fd, &m);
    gp_net_destroy(net);
    gpx_model_spec_free(&model);
    gpx_data_free(&data);
    return m.u.done.status == GPX_RUN_FAILED ? 1 : 0;
}
