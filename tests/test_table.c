/*
 * test_table.c - the pieces of `gpool table` on known inputs: the summary
 * statistics (mean and sample sd over the finite values, in two passes so
 * that values far from zero keep their sd); runs grouped in runs.csv order
 * with the runs that are not ok left out and counted; sorting that puts
 * rows without a value last either way and keeps ties in runs.csv order;
 * the default grouping and the "did you mean" of a bad key; numbers with
 * thousands separators and minus signs; a table written in markdown and in
 * LaTeX from the same steps; and the input-size study's cells, n/a reasons
 * and their numbering.
 */
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "records/csv.h"
#include "records/results.h"
#include "records/size_study.h"
#include "records/table.h"
#include "records/table_text.h"
#include "util/util.h"

/* ------------------------------------------------------------ helpers */

static const char runs_header[] =
    "run_id,experiment,model.head,train.batch,train.seed,head,seed,threads,batch,epochs,"
    "params,flops,mem_params,mem_grads,mem_optim,mem_activations,mem_workspace,mem_total,"
    "final_train_loss,final_train_acc,final_val_acc,final_test_loss,final_test_acc,"
    "best_test_acc,best_epoch,train_s,img_per_s,peak_rss_mib,variant,status,reason\n";

/* A run: head, batch and seed, its final test accuracy (the best one .005
 * above, train .02 above) and status. */
typedef struct {
    const char *id, *head;
    int         batch, seed;
    double      test_acc;
    const char *status;
} test_run;

/* runs.csv of n runs into buf. */
static void runs_csv(char *buf, size_t len, const test_run *run, size_t n)
{
    size_t o = (size_t)snprintf(buf, len, "%s", runs_header);
    for (size_t i = 0; i < n && o < len; i++, run++)
        o += (size_t)snprintf(buf + o, len - o,
                              "%s,mini,%s,%d,%d,%s,%d,1,%d,3,1234,2500000,1,1,1,1,1,3145728,0.4,"
                              "%.5f,,0.45,%.5f,%.5f,2,3.0,1000.0,50.0,avx2,%s,%s\n",
                              run->id, run->head, run->batch, run->seed, run->head, run->seed,
                              run->batch, run->test_acc + 0.02, run->test_acc,
                              run->test_acc + 0.005, run->status,
                              strcmp(run->status, "ok") ? "loss is nan" : "");
    assert_true(o < len);
}

/* An array and its length, for a list of runs. */
#define LIST(a) a, sizeof a / sizeof *a
#define RUNS_CSV(buf, runs) runs_csv(buf, sizeof buf, LIST(runs))

/* t with runs.csv (and evals.csv when not NULL) parsed from text. */
static void load_table(gpx_table *t, const char *runs, const char *evals)
{
    char err[1024];
    memset(t, 0, sizeof *t);
    gpx_table_default_settings(&t->set);
    snprintf(t->name, sizeof t->name, "mini_test");
    assert_int_equal(gpx_csv_parse(&t->runs, "runs.csv", runs, err, sizeof err), 0);
    assert_int_equal(gpx_record_columns(&t->runs, &gpx_runs_file, NULL, 0, t->rc, err,
                                        sizeof err), 0);
    if (!evals)
        return;
    assert_int_equal(gpx_csv_parse(&t->evals, "evals.csv", evals, err, sizeof err), 0);
    assert_int_equal(gpx_record_columns(&t->evals, &gpx_evals_file, NULL, 0, t->vc, err,
                                        sizeof err), 0);
    t->have_evals = 1;
}

/* Three groups in runs.csv order: gap/32 (test .85 and .87; a third seed
 * diverged), flatten_dense/32 (.90), flatten_dense/64 (its only run
 * diverged). */
