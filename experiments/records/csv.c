/*
 * csv.c - the strict CSV reader (see csv.h).
 */
#include "autoconfig.h"

#include "records/csv.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char  *p;
    size_t len, cap;
} text_buf;

typedef struct {
    gpx_csv    *t;
    const char *c;        /* the next character */
    int         line;     /* of *c, 1-based */
    unsigned    flags;    /* GPX_CSV_* */
    char       *err;
    size_t      errlen;
} csv_parser;

static int buf_put(text_buf *b, char c)
{
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}

static int parse_error(csv_parser *ps, int line, const char *why)
{
    snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->t->path, line, why);
    return -1;
}

/* At the end of a line: "\n", "\r\n" or the end of the text. */
static int at_line_end(const char *c)
{
    return *c == '\0' || *c == '\n' || (*c == '\r' && c[1] == '\n');
}

static int at_field_end(const char *c)
{
    return *c == ',' || at_line_end(c);
}

/* A quoted field, from its opening quote to just past its closing one. */
static int quoted_field(csv_parser *ps, text_buf *field)
{
    int opened = ps->line;
    for (ps->c++;; ps->c++) {
        if (*ps->c == '\0')
            return parse_error(ps, opened, "a quoted field is not closed");
        if (*ps->c == '"' && ps->c[1] == '"') {
            ps->c++;
        } else if (*ps->c == '"') {
            ps->c++;
            if (!at_field_end(ps->c))
                return parse_error(ps, ps->line, "text after the closing quote of a field");
            return 0;
        }
        ps->line += *ps->c == '\n';
        if (buf_put(field, *ps->c))
            return parse_error(ps, ps->line, "out of memory");
    }
}

static int plain_field(csv_parser *ps, text_buf *field)
{
    for (; !at_field_end(ps->c); ps->c++) {
        if (*ps->c == '"')
            return parse_error(ps, ps->line, "a quote inside a field that is not quoted");
        if (*ps->c == '\r')
            return parse_error(ps, ps->line, "a carriage return inside a field");
        if (buf_put(field, *ps->c))
            return parse_error(ps, ps->line, "out of memory");
    }
    return 0;
}

