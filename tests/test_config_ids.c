/*
 * test_config_ids.c - point ids and the defaults behind them (half of
 * tests/test_config; see config_tests.h): an id ignores how the file is
 * written, keys at their defaults and keys added with defaults, but not
 * what runs; the resolved output loads again to the same ids; the legacy
 * id is what the previous release wrote; the defaults a schema declares,
 * their digest, and whether a config relies on one.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfg/cfg.h"
#include "config_tests.h"
#include "testutil.h"

#include "core/schema.h"

#ifndef CONFIG_DIR
#define CONFIG_DIR "configs"
#endif
/* gpool run's results, committed beside the configs */
#define RESULTS_DIR CONFIG_DIR "/../results"

/* ------------------------------------------------------ more schemas */

/* A key marked id_exempt (how results are shown, not what runs). */
static const ycfg_schema view_keys[] = {
    { "digits", YCFG_INT, "2", .min = 0, .max = 9, .help = "decimals shown" },
    { "title", YCFG_STRING, "\"\"", .help = "caption" },
    { NULL }
};
static const ycfg_schema plain_root[] = {
    { "name", YCFG_STRING, NULL, .help = "what the experiment is called" },
    { "seed", YCFG_INT, "42", .help = "random seed" },
    { NULL }
};
static const ycfg_schema exempt_root[] = {
    { "name", YCFG_STRING, NULL, .help = "what the experiment is called" },
    { "seed", YCFG_INT, "42", .help = "random seed" },
    { "view", YCFG_MAP, "{}", .items = view_keys, .id_exempt = 1, .help = "presentation" },
    { NULL }
};
/* A required map, and a map whose default writes a key. */
static const ycfg_schema odd_maps[] = {
    { "name", YCFG_STRING, NULL, .help = "what the experiment is called" },
    { "opts", YCFG_MAP, NULL, .items = output_keys, .help = "a required map" },
    { "m", YCFG_MAP, "{dir: x}", .items = output_keys, .help = "a default with a key" },
    { NULL }
};
static const ycfg_schema nameless[] = { { "n", YCFG_INT, "1", .help = "a number" }, { NULL } };

/* A copy of root_schema whose bench table, conv layer (in trunk and stem)
 * and root table can be changed, as a later release might change them. */
enum { ROOM = 16 };
typedef struct {
    ycfg_schema root[ROOM], bench[ROOM], conv[ROOM], variants[ROOM], layer[1];
} schema_copy;

/* dst = table, with added (if any) put before its entry at. */
static void copy_with(ycfg_schema *dst, const ycfg_schema *table, size_t at,
                      const ycfg_schema *added)
{
    size_t n = 0;
    for (size_t k = 0; table[k].key; k++) {
        if (k == at && added)
            dst[n++] = *added;
        dst[n++] = table[k];
    }
    dst[n] = (ycfg_schema){ .key = NULL };
    assert_true(n < ROOM);
}

static ycfg_schema *entry_of(ycfg_schema *table, const char *key)
{
    while (table->key && strcmp(table->key, key) != 0)
        table++;
    assert_non_null(table->key);
    return table;
}

/* Keys a later release adds, each with a default that keeps what ran. */
typedef struct {
    const ycfg_schema *bench, *conv, *root;
} additions;

static void copy_root(schema_copy *c, const additions *add)
{
    static const additions none;
    add = add ? add : &none;
    copy_with(c->bench, bench_keys, 2, add->bench);
    copy_with(c->conv, conv_keys, 1, add->conv);
    copy_with(c->variants, layer_variants, 0, NULL);
    entry_of(c->variants, "conv")->items = c->conv;
    c->layer[0] = tlayer_schema[0];
    c->layer[0].items = c->variants;
    copy_with(c->root, root_schema, 3, add->root);
    entry_of(c->root, "bench")->items = c->bench;
    entry_of(c->root, "trunk")->items = c->layer;
    entry_of(c->root, "stem")->items = c->variants;
}

static const char *const affinities[] = { "none", "compact", NULL };
static const ycfg_schema notes_keys[] = {
    { "tag", YCFG_STRING, "\"\"", .help = "a note on the run" }, { NULL }
};
static const ycfg_schema added_bench = { "affinity", YCFG_ENUM, "none", .choices = affinities,
                                         .help = "thread placement" };
static const ycfg_schema added_conv = { "dilation", YCFG_INT, "1", .min = 1, .max = 8,
                                        .help = "kernel spacing" };
static const ycfg_schema added_root = { "notes", YCFG_MAP, "{}", .items = notes_keys,
                                        .help = "notes" };
static const additions added_keys = { &added_bench, &added_conv, &added_root };

/* root_schema with a key added in a map, in a tagged variant used in a
 * list and in a map value, and at the root. */
static const ycfg_schema *plus_schema(void)
{
    static schema_copy plus;
    if (!plus.root[0].key)
        copy_root(&plus, &added_keys);
    return plus.root;
}

/* ------------------------------------------------------------ helpers */

