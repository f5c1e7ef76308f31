/*
 * sweep.c - the points of an experiment trained one by one into its
 * results directory (see sweep.h).
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/point.h"
#include "records/ids.h"
#include "records/lr_search.h"
#include "records/run_rows.h"
#include "records/sweep.h"
#include "records/tfevents.h"
#include "util/util.h"

int gpx_sweep_init(gpx_sweep *sw, const gpx_sweep_options *o, const ycfg *cfg, int argc,
                   char **argv)
{
    memset(sw, 0, sizeof *sw);
    sw->opt = *o;
    if (!sw->opt.cmd)
        sw->opt.cmd = "gpool run";
    sw->cfg = cfg;
    sw->argc = argc;
    sw->argv = argv;
    sw->lock.fd = -1;
    char err[256];
    if (gpx_runner_check_fault(err, sizeof err)) {
        fprintf(stderr, "gpool: %s\n", err);
        return -1;
    }
    gpx_iso_time(sw->started, sizeof sw->started);
    sw->runs = calloc(ycfg_npoints(cfg), sizeof *sw->runs);
    if (!sw->runs) {
        fprintf(stderr, "gpool: out of memory for %zu runs\n", ycfg_npoints(cfg));
        return -1;
    }
    return 0;
}

static void free_run(gpx_sweep_run *r)
{
    gpx_run_outcome_free(&r->run);
    free(r->raw_run);
    free(r->raw_epochs);
    free(r->raw_evals);
}

void gpx_sweep_free(gpx_sweep *sw)
{
    for (size_t i = 0; i < sw->nruns; i++)
        free_run(&sw->runs[i]);
    for (size_t i = 0; i < sw->nprior; i++)
        free_run(&sw->prior[i]);
    free(sw->prior);
    free(sw->runs);
    sw->runs = sw->prior = NULL;
    sw->nruns = sw->nprior = 0;
    gpx_dir_lock_release(&sw->lock);
}

static void choose_out_dir(gpx_sweep *sw)
{
    const gpx_sweep_options *o = &sw->opt;
    if (o->out_dir)
        snprintf(sw->out_dir, sizeof sw->out_dir, "%s", o->out_dir);
    else if (o->shard_n)
        snprintf(sw->out_dir, sizeof sw->out_dir, "results/%s/shard-%d-of-%d",
                 ycfg_name(sw->cfg), o->shard_k, o->shard_n);
    else
        snprintf(sw->out_dir, sizeof sw->out_dir, "results/%s", ycfg_name(sw->cfg));
}

/* A directory to resume must hold ids of this release, made under the
 * defaults the config relies on now. 0, or -1 (printed). */
static int check_resumable(const gpx_sweep *sw)
{
    char err[8400];
    gpx_id_record rec;
    int rc = gpx_ids_check_current(sw->out_dir, err, sizeof err);
    if (rc == 0 && gpx_ids_read(sw->out_dir, &rec, err, sizeof err) == 0) {
        rc = rec.have_manifest ? gpx_ids_check_defaults(&rec, sw->cfg, sw->out_dir, err,
                                                        sizeof err)
                               : 0;
        gpx_ids_free(&rec);
    } else {
        rc = -1;
    }
    if (rc)
        fprintf(stderr, "%s: --resume: %s\n", sw->opt.cmd, err);
    return rc;
}

