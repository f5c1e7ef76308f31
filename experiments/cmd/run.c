/*
 * run.c - `gpool run CONFIG`: train every point of an experiment's sweep and
 * write results/<name>/ (runs.csv, epochs.csv, the resolved config, a
 * manifest and a chart of test accuracy per epoch).
 *
 * Each run trains in a forked child so that its peak RSS (wait4's
 * ru_maxrss) belongs to that run alone and a crash cannot take the sweep
 * down. The parent never enters an OpenMP region before forking (libgomp's
 * thread pool does not survive fork); the child reports over a pipe.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "cmd/commands.h"
#include "core/point.h"
#include "core/schema.h"
#include "core/data.h"
#include "core/evalsize.h"
#include "core/model.h"
#include "core/train.h"
#include "records/chart.h"
#include "records/csv.h"
#include "records/manifest.h"
#include "records/results.h"
#include "records/run_rows.h"
#include "util/sha256.h"
#include "util/util.h"

/* ========================================================== options */

#define RUN_CMD   "gpool run"
#define MERGE_CMD "gpool merge"
#define RERUN_CMD "gpool rerun"

typedef struct {
    const char *config;
    const char *out_dir;
    int         quiet;
    int         force;
    int         resume;
    int         list;
    int         shard_k, shard_n;   /* --shard K/N: points i with i % N == K - 1 */
} run_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool run [OPTIONS] CONFIG\n"
            "\n"
            "Train every point of CONFIG's sweep and write results/<name>/:\n"
            "  runs.csv      one row per run: run_id, swept values, head, seed, params,\n"
            "                FLOPs, analytic training memory (bytes), final train/val/test\n"
            "                accuracy, best test accuracy and its epoch (chosen on the\n"
            "                validation split when there is one), train time, images/s,\n"
            "                peak RSS, status (ok, diverged, failed, interrupted), reason\n"
            "  epochs.csv    one row per run and epoch\n"
            "  accuracy.png, accuracy.svg   test accuracy per epoch per run\n"
            "  config.yaml   the resolved config (defaults marked)\n"
            "  manifest.yaml what ran where: versions, CPU, data files and their sha256\n"
            "  runs/<id>/checkpoint/        weights + optimizer state as .npy files\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   write there instead of results/<name>\n"
            "  -f, --force     overwrite an existing runs.csv\n"
            "  -r, --resume    keep the finished runs (ok or diverged) of an existing\n"
            "                  runs.csv, matched by run id, and run the rest; a run that\n"
            "                  was cut short goes on from its last epoch checkpoint\n"
            "  -s, --shard K/N run only the points i (from 0) with i %% N == K - 1, into\n"
            "                  results/<name>/shard-K-of-N unless --out says otherwise;\n"
            "                  `gpool merge` joins the shards' outputs\n"
            "  -l, --list      print the points of the sweep and exit\n"
            "  -q, --quiet     no build log and no progress line\n"
            "  -h, --help      show this help\n"
            "\n"
            "Heads (model.head): gap gmp gem lse mixed avgmax (1x1 conv to the classes, then\n"
            "the pooling op), <op>_dense for gap gmp gem lse mixed avgmax catavgmax (pooling,\n"
            "then dense), flatten_dense. Each run runs in its own process; a diverged run\n"
            "(NaN or inf loss) is recorded and the sweep goes on.\n"
            "SIGINT or SIGTERM stops the current run, records it as interrupted and exits.\n"
            "Exit status: 0 all runs finished (ok or diverged), 1 a run failed or an error,\n"
            "2 bad command line or config, 130 interrupted.\n"
            "Testing: GPOOL_FAULT=run:R:epoch:E kills the sweep (SIGKILL) right after\n"
            "epoch E of point R (from 0) is saved; GPOOL_FAULT=after-run:R once run R is\n"
            "recorded.\n");
}

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, run_options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int m;
        if (gpx_option_flag(a, "-h", "--help")) {
            usage(stdout);
            return 1;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error(RUN_CMD, "%s needs a directory", a);
            o->out_dir = v;
        } else if (gpx_option_flag(a, "-f", "--force")) {
            o->force = 1;
        } else if ((m = gpx_option_value(argc, argv, &i, "-s", "--shard", &v)) != 0) {
            char extra;
            if (m < 0 || sscanf(v, "%d/%d%c", &o->shard_k, &o->shard_n, &extra) != 2 ||
                o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n)
                return gpx_usage_error(RUN_CMD, "--shard needs K/N with 1 <= K <= N, such as 2/3");
        } else if (gpx_option_flag(a, "-r", "--resume")) {
            o->resume = 1;
        } else if (gpx_option_flag(a, "-l", "--list")) {
            o->list = 1;
        } else if (gpx_option_flag(a, "-q", "--quiet")) {
            o->quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return gpx_usage_error(RUN_CMD, "unknown option '%s'", a);
        } else if (o->config) {
            return gpx_usage_error(RUN_CMD, "one CONFIG only ('%s' and '%s')", o->config, a);
        } else {
            o->config = a;
        }
    }
    if (!o->config)
        return gpx_usage_error(RUN_CMD, "missing CONFIG (for example configs/tutorial.yaml)");
    if (o->force && o->resume)
        return gpx_usage_error(RUN_CMD, "--force and --resume exclude each other");
    return 0;
}

/* ======================================================= run records */

/* What a child reports, message by message, over its pipe. */
typedef enum { MSG_BUILT = 1, MSG_DATA, MSG_EPOCH, MSG_EVAL, MSG_DONE } msg_kind;

typedef struct {
    msg_kind kind;
    union {
        gpx_run_built    built;
        gpx_data_record  data;
        gpx_epoch_row    epoch;
        gpx_size_row     eval;
        gpx_train_result done;
    } u;
} child_msg;

typedef struct {
    const ycfg_point *pt;
    const char         *id;
    int                 have_built, have_done;
    gpx_run_built       built;
    gpx_train_result    result;
    gpx_epoch_row      *epochs;
    int                 nepochs;
    double              peak_rss_mib;
    const char         *status;    /* ok, diverged, failed, interrupted */
    char                reason[256];
    char                started[64], finished[64];
    char                exit_text[48];  /* how the run's process ended */
    gpx_data_record     data;
    int                 have_data;
    gpx_size_row       *evals;       /* eval.sizes x eval.methods, in that order */
    int                 nevals;
    char               *raw_run;    /* --resume: the run's runs.csv line, kept verbatim */
    char                raw_variant[32]; /* ... and its variant column */
    char               *raw_epochs; /* ... and its epochs.csv lines */
    char               *raw_evals;  /* ... and its evals.csv lines */
} run_record;

typedef struct {
    const run_options *opt;
    const ycfg      *cfg;
    char               out_dir[2048];
    run_record        *runs;
    size_t             nruns;      /* finished so far */
    run_record        *prior;      /* --resume: finished runs read back */
    size_t             nprior;
    char             **merged_from; /* gpool merge: the shard directories */
    int                nmerged;
    gpx_data_record    data;       /* from the first run that loaded data */
    int                have_data;
    char               started[64];
    int                argc;       /* the command line, for the manifests */
    char             **argv;
} sweep;

/* ============================================================ child */

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

static void send_msg(int fd, const child_msg *m)
{
    /* the parent notices a short message as a failed run */
    (void)write_all(fd, m, sizeof *m);
}

static void child_fail(int fd, const char *fmt, ...)
{
    child_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_DONE;
    m.u.done.status = GPX_RUN_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.u.done.reason, sizeof m.u.done.reason, fmt, ap);
    va_end(ap);
    send_msg(fd, &m);
}

