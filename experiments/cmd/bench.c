/*
 * bench.c - `gpool bench`: time every pooling variant on the shapes of a
 * YAML config and set each timing against the read bandwidth this machine
 * attains on the same buffers at the same moment.
 *
 * For every row (sweep point x shape x variant):
 *   1. check: run the variant once on buffer 0 and compare with the scalar
 *      variant (max exactly, avg within 2e-6 x mean|x| of the plane); the
 *      scalar variant itself is checked against a double-precision reference.
 *      A mismatch becomes an error row and is never timed.
 *   2. probe: the read bandwidth of the row's own buffers with the row's
 *      thread count (probe.h) - the x set, or the dx set for avg backward
 *      (whose largest input, dy, is 1/(H*W) of what the call streams).
 *   3. time: samples of k back-to-back calls (k so that a sample lasts
 *      min_sample_ms), calibration and warm-up first, then `repetitions`
 *      samples; per-call time = sample / k; median and minimum.
 * Cold rows rotate call by call through buffer sets that total more than
 * three L3s (allocated and filled once per shape; the probe and the timing
 * share one rotation cursor, so every buffer was last touched a whole
 * rotation ago). Hot rows use buffer 0 of each set.
 *
 * Everything is written at the end, each file atomically (util.h), so an
 * interrupted run leaves the previous results untouched.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cmd/commands.h"
#include "core/schema.h"
#include "cfg/cfg.h"
#include "gpool.h"
#include "probe/probe.h"
#include "records/chart.h"
#include "records/manifest.h"
#include "records/results.h"
#include "util/util.h"

/* Where `make install` puts bench.gp (and configs, if installed); the build
 * passes it, other users of this file (the config test) need not. */
#ifndef GPOOL_DATADIR
#define GPOOL_DATADIR "/usr/local/share/gpool"
#endif

#define DEFAULT_CONFIG "configs/kernels.yaml"

/* ========================================================= small helpers */

static int bench_quiet;
static volatile sig_atomic_t bench_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    bench_interrupted = 1;
}

static void report_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void report_error(const char *fmt, ...)
{
    gpx_progress_clear();
    va_list ap;
    va_start(ap, fmt);
    fputs("gpool bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void note(const char *fmt, ...)
{
    if (bench_quiet)
        return;
    gpx_progress_clear();
    va_list ap;
    va_start(ap, fmt);
    fputs("gpool bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
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

static void set_threads(int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
}

static int enum_index(const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(s, choices[i]))
            return i;
    return 0;
}

/* ================================================================ options */

typedef struct {
    const char *config;
    const char *out;
    const char *probe_sizes;
    int list_variants, help, quiet, no_chart;
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
            "Time every global pooling variant on the shapes of a YAML config. Before each\n"
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
            "dispatcher's choice), isa, threaded, op, pass, layout, n, c, h, w, threads,\n"
            "mode, buffers (rotation length; 1 = hot), bytes (read + written per call),\n"
            "reps, calls (per sample), median_s, min_s (per call), gbps (bytes / median),\n"
            "probe_gbps, frac, probe_set (x, or dx for avg backward), probe_kernel,\n"
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

#define BENCH_CMD "gpool bench"

static int parse_options(int argc, char **argv, bench_options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        static const struct {
            const char *s, *l;
            size_t      offset;
        } valued[] = {
            { "-c", "--config", offsetof(bench_options, config) },
            { "-o", "--out", offsetof(bench_options, out) },
            { NULL, "--probe", offsetof(bench_options, probe_sizes) },
        };
        int matched = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !matched; k++) {
            const char *value;
            int r = gpx_option_value(argc, argv, &i, valued[k].s, valued[k].l, &value);
            if (r < 0)
                return gpx_usage_error(BENCH_CMD, "option '%s' needs a value", arg);
            if (r > 0) {
                *(const char **)((char *)o + valued[k].offset) = value;
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (gpx_option_flag(arg, "-h", "--help"))
            o->help = 1;
        else if (gpx_option_flag(arg, "-q", "--quiet"))
            o->quiet = 1;
        else if (gpx_option_flag(arg, NULL, "--list-variants"))
            o->list_variants = 1;
        else if (gpx_option_flag(arg, NULL, "--no-chart"))
            o->no_chart = 1;
        else if (arg[0] == '-')
            return gpx_usage_error(BENCH_CMD, "unknown option '%s'", arg);
        else
            return gpx_usage_error(BENCH_CMD,
                                   "unexpected argument '%s' (the config is given with --config)",
                                   arg);
    }
    return 0;
}

/* ========================================================= list variants */

static int list_variants(FILE *out)
{
    fprintf(out, "%-12s %-4s %-6s %-7s %-9s %s\n", "variant", "op", "layout", "isa",
            "threaded", "available");
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        if (gp_variant_get(i, &v) != GP_OK) {
            report_error("%s", gp_last_error());
            return 1;
        }
        fprintf(out, "%-12s %-4s %-6s %-7s %-9s %s\n", v.name, gp_pool_op_name(v.op),
                gp_layout_name(v.layout), gp_isa_name(v.isa), v.threaded ? "yes" : "no",
                v.available ? "yes" : "no");
    }
    return 0;
}

/* ================================================================ data */

typedef struct {
    size_t n, c, h, w;
} shape_dims;

static size_t shape_elems(const shape_dims *s) { return s->n * s->c * s->h * s->w; }

static void shape_label(char *buf, size_t len, const shape_dims *s)
{
    snprintf(buf, len, "%zux%zux%zux%zu", s->n, s->c, s->h, s->w);
}

/* One sweep point, decoded. */
typedef struct {
    const ycfg_point *pt;
    const char         *id;
    gp_pool_op          op;
    gp_pass             pass;
    gp_layout           layout;
    int                 threads;
    int                 cold;
    int                 reps, warmup;
    double              min_sample_s;
    double              probe_sample_s;
    int                 check;
    size_t              cold_bytes;
    double              max_cpu_wait;
    int                 attempts;
    shape_dims         *shapes;
    size_t              nshapes;
    const char        **variants;  /* names to time, "auto" last */
    size_t              nvariants;
} bench_point;

/* A set of nbufs equal buffers carved from one allocation. */
typedef struct {
    float  *slab;
    float **ptr;
    size_t  nbufs, n;
} buffer_set;

/* Reference outputs (scalar variant) for one shape, per [op][layout][pass],
 * and the per-plane mean |x| the avg tolerance scales with, per layout. */
typedef struct {
    float  *out[2][2][2];
    int     bad[2][2][2];      /* scalar disagreed with the double reference */
    char    bad_note[2][2][2][160];
    double *meanabs[2];
    double *mean[2];
    float  *max[2];
} shape_refs;

typedef struct {
    shape_dims dims;
    size_t     nbufs;           /* rotation length (1 without cold rows) */
    size_t     cursor;          /* rotation position, shared by probe and timing */
    int        need_cold, need_fwd, need_bwd;
    size_t     cold_bytes;
    buffer_set x, y, dy, dx;
    shape_refs refs;
} shape_data;

typedef struct {
    const bench_point *point;
    shape_dims         shape;
    const char        *variant;
    char               impl[32];
    const char        *isa;
    int                threaded;
    size_t             buffers, bytes, calls;
    int                reps;
    double             median_s, min_s, gbps, probe_gbps, frac;
    double             cpu_wait;     /* share of the row's time its threads waited for a CPU */
    int                attempts;
    const char        *probe_set, *probe_kernel;
    const char        *status;
    char               note[256];
} bench_row;

typedef struct {
    bench_row *rows;
    size_t     count, cap;
} row_list;

static bench_row *new_row(row_list *l)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        bench_row *r = realloc(l->rows, l->cap * sizeof *r);
        if (!r) {
            report_error("out of memory for %zu result rows", l->cap);
            abort();
        }
        l->rows = r;
    }
    bench_row *row = &l->rows[l->count++];
    memset(row, 0, sizeof *row);
    return row;
}

/* ============================================================ plan rows */

static int find_variant(const char *name, gp_pool_op op, gp_layout layout,
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

static int add_name(const char **names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], name))
            return 0;
    names[(*n)++] = name;
    return 1;
}