static void load_three_groups(gpx_table *t)
{
    static const test_run three[] = {
        { "a0", "gap", 32, 0, 0.85, "ok" },
        { "b0", "flatten_dense", 32, 0, 0.90, "ok" },
        { "a1", "gap", 32, 1, 0.87, "ok" },
        { "c0", "flatten_dense", 64, 0, 0.10, "diverged" },
        { "a2", "gap", 32, 2, 0.11, "diverged" },
    };
    char runs[4096];
    RUNS_CSV(runs, three);
    load_table(t, runs, NULL);
}

static void group_table(gpx_table *t)
{
    char err[1024];
    assert_int_equal(gpx_table_resolve_settings(t, err, sizeof err), 0);
    assert_int_equal(gpx_table_group(t, err, sizeof err), 0);
}

/* What was written to fp since it was opened, as a string (caller frees);
 * fp is closed. */
static char *read_back(FILE *fp)
{
    long len = ftell(fp);
    assert_true(len >= 0);
    char *text = calloc((size_t)len + 1, 1);
    assert_non_null(text);
    rewind(fp);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    return text;
}

/* What write writes for t in markup m (caller frees). */
static char *written(gpx_table_writer write, const gpx_table *t, const gpx_markup *m)
{
    FILE *fp = tmpfile();
    assert_non_null(fp);
    write(fp, t, m);
    return read_back(fp);
}

/* ------------------------------------------------------------ statistics */

static void test_summary_known_values(void **state)
{
    (void)state;
    const double three[] = { 85, 86, 87 };
    gpx_summary s = gpx_summarise(three, 3);
    assert_int_equal(s.n, 3);
    assert_float_equal(s.mean, 86, 1e-12);
    assert_float_equal(s.sd, 1, 1e-12);
    assert_false(s.constant);
    /* NaN and infinities are no values: the same summary */
    const double holes[] = { NAN, 85, INFINITY, 86, -INFINITY, 87, NAN };
    gpx_summary h = gpx_summarise(holes, 7);
    assert_int_equal(h.n, 3);
    assert_float_equal(h.mean, 86, 1e-12);
    assert_float_equal(h.sd, 1, 1e-12);
    /* -2 and 4: mean 1, deviations 3 and 3, sd sqrt(18) */
    const double two[] = { -2, 4 };
    gpx_summary t = gpx_summarise(two, 2);
    assert_float_equal(t.mean, 1, 1e-12);
    assert_float_equal(t.sd, sqrt(18.0), 1e-12);
}

static void test_summary_edge_cases(void **state)
{
    (void)state;
    const double one[] = { 0.5 };
    gpx_summary s = gpx_summarise(one, 1);
    assert_int_equal(s.n, 1);
    assert_float_equal(s.mean, 0.5, 0);
    assert_true(isnan(s.sd));
    assert_true(s.constant);
    gpx_summary none = gpx_summarise(NULL, 0);
    assert_int_equal(none.n, 0);
    assert_true(isnan(none.mean) && isnan(none.sd));
    const double nans[] = { NAN, NAN };
    assert_int_equal(gpx_summarise(nans, 2).n, 0);
    const double same[] = { 7.25, 7.25, 7.25 };
    gpx_summary c = gpx_summarise(same, 3);
    assert_true(c.constant);
    assert_float_equal(c.sd, 0, 0);
    /* far from zero: a running sum of squares would lose these digits */
    const double far[] = { 1e9 + 1, 1e9 + 2, 1e9 + 3 };
    gpx_summary f = gpx_summarise(far, 3);
    assert_float_equal(f.mean, 1e9 + 2, 1e-6);
    assert_float_equal(f.sd, 1, 1e-6);
}

/* ------------------------------------------------------------ grouping */

