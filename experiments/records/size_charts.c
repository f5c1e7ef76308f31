/*
 * size_charts.c - accuracy against input size: one chart per evals.csv
 * method, one line per row of the size table (mean +- sd over seeds);
 * sizes that were not applicable are simply absent (see table_charts.h).
 */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "records/size_study.h"
#include "records/table_charts.h"

/* Colours apart in print and for the colour-blind (the "tableau" set). */
static const char *const size_palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};
#define NPALETTE (sizeof size_palette / sizeof *size_palette)

typedef struct {
    const gpx_table *table;
    size_t           method;
    double           ylo, yhi;    /* the same in every method's chart, to compare them */
    double           xlo, xhi;    /* the sizes, padded so no point sits on the border */
} size_chart;

/* Distinct values of key k among groups 0 .. g-1: g's colour or dash index
 * when g brings a new value, else the index of the group that brought it. */
static size_t value_index(const gpx_table *t, size_t k, size_t g)
{
    size_t distinct = 0;
    for (size_t h = 0; h < g; h++) {
        size_t first = 0;
        while (strcmp(gpx_size_study_value(t, first, k), gpx_size_study_value(t, h, k)))
            first++;
        if (first < h)
            continue;
        if (!strcmp(gpx_size_study_value(t, h, k), gpx_size_study_value(t, g, k)))
            return distinct;
        distinct++;
    }
    return distinct;
}

/* The key with the most distinct values (the head, say) picks the colour;
 * the other keys together pick the dash type and point shape. */
static void series_style(const gpx_table *t, size_t g, size_t *colour, size_t *dash)
{
    const gpx_size_study *st = t->study;
    size_t colour_key = 0, most = 0;
    for (size_t k = 0; k < st->nkeys; k++) {
        size_t n = st->ngroups ? value_index(t, k, st->ngroups - 1) + 1 : 0;
        /* ties go to the later key: the head comes after the data keys in runs.csv */
        if (n >= most) {
            most = n;
            colour_key = k;
        }
    }
    *colour = st->nkeys ? value_index(t, colour_key, g) : g;
    *dash = 0;
    for (size_t k = 0; k < st->nkeys; k++) {
        if (k == colour_key)
            continue;
        size_t n = value_index(t, k, st->ngroups - 1) + 1;
        *dash = *dash * n + value_index(t, k, g);
    }
}

/* A line's legend entry: "gap", or "resize=56, head=gap". */
static void study_label(const gpx_table *t, size_t g, char *buf, size_t len)
{
    const gpx_size_study *st = t->study;
    gpx_table_label(t, st->key, st->key_col, st->nkeys, st->group[g].run, buf, len);
}

/* One block per group with points: size, mean and sd of test accuracy, runs. */
static void write_study_data(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    const gpx_size_study *st = c->table->study;
    char label[512];
    for (size_t g = 0; g < st->ngroups; g++) {
        if (!gpx_size_series_has_points(st, c->method, g))
            continue;
        study_label(c->table, g, label, sizeof label);
        fprintf(fp, "# %s, %s: input size (pixels), mean and sd of test accuracy (%%), runs\n",
                label, st->method[c->method]);
        for (size_t z = 0; z < st->nsizes; z++) {
            const gpx_size_cell *cell = gpx_size_cell_at(st, c->method, g, z);
            if (!cell->n)
                continue;
            gpx_summary s = gpx_summarise(cell->acc, cell->n);
            fprintf(fp, "%ld %.6f %.6f %zu\n", st->size[z], s.mean, cell->n > 1 ? s.sd : 0.0,
                    cell->n);
        }
        fputs("\n\n", fp);
    }
}

/* Dotted verticals where the runs were trained: the size every head can take. */
static void mark_train_sizes(FILE *fp, const gpx_size_study *st)
{
    long seen[16];
    size_t nseen = 0;
    for (size_t g = 0; g < st->ngroups; g++)
        for (int i = 0; i < st->group[g].ntrain && i < 4; i++) {
            size_t k = 0;
            while (k < nseen && seen[k] != st->group[g].train[i])
                k++;
            if (k < nseen || nseen == 16)
                continue;
            seen[nseen++] = st->group[g].train[i];
            fprintf(fp, "set arrow from %ld, graph 0 to %ld, graph 1 nohead dt 3 lw 1.5 "
                        "lc rgb '#555555'\n"
                        "set label 'trained at %ld' at %ld, graph 0.03 offset 0.5, 0 "
                        "tc rgb '#555555'\n",
                    seen[k], seen[k], seen[k], seen[k]);
        }
}