static void report_data(int fd, const gpx_data *d)
{
    child_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_DATA;
    m.u.data.nfiles = d->nfiles < 4 ? d->nfiles : 4;
    for (int i = 0; i < m.u.data.nfiles; i++) {
        snprintf(m.u.data.files[i], sizeof m.u.data.files[i], "%s", d->files[i]);
        snprintf(m.u.data.sha256[i], sizeof m.u.data.sha256[i], "%s", d->sha256[i]);
    }
    m.u.data.mean = d->mean;
    m.u.data.std = d->std;
    m.u.data.train_count = d->train.count;
    m.u.data.val_count = d->val.count;
    m.u.data.test_count = d->test.count;
    send_msg(fd, &m);
}

/* The global pooling kernel variant the head's pooling layer dispatches to. */
static void head_variant(gp_net *net, char *buf, size_t len)
{
    snprintf(buf, len, "none");
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        gp_layer *l = gp_net_layer(net, i);
        if (strcmp(l->ops->kind, "head_pool"))
            continue;
        gp_pool_desc d = { (size_t)l->in.n, (size_t)l->in.c, (size_t)l->in.h, (size_t)l->in.w,
                           GP_LAYOUT_NCHW, GP_POOL_AVG };
        gp_variant_info v;
        if (gp_select_variant(&d, GP_PASS_FORWARD, &v) == GP_OK)
            snprintf(buf, len, "%s", v.name);
    }
}

static void report_built(int fd, gp_net *net, const gpx_train_opts *o, int threads)
{
    child_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_BUILT;
    m.u.built.params = (double)gp_net_param_floats(net);
    m.u.built.flops = gp_net_flops(net);
    m.u.built.mem = gp_net_memory(net, o->optim.kind == GP_OPTIM_SGD
                                           ? (o->optim.momentum > 0 ? 1 : 0) : 2);
    m.u.built.threads = threads;
    m.u.built.input_size = gp_net_layer(net, 0)->in.h;
    head_variant(net, m.u.built.variant, sizeof m.u.built.variant);
    send_msg(fd, &m);
}

/* ---- per-run progress, for continuing an interrupted run ----
 * After every epoch the child saves the checkpoint, then rewrites
 * runs/<id>/progress.csv (every epoch row so far, exact to the bit) and only
 * then reports the epoch. --resume continues a run whose progress rows match
 * its checkpoint (the optimizer has taken rows x steps-per-epoch steps). */

typedef struct {
    int            fd;
    gpx_epoch_row *rows;
    int            nrows, cap;
    char           path[8300];    /* progress.csv; "" without checkpoints */
    int            fault_epoch;   /* GPOOL_FAULT: kill the sweep after this epoch (0: never) */
} epoch_sink;

static void write_progress_rows(FILE *fp, const void *ctx)
{
    const epoch_sink *k = ctx;
    gpx_write_progress(fp, k->rows, k->nrows);
}

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

/* Rows of a progress.csv; 0 rows when it is missing or malformed. */
static int read_progress(epoch_sink *k)
{
    free(k->rows);
    k->nrows = k->cap = gpx_read_progress(k->path, &k->rows);
    return k->nrows;
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
    child_msg m;
    if (keep_row(k, row))
        return -1;
    if (k->path[0]) {
        char err[512];
        gpx_atomic_file f;
        if (gpx_atomic_open(&f, k->path, err, sizeof err))
            return -1;
        write_progress_rows(f.fp, k);
        if (gpx_atomic_commit(&f, err, sizeof err))
            return -1;
    }
    memset(&m, 0, sizeof m);
    m.kind = MSG_EPOCH;
    m.u.epoch = *row;
    if (write_all(k->fd, &m, sizeof m))
        return -1;
    if (k->fault_epoch && row->epoch == k->fault_epoch) {
        /* fault injection for the resume tests: die like kill -9 of the whole sweep */
        kill(getppid(), SIGKILL);
        raise(SIGKILL);
    }
    return 0;
}

/* GPOOL_FAULT="run:R:epoch:E" kills the sweep (parent and child, SIGKILL)
 * right after epoch E of point R (0-based) is saved; "after-run:R" kills the
 * parent once run R's rows are written. For tests of --resume. */
static int fault_epoch_for(size_t index)
{
    const char *f = getenv("GPOOL_FAULT");
    unsigned long run;
    int epoch;
    if (f && sscanf(f, "run:%lu:epoch:%d", &run, &epoch) == 2 && run == index)
        return epoch;
    return 0;
}

static int fault_after_run(size_t index)
{
    const char *f = getenv("GPOOL_FAULT");
    unsigned long run;
    return f && sscanf(f, "after-run:%lu", &run) == 1 && run == index;
}

typedef struct {
    const sweep        *sw;
    size_t              index;
    int                 show_build;
} child_job;

/* After training: the test set at every eval.sizes x eval.methods, one
 * MSG_EVAL per pair (not-applicable pairs included, with their reason). The
 * transforms start from the data set's own images, also when training
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
    gpx_data original;
    const gpx_data *source = data;
    memset(&original, 0, sizeof original);
    if (data->train.h != 0 && ycfg_int(pt, "data.resize") > 0) {
        gpx_data_spec spec = gpx_run_data_spec(pt);
        spec.resize = 0;
        spec.validation = 0;
        spec.train_limit = 1;   /* only the test split is needed */
        if (gpx_data_load(&spec, &original, err, errlen))
            return -1;
        original.mean = data->mean;
        original.std = data->std;
        source = &original;
    }
    gpx_eval_sizes_opts eo = { model, size, nsizes, method, nmethods,
                               (uint64_t)ycfg_int(pt, "eval.seed"),
                               (int)ycfg_int(pt, "eval.batch"), sigmoid_loss };
    gpx_size_row *rows = calloc((size_t)nsizes * (size_t)nmethods, sizeof *rows);
    int rc = rows ? gpx_eval_at_sizes(net, source, &eo, rows, err, errlen) : -1;
    for (int i = 0; rc == 0 && i < nsizes * nmethods; i++) {
        child_msg m;
        memset(&m, 0, sizeof m);
        m.kind = MSG_EVAL;
        m.u.eval = rows[i];
        send_msg(fd, &m);
    }
    free(rows);
    gpx_data_free(&original);
    return rc;
}

/* With --resume, go on from the run's checkpoint when its progress rows
 * match it: report those rows first, as if they had just been trained. */
static void continue_run(const child_job *job, epoch_sink *sink, gpx_train_opts *o,
                         const gpx_data *data)
{
    int rows = job->sw->opt->resume ? read_progress(sink) : 0;
    long long per_epoch = (data->train.count + o->batch - 1) / o->batch;
    if (rows > 0 && rows <= o->epochs && checkpoint_steps(o->checkpoint_dir) == rows * per_epoch) {
        o->resume_dir = o->checkpoint_dir;
        o->resume_epochs = rows;
        fprintf(stderr, "run %s: continuing after epoch %d from %s\n",
                ycfg_point_id(ycfg_point_at(job->sw->cfg, job->index)), rows,
                o->checkpoint_dir);
        for (int i = 0; i < rows; i++) {
            child_msg m;
            memset(&m, 0, sizeof m);
            m.kind = MSG_EPOCH;
            m.u.epoch = sink->rows[i];
            send_msg(sink->fd, &m);
        }
        return;
    }
    sink->nrows = 0;
    unlink(sink->path);   /* a fresh start: stale rows must not be taken for this run's */
}

