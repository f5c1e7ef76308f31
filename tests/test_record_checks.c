/*
 * test_record_checks.c - the one reader of the results files
 * (gpx_record_load, records/results.h) refuses every corrupt file with
 * PATH:LINE and what is wrong, and takes what the writers write: per
 * column, a value that is no whole number, no finite number (nan, inf,
 * 1e999), out of its range (a negative count, an accuracy above 1), a
 * status among none of its choices, an empty required field; per file, a
 * row cut short (no final newline), a row with another number of fields,
 * a duplicated run (or run and epoch), a missing column; across files, an
 * epochs.csv or evals.csv row of a run runs.csv lacks. profile.csv's
 * comment lines count in the line numbers; progress.csv of the release
 * before (values written as "nan") still reads; and every results file
 * committed under results/ reads.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "records/csv.h"
#include "records/results.h"
#include "util/util.h"

/* ------------------------------------------------------------ helpers */

#define MAX_COLUMNS 32

/* A valid row of each file, by the list's enum. */
static const char *const runs_row[GPX_RUNS_NCOLUMNS] = {
    [GPX_RUNS_RUN_ID] = "0123456789abcdef", [GPX_RUNS_EXPERIMENT] = "checks",
    [GPX_RUNS_HEAD] = "gap", [GPX_RUNS_SEED] = "3", [GPX_RUNS_THREADS] = "2",
    [GPX_RUNS_BATCH] = "32", [GPX_RUNS_EPOCHS] = "3", [GPX_RUNS_PARAMS] = "1234",
    [GPX_RUNS_FLOPS] = "2500000", [GPX_RUNS_MEM_PARAMS] = "4936", [GPX_RUNS_MEM_GRADS] = "4936",
    [GPX_RUNS_MEM_OPTIM] = "9872", [GPX_RUNS_MEM_ACTIVATIONS] = "3060448",
    [GPX_RUNS_MEM_WORKSPACE] = "65536", [GPX_RUNS_MEM_TOTAL] = "3145728",
    [GPX_RUNS_MEM_ALLOC_PEAK] = "2097152",
    [GPX_RUNS_FINAL_TRAIN_LOSS] = "0.400000", [GPX_RUNS_FINAL_TRAIN_ACC] = "0.87000",
    [GPX_RUNS_FINAL_VAL_ACC] = "", [GPX_RUNS_FINAL_TEST_LOSS] = "0.450000",
    [GPX_RUNS_FINAL_TEST_ACC] = "0.85000", [GPX_RUNS_BEST_TEST_ACC] = "1.00000",
    [GPX_RUNS_BEST_EPOCH] = "2", [GPX_RUNS_TRAIN_S] = "3.000", [GPX_RUNS_IMG_PER_S] = "1000.0",
    [GPX_RUNS_PEAK_RSS_MIB] = "50.0", [GPX_RUNS_VARIANT] = "avx2", [GPX_RUNS_STATUS] = "ok",
    [GPX_RUNS_REASON] = "",
};

static const char *const epochs_row[GPX_EPOCHS_NCOLUMNS] = {
    [GPX_EPOCHS_RUN_ID] = "0123456789abcdef", [GPX_EPOCHS_HEAD] = "gap",
    [GPX_EPOCHS_SEED] = "3", [GPX_EPOCHS_EPOCH] = "1", [GPX_EPOCHS_LR] = "0.001",
    [GPX_EPOCHS_TRAIN_LOSS] = "1.2", [GPX_EPOCHS_TRAIN_ACC] = "0.5",
    [GPX_EPOCHS_TRAIN_PASS_ACC] = "", [GPX_EPOCHS_VAL_LOSS] = "",
    [GPX_EPOCHS_VAL_ACC] = "", [GPX_EPOCHS_TEST_LOSS] = "1.3", [GPX_EPOCHS_TEST_ACC] = "0",
    [GPX_EPOCHS_EPOCH_S] = "0.5", [GPX_EPOCHS_EVAL_S] = "0.1", [GPX_EPOCHS_IMG_PER_S] = "400.0",
};

