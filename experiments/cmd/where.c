/*
 * where.c - `gpool where RESULTS_DIR`: the localization study's measures
 * (core/where.h) of every run of a results directory, from the weights the
 * runs kept, into RESULTS_DIR/where.csv.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/schema.h"
#include "core/where.h"
#include "records/results.h"
#include "util/util.h"

#define WHERE_CMD "gpool where"

static void where_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool where [OPTIONS] RESULTS_DIR\n"
            "\n"
            "How well each run's maps find the item, for a results directory whose\n"
            "config places its images on a larger canvas (data.canvas) and keeps the\n"
            "weights (train.keep_weights: true), as configs/where.yaml does. For every run\n"
            "that ended ok, and every map its head has (score, cam, attention, gradcam:\n"
            "see gpool cam --help), over the whole test set, each map of the true class:\n"
            "  pointing         the fraction whose maximum lies inside the item's box (a\n"
            "                   map whose maximum is <= 0 is a miss)\n"
            "  iou              the mean IoU of the item's box and the box around the\n"
            "                   largest connected region above 20%% of the map's maximum\n"
            "  centre_pointing  the fraction whose box holds the canvas centre (the\n"
            "                   baseline that always points there)\n"
            "  margin           pointing less centre_pointing\n"
            "and test_acc, the run's accuracy on the same images. One row per run and\n"
            "method goes to RESULTS_DIR/where.csv, written whole at the end.\n"
            "\n"
            "Options:\n"
            "  -b, --batch N   images per pass (default 250)\n"
            "  -q, --quiet     no line per run\n"
            "  -h, --help      show this help\n"
            "Exit status: 0 written, 1 an error (a run without kept weights, a config\n"
            "without a canvas), 2 bad command line.\n");
}

typedef struct {
    int         batch, quiet;
    const char *dir;
} where_options;

static const gpx_option where_option_list[] = {
    GPX_INT_OPTION("--batch", where_options, batch, 1, 65536),
    { "-q", "--quiet", .offset = offsetof(where_options, quiet) },
};

static const gpx_command_line where_command_line = {
    WHERE_CMD, where_usage, 0, where_option_list,
    sizeof where_option_list / sizeof *where_option_list,
    .operand_name = "RESULTS_DIR", .operand_offset = offsetof(where_options, dir),
    .operands = 1, .operand_example = "results/where",
};

/* What the command holds: the experiment's config (its swept paths head
 * the file), runs.csv, and the rows written so far. */
typedef struct {
    const where_options *o;
    ycfg                *cfg;
    gpx_csv              runs;
    int                  col[GPX_RUNS_NCOLUMNS];
    char                *rows;
    size_t               rows_len;
    FILE                *rows_fp;
} where_job;

static void write_row(where_job *j, const char *id, const gpx_trained_run *r,
                      const gpx_where_row *w)
{
    gpx_row row;
    gpx_row_begin(&row, j->rows_fp, &gpx_where_file, j->cfg);
    gpx_row_text(&row, id);
    gpx_row_swept(&row, r->pt);
    gpx_row_text(&row, r->model.head);
    gpx_row_int(&row, ycfg_int(r->pt, "train.seed"));
    gpx_row_text(&row, gpx_cam_method_name(w->method));
    gpx_row_int(&row, w->images);
    gpx_row_real(&row, w->test_acc);
    gpx_row_real(&row, w->pointing);
    gpx_row_real(&row, w->iou);
    gpx_row_real(&row, w->centre);
    gpx_row_real(&row, w->pointing - w->centre);
    gpx_row_end(&row);
}

/* Run id's rows. 0, or -1 (said). */
static int measure_run(where_job *j, const char *id, size_t k)
{
    char run_dir[4200], err[8400];
    gpx_trained_run r;
    gpx_where_row rows[GPX_CAM_NMETHODS];
    snprintf(run_dir, sizeof run_dir, "%s/runs/%s", j->o->dir, id);
    if (gpx_trained_run_load(run_dir, j->o->batch, 0, &r, err, sizeof err))
        return gpx_complain(WHERE_CMD, "run %s: %s", id, err);
    int n = gpx_where_evaluate(r.net, &r.model, &r.data.test, j->o->batch, rows, err,
                               sizeof err);
    if (n < 0) {
        gpx_trained_run_free(&r);
        return gpx_complain(WHERE_CMD, "run %s: %s", id, err);
    }
    for (int m = 0; m < n; m++) {
        write_row(j, id, &r, &rows[m]);
        if (!j->o->quiet)
            fprintf(stderr, "[%zu/%zu] %s %-14s %-9s pointing %.4f  iou %.4f  centre %.4f\n",
                    k + 1, j->runs.nrows, id, r.model.head, gpx_cam_method_name(rows[m].method),
                    rows[m].pointing, rows[m].iou, rows[m].centre);
    }
    gpx_trained_run_free(&r);
    return 0;
}

static void write_where(FILE *fp, const void *ctx)
{
    const where_job *j = ctx;
    gpx_record_header(fp, &gpx_where_file, j->cfg);
    fwrite(j->rows, 1, j->rows_len, fp);
}

/* The experiment's config and runs.csv. 0, or -1 (said). */
static int load_dir(where_job *j)
{
    char path[4200], err[8400];
    snprintf(path, sizeof path, "%s/config.yaml", j->o->dir);
    j->cfg = ycfg_load(path, gpx_run_schema(), err, sizeof err);
    if (!j->cfg)
        return gpx_complain(WHERE_CMD, "%s", err);
    const int need[] = { GPX_RUNS_RUN_ID, GPX_RUNS_STATUS };
    snprintf(path, sizeof path, "%s/runs.csv", j->o->dir);
    if (gpx_record_load(&j->runs, path, &gpx_runs_file, need, 2, j->col, NULL, err, sizeof err))
        return gpx_complain(WHERE_CMD, "%s", err);
    return 0;
}

static int where_run(const where_options *o)
{
    where_job j = { .o = o };
    char err[8400];
    int rc = load_dir(&j);
    j.rows_fp = rc ? NULL : open_memstream(&j.rows, &j.rows_len);
    if (!rc && !j.rows_fp)
        rc = gpx_complain(WHERE_CMD, "out of memory");
    for (size_t k = 0; !rc && k < j.runs.nrows; k++) {
        const char *id = gpx_csv_field(&j.runs, k, j.col[GPX_RUNS_RUN_ID]);
        if (strcmp(gpx_csv_field(&j.runs, k, j.col[GPX_RUNS_STATUS]), "ok")) {
            fprintf(stderr, "%s: run %s did not end ok: left out\n", WHERE_CMD, id);
            continue;
        }
        rc = measure_run(&j, id, k);
    }
    if (j.rows_fp)
        fclose(j.rows_fp);
    if (!rc && gpx_write_file(o->dir, "where.csv", write_where, &j, err, sizeof err))
        rc = gpx_complain(WHERE_CMD, "%s", err);
    if (!rc)
        printf("%s/where.csv\n", o->dir);
    free(j.rows);
    gpx_csv_free(&j.runs);
    ycfg_free(j.cfg);
    return rc ? 1 : 0;
}

int gpx_cmd_where(int argc, char **argv)
{
    where_options o = { .batch = 250 };
    int rc = gpx_parse_command_line(&where_command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    return where_run(&o);
}
