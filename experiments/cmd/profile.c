/*
 * profile.c - `gpool profile CONFIG`: where a training step of a config's
 * network spends its time, layer by layer, against this machine's roofs.
 *
 * A profiled step replays gp_net_forward / gp_softmax_xent /
 * gp_net_backward / gp_optim_step one call at a time with a timer around
 * each (the profiler owns the activations, laid out as the net lays out its
 * own: one output per layer, two ping-pong gradient buffers). Plain steps
 * (gpx_train_step, one timer around the whole step) run interleaved with the
 * profiled ones, so both see the same machine load; their median is the
 * step time the per-layer medians are checked against, not divided by.
 * Every interval has the timing thread's waits for a CPU taken out (see
 * waits_read), which keeps that check meaningful on a shared machine.
 *
 * FLOPs and bytes are analytic models (see the help text), so GFLOP/s and
 * GB/s say how far each layer is from the roofs of a roofline chart: the
 * peak GFLOP/s of a large sgemm and the read bandwidth of the probe `gpool
 * bench` uses, from DRAM and from a cache-resident buffer.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>

#include "cmd/commands.h"
#include "core/point.h"
#include "core/schema.h"
#include "core/data.h"
#include "probe/probe.h"
#include "core/train.h"
#include "records/chart.h"
#include "records/manifest.h"
#include "records/results.h"
#include "util/util.h"

#define PF_NAME "gpool profile"
/* The cache-resident bandwidth roof: a buffer that fits the L2 of the
 * cores it is split over (2 MiB per core here), as most activations of
 * these small nets do. */
#define PF_HOT_BYTES ((size_t)1 << 20)

typedef struct {
    const char *config;
    const char *head;
    const char *out;
    int         batch, threads, repeats, warmup, sgemm_n, bw_mib, no_chart;
    int         argc;        /* the command line, for summary.yaml */
    char      **argv;
} pf_options;

/* Samples of one timed thing, one per profiled step, in seconds: wall clock,
 * and wall clock less the time the calling thread spent runnable but
 * waiting for a CPU that another process held (see waits_read). */
typedef struct {
    double *wall, *busy;
} pf_samples;

/* One row of the profile: a layer's forward or backward, the loss, or the
 * optimizer step, with its samples (one per profiled step). */
typedef struct {
    int         layer;          /* -1: not a layer (loss, optimizer) */
    const char *kind;
    const char *pass;           /* "forward", "backward", "loss", "step" */
    char        desc[64];
    char        shape[48];
    double      flops, bytes;   /* per call at the profiled batch */
    pf_samples  t;
    double      median_s, min_s, share;  /* of t.busy */
    double      wall_median_s;
} pf_row;

typedef struct {
    double peak_gflops;         /* best sgemm */
    int    sgemm_n;
    double dram_gbps, cache_gbps;
    const char *dram_kernel, *cache_kernel;
    size_t dram_bytes;          /* size of the cold buffer set */
} pf_machine;

typedef struct {
    gp_net        *net;
    gp_optim      *opt;
    gpx_train_opts to;
    const gpx_data *d;
    int            batch, nlayers, classes, nb;
    size_t         img;
    float        **act, *grad[2], *dlogits;
    pf_row        *rows;        /* 2 per layer (forward, backward), loss, optimizer */
    int            nrows;
    pf_samples     step;        /* plain steps */
    pf_samples     round;       /* sums of a profiled step's rows */
    int            schedstat;   /* /proc/thread-self/schedstat, or -1 */
    long           k;           /* batches used so far */
    int            bad_loss;    /* a step's loss was not finite */
} pf_state;

static volatile sig_atomic_t pf_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    pf_interrupted = 1;
}

