/*
 * claims_config.c - configs/claims.yaml: its schema and the claims decoded
 * from it into gpx_claim (records/claims.h).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "records/claims.h"
#include "util/util.h"

/* In gpx_claim_source and gpx_claim_direction order. */
static const char *const source_choices[] = { "runs", "evals", "throughput", "where", NULL };
static const char *const direction_choices[] = { "less", "greater", NULL };

static const ycfg_schema text_item[] = {
    { NULL, YCFG_STRING, NULL, .help = "a text" },
};

static const ycfg_schema claim_keys[] = {
    { "id", YCFG_STRING, NULL, .help = "a short name of the claim, unique in the file" },
    { "text", YCFG_STRING, NULL, .help = "the claim as a sentence" },
    { "study", YCFG_STRING, NULL,
      .help = "the results directory that holds the evidence (results/heads-study)" },
    { "file", YCFG_ENUM, "runs", .choices = source_choices,
      .help = "runs (runs.csv), evals (evals.csv), throughput (STUDY/throughput-<head>.csv) or "
              "where (where.csv, of gpool where)" },
    { "metric", YCFG_STRING, NULL,
      .help = "a column of the file, or train_test_gap (runs), evaluated (evals)" },
    { "by", YCFG_STRING, "head", .help = "the column whose values tell the groups apart" },
    { "a", YCFG_LIST, NULL, .min = 1, .max = 100, .items = text_item,
      .help = "group a: values of `by` (several are averaged per pair)" },
    { "b", YCFG_LIST, NULL, .min = 1, .max = 100, .items = text_item,
      .help = "group b: values of `by`" },
    { "pair", YCFG_LIST, "[seed]", .min = 0, .max = 20, .items = text_item,
      .help = "the columns a pair shares (the seed, other swept axes)" },
    { "filter", YCFG_LIST, "[]", .min = 0, .max = 20, .items = text_item,
      .help = "rows used: COLUMN=VALUE or COLUMN!=VALUE, all of them" },
    { "direction", YCFG_ENUM, NULL, .choices = direction_choices,
      .help = "what the claim says of a - b: less (than 0) or greater" },
    { "margin", YCFG_FLOAT, "0", .min = 0, .max = 1e300,
      .help = "equivalence margin: differences within +-margin count as none" },
    { "condition", YCFG_STRING, "\"\"",
      .help = "a column whose every value is a test of its own (\"\": none)" },
    { "labels", YCFG_LIST, "[]", .min = 0, .max = 100, .items = text_item,
      .help = "names of the condition's values, in the order they first appear" },
    { NULL },
};

static const ycfg_schema claim_item[] = {
    { NULL, YCFG_MAP, NULL, .items = claim_keys, .help = "a claim" },
};

static const ycfg_schema root_keys[] = {
    { "claims", YCFG_LIST, NULL, .min = 1, .max = 1000, .items = claim_item,
      .help = "the claims, one row of the table each" },
    { NULL },
};

const ycfg_schema *gpx_claims_schema(void)
{
    return root_keys;
}

static int texts(const ycfg_value *claim, const char *key, gpx_texts *out)
{
    const ycfg_value *v = ycfg_value_get(claim, key);
    out->n = v->n;
    out->s = calloc(v->n ? v->n : 1, sizeof *out->s);
    if (!out->s)
        return -1;
    for (size_t i = 0; i < v->n; i++)
        out->s[i] = v->items[i].s;
    return 0;
}

/* "COLUMN=VALUE" or "COLUMN!=VALUE" with a column: else why not. */
static const char *filter_problem(const char *f)
{
    const char *eq = strchr(f, '=');
    if (!eq)
        return "is not COLUMN=VALUE or COLUMN!=VALUE";
    if (eq == f || (eq == f + 1 && f[0] == '!'))
        return "names no column";
    return NULL;
}

static int decode_claim(const ycfg_value *v, gpx_claim *k, const char *path, char *err,
                        size_t errlen)
{
    k->id = ycfg_value_get(v, "id")->s;
    k->text = ycfg_value_get(v, "text")->s;
    k->study = ycfg_value_get(v, "study")->s;
    k->metric = ycfg_value_get(v, "metric")->s;
    k->by = ycfg_value_get(v, "by")->s;
    k->condition = ycfg_value_get(v, "condition")->s;
    k->source = (gpx_claim_source)ycfg_value_enum(ycfg_value_get(v, "file"));
    k->direction = (gpx_claim_direction)ycfg_value_enum(ycfg_value_get(v, "direction"));
    k->margin = ycfg_value_get(v, "margin")->f;
    if (texts(v, "a", &k->a) || texts(v, "b", &k->b) || texts(v, "pair", &k->pair) ||
        texts(v, "filter", &k->filter) || texts(v, "labels", &k->labels))
        return gpx_fail(err, errlen, "%s: out of memory", path);
    for (size_t i = 0; i < k->filter.n; i++) {
        const char *why = filter_problem(k->filter.s[i]);
        if (why)
            return gpx_fail(err, errlen, "%s:%d:%d: filter '%s' %s", path, v->line, v->col,
                            k->filter.s[i], why);
    }
    if (k->source == GPX_CLAIM_THROUGHPUT && strcmp(k->by, "head"))
        return gpx_fail(err, errlen, "%s:%d:%d: claim %s: a throughput claim's groups are "
                        "heads (by: head)", path, v->line, v->col, k->id);
    return 0;
}

static int unique_ids(const gpx_claims *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->claims[i].id, c->claims[j].id))
                return gpx_fail(err, errlen, "%s: claim id '%s' given twice",
                                ycfg_path(c->cfg), c->claims[i].id);
    return 0;
}

int gpx_claims_load(gpx_claims *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cfg = ycfg_load(path, gpx_claims_schema(), err, errlen);
    if (!c->cfg)
        return -1;
    if (ycfg_npoints(c->cfg) != 1 || ycfg_nswept(c->cfg)) {
        gpx_fail(err, errlen, "%s: a claims file takes no sweep", path);
        gpx_claims_free(c);
        return -1;
    }
    const ycfg_value *list = ycfg_get(ycfg_point_at(c->cfg, 0), "claims");
    c->claims = calloc(list->n, sizeof *c->claims);
    if (!c->claims) {
        gpx_claims_free(c);
        return gpx_fail(err, errlen, "%s: out of memory", path);
    }
    for (c->n = 0; c->n < list->n; c->n++)
        if (decode_claim(&list->items[c->n], &c->claims[c->n], path, err, errlen)) {
            c->n++;
            gpx_claims_free(c);
            return -1;
        }
    if (unique_ids(c, err, errlen)) {
        gpx_claims_free(c);
        return -1;
    }
    return 0;
}

void gpx_claims_free(gpx_claims *c)
{
    for (size_t i = 0; c->claims && i < c->n; i++) {
        gpx_claim *k = &c->claims[i];
        free(k->a.s);
        free(k->b.s);
        free(k->pair.s);
        free(k->filter.s);
        free(k->labels.s);
    }
    free(c->claims);
    ycfg_free(c->cfg);
    memset(c, 0, sizeof *c);
}