static int child_main(const child_job *job, int fd)
{
    const ycfg_point *pt = ycfg_point_at(job->sw->cfg, job->index);
    const char *id = ycfg_point_id(pt);
    char err[1024], label[96], ckpt[8192];
    gpx_data data;
    int threads = gpx_run_prepare(pt, 0, &data, err, sizeof err);
    if (threads < 0) {
        child_fail(fd, "%s", err);
        return 1;
    }
    report_data(fd, &data);

    gpx_train_opts o = gpx_run_train_opts(pt);
    gp_shape in = { o.batch, data.train.c, data.train.h, data.train.w };
    gp_net *net = NULL;
    gpx_model_spec model;
    if (job->show_build)
        fprintf(stderr, "network of run %s (%s):\n", id, ycfg_str(pt, "model.head"));
    if (gpx_run_model_spec(job->sw->cfg, pt, &model, err, sizeof err) ||
        gpx_model_build(&model, in, data.train.classes, o.seed,
                        job->show_build ? stderr : NULL, &net, err, sizeof err)) {
        child_fail(fd, "%s", err);
        gpx_model_spec_free(&model);
        gpx_data_free(&data);
        return 1;
    }
    report_built(fd, net, &o, threads);

    snprintf(label, sizeof label, "[%zu/%zu] %s", job->index + 1,
             ycfg_npoints(job->sw->cfg), ycfg_str(pt, "model.head"));
    o.label = label;
    o.progress = gpx_progress_enabled();
    epoch_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.fd = fd;
    sink.fault_epoch = fault_epoch_for(job->index);
    if (ycfg_bool(pt, "train.checkpoint")) {
        snprintf(ckpt, sizeof ckpt, "%s/runs/%s", job->sw->out_dir, id);
        if (gpx_mkdir_p(ckpt, err, sizeof err)) {
            child_fail(fd, "%s", err);
            gp_net_destroy(net);
            gpx_model_spec_free(&model);
            gpx_data_free(&data);
            return 1;
        }
        snprintf(sink.path, sizeof sink.path, "%s/progress.csv", ckpt);
        strcat(ckpt, "/checkpoint");
        o.checkpoint_dir = ckpt;
        continue_run(job, &sink, &o, &data);
    }
    gpx_train_result res;
    gpx_train(net, &data, &o, send_epoch, &sink, &res);
    free(sink.rows);
    if (res.status == GPX_RUN_OK &&
        evaluate_sizes(fd, pt, &model, net, &data, o.sigmoid_loss, err, sizeof err)) {
        res.status = GPX_RUN_FAILED;
        snprintf(res.reason, sizeof res.reason, "evaluation at other sizes: %.200s", err);
    }
    child_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_DONE;
    m.u.done = res;
    send_msg(fd, &m);
    gp_net_destroy(net);
    gpx_model_spec_free(&model);
    gpx_data_free(&data);
    return res.status == GPX_RUN_FAILED ? 1 : 0;
}

/* ============================================================ parent */

static int read_msg(int fd, child_msg *m)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fd, p + got, sizeof *m - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got ? -1 : 0;
        got += (size_t)r;
    }
    return 1;
}

static int take_msg(sweep *sw, run_record *rec, const child_msg *m)
{
    switch (m->kind) {
    case MSG_BUILT:
        rec->built = m->u.built;
        rec->have_built = 1;
        return 0;
    case MSG_DATA:
        rec->data = m->u.data;
        rec->have_data = 1;
        if (!sw->have_data) {
            sw->data = m->u.data;
            sw->have_data = 1;
        }
        return 0;
    case MSG_EPOCH: {
        gpx_epoch_row *grown = realloc(rec->epochs, (size_t)(rec->nepochs + 1) * sizeof *grown);
        if (!grown)
            return -1;
        rec->epochs = grown;
        rec->epochs[rec->nepochs++] = m->u.epoch;
        return 0;
    }
    case MSG_EVAL: {
        gpx_size_row *grown = realloc(rec->evals, (size_t)(rec->nevals + 1) * sizeof *grown);
        if (!grown)
            return -1;
        rec->evals = grown;
        rec->evals[rec->nevals++] = m->u.eval;
        return 0;
    }
    case MSG_DONE:
        rec->result = m->u.done;
        rec->have_done = 1;
        return 0;
    }
    return -1;
}

