/*
 * parity_driver.c - the gpool half of the PyTorch parity test (tests/parity.sh).
 *
 *   parity_driver CONFIG OUTDIR --head NAME [--heads N] [--steps 50] [--batch 64]
 *                 [--data fashion|synthetic]
 *
 * Takes the first point of CONFIG (an experiment config, `gpool run`'s
 * schema) whose model.head is NAME (and model.heads N, with --heads), builds and initializes its network the
 * way `gpool run` does, and trains it for --steps steps on the first
 * steps x batch training images in order. It writes everything PyTorch needs
 * to repeat those steps and compare (tests/parity.py):
 *   init/       the initial weights (gp_checkpoint_save)
 *   arch.txt    one line per layer: its kind (gp_layer_kind_name), its options
 *               (gp_layer_spec_format), in= and out= shapes (c x h x w)
 *   opts.txt    optimizer, hyper-parameters and loss, "key value" per line
 *   x.npy y.npy the batches in step order (labels as float32)
 *   losses.txt  the loss of every step (%.9g)
 *   prev/       the same before the last step
 *   final/      weights, batchnorm running statistics and optimizer state
 * The data is FashionMNIST when it is installed (the synthetic set, drawn at
 * 28 x 28 with ten classes, otherwise), normalized as CONFIG says.
 * Exit status: 0 done, 1 failure, 2 bad command line or config.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/point.h"
#include "core/data.h"
#include "core/train.h"
#include "util/util.h"

typedef struct {
    const char *paths[2];             /* the operands: CONFIG, OUTDIR */
    const char *config, *out_dir, *head, *data;
    int         steps, batch, heads;
} drv_options;

/* What the driver shares between its stages. */
typedef struct {
    const drv_options  *opt;
    const ycfg       *cfg;
    const ycfg_point *pt;
    gpx_train_opts      train;
    gpx_data            data;
    float              *x;      /* the training images as floats, all at once */
    gp_net             *net;
    gp_optim           *optim;
} drv_state;

#define DRV_CMD "parity_driver"

/* The message on stderr; returns 1, the exit status of a failure. */
static int drv_fail(const char *fmt, ...) GPX_PRINTF(1, 2);
static int drv_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gpx_vsay(DRV_CMD, fmt, ap);
    va_end(ap);
    return 1;
}

static void usage(FILE *out)
{
    fputs("Usage: " DRV_CMD " CONFIG OUTDIR --head NAME [--heads N] [--steps N] [--batch N] "
          "[--data fashion|synthetic]\n", out);
}

static const char *const data_sets[] = { "fashion", "synthetic", NULL };

static const gpx_option drv_option_list[] = {
    { NULL, "--head", "a head name", .offset = offsetof(drv_options, head) },
    { NULL, "--heads", "an integer", .offset = offsetof(drv_options, heads), .lo = 1,
      .hi = 65536 },
    { NULL, "--steps", "an integer", .offset = offsetof(drv_options, steps), .lo = 1,
      .hi = 60000 },
    { NULL, "--batch", "an integer", .offset = offsetof(drv_options, batch), .lo = 1,
      .hi = 60000 },
    { NULL, "--data", "fashion or synthetic", data_sets, .offset = offsetof(drv_options, data) },
};

static const gpx_command_line drv_command_line = {
    DRV_CMD, usage, 1, drv_option_list, sizeof drv_option_list / sizeof *drv_option_list,
    .operand_name = "CONFIG and OUTDIR", .operand_offset = offsetof(drv_options, paths),
    .operands = 2,
};

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, drv_options *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 50;
    o->batch = 64;
    int rc = gpx_parse_command_line(&drv_command_line, argc, argv, o);
    if (rc)
        return rc;
    o->config = o->paths[0];
    o->out_dir = o->paths[1];
    if (!o->head)
        return gpx_command_line_error(&drv_command_line, "--head is required");
    if ((long)o->steps * o->batch > 60000)
        return gpx_command_line_error(&drv_command_line, "steps x batch is at most 60000 "
                                      "(one pass over FashionMNIST)");
    return 0;
}

/* ------------------------------------------------------------ setup */

/* The config's data set cut to the first steps x batch training images in
 * order, with no validation split and a token test set (never used). */
