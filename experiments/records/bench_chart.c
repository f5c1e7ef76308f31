/*
 * bench_chart.c - the chart of `gpool bench` (see bench_rows.h): what it
 * shows, its data file and the settings the template bench.gp starts from.
 */
#include "autoconfig.h"

#include "records/bench_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/schema.h"
#include "records/chart.h"
#include "util/util.h"

typedef struct {
    int threads, cold;
} panel_key;

/* What the chart shows: one op/pass/layout, a panel per (mode, threads)
 * (modes the rows, thread counts ascending the columns of the multiplot),
 * a series per variant. */
typedef struct {
    const gpx_bench_rows *rows;
    gp_pool_op            op;
    gp_pass               pass;
    gp_layout             layout;
    panel_key             panels[2 * 16];
    int                   npanels, nmodes, nthreads, nseries;
    const char           *series[GPX_MAX_VARIANT_NAMES];
} chart_plan;

static int in_chart(const chart_plan *c, const gpx_bench_row *r)
{
    return r->point->op == c->op && r->point->pass == c->pass && r->point->layout == c->layout &&
           !strcmp(r->status, "ok");
}

static int in_panel(const chart_plan *c, const panel_key *pk, const gpx_bench_row *r)
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
        const gpx_bench_row *r = &c->rows->rows[i];
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
    const gpx_bench_row *r = &c->rows->rows[i];
    double probes[GPX_MAX_VARIANT_NAMES], gbps[GPX_MAX_VARIANT_NAMES];
    int nprobes = 0;
    for (int s = 0; s < c->nseries; s++)
        gbps[s] = NAN;
    for (size_t j = i; j < c->rows->count; j++) {
        const gpx_bench_row *q = &c->rows->rows[j];
        if (!in_panel(c, pk, q) || memcmp(&q->shape, &r->shape, sizeof r->shape))
            continue;
        for (int s = 0; s < c->nseries; s++)
            if (!strcmp(c->series[s], q->variant) && isnan(gbps[s]))
                gbps[s] = q->gbps;
        if (nprobes < GPX_MAX_VARIANT_NAMES)
            probes[nprobes++] = q->probe_gbps;
    }
    char lbl[64];
    gpx_bench_shape_label(lbl, sizeof lbl, &r->shape);
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
        gpx_bench_shape seen_shapes[256];
        int nshapes = 0;
        for (size_t i = 0; i < c->rows->count; i++) {
            const gpx_bench_row *r = &c->rows->rows[i];
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
static void chart_settings(const chart_plan *c, const char *experiment, char *buf, size_t len)
{
    char modes[256] = "", threads[256] = "", title[1024], qtitle[2100];
    for (int i = 0; i < c->npanels; i++) {
        snprintf(modes + strlen(modes), sizeof modes - strlen(modes), "%s%s", i ? " " : "",
                 c->panels[i].cold ? "cold" : "hot");
        snprintf(threads + strlen(threads), sizeof threads - strlen(threads), "%s%d",
                 i ? " " : "", c->panels[i].threads);
    }
    snprintf(title, sizeof title, "gpool bench: %s %s %s (%s)", gp_pool_op_name(c->op),
             gp_pass_name(c->pass), gp_layout_name(c->layout), experiment);
    gpx_gnuplot_quote(qtitle, sizeof qtitle, title);
    snprintf(buf, len,
             "maintitle = %s\nnpanels = %d; nrows = %d; ncols = %d; nseries = %d\n"
             "panel_modes = '%s'; panel_threads = '%s'",
             qtitle, c->npanels, c->nmodes, c->nthreads, c->nseries, modes, threads);
}

/* The op/pass/layout spec asks for; without ok rows of it, what the
 * first ok row ran. 0, or -1 when no row is ok. */
static int choose_panel(chart_plan *c, const gpx_bench_chart_spec *spec,
                        const gpx_bench_rows *rows)
{
    const gpx_bench_row *first_ok = NULL;
    int has = 0;
    c->rows = rows;
    c->op = spec->op;
    c->pass = spec->pass;
    c->layout = spec->layout;
    for (size_t i = 0; i < rows->count; i++) {
        const gpx_bench_row *r = &rows->rows[i];
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

int gpx_bench_write_chart(const char *dir, const char *experiment,
                          const gpx_bench_chart_spec *spec, const gpx_bench_rows *rows,
                          const char **status, char *err, size_t errlen)
{
    static char skipped[600];
    static chart_plan plan;
    char settings[4096];
    err[0] = '\0';
    if (choose_panel(&plan, spec, rows) || !plan_chart(&plan)) {
        *status = "skipped: no successful rows";
        return 1;
    }
    chart_settings(&plan, experiment, settings, sizeof settings);
    gpx_chart chart = { dir, "bench", "bench-chart.dat", write_chart_data, NULL, "bench.gp",
                        settings, &plan };
    int r = gpx_chart_publish(&chart, err, errlen);
    if (r == 1) {
        snprintf(skipped, sizeof skipped, "skipped: %.580s", err);
        *status = skipped;
    } else {
        *status = r < 0 ? "failed" : "written";
    }
    return r;
}