static int row_push(gpx_csv_row *row, text_buf *field)
{
    char **grown = realloc(row->field, (row->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    row->field = grown;
    row->field[row->n] = field->p ? field->p : strdup("");
    memset(field, 0, sizeof *field);
    return row->field[row->n++] ? 0 : -1;
}

static void row_free(gpx_csv_row *row)
{
    for (size_t k = 0; k < row->n; k++)
        free(row->field[k]);
    free(row->field);
    memset(row, 0, sizeof *row);
}

/* One row: fields up to the end of its line, which it consumes. */
static int parse_row(csv_parser *ps, gpx_csv_row *row)
{
    const char *start = ps->c;
    row->line = ps->line;
    for (;;) {
        text_buf field = { 0 };
        int bad = *ps->c == '"' ? quoted_field(ps, &field) : plain_field(ps, &field);
        if (bad || row_push(row, &field)) {
            free(field.p);
            return bad ? -1 : parse_error(ps, row->line, "out of memory");
        }
        if (*ps->c != ',')
            break;
        ps->c++;
    }
    row->start = (size_t)(start - ps->t->text);
    row->len = (size_t)(ps->c - start);
    if (!*ps->c && (ps->flags & GPX_CSV_WHOLE_LINES))
        return parse_error(ps, row->line, "the row is cut short: the file ends in the middle "
                                          "of it (no line ending)");
    ps->c += *ps->c == '\r' ? 2 : *ps->c == '\n';
    ps->line++;
    return 0;
}

static int check_header(csv_parser *ps)
{
    const gpx_csv_row *h = &ps->t->header;
    char why[512];
    for (size_t k = 0; k < h->n; k++) {
        if (!h->field[k][0]) {
            snprintf(why, sizeof why, "column %zu of the header has no name", k + 1);
            return parse_error(ps, h->line, why);
        }
        for (size_t j = 0; j < k; j++)
            if (!strcmp(h->field[j], h->field[k])) {
                snprintf(why, sizeof why, "the header names column %.200s twice", h->field[k]);
                return parse_error(ps, h->line, why);
            }
    }
    return 0;
}

static int add_row(csv_parser *ps, gpx_csv_row *row)
{
    gpx_csv *t = ps->t;
    if (row->n != t->header.n) {
        char why[128];
        snprintf(why, sizeof why, "%zu fields where the header has %zu", row->n, t->header.n);
        return parse_error(ps, row->line, why);
    }
    gpx_csv_row *grown = realloc(t->rows, (t->nrows + 1) * sizeof *grown);
    if (!grown)
        return parse_error(ps, row->line, "out of memory");
    t->rows = grown;
    t->rows[t->nrows++] = *row;
    memset(row, 0, sizeof *row);
    return 0;
}

/* The comment lines before the header (GPX_CSV_COMMENTS). */
static void skip_comments(csv_parser *ps)
{
    while ((ps->flags & GPX_CSV_COMMENTS) && *ps->c == '#') {
        const char *end = strchr(ps->c, '\n');
        ps->c = end ? end + 1 : ps->c + strlen(ps->c);
        ps->line++;
    }
}

static int parse_all(csv_parser *ps)
{
    skip_comments(ps);
    if (!*ps->c)
        return parse_error(ps, ps->line, "empty (no header line)");
    if (parse_row(ps, &ps->t->header) || check_header(ps))
        return -1;
    while (*ps->c) {
        gpx_csv_row row = { 0 };
        if (parse_row(ps, &row) || add_row(ps, &row)) {
            row_free(&row);
            return -1;
        }
    }
    return 0;
}

int gpx_csv_parse(gpx_csv *t, const char *path, const char *text, char *err, size_t errlen)
{
    return gpx_csv_parse_with(t, path, text, 0, err, errlen);
}

int gpx_csv_parse_with(gpx_csv *t, const char *path, const char *text, unsigned flags,
                       char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->text = strdup(text);
    if (!t->text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    csv_parser ps = { t, t->text, 1, flags, err, errlen };
    if (parse_all(&ps)) {
        gpx_csv_free(t);
        snprintf(t->path, sizeof t->path, "%s", path);
        return -1;
    }
    return 0;
}

int gpx_csv_load(gpx_csv *t, const char *path, int *missing, char *err, size_t errlen)
{
    return gpx_csv_load_with(t, path, 0, missing, err, errlen);
}

int gpx_csv_load_with(gpx_csv *t, const char *path, unsigned flags, int *missing, char *err,
                      size_t errlen)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    char *text = gpx_read_text(path);
    if (!text) {
        if (missing && errno == ENOENT) {
            *missing = 1;
            return 0;
        }
        snprintf(err, errlen, "%s: cannot be read: %s", path, strerror(errno));
        return -1;
    }
    int rc = gpx_csv_parse_with(t, path, text, flags, err, errlen);
    free(text);
    return rc;
}

void gpx_csv_free(gpx_csv *t)
{
    row_free(&t->header);
    for (size_t r = 0; r < t->nrows; r++)
        row_free(&t->rows[r]);
    free(t->rows);
    free(t->text);
    memset(t, 0, sizeof *t);
}

int gpx_csv_column(const gpx_csv *t, const char *name)
{
    for (size_t k = 0; k < t->header.n; k++)
        if (!strcmp(t->header.field[k], name))
            return (int)k;
    return -1;
}

const char *gpx_csv_field(const gpx_csv *t, size_t r, int col)
{
    return t->rows[r].field[col];
}

int gpx_csv_number(const gpx_csv *t, size_t r, int col, double *out, char *err, size_t errlen)
{
    const char *s = t->rows[r].field[col];
    char *end;
    if (!*s) {
        *out = NAN;
        return 0;
    }
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) {
        snprintf(err, errlen, "%s:%d: column %s: '%s' is not a number", t->path, t->rows[r].line,
                 t->header.field[col], s);
        return -1;
    }
    return 0;
}

int gpx_csv_find(const gpx_csv *t, int col, const char *value, size_t *row)
{
    for (size_t r = *row; col >= 0 && r < t->nrows; r++)
        if (!strcmp(t->rows[r].field[col], value)) {
            *row = r;
            return 0;
        }
    return -1;
}

const char *gpx_csv_raw(const gpx_csv *t, size_t r, size_t *len)
{
    *len = t->rows[r].len;
    return t->text + t->rows[r].start;
}

void gpx_csv_write_text(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, fp);
    }
    fputc('"', fp);
}

void gpx_csv_write_number(FILE *fp, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(fp, fmt, v);
}