static int load_data(drv_state *s)
{
    char dir[4096], err[1024];
    const drv_options *o = s->opt;
    int want = o->steps * o->batch;
    int fashion = o->data ? !strcmp(o->data, "fashion")
                          : gpx_data_find_fashion_mnist(dir, sizeof dir) == 0;
    gpx_data_spec spec = gpx_run_data_spec(s->pt);
    spec.validation = 0;
    spec.train_limit = want;
    spec.test_limit = 1;
    if (fashion) {
        spec.source = "fashion-mnist";
    } else {
        /* the tutorial trunk pools 28 -> 3: it needs FashionMNIST's size */
        spec.source = "synthetic";
        spec.synthetic_train = want;
        spec.synthetic_test = 1;
        spec.synthetic_size = 28;
        spec.synthetic_classes = 10;
    }
    if (gpx_data_load(&spec, &s->data, err, sizeof err))
        return drv_fail("%s", err);
    if (s->data.train.count != want)
        return drv_fail("%d training images, %d wanted", s->data.train.count, want);
    if (!(s->x = gpx_split_floats(&s->data.train)))
        return drv_fail("out of memory for %d training images", want);
    return 0;
}

static int build_net(drv_state *s)
{
    char err[1024];
    gpx_model_spec model;
    s->train = gpx_run_train_opts(s->pt);
    s->train.batch = s->opt->batch;
    /* initialized as gpx_train initializes a run, so init/ holds what `gpool run` starts from */
    int rc = gpx_run_model_spec(s->cfg, s->pt, &model, err, sizeof err);
    if (rc == 0)
        rc = gpx_run_build_net(s->pt, &model, &s->data, s->opt->batch, &s->net, err,
                               sizeof err);
    gpx_model_spec_free(&model);
    if (rc)
        return drv_fail("%s", err);
    if (gp_optim_create(&s->optim, &s->train.optim, s->net) != GP_OK)
        return drv_fail("%s", gp_last_error());
    return 0;
}

/* ------------------------------------------------------------ arch.txt */

/* Layer l's line of arch.txt: what the library says it is, so that the
 * driver needs no list of kinds. parity.py checks every output shape. */
static void write_layer(FILE *fp, const gp_layer *l)
{
    char opts[256];
    gp_layer_spec_format(&l->spec, opts, sizeof opts);
    fprintf(fp, "%s%s%s in=%dx%dx%d out=%dx%dx%d\n", gp_layer_kind_name(l->spec.kind),
            opts[0] ? " " : "", opts, l->in.c, l->in.h, l->in.w, l->out.c, l->out.h, l->out.w);
}

static int write_arch(FILE *fp, const drv_state *s)
{
    for (int i = 0; i < gp_net_layer_count(s->net); i++)
        write_layer(fp, gp_net_layer(s->net, i));
    return 0;
}

/* ------------------------------------------------------------ opts.txt */

/* Hyper-parameters as the config's decimals (what PyTorch is given), not
 * their float roundings. */
static void write_opts(FILE *fp, const drv_state *s)
{
    const ycfg_point *pt = s->pt;
    fprintf(fp, "head %s\n", s->opt->head);
    fprintf(fp, "data %s\n", s->data.source);
    fprintf(fp, "steps %d\nbatch %d\n", s->opt->steps, s->opt->batch);
    fprintf(fp, "optimizer %s\n", gp_optim_name(s->train.optim.kind));
    static const char *const keys[] = { "lr", "momentum", "dampening", "beta1", "beta2", "eps",
                                        "weight_decay" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char path[64];
        snprintf(path, sizeof path, "train.%s", keys[k]);
        fprintf(fp, "%s %.17g\n", keys[k], ycfg_float(pt, path));
    }
    fprintf(fp, "nesterov %d\n", s->train.optim.nesterov);
    fprintf(fp, "loss_on_sigmoid %d\n", s->train.sigmoid_loss);
    fprintf(fp, "schedule %s\n", ycfg_str(pt, "train.schedule"));
}

/* Write body(fp, s) to OUTDIR/name; 0 or 1. */
static int write_text(const drv_state *s, const char *name,
                      int (*body)(FILE *, const drv_state *))
{
    char path[4096];
    FILE *fp = NULL;
    if (gpx_join(path, sizeof path, s->opt->out_dir, name) || !(fp = fopen(path, "w")))
        return drv_fail("%s/%s: cannot write", s->opt->out_dir, name);
    int rc = body(fp, s);
    if (fclose(fp) != 0 && !rc)
        rc = drv_fail("%s: write error", path);
    return rc;
}

static int opts_body(FILE *fp, const drv_state *s)
{
    write_opts(fp, s);
    return 0;
}

/* ------------------------------------------------------------ batches */

