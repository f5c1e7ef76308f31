/*
 * config_tests.h - what the parts of tests/test_config share:
 * test_config.c (loading, errors, values, sweeps), test_config_ids.c
 * (point ids, the resolved output, legacy ids, the defaults a schema
 * declares), test_config_guards.c and test_config_except.c (sweep_except).
 */
#ifndef GPOOL_CONFIG_TESTS_H
#define GPOOL_CONFIG_TESTS_H

#include "cfg/cfg.h"

/* The test schema (test_config.c): a root with a map of bench settings, an
 * output map, a list of maps, a list of tagged layers and a tagged stem. */
extern const ycfg_schema root_schema[], bench_keys[], output_keys[], conv_keys[],
                         no_keys[], layer_variants[], tlayer_schema[];

/* A config that must fail, and where and how. */
typedef struct {
    const char *yaml;
    int         line, col;
    const char *needle;     /* a key part of the message; a final '$' anchors it at the end */
} bad_case;

/* Fail unless each case fails to load as "t" against schema as it says. */
void  check_bad_cases(const bad_case *cases, size_t n, const ycfg_schema *schema);

/* Load yaml against root_schema, or fail the test with the error. */
ycfg *load_ok       (const char *yaml);
/* Every point's id (id_of: ycfg_point_id or another), joined by spaces (caller frees). */
char *joined_ids    (const ycfg *cfg, const char *(*id_of)(const ycfg_point *));
char *point_ids     (const ycfg *cfg);
char *ids_of        (const char *yaml);
/* ycfg_write_resolved's output (caller frees). */
char *resolved_text (const ycfg *cfg);
/* Fail unless err is "name:line:col: ..." with needle in it (a final '$'
 * anchors the needle at the end); what names the case. */
void  check_error   (const char *err, const char *name, int line, int col, const char *needle,
                     const char *what);

/* The id tests (test_config_ids.c). */
void test_ids_same                 (void **state);
void test_ids_differ               (void **state);
void test_id_texts                 (void **state);
void test_ids_stable_under_random_orders(void **state);
void test_exempt_keys_load_but_cannot_be_swept(void **state);
void test_round_trip               (void **state);
void test_legacy_ids               (void **state);
void test_declared_defaults        (void **state);
void test_defaults_digest          (void **state);
void test_relies_on_default        (void **state);

/* The guard tests (test_config_guards.c). */
void test_experiment_names        (void **state);
void test_head_options             (void **state);
void test_size_limit              (void **state);
void test_data_keys               (void **state);

/* The sweep_except tests (test_config_except.c). */
void test_except_drops_points      (void **state);
void test_except_matches_values    (void **state);
void test_except_round_trip        (void **state);
void test_except_errors            (void **state);
void test_except_reserved          (void **state);
void test_except_fmnist_benchmark  (void **state);

#endif /* GPOOL_CONFIG_TESTS_H */
