/*
 * size_study.c - evals.csv read into the cells of the input-size table
 * (see size_study.h): a first pass finds every row's run, the methods and
 * the sizes; a second puts the rows of ok runs into their cells.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records/size_study.h"

static gpx_size_cell *cell_at(const gpx_size_study *st, size_t m, size_t g, size_t z)
{
    return &st->cell[(m * st->ngroups + g) * st->nsizes + z];
}

const gpx_size_cell *gpx_size_cell_at(const gpx_size_study *st, size_t m, size_t g, size_t z)
{
    return cell_at(st, m, g, z);
}

static int same_values(const gpx_table *t, const int *cols, size_t n, size_t a, size_t b)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(t->runs.rows[a].field[cols[k]], t->runs.rows[b].field[cols[k]]))
            return 0;
    return 1;
}

/* Index of s in list, appended when absent; -1 out of memory. */
static int intern(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s))
            return (int)i;
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strdup(s)))
        return -1;
    return (int)(*n)++;
}

void gpx_size_study_free(gpx_size_study *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nmethods; i++)
        free(st->method[i]);
    for (size_t i = 0; i < st->nreasons; i++)
        free(st->reason[i]);
    for (size_t i = 0; st->cell && i < st->nmethods * st->ngroups * st->nsizes; i++)
        free(st->cell[i].acc);
    void *arrays[] = { st->method, st->reason, st->reason_number, st->cell, st->seen,
                       st->size, st->group, st->group_of_run, st->run_of_eval, st };
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        free(arrays[i]);
}

/* The main table's groups (in its order) merged over the seed keys. */
static int study_groups(const gpx_table *t, gpx_size_study *st)
{
    for (size_t k = 0; k < t->set.ngroup; k++)
        if (strcmp(gpx_key_leaf(t->set.group[k]), "seed")) {
            st->key[st->nkeys] = t->set.group[k];
            st->key_col[st->nkeys++] = t->key_col[k];
        }
    size_t n = t->runs.nrows ? t->runs.nrows : 1;
    st->nruns = t->runs.nrows;
    st->group_of_run = malloc(n * sizeof *st->group_of_run);
    st->group = calloc(n, sizeof *st->group);
    if (!st->group_of_run || !st->group)
        return -1;
    for (size_t r = 0; r < t->runs.nrows; r++)
        st->group_of_run[r] = -1;
    for (size_t g = 0; g < t->ngroups; g++)
        for (size_t i = 0; i < t->groups[g].nok; i++) {
            size_t r = t->groups[g].ok[i], s = 0;
            while (s < st->ngroups && !same_values(t, st->key_col, st->nkeys, st->group[s].run, r))
                s++;
            if (s == st->ngroups)
                st->group[st->ngroups++].run = r;
            st->group_of_run[r] = (int)s;
        }
    return 0;
}

/* The runs.csv row of an evals.csv row; a run's rows are adjacent, so the
 * previous answer is tried first. */
static int find_run(const gpx_table *t, const char *id, size_t hint, size_t *out)
{
    for (size_t i = 0; i < t->runs.nrows; i++) {
        size_t r = (hint + i) % t->runs.nrows;
        if (!strcmp(t->runs.rows[r].field[t->rc[GPX_RUNS_RUN_ID]], id)) {
            *out = r;
            return 0;
        }
    }
    return -1;
}