static void write_study_plot(FILE *fp, const void *ctx)
{
    static const int point[] = { 7, 5, 9, 11, 13 };
    const size_chart *c = ctx;
    const gpx_size_study *st = c->table->study;
    char label[512], q[1100];
    int index = 0;
    fputs("plot", fp);
    for (size_t g = 0; g < st->ngroups; g++) {
        size_t colour, dash;
        if (!gpx_size_series_has_points(st, c->method, g))
            continue;
        series_style(c->table, g, &colour, &dash);
        study_label(c->table, g, label, sizeof label);
        gpx_gnuplot_quote(q, sizeof q, label);
        fprintf(fp, "%s datafile index %d using 1:2:3 with yerrorlines lc rgb '%s' dt %zu "
                    "lw 2 pt %d ps 0.9 title %s",
                index ? "," : "", index, size_palette[colour % NPALETTE], dash % 5 + 1,
                point[dash % 5], q);
        index++;
    }
}

static void write_study_script(FILE *fp, const void *ctx)
{
    const size_chart *c = ctx;
    const gpx_size_study *st = c->table->study;
    char what[600];
    snprintf(what, sizeof what, "test accuracy against input size, method %s "
                                "(mean ± sd over seeds)", st->method[c->method]);
    gpx_chart_preamble(fp, c->table, what);
    fprintf(fp, "set xlabel 'evaluation input size (pixels per side)'\n"
                "set ylabel 'test accuracy (%%)'\nset yrange [%g:%g]\n"
                "set xrange [%g:%g]\n",
            c->ylo, c->yhi, c->xlo, c->xhi);
    if (st->nsizes <= 16) {
        fputs("set xtics (", fp);
        for (size_t z = 0; z < st->nsizes; z++)
            fprintf(fp, "%s%ld", z ? ", " : "", st->size[z]);
        fputs(")\n", fp);
    }
    mark_train_sizes(fp, st);
    gpx_chart_outputs(fp, write_study_plot, c);
}

/* mean -+ sd over every point of every method, padded, within 0-100 %. */
static void study_yrange(const gpx_size_study *st, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < st->nmethods * st->ngroups * st->nsizes; i++) {
        const gpx_size_cell *c = &st->cell[i];
        if (!c->n)
            continue;
        gpx_summary s = gpx_summarise(c->acc, c->n);
        double sd = c->n > 1 ? s.sd : 0;
        *lo = s.mean - sd < *lo ? s.mean - sd : *lo;
        *hi = s.mean + sd > *hi ? s.mean + sd : *hi;
    }
    double pad = 0.06 * (*hi - *lo) > 1 ? 0.06 * (*hi - *lo) : 1;
    *lo = *lo - pad > 0 ? *lo - pad : 0;
    *hi = *hi + pad < 100 ? *hi + pad : 100;
}

/* "accuracy-vs-size-METHOD", anything but [A-Za-z0-9_-] in the method as '-'. */
static void chart_name(char *buf, size_t len, const char *method)
{
    size_t o = (size_t)snprintf(buf, len, "accuracy-vs-size-");
    for (const char *s = method; *s && o + 1 < len; s++)
        buf[o++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_-", *s) ? *s : '-';
    buf[o] = '\0';
}

int gpx_size_charts(const gpx_chart_run *run)
{
    const gpx_size_study *st = run->table->study;
    size_chart c = { run->table, 0, 0, 0, 0, 0 };
    double span = (double)(st->size[st->nsizes - 1] - st->size[0]);
    study_yrange(st, &c.ylo, &c.yhi);
    c.xlo = (double)st->size[0] - (span > 0 ? 0.04 * span : 1);
    c.xhi = (double)st->size[st->nsizes - 1] + (span > 0 ? 0.04 * span : 1);
    for (c.method = 0; c.method < st->nmethods; c.method++) {
        char name[256];
        int any = 0;
        chart_name(name, sizeof name, st->method[c.method]);
        for (size_t g = 0; g < st->ngroups; g++)
            any |= gpx_size_series_has_points(st, c.method, g);
        if (!any) {
            fprintf(run->log, "%s: evals.csv: method %s is not applicable anywhere: %s chart "
                              "skipped\n", run->prog, st->method[c.method], name);
            continue;
        }
        int r = gpx_table_chart(run, name, &c, write_study_data, write_study_script);
        if (r)
            return r;
    }
    return 0;
}
