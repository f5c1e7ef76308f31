/*
 * bench.c - `gpool bench`: time every pooling variant on the shapes of a
 * YAML config and set each timing against the read bandwidth this machine
 * attains on the same buffers at the same moment.
 *
 * This file reads the command line and the config (each sweep point
 * decoded once into a gpx_bench_point) and runs the rows shape by shape,
 * each shape's buffers allocated and filled once; how a row is checked,
 * probed and timed is probe/pool_rows.h, what is written from the rows
 * records/bench_rows.h. Everything is written at the end, each file
 * atomically, so an interrupted run leaves the previous results untouched.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "cmd/commands.h"
#include "core/schema.h"
#include "gpool.h"
#include "probe/buffers.h"
#include "probe/pool_rows.h"
#include "probe/probe.h"
#include "records/bench_rows.h"
#include "util/interrupt.h"
#include "util/util.h"

/* Where `make install` puts bench.gp (and configs, if installed); the build
 * passes it. */
#ifndef GPOOL_DATADIR
#define GPOOL_DATADIR "/usr/local/share/gpool"
#endif

#define DEFAULT_CONFIG "configs/kernels.yaml"
#define BENCH_CMD      "gpool bench"

/* ========================================================= small helpers */

static int bench_quiet;
static volatile sig_atomic_t bench_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    bench_interrupted = 1;
}

static void report_error(const char *fmt, ...) GPX_PRINTF(1, 2);
static void report_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gpx_vsay(BENCH_CMD, fmt, ap);
    va_end(ap);
}

/* Like report_error, but not with --quiet. */
static void note(const char *fmt, ...) GPX_PRINTF(1, 2);
static void note(const char *fmt, ...)
{
    if (bench_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    gpx_vsay(BENCH_CMD, fmt, ap);
    va_end(ap);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        report_error("out of memory (%zu x %zu bytes)", n, size);
        abort();
    }
    return p;
}

/* ================================================================ options */

typedef struct {
    const char *config;
    const char *out;
    const char *probe_sizes;
    int list_variants, quiet, no_chart;
} bench_options;

static void print_schema_keys(FILE *out, const ycfg_schema *table, const char *prefix)
{
    for (const ycfg_schema *k = table; k->key; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s%s", prefix, k->key);
        if (k->type == YCFG_MAP) {
            char sub[sizeof path + 1];
            snprintf(sub, sizeof sub, "%s.", path);
            print_schema_keys(out, k->items, sub);
            continue;
        }
        fprintf(out, "  %-20s %s\n", path, k->help ? k->help : "");
        if (k->def)
            fprintf(out, "  %-20s   default: %s\n", "", k->def);
    }
}

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: gpool bench [OPTIONS]\n"
            "\n"
            "Time every pooling variant on the shapes of a YAML config. Before each\n"
            "row, check the variant against the scalar one and probe the read bandwidth of\n"
            "the row's own buffers with the row's thread count; then report the median and\n"
            "minimum per-call time of at least 20 samples, GB/s (bytes read + written) and\n"
            "frac = GB/s / probe GB/s.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   config to run (default: %s in the working\n"
            "                      directory, else %s/%s)\n"
            "  -o, --out DIR       output directory (default: the config's 'output',\n"
            "                      results/kernels)\n"
            "      --list-variants print every variant (name, op, layout, isa, threaded,\n"
            "                      available on this CPU) and exit\n"
            "      --probe SIZES   only measure read bandwidth: buffers of SIZES bytes\n"
            "                      (comma separated, K/M/G suffixes), hot and cold, 1..nproc\n"
            "                      threads, every probe kernel; CSV on stdout\n"
            "      --no-chart      do not run gnuplot\n"
            "  -q, --quiet         no progress line or notes (errors still print)\n"
            "  -h, --help          show this help and exit\n"
            "\n"
            "Writes to DIR: bench.csv (one row per sweep point x shape x variant),\n"
            "bench.png and bench.svg (chart, when gnuplot is found: $GNUPLOT, else\n"
            "gnuplot; GNUPLOT set but empty disables it), bench-chart.dat and bench.gp\n"
            "(the chart's data and script), config.yaml (the resolved config, defaults\n"
            "marked) and manifest.yaml (command line, date, CPU, L3, versions,\n"
            "environment). Every file is written atomically at the end; an interrupted\n"
            "run (Ctrl-C) writes nothing.\n"
            "\n"
            "Config keys (any of them may be swept: sweep: {bench.threads: [1, 2]}):\n",
            DEFAULT_CONFIG, GPOOL_DATADIR, DEFAULT_CONFIG);
    print_schema_keys(out, gpx_bench_schema(), "");
    fprintf(out,
            "\n"
            "CSV columns: point_id, variant, impl (the variant that ran; for auto the\n"
            "dispatcher's choice), isa, threaded, op, pass, layout, k (topk and the\n"
            "adaptive ops), n, c, h, w, threads,\n"
            "mode, buffers (rotation length; 1 = hot), bytes (read + written per call),\n"
            "reps, calls (per sample), median_s, min_s (per call), gbps (bytes / median),\n"
            "probe_gbps, frac, probe_set (x, or dx for avg and adaptive_avg backward),\n"
            "probe_kernel,\n"
            "cpu_wait (share of the kept measurement's time that the row's threads\n"
            "spent waiting for a CPU taken by another process; empty where the kernel\n"
            "keeps no schedstat), attempts (measurements made: a row above\n"
            "max_cpu_wait is measured again, and one still above it says so in note),\n"
            "status (ok, mismatch, error), note.\n"
            "\n"
            "Environment: GPOOL_VARIANT and GPOOL_CPU_MASK act on the library as usual\n"
            "and are recorded in the manifest; GPOOL_BENCH_GP names the gnuplot template\n"
            "(default: experiments/records/bench.gp in the working directory, else %s/bench.gp).\n"
            "Exit status: 0 success, 1 error or mismatch, 2 bad command line, 130 interrupted.\n",
            GPOOL_DATADIR);
}