/* The variant names a point times: the listed ones ('all' expands to the
 * table's entries for the op and layout) that this CPU can run, then auto.
 * Unknown names are config errors; unavailable ones are skipped with a note. */
static int resolve_variants(const ycfg *cfg, bench_point *p, char *skipped, size_t skiplen)
{
    const ycfg_value *list = ycfg_get(p->pt, "bench.variants");
    p->variants = xcalloc(gp_variant_count() + 2, sizeof *p->variants);
    p->nvariants = 0;
    for (size_t i = 0; i < list->n; i++) {
        const ycfg_value *item = &list->items[i];
        const char *name = item->s;
        if (!strcmp(name, "auto"))
            continue;
        if (!strcmp(name, "all")) {
            for (size_t k = 0; k < gp_variant_count(); k++) {
                gp_variant_info v;
                if (gp_variant_get(k, &v) != GP_OK || v.op != p->op || v.layout != p->layout)
                    continue;
                if (v.available)
                    add_name(p->variants, &p->nvariants, v.name);
                else if (!strstr(skipped, v.name) && strlen(skipped) + strlen(v.name) + 3 < skiplen)
                    snprintf(skipped + strlen(skipped), skiplen - strlen(skipped), "%s%s",
                             skipped[0] ? ", " : "", v.name);
            }
            continue;
        }
        gp_variant_info v;
        if (!find_variant(name, p->op, p->layout, &v)) {
            report_error("%s:%d:%d: no variant '%s' for %s %s (see gpool bench --list-variants)",
                         ycfg_path(cfg), item->line, item->col, name, gp_pool_op_name(p->op),
                         gp_layout_name(p->layout));
            return -1;
        }
        if (!v.available) {
            note("skipping variant %s: this CPU or build cannot run it (%s%s)", name,
                 gp_isa_name(v.isa), v.threaded ? ", OpenMP" : "");
            if (!strstr(skipped, name) && strlen(skipped) + strlen(name) + 3 < skiplen)
                snprintf(skipped + strlen(skipped), skiplen - strlen(skipped), "%s%s",
                         skipped[0] ? ", " : "", name);
            continue;
        }
        add_name(p->variants, &p->nvariants, name);
    }
    add_name(p->variants, &p->nvariants, "auto");
    return 0;
}

static size_t default_cold_bytes(void)
{
    /* "More than three times the L3": three L3s; the rotation adds a buffer. */
    return 3 * gpx_l3_bytes(NULL);
}

static int decode_point(const ycfg *cfg, size_t i, bench_point *p, char *skipped,
                        size_t skiplen)
{
    memset(p, 0, sizeof *p);
    p->pt = ycfg_point_at(cfg, i);
    p->id = ycfg_point_id(p->pt);
    p->op = (gp_pool_op)enum_index(ycfg_str(p->pt, "bench.op"), gpx_op_choices);
    p->pass = (gp_pass)enum_index(ycfg_str(p->pt, "bench.pass"), gpx_pass_choices);
    p->layout = (gp_layout)enum_index(ycfg_str(p->pt, "bench.layout"), gpx_layout_choices);
    p->threads = (int)ycfg_int(p->pt, "bench.threads");
    p->cold = !strcmp(ycfg_str(p->pt, "bench.mode"), "cold");
    p->reps = (int)ycfg_int(p->pt, "bench.repetitions");
    p->warmup = (int)ycfg_int(p->pt, "bench.warmup");
    p->min_sample_s = ycfg_float(p->pt, "bench.min_sample_ms") * 1e-3;
    p->probe_sample_s = ycfg_float(p->pt, "bench.probe_sample_ms") * 1e-3;
    p->check = ycfg_bool(p->pt, "bench.check");
    long long mib = ycfg_int(p->pt, "bench.cold_mib");
    p->cold_bytes = mib > 0 ? (size_t)mib << 20 : default_cold_bytes();
    p->max_cpu_wait = ycfg_float(p->pt, "bench.max_cpu_wait");
    p->attempts = (int)ycfg_int(p->pt, "bench.attempts");

    const ycfg_value *shapes = ycfg_get(p->pt, "bench.shapes");
    p->shapes = xcalloc(shapes->n, sizeof *p->shapes);
    for (size_t k = 0; k < shapes->n; k++) {
        const ycfg_value *s = &shapes->items[k];
        shape_dims d = { (size_t)s->items[0].i, (size_t)s->items[1].i, (size_t)s->items[2].i,
                         (size_t)s->items[3].i };
        double elems = (double)d.n * (double)d.c * (double)d.h * (double)d.w;
        if (elems * sizeof(float) > 64.0 * (1ull << 30)) {
            report_error("%s:%d:%d: shape %zux%zux%zux%zu needs more than 64 GiB", ycfg_path(cfg),
                         s->line, s->col, d.n, d.c, d.h, d.w);
            return -1;
        }
        int dup = 0;
        for (size_t j = 0; j < p->nshapes; j++)
            dup |= !memcmp(&p->shapes[j], &d, sizeof d);
        if (!dup)
            p->shapes[p->nshapes++] = d;
    }
    return resolve_variants(cfg, p, skipped, skiplen);
}

static void free_points(bench_point *points, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(points[i].shapes);
        free(points[i].variants);
    }
    free(points);
}

/* ========================================================= buffer sets */

static void free_set(buffer_set *s)
{
    free(s->slab);
    free(s->ptr);
    memset(s, 0, sizeof *s);
}