static const char *const evals_row[GPX_EVALS_NCOLUMNS] = {
    [GPX_EVALS_RUN_ID] = "0123456789abcdef", [GPX_EVALS_HEAD] = "gap", [GPX_EVALS_SEED] = "3",
    [GPX_EVALS_TRAIN_SIZE] = "28", [GPX_EVALS_EVAL_SIZE] = "36", [GPX_EVALS_METHOD] = "resize",
    [GPX_EVALS_TEST_ACC] = "0.7", [GPX_EVALS_TEST_LOSS] = "0.9", [GPX_EVALS_STATUS] = "ok",
    [GPX_EVALS_REASON] = "",
};

static const char *const bench_row[GPX_BENCH_NCOLUMNS] = {
    [GPX_BENCH_POINT_ID] = "e05ca3685c7b091c", [GPX_BENCH_VARIANT] = "scalar",
    [GPX_BENCH_IMPL] = "scalar", [GPX_BENCH_ISA] = "scalar", [GPX_BENCH_THREADED] = "0",
    [GPX_BENCH_OP] = "avg", [GPX_BENCH_PASS] = "fwd", [GPX_BENCH_LAYOUT] = "nchw",
    [GPX_BENCH_K] = "0", [GPX_BENCH_N] = "64", [GPX_BENCH_C] = "512", [GPX_BENCH_H] = "7", [GPX_BENCH_W] = "7",
    [GPX_BENCH_THREADS] = "1", [GPX_BENCH_MODE] = "hot", [GPX_BENCH_BUFFERS] = "1",
    [GPX_BENCH_BYTES] = "6553600", [GPX_BENCH_REPS] = "21", [GPX_BENCH_CALLS] = "4",
    [GPX_BENCH_MEDIAN_S] = "6.925532e-04", [GPX_BENCH_MIN_S] = "6.791955e-04",
    [GPX_BENCH_GBPS] = "9.463", [GPX_BENCH_PROBE_GBPS] = "29.411", [GPX_BENCH_FRAC] = "0.3218",
    [GPX_BENCH_PROBE_SET] = "x", [GPX_BENCH_PROBE_KERNEL] = "zmm4x2",
    [GPX_BENCH_CPU_WAIT] = "0.0000", [GPX_BENCH_ATTEMPTS] = "2", [GPX_BENCH_STATUS] = "ok",
    [GPX_BENCH_NOTE] = "",
};

static const char *const profile_row[GPX_PROFILE_NCOLUMNS] = {
    [GPX_PROFILE_LAYER] = "0", [GPX_PROFILE_KIND] = "conv2d", [GPX_PROFILE_PASS] = "forward",
    [GPX_PROFILE_OUT_SHAPE] = "64x8x28x28", [GPX_PROFILE_MEDIAN_MS] = "0.088652",
    [GPX_PROFILE_MIN_MS] = "0.061513", [GPX_PROFILE_WALL_MEDIAN_MS] = "0.088652",
    [GPX_PROFILE_FLOPS] = "7225344", [GPX_PROFILE_BYTES] = "1806624",
    [GPX_PROFILE_GFLOP_S] = "81.5023", [GPX_PROFILE_GB_S] = "20.3788",
    [GPX_PROFILE_FLOP_PER_BYTE] = "3.9994", [GPX_PROFILE_SHARE_PCT] = "0.703",
    [GPX_PROFILE_PEAK_FRAC] = "0.2543",
    [GPX_PROFILE_DESC] = "\"3x3/1 pad 1, direct avx512\"",
};

