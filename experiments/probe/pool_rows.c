/*
 * pool_rows.c - a bench row, measured (see pool_rows.h): the shape's
 * buffers, then per row the check (pool_check.c), the probe of the row's
 * buffers and the timing of its calls, again while the row was disturbed.
 */
#include "autoconfig.h"

#include "probe/pool_rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "probe/cpuwait.h"
#include "probe/probe.h"
#include "util/util.h"

size_t gpx_bench_shape_elems(const gpx_bench_shape *s)
{
    return s->n * s->c * s->h * s->w;
}

void gpx_bench_shape_label(char *buf, size_t len, const gpx_bench_shape *s)
{
    snprintf(buf, len, "%zux%zux%zux%zu", s->n, s->c, s->h, s->w);
}

gpx_bench_row *gpx_bench_rows_add(gpx_bench_rows *l)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        gpx_bench_row *r = realloc(l->rows, l->cap * sizeof *r);
        if (!r) {
            fprintf(stderr, "gpool bench: out of memory for %zu result rows\n", l->cap);
            abort();
        }
        l->rows = r;
    }
    gpx_bench_row *row = &l->rows[l->count++];
    memset(row, 0, sizeof *row);
    return row;
}

int gpx_bench_find_variant(const char *name, gp_pool_op op, gp_layout layout,
                           gp_variant_info *out)
{
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        if (gp_variant_get(i, &v) == GP_OK && v.op == op && v.layout == layout &&
            !strcmp(v.name, name)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* ========================================================= the buffers */

void gpx_bench_shape_free(gpx_bench_shape_data *sd)
{
    gpx_buffer_set_free(&sd->x);
    gpx_buffer_set_free(&sd->y);
    gpx_buffer_set_free(&sd->dy);
    gpx_buffer_set_free(&sd->dx);
    gpx_bench_refs_free(&sd->refs);
}

static void fill_shape(gpx_bench_shape_data *sd)
{
    uint64_t seed = 0x5eed0000ull ^ (uint64_t)(sd->dims.n * 1000003 + sd->dims.c * 1009 +
                                               sd->dims.h * 31 + sd->dims.w);
    gpx_buffer_set_fill(&sd->x, seed, 1);
    if (sd->need_fwd)
        gpx_buffer_set_fill(&sd->y, 0, 0);
    if (sd->need_bwd) {
        gpx_buffer_set_fill(&sd->dy, seed + 7, 1);
        gpx_buffer_set_fill(&sd->dx, 0, 0);
    }
}

int gpx_bench_shape_prepare(gpx_bench_shape_data *sd, char *err, size_t errlen)
{
    size_t elems = gpx_bench_shape_elems(&sd->dims);
    size_t outs = sd->dims.n * sd->dims.c * (sd->outs_per_plane ? sd->outs_per_plane : 1);
    size_t xbytes = elems * sizeof(float);
    sd->nbufs = sd->need_cold ? gpx_cold_rotation(sd->cold_bytes, xbytes) : 1;
    sd->cursor = 0;
    size_t nb = sd->nbufs;
    int failed = gpx_buffer_set_alloc(&sd->x, nb, elems) != 0;
    if (!failed && sd->need_fwd)
        failed = gpx_buffer_set_alloc(&sd->y, nb, outs) != 0;
    if (!failed && sd->need_bwd)
        failed = gpx_buffer_set_alloc(&sd->dy, nb, outs) != 0 ||
                 gpx_buffer_set_alloc(&sd->dx, nb, elems) != 0;
    if (failed) {
        char sz[32], lbl[64];
        gpx_bench_shape_label(lbl, sizeof lbl, &sd->dims);
        snprintf(err, errlen, "cannot allocate %s of buffers for shape %s (%zu rotating buffers)",
                 gpx_format_bytes(sz, sizeof sz, (double)xbytes * (double)nb *
                                                     (sd->need_bwd ? 2.0 : 1.0)),
                 lbl, nb);
        gpx_bench_shape_free(sd);
        return -1;
    }
    fill_shape(sd);
    return 0;
}

/* ============================================================== timing */

typedef struct {
    gp_pool_desc          d;
    gp_pass               pass;
    const char           *variant;  /* NULL: auto */
    gpx_bench_shape_data *sd;
    int                   cold;
} row_call;

/* count back-to-back calls; cold calls rotate through the buffer sets. */
static gp_status run_calls(row_call *rc, size_t count)
{
    gpx_bench_shape_data *sd = rc->sd;
    size_t nbufs = rc->cold ? sd->nbufs : 1, k = rc->cold ? sd->cursor : 0;
    for (size_t i = 0; i < count; i++) {
        gp_status st = gpx_bench_call(&rc->d, rc->pass, rc->variant, sd, k);
        if (st != GP_OK)
            return st;
        if (++k == nbufs)
            k = 0;
    }
    if (rc->cold)
        sd->cursor = k;
    return GP_OK;
}

typedef struct {
    double median_s, min_s;
    size_t calls;
    int    reps;
} row_timing;

/* 0, -1 on a library error (why filled), 1 when interrupted. */
static int time_row(row_call *rc, const gpx_bench_point *p, const volatile sig_atomic_t *stop,
                    row_timing *out, char *why, size_t whylen)
{
    double target = p->min_sample_s, best_call = INFINITY;
    size_t k = 1;
    gp_status st = GP_OK;
    /* Calibrate k from the fastest per-call time seen, so one sample that
     * lost the CPU to another process cannot leave k too small; these
     * samples double as the first warm-up (the very first call may fault
     * in pages or wake threads, so it does not count). */
    for (int it = 0; it < 40; it++) {
        double t0 = gpx_now();
        st = run_calls(rc, k);
        double dt = gpx_now() - t0;
        if (st != GP_OK || *stop)
            break;
        if (it > 0 && dt / (double)k < best_call)
            best_call = dt / (double)k;
        if (it > 0 && (double)k * best_call >= target)
            break;
        double want = isfinite(best_call) && best_call > 0 ? 1.2 * target / best_call
                                                           : (double)k * 4;
        if (want > (double)k * 1000)
            want = (double)k * 1000;
        k = want > (double)k ? (size_t)ceil(want) : k + 1;
    }
    for (int w = 0; w < p->warmup && st == GP_OK && !*stop; w++)
        st = run_calls(rc, k);
    double *v = calloc((size_t)p->reps, sizeof *v);
    if (!v) {
        snprintf(why, whylen, "out of memory for %d samples", p->reps);
        return -1;
    }
    for (int s = 0; s < p->reps && st == GP_OK && !*stop; s++) {
        double t0 = gpx_now();
        st = run_calls(rc, k);
        v[s] = (gpx_now() - t0) / (double)k;
    }
    if (st != GP_OK) {
        snprintf(why, whylen, "%s", gp_last_error());
        free(v);
        return -1;
    }
    if (*stop) {
        free(v);
        return 1;
    }
    out->min_s = gpx_min(v, (size_t)p->reps);
    out->median_s = gpx_median(v, (size_t)p->reps);
    out->calls = k;
    out->reps = p->reps;
    free(v);
    return 0;
}

/* ============================================================ one row */

static void set_threads(int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
}

static size_t row_bytes(const gpx_bench_shape *s, const gpx_bench_point *p)
{
    size_t per_plane = p->op >= GP_POOL_ADAPTIVE_AVG ? p->k * p->k : 1;
    size_t big = gpx_bench_shape_elems(s) * sizeof(float);
    size_t small = s->n * s->c * per_plane * sizeof(float);
    if (p->pass == GP_PASS_FORWARD)
        return big + small;                  /* x read, y written */
    if (p->op == GP_POOL_AVG || p->op == GP_POOL_ADAPTIVE_AVG)
        return small + big;                  /* dy read, dx written */
    return big + small + big;                /* x and dy read, dx written */
}

/* Probe, then time the row: once, or again (up to p->attempts) while its
 * threads waited for a CPU more than p->max_cpu_wait of the time; the least
 * disturbed measurement is kept. Returns as time_row does. */
static int measure_row(gpx_bench_shape_data *sd, const gpx_bench_point *p, row_call *rc,
                       const volatile sig_atomic_t *stop, gpx_bench_row *row, row_timing *best,
                       char *why, size_t whylen)
{
    const gpx_buffer_set *set = !strcmp(row->probe_set, "dx") ? &sd->dx : &sd->x;
    row->cpu_wait = INFINITY;
    for (int a = 1; a <= p->attempts; a++) {
        double t0 = gpx_now(), w0 = gpx_process_cpu_wait_s();
        gpx_probe_result pr;
        gpx_probe_read((const float *const *)set->ptr, p->cold ? set->nbufs : 1, set->n,
                       p->cold ? &sd->cursor : NULL, p->threads, p->probe_sample_s, &pr);
        row_timing t;
        int r = time_row(rc, p, stop, &t, why, whylen);
        if (r != 0)
            return r;
        double wait = (gpx_process_cpu_wait_s() - w0) / (gpx_now() - t0);
        if (!(wait >= 0))   /* no schedstat: one measurement, disturbance unknown */
            wait = NAN;
        row->attempts = a;
        if (a == 1 || wait < row->cpu_wait) {
            *best = t;
            row->cpu_wait = wait;
            row->probe_gbps = pr.gbps;
            row->probe_kernel = pr.kernel;
        }
        if (!(row->cpu_wait > p->max_cpu_wait))
            break;
    }
    return 0;
}

/* The row's columns that do not depend on how it goes. */
static void start_row(const gpx_bench_shape_data *sd, const gpx_bench_point *p,
                      const char *variant, gpx_bench_row *row)
{
    row->point = p;
    row->shape = sd->dims;
    row->variant = variant;
    row->status = "ok";
    row->bytes = row_bytes(&sd->dims, p);
    row->buffers = p->cold ? sd->nbufs : 1;
    row->median_s = row->min_s = row->gbps = row->probe_gbps = row->frac = NAN;
    row->cpu_wait = NAN;
    row->probe_set = p->pass == GP_PASS_BACKWARD &&
                     (p->op == GP_POOL_AVG || p->op == GP_POOL_ADAPTIVE_AVG) ? "dx" : "x";
    row->probe_kernel = "";
    row->isa = "";
}

void gpx_bench_run_row(gpx_bench_shape_data *sd, const gpx_bench_point *p, const char *variant,
                       const volatile sig_atomic_t *stop, gpx_bench_row *row)
{
    start_row(sd, p, variant, row);
    set_threads(p->threads);
    row_call rc = { .d = { .n = sd->dims.n, .c = sd->dims.c, .h = sd->dims.h, .w = sd->dims.w,
                           .layout = p->layout, .op = p->op, .k = p->k },
                    .pass = p->pass, .sd = sd, .cold = p->cold,
                    .variant = strcmp(variant, "auto") ? variant : NULL };

    /* Which variant runs (for auto: the dispatcher's choice right now). */
    gp_variant_info info;
    int known = rc.variant ? gpx_bench_find_variant(variant, p->op, p->layout, &info)
                           : gp_select_variant(&rc.d, p->pass, &info) == GP_OK;
    if (!known) {
        row->status = "error";
        snprintf(row->note, sizeof row->note, "%s", gp_last_error());
        return;
    }
    snprintf(row->impl, sizeof row->impl, "%s", info.name);
    row->isa = gp_isa_name(info.isa);
    row->threaded = info.threaded;
    if (p->threads > 1 && !gp_have_openmp())
        snprintf(row->note, sizeof row->note, "library built without OpenMP: 1 thread");

    if (p->check && gpx_bench_check_row(sd, &rc.d, p->pass, variant, row->note,
                                         sizeof row->note) != 0) {
        row->status = "mismatch";
        return;
    }

    row_timing t = { 0 };
    char why[256] = "";
    int r = measure_row(sd, p, &rc, stop, row, &t, why, sizeof why);
    if (r > 0) {
        row->status = "interrupted";
        return;
    }
    if (r < 0) {
        row->status = "error";
        snprintf(row->note, sizeof row->note, "%s", why);
        return;
    }
    row->median_s = t.median_s;
    row->min_s = t.min_s;
    row->calls = t.calls;
    row->reps = t.reps;
    row->gbps = (double)row->bytes / t.median_s / 1e9;
    row->frac = row->gbps / row->probe_gbps;
    if (row->cpu_wait > p->max_cpu_wait)
        snprintf(row->note, sizeof row->note,
                 "disturbed: its threads waited for a CPU %.1f%% of the time (best of %d)",
                 100 * row->cpu_wait, row->attempts);
}