static ycfg *load_with(const ycfg_schema *root, const char *yaml)
{
    char err[1024] = "";
    ycfg *cfg = ycfg_load_string("t", yaml, root, err, sizeof err);
    if (!cfg)
        fail_msg("config did not load: %s\n---\n%s", err, yaml);
    return cfg;
}

static char *ids_with(const ycfg_schema *root, const char *yaml,
                      const char *(*id_of)(const ycfg_point *))
{
    ycfg *cfg = load_with(root, yaml);
    char *ids = joined_ids(cfg, id_of);
    ycfg_free(cfg);
    return ids;
}

/* Two configs, each loaded against its schema. */
typedef struct {
    const ycfg_schema *schema_a;
    const char        *yaml_a;
    const ycfg_schema *schema_b;
    const char        *yaml_b;
    const char        *why;
} id_pair;

static void check_pairs(const id_pair *pairs, size_t n, bool same)
{
    for (size_t k = 0; k < n; k++) {
        const id_pair *p = &pairs[k];
        char *a = ids_with(p->schema_a, p->yaml_a, ycfg_point_id);
        char *b = ids_with(p->schema_b, p->yaml_b, ycfg_point_id);
        if ((strcmp(a, b) == 0) != same)
            fail_msg("%s: the ids %s\n%s---\n%s", p->why, same ? "differ" : "are the same",
                     p->yaml_a, p->yaml_b);
        free(a);
        free(b);
    }
}

/* ------------------------------------------------------ same or not */

void test_ids_same(void **state)
{
    const ycfg_schema *r = root_schema, *plus = plus_schema(), *run = gpx_run_schema();
    const char *trunk = "name: a\nbench: {threads: 2}\ntrunk: [{type: conv, out: 8}, {type: relu}]\n"
                        "sweep:\n  seed: [1, 2]\n  stem: [{type: relu}, {type: conv, out: 4}]\n";
    const char *run_base = "name: t\nmodel: {trunk: [{type: relu}], head: gap}\n"
                           "sweep: {train.seed: [1, 2]}\n";
    const id_pair same[] = {
        { r, "name: same\nbench:\n  threads: 4\n  warmup: 2\nsweep:\n  seed: [1, 2]\n"
             "  bench.mode: [hot, cold]\n",
          r, "sweep: {seed: [1, 2], bench.mode: [hot, cold]}\noutput: {format: csv}\n"
             "bench: {warmup: 2.0, repetitions: 21, threads: 4}\nname: \"same\"\n",
          "keys shuffled, flow against block style, defaults written, 2 against 2.0" },
        { r, "name: t\ntrunk: [{out: 8, type: conv}, {type: relu}]\nstem: {type: relu}\n",
          r, "trunk:\n  - type: conv\n    stride: 1\n    out: 8\n    bias: true\n"
             "  - {type: \"relu\"}\nname: t\n",
          "a tagged map's keys in any order, its defaults written or not" },
        { r, "name: d\nseed: 42\n", r, "name: d\n", "a default written at the root" },
        { r, "name: d\nbench: {threads: 1, mode: hot}\n", r, "name: d\n", "a map at its defaults" },
        { r, "name: d\nbench: {warmup: 5e-1, shapes: [[1, 64, 56, 56]]}\n", r, "name: d\n",
          "a float and a list default spelt otherwise" },
        { r, "name: d\ntrunk: [{type: conv, out: 8, k: 3, stride: 1, pad: 0, bias: true}, "
             "{type: maxpool, k: 2, stride: 0}]\n",
          r, "name: d\ntrunk: [{type: conv, out: 8}, {type: maxpool}]\n",
          "defaults written inside trunk elements" },
        { r, "name: d\nstem: {type: relu}\n", r, "name: d\n", "a tagged map at its default" },
        { r, "name: d\nstem: {type: conv, out: 4, k: 3}\n", r, "name: d\nstem: {type: conv, out: 4}\n",
          "a default inside a tagged map off its default" },
        { r, "name: d\nsweep:\n  stem: [{type: conv, out: 4, bias: true}, {type: relu}]\n",
          r, "name: d\nsweep:\n  stem: [{type: conv, out: 4}, {type: relu}]\n",
          "a default inside swept values" },
        { r, "name: d\nlayers: [{type: conv, channels: 0}]\n", r, "name: d\nlayers: [{type: conv}]\n",
          "a default inside a list of maps" },
        { odd_maps, "name: m\nopts: {dir: results, format: csv}\n", odd_maps, "name: m\nopts: {}\n",
          "a required map at its keys' defaults" },
        { odd_maps, "name: m\nopts: {}\nm: {dir: x}\n", odd_maps, "name: m\nopts: {}\n",
          "a map at its default, which writes a key" },
        { plus, "name: a\n", r, "name: a\n", "keys added with defaults, the config the same" },
        { plus, trunk, r, trunk, "keys added in bench, in conv layers (trunk and stem), at the root" },
        { plus, "name: a\nbench: {affinity: none, threads: 2}\ntrunk: [{type: conv, out: 8, dilation: 1}]\n"
                "notes: {tag: \"\"}\n",
          r, "name: a\nbench: {threads: 2}\ntrunk: [{type: conv, out: 8}]\n",
          "the added keys written at their defaults" },
        { plain_root, "name: e\nsweep: {seed: [1, 2]}\n", exempt_root, "name: e\nsweep: {seed: [1, 2]}\n",
          "an id_exempt key added to the schema" },
        { exempt_root, "name: e\nsweep: {seed: [1, 2]}\n",
          exempt_root, "name: e\nview: {digits: 5, title: \"x\"}\nsweep: {seed: [1, 2]}\n",
          "an id_exempt key's values changed" },
        { run, run_base, run, "name: t\nmodel: {trunk: [{type: relu}], head: gap}\nsweep: {train.seed: "
                              "[1, 2]}\ntable: {group_by: [head], columns: [n, gap], sort: gap, "
                              "descending: false, precision: 4}\n",
          "gpool run's table: section is id_exempt (results stay resumable after it changes)" },
        { run, "name: t\nmodel: {trunk: [{type: relu}], head: attn, heads: 1}\n",
          run, "name: t\nmodel: {trunk: [{type: relu}], head: attn}\n",
          "gpool run's model.heads written at its default" },
    };
    check_pairs(same, sizeof same / sizeof same[0], true);

    /* the order of the sweep keys changes the order of the points only */
    char *a = ids_of("name: s\nsweep:\n  seed: [1, 2]\n  bench.mode: [hot, cold]\n");
    char *b = ids_of("name: s\nsweep:\n  bench.mode: [hot, cold]\n  seed: [1, 2]\n");
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), strlen(b));
    for (const char *id = a; *id; id += id[16] ? 17 : 16) {
        char one[17] = "";
        memcpy(one, id, 16);
        assert_non_null(strstr(b, one));
    }
    free(a);
    free(b);
}