static void settle_status(run_record *rec, int wstatus, int read_error)
{
    if (WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGINT || WTERMSIG(wstatus) == SIGTERM)) {
        rec->status = "interrupted";
        snprintf(rec->reason, sizeof rec->reason, "signal %d after %d epochs",
                 WTERMSIG(wstatus), rec->nepochs);
    } else if (WIFSIGNALED(wstatus)) {
        rec->status = "failed";
        snprintf(rec->reason, sizeof rec->reason, "run died of signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    } else if (!rec->have_done || read_error) {
        rec->status = "failed";
        snprintf(rec->reason, sizeof rec->reason, "run ended without a result (exit %d)",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    } else {
        rec->status = rec->result.status == GPX_RUN_OK        ? "ok"
                      : rec->result.status == GPX_RUN_DIVERGED ? "diverged"
                                                               : "failed";
        snprintf(rec->reason, sizeof rec->reason, "%s", rec->result.reason);
    }
}

static volatile sig_atomic_t run_interrupted;
static volatile pid_t run_child;   /* the run in progress, to pass a SIGTERM on to */

static void on_signal(int sig)
{
    run_interrupted = sig;
    if (run_child > 0)
        kill(run_child, sig);
}

/* Train time, images/s and the best epoch, from every epoch row: a run
 * continued from a checkpoint reports its earlier epochs as rows too. The
 * best epoch is chosen by validation accuracy when there is a validation
 * split (choosing by test accuracy would flatter it), else by test
 * accuracy; the first of equals wins. */
static void summarize_epochs(run_record *rec)
{
    double train_s = 0, images = 0, best_key = 0;
    rec->result.best_epoch = 0;
    for (int e = 0; e < rec->nepochs; e++) {
        const gpx_epoch_row *r = &rec->epochs[e];
        double key = isnan(r->val_acc) ? r->test_acc : r->val_acc;
        train_s += r->epoch_s;
        images += r->epoch_s * r->img_per_s;
        if (rec->result.best_epoch == 0 || key > best_key) {
            best_key = key;
            rec->result.best_epoch = r->epoch;
            rec->result.best_test_acc = r->test_acc;
        }
    }
    rec->result.train_s = train_s;
    rec->result.images_per_s = train_s > 0 ? images / train_s : NAN;
}

static int run_point(sweep *sw, size_t index, int show_build, run_record *rec)
{
    int fds[2];
    memset(rec, 0, sizeof *rec);
    rec->pt = ycfg_point_at(sw->cfg, index);
    rec->id = ycfg_point_id(rec->pt);
    gpx_iso_time(rec->started, sizeof rec->started);
    fflush(NULL);
    if (pipe(fds)) {
        fprintf(stderr, "gpool run: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "gpool run: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        child_job job = { sw, index, show_build };
        int rc = child_main(&job, fds[1]);
        fflush(NULL);
        _exit(rc);
    }
    close(fds[1]);
    run_child = pid;
    child_msg m;
    int r, read_error = 0;
    while ((r = read_msg(fds[0], &m)) > 0)
        if (take_msg(sw, rec, &m))
            read_error = 1;
    if (r < 0)
        read_error = 1;
    close(fds[0]);
    int wstatus = 0;
    struct rusage ru;
    while (wait4(pid, &wstatus, 0, &ru) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "gpool run: wait: %s\n", strerror(errno));
            return -1;
        }
    run_child = 0;
    gpx_iso_time(rec->finished, sizeof rec->finished);
    if (WIFSIGNALED(wstatus))
        snprintf(rec->exit_text, sizeof rec->exit_text, "signal %d", WTERMSIG(wstatus));
    else
        snprintf(rec->exit_text, sizeof rec->exit_text, "exit %d", WEXITSTATUS(wstatus));
    rec->peak_rss_mib = (double)ru.ru_maxrss / 1024.0;   /* KiB on Linux */
    settle_status(rec, wstatus, read_error);
    summarize_epochs(rec);
    return 0;
}

/* ============================================================ output */

/* Every finished run: this sweep's so far, in config order, then the prior
 * runs (--resume) it has not reached yet. The files rewritten after each
 * run list them all, so that none of the prior runs drops out of runs.csv
 * while the sweep re-runs an earlier point. */
static const run_record *next_record(const sweep *sw, size_t *it)
{
    while (*it < sw->nruns + sw->nprior) {
        size_t i = (*it)++;
        if (i < sw->nruns)
            return &sw->runs[i];
        if (sw->prior[i - sw->nruns].id)
            return &sw->prior[i - sw->nruns];
    }
    return NULL;
}

/* A run as records/run_rows.h writes it. */
static gpx_run_rows rows_of(const run_record *r)
{
    gpx_run_rows v = { r->id,      r->pt,      r->have_built ? &r->built : NULL,
                       &r->result, r->epochs,  r->nepochs,
                       r->evals,   r->nevals,  r->peak_rss_mib,
                       r->status,  r->reason };
    return v;
}

static void write_runs_csv(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    gpx_record_header(fp, &gpx_runs_file, sw->cfg);
    size_t it = 0;
    for (const run_record *r; (r = next_record(sw, &it)) != NULL;) {
        gpx_run_rows v = rows_of(r);
        if (r->raw_run)
            fputs(r->raw_run, fp);
        else
            gpx_write_run_row(fp, sw->cfg, &v);
    }
}

static void write_epochs_csv(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    gpx_record_header(fp, &gpx_epochs_file, sw->cfg);
    size_t it = 0;
    for (const run_record *r; (r = next_record(sw, &it)) != NULL;) {
        gpx_run_rows v = rows_of(r);
        if (r->raw_run)
            fputs(r->raw_epochs ? r->raw_epochs : "", fp);
        else
            gpx_write_epoch_rows(fp, sw->cfg, &v);
    }
}

static int sweep_has_evals(const sweep *sw)
{
    return ycfg_get(ycfg_point_at(sw->cfg, 0), "eval.sizes")->n > 0;
}

static void write_evals_csv(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    gpx_record_header(fp, &gpx_evals_file, sw->cfg);
    size_t it = 0;
    for (const run_record *r; (r = next_record(sw, &it)) != NULL;) {
        gpx_run_rows v = rows_of(r);
        if (r->raw_run)
            fputs(r->raw_evals ? r->raw_evals : "", fp);
        else
            gpx_write_eval_rows(fp, sw->cfg, &v);
    }
}

static void write_config_yaml(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    ycfg_write_resolved(sw->cfg, fp);
}

/* A run kept from an earlier invocation was not built by this process: its
 * variant is the one its runs.csv row recorded. */
static const char *record_variant(const run_record *r)
{
    if (r->have_built)
        return r->built.variant;
    return r->raw_variant[0] ? r->raw_variant : "none";
}

static void write_manifest(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    gpx_manifest m = { "gpool run manifest: what ran, where, on which data",
                       sw->argc, sw->argv, sw->cfg, NULL, NULL, sw->started, NULL };
    gpx_manifest_write(fp, &m);
    if (sw->have_data)
        gpx_manifest_data(fp, &sw->data);
    if (sw->nmerged) {
        fputs("merged_from:\n", fp);
        for (int i = 0; i < sw->nmerged; i++) {
            fputs("  - ", fp);
            gpx_yaml_string(fp, sw->merged_from[i]);
            fputc('\n', fp);
        }
    }
    fprintf(fp, "points: %zu\nruns:\n", ycfg_npoints(sw->cfg));
    size_t it = 0;
    for (const run_record *r; (r = next_record(sw, &it)) != NULL;) {
        fprintf(fp, "  - {run_id: %s, head: %s, seed: %lld, status: %s, variant: %s}\n", r->id,
                ycfg_str(r->pt, "model.head"), ycfg_int(r->pt, "train.seed"), r->status,
                record_variant(r));
    }
}

typedef struct {
    const sweep      *sw;
    const run_record *rec;
    const char       *config_sha;
} run_manifest_ctx;

/* One run's manifest: its own resolved config (runs/<id>/config.yaml, which
 * `gpool rerun` loads), seed, what it ran on and how it ended. */
static void write_run_manifest(FILE *fp, const void *ctx)
{
    const run_manifest_ctx *c = ctx;
    const run_record *r = c->rec;
    gpx_manifest m = { "gpool run manifest of one run (gpool rerun DIR RUN_ID runs it again)",
                       c->sw->argc, c->sw->argv, c->sw->cfg, "config.yaml", c->config_sha,
                       r->started, r->finished };
    gpx_manifest_write(fp, &m);
    fprintf(fp, "run_id: %s\nhead: %s\nseed: %lld\nthreads: %d\nvariant: %s\nstatus: %s\n", r->id,
            ycfg_str(r->pt, "model.head"), ycfg_int(r->pt, "train.seed"),
            r->have_built ? r->built.threads : 0, record_variant(r), r->status);
    gpx_manifest_string(fp, "reason", r->reason);
    fprintf(fp, "exit: %s\n", r->exit_text);
    if (r->have_data)
        gpx_manifest_data(fp, &r->data);
}

static int write_file_at(const char *path, void (*body)(FILE *, const void *), const void *ctx)
{
    char err[512];
    gpx_atomic_file f;
    if (gpx_atomic_open(&f, path, err, sizeof err)) {
        fprintf(stderr, "gpool run: %s\n", err);
        return -1;
    }
    body(f.fp, ctx);
    if (gpx_atomic_commit(&f, err, sizeof err)) {
        fprintf(stderr, "gpool run: %s\n", err);
        return -1;
    }
    return 0;
}

static void write_text(FILE *fp, const void *ctx)
{
    fputs((const char *)ctx, fp);
    fputc('\n', fp);
}

/* runs/<id>/config.yaml (the point's resolved config, one flow mapping that
 * loads to the same run id) and runs/<id>/manifest.yaml. */
static int write_run_files(const sweep *sw, const run_record *rec)
{
    char dir[4096], path[4200], err[512], sha[65];
    snprintf(dir, sizeof dir, "%s/runs/%s", sw->out_dir, rec->id);
    if (gpx_mkdir_p(dir, err, sizeof err)) {
        fprintf(stderr, "gpool run: %s\n", err);
        return -1;
    }
    char *text = ycfg_value_text(ycfg_point_root(rec->pt));
    if (!text)
        return -1;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    int rc = write_file_at(path, write_text, text);
    char *with_newline = malloc(strlen(text) + 2);
    if (with_newline) {
        sprintf(with_newline, "%s\n", text);
        gpx_sha256_buffer(with_newline, strlen(with_newline), sha);
        free(with_newline);
    } else {
        snprintf(sha, sizeof sha, "unknown");
    }
    free(text);
    run_manifest_ctx ctx = { sw, rec, sha };
    snprintf(path, sizeof path, "%s/manifest.yaml", dir);
    return rc || write_file_at(path, write_run_manifest, &ctx) ? -1 : 0;
}

static int write_out(const sweep *sw, const char *name, void (*body)(FILE *, const void *))
{
    char path[4096];
    if (gpx_join(path, sizeof path, sw->out_dir, name)) {
        fprintf(stderr, "gpool run: %s/%s: path too long\n", sw->out_dir, name);
        return -1;
    }
    return write_file_at(path, body, sw);
}

/* accuracy.dat: one block per run (two blank lines apart), epoch and test accuracy. */
static void write_chart_data(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    for (size_t i = 0; i < sw->nruns; i++) {
        const run_record *r = &sw->runs[i];
        fprintf(fp, "# run %s\n", r->id);
        for (int e = 0; e < r->nepochs; e++)
            if (isfinite(r->epochs[e].test_acc))
                fprintf(fp, "%d %.5f\n", r->epochs[e].epoch, 100 * r->epochs[e].test_acc);
        fputs("\n\n", fp);
    }
}

/* A run's legend entry: its swept values other than the default-looking ones. */
static void run_title(const sweep *sw, const run_record *r, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < ycfg_nswept(sw->cfg) && o + 1 < len; k++) {
        const char *path = ycfg_swept_path(sw->cfg, k);
        const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        char *text = ycfg_value_text(ycfg_get(r->pt, path));
        o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", o ? " " : "",
                              strcmp(leaf, "head") ? leaf : "", strcmp(leaf, "head") ? "=" : "",
                              text ? text : "?");
        free(text);
    }
    if (!buf[0])
        snprintf(buf, len, "%s", ycfg_str(r->pt, "model.head"));
}