/* Column c of evals.csv row e: a size in pixels (the reader checked it). */
static long size_at(const gpx_table *t, size_t e, int c)
{
    return strtol(t->evals.rows[e].field[t->vc[c]], NULL, 10);
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* First pass: every row's run, the methods and the sizes. */
static int study_scan(const gpx_table *t, gpx_size_study *st, char *err, size_t errlen)
{
    const gpx_csv *csv = &t->evals;
    size_t hint = 0;
    st->run_of_eval = calloc(csv->nrows ? csv->nrows : 1, sizeof *st->run_of_eval);
    st->size = calloc(csv->nrows ? csv->nrows : 1, sizeof *st->size);
    if (!st->run_of_eval || !st->size)
        goto oom;
    for (size_t e = 0; e < csv->nrows; e++) {
        const char *id = csv->rows[e].field[t->vc[GPX_EVALS_RUN_ID]];
        if (find_run(t, id, hint, &hint)) {   /* gpx_table_load refuses such a file */
            snprintf(err, errlen, "%s:%d: run %s is not in %s", csv->path, csv->rows[e].line,
                     id, t->runs.path);
            return -1;
        }
        st->run_of_eval[e] = hint;
        long size = size_at(t, e, GPX_EVALS_EVAL_SIZE);
        if (intern(&st->method, &st->nmethods, csv->rows[e].field[t->vc[GPX_EVALS_METHOD]]) < 0)
            goto oom;
        size_t z = 0;
        while (z < st->nsizes && st->size[z] != size)
            z++;
        if (z == st->nsizes)
            st->size[st->nsizes++] = size;
    }
    qsort(st->size, st->nsizes, sizeof *st->size, compare_long);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void add_train_size(gpx_size_group *g, long train)
{
    for (int i = 0; i < g->ntrain && i < 4; i++)
        if (g->train[i] == train)
            return;
    if (g->ntrain < 4)
        g->train[g->ntrain] = train;
    g->ntrain += g->ntrain < 5;
}

static int cell_add_reason(gpx_size_study *st, gpx_size_cell *c, const char *reason)
{
    int id = intern(&st->reason, &st->nreasons, *reason ? reason : "no reason recorded");
    if (id < 0)
        return -1;
    for (int i = 0; i < c->nreasons; i++)
        if (c->reason[i] == id)
            return 0;
    if (c->nreasons < GPX_CELL_REASONS)
        c->reason[c->nreasons++] = id;
    return 0;
}

static int cell_add_acc(gpx_size_cell *c, double acc)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        double *grown = realloc(c->acc, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->acc = grown;
        c->cap = cap;
    }
    c->acc[c->n++] = acc;
    return 0;
}

static size_t index_of_size(const gpx_size_study *st, long size)
{
    size_t z = 0;
    while (z + 1 < st->nsizes && st->size[z] != size)
        z++;
    return z;
}

/* evals.csv row e of a run the table keeps into its cell: 0, 1 out of
 * memory, -1 a bad accuracy (err). */
static int fill_row(const gpx_table *t, gpx_size_study *st, size_t e, char *err, size_t errlen)
{
    const gpx_csv *csv = &t->evals;
    const char *const *f = (const char *const *)csv->rows[e].field;
    size_t r = st->run_of_eval[e];
    size_t g = (size_t)st->group_of_run[r];
    size_t m = (size_t)intern(&st->method, &st->nmethods, f[t->vc[GPX_EVALS_METHOD]]);
    long size = size_at(t, e, GPX_EVALS_EVAL_SIZE), train = size_at(t, e, GPX_EVALS_TRAIN_SIZE);
    double acc;
    gpx_size_cell *c = cell_at(st, m, g, index_of_size(st, size));
    st->seen[r * st->nmethods + m] = 1;
    add_train_size(&st->group[g], train);
    if (strcmp(f[t->vc[GPX_EVALS_STATUS]], "ok")) {
        c->nna++;
        return cell_add_reason(st, c, f[t->vc[GPX_EVALS_REASON]]) ? 1 : 0;
    }
    if (gpx_csv_number(csv, e, t->vc[GPX_EVALS_TEST_ACC], &acc, err, errlen))
        return -1;
    if (!isfinite(acc)) {
        snprintf(err, errlen, "%s:%d: status ok but no test_acc", csv->path, csv->rows[e].line);
        return -1;
    }
    return cell_add_acc(c, 100 * acc) ? 1 : 0;
}

/* Second pass: the rows of ok runs into their cells. */
static int study_fill(const gpx_table *t, gpx_size_study *st, char *err, size_t errlen)
{
    size_t ncells = st->nmethods * st->ngroups * st->nsizes;
    st->cell = calloc(ncells ? ncells : 1, sizeof *st->cell);
    st->seen = calloc((st->nruns ? st->nruns : 1) * (st->nmethods ? st->nmethods : 1), 1);
    if (!st->cell || !st->seen) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t e = 0; e < t->evals.nrows; e++) {
        if (st->group_of_run[st->run_of_eval[e]] < 0) {
            st->nskipped++;
            continue;
        }
        int r = fill_row(t, st, e, err, errlen);
        if (r > 0)
            snprintf(err, errlen, "out of memory");
        if (r)
            return -1;
    }
    return 0;
}

size_t gpx_size_study_runs(const gpx_size_study *st, size_t m, size_t g)
{
    size_t n = 0;
    for (size_t r = 0; r < st->nruns; r++)
        n += st->group_of_run[r] == (int)g && st->seen[r * st->nmethods + m];
    return n;
}

/* Reasons are numbered in the order the table cites them, row by row. */
static int number_reasons(gpx_size_study *st)
{
    int next = 1;
    st->reason_number = calloc(st->nreasons ? st->nreasons : 1, sizeof *st->reason_number);
    if (!st->reason_number)
        return -1;
    for (size_t m = 0; m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++) {
            if (!gpx_size_study_runs(st, m, g))
                continue;
            for (size_t z = 0; z < st->nsizes; z++) {
                const gpx_size_cell *c = cell_at(st, m, g, z);
                for (int i = 0; i < c->nreasons; i++)
                    if (!st->reason_number[c->reason[i]])
                        st->reason_number[c->reason[i]] = next++;
            }
        }
    return 0;
}

int gpx_size_study_build(gpx_table *t, char *err, size_t errlen)
{
    if (!t->have_evals)
        return 0;
    gpx_size_study *st = t->study = calloc(1, sizeof *st);
    if (!st || study_groups(t, st)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (study_scan(t, st, err, errlen) || study_fill(t, st, err, errlen))
        return -1;
    if (number_reasons(st)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int gpx_size_study_has_rows(const gpx_size_study *st)
{
    for (size_t m = 0; st && m < st->nmethods; m++)
        for (size_t g = 0; g < st->ngroups; g++)
            if (gpx_size_study_runs(st, m, g))
                return 1;
    return 0;
}

const char *gpx_size_study_value(const gpx_table *t, size_t g, size_t k)
{
    const gpx_size_study *st = t->study;
    return t->runs.rows[st->group[g].run].field[st->key_col[k]];
}

int gpx_size_series_has_points(const gpx_size_study *st, size_t m, size_t g)
{
    for (size_t z = 0; z < st->nsizes; z++)
        if (cell_at(st, m, g, z)->n)
            return 1;
    return 0;
}