void test_ids_differ(void **state)
{
    const ycfg_schema *r = root_schema;
    const id_pair differ[] = {
        { r, "name: d\nseed: 43\n", r, "name: d\n", "a value off its default" },
        { r, "name: d\ntrunk: [{type: conv, out: 8, k: 5}]\n", r, "name: d\ntrunk: [{type: conv, out: 8}]\n",
          "a value off its default in a trunk element" },
        { plus_schema(), "name: a\nbench: {affinity: compact}\n", r, "name: a\n",
          "an added key off its default" },
        { gpx_run_schema(), "name: t\nmodel: {trunk: [{type: relu}], head: attn, heads: 2}\n",
          gpx_run_schema(), "name: t\nmodel: {trunk: [{type: relu}], head: attn}\n",
          "gpool run's model.heads off its default" },
        { plus_schema(), "name: a\ntrunk: [{type: conv, out: 8, dilation: 2}]\n",
          r, "name: a\ntrunk: [{type: conv, out: 8}]\n", "an added conv key off its default" },
        { odd_maps, "name: m\nopts: {}\nm: {}\n", odd_maps, "name: m\nopts: {}\n",
          "a map written empty, against its default that writes a key" },
        { exempt_root, "name: e\nview: {digits: 5}\nsweep: {seed: [1, 3]}\n",
          exempt_root, "name: e\nview: {digits: 5}\nsweep: {seed: [1, 2]}\n",
          "the other keys beside an id_exempt one" },
    };
    check_pairs(differ, sizeof differ / sizeof differ[0], false);

    /* every one of these runs something else: no two share an id */
    static const char *const variants[] = {
        "name: v\n", "name: w\n", "name: v\nseed: 43\n", "name: v\nbench: {threads: 2}\n",
        "name: v\nbench: {warmup: 0.25}\n", "name: v\nbench: {verify: false}\n",
        "name: v\nbench: {shapes: [[1, 64, 56, 57]]}\n", "name: v\nlayers: [{type: fc}]\n",
        "name: v\noutput: {dir: \"results \"}\n", "name: v\ntrunk: [{type: relu}]\n",
        "name: v\ntrunk: [{type: batchnorm}]\n", "name: v\ntrunk: [{type: relu}, {type: relu}]\n",
        "name: v\ntrunk: [{type: conv, out: 8}]\n", "name: v\ntrunk: [{type: conv, out: 8, k: 5}]\n",
        "name: v\ntrunk: [{type: conv, out: 8, stride: 2}]\n", "name: v\nstem: {type: batchnorm}\n",
        "name: v\nstem: {type: maxpool, k: 3}\n", "name: v\nstem: {type: maxpool, stride: 2}\n",
        "name: v\nlayers: [{type: fc, channels: 1}]\n",
    };
    size_t n = sizeof variants / sizeof variants[0];
    char *ids[sizeof variants / sizeof variants[0]];
    for (size_t k = 0; k < n; k++)
        ids[k] = ids_of(variants[k]);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < k; j++)
            if (strcmp(ids[k], ids[j]) == 0)
                fail_msg("same id for\n%s---\n%s", variants[j], variants[k]);
    for (size_t k = 0; k < n; k++)
        free(ids[k]);
}