/* nbufs buffers of n floats; page-aligned strides for big buffers (so the
 * thread shares are 64-byte aligned), cache-line strides for small ones. */
static int alloc_set(buffer_set *s, size_t nbufs, size_t n)
{
    size_t bytes = n * sizeof(float);
    size_t align = bytes >= 4096 ? 4096 : 64;
    size_t stride = (bytes + align - 1) / align * align;
    memset(s, 0, sizeof *s);
    void *slab = NULL;
    if (posix_memalign(&slab, 4096, stride * nbufs) != 0)
        return -1;
    s->slab = slab;
    s->ptr = calloc(nbufs, sizeof *s->ptr);
    if (!s->ptr) {
        free_set(s);
        return -1;
    }
    for (size_t k = 0; k < nbufs; k++)
        s->ptr[k] = (float *)((char *)slab + k * stride);
    s->nbufs = nbufs;
    s->n = n;
    return 0;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1], never zero (an odd integer times 2^-31), no denormals. */
static float nonzero_uniform(uint64_t *state)
{
    int32_t r = (int32_t)(splitmix64(state) >> 32) | 1;
    return (float)r * 0x1p-31f;
}

static int fill_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

/* Random data, or zeros (outputs: touching them now keeps page faults out
 * of the timing). Parallel over buffers; each buffer has its own seed. */
static void fill_set(buffer_set *s, uint64_t seed, int random)
{
    long nbufs = (long)s->nbufs;
    int nt = fill_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
#endif
    for (long k = 0; k < nbufs; k++) {
        float *p = s->ptr[k];
        if (!random) {
            memset(p, 0, s->n * sizeof *p);
            continue;
        }
        uint64_t state = seed * 0x100000001b3ull + (uint64_t)k;
        for (size_t i = 0; i < s->n; i++)
            p[i] = nonzero_uniform(&state);
    }
}

static void free_refs(shape_refs *r)
{
    for (int a = 0; a < 2; a++) {
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                free(r->out[a][b][c]);
        free(r->meanabs[a]);
        free(r->mean[a]);
        free(r->max[a]);
    }
    memset(r, 0, sizeof *r);
}

static void free_shape(shape_data *sd)
{
    free_set(&sd->x);
    free_set(&sd->y);
    free_set(&sd->dy);
    free_set(&sd->dx);
    free_refs(&sd->refs);
}

/* Allocate and fill the buffer sets a shape's rows need. */
static int prepare_shape(shape_data *sd)
{
    size_t elems = shape_elems(&sd->dims), outs = sd->dims.n * sd->dims.c;
    size_t xbytes = elems * sizeof(float);
    sd->nbufs = 1;
    if (sd->need_cold) {
        sd->nbufs = sd->cold_bytes / xbytes + 1;
        if (sd->nbufs < 2)
            sd->nbufs = 2;
    }
    sd->cursor = 0;
    size_t nb = sd->nbufs;
    int failed = alloc_set(&sd->x, nb, elems) != 0;
    if (!failed && sd->need_fwd)
        failed = alloc_set(&sd->y, nb, outs) != 0;
    if (!failed && sd->need_bwd)
        failed = alloc_set(&sd->dy, nb, outs) != 0 || alloc_set(&sd->dx, nb, elems) != 0;
    if (failed) {
        char sz[32], lbl[64];
        shape_label(lbl, sizeof lbl, &sd->dims);
        report_error("cannot allocate %s of buffers for shape %s (%zu rotating buffers)",
                     gpx_format_bytes(sz, sizeof sz, (double)xbytes * (double)nb *
                                                         (sd->need_bwd ? 2.0 : 1.0)),
                     lbl, nb);
        free_shape(sd);
        return -1;
    }
    uint64_t seed = 0x5eed0000ull ^ (uint64_t)(sd->dims.n * 1000003 + sd->dims.c * 1009 +
                                               sd->dims.h * 31 + sd->dims.w);
    fill_set(&sd->x, seed, 1);
    if (sd->need_fwd)
        fill_set(&sd->y, 0, 0);
    if (sd->need_bwd) {
        fill_set(&sd->dy, seed + 7, 1);
        fill_set(&sd->dx, 0, 0);
    }
    return 0;
}

/* ============================================================ checking */

/* Per-plane double mean, mean |x| and max of x buffer 0 in one layout. */
static void plane_stats(shape_data *sd, gp_layout layout)
{
    shape_refs *r = &sd->refs;
    if (r->meanabs[layout])
        return;
    size_t n = sd->dims.n, c = sd->dims.c, hw = sd->dims.h * sd->dims.w, outs = n * c;
    double *mean = xcalloc(outs, sizeof *mean), *meanabs = xcalloc(outs, sizeof *meanabs);
    float *mx = xcalloc(outs, sizeof *mx);
    const float *x = sd->x.ptr[0];
    for (size_t b = 0; b < n; b++)
        for (size_t j = 0; j < c; j++) {
            double s = 0, sa = 0;
            float m = -INFINITY;
            for (size_t p = 0; p < hw; p++) {
                float v = layout == GP_LAYOUT_NCHW ? x[(b * c + j) * hw + p] : x[(b * hw + p) * c + j];
                s += v;
                sa += fabs(v);
                if (v > m)
                    m = v;
            }
            mean[b * c + j] = s / (double)hw;
            meanabs[b * c + j] = sa / (double)hw;
            mx[b * c + j] = m;
        }
    r->mean[layout] = mean;
    r->meanabs[layout] = meanabs;
    r->max[layout] = mx;
}

static void poison(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
}

static gp_status call_variant(const gp_pool_desc *d, gp_pass pass, const char *variant,
                              shape_data *sd, size_t k)
{
    if (pass == GP_PASS_FORWARD)
        return gp_global_pool_forward(d, variant, sd->x.ptr[k], sd->y.ptr[k]);
    return gp_global_pool_backward(d, variant, sd->x.ptr[k], sd->dy.ptr[k], sd->dx.ptr[k]);
}

/* Compare got with want; avg forward scales its tolerance with the plane's
 * mean |x| (both sides are within 1e-6 x mean|x| of the exact mean), avg
 * backward is relative, max is exact. Returns the number of mismatches and
 * describes the worst one. */
static size_t compare_outputs(const float *got, const float *want, size_t count,
                              gp_pool_op op, gp_pass pass, const double *meanabs, char *why,
                              size_t whylen)
{
    size_t bad = 0, worst_i = 0;
    double worst = -1, worst_tol = 0;
    for (size_t i = 0; i < count; i++) {
        double tol = 0;
        if (op == GP_POOL_AVG)
            tol = pass == GP_PASS_FORWARD ? 2e-6 * meanabs[i] + 1e-30
                                          : 2e-6 * fabs((double)want[i]) + 1e-30;
        double diff = fabs((double)got[i] - (double)want[i]);
        int ok = op == GP_POOL_MAX ? got[i] == want[i] : diff <= tol;
        if (ok)
            continue;
        bad++;
        double score = isnan(diff) ? INFINITY : diff;
        if (score > worst) {
            worst = score;
            worst_i = i;
            worst_tol = tol;
        }
    }
    if (bad)
        snprintf(why, whylen, "%zu of %zu outputs differ from scalar; worst at %zu: %.9g vs %.9g (tol %.2g)",
                 bad, count, worst_i, (double)got[worst_i], (double)want[worst_i], worst_tol);
    return bad;
}

