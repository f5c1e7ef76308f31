/*
 * profile.c - `gpool profile CONFIG`: where a training step of a config's
 * network spends its time, layer by layer, against this machine's roofs.
 *
 * A profiled step replays gp_net_forward / gp_softmax_xent /
 * gp_net_backward / gp_optim_step one call at a time with a timer around
 * each: the net's parts (gp_net_part_forward / _backward: a layer, or a
 * conv2d with the layers fused into it, whose epilogue gets rows of its
 * own from the share of the call the library timed in it), on activations
 * laid out as the net lays out its own (core/steps.h).
 * Plain steps (gpx_train_step, one timer around the whole step) run
 * interleaved with the profiled ones, so both see the same machine load;
 * their median is the step time the per-layer medians are checked against,
 * not divided by. Every interval has the timing thread's waits for a CPU
 * taken out (probe/cpuwait.h), which keeps that check meaningful on a
 * shared machine.
 *
 * FLOPs and bytes are analytic models (core/steps.h), so GFLOP/s and GB/s
 * say how far each layer is from the roofs of a roofline chart
 * (probe/roofs.h): the FMA peak of a register-only loop of the widest
 * instruction set (probe/peak.h; each conv2d row reports its fraction of
 * it), the GFLOP/s of a large sgemm beside it, and the read bandwidth of
 * the probe `gpool bench` uses, from DRAM and from a cache-resident
 * buffer. What is written: records/profile_rows.h.
 */
#include "autoconfig.h"

#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/data.h"
#include "core/point.h"
#include "core/steps.h"
#include "probe/cpuwait.h"
#include "probe/roofs.h"
#include "records/profile_rows.h"
#include "util/interrupt.h"
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

typedef struct {
    gpx_stepper        st;
    gpx_replay_buffers rb;
    gpx_profile_row   *rows;      /* the step's parts (core/steps.h), loss, optimizer */
    int               *starts;    /* the first layer of each of the net's parts */
    int                nparts;
    gpx_samples       *t;         /* each row's, one per profiled step */
    int                nrows;
    gpx_samples        step;      /* plain steps */
    gpx_samples        round;     /* sums of a profiled step's rows */
    gpx_thread_clock   clock;     /* of the thread that times every call */
    int                bad_loss;  /* a step's loss was not finite */
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
            "Time forward and backward of every layer of CONFIG's network (a conv2d with\n"
            "the batchnorm2d and/or relu after it runs as one fused part, whose epilogue\n"
            "has rows of its own, kind 'epi ...'), the loss and the optimizer step\n"
            "(median of REPEATS profiled training steps on consecutive batches of the\n"
            "training set), with FLOPs, bytes moved, GFLOP/s, GB/s and the share of the\n"
            "step per row, and each conv2d row's fraction of the FMA peak; and a\n"
            "roofline chart against this machine's FMA peak (a register-only loop of\n"
            "independent FMA chains, widest instruction set the CPU has, on the\n"
            "profile's threads; a large sgemm's GFLOP/s is shown beside it) and read\n"
            "bandwidth (DRAM and cache-resident).\n"
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
            "  --sgemm-n N      side of the sgemm shown beside the FMA peak (default 1024)\n"
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
            "  fused epilogue   the fused layers' FLOPs; bytes 4 n out x 3 forward with a\n"
            "                   batchnorm (statistics, then normalise), x 2 relu alone;\n"
            "                   backward x 7 (bn+relu), x 5 (bn), x 3 (relu alone). Its\n"
            "                   time is the fused call's, times the share of it the\n"
            "                   library measured in the epilogue on the timing thread\n"
            "  loss             n classes (5 + 4 with a sigmoid) FLOPs; bytes read logits\n"
            "                   and labels, write the logit gradients\n"
            "  optimizer        per parameter float: Adam 12 FLOPs (AdamW 14), 7 floats\n"
            "                   moved (read p, g, m, v; write p, m, v); SGD 2 FLOPs, 3 floats\n"
            "                   (+3 and +2 with momentum); weight decay +2 FLOPs\n"
            "Shares are of the sum of the row medians.\n"
            "\n"
            "Output in DIR: profile.csv (comment lines starting with '#' give the model,\n"
            "the machine and the step times; then the columns layer, kind, pass,\n"
            "out_shape, median_ms, min_ms, wall_median_ms, flops, bytes, gflop_s, gb_s,\n"
            "flop_per_byte, share_pct, peak_frac (conv2d rows: gflop_s over the FMA\n"
            "peak), desc - desc last, as it may hold commas), summary.yaml (its\n"
            "machine.peak_source names the peak: fma-zmm, fma-ymm or fma-generic),\n"
            "roofline.png and roofline.svg (gnuplot; roofline.gp and roofline.dat redraw\n"
            "them). A table goes to stdout. Exit status: 0 ok, 1 error, 2 bad command\n"
            "line or config, 130 interrupted.\n");
}


