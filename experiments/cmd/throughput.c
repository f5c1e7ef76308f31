/*
 * throughput.c - `gpool throughput CONFIG`: training-step and inference
 * images/s of a config's network, measured the way
 * ../shared/reference/train.py --bench measures PyTorch (consecutive
 * batches of the training set, warm-up, then repeats of timed steps), so the
 * two can be run side by side and compared as a ratio.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/point.h"
#include "core/schema.h"
#include "core/data.h"
#include "core/train.h"
#include "records/results.h"
#include "util/util.h"

#define TP_CMD "gpool throughput"

typedef struct {
    const char *config;
    const char *head;
    const char *out;
    int         batches[8];
    int         nbatches;
    int         infer_batch;
    int         steps, warmup, repeats, threads;
} tp_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool throughput [OPTIONS] CONFIG\n"
            "\n"
            "Images per second of CONFIG's network: training steps (forward, loss,\n"
            "backward, optimizer step) on consecutive batches of the training set, and\n"
            "inference (eval mode, no gradients) on the test set. Each measurement is\n"
            "WARMUP untimed steps, then REPEATS timed runs of STEPS steps.\n"
            "\n"
            "Options:\n"
            "  --head NAME        the sweep point with this model.head (default: the first)\n"
            "  --batch LIST       training batch sizes, comma separated (default 64,256)\n"
            "  --infer-batch N    inference batch size (default 256; 0 skips inference)\n"
            "  --steps N          timed steps per repeat (default 200)\n"
            "  --warmup N         untimed steps first (default 20)\n"
            "  --repeats N        timed repeats (default 3)\n"
            "  --threads N        OpenMP threads (default: the config's train.threads)\n"
            "  -o, --out FILE     also write the rows as CSV to FILE\n"
            "  -h, --help         show this help\n"
            "\n"
            "Output: one CSV row per repeat: kind (train_step, inference), head, batch,\n"
            "rep, steps, seconds, img_per_s, ms_per_step, threads. Exit status: 0 ok,\n"
            "1 error, 2 bad command line or config.\n");
}

static int parse_batches(const char *text, tp_options *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    o->nbatches = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (o->nbatches == 8 || gpx_parse_int(tok, 1, 65536, &o->batches[o->nbatches]))
            return -1;
        o->nbatches++;
    }
    return o->nbatches ? 0 : -1;
}

static const gpx_int_option int_options[] = {
    { "--infer-batch", 0, 65536, offsetof(tp_options, infer_batch) },
    { "--steps", 1, 1000000, offsetof(tp_options, steps) },
    { "--warmup", 0, 1000000, offsetof(tp_options, warmup) },
    { "--repeats", 1, 1000, offsetof(tp_options, repeats) },
    { "--threads", 1, 1024, offsetof(tp_options, threads) },
};

/* 0 ok, 1 help shown, 2 error shown. */
static int parse_options(int argc, char **argv, tp_options *o)
{
    memset(o, 0, sizeof *o);
    o->batches[0] = 64;
    o->batches[1] = 256;
    o->nbatches = 2;
    o->infer_batch = 256;
    o->steps = 200;
    o->warmup = 20;
    o->repeats = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int m;
        if (gpx_option_flag(a, "-h", "--help")) {
            usage(stdout);
            return 1;
        } else if ((m = gpx_option_value(argc, argv, &i, NULL, "--head", &v)) != 0) {
            if (m < 0)
                return gpx_usage_error(TP_CMD, "--head needs a name");
            o->head = v;
        } else if ((m = gpx_option_value(argc, argv, &i, NULL, "--batch", &v)) != 0) {
            if (m < 0 || parse_batches(v, o))
                return gpx_usage_error(TP_CMD, "--batch needs a list of sizes such as 64,256");
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0)
                return gpx_usage_error(TP_CMD, "--out needs a file");
            o->out = v;
        } else if ((m = gpx_int_options(argc, argv, &i, int_options,
                                        sizeof int_options / sizeof int_options[0], o,
                                        TP_CMD)) != 0) {
            if (m < 0)
                return 2;
        } else if (a[0] == '-' && a[1]) {
            return gpx_usage_error(TP_CMD, "unknown option '%s'", a);
        } else if (o->config) {
            return gpx_usage_error(TP_CMD, "one CONFIG only");
        } else {
            o->config = a;
        }
    }
    if (!o->config)
        return gpx_usage_error(TP_CMD, "missing CONFIG (for example configs/heads.yaml)");
    return 0;
}

/* One row, on stdout and (when there is one) into the CSV file. */
static void emit(FILE *csv, const char *kind, const char *head, int batch, int rep, int steps,
                 double seconds, int threads)
{
    char *line = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&line, &len);
    if (!mem)
        return;
    gpx_row w;
    gpx_row_begin(&w, mem, &gpx_throughput_file, NULL);
    gpx_row_text(&w, kind);
    gpx_row_text(&w, head);
    gpx_row_int(&w, batch);
    gpx_row_int(&w, rep);
    gpx_row_int(&w, steps);
    gpx_row_real(&w, seconds);
    gpx_row_real(&w, (double)steps * batch / seconds);
    gpx_row_real(&w, 1000 * seconds / steps);
    gpx_row_int(&w, threads);
    gpx_row_end(&w);
    if (fclose(mem) == 0) {
        fputs(line, stdout);
        if (csv)
            fputs(line, csv);
    }
    fflush(stdout);
    free(line);
}