/* The scalar variant's output for (op, layout, pass) on buffer 0, checked
 * once against the double-precision reference (forward) so that a broken
 * scalar kernel cannot make every other variant "agree". */
static const float *reference_output(shape_data *sd, const gp_pool_desc *d, gp_pass pass,
                                     char *why, size_t whylen)
{
    shape_refs *r = &sd->refs;
    float **slot = &r->out[d->op][d->layout][pass];
    if (r->bad[d->op][d->layout][pass]) {
        snprintf(why, whylen, "%s", r->bad_note[d->op][d->layout][pass]);
        return NULL;
    }
    if (*slot)
        return *slot;
    size_t count = pass == GP_PASS_FORWARD ? sd->y.n : sd->dx.n;
    float *out = pass == GP_PASS_FORWARD ? sd->y.ptr[0] : sd->dx.ptr[0];
    poison(out, count);
    gp_status st = call_variant(d, pass, "scalar", sd, 0);
    char *note_buf = r->bad_note[d->op][d->layout][pass];
    size_t note_len = sizeof r->bad_note[0][0][0];
    if (st != GP_OK) {
        snprintf(note_buf, note_len, "scalar reference failed: %s", gp_last_error());
        r->bad[d->op][d->layout][pass] = 1;
        snprintf(why, whylen, "%s", note_buf);
        return NULL;
    }
    if (pass == GP_PASS_FORWARD) {
        plane_stats(sd, d->layout);
        size_t bad = 0, at = 0;
        for (size_t i = 0; i < count; i++) {
            int ok = d->op == GP_POOL_MAX
                         ? out[i] == r->max[d->layout][i]
                         : fabs(out[i] - r->mean[d->layout][i]) <= 1e-6 * r->meanabs[d->layout][i] + 1e-30;
            if (!ok && bad++ == 0)
                at = i;
        }
        if (bad) {
            snprintf(note_buf, note_len,
                     "scalar variant disagrees with the double reference at %zu of %zu outputs (first %zu)",
                     bad, count, at);
            r->bad[d->op][d->layout][pass] = 1;
            snprintf(why, whylen, "%s", note_buf);
            return NULL;
        }
    }
    *slot = malloc(count * sizeof(float));
    if (!*slot) {
        snprintf(why, whylen, "out of memory for the reference output");
        return NULL;
    }
    memcpy(*slot, out, count * sizeof(float));
    return *slot;
}

/* 0 when variant's output on buffer 0 matches the scalar reference. */
static int check_row(shape_data *sd, const gp_pool_desc *d, gp_pass pass, const char *variant,
                     char *why, size_t whylen)
{
    const float *want = reference_output(sd, d, pass, why, whylen);
    if (!want)
        return -1;
    size_t count = pass == GP_PASS_FORWARD ? sd->y.n : sd->dx.n;
    float *out = pass == GP_PASS_FORWARD ? sd->y.ptr[0] : sd->dx.ptr[0];
    poison(out, count);
    gp_status st = call_variant(d, pass, variant, sd, 0);
    if (st != GP_OK) {
        snprintf(why, whylen, "%s", gp_last_error());
        return -1;
    }
    if (d->op == GP_POOL_AVG && pass == GP_PASS_FORWARD)
        plane_stats(sd, d->layout);
    return compare_outputs(out, want, count, d->op, pass, sd->refs.meanabs[d->layout], why,
                           whylen) ? -1 : 0;
}

/* ============================================================== timing */

typedef struct {
    gp_pool_desc d;
    gp_pass      pass;
    const char  *variant;  /* NULL: auto */
    shape_data  *sd;
    int          cold;
} row_call;