/* ========================================================= command line */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool profile [OPTIONS] CONFIG\n"
            "\n"
            "Time forward and backward of every layer of CONFIG's network, the loss and\n"
            "the optimizer step (median of REPEATS profiled training steps on consecutive\n"
            "batches of the training set), with FLOPs, bytes moved, GFLOP/s, GB/s and the\n"
            "share of the step per row; and a roofline chart against this machine's peak\n"
            "(an sgemm of a large square) and read bandwidth (DRAM and cache-resident).\n"
            "Plain training steps with no per-layer timers run interleaved with the\n"
            "profiled ones; the sum of the row medians is checked against their median\n"
            "(a warning when the ratio is outside [0.9, 1.1]). Times are wall clock less\n"
            "the time the timing thread waited for a CPU held by another process (from\n"
            "/proc/thread-self/schedstat), so a busy machine, which interrupts nearly every\n"
            "whole step but few single layer calls, does not skew the check; the plain\n"
            "wall-clock medians are reported too.\n"
            "\n"
            "Options:\n"
            "  --head NAME      the sweep point with this model.head (default: the first)\n"
            "  --batch N        batch size (default: the config's train.batch)\n"
            "  --threads N      OpenMP and OpenBLAS threads (default: the config's)\n"
            "  --repeats N      profiled and plain steps, each (default 30)\n"
            "  --warmup N       untimed rounds first (default 5)\n"
            "  --sgemm-n N      side of the sgemm that measures peak GFLOP/s (default 1024)\n"
            "  --bw-mib N       MiB the DRAM bandwidth probe rotates through (default:\n"
            "                   2 x L3, at least 64)\n"
            "  --no-chart       do not run gnuplot\n"
            "  -o, --out DIR    output directory (default results/<name>/profile)\n"
            "  -h, --help       show this help\n"
            "\n"
            "Cost model, per call at the profiled batch n (in, out: floats of one input\n"
            "and one output image; P: the layer's parameter floats; 4 bytes a float):\n"
            "  forward FLOPs    n x the layer's forward FLOPs per image (2 per multiply-add)\n"
            "  backward FLOPs   conv2d, dense: 2 x the multiply-add FLOPs (dW and dx; 1 x\n"
            "                   for the first layer, which computes no dx) plus the bias sum;\n"
            "                   batchnorm2d: 2 x forward; flatten: 0; others (relu,\n"
            "                   sigmoid, dropout, pooling): 1 x forward\n"
            "  forward bytes    4 (n in + n out + P): read x and the parameters, write y\n"
            "  backward bytes   4 (n in + n out + n in + 2 P): read x and dy, write dx (not\n"
            "                   for the first layer), read the weights and write their\n"
            "                   gradients\n"
            "  loss             n classes (5 + 4 with a sigmoid) FLOPs; bytes read logits\n"
            "                   and labels, write the logit gradients\n"
            "  optimizer        per parameter float: Adam 12 FLOPs (AdamW 14), 7 floats\n"
            "                   moved (read p, g, m, v; write p, m, v); SGD 2 FLOPs, 3 floats\n"
            "                   (+3 and +2 with momentum); weight decay +2 FLOPs\n"
            "Shares are of the sum of the row medians.\n"
            "\n"
            "Output in DIR: profile.csv (comment lines starting with '#' give the model,\n"
            "the machine and the step times; then the columns layer, kind, pass,\n"
            "out_shape, median_ms, min_ms, flops, bytes, gflop_s, gb_s, flop_per_byte,\n"
            "share_pct, desc - desc last, as it may hold commas), summary.yaml,\n"
            "roofline.png and roofline.svg (gnuplot; roofline.gp and roofline.dat redraw\n"
            "them). A table goes to stdout. Exit status: 0 ok, 1 error, 2 bad command\n"
            "line or config, 130 interrupted.\n");
}

static const gpx_int_option int_options[] = {
    { "--batch", 1, 65536, offsetof(pf_options, batch) },
    { "--threads", 1, 1024, offsetof(pf_options, threads) },
    { "--repeats", 1, 100000, offsetof(pf_options, repeats) },
    { "--warmup", 0, 100000, offsetof(pf_options, warmup) },
    { "--sgemm-n", 64, 8192, offsetof(pf_options, sgemm_n) },
    { "--bw-mib", 1, 1 << 20, offsetof(pf_options, bw_mib) },
};

/* 0 ok, 1 help shown, 2 error shown. */
static int parse_options(int argc, char **argv, pf_options *o)
{
    memset(o, 0, sizeof *o);
    o->argc = argc;
    o->argv = argv;
    o->repeats = 30;
    o->warmup = 5;
    o->sgemm_n = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int m;
        if (gpx_option_flag(a, "-h", "--help")) {
            usage(stdout);
            return 1;
        } else if (gpx_option_flag(a, NULL, "--no-chart")) {
            o->no_chart = 1;
        } else if ((m = gpx_option_value(argc, argv, &i, NULL, "--head", &v)) != 0) {
            if (m < 0)
                return gpx_usage_error(PF_NAME, "--head needs a name");
            o->head = v;
        } else if ((m = gpx_option_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0 || !*v)
                return gpx_usage_error(PF_NAME, "--out needs a directory");
            o->out = v;
        } else if ((m = gpx_int_options(argc, argv, &i, int_options,
                                        sizeof int_options / sizeof int_options[0], o,
                                        PF_NAME)) != 0) {
            if (m < 0)
                return 2;
        } else if (a[0] == '-' && a[1]) {
            return gpx_usage_error(PF_NAME, "unknown option '%s'", a);
        } else if (o->config) {
            return gpx_usage_error(PF_NAME, "one CONFIG only");
        } else {
            o->config = a;
        }
    }
    if (!o->config)
        return gpx_usage_error(PF_NAME, "missing CONFIG (for example configs/tutorial.yaml)");
    return 0;
}

/* ===================================================== machine peaks */

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* Peak GFLOP/s: the best of a few sgemms of an n x n square, on the
 * threads the profile runs with (the first call, untimed, starts them). */
