/*
 * test_config.c - the YAML config loader and sweep engine (cfg/cfg.h):
 * every kind of bad config gives "name:LINE:COL: message" at the right
 * place, every kind of bad schema is named; good configs get their
 * defaults, types and sweep points; the resolved output loads again to
 * the same points; the shipped configs load against the schema of the
 * program that reads them. Point ids are tested in test_config_ids.c.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "config_tests.h"
#include "testutil.h"

#include "core/point.h"
#include "core/schema.h"
#include "records/claims.h"

#ifndef CONFIG_DIR
#define CONFIG_DIR "configs"
#endif
#ifndef BAD_CONFIG_DIR
#define BAD_CONFIG_DIR "tests/bad-configs"
#endif

/* ------------------------------------------------------- test schema */

static const char *const modes[]   = { "hot", "cold", NULL };
static const char *const formats[] = { "csv", "json", NULL };
static const char *const layouts[] = { "nchw", "nhwc", NULL };
static const char *const ltypes[]  = { "conv", "pool", "fc", NULL };

static const ycfg_schema dim_schema[]   = { { "dim", YCFG_INT, NULL, .min = 1, .max = 1 << 20 } };
static const ycfg_schema shape_schema[] = {
    { "shape", YCFG_LIST, NULL, .min = 4, .max = 4, .items = dim_schema }
};

const ycfg_schema bench_keys[] = {
    { "repetitions", YCFG_INT,   "21",   .min = 20, .max = 1e6, .help = "timed repetitions per row" },
    { "mode",        YCFG_ENUM,  "hot",  .choices = modes },
    { "threads",     YCFG_INT,   "1",    .min = 1, .max = 1024 },
    { "warmup",      YCFG_FLOAT, "0.5",  .min = 0, .max = 60 },
    { "verify",      YCFG_BOOL,  "true", .help = "compare with the reference" },
    { "layout",      YCFG_ENUM,  "nchw", .choices = layouts },
    { "shapes",      YCFG_LIST,  "[[1, 64, 56, 56]]", .min = 1, .max = 64, .items = shape_schema },
    { NULL }
};

const ycfg_schema output_keys[] = {
    { "dir",    YCFG_STRING, "results", .help = "where results go" },
    { "format", YCFG_ENUM,   "csv", .choices = formats },
    { NULL }
};

static const ycfg_schema layer_keys[] = {
    { "type",     YCFG_ENUM, NULL, .choices = ltypes },
    { "channels", YCFG_INT,  "0",  .min = 0, .max = 65536 },
    { NULL }
};
static const ycfg_schema layer_schema[] = { { "layer", YCFG_MAP, NULL, .items = layer_keys } };

/* Tagged layers: the keys allowed depend on "type". */
const ycfg_schema conv_keys[] = {
    { "out",    YCFG_INT,  NULL,   .min = 1, .max = 4096, .help = "output channels" },
    { "k",      YCFG_INT,  "3",    .min = 1, .max = 15 },
    { "stride", YCFG_INT,  "1",    .min = 1, .max = 8 },
    { "pad",    YCFG_INT,  "0",    .min = 0, .max = 7 },
    { "bias",   YCFG_BOOL, "true", .help = "learnable bias" },
    { NULL }
};
static const ycfg_schema maxpool_keys[] = {
    { "k",      YCFG_INT, "2", .min = 1, .max = 8 },
    { "stride", YCFG_INT, "0", .min = 0, .max = 8, .help = "0 means k" },
    { NULL }
};
static const ycfg_schema dropout_keys[] = {
    { "p", YCFG_FLOAT, "0.5", .min = 0, .max = 0.99, .help = "drop probability" },
    { NULL }
};
const ycfg_schema no_keys[] = { { NULL } };
const ycfg_schema layer_variants[] = {
    { "conv",      YCFG_MAP, NULL, .items = conv_keys,    .help = "convolution" },
    { "batchnorm", YCFG_MAP, NULL, .items = no_keys,      .help = "batch normalization" },
    { "relu",      YCFG_MAP, NULL, .items = no_keys,      .help = "max(x, 0)" },
    { "maxpool",   YCFG_MAP, NULL, .items = maxpool_keys, .help = "local max pooling" },
    { "dropout",   YCFG_MAP, NULL, .items = dropout_keys, .help = "dropout" },
    { NULL }
};
const ycfg_schema tlayer_schema[] = {
    { "layer", YCFG_TAGGED, NULL, .tag = "type", .items = layer_variants, .help = "a layer" }
};

const ycfg_schema root_schema[] = {
    { "name",   YCFG_STRING, NULL, .help = "what the experiment is called" },
    { "seed",   YCFG_INT,    "42", .help = "random seed" },
    { "bench",  YCFG_MAP,    "{}", .items = bench_keys },
    { "output", YCFG_MAP,    "{}", .items = output_keys },
    { "layers", YCFG_LIST,   "[]", .items = layer_schema },
    { "trunk",  YCFG_LIST,   "[]", .min = 0, .max = 100, .items = tlayer_schema },
    { "stem",   YCFG_TAGGED, "{type: relu}", .tag = "type", .items = layer_variants,
      .help = "the first layer" },
    { NULL }
};

/* ------------------------------------------------------------ helpers */

ycfg *load_ok(const char *yaml)
{
    char err[1024] = "";
    ycfg *cfg = ycfg_load_string("t", yaml, root_schema, err, sizeof err);
    if (!cfg)
        fail_msg("config did not load: %s\n---\n%s", err, yaml);
    return cfg;
}

/* The ids of all points, joined by spaces (caller frees). */
char *point_ids(const ycfg *cfg)
{
    return joined_ids(cfg, ycfg_point_id);
}

char *joined_ids(const ycfg *cfg, const char *(*id_of)(const ycfg_point *))
{
    size_t n = ycfg_npoints(cfg);
    char *ids = calloc(n, 17);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(ids, " ");
        strcat(ids, id_of(ycfg_point_at(cfg, i)));
    }
    return ids;
}

char *ids_of(const char *yaml)
{
    ycfg *cfg = load_ok(yaml);
    char *ids = point_ids(cfg);
    ycfg_free(cfg);
    return ids;
}