static int write_batches(const drv_state *s)
{
    char path[4096];
    const gpx_split *t = &s->data.train;
    size_t count = (size_t)t->count;
    size_t xdims[4] = { count, (size_t)t->c, (size_t)t->h, (size_t)t->w };
    float *labels = malloc(count * sizeof *labels);
    if (!labels)
        return drv_fail("out of memory");
    for (size_t i = 0; i < count; i++)
        labels[i] = (float)t->y[i];
    int bad = gpx_join(path, sizeof path, s->opt->out_dir, "x.npy") ||
              gp_npy_write(path, s->x, xdims, 4) != GP_OK ||
              gpx_join(path, sizeof path, s->opt->out_dir, "y.npy") ||
              gp_npy_write(path, labels, &count, 1) != GP_OK;
    free(labels);
    return bad ? drv_fail("%s: %s", path, gp_last_error()) : 0;
}

static int save_checkpoint(const drv_state *s, const char *name, const gp_optim *o)
{
    char path[4096];
    if (gpx_join(path, sizeof path, s->opt->out_dir, name) ||
        gp_checkpoint_save(path, s->net, o) != GP_OK)
        return drv_fail("%s: %s", path, gp_last_error());
    return 0;
}

/* ------------------------------------------------------------ steps */

/* Train steps x batch images in order; the losses go to OUTDIR/losses.txt,
 * and the state before the last step to OUTDIR/prev, from which parity.py
 * replays that step alone (a comparison free of the drift of the others). */
static int losses_body(FILE *fp, const drv_state *s)
{
    const gpx_split *t = &s->data.train;
    int batch = s->opt->batch;
    size_t img = (size_t)t->c * t->h * t->w;
    float lr = (float)gpx_lr_at(&s->train, 1);
    float *dlogits = malloc((size_t)batch * (size_t)t->classes * sizeof *dlogits);
    if (!dlogits)
        return drv_fail("out of memory");
    int rc = 0;
    for (int step = 0; step < s->opt->steps && !rc; step++) {
        float loss;
        size_t first = (size_t)step * (size_t)batch;
        if (step == s->opt->steps - 1 && (rc = save_checkpoint(s, "prev", s->optim)) != 0)
            break;
        if (gpx_train_step(s->net, s->optim, lr, s->x + first * img, t->y + first, batch,
                           s->train.sigmoid_loss, dlogits, &loss, NULL) != GP_OK)
            rc = drv_fail("step %d: %s", step, gp_last_error());
        else if (!isfinite(loss))
            rc = drv_fail("step %d: loss %g", step, (double)loss);
        else
            fprintf(fp, "%.9g\n", (double)loss);
    }
    free(dlogits);
    return rc;
}

/* ------------------------------------------------------------ main */

static int run(drv_state *s)
{
    char err[1024];
    if (load_data(s) || build_net(s))
        return 1;
    if (gpx_mkdir_p(s->opt->out_dir, err, sizeof err))
        return drv_fail("%s", err);
    if (save_checkpoint(s, "init", NULL) || write_text(s, "arch.txt", write_arch) ||
        write_text(s, "opts.txt", opts_body) || write_batches(s))
        return 1;
    if (write_text(s, "losses.txt", losses_body))
        return 1;
    return save_checkpoint(s, "final", s->optim);
}

/* CONFIG's first point for --head (and --heads); NULL with err. */
static const ycfg_point *load_point(const drv_options *o, ycfg **cfg, char *err, size_t errlen)
{
    const ycfg_point *pt = gpx_run_load_point(o->config, o->head, cfg, err, errlen);
    if (!pt || !o->heads)
        return pt;
    for (size_t i = 0; i < ycfg_npoints(*cfg); i++) {
        pt = ycfg_point_at(*cfg, i);
        if (!strcmp(ycfg_str(pt, "model.head"), o->head) &&
            ycfg_int(pt, "model.heads") == o->heads)
            return pt;
    }
    snprintf(err, errlen, "%s has no point with model.head %s and model.heads %d", o->config,
             o->head, o->heads);
    ycfg_free(*cfg);
    *cfg = NULL;
    return NULL;
}

int main(int argc, char **argv)
{
    drv_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[1024];
    ycfg *cfg;
    drv_state s;
    memset(&s, 0, sizeof s);
    s.opt = &o;
    s.pt = load_point(&o, &cfg, err, sizeof err);
    if (!s.pt) {
        drv_fail("%s", err);
        return 2;
    }
    s.cfg = cfg;
    rc = run(&s);
    gp_optim_destroy(s.optim);
    gp_net_destroy(s.net);
    gpx_data_free(&s.data);
    free(s.x);
    ycfg_free(cfg);
    return rc;
}