static int measure_sgemm(int n, pf_machine *m)
{
    size_t nn = (size_t)n * n;
    float *a = alloc_floats(nn), *b = alloc_floats(nn), *c = alloc_floats(nn);
    int ok = a && b && c;
    for (size_t i = 0; ok && i < nn; i++) {
        a[i] = 0.25f + (float)(i % 13) * 0.01f;
        b[i] = 0.5f - (float)(i % 7) * 0.01f;
    }
    double best = INFINITY;
    for (int rep = 0; ok && rep < 6 && !pf_interrupted; rep++) {
        double t0 = gpx_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double t = gpx_now() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    if (!ok)
        return -1;
    m->sgemm_n = n;
    m->peak_gflops = 2.0 * n * (double)n * n / best / 1e9;
    return 0;
}

static void free_buffers(float **bufs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
}

/* Read bandwidth with the probe of `gpool bench`: cold (a rotation through
 * `bytes` in 8 buffers, so each is last touched a rotation ago) and hot (one
 * PF_HOT_BYTES buffer). The buffers are filled first so their pages exist. */
static int measure_bandwidth(size_t bytes, int threads, pf_machine *m)
{
    enum { NBUF = 8 };
    float *bufs[NBUF] = { NULL };
    size_t n = bytes / NBUF / sizeof(float) / 16 * 16;
    int ok = n > 0;
    for (int i = 0; ok && i < NBUF; i++) {
        ok = (bufs[i] = alloc_floats(n)) != NULL;
        for (size_t j = 0; ok && j < n; j++)
            bufs[i][j] = 1.0f + (float)(j & 7);
    }
    gpx_probe_result r;
    size_t cursor = 0;
    if (ok && !pf_interrupted &&
        gpx_probe_read((const float *const *)bufs, NBUF, n, &cursor, threads, 0, &r) == 0) {
        m->dram_gbps = r.gbps;
        m->dram_kernel = r.kernel;
        m->dram_bytes = n * NBUF * sizeof(float);
    } else {
        ok = 0;
    }
    free_buffers(bufs, NBUF);
    size_t hn = PF_HOT_BYTES / sizeof(float);
    float *hot = ok ? alloc_floats(hn) : NULL;
    ok = hot != NULL;
    for (size_t j = 0; ok && j < hn; j++)
        hot[j] = 1.0f + (float)(j & 7);
    if (ok && !pf_interrupted &&
        gpx_probe_read((const float *const *)&hot, 1, hn, NULL, threads, 0, &r) == 0) {
        m->cache_gbps = r.gbps;
        m->cache_kernel = r.kernel;
    } else {
        ok = 0;
    }
    free(hot);
    return ok ? 0 : -1;
}

/* ======================================================= cost models */

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

static void layer_costs(const gp_layer *l, int n, int first, pf_row *fw, pf_row *bw)
{
    double in = (double)gp_shape_image_size(l->in) * n;
    double out = (double)gp_shape_image_size(l->out) * n;
    double p = param_floats(l);
    fw->flops = l->flops * n;
    fw->bytes = 4 * (in + out + p);
    bw->flops = backward_flops(l, n, first);
    bw->bytes = 4 * (in + out + (first ? 0 : in) + 2 * p);
}

static void loss_costs(int n, int classes, int sigmoid, pf_row *r)
{
    double logits = (double)n * classes;
    r->flops = logits * (5 + (sigmoid ? 4 : 0));
    r->bytes = 4 * (2 * logits + n);
}

static void optim_costs(const gp_optim *o, double params, pf_row *r)
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

/* ====================================================== the profile */

static void set_shape(char *buf, size_t len, gp_shape s, int n)
{
    if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "%dx%d", n, s.c);
    else
        snprintf(buf, len, "%dx%dx%dx%d", n, s.c, s.h, s.w);
}

static int samples_alloc(pf_samples *p, int repeats)
{
    p->wall = calloc((size_t)repeats, sizeof *p->wall);
    p->busy = calloc((size_t)repeats, sizeof *p->busy);
    return p->wall && p->busy ? 0 : -1;
}

static void samples_free(pf_samples *p)
{
    free(p->wall);
    free(p->busy);
}

static void state_free(pf_state *s)
{
    for (int i = 0; s->act && i < s->nlayers; i++)
        free(s->act[i]);
    free(s->act);
    free(s->grad[0]);
    free(s->grad[1]);
    free(s->dlogits);
    for (int r = 0; s->rows && r < s->nrows; r++)
        samples_free(&s->rows[r].t);
    free(s->rows);
    samples_free(&s->step);
    samples_free(&s->round);
    gp_optim_destroy(s->opt);
    gp_net_destroy(s->net);
    if (s->schedstat >= 0)
        close(s->schedstat);
    memset(s, 0, sizeof *s);
    s->schedstat = -1;
}

/* Build the point's net for the batch and its optimizer. 0, or -1 with the
 * message printed. */
static int build_net(pf_state *s, const ycfg *cfg, const ycfg_point *pt)
{
    char err[1024];
    gpx_model_spec model;
    int rc = gpx_run_model_spec(cfg, pt, &model, err, sizeof err);
    if (rc == 0)
        rc = gpx_run_build_net(pt, &model, s->d, s->batch, &s->net, err, sizeof err);
    gpx_model_spec_free(&model);
    if (rc) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return -1;
    }
    if (gp_optim_create(&s->opt, &s->to.optim, s->net) != GP_OK) {
        fprintf(stderr, PF_NAME ": %s\n", gp_last_error());
        return -1;
    }
    return 0;
}

/* The profiler's own activations: one output per layer and two gradient
 * buffers of the largest output, as gp_net keeps them. */
static int alloc_activations(pf_state *s)
{
    size_t most = 0;
    s->act = calloc((size_t)s->nlayers, sizeof *s->act);
    if (!s->act)
        return -1;
    for (int i = 0; i < s->nlayers; i++) {
        size_t f = (size_t)s->batch * gp_shape_image_size(gp_net_layer(s->net, i)->out);
        if (!(s->act[i] = alloc_floats(f)))
            return -1;
        memset(s->act[i], 0, f * sizeof(float));
        most = f > most ? f : most;
    }
    s->grad[0] = alloc_floats(most);
    s->grad[1] = alloc_floats(most);
    s->dlogits = alloc_floats((size_t)s->batch * s->classes);
    return s->grad[0] && s->grad[1] && s->dlogits ? 0 : -1;
}