char *resolved_text(const ycfg *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(ycfg_write_resolved(cfg, f), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static int find_default(const ycfg *cfg, const char *path, const char *text)
{
    for (size_t k = 0; k < ycfg_ndefaults(cfg); k++)
        if (strcmp(ycfg_default_path(cfg, k), path) == 0)
            return strcmp(ycfg_default_text(cfg, k), text) == 0;
    return 0;
}

/* ----------------------------------------------------- bad configs */


static const bad_case bad_cases[] = {
    /* unknown keys, with and without a close one */
    { "name: x\nbench:\n  repetitons: 30\n", 3, 3,
      "unknown key 'repetitons' in 'bench', did you mean 'repetitions'?" },
    { "name: x\nbench:\n  thraeds: 3\n", 3, 3, "did you mean 'threads'?" },
    { "name: x\nnaem: y\n", 2, 1, "unknown key 'naem' at the top level, did you mean 'name'?" },
    { "name: x\nbench:\n  foo: 30\n", 3, 3, "unknown key 'foo' in 'bench'$" },
    { "name: x\nsweeps:\n  seed: [1, 2]\n", 2, 1, "unknown key 'sweeps' at the top level, did you mean 'sweep'?" },
    { "name: x\nlayers:\n  - {type: conv, channels: 3}\n  - {typo: pool}\n", 4, 6,
      "unknown key 'typo' in 'layers[1]', did you mean 'type'?" },
    /* wrong types */
    { "name: x\nbench:\n  repetitions: abc\n", 3, 16,
      "expected an integer for 'bench.repetitions', got 'abc'" },
    { "name: x\nbench:\n  repetitions: 1.5\n", 3, 16, "expected an integer for 'bench.repetitions', got '1.5'" },
    { "name: x\nbench:\n  repetitions: 12abc\n", 3, 16, "got '12abc'" },
    { "name: x\nbench:\n  repetitions: \"30\"\n", 3, 16, "got the quoted string \"30\" (remove the quotes)" },
    { "name: x\nbench:\n  threads: 010\n", 3, 12, "without leading zeros" },
    { "name: x\nbench:\n  threads: 99999999999999999999\n", 3, 12, "must fit in a 64-bit integer" },
    { "name: x\nbench:\n  warmup: fast\n", 3, 11, "expected a number for 'bench.warmup', got 'fast'" },
    { "name: x\nbench:\n  warmup: 0x10\n", 3, 11, "expected a number for 'bench.warmup'" },
    { "name: x\nbench:\n  warmup: .nan\n", 3, 11, "'bench.warmup' must be a finite number" },
    { "name: x\nbench:\n  warmup: -.inf\n", 3, 11, "must be a finite number" },
    { "name: x\nbench:\n  warmup: 1e999\n", 3, 11, "too large for a double" },
    { "name: x\nbench:\n  verify: yes\n", 3, 11, "expected true or false for 'bench.verify', got 'yes'" },
    { "name: x\nbench:\n  verify: 1\n", 3, 11, "expected true or false" },
    { "name: [x]\n", 1, 7, "expected a string for 'name', got a list" },
    { "name:\n", 1, 6, "expected a string for 'name', got an empty value" },
    { "name: x\nbench:\n", 2, 7, "expected a mapping for 'bench', got an empty value" },
    { "name: x\nbench: 3\n", 2, 8, "expected a mapping for 'bench', got '3'" },
    { "name: x\nbench:\n  shapes: 1\n", 3, 11, "expected a list for 'bench.shapes'" },
    /* ranges and list lengths */
    { "name: x\nbench:\n  repetitions: 5\n", 3, 16, "'bench.repetitions' must be in [20, 1000000], got 5" },
    { "name: x\nbench: {repetitions: 20, threads: 0}\n", 2, 35, "'bench.threads' must be in [1, 1024], got 0" },
    { "name: x\nbench:\n  warmup: 60.5\n", 3, 11, "must be in [0, 60]" },
    { "name: x\nbench:\n  shapes: [[1, 2, 3]]\n", 3, 12, "'bench.shapes[0]' must have exactly 4 items, got 3" },
    { "name: x\nbench:\n  shapes: []\n", 3, 11, "'bench.shapes' must have 1 to 64 items, got 0" },
    { "name: x\nbench:\n  shapes: [[1, 2, 3, 0]]\n", 3, 22, "'bench.shapes[0][3]' must be in [1, 1048576]" },
    /* enums */
    { "name: x\nbench: {mode: warm}\n", 2, 15, "'bench.mode' must be one of hot, cold; got 'warm'$" },
    { "name: x\nbench:\n  mode: hott\n", 3, 9, "got 'hott', did you mean 'hot'?" },
    /* duplicates and missing keys */
    { "name: x\nseed: 1\nseed: 2\n", 3, 1, "duplicate key 'seed' (first written at line 2, column 1)" },
    { "name: x\nbench: {threads: 2, threads: 3}\n", 2, 21, "duplicate key 'threads'" },
    { "seed: 1\nbench: {}\n", 1, 1, "missing required key 'name' (what the experiment is called)" },
    { "# comment\n\nseed: 1\n", 3, 1, "missing required key 'name'" },
    { "name: x\nlayers:\n  - type: conv\n    channels: 3\n  - channels: 4\n", 5, 5,
      "missing required key 'layers[1].type'" },
    /* sweeps */
    { "name: x\nsweep:\n  bench.threads: []\n", 3, 18, "the sweep list for 'bench.threads' is empty" },
    { "name: x\nsweep:\n  bench.thraeds: [1, 2]\n", 3, 3,
      "sweep path 'bench.thraeds' names no key: there is no 'thraeds' in 'bench', did you mean 'threads'?" },
    { "name: x\nsweep:\n  bogus: [1, 2]\n", 3, 3, "there is no 'bogus' at the top level$" },
    { "name: x\nsweep:\n  layers.type: [conv]\n", 3, 3, "goes into the list 'layers'" },
    { "name: x\nsweep:\n  bench.repetitions.x: [1]\n", 3, 3, "'bench.repetitions' is an integer, not a mapping" },
    { "name: x\nsweep:\n  .seed: [1]\n", 3, 3, "sweep path '.seed' is malformed" },
    { "name: x\nsweep:\n  bench.threads: [1, two, 4]\n", 3, 22, "expected an integer for 'bench.threads', got 'two'" },
    { "name: x\nsweep:\n  bench.threads: [1, 2000]\n", 3, 22, "must be in [1, 1024], got 2000" },
    { "name: x\nsweep:\n  bench.threads: 4\n", 3, 18, "expected a list of values for 'bench.threads'" },
    { "name: x\nsweep: [1, 2]\n", 2, 8, "expected a mapping of key paths to lists for 'sweep'" },
    { "name: x\nsweep: {}\n", 2, 8, "the sweep section is empty" },
    { "name: x\nsweep:\n  bench.threads: [1, 2, 1]\n", 3, 25,
      "the sweep of 'bench.threads' lists the same value twice (items 1 and 3)" },
    { "name: x\nsweep:\n  seed: [1]\n  seed: [2]\n", 4, 3, "duplicate key 'seed'" },
    { "name: x\nsweep:\n  seed: [1]\nsweep:\n  seed: [2]\n", 4, 1, "duplicate key 'sweep'" },
    { "name: x\nsweep:\n  bench: [{threads: 2}]\n  bench.threads: [1]\n", 4, 3,
      "sweep paths 'bench' and 'bench.threads' overlap" },
    { "name: x\nsweep:\n  bench.shapes: [[[1, 2, 3, 4]], [[1, 2, 3]]]\n", 3, 35, "must have exactly 4 items" },
    /* YAML itself */
    { "name: x\nbench: [1, 2\n", 3, 1, "YAML syntax error: did not find expected ',' or ']'" },
    { "name: x\n\tbench: {}\n", 2, 1, "YAML syntax error: found a tab character" },
    { "name: x\n---\nname: y\n", 2, 1, "a second YAML document starts here" },
    { "- a\n- b\n", 1, 1, "the top level must be a mapping of settings" },
    { "just text\n", 1, 1, "the top level must be a mapping of settings ('key: value' lines), got 'just text'" },
    { "", 1, 1, "the config is empty" },
    { "# only a comment\n", 1, 1, "the config is empty" },
    { "---\n", 1, 1, "the config is empty" },
    { "name: &n x\n", 1, 7, "anchors (&n) are not supported" },
    { "name: x\nseed: *n\n", 2, 7, "aliases (*n) are not supported" },
    { "name: !!str x\n", 1, 7, "tags (!!str) are not supported" },
    { "name: x\nbench: !custom {}\n", 2, 8, "tags (!custom) are not supported" },
    { "name: x\n? [a]\n: 1\n", 2, 3, "a key must be a name, not a list" },
    /* tagged maps: the tag, at its value */
    { "name: x\ntrunk:\n  - {type: conv, out: 8}\n  - {type: relu}\n  - {k: 2, type: maxpol}\n", 5, 18,
      "'trunk[2].type' must be one of conv, batchnorm, relu, maxpool, dropout; got 'maxpol', "
      "did you mean 'maxpool'?$" },
    { "name: x\ntrunk:\n  - type: conv\n    out: 8\n  - type: lstm\n    k: 2\n", 5, 11,
      "'trunk[1].type' must be one of conv, batchnorm, relu, maxpool, dropout; got 'lstm'$" },
    { "name: x\ntrunk:\n  - {type: [conv]}\n", 3, 12,
      "expected one of conv, batchnorm, relu, maxpool, dropout for 'trunk[0].type', got a list" },
    { "name: x\nstem: {type: ~}\n", 2, 14, "for 'stem.type', got an empty value" },
    /* a missing tag, at the map; a misspelt one, at the key */
    { "name: x\ntrunk:\n  - {type: relu}\n  - {out: 8, k: 3}\n", 4, 5,
      "missing required key 'trunk[1].type' (one of conv, batchnorm, relu, maxpool, dropout)$" },
    { "name: x\ntrunk:\n  - out: 8\n    k: 3\n", 3, 5, "missing required key 'trunk[0].type'" },
    { "name: x\ntrunk:\n  - {tpye: conv, out: 8}\n", 3, 6,
      "unknown key 'tpye' in 'trunk[0]', did you mean 'type'?$" },
    /* keys the variant does not take */
    { "name: x\ntrunk:\n  - {type: conv, out: 8, strid: 2}\n", 3, 26,
      "unknown key 'strid' in 'trunk[0]' (type: conv), did you mean 'stride'?$" },
    { "name: x\ntrunk:\n  - {type: relu, p: 0.5}\n", 3, 18,
      "unknown key 'p' in 'trunk[0]' (type: relu), which takes no other keys$" },
    { "name: x\ntrunk:\n  - {type: maxpool, out: 8}\n", 3, 21,
      "unknown key 'out' in 'trunk[0]' (type: maxpool), which takes only k, stride$" },
    { "name: x\nstem:\n  type: conv\n  out: 4\n  pda: 1\n", 5, 3,
      "unknown key 'pda' in 'stem' (type: conv), did you mean 'pad'?$" },
    /* the variant's keys follow every other rule */
    { "name: x\ntrunk:\n  - {type: conv, out: eight}\n", 3, 23,
      "expected an integer for 'trunk[0].out', got 'eight'" },
    { "name: x\ntrunk:\n  - {type: conv, out: 8, k: 0}\n", 3, 29, "'trunk[0].k' must be in [1, 15], got 0" },
    { "name: x\nstem: {type: dropout, p: 1.5}\n", 2, 26, "'stem.p' must be in [0, 0.99], got 1.5" },
    { "name: x\ntrunk:\n  - {type: relu}\n  - {type: conv, k: 5}\n", 4, 5,
      "missing required key 'trunk[1].out' (output channels)" },
    { "name: x\ntrunk:\n  - {type: conv, out: 8, type: relu}\n", 3, 26,
      "duplicate key 'type' (first written at line 3, column 6)" },
    { "name: x\ntrunk:\n  - {type: dropout, p: 0.1, p: 0.2}\n", 3, 29,
      "duplicate key 'p' (first written at line 3, column 21)" },
    /* not a mapping at all */
    { "name: x\ntrunk: [relu]\n", 2, 9, "expected a mapping for 'trunk[0]', got 'relu' (write {type: relu})" },
    { "name: x\ntrunk: [{type: relu}, ~]\n", 2, 23,
      "expected a mapping for 'trunk[1]', got an empty value (write {type: ...})" },
    /* swept tagged maps: each element whole; no path into one */
    { "name: x\nsweep:\n  stem.p: [0.1]\n", 3, 3,
      "sweep path 'stem.p' goes into the tagged mapping 'stem': its keys depend on its 'type' "
      "(sweep the whole 'stem' instead)" },
    { "name: x\nsweep:\n  stem: [{type: relu}, {type: rleu}]\n", 3, 31,
      "'stem.type' must be one of conv, batchnorm, relu, maxpool, dropout; got 'rleu', did you mean 'relu'?" },
    { "name: x\nsweep:\n  stem: [{type: relu}, {type: conv}]\n", 3, 24, "missing required key 'stem.out'" },
    { "name: x\nsweep:\n  trunk: [[{type: relu}], [{type: conv, out: 0}]]\n", 3, 46,
      "'trunk[0].out' must be in [1, 4096], got 0" },
};

static int has_needle(const char *err, const char *needle)
{
    size_t ln = strlen(needle), le = strlen(err);
    if (ln && needle[ln - 1] == '$')
        return le >= ln - 1 && strncmp(err + le - (ln - 1), needle, ln - 1) == 0;
    return strstr(err, needle) != NULL;
}

void check_error(const char *err, const char *name, int line, int col, const char *needle,
                        const char *what)
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", name, line, col);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !has_needle(err, needle))
        fail_msg("%s\n  want: %s...%s\n  got:  %s", what, prefix, needle, err);
}

void check_bad_cases(const bad_case *cases, size_t n, const ycfg_schema *schema)
{
    for (size_t k = 0; k < n; k++) {
        const bad_case *c = &cases[k];
        char err[1024] = "";
        ycfg *cfg = ycfg_load_string("t", c->yaml, schema, err, sizeof err);
        if (cfg) {
            ycfg_free(cfg);
            fail_msg("bad case %zu loaded:\n%s", k, c->yaml);
        }
        char what[64];
        snprintf(what, sizeof what, "bad case %zu", k);
        check_error(err, "t", c->line, c->col, c->needle, what);
    }
}

static void test_bad_configs_inline(void **state)
{
    check_bad_cases(bad_cases, sizeof bad_cases / sizeof bad_cases[0], root_schema);
}

/* Each file's first line says what it must give: "# expect: LINE:COL: text". */
static void check_bad_file(const char *path)
{
    char first[512] = "", needle[512];
    int line = 0, col = 0;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    if (!fgets(first, sizeof first, f))
        first[0] = '\0';
    fclose(f);
    first[strcspn(first, "\n")] = '\0';
    if (sscanf(first, "# expect: %d:%d: %511[^\n]", &line, &col, needle) != 3)
        fail_msg("%s: the first line must be '# expect: LINE:COL: text'", path);
    char err[1024] = "";
    ycfg *cfg = ycfg_load(path, root_schema, err, sizeof err);
    if (cfg) {
        ycfg_free(cfg);
        fail_msg("%s loaded, but it is a bad config", path);
    }
    check_error(err, path, line, col, needle, path);
}

static int is_yaml_name(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && strcmp(name + len - 5, ".yaml") == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The *.yaml names in dir that start with prefix (or all), sorted. */
static size_t list_yaml(const char *dir, const char *prefix, char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max; )
        if (is_yaml_name(e->d_name) && strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, n, 256, compare_names);
    return n;
}

static void test_bad_config_files(void **state)
{
    static char names[256][256];
    size_t n = list_yaml(BAD_CONFIG_DIR, "", names, 256);
    assert_true(n >= 5);
    for (size_t k = 0; k < n; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", BAD_CONFIG_DIR, names[k]);
        check_bad_file(path);
    }
}

static void test_file_errors(void **state)
{
    char err[512] = "", path[] = "/tmp/test_config_empty_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_null(ycfg_load(path, root_schema, err, sizeof err));
    unlink(path);
    check_error(err, path, 1, 1, "the config is empty", "empty file");

    assert_null(ycfg_load("/nonexistent/gpool.yaml", root_schema, err, sizeof err));
    assert_string_equal(err, "/nonexistent/gpool.yaml: No such file or directory");
    assert_null(ycfg_load(BAD_CONFIG_DIR, root_schema, err, sizeof err));
    assert_non_null(strstr(err, ": Is a directory"));
}

/* A program's default that does not parse is the program's bug, said so. */
static void test_bad_default_is_named(void **state)
{
    static const ycfg_schema keys[] = {
        { "n", YCFG_INT, "abc", .help = "a default that is not an integer" },
        { NULL }
    };
    static const ycfg_schema with_bad_map[] = {
        { "sub", YCFG_MAP, "{}", .items = keys },
        { NULL }
    };
    char err[1024] = "";
    assert_null(ycfg_load_string("t", "sub: {}\n", with_bad_map, err, sizeof err));
    check_error(err, "t", 1, 6, "the program's default for 'sub.n' (abc) is invalid: expected an integer",
                "bad default");
}

static void test_limits(void **state)
{
    char yaml[4096], err[512] = "";
    /* 100 x 100 x 100 x 2 points: over the limit */
    strcpy(yaml, "name: x\nsweep:\n");
    const char *axes[] = { "seed", "bench.threads", "bench.repetitions", "bench.verify" };
    for (int a = 0; a < 4; a++) {
        strcat(yaml, "  ");
        strcat(yaml, axes[a]);
        strcat(yaml, ": [");
        for (int v = 0; v < (a == 3 ? 2 : 100); v++) {
            char num[16];
            snprintf(num, sizeof num, "%s%s", v ? ", " : "", a == 3 ? (v ? "true" : "false") : "");
            strcat(yaml, num);
            if (a != 3) {
                snprintf(num, sizeof num, "%d", a == 2 ? 20 + v : 1 + v);
                strcat(yaml, num);
            }
        }
        strcat(yaml, "]\n");
    }
    assert_null(ycfg_load_string("t", yaml, root_schema, err, sizeof err));
    check_error(err, "t", 3, 3, "the sweep expands to more than 1000000 points", "limit");

    /* nesting past the depth limit */
    char deep[512] = "name: x\nlayers: ";
    for (int k = 0; k < 70; k++)
        strcat(deep, "[");
    assert_null(ycfg_load_string("t", deep, root_schema, err, sizeof err));
    assert_non_null(strstr(err, "nested deeper than"));
}

/* ----------------------------------------------------- good configs */

static void test_defaults_filled_and_recorded(void **state)
{
    ycfg *cfg = load_ok("name: plain\nbench:\n  threads: 4\n");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    assert_int_equal(ycfg_npoints(cfg), 1);
    assert_int_equal(ycfg_nswept(cfg), 0);
    assert_int_equal(ycfg_int(pt, "bench.threads"), 4);
    assert_int_equal(ycfg_int(pt, "bench.repetitions"), 21);
    assert_int_equal(ycfg_int(pt, "seed"), 42);
    assert_string_equal(ycfg_str(pt, "output.dir"), "results");
    assert_int_equal(ycfg_enum(pt, "output.format"), 0);   /* the default, "csv" */

    /* every value not written is listed once, in schema order; the written
     * one and the maps themselves are not */
    static const char *const want[][2] = {
        { "seed", "42" }, { "bench.repetitions", "21" }, { "bench.mode", "hot" },
        { "bench.warmup", "0.5" }, { "bench.verify", "true" }, { "bench.layout", "nchw" },
        { "bench.shapes", "[[1, 64, 56, 56]]" }, { "output.dir", "results" },
        { "output.format", "csv" }, { "layers", "[]" }, { "trunk", "[]" }, { "stem.type", "relu" },
    };
    assert_int_equal(ycfg_ndefaults(cfg), sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_string_equal(ycfg_default_path(cfg, k), want[k][0]);
        assert_string_equal(ycfg_default_text(cfg, k), want[k][1]);
    }
    /* a default value says it was not written */
    assert_int_equal(ycfg_get(pt, "bench.repetitions")->line, 0);
    assert_int_equal(ycfg_get(pt, "bench.threads")->line, 3);
    assert_int_equal(ycfg_get(pt, "bench.threads")->col, 12);
    ycfg_free(cfg);

    /* inside a written list of maps, each element's defaults are listed */
    cfg = load_ok("name: net\nlayers:\n  - type: conv\n  - {type: fc, channels: 3}\n");
    assert_true(find_default(cfg, "layers[0].channels", "0"));
    assert_false(find_default(cfg, "layers[1].channels", "3"));
    assert_false(find_default(cfg, "layers", "[]"));
    ycfg_free(cfg);

    /* all written: nothing recorded */
    cfg = load_ok("name: full\nseed: 1\nbench: {repetitions: 30, mode: cold, threads: 2, warmup: 0,"
                  " verify: false, layout: nhwc, shapes: [[1, 1, 1, 1]]}\n"
                  "output: {dir: out, format: json}\nlayers: []\ntrunk: []\nstem: {type: relu}\n");
    assert_int_equal(ycfg_ndefaults(cfg), 0);
    ycfg_free(cfg);
}

static void test_types(void **state)
{
    ycfg *cfg = load_ok("name: types\nseed: -9223372036854775808\n"
                          "bench:\n  warmup: 2\n  verify: false\n  mode: cold\n"
                          "  shapes:\n    - [1, 3, 224, 224]\n    - [8, 64, 7, 7]\n"
                          "output:\n  dir: 'results/a b'\n"
                          "layers:\n  - {type: conv, channels: 64}\n  - type: pool\n");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    assert_true(ycfg_int(pt, "seed") == INT64_MIN);
    assert_true(ycfg_float(pt, "bench.warmup") == 2.0);            /* int literal as float */
    assert_int_equal(ycfg_get(pt, "bench.warmup")->type, YCFG_FLOAT);
    assert_int_equal(ycfg_bool(pt, "bench.verify"), 0);
    assert_string_equal(ycfg_str(pt, "bench.mode"), "cold");
    assert_string_equal(ycfg_str(pt, "output.dir"), "results/a b");
    assert_string_equal(ycfg_name(cfg), "types");
    assert_int_equal(ycfg_point_root(pt)->type, YCFG_MAP);
    assert_ptr_equal(ycfg_point_root(pt)->schema->items, root_schema);

    /* a plain list of [N, C, H, W] shapes, outside any sweep */
    const ycfg_value *shapes = ycfg_get(pt, "bench.shapes");
    assert_int_equal(shapes->type, YCFG_LIST);
    assert_int_equal(shapes->n, 2);
    assert_int_equal(shapes->items[1].n, 4);
    assert_int_equal(shapes->items[0].items[2].i, 224);
    assert_int_equal(shapes->items[1].items[1].i, 64);
    assert_int_equal(shapes->items[1].line, 9);

    /* a list of maps: each element has all its keys */
    const ycfg_value *layers = ycfg_get(pt, "layers");
    assert_int_equal(layers->n, 2);
    assert_string_equal(ycfg_value_get(&layers->items[0], "type")->s, "conv");
    assert_int_equal(ycfg_value_get(&layers->items[0], "channels")->i, 64);
    assert_string_equal(ycfg_value_get(&layers->items[1], "type")->s, "pool");
    assert_int_equal(ycfg_value_get(&layers->items[1], "channels")->i, 0);

    char *text = ycfg_value_text(ycfg_get(pt, "layers"));
    assert_string_equal(text, "[{type: conv, channels: 64}, {type: pool, channels: 0}]");
    free(text);
    text = ycfg_value_text(ycfg_get(pt, "bench"));
    assert_string_equal(text, "{repetitions: 21, mode: cold, threads: 1, warmup: 2.0, verify: false,"
                              " layout: nchw, shapes: [[1, 3, 224, 224], [8, 64, 7, 7]]}");
    free(text);
    ycfg_free(cfg);

    /* booleans and floats in their other accepted spellings */
    cfg = load_ok("name: t\nbench: {verify: True, warmup: 1.5e1}\n");
    assert_int_equal(ycfg_bool(ycfg_point_at(cfg, 0), "bench.verify"), 1);
    assert_true(ycfg_float(ycfg_point_at(cfg, 0), "bench.warmup") == 15.0);
    ycfg_free(cfg);
}

static void test_sweep_order(void **state)
{
    ycfg *cfg = load_ok("name: sw\n"
                          "sweep:\n"
                          "  bench.threads: [1, 2, 4]\n"
                          "  bench.mode: [hot, cold]\n"
                          "  bench.shapes: [[[1, 2, 3, 4]], [[5, 6, 7, 8], [1, 1, 1, 1]]]\n"
                          "bench:\n  threads: 8\n");
    assert_int_equal(ycfg_npoints(cfg), 12);
    assert_int_equal(ycfg_nswept(cfg), 3);
    assert_string_equal(ycfg_swept_path(cfg, 0), "bench.threads");
    assert_string_equal(ycfg_swept_path(cfg, 1), "bench.mode");
    assert_string_equal(ycfg_swept_path(cfg, 2), "bench.shapes");
    static const int threads[] = { 1, 2, 4 };
    for (size_t i = 0; i < 12; i++) {
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        assert_int_equal(ycfg_int(pt, "bench.threads"), threads[i / 4]);     /* slowest */
        assert_string_equal(ycfg_str(pt, "bench.mode"), (i / 2) % 2 ? "cold" : "hot");
        assert_int_equal(ycfg_enum(pt, "bench.mode"), (i / 2) % 2);   /* index in modes */
        assert_int_equal(ycfg_get(pt, "bench.shapes")->n, i % 2 + 1);        /* fastest */
        assert_int_equal(ycfg_int(pt, "bench.repetitions"), 21);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ycfg_point_id(pt), ycfg_point_id(ycfg_point_at(cfg, j)));
    }
    /* swept keys are not defaults, even where the base took one */
    assert_false(find_default(cfg, "bench.mode", "hot"));
    assert_false(find_default(cfg, "bench.shapes", "[[1, 64, 56, 56]]"));
    assert_true(find_default(cfg, "bench.warmup", "0.5"));
    ycfg_free(cfg);

    cfg = load_ok("name: one\n");
    assert_int_equal(ycfg_npoints(cfg), 1);
    assert_int_equal(strlen(ycfg_point_id(ycfg_point_at(cfg, 0))), 16);
    ycfg_free(cfg);
}