static const gpx_option options[] = {
    { "-c", "--config", "a value", .offset = offsetof(bench_options, config) },
    { "-o", "--out", "a directory", .offset = offsetof(bench_options, out) },
    { NULL, "--probe", "sizes such as 64K,1M", .offset = offsetof(bench_options, probe_sizes) },
    { "-q", "--quiet", NULL, .offset = offsetof(bench_options, quiet) },
    { NULL, "--list-variants", NULL, .offset = offsetof(bench_options, list_variants) },
    { NULL, "--no-chart", NULL, .offset = offsetof(bench_options, no_chart) },
};

static const gpx_command_line command_line = {
    .name = BENCH_CMD, .usage = print_help,
    .options = options, .noptions = sizeof options / sizeof options[0],
    .no_operand_hint = " (the config is given with --config)",
};

/* ========================================================= list variants */

static int list_variants(FILE *out)
{
    fprintf(out, "%-12s %-12s %-6s %-7s %-9s %s\n", "variant", "op", "layout", "isa",
            "threaded", "available");
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        if (gp_variant_get(i, &v) != GP_OK) {
            report_error("%s", gp_last_error());
            return 1;
        }
        fprintf(out, "%-12s %-12s %-6s %-7s %-9s %s\n", v.name, gp_pool_op_name(v.op),
                gp_layout_name(v.layout), gp_isa_name(v.isa), v.threaded ? "yes" : "no",
                v.available ? "yes" : "no");
    }
    return 0;
}


/* ========================================================= the config */

static int add_name(const char **names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], name))
            return 0;
    names[(*n)++] = name;
    return 1;
}

/* name onto the comma-separated list of skipped variants, once. */
static void add_skipped(char *skipped, size_t skiplen, const char *name)
{
    if (!strstr(skipped, name) && strlen(skipped) + strlen(name) + 3 < skiplen)
        snprintf(skipped + strlen(skipped), skiplen - strlen(skipped), "%s%s",
                 skipped[0] ? ", " : "", name);
}

/* 'all': the table's entries for the point's op and layout that this CPU
 * can run. */
static void add_all_variants(gpx_bench_point *p, char *skipped, size_t skiplen)
{
    for (size_t k = 0; k < gp_variant_count(); k++) {
        gp_variant_info v;
        if (gp_variant_get(k, &v) != GP_OK || v.op != p->op || v.layout != p->layout)
            continue;
        if (v.available)
            add_name(p->variants, &p->nvariants, v.name);
        else
            add_skipped(skipped, skiplen, v.name);
    }
}