static void test_groups_in_file_order(void **state)
{
    (void)state;
    gpx_table t;
    load_three_groups(&t);
    group_table(&t);
    /* the default keys: the swept columns but the seed */
    assert_int_equal(t.set.ngroup, 2);
    assert_string_equal(t.set.group[0], "model.head");
    assert_string_equal(t.set.group[1], "train.batch");
    assert_int_equal(t.ngroups, 3);
    assert_int_equal(t.nexcluded, 2);
    assert_string_equal(gpx_table_key_value(&t, &t.groups[0], 0), "gap");
    assert_string_equal(gpx_table_key_value(&t, &t.groups[1], 0), "flatten_dense");
    assert_string_equal(gpx_table_key_value(&t, &t.groups[2], 1), "64");
    /* gap/32: .85 and .87 (the diverged .11 left out): 86 +- sqrt(2) */
    assert_int_equal(t.groups[0].nok, 2);
    assert_float_equal(t.groups[0].stat[GPX_TCOL_FINAL].mean, 86, 1e-9);
    assert_float_equal(t.groups[0].stat[GPX_TCOL_FINAL].sd, sqrt(2.0), 1e-9);
    /* gap: train .02 above test, 2 percentage points */
    assert_float_equal(t.groups[0].stat[GPX_TCOL_GAP].mean, 2, 1e-9);
    assert_float_equal(t.groups[0].stat[GPX_TCOL_MEMORY].mean, 3, 1e-12);
    assert_true(t.groups[0].stat[GPX_TCOL_PARAMS].constant);
    assert_int_equal(t.groups[1].nok, 1);
    assert_int_equal(t.groups[2].nok, 0);
    assert_int_equal(t.groups[2].stat[GPX_TCOL_FINAL].n, 0);
    assert_true(isnan(t.groups[2].stat[GPX_TCOL_FINAL].mean));
    assert_false(t.has_validation);
    gpx_table_free(&t);
}

/* The heads of t's rows, in order: "flatten_dense/32 gap/32 ...". */
static void row_order(const gpx_table *t, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t g = 0; g < t->ngroups; g++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s/%s", g ? " " : "",
                              gpx_table_key_value(t, &t->groups[g], 0),
                              gpx_table_key_value(t, &t->groups[g], 1));
}

/* Rows without a value (no run finished) sort last both ways; ties keep
 * the order of runs.csv both ways. */