/* A required key may be given by the sweep alone. */
static void test_sweep_fills_required(void **state)
{
    ycfg *cfg = load_ok("sweep:\n  name: [a, b]\n  layers: [[{type: fc}], []]\n");
    assert_int_equal(ycfg_npoints(cfg), 4);
    assert_string_equal(ycfg_str(ycfg_point_at(cfg, 0), "name"), "a");
    assert_string_equal(ycfg_str(ycfg_point_at(cfg, 3), "name"), "b");
    assert_int_equal(ycfg_get(ycfg_point_at(cfg, 0), "layers")->n, 1);
    assert_int_equal(ycfg_get(ycfg_point_at(cfg, 1), "layers")->n, 0);
    ycfg_free(cfg);
}

/* ---------------------------------------------------- tagged maps */

static void test_tagged_values(void **state)
{
    ycfg *cfg = load_ok("name: tagged\n"
                          "trunk:\n"
                          "  - {out: 8, type: conv, pad: 1, bias: false}\n"
                          "  - type: batchnorm\n"
                          "  - type: relu\n"
                          "  - {type: maxpool, k: 3}\n"
                          "  - type: \"dropout\"\n"
                          "    p: 0.25\n"
                          "stem: {type: conv, out: 4, k: 1}\n");
    const ycfg_point *pt = ycfg_point_at(cfg, 0);
    const ycfg_value *trunk = ycfg_get(pt, "trunk");
    assert_int_equal(trunk->n, 5);

    /* the tag first (an ENUM of the variant names), then the variant's keys */
    const ycfg_value *conv = &trunk->items[0];
    assert_int_equal(conv->type, YCFG_TAGGED);
    assert_int_equal(conv->n, 6);
    assert_ptr_equal(ycfg_value_get(conv, "type"), &conv->items[0]);
    assert_int_equal(conv->items[0].type, YCFG_ENUM);
    assert_string_equal(conv->items[0].s, "conv");
    assert_string_equal(conv->items[0].schema->choices[3], "maxpool");
    assert_string_equal(conv->items[0].schema->choices[ycfg_value_enum(&conv->items[0])],
                        "conv");
    assert_int_equal(conv->items[0].line, 3);
    assert_int_equal(conv->items[0].col, 20);
    assert_int_equal(ycfg_value_get(conv, "out")->i, 8);
    assert_int_equal(ycfg_value_get(conv, "k")->i, 3);             /* default */
    assert_int_equal(ycfg_value_get(conv, "k")->line, 0);
    assert_int_equal(ycfg_value_get(conv, "stride")->i, 1);
    assert_int_equal(ycfg_value_get(conv, "pad")->i, 1);
    assert_int_equal(ycfg_value_get(conv, "bias")->i, 0);

    assert_int_equal(trunk->items[1].n, 1);                          /* only its tag */
    assert_string_equal(ycfg_value_get(&trunk->items[1], "type")->s, "batchnorm");
    assert_string_equal(ycfg_value_get(&trunk->items[2], "type")->s, "relu");
    assert_int_equal(ycfg_value_get(&trunk->items[3], "k")->i, 3);
    assert_int_equal(ycfg_value_get(&trunk->items[3], "stride")->i, 0);
    assert_string_equal(ycfg_value_get(&trunk->items[4], "type")->s, "dropout");  /* quoted */
    assert_true(ycfg_value_get(&trunk->items[4], "p")->f == 0.25);

    /* a tagged map as a map value, through dotted paths */
    assert_string_equal(ycfg_str(pt, "stem.type"), "conv");
    assert_int_equal(ycfg_int(pt, "stem.out"), 4);
    assert_int_equal(ycfg_int(pt, "stem.k"), 1);
    assert_int_equal(ycfg_get(pt, "stem")->type, YCFG_TAGGED);

    /* canonical text: tag first, then the variant's keys in schema order */
    char *text = ycfg_value_text(trunk);
    assert_string_equal(text, "[{type: conv, out: 8, k: 3, stride: 1, pad: 1, bias: false}, "
                              "{type: batchnorm}, {type: relu}, {type: maxpool, k: 3, stride: 0}, "
                              "{type: dropout, p: 0.25}]");
    free(text);

    /* defaults inside tagged maps are listed key by key, in schema order,
     * after the 11 of the rest of the schema */
    static const char *const want[][2] = {
        { "trunk[0].k", "3" }, { "trunk[0].stride", "1" }, { "trunk[3].stride", "0" },
        { "stem.stride", "1" }, { "stem.pad", "0" }, { "stem.bias", "true" },
    };
    assert_int_equal(ycfg_ndefaults(cfg), 11 + sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_string_equal(ycfg_default_path(cfg, 11 + k), want[k][0]);
        assert_string_equal(ycfg_default_text(cfg, 11 + k), want[k][1]);
    }
    ycfg_free(cfg);

    /* a tagged map the file leaves out takes its default, tag and all */
    cfg = load_ok("name: d\n");
    pt = ycfg_point_at(cfg, 0);
    assert_string_equal(ycfg_str(pt, "stem.type"), "relu");
    assert_int_equal(ycfg_get(pt, "stem")->n, 1);
    assert_int_equal(ycfg_get(pt, "stem")->line, 0);
    assert_true(find_default(cfg, "stem.type", "relu"));
    assert_false(find_default(cfg, "stem", "{type: relu}"));
    ycfg_free(cfg);
}