static const char *const progress_row[GPX_PROGRESS_NCOLUMNS] = {
    [GPX_PROGRESS_EPOCH] = "1", [GPX_PROGRESS_LR] = "0.0030000000260770321",
    [GPX_PROGRESS_TRAIN_LOSS] = "1.3867648855845134",
    [GPX_PROGRESS_TRAIN_ACC] = "0.22333333333333333",
    [GPX_PROGRESS_TRAIN_PASS_ACC] = "", [GPX_PROGRESS_VAL_LOSS] = "nan",
    [GPX_PROGRESS_VAL_ACC] = "nan", [GPX_PROGRESS_TEST_LOSS] = "1.3849747037887574",
    [GPX_PROGRESS_TEST_ACC] = "0.25", [GPX_PROGRESS_EPOCH_S] = "0.010482486999990215",
    [GPX_PROGRESS_EVAL_S] = "0.00030108499993275473",
    [GPX_PROGRESS_IMG_PER_S] = "28619.162609052608",
};

/* rows[0..n-1] each a copy of the valid row of f. */
static void valid_rows(const char *const *valid, size_t ncolumns,
                       const char *rows[][MAX_COLUMNS], size_t n)
{
    for (size_t r = 0; r < n; r++)
        memcpy(rows[r], valid, ncolumns * sizeof *valid);
}

/* rows[0..1]: valid rows of f with keys of their own (runs: another run;
 * epochs, progress: another epoch). */
static void two_rows(const gpx_record_file *f, const char *const *valid,
                     const char *rows[][MAX_COLUMNS])
{
    valid_rows(valid, f->ncolumns, rows, 2);
    if (f == &gpx_runs_file)
        rows[0][GPX_RUNS_RUN_ID] = "fedcba9876543210";
    if (f == &gpx_epochs_file)
        rows[0][GPX_EPOCHS_EPOCH] = "2";
    if (f == &gpx_progress_file)
        rows[0][GPX_PROGRESS_EPOCH] = "2";
}

/* A file of f: its header, then one line per row of values (each row a
 * list in f's column order), each line ended; caller frees. */
static char *file_text(const gpx_record_file *f, const char *preamble,
                       const char *const (*rows)[MAX_COLUMNS], size_t nrows)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    fputs(preamble, mem);
    gpx_record_header(mem, f, NULL);
    for (size_t r = 0; r < nrows; r++)
        for (size_t k = 0; k < f->ncolumns; k++)
            fprintf(mem, "%s%s", rows[r][k], k + 1 < f->ncolumns ? "," : "\n");
    assert_int_equal(fclose(mem), 0);
    return text;
}

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/gpool-checks.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return rmdir(dir);
}

/* text written as DIR/name and read as f: the return of gpx_record_load,
 * err set; with expect, -1 and err "DIR/name:" + expect exactly. */
