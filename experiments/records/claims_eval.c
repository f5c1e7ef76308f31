/*
 * claims_eval.c - one claim put to the test on its study's results
 * (records/claims.h): the rows read through gpx_record_load, filtered,
 * grouped, paired and summarised per value of the condition.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "records/claims.h"
#include "records/results.h"
#include "util/tstats.h"
#include "util/util.h"

#define MAX_TABLES 200  /* throughput: one file per head of a and b */
#define MAX_COLS   20   /* the schema's limit on pair and filter */

/* The columns a claim reads in one table, -1 where it has none. */
typedef struct {
    int by, condition, status, metric, train, test;
    int pair[MAX_COLS], filter[MAX_COLS];
} claim_cols;

typedef struct {
    gpx_csv    t[MAX_TABLES];
    claim_cols col[MAX_TABLES];
    size_t     n;
} claim_tables;

/* One pair: the rows of both groups that share the pairing columns. */
typedef struct {
    char  *key;
    size_t cond;          /* index into the condition's values */
    double sum[2];
    size_t count[2];
} claim_pair;

typedef struct {
    claim_pair *pairs;
    size_t      npairs;
    const char *conds[256];  /* the condition's values, in order of first appearance */
    size_t      nconds;
    size_t      rows, used, no_value, in_group[2];
} claim_tally;

static int in_list(const gpx_texts *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->s[i], s))
            return 1;
    return 0;
}

static int find_column(const gpx_csv *t, const char *name, const char *id, int *out, char *err,
                       size_t errlen)
{
    *out = gpx_csv_column(t, name);
    if (*out < 0)
        return gpx_fail(err, errlen, "%s: claim %s: no column '%s'", t->path, id, name);
    return 0;
}

/* The column name of a filter "COL=V" / "COL!=V" into buf. */
static const char *filter_column(const char *f, char *buf, size_t len)
{
    size_t n = strcspn(f, "=");
    if (n && f[n - 1] == '!')
        n--;
    snprintf(buf, len, "%.*s", (int)n, f);
    return buf;
}

static int metric_columns(const gpx_claim *k, const gpx_csv *t, claim_cols *c, char *err,
                          size_t errlen)
{
    c->metric = c->train = c->test = -1;
    if (k->source == GPX_CLAIM_RUNS && !strcmp(k->metric, "train_test_gap"))
        return find_column(t, "final_train_acc", k->id, &c->train, err, errlen) ||
               find_column(t, "final_test_acc", k->id, &c->test, err, errlen);
    if (k->source == GPX_CLAIM_EVALS && !strcmp(k->metric, "evaluated"))
        return c->status < 0 ? gpx_fail(err, errlen, "%s: no status column", t->path) : 0;
    return find_column(t, k->metric, k->id, &c->metric, err, errlen);
}

static int find_columns(const gpx_claim *k, const gpx_csv *t, claim_cols *c, char *err,
                        size_t errlen)
{
    char name[256];
    c->status = gpx_csv_column(t, "status");
    c->condition = -1;
    if (find_column(t, k->by, k->id, &c->by, err, errlen) ||
        (k->condition[0] &&
         find_column(t, k->condition, k->id, &c->condition, err, errlen)) ||
        metric_columns(k, t, c, err, errlen))
        return -1;
    for (size_t i = 0; i < k->pair.n; i++)
        if (find_column(t, k->pair.s[i], k->id, &c->pair[i], err, errlen))
            return -1;
    for (size_t i = 0; i < k->filter.n; i++)
        if (find_column(t, filter_column(k->filter.s[i], name, sizeof name), k->id,
                        &c->filter[i], err, errlen))
            return -1;
    return 0;
}

/* The metric of row r: 0 with *v, 1 when the row has no value (a run not
 * ok, an evaluation that could not run, an empty field), -1 with err. */