/* What an id hashes: the name, then only what differs from the defaults. */
void test_id_texts(void **state)
{
    const ycfg_schema *r = root_schema;
    const struct { const ycfg_schema *schema; const char *yaml, *want; } cases[] = {
        { r, "name: v\n", "{name: v}" },
        { r, "name: v\nseed: 42\nbench: {threads: 1}\nstem: {type: relu}\n", "{name: v}" },
        { r, "name: v\nbench: {threads: 2, warmup: 0.25}\n",
          "{name: v, bench: {threads: 2, warmup: 0.25}}" },
        { r, "name: v\ntrunk: [{type: conv, out: 8, k: 3, pad: 1}, {type: relu}, "
             "{type: maxpool, k: 2, stride: 2}]\n",
          "{name: v, trunk: [{type: conv, out: 8, pad: 1}, {type: relu}, {type: maxpool, stride: 2}]}" },
        { r, "name: v\nstem: {type: maxpool, k: 3}\n", "{name: v, stem: {type: maxpool, k: 3}}" },
        { r, "name: v\nlayers: [{type: conv}]\n", "{name: v, layers: [{type: conv}]}" },
        { r, "name: \"yes\"\nsweep: {seed: [42, 7]}\n", "{name: \"yes\"}" },
        { nameless, "n: 2\n", "{name: t, n: 2}" },
        { nameless, "n: 1\n", "{name: t}" },
        { odd_maps, "name: q\nopts: {}\n", "{name: q}" },
        { odd_maps, "name: q\nopts: {format: json}\n", "{name: q, opts: {format: json}}" },
        { odd_maps, "name: q\nopts: {}\nm: {}\n", "{name: q, m: {}}" },
        { odd_maps, "name: q\nopts: {}\nm: {dir: x}\n", "{name: q}" },
        { odd_maps, "name: q\nopts: {}\nm: {dir: z}\n", "{name: q, m: {dir: z}}" },
        { odd_maps, "name: q\nopts: {}\nm: {dir: y}\n", "{name: q, m: {dir: \"y\"}}" },  /* YAML 1.1's yes */
        { exempt_root, "name: e\nview: {digits: 5}\n", "{name: e}" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ycfg *cfg = load_with(cases[k].schema, cases[k].yaml);
        char *text = ycfg_point_id_text(cfg, ycfg_point_at(cfg, 0));
        if (!text || strcmp(text, cases[k].want) != 0)
            fail_msg("id text of\n%s  want: %s\n  got:  %s", cases[k].yaml, cases[k].want,
                     text ? text : "(null)");
        free(text);
        ycfg_free(cfg);
    }
}

/* It is loaded and written out like any other key, but sweeping it would
 * give points that share an id. */
void test_exempt_keys_load_but_cannot_be_swept(void **state)
{
    ycfg *cfg = load_with(exempt_root, "name: e\nview: {digits: 7}\n");
    assert_int_equal(ycfg_int(ycfg_point_at(cfg, 0), "view.digits"), 7);
    char *text = resolved_text(cfg);
    assert_non_null(strstr(text, "digits: 7"));
    free(text);
    ycfg_free(cfg);

    static const char *const swept[] = {
        "name: e\nsweep:\n  view.digits: [1, 2]\n", "name: e\nsweep:\n  view: [{digits: 1}]\n",
    };
    for (size_t k = 0; k < 2; k++) {
        char err[1024] = "";
        assert_null(ycfg_load_string("t", swept[k], exempt_root, err, sizeof err));
        check_error(err, "t", 3, 3, "cannot be swept", swept[k]);
    }
}

/* ---------------------------------------------- random key orders */

typedef struct {
    const char *key;
    const char *lines[3];   /* the value's lines, block style, NULL-ended */
} entry;

static void shuffle(entry *e, size_t n)
{
    for (size_t k = n; k > 1; k--) {
        size_t j = (size_t)(tu_next() % k);
        entry t = e[k - 1];
        e[k - 1] = e[j];
        e[j] = t;
    }
}

static void emit(char *buf, const entry *e, size_t n, const char *indent)
{
    for (size_t k = 0; k < n; k++) {
        strcat(buf, indent);
        strcat(buf, e[k].key);
        strcat(buf, ":");
        for (size_t l = 0; l < 3 && e[k].lines[l]; l++) {
            strcat(buf, l == 0 && e[k].lines[0][0] != ' ' ? " " : "\n");
            strcat(buf, e[k].lines[l]);
        }
        strcat(buf, "\n");
    }
}

void test_ids_stable_under_random_orders(void **state)
{
    uint64_t seed = tu_seed();
    entry bench[] = {
        { "repetitions", { "25" } }, { "threads", { "3" } }, { "mode", { "cold" } },
        { "warmup", { "0.125" } }, { "shapes", { "[[2, 3, 4, 5]]" } }, { "layout", { "nhwc" } },
    };
    entry sweep[] = { { "seed", { "[7, 8, 9]" } }, { "output.format", { "[csv, json]" } } };
    /* a tagged map: its tag need not come first */
    entry stem[] = { { "out", { "4" } }, { "type", { "conv" } }, { "k", { "5" } }, { "bias", { "false" } } };
    char *want = NULL;
    for (int round = 0; round < 20; round++) {
        char yaml[2048] = "";
        entry root[] = {
            { "name", { "shuffled" } }, { "layers", { "[{channels: 3, type: conv}]" } },
            { "bench", { NULL } }, { "sweep", { NULL } }, { "stem", { NULL } },
            { "trunk", { "[{k: 1, out: 2, type: conv}, {type: relu}]" } },
        };
        shuffle(bench, sizeof bench / sizeof bench[0]);
        shuffle(stem, sizeof stem / sizeof stem[0]);
        shuffle(root, sizeof root / sizeof root[0]);
        for (size_t k = 0; k < sizeof root / sizeof root[0]; k++) {
            entry one = root[k];
            emit(yaml, &one, 1, "");
            if (strcmp(one.key, "bench") == 0)
                emit(yaml, bench, sizeof bench / sizeof bench[0], "  ");
            if (strcmp(one.key, "sweep") == 0)
                emit(yaml, sweep, sizeof sweep / sizeof sweep[0], "  ");
            if (strcmp(one.key, "stem") == 0)
                emit(yaml, stem, sizeof stem / sizeof stem[0], "  ");
        }
        char err[512] = "";
        ycfg *cfg = ycfg_load_string("t", yaml, root_schema, err, sizeof err);
        if (!cfg)
            fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, err, yaml);
        char *ids = point_ids(cfg);
        ycfg_free(cfg);
        if (!want)
            want = ids;
        else if (strcmp(want, ids) != 0)
            fail_msg("ids depend on key order (rerun with GPOOL_TEST_SEED=%llu):\n%s",
                     (unsigned long long)seed, yaml);
        if (want != ids)
            free(ids);
    }
    free(want);
}