static void test_tagged_sweep(void **state)
{
    ycfg *cfg = load_ok("name: s\nsweep:\n"
                          "  stem: [{type: relu}, {type: conv, out: 4}, {p: 0.125, type: dropout}]\n"
                          "  seed: [1, 2]\n");
    assert_int_equal(ycfg_npoints(cfg), 6);
    static const char *const types[] = { "relu", "conv", "dropout" };
    for (size_t i = 0; i < 6; i++) {
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        assert_string_equal(ycfg_str(pt, "stem.type"), types[i / 2]);
        assert_int_equal(ycfg_int(pt, "seed"), (long long)(i % 2 + 1));
        assert_int_equal(ycfg_get(pt, "stem")->line, 3);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ycfg_point_id(pt), ycfg_point_id(ycfg_point_at(cfg, j)));
    }
    const ycfg_point *pt = ycfg_point_at(cfg, 2);
    assert_int_equal(ycfg_int(pt, "stem.out"), 4);
    assert_int_equal(ycfg_int(pt, "stem.k"), 3);                 /* the variant's default */
    assert_true(ycfg_float(ycfg_point_at(cfg, 5), "stem.p") == 0.125);
    /* a swept value is no default, not even inside */
    assert_false(find_default(cfg, "stem.type", "relu"));
    assert_false(find_default(cfg, "stem.k", "3"));
    char *text = resolved_text(cfg);
    assert_non_null(strstr(text, "\nstem: {type: relu}  # swept\n"));
    assert_non_null(strstr(text, "\n  stem: [{type: relu}, {type: conv, out: 4, k: 3, stride: 1, pad: 0,"
                                 " bias: true}, {type: dropout, p: 0.125}]\n"));
    free(text);
    ycfg_free(cfg);

    /* a whole list of tagged maps swept */
    cfg = load_ok("name: s\nsweep:\n  trunk: [[{type: relu}], [{type: conv, out: 2}, {type: relu}]]\n");
    assert_int_equal(ycfg_npoints(cfg), 2);
    assert_int_equal(ycfg_get(ycfg_point_at(cfg, 0), "trunk")->n, 1);
    const ycfg_value *trunk = ycfg_get(ycfg_point_at(cfg, 1), "trunk");
    assert_int_equal(trunk->n, 2);
    assert_int_equal(ycfg_value_get(&trunk->items[0], "out")->i, 2);
    assert_string_equal(ycfg_value_get(&trunk->items[1], "type")->s, "relu");
    ycfg_free(cfg);
}