static int row_value(const gpx_csv *t, const claim_cols *c, size_t r,
                     double *v, char *err, size_t errlen)
{
    const char *status = c->status >= 0 ? gpx_csv_field(t, r, c->status) : "ok";
    if (c->metric < 0 && c->train < 0) {   /* evaluated */
        *v = !strcmp(status, "ok");
        return 0;
    }
    if (strcmp(status, "ok"))
        return 1;
    double train = 0.0;
    if (c->train >= 0 && gpx_csv_number(t, r, c->train, &train, err, errlen))
        return -1;
    if (gpx_csv_number(t, r, c->train >= 0 ? c->test : c->metric, v, err, errlen))
        return -1;
    if (c->train >= 0)
        *v = train - *v;
    return isfinite(*v) ? 0 : 1;
}

static int row_passes(const gpx_claim *k, const gpx_csv *t, const claim_cols *c, size_t r)
{
    for (size_t i = 0; i < k->filter.n; i++) {
        const char *f = k->filter.s[i], *eq = strchr(f, '=');
        int negate = eq > f && eq[-1] == '!';
        int equal = !strcmp(gpx_csv_field(t, r, c->filter[i]), eq + 1);
        if (equal == negate)
            return 0;
    }
    return 1;
}

/* The index of the condition's value v (added when new); -1 when full. */
static long cond_index(claim_tally *y, const char *v)
{
    for (size_t i = 0; i < y->nconds; i++)
        if (!strcmp(y->conds[i], v))
            return (long)i;
    if (y->nconds == sizeof y->conds / sizeof y->conds[0])
        return -1;
    y->conds[y->nconds] = v;
    return (long)y->nconds++;
}

/* The condition's value and the pairing columns of row r, joined. */
static char *pair_key(const gpx_claim *k, const gpx_csv *t, const claim_cols *c, size_t r)
{
    size_t len = 2;
    const char *cond = c->condition >= 0 ? gpx_csv_field(t, r, c->condition) : "";
    len += strlen(cond);
    for (size_t i = 0; i < k->pair.n; i++)
        len += strlen(gpx_csv_field(t, r, c->pair[i])) + 1;
    char *key = malloc(len);
    if (!key)
        return NULL;
    strcpy(key, cond);
    for (size_t i = 0; i < k->pair.n; i++) {
        strcat(key, "\x1f");
        strcat(key, gpx_csv_field(t, r, c->pair[i]));
    }
    return key;
}

/* v added to group g of the pair key (key owned by the tally after). */
static int add_to_pair(claim_tally *y, char *key, size_t cond, int g, double v)
{
    size_t i = 0;
    while (i < y->npairs && strcmp(y->pairs[i].key, key))
        i++;
    if (i == y->npairs) {
        claim_pair *p = realloc(y->pairs, (y->npairs + 1) * sizeof *p);
        if (!p) {
            free(key);
            return -1;
        }
        y->pairs = p;
        p[i] = (claim_pair){ .key = key, .cond = cond };
        y->npairs++;
    } else {
        free(key);
    }
    y->pairs[i].sum[g] += v;
    y->pairs[i].count[g]++;
    return 0;
}

static int tally_row(const gpx_claim *k, const gpx_csv *t, const claim_cols *c, size_t r,
                     claim_tally *y, char *err, size_t errlen)
{
    const char *group = gpx_csv_field(t, r, c->by);
    int g = in_list(&k->a, group) ? 0 : in_list(&k->b, group) ? 1 : -1;
    if (g < 0 || !row_passes(k, t, c, r))
        return 0;
    y->in_group[g]++;
    double v;
    int rc = row_value(t, c, r, &v, err, errlen);
    if (rc)
        return rc < 0 ? -1 : (y->no_value++, 0);
    long cond = cond_index(y, c->condition >= 0 ? gpx_csv_field(t, r, c->condition) : "");
    if (cond < 0)
        return gpx_fail(err, errlen, "%s: claim %s: over %zu values of %s", t->path, k->id,
                        y->nconds, k->condition);
    char *key = pair_key(k, t, c, r);
    if (!key || add_to_pair(y, key, (size_t)cond, g, v))
        return gpx_fail(err, errlen, "%s: out of memory", t->path);
    y->used++;
    return 0;
}