/* ------------------------------------------- resolved output, again */

static void check_round_trip(const char *yaml)
{
    ycfg *cfg = load_ok(yaml);
    char *text = resolved_text(cfg);
    char err[1024] = "";
    ycfg *again = ycfg_load_string("resolved", text, root_schema, err, sizeof err);
    if (!again)
        fail_msg("the resolved config does not load: %s\n%s", err, text);
    char *ids1 = point_ids(cfg), *ids2 = point_ids(again);
    if (strcmp(ids1, ids2) != 0)
        fail_msg("round trip changed the points:\n%s\n---\n%s", yaml, text);
    assert_int_equal(ycfg_nswept(again), ycfg_nswept(cfg));
    assert_int_equal(ycfg_ndefaults(again), 0);               /* all written now */
    char *text2 = resolved_text(again);
    char *body1 = strchr(text, '\n'), *body2 = strchr(text2, '\n');
    assert_non_null(body1);
    assert_non_null(body2);
    /* the second pass differs only in the "# default" notes */
    assert_int_equal(strlen(body2) + 11 * ycfg_ndefaults(cfg), strlen(body1));
    free(ids1);
    free(ids2);
    free(text);
    free(text2);
    ycfg_free(again);
    ycfg_free(cfg);
}

void test_round_trip(void **state)
{
    check_round_trip("name: rt\n");
    check_round_trip("name: rt\nbench:\n  warmup: 0.1\n  shapes: [[1, 2, 3, 4], [5, 6, 7, 8]]\n"
                     "sweep:\n  bench.threads: [1, 2]\n  bench.warmup: [0.3, 1e-7, 59.999999999999993]\n");
    check_round_trip("sweep:\n  name: [a, 'b c']\n  layers: [[{type: fc}], []]\n");
    check_round_trip("name: net\nlayers:\n  - type: conv\n  - {type: fc, channels: 3}\n"
                     "sweep:\n  bench: [{threads: 2}, {mode: cold}]\n");
    /* strings that must be quoted to stay strings */
    check_round_trip("name: \"yes\"\noutput:\n  dir: \"12\"\n");
    check_round_trip("name: 'a: b, [c] #d'\noutput:\n  dir: \"tab\\there\\nnew \\\"q\\\" \\\\ \\x01\"\n");
    check_round_trip("name: \"caf\xc3\xa9 \xe2\x86\x92 .inf ~ null\"\n");
    check_round_trip("name: x\nsweep:\n  output.dir: [\"true\", \"0.5\", \"-\", \"\", plain/path_1.x]\n");
    /* tagged maps: in a list, as a map value, swept, and under a default */
    check_round_trip("name: net\ntrunk:\n  - {out: 8, type: conv}\n  - type: relu\n  - {type: dropout}\n"
                     "stem: {type: maxpool}\n");
    check_round_trip("name: s\nsweep:\n  stem: [{type: relu}, {p: 0.1, type: dropout}]\n"
                     "  trunk: [[], [{type: conv, out: 2}, {type: \"relu\"}]]\n");

    ycfg *cfg = load_ok("name: net\ntrunk:\n  - {out: 8, type: conv}\n  - type: relu\n"
                          "stem: {k: 4, type: maxpool}\n");
    char *text = resolved_text(cfg);
    assert_non_null(strstr(text, "\ntrunk:\n  - type: conv\n    out: 8\n    k: 3  # default\n"
                                 "    stride: 1  # default\n    pad: 0  # default\n"
                                 "    bias: true  # default\n  - type: relu\nstem:\n  type: maxpool\n"
                                 "  k: 4\n  stride: 0  # default\n"));
    free(text);
    ycfg_free(cfg);
    cfg = load_ok("name: \"yes\"\nsweep:\n  seed: [1, 2]\n");
    text = resolved_text(cfg);
    assert_non_null(strstr(text, "name: \"yes\"\n"));
    assert_non_null(strstr(text, "\nstem:\n  type: relu  # default\n"));
    assert_non_null(strstr(text, "  repetitions: 21  # default\n"));
    assert_non_null(strstr(text, "seed: 1  # swept\n"));
    assert_non_null(strstr(text, "sweep:\n  seed: [1, 2]\n"));
    free(text);
    ycfg_free(cfg);
}