static int init_rows(pf_state *s, int repeats)
{
    s->nrows = 2 * s->nlayers + 2;
    s->rows = calloc((size_t)s->nrows, sizeof *s->rows);
    if (!s->rows || samples_alloc(&s->step, repeats) || samples_alloc(&s->round, repeats))
        return -1;
    for (int r = 0; r < s->nrows; r++)
        if (samples_alloc(&s->rows[r].t, repeats))
            return -1;
    for (int i = 0; i < s->nlayers; i++) {
        const gp_layer *l = gp_net_layer(s->net, i);
        pf_row *fw = &s->rows[2 * i], *bw = &s->rows[2 * i + 1];
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
    pf_row *loss = &s->rows[2 * s->nlayers], *opt = loss + 1;
    loss->layer = opt->layer = -1;
    loss->kind = s->to.sigmoid_loss ? "sigmoid_softmax_xent" : "softmax_xent";
    loss->pass = "loss";
    snprintf(loss->shape, sizeof loss->shape, "%dx%d", s->batch, s->classes);
    loss_costs(s->batch, s->classes, s->to.sigmoid_loss, loss);
    opt->kind = gp_optim_name(gp_optim_get_desc(s->opt).kind);
    opt->pass = "step";
    snprintf(opt->desc, sizeof opt->desc, "%zu parameters", gp_net_param_floats(s->net));
    optim_costs(s->opt, (double)gp_net_param_floats(s->net), opt);
    return 0;
}

static const float *batch_x(const pf_state *s)
{
    return s->d->train.x + (size_t)(s->k % s->nb) * s->batch * s->img;
}

static const int *batch_y(const pf_state *s)
{
    return s->d->train.y + (size_t)(s->k % s->nb) * s->batch;
}

/* ------------------------------------------------------------ clocks */

/* Seconds the calling thread has been runnable but not running, from the
 * run_delay field of /proc/thread-self/schedstat; 0 where the kernel does
 * not report it (the times are then plain wall clock).
 *
 * Why: on a machine shared with other busy processes a 10 ms step loses a
 * time slice or two in nearly every run, while a 0.1 ms layer call rarely
 * does, so wall-clock medians of the layers would add up to less than the
 * median step. Taking the same waits out of both keeps them comparable.
 * Only this thread's: its waits are exactly those inside the interval (it
 * is running when it reads), and it is on the critical path of every
 * call. A worker thread's run_delay is only counted when it next runs,
 * possibly in a later interval, and its waits while parked at a barrier
 * delay nothing, so with several threads a worker held back stays in the
 * times (the printed wall clock shows how busy the machine was). */
static double waits_read(int fd)
{
    char buf[128];
    unsigned long long run, delay;
    ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (got <= 0)
        return 0;
    buf[got] = '\0';
    return sscanf(buf, "%llu %llu", &run, &delay) == 2 ? (double)delay * 1e-9 : 0;
}

typedef struct {
    double t0, w0;
} pf_clock;

static void clock_start(const pf_state *s, pf_clock *c)
{
    c->w0 = waits_read(s->schedstat);
    c->t0 = gpx_now();
}

static void clock_stop(const pf_state *s, const pf_clock *c, pf_samples *p, int r)
{
    double wall = gpx_now() - c->t0;
    double waited = waits_read(s->schedstat) - c->w0;
    p->wall[r] = wall;
    /* Waits that cover the whole interval leave nothing to measure (the
     * scheduler's clock and ours also differ by a little): keep the wall
     * clock, an upper bound, rather than a zero; the median shrugs it off. */
    p->busy[r] = waited < wall ? wall - waited : wall;
}

/* Run call, as sample r of p unless r < 0 (warm-up: no clock at all). */
#define PF_TIMED(p, r, call)                      \
    do {                                          \
        pf_clock c_;                              \
        if ((r) >= 0)                             \
            clock_start(s, &c_);                  \
        st = (call);                              \
        if ((r) >= 0)                             \
            clock_stop(s, &c_, (p), (r));         \
    } while (0)

/* -------------------------------------------------------------- steps */

/* One training step, call by call, as sample r of every row (r < 0:
 * untimed). Returns the library status; a non-finite loss is GP_ERR_ARG. */
static gp_status profiled_step(pf_state *s, int r)
{
    const int n = s->batch, L = s->nlayers;
    const float *x = batch_x(s);
    gp_status st = GP_OK;
    float loss = 0;
    for (int i = 0; i < L && st == GP_OK; i++)
        PF_TIMED(&s->rows[2 * i].t, r,
                 gp_layer_forward(gp_net_layer(s->net, i), n, i ? s->act[i - 1] : x, s->act[i],
                                  GP_TRAIN));
    if (st == GP_OK)
        PF_TIMED(&s->rows[2 * L].t, r,
                 gp_softmax_xent(n, s->classes, s->act[L - 1], batch_y(s), s->to.sigmoid_loss,
                                 &loss, s->dlogits, NULL));
    if (st == GP_OK && !isfinite(loss)) {
        s->bad_loss = 1;
        return GP_ERR_ARG;
    }
    const float *dy = s->dlogits;
    for (int i = L - 1; i >= 0 && st == GP_OK; i--) {
        float *dx = i ? s->grad[i % 2] : NULL;
        PF_TIMED(&s->rows[2 * i + 1].t, r,
                 gp_layer_backward(gp_net_layer(s->net, i), n, i ? s->act[i - 1] : x, s->act[i],
                                   dy, dx));
        dy = dx;
    }
    if (st == GP_OK)
        PF_TIMED(&s->rows[2 * L + 1].t, r, gp_optim_step(s->opt, s->to.optim.lr));
    s->k++;
    return st;
}

/* The same step through gpx_train_step, timed whole, as sample r. */
static gp_status plain_step(pf_state *s, int r)
{
    gp_status st;
    float loss = 0;
    PF_TIMED(&s->step, r,
             gpx_train_step(s->net, s->opt, s->to.optim.lr, batch_x(s), batch_y(s), s->batch,
                            s->to.sigmoid_loss, s->dlogits, &loss, NULL));
    s->k++;
    if (st == GP_OK && !isfinite(loss)) {
        s->bad_loss = 1;
        return GP_ERR_ARG;
    }
    return st;
}

/* warmup untimed rounds, then repeats rounds of one profiled and one plain
 * step, in alternating order so neither always follows the other. 0, -1
 * failed (printed), 1 interrupted. */
static int run_rounds(pf_state *s, int warmup, int repeats)
{
    for (int round = -warmup; round < repeats; round++) {
        int r = round < 0 ? -1 : round;
        gp_status st = GP_OK;
        for (int half = 0; half < 2 && st == GP_OK; half++)
            st = (half + round) % 2 == 0 ? profiled_step(s, r) : plain_step(s, r);
        if (st != GP_OK) {
            fprintf(stderr, PF_NAME ": %s\n",
                    s->bad_loss ? "the loss is not finite (the weights diverged)"
                                : gp_last_error());
            return -1;
        }
        for (int k = 0; r >= 0 && k < s->nrows; k++) {
            s->round.wall[r] += s->rows[k].t.wall[r];
            s->round.busy[r] += s->rows[k].t.busy[r];
        }
        if (pf_interrupted)
            return 1;
    }
    return 0;
}

typedef struct {
    double sum_s;           /* sum of the row medians */
    double fwd_s, bwd_s;    /* its layer forward and backward parts */
    double step_s;          /* median plain step, waits taken out */
    double step_wall_s;     /* median plain step, wall clock */
    double waited;          /* share of the plain steps' wall time this thread waited */
    double profiled_s;      /* median of the profiled steps' sums, waits taken out */
    double ratio;           /* sum_s / step_s */
} pf_totals;

static pf_totals summarize(pf_state *s, int repeats)
{
    pf_totals t = { 0 };
    size_t n = (size_t)repeats;
    for (int k = 0; k < s->nrows; k++) {
        pf_row *r = &s->rows[k];
        r->min_s = gpx_min(r->t.busy, n);
        r->median_s = gpx_median(r->t.busy, n);
        r->wall_median_s = gpx_median(r->t.wall, n);
        t.sum_s += r->median_s;
        if (r->layer >= 0 && !strcmp(r->pass, "forward"))
            t.fwd_s += r->median_s;
        else if (r->layer >= 0)
            t.bwd_s += r->median_s;
    }
    for (int k = 0; k < s->nrows; k++)
        s->rows[k].share = t.sum_s > 0 ? 100 * s->rows[k].median_s / t.sum_s : 0;
    double wall = 0, busy = 0;
    for (int r = 0; r < repeats; r++) {
        wall += s->step.wall[r];
        busy += s->step.busy[r];
    }
    t.waited = wall > 0 ? 1 - busy / wall : 0;
    t.profiled_s = gpx_median(s->round.busy, n);
    t.step_s = gpx_median(s->step.busy, n);
    t.step_wall_s = gpx_median(s->step.wall, n);
    t.ratio = t.sum_s / t.step_s;
    return t;
}

static double rate(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds / 1e9 : 0;
}

/* ============================================================ output */

typedef struct {
    const pf_options *o;
    const ycfg     *cfg;
    const char       *head;
    int               threads;
    const pf_state   *s;
    const pf_machine *m;
    const pf_totals  *t;
    const char       *started;
} pf_report;

static void print_table(const pf_report *rp)
{
    const pf_state *s = rp->s;
    printf("gpool profile: %s, head %s, batch %d, %d thread%s, median of %d\n",
           ycfg_name(rp->cfg), rp->head, s->batch, rp->threads, rp->threads == 1 ? "" : "s",
           rp->o->repeats);
    printf("machine: sgemm %dx%d %.1f GFLOP/s; read bandwidth DRAM %.1f GB/s, cache %.1f GB/s\n",
           rp->m->sgemm_n, rp->m->sgemm_n, rp->m->peak_gflops, rp->m->dram_gbps,
           rp->m->cache_gbps);
    printf("%3s  %-12s %-8s %-14s %-20s %9s %8s %8s %7s %6s\n", "#", "kind", "pass", "output",
           "desc", "ms", "GFLOP/s", "GB/s", "FLOP/B", "share");
    for (int k = 0; k < s->nrows; k++) {
        const pf_row *r = &s->rows[k];
        char idx[16] = "-";
        if (r->layer >= 0)
            snprintf(idx, sizeof idx, "%d", r->layer);
        printf("%3s  %-12.12s %-8s %-14.14s %-20.20s %9.4f %8.2f %8.2f %7.2f %5.1f%%\n", idx,
               r->kind, r->pass, r->shape, r->desc, 1e3 * r->median_s,
               rate(r->flops, r->median_s), rate(r->bytes, r->median_s),
               r->bytes > 0 ? r->flops / r->bytes : 0, r->share);
    }
    const pf_totals *t = rp->t;
    printf("sum of row medians       %9.4f ms (layers forward %.4f, backward %.4f)\n",
           1e3 * t->sum_s, 1e3 * t->fwd_s, 1e3 * t->bwd_s);
    printf("profiled step (median)   %9.4f ms\n", 1e3 * t->profiled_s);
    printf("uninstrumented step      %9.4f ms (median of %d; wall clock %.4f ms, %.0f%% of "
           "it waiting for a CPU)\n", 1e3 * t->step_s, rp->o->repeats, 1e3 * t->step_wall_s,
           100 * t->waited);
    printf("ratio sum/step           %9.3f\n", t->ratio);
    fflush(stdout);
    if (t->ratio >= 0.9 && t->ratio <= 1.1)
        return;
    fprintf(stderr, PF_NAME ": warning: the per-layer times add up to %.3f x the "
                    "uninstrumented step, outside [0.9, 1.1]\n", t->ratio);
    if (rp->threads > 1 && t->waited > 0.05)
        fprintf(stderr, PF_NAME ": other processes held the CPUs: only the waits of the "
                        "timing thread are taken out, not those of the other %d; rerun on an "
                        "idle machine, or with --threads 1\n", rp->threads - 1);
}

static void write_row(FILE *fp, const pf_row *r)
{
    const double ms[] = { 1e3 * r->median_s, 1e3 * r->min_s, 1e3 * r->wall_median_s };
    const double rest[] = { r->flops, r->bytes, rate(r->flops, r->median_s),
                            rate(r->bytes, r->median_s), r->bytes > 0 ? r->flops / r->bytes : 0,
                            r->share };
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_profile_file, NULL);
    if (r->layer >= 0)
        gpx_row_int(&w, r->layer);
    else
        gpx_row_empty(&w);
    gpx_row_text(&w, r->kind);
    gpx_row_text(&w, r->pass);
    gpx_row_text(&w, r->shape);
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
        gpx_row_real(&w, ms[k]);
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
        gpx_row_real(&w, rest[k]);
    gpx_row_text(&w, r->desc);
    gpx_row_end(&w);
}