static int tally_tables(const gpx_claim *k, const claim_tables *ts, claim_tally *y, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < ts->n; i++) {
        y->rows += ts->t[i].nrows;
        for (size_t r = 0; r < ts->t[i].nrows; r++)
            if (tally_row(k, &ts->t[i], &ts->col[i], r, y, err, errlen))
                return -1;
    }
    return 0;
}

static void tally_free(claim_tally *y)
{
    for (size_t i = 0; i < y->npairs; i++)
        free(y->pairs[i].key);
    free(y->pairs);
}

/* ---------------------------------------------------------------- verdicts */

/* The verdict of a test of k from its paired summary s. */
static void judge(const gpx_claim *k, const gpx_paired *s, gpx_claim_test *t)
{
    double sign = k->direction == GPX_CLAIM_LESS ? -1.0 : 1.0, m = k->margin;
    if (!s->n) {
        t->verdict = GPX_VERDICT_NO_EVIDENCE;
        t->why = "no pairs";
    } else if (s->constant) {
        double e = sign * s->mean;
        t->verdict = e > m ? GPX_VERDICT_HOLDS : GPX_VERDICT_NOT;
        t->why = e > m ? "the same in every pair" : e >= -m ? "no difference beyond the margin"
                                                             : "the other way, in every pair";
    } else if (isnan(s->lo)) {
        t->verdict = GPX_VERDICT_INCONCLUSIVE;
        t->why = "one pair: no interval";
    } else {
        double lo = sign > 0 ? s->lo : -s->hi, hi = sign > 0 ? s->hi : -s->lo;
        if (lo > 0) {
            t->verdict = GPX_VERDICT_HOLDS;
            t->why = "the interval excludes 0";
        } else if (hi < 0) {
            t->verdict = GPX_VERDICT_NOT;
            t->why = "the other way";
        } else if (lo >= -m && hi <= m) {
            t->verdict = GPX_VERDICT_NOT;
            t->why = "equivalent within the margin";
        } else {
            t->verdict = GPX_VERDICT_INCONCLUSIVE;
            t->why = "the interval spans 0 and leaves the margin";
        }
    }
}

static void test_condition(const gpx_claim *k, const claim_tally *y, size_t cond, double *d,
                           gpx_claim_test *t)
{
    size_t n = 0;
    for (size_t i = 0; i < y->npairs; i++) {
        const claim_pair *p = &y->pairs[i];
        if (p->cond == cond && p->count[0] && p->count[1])
            d[n++] = p->sum[0] / p->count[0] - p->sum[1] / p->count[1];
    }
    gpx_paired s = gpx_paired_t(d, n, 0.95);
    if (!k->condition[0])
        t->condition[0] = '\0';
    else if (cond < k->labels.n)
        snprintf(t->condition, sizeof t->condition, "%s", k->labels.s[cond]);
    else
        snprintf(t->condition, sizeof t->condition, "%s=%s", k->condition, y->conds[cond]);
    t->npairs = n;
    t->mean = s.mean;
    t->lo = s.lo;
    t->hi = s.hi;
    t->constant = s.constant;
    t->p = s.p;
    t->p_holm = NAN;
    judge(k, &s, t);
}

/* printf-style text added to the end of buf (cut short when full). */
static void append(char *buf, size_t len, const char *fmt, ...) GPX_PRINTF(3, 4);
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    if (used < len)
        vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* The tests' one verdict, or depends with where each verdict came out:
 * "holds at 14x14, 7x7; does not hold at 3x3". */
