/*
 * claims.c - `gpool claims [--out DIR] [CONFIG]`: the claims of CONFIG
 * (configs/claims.yaml) put to the test on the studies' results and written
 * as DIR/claims.md and DIR/claims.tex (records/claims.h).
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/commands.h"
#include "records/claims.h"
#include "util/util.h"

#define CLAIMS_CMD "gpool claims"

typedef struct {
    const char *config;
    const char *out;
    int         config_given;
} claims_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool claims [--out DIR] [CONFIG]\n"
            "\n"
            "Puts each claim of CONFIG (default configs/claims.yaml) to the test on the\n"
            "results directory it names, and writes DIR/claims.md and DIR/claims.tex, one\n"
            "row per claim: the evidence (study, rows, pairs), the effect as the mean\n"
            "paired difference a - b with its 95 %% t interval over the pairs, the paired\n"
            "t test's p-value raw and Holm-adjusted over the table, and a verdict: holds,\n"
            "does not hold, inconclusive, depends (naming the condition), or no evidence\n"
            "yet when the study has not been run. Paths are relative to the working\n"
            "directory.\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   where the tables go (default results/claims)\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 written, 1 a malformed config or results file, or a write\n"
            "error, 2 bad command line.\n");
}

static const gpx_option options[] = {
    { "-o", "--out", "a directory", .offset = offsetof(claims_options, out) },
};

static int take_config(const char *arg, void *opts);

/* CONFIG is optional, so it goes through a callback: the fixed operands
 * of gpx_command_line are required. */
static const gpx_command_line claims_command_line = {
    CLAIMS_CMD, usage, 0, options, sizeof options / sizeof options[0],
    .operand = take_config, .operand_name = "CONFIG",
};

static int take_config(const char *arg, void *opts)
{
    claims_options *o = opts;
    if (o->config_given)
        return gpx_command_line_error(&claims_command_line, "one CONFIG only ('%s' and '%s')",
                                      o->config, arg);
    o->config = arg;
    o->config_given = 1;
    return 0;
}

/* Every claim tested, then Holm over them all, then the tables. */
static int test_and_write(const gpx_claims *c, const char *out)
{
    char err[8400];
    int rc = 0;
    gpx_claim_result *r = calloc(c->n, sizeof *r);
    if (!r)
        return gpx_complain(CLAIMS_CMD, "out of memory");
    for (size_t i = 0; i < c->n && !rc; i++)
        if (gpx_claim_test_run(&c->claims[i], &r[i], err, sizeof err))
            rc = gpx_complain(CLAIMS_CMD, "%s", err);
    if (!rc) {
        gpx_claims_adjust(r, c->n);
        if (gpx_claims_write(out, r, c->n, err, sizeof err))
            rc = gpx_complain(CLAIMS_CMD, "%s", err);
    }
    for (size_t i = 0; i < c->n && !rc; i++)
        printf("%-24s %s\n", c->claims[i].id, gpx_verdict_name(r[i].verdict));
    if (!rc)
        printf("wrote %s/claims.md and %s/claims.tex\n", out, out);
    for (size_t i = 0; i < c->n; i++)
        gpx_claim_result_free(&r[i]);
    free(r);
    return rc ? 1 : 0;
}

int gpx_cmd_claims(int argc, char **argv)
{
    claims_options o = { "configs/claims.yaml", "results/claims", 0 };
    gpx_claims c;
    char err[8400];
    int rc = gpx_parse_command_line(&claims_command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (gpx_claims_load(&c, o.config, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", CLAIMS_CMD, err);
        return 1;
    }
    rc = test_and_write(&c, o.out);
    gpx_claims_free(&c);
    return rc;
}