static void write_chart_script(FILE *fp, const void *ctx)
{
    const sweep *sw = ctx;
    char quoted[512], title[256];
    gpx_gnuplot_quote(quoted, sizeof quoted, ycfg_name(sw->cfg));
    fprintf(fp,
            "# test accuracy per epoch, one line per run (written by gpool run)\n"
            "set title sprintf('%%s: test accuracy per epoch', %s) noenhanced\n"
            "set xlabel 'epoch'\nset ylabel 'test accuracy (%%)'\n"
            "set key outside right top noenhanced\nset grid\nset xrange [0:*]\nset yrange [0:100]\n",
            quoted);
    fputs("titles = \"", fp);
    for (size_t i = 0; i < sw->nruns; i++) {
        run_title(sw, &sw->runs[i], title, sizeof title);
        for (char *c = title; *c; c++)
            if (*c == ' ' || *c == '"')
                *c = '_';
        fprintf(fp, "%s%s", i ? " " : "", title);
    }
    fprintf(fp, "\"\n"
                "do for [fmt in 'png svg'] {\n"
                "  if (fmt eq 'png') { set terminal pngcairo size 1100,650 } "
                "else { set terminal svg size 1100,650 dynamic }\n"
                "  set output outbase.'.'.fmt\n"
                "  plot for [i=0:%zu] datafile index i using 1:2 with linespoints pt 7 ps 0.5 "
                "title word(titles, i+1)\n"
                "  unset output\n"
                "}\n",
                sw->nruns ? sw->nruns - 1 : 0);
}

/* Charts go through records/chart.h: published whole or not at all; a
 * missing gnuplot skips them with a note. 0 ok or skipped, -1 failed. */
static int write_chart(const sweep *sw)
{
    char err[1024];
    int finished = 0;
    for (size_t i = 0; i < sw->nruns; i++)
        finished += sw->runs[i].nepochs > 0;
    if (!finished)
        return 0;
    gpx_chart chart = { sw->out_dir, "accuracy", NULL, write_chart_data, write_chart_script,
                        NULL, NULL, sw };
    int r = gpx_chart_publish(&chart, err, sizeof err);
    if (r)
        fprintf(stderr, "gpool run: %s%s\n", err, r > 0 ? ": chart skipped" : "");
    return r < 0 ? -1 : 0;
}

static int write_tables(const sweep *sw)
{
    int bad = write_out(sw, "runs.csv", write_runs_csv);
    bad |= write_out(sw, "epochs.csv", write_epochs_csv);
    if (sweep_has_evals(sw))
        bad |= write_out(sw, "evals.csv", write_evals_csv);
    bad |= write_out(sw, "manifest.yaml", write_manifest);
    return bad ? -1 : 0;
}


/* ============================================================ resume */

/* dst + the line + "\n" (dst NULL: a new string); dst unchanged out of memory. */
static char *append_line(char *dst, const char *line, size_t len)
{
    size_t have = dst ? strlen(dst) : 0;
    char *grown = realloc(dst, have + len + 2);
    if (!grown)
        return dst;
    memcpy(grown + have, line, len);
    memcpy(grown + have + len, "\n", 2);
    return grown;
}

static run_record *find_prior(sweep *sw, const char *id)
{
    for (size_t i = 0; i < sw->nprior; i++)
        if (sw->prior[i].id && !strcmp(sw->prior[i].id, id))
            return &sw->prior[i];
    return NULL;
}

static int prior_fail(const char *path, const char *why)
{
    fprintf(stderr, "gpool run: --resume: %s: %s\n", path, why);
    return -1;
}

/* A results file of an earlier run of this config: it must have the
 * columns this config writes. col[] as gpx_record_columns sets it. */
static int load_prior_file(gpx_csv *t, const char *path, const gpx_record_file *f,
                           const ycfg *cfg, int *col)
{
    char err[8400];
    if (gpx_csv_load(t, path, NULL, err, sizeof err)) {
        fprintf(stderr, "gpool run: --resume: %s\n", err);
        return -1;
    }
    if (!gpx_record_same_header(t, f, cfg)) {
        gpx_csv_free(t);
        return prior_fail(path, "its columns differ from what this config writes "
                                "(another config?); use --out DIR or --force");
    }
    return gpx_record_columns(t, f, NULL, 0, col, err, sizeof err);
}

static size_t point_index(const ycfg *cfg, const char *id)
{
    size_t k;
    for (k = 0; k < ycfg_npoints(cfg); k++)
        if (!strcmp(ycfg_point_id(ycfg_point_at(cfg, k)), id))
            break;
    return k;
}

/* Row r of a prior runs.csv kept as a finished run, when it is one: ok or
 * diverged, or any status with keep_all (merge). 0, or -1 (printed). */
static int take_prior_run(sweep *sw, const gpx_csv *t, const int *col, size_t r, int keep_all)
{
    static const char *const statuses[] = { "ok", "diverged", "failed", "interrupted" };
    const char *id = gpx_csv_field(t, r, col[GPX_RUNS_RUN_ID]);
    const char *status = gpx_csv_field(t, r, col[GPX_RUNS_STATUS]);
    size_t k = point_index(sw->cfg, id), st, len;
    if (k == ycfg_npoints(sw->cfg))
        return prior_fail(t->path, "it holds runs that are not points of this config; "
                                   "use --out DIR or --force");
    for (st = 0; st < 4 && strcmp(status, statuses[st]); st++)
        ;
    if (st == 4 || (!keep_all && st >= 2))
        return 0;   /* failed or interrupted: run it again */
    if (find_prior(sw, id))
        return keep_all ? prior_fail(t->path, "a run appears in two shards; merge each shard "
                                              "once")
                        : 0;
    if (sw->nprior >= ycfg_npoints(sw->cfg))
        return 0;
    run_record *rec = &sw->prior[sw->nprior++];
    const char *raw = gpx_csv_raw(t, r, &len);
    rec->pt = ycfg_point_at(sw->cfg, k);
    rec->id = ycfg_point_id(rec->pt);
    rec->status = statuses[st];
    rec->raw_run = append_line(NULL, raw, len);
    snprintf(rec->raw_variant, sizeof rec->raw_variant, "%s",
             gpx_csv_field(t, r, col[GPX_RUNS_VARIANT]));
    return rec->raw_run ? 0 : prior_fail(t->path, "out of memory");
}