static const gpx_option options[] = {
    { NULL, "--head", "a name", .offset = offsetof(pf_options, head) },
    { "-o", "--out", "a directory", .offset = offsetof(pf_options, out) },
    GPX_INT_OPTION("--batch", pf_options, batch, 1, 65536),
    GPX_INT_OPTION("--threads", pf_options, threads, 1, 1024),
    GPX_INT_OPTION("--repeats", pf_options, repeats, 1, 100000),
    GPX_INT_OPTION("--warmup", pf_options, warmup, 0, 100000),
    GPX_INT_OPTION("--sgemm-n", pf_options, sgemm_n, 64, 8192),
    GPX_INT_OPTION("--bw-mib", pf_options, bw_mib, 1, 1 << 20),
    { NULL, "--no-chart", NULL, .offset = offsetof(pf_options, no_chart) },
};

static const gpx_command_line command_line = {
    .name = PF_NAME, .usage = usage,
    .options = options, .noptions = sizeof options / sizeof options[0],
    .operand_name = "CONFIG", .operand_offset = offsetof(pf_options, config),
    .operand_example = "configs/tutorial.yaml",
};

/* ============================================================ the state */

static void state_free(pf_state *s)
{
    for (int r = 0; s->t && r < s->nrows; r++)
        gpx_samples_free(&s->t[r]);
    free(s->t);
    free(s->rows);
    free(s->starts);
    gpx_samples_free(&s->step);
    gpx_samples_free(&s->round);
    gpx_replay_free(&s->rb);
    gpx_stepper_destroy(&s->st);
    gpx_thread_clock_close(&s->clock);
    memset(s, 0, sizeof *s);
    s->clock.fd = -1;
}

/* The rows (the parts of a step, core/steps.h) and room for their samples. */
static int init_rows(pf_state *s, int repeats)
{
    s->nrows = gpx_step_part_count(&s->st);
    int nlayers = gp_net_layer_count(s->st.net);
    if (!(s->starts = calloc((size_t)nlayers, sizeof *s->starts)))
        return -1;
    for (int i = 0; i < nlayers; i += 1 + gp_net_part_fused(s->st.net, i))
        s->starts[s->nparts++] = i;
    s->rows = calloc((size_t)s->nrows, sizeof *s->rows);
    s->t = calloc((size_t)s->nrows, sizeof *s->t);
    gpx_step_part *parts = calloc((size_t)s->nrows, sizeof *parts);
    int rc = s->rows && s->t && parts && !gpx_samples_alloc(&s->step, repeats) &&
                     !gpx_samples_alloc(&s->round, repeats)
                 ? 0 : -1;
    for (int r = 0; rc == 0 && r < s->nrows; r++)
        rc = gpx_samples_alloc(&s->t[r], repeats);
    if (rc == 0) {
        gpx_step_parts(&s->st, parts);
        for (int r = 0; r < s->nrows; r++)
            s->rows[r].part = parts[r];
    }
    free(parts);
    return rc;
}