static void write_csv(FILE *fp, const void *ctx)
{
    const pf_report *rp = ctx;
    const pf_state *s = rp->s;
    const pf_machine *m = rp->m;
    fprintf(fp,
            "# gpool profile: config %s, head %s, batch %d, threads %d, repeats %d, warmup %d\n"
            "# times (ms): median and min over the profiled steps of wall clock less the time "
            "the calling thread waited for a CPU held by another process (run_delay in "
            "/proc/thread-self/schedstat); wall_median_ms: plain wall clock; share_pct: of the "
            "sum of the row medians\n"
            "# flops (2 per multiply-add): forward = n x the layer's FLOPs per image; backward: "
            "conv2d/dense 2 x multiply-adds (1 x for layer 0: no dx) + bias sum, batchnorm2d "
            "2 x forward, flatten 0, others 1 x forward\n"
            "# bytes (4 per float): forward = in + out + params; backward = in + dy + dx "
            "(not layer 0) + params + param grads; loss = logits + labels + dlogits; "
            "optimizer: Adam/AdamW 7 floats per param, SGD 3 (5 with momentum)\n"
            "# machine: peak_gflops %.2f (sgemm %d), dram_gbps %.2f (%s, %zu bytes), "
            "cache_gbps %.2f (%s, %zu bytes)\n"
            "# steps: sum_of_rows_ms %.4f, uninstrumented_step_ms %.4f (wall clock %.4f, "
            "%.1f%% of it waiting), profiled_step_ms %.4f, ratio %.4f\n",
            rp->o->config, rp->head, s->batch, rp->threads, rp->o->repeats, rp->o->warmup,
            m->peak_gflops, m->sgemm_n, m->dram_gbps, m->dram_kernel, m->dram_bytes,
            m->cache_gbps, m->cache_kernel, PF_HOT_BYTES, 1e3 * rp->t->sum_s,
            1e3 * rp->t->step_s, 1e3 * rp->t->step_wall_s, 100 * rp->t->waited,
            1e3 * rp->t->profiled_s, rp->t->ratio);
    gpx_record_header(fp, &gpx_profile_file, NULL);
    for (int k = 0; k < s->nrows; k++)
        write_row(fp, &s->rows[k]);
}

