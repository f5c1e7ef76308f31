/*
 * util.h - small helpers shared by the gpool experiment commands: atomic
 * file output, mkdir -p, a monotonic clock, order and summary statistics, a
 * progress line, what the machine is (CPU model, L3 size), and a command's
 * command line read from a table of its options.
 *
 * Errors are reported into a caller buffer as "what: path: reason" so the
 * command can print them with its own prefix; nothing here prints except the
 * progress line, and nothing exits.
 */
#ifndef GPOOL_EXPERIMENTS_UTIL_H
#define GPOOL_EXPERIMENTS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* printf-style checking of a function's format (argument fmt) and its
 * arguments (from first on), where the compiler has it. */
#if defined(__GNUC__)
#define GPX_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define GPX_PRINTF(fmt, first)
#endif

/* ----------------------------------------------------------- errors */

/* A printf-style message into err (when it has room); returns -1, so that a
 * function can end with `return gpx_fail(err, errlen, "...", ...)`. */
int gpx_fail(char *err, size_t errlen, const char *fmt, ...) GPX_PRINTF(3, 4);

/* "cmd: MESSAGE" on stderr, the progress line cleared first; gpx_complain
 * returns -1 for the same use as gpx_fail. */
void gpx_vsay    (const char *cmd, const char *fmt, va_list ap);
int  gpx_complain(const char *cmd, const char *fmt, ...) GPX_PRINTF(2, 3);

/* ------------------------------------------------------------ time */

/* Seconds on CLOCK_MONOTONIC (arbitrary origin). */
double gpx_now(void);

/* --------------------------------------------------------- statistics */

/* Median of v[0..n-1] (mean of the two middle values for even n). Sorts v. */
double gpx_median(double *v, size_t n);

/* Smallest of v[0..n-1]; NaN for n == 0. */
double gpx_min(const double *v, size_t n);

/* A sample summarised over its finite values (NaN and infinities left out). */
typedef struct {
    double mean, sd;   /* NaN without values; sd (sample, n - 1) NaN for n < 2 */
    size_t n;          /* finite values */
    int    constant;   /* every finite value equal (also for n < 2) */
} gpx_summary;

/* Mean and sample sd of the finite values of v[0..n-1], summed in order. */
gpx_summary gpx_summarise(const double *v, size_t n);

/* ------------------------------------------------------------- files */

/* Create dir and its missing parents (like mkdir -p). 0 or -1 with err. */
int gpx_mkdir_p(const char *dir, char *err, size_t errlen);

/* dir + "/" + name into buf: gpx_join(buf, len, "a/b", "c") -> "a/b/c".
 * 0, or -1 when it does not fit. */
int gpx_join(char *buf, size_t len, const char *dir, const char *name);

/* A file written under a temporary name in its final directory and renamed
 * into place only when complete, so readers (and an interrupted run) never
 * see a half-written file: open -> write to fp -> commit (or abort). */
typedef struct {
    FILE *fp;
    char  path[4096];  /* final name */
    char  tmp[4096];   /* "path.tmp.PID" */
} gpx_atomic_file;

int  gpx_atomic_open  (gpx_atomic_file *f, const char *path, char *err, size_t errlen);
/* Flush, fsync and close the temp, leaving it unpublished until a later
 * commit (which then only renames) or abort; on failure the temp is removed.
 * For files that go into place together (a chart and its data). */
int  gpx_atomic_close (gpx_atomic_file *f, char *err, size_t errlen);
/* Flush, fsync, close and rename onto path; on failure the temp is removed. */
int  gpx_atomic_commit(gpx_atomic_file *f, char *err, size_t errlen);
/* Close and remove the temp file (safe to call twice, or after commit). */
void gpx_atomic_abort (gpx_atomic_file *f);

/* dir/name written whole by body(fp, ctx) through an atomic file: 0, or
 * -1 with err (nothing published). */
int  gpx_write_file   (const char *dir, const char *name,
                       void (*body)(FILE *fp, const void *ctx), const void *ctx, char *err,
                       size_t errlen);

/* Name "path.tmp.PID" for a file another program writes (gnuplot), and
 * publish it: fsync it and rename it onto path. */
void gpx_tmp_name     (char *buf, size_t len, const char *path);
int  gpx_publish      (const char *tmp, const char *path, char *err, size_t errlen);

/* Remove every temp file opened with gpx_atomic_open and not yet committed
 * or aborted. Async-signal-safe (only unlink), for a fatal-signal path. */
void gpx_remove_temps (void);

/* 1 when a file exists and is readable. */
int  gpx_readable     (const char *path);

/* A whole file as a string (caller frees); NULL with errno when it cannot
 * be read. */
char *gpx_read_text   (const char *path);

/* ---------------------------------------------------------- progress */

/* Progress goes to stderr, only when it is a terminal and on is set. */
void gpx_progress_enable(int on);
int  gpx_progress_enabled(void);
/* Replace the current progress line with a printf-style message. */
void gpx_progress(const char *fmt, ...) GPX_PRINTF(1, 2);
/* Erase the progress line (before ordinary output, and at the end). */
void gpx_progress_clear(void);

/* ----------------------------------------------------------- machine */

/* "model name" from /proc/cpuinfo, or "unknown". Returns buf. */
const char *gpx_cpu_model(char *buf, size_t len);

