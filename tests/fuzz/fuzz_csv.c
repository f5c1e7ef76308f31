/*
 * fuzz_csv.c - fuzz target of the results-file readers: the CSV reader
 * (records/csv.c) and the column lists of records/results.c that every
 * reader of runs.csv, epochs.csv, evals.csv, ... looks its columns up by.
 * Only the public entry points, so that the readers may change under it.
 *
 * Promises checked: a refusal names the file; every accepted row has as
 * many fields as the header. The input
 * is accepted when it parses (every line ended), every number of a numeric
 * column found reads, and some results file finds all of its columns in it
 * and passes its rules.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "records/csv.h"
#include "records/results.h"

#define TARGET "fuzz_csv"
#define NAME   "fuzz.csv"
#define MAX_COLUMNS 64

static const gpx_record_file *const files[] = {
    &gpx_runs_file,     &gpx_epochs_file,   &gpx_evals_file,     &gpx_bench_file,
    &gpx_profile_file,  &gpx_progress_file, &gpx_throughput_file,
};

static void require_names_file(const char *err)
{
    fuzz_require(TARGET, !strncmp(err, NAME ":", strlen(NAME ":")), "a refusal names the file");
}

/* The numbers of f's numeric columns found in t: 0, or -1 when one is no number. */
static int read_numbers(const gpx_csv *t, const gpx_record_file *f, const int *col)
{
    char err[1024];
    for (size_t k = 0; k < f->ncolumns; k++) {
        if (col[k] < 0 || f->columns[k].type == GPX_COL_TEXT)
            continue;
        for (size_t r = 0; r < t->nrows; r++) {
            double v;
            if (gpx_csv_number(t, r, col[k], &v, err, sizeof err) != 0) {
                require_names_file(err);
                return -1;
            }
        }
    }
    return 0;
}

/* t read as results file f: 1 when it has all of f's columns, its numbers
 * read and its rows obey the columns' rules (gpx_record_check: ranges,
 * finite numbers, no duplicate keys). */
static int read_as(const gpx_csv *t, const gpx_record_file *f, FILE *sink)
{
    int col[MAX_COLUMNS];
    char err[1024];
    fuzz_require(TARGET, f->ncolumns <= MAX_COLUMNS, "MAX_COLUMNS holds every results file");
    int complete = gpx_record_columns(t, f, NULL, 0, col, err, sizeof err) == 0;
    if (!complete)
        require_names_file(err);
    int first, end;
    gpx_record_swept(f, col, &first, &end);
    int numbers = read_numbers(t, f, col) == 0;
    if (complete && numbers && gpx_record_check(t, f, col, err, sizeof err) != 0) {
        require_names_file(err);
        complete = 0;
    }
    size_t row = 0;
    if (t->nrows > 0 && col[0] >= 0)
        gpx_csv_find(t, col[0], gpx_csv_field(t, t->nrows - 1, col[0]), &row);
    if (t->nrows > 1)
        gpx_record_diff(f, t, 0, t, t->nrows - 1, sink);
    return complete && numbers;
}

static void check_rows(const gpx_csv *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        size_t len;
        const char *raw = gpx_csv_raw(t, r, &len);
        fuzz_require(TARGET, t->rows[r].n == t->header.n, "a row has the header's fields");
        fuzz_require(TARGET, raw != NULL, "a row has its text");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    fuzz_require(TARGET, sink != NULL, "/dev/null opens");
    const char *text = fuzz_input_text(TARGET, data, size);
    gpx_csv t;
    char err[1024];
    int accepted = gpx_csv_parse_with(&t, NAME, text, GPX_CSV_WHOLE_LINES, err, sizeof err) == 0;
    if (accepted) {
        check_rows(&t);
        int some = 0;
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
            some |= read_as(&t, files[i], sink);
        accepted = some;
        snprintf(err, sizeof err, "no results file reads it");
    } else {
        require_names_file(err);
    }
    gpx_csv_free(&t);
    fuzz_verdict(TARGET, accepted, err);
    return 0;
}
