/*
 * sweep_write.c - the files of an experiment's results directory (see
 * sweep.h), each written whole into place (util.h's atomic files).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records/chart.h"
#include "records/ids.h"
#include "records/manifest.h"
#include "records/results.h"
#include "records/run_rows.h"
#include "records/sweep.h"
#include "util/sha256.h"
#include "util/util.h"

/* Every finished run: this sweep's so far, in config order, then the prior
 * runs (--resume) it has not reached yet. The files rewritten after each
 * run list them all, so that none of the prior runs drops out of runs.csv
 * while the sweep re-runs an earlier point. */
static const gpx_sweep_run *next_run(const gpx_sweep *sw, size_t *it)
{
    while (*it < sw->nruns + sw->nprior) {
        size_t i = (*it)++;
        if (i < sw->nruns)
            return &sw->runs[i];
        if (sw->prior[i - sw->nruns].run.id)
            return &sw->prior[i - sw->nruns];
    }
    return NULL;
}

/* A run as records/run_rows.h writes it. */
static gpx_run_rows rows_of(const gpx_sweep_run *s)
{
    const gpx_run_outcome *r = &s->run;
    gpx_run_rows v = { r->id,      r->pt,      r->have_built ? &r->built : NULL,
                       &r->result, r->epochs,  r->nepochs,
                       r->evals,   r->nevals,  r->peak_rss_mib,
                       r->status,  r->reason };
    return v;
}

/* A results table of the sweep: its file and how a run's rows are written. */
typedef struct {
    const gpx_sweep       *sw;
    const gpx_record_file *file;
    void (*write_rows)(FILE *fp, const ycfg *cfg, const gpx_run_rows *r);
} table_job;

/* A kept run's lines of the table t is writing. */
static const char *kept_lines(const table_job *t, const gpx_sweep_run *r)
{
    const char *lines = t->file == &gpx_runs_file     ? r->raw_run
                        : t->file == &gpx_epochs_file ? r->raw_epochs
                                                      : r->raw_evals;
    return lines ? lines : "";
}

static void write_table(FILE *fp, const void *ctx)
{
    const table_job *t = ctx;
    gpx_record_header(fp, t->file, t->sw->cfg);
    size_t it = 0;
    for (const gpx_sweep_run *r; (r = next_run(t->sw, &it)) != NULL;) {
        gpx_run_rows v = rows_of(r);
        if (r->raw_run)
            fputs(kept_lines(t, r), fp);
        else
            t->write_rows(fp, t->sw->cfg, &v);
    }
}

static void write_config_yaml(FILE *fp, const void *ctx)
{
    const gpx_sweep *sw = ctx;
    ycfg_write_resolved(sw->cfg, fp);
}

/* A run kept from an earlier invocation was not built by this process: its
 * variant is the one its runs.csv row recorded. */
static const char *run_variant(const gpx_sweep_run *r)
{
    if (r->run.have_built)
        return r->run.built.variant;
    return r->raw_variant[0] ? r->raw_variant : "none";
}

static void write_manifest(FILE *fp, const void *ctx)
{
    const gpx_sweep *sw = ctx;
    gpx_manifest m = { "gpool run manifest: what ran, where, on which data",
                       sw->argc, sw->argv, sw->cfg, NULL, NULL, sw->started, NULL };
    gpx_manifest_write(fp, &m);
    gpx_ids_write(fp, sw->cfg);
    if (sw->have_data)
        gpx_manifest_data(fp, &sw->data);
    if (sw->nmerged) {
        fputs("merged_from:\n", fp);
        for (int i = 0; i < sw->nmerged; i++) {
            fputs("  - ", fp);
            gpx_yaml_string(fp, sw->merged_from[i]);
            fputc('\n', fp);
        }
    }
    fprintf(fp, "points: %zu\nruns:\n", ycfg_npoints(sw->cfg));
    size_t it = 0;
    for (const gpx_sweep_run *r; (r = next_run(sw, &it)) != NULL;) {
        fprintf(fp, "  - {run_id: %s, head: %s, seed: %lld, status: %s, variant: %s}\n",
                r->run.id, ycfg_str(r->run.pt, "model.head"), ycfg_int(r->run.pt, "train.seed"),
                r->run.status, run_variant(r));
    }
}