static void write_summary(FILE *fp, const void *ctx)
{
    const pf_report *rp = ctx;
    const pf_machine *m = rp->m;
    const pf_totals *t = rp->t;
    gpx_manifest man = { "gpool profile summary: the machine's roofs and a training step's times",
                         rp->o->argc, rp->o->argv, rp->cfg, NULL, NULL, rp->started, NULL };
    gpx_manifest_write(fp, &man);
    gpx_manifest_string(fp, "head", rp->head);
    fprintf(fp, "batch: %d\nthreads: %d\nrepeats: %d\nwarmup: %d\n", rp->s->batch, rp->threads,
            rp->o->repeats, rp->o->warmup);
    fprintf(fp,
            "machine:\n"
            "  peak_gflops: %.3f\n  sgemm_n: %d\n"
            "  dram_gbps: %.3f\n  dram_kernel: %s\n  dram_probe_bytes: %zu\n"
            "  cache_gbps: %.3f\n  cache_kernel: %s\n  cache_probe_bytes: %zu\n"
            "step:\n"
            "  sum_of_rows_ms: %.6f\n  layers_forward_ms: %.6f\n  layers_backward_ms: %.6f\n"
            "  uninstrumented_ms: %.6f\n  uninstrumented_wall_ms: %.6f\n"
            "  waiting_for_cpu: %.4f\n  profiled_ms: %.6f\n  ratio: %.4f\n"
            "  ratio_within_10pct: %s\n",
            m->peak_gflops, m->sgemm_n, m->dram_gbps, m->dram_kernel, m->dram_bytes,
            m->cache_gbps, m->cache_kernel, PF_HOT_BYTES, 1e3 * t->sum_s, 1e3 * t->fwd_s,
            1e3 * t->bwd_s, 1e3 * t->step_s, 1e3 * t->step_wall_s, t->waited,
            1e3 * t->profiled_s, t->ratio,
            t->ratio >= 0.9 && t->ratio <= 1.1 ? "true" : "false");
}