/* Read the finished runs of an earlier `gpool run` of the same config. */
static int load_prior_runs(sweep *sw, const char *runs_path, int keep_all)
{
    gpx_csv t;
    int col[GPX_RUNS_NCOLUMNS], rc = 0;
    if (load_prior_file(&t, runs_path, &gpx_runs_file, sw->cfg, col))
        return -1;
    if (!sw->prior)
        sw->prior = calloc(ycfg_npoints(sw->cfg) + 1, sizeof *sw->prior);
    if (!sw->prior)
        rc = prior_fail(runs_path, "out of memory");
    for (size_t r = 0; rc == 0 && r < t.nrows; r++)
        rc = take_prior_run(sw, &t, col, r, keep_all);
    gpx_csv_free(&t);
    return rc;
}

/* Attach each prior run's evals.csv lines (when the config evaluates other sizes). */
static int load_prior_evals(sweep *sw, const char *evals_path)
{
    gpx_csv t;
    int col[GPX_EVALS_NCOLUMNS];
    if (!sweep_has_evals(sw))
        return 0;
    if (load_prior_file(&t, evals_path, &gpx_evals_file, sw->cfg, col))
        return -1;
    for (size_t r = 0; r < t.nrows; r++) {
        run_record *rec = find_prior(sw, gpx_csv_field(&t, r, col[GPX_EVALS_RUN_ID]));
        size_t len;
        const char *raw = gpx_csv_raw(&t, r, &len);
        if (rec)
            rec->raw_evals = append_line(rec->raw_evals, raw, len);
    }
    gpx_csv_free(&t);
    return 0;
}

/* One epochs.csv row of a prior run: kept verbatim, and its test accuracy
 * per epoch for the chart. */
static int take_prior_epoch(run_record *rec, const gpx_csv *t, const int *col, size_t r)
{
    char err[8400];
    double epoch, acc;
    size_t len;
    const char *raw = gpx_csv_raw(t, r, &len);
    if (gpx_csv_number(t, r, col[GPX_EPOCHS_EPOCH], &epoch, err, sizeof err) ||
        gpx_csv_number(t, r, col[GPX_EPOCHS_TEST_ACC], &acc, err, sizeof err)) {
        fprintf(stderr, "gpool run: --resume: %s\n", err);
        return -1;
    }
    gpx_epoch_row *grown = realloc(rec->epochs, (size_t)(rec->nepochs + 1) * sizeof *grown);
    if (!grown)
        return prior_fail(t->path, "out of memory");
    rec->epochs = grown;
    gpx_epoch_row *row = &rec->epochs[rec->nepochs++];
    memset(row, 0, sizeof *row);
    row->epoch = isfinite(epoch) ? (int)epoch : 0;
    row->test_acc = acc;
    rec->raw_epochs = append_line(rec->raw_epochs, raw, len);
    return 0;
}

/* Attach each prior run's epochs.csv lines, and its test accuracy per epoch for the chart. */
static int load_prior_epochs(sweep *sw, const char *epochs_path)
{
    gpx_csv t;
    int col[GPX_EPOCHS_NCOLUMNS], rc = 0;
    if (load_prior_file(&t, epochs_path, &gpx_epochs_file, sw->cfg, col))
        return -1;
    for (size_t r = 0; rc == 0 && r < t.nrows; r++) {
        run_record *rec = find_prior(sw, gpx_csv_field(&t, r, col[GPX_EPOCHS_RUN_ID]));
        if (rec)
            rc = take_prior_epoch(rec, &t, col, r);
    }
    gpx_csv_free(&t);
    return rc;
}


/* A sweep of cfg for the command line argc/argv, nothing run yet. */
static void sweep_init(sweep *sw, const run_options *o, const ycfg *cfg, int argc, char **argv)
{
    memset(sw, 0, sizeof *sw);
    sw->opt = o;
    sw->cfg = cfg;
    sw->argc = argc;
    sw->argv = argv;
    gpx_iso_time(sw->started, sizeof sw->started);
}

/* ============================================================= merge */

static int prepare_out_dir(sweep *sw, const run_options *o);
static int run_sweep(sweep *sw);

static void merge_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool merge [-o DIR] SHARD_DIR...\n"
            "\n"
            "Join the outputs of `gpool run --shard K/N` (one directory per shard, each with\n"
            "runs.csv, epochs.csv and config.yaml) into one experiment directory, as if one\n"
            "process had run the whole sweep: rows in sweep order, the chart and the\n"
            "manifest redone. Every shard must come from the same config, no run may\n"
            "appear twice, and every point must be present.\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   the merged directory (default results/<name>)\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 merged, 1 an error, 2 bad command line.\n");
}

static void free_record(run_record *r)
{
    free(r->epochs);
    free(r->evals);
    free(r->raw_run);
    free(r->raw_epochs);
    free(r->raw_evals);
}

static void free_sweep_records(sweep *sw)
{
    for (size_t i = 0; i < sw->nruns; i++)
        free_record(&sw->runs[i]);
    for (size_t i = 0; i < sw->nprior; i++)
        free_record(&sw->prior[i]);
    free(sw->prior);
    free(sw->runs);
}

/* 1 when two configs expand to the same points (same ids, same order). */
static int same_points(const ycfg *a, const ycfg *b)
{
    if (ycfg_npoints(a) != ycfg_npoints(b))
        return 0;
    for (size_t i = 0; i < ycfg_npoints(a); i++)
        if (strcmp(ycfg_point_id(ycfg_point_at(a, i)), ycfg_point_id(ycfg_point_at(b, i))))
            return 0;
    return 1;
}

static int merge_shard(sweep *sw, const char *dir)
{
    char path[4096], runs[4096], epochs[4096], err[1024];
    gpx_join(path, sizeof path, dir, "config.yaml");
    ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool merge: %s\n", err);
        return -1;
    }
    int same = same_points(cfg, sw->cfg);
    ycfg_free(cfg);
    if (!same) {
        fprintf(stderr, "gpool merge: %s: another config than %s's\n", dir, sw->merged_from[0]);
        return -1;
    }
    char evals[4096];
    gpx_join(runs, sizeof runs, dir, "runs.csv");
    gpx_join(epochs, sizeof epochs, dir, "epochs.csv");
    gpx_join(evals, sizeof evals, dir, "evals.csv");
    return load_prior_runs(sw, runs, 1) || load_prior_epochs(sw, epochs) ||
                   load_prior_evals(sw, evals) ? -1 : 0;
}

/* Move the merged runs into sweep order; -1 (naming one) if a point is missing. */
static int order_merged(sweep *sw)
{
    size_t missing = 0;
    const char *example = NULL;
    for (size_t i = 0; i < ycfg_npoints(sw->cfg); i++) {
        run_record *r = find_prior(sw, ycfg_point_id(ycfg_point_at(sw->cfg, i)));
        if (!r) {
            missing++;
            example = example ? example : ycfg_point_id(ycfg_point_at(sw->cfg, i));
            continue;
        }
        sw->runs[sw->nruns++] = *r;
        memset(r, 0, sizeof *r);
    }
    if (missing)
        fprintf(stderr, "gpool merge: %zu of %zu points have no run in the shards (e.g. %s)\n",
                missing, ycfg_npoints(sw->cfg), example);
    return missing ? -1 : 0;
}

/* Copy a small file (a run's manifest or config) into place, atomically. */
static int copy_small_file(const char *from, const char *to)
{
    char *text = gpx_read_text(from), err[512];
    if (!text)
        return -1;
    gpx_atomic_file f;
    int rc = gpx_atomic_open(&f, to, err, sizeof err);
    if (rc == 0) {
        fputs(text, f.fp);
        rc = gpx_atomic_commit(&f, err, sizeof err);
    }
    if (rc)
        fprintf(stderr, "gpool merge: %s\n", err);
    free(text);
    return rc;
}

/* Each run's own config, manifest and progress go along with its rows (the
 * checkpoints stay in the shards: they are large and only resume needs them). */
