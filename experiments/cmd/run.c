/*
 * run.c - `gpool run CONFIG`: train every point of an experiment's sweep
 * into results/<name>/ (records/sweep.h writes the directory, each run
 * trains in a process of its own: core/runner.h).
 */
#include "autoconfig.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/check.h"
#include "core/runner.h"
#include "core/schema.h"
#include "records/sweep.h"
#include "util/util.h"

#define RUN_CMD "gpool run"

typedef struct {
    const char       *config;
    const char       *shard;   /* --shard as given; decoded into sweep.shard_k/n */
    int               list;
    int               check;
    gpx_sweep_options sweep;
} run_options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool run [OPTIONS] CONFIG\n"
            "\n"
            "Train every point of CONFIG's sweep and write results/<name>/:\n"
            "  runs.csv      one row per run: run_id, swept values, head, seed, params,\n"
            "                FLOPs, analytic training memory (bytes), final train/val/test\n"
            "                accuracy, best test accuracy and its epoch (chosen on the\n"
            "                validation split when there is one), train time, images/s,\n"
            "                peak RSS, status (ok, diverged, failed, interrupted), reason\n"
            "  epochs.csv    one row per run and epoch\n"
            "  accuracy.png, accuracy.svg   test accuracy per epoch per run\n"
            "  config.yaml   the resolved config (defaults marked)\n"
            "  manifest.yaml what ran where: versions, CPU, data files and their sha256\n"
            "  runs/<id>/checkpoint/        weights + optimizer state as .npy files\n"
            "  gpool.lock    locked while a command writes the directory: a second one\n"
            "                fails, naming it; `gpool status DIR` shows how far it is\n"
            "\n"
            "Options:\n"
            "  -o, --out DIR   write there instead of results/<name>\n"
            "  -f, --force     overwrite an existing runs.csv\n"
            "  -r, --resume    keep the finished runs (ok or diverged) of an existing\n"
            "                  runs.csv, matched by run id, and run the rest; a run that\n"
            "                  was cut short goes on from its last epoch checkpoint\n"
            "      --restart RUN_ID  with --resume: train that run again from scratch,\n"
            "                  discarding its checkpoint and epochs (a checkpoint that\n"
            "                  fails its checksums, a diverged or truncated run)\n"
            "  -s, --shard K/N run only the points i (from 0) with i %% N == K - 1, into\n"
            "                  results/<name>/shard-K-of-N unless --out says otherwise;\n"
            "                  `gpool merge` joins the shards' outputs\n"
            "  -l, --list      print the points of the sweep and exit\n"
            "      --check     check every point and exit, training nothing and writing\n"
            "                  nothing: the data loads, and each network builds at its\n"
            "                  training size and reshapes to every eval.sizes entry\n"
            "                  (one it cannot take is reported n/a, as evals.csv will\n"
            "                  say); every error is listed with file:line:column. A run\n"
            "                  makes the same checks before its first point\n"
            "  -q, --quiet     no build log and no progress line\n"
            "  -h, --help      show this help\n"
            "\n"
            "Heads (model.head): gap gmp gem lse mixed avgmax topk attn (1x1 conv to the\n"
            "classes, then the pooling op), <op>_dense for gap gmp gem lse mixed avgmax\n"
            "catavgmax topk spp attn simpool (pooling, then dense), flatten_dense,\n"
            "flatten_mlp (flatten, dense to model.head_hidden, ReLU, dropout of\n"
            "model.head_dropout, dense); topk and spp take model.topk and model.spp, attn,\n"
            "attn_dense and simpool_dense model.heads (their attention heads). Each run runs\n"
            "in its own process; a diverged run (NaN or inf loss) is recorded and the sweep\n"
            "goes on.\n"
            "SIGINT or SIGTERM stops the current run, records it as interrupted and exits.\n"
            "Exit status: 0 all runs finished (ok or diverged), 1 a run failed or an error,\n"
            "2 bad command line or config, 130 interrupted.\n"
            "Testing: GPOOL_FAULT=run:R:epoch:E kills the sweep (SIGKILL) right after\n"
            "epoch E of point R (from 0) is saved; GPOOL_FAULT=after-run:R once run R is\n"
            "recorded.\n");
}

/* --shard K/N: 1 <= K <= N, into the sweep options. */
static int accept_shard(const char *value, void *opts)
{
    run_options *o = opts;
    const char *slash = strchr(value, '/');
    char k_text[16];
    size_t k_len = slash ? (size_t)(slash - value) : 0;
    if (!slash || k_len >= sizeof k_text)
        return 1;
    memcpy(k_text, value, k_len);
    k_text[k_len] = '\0';
    int *k = &o->sweep.shard_k, *n = &o->sweep.shard_n;
    return gpx_parse_int(k_text, 1, INT_MAX, k) || gpx_parse_int(slash + 1, 1, INT_MAX, n)
        || *k > *n;
}

static const gpx_option run_option_list[] = {
    { "-o", "--out", "a directory", .offset = offsetof(run_options, sweep.out_dir) },
    { "-f", "--force", .offset = offsetof(run_options, sweep.force) },
    { "-r", "--resume", .offset = offsetof(run_options, sweep.resume) },
    { NULL, "--restart", "a run id of the config (gpool run --list)",
      .offset = offsetof(run_options, sweep.restart_id) },
    { "-s", "--shard", "K/N with 1 <= K <= N, such as 2/3",
      .offset = offsetof(run_options, shard), .accept = accept_shard },
    { "-l", "--list", .offset = offsetof(run_options, list) },
    { NULL, "--check", .offset = offsetof(run_options, check) },
    { "-q", "--quiet", .offset = offsetof(run_options, sweep.quiet) },
};