static int read_as(const gpx_record_file *f, const char *text, const char *expect)
{
    char path[512], err[2048] = "";
    int col[MAX_COLUMNS], missing = 0;
    gpx_csv t;
    snprintf(path, sizeof path, "%s/%s", dir, f->name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    int rc = gpx_record_load(&t, path, f, NULL, 0, col, &missing, err, sizeof err);
    assert_int_equal(missing, 0);
    if (expect) {
        char want[2600];
        snprintf(want, sizeof want, "%s:%s", path, expect);
        if (rc != -1 || strcmp(err, want))
            fail_msg("%s: got %d '%s', want -1 '%s'", f->name, rc, err, want);
        assert_int_equal(t.nrows, 0);
        assert_string_equal(t.path, path);
    } else if (rc) {
        fail_msg("%s: a valid file refused: %s", f->name, err);
    }
    gpx_csv_free(&t);
    unlink(path);
    return rc;
}

/* One bad value in column k of the second of two valid rows of f. */
typedef struct {
    const gpx_record_file *file;
    int                    column;
    const char            *value;
    const char            *message;  /* after "PATH:3: column NAME: " */
} bad_value;

static void refuse_value(const bad_value *b, const char *const *valid)
{
    const gpx_record_file *f = b->file;
    const char *rows[2][MAX_COLUMNS];
    char expect[1024];
    two_rows(f, valid, rows);
    rows[1][b->column] = b->value;
    int line = 3 + (f->csv_flags & GPX_CSV_COMMENTS ? 1 : 0);
    snprintf(expect, sizeof expect, "%d: column %s: %s", line, f->columns[b->column].name,
             b->message);
    char *text = file_text(f, f->csv_flags & GPX_CSV_COMMENTS ? "# a comment\n" : "",
                           (const char *const(*)[MAX_COLUMNS])rows, 2);
    read_as(f, text, expect);
    free(text);
}

static const char *const *valid_row_of(const gpx_record_file *f)
{
    return f == &gpx_runs_file ? runs_row : f == &gpx_epochs_file ? epochs_row
           : f == &gpx_evals_file ? evals_row : f == &gpx_bench_file ? bench_row
           : f == &gpx_profile_file ? profile_row : progress_row;
}

/* -------------------------------------------------------------- tests */

/* The valid rows, two of each file, pass; and what gpool writes for an
 * unknown value (an empty field) is taken in every column that is not
 * required. */
static void test_valid_files_read(void **state)
{
    (void)state;
    const gpx_record_file *files[] = { &gpx_runs_file, &gpx_epochs_file, &gpx_evals_file,
                                       &gpx_bench_file, &gpx_profile_file, &gpx_progress_file };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const gpx_record_file *f = files[i];
        const char *rows[2][MAX_COLUMNS];
        assert_true(f->ncolumns <= MAX_COLUMNS);
        two_rows(f, valid_row_of(f), rows);
        for (size_t k = 0; k < f->ncolumns; k++)
            if (!(f->columns[k].rule & GPX_REQUIRED))
                rows[1][k] = "";
        char *text = file_text(f, f == &gpx_profile_file ? "# one\n# two\n" : "",
                               (const char *const(*)[MAX_COLUMNS])rows, 2);
        assert_int_equal(read_as(f, text, NULL), 0);
        free(text);
    }
}