/* What one profile run needs set up: the state for the point, the data
 * already loaded. 0, -1 failed (printed), 2 a batch the data cannot fill. */
static int setup_state(pf_state *s, const pf_options *o, const gpx_measured_point *mp)
{
    memset(s, 0, sizeof *s);
    gpx_thread_clock_open(&s->clock);
    int batch = o->batch ? o->batch : gpx_run_train_opts(mp->pt).batch;
    char err[1024];
    int rc = gpx_stepper_create(&s->st, &mp->model, mp->pt, &mp->data, batch, err, sizeof err);
    if (rc) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return rc == 2 ? 2 : -1;
    }
    if (gpx_replay_alloc(&s->rb, &s->st) || init_rows(s, o->repeats)) {
        fprintf(stderr, PF_NAME ": out of memory\n");
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- steps */

/* Run call, as sample r of p unless r < 0 (warm-up: no clock at all). */
#define PF_TIMED(p, r, call)                          \
    do {                                              \
        gpx_interval iv_ = { 0, 0 };                  \
        if ((r) >= 0)                                 \
            gpx_interval_start(&s->clock, &iv_);      \
        st = (call);                                  \
        if ((r) >= 0)                                 \
            gpx_interval_stop(&s->clock, &iv_, (p), (r)); \
    } while (0)

/* A fused part's sample r, timed whole into row, split between row (the
 * conv) and row + 2 (its epilogue) by the share of the call the library
 * measured in the epilogue on this thread (epi_s of total_s). */
static void split_epilogue(pf_state *s, int row, int r, double epi_s, double total_s)
{
    double f = total_s > 0 ? epi_s / total_s : 0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    gpx_samples *conv = &s->t[row], *epi = &s->t[row + 2];
    epi->wall[r] = f * conv->wall[r];
    epi->busy[r] = f * conv->busy[r];
    conv->wall[r] -= epi->wall[r];
    conv->busy[r] -= epi->busy[r];
}

/* The forward of every part of the net (as gp_net_forward runs them), as
 * sample r of its rows (r < 0: untimed). */
static gp_status profiled_forward(pf_state *s, int r)
{
    gpx_stepper *sp = &s->st;
    gp_net *net = sp->net;
    float **act = s->rb.act;
    const float *x = gpx_stepper_x(sp);
    if (!x)
        return GP_ERR_NOMEM;
    gp_status st = GP_OK;
    for (int i = 0; i < s->rb.nlayers && st == GP_OK; i += 1 + gp_net_part_fused(net, i)) {
        int row = gpx_step_part_row(sp, i);
        double epi = 0, total = 0;
        PF_TIMED(&s->t[row], r, gp_net_part_forward(net, i, sp->batch, i ? act[i - 1] : x,
                                                     act + i, &epi, &total));
        if (r >= 0 && gp_net_part_fused(net, i))
            split_epilogue(s, row, r, epi, total);
    }
    return st;
}

/* The parts' backward from sp->dlogits, last part first, with the
 * gradient buffers gp_net_backward would use. */
static gp_status profiled_backward(pf_state *s, int r)
{
    gpx_stepper *sp = &s->st;
    gp_net *net = sp->net;
    float **act = s->rb.act, **grad = s->rb.grad;
    const float *x = sp->xb, *dy = sp->dlogits;   /* the batch the forward converted */
    gp_status st = GP_OK;
    for (int p = s->nparts - 1; p >= 0 && st == GP_OK; p--) {
        int i = s->starts[p], row = gpx_step_part_row(sp, i) + 1;
        float *work = dy == grad[1] ? grad[1] : grad[0];
        float *other = work == grad[0] ? grad[1] : grad[0];
        float *dx = i ? (gp_net_part_fused(net, i) || dy == work ? other : work) : NULL;
        double epi = 0, total = 0;
        PF_TIMED(&s->t[row], r, gp_net_part_backward(net, i, sp->batch, i ? act[i - 1] : x,
                                                      act + i, dy, work, dx, &epi, &total));
        if (r >= 0 && gp_net_part_fused(net, i))
            split_epilogue(s, row, r, epi, total);
        dy = dx;
    }
    return st;
}

/* One training step, part by part, as sample r of every row (r < 0:
 * untimed). Returns the library status; a non-finite loss is GP_ERR_ARG. */
static gp_status profiled_step(pf_state *s, int r)
{
    gpx_stepper *sp = &s->st;
    const int n = sp->batch, L = s->rb.nlayers, last = s->nrows - 2;
    gp_status st = profiled_forward(s, r);
    float loss = 0;
    if (st == GP_OK)
        PF_TIMED(&s->t[last], r,
                 gp_softmax_xent(n, sp->classes, s->rb.act[L - 1], gpx_stepper_y(sp),
                                 sp->to.sigmoid_loss, &loss, sp->dlogits, NULL));
    if (st == GP_OK && !isfinite(loss)) {
        s->bad_loss = 1;
        return GP_ERR_ARG;
    }
    if (st == GP_OK)
        st = profiled_backward(s, r);
    if (st == GP_OK)
        PF_TIMED(&s->t[last + 1], r, gp_optim_step(sp->opt, sp->to.optim.lr));
    sp->k++;
    return st;
}

/* The same step through gpx_train_step, timed whole, as sample r. */
static gp_status plain_step(pf_state *s, int r)
{
    gp_status st;
    float loss = 0;
    PF_TIMED(&s->step, r, gpx_stepper_step(&s->st, &loss));
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
                                : gpx_status_message(st));
            return -1;
        }
        for (int k = 0; r >= 0 && k < s->nrows; k++) {
            s->round.wall[r] += s->t[k].wall[r];
            s->round.busy[r] += s->t[k].busy[r];
        }
        if (pf_interrupted)
            return 1;
    }
    return 0;
}