/* The variant names a point times: the listed ones ('all' expands to the
 * table's entries for the op and layout) that this CPU can run, then auto.
 * Unknown names are config errors; unavailable ones are skipped with a note. */
static int resolve_variants(const ycfg *cfg, const ycfg_point *pt, gpx_bench_point *p,
                            char *skipped, size_t skiplen)
{
    const ycfg_value *list = ycfg_get(pt, "bench.variants");
    p->variants = xcalloc(gp_variant_count() + 2, sizeof *p->variants);
    p->nvariants = 0;
    for (size_t i = 0; i < list->n; i++) {
        const ycfg_value *item = &list->items[i];
        const char *name = item->s;
        gp_variant_info v;
        if (!strcmp(name, "auto"))
            continue;
        if (!strcmp(name, "all")) {
            add_all_variants(p, skipped, skiplen);
            continue;
        }
        if (!gpx_bench_find_variant(name, p->op, p->layout, &v)) {
            report_error("%s:%d:%d: no variant '%s' for %s %s (see gpool bench --list-variants)",
                         ycfg_path(cfg), item->line, item->col, name, gp_pool_op_name(p->op),
                         gp_layout_name(p->layout));
            return -1;
        }
        if (!v.available) {
            note("skipping variant %s: this CPU or build cannot run it (%s%s)", name,
                 gp_isa_name(v.isa), v.threaded ? ", OpenMP" : "");
            add_skipped(skipped, skiplen, name);
            continue;
        }
        add_name(p->variants, &p->nvariants, name);
    }
    add_name(p->variants, &p->nvariants, "auto");
    return 0;
}

/* bench.shapes, without repeats; a shape over 64 GiB is a config error. */
static int decode_shapes(const ycfg *cfg, const ycfg_point *pt, gpx_bench_point *p)
{
    const ycfg_value *shapes = ycfg_get(pt, "bench.shapes");
    p->shapes = xcalloc(shapes->n, sizeof *p->shapes);
    for (size_t k = 0; k < shapes->n; k++) {
        const ycfg_value *s = &shapes->items[k];
        gpx_bench_shape d = { (size_t)s->items[0].i, (size_t)s->items[1].i,
                              (size_t)s->items[2].i, (size_t)s->items[3].i };
        double elems = (double)d.n * (double)d.c * (double)d.h * (double)d.w;
        if (elems * sizeof(float) > 64.0 * (1ull << 30)) {
            report_error("%s:%d:%d: shape %zux%zux%zux%zu needs more than 64 GiB", ycfg_path(cfg),
                         s->line, s->col, d.n, d.c, d.h, d.w);
            return -1;
        }
        if (p->op == GP_POOL_TOPK && p->k > d.h * d.w) {
            report_error("%s:%d:%d: bench.k %zu is more than shape %zux%zux%zux%zu's H x W",
                         ycfg_path(cfg), s->line, s->col, p->k, d.n, d.c, d.h, d.w);
            return -1;
        }
        int dup = 0;
        for (size_t j = 0; j < p->nshapes; j++)
            dup |= !memcmp(&p->shapes[j], &d, sizeof d);
        if (!dup)
            p->shapes[p->nshapes++] = d;
    }
    return 0;
}

static int decode_point(const ycfg *cfg, size_t i, gpx_bench_point *p, char *skipped,
                        size_t skiplen)
{
    const ycfg_point *pt = ycfg_point_at(cfg, i);
    memset(p, 0, sizeof *p);
    p->id = ycfg_point_id(pt);
    p->op = (gp_pool_op)ycfg_enum(pt, "bench.op");
    p->k = (size_t)ycfg_int(pt, "bench.k");
    p->pass = (gp_pass)ycfg_enum(pt, "bench.pass");
    p->layout = (gp_layout)ycfg_enum(pt, "bench.layout");
    p->threads = (int)ycfg_int(pt, "bench.threads");
    p->cold = !strcmp(ycfg_str(pt, "bench.mode"), "cold");
    p->reps = (int)ycfg_int(pt, "bench.repetitions");
    p->warmup = (int)ycfg_int(pt, "bench.warmup");
    p->min_sample_s = ycfg_float(pt, "bench.min_sample_ms") * 1e-3;
    p->probe_sample_s = ycfg_float(pt, "bench.probe_sample_ms") * 1e-3;
    p->check = ycfg_bool(pt, "bench.check");
    long long mib = ycfg_int(pt, "bench.cold_mib");
    p->cold_bytes = mib > 0 ? (size_t)mib << 20 : gpx_cold_bytes_default();
    p->max_cpu_wait = ycfg_float(pt, "bench.max_cpu_wait");
    p->attempts = (int)ycfg_int(pt, "bench.attempts");
    if (decode_shapes(cfg, pt, p))
        return -1;
    return resolve_variants(cfg, pt, p, skipped, skiplen);
}