static void test_values_refused(void **state)
{
    (void)state;
    static const char not_finite[] =
        "is not a finite number (gpool writes a value it does not know as an empty field)";
    static char nan_msg[160], inf_msg[160], huge_msg[160];
    snprintf(nan_msg, sizeof nan_msg, "'nan' %s", not_finite);
    snprintf(inf_msg, sizeof inf_msg, "'inf' %s", not_finite);
    snprintf(huge_msg, sizeof huge_msg, "'1e999' %s", not_finite);
    const bad_value bad[] = {
        { &gpx_runs_file, GPX_RUNS_PARAMS, "-5", "-5 is below 0, the least it can be" },
        { &gpx_runs_file, GPX_RUNS_FINAL_TEST_ACC, "nan", nan_msg },
        { &gpx_runs_file, GPX_RUNS_BEST_TEST_ACC, "inf", inf_msg },
        { &gpx_runs_file, GPX_RUNS_FLOPS, "1e999", huge_msg },
        { &gpx_runs_file, GPX_RUNS_FINAL_TEST_ACC, "1.5", "1.5 is outside [0, 1]" },
        { &gpx_runs_file, GPX_RUNS_FINAL_TRAIN_ACC, "-0.01", "-0.01 is outside [0, 1]" },
        { &gpx_runs_file, GPX_RUNS_EPOCHS, "2.5", "'2.5' is not a whole number" },
        { &gpx_runs_file, GPX_RUNS_SEED, " 1", "' 1' is not a whole number" },
        { &gpx_runs_file, GPX_RUNS_MEM_TOTAL, "99999999999999999999",
          "'99999999999999999999' is not a whole number" },
        { &gpx_runs_file, GPX_RUNS_BATCH, "0", "0 is below 1, the least it can be" },
        { &gpx_runs_file, GPX_RUNS_BEST_EPOCH, "0", "0 is below 1, the least it can be" },
        { &gpx_runs_file, GPX_RUNS_FINAL_TEST_LOSS, "low", "'low' is not a number" },
        { &gpx_runs_file, GPX_RUNS_TRAIN_S, "-1.000", "-1.000 is below 0, the least it can be" },
        { &gpx_runs_file, GPX_RUNS_STATUS, "o",
          "'o' is none of ok, diverged, failed, interrupted" },
        { &gpx_runs_file, GPX_RUNS_STATUS, "", "empty, where a value is required" },
        { &gpx_runs_file, GPX_RUNS_RUN_ID, "", "empty, where a value is required" },
        { &gpx_epochs_file, GPX_EPOCHS_EPOCH, "0", "0 is below 1, the least it can be" },
        { &gpx_epochs_file, GPX_EPOCHS_TEST_ACC, "2", "2 is outside [0, 1]" },
        { &gpx_epochs_file, GPX_EPOCHS_LR, "-0.001", "-0.001 is below 0, the least it can be" },
        { &gpx_evals_file, GPX_EVALS_STATUS, "maybe", "'maybe' is none of ok, n/a" },
        { &gpx_evals_file, GPX_EVALS_EVAL_SIZE, "0", "0 is outside [1, 100000]" },
        { &gpx_bench_file, GPX_BENCH_THREADED, "2", "2 is outside [0, 1]" },
        { &gpx_bench_file, GPX_BENCH_STATUS, "fine",
          "'fine' is none of ok, mismatch, error, interrupted" },
        { &gpx_profile_file, GPX_PROFILE_SHARE_PCT, "-0.7",
          "-0.7 is below 0, the least it can be" },
        { &gpx_progress_file, GPX_PROGRESS_TEST_ACC, "inf", inf_msg },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refuse_value(&bad[i], valid_row_of(bad[i].file));
}

/* A file cut short in its last row (with the right number of fields or
 * not) or in its header; rows of another width. */
static void test_cut_and_ragged_rows(void **state)
{
    (void)state;
    static const char cut[] = "the row is cut short: the file ends in the middle of it "
                              "(no line ending)";
    char expect[256];
    const char *rows[2][MAX_COLUMNS];
    valid_rows(runs_row, GPX_RUNS_NCOLUMNS, rows, 2);
    rows[0][0] = "fedcba9876543210";
    rows[1][GPX_RUNS_REASON] = "out of memory";
    char *text = file_text(&gpx_runs_file, "", (const char *const(*)[MAX_COLUMNS])rows, 2);
    size_t len = strlen(text);
    snprintf(expect, sizeof expect, "3: %s", cut);
    text[len - 5] = '\0';   /* in the middle of the reason: still 29 fields */
    read_as(&gpx_runs_file, text, expect);
    text[len - 5] = 'm';
    text[len - 1] = '\0';   /* only the newline lost */
    read_as(&gpx_runs_file, text, expect);
    text[len - 15] = '\0';  /* after "ok": a field short, and no line ending */
    read_as(&gpx_runs_file, text, expect);
    memcpy(text + len - 15, "\n", 2);   /* a field short, the line ended */
    read_as(&gpx_runs_file, text, "3: 28 fields where the header has 29");
    memcpy(text + len - 15, ",,\n", 4);
    read_as(&gpx_runs_file, text, "3: 30 fields where the header has 29");
    free(text);
    snprintf(expect, sizeof expect, "1: %s", cut);
    read_as(&gpx_epochs_file, "run_id,head", expect);
    read_as(&gpx_epochs_file, "", "1: empty (no header line)");
}

/* A run twice in runs.csv; a run's epoch twice in epochs.csv (other runs
 * and other epochs repeat freely); a size twice in evals.csv is taken. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *rows[4][MAX_COLUMNS];
    valid_rows(runs_row, GPX_RUNS_NCOLUMNS, rows, 4);
    rows[0][0] = "aaaaaaaaaaaaaaaa";
    rows[2][0] = "bbbbbbbbbbbbbbbb";
    rows[3][0] = "aaaaaaaaaaaaaaaa";
    char *text = file_text(&gpx_runs_file, "", (const char *const(*)[MAX_COLUMNS])rows, 4);
    read_as(&gpx_runs_file, text,
            "5: a second row of run_id aaaaaaaaaaaaaaaa (the first is line 2)");
    free(text);

    valid_rows(epochs_row, GPX_EPOCHS_NCOLUMNS, rows, 4);
    rows[1][GPX_EPOCHS_EPOCH] = "2";
    rows[2][0] = "bbbbbbbbbbbbbbbb";
    text = file_text(&gpx_epochs_file, "", (const char *const(*)[MAX_COLUMNS])rows, 3);
    assert_int_equal(read_as(&gpx_epochs_file, text, NULL), 0);
    free(text);
    rows[3][GPX_EPOCHS_EPOCH] = "2";
    text = file_text(&gpx_epochs_file, "", (const char *const(*)[MAX_COLUMNS])rows, 4);
    read_as(&gpx_epochs_file, text, "5: a second row of run_id 0123456789abcdef, epoch 2 "
                                    "(the first is line 3)");
    free(text);

    valid_rows(evals_row, GPX_EVALS_NCOLUMNS, rows, 2);
    text = file_text(&gpx_evals_file, "", (const char *const(*)[MAX_COLUMNS])rows, 2);
    assert_int_equal(read_as(&gpx_evals_file, text, NULL), 0);
    free(text);
}

/* A column the reader needs is missing; a missing file is no error when
 * the caller allows it. */
static void test_missing_columns_and_files(void **state)
{
    (void)state;
    char path[512], err[1024];
    int col[GPX_RUNS_NCOLUMNS], missing = 0;
    gpx_csv t;
    read_as(&gpx_runs_file, "run_id,head,status\nx,gap,ok\n",
            " missing columns: experiment, seed, threads, batch, epochs, params, flops, "
            "mem_params, mem_grads, mem_optim, mem_activations, mem_workspace, mem_total, "
            "final_train_loss, final_train_acc, final_val_acc, final_test_loss, "
            "final_test_acc, best_test_acc, best_epoch, train_s, img_per_s, peak_rss_mib, "
            "variant, reason (not a runs.csv written by gpool?)");
    snprintf(path, sizeof path, "%s/absent.csv", dir);
    assert_int_equal(gpx_record_load(&t, path, &gpx_runs_file, NULL, 0, col, &missing, err,
                                     sizeof err), 0);
    assert_int_equal(missing, 1);
    assert_int_equal(col[GPX_RUNS_STATUS], -1);
    assert_int_equal(gpx_record_load(&t, path, &gpx_runs_file, NULL, 0, col, NULL, err,
                                     sizeof err), -1);
    assert_non_null(strstr(err, "absent.csv: cannot be read"));
    gpx_csv_free(&t);
}

/* An epochs.csv row of a run that runs.csv has no row for. */
static void test_runs_known(void **state)
{
    (void)state;
    char err[1024];
    gpx_csv runs, epochs;
    assert_int_equal(gpx_csv_parse(&runs, "d/runs.csv", "run_id\na\nb\n", err, sizeof err), 0);
    assert_int_equal(gpx_csv_parse(&epochs, "d/epochs.csv", "epoch,run_id\n1,b\n1,a\n2,a\n",
                                   err, sizeof err), 0);
    assert_int_equal(gpx_record_runs_known(&epochs, 1, &runs, 0, err, sizeof err), 0);
    gpx_csv_free(&epochs);
    assert_int_equal(gpx_csv_parse(&epochs, "d/epochs.csv", "epoch,run_id\n1,b\n1,c\n2,a\n",
                                   err, sizeof err), 0);
    assert_int_equal(gpx_record_runs_known(&epochs, 1, &runs, 0, err, sizeof err), -1);
    assert_string_equal(err, "d/epochs.csv:3: run c is not in d/runs.csv (files of different "
                             "sweeps, or rows lost?)");
    gpx_csv_free(&epochs);
    gpx_csv_free(&runs);
}

/* The flags of the CSV reader: comment lines skipped but counted, and the
 * last line required to end. Without them, RFC 4180 as before. */
static void test_csv_flags(void **state)
{
    (void)state;
    char err[512];
    gpx_csv t;
    const char *text = "# made by hand\n#\na,b\n1,2\n3,4";
    assert_int_equal(gpx_csv_parse(&t, "c.csv", text, err, sizeof err), -1);
    assert_string_equal(err, "c.csv:3: 2 fields where the header has 1");
    assert_int_equal(gpx_csv_parse_with(&t, "c.csv", text, GPX_CSV_COMMENTS, err, sizeof err),
                     0);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.rows[0].line, 4);
    assert_string_equal(gpx_csv_field(&t, 1, 1), "4");
    gpx_csv_free(&t);
    assert_int_equal(gpx_csv_parse_with(&t, "c.csv", text, GPX_CSV_COMMENTS | GPX_CSV_WHOLE_LINES,
                                        err, sizeof err), -1);
    assert_string_equal(err, "c.csv:5: the row is cut short: the file ends in the middle of it "
                             "(no line ending)");
    assert_int_equal(gpx_csv_parse_with(&t, "c.csv", "# only\n", GPX_CSV_COMMENTS, err,
                                        sizeof err), -1);
    assert_string_equal(err, "c.csv:2: empty (no header line)");
    assert_int_equal(gpx_csv_parse_with(&t, "c.csv", "a\n\"x\ny\"\n", GPX_CSV_WHOLE_LINES, err,
                                        sizeof err), 0);
    assert_string_equal(gpx_csv_field(&t, 0, 0), "x\ny");
    gpx_csv_free(&t);
}

