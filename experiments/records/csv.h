/*
 * csv.h - the one CSV reader of the gpool commands: RFC 4180, strictly;
 * and the two field writers the results files are written with.
 *
 * A file is a header line and rows of as many fields. A field is either
 * plain text without quotes, or quoted from its first character to a
 * closing quote that ends it (then a comma or the end of the line must
 * follow); inside the quotes, "" is a quote and commas and newlines are
 * text. Lines end in \n or \r\n. Everything else is an error that names
 * the file and line: a quote inside a plain field, text after a closing
 * quote, a quoted field that is never closed, a row with another number of
 * fields than the header (a blank line is such a row), a header with an
 * empty or repeated name. With GPX_CSV_WHOLE_LINES, also a last line
 * without its line ending (the results files always end in one: a file
 * without it was cut short); with GPX_CSV_COMMENTS, lines starting with '#'
 * before the header are skipped.
 *
 *     gpx_csv t;
 *     if (gpx_csv_load(&t, "results/x/runs.csv", NULL, err, sizeof err)) ...
 *     int status = gpx_csv_column(&t, "status");
 *     for (size_t r = 0; r < t.nrows; r++) use(gpx_csv_field(&t, r, status));
 *     gpx_csv_free(&t);
 *
 * Which columns a results file has, and which a reader needs, is said once
 * in records/results.h; this reader only knows CSV.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_CSV_H
#define GPOOL_EXPERIMENTS_RECORDS_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char  **field;
    size_t  n;
    int     line;        /* where the row starts in the file, 1-based */
    size_t  start, len;  /* its text in the file, the line ending left out */
} gpx_csv_row;

typedef struct {
    char         path[4096];  /* for messages */
    char        *text;        /* the whole file, for gpx_csv_raw */
    gpx_csv_row  header;
    gpx_csv_row *rows;
    size_t       nrows;
} gpx_csv;

/* Parse text (copied) as the file path. 0, or -1 with "path:line: why"
 * in err; t is then empty but must still be freed. */
int         gpx_csv_parse (gpx_csv *t, const char *path, const char *text, char *err,
                           size_t errlen);

/* Read and parse a file. A missing file sets *missing (when missing is not
 * NULL) and returns 0 with t empty, instead of failing. */
int         gpx_csv_load  (gpx_csv *t, const char *path, int *missing, char *err,
                           size_t errlen);

/* What gpx_csv_parse_with and gpx_csv_load_with ask beyond RFC 4180. */
enum {
    GPX_CSV_COMMENTS    = 1,  /* lines starting with '#' before the header are skipped */
    GPX_CSV_WHOLE_LINES = 2   /* the last line ends in a line ending too: without one,
                                 the file was cut short in the middle of a row */
};

/* gpx_csv_parse and gpx_csv_load, with flags (GPX_CSV_*); the lines
 * skipped still count in the line numbers. */
int         gpx_csv_parse_with(gpx_csv *t, const char *path, const char *text, unsigned flags,
                               char *err, size_t errlen);
int         gpx_csv_load_with (gpx_csv *t, const char *path, unsigned flags, int *missing,
                               char *err, size_t errlen);

/* Free what parse or load allocated (safe on a zeroed or freed table). */
void        gpx_csv_free  (gpx_csv *t);

/* Index of the header's column name, or -1. */
int         gpx_csv_column(const gpx_csv *t, const char *name);

/* Field col of row r (quotes undone). */
const char *gpx_csv_field (const gpx_csv *t, size_t r, int col);

/* Field col of row r as a number: an empty field is NaN (the writers leave
 * unknown values empty). 0, or -1 with "path:line: column NAME: ..." */
int         gpx_csv_number(const gpx_csv *t, size_t r, int col, double *out, char *err,
                           size_t errlen);

/* The first row from *row on whose field col is value: 0 (*row set) or -1. */
int         gpx_csv_find  (const gpx_csv *t, int col, const char *value, size_t *row);

/* Row r as it stands in the file, without its line ending; *len its length. */
const char *gpx_csv_raw   (const gpx_csv *t, size_t r, size_t *len);

/* ------------------------------------------------------------- writing */

/* A text field: quoted (quotes doubled, line breaks to spaces) when it needs
 * it, so that every row stays on one line. */
void        gpx_csv_write_text  (FILE *fp, const char *s);

/* A number with fmt, or nothing (an empty field) when it is NaN or infinite. */
void        gpx_csv_write_number(FILE *fp, const char *fmt, double v);

#endif /* GPOOL_EXPERIMENTS_RECORDS_CSV_H */