static void overall_verdict(gpx_claim_result *r)
{
    r->verdict = r->tests[0].verdict;
    for (size_t i = 1; i < r->ntests; i++)
        if (r->tests[i].verdict != r->verdict)
            r->verdict = GPX_VERDICT_DEPENDS;
    if (r->verdict != GPX_VERDICT_DEPENDS)
        return;
    for (int v = GPX_VERDICT_HOLDS; v <= GPX_VERDICT_NO_EVIDENCE; v++) {
        int first = 1;
        for (size_t i = 0; i < r->ntests; i++) {
            if ((int)r->tests[i].verdict != v)
                continue;
            if (first)
                append(r->depends, sizeof r->depends, "%s%s at %s", r->depends[0] ? "; " : "",
                       gpx_verdict_name((gpx_verdict)v), r->tests[i].condition);
            else
                append(r->depends, sizeof r->depends, ", %s", r->tests[i].condition);
            first = 0;
        }
    }
}

/* ------------------------------------------------------------------ files */

/* path read as f into the next table and its columns found; a missing file
 * named in missing (and not an error). */
static int load_table(const gpx_claim *k, claim_tables *ts, const char *path,
                      const gpx_record_file *f, char *missing, size_t mlen, char *err,
                      size_t errlen)
{
    int col[64], gone = 0;
    if (ts->n == MAX_TABLES)
        return gpx_fail(err, errlen, "%s: claim %s: over %d files", path, k->id, MAX_TABLES);
    if (gpx_record_load(&ts->t[ts->n], path, f, NULL, 0, col, &gone, err, errlen))
        return -1;
    if (gone) {
        snprintf(missing, mlen, "%s", path);
        return 0;
    }
    ts->n++;
    return find_columns(k, &ts->t[ts->n - 1], &ts->col[ts->n - 1], err, errlen);
}

/* The throughput file of every head of a and b, each once. */
static int load_throughput(const gpx_claim *k, claim_tables *ts, char *missing, size_t mlen,
                           char *err, size_t errlen)
{
    char name[4096], path[4200];
    for (size_t i = 0; i < k->a.n + k->b.n && !missing[0]; i++) {
        const char *head = i < k->a.n ? k->a.s[i] : k->b.s[i - k->a.n];
        if (i >= k->a.n && in_list(&k->a, head))
            continue;
        snprintf(name, sizeof name, "throughput-%s.csv", head);
        if (gpx_join(path, sizeof path, k->study, name))
            return gpx_fail(err, errlen, "%s: path too long", k->study);
        if (load_table(k, ts, path, &gpx_throughput_file, missing, mlen, err, errlen))
            return -1;
    }
    return 0;
}

/* The study's files of k into ts; what is missing (the study, a file) in
 * missing, "" when nothing is. */
static int load_tables(const gpx_claim *k, claim_tables *ts, char *missing, size_t mlen,
                       char *err, size_t errlen)
{
    struct stat st;
    char path[4200];
    missing[0] = '\0';
    if (stat(k->study, &st) || !S_ISDIR(st.st_mode)) {
        if (errno && errno != ENOENT && errno != ENOTDIR)
            return gpx_fail(err, errlen, "%s: %s", k->study, strerror(errno));
        snprintf(missing, mlen, "%s", k->study);
        return 0;
    }
    if (k->source == GPX_CLAIM_THROUGHPUT)
        return load_throughput(k, ts, missing, mlen, err, errlen);
    const gpx_record_file *f = k->source == GPX_CLAIM_RUNS    ? &gpx_runs_file
                             : k->source == GPX_CLAIM_WHERE ? &gpx_where_file
                                                              : &gpx_evals_file;
    if (gpx_join(path, sizeof path, k->study, f->name))
        return gpx_fail(err, errlen, "%s: path too long", k->study);
    return load_table(k, ts, path, f, missing, mlen, err, errlen);
}

static void join_texts(char *buf, size_t len, const gpx_texts *l, const char *sep)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++)
        append(buf, len, "%s%s", i ? sep : "", l->s[i]);
}