static void free_points(gpx_bench_point *points, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(points[i].shapes);
        free(points[i].variants);
    }
    free(points);
}

/* Every point decoded, or NULL (the error printed). */
static gpx_bench_point *decode_points(const ycfg *cfg, char *skipped, size_t skiplen)
{
    size_t npoints = ycfg_npoints(cfg);
    gpx_bench_point *points = xcalloc(npoints, sizeof *points);
    for (size_t i = 0; i < npoints; i++)
        if (decode_point(cfg, i, &points[i], skipped, skiplen) != 0) {
            free_points(points, npoints);
            return NULL;
        }
    return points;
}

/* The chart: section, as the first point has it (one chart for the run). */
static gpx_bench_chart_spec decode_chart(const ycfg *cfg)
{
    const ycfg_point *pt0 = ycfg_point_at(cfg, 0);
    gpx_bench_chart_spec c;
    c.op = (gp_pool_op)ycfg_enum(pt0, "chart.op");
    c.pass = (gp_pass)ycfg_enum(pt0, "chart.pass");
    c.layout = (gp_layout)ycfg_enum(pt0, "chart.layout");
    return c;
}

/* ============================================================ the run */

typedef struct {
    gpx_bench_shape *shapes;
    size_t           nshapes;
} shape_list;

static size_t add_shape(shape_list *l, const gpx_bench_shape *d)
{
    for (size_t i = 0; i < l->nshapes; i++)
        if (!memcmp(&l->shapes[i], d, sizeof *d))
            return i;
    l->shapes = realloc(l->shapes, (l->nshapes + 1) * sizeof *l->shapes);
    if (!l->shapes) {
        report_error("out of memory");
        abort();
    }
    l->shapes[l->nshapes] = *d;
    return l->nshapes++;
}

static int point_has_shape(const gpx_bench_point *p, const gpx_bench_shape *d)
{
    for (size_t i = 0; i < p->nshapes; i++)
        if (!memcmp(&p->shapes[i], d, sizeof *d))
            return 1;
    return 0;
}