/* Plot group of a row: 0 forward, 1 backward, 2 loss and optimizer. */
static int row_group(const pf_row *r)
{
    return r->layer < 0 ? 2 : !strcmp(r->pass, "forward") ? 0 : 1;
}

/* One line per row that has FLOPs and bytes (log axes have no zero):
 * intensity, GFLOP/s, group, label. */
static void write_chart_data(FILE *fp, const void *ctx)
{
    const pf_report *rp = ctx;
    fputs("# flop_per_byte gflop_s group(0 fwd, 1 bwd, 2 other) label\n", fp);
    for (int k = 0; k < rp->s->nrows; k++) {
        const pf_row *r = &rp->s->rows[k];
        if (r->flops <= 0 || r->bytes <= 0 || r->median_s <= 0)
            continue;
        char label[64];
        if (r->layer >= 0)
            snprintf(label, sizeof label, "%d%c %s", r->layer, r->pass[0], r->kind);
        else
            snprintf(label, sizeof label, "%s", r->kind);
        fprintf(fp, "%.6g %.6g %d \"%s\"\n", r->flops / r->bytes, rate(r->flops, r->median_s),
                row_group(r), label);
    }
}

/* Axis ranges that hold every point and both roofs' knees. */
static void chart_ranges(const pf_report *rp, double *x0, double *x1, double *y0, double *y1)
{
    const pf_machine *m = rp->m;
    double lo_x = m->peak_gflops / m->cache_gbps, hi_x = m->peak_gflops / m->dram_gbps;
    double lo_y = m->peak_gflops, hi_y = m->peak_gflops;
    lo_x = fmin(lo_x, hi_x);
    hi_x = fmax(lo_x, hi_x);
    for (int k = 0; k < rp->s->nrows; k++) {
        const pf_row *r = &rp->s->rows[k];
        if (r->flops <= 0 || r->bytes <= 0 || r->median_s <= 0)
            continue;
        double x = r->flops / r->bytes, y = rate(r->flops, r->median_s);
        lo_x = fmin(lo_x, x);
        hi_x = fmax(hi_x, x);
        lo_y = fmin(lo_y, y);
        hi_y = fmax(hi_y, y);
    }
    *x0 = lo_x / 2;
    *x1 = hi_x * 4;
    *y0 = lo_y / 3;
    *y1 = hi_y * 3;
}

static void write_chart_script(FILE *fp, const void *ctx)
{
    const pf_report *rp = ctx;
    const pf_machine *m = rp->m;
    char title[512], qtitle[1100];
    double x0, x1, y0, y1;
    chart_ranges(rp, &x0, &x1, &y0, &y1);
    snprintf(title, sizeof title, "gpool profile: %s, head %s, batch %d, %d thread%s",
             ycfg_name(rp->cfg), rp->head, rp->s->batch, rp->threads,
             rp->threads == 1 ? "" : "s");
    gpx_gnuplot_quote(qtitle, sizeof qtitle, title);
    fprintf(fp,
            "# Roofline of a training step, one point per layer and pass (written by gpool\n"
            "# profile). Redraw with: gnuplot roofline.gp (in this directory).\n"
            "if (!exists('datafile')) datafile = 'roofline.dat'\n"
            "if (!exists('outbase')) outbase = 'roofline'\n"
            "peak = %.6g; dram = %.6g; cache = %.6g\n"
            "roof(bw, x) = (bw * x < peak) ? bw * x : peak\n"
            "set title %s noenhanced\n"
            "set logscale xy\nset grid xtics ytics mxtics mytics\n"
            "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n"
            "set xlabel 'arithmetic intensity (FLOP/byte, analytic model)'\n"
            "set ylabel 'GFLOP/s'\nset key top left noenhanced\nset samples 1000\n"
            "do for [fmt in 'png svg'] {\n"
            "  if (fmt eq 'png') { set terminal pngcairo size 1200,800 font ',10' } "
            "else { set terminal svg size 1200,800 dynamic font ',10' }\n"
            "  set output outbase.'.'.fmt\n"
            "  plot roof(dram, x) with lines lw 2 lc rgb '#444444' "
            "title sprintf('DRAM %%.1f GB/s, sgemm peak %%.1f GFLOP/s', dram, peak), \\\n"
            "       roof(cache, x) with lines lw 2 dt 2 lc rgb '#888888' "
            "title sprintf('cache-resident %%.1f GB/s', cache), \\\n"
            "       datafile using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 1.2 "
            "lc rgb '#1f77b4' title 'forward', \\\n"
            "       datafile using 1:($3 == 1 ? $2 : 1/0) with points pt 5 ps 1.2 "
            "lc rgb '#d62728' title 'backward', \\\n"
            "       datafile using 1:($3 == 2 ? $2 : 1/0) with points pt 9 ps 1.4 "
            "lc rgb '#2ca02c' title 'loss, optimizer', \\\n"
            "       datafile using 1:2:4 with labels offset 0.6,0.6 left font ',7' "
            "noenhanced notitle\n"
            "  unset output\n"
            "}\n",
            m->peak_gflops, m->dram_gbps, m->cache_gbps, qtitle, x0, x1, y0, y1);
}

