/*
 * options.c - a command's command line read from its tables (see
 * options.h).
 */
#include "autoconfig.h"

#include "util/options.h"

#include <string.h>

static void *field(void *opts, size_t offset)
{
    return (char *)opts + offset;
}

/* argv[*i] against the flags: 1 set, 0 none of them. */
static int match_flag(const gpx_command_line *cl, const char *arg, void *opts)
{
    for (size_t k = 0; k < cl->nflags; k++)
        if (gpx_option_flag(arg, cl->flags[k].shortopt, cl->flags[k].longopt)) {
            *(int *)field(opts, cl->flags[k].offset) = 1;
            return 1;
        }
    return 0;
}

/* argv[*i] against the text options: 1 stored, 0 none of them, 2 a value
 * missing (printed). */
static int match_text(const gpx_command_line *cl, int argc, char **argv, int *i, void *opts)
{
    for (size_t k = 0; k < cl->ntexts; k++) {
        const gpx_text_option *t = &cl->texts[k];
        const char *value;
        int m = gpx_option_value(argc, argv, i, t->shortopt, t->longopt, &value);
        if (m == 0)
            continue;
        if (m < 0 || (t->nonempty && !*value))
            return gpx_usage_error(cl->cmd, "%s needs %s", t->longopt, t->needs);
        *(const char **)field(opts, t->offset) = value;
        return 1;
    }
    return 0;
}

/* An argument that is not an option: the operand, if the command takes one. */
static int take_operand(const gpx_command_line *cl, const char *arg, void *opts)
{
    if (!cl->operand)
        return gpx_usage_error(cl->cmd, "unexpected argument '%s'%s", arg,
                               cl->no_operand_hint ? cl->no_operand_hint : "");
    const char **slot = field(opts, cl->operand_offset);
    if (*slot)
        return gpx_usage_error(cl->cmd, "one %s only ('%s' and '%s')", cl->operand, *slot, arg);
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
    if (match_flag(cl, arg, opts))
        return 0;
    if ((m = match_text(cl, argc, argv, i, opts)) != 0)
        return m == 1 ? 0 : 2;
    if ((m = gpx_int_options(argc, argv, i, cl->ints, cl->nints, opts, cl->cmd)) != 0)
        return m < 0 ? 2 : 0;
    if (cl->other && (m = cl->other(argc, argv, i, opts)) != 0)
        return m == 1 ? 0 : 2;
    if (arg[0] == '-' && arg[1])
        return gpx_usage_error(cl->cmd, "unknown option '%s'", arg);
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
        return gpx_usage_error(cl->cmd, "missing %s (for example %s)", cl->operand,
                               cl->operand_example);
    return 0;
}
