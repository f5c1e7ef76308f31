/*
 * options.c - a command's command line read from its table (see
 * options.h).
 */
#include "autoconfig.h"

#include "util/options.h"

#include <stdarg.h>
#include <string.h>

#include "util/util.h"

static void *field(void *opts, size_t offset)
{
    return (char *)opts + offset;
}

/* A bad command line, said the way the command says it. Returns 2. */
static int usage_error(const gpx_command_line *cl, const char *fmt, ...) GPX_PRINTF(2, 3);
static int usage_error(const gpx_command_line *cl, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cl->usage_on_error)
        return gpx_usage_error_full(cl->cmd, cl->usage, "%s", msg);
    return gpx_usage_error(cl->cmd, "%s", msg);
}

/* The value of option o, given as value, stored. 0, or 2 (printed). */
static int store(const gpx_command_line *cl, const gpx_option *o, const char *value,
                 void *opts)
{
    if (o->kind == GPX_OPTION_INT) {
        if (!value || gpx_parse_int(value, o->lo, o->hi, field(opts, o->offset)))
            return usage_error(cl, "%s needs an integer in %d..%d", o->longopt, o->lo, o->hi);
        return 0;
    }
    if (!value || (o->nonempty && !*value))
        return usage_error(cl, "%s needs %s", o->longopt, o->needs);
    *(const char **)field(opts, o->offset) = value;
    return 0;
}

/* argv[*i] against the table: 1 taken, 0 none of its options, 2 a bad
 * value (printed). */
static int match_option(const gpx_command_line *cl, int argc, char **argv, int *i, void *opts)
{
    for (size_t k = 0; k < cl->noptions; k++) {
        const gpx_option *o = &cl->options[k];
        if (o->kind == GPX_OPTION_FLAG) {
            if (!gpx_option_flag(argv[*i], o->shortopt, o->longopt))
                continue;
            *(int *)field(opts, o->offset) = 1;
            return 1;
        }
        const char *value;
        int m = gpx_option_value(argc, argv, i, o->shortopt, o->longopt, &value);
        if (m != 0)
            return store(cl, o, m > 0 ? value : NULL, opts) ? 2 : 1;
    }
    return 0;
}

/* An argument that is not an option: the operand, if the command takes one. */
static int take_operand(const gpx_command_line *cl, const char *arg, void *opts)
{
    if (!cl->operand)
        return usage_error(cl, "unexpected argument '%s'%s", arg,
                           cl->no_operand_hint ? cl->no_operand_hint : "");
    const char **slot = field(opts, cl->operand_offset);
    if (*slot)
        return usage_error(cl, "one %s only ('%s' and '%s')", cl->operand, *slot, arg);
    *slot = arg;
    return 0;
}

/* One argument at argv[*i]: 0 taken, 1 help printed, 2 usage error printed. */
static int parse_one(const gpx_command_line *cl, int argc, char **argv, int *i, void *opts)
{
    const char *arg = argv[*i];
    int m;
    if (gpx_option_flag(arg, "-h", "--help")) {
        cl->usage(stdout);
        return 1;
    }
    if ((m = match_option(cl, argc, argv, i, opts)) != 0)
        return m == 1 ? 0 : 2;
    if (cl->other && (m = cl->other(argc, argv, i, opts)) != 0)
        return m == 1 ? 0 : 2;
    if (arg[0] == '-' && arg[1])
        return usage_error(cl, "unknown option '%s'", arg);
    return take_operand(cl, arg, opts);
}

int gpx_parse_command_line(int argc, char **argv, const gpx_command_line *cl, void *opts)
{
    for (int i = 1; i < argc; i++) {
        int r = parse_one(cl, argc, argv, &i, opts);
        if (r)
            return r;
    }
    if (cl->operand && !*(const char **)field(opts, cl->operand_offset))
        return usage_error(cl, "missing %s (for example %s)", cl->operand,
                           cl->operand_example);
    return 0;
}
