/*
 * table_text.c - the pieces every table of `gpool table` is written with,
 * in markdown and LaTeX (see table_text.h).
 */
#include "autoconfig.h"

#include <string.h>

#include "records/table_text.h"

const gpx_markup gpx_markdown = {
    .latex = 0, .item = "- ", .subitem = "  - ", .list_begin = "", .list_end = "",
    .pm = "±", .minus = "-", .percent = "%", .none = "-", .none_said = "\"-\"",
    .thousands = ",",
};

const gpx_markup gpx_latex = {
    .latex = 1, .item = "\\item ", .subitem = "  \\item ",
    .list_begin = "  \\begin{itemize}\n", .list_end = "  \\end{itemize}\n",
    .pm = "$\\pm$", .minus = "$-$", .percent = "\\%", .none = "--", .none_said = "--",
    .thousands = "{,}",
};

void gpx_put_escaped(FILE *fp, const char *s, const gpx_markup *m)
{
    for (; *s; s++) {
        if (!m->latex) {
            if (*s == '|')
                fputc('\\', fp);
            fputc(*s == '\n' ? ' ' : *s, fp);
        } else if (strchr("&%$#_{}", *s)) {
            fprintf(fp, "\\%c", *s);
        } else if (*s == '\\') {
            fputs("\\textbackslash{}", fp);
        } else if (*s == '~') {
            fputs("\\textasciitilde{}", fp);
        } else if (*s == '^') {
            fputs("\\textasciicircum{}", fp);
        } else {
            fputc(*s, fp);
        }
    }
}

void gpx_table_open(FILE *fp, const gpx_markup *m, const gpx_table_frame *f)
{
    if (!m->latex) {
        fputs("**", fp);
        gpx_put_escaped(fp, f->name, m);
        fprintf(fp, "**%s\n\n", f->caption);
        return;
    }
    fprintf(fp, "%% written by gpool table from %s; needs \\usepackage{booktabs}\n"
                "\\begin{table}[t]\n\\centering\n\\caption{", f->source);
    gpx_put_escaped(fp, f->name, m);
    fprintf(fp, "%s.}\n\\label{tab:", f->caption);
    /* a label is no text: what LaTeX would read as markup becomes '-' */
    for (const char *c = f->name; *c; c++)
        fputc(strchr("&%$#_{}\\~^ ", *c) ? '-' : *c, fp);
    fprintf(fp, "%s}\n\\begin{tabular}{%s}\n\\toprule\n", f->label, f->align);
}

void gpx_table_rule(FILE *fp, const gpx_markup *m, const gpx_table_frame *f)
{
    if (m->latex) {
        fputs("\\midrule\n", fp);
        return;
    }
    for (size_t k = 0; f->align[k]; k++) {
        gpx_table_cell(fp, m, k);
        fputs(f->align[k] == 'l' ? ":--" : "--:", fp);
    }
    gpx_table_row_end(fp, m);
}

void gpx_table_cell(FILE *fp, const gpx_markup *m, size_t k)
{
    if (m->latex)
        fputs(k ? " & " : "", fp);
    else
        fputs(k ? " | " : "| ", fp);
}

void gpx_table_row_end(FILE *fp, const gpx_markup *m)
{
    fputs(m->latex ? " \\\\\n" : " |\n", fp);
}

void gpx_table_close_body(FILE *fp, const gpx_markup *m)
{
    fputs(m->latex ? "\\bottomrule\n\\end{tabular}\n\n\\footnotesize\n\\begin{itemize}\n" : "\n",
          fp);
}

void gpx_table_close(FILE *fp, const gpx_markup *m)
{
    if (m->latex)
        fputs("\\end{itemize}\n\\end{table}\n", fp);
}

void gpx_format_number(char *buf, size_t len, double x, int decimals, const char *sep)
{
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, x);
    if (raw[0] == '-' && strspn(raw + 1, "0.") == strlen(raw + 1))
        memmove(raw, raw + 1, strlen(raw));
    if (!sep) {
        snprintf(buf, len, "%s", raw);
        return;
    }
    const char *digits = raw + (raw[0] == '-');
    size_t nint = strcspn(digits, "."), o = 0;
    if (raw[0] == '-' && o + 1 < len)
        buf[o++] = '-';
    for (size_t i = 0; i < nint && o + strlen(sep) + 1 < len; i++) {
        if (i && (nint - i) % 3 == 0)
            for (const char *s = sep; *s; s++)
                buf[o++] = *s;
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    snprintf(buf + o, len - o, "%s", digits + nint);
}

void gpx_format_value(char *buf, size_t len, const char *mean, const char *sd,
                      const gpx_markup *m)
{
    int negative = mean[0] == '-';
    const char *sign = negative ? m->minus : "";
    if (sd)
        snprintf(buf, len, "%s%s %s %s", sign, mean + negative, m->pm, sd);
    else
        snprintf(buf, len, "%s%s", sign, mean + negative);
}