static int merge_run_files(const sweep *sw, char **dirs, int ndirs)
{
    static const char *const files[] = { "config.yaml", "manifest.yaml", "progress.csv" };
    char from[4400], to[4400], dir[4200], err[512];
    for (size_t i = 0; i < sw->nruns; i++)
        for (int d = 0; d < ndirs; d++) {
            snprintf(from, sizeof from, "%s/runs/%s/manifest.yaml", dirs[d], sw->runs[i].id);
            if (!gpx_readable(from))
                continue;
            snprintf(dir, sizeof dir, "%s/runs/%s", sw->out_dir, sw->runs[i].id);
            if (gpx_mkdir_p(dir, err, sizeof err)) {
                fprintf(stderr, "gpool merge: %s\n", err);
                return -1;
            }
            for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
                snprintf(from, sizeof from, "%s/runs/%s/%s", dirs[d], sw->runs[i].id, files[k]);
                snprintf(to, sizeof to, "%s/%s", dir, files[k]);
                if (gpx_readable(from) && copy_small_file(from, to))
                    return -1;
            }
            break;
        }
    return 0;
}

/* -1 to go on (*out and dirs[0..*ndirs-1] set), or the exit status: 0 help
 * printed, 2 usage error printed. */
static int parse_merge_options(int argc, char **argv, const char **out, char **dirs, int *ndirs)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (gpx_option_flag(argv[i], "-h", "--help")) {
            merge_usage(stdout);
            return 0;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error(MERGE_CMD, "--out needs a directory");
            *out = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gpx_usage_error(MERGE_CMD, "unknown option '%s'", argv[i]);
        } else {
            dirs[(*ndirs)++] = argv[i];
        }
    }
    if (!*ndirs)
        return gpx_usage_error(MERGE_CMD, "missing SHARD_DIR");
    return -1;
}

int gpx_cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    int ndirs = 0;
    int status = parse_merge_options(argc, argv, &out, dirs, &ndirs);
    if (status >= 0) {
        free(dirs);
        return status;
    }
    char path[4096], err[1024];
    gpx_join(path, sizeof path, dirs[0], "config.yaml");
    ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool merge: %s\n", err);
        free(dirs);
        return 1;
    }
    run_options o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    sweep sw;
    sweep_init(&sw, &o, cfg, argc, argv);
    sw.merged_from = dirs;
    sw.nmerged = ndirs;
    sw.runs = calloc(ycfg_npoints(cfg), sizeof *sw.runs);
    if (out)
        snprintf(sw.out_dir, sizeof sw.out_dir, "%s", out);
    else
        snprintf(sw.out_dir, sizeof sw.out_dir, "results/%s", ycfg_name(cfg));
    int rc = sw.runs ? 0 : 1;
    for (int d = 0; d < ndirs && rc == 0; d++)
        rc = merge_shard(&sw, dirs[d]) ? 1 : 0;
    if (rc == 0 && order_merged(&sw))
        rc = 1;
    if (rc == 0 && gpx_mkdir_p(sw.out_dir, err, sizeof err)) {
        fprintf(stderr, "gpool merge: %s\n", err);
        rc = 1;
    }
    if (rc == 0 && (write_out(&sw, "config.yaml", write_config_yaml) || write_tables(&sw) ||
                    merge_run_files(&sw, dirs, ndirs) || write_chart(&sw)))
        rc = 1;
    if (rc == 0)
        printf("gpool merge: %zu runs from %d shards -> %s\n", sw.nruns, ndirs, sw.out_dir);
    free_sweep_records(&sw);
    ycfg_free(cfg);
    free(dirs);
    return rc;
}


/* ============================================================= rerun */

static void rerun_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool rerun [OPTIONS] RESULTS_DIR RUN_ID\n"
            "\n"
            "Run one row of an experiment again from its own manifest and config\n"
            "(RESULTS_DIR/runs/RUN_ID/config.yaml) into another directory, then compare the\n"
            "new runs.csv row with the recorded one, column by column, leaving out the\n"
            "timing columns (train_s, img_per_s, peak_rss_mib). Results are bit-identical\n"
            "for the same thread count and build; the manifest records both.\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   where the rerun goes (default RESULTS_DIR/rerun-RUN_ID)\n"
            "  -f, --force     overwrite an earlier rerun there\n"
            "  -q, --quiet     no build log and no progress line\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 equal, 1 different or an error, 2 bad command line.\n");
}

/* -1 to go on (o and pos[0..1] set), or the exit status: 0 help printed,
 * 2 usage error printed. */
static int parse_rerun_options(int argc, char **argv, run_options *o, const char **pos)
{
    int npos = 0;
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (gpx_option_flag(argv[i], "-h", "--help")) {
            rerun_usage(stdout);
            return 0;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error(RERUN_CMD, "--out needs a directory");
            o->out_dir = v;
        } else if (gpx_option_flag(argv[i], "-f", "--force")) {
            o->force = 1;
        } else if (gpx_option_flag(argv[i], "-q", "--quiet")) {
            o->quiet = 1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || npos == 2) {
            return gpx_usage_error(RERUN_CMD, "unexpected '%s'", argv[i]);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != 2)
        return gpx_usage_error(RERUN_CMD, "need RESULTS_DIR and RUN_ID");
    return -1;
}

/* DIR/runs.csv, and the row of run id in it: 0, or -1 (printed). */
static int load_run_row(const char *dir, const char *id, gpx_csv *t, size_t *row)
{
    char path[4096], err[8400];
    gpx_join(path, sizeof path, dir, "runs.csv");
    if (gpx_csv_load(t, path, NULL, err, sizeof err)) {
        fprintf(stderr, "gpool rerun: %s\n", err);
        return -1;
    }
    *row = 0;
    if (gpx_csv_find(t, gpx_csv_column(t, "run_id"), id, row)) {
        fprintf(stderr, "gpool rerun: %s has no run %s\n", path, id);
        gpx_csv_free(t);
        return -1;
    }
    return 0;
}

/* Run cfg (one point, run id) into o->out_dir and compare its runs.csv row
 * with the recorded one. The exit status. */
static int rerun_and_compare(sweep *sw, const run_options *o, const char *id,
                             const gpx_csv *recorded, size_t row)
{
    gpx_csv t;
    size_t r;
    sw->runs = calloc(1, sizeof *sw->runs);
    gpx_progress_enable(!o->quiet);
    if (!sw->runs || prepare_out_dir(sw, o) || write_out(sw, "config.yaml", write_config_yaml) ||
        run_sweep(sw) != 0 || load_run_row(sw->out_dir, id, &t, &r))
        return 1;
    int diffs = gpx_record_diff(&gpx_runs_file, recorded, row, &t, r, stdout);
    printf("gpool rerun: run %s %s the recorded row (timing columns left out)\n", id,
           diffs ? "DIFFERS from" : "equals");
    gpx_csv_free(&t);
    return diffs ? 1 : 0;
}

int gpx_cmd_rerun(int argc, char **argv)
{
    run_options o;
    const char *pos[2] = { NULL, NULL };
    int rc = parse_rerun_options(argc, argv, &o, pos);
    if (rc >= 0)
        return rc;
    char config[4096], out[4096], err[1024];
    snprintf(config, sizeof config, "%s/runs/%s/config.yaml", pos[0], pos[1]);
    gpx_csv recorded;
    size_t row;
    if (load_run_row(pos[0], pos[1], &recorded, &row))
        return 1;
    ycfg *cfg = ycfg_load(config, gpx_run_schema(), err, sizeof err);
    rc = 1;
    if (!cfg) {
        fprintf(stderr, "gpool rerun: %s\n", err);
    } else if (strcmp(ycfg_point_id(ycfg_point_at(cfg, 0)), pos[1])) {
        fprintf(stderr, "gpool rerun: %s loads to run id %s, not %s\n", config,
                ycfg_point_id(ycfg_point_at(cfg, 0)), pos[1]);
    } else {
        if (!o.out_dir) {
            snprintf(out, sizeof out, "%s/rerun-%s", pos[0], pos[1]);
            o.out_dir = out;
        }
        o.config = config;
        sweep sw;
        sweep_init(&sw, &o, cfg, argc, argv);
        rc = rerun_and_compare(&sw, &o, pos[1], &recorded, row);
        free_sweep_records(&sw);
    }
    ycfg_free(cfg);
    gpx_csv_free(&recorded);
    return rc;
}

