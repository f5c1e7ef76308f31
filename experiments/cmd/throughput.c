/*
 * throughput.c - `gpool throughput CONFIG`: training-step and inference
 * images/s of a config's network, measured the way
 * ../shared/reference/train.py --bench measures PyTorch (consecutive
 * batches of the training set, warm-up, then repeats of timed steps), so the
 * two can be run side by side and compared as a ratio.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/data.h"
#include "core/point.h"
#include "core/steps.h"
#include "records/results.h"
#include "util/util.h"

#define TP_CMD "gpool throughput"

typedef struct {
    const char *config;
    const char *head;
    const char *out;
    const char *batch_list;   /* --batch as given, decoded into batches */
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

/* --batch LIST: up to 8 sizes, comma separated, into o->batches. */
static int accept_batches(const char *text, void *opts)
{
    tp_options *o = opts;
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

static const gpx_option options[] = {
    { NULL, "--head", "a name", .offset = offsetof(tp_options, head) },
    { NULL, "--batch", "a list of sizes such as 64,256",
      .offset = offsetof(tp_options, batch_list), .accept = accept_batches },
    { "-o", "--out", "a file", .offset = offsetof(tp_options, out) },
    GPX_INT_OPTION("--infer-batch", tp_options, infer_batch, 0, 65536),
    GPX_INT_OPTION("--steps", tp_options, steps, 1, 1000000),
    GPX_INT_OPTION("--warmup", tp_options, warmup, 0, 1000000),
    GPX_INT_OPTION("--repeats", tp_options, repeats, 1, 1000),
    GPX_INT_OPTION("--threads", tp_options, threads, 1, 1024),
};

static const gpx_command_line command_line = {
    .name = TP_CMD, .usage = usage,
    .options = options, .noptions = sizeof options / sizeof options[0],
    .operand_name = "CONFIG", .operand_offset = offsetof(tp_options, config),
    .operand_example = "configs/heads.yaml",
};

/* What every measurement of a run shares. */
typedef struct {
    const tp_options *o;
    const char       *head;
    int               threads;
    FILE             *csv;     /* also the rows here; NULL: stdout only */
} tp_run;

/* One row, on stdout and (when there is one) into the CSV file. */
static void emit(const tp_run *run, const char *kind, int batch, int rep, int steps,
                 double seconds)
{
    char *line = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&line, &len);
    if (!mem)
        return;
    gpx_row w;
    gpx_row_begin(&w, mem, &gpx_throughput_file, NULL);
    gpx_row_text(&w, kind);
    gpx_row_text(&w, run->head);
    gpx_row_int(&w, batch);
    gpx_row_int(&w, rep);
    gpx_row_int(&w, steps);
    gpx_row_real(&w, seconds);
    gpx_row_real(&w, (double)steps * batch / seconds);
    gpx_row_real(&w, 1000 * seconds / steps);
    gpx_row_int(&w, run->threads);
    gpx_row_end(&w);
    if (fclose(mem) == 0) {
        fputs(line, stdout);
        if (run->csv)
            fputs(line, run->csv);
    }
    fflush(stdout);
    free(line);
}

/* Runs count consecutive steps of a measurement. */
typedef gp_status (*steps_fn)(void *ctx, int count);

/* warmup untimed steps, then repeats timed runs of steps steps, a row
 * each. 0, or -1 (printed). */
static int time_repeats(const tp_run *run, const char *kind, int batch, steps_fn steps_of,
                        void *ctx)
{
    const tp_options *o = run->o;
    for (int rep = 0; rep <= o->repeats; rep++) {
        int steps = rep == 0 ? o->warmup : o->steps;
        double t0 = gpx_now();
        gp_status st = steps_of(ctx, steps);
        double seconds = gpx_now() - t0;
        if (st != GP_OK) {
            fprintf(stderr, TP_CMD ": %s\n", gpx_status_message(st));
            return -1;
        }
        if (rep > 0)
            emit(run, kind, batch, rep, steps, seconds);
    }
    return 0;
}