static void format_duration(char *buf, size_t len, double s)
{
    if (s < 0 || !isfinite(s))
        snprintf(buf, len, "?");
    else if (s < 90)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 5400)
        snprintf(buf, len, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, len, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

/* The rows of a run, and how far it got. */
typedef struct {
    const gpx_bench_point *points;
    size_t                 npoints;
    gpx_bench_rows        *rows;
    size_t                 planned, done;
    double                 t_start;
} run_state;

/* What the rows on sd's shape need of its buffers. */
static void shape_needs(const run_state *run, gpx_bench_shape_data *sd)
{
    for (size_t i = 0; i < run->npoints; i++) {
        const gpx_bench_point *p = &run->points[i];
        if (!point_has_shape(p, &sd->dims))
            continue;
        sd->need_cold |= p->cold;
        sd->need_fwd |= p->pass == GP_PASS_FORWARD;
        size_t outs = p->op >= GP_POOL_ADAPTIVE_AVG ? p->k * p->k : 1;
        if (outs > sd->outs_per_plane)
            sd->outs_per_plane = outs;
        sd->need_bwd |= p->pass == GP_PASS_BACKWARD;
        if (p->cold && p->cold_bytes > sd->cold_bytes)
            sd->cold_bytes = p->cold_bytes;
    }
}

static void show_progress(const run_state *run, const char *lbl, const gpx_bench_point *p,
                          const char *variant)
{
    double elapsed = gpx_now() - run->t_start;
    char eta[32];
    format_duration(eta, sizeof eta,
                    run->done ? elapsed / (double)run->done * (double)(run->planned - run->done)
                              : -1);
    gpx_progress("[%zu/%zu] %s %s %s %s %dT %s %-11s ETA %s", run->done + 1, run->planned, lbl,
                 gp_pool_op_name(p->op), gp_pass_name(p->pass), gp_layout_name(p->layout),
                 p->threads, p->cold ? "cold" : "hot", variant, eta);
}

/* Point p's rows on the shape of sd. 0, or 1 when interrupted. */
static int run_point_rows(run_state *run, gpx_bench_shape_data *sd, const gpx_bench_point *p,
                          const char *lbl)
{
    for (size_t v = 0; v < p->nvariants; v++) {
        if (bench_interrupted)
            return 1;
        show_progress(run, lbl, p, p->variants[v]);
        gpx_bench_row *row = gpx_bench_rows_add(run->rows);
        gpx_bench_run_row(sd, p, p->variants[v], &bench_interrupted, row);
        if (!strcmp(row->status, "interrupted")) {
            run->rows->count--;
            return 1;
        }
        if (strcmp(row->status, "ok"))
            report_error("%s %s %s %s, %d thread(s), %s, variant %s: %s: %s", lbl,
                         gp_pool_op_name(p->op), gp_pass_name(p->pass),
                         gp_layout_name(p->layout), p->threads, p->cold ? "cold" : "hot",
                         row->variant, row->status, row->note);
        run->done++;
    }
    return 0;
}

/* Every row on one shape, its buffers allocated and filled once. 0, -1 on
 * a fatal error, 1 when interrupted. */
static int run_shape(run_state *run, const gpx_bench_shape *shape)
{
    gpx_bench_shape_data sd;
    memset(&sd, 0, sizeof sd);
    sd.dims = *shape;
    shape_needs(run, &sd);
    char lbl[64], err[512];
    gpx_bench_shape_label(lbl, sizeof lbl, &sd.dims);
    gpx_progress("[%zu/%zu] %s: filling buffers...", run->done, run->planned, lbl);
    if (gpx_bench_shape_prepare(&sd, err, sizeof err) != 0) {
        report_error("%s", err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < run->npoints && rc == 0; i++)
        if (point_has_shape(&run->points[i], &sd.dims))
            rc = run_point_rows(run, &sd, &run->points[i], lbl);
    gpx_bench_shape_free(&sd);
    return rc;
}

/* Runs every row, shape by shape. Returns 0, -1 on a fatal error, 1 when
 * interrupted. */
static int run_all(const gpx_bench_point *points, size_t npoints, gpx_bench_rows *rows,
                   size_t *planned)
{
    shape_list shapes = { 0 };
    run_state run = { points, npoints, rows, 0, 0, 0 };
    for (size_t i = 0; i < npoints; i++)
        for (size_t s = 0; s < points[i].nshapes; s++) {
            add_shape(&shapes, &points[i].shapes[s]);
            run.planned += points[i].nvariants;
        }
    *planned = run.planned;
    run.t_start = gpx_now();
    int rc = 0;
    for (size_t s = 0; s < shapes.nshapes && rc == 0; s++)
        rc = run_shape(&run, &shapes.shapes[s]);
    gpx_progress_clear();
    free(shapes.shapes);
    return rc;
}

/* ============================================================= output */

typedef struct {
    const gpx_bench_run   *run;
    const ycfg            *cfg;
    const gpx_bench_point *points;
    size_t                 npoints;
    const gpx_bench_rows  *rows;
} output_ctx;

static void csv_body(FILE *fp, const void *ctx)
{
    gpx_bench_write_csv(fp, ((const output_ctx *)ctx)->rows);
}

static void config_body(FILE *fp, const void *ctx)
{
    ycfg_write_resolved(((const output_ctx *)ctx)->cfg, fp);
}

static void manifest_body(FILE *fp, const void *ctx)
{
    const output_ctx *o = ctx;
    gpx_bench_write_manifest(fp, o->run, o->cfg, o->points, o->npoints, o->rows);
}

static int write_file(const char *dir, const char *name, void (*body)(FILE *, const void *),
                      const void *ctx)
{
    char err[4200];
    if (gpx_write_file(dir, name, body, ctx, err, sizeof err) == 0)
        return 0;
    report_error("%s", err);
    return -1;
}

/* The chart, unless --no-chart or interrupted; sets the manifest's status.
 * 0 written or skipped, -1 failed. */
static int write_chart(const char *dir, gpx_bench_run *run, const ycfg *cfg,
                       const gpx_bench_rows *rows, int no_chart)
{
    char err[8400];
    run->chart_status = "skipped: --no-chart";
    if (no_chart || bench_interrupted)
        return 0;
    gpx_bench_chart_spec spec = decode_chart(cfg);
    int r = gpx_bench_write_chart(dir, ycfg_name(cfg), &spec, rows, &run->chart_status, err,
                                  sizeof err);
    if (r == 1 && err[0])
        note("%s: chart skipped", err);
    else if (r < 0)
        report_error("%s", err);
    return r < 0 ? -1 : 0;
}

static int write_outputs(const char *dir, gpx_bench_run *run, const ycfg *cfg,
                         const gpx_bench_point *points, size_t npoints,
                         const gpx_bench_rows *rows, int no_chart)
{
    output_ctx ctx = { run, cfg, points, npoints, rows };
    if (write_file(dir, "bench.csv", csv_body, &ctx) != 0 ||
        write_file(dir, "config.yaml", config_body, &ctx) != 0)
        return -1;
    int rc = write_chart(dir, run, cfg, rows, no_chart);
    if (write_file(dir, "manifest.yaml", manifest_body, &ctx) != 0)
        rc = -1;
    return rc;
}

/* ============================================================ --probe */

/* One line per probe kernel on the set with threads threads, then the best. */
static void probe_threads(const gpx_buffer_set *set, int cold, int threads, size_t *cursor)
{
    const gpx_probe_kernel *kernels;
    size_t nk = gpx_probe_kernels(&kernels), bytes = set->n * sizeof(float);
    const char *mode = cold ? "cold" : "hot";
    gpx_probe_result best = { 0 };
    for (size_t k = 0; k < nk; k++) {
        gpx_probe_result r;
        gpx_probe_read_with(kernels[k].name, (const float *const *)set->ptr, set->nbufs, set->n,
                            cursor, threads, 0, &r);
        printf("%s,%zu,%d,%s,%.2f,%.2f,%zu\n", mode, bytes, r.threads, r.kernel, r.gbps,
               r.best_gbps, set->nbufs);
        if (r.gbps > best.gbps)
            best = r;
    }
    printf("%s,%zu,%d,best:%s,%.2f,%.2f,%zu\n", mode, bytes, best.threads, best.kernel,
           best.gbps, best.best_gbps, set->nbufs);
    fflush(stdout);
}

/* --probe SIZES: the read bandwidth of buffers of each size, hot and cold,
 * with 1..nproc threads and every probe kernel, as CSV on stdout. */
static int probe_only(const char *sizes_text)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", sizes_text);
    int maxthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (maxthreads < 1)
        maxthreads = 1;
    size_t cold_total = gpx_cold_bytes_default();
    printf("mode,bytes,threads,kernel,median_gbps,best_gbps,buffers\n");
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        size_t bytes;
        if (gpx_parse_bytes(tok, &bytes) != 0 || bytes < 64) {
            report_error("--probe: bad size '%s' (bytes, at least 64; K/M/G suffixes)", tok);
            return 2;
        }
        size_t n = bytes / sizeof(float) / 16 * 16;
        for (int cold = 0; cold < 2; cold++) {
            size_t nbufs = cold ? gpx_cold_rotation(cold_total, n * sizeof(float)) : 1;
            gpx_buffer_set set;
            if (gpx_buffer_set_alloc(&set, nbufs, n) != 0) {
                report_error("cannot allocate %zu buffers of %zu bytes", nbufs, bytes);
                return 1;
            }
            gpx_buffer_set_fill(&set, 1, 1);
            size_t cursor = 0;
            for (int t = 1; t <= maxthreads; t++)
                probe_threads(&set, cold, t, &cursor);
            gpx_buffer_set_free(&set);
        }
    }
    return 0;
}