/* The output directory made and locked before anything in it is read. 0, or -1 (printed). */
static int make_and_lock(gpx_sweep *sw)
{
    char err[6000];
    if (gpx_mkdir_p(sw->out_dir, err, sizeof err) ||
        gpx_dir_lock_take(&sw->lock, sw->out_dir, sw->argc, sw->argv, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", sw->opt.cmd, err);
        return -1;
    }
    return 0;
}

/* --restart: the run's kept rows are dropped, so it trains again and is
 * written once. 1 when it had rows, else 0. */
static size_t drop_restarted(gpx_sweep *sw)
{
    gpx_sweep_run *prior = sw->opt.restart_id ? gpx_sweep_find_prior(sw, sw->opt.restart_id)
                                              : NULL;
    if (!prior)
        return 0;
    free_run(prior);
    memset(prior, 0, sizeof *prior);   /* no id: neither found nor written */
    return 1;
}

int gpx_sweep_prepare(gpx_sweep *sw)
{
    char runs_csv[4096];
    choose_out_dir(sw);
    if (make_and_lock(sw))
        return -1;
    gpx_join(runs_csv, sizeof runs_csv, sw->out_dir, "runs.csv");
    if (sw->opt.resume && access(runs_csv, F_OK) == 0) {
        if (check_resumable(sw) || gpx_sweep_load_prior(sw, sw->out_dir, 0))
            return -1;
        size_t kept = sw->nprior - drop_restarted(sw);
        printf("gpool run: resuming: %zu finished runs kept from %s\n", kept, runs_csv);
    } else if (!sw->opt.force && access(runs_csv, F_OK) == 0) {
        fprintf(stderr, "%s: %s exists; use %s--force to overwrite it, or --out DIR\n",
                sw->opt.cmd, runs_csv,
                strcmp(sw->opt.cmd, "gpool run") ? "" : "--resume to finish it, ");
        return -1;
    }
    return 0;
}

static void print_run_line(const gpx_sweep *sw, size_t i, const gpx_sweep_run *s)
{
    const gpx_run_outcome *r = &s->run;
    char title[256];
    gpx_progress_clear();
    gpx_sweep_run_title(sw, s, title, sizeof title);
    printf("[%zu/%zu] %s %-28s %-11s", i + 1, ycfg_npoints(sw->cfg), r->id, title, r->status);
    if (r->nepochs) {
        const gpx_epoch_row *last = &r->epochs[r->nepochs - 1];
        printf(" test %.4f (best %.4f @%d)  %d epochs %.1f s  %.0f img/s  %.0f MiB",
               last->test_acc, r->result.best_test_acc, r->result.best_epoch, r->nepochs,
               r->result.train_s, r->result.images_per_s, r->peak_rss_mib);
    }
    if (strcmp(r->status, "ok"))
        printf("  (%s)", r->reason);
    putchar('\n');
    fflush(stdout);
}

/* A model whose text has been printed already is not printed again. */
static int first_of_its_model(const ycfg *cfg, size_t index)
{
    char *mine = ycfg_value_text(ycfg_get(ycfg_point_at(cfg, index), "model"));
    int first = 1;
    for (size_t j = 0; j < index && first; j++) {
        char *other = ycfg_value_text(ycfg_get(ycfg_point_at(cfg, j), "model"));
        first = !(mine && other && !strcmp(mine, other));
        free(other);
    }
    free(mine);
    return first;
}

/* GPOOL_FAULT="after-run:R" kills the sweep (SIGKILL) once run R's rows
 * are written. For tests of --resume. */
static int fault_after_run(size_t index)
{
    const char *f = getenv("GPOOL_FAULT");
    unsigned long run;
    return f && sscanf(f, "after-run:%lu", &run) == 1 && run == index;
}

static int in_shard(const gpx_sweep *sw, size_t i)
{
    return !sw->opt.shard_n || (int)(i % (size_t)sw->opt.shard_n) == sw->opt.shard_k - 1;
}

static int is_restarted(const gpx_sweep *sw, const char *id)
{
    return sw->opt.restart_id && !strcmp(sw->opt.restart_id, id);
}

/* arg for a shell: as it is when plain, else in single quotes. */
static void append_shell_word(char *buf, size_t cap, const char *arg)
{
    size_t n = strlen(buf);
    int plain = arg[0] != '\0' && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                               "0123456789_./=:,+-") == strlen(arg);
    if (plain) {
        snprintf(buf + n, cap - n, " %s", arg);
        return;
    }
    n += (size_t)snprintf(buf + n, cap - n, " '");
    for (const char *c = arg; *c && n < cap; c++)
        n += (size_t)(*c == '\'' ? snprintf(buf + n, cap - n, "'\\''")
                                : snprintf(buf + n, cap - n, "%c", *c));
    if (n < cap)
        snprintf(buf + n, cap - n, "'");
}

/* The command line of this sweep that retrains run id from scratch: the
 * same arguments with --restart id (in place of any --restart given). */
