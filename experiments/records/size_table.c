/*
 * size_table.c - table-sizes.md and table-sizes.tex: the test accuracy at
 * each evaluation size, one row per method and group (the seeds merged),
 * n/a where the network cannot take the size, with the reason cited by
 * number under the table (see table_text.h and size_study.h).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "records/size_study.h"
#include "records/table_text.h"

static const char *method_meaning(const char *method)
{
    if (!strcmp(method, "resize"))
        return "the test images resized to the size (bilinear, as PyTorch's interpolate "
               "with align_corners=False)";
    if (!strcmp(method, "canvas_center"))
        return "the test images unchanged, centred on a larger canvas of zero pixels";
    if (!strcmp(method, "canvas_random"))
        return "the test images unchanged, at seeded random places on a larger canvas of "
               "zero pixels";
    return NULL;
}

/* "28", "28/56", or "varies" when a group has more than four. */
static void train_sizes_text(char *buf, size_t len, const gpx_size_group *g)
{
    size_t o = 0;
    buf[0] = '\0';
    if (g->ntrain > 4) {
        snprintf(buf, len, "varies");
        return;
    }
    for (int i = 0; i < g->ntrain && o + 1 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%ld", i ? "/" : "", g->train[i]);
}

/* mean +- sd, then "(n=k)" when fewer runs than the row has, then the
 * reason numbers of rows that were not applicable; "n/a [k]" when none was,
 * "-" when the size was not evaluated. */
static void format_size_cell(char *buf, size_t len, const gpx_table *t, const gpx_size_cell *c,
                             size_t nruns, const gpx_markup *m)
{
    const gpx_size_study *st = t->study;
    size_t o = 0;
    buf[0] = '\0';
    if (c->n) {
        char mean[64], sd[64];
        gpx_summary s = gpx_summarise(c->acc, c->n);
        gpx_format_number(mean, sizeof mean, s.mean, t->set.precision, NULL);
        if (c->n > 1)
            gpx_format_number(sd, sizeof sd, s.sd, t->set.precision, NULL);
        gpx_format_value(buf, len, mean, c->n > 1 ? sd : m->none, m);
        o = strlen(buf);
        if (c->n < nruns && o < len)
            o += (size_t)snprintf(buf + o, len - o, " (n=%zu)", c->n);
    } else if (c->nna) {
        o += (size_t)snprintf(buf, len, "n/a");
    } else {
        snprintf(buf, len, "%s", m->none);
        return;
    }
    for (int i = 0; i < c->nreasons && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d%s", i ? "," : m->latex ? "$^{" : " [",
                              st->reason_number[c->reason[i]],
                              i + 1 < c->nreasons ? "" : m->latex ? "}$" : "]");
}

/* Whether a printed cell has fewer accuracies than its row has runs
 * (*partial), or none and no reason either (*missing). */
static void study_gaps(const gpx_size_study *st, int *partial, int *missing)
{
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            size_t nruns = gpx_size_study_runs(st, m, g);
            for (size_t z = 0; nruns && z < st->nsizes; z++) {
                const gpx_size_cell *c = gpx_size_cell_at(st, m, g, z);
                *partial |= c->n && c->n < nruns;
                *missing |= !c->n && !c->nna;
            }
        }
}

/* The reasons a size was not applicable, by the numbers the cells cite. */
static void write_reasons(FILE *fp, const gpx_size_study *st, const gpx_markup *m)
{
    fprintf(fp, "%sn/a: not applicable, the network cannot be evaluated that way; why:\n",
            m->item);
    fputs(m->list_begin, fp);
    for (int k = 1; k <= (int)st->nreasons; k++)
        for (size_t i = 0; i < st->nreasons; i++) {
            if (st->reason_number[i] != k)
                continue;
            fprintf(fp, m->latex ? "  \\item[$^{%d}$] " : "  - [%d] ", k);
            gpx_put_escaped(fp, st->reason[i], m);
            fputc('\n', fp);
        }
    fputs(m->list_end, fp);
}

/* The notes under the size table: what a cell is, the methods, the reasons. */
static void write_size_notes(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    const gpx_size_study *st = t->study;
    int partial = 0, missing = 0;
    study_gaps(st, &partial, &missing);
    fprintf(fp, "%sTest accuracy (%s) at each evaluation size (pixels per side): mean %s "
                "sample sd (n%s1) over the n runs of a row (their seeds); sd %s: one run.\n",
            m->item, m->percent, m->pm, m->minus, m->none_said);
    if (partial)
        fprintf(fp, "%s(n=k): only k of the row's runs have an accuracy there.\n", m->item);
    if (missing)
        fprintf(fp, "%s%s: not evaluated.\n", m->item, m->none_said);
    for (size_t k = 0; k < st->nmethods; k++) {
        const char *meaning = method_meaning(st->method[k]);
        if (!meaning)
            continue;
        fputs(m->item, fp);
        gpx_put_escaped(fp, st->method[k], m);
        fputs(": ", fp);
        gpx_put_escaped(fp, meaning, m);
        fputs(".\n", fp);
    }
    if (st->nreasons)
        write_reasons(fp, st, m);
    if (t->nexcluded) {
        fprintf(fp, "%sLeft out, as from the main table: the runs whose status is not ok "
                    "(%zu)", m->item, t->nexcluded);
        if (st->nskipped)
            fprintf(fp, " (%zu rows of evals.csv)", st->nskipped);
        fputs(".\n", fp);
    }
}

/* The row of method k and group g. */
static void write_size_row(FILE *fp, const gpx_table *t, size_t k, size_t g,
                           const gpx_markup *m)
{
    const gpx_size_study *st = t->study;
    char cell[512], train[64];
    size_t nruns = gpx_size_study_runs(st, k, g), c = 0;
    gpx_table_cell(fp, m, c++);
    gpx_put_escaped(fp, st->method[k], m);
    for (size_t key = 0; key < st->nkeys; key++) {
        gpx_table_cell(fp, m, c++);
        gpx_put_escaped(fp, gpx_size_study_value(t, g, key), m);
    }
    train_sizes_text(train, sizeof train, &st->group[g]);
    gpx_table_cell(fp, m, c++);
    fputs(train, fp);
    gpx_table_cell(fp, m, c++);
    fprintf(fp, "%zu", nruns);
    for (size_t z = 0; z < st->nsizes; z++) {
        format_size_cell(cell, sizeof cell, t, gpx_size_cell_at(st, k, g, z), nruns, m);
        gpx_table_cell(fp, m, c++);
        fputs(cell, fp);
    }
    gpx_table_row_end(fp, m);
}

/* The header row: method, the keys, train size, n, one column per size. */
static void write_size_header(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    const gpx_size_study *st = t->study;
    size_t c = 0;
    gpx_table_cell(fp, m, c++);
    fputs("method", fp);
    for (size_t k = 0; k < st->nkeys; k++) {
        gpx_table_cell(fp, m, c++);
        gpx_put_escaped(fp, st->key[k], m);
    }
    gpx_table_cell(fp, m, c++);
    fputs("train size (px)", fp);
    gpx_table_cell(fp, m, c++);
    fputs(m->latex ? "$n$" : "n", fp);
    for (size_t z = 0; z < st->nsizes; z++) {
        gpx_table_cell(fp, m, c++);
        fprintf(fp, "%ld px", st->size[z]);
    }
    gpx_table_row_end(fp, m);
}

void gpx_write_size_table(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    const gpx_size_study *st = t->study;
    char caption[128], *align = malloc(st->nkeys + st->nsizes + 4);
    size_t c = 0;
    if (!align)
        return;
    snprintf(caption, sizeof caption,
             ": test accuracy (%s) at other input sizes, mean %s sd over seeds", m->percent,
             m->pm);
    align[c++] = 'l';
    for (size_t k = 0; k < st->nkeys; k++)
        align[c++] = 'l';
    for (size_t k = 0; k < 2 + st->nsizes; k++)
        align[c++] = 'r';
    align[c] = '\0';
    gpx_table_frame frame = { t->name, caption, "evals.csv", "-sizes", align };
    gpx_table_open(fp, m, &frame);
    write_size_header(fp, t, m);
    gpx_table_rule(fp, m, &frame);
    for (size_t k = 0; k < st->nmethods; k++)
        for (size_t g = 0; g < st->ngroups; g++)
            if (gpx_size_study_runs(st, k, g))
                write_size_row(fp, t, k, g, m);
    gpx_table_close_body(fp, m);
    write_size_notes(fp, t, m);
    gpx_table_close(fp, m);
    free(align);
}