/* The rows' medians and shares, and the step's totals. */
static gpx_profile_totals summarize(pf_state *s, int repeats)
{
    gpx_profile_totals t = { 0 };
    size_t n = (size_t)repeats;
    for (int k = 0; k < s->nrows; k++) {
        gpx_profile_row *r = &s->rows[k];
        r->min_s = gpx_min(s->t[k].busy, n);
        r->median_s = gpx_median(s->t[k].busy, n);
        r->wall_median_s = gpx_median(s->t[k].wall, n);
        t.sum_s += r->median_s;
        if (r->part.layer >= 0 && !strcmp(r->part.pass, "forward"))
            t.fwd_s += r->median_s;
        else if (r->part.layer >= 0)
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

/* ======================================================= the command */

static int measure_machine(const pf_options *o, int threads, gpx_roofs *m)
{
    size_t bytes = o->bw_mib ? (size_t)o->bw_mib << 20 : 2 * gpx_l3_bytes(NULL);
    if (!o->bw_mib && bytes < ((size_t)64 << 20))
        bytes = (size_t)64 << 20;
    memset(m, 0, sizeof *m);
    if (gpx_roofs_sgemm(o->sgemm_n, &pf_interrupted, m) ||
        gpx_roofs_fma(threads, &pf_interrupted, m) ||
        gpx_roofs_bandwidth(bytes, PF_HOT_BYTES, threads, &pf_interrupted, m)) {
        if (!pf_interrupted)
            fprintf(stderr, PF_NAME ": out of memory measuring the machine's peaks\n");
        return -1;
    }
    return 0;
}

/* The table, and a warning when the rows do not add up to the step. */
static void print_report(const gpx_profile_report *rp)
{
    const gpx_profile_totals *t = rp->totals;
    gpx_profile_print_table(stdout, rp);
    if (gpx_profile_ratio_ok(t))
        return;
    fprintf(stderr, PF_NAME ": warning: the per-layer times add up to %.3f x the "
                    "uninstrumented step, outside [0.9, 1.1]\n", t->ratio);
    if (rp->threads > 1 && t->waited > 0.05)
        fprintf(stderr, PF_NAME ": other processes held the CPUs: only the waits of the "
                        "timing thread are taken out, not those of the other %d; rerun on an "
                        "idle machine, or with --threads 1\n", rp->threads - 1);
}

/* profile.csv, summary.yaml and (unless --no-chart) the roofline; a missing
 * gnuplot skips the chart with a note. 0, or -1 (printed). */
static int write_outputs(const char *dir, const gpx_profile_report *rp, int no_chart)
{
    char err[8400];
    if (gpx_mkdir_p(dir, err, sizeof err) || gpx_profile_write_files(dir, rp, err, sizeof err)) {
        fprintf(stderr, PF_NAME ": %s\n", err);
        return -1;
    }
    int r = no_chart ? 0 : gpx_profile_write_chart(dir, rp, err, sizeof err);
    if (r)
        fprintf(stderr, PF_NAME ": %s%s\n", err, r > 0 ? ": chart skipped" : "");
    return r < 0 ? -1 : 0;
}

/* The report of a measured state, printed and written. */
static int report(const pf_options *o, const ycfg *cfg, const ycfg_point *pt, int threads,
                  pf_state *s, const gpx_roofs *m, const char *started)
{
    gpx_profile_totals t = summarize(s, o->repeats);
    char dir[4096];
    if (o->out)
        snprintf(dir, sizeof dir, "%s", o->out);
    else
        snprintf(dir, sizeof dir, "results/%s/profile", ycfg_name(cfg));
    gpx_profile_report rp = { o->config, cfg, ycfg_str(pt, "model.head"), s->st.batch,
                              threads, o->repeats, o->warmup, o->argc, o->argv, started,
                              s->rows, s->nrows, m, &t };
    print_report(&rp);
    return write_outputs(dir, &rp, o->no_chart);
}

/* Everything after the point is loaded; the exit status. */
static int profile_point(const pf_options *o, gpx_measured_point *mp)
{
    pf_state s;
    gpx_roofs m;
    char started[64];
    gpx_iso_time(started, sizeof started);
    int rc = setup_state(&s, o, mp);
    if (rc == 0)
        rc = run_rounds(&s, o->warmup, o->repeats);
    /* After the steps: the probe's large buffers would leave page-table
     * work behind that the first steps would pay for. */
    if (rc == 0)
        rc = measure_machine(o, mp->threads, &m) ? -1 : 0;
    if (rc == 0 && !pf_interrupted)
        rc = report(o, mp->cfg, mp->pt, mp->threads, &s, &m, started);
    if (pf_interrupted) {
        gpx_remove_temps();
        fprintf(stderr, PF_NAME ": interrupted; nothing written\n");
        rc = 130;
    }
    state_free(&s);
    return rc == 130 || rc == 2 ? rc : rc ? 1 : 0;
}

int gpx_cmd_profile(int argc, char **argv)
{
    pf_options o = { .repeats = 30, .warmup = 5, .sgemm_n = 1024, .argc = argc, .argv = argv };
    int rc = gpx_parse_command_line(&command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    gpx_interrupts sigs;
    pf_interrupted = 0;
    gpx_interrupts_catch(&sigs, on_interrupt, 1);
    gpx_measured_point mp;
    char err[1024];
    rc = gpx_measured_point_open(&mp, o.config, o.head, o.threads, err, sizeof err);
    if (rc)
        fprintf(stderr, PF_NAME ": %s\n", err);
    else
        rc = profile_point(&o, &mp);
    gpx_interrupts_restore(&sigs);
    gpx_measured_point_close(&mp);
    return rc;
}
