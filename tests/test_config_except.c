/*
 * test_config_except.c - `sweep_except:`, the points left out of a sweep's
 * product: which are dropped, that the others keep their order and ids,
 * the errors word for word, the resolved output that reloads to the same
 * points, the reserved key, and the shipped fmnist-benchmark config
 * (test_config.c runs these; the declarations are in config_tests.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "config_tests.h"

#include "core/schema.h"

static const char sweep_3x2[] =
    "name: ex\n"
    "sweep:\n"
    "  bench.threads: [1, 2, 4]\n"
    "  bench.mode: [hot, cold]\n";

/* sweep_3x2 with the text after it appended (a static buffer). */
static const char *with(const char *more)
{
    static char text[2048];
    snprintf(text, sizeof text, "%s%s", sweep_3x2, more);
    return text;
}

/* Fail unless the kept points are the full product's points at the
 * indices kept[], and the dropped ones those at the others, in order. */
static void check_split(const ycfg *cfg, const ycfg *full, const size_t *kept, size_t nkept)
{
    assert_int_equal(ycfg_npoints(cfg), nkept);
    assert_int_equal(ycfg_ndropped(cfg), ycfg_npoints(full) - nkept);
    size_t k = 0, d = 0;
    for (size_t i = 0; i < ycfg_npoints(full); i++) {
        const char *id = ycfg_point_id(ycfg_point_at(full, i));
        if (k < nkept && kept[k] == i)
            assert_string_equal(ycfg_point_id(ycfg_point_at(cfg, k++)), id);
        else
            assert_string_equal(ycfg_point_id(ycfg_dropped_at(cfg, d++)), id);
    }
}

void test_except_drops_points(void **state)
{
    ycfg *full = load_ok(sweep_3x2);
    assert_int_equal(ycfg_ndropped(full), 0);
    /* (2, cold) by the first entry, (4, hot) and (4, cold) by the second,
     * whose one value stands for a one-element list */
    ycfg *cfg = load_ok(with("sweep_except:\n"
                             "  - {bench.threads: [2], bench.mode: [cold]}\n"
                             "  - {bench.threads: 4}\n"));
    static const size_t kept[] = { 0, 1, 2 };
    check_split(cfg, full, kept, 3);
    const ycfg_point *pt = ycfg_point_at(cfg, 2);
    assert_int_equal(ycfg_int(pt, "bench.threads"), 2);
    assert_string_equal(ycfg_str(pt, "bench.mode"), "hot");
    assert_int_equal(ycfg_nswept(cfg), 2);
    ycfg_free(cfg);

    /* an entry of two values on each axis drops their product: the corners */
    cfg = load_ok(with("sweep_except:\n  - {bench.mode: [cold, hot], bench.threads: [1, 4]}\n"));
    static const size_t middle[] = { 2, 3 };
    check_split(cfg, full, middle, 2);
    ycfg_free(cfg);
    ycfg_free(full);
}

/* Values are matched as id texts: 1e-3 is 0.001, a list value is written
 * inside a list, a default written out is the default. */
void test_except_matches_values(void **state)
{
    ycfg *full = load_ok("name: m\nsweep:\n  bench.warmup: [0.5, 0.001, 2]\n"
                         "  bench.shapes: [[[1, 2, 3, 4]], [[5, 6, 7, 8], [1, 1, 1, 1]]]\n"
                         "  output: [{}, {dir: x}]\n");
    ycfg *cfg = load_ok("name: m\nsweep:\n  bench.warmup: [0.5, 0.001, 2]\n"
                        "  bench.shapes: [[[1, 2, 3, 4]], [[5, 6, 7, 8], [1, 1, 1, 1]]]\n"
                        "  output: [{}, {dir: x}]\n"
                        "sweep_except:\n"
                        "  - {bench.warmup: 1e-3}\n"
                        "  - {bench.shapes: [[[5, 6, 7, 8], [1, 1, 1, 1]]], output: {dir: results}}\n");
    /* warmup 0.001 (points 4-7) and shapes 2 with output {} (2, 10) dropped */
    static const size_t kept[] = { 0, 1, 3, 8, 9, 11 };
    check_split(cfg, full, kept, 6);
    ycfg_free(cfg);
    ycfg_free(full);
}

/* The resolved output writes sweep_except back: reloading it gives the
 * same points and the same dropped ones. */
void test_except_round_trip(void **state)
{
    ycfg *cfg = load_ok(with("sweep_except:\n  - {bench.mode: cold, bench.threads: [4, 1]}\n"));
    char *text = resolved_text(cfg);
    assert_non_null(strstr(text, "\nsweep_except:\n  - {bench.mode: [cold], "
                                 "bench.threads: [4, 1]}\n"));
    assert_non_null(strstr(text, ": 4 points\n"));
    char *before = point_ids(cfg), *after = ids_of(text);
    assert_string_equal(before, after);
    ycfg *again = load_ok(text);
    assert_int_equal(ycfg_ndropped(again), 2);
    for (size_t k = 0; k < 2; k++)
        assert_string_equal(ycfg_point_id(ycfg_dropped_at(again, k)),
                            ycfg_point_id(ycfg_dropped_at(cfg, k)));
    ycfg_free(again);
    free(before);
    free(after);
    free(text);
    ycfg_free(cfg);
}

