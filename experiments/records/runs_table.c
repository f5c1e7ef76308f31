/*
 * runs_table.c - table.md and table.tex: one row per group of runs, its
 * columns the mean +- sd over the group's ok runs, and notes under it that
 * say what the columns mean and which runs were left out and why (see
 * table_text.h).
 */
#include "autoconfig.h"

#include <string.h>

#include "records/table_text.h"

/* Column c of group g: the count, a value, or mean +- sd; "n/a" without runs. */
static void format_cell(char *buf, size_t len, const gpx_table *t, const gpx_run_group *g,
                        gpx_table_column c, const gpx_markup *m)
{
    const gpx_table_column_info *info = &gpx_table_columns[c];
    const gpx_summary *s = &g->stat[c];
    int decimals = info->decimals < 0 ? t->set.precision : info->decimals;
    const char *sep = info->thousands ? m->thousands : NULL;
    char mean[64], sd[64];
    if (info->kind == GPX_TKIND_COUNT) {
        snprintf(buf, len, "%zu", g->nok);
        return;
    }
    if (!s->n) {
        snprintf(buf, len, "n/a");
        return;
    }
    gpx_format_number(mean, sizeof mean, s->mean, decimals, sep);
    if (info->kind == GPX_TKIND_CONSTANT && s->constant)
        gpx_format_value(buf, len, mean, NULL, m);
    else if (s->n < 2)
        gpx_format_value(buf, len, mean, m->none, m);
    else {
        gpx_format_number(sd, sizeof sd, s->sd, decimals, sep);
        gpx_format_value(buf, len, mean, sd, m);
    }
}

/* "model.head=gem train.seed=2 (run ID)": a run by its swept values. */
static void describe_run(FILE *fp, const gpx_table *t, size_t r, const gpx_markup *m)
{
    const char *const *field = (const char *const *)t->runs.rows[r].field;
    int first, last, any = 0;
    gpx_record_swept(&gpx_runs_file, t->rc, &first, &last);
    for (int k = first; k < last; k++) {
        fputs(any++ ? " " : "", fp);
        gpx_put_escaped(fp, t->runs.header.field[k], m);
        fputc('=', fp);
        gpx_put_escaped(fp, field[k], m);
    }
    if (!any) {
        fputs("head=", fp);
        gpx_put_escaped(fp, field[t->rc[GPX_RUNS_HEAD]], m);
        fputs(" seed=", fp);
        gpx_put_escaped(fp, field[t->rc[GPX_RUNS_SEED]], m);
    }
    fprintf(fp, " (run %s)", field[t->rc[GPX_RUNS_RUN_ID]]);
}

/* The runs left out of the means, each with its status and reason. */
static void write_excluded(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    fprintf(fp, "%sExcluded from the means: %zu of %zu runs (status not ok):\n", m->item,
            t->nexcluded, t->runs.nrows);
    fputs(m->list_begin, fp);
    for (size_t r = 0; r < t->runs.nrows; r++) {
        if (gpx_table_run_ok(t, r))
            continue;
        const char *reason = t->runs.rows[r].field[t->rc[GPX_RUNS_REASON]];
        fputs(m->subitem, fp);
        describe_run(fp, t, r, m);
        fputs(": ", fp);
        gpx_put_escaped(fp, t->runs.rows[r].field[t->rc[GPX_RUNS_STATUS]], m);
        fputs(": ", fp);
        gpx_put_escaped(fp, *reason ? reason : "no reason recorded", m);
        fputc('\n', fp);
    }
    fputs(m->list_end, fp);
}

/* The notes under the table: what "best" and "gap" mean, and the excluded runs. */
static void write_notes(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    fprintf(fp, "%sMean %s sample sd (n%s1) over the n runs of a row (their seeds); "
                "%s: one run, no sd.\n",
            m->item, m->pm, m->minus, m->none_said);
    if (gpx_table_has_column(t, GPX_TCOL_BEST))
        fprintf(fp, "%sbest test acc: at the epoch with the highest %s accuracy.\n", m->item,
                t->has_validation ? "validation" : "test (no validation split)");
    if (gpx_table_has_column(t, GPX_TCOL_GAP))
        fprintf(fp, "%strain-test gap: final train accuracy minus final test accuracy, in "
                    "percentage points.\n", m->item);
    if (t->nexcluded)
        write_excluded(fp, t, m);
}

void gpx_write_runs_table(FILE *fp, const gpx_table *t, const gpx_markup *m)
{
    char caption[128], align[GPX_TABLE_MAX_KEYS + GPX_TCOL_COUNT + 1], cell[256];
    size_t ncols = t->set.ngroup + t->set.ncolumns;
    snprintf(caption, sizeof caption, ": %zu runs, mean %s sd over seeds", t->runs.nrows, m->pm);
    for (size_t k = 0; k < ncols; k++)
        align[k] = k < t->set.ngroup ? 'l' : 'r';
    align[ncols] = '\0';
    gpx_table_frame frame = { t->name, caption, "runs.csv", "", align };
    gpx_table_open(fp, m, &frame);
    for (size_t k = 0; k < t->set.ngroup; k++) {
        gpx_table_cell(fp, m, k);
        gpx_put_escaped(fp, t->set.group[k], m);
    }
    for (size_t k = 0; k < t->set.ncolumns; k++) {
        const gpx_table_column_info *info = &gpx_table_columns[t->set.column[k]];
        gpx_table_cell(fp, m, t->set.ngroup + k);
        fputs(m->latex ? info->tex : info->md, fp);
    }
    gpx_table_row_end(fp, m);
    gpx_table_rule(fp, m, &frame);
    for (size_t g = 0; g < t->ngroups; g++) {
        for (size_t k = 0; k < t->set.ngroup; k++) {
            gpx_table_cell(fp, m, k);
            gpx_put_escaped(fp, gpx_table_key_value(t, &t->groups[g], k), m);
        }
        for (size_t k = 0; k < t->set.ncolumns; k++) {
            format_cell(cell, sizeof cell, t, &t->groups[g], t->set.column[k], m);
            gpx_table_cell(fp, m, t->set.ngroup + k);
            fputs(cell, fp);
        }
        gpx_table_row_end(fp, m);
    }
    gpx_table_close_body(fp, m);
    write_notes(fp, t, m);
    gpx_table_close(fp, m);
}