/* ---------------------------------------------------------- legacy ids */

/* The resolved config the previous release (f0eed75) wrote for
 * "name: legacy\nbench: {threads: 2}\ntrunk: [{type: conv, out: 8}, {type: relu}]\n
 * sweep: {seed: [1, 2], stem: [{type: relu}, {type: maxpool, k: 3}]}", and
 * the ids it gave its points: its own output, kept here as it wrote them. */
static const char previous_release_config[] =
    "# legacy, resolved from legacy.yaml: 4 points\n"
    "name: legacy\nseed: 1  # swept\nbench:\n  repetitions: 21  # default\n  mode: hot  # default\n"
    "  threads: 2\n  warmup: 0.5  # default\n  verify: true  # default\n  layout: nchw  # default\n"
    "  shapes: [[1, 64, 56, 56]]  # default\noutput:\n  dir: results  # default\n"
    "  format: csv  # default\nlayers: []  # default\ntrunk:\n  - type: conv\n    out: 8\n"
    "    k: 3  # default\n    stride: 1  # default\n    pad: 0  # default\n    bias: true  # default\n"
    "  - type: relu\nstem: {type: relu}  # swept\nsweep:\n  seed: [1, 2]\n"
    "  stem: [{type: relu}, {type: maxpool, k: 3, stride: 0}]\n";
static const char previous_release_ids[] =
    "8bfcd4b11cc00efc 76770836bce523c3 0b88217db3c278d7 f6569db4854e3294";

static int compare_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The space-separated ids of s, sorted in place (runs.csv need not keep
 * the order of the points). */
static void sort_ids(char *s)
{
    size_t n = (strlen(s) + 1) / 17;
    char (*ids)[17] = calloc(n ? n : 1, 17);
    assert_non_null(ids);
    for (size_t k = 0; k < n; k++)
        memcpy(ids[k], s + 17 * k, 16);
    qsort(ids, n, 17, compare_ids);
    for (size_t k = 0; k < n; k++) {
        memcpy(s + 17 * k, ids[k], 16);
        if (k + 1 < n)
            s[17 * k + 16] = ' ';
    }
    free(ids);
}

/* The run_id column of dir/runs.csv, sorted (caller frees); NULL if none. */
static char *runs_csv_ids(const char *dir)
{
    char path[1024], line[4096];
    assert_true(strlen(dir) < 512);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *ids = calloc(1, 1);
    size_t len = 0;
    for (int row = 0; fgets(line, sizeof line, f); row++) {
        if (row == 0)
            continue;
        ids = realloc(ids, len + 18);
        assert_non_null(ids);
        len += (size_t)snprintf(ids + len, 18, "%s%.16s", len ? " " : "", line);
    }
    fclose(f);
    sort_ids(ids);
    return ids;
}

/* A results directory of gpool run holds the ids of the release that wrote
 * it: its config.yaml's legacy ids until it is migrated, the new ones after. */
static void check_results_dir(const char *dir, const char *ids)
{
    char path[1024], err[1024] = "";
    assert_true(strlen(dir) < 512);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    ycfg *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    char *legacy = joined_ids(cfg, ycfg_point_legacy_id), *now = point_ids(cfg);
    ycfg_free(cfg);
    sort_ids(legacy);
    sort_ids(now);
    if (strcmp(ids, legacy) != 0 && strcmp(ids, now) != 0)
        fail_msg("%s/runs.csv holds neither the legacy nor the new ids of its config.yaml", dir);
    free(legacy);
    free(now);
}

static void check_committed_results(void)
{
    DIR *d = opendir(RESULTS_DIR);
    assert_non_null(d);
    size_t checked = 0;
    for (struct dirent *e; (e = readdir(d)); ) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", RESULTS_DIR, e->d_name);
        char *ids = e->d_name[0] == '.' ? NULL : runs_csv_ids(dir);
        if (ids) {
            check_results_dir(dir, ids);
            checked++;
        }
        free(ids);
    }
    closedir(d);
    assert_true(checked >= 1);
}

