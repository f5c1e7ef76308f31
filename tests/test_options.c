/*
 * test_options.c - the command line reader of experiments/util/util.h
 * (gpx_parse_command_line), with what the gpool verbs ask of it: flags,
 * text values with choices or a check of their own (run's --shard K/N),
 * integers in a range, in every spelling ("--name V", "--name=V", "-n V");
 * one operand named by the table (run, table, profile, throughput), exactly
 * two (rerun), one or more (merge, migrate), or each to a callback. It
 * refuses, with exit status 2 and a message naming the option and the
 * value, a missing or empty value, a value out of range or not among the
 * choices, an unknown option, an operand too many or missing, and an
 * operand the command does not take; -h prints the usage and stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/util.h"

typedef struct {
    const char      *config, *out, *head, *format, *shard;
    int              repeats, quiet, shard_k, shard_n;
    const char      *pair[2];         /* with_two */
    gpx_operand_list list;            /* with_list */
    const char      *seen[4];         /* with_callback */
    int              nseen;
} opts;

static int usage_calls;

/* The usage, counted; written only on stderr (after an error), as stdout
 * is the TAP stream. */
static void usage(FILE *out)
{
    if (out != stdout)
        fputs("Usage: gpool test [OPTIONS]\n", out);
    usage_calls++;
}

/* --shard K/N with 1 <= K <= N, decoded into shard_k and shard_n. */
static int accept_shard(const char *value, void *o)
{
    opts *p = o;
    char extra;
    return sscanf(value, "%d/%d%c", &p->shard_k, &p->shard_n, &extra) != 2 ||
           p->shard_k < 1 || p->shard_k > p->shard_n;
}

static const char *const formats[] = { "md", "tex", NULL };

static const gpx_option table[] = {
    { "-o", "--out", "a directory", .offset = offsetof(opts, out) },
    { NULL, "--head", "a name", .offset = offsetof(opts, head) },
    { NULL, "--format", "md or tex", formats, .offset = offsetof(opts, format) },
    { NULL, "--repeats", "an integer", .offset = offsetof(opts, repeats), .lo = 1, .hi = 100 },
    { "-s", "--shard", "K/N", .offset = offsetof(opts, shard), .accept = accept_shard },
    { "-q", "--quiet", .offset = offsetof(opts, quiet) },
};

#define TABLE .options = table, .noptions = sizeof table / sizeof table[0]

static const gpx_command_line with_operand = {
    .name = "gpool test", .usage = usage, TABLE,
    .operand_name = "CONFIG", .operand_offset = offsetof(opts, config),
    .operand_example = "configs/tutorial.yaml",
};

static const gpx_command_line without_operand = {
    .name = "gpool test", .usage = usage, TABLE,
    .no_operand_hint = " (give it with --head)",
};

static const gpx_command_line with_two = {
    .name = "gpool test", .usage = usage, .usage_on_error = 1, TABLE,
    .operand_name = "DIR and ID", .operand_offset = offsetof(opts, pair), .operands = 2,
};

static const gpx_command_line with_list = {
    .name = "gpool test", .usage = usage, TABLE,
    .operand_name = "DIR", .operand_offset = offsetof(opts, list),
    .operands = GPX_ONE_OR_MORE,
};

static int take_seen(const char *arg, void *o)
{
    opts *p = o;
    p->seen[p->nseen++] = arg;
    return 0;
}

static const gpx_command_line with_callback = {
    .name = "gpool test", .usage = usage, TABLE, .operand = take_seen,
};

/* What the last parse said on stderr. */
static char said[1024];

/* What was written to fp since it was opened, into said; fp is closed. */
static void read_said(FILE *fp)
{
    long len = ftell(fp);
    assert_true(len >= 0 && (size_t)len < sizeof said);
    rewind(fp);
    assert_int_equal(fread(said, 1, (size_t)len, fp), (size_t)len);
    said[len] = '\0';
    fclose(fp);
}

/* Parse the arguments after the command's name, stderr caught into said;
 * o starts at repeats 7 (the list of a previous parse freed). */
static int parse(const gpx_command_line *cl, opts *o, int argc, const char **args)
{
    char *argv[16] = { "gpool-test" };
    for (int i = 0; i < argc; i++)
        argv[i + 1] = (char *)args[i];
    free(o->list.arg);
    memset(o, 0, sizeof *o);
    o->repeats = 7;
    FILE *capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(capture), 2);
    int rc = gpx_parse_command_line(cl, argc + 1, argv, o);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    read_said(capture);
    return rc;
}

#define PARSE(cl, o, ...)                                                                 \
    parse(cl, o, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)),   \
          (const char *[]){ __VA_ARGS__ })

static void test_every_spelling(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_operand, &o, "-o", "dir", "--head=gap", "--repeats", "12",
                           "-q", "--format", "tex", "a.yaml"), 0);
    assert_string_equal(o.out, "dir");
    assert_string_equal(o.head, "gap");
    assert_string_equal(o.format, "tex");
    assert_int_equal(o.repeats, 12);
    assert_int_equal(o.quiet, 1);
    assert_string_equal(o.config, "a.yaml");
    assert_string_equal(said, "");

    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--out=x", "--repeats=100"), 0);
    assert_string_equal(o.out, "x");
    assert_int_equal(o.repeats, 100);
    assert_int_equal(o.quiet, 0);
    assert_null(o.head);
    /* the last of a repeated option wins */
    assert_int_equal(PARSE(&with_operand, &o, "--out=x", "a.yaml", "--out", "y"), 0);
    assert_string_equal(o.out, "y");
}

static void test_defaults_stay(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml"), 0);
    assert_int_equal(o.repeats, 7);
    assert_null(o.out);
    assert_null(o.shard);
    assert_int_equal(o.quiet, 0);
}

