/*
 * table_charts.c - the charts of a table's rows (accuracy per epoch,
 * accuracy against parameters, throughput), what their scripts share, and
 * which charts are drawn (see table_charts.h).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "records/table_charts.h"

int gpx_table_chart(const gpx_chart_run *run, const char *name, const void *ctx,
                    gpx_chart_writer data, gpx_chart_writer script)
{
    gpx_chart chart = { run->dir, name, NULL, data, script, NULL, NULL, ctx };
    int r = gpx_chart_publish(&chart, run->err, run->errlen);
    if (r > 0)
        fprintf(run->log, "%s: %s: charts skipped\n", run->prog, run->err);
    return r;
}

void gpx_chart_preamble(FILE *fp, const gpx_table *t, const char *what)
{
    char title[1200], quoted[1300];
    snprintf(title, sizeof title, "%s: %s", t->name, what);
    gpx_gnuplot_quote(quoted, sizeof quoted, title);
    fprintf(fp,
            "# written by gpool table; redraw with\n"
            "#   gnuplot -e \"datafile='X.dat'; outbase='X'\" X.gp\n"
            "set encoding utf8\n"
            "set title %s\n"
            "set key outside right top\n"
            "set grid\n",
            quoted);
}

void gpx_chart_outputs(FILE *fp, gpx_chart_writer plot, const void *ctx)
{
    fputs("do for [fmt in 'png svg'] {\n"
          "  if (fmt eq 'png') { set terminal pngcairo size 1100,650 noenhanced } "
          "else { set terminal svg size 1100,650 dynamic noenhanced }\n"
          "  set output outbase.'.'.fmt\n"
          "  ", fp);
    plot(fp, ctx);
    fputs("\n"
          "  unset output\n"
          "}\n", fp);
}

/* Row g's legend entry ("gap", or "head=gap, batch=32"), unquoted or as a
 * gnuplot string. */
static void group_label(const gpx_table *t, size_t g, char *buf, size_t len)
{
    gpx_table_label(t, t->set.group, t->key_col, t->set.ngroup, t->groups[g].first, buf, len);
}

static void quoted_label(const gpx_table *t, size_t g, char *buf, size_t len)
{
    char label[512];
    group_label(t, g, label, sizeof label);
    gpx_gnuplot_quote(buf, len, label);
}

/* ---- test accuracy per epoch: mean line and +-sd band per group */

typedef struct {
    int     epochs;          /* largest epoch seen */
    double *sum, *sumsq;     /* per epoch, 1-based */
    size_t *count;
} epoch_curve;

typedef struct {
    const gpx_table *table;
    epoch_curve     *curve;  /* per group */
} curves;

static int find_ok_group(const gpx_table *t, const char *run_id)
{
    for (size_t g = 0; g < t->ngroups; g++)
        for (size_t i = 0; i < t->groups[g].nok; i++)
            if (!strcmp(t->runs.rows[t->groups[g].ok[i]].field[t->rc[GPX_RUNS_RUN_ID]], run_id))
                return (int)g;
    return -1;
}

/* Room for epochs up to e, the new ones empty: 0, or -1 out of memory. */
static int grow_curve(epoch_curve *k, int e)
{
    double *s = realloc(k->sum, (size_t)(e + 1) * sizeof *s);
    if (s)
        k->sum = s;
    double *q = realloc(k->sumsq, (size_t)(e + 1) * sizeof *q);
    if (q)
        k->sumsq = q;
    size_t *n = realloc(k->count, (size_t)(e + 1) * sizeof *n);
    if (n)
        k->count = n;
    if (!s || !q || !n)
        return -1;
    for (int x = k->epochs + 1; x <= e; x++) {
        k->sum[x] = k->sumsq[x] = 0;
        k->count[x] = 0;
    }
    k->epochs = e;
    return 0;
}