static void test_sorting(void **state)
{
    (void)state;
    /* flatten_dense/64 has no ok run, so no mean; it comes first in runs.csv */
    static const test_run empty_first[] = {
        { "c0", "flatten_dense", 64, 0, 0.10, "diverged" },
        { "a0", "gap", 32, 0, 0.85, "ok" },
        { "b0", "flatten_dense", 32, 0, 0.90, "ok" },
        { "a1", "gap", 32, 1, 0.87, "ok" },
    };
    static const test_run ties[] = {
        { "x", "max", 16, 0, 0.80, "ok" }, { "y", "gem", 16, 0, 0.90, "ok" },
        { "z", "avg", 16, 0, 0.80, "ok" }, { "w", "gap", 16, 0, 0.90, "ok" },
    };
    static const struct {
        const test_run  *runs;
        size_t           nruns;
        gpx_table_column column;
        int              descending;
        const char      *order;
    } cases[] = {
        { LIST(empty_first), GPX_TCOL_FINAL, 1, "flatten_dense/32 gap/32 flatten_dense/64" },
        { LIST(empty_first), GPX_TCOL_FINAL, 0, "gap/32 flatten_dense/32 flatten_dense/64" },
        /* the count is known for every row, 0 included */
        { LIST(empty_first), GPX_TCOL_N, 0, "flatten_dense/64 flatten_dense/32 gap/32" },
        { LIST(ties), GPX_TCOL_FINAL, 1, "gem/16 gap/16 max/16 avg/16" },
        { LIST(ties), GPX_TCOL_FINAL, 0, "max/16 avg/16 gem/16 gap/16" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char runs[4096], order[256];
        gpx_table t;
        runs_csv(runs, sizeof runs, cases[i].runs, cases[i].nruns);
        load_table(&t, runs, NULL);
        t.set.sort = cases[i].column;
        t.set.descending = cases[i].descending;
        group_table(&t);
        row_order(&t, order, sizeof order);
        assert_string_equal(order, cases[i].order);
        gpx_table_free(&t);
    }
}

static void test_group_keys_resolved(void **state)
{
    (void)state;
    char err[1024];
    gpx_table t;
    load_three_groups(&t);
    t.set.group[0] = "model.hed";
    t.set.group_line[0] = 7;
    t.set.group_col[0] = 14;
    t.set.ngroup = 1;
    snprintf(t.set.source, sizeof t.set.source, "exp.yaml");
    assert_int_equal(gpx_table_resolve_settings(&t, err, sizeof err), -1);
    assert_string_equal(err, "exp.yaml:7:14: table.group_by[0]: runs.csv has no column "
                             "'model.hed'; did you mean 'model.head'?");
    gpx_table_free(&t);
    /* nothing swept: one row per head */
    char runs[2048] = "run_id,experiment,head,seed,threads,batch,epochs,params,flops,mem_params,"
                      "mem_grads,mem_optim,mem_activations,mem_workspace,mem_total,"
                      "final_train_loss,final_train_acc,final_val_acc,final_test_loss,"
                      "final_test_acc,best_test_acc,best_epoch,train_s,img_per_s,peak_rss_mib,"
                      "variant,status,reason\n"
                      "r1,mini,gap,0,1,32,3,1,1,1,1,1,1,1,1,0.4,0.9,,0.4,0.8,0.8,3,1,1,1,avx2,"
                      "ok,\n";
    load_table(&t, runs, NULL);
    group_table(&t);
    assert_int_equal(t.set.ngroup, 1);
    assert_string_equal(t.set.group[0], "head");
    assert_int_equal(t.set.ncolumns, GPX_TCOL_COUNT);
    char label[64];
    gpx_table_label(&t, t.set.group, t.key_col, t.set.ngroup, 0, label, sizeof label);
    assert_string_equal(label, "gap");
    gpx_table_free(&t);
}

static void test_labels(void **state)
{
    (void)state;
    gpx_table t;
    char label[64];
    load_three_groups(&t);
    group_table(&t);
    gpx_table_label(&t, t.set.group, t.key_col, 2, t.groups[1].first, label, sizeof label);
    assert_string_equal(label, "head=flatten_dense, batch=32");
    gpx_table_label(&t, t.set.group, t.key_col, 0, 0, label, sizeof label);
    assert_string_equal(label, "all runs");
    assert_string_equal(gpx_key_leaf("train.seed"), "seed");
    assert_string_equal(gpx_key_leaf("head"), "head");
    gpx_table_free(&t);
}

/* --------------------------------------------------------------- text */

static void test_numbers(void **state)
{
    (void)state;
    char buf[64], cell[128];
    gpx_format_number(buf, sizeof buf, 1234567, 0, ",");
    assert_string_equal(buf, "1,234,567");
    gpx_format_number(buf, sizeof buf, -1234.5, 2, "{,}");
    assert_string_equal(buf, "-1{,}234.50");
    gpx_format_number(buf, sizeof buf, 999, 0, ",");
    assert_string_equal(buf, "999");
    gpx_format_number(buf, sizeof buf, -0.001, 2, NULL);
    assert_string_equal(buf, "0.00");
    gpx_format_number(buf, sizeof buf, 12.345, 1, NULL);
    assert_string_equal(buf, "12.3");
    gpx_format_value(cell, sizeof cell, "86.00", "1.00", &gpx_markdown);
    assert_string_equal(cell, "86.00 ± 1.00");
    gpx_format_value(cell, sizeof cell, "-2.00", gpx_latex.none, &gpx_latex);
    assert_string_equal(cell, "$-$2.00 $\\pm$ --");
    gpx_format_value(cell, sizeof cell, "-2.00", NULL, &gpx_markdown);
    assert_string_equal(cell, "-2.00");
}

static void test_table_in_both_markups(void **state)
{
    (void)state;
    gpx_table t;
    load_three_groups(&t);
    t.set.column[0] = GPX_TCOL_N;
    t.set.column[1] = GPX_TCOL_FINAL;
    t.set.column[2] = GPX_TCOL_PARAMS;
    t.set.ncolumns = 3;
    group_table(&t);
    char *md = written(gpx_write_runs_table, &t, &gpx_markdown);
    assert_string_equal(md,
        "**mini_test**: 5 runs, mean ± sd over seeds\n\n"
        "| model.head | train.batch | n | final test acc (%) | params |\n"
        "| :-- | :-- | --: | --: | --: |\n"
        "| gap | 32 | 2 | 86.00 ± 1.41 | 1,234 |\n"
        "| flatten_dense | 32 | 1 | 90.00 ± - | 1,234 |\n"
        "| flatten_dense | 64 | 0 | n/a | n/a |\n"
        "\n"
        "- Mean ± sample sd (n-1) over the n runs of a row (their seeds); \"-\": one run, "
        "no sd.\n"
        "- Excluded from the means: 2 of 5 runs (status not ok):\n"
        "  - model.head=flatten_dense train.batch=64 train.seed=0 (run c0): diverged: "
        "loss is nan\n"
        "  - model.head=gap train.batch=32 train.seed=2 (run a2): diverged: loss is nan\n");
    free(md);
    char *tex = written(gpx_write_runs_table, &t, &gpx_latex);
    assert_non_null(strstr(tex, "\\caption{mini\\_test: 5 runs, mean $\\pm$ sd over seeds.}\n"
                                "\\label{tab:mini-test}\n\\begin{tabular}{llrrr}\n\\toprule\n"
                                "model.head & train.batch & $n$ & final test acc.\\ (\\%) & "
                                "params \\\\\n\\midrule\n"));
    assert_non_null(strstr(tex, "\nflatten\\_dense & 32 & 1 & 90.00 $\\pm$ -- & 1{,}234 \\\\\n"));
    assert_non_null(strstr(tex, "  \\begin{itemize}\n  \\item model.head=flatten\\_dense "));
    assert_non_null(strstr(tex, "\\end{itemize}\n\\end{table}\n"));
    free(tex);
    gpx_table_free(&t);
}

/* ------------------------------------------------------- input sizes */

/* t from three ok runs (gap seeds 0 and 1, flatten_dense seed 0) and a
 * diverged one (gap seed 2), grouped by head and seed, and the evals.csv
 * rows given; then the study built: its return, err. */
static int study_of(gpx_table *t, const char *evals_rows, char *err, size_t errlen)
{
    static const test_run seeds[] = {
        { "a0", "gap", 32, 0, 0.85, "ok" },
        { "b0", "flatten_dense", 32, 0, 0.90, "ok" },
        { "a1", "gap", 32, 1, 0.87, "ok" },
        { "a2", "gap", 32, 2, 0.11, "diverged" },
    };
    char runs[4096], evals[4096];
    RUNS_CSV(runs, seeds);
    snprintf(evals, sizeof evals, "run_id,model.head,train.seed,head,seed,train_size,"
                                  "eval_size,method,test_acc,test_loss,status,reason\n%s",
             evals_rows);
    load_table(t, runs, evals);
    t->set.group[0] = "model.head";
    t->set.group[1] = "train.seed";   /* merged by the study */
    t->set.ngroup = 2;
    group_table(t);
    return gpx_size_study_build(t, err, errlen);
}

static void test_size_study(void **state)
{
    (void)state;
    char err[1024];
    gpx_table t;
    /* sizes out of order; the diverged run's row stays out; one n/a */
    assert_int_equal(study_of(&t,
                              "a0,gap,0,gap,0,28,36,resize,0.70,0.5,ok,\n"
                              "a0,gap,0,gap,0,28,20,resize,0.60,0.5,ok,\n"
                              "b0,flatten_dense,0,flatten_dense,0,28,36,resize,,,n/a,dense\n"
                              "b0,flatten_dense,0,flatten_dense,0,28,20,resize,,,n/a,dense\n"
                              "a1,gap,1,gap,1,28,36,resize,0.74,0.5,ok,\n"
                              "a1,gap,1,gap,1,28,20,canvas,,,n/a,canvas too small\n"
                              "a2,gap,2,gap,2,28,36,resize,0.10,0.5,ok,\n",
                              err, sizeof err), 0);
    const gpx_size_study *st = t.study;
    assert_int_equal(st->nkeys, 1);
    assert_int_equal(st->ngroups, 2);
    assert_int_equal(st->nsizes, 2);
    assert_int_equal(st->size[0], 20);
    assert_int_equal(st->size[1], 36);
    assert_int_equal(st->nmethods, 2);
    assert_string_equal(st->method[1], "canvas");
    assert_int_equal(st->nskipped, 1);
    /* gap at 36 by resize: .70 and .74 (not the diverged .10) */
    const gpx_size_cell *c = gpx_size_cell_at(st, 0, 0, 1);
    assert_int_equal(c->n, 2);
    gpx_summary s = gpx_summarise(c->acc, c->n);
    assert_float_equal(s.mean, 72, 1e-9);
    assert_int_equal(gpx_size_study_runs(st, 0, 0), 2);
    assert_int_equal(gpx_size_study_runs(st, 1, 0), 1);
    assert_int_equal(gpx_size_study_runs(st, 1, 1), 0);
    /* flatten_dense: n/a at both sizes, one reason, cited first */
    c = gpx_size_cell_at(st, 0, 1, 0);
    assert_int_equal(c->n, 0);
    assert_int_equal(c->nna, 1);
    assert_string_equal(st->reason[c->reason[0]], "dense");
    assert_int_equal(st->reason_number[c->reason[0]], 1);
    assert_int_equal(st->nreasons, 2);
    assert_true(gpx_size_study_has_rows(st));
    assert_true(gpx_size_series_has_points(st, 0, 0));
    assert_false(gpx_size_series_has_points(st, 0, 1));
    gpx_table_free(&t);
}

/* The study takes evals.csv as gpool table reads it: a row of a run that
 * runs.csv lacks, or a size that is none, is refused by the reader. */
static void test_size_study_input_checked(void **state)
{
    (void)state;
    char err[1024];
    gpx_table t;
    assert_int_equal(study_of(&t,
                              "a0,gap,0,gap,0,28,20,resize,0.60,0.5,ok,\n"
                              "zz,gap,0,gap,0,28,20,resize,0.60,0.5,ok,\n",
                              err, sizeof err), -1);
    assert_string_equal(err, "evals.csv:3: run zz is not in runs.csv");
    assert_int_equal(gpx_record_runs_known(&t.evals, t.vc[GPX_EVALS_RUN_ID], &t.runs,
                                           t.rc[GPX_RUNS_RUN_ID], err, sizeof err), -1);
    assert_string_equal(err, "evals.csv:3: run zz is not in runs.csv (files of different "
                             "sweeps, or rows lost?)");
    gpx_table_free(&t);
    (void)study_of(&t, "a0,gap,0,gap,0,28,0,resize,0.60,0.5,ok,\n", err, sizeof err);
    assert_int_equal(gpx_record_check(&t.evals, &gpx_evals_file, t.vc, err, sizeof err), -1);
    assert_string_equal(err, "evals.csv:2: column eval_size: 0 is outside [1, 100000]");
    gpx_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_known_values),
        cmocka_unit_test(test_summary_edge_cases),
        cmocka_unit_test(test_groups_in_file_order),
        cmocka_unit_test(test_sorting),
        cmocka_unit_test(test_group_keys_resolved),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_table_in_both_markups),
        cmocka_unit_test(test_size_study),
        cmocka_unit_test(test_size_study_input_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