typedef struct {
    const gpx_sweep     *sw;
    const gpx_sweep_run *run;
    const char          *config_sha;
} run_manifest_ctx;

/* One run's manifest: its own resolved config (runs/<id>/config.yaml, which
 * `gpool rerun` loads), seed, what it ran on and how it ended. */
static void write_run_manifest(FILE *fp, const void *ctx)
{
    const run_manifest_ctx *c = ctx;
    const gpx_run_outcome *r = &c->run->run;
    gpx_manifest m = { "gpool run manifest of one run (gpool rerun DIR RUN_ID runs it again)",
                       c->sw->argc, c->sw->argv, c->sw->cfg, "config.yaml", c->config_sha,
                       r->started, r->finished };
    gpx_manifest_write(fp, &m);
    fprintf(fp, "run_id: %s\nhead: %s\nseed: %lld\nthreads: %d\nvariant: %s\nstatus: %s\n", r->id,
            ycfg_str(r->pt, "model.head"), ycfg_int(r->pt, "train.seed"),
            r->have_built ? r->built.threads : 0, run_variant(c->run), r->status);
    gpx_manifest_string(fp, "reason", r->reason);
    fprintf(fp, "exit: %s\n", r->exit_text);
    if (r->have_data)
        gpx_manifest_data(fp, &r->data);
}

