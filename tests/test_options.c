/*
 * test_options.c - the command line reader of experiments/util/util.h
 * (gpx_parse_command_line) with what gpool bench, profile and throughput
 * ask of it (tests/test_table.c has gpool table's: choices and an operand
 * callback): integer values in range, in every spelling ("--name V",
 * "--name=V", "-n V"), and one operand named by the table; it refuses,
 * with exit status 2, a missing or empty value, an integer out of range or
 * not whole, an unknown option, a second operand, a missing one, and an
 * operand the command does not take; -h prints the usage and stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/util.h"

typedef struct {
    const char *config, *out, *head;
    int         repeats, quiet;
} opts;

static int usage_calls;

static void usage(FILE *out)
{
    (void)out;
    usage_calls++;
}

static const gpx_option table[] = {
    { "-o", "--out", "a directory", NULL, offsetof(opts, out), 0, 0 },
    { NULL, "--head", "a name", NULL, offsetof(opts, head), 0, 0 },
    { NULL, "--repeats", "an integer", NULL, offsetof(opts, repeats), 1, 100 },
    { "-q", "--quiet", NULL, NULL, offsetof(opts, quiet), 0, 0 },
};

static const gpx_command_line with_operand = {
    .name = "gpool test", .usage = usage,
    .options = table, .noptions = sizeof table / sizeof table[0],
    .operand_name = "CONFIG", .operand_offset = offsetof(opts, config),
    .operand_example = "configs/tutorial.yaml",
};

static const gpx_command_line without_operand = {
    .name = "gpool test", .usage = usage,
    .options = table, .noptions = sizeof table / sizeof table[0],
    .no_operand_hint = " (give it with --head)",
};

/* Parse the arguments after the command's name; o starts at repeats 7. */
static int parse(const gpx_command_line *cl, opts *o, int argc, const char **args)
{
    char *argv[16] = { "gpool-test" };
    for (int i = 0; i < argc; i++)
        argv[i + 1] = (char *)args[i];
    memset(o, 0, sizeof *o);
    o->repeats = 7;
    return gpx_parse_command_line(cl, argc + 1, argv, o);
}

#define PARSE(cl, o, ...)                                                                 \
    parse(cl, o, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)),   \
          (const char *[]){ __VA_ARGS__ })

static void test_every_spelling(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(PARSE(&with_operand, &o, "-o", "dir", "--head=gap", "--repeats", "12",
                           "-q", "a.yaml"), 0);
    assert_string_equal(o.out, "dir");
    assert_string_equal(o.head, "gap");
    assert_int_equal(o.repeats, 12);
    assert_int_equal(o.quiet, 1);
    assert_string_equal(o.config, "a.yaml");

    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--out=x", "--repeats=100"), 0);
    assert_string_equal(o.out, "x");
    assert_int_equal(o.repeats, 100);
    assert_int_equal(o.quiet, 0);
    assert_null(o.head);
}

static void test_defaults_stay(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml"), 0);
    assert_int_equal(o.repeats, 7);
    assert_null(o.out);
    assert_int_equal(o.quiet, 0);
}

static void test_bad_values(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--out"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--out="), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--head", ""), 2);
    assert_null(o.head);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "0"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "3x"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--repeats", "101"), 2);
    assert_int_equal(o.repeats, 7);   /* a refused value is not stored */
}

static void test_bad_arguments(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "--frob"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "a.yaml", "b.yaml"), 2);
    assert_int_equal(PARSE(&with_operand, &o, "-q"), 2);          /* no CONFIG */
    assert_int_equal(PARSE(&without_operand, &o, "a.yaml"), 2);   /* takes none */
    assert_int_equal(PARSE(&without_operand, &o, "-q", "--head", "gap"), 0);
    /* "-" is an operand (standard input, say), not an option */
    assert_int_equal(PARSE(&with_operand, &o, "-"), 0);
    assert_string_equal(o.config, "-");
}

static void test_help_stops(void **state)
{
    (void)state;
    opts o;
    usage_calls = 0;
    assert_int_equal(PARSE(&with_operand, &o, "-h"), 1);
    assert_int_equal(PARSE(&without_operand, &o, "-q", "--help", "--frob"), 1);
    assert_int_equal(usage_calls, 2);
    assert_int_equal(o.quiet, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_spelling),
        cmocka_unit_test(test_defaults_stay),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_help_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