/* =============================================================== main */

static const char *find_config(const char *given)
{
    static char installed[4096];
    if (given)
        return given;
    if (gpx_readable(DEFAULT_CONFIG))
        return DEFAULT_CONFIG;
    snprintf(installed, sizeof installed, "%s/%s", GPOOL_DATADIR, DEFAULT_CONFIG);
    return gpx_readable(installed) ? installed : DEFAULT_CONFIG;
}

/* Fail before an hour of measuring, not after: can we write into dir? */
static int check_output_dir(const char *dir)
{
    char err[512], path[4096];
    if (gpx_mkdir_p(dir, err, sizeof err) != 0) {
        report_error("%s", err);
        return -1;
    }
    gpx_join(path, sizeof path, dir, "bench.csv");
    gpx_atomic_file f;
    if (gpx_atomic_open(&f, path, err, sizeof err) != 0) {
        report_error("%s", err);
        return -1;
    }
    gpx_atomic_abort(&f);
    return 0;
}

/* The config at ri->config_path, or NULL (the error printed). */
static ycfg *load_config(const gpx_bench_run *ri)
{
    if (!gpx_readable(ri->config_path)) {
        report_error("cannot read config %s: %s", ri->config_path, strerror(errno));
        return NULL;
    }
    char err[1024];
    ycfg *cfg = ycfg_load(ri->config_path, gpx_bench_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        fprintf(stderr, BENCH_CMD ": invalid config %s (keys: gpool bench --help)\n",
                ri->config_path);
    }
    return cfg;
}