/* Size of the L3 cache in bytes: sysconf(_SC_LEVEL3_CACHE_SIZE), else the
 * level-3 entry of /sys/devices/system/cpu/cpu0/cache, else 32 MiB. *source
 * (if not NULL) says which: "sysconf", "sysfs" or "fallback". */
size_t gpx_l3_bytes(const char **source);

/* Human-readable byte count in binary units ("1.50 GiB", "48 KiB"). Returns buf. */
const char *gpx_format_bytes(char *buf, size_t len, double bytes);

/* Parse a byte count with an optional binary suffix: "4096", "64K", "16MiB",
 * "1.5G". 0 on success, -1 when malformed. */
int gpx_parse_bytes(const char *text, size_t *out);

/* Current local time as ISO 8601 with offset ("2024-05-01T12:00:00+0200"). */
const char *gpx_iso_time(char *buf, size_t len);

/* ------------------------------------------------------ text output */

/* A YAML double-quoted scalar (NULL prints ""). */
void gpx_yaml_string(FILE *fp, const char *s);

/* ----------------------------------------------------------- gnuplot */

/* The gnuplot to run: $GNUPLOT if set (empty = none), else the one found by
 * configure, else "gnuplot" on PATH. */
const char *gpx_gnuplot_program(void);

/* s as a gnuplot single-quoted string literal (a quote is doubled). */
void gpx_gnuplot_quote(char *buf, size_t len, const char *s);

/* Run `program -e settings script`: 0 ok, 1 no gnuplot (skipped), -1 failed (err). */
int gpx_run_gnuplot(const char *program, const char *script, const char *settings,
                    char *err, size_t errlen);

/* ------------------------------------------------------ command line */

/* Parse a whole decimal integer in [lo, hi], digits with an optional '-' and
 * nothing else (no spaces, no '+'): 0, or -1 (out untouched). */
int gpx_parse_int(const char *text, int lo, int hi, int *out);

/* One option in a command's table of options (gpx_parse_command_line). */
typedef struct {
    const char        *shortopt;  /* "-o", or NULL */
    const char        *longopt;   /* "--out" (also "--out=V") */
    const char        *needs;     /* NULL: a flag, which sets an int to 1; else it takes
                                   * a value, a const char *, and this says what for the
                                   * error ("a directory": "--out needs a directory") */
    const char *const *choices;   /* the values it accepts, NULL-terminated; NULL: any
                                   * but the empty string */
    size_t             offset;    /* offsetof the int or const char * in the options */
    int                lo, hi;    /* hi > lo: the value is a whole number in [lo, hi],
                                   * stored in an int ("--repeats needs an integer in
                                   * 1..100"); needs only marks it as taking a value */
    /* NULL, or what else a text value must be ("--shard 2/3": K/N with K <= N),
     * which may decode it into opts too: 0 accepted, else refused as needs says. */
    int              (*accept)(const char *value, void *opts);
} gpx_option;

/* An option --NAME taking a whole number in [lo, hi] into an int field of
 * the options (of type type). */
#define GPX_INT_OPTION(longopt, type, field, low, high)                                  \
    { NULL, (longopt), "an integer", .offset = offsetof(type, field), .lo = (low),       \
      .hi = (high) }

/* The operands of a command that takes one or more (GPX_ONE_OR_MORE), in
 * command-line order; the parser allocates arg: free(list.arg) afterwards,
 * whatever it returned. */
typedef struct {
    const char **arg;
    int          n;
} gpx_operand_list;

#define GPX_ONE_OR_MORE (-1)

/* A command's command line: -h/--help, the options, and what is not an option. */
typedef struct {
    const char       *name;            /* "gpool table", for messages */
    void            (*usage)(FILE *out);
    int               usage_on_error;  /* a bad command line prints the usage (1) or a
                                        * pointer to --help (0) */
    const gpx_option *options;
    size_t            noptions;
    /* An argument that is not an option (DIR, CONFIG): 0, or 2 after
     * gpx_command_line_error. NULL: the operands below. */
    int             (*operand)(const char *arg, void *opts);
    const char       *operand_name;    /* "CONFIG", "RESULTS_DIR and RUN_ID": what the
                                        * operands are called in messages. NULL (and no
                                        * callback): the command takes none */
    size_t            operand_offset;  /* where they go in the options, as operands says */
    int               operands;        /* 0 or 1: exactly one, a const char *; N > 1:
                                        * exactly N, a const char *[N] (NULLs before);
                                        * GPX_ONE_OR_MORE: a gpx_operand_list (zeroed) */
    const char       *operand_example; /* said when none is given: "configs/tutorial.yaml" */
    const char       *no_operand_hint; /* said after an operand it does not take */
} gpx_command_line;

/* Parse argv[1..argc-1] into opts (set to its defaults by the caller), in
 * order: 0 done, 1 the usage was asked for (printed on stdout), 2 a bad
 * command line (said on stderr: an unknown option, a missing or refused
 * value, an operand too many or missing, or what the operand callback
 * refused). */
int gpx_parse_command_line(const gpx_command_line *cl, int argc, char **argv, void *opts);

/* A bad command line of cl on stderr, "NAME: MESSAGE", followed as cl says
 * (see usage_on_error). Returns 2, the exit status of a bad command line. */
int gpx_command_line_error(const gpx_command_line *cl, const char *fmt, ...) GPX_PRINTF(2, 3);

#endif /* GPOOL_EXPERIMENTS_UTIL_H */