/* The files committed under results/ pass: the rules are those of the
 * files gpool has written. */
static void test_committed_results_read(void **state)
{
    (void)state;
    static const struct {
        const char            *path;
        const gpx_record_file *file;
    } committed[] = {
        { "heads/runs.csv", &gpx_runs_file },
        { "heads/epochs.csv", &gpx_epochs_file },
        { "heads-study/runs.csv", &gpx_runs_file },
        { "heads-study/epochs.csv", &gpx_epochs_file },
        { "input-size/runs.csv", &gpx_runs_file },
        { "input-size/epochs.csv", &gpx_epochs_file },
        { "input-size/evals.csv", &gpx_evals_file },
        { "tutorial/runs.csv", &gpx_runs_file },
        { "tutorial/epochs.csv", &gpx_epochs_file },
        { "kernels/bench.csv", &gpx_bench_file },
        { "heads/profile/profile.csv", &gpx_profile_file },
        { "tutorial/profile/profile.csv", &gpx_profile_file },
    };
    for (size_t i = 0; i < sizeof committed / sizeof *committed; i++) {
        char path[4096], err[2048];
        int col[MAX_COLUMNS];
        gpx_csv t;
        snprintf(path, sizeof path, "%s/%s", RESULTS_DIR, committed[i].path);
        if (gpx_record_load(&t, path, committed[i].file, NULL, 0, col, NULL, err, sizeof err))
            fail_msg("%s", err);
        assert_true(t.nrows > 0);
        gpx_csv_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_files_read),
        cmocka_unit_test(test_values_refused),
        cmocka_unit_test(test_cut_and_ragged_rows),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_missing_columns_and_files),
        cmocka_unit_test(test_runs_known),
        cmocka_unit_test(test_csv_flags),
        cmocka_unit_test(test_committed_results_read),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
