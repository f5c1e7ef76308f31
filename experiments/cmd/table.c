/*
 * table.c - `gpool table DIR`: paper-style tables (markdown and LaTeX) and
 * gnuplot charts (PNG and SVG) from the CSVs `gpool run` wrote into DIR.
 *
 * Everything is recomputed from DIR/runs.csv, epochs.csv, evals.csv and the
 * `table:` section of DIR/config.yaml (or --config FILE): nothing is
 * trained, no data set is opened. One table row per group of runs sharing
 * the values of table.group_by (default: every swept path but the seeds),
 * with mean +- sample sd over the group's runs whose status is ok; the
 * others are listed under the table with their reasons. When the config
 * evaluated other input sizes (DIR/evals.csv), a second table and one chart
 * per method show the test accuracy at each size, not-applicable sizes
 * marked with their reason.
 *
 * This file is the verb: its command line, which files it reads and
 * writes, and its messages. What the tables hold is records/table.h and
 * records/size_study.h; how they are written, records/table_text.h; the
 * charts, records/table_charts.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "core/schema.h"
#include "records/ids.h"
#include "records/size_study.h"
#include "records/table.h"
#include "records/table_charts.h"
#include "records/table_text.h"
#include "util/util.h"

/* Room for a message that quotes two paths and a CSV field. */
#define ERR_LEN 16384

typedef struct {
    const char *prog;
    char        out_dir[4096];
    gpx_table   t;
} table_job;

/* ====================================================== command line */

typedef struct {
    const char *dir, *out, *config;
    const char *format;      /* md, tex or all (NULL) */
    int         no_charts;
} table_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool table [OPTIONS] DIR\n"
            "\n"
            "Tables and charts from what `gpool run` wrote into DIR (runs.csv, epochs.csv,\n"
            "evals.csv, config.yaml), without running anything:\n"
            "  table.md, table.tex   one row per group of runs (table.group_by; default:\n"
            "                        every swept path but the seeds) with mean +- sample sd\n"
            "                        over the runs whose status is ok; the others are listed\n"
            "                        under the table with their reasons\n"
            "  accuracy-mean.png/svg        test accuracy per epoch, mean line and +-sd band\n"
            "  accuracy-vs-params.png/svg   final test accuracy against parameters\n"
            "  throughput.png/svg           training images/s per group (when the\n"
            "                               table's columns include img_per_s)\n"
            "With DIR/evals.csv (the config had eval.sizes), also:\n"
            "  table-sizes.md, .tex  test accuracy at each evaluation size, one row per\n"
            "                        method and group (the seeds merged), n/a where the\n"
            "                        network cannot take the size, with the reason\n"
            "  accuracy-vs-size-METHOD.png/svg   test accuracy against input size\n"
            "The markdown tables are also printed.\n"
            "\n"
            "Options:\n"
            "  -f, --format md|tex|all  which tables to write (default all; tex prints LaTeX)\n"
            "  -o, --out DIR2      write into DIR2 instead of DIR\n"
            "  -c, --config FILE   take the table section from FILE (an experiment config)\n"
            "                      instead of DIR/config.yaml\n"
            "  -n, --no-charts     tables only\n"
            "  -h, --help          show this help\n"
            "\n"
            "Config (the experiment config's table: section; changing it does not change\n"
            "run ids):\n"
            "  group_by: [model.head]   runs.csv columns a row shares\n"
            "  columns: [n, final_test_acc, best_test_acc, gap, params, flops, memory,\n"
            "            epoch_s, img_per_s, peak_rss]   (default: all, in this order)\n"
            "  sort: none | a column    descending: true    precision: 2 (accuracy decimals)\n"
            "Exit status: 0 written, 1 an error, 2 bad command line.\n");
}

static const char *const format_names[] = { "md", "tex", "all", NULL };

static const gpx_option table_option_list[] = {
    { "-f", "--format", "md, tex or all", format_names,
      .offset = offsetof(table_options, format) },
    { "-o", "--out", "a directory", NULL, .offset = offsetof(table_options, out) },
    { "-c", "--config", "a config file", NULL, .offset = offsetof(table_options, config) },
    { "-n", "--no-charts", NULL, NULL, .offset = offsetof(table_options, no_charts) },
};

static const gpx_command_line table_command_line = {
    "gpool table", usage, 1, table_option_list,
    sizeof table_option_list / sizeof *table_option_list,
    .operand_name = "DIR", .operand_offset = offsetof(table_options, dir),
    .operand_example = "results/heads",
};

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, table_options *o)
{
    memset(o, 0, sizeof *o);
    return gpx_parse_command_line(&table_command_line, argc, argv, o);
}

/* Which tables -f asks for. */
static int wants_markdown(const table_options *o)
{
    return !o->format || strcmp(o->format, "tex");
}

static int wants_latex(const table_options *o)
{
    return !o->format || strcmp(o->format, "md");
}

/* ============================================================= input */