static const gpx_command_line run_command_line = {
    RUN_CMD, usage, 0, run_option_list, sizeof run_option_list / sizeof *run_option_list,
    .operand_name = "CONFIG", .operand_offset = offsetof(run_options, config),
    .operand_example = "configs/tutorial.yaml",
};

/* 0 ok, 1 help printed, 2 error printed. */
static int parse_options(int argc, char **argv, run_options *o)
{
    memset(o, 0, sizeof *o);
    int rc = gpx_parse_command_line(&run_command_line, argc, argv, o);
    if (!rc && o->sweep.force && o->sweep.resume)
        return gpx_command_line_error(&run_command_line,
                                      "--force and --resume exclude each other");
    if (!rc && o->sweep.restart_id && !o->sweep.resume)
        return gpx_command_line_error(&run_command_line,
                                      "--restart retrains one run of a sweep to resume; "
                                      "it needs --resume");
    return rc;
}

/* Print the points and exit (--list). */
static void list_points(const ycfg *cfg, const gpx_sweep_options *o)
{
    for (size_t i = 0; i < ycfg_npoints(cfg); i++) {
        if (o->shard_n && (int)(i % (size_t)o->shard_n) != o->shard_k - 1)
            continue;
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        printf("%s", ycfg_point_id(pt));
        for (size_t k = 0; k < ycfg_nswept(cfg); k++) {
            char *text = ycfg_value_text(ycfg_get(pt, ycfg_swept_path(cfg, k)));
            printf("  %s=%s", ycfg_swept_path(cfg, k), text ? text : "?");
            free(text);
        }
        putchar('\n');
    }
}

static void log_defaults(const ycfg *cfg)
{
    size_t n = ycfg_ndefaults(cfg);
    if (!n)
        return;
    fprintf(stderr, "defaults used:");
    for (size_t k = 0; k < n; k++)
        fprintf(stderr, "%s %s=%s", k ? "," : "", ycfg_default_path(cfg, k),
                ycfg_default_text(cfg, k));
    fputc('\n', stderr);
}

/* --check: every point of o's shard checked, a line per point and size; the exit status. */
static int check_points(const ycfg *cfg, const run_options *o)
{
    gpx_check_opts co = { o->sweep.shard_k, o->sweep.shard_n, stdout };
    int errors = gpx_check_sweep(cfg, &co);
    printf("gpool run: --check: %s: %d error%s; nothing trained, nothing written\n",
           ycfg_path(cfg), errors, errors == 1 ? "" : "s");
    return errors ? 1 : 0;
}

/* The sweep of cfg run into its directory, under o; the exit status. The
 * points are checked first (in a process of their own: this one must not
 * enter OpenMP before the runs fork), so that a sweep does not fail the
 * same way at every point. */
static int run_experiment(const ycfg *cfg, const run_options *o, int argc, char **argv)
{
    gpx_check_opts co = { o->sweep.shard_k, o->sweep.shard_n, NULL };
    if (gpx_check_sweep_apart(cfg, &co)) {
        fprintf(stderr, "gpool run: %s: nothing was run (gpool run --check lists the checks)\n",
                ycfg_path(cfg));
        return 1;
    }
    gpx_sweep sw;
    if (gpx_sweep_init(&sw, &o->sweep, cfg, argc, argv))
        return 1;
    if (gpx_sweep_prepare(&sw) || gpx_sweep_write_config(&sw)) {
        gpx_sweep_free(&sw);
        return 1;
    }
    if (!o->sweep.quiet)
        log_defaults(cfg);
    gpx_progress_enable(!o->sweep.quiet);
    size_t n = ycfg_npoints(cfg);
    int k = o->sweep.shard_k, shards = o->sweep.shard_n;
    if (shards)
        printf("gpool run: %s: shard %d/%d: %zu of %zu runs -> %s\n", ycfg_name(cfg), k, shards,
               (n + (size_t)(shards - k)) / (size_t)shards, n, sw.out_dir);
    else
        printf("gpool run: %s: %zu runs -> %s\n", ycfg_name(cfg), n, sw.out_dir);
    gpx_runner_catch_signals(1);
    int rc = gpx_sweep_train(&sw);
    gpx_runner_catch_signals(0);
    gpx_sweep_free(&sw);
    return rc;
}

/* 1 when id is the run id of one of cfg's points. */
static int find_point(const ycfg *cfg, const char *id)
{
    for (size_t i = 0; i < ycfg_npoints(cfg); i++)
        if (!strcmp(ycfg_point_id(ycfg_point_at(cfg, i)), id))
            return 1;
    return 0;
}

int gpx_cmd_run(int argc, char **argv)
{
    run_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[1024];
    ycfg *cfg = ycfg_load(o.config, gpx_run_schema(), err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "gpool run: %s\n", err);
        return 2;
    }
    if (o.sweep.restart_id && !find_point(cfg, o.sweep.restart_id)) {
        fprintf(stderr, "gpool run: --restart %s: no run of that id in %s (gpool run --list "
                "%s shows them)\n", o.sweep.restart_id, o.config, o.config);
        ycfg_free(cfg);
        return 2;
    }
    rc = o.list    ? (list_points(cfg, &o.sweep), 0)
         : o.check ? check_points(cfg, &o)
                   : run_experiment(cfg, &o, argc, argv);
    ycfg_free(cfg);
    return rc;
}