void test_legacy_ids(void **state)
{
    /* what the previous release wrote, with the schema of then and with keys added since */
    const ycfg_schema *schemas[] = { root_schema, plus_schema() };
    for (size_t k = 0; k < 2; k++) {
        char *legacy = ids_with(schemas[k], previous_release_config, ycfg_point_legacy_id);
        assert_string_equal(legacy, previous_release_ids);
        free(legacy);
    }
    /* the new ids of that file are those of the config it was resolved from */
    char *resolved = ids_with(root_schema, previous_release_config, ycfg_point_id);
    char *source = ids_of("name: legacy\nbench: {threads: 2}\ntrunk: [{type: conv, out: 8}, {type: relu}]\n"
                          "sweep: {seed: [1, 2], stem: [{type: relu}, {type: maxpool, k: 3}]}\n");
    assert_string_equal(resolved, source);
    assert_string_not_equal(resolved, previous_release_ids);
    free(resolved);
    free(source);
    check_committed_results();
}

/* ------------------------------------------------- defaults declared */

void test_declared_defaults(void **state)
{
    static const char *const want[][2] = {
        { "seed", "42" }, { "bench", "{}" }, { "bench.repetitions", "21" }, { "bench.mode", "hot" },
        { "bench.threads", "1" }, { "bench.warmup", "0.5" }, { "bench.verify", "true" },
        { "bench.layout", "nchw" }, { "bench.shapes", "[[1, 64, 56, 56]]" }, { "output", "{}" },
        { "output.dir", "results" }, { "output.format", "csv" }, { "layers", "[]" },
        { "layers[].channels", "0" }, { "trunk", "[]" }, { "trunk[conv].k", "3" },
        { "trunk[conv].stride", "1" }, { "trunk[conv].pad", "0" }, { "trunk[conv].bias", "true" },
        { "trunk[maxpool].k", "2" }, { "trunk[maxpool].stride", "0" }, { "trunk[dropout].p", "0.5" },
        { "stem", "{type: relu}" }, { "stem[conv].k", "3" }, { "stem[conv].stride", "1" },
        { "stem[conv].pad", "0" }, { "stem[conv].bias", "true" }, { "stem[maxpool].k", "2" },
        { "stem[maxpool].stride", "0" }, { "stem[dropout].p", "0.5" },
    };
    ycfg *cfg = load_ok("name: d\nbench: {threads: 3}\n");
    assert_int_equal(ycfg_schema_ndefaults(cfg), sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_string_equal(ycfg_schema_default_path(cfg, k), want[k][0]);
        assert_string_equal(ycfg_schema_default_text(cfg, k), want[k][1]);
    }
    ycfg_free(cfg);

    /* an id_exempt key is left out; a default map's text leaves out the
     * keys at their own defaults */
    cfg = load_with(exempt_root, "name: e\n");
    assert_int_equal(ycfg_schema_ndefaults(cfg), 1);
    assert_string_equal(ycfg_schema_default_path(cfg, 0), "seed");
    ycfg_free(cfg);
    cfg = load_with(odd_maps, "name: m\nopts: {}\n");
    assert_string_equal(ycfg_schema_default_path(cfg, 2), "m");
    assert_string_equal(ycfg_schema_default_text(cfg, 2), "{dir: x}");
    ycfg_free(cfg);
}

/* Defaults changed as a later release might: the digest, the paths whose
 * default changed, and of those the ones a config takes (where --resume
 * refuses). */
static void more_repetitions(schema_copy *c) { entry_of(c->bench, "repetitions")->def = "22"; }
static void warmup_spelt(schema_copy *c)     { entry_of(c->bench, "warmup")->def = "5e-1"; }
static void wider_kernels(schema_copy *c)    { entry_of(c->conv, "k")->def = "5"; }
static void keys_added(schema_copy *c)       { copy_root(c, &added_keys); }

/* The paths of old whose text new lacks or lists otherwise, and those of
 * them cfg relies on, each followed by a space. */
static void changed_paths(const ycfg *old, const ycfg *new, char *changed, char *refused)
{
    changed[0] = refused[0] = '\0';
    for (size_t k = 0; k < ycfg_schema_ndefaults(old); k++) {
        const char *path = ycfg_schema_default_path(old, k);
        size_t j = 0;
        while (j < ycfg_schema_ndefaults(new) && strcmp(ycfg_schema_default_path(new, j), path))
            j++;
        if (j < ycfg_schema_ndefaults(new)
            && !strcmp(ycfg_schema_default_text(new, j), ycfg_schema_default_text(old, k)))
            continue;
        strcat(strcat(changed, path), " ");
        if (ycfg_relies_on_default(new, path) == 1)
            strcat(strcat(refused, path), " ");
    }
}