/* ============================================================ driver */

static void print_run_line(const sweep *sw, size_t i, const run_record *r)
{
    gpx_progress_clear();
    char title[256];
    run_title(sw, r, title, sizeof title);
    printf("[%zu/%zu] %s %-28s %-11s", i + 1, ycfg_npoints(sw->cfg), r->id, title, r->status);
    if (r->nepochs) {
        const gpx_epoch_row *last = &r->epochs[r->nepochs - 1];
        printf(" test %.4f (best %.4f @%d)  %d epochs %.1f s  %.0f img/s  %.0f MiB",
               last->test_acc, r->result.best_test_acc, r->result.best_epoch, r->nepochs,
               r->result.train_s, r->result.images_per_s, r->peak_rss_mib);
    }
    if (strcmp(r->status, "ok"))
        printf("  (%s)", r->reason);
    putchar('\n');
    fflush(stdout);
}

/* Print the points and exit (--list). */
static void list_points(const ycfg *cfg, const run_options *o)
{
    for (size_t i = 0; i < ycfg_npoints(cfg); i++) {
        if (o->shard_n && (int)(i % (size_t)o->shard_n) != o->shard_k - 1)
            continue;
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        printf("%s", ycfg_point_id(pt));
        for (size_t k = 0; k < ycfg_nswept(cfg); k++) {
            char *text = ycfg_value_text(ycfg_get(pt, ycfg_swept_path(cfg, k)));
            printf("  %s=%s", ycfg_swept_path(cfg, k), text ? text : "?");
            free(text);
        }
        putchar('\n');
    }
}

static void log_defaults(const ycfg *cfg)
{
    size_t n = ycfg_ndefaults(cfg);
    if (!n)
        return;
    fprintf(stderr, "defaults used:");
    for (size_t k = 0; k < n; k++)
        fprintf(stderr, "%s %s=%s", k ? "," : "", ycfg_default_path(cfg, k),
                ycfg_default_text(cfg, k));
    fputc('\n', stderr);
}


/* A model whose text has been printed already is not printed again. */
static int first_of_its_model(const ycfg *cfg, size_t index)
{
    char *mine = ycfg_value_text(ycfg_get(ycfg_point_at(cfg, index), "model"));
    int first = 1;
    for (size_t j = 0; j < index && first; j++) {
        char *other = ycfg_value_text(ycfg_get(ycfg_point_at(cfg, j), "model"));
        first = !(mine && other && !strcmp(mine, other));
        free(other);
    }
    free(mine);
    return first;
}

static int prepare_out_dir(sweep *sw, const run_options *o)
{
    char err[512], runs_csv[4096];
    if (o->out_dir)
        snprintf(sw->out_dir, sizeof sw->out_dir, "%s", o->out_dir);
    else if (o->shard_n)
        snprintf(sw->out_dir, sizeof sw->out_dir, "results/%s/shard-%d-of-%d",
                 ycfg_name(sw->cfg), o->shard_k, o->shard_n);
    else
        snprintf(sw->out_dir, sizeof sw->out_dir, "results/%s", ycfg_name(sw->cfg));
    gpx_join(runs_csv, sizeof runs_csv, sw->out_dir, "runs.csv");
    if (o->resume && access(runs_csv, F_OK) == 0) {
        char epochs_csv[4096];
        gpx_join(epochs_csv, sizeof epochs_csv, sw->out_dir, "epochs.csv");
        char evals_csv[4096];
        gpx_join(evals_csv, sizeof evals_csv, sw->out_dir, "evals.csv");
        if (load_prior_runs(sw, runs_csv, 0) || load_prior_epochs(sw, epochs_csv) ||
            load_prior_evals(sw, evals_csv))
            return -1;
        printf("gpool run: resuming: %zu finished runs kept from %s\n", sw->nprior, runs_csv);
    } else if (!o->force && access(runs_csv, F_OK) == 0) {
        fprintf(stderr, "gpool run: %s exists; use --resume to finish it, --force to overwrite "
                        "it, or --out DIR\n",
                runs_csv);
        return -1;
    }
    if (gpx_mkdir_p(sw->out_dir, err, sizeof err)) {
        fprintf(stderr, "gpool run: %s\n", err);
        return -1;
    }
    return 0;
}

static int run_sweep(sweep *sw)
{
    size_t n = ycfg_npoints(sw->cfg);
    int failed = 0;
    for (size_t i = 0; i < n && !run_interrupted; i++) {
        if (sw->opt->shard_n && (int)(i % (size_t)sw->opt->shard_n) != sw->opt->shard_k - 1)
            continue;
        run_record *rec = &sw->runs[sw->nruns];
        run_record *prior = find_prior(sw, ycfg_point_id(ycfg_point_at(sw->cfg, i)));
        if (prior) {
            *rec = *prior;
            memset(prior, 0, sizeof *prior);   /* ownership moves to the sweep */
            sw->nruns++;
            continue;
        }
        if (run_point(sw, i, !sw->opt->quiet && first_of_its_model(sw->cfg, i), rec))
            return 1;
        sw->nruns++;
        print_run_line(sw, i, rec);
        failed |= !strcmp(rec->status, "failed");
        if (write_run_files(sw, rec) || write_tables(sw))
            return 1;
        if (fault_after_run(i))
            raise(SIGKILL);   /* fault injection: kill -9 between two runs */
    }
    if (write_chart(sw))
        failed = 1;
    if (run_interrupted) {
        fprintf(stderr, "gpool run: interrupted; %zu of %zu runs recorded in %s\n", sw->nruns, n,
                sw->out_dir);
        return 130;
    }
    return failed;
}

int gpx_cmd_run(int argc, char **argv)
{
    run_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[1024];
    ycfg *cfg = ycfg_load(o.config, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool run: %s\n", err);
        return 2;
    }
    if (o.list) {
        list_points(cfg, &o);
        ycfg_free(cfg);
        return 0;
    }
    sweep sw;
    sweep_init(&sw, &o, cfg, argc, argv);
    sw.runs = calloc(ycfg_npoints(cfg), sizeof *sw.runs);
    if (!sw.runs || prepare_out_dir(&sw, &o) || write_out(&sw, "config.yaml", write_config_yaml)) {
        free(sw.runs);
        ycfg_free(cfg);
        return 1;
    }
    if (!o.quiet)
        log_defaults(cfg);
    gpx_progress_enable(!o.quiet);
    if (o.shard_n)
        printf("gpool run: %s: shard %d/%d: %zu of %zu runs -> %s\n", ycfg_name(cfg), o.shard_k,
               o.shard_n, (ycfg_npoints(cfg) + (size_t)(o.shard_n - o.shard_k)) / (size_t)o.shard_n,
               ycfg_npoints(cfg), sw.out_dir);
    else
        printf("gpool run: %s: %zu runs -> %s\n", ycfg_name(cfg), ycfg_npoints(cfg),
               sw.out_dir);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = run_sweep(&sw);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free_sweep_records(&sw);
    ycfg_free(cfg);
    return rc;
}