/* The config's table section, or the defaults when there is no config. */
static int load_settings(table_job *j, const table_options *o, ycfg **cfg)
{
    char path[4096], err[ERR_LEN];
    gpx_table_default_settings(&j->t.set);
    *cfg = NULL;
    if (o->config)
        snprintf(path, sizeof path, "%s", o->config);
    else if (gpx_join(path, sizeof path, o->dir, "config.yaml"))
        return gpx_complain(j->prog, "%s: path too long", o->dir);
    if (!o->config && access(path, F_OK) != 0)
        return 0;
    *cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!*cfg)
        return gpx_complain(j->prog, "%s", err);
    if (gpx_table_settings_from_config(*cfg, &j->t.set, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    snprintf(j->t.name, sizeof j->t.name, "%s", ycfg_name(*cfg));
    return 0;
}

static int load_csvs(table_job *j, const char *dir)
{
    char path[4096], err[ERR_LEN];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return gpx_complain(j->prog, "%s: %s", dir, stat(dir, &st) ? strerror(errno) : "not a directory");
    if (gpx_ids_check_current(dir, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    gpx_join(path, sizeof path, dir, "runs.csv");
    if (access(path, F_OK) != 0)
        return gpx_complain(j->prog, "%s: no runs.csv (write one with gpool run CONFIG --out %s)", dir, dir);
    if (gpx_table_load(&j->t, dir, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    return 0;
}

/* The experiment of the first run, else DIR's last part. */
static void name_experiment(table_job *j, const char *dir)
{
    const gpx_csv *runs = &j->t.runs;
    if (j->t.name[0])
        return;
    if (runs->nrows && runs->rows[0].field[j->t.rc[GPX_RUNS_EXPERIMENT]][0]) {
        snprintf(j->t.name, sizeof j->t.name, "%s",
                 runs->rows[0].field[j->t.rc[GPX_RUNS_EXPERIMENT]]);
        return;
    }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", dir);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
    snprintf(j->t.name, sizeof j->t.name, "%s", base);
}

/* ============================================================ output */

/* OUT/NAME, written whole or not at all. */
static int write_out(const table_job *j, const char *name, gpx_table_writer write,
                     const gpx_markup *m)
{
    char path[4096], err[ERR_LEN];
    gpx_atomic_file f;
    if (gpx_join(path, sizeof path, j->out_dir, name))
        return gpx_complain(j->prog, "%s/%s: path too long", j->out_dir, name);
    if (gpx_atomic_open(&f, path, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    write(f.fp, &j->t, m);
    if (gpx_atomic_commit(&f, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    return 0;
}

/* NAME.md and NAME.tex, as -f asks. */
static int write_both(const table_job *j, const table_options *o, const char *name,
                      gpx_table_writer write)
{
    char file[64];
    snprintf(file, sizeof file, "%s.md", name);
    if (wants_markdown(o) && write_out(j, file, write, &gpx_markdown))
        return -1;
    snprintf(file, sizeof file, "%s.tex", name);
    return wants_latex(o) ? write_out(j, file, write, &gpx_latex) : 0;
}

static int write_all_outputs(table_job *j, const table_options *o)
{
    char err[ERR_LEN];
    const gpx_markup *printed = wants_markdown(o) ? &gpx_markdown : &gpx_latex;
    if (gpx_mkdir_p(j->out_dir, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    if (write_both(j, o, "table", gpx_write_runs_table))
        return -1;
    if (j->t.study && !gpx_size_study_has_rows(j->t.study)) {
        fprintf(stderr, "%s: %s has no rows of runs that finished ok: size table and "
                        "charts skipped\n", j->prog, j->t.evals.path);
        gpx_size_study_free(j->t.study);
        j->t.study = NULL;
    }
    if (j->t.study && write_both(j, o, "table-sizes", gpx_write_size_table))
        return -1;
    if (!o->no_charts &&
        gpx_table_charts(&j->t, j->out_dir, j->prog, stderr, err, sizeof err))
        return gpx_complain(j->prog, "%s", err);
    gpx_write_runs_table(stdout, &j->t, printed);
    if (j->t.study) {
        fputc('\n', stdout);
        gpx_write_size_table(stdout, &j->t, printed);
    }
    return fflush(stdout) ? gpx_complain(j->prog, "stdout: %s", strerror(errno)) : 0;
}

int gpx_cmd_table(int argc, char **argv)
{
    table_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    table_job j;
    memset(&j, 0, sizeof j);
    j.prog = "gpool table";
    snprintf(j.out_dir, sizeof j.out_dir, "%s", o.out ? o.out : o.dir);
    ycfg *cfg = NULL;
    char err[ERR_LEN];
    rc = 1;
    if (load_csvs(&j, o.dir) || load_settings(&j, &o, &cfg))
        goto out;
    if (gpx_table_resolve_settings(&j.t, err, sizeof err)) {
        gpx_complain(j.prog, "%s", err);
        goto out;
    }
    name_experiment(&j, o.dir);
    if (gpx_table_group(&j.t, err, sizeof err) || gpx_size_study_build(&j.t, err, sizeof err)) {
        gpx_complain(j.prog, "%s", err);
        goto out;
    }
    rc = write_all_outputs(&j, &o) ? 1 : 0;
out:
    gpx_table_free(&j.t);
    ycfg_free(cfg);
    return rc;
}