/* Each error exactly, at its place. */
typedef struct {
    const char *yaml;
    const char *message;    /* the whole error */
} exact_case;

static const exact_case except_errors[] = {
    { "name: ex\nsweep_except:\n  - {bench.threads: 1}\n",
      "t:2:1: sweep_except drops points of the sweep, but there is no sweep section" },
    { "sweep_except:\n  - {bench.thread: [1]}\n",
      "t:6:6: sweep_except path 'bench.thread' is not a path of the sweep, "
      "did you mean 'bench.threads'?" },
    { "sweep_except:\n  - {bench.warmup: [1]}\n",
      "t:6:6: sweep_except path 'bench.warmup' is not a path of the sweep" },
    { "sweep_except:\n  - {bench.threads: [1, 3]}\n",
      "t:6:25: sweep_except lists 3 for 'bench.threads', which sweeps only 1, 2, 4" },
    { "sweep_except:\n  - {bench.mode: warm}\n",
      "t:6:18: 'bench.mode' must be one of hot, cold; got 'warm'" },
    { "sweep_except: []\n",
      "t:5:15: the sweep_except list is empty: remove it or add an entry" },
    { "sweep_except:\n  - {bench.threads: [1]}\n  - {}\n",
      "t:7:5: sweep_except entry 2 is empty: give 'path: [values]'" },
    { "sweep_except:\n  - {bench.threads: []}\n",
      "t:6:21: the sweep_except list for 'bench.threads' is empty: give at least one value" },
    { "sweep_except:\n  - {bench.threads: 1, bench.threads: 2}\n",
      "t:6:24: duplicate key 'bench.threads' (first written at line 6, column 6)" },
    { "sweep_except: {bench.threads: [1]}\n",
      "t:5:15: expected a list of entries for 'sweep_except', got a mapping "
      "(like '- {model.head: [gem, lse], train.seed: [3, 4]}')" },
    { "sweep_except:\n  - [bench.threads]\n",
      "t:6:5: expected a mapping of sweep paths to values for 'sweep_except', got a list "
      "(like '{train.seed: [3, 4]}')" },
    { "sweep_except:\n  - {bench.threads: [1, 2]}\n  - {bench.threads: 4}\n",
      "t:5:1: sweep_except drops every point of the sweep (6): nothing would run" },
    { "sweep_except:\n  - {bench.threads: 1}\nsweep_except:\n  - {bench.threads: 2}\n",
      "t:7:1: duplicate key 'sweep_except' (first written at line 5, column 1)" },
    { "sweeps_except: []\n",
      "t:5:1: unknown key 'sweeps_except' at the top level, did you mean 'sweep_except'?" },
};

void test_except_errors(void **state)
{
    for (size_t k = 0; k < sizeof except_errors / sizeof except_errors[0]; k++) {
        const exact_case *c = &except_errors[k];
        const char *yaml = strncmp(c->yaml, "name:", 5) ? with(c->yaml) : c->yaml;
        char err[1024] = "";
        ycfg *cfg = ycfg_load_string("t", yaml, root_schema, err, sizeof err);
        if (cfg) {
            ycfg_free(cfg);
            fail_msg("case %zu loaded:\n%s", k, yaml);
        }
        if (strcmp(err, c->message))
            fail_msg("case %zu\n  want: %s\n  got:  %s", k, c->message, err);
    }
}

/* A schema may not declare the key: it belongs to the sweep. */
void test_except_reserved(void **state)
{
    static const ycfg_schema reserving[] = {
        { "name", YCFG_STRING, "x", .help = "name" },
        { "sweep_except", YCFG_INT, "0", .help = "taken" },
        { NULL }
    };
    char err[256] = "";
    assert_int_equal(ycfg_check_schema(reserving, err, sizeof err), -1);
    assert_string_equal(err, "schema: 'sweep_except' is reserved for the points left out "
                             "of the sweep");
}

/* The shipped fmnist-benchmark: 9 heads x 5 seeds less seeds 3 and 4 of six
 * heads, each kept point with its id of the full product, in its order. */
void test_except_fmnist_benchmark(void **state)
{
    char err[1024] = "";
    ycfg *cfg = ycfg_load(CONFIG_DIR "/fmnist-benchmark.yaml", gpx_run_schema(), err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    char *text = resolved_text(cfg);
    char *cut = strstr(text, "\nsweep_except:\n");
    assert_non_null(cut);
    cut[1] = '\0';     /* the same config without sweep_except */
    ycfg *full = ycfg_load_string("full", text, gpx_run_schema(), err, sizeof err);
    if (!full)
        fail_msg("%s", err);
    assert_int_equal(ycfg_npoints(full), 45);
    size_t kept[45], nkept = 0;
    for (size_t i = 0; i < 45; i++) {
        const ycfg_point *pt = ycfg_point_at(full, i);
        const char *head = ycfg_str(pt, "model.head");
        int five = !strcmp(head, "flatten_mlp") || !strcmp(head, "gap") || !strcmp(head, "gmp");
        if (five || ycfg_int(pt, "train.seed") < 3)
            kept[nkept++] = i;
    }
    assert_int_equal(nkept, 33);
    check_split(cfg, full, kept, nkept);
    ycfg_free(full);
    free(text);
    ycfg_free(cfg);
}