void test_defaults_digest(void **state)
{
    const char *yaml = "name: d\ntrunk: [{type: conv, out: 8}]\nbench: {warmup: 1}\n";
    const struct {
        void (*change)(schema_copy *);
        bool same_digest;
        const char *changed, *refused;
    } cases[] = {
        { NULL,             true,  "", "" },
        { warmup_spelt,     true,  "", "" },                   /* the same value */
        { keys_added,       false, "", "" },                   /* nothing changed meaning */
        { more_repetitions, false, "bench.repetitions ", "bench.repetitions " },
        { wider_kernels,    false, "trunk[conv].k stem[conv].k ", "trunk[conv].k " },
    };
    ycfg *old = load_ok(yaml);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        static schema_copy c;
        char changed[256], refused[256];
        copy_root(&c, NULL);
        if (cases[k].change)
            cases[k].change(&c);
        ycfg *new = load_with(c.root, yaml);
        assert_int_equal(strlen(ycfg_defaults_digest(new)), 16);
        if ((strcmp(ycfg_defaults_digest(old), ycfg_defaults_digest(new)) == 0) != cases[k].same_digest)
            fail_msg("case %zu: the digest should %schange", k, cases[k].same_digest ? "not " : "");
        changed_paths(old, new, changed, refused);
        assert_string_equal(changed, cases[k].changed);
        assert_string_equal(refused, cases[k].refused);
        ycfg_free(new);
    }
    /* the digest is the schema's: another config of it has the same */
    ycfg *other = load_ok("name: other\nsweep: {seed: [1, 2]}\n");
    assert_string_equal(ycfg_defaults_digest(other), ycfg_defaults_digest(old));
    ycfg_free(other);
    ycfg_free(old);
}

/* ----------------------------------------------- relying on a default */

void test_relies_on_default(void **state)
{
    const ycfg_schema *r = root_schema;
    const char *net = "name: r\ntrunk: [{type: conv, out: 8, k: 5}, {type: maxpool}]\n";
    const struct { const ycfg_schema *schema; const char *yaml, *path; int want; } cases[] = {
        { r, "name: r\n", "seed", 1 },
        { r, "name: r\nseed: 42\n", "seed", 0 },                  /* written, even at its default */
        { r, "name: r\nsweep: {seed: [1, 42]}\n", "seed", 0 },    /* swept */
        { r, "name: r\n", "bench", 1 },
        { r, "name: r\n", "bench.threads", 1 },
        { r, "name: r\nbench: {threads: 2}\n", "bench", 0 },
        { r, "name: r\nbench: {threads: 2}\n", "bench.threads", 0 },
        { r, "name: r\nbench: {threads: 2}\n", "bench.mode", 1 },
        { r, "name: r\nsweep: {bench: [{threads: 2}]}\n", "bench.mode", 1 },  /* a swept value's */
        { r, net, "trunk", 0 },
        { r, net, "trunk[conv].k", 0 },
        { r, net, "trunk[conv].stride", 1 },
        { r, net, "trunk[maxpool].k", 1 },
        { r, net, "trunk[dropout].p", 0 },                        /* no dropout layer */
        { r, "name: r\n", "trunk", 1 },
        { r, "name: r\nsweep: {trunk: [[], [{type: conv, out: 2}]]}\n", "trunk[conv].bias", 1 },
        { r, "name: r\n", "stem", 1 },
        { r, "name: r\n", "stem[conv].k", 0 },                    /* the default stem is a relu */
        { r, "name: r\nstem: {type: conv, out: 4}\n", "stem", 0 },
        { r, "name: r\nstem: {type: conv, out: 4}\n", "stem[conv].k", 1 },
        { r, "name: r\nsweep: {stem: [{type: relu}, {type: maxpool, k: 3}]}\n", "stem[maxpool].stride", 1 },
        { r, "name: r\nsweep: {stem: [{type: relu}, {type: maxpool, k: 3}]}\n", "stem[maxpool].k", 0 },
        { r, "name: r\nlayers: [{type: conv}]\n", "layers[].channels", 1 },
        { odd_maps, "name: m\nopts: {}\n", "m", 1 },
        { odd_maps, "name: m\nopts: {}\n", "m.dir", 0 },          /* from m's default, not its own */
        { odd_maps, "name: m\nopts: {}\n", "m.format", 1 },
        { odd_maps, "name: m\nopts: {}\n", "opts.dir", 1 },
        /* no default declared there */
        { r, "name: r\n", "name", -1 },
        { r, "name: r\n", "nope", -1 },
        { r, "name: r\n", "trunk[conv].out", -1 },
        { r, "name: r\n", "stem[relu]", -1 },
        { r, "name: r\n", "bench.threads.x", -1 },
        { exempt_root, "name: e\n", "view.digits", -1 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ycfg *cfg = load_with(cases[k].schema, cases[k].yaml);
        int got = ycfg_relies_on_default(cfg, cases[k].path);
        if (got != cases[k].want)
            fail_msg("relies on '%s': want %d, got %d for\n%s", cases[k].path, cases[k].want, got,
                     cases[k].yaml);
        ycfg_free(cfg);
    }
}