/* Which rows the claim used, and how they paired. */
static void describe(const gpx_claim *k, const claim_tables *ts, const claim_tally *y,
                     gpx_claim_result *r)
{
    char a[512], b[512], pair[512];
    size_t pairs = 0, unpaired = 0;
    for (size_t i = 0; i < y->npairs; i++) {
        int both = y->pairs[i].count[0] && y->pairs[i].count[1];
        pairs += both;
        unpaired += !both;
    }
    join_texts(a, sizeof a, &k->a, ", ");
    join_texts(b, sizeof b, &k->b, ", ");
    join_texts(pair, sizeof pair, &k->pair, ", ");
    append(r->evidence, sizeof r->evidence, "%s: %zu of %zu rows (%s %s: %zu; %s: %zu), "
             "%zu pairs by %s", ts->n == 1 ? ts->t[0].path : k->study, y->used, y->rows,
             k->by, a, y->in_group[0], b, y->in_group[1], pairs, pair[0] ? pair : "nothing");
    if (y->no_value)
        append(r->evidence, sizeof r->evidence, "; %zu rows without a value (not ok, n/a)",
               y->no_value);
    if (unpaired)
        append(r->evidence, sizeof r->evidence, "; %zu keys with one group only", unpaired);
}

static int build_tests(const gpx_claim *k, const claim_tally *y, gpx_claim_result *r)
{
    size_t n = y->nconds ? y->nconds : 1;
    double *d = malloc((y->npairs ? y->npairs : 1) * sizeof *d);
    r->tests = calloc(n, sizeof *r->tests);
    if (!d || !r->tests) {
        free(d);
        return -1;
    }
    r->ntests = n;
    for (size_t i = 0; i < n; i++)
        test_condition(k, y, i, d, &r->tests[i]);
    free(d);
    overall_verdict(r);
    return 0;
}

int gpx_claim_test_run(const gpx_claim *k, gpx_claim_result *r, char *err, size_t errlen)
{
    char missing[4200];
    claim_tally y = { 0 };
    claim_tables *ts = calloc(1, sizeof *ts);
    int rc = -1;
    memset(r, 0, sizeof *r);
    r->claim = k;
    r->verdict = GPX_VERDICT_NO_EVIDENCE;
    if (!ts)
        return gpx_fail(err, errlen, "claim %s: out of memory", k->id);
    if (load_tables(k, ts, missing, sizeof missing, err, errlen))
        goto done;
    if (missing[0]) {
        snprintf(r->evidence, sizeof r->evidence, "no evidence yet: %.900s missing",
                 missing);
        rc = 0;
        goto done;
    }
    if (tally_tables(k, ts, &y, err, errlen))
        goto done;
    describe(k, ts, &y, r);
    rc = build_tests(k, &y, r) ? gpx_fail(err, errlen, "claim %s: out of memory", k->id) : 0;
done:
    tally_free(&y);
    for (size_t i = 0; i < ts->n; i++)
        gpx_csv_free(&ts->t[i]);
    free(ts);
    return rc;
}

void gpx_claim_result_free(gpx_claim_result *r)
{
    free(r->tests);
    r->tests = NULL;
    r->ntests = 0;
}

void gpx_claims_adjust(gpx_claim_result *r, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += r[i].ntests;
    double *p = calloc(m ? m : 1, sizeof *p), *adj = calloc(m ? m : 1, sizeof *adj);
    if (p && adj) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < r[i].ntests; t++)
                p[j++] = r[i].tests[t].p;
        gpx_holm(p, m, adj);
        j = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < r[i].ntests; t++)
                r[i].tests[t].p_holm = adj[j++];
    }
    free(p);
    free(adj);
}

const char *gpx_verdict_name(gpx_verdict v)
{
    static const char *const names[] = { "holds", "does not hold", "inconclusive", "depends",
                                         "no evidence" };
    return names[v];
}