static int write_file_at(const gpx_sweep *sw, const char *path,
                         void (*body)(FILE *, const void *), const void *ctx)
{
    char err[512];
    gpx_atomic_file f;
    if (gpx_atomic_open(&f, path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", sw->opt.cmd, err);
        return -1;
    }
    body(f.fp, ctx);
    if (gpx_atomic_commit(&f, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", sw->opt.cmd, err);
        return -1;
    }
    return 0;
}

static void write_text(FILE *fp, const void *ctx)
{
    fputs((const char *)ctx, fp);
    fputc('\n', fp);
}

/* sha256 of text and a newline, as write_text writes it. */
static void text_sha256(const char *text, char sha[65])
{
    char *with_newline = malloc(strlen(text) + 2);
    if (!with_newline) {
        snprintf(sha, 65, "unknown");
        return;
    }
    sprintf(with_newline, "%s\n", text);
    gpx_sha256_buffer(with_newline, strlen(with_newline), sha);
    free(with_newline);
}

/* runs/<id>/config.yaml (the point's resolved config, one flow mapping that
 * loads to the same run id) and runs/<id>/manifest.yaml. */
int gpx_sweep_write_run_files(const gpx_sweep *sw, const gpx_sweep_run *run)
{
    char dir[4096], path[4200], err[512], sha[65];
    snprintf(dir, sizeof dir, "%s/runs/%s", sw->out_dir, run->run.id);
    if (gpx_mkdir_p(dir, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", sw->opt.cmd, err);
        return -1;
    }
    char *text = ycfg_value_text(ycfg_point_root(run->run.pt));
    if (!text)
        return -1;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    int rc = write_file_at(sw, path, write_text, text);
    text_sha256(text, sha);
    free(text);
    run_manifest_ctx ctx = { sw, run, sha };
    snprintf(path, sizeof path, "%s/manifest.yaml", dir);
    return rc || write_file_at(sw, path, write_run_manifest, &ctx) ? -1 : 0;
}

static int write_out(const gpx_sweep *sw, const char *name, void (*body)(FILE *, const void *),
                     const void *ctx)
{
    char path[4096];
    if (gpx_join(path, sizeof path, sw->out_dir, name)) {
        fprintf(stderr, "%s: %s/%s: path too long\n", sw->opt.cmd, sw->out_dir, name);
        return -1;
    }
    return write_file_at(sw, path, body, ctx);
}

int gpx_sweep_write_config(const gpx_sweep *sw)
{
    return write_out(sw, "config.yaml", write_config_yaml, sw);
}

static int sweep_has_evals(const gpx_sweep *sw)
{
    return ycfg_get(ycfg_point_at(sw->cfg, 0), "eval.sizes")->n > 0;
}

int gpx_sweep_write_tables(const gpx_sweep *sw)
{
    const table_job tables[] = { { sw, &gpx_runs_file, gpx_write_run_row },
                                 { sw, &gpx_epochs_file, gpx_write_epoch_rows },
                                 { sw, &gpx_evals_file, gpx_write_eval_rows } };
    int bad = 0;
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++)
        if (tables[k].file != &gpx_evals_file || sweep_has_evals(sw))
            bad |= write_out(sw, tables[k].file->name, write_table, &tables[k]);
    bad |= write_out(sw, "manifest.yaml", write_manifest, sw);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------- the chart */

/* accuracy.dat: one block per run (two blank lines apart), epoch and test accuracy. */
static void write_chart_data(FILE *fp, const void *ctx)
{
    const gpx_sweep *sw = ctx;
    for (size_t i = 0; i < sw->nruns; i++) {
        const gpx_run_outcome *r = &sw->runs[i].run;
        fprintf(fp, "# run %s\n", r->id);
        for (int e = 0; e < r->nepochs; e++)
            if (isfinite(r->epochs[e].test_acc))
                fprintf(fp, "%d %.5f\n", r->epochs[e].epoch, 100 * r->epochs[e].test_acc);
        fputs("\n\n", fp);
    }
}

void gpx_sweep_run_title(const gpx_sweep *sw, const gpx_sweep_run *r, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < ycfg_nswept(sw->cfg) && o + 1 < len; k++) {
        const char *path = ycfg_swept_path(sw->cfg, k);
        const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
        char *text = ycfg_value_text(ycfg_get(r->run.pt, path));
        o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", o ? " " : "",
                              strcmp(leaf, "head") ? leaf : "", strcmp(leaf, "head") ? "=" : "",
                              text ? text : "?");
        free(text);
    }
    if (!buf[0])
        snprintf(buf, len, "%s", ycfg_str(r->run.pt, "model.head"));
}

static void write_chart_script(FILE *fp, const void *ctx)
{
    const gpx_sweep *sw = ctx;
    char quoted[512], title[256];
    gpx_gnuplot_quote(quoted, sizeof quoted, ycfg_name(sw->cfg));
    fprintf(fp,
            "# test accuracy per epoch, one line per run (written by gpool run)\n"
            "set title sprintf('%%s: test accuracy per epoch', %s) noenhanced\n"
            "set xlabel 'epoch'\nset ylabel 'test accuracy (%%)'\n"
            "set key outside right top noenhanced\nset grid\nset xrange [0:*]\nset yrange [0:100]\n",
            quoted);
    fputs("titles = \"", fp);
    for (size_t i = 0; i < sw->nruns; i++) {
        gpx_sweep_run_title(sw, &sw->runs[i], title, sizeof title);
        for (char *c = title; *c; c++)
            if (*c == ' ' || *c == '"')
                *c = '_';
        fprintf(fp, "%s%s", i ? " " : "", title);
    }
    fprintf(fp, "\"\n"
                "do for [fmt in 'png svg'] {\n"
                "  if (fmt eq 'png') { set terminal pngcairo size 1100,650 } "
                "else { set terminal svg size 1100,650 dynamic }\n"
                "  set output outbase.'.'.fmt\n"
                "  plot for [i=0:%zu] datafile index i using 1:2 with linespoints pt 7 ps 0.5 "
                "title word(titles, i+1)\n"
                "  unset output\n"
                "}\n",
                sw->nruns ? sw->nruns - 1 : 0);
}

/* Charts go through records/chart.h: published whole or not at all; a
 * missing gnuplot skips them with a note. 0 ok or skipped, -1 failed. */
int gpx_sweep_write_chart(const gpx_sweep *sw)
{
    char err[1024];
    int finished = 0;
    for (size_t i = 0; i < sw->nruns; i++)
        finished += sw->runs[i].run.nepochs > 0;
    if (!finished)
        return 0;
    gpx_chart chart = { sw->out_dir, "accuracy", NULL, write_chart_data, write_chart_script,
                        NULL, NULL, sw };
    int r = gpx_chart_publish(&chart, err, sizeof err);
    if (r)
        fprintf(stderr, "%s: %s%s\n", sw->opt.cmd, err, r > 0 ? ": chart skipped" : "");
    return r < 0 ? -1 : 0;
}