/* Schemas of tagged maps for the schema checks below. */
static const ycfg_schema t_keys[] = {
    { "k", YCFG_INT, "3", .min = 1, .max = 9, .help = "a size" },
    { "w", YCFG_INT, NULL, .min = 1, .max = 9, .help = "a required width" },
    { NULL }
};
static const ycfg_schema t_bad_default_keys[] = { { "k", YCFG_INT, "abc", .help = "bad" }, { NULL } };
static const ycfg_schema t_tag_again_keys[] = { { "type", YCFG_STRING, "x", .help = "tag" }, { NULL } };
static const ycfg_schema t_good[]     = { { "a", YCFG_MAP, NULL, .items = t_keys },
                                            { "b", YCFG_MAP, NULL, .items = no_keys }, { NULL } };
static const ycfg_schema t_not_map[]  = { { "a", YCFG_INT, NULL, .help = "no map" }, { NULL } };
static const ycfg_schema t_no_items[] = { { "a", YCFG_MAP, NULL, .help = "no table" }, { NULL } };
static const ycfg_schema t_tag_again[] = { { "a", YCFG_MAP, NULL, .items = t_tag_again_keys }, { NULL } };
static const ycfg_schema t_twice[]    = { { "a", YCFG_MAP, NULL, .items = no_keys },
                                            { "a", YCFG_MAP, NULL, .items = t_keys }, { NULL } };
