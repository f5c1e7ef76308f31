/*
 * options.h - a command's command line read from tables: its flags, its
 * options with a text or an integer value, at most one operand (CONFIG),
 * and -h/--help, so that every verb reads its arguments the same way and
 * says the same thing about a bad one (gpx_usage_error in util.h).
 *
 * Each table entry names a field of the command's option struct by its
 * offset (offsetof), which gpx_parse_command_line fills in. A value is
 * given as "--name V", "--name=V" or "-n V".
 */
#ifndef GPOOL_EXPERIMENTS_UTIL_OPTIONS_H
#define GPOOL_EXPERIMENTS_UTIL_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "util/util.h"

/* A flag: sets the int at offset to 1. */
typedef struct {
    const char *shortopt;   /* "-q", or NULL */
    const char *longopt;    /* "--quiet" */
    size_t      offset;
} gpx_flag_option;

/* An option with a text value: the const char * at offset points at it. */
typedef struct {
    const char *shortopt;   /* "-o", or NULL */
    const char *longopt;    /* "--out" */
    size_t      offset;
    const char *needs;      /* what a missing value is said to need: "a directory" */
    int         nonempty;   /* an empty value counts as missing */
} gpx_text_option;

/* The command line of one command. */
typedef struct {
    const char            *cmd;       /* "gpool profile", for the messages */
    void                 (*usage)(FILE *out);  /* -h, --help print it on stdout */
    const gpx_flag_option *flags;
    size_t                 nflags;
    const gpx_text_option *texts;
    size_t                 ntexts;
    const gpx_int_option  *ints;
    size_t                 nints;
    /* An option the tables cannot say (a list, K/N) at argv[*i]: 1 taken,
     * 0 not this one, 2 a usage error already printed. NULL: none. */
    int                  (*other)(int argc, char **argv, int *i, void *opts);
    const char            *operand;   /* "CONFIG"; NULL: the command takes none */
    size_t                 operand_offset;   /* its const char * */
    const char            *operand_example;  /* in the message when it is missing */
    const char            *no_operand_hint;  /* after the message about an operand the
                                                command does not take; NULL: none */
} gpx_command_line;

/* Read argv[1..argc-1] into opts (which the caller has set to its
 * defaults). 0 ok, 1 the help was printed, 2 a usage error was printed
 * (the exit status of a bad command line). */
int gpx_parse_command_line(int argc, char **argv, const gpx_command_line *cl, void *opts);

#endif /* GPOOL_EXPERIMENTS_UTIL_OPTIONS_H */