static void test_bad_values(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "-o"), 2);
    assert_string_equal(said, "gpool test: -o needs a directory\nTry 'gpool test --help'.\n");
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--out="), 2);
    assert_string_equal(said, "gpool test: --out needs a directory\n"
                              "Try 'gpool test --help'.\n");
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--head", ""), 2);
    assert_null(o.head);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--format=pdf"), 2);
    assert_string_equal(said, "gpool test: --format needs md or tex, not 'pdf'\n"
                              "Try 'gpool test --help'.\n");
    assert_null(o.format);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "0"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "3x"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "101"), 2);
    assert_string_equal(said, "gpool test: --repeats needs an integer in 1..100, not '101'\n"
                              "Try 'gpool test --help'.\n");
    assert_int_equal(o.repeats, 7);   /* a refused value is not stored */
    /* a flag takes no value */
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--quiet=1"), 2);
    assert_non_null(strstr(said, "unknown option '--quiet=1'"));
}

static void test_value_checked(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_operand, &o, "-s", "2/3", "a.yaml"), 0);
    assert_string_equal(o.shard, "2/3");
    assert_int_equal(o.shard_k, 2);
    assert_int_equal(o.shard_n, 3);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--shard=4/3"), 2);
    assert_string_equal(said, "gpool test: --shard needs K/N, not '4/3'\n"
                              "Try 'gpool test --help'.\n");
    assert_null(o.shard);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--shard", "1/2x"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--shard", "0/2"), 2);
}

static void test_one_operand(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "b.yaml"), 2);
    assert_string_equal(said, "gpool test: one CONFIG only ('a.yaml' and 'b.yaml')\n"
                              "Try 'gpool test --help'.\n");
    assert_int_equal(PARSE(&with_operand, &o, "-q"), 2);
    assert_string_equal(said, "gpool test: missing CONFIG (for example configs/tutorial.yaml)"
                              "\nTry 'gpool test --help'.\n");
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--frob"), 2);
    assert_string_equal(said, "gpool test: unknown option '--frob'\nTry 'gpool test --help'.\n");
    assert_int_equal(PARSE(&without_operand, &o, "a.yaml"), 2);
    assert_string_equal(said, "gpool test: unexpected argument 'a.yaml' (give it with --head)\n"
                              "Try 'gpool test --help'.\n");
    assert_int_equal(PARSE(&without_operand, &o, "-q", "--head", "gap"), 0);
    /* "-" is an operand (standard input, say), not an option */
    assert_int_equal(PARSE(&with_operand, &o, "-"), 0);
    assert_string_equal(o.config, "-");
}

static void test_two_operands(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_two, &o, "d", "-q", "id"), 0);
    assert_string_equal(o.pair[0], "d");
    assert_string_equal(o.pair[1], "id");
    assert_int_equal(o.quiet, 1);
    /* with_two prints its usage after a message, not the pointer to --help */
    assert_int_equal(PARSE(&with_two, &o, "d"), 2);
    assert_string_equal(said, "gpool test: missing DIR and ID (1 of 2 given)\n"
                              "Usage: gpool test [OPTIONS]\n");
    assert_int_equal(parse(&with_two, &o, 0, NULL), 2);
    assert_string_equal(said, "gpool test: missing DIR and ID\nUsage: gpool test [OPTIONS]\n");
    assert_int_equal(PARSE(&with_two, &o, "d", "id", "more"), 2);
    assert_string_equal(said, "gpool test: unexpected 'more' after DIR and ID\n"
                              "Usage: gpool test [OPTIONS]\n");
}

static void test_operand_list(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_list, &o, "a", "-o", "out", "b", "-", "c"), 0);
    assert_int_equal(o.list.n, 4);
    assert_string_equal(o.list.arg[0], "a");
    assert_string_equal(o.list.arg[1], "b");
    assert_string_equal(o.list.arg[2], "-");
    assert_string_equal(o.list.arg[3], "c");
    assert_string_equal(o.out, "out");
    assert_int_equal(PARSE(&with_list, &o, "-q"), 2);
    assert_string_equal(said, "gpool test: missing DIR\nTry 'gpool test --help'.\n");
    assert_int_equal(o.list.n, 0);
    assert_int_equal(PARSE(&with_list, &o, "a", "--frob", "b"), 2);
    assert_int_equal(o.list.n, 1);   /* read up to the error */
    free(o.list.arg);
}

static void test_operand_callback(void **state)
{
    (void)state;
    opts o = { 0 };
    assert_int_equal(PARSE(&with_callback, &o, "a", "-q", "b", "-"), 0);
    assert_int_equal(o.nseen, 3);
    assert_string_equal(o.seen[0], "a");
    assert_string_equal(o.seen[1], "b");
    assert_string_equal(o.seen[2], "-");
    assert_int_equal(PARSE(&with_callback, &o, "a", "-x"), 2);
    assert_string_equal(said, "gpool test: unknown option '-x'\nTry 'gpool test --help'.\n");
    assert_int_equal(o.nseen, 1);
}

static void test_help_stops(void **state)
{
    (void)state;
    opts o = { 0 };
    usage_calls = 0;
    assert_int_equal(PARSE(&with_operand, &o, "-h"), 1);
    assert_int_equal(PARSE(&without_operand, &o, "-q", "--help", "--frob"), 1);
    assert_int_equal(usage_calls, 2);
    assert_int_equal(o.quiet, 1);
    assert_string_equal(said, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_spelling),
        cmocka_unit_test(test_defaults_stay),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_value_checked),
        cmocka_unit_test(test_one_operand),
        cmocka_unit_test(test_two_operands),
        cmocka_unit_test(test_operand_list),
        cmocka_unit_test(test_operand_callback),
        cmocka_unit_test(test_help_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
