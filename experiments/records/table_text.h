/*
 * table_text.h - the tables of `gpool table` as text, in markdown and in
 * LaTeX (booktabs):
 *
 *   table.md, table.tex              one row per group of runs (records/table.h)
 *   table-sizes.md, table-sizes.tex  test accuracy at other input sizes
 *                                    (records/size_study.h)
 *
 * Both tables are written by one set of steps; a gpx_markup says how each
 * step looks in its language:
 *
 *     gpx_table_open(fp, m, &frame);      title or caption, header row, rule
 *     gpx_table_cell(fp, m, k) ... gpx_table_row_end(fp, m)     each row
 *     gpx_table_close_body(fp, m);  notes as gpx_markup items  gpx_table_close(fp, m);
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_TABLE_TEXT_H
#define GPOOL_EXPERIMENTS_RECORDS_TABLE_TEXT_H

#include <stddef.h>
#include <stdio.h>

#include "records/table.h"

/* How a table's pieces look in one markup language. */
typedef struct {
    int         latex;      /* 0 markdown, 1 LaTeX: how text is escaped */
    const char *item;       /* a note: "- " */
    const char *subitem;    /* a note under a note: "  - " */
    const char *list_begin; /* around sub-notes: "" in markdown */
    const char *list_end;
    const char *pm;         /* "±" */
    const char *minus;      /* "-" as a minus sign */
    const char *percent;    /* "%" */
    const char *none;       /* no value (the sd of one run, a size not evaluated): "-" */
    const char *none_said;  /* the same in prose: "\"-\"" */
    const char *thousands;  /* the thousands separator: "," */
} gpx_markup;

extern const gpx_markup gpx_markdown;
extern const gpx_markup gpx_latex;

/* What a table is: its caption and columns. */
typedef struct {
    const char *name;     /* the experiment: the title starts with it */
    const char *caption;  /* the rest of the title, in the markup */
    const char *source;   /* the file it is written from, for a LaTeX comment */
    const char *label;    /* the LaTeX label: tab:NAME then this */
    const char *align;    /* one l (text) or r (number) per column */
} gpx_table_frame;

/* Writes a table to fp in markup m (gpx_markdown or gpx_latex). */
typedef void (*gpx_table_writer)(FILE *fp, const gpx_table *t, const gpx_markup *m);

/* The table of runs (table.md, table.tex): its rows and its notes. */
void gpx_write_runs_table(FILE *fp, const gpx_table *t, const gpx_markup *m);

/* The table of t->study (table-sizes.md, table-sizes.tex). */
void gpx_write_size_table(FILE *fp, const gpx_table *t, const gpx_markup *m);

/* ------------------------------------------------------ the pieces */

/* The title (markdown) or the table environment, caption and label (LaTeX),
 * up to the header row. */
void gpx_table_open      (FILE *fp, const gpx_markup *m, const gpx_table_frame *f);
/* Between the header row and the body: the alignment row or \midrule. */
void gpx_table_rule      (FILE *fp, const gpx_markup *m, const gpx_table_frame *f);
/* Before cell k of a row (k from 0): the cell separator. */
void gpx_table_cell      (FILE *fp, const gpx_markup *m, size_t k);
/* After a row's last cell. */
void gpx_table_row_end   (FILE *fp, const gpx_markup *m);
/* After the last row, before the notes. */
void gpx_table_close_body(FILE *fp, const gpx_markup *m);
/* After the notes. */
void gpx_table_close     (FILE *fp, const gpx_markup *m);

/* Text in a table or note: markdown pipes and LaTeX specials escaped. */
void gpx_put_escaped     (FILE *fp, const char *s, const gpx_markup *m);

/* x with decimals ("-0.00" as "0.00"), thousands separated by sep (NULL:
 * none). */
void gpx_format_number   (char *buf, size_t len, double x, int decimals,
                          const char *sep);

/* "mean ± sd" (both already formatted), or the mean alone when sd is NULL
 * (m->none for the sd of one run); in LaTeX a leading '-' is a minus sign. */
void gpx_format_value    (char *buf, size_t len, const char *mean, const char *sd,
                          const gpx_markup *m);

#endif /* GPOOL_EXPERIMENTS_RECORDS_TABLE_TEXT_H */