static int write_file(const char *dir, const char *name, void (*body)(FILE *, const void *),
                      const void *ctx)
{
    char path[4096], err[4200];
    gpx_atomic_file f;
    if (gpx_join(path, sizeof path, dir, name) || gpx_atomic_open(&f, path, err, sizeof err)) {
        fprintf(stderr, PF_NAME ": %s/%s: cannot write\n", dir, name);
        return -1;
    }
    body(f.fp, ctx);
    if (gpx_atomic_commit(&f, err, sizeof err)) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return -1;
    }
    return 0;
}

/* roofline.{dat,gp,png,svg}, published together (records/chart.h). A
 * missing gnuplot skips the chart with a note. 0 ok or skipped, -1 failed. */
static int write_chart(const char *dir, const pf_report *rp)
{
    char err[8400];
    gpx_chart chart = { dir, "roofline", NULL, write_chart_data, write_chart_script, NULL, NULL,
                        rp };
    int r = gpx_chart_publish(&chart, err, sizeof err);
    if (r)
        fprintf(stderr, PF_NAME ": %s%s\n", err, r > 0 ? ": chart skipped" : "");
    return r < 0 ? -1 : 0;
}

static int write_outputs(const char *dir, const pf_report *rp)
{
    char err[4200];
    if (gpx_mkdir_p(dir, err, sizeof err)) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return -1;
    }
    if (write_file(dir, "profile.csv", write_csv, rp) ||
        write_file(dir, "summary.yaml", write_summary, rp))
        return -1;
    return rp->o->no_chart ? 0 : write_chart(dir, rp);
}

/* ======================================================= the command */

/* What one profile run needs set up: the state for the point, the data
 * already loaded. 0, -1 failed (printed), 2 a batch the data cannot fill. */
static int setup_state(pf_state *s, const pf_options *o, const ycfg *cfg,
                       const ycfg_point *pt, const gpx_data *d)
{
    memset(s, 0, sizeof *s);
    /* the thread that times every call: its wait counter stays valid */
    s->schedstat = open("/proc/thread-self/schedstat", O_RDONLY);
    s->d = d;
    s->to = gpx_run_train_opts(pt);
    s->batch = o->batch ? o->batch : s->to.batch;
    s->img = (size_t)d->train.c * d->train.h * d->train.w;
    s->nb = d->train.count / s->batch;
    if (s->nb < 1) {
        fprintf(stderr, PF_NAME ": batch %d is larger than the %d training images\n", s->batch,
                d->train.count);
        return 2;
    }
    if (build_net(s, cfg, pt))
        return -1;
    s->nlayers = gp_net_layer_count(s->net);
    s->classes = gp_net_out_shape(s->net).c;
    if (alloc_activations(s) || init_rows(s, o->repeats)) {
        fprintf(stderr, PF_NAME ": out of memory\n");
        return -1;
    }
    return 0;
}

static int measure_machine(const pf_options *o, int threads, pf_machine *m)
{
    size_t bytes = o->bw_mib ? (size_t)o->bw_mib << 20 : 2 * gpx_l3_bytes(NULL);
    if (!o->bw_mib && bytes < ((size_t)64 << 20))
        bytes = (size_t)64 << 20;
    memset(m, 0, sizeof *m);
    if (measure_sgemm(o->sgemm_n, m) || measure_bandwidth(bytes, threads, m)) {
        if (!pf_interrupted)
            fprintf(stderr, PF_NAME ": out of memory measuring the machine's peaks\n");
        return -1;
    }
    return 0;
}

/* Everything after the config is loaded; the exit status. */
static int profile_point(const pf_options *o, const ycfg *cfg, const ycfg_point *pt)
{
    gpx_data d;
    char err[1024];
    int threads = gpx_run_prepare(pt, o->threads, &d, err, sizeof err);
    if (threads < 0) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return 1;
    }
    pf_state s;
    pf_machine m;
    char started[64];
    gpx_iso_time(started, sizeof started);
    int rc = setup_state(&s, o, cfg, pt, &d);
    if (rc == 0)
        rc = run_rounds(&s, o->warmup, o->repeats);
    /* After the steps: the probe's large buffers would leave page-table
     * work behind that the first steps would pay for. */
    if (rc == 0)
        rc = measure_machine(o, threads, &m) ? -1 : 0;
    if (rc == 0 && !pf_interrupted) {
        pf_totals t = summarize(&s, o->repeats);
        char dir[4096];
        if (o->out)
            snprintf(dir, sizeof dir, "%s", o->out);
        else
            snprintf(dir, sizeof dir, "results/%s/profile", ycfg_name(cfg));
        pf_report rp = { o, cfg, ycfg_str(pt, "model.head"), threads, &s, &m, &t, started };
        print_table(&rp);
        rc = write_outputs(dir, &rp);
    }
    if (pf_interrupted) {
        gpx_remove_temps();
        fprintf(stderr, PF_NAME ": interrupted; nothing written\n");
        rc = 130;
    }
    state_free(&s);
    gpx_data_free(&d);
    return rc == 130 || rc == 2 ? rc : rc ? 1 : 0;
}

int gpx_cmd_profile(int argc, char **argv)
{
    pf_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[1024];
    ycfg *cfg;
    const ycfg_point *pt = gpx_run_load_point(o.config, o.head, &cfg, err, sizeof err);
    if (!pt) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return 2;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    pf_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = profile_point(&o, cfg, pt);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    ycfg_free(cfg);
    return rc;
}