static gp_status train_steps(void *ctx, int count)
{
    gpx_stepper *s = ctx;
    float loss;
    for (int i = 0; i < count; i++) {
        gp_status st = gpx_stepper_step(s, &loss);
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
}

static int bench_train(const tp_run *run, const gpx_measured_point *mp, int batch)
{
    gpx_stepper s;
    char err[1024];
    int rc = gpx_stepper_create(&s, &mp->model, mp->pt, &mp->data, batch, err, sizeof err);
    if (rc)
        fprintf(stderr, TP_CMD ": %s\n", err);
    else
        rc = time_repeats(run, "train_step", batch, train_steps, &s);
    gpx_stepper_destroy(&s);
    return rc ? -1 : 0;
}

/* Forward passes in eval mode on consecutive batches of the test set. */
typedef struct {
    gp_net         *net;
    const gpx_data *d;
    int             batch, nb;
    size_t          img;
    long            k;
    float          *xb;    /* the batch's images as floats */
} inference;

static gp_status infer_steps(void *ctx, int count)
{
    inference *in = ctx;
    for (int i = 0; i < count; i++, in->k++) {
        const float *y;
        int first = (int)(in->k % in->nb) * in->batch;
        /* converted as gpx_evaluate converts every batch */
        gp_status st = gpx_split_batch(&in->d->test, NULL, first, in->batch, in->xb)
                       ? GP_ERR_NOMEM : gp_net_forward(in->net, in->batch, in->xb, GP_EVAL, &y);
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
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

static int bench_inference(const tp_run *run, const gpx_measured_point *mp)
{
    const gpx_data *d = &mp->data;
    inference in = { NULL, d, run->o->infer_batch, d->test.count / run->o->infer_batch,
                     (size_t)d->test.c * d->test.h * d->test.w, 0, NULL };
    if (in.nb < 1) {
        fprintf(stderr, TP_CMD ": inference batch %d is larger than the %d test images\n",
                in.batch, d->test.count);
        return -1;
    }
    if (!(in.net = build(&mp->model, mp->pt, d, in.batch)))
        return -1;
    in.xb = malloc((size_t)in.batch * in.img * sizeof *in.xb);
    int rc = in.xb ? time_repeats(run, "inference", in.batch, infer_steps, &in) : -1;
    if (!in.xb)
        fprintf(stderr, TP_CMD ": out of memory for a batch of %d images\n", in.batch);
    free(in.xb);
    gp_net_destroy(in.net);
    return rc;
}

/* Every measurement, the rows on stdout and into the file of --out, which
 * goes into place whole when they are all done. 0, or -1 (printed). */
static int measure(const tp_options *o, const gpx_measured_point *mp)
{
    char err[1024];
    gpx_atomic_file out;
    if (o->out && gpx_atomic_open(&out, o->out, err, sizeof err)) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        return -1;
    }
    tp_run run = { o, ycfg_str(mp->pt, "model.head"), mp->threads, o->out ? out.fp : NULL };
    gpx_record_header(stdout, &gpx_throughput_file, NULL);
    if (run.csv)
        gpx_record_header(run.csv, &gpx_throughput_file, NULL);
    int rc = 0;
    for (int b = 0; b < o->nbatches && rc == 0; b++)
        rc = bench_train(&run, mp, o->batches[b]);
    if (rc == 0 && o->infer_batch > 0)
        rc = bench_inference(&run, mp);
    if (run.csv && rc)
        gpx_atomic_abort(&out);
    else if (run.csv && gpx_atomic_commit(&out, err, sizeof err)) {
        fprintf(stderr, TP_CMD ": %s\n", err);
        rc = -1;
    }
    return rc;
}

int gpx_cmd_throughput(int argc, char **argv)
{
    tp_options o = { .batches = { 64, 256 }, .nbatches = 2, .infer_batch = 256, .steps = 200,
                     .warmup = 20, .repeats = 3 };
    int rc = gpx_parse_command_line(&command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    gpx_measured_point mp;
    char err[1024];
    rc = gpx_measured_point_open(&mp, o.config, o.head, o.threads, err, sizeof err);
    if (rc)
        fprintf(stderr, TP_CMD ": %s\n", err);
    else
        rc = measure(&o, &mp) ? 1 : 0;
    gpx_measured_point_close(&mp);
    return rc;
}
