/*
 * test_config_guards.c - what keeps a config from reaching outside its
 * place: the experiment name that becomes results/<name>/, and the size
 * limit that keeps a huge file from costing seconds and gigabytes to parse
 * (test_config.c runs these; the declarations are in config_tests.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "config_tests.h"

#include "core/model.h"
#include "core/schema.h"

/* Each would write outside results/<name>/ or break a chart title. */
static const bad_case bad_names[] = {
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
    check_bad_cases(bad_names, sizeof bad_names / sizeof bad_names[0], gpx_run_schema());
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

/* "name: x" and comment lines up to exactly bytes (bytes > 40). */
static char *padded_config(size_t bytes)
{
    char *text = malloc(bytes + 1);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, bytes + 1, "name: x\nbench: {threads: 3}\n");
    while (n < bytes) {
        size_t line = bytes - n < 64 ? bytes - n : 64;
        memset(text + n, ' ', line);
        text[n] = '#';
        text[n + line - 1] = '\n';
        n += line;
    }
    text[bytes] = '\0';
    return text;
}

static void write_temp(char *path, const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A model section for gpx_run_schema with the given head and extra lines
 * (each "  key: value" under model:). */
#define MODEL_CFG(head, extra)                                                   \
    "name: t\nmodel:\n  trunk:\n    - {type: conv, out: 4, k: 3}\n"              \
    "    - {type: adaptive_maxpool, size: 3}\n  head: " head "\n" extra

/* The heads' option keys and the adaptive trunk layers: the schema's
 * ranges and choices, then what only decoding sees (k and fraction both
 * written, a level given twice), each at its file:line:column. */
void test_head_options(void **state)
{
    (void)state;
    static const bad_case schema_cases[] = {
        { MODEL_CFG("topk", "  topk: {fraction: 1.5}\n"), 7, 20, "fraction" },
        { MODEL_CFG("topk", "  topk: {k: -1}\n"), 7, 13, "k" },
        { MODEL_CFG("spp_dense", "  spp: {mode: sum}\n"), 7, 15, "sum" },
        { MODEL_CFG("spp_dense", "  spp: {levels: [1, 65]}\n"), 7, 21, "65" },
        { "name: t\nmodel:\n  trunk:\n    - {type: adaptive_avgpool}\n  head: gap\n", 4, 7,
          "size" },
    };
    check_bad_cases(schema_cases, sizeof schema_cases / sizeof schema_cases[0],
                    gpx_run_schema());
    static const struct {
        const char *yaml;
        int line, col;
        const char *needle;
    } decode_cases[] = {
        { MODEL_CFG("topk_dense", "  topk: {k: 3, fraction: 0.5}\n"), 7, 13, "not both" },
        { MODEL_CFG("spp_dense", "  spp: {levels: [1, 2, 1]}\n"), 7, 24, "given twice" },
    };
    for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
        char err[1024] = "", path[] = "/tmp/test_config_head_XXXXXX";
        write_temp(path, decode_cases[i].yaml);
        ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
        if (!cfg)
            fail_msg("case %zu does not load: %s", i, err);
        gpx_model_spec spec;
        assert_int_equal(gpx_model_decode(ycfg_get(ycfg_point_at(cfg, 0), "model"), path, &spec,
                                          err, sizeof err), -1);
        check_error(err, path, decode_cases[i].line, decode_cases[i].col,
                    decode_cases[i].needle, "head option");
        ycfg_free(cfg);
        unlink(path);
    }
}