/* How the rows ended: the exit status, and the rows written or not. */
static int finish(gpx_bench_run *ri, const ycfg *cfg, const gpx_bench_point *points,
                  size_t npoints, const gpx_bench_rows *rows, int no_chart)
{
    int rc = write_outputs(ri->out_dir, ri, cfg, points, npoints, rows, no_chart) ? 1 : 0;
    if (bench_interrupted) {
        report_error("interrupted while writing results to %s", ri->out_dir);
        rc = 130;
    }
    size_t failed = 0;
    for (size_t i = 0; i < rows->count; i++)
        failed += strcmp(rows->rows[i].status, "ok") != 0;
    if (failed) {
        report_error("%zu of %zu rows failed their check or errored "
                     "(status column of %s/bench.csv)", failed, rows->count, ri->out_dir);
        if (rc == 0)
            rc = 1;
    }
    gp_pool_tuning t;
    if (rc == 0 && gp_pool_tuning_get(&t) == GP_OK)
        note("%zu rows in %.0f s, pool tuning %s (manifest.yaml: pool_tuning) -> %s/bench.csv",
             rows->count, ri->wall_s, t.name, ri->out_dir);
    return rc;
}

/* Every row measured, then written. The exit status. */
static int measure(gpx_bench_run *ri, const ycfg *cfg, const gpx_bench_point *points,
                   const bench_options *o)
{
    size_t npoints = ycfg_npoints(cfg);
    gpx_progress_enable(!o->quiet);
    gpx_interrupts sigs;
    bench_interrupted = 0;
    gpx_interrupts_catch(&sigs, on_interrupt, 1);
    gpx_bench_rows rows = { 0 };
    double t0 = gpx_now();
    int run = run_all(points, npoints, &rows, &ri->planned);
    ri->wall_s = gpx_now() - t0;
    int rc;
    if (run == 1 || bench_interrupted) {
        report_error("interrupted after %zu of %zu rows; nothing written to %s", rows.count,
                     ri->planned, ri->out_dir);
        rc = 130;
    } else {
        rc = run < 0 ? 1 : finish(ri, cfg, points, npoints, &rows, o->no_chart);
    }
    gpx_interrupts_restore(&sigs);
    gpx_remove_temps();
    free(rows.rows);
    return rc;
}

int gpx_cmd_bench(int argc, char **argv)
{
    bench_options o = { 0 };
    int rc = gpx_parse_command_line(&command_line, argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (o.list_variants)
        return list_variants(stdout);
    bench_quiet = o.quiet;
    if (o.probe_sizes)
        return probe_only(o.probe_sizes);

    gpx_bench_run ri = { .argc = argc, .argv = argv };
    gpx_iso_time(ri.started, sizeof ri.started);
    ri.config_path = find_config(o.config);
    ycfg *cfg = load_config(&ri);
    if (!cfg)
        return 1;
    char skipped[1024] = "";
    gpx_bench_point *points = decode_points(cfg, skipped, sizeof skipped);
    ri.skipped = skipped;
    ri.out_dir = o.out ? o.out : ycfg_str(ycfg_point_at(cfg, 0), "output");
    rc = !points || check_output_dir(ri.out_dir) != 0 ? 1 : measure(&ri, cfg, points, &o);
    if (points)
        free_points(points, ycfg_npoints(cfg));
    ycfg_free(cfg);
    return rc;
}
