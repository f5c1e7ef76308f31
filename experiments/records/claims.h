/*
 * claims.h - the claims table (`gpool claims`): claims read from a
 * configs/claims.yaml against a fixed schema, each put to the test on the
 * results of a study, and written as claims.md and claims.tex.
 *
 * A claim compares two groups of rows of one results file (runs.csv,
 * evals.csv, or the throughput-<head>.csv files of `gpool throughput --out`)
 * on one metric: a column, or a derived one (train_test_gap of runs.csv,
 * final_train_acc - final_test_acc; evaluated of evals.csv, 1 when the
 * network ran at that size and 0 when it could not). The groups are values
 * of one column (`by`, the head by default); rows are paired on the pairing
 * columns (the seed by default), a group's rows of one pair averaged, and
 * the effect is the mean of the paired differences a - b with its 95 % t
 * interval and two-sided paired t p-value (util/tstats.h). With a condition
 * column, each of its values is a test of its own.
 *
 * A verdict per test, with the claim's direction (a - b < 0 for less) and
 * equivalence margin m:
 *   holds          the interval lies on the claimed side of 0
 *   does not hold  it lies on the other side, or within [-m, m]
 *   inconclusive   it spans 0 and leaves [-m, m]
 *   no evidence    no pairs (a study not run yet: "no evidence yet")
 * A difference that is the same in every pair (a parameter count) has no
 * interval: it holds when it is on the claimed side beyond m. A claim with a
 * condition whose tests disagree "depends", naming where each verdict holds.
 * Holm's adjustment runs over every test of the table that has a p-value.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_CLAIMS_H
#define GPOOL_EXPERIMENTS_RECORDS_CLAIMS_H

#include <stddef.h>

#include "cfg/cfg.h"

/* The results file a claim reads, in the order of the schema's choices. */
typedef enum { GPX_CLAIM_RUNS, GPX_CLAIM_EVALS, GPX_CLAIM_THROUGHPUT, GPX_CLAIM_WHERE } gpx_claim_source;

/* What the claim says of a - b. */
typedef enum { GPX_CLAIM_LESS, GPX_CLAIM_GREATER } gpx_claim_direction;

typedef enum {
    GPX_VERDICT_HOLDS, GPX_VERDICT_NOT, GPX_VERDICT_INCONCLUSIVE, GPX_VERDICT_DEPENDS,
    GPX_VERDICT_NO_EVIDENCE
} gpx_verdict;

/* A list of texts of the claims config. */
typedef struct {
    const char **s;
    size_t       n;
} gpx_texts;

/* One claim as configs/claims.yaml gives it (texts owned by the config). */
typedef struct {
    const char         *id, *text, *study, *metric, *by, *condition;
    gpx_claim_source    source;
    gpx_claim_direction direction;
    double              margin;
    gpx_texts           a, b, pair, filter, labels;
} gpx_claim;

/* One test: the whole claim, or one value of its condition. */
typedef struct {
    char        condition[128]; /* the condition's value or label; "" without one */
    size_t      npairs;
    double      mean, lo, hi;   /* a - b; lo, hi NaN without an interval */
    int         constant;       /* the same difference in every pair */
    double      p, p_holm;      /* NaN without a p-value */
    gpx_verdict verdict;
    const char *why;            /* a word on the verdict ("equivalent within 0.01") */
} gpx_claim_test;

/* A claim put to the test. */
typedef struct {
    const gpx_claim *claim;
    char             evidence[1024];  /* study, file, rows used, pairs */
    gpx_claim_test  *tests;
    size_t           ntests;
    gpx_verdict      verdict;         /* the tests' one verdict, or depends */
    char             depends[512];    /* depends: which verdict where */
} gpx_claim_result;

/* The claims of a config file. */
typedef struct {
    ycfg      *cfg;
    gpx_claim *claims;
    size_t     n;
} gpx_claims;

/* The schema of configs/claims.yaml (a list `claims:` of claims). */
const ycfg_schema *gpx_claims_schema(void);

/* Read path into *c: 0, or -1 with "PATH:LINE:COL: why" in err. */
int  gpx_claims_load  (gpx_claims *c, const char *path, char *err, size_t errlen);
void gpx_claims_free  (gpx_claims *c);

/* Claim k tested on its study into *r (gpx_claim_result_free after): 0, or
 * -1 with "PATH:LINE: why" in err (a malformed file, a column it lacks). A
 * missing study or file is no error: the result says "no evidence yet". */
int  gpx_claim_test_run(const gpx_claim *k, gpx_claim_result *r, char *err, size_t errlen);
void gpx_claim_result_free(gpx_claim_result *r);

/* Holm's adjustment over every test of r[0..n-1] with a p-value. */
void gpx_claims_adjust(gpx_claim_result *r, size_t n);

/* The verdict's words: "holds", "does not hold", ... */
const char *gpx_verdict_name(gpx_verdict v);

/* DIR/claims.md and DIR/claims.tex (DIR made when missing), each written
 * atomically: 0, or -1 with err. */
int  gpx_claims_write (const char *dir, const gpx_claim_result *r, size_t n, char *err,
                       size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_CLAIMS_H */
