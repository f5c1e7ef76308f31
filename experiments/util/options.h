/*
 * options.h - a command's command line read from one table: its flags, its
 * options with a text or an integer value, at most one operand (CONFIG),
 * and -h/--help, so that every verb reads its arguments the same way and
 * says the same thing about a bad one (gpx_usage_error in util.h).
 *
 * Each table entry names a field of the command's option struct by its
 * offset (offsetof), which gpx_parse_command_line fills in. A value is
 * given as "--name V", "--name=V" or "-n V":
 *
 *   static const gpx_option options[] = {
 *       { GPX_OPTION_TEXT, "-o", "--out", offsetof(my_options, out), .needs = "a directory",
      .nonempty = 1 },
 *       { GPX_OPTION_INT, NULL, "--repeats", offsetof(my_options, repeats), .lo = 1, .hi = 100 },
 *       { GPX_OPTION_FLAG, "-q", "--quiet", .offset = offsetof(my_options, quiet) },
 *   };
 */
#ifndef GPOOL_EXPERIMENTS_UTIL_OPTIONS_H
#define GPOOL_EXPERIMENTS_UTIL_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    GPX_OPTION_FLAG,   /* sets the int at offset to 1 */
    GPX_OPTION_TEXT,   /* points the const char * at offset at its value */
    GPX_OPTION_INT     /* stores its value, a whole number in [lo, hi], in the int at offset */
} gpx_option_kind;

typedef struct {
    gpx_option_kind kind;
    const char     *shortopt;   /* "-o", or NULL */
    const char     *longopt;    /* "--out" */
    size_t          offset;
    const char     *needs;      /* TEXT: what a missing value is said to need: "a directory" */
    int             nonempty;   /* TEXT: an empty value counts as missing */
    int             lo, hi;     /* INT: the range */
} gpx_option;

/* The command line of one command. */
typedef struct {
    const char       *cmd;            /* "gpool profile", for the messages */
    void            (*usage)(FILE *out);  /* -h, --help print it on stdout */
    int               usage_on_error; /* a usage error prints it too (on stderr), not a
                                         pointer to --help */
    const gpx_option *options;
    size_t            noptions;
    /* An option the table cannot say (a list, K/N) at argv[*i]: 1 taken,
     * 0 not this one, 2 a usage error already printed. NULL: none. */
    int             (*other)(int argc, char **argv, int *i, void *opts);
    const char       *operand;        /* "CONFIG"; NULL: the command takes none */
    size_t            operand_offset; /* its const char * */
    const char       *operand_example;  /* in the message when it is missing */
    const char       *no_operand_hint;  /* after the message about an operand the command
                                           does not take; NULL: none */
} gpx_command_line;

/* Read argv[1..argc-1] into opts (which the caller has set to its
 * defaults). 0 ok, 1 the help was printed, 2 a usage error was printed
 * (the exit status of a bad command line). */
int gpx_parse_command_line(int argc, char **argv, const gpx_command_line *cl, void *opts);

#endif /* GPOOL_EXPERIMENTS_UTIL_OPTIONS_H */
