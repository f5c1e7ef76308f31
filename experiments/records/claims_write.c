/*
 * claims_write.c - the claims table as claims.md and claims.tex
 * (records/claims.h): one row per claim, one line of its effect cell per
 * test (per value of its condition).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "records/claims.h"
#include "util/util.h"

typedef struct {
    const gpx_claim_result *r;
    size_t                  n;
} claims_table;

/* How a cell's text is written in one format. */
typedef struct {
    const char *newline;                  /* between the lines of a cell */
    const char *dash;                     /* no value */
    void      (*text)(FILE *fp, const char *s);
} cell_style;

static void md_text(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', fp);
        fputc(*s, fp);
    }
}

static void tex_text(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (strchr("&%$#_{}", *s))
            fprintf(fp, "\\%c", *s);
        else if (*s == '~' || *s == '^' || *s == '\\')
            fputs(*s == '~' ? "\\textasciitilde{}" : *s == '^' ? "\\textasciicircum{}"
                                                             : "\\textbackslash{}", fp);
        else
            fputc(*s, fp);
    }
}

static const cell_style md_style = { "<br>", "–", md_text };
static const cell_style tex_style = { " \\newline ", "--", tex_text };

static int any_p(const gpx_claim_result *r)
{
    for (size_t i = 0; i < r->ntests; i++)
        if (isfinite(r->tests[i].p))
            return 1;
    return 0;
}

/* The test's condition, "14x14: ", before its line of a cell. */
static void condition_prefix(FILE *fp, const gpx_claim_test *t, const cell_style *st)
{
    if (t->condition[0]) {
        st->text(fp, t->condition);
        fputs(": ", fp);
    }
}

static void effect_cell(FILE *fp, const gpx_claim_result *r, const cell_style *st)
{
    for (size_t i = 0; i < r->ntests; i++) {
        const gpx_claim_test *t = &r->tests[i];
        fputs(i ? st->newline : "", fp);
        condition_prefix(fp, t, st);
        if (!t->npairs)
            fputs(st->dash, fp);
        else if (isfinite(t->lo))
            fprintf(fp, "%.4g [%.4g, %.4g] (%zu pairs)", t->mean, t->lo, t->hi, t->npairs);
        else
            fprintf(fp, "%.4g (%s, %zu pairs)", t->mean,
                    t->constant ? "every pair" : "no interval", t->npairs);
    }
    if (!r->ntests)
        fputs(st->dash, fp);
}

/* The raw (holm 0) or Holm-adjusted p-values, one line per test. */
static void p_cell(FILE *fp, const gpx_claim_result *r, int holm, const cell_style *st)
{
    if (!any_p(r)) {
        fputs(st->dash, fp);
        return;
    }
    for (size_t i = 0; i < r->ntests; i++) {
        double p = holm ? r->tests[i].p_holm : r->tests[i].p;
        fputs(i ? st->newline : "", fp);
        condition_prefix(fp, &r->tests[i], st);
        if (isfinite(p))
            fprintf(fp, p < 1e-4 ? "%.1e" : "%.4f", p);
        else
            fputs(st->dash, fp);
    }
}

static void verdict_cell(FILE *fp, const gpx_claim_result *r, const cell_style *st)
{
    const gpx_claim *k = r->claim;
    if (!r->ntests) {
        fputs("no evidence yet", fp);
    } else if (r->verdict == GPX_VERDICT_DEPENDS) {
        fputs("depends on ", fp);
        st->text(fp, k->condition);
        fputs(": ", fp);
        st->text(fp, r->depends);
    } else {
        fprintf(fp, "%s (%s)", gpx_verdict_name(r->verdict), r->tests[0].why);
    }
}

