/*
 * util.c - helpers shared by the gpool experiment commands (see util.h).
 */
#include "autoconfig.h"

#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------ time */

double gpx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --------------------------------------------------------- statistics */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double gpx_median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double gpx_min(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

/* Two passes (the mean, then the squares about it) rather than a running
 * sum of squares, which loses the sd of values far from zero. */
gpx_summary gpx_summarise(const double *v, size_t n)
{
    gpx_summary s = { NAN, NAN, 0, 1 };
    double sum = 0, first = NAN;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (!s.n)
                first = v[i];
            s.constant &= v[i] == first;
            sum += v[i];
            s.n++;
        }
    if (!s.n)
        return s;
    s.mean = sum / (double)s.n;
    if (s.n < 2)
        return s;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt(ss / (double)(s.n - 1));
    return s;
}

/* ------------------------------------------------------------- files */

int gpx_join(char *buf, size_t len, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    int n = snprintf(buf, len, "%s%s%s", dir, slash ? "/" : "", name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int gpx_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (dir[0] == '\0') {
        snprintf(err, errlen, "empty directory name");
        return -1;
    }
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    /* Create each prefix in turn; an existing prefix is fine as long as the
     * whole path ends up a directory. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a directory", path);
        return -1;
    }
    return 0;
}

/* Temp files not yet committed or aborted, for gpx_remove_temps(). The
 * pointers reference the callers' gpx_atomic_file structs. */
#define GPX_MAX_TEMPS 32
static const char *volatile gpx_live_temps[GPX_MAX_TEMPS];

static void register_temp(const char *tmp)
{
    for (int i = 0; i < GPX_MAX_TEMPS; i++)
        if (!gpx_live_temps[i]) {
            gpx_live_temps[i] = tmp;
            return;
        }
}

static void unregister_temp(const char *tmp)
{
    for (int i = 0; i < GPX_MAX_TEMPS; i++)
        if (gpx_live_temps[i] == tmp)
            gpx_live_temps[i] = NULL;
}

void gpx_remove_temps(void)
{
    for (int i = 0; i < GPX_MAX_TEMPS; i++) {
        const char *t = gpx_live_temps[i];
        if (t)
            unlink(t);
    }
}

void gpx_tmp_name(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "%s.tmp.%ld", path, (long)getpid());
}

int gpx_atomic_open(gpx_atomic_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    gpx_tmp_name(f->tmp, sizeof f->tmp, path);
    f->fp = fopen(f->tmp, "w");
    if (!f->fp) {
        snprintf(err, errlen, "cannot write %s: %s", f->tmp, strerror(errno));
        f->tmp[0] = '\0';
        return -1;
    }
    register_temp(f->tmp);
    return 0;
}

/* Make a rename durable: the directory entry lives in the parent. */
static void sync_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse it */
        close(fd);
    }
}

int gpx_atomic_close(gpx_atomic_file *f, char *err, size_t errlen)
{
    if (!f->fp) {
        snprintf(err, errlen, "%s: not open", f->path);
        return -1;
    }
    int failed = ferror(f->fp) || fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0;
    int saved = errno;
    if (fclose(f->fp) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    f->fp = NULL;
    if (failed) {
        snprintf(err, errlen, "cannot write %s: %s", f->tmp, strerror(saved ? saved : EIO));
        gpx_atomic_abort(f);
        return -1;
    }
    return 0;
}

int gpx_atomic_commit(gpx_atomic_file *f, char *err, size_t errlen)
{
    if (f->fp && gpx_atomic_close(f, err, errlen))
        return -1;
    if (!f->tmp[0]) {
        snprintf(err, errlen, "%s: not open", f->path);
        return -1;
    }
    if (rename(f->tmp, f->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", f->tmp, f->path, strerror(errno));
        gpx_atomic_abort(f);
        return -1;
    }
    unregister_temp(f->tmp);
    f->tmp[0] = '\0';
    sync_parent_dir(f->path);
    return 0;
}

void gpx_atomic_abort(gpx_atomic_file *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp[0]) {
        unregister_temp(f->tmp);
        unlink(f->tmp);
        f->tmp[0] = '\0';
    }
}

int gpx_write_file(const char *dir, const char *name, void (*body)(FILE *fp, const void *ctx),
                   const void *ctx, char *err, size_t errlen)
{
    char path[4096];
    gpx_atomic_file f;
    if (gpx_join(path, sizeof path, dir, name)) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    if (gpx_atomic_open(&f, path, err, errlen))
        return -1;
    body(f.fp, ctx);
    return gpx_atomic_commit(&f, err, errlen);
}

int gpx_publish(const char *tmp, const char *path, char *err, size_t errlen)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", tmp, strerror(errno));
        return -1;
    }
    int failed = fsync(fd) != 0;
    int saved = errno;
    close(fd);
    if (failed) {
        snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(saved));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    sync_parent_dir(path);
    return 0;
}