/* count back-to-back calls; cold calls rotate through the buffer sets. */
static gp_status run_calls(row_call *rc, size_t count)
{
    shape_data *sd = rc->sd;
    size_t nbufs = rc->cold ? sd->nbufs : 1, k = rc->cold ? sd->cursor : 0;
    for (size_t i = 0; i < count; i++) {
        gp_status st = call_variant(&rc->d, rc->pass, rc->variant, sd, k);
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
static int time_row(row_call *rc, const bench_point *p, row_timing *out, char *why,
                    size_t whylen)
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
        if (st != GP_OK || bench_interrupted)
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
    for (int w = 0; w < p->warmup && st == GP_OK && !bench_interrupted; w++)
        st = run_calls(rc, k);
    double *v = xcalloc((size_t)p->reps, sizeof *v);
    for (int s = 0; s < p->reps && st == GP_OK && !bench_interrupted; s++) {
        double t0 = gpx_now();
        st = run_calls(rc, k);
        v[s] = (gpx_now() - t0) / (double)k;
    }
    if (st != GP_OK) {
        snprintf(why, whylen, "%s", gp_last_error());
        free(v);
        return -1;
    }
    if (bench_interrupted) {
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

/* ===================================================== disturbance */

/* Seconds that this process's threads have spent runnable but waiting for a
 * CPU (the kernel's schedstat run delay, in ns, summed over threads); NAN
 * where the kernel does not keep it. On a 2-core machine another process
 * costs a 2-thread row a scheduler slice per call, which this sees exactly,
 * unlike the tick-sampled CPU times of /proc/stat. */
static double threads_wait_s(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return NAN;
    double total = 0;
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        unsigned long long run_ns, wait_ns;
        if (fscanf(fp, "%llu %llu", &run_ns, &wait_ns) == 2) {
            total += (double)wait_ns * 1e-9;
            seen = 1;
        }
        fclose(fp);
    }
    closedir(dir);
    return seen ? total : NAN;
}

/* ============================================================ one row */

static size_t row_bytes(const shape_dims *s, gp_pool_op op, gp_pass pass)
{
    size_t big = shape_elems(s) * sizeof(float), small = s->n * s->c * sizeof(float);
    if (pass == GP_PASS_FORWARD)
        return big + small;                  /* x read, y written */
    if (op == GP_POOL_AVG)
        return small + big;                  /* dy read, dx written */
    return big + small + big;                /* x and dy read, dx written */
}

/* Probe, then time the row: once, or again (up to p->attempts) while its
 * threads waited for a CPU more than p->max_cpu_wait of the time; the least
 * disturbed measurement is kept. Returns as time_row does. */
static int measure_row(shape_data *sd, const bench_point *p, row_call *rc, bench_row *row,
                       row_timing *best, char *why, size_t whylen)
{
    const buffer_set *set = !strcmp(row->probe_set, "dx") ? &sd->dx : &sd->x;
    row->cpu_wait = INFINITY;
    for (int a = 1; a <= p->attempts; a++) {
        double t0 = gpx_now(), w0 = threads_wait_s();
        gpx_probe_result pr;
        gpx_probe_read((const float *const *)set->ptr, p->cold ? set->nbufs : 1, set->n,
                       p->cold ? &sd->cursor : NULL, p->threads, p->probe_sample_s, &pr);
        row_timing t;
        int r = time_row(rc, p, &t, why, whylen);
        if (r != 0)
            return r;
        double wait = (threads_wait_s() - w0) / (gpx_now() - t0);
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

static void run_row(shape_data *sd, const bench_point *p, const char *variant, bench_row *row)
{
    row->point = p;
    row->shape = sd->dims;
    row->variant = variant;
    row->status = "ok";
    row->bytes = row_bytes(&sd->dims, p->op, p->pass);
    row->buffers = p->cold ? sd->nbufs : 1;
    row->median_s = row->min_s = row->gbps = row->probe_gbps = row->frac = NAN;
    row->cpu_wait = NAN;
    row->probe_set = p->pass == GP_PASS_BACKWARD && p->op == GP_POOL_AVG ? "dx" : "x";
    row->probe_kernel = "";
    row->isa = "";

    set_threads(p->threads);
    row_call rc = { .d = { .n = sd->dims.n, .c = sd->dims.c, .h = sd->dims.h, .w = sd->dims.w,
                           .layout = p->layout, .op = p->op },
                    .pass = p->pass, .sd = sd, .cold = p->cold,
                    .variant = strcmp(variant, "auto") ? variant : NULL };

    /* Which variant runs (for auto: the dispatcher's choice right now). */
    gp_variant_info info;
    int known = rc.variant ? find_variant(variant, p->op, p->layout, &info)
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

    if (p->check && check_row(sd, &rc.d, p->pass, variant, row->note, sizeof row->note) != 0) {
        row->status = "mismatch";
        return;
    }

    row_timing t = { 0 };
    char why[256] = "";
    int r = measure_row(sd, p, &rc, row, &t, why, sizeof why);
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

/* ========================================================== the run */

typedef struct {
    shape_dims *shapes;
    size_t      nshapes;
} shape_list;

static size_t add_shape(shape_list *l, const shape_dims *d)
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

static int point_has_shape(const bench_point *p, const shape_dims *d)
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

/* Runs every row, shape by shape (each shape's buffers are allocated and
 * filled once). Returns 0, -1 on a fatal error, 1 when interrupted. */
static int run_all(bench_point *points, size_t npoints, row_list *rows, size_t *planned)
{
    shape_list shapes = { 0 };
    *planned = 0;
    for (size_t i = 0; i < npoints; i++)
        for (size_t s = 0; s < points[i].nshapes; s++) {
            add_shape(&shapes, &points[i].shapes[s]);
            *planned += points[i].nvariants;
        }

    double t_start = gpx_now();
    size_t done = 0;
    int rc = 0;
    for (size_t s = 0; s < shapes.nshapes && rc == 0; s++) {
        shape_data sd;
        memset(&sd, 0, sizeof sd);
        sd.dims = shapes.shapes[s];
        for (size_t i = 0; i < npoints; i++) {
            if (!point_has_shape(&points[i], &sd.dims))
                continue;
            sd.need_cold |= points[i].cold;
            sd.need_fwd |= points[i].pass == GP_PASS_FORWARD;
            sd.need_bwd |= points[i].pass == GP_PASS_BACKWARD;
            if (points[i].cold && points[i].cold_bytes > sd.cold_bytes)
                sd.cold_bytes = points[i].cold_bytes;
        }
        char lbl[64];
        shape_label(lbl, sizeof lbl, &sd.dims);
        gpx_progress("[%zu/%zu] %s: filling buffers...", done, *planned, lbl);
        if (prepare_shape(&sd) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < npoints && rc == 0; i++) {
            const bench_point *p = &points[i];
            if (!point_has_shape(p, &sd.dims))
                continue;
            for (size_t v = 0; v < p->nvariants; v++) {
                if (bench_interrupted) {
                    rc = 1;
                    break;
                }
                double elapsed = gpx_now() - t_start;
                char eta[32];
                format_duration(eta, sizeof eta,
                                done ? elapsed / (double)done * (double)(*planned - done) : -1);
                gpx_progress("[%zu/%zu] %s %s %s %s %dT %s %-11s ETA %s", done + 1, *planned, lbl,
                             gp_pool_op_name(p->op), gp_pass_name(p->pass),
                             gp_layout_name(p->layout), p->threads, p->cold ? "cold" : "hot",
                             p->variants[v], eta);
                bench_row *row = new_row(rows);
                run_row(&sd, p, p->variants[v], row);
                if (!strcmp(row->status, "interrupted")) {
                    rows->count--;
                    rc = 1;
                    break;
                }
                if (strcmp(row->status, "ok"))
                    report_error("%s %s %s %s, %d thread(s), %s, variant %s: %s: %s", lbl,
                                 gp_pool_op_name(p->op), gp_pass_name(p->pass),
                                 gp_layout_name(p->layout), p->threads,
                                 p->cold ? "cold" : "hot", row->variant, row->status, row->note);
                done++;
            }
        }
        free_shape(&sd);
    }
    gpx_progress_clear();
    free(shapes.shapes);
    return rc;
}

/* ============================================================== output */

static void write_row(FILE *fp, const bench_row *r)
{
    const bench_point *p = r->point;
    const size_t dims[] = { r->shape.n, r->shape.c, r->shape.h, r->shape.w };
    const double timing[] = { r->median_s, r->min_s, r->gbps, r->probe_gbps, r->frac };
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_bench_file, NULL);
    gpx_row_text(&w, p->id);
    gpx_row_text(&w, r->variant);
    gpx_row_text(&w, r->impl);
    gpx_row_text(&w, r->isa);
    gpx_row_int(&w, r->threaded);
    gpx_row_text(&w, gp_pool_op_name(p->op));
    gpx_row_text(&w, gp_pass_name(p->pass));
    gpx_row_text(&w, gp_layout_name(p->layout));
    for (size_t k = 0; k < 4; k++)
        gpx_row_int(&w, (long long)dims[k]);
    gpx_row_int(&w, p->threads);
    gpx_row_text(&w, p->cold ? "cold" : "hot");
    gpx_row_int(&w, (long long)r->buffers);
    gpx_row_int(&w, (long long)r->bytes);
    if (r->reps) {
        gpx_row_int(&w, r->reps);
        gpx_row_int(&w, (long long)r->calls);
    } else {
        gpx_row_empty(&w);
        gpx_row_empty(&w);
    }
    for (size_t k = 0; k < sizeof timing / sizeof timing[0]; k++)
        gpx_row_real(&w, timing[k]);
    gpx_row_text(&w, r->probe_set);
    gpx_row_text(&w, r->probe_kernel);
    gpx_row_real(&w, r->cpu_wait);
    if (r->attempts)
        gpx_row_int(&w, r->attempts);
    else
        gpx_row_empty(&w);
    gpx_row_text(&w, r->status);
    gpx_row_text(&w, r->note);
    gpx_row_end(&w);
}

static void write_csv(FILE *fp, const row_list *rows)
{
    gpx_record_header(fp, &gpx_bench_file, NULL);
    for (size_t i = 0; i < rows->count; i++)
        write_row(fp, &rows->rows[i]);
}

typedef struct {
    int         argc;
    char      **argv;
    const char *config_path;
    const char *out_dir;
    char        started[64];
    double      wall_s;
    size_t      planned;
    const char *skipped;
    const char *chart_status;
} run_info;

/* The distinct thread counts and the points, one line each. */
static void write_points(FILE *fp, const bench_point *points, size_t npoints)
{
    fputs("threads: [", fp);
    int printed[64], nprinted = 0;
    for (size_t i = 0; i < npoints; i++) {
        int seen = 0;
        for (int k = 0; k < nprinted; k++)
            seen |= printed[k] == points[i].threads;
        if (!seen && nprinted < 64) {
            fprintf(fp, "%s%d", nprinted ? ", " : "", points[i].threads);
            printed[nprinted++] = points[i].threads;
        }
    }
    fputs("]\npoints:\n", fp);
    for (size_t i = 0; i < npoints; i++) {
        const bench_point *p = &points[i];
        fprintf(fp, "  - {id: \"%s\", op: %s, pass: %s, layout: %s, threads: %d, mode: %s, "
                    "shapes: %zu, variants: %zu}\n",
                p->id, gp_pool_op_name(p->op), gp_pass_name(p->pass), gp_layout_name(p->layout),
                p->threads, p->cold ? "cold" : "hot", p->nshapes, p->nvariants);
    }
}

/* How the rows ended, and what their columns mean. */
static void write_method(FILE *fp, const run_info *ri, const row_list *rows)
{
    size_t ok = 0, mismatch = 0, error = 0;
    for (size_t i = 0; i < rows->count; i++) {
        const char *st = rows->rows[i].status;
        ok += !strcmp(st, "ok");
        mismatch += !strcmp(st, "mismatch");
        error += !strcmp(st, "error");
    }
    fprintf(fp, "rows: {planned: %zu, written: %zu, ok: %zu, mismatch: %zu, error: %zu}\n",
            ri->planned, rows->count, ok, mismatch, error);
    fputs("timing: \"a sample is k back-to-back calls lasting >= min_sample_ms after calibration "
          "and warm-up; median_s and min_s are per call over the samples; cold calls rotate "
          "through the buffers call by call\"\n", fp);
    fputs("gbps: \"bytes read + written per call / median_s / 1e9 (fwd: x + y; bwd avg: dy + dx; "
          "bwd max: x + dy + dx)\"\n", fp);
    fprintf(fp, "probe: \"just before each row, the read bandwidth of the row's own buffers "
                "(probe_set: x, or dx for avg backward) with the row's thread count: %d samples "
                "of at least probe_sample_ms each, median, best of the SIMD loops "
                "(probe_kernel); cold probes continue the row's rotation\"\n",
            GPX_PROBE_SAMPLES);
    fprintf(fp, "cold_rotation: \"buffer sets of more than cold_mib MiB (default 3 x L3 = %zu "
                "bytes) per shape, filled once\"\n",
            default_cold_bytes());
}

static void write_manifest(FILE *fp, const run_info *ri, const ycfg *cfg,
                           const bench_point *points, size_t npoints, const row_list *rows)
{
    gpx_manifest m = { "gpool bench manifest: how and where bench.csv was measured",
                       ri->argc, ri->argv, cfg, NULL, NULL, ri->started, NULL };
    gpx_manifest_write(fp, &m);
    fprintf(fp, "wall_seconds: %.1f\n", ri->wall_s);
    write_points(fp, points, npoints);
    gpx_manifest_string(fp, "skipped_variants", ri->skipped);
    write_method(fp, ri, rows);
    gpx_manifest_string(fp, "chart", ri->chart_status);
    fputs("files: [bench.csv, config.yaml, manifest.yaml", fp);
    if (!strcmp(ri->chart_status, "written"))
        fputs(", bench-chart.dat, bench.gp, bench.png, bench.svg", fp);
    fputs("]\n", fp);
}

/* =============================================================== chart */

typedef struct {
    int threads, cold;
} panel_key;

/* What the chart shows: one op/pass/layout, a panel per (mode, threads)
 * (modes the rows, thread counts ascending the columns of the multiplot),
 * a series per variant. */
typedef struct {
    const row_list *rows;
    gp_pool_op      op;
    gp_pass         pass;
    gp_layout       layout;
    panel_key       panels[2 * 16];
    int             npanels, nmodes, nthreads, nseries;
    const char     *series[GPX_MAX_VARIANT_NAMES];
} chart_plan;

static int in_chart(const chart_plan *c, const bench_row *r)
{
    return r->point->op == c->op && r->point->pass == c->pass && r->point->layout == c->layout &&
           !strcmp(r->status, "ok");
}

static int in_panel(const chart_plan *c, const panel_key *pk, const bench_row *r)
{
    return in_chart(c, r) && r->point->threads == pk->threads && r->point->cold == pk->cold;
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void add_unique_int(int *list, int *n, int cap, int v)
{
    for (int k = 0; k < *n; k++)
        if (list[k] == v)
            return;
    if (*n < cap)
        list[(*n)++] = v;
}

/* The series and panels of the rows the chart shows; 0 when there are none. */
static int plan_chart(chart_plan *c)
{
    int threads[16], modes_seen[2] = { 0, 0 };
    c->nthreads = c->nseries = c->npanels = 0;
    for (size_t i = 0; i < c->rows->count; i++) {
        const bench_row *r = &c->rows->rows[i];
        if (!in_chart(c, r))
            continue;
        modes_seen[r->point->cold] = 1;
        add_unique_int(threads, &c->nthreads, 16, r->point->threads);
        int seen = 0;
        for (int k = 0; k < c->nseries; k++)
            seen |= !strcmp(c->series[k], r->variant);
        if (!seen && c->nseries < GPX_MAX_VARIANT_NAMES)
            c->series[c->nseries++] = r->variant;
    }
    qsort(threads, (size_t)c->nthreads, sizeof *threads, compare_ints);
    c->nmodes = modes_seen[0] + modes_seen[1];
    for (int m = 0; m < 2; m++)
        for (int t = 0; modes_seen[m] && t < c->nthreads; t++)
            c->panels[c->npanels++] = (panel_key){ threads[t], m };
    return c->nseries;
}

/* A shape's line in a panel, from the panel's rows from i on with its
 * shape: the median probe and each variant's GB/s (NaN without a row). */
static void write_shape_line(FILE *fp, const chart_plan *c, const panel_key *pk, size_t i)
{
    const bench_row *r = &c->rows->rows[i];
    double probes[GPX_MAX_VARIANT_NAMES], gbps[GPX_MAX_VARIANT_NAMES];
    int nprobes = 0;
    for (int s = 0; s < c->nseries; s++)
        gbps[s] = NAN;
    for (size_t j = i; j < c->rows->count; j++) {
        const bench_row *q = &c->rows->rows[j];
        if (!in_panel(c, pk, q) || memcmp(&q->shape, &r->shape, sizeof r->shape))
            continue;
        for (int s = 0; s < c->nseries; s++)
            if (!strcmp(c->series[s], q->variant) && isnan(gbps[s]))
                gbps[s] = q->gbps;
        if (nprobes < GPX_MAX_VARIANT_NAMES)
            probes[nprobes++] = q->probe_gbps;
    }
    char lbl[64];
    shape_label(lbl, sizeof lbl, &r->shape);
    fprintf(fp, "%s %.3f", lbl, gpx_median(probes, (size_t)nprobes));
    for (int s = 0; s < c->nseries; s++)
        if (isnan(gbps[s]))
            fputs(" NaN", fp);
        else
            fprintf(fp, " %.3f", gbps[s]);
    fputc('\n', fp);
}

/* bench-chart.dat: one block per panel; lines are shapes (in order of
 * appearance), columns the probe and each variant. */
static void write_chart_data(FILE *fp, const void *ctx)
{
    const chart_plan *c = ctx;
    fprintf(fp, "# gpool bench chart data: %s %s %s; GB/s (bytes read + written / median time)\n",
            gp_pool_op_name(c->op), gp_pass_name(c->pass), gp_layout_name(c->layout));
    for (int pi = 0; pi < c->npanels; pi++) {
        const panel_key *pk = &c->panels[pi];
        fprintf(fp, "%s# panel %d: %s, %d thread(s)\nshape probe", pi ? "\n\n" : "", pi,
                pk->cold ? "cold" : "hot", pk->threads);
        for (int s = 0; s < c->nseries; s++)
            fprintf(fp, " %s", c->series[s]);
        fputc('\n', fp);
        shape_dims seen_shapes[256];
        int nshapes = 0;
        for (size_t i = 0; i < c->rows->count; i++) {
            const bench_row *r = &c->rows->rows[i];
            int seen = 0;
            for (int k = 0; k < nshapes; k++)
                seen |= !memcmp(&seen_shapes[k], &r->shape, sizeof r->shape);
            if (!in_panel(c, pk, r) || seen || nshapes >= 256)
                continue;
            seen_shapes[nshapes++] = r->shape;
            write_shape_line(fp, c, pk, i);
        }
    }
}

/* The template's settings (bench.gp): title, layout and panel labels. */
static void chart_settings(const chart_plan *c, const ycfg *cfg, char *buf, size_t len)
{
    char modes[256] = "", threads[256] = "", title[1024], qtitle[2100];
    for (int i = 0; i < c->npanels; i++) {
        snprintf(modes + strlen(modes), sizeof modes - strlen(modes), "%s%s", i ? " " : "",
                 c->panels[i].cold ? "cold" : "hot");
        snprintf(threads + strlen(threads), sizeof threads - strlen(threads), "%s%d",
                 i ? " " : "", c->panels[i].threads);
    }
    snprintf(title, sizeof title, "gpool bench: %s %s %s (%s)", gp_pool_op_name(c->op),
             gp_pass_name(c->pass), gp_layout_name(c->layout), ycfg_name(cfg));
    gpx_gnuplot_quote(qtitle, sizeof qtitle, title);
    snprintf(buf, len,
             "maintitle = %s\nnpanels = %d; nrows = %d; ncols = %d; nseries = %d\n"
             "panel_modes = '%s'; panel_threads = '%s'",
             qtitle, c->npanels, c->nmodes, c->nthreads, c->nseries, modes, threads);
}

/* The op/pass/layout the config's chart: section asks for; without ok rows
 * of it, what the first ok row ran. 0, or -1 when no row is ok. */
static int choose_panel(chart_plan *c, const ycfg *cfg, const row_list *rows)
{
    const ycfg_point *pt0 = ycfg_point_at(cfg, 0);
    const bench_row *first_ok = NULL;
    int has = 0;
    c->rows = rows;
    c->op = (gp_pool_op)enum_index(ycfg_str(pt0, "chart.op"), gpx_op_choices);
    c->pass = (gp_pass)enum_index(ycfg_str(pt0, "chart.pass"), gpx_pass_choices);
    c->layout = (gp_layout)enum_index(ycfg_str(pt0, "chart.layout"), gpx_layout_choices);
    for (size_t i = 0; i < rows->count; i++) {
        const bench_row *r = &rows->rows[i];
        if (strcmp(r->status, "ok"))
            continue;
        first_ok = first_ok ? first_ok : r;
        has |= in_chart(c, r);
    }
    if (!first_ok)
        return -1;
    if (!has) {
        c->op = first_ok->point->op;
        c->pass = first_ok->point->pass;
        c->layout = first_ok->point->layout;
    }
    return 0;
}

/* bench-chart.dat, bench.gp, bench.png and bench.svg (records/chart.h);
 * sets *status for the manifest. 0 written or skipped, -1 on failure. */
static int write_chart(const char *dir, const ycfg *cfg, const row_list *rows,
                       const char **status)
{
    static char skipped[600];
    static chart_plan plan;
    char settings[4096], err[8400];
    if (choose_panel(&plan, cfg, rows) || !plan_chart(&plan)) {
        *status = "skipped: no successful rows";
        return 0;
    }
    chart_settings(&plan, cfg, settings, sizeof settings);
    gpx_chart chart = { dir, "bench", "bench-chart.dat", write_chart_data, NULL, "bench.gp",
                        settings, &plan };
    int r = gpx_chart_publish(&chart, err, sizeof err);
    if (r == 1) {
        snprintf(skipped, sizeof skipped, "skipped: %.580s", err);
        *status = skipped;
        note("%s: chart skipped", err);
    } else if (r < 0) {
        report_error("%s", err);
        *status = "failed";
    } else {
        *status = "written";
    }
    return r < 0 ? -1 : 0;
}

/* ======================================================== write results */

static int write_file(const char *dir, const char *name, void (*body)(FILE *, const void *),
                      const void *ctx)
{
    char path[4096], err[512];
    gpx_join(path, sizeof path, dir, name);
    gpx_atomic_file f;
    if (gpx_atomic_open(&f, path, err, sizeof err) != 0) {
        report_error("%s", err);
        return -1;
    }
    body(f.fp, ctx);
    if (gpx_atomic_commit(&f, err, sizeof err) != 0) {
        report_error("%s", err);
        return -1;
    }
    return 0;
}

typedef struct {
    const run_info    *ri;
    const ycfg      *cfg;
    const bench_point *points;
    size_t             npoints;
    const row_list    *rows;
} output_ctx;

static void csv_body(FILE *fp, const void *ctx)
{
    write_csv(fp, ((const output_ctx *)ctx)->rows);
}

static void config_body(FILE *fp, const void *ctx)
{
    ycfg_write_resolved(((const output_ctx *)ctx)->cfg, fp);
}

static void manifest_body(FILE *fp, const void *ctx)
{
    const output_ctx *o = ctx;
    write_manifest(fp, o->ri, o->cfg, o->points, o->npoints, o->rows);
}

/* ============================================================== probe only */

static int probe_only(const char *sizes_text)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", sizes_text);
    int maxthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (maxthreads < 1)
        maxthreads = 1;
    size_t cold_total = default_cold_bytes();
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
            size_t nbufs = cold ? cold_total / (n * sizeof(float)) + 1 : 1;
            if (nbufs < 2 && cold)
                nbufs = 2;
            buffer_set set;
            if (alloc_set(&set, nbufs, n) != 0) {
                report_error("cannot allocate %zu buffers of %zu bytes", nbufs, bytes);
                return 1;
            }
            fill_set(&set, 1, 1);
            size_t cursor = 0;
            for (int t = 1; t <= maxthreads; t++) {
                const gpx_probe_kernel *kernels;
                size_t nk = gpx_probe_kernels(&kernels);
                gpx_probe_result best = { 0 };
                for (size_t k = 0; k < nk; k++) {
                    gpx_probe_result r;
                    gpx_probe_read_with(kernels[k].name, (const float *const *)set.ptr, nbufs, n,
                                        &cursor, t, 0, &r);
                    printf("%s,%zu,%d,%s,%.2f,%.2f,%zu\n", cold ? "cold" : "hot",
                           n * sizeof(float), r.threads, r.kernel, r.gbps, r.best_gbps, nbufs);
                    if (r.gbps > best.gbps)
                        best = r;
                }
                printf("%s,%zu,%d,best:%s,%.2f,%.2f,%zu\n", cold ? "cold" : "hot",
                       n * sizeof(float), best.threads, best.kernel, best.gbps, best.best_gbps,
                       nbufs);
                fflush(stdout);
            }
            free_set(&set);
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

typedef struct {
    struct sigaction old_int, old_term;
} signal_state;

static void catch_interrupts(signal_state *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
}

static void restore_signals(const signal_state *s)
{
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
}

static int write_outputs(const char *dir, run_info *ri, const ycfg *cfg,
                         const bench_point *points, size_t npoints, const row_list *rows,
                         int no_chart)
{
    output_ctx ctx = { ri, cfg, points, npoints, rows };
    if (write_file(dir, "bench.csv", csv_body, &ctx) != 0 ||
        write_file(dir, "config.yaml", config_body, &ctx) != 0)
        return -1;
    int rc = 0;
    ri->chart_status = "skipped: --no-chart";
    if (!no_chart && !bench_interrupted)
        rc = write_chart(dir, cfg, rows, &ri->chart_status);
    if (write_file(dir, "manifest.yaml", manifest_body, &ctx) != 0)
        rc = -1;
    return rc;
}

int gpx_cmd_bench(int argc, char **argv)
{
    bench_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        print_help(stdout);
        return 0;
    }
    if (o.list_variants)
        return list_variants(stdout);
    bench_quiet = o.quiet;
    if (o.probe_sizes)
        return probe_only(o.probe_sizes);

    run_info ri = { .argc = argc, .argv = argv };
    gpx_iso_time(ri.started, sizeof ri.started);
    ri.config_path = find_config(o.config);
    if (!gpx_readable(ri.config_path)) {
        report_error("cannot read config %s: %s", ri.config_path, strerror(errno));
        return 1;
    }
    char err[1024];
    ycfg *cfg = ycfg_load(ri.config_path, gpx_bench_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        fprintf(stderr, "gpool bench: invalid config %s (keys: gpool bench --help)\n",
                ri.config_path);
        return 1;
    }

    size_t npoints = ycfg_npoints(cfg);
    bench_point *points = xcalloc(npoints, sizeof *points);
    char skipped[1024] = "";
    for (size_t i = 0; i < npoints; i++)
        if (decode_point(cfg, i, &points[i], skipped, sizeof skipped) != 0) {
            free_points(points, npoints);
            ycfg_free(cfg);
            return 1;
        }
    ri.skipped = skipped;
    ri.out_dir = o.out ? o.out : ycfg_str(ycfg_point_at(cfg, 0), "output");
    if (check_output_dir(ri.out_dir) != 0) {
        free_points(points, npoints);
        ycfg_free(cfg);
        return 1;
    }

    gpx_progress_enable(!o.quiet);
    signal_state sigs;
    bench_interrupted = 0;
    catch_interrupts(&sigs);
    row_list rows = { 0 };
    double t0 = gpx_now();
    int run = run_all(points, npoints, &rows, &ri.planned);
    ri.wall_s = gpx_now() - t0;

    if (run == 1 || bench_interrupted) {
        report_error("interrupted after %zu of %zu rows; nothing written to %s", rows.count,
                     ri.planned, ri.out_dir);
        rc = 130;
    } else if (run < 0) {
        rc = 1;
    } else {
        rc = write_outputs(ri.out_dir, &ri, cfg, points, npoints, &rows, o.no_chart) ? 1 : 0;
        if (bench_interrupted) {
            report_error("interrupted while writing results to %s", ri.out_dir);
            rc = 130;
        }
        size_t failed = 0;
        for (size_t i = 0; i < rows.count; i++)
            failed += strcmp(rows.rows[i].status, "ok") != 0;
        if (failed) {
            report_error("%zu of %zu rows failed their check or errored (status column of %s/bench.csv)",
                         failed, rows.count, ri.out_dir);
            if (rc == 0)
                rc = 1;
        }
        if (rc == 0)
            note("%zu rows in %.0f s -> %s/bench.csv", rows.count, ri.wall_s, ri.out_dir);
    }
    restore_signals(&sigs);
    gpx_remove_temps();
    free(rows.rows);
    free_points(points, npoints);
    ycfg_free(cfg);
    return rc;
}