static const ycfg_schema t_with_def[] = { { "a", YCFG_MAP, "{}", .items = no_keys }, { NULL } };
static const ycfg_schema t_bad_key_def[] = { { "b", YCFG_MAP, NULL, .items = no_keys },
                                               { "a", YCFG_MAP, NULL, .items = t_bad_default_keys },
                                               { NULL } };

/* A root with one tagged entry t over these variants (and default). */
#define TAGGED_ROOT(def_, variants_) \
    (const ycfg_schema[]){ { "t", YCFG_TAGGED, def_, .tag = "type", .items = variants_ }, { NULL } }

/* Schemas a program could get wrong, and what ycfg_check_schema says. */
static void test_bad_schemas(void **state)
{
    static const ycfg_schema bad_int[] = { { "n", YCFG_INT, "abc", .help = "not an integer" }, { NULL } };
    const struct { const ycfg_schema *root; const char *needle; } bad[] = {
        { (const ycfg_schema[]){ { "sub", YCFG_MAP, "{}", .items = bad_int }, { NULL } },
          "'sub.n' (abc) is invalid" },
        { (const ycfg_schema[]){ { "m", YCFG_ENUM, NULL, .help = "no choices" }, { NULL } },
          "'m' is an ENUM without choices" },
        { (const ycfg_schema[]){ { "t", YCFG_TAGGED, NULL, .items = t_good }, { NULL } },
          "'t' is TAGGED without a tag key (.tag)" },
        { TAGGED_ROOT(NULL, no_keys),       "'t' is TAGGED without variants (items)" },
        { TAGGED_ROOT(NULL, NULL),          "'t' is TAGGED without variants (items)" },
        { TAGGED_ROOT(NULL, t_not_map),     "'t' has a variant 'a' that is not a MAP" },
        { TAGGED_ROOT(NULL, t_no_items),    "'t' has a variant 'a' without a key table" },
        { TAGGED_ROOT(NULL, t_tag_again),   "'t' has a variant 'a' that declares the tag key 'type' again" },
        { TAGGED_ROOT(NULL, t_twice),       "'t' has the variant 'a' twice" },
        { TAGGED_ROOT(NULL, t_with_def),    "'t' has a variant 'a' with a default" },
        { TAGGED_ROOT(NULL, t_bad_key_def), "the program's default for 't(type: a).k' (abc) is invalid" },
        /* inside a list, the path names the element and the variant */
        { (const ycfg_schema[]){ { "l", YCFG_LIST, "[]", .items = TAGGED_ROOT(NULL, t_bad_key_def) },
                                 { NULL } },
          "'l[0](type: a).k' (abc)" },
        /* a default must name its variant and write what that variant requires */
        { TAGGED_ROOT("{k: 1}", t_good),
          "the program's default for 't' ({k: 1}) is invalid: missing required key 't.type' (one of a, b)" },
        { TAGGED_ROOT("{type: c}", t_good), "'t.type' must be one of a, b; got 'c'" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char err[1024] = "";
        if (ycfg_check_schema(bad[k].root, err, sizeof err) != -1 || !strstr(err, bad[k].needle))
            fail_msg("schema check %zu: want '%s', got '%s'", k, bad[k].needle, err);
    }
}

static void test_tagged_schema(void **state)
{
    char err[1024] = "";
    assert_int_equal(ycfg_check_schema(root_schema, err, sizeof err), 0);
    /* a required key of a variant is the user's to write, even in a list */
    const ycfg_schema good[] = {
        { "t", YCFG_TAGGED, "{type: b}", .tag = "type", .items = t_good },
        { "l", YCFG_LIST, "[{type: a, w: 2}]", .items = TAGGED_ROOT(NULL, t_good) },
        { NULL }
    };
    if (ycfg_check_schema(good, err, sizeof err))
        fail_msg("good tagged schema refused: %s", err);

    /* a default with keys: each listed, the tag first */
    ycfg *cfg = ycfg_load_string("t", "{}\n", TAGGED_ROOT("{w: 2, type: a}", t_good), err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_int_equal(ycfg_ndefaults(cfg), 3);
    assert_string_equal(ycfg_default_path(cfg, 0), "t.type");
    assert_string_equal(ycfg_default_text(cfg, 0), "a");
    assert_string_equal(ycfg_default_path(cfg, 1), "t.k");
    assert_string_equal(ycfg_default_path(cfg, 2), "t.w");
    assert_string_equal(ycfg_default_text(cfg, 2), "2");
    ycfg_free(cfg);
}

static void test_name(void **state)
{
    static const ycfg_schema nameless[] = { { "n", YCFG_INT, "1", .help = "a number" }, { NULL } };
    char err[512] = "";
    ycfg *cfg = ycfg_load_string("configs/kernels-avx2.yaml", "n: 2\n", nameless, err, sizeof err);
    assert_non_null(cfg);
    assert_string_equal(ycfg_name(cfg), "kernels-avx2");
    assert_string_equal(ycfg_path(cfg), "configs/kernels-avx2.yaml");
    ycfg_free(cfg);
    cfg = load_ok("name: given\n");
    assert_string_equal(ycfg_name(cfg), "given");
    ycfg_free(cfg);
}

/* ------------------------------------------------------------ misuse */

typedef void (*misuse_fn)(const ycfg_point *pt);
static void ask_unknown(const ycfg_point *pt)   { ycfg_int(pt, "bench.nope"); }
static void ask_wrong_type(const ycfg_point *pt) { ycfg_int(pt, "bench.warmup"); }
static void ask_through_leaf(const ycfg_point *pt) { ycfg_get(pt, "seed.x"); }
/* the default stem is a relu: k is another variant's key */
static void ask_other_variant(const ycfg_point *pt) { ycfg_int(pt, "stem.k"); }
static void load_untagged(const ycfg_point *pt)
{
    static const ycfg_schema untagged[] = {
        { "t", YCFG_TAGGED, NULL, .items = layer_variants, .help = "no .tag" }, { NULL }
    };
    (void)pt;
    ycfg_free(ycfg_load_string("t", "t: {type: relu}\n", untagged, NULL, 0));
}

/* The child aborts and says which path; stderr is caught through a pipe. */
static void expect_abort(misuse_fn fn, const char *needle)
{
    ycfg *cfg = load_ok("name: m\n");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        signal(SIGABRT, SIG_DFL);
        fn(ycfg_point_at(cfg, 0));
        _exit(0);
    }
    close(fds[1]);
    char msg[1024] = "";
    size_t len = 0;
    for (ssize_t got; (got = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0; )
        len += (size_t)got;
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    ycfg_free(cfg);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    if (!strstr(msg, needle))
        fail_msg("abort message '%s' lacks '%s'", msg, needle);
}

static void test_misuse_aborts(void **state)
{
    expect_abort(ask_unknown, "'bench.nope' is not a key of the config schema");
    expect_abort(ask_wrong_type, "'bench.warmup' is a number, asked for as an integer");
    expect_abort(ask_through_leaf, "'seed.x' is not a key");
    expect_abort(ask_other_variant, "'stem.k' is not a key");
    expect_abort(load_untagged, "'t' is TAGGED without a tag key");
}

/* ---------------------------------------------------- shipped configs */

typedef struct {
    const char          *prefix;                /* configs/PREFIX*.yaml */
    const ycfg_schema *(*schema)(void);       /* NULL when not linked in */
    const char          *source;                /* where the schema lives */
} program;

static void load_shipped(const program *p, const char *name)
{
    char path[1024], err[1024] = "";
    snprintf(path, sizeof path, "%s/%s", CONFIG_DIR, name);
    ycfg *cfg = ycfg_load(path, p->schema(), err, sizeof err);
    if (!cfg)
        fail_msg("shipped config does not load: %s", err);
    assert_true(ycfg_npoints(cfg) >= 1);
    ycfg_free(cfg);
}

static void test_shipped_configs(void **state)
{
    /* A config belongs to the first program whose prefix its name starts
     * with: gpool run reads every config that is not a benchmark's. */
    const program programs[] = {
        { "kernels", gpx_bench_schema, "core/bench_schema.c (gpx_bench_schema)" },
        { "claims",  gpx_claims_schema, "records/claims_config.c (gpx_claims_schema)" },
        { "",        gpx_run_schema,   "core/schema.c (gpx_run_schema)" },
    };
    enum { NPROGRAMS = sizeof programs / sizeof programs[0] };
    size_t used[NPROGRAMS] = {0};
    static char names[256][256];
    for (size_t p = 0; p < NPROGRAMS; p++) {
        char err[1024] = "";
        if (ycfg_check_schema(programs[p].schema(), err, sizeof err))
            fail_msg("%s: %s", programs[p].source, err);
    }
    size_t n = list_yaml(CONFIG_DIR, "", names, 256);
    for (size_t k = 0; k < n; k++) {
        size_t p = 0;
        while (strncmp(names[k], programs[p].prefix, strlen(programs[p].prefix)) != 0)
            p++;                            /* the last prefix matches every name */
        load_shipped(&programs[p], names[k]);
        used[p]++;
    }
    if (used[0] == 0)
        fail_msg("no %s/%s*.yaml: the bench ships its configs there", CONFIG_DIR, programs[0].prefix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configs_inline),
        cmocka_unit_test(test_bad_config_files),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_bad_default_is_named),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_defaults_filled_and_recorded),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_sweep_order),
        cmocka_unit_test(test_sweep_fills_required),
        cmocka_unit_test(test_except_drops_points),
        cmocka_unit_test(test_except_matches_values),
        cmocka_unit_test(test_except_round_trip),
        cmocka_unit_test(test_except_errors),
        cmocka_unit_test(test_except_reserved),
        cmocka_unit_test(test_except_fmnist_benchmark),
        cmocka_unit_test(test_tagged_values),
        cmocka_unit_test(test_tagged_sweep),
        cmocka_unit_test(test_tagged_schema),
        cmocka_unit_test(test_bad_schemas),
        cmocka_unit_test(test_ids_same),
        cmocka_unit_test(test_ids_differ),
        cmocka_unit_test(test_id_texts),
        cmocka_unit_test(test_ids_stable_under_random_orders),
        cmocka_unit_test(test_exempt_keys_load_but_cannot_be_swept),
        cmocka_unit_test(test_legacy_ids),
        cmocka_unit_test(test_declared_defaults),
        cmocka_unit_test(test_defaults_digest),
        cmocka_unit_test(test_relies_on_default),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_experiment_names),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_head_options),
        cmocka_unit_test(test_data_keys),
        cmocka_unit_test(test_misuse_aborts),
        cmocka_unit_test(test_shipped_configs),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