/* Per-group, per-epoch test accuracy of the ok runs, from epochs.csv. */
static int collect_curves(curves *c, char *err, size_t errlen)
{
    enum { MAX_EPOCHS = 100000 };
    const gpx_table *t = c->table;
    c->curve = calloc(t->ngroups ? t->ngroups : 1, sizeof *c->curve);
    if (!c->curve)
        goto oom;
    for (size_t r = 0; r < t->epochs.nrows; r++) {
        int g = find_ok_group(t, t->epochs.rows[r].field[t->ec[GPX_EPOCHS_RUN_ID]]);
        double epoch, acc;
        if (g < 0)
            continue;
        if (gpx_csv_number(&t->epochs, r, t->ec[GPX_EPOCHS_EPOCH], &epoch, err, errlen) ||
            gpx_csv_number(&t->epochs, r, t->ec[GPX_EPOCHS_TEST_ACC], &acc, err, errlen))
            return -1;
        if (!(epoch >= 1 && epoch <= MAX_EPOCHS) || !isfinite(acc))
            continue;
        epoch_curve *k = &c->curve[g];
        int e = (int)epoch;
        if (e > k->epochs && grow_curve(k, e))
            goto oom;
        k->sum[e] += 100 * acc;
        k->sumsq[e] += 1e4 * acc * acc;
        k->count[e]++;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void free_curves(curves *c)
{
    for (size_t g = 0; c->curve && g < c->table->ngroups; g++) {
        free(c->curve[g].sum);
        free(c->curve[g].sumsq);
        free(c->curve[g].count);
    }
    free(c->curve);
}

/* One block per group with data: epoch, mean, sd (0 for one run), n. */
static void write_curve_data(FILE *fp, const void *ctx)
{
    const curves *c = ctx;
    char label[512];
    for (size_t g = 0; g < c->table->ngroups; g++) {
        const epoch_curve *k = &c->curve[g];
        if (!k->epochs)
            continue;
        group_label(c->table, g, label, sizeof label);
        fprintf(fp, "# %s: epoch, mean and sd of test accuracy (%%), runs\n", label);
        for (int e = 1; e <= k->epochs; e++) {
            size_t n = k->count[e];
            if (!n)
                continue;
            double mean = k->sum[e] / (double)n;
            double var = n > 1 ? (k->sumsq[e] - (double)n * mean * mean) / (double)(n - 1) : 0;
            fprintf(fp, "%d %.6f %.6f %zu\n", e, mean, var > 0 ? sqrt(var) : 0.0, n);
        }
        fputs("\n\n", fp);
    }
}

static void write_curve_plot(FILE *fp, const void *ctx)
{
    const curves *c = ctx;
    /* gnuplot cycles through 8 colours: past them, the line is dashed and
     * the point changes so that two heads never look alike */
    static const int point[] = { 7, 5, 9, 11 };
    char q[1100];
    int index = 0;
    fputs("plot", fp);
    for (size_t g = 0; g < c->table->ngroups; g++) {
        if (!c->curve[g].epochs)
            continue;
        quoted_label(c->table, g, q, sizeof q);
        fprintf(fp, "%s datafile index %d using 1:($2-$3):($2+$3) with filledcurves "
                    "lc %d notitle, datafile index %d using 1:2 with linespoints lc %d lw 2 "
                    "dt %d pt %d ps 0.6 title %s",
                index ? "," : "", index, index + 1, index, index + 1, index / 8 % 4 + 1,
                point[index / 8 % 4], q);
        index++;
    }
}

static void write_curve_script(FILE *fp, const void *ctx)
{
    const curves *c = ctx;
    int epochs = 0;
    gpx_chart_preamble(fp, c->table, "test accuracy per epoch (mean ± sd over seeds)");
    fputs("set xlabel 'epoch'\nset ylabel 'test accuracy (%)'\n"
          "set style fill transparent solid 0.18 noborder\n", fp);
    for (size_t g = 0; g < c->table->ngroups; g++)
        epochs = c->curve[g].epochs > epochs ? c->curve[g].epochs : epochs;
    if (epochs <= 20)
        fputs("set xtics 1\n", fp);   /* whole epochs; gnuplot would pick 0.5 steps */
    gpx_chart_outputs(fp, write_curve_plot, c);
}

/* accuracy-mean, or a note when there is no epochs.csv. */
static int draw_curves(const gpx_chart_run *run)
{
    const gpx_table *t = run->table;
    if (!t->have_epochs) {
        fprintf(run->log, "%s: %s/epochs.csv missing: accuracy-mean chart skipped\n",
                run->prog, run->dir);
        return 0;
    }
    curves c = { t, NULL };
    int r = collect_curves(&c, run->err, run->errlen);
    if (r == 0)
        r = gpx_table_chart(run, "accuracy-mean", &c, write_curve_data, write_curve_script);
    free_curves(&c);
    return r;
}

/* ---- accuracy against parameters: one point (+-sd) per group */

static int has_params_point(const gpx_run_group *g)
{
    return g->stat[GPX_TCOL_PARAMS].n && g->stat[GPX_TCOL_FINAL].n;
}

static void write_params_data(FILE *fp, const void *ctx)
{
    const gpx_table *t = ctx;
    char label[512];
    for (size_t g = 0; g < t->ngroups; g++) {
        const gpx_run_group *gr = &t->groups[g];
        if (!has_params_point(gr))
            continue;
        group_label(t, g, label, sizeof label);
        fprintf(fp, "# %s: parameters, mean and sd of final test accuracy (%%)\n"
                    "%.0f %.6f %.6f\n\n\n",
                label, gr->stat[GPX_TCOL_PARAMS].mean, gr->stat[GPX_TCOL_FINAL].mean,
                gr->stat[GPX_TCOL_FINAL].n > 1 ? gr->stat[GPX_TCOL_FINAL].sd : 0.0);
    }
}

static void write_params_plot(FILE *fp, const void *ctx)
{
    const gpx_table *t = ctx;
    char q[1100];
    int index = 0;
    fputs("plot", fp);
    for (size_t g = 0; g < t->ngroups; g++) {
        if (!has_params_point(&t->groups[g]))
            continue;
        quoted_label(t, g, q, sizeof q);
        fprintf(fp, "%s datafile index %d using 1:2:3 with yerrorbars lc %d pt %d ps 1.3 "
                    "lw 1.5 title %s",
                index ? "," : "", index, index + 1, 5 + 2 * (index % 4), q);
        index++;
    }
}

static void write_params_script(FILE *fp, const void *ctx)
{
    const gpx_table *t = ctx;
    double lo = INFINITY, hi = 0;
    gpx_chart_preamble(fp, t, "final test accuracy against parameters (mean ± sd over seeds)");
    for (size_t g = 0; g < t->ngroups; g++)
        if (has_params_point(&t->groups[g])) {
            double p = t->groups[g].stat[GPX_TCOL_PARAMS].mean;
            lo = p < lo ? p : lo;
            hi = p > hi ? p : hi;
        }
    /* a log axis needs positive bounds; pad by 2x so points clear the border */
    fprintf(fp, "set xlabel 'parameters (count, log scale)'\n"
                "set ylabel 'final test accuracy (%%)'\n"
                "set logscale x\nset xrange [%g:%g]\nset offsets 0, 0, graph 0.08, graph 0.08\n",
            lo > 0 && isfinite(lo) ? lo / 2 : 1, hi > 0 ? hi * 2 : 10);
    gpx_chart_outputs(fp, write_params_plot, t);
}

/* ---- training throughput per group: bars with +-sd */

static void write_throughput_data(FILE *fp, const void *ctx)
{
    const gpx_table *t = ctx;
    int bar = 0;
    fputs("# bar, mean and sd of training images/s, runs, group\n", fp);
    for (size_t g = 0; g < t->ngroups; g++) {
        const gpx_summary *s = &t->groups[g].stat[GPX_TCOL_IMG_S];
        char label[512];
        if (!s->n)
            continue;
        group_label(t, g, label, sizeof label);
        fprintf(fp, "%d %.3f %.3f %zu # %s\n", bar++, s->mean, s->n > 1 ? s->sd : 0.0, s->n,
                label);
    }
}

static void write_throughput_plot(FILE *fp, const void *ctx)
{
    (void)ctx;
    fputs("plot datafile using 1:2:3 with boxerrorbars lc 3 title 'mean ± sd over seeds'", fp);
}

static void write_throughput_script(FILE *fp, const void *ctx)
{
    const gpx_table *t = ctx;
    char q[1100], keys[512], what[600];
    size_t o = 0;
    int bar = 0;
    keys[0] = '\0';
    for (size_t k = 0; k < t->set.ngroup && o + 1 < sizeof keys; k++)
        o += (size_t)snprintf(keys + o, sizeof keys - o, "%s%s", k ? ", " : "",
                              gpx_key_leaf(t->set.group[k]));
    snprintf(what, sizeof what, "training throughput per %s", keys);
    gpx_chart_preamble(fp, t, what);
    gpx_gnuplot_quote(q, sizeof q, keys);
    fprintf(fp, "set xlabel %s\nset ylabel 'training throughput (images/s)'\n"
                "set style fill solid 0.6 border -1\nset boxwidth 0.6\nset yrange [0:*]\n"
                "set xtics rotate by -35 scale 0 (", q);
    for (size_t g = 0; g < t->ngroups; g++) {
        if (!t->groups[g].stat[GPX_TCOL_IMG_S].n)
            continue;
        quoted_label(t, g, q, sizeof q);
        fprintf(fp, "%s%s %d", bar ? ", " : "", q, bar);
        bar++;
    }
    fprintf(fp, ")\nset xrange [-0.7:%g]\n", bar - 0.3);
    gpx_chart_outputs(fp, write_throughput_plot, NULL);
}

/* ---- which charts */

int gpx_table_charts(const gpx_table *t, const char *dir, const char *prog, FILE *log,
                     char *err, size_t errlen)
{
    gpx_chart_run run = { t, dir, prog, log, err, errlen };
    size_t ok = 0;
    for (size_t g = 0; g < t->ngroups; g++)
        ok += t->groups[g].nok;
    if (!ok) {
        fprintf(log, "%s: no run finished ok: charts skipped\n", prog);
        return 0;
    }
    int r = draw_curves(&run);
    if (r == 0)
        r = gpx_table_chart(&run, "accuracy-vs-params", t, write_params_data,
                            write_params_script);
    /* a config that leaves img/s out of its table (timings taken on a
     * shared machine, say) does not want them charted either */
    if (r == 0 && gpx_table_has_column(t, GPX_TCOL_IMG_S))
        r = gpx_table_chart(&run, "throughput", t, write_throughput_data,
                            write_throughput_script);
    if (r == 0 && t->study)
        r = gpx_size_charts(&run);
    return r == 1 ? 0 : r;
}