static void restart_command(const gpx_sweep *sw, const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, "gpool %s --restart", sw->argc > 0 ? sw->argv[0] : "run");
    append_shell_word(buf, cap, id);
    for (int i = 1; i < sw->argc; i++) {
        if (!strcmp(sw->argv[i], "--restart")) {
            i++;
            continue;
        }
        if (strncmp(sw->argv[i], "--restart=", 10))
            append_shell_word(buf, cap, sw->argv[i]);
    }
}

/* Train point i into sw->runs[sw->nruns] and write the directory's files. 0, or -1. */
static int run_one(gpx_sweep *sw, size_t i)
{
    gpx_sweep_run *rec = &sw->runs[sw->nruns];
    char run_dir[4096];
    snprintf(run_dir, sizeof run_dir, "%s/runs/%s", sw->out_dir,
             ycfg_point_id(ycfg_point_at(sw->cfg, i)));
    const char *id = ycfg_point_id(ycfg_point_at(sw->cfg, i));
    char restart[8192];
    restart_command(sw, id, restart, sizeof restart);
    gpx_run_job job = { sw->cfg, i, run_dir, sw->opt.resume && !is_restarted(sw, id),
                        !sw->opt.quiet && first_of_its_model(sw->cfg, i), &gpx_progress_csv,
                        restart, NULL, NULL, &gpx_lr_search_csv, sw->out_dir };
    memset(rec, 0, sizeof *rec);
    gpx_dir_lock_note_run(&sw->lock, id);
    gpx_tfevents tf = { .fp = NULL };
    char err[4400];
    if (gpx_run_train_opts(ycfg_point_at(sw->cfg, i)).tensorboard) {
        if (gpx_tfevents_open(&tf, run_dir, err, sizeof err))
            return gpx_complain("gpool run", "TensorBoard events: %s", err);
        job.on_epoch = gpx_tfevents_epoch;
        job.epoch_ctx = &tf;
    }
    int trained = gpx_runner_train(&job, &rec->run);
    int events_failed = gpx_tfevents_close(&tf, err, sizeof err);
    if (events_failed)
        gpx_complain("gpool run", "TensorBoard events: %s", err);
    if (trained)
        return -1;
    sw->nruns++;
    if (!sw->have_data && rec->run.have_data) {
        sw->data = rec->run.data;
        sw->have_data = 1;
    }
    print_run_line(sw, i, rec);
    return gpx_sweep_write_run_files(sw, rec) || gpx_sweep_write_tables(sw) || events_failed ? -1
                                                                                            : 0;
}

/* A resume that trained nothing has rewritten no table: when its config
 * drops points, the tables and manifest are written once so that they
 * leave out the rows of dropped points (a failed or interrupted run) and
 * count the points the config has now. */
static int write_if_dropping(const gpx_sweep *sw, size_t trained)
{
    return sw->opt.resume && !trained && ycfg_ndropped(sw->cfg) ? gpx_sweep_write_tables(sw) : 0;
}

int gpx_sweep_train(gpx_sweep *sw)
{
    size_t n = ycfg_npoints(sw->cfg), trained = 0;
    int failed = 0;
    for (size_t i = 0; i < n && !gpx_runner_interrupted(); i++) {
        if (!in_shard(sw, i))
            continue;
        const char *id = ycfg_point_id(ycfg_point_at(sw->cfg, i));
        gpx_sweep_run *prior = gpx_sweep_find_prior(sw, id);
        if (prior) {
            sw->runs[sw->nruns++] = *prior;
            memset(prior, 0, sizeof *prior);   /* ownership moves to the sweep */
            continue;
        }
        if (run_one(sw, i))
            return 1;
        trained++;
        failed |= !strcmp(sw->runs[sw->nruns - 1].run.status, "failed");
        if (fault_after_run(i))
            raise(SIGKILL);   /* fault injection: kill -9 between two runs */
    }
    if (write_if_dropping(sw, trained) || gpx_sweep_write_chart(sw))
        failed = 1;
    if (gpx_runner_interrupted()) {
        fprintf(stderr, "gpool run: interrupted; %zu of %zu runs recorded in %s\n", sw->nruns, n,
                sw->out_dir);
        return 130;
    }
    return failed;
}