int gpx_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

char *gpx_read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = NULL;
    size_t len = 0, got;
    char chunk[65536];
    FILE *mem = open_memstream(&buf, &len);
    while (mem && (got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        fwrite(chunk, 1, got, mem);
    int failed = ferror(fp) || !mem;
    fclose(fp);
    if (mem && fclose(mem) != 0)
        failed = 1;
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    return buf;
}

/* ---------------------------------------------------------- progress */

static int gpx_progress_on;
static int gpx_progress_shown;

void gpx_progress_enable(int on)
{
    gpx_progress_on = on && isatty(STDERR_FILENO);
}

int gpx_progress_enabled(void)
{
    return gpx_progress_on;
}

void gpx_progress(const char *fmt, ...)
{
    if (!gpx_progress_on)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* \r + erase-line keeps a single line that updates in place. */
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    gpx_progress_shown = 1;
}

void gpx_progress_clear(void)
{
    if (gpx_progress_on && gpx_progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    gpx_progress_shown = 0;
}

/* ----------------------------------------------------------- machine */

const char *gpx_cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return buf;
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (!colon)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        snprintf(buf, len, "%s", colon);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    fclose(fp);
    return buf;
}

/* Read a small sysfs file into buf (newline stripped); 0 on success. */
static int read_small_file(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    int ok = fgets(buf, (int)len, fp) != NULL;
    fclose(fp);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* The level-3 entry among cpu0's cache indexes (usually index3). */
static size_t l3_from_sysfs(void)
{
    for (int i = 0; i < 16; i++) {
        char path[128], text[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (read_small_file(path, text, sizeof text) != 0)
            continue;
        if (atoi(text) != 3)
            continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        size_t bytes;
        if (read_small_file(path, text, sizeof text) == 0 && gpx_parse_bytes(text, &bytes) == 0)
            return bytes;
    }
    return 0;
}

size_t gpx_l3_bytes(const char **source)
{
    const char *src = "sysconf";
    size_t bytes = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
    long sc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (sc > 0)
        bytes = (size_t)sc;
#endif
    if (bytes == 0) {
        src = "sysfs";
        bytes = l3_from_sysfs();
    }
    if (bytes == 0) {
        src = "fallback";
        bytes = (size_t)32 << 20;
    }
    if (source)
        *source = src;
    return bytes;
}

const char *gpx_format_bytes(char *buf, size_t len, double bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0 || bytes == floor(bytes))
        snprintf(buf, len, "%.0f %s", bytes, units[u]);
    else
        snprintf(buf, len, "%.2f %s", bytes, units[u]);
    return buf;
}

int gpx_parse_bytes(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !(v >= 0))
        return -1;
    while (*end == ' ')
        end++;
    double scale = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': scale = 1024.0; end++; break;
    case 'M': scale = 1024.0 * 1024; end++; break;
    case 'G': scale = 1024.0 * 1024 * 1024; end++; break;
    case 'T': scale = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (scale > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return -1;
    v *= scale;
    if (v > 1e18)
        return -1;
    *out = (size_t)v;
    return 0;
}

const char *gpx_iso_time(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
        snprintf(buf, len, "unknown");
    return buf;
}

/* ------------------------------------------------------ text output */

void gpx_yaml_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(fp, "\\x%02x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

/* ----------------------------------------------------------- gnuplot */

const char *gpx_gnuplot_program(void)
{
    const char *env = getenv("GNUPLOT");
    if (env)
        return env; /* set but empty: no gnuplot */
#ifdef GPOOL_GNUPLOT
    if (access(GPOOL_GNUPLOT, X_OK) == 0)
        return GPOOL_GNUPLOT;
#endif
    return "gnuplot";
}

void gpx_gnuplot_quote(char *buf, size_t len, const char *s)
{
    size_t o = 0;
    if (o < len)
        buf[o++] = '\'';
    for (; *s && o + 3 < len; s++) {
        if (*s == '\'')
            buf[o++] = '\'';
        buf[o++] = *s;
    }
    if (o + 1 < len)
        buf[o++] = '\'';
    buf[o < len ? o : len - 1] = '\0';
}

int gpx_run_gnuplot(const char *program, const char *script, const char *settings,
                    char *err, size_t errlen)
{
    char *args[] = { (char *)program, "-e", (char *)settings, (char *)script, NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, program, NULL, NULL, args, environ);
    if (rc == ENOENT)
        return 1;
    if (rc) {
        snprintf(err, errlen, "cannot run %s: %s", program, strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "waiting for %s: %s", program, strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s %s failed (%s %d)", program, script,
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- errors */

int gpx_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void gpx_vsay(const char *cmd, const char *fmt, va_list ap)
{
    gpx_progress_clear();
    fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int gpx_complain(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gpx_vsay(cmd, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------ command line */

int gpx_parse_int(const char *text, int lo, int hi, int *out)
{
    /* strtol alone would take " 3" and "+3" while "3 " fails: only digits */
    const char *digits = text[0] == '-' ? text + 1 : text;
    if (digits[0] < '0' || digits[0] > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end || errno == ERANGE || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int gpx_command_line_error(const gpx_command_line *cl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gpx_vsay(cl->name, fmt, ap);
    va_end(ap);
    if (cl->usage_on_error)
        cl->usage(stderr);
    else
        fprintf(stderr, "Try '%s --help'.\n", cl->name);
    return 2;
}

/* 1 when arg is the flag shortopt (NULL for none) or longopt. */
static int is_flag(const char *arg, const char *shortopt, const char *longopt)
{
    return !strcmp(arg, longopt) || (shortopt && !strcmp(arg, shortopt));
}

/* Option shortopt/longopt with a value ("--long V", "--long=V", "-s V") at
 * argv[*i]: 1 (and *value, advancing *i past a separate value) on a match,
 * 0 if argv[*i] is another option, -1 when the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *shortopt,
                        const char *longopt, const char **value)
{
    const char *arg = argv[*i];
    size_t ll = strlen(longopt);
    if (!strncmp(arg, longopt, ll) && arg[ll] == '=') {
        *value = arg + ll + 1;
        return 1;
    }
    if (!is_flag(arg, shortopt, longopt))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static int is_choice(const char *value, const char *const *choices)
{
    for (; *choices; choices++)
        if (!strcmp(value, *choices))
            return 1;
    return 0;
}

/* 1 when value is one option o accepts (and then stored into opts). */
static int accepted(const gpx_option *o, const char *value, void *opts)
{
    char *field = (char *)opts + o->offset;
    if (o->hi > o->lo)
        return !gpx_parse_int(value, o->lo, o->hi, (int *)field);
    if (!*value || (o->choices && !is_choice(value, o->choices)))
        return 0;
    if (o->accept && o->accept(value, opts))
        return 0;
    *(const char **)field = value;
    return 1;
}

/* The value of option o (spelt arg on the command line; NULL: none given)
 * stored in opts: 1, or 2 said what the option needs. */
static int store_value(const gpx_command_line *cl, const gpx_option *o, const char *arg,
                       const char *value, void *opts)
{
    if (value && accepted(o, value, opts))
        return 1;
    int name = (int)strcspn(arg, "=");
    char needs[96];
    if (o->hi > o->lo)
        snprintf(needs, sizeof needs, "an integer in %d..%d", o->lo, o->hi);
    else
        snprintf(needs, sizeof needs, "%s", o->needs);
    if (value && *value)
        return gpx_command_line_error(cl, "%.*s needs %s, not '%s'", name, arg, needs, value);
    return gpx_command_line_error(cl, "%.*s needs %s", name, arg, needs);
}

/* argv[*i] against option o: 0 another option, 1 taken into opts, 2 said
 * what is wrong with its value. */
static int take_option(const gpx_command_line *cl, const gpx_option *o, int argc, char **argv,
                       int *i, void *opts)
{
    const char *arg = argv[*i], *value;
    if (!o->needs) {
        if (!is_flag(arg, o->shortopt, o->longopt))
            return 0;
        *(int *)((char *)opts + o->offset) = 1;
        return 1;
    }
    int m = option_value(argc, argv, i, o->shortopt, o->longopt, &value);
    return m ? store_value(cl, o, arg, m > 0 ? value : NULL, opts) : 0;
}

/* How many of its fixed operands (at most max) the command has been given. */
static int operands_given(const gpx_command_line *cl, const void *opts, int max)
{
    const char *const *slot = (const char *const *)((const char *)opts + cl->operand_offset);
    int n = 0;
    while (n < max && slot[n])
        n++;
    return n;
}

/* An operand of a command that takes one or more: appended to its list
 * (room for every argument, made at the first). 0, or 2 said why not. */
static int add_to_list(const gpx_command_line *cl, const char *arg, int argc, void *opts)
{
    gpx_operand_list *list = (gpx_operand_list *)((char *)opts + cl->operand_offset);
    if (!list->arg && !(list->arg = calloc((size_t)argc, sizeof *list->arg)))
        return gpx_command_line_error(cl, "out of memory reading the command line");
    list->arg[list->n++] = arg;
    return 0;
}

/* An argument that is not an option: to the callback, else to the operands
 * the command takes. 0, or 2 said why not. */
static int take_operand(const gpx_command_line *cl, const char *arg, int argc, void *opts)
{
    if (cl->operand)
        return cl->operand(arg, opts) ? 2 : 0;
    if (!cl->operand_name)
        return gpx_command_line_error(cl, "unexpected argument '%s'%s", arg,
                                      cl->no_operand_hint ? cl->no_operand_hint : "");
    if (cl->operands == GPX_ONE_OR_MORE)
        return add_to_list(cl, arg, argc, opts);
    int max = cl->operands > 1 ? cl->operands : 1;
    const char **slot = (const char **)((char *)opts + cl->operand_offset);
    int n = operands_given(cl, opts, max);
    if (n == max && max == 1)
        return gpx_command_line_error(cl, "one %s only ('%s' and '%s')", cl->operand_name,
                                      slot[0], arg);
    if (n == max)
        return gpx_command_line_error(cl, "unexpected '%s' after %s", arg, cl->operand_name);
    slot[n] = arg;
    return 0;
}

/* After the last argument: 0 when the command has the operands it needs, else
 * 2 said which are missing. */
static int check_operands(const gpx_command_line *cl, const void *opts)
{
    if (cl->operand || !cl->operand_name)
        return 0;
    int want = cl->operands > 1 ? cl->operands : 1, given;
    if (cl->operands == GPX_ONE_OR_MORE)
        given = ((const gpx_operand_list *)((const char *)opts + cl->operand_offset))->n;
    else
        given = operands_given(cl, opts, want);
    if (given >= want)
        return 0;
    if (given)
        return gpx_command_line_error(cl, "missing %s (%d of %d given)", cl->operand_name,
                                      given, want);
    if (cl->operand_example)
        return gpx_command_line_error(cl, "missing %s (for example %s)", cl->operand_name,
                                      cl->operand_example);
    return gpx_command_line_error(cl, "missing %s", cl->operand_name);
}

int gpx_parse_command_line(const gpx_command_line *cl, int argc, char **argv, void *opts)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (is_flag(arg, "-h", "--help")) {
            cl->usage(stdout);
            return 1;
        }
        int taken = 0;
        for (size_t k = 0; k < cl->noptions && !taken; k++)
            taken = take_option(cl, &cl->options[k], argc, argv, &i, opts);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        if (arg[0] == '-' && arg[1])
            return gpx_command_line_error(cl, "unknown option '%s'", arg);
        if (take_operand(cl, arg, argc, opts))
            return 2;
    }
    return check_operands(cl, opts);
}