static gp_net *build(const gpx_model_spec *model, const ycfg_point *pt, const gpx_data *d,
                     int batch)
{
    gp_net *net;
    char err[1024];
    if (gpx_run_build_net(pt, model, d, batch, &net, err, sizeof err))
        fprintf(stderr, TP_CMD ": %s\n", err);
    return net;
}

static int bench_train(const gpx_model_spec *model, const ycfg_point *pt, const gpx_data *d,
                       const tp_options *o, int batch, int threads, FILE *csv)
{
    gp_net *net = build(model, pt, d, batch);
    if (!net)
        return -1;
    gpx_train_opts to = gpx_run_train_opts(pt);
    gp_optim *opt;
    if (gp_optim_create(&opt, &to.optim, net) != GP_OK) {
        fprintf(stderr, TP_CMD ": %s\n", gp_last_error());
        gp_net_destroy(net);
        return -1;
    }
    size_t img = (size_t)d->train.c * d->train.h * d->train.w;
    int nb = d->train.count / batch;
    float *dlogits = malloc((size_t)batch * gp_net_out_shape(net).c * sizeof *dlogits);
    int rc = nb > 0 && dlogits ? 0 : -1;
    for (int k = 0, rep = 0; rc == 0 && rep <= o->repeats; rep++) {
        int steps = rep == 0 ? o->warmup : o->steps;
        double t0 = gpx_now();
        for (int s = 0; s < steps; s++, k++) {
            size_t j = (size_t)(k % nb) * batch;
            float loss;
            if (gpx_train_step(net, opt, to.optim.lr, d->train.x + j * img, d->train.y + j, batch,
                               to.sigmoid_loss, dlogits, &loss, NULL) != GP_OK) {
                fprintf(stderr, TP_CMD ": %s\n", gp_last_error());
                rc = -1;
                break;
            }
        }
        if (rc == 0 && rep > 0)
            emit(csv, "train_step", ycfg_str(pt, "model.head"), batch, rep, steps,
                 gpx_now() - t0, threads);
    }
    free(dlogits);
    gp_optim_destroy(opt);
    gp_net_destroy(net);
    return rc;
}

static int bench_inference(const gpx_model_spec *model, const ycfg_point *pt,
                           const gpx_data *d, const tp_options *o, int threads, FILE *csv)
{
    int batch = o->infer_batch;
    gp_net *net = build(model, pt, d, batch);
    if (!net)
        return -1;
    size_t img = (size_t)d->test.c * d->test.h * d->test.w;
    int nb = d->test.count / batch, rc = nb > 0 ? 0 : -1;
    for (int k = 0, rep = 0; rc == 0 && rep <= o->repeats; rep++) {
        int steps = rep == 0 ? o->warmup : o->steps;
        double t0 = gpx_now();
        for (int s = 0; s < steps; s++, k++) {
            const float *y;
            if (gp_net_forward(net, batch, d->test.x + (size_t)(k % nb) * batch * img, GP_EVAL,
                               &y) != GP_OK) {
                fprintf(stderr, TP_CMD ": %s\n", gp_last_error());
                rc = -1;
                break;
            }
        }
        if (rc == 0 && rep > 0)
            emit(csv, "inference", ycfg_str(pt, "model.head"), batch, rep, steps,
                 gpx_now() - t0, threads);
    }
    gp_net_destroy(net);
    return rc;
}

int gpx_cmd_throughput(int argc, char **argv)
{
    tp_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[1024];
    ycfg *cfg;
    const ycfg_point *pt = gpx_run_load_point(o.config, o.head, &cfg, err, sizeof err);
    if (!pt) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        return 2;
    }
    gpx_data d;
    gpx_model_spec model;
    if (gpx_run_model_spec(cfg, pt, &model, err, sizeof err)) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        ycfg_free(cfg);
        return 1;
    }
    int threads = gpx_run_prepare(pt, o.threads, &d, err, sizeof err);
    if (threads < 0) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        gpx_model_spec_free(&model);
        ycfg_free(cfg);
        return 1;
    }
    /* the file goes into place whole when every measurement is done */
    gpx_atomic_file out;
    if (o.out && gpx_atomic_open(&out, o.out, err, sizeof err)) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        gpx_model_spec_free(&model);
        gpx_data_free(&d);
        ycfg_free(cfg);
        return 1;
    }
    FILE *csv = o.out ? out.fp : NULL;
    gpx_record_header(stdout, &gpx_throughput_file, NULL);
    if (csv)
        gpx_record_header(csv, &gpx_throughput_file, NULL);
    rc = 0;
    for (int b = 0; b < o.nbatches && rc == 0; b++)
        rc = bench_train(&model, pt, &d, &o, o.batches[b], threads, csv);
    if (rc == 0 && o.infer_batch > 0)
        rc = bench_inference(&model, pt, &d, &o, threads, csv);
    if (csv && rc)
        gpx_atomic_abort(&out);
    else if (csv && gpx_atomic_commit(&out, err, sizeof err)) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        rc = -1;
    }
    gpx_model_spec_free(&model);
    gpx_data_free(&d);
    ycfg_free(cfg);
    return rc ? 1 : 0;
}