/* "id: text (metric, a vs b: less)" */
static void claim_cell(FILE *fp, const gpx_claim *k, const cell_style *st, int md)
{
    char groups[1024] = "";
    for (size_t i = 0; i < k->a.n + k->b.n; i++) {
        size_t used = strlen(groups);
        snprintf(groups + used, sizeof groups - used, "%s%s", i == k->a.n ? " vs " : i ? ", " : "",
                 i < k->a.n ? k->a.s[i] : k->b.s[i - k->a.n]);
    }
    fputs(md ? "**" : "\\textbf{", fp);
    st->text(fp, k->id);
    fputs(md ? "** " : "} ", fp);
    st->text(fp, k->text);
    fputs(" (", fp);
    st->text(fp, k->metric);
    fputs(", ", fp);
    st->text(fp, groups);
    fprintf(fp, ": a - b %s 0", k->direction == GPX_CLAIM_LESS ? "<" : ">");
    if (k->margin > 0)
        fprintf(fp, ", margin %g", k->margin);
    fputs(")", fp);
}

static size_t count_p(const claims_table *c)
{
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t t = 0; t < c->r[i].ntests; t++)
            m += isfinite(c->r[i].tests[t].p) != 0;
    return m;
}

#define NOTE                                                                            \
    "Effect: the mean over pairs of the paired difference a - b in the metric's units (rows "  \
    "paired on the claim's pairing columns, a group's rows of one pair averaged), with its "   \
    "95 %% t interval over the pairs; a difference that is the same in every pair (a "         \
    "parameter count) has none. p: two-sided paired t test; p (Holm): Holm's step-down "       \
    "adjustment over the %zu tests of this table that have a p-value, for the multiple "       \
    "comparisons. Verdicts: holds (the interval on the claimed side of 0), does not hold "     \
    "(on the other side, or within the equivalence margin), inconclusive (spans 0 and leaves " \
    "the margin), depends (differs between the values of the condition, each named)."

static void row(FILE *fp, const gpx_claim_result *r, const cell_style *st, int md)
{
    const char *sep = md ? " | " : " & ";
    fputs(md ? "| " : "", fp);
    claim_cell(fp, r->claim, st, md);
    fputs(sep, fp);
    st->text(fp, r->evidence);
    fputs(sep, fp);
    effect_cell(fp, r, st);
    fputs(sep, fp);
    p_cell(fp, r, 0, st);
    fputs(sep, fp);
    p_cell(fp, r, 1, st);
    fputs(sep, fp);
    verdict_cell(fp, r, st);
    fputs(md ? " |\n" : " \\\\\n\\hline\n", fp);
}

static void md_body(FILE *fp, const void *ctx)
{
    const claims_table *c = ctx;
    fputs("# Claims put to the test\n\n"
          "Written by `gpool claims`; the claims are those of its config "
          "(configs/claims.yaml).\n\n", fp);
    fprintf(fp, NOTE, count_p(c));
    fputs("\n\n| claim | evidence | effect a - b [95 % CI] | p | p (Holm) | verdict |\n"
          "|---|---|---|---|---|---|\n", fp);
    for (size_t i = 0; i < c->n; i++)
        row(fp, &c->r[i], &md_style, 1);
}

static void tex_body(FILE *fp, const void *ctx)
{
    const claims_table *c = ctx;
    char text[2048];
    fputs("% Written by gpool claims; needs \\usepackage{longtable}\n", fp);
    snprintf(text, sizeof text, NOTE, count_p(c));
    tex_text(fp, text);
    fputs("\n\n\\begin{longtable}{p{0.2\\textwidth}p{0.2\\textwidth}p{0.18\\textwidth}"
          "p{0.08\\textwidth}p{0.08\\textwidth}p{0.14\\textwidth}}\n\\hline\n"
          "Claim & Evidence & Effect $a-b$ [95\\,\\% CI] & $p$ & $p_{\\mathrm{Holm}}$ & "
          "Verdict \\\\\n\\hline\n\\endhead\n", fp);
    for (size_t i = 0; i < c->n; i++)
        row(fp, &c->r[i], &tex_style, 0);
    fputs("\\end{longtable}\n", fp);
}

int gpx_claims_write(const char *dir, const gpx_claim_result *r, size_t n, char *err,
                     size_t errlen)
{
    claims_table c = { r, n };
    if (gpx_mkdir_p(dir, err, errlen) ||
        gpx_write_file(dir, "claims.md", md_body, &c, err, errlen) ||
        gpx_write_file(dir, "claims.tex", tex_body, &c, err, errlen))
        return -1;
    return 0;
}
