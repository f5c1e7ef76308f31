/*
 * test_config_guards.c - what keeps a config from reaching outside its
 * place: the experiment name that becomes results/<name>/ (test_config.c
 * runs these; the declarations are in config_tests.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "config_tests.h"

#include "core/schema.h"

typedef struct {
    const char *yaml;      /* a config whose name is bad */
    int         line, col; /* where the error must point */
    const char *needle;    /* what it must say */
} bad_name;

/* Each would write outside results/<name>/ or break a chart title. */
static const bad_name bad_names[] = {
    { "name: ../../x\nmodel: {trunk: [{type: relu}], head: gap}\n", 1, 7, "without '/'" },
    { "name: \"\"\nmodel: {trunk: [{type: relu}], head: gap}\n", 1, 7, "must not be empty" },
    { "name: /abs/x\nmodel: {trunk: [{type: relu}], head: gap}\n", 1, 7, "without '/'" },
    { "name: \"a\\nb\"\nmodel: {trunk: [{type: relu}], head: gap}\n", 1, 7,
      "only letters, digits" },
    { "model: {trunk: [{type: relu}], head: gap}\nname: ..\n", 2, 7, "must not start with '.'" },
    { "name: 'it''s'\nmodel: {trunk: [{type: relu}], head: gap}\n", 1, 7, "only letters" },
    { "name: x\nmodel: {trunk: [{type: relu}], head: gap}\nsweep:\n  name: [a, ../b]\n", 4, 13,
      "without '/'" },
};

void test_experiment_names(void **state)
{
    for (size_t k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++) {
        char err[1024] = "", what[64];
        ycfg *cfg = ycfg_load_string("t", bad_names[k].yaml, gpx_run_schema(), err, sizeof err);
        if (cfg) {
            ycfg_free(cfg);
            fail_msg("bad name %zu loaded:\n%s", k, bad_names[k].yaml);
        }
        snprintf(what, sizeof what, "bad name %zu", k);
        check_error(err, "t", bad_names[k].line, bad_names[k].col, bad_names[k].needle, what);
    }
    char err[1024] = "";
    ycfg *cfg = ycfg_load_string("t", "name: ../k\n", gpx_bench_schema(), err, sizeof err);
    assert_null(cfg);
    check_error(err, "t", 1, 7, "'name' must be one directory name", "bench name");

    char long_name[GPX_MAX_NAME_LEN + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_non_null(gpx_name_problem(long_name));
    long_name[GPX_MAX_NAME_LEN] = '\0';
    assert_null(gpx_name_problem(long_name));
    assert_null(gpx_name_problem("heads-study_2.v1"));
}