void test_size_limit(void **state)
{
    char err[1024] = "", path[] = "/tmp/test_config_size_XXXXXX";
    char *at_limit = padded_config(YCFG_MAX_BYTES);
    write_temp(path, at_limit);
    ycfg *cfg = ycfg_load(path, root_schema, err, sizeof err);
    if (!cfg)
        fail_msg("a config of exactly the limit is refused: %s", err);
    assert_int_equal(ycfg_int(ycfg_point_at(cfg, 0), "bench.threads"), 3);
    ycfg_free(cfg);
    unlink(path);

    char *over = padded_config(YCFG_MAX_BYTES + 1);
    strcpy(path, "/tmp/test_config_size_XXXXXX");
    write_temp(path, over);
    assert_null(ycfg_load(path, root_schema, err, sizeof err));
    unlink(path);
    char want[1200];
    snprintf(want, sizeof want, "%s: the config is larger than 1048576 bytes (1 MiB)", path);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("want: %s...\n got: %s", want, err);
    assert_null(ycfg_load_string("big", over, root_schema, err, sizeof err));
    assert_non_null(strstr(err, "big: the config is larger than"));
    free(at_limit);
    free(over);
}

/* A data section for gpx_run_schema with the given lines (each "  key: value"). */
#define DATA_CFG(lines) \
    "name: t\nmodel: {trunk: [{type: relu}], head: gap}\ndata:\n" lines

/* data.mean and data.std take a number or a list of 1 to GPX_MAX_CHANNELS
 * numbers, each checked as the number is (std >= 0); data.augment takes
 * hflip and crop_pad. Each error at its file:line:column. */
static const bad_case bad_data_keys[] = {
    { DATA_CFG("  std: []\n"), 4, 8, "a number or a list of 1 to 16 numbers, got 0" },
    { DATA_CFG("  std: [0.2, -1]\n"), 4, 14, "'data.std[1]' must be in [0, " },
    { DATA_CFG("  mean: [0.1, x]\n"), 4, 15, "a number or a list of numbers" },
    { DATA_CFG("  mean: {r: 0.5}\n"), 4, 9, "a number or a list of numbers" },
    { DATA_CFG("  mean: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n"), 4, 9,
      "got 17 items" },
    { DATA_CFG("  augment: {hflip: yes}\n"), 4, 20, "only true and false" },
    { DATA_CFG("  augment: {crop_pad: -1}\n"), 4, 23, "crop_pad" },
    { DATA_CFG("  augment: {flip: true}\n"), 4, 13, "did you mean 'hflip'" },
};

void test_data_keys(void **state)
{
    (void)state;
    check_bad_cases(bad_data_keys, sizeof bad_data_keys / sizeof bad_data_keys[0],
                    gpx_run_schema());
    char err[1024] = "";
    ycfg *cfg = ycfg_load_string("t", DATA_CFG("  mean: [0.49, 0.48, 0.45]\n  std: 0.25\n"
                                               "  augment: {hflip: true, crop_pad: 4}\n"),
                                 gpx_run_schema(), err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    double v[4] = { 0 };
    assert_int_equal(ycfg_floats(pt, "data.mean", v, 4), 3);
    assert_true(v[0] == 0.49 && v[1] == 0.48 && v[2] == 0.45);
    assert_int_equal(ycfg_floats(pt, "data.std", v, 4), 1);
    assert_true(v[0] == 0.25);
    assert_int_equal(ycfg_floats(pt, "data.mean", v, 2), 3);   /* only 2 written */
    assert_true(v[2] == 0.45);
    char *text = ycfg_point_id_text(cfg, pt);
    assert_non_null(strstr(text, "mean: [0.49, 0.48, 0.45], std: 0.25, augment: {hflip: true, "
                                 "crop_pad: 4}"));
    free(text);
    ycfg_free(cfg);
    /* a single number is written as before: the id text of a config that
     * never heard of lists */
    cfg = ycfg_load_string("t", DATA_CFG("  mean: 0.286\n"), gpx_run_schema(), err, sizeof err);
    assert_non_null(cfg);
    text = ycfg_point_id_text(cfg, ycfg_point_at(cfg, 0));
    assert_string_equal(text, "{name: t, data: {mean: 0.286}, model: {trunk: [{type: relu}], "
                              "head: gap}}");
    free(text);
    ycfg_free(cfg);
}
