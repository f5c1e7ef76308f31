/*
 * bench_rows.c - bench.csv and the bench keys of manifest.yaml (see
 * bench_rows.h).
 */
#include "autoconfig.h"

#include "records/bench_rows.h"

#include <string.h>

#include "probe/buffers.h"
#include "probe/probe.h"
#include "records/manifest.h"
#include "records/results.h"

static void write_row(FILE *fp, const gpx_bench_row *r)
{
    const gpx_bench_point *p = r->point;
    const size_t dims[] = { r->shape.n, r->shape.c, r->shape.h, r->shape.w };
    const double timing[] = { r->median_s, r->min_s, r->gbps, r->probe_gbps, r->frac };
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_bench_file, NULL);
    gpx_row_text(&w, p->id);
    gpx_row_text(&w, r->variant);
    gpx_row_text(&w, r->impl);
    gpx_row_text(&w, r->isa);
    gpx_row_int(&w, r->threaded);
    gpx_row_text(&w, gp_pool_op_name(p->op));
    gpx_row_text(&w, gp_pass_name(p->pass));
    gpx_row_text(&w, gp_layout_name(p->layout));
    if (p->op >= GP_POOL_TOPK)
        gpx_row_int(&w, (long long)p->k);
    else
        gpx_row_empty(&w);
    for (size_t k = 0; k < 4; k++)
        gpx_row_int(&w, (long long)dims[k]);
    gpx_row_int(&w, p->threads);
    gpx_row_text(&w, p->cold ? "cold" : "hot");
    gpx_row_int(&w, (long long)r->buffers);
    gpx_row_int(&w, (long long)r->bytes);
    if (r->reps) {
        gpx_row_int(&w, r->reps);
        gpx_row_int(&w, (long long)r->calls);
    } else {
        gpx_row_empty(&w);
        gpx_row_empty(&w);
    }
    for (size_t k = 0; k < sizeof timing / sizeof timing[0]; k++)
        gpx_row_real(&w, timing[k]);
    gpx_row_text(&w, r->probe_set);
    gpx_row_text(&w, r->probe_kernel);
    gpx_row_real(&w, r->cpu_wait);
    if (r->attempts)
        gpx_row_int(&w, r->attempts);
    else
        gpx_row_empty(&w);
    gpx_row_text(&w, r->status);
    gpx_row_text(&w, r->note);
    gpx_row_end(&w);
}

void gpx_bench_write_csv(FILE *fp, const gpx_bench_rows *rows)
{
    gpx_record_header(fp, &gpx_bench_file, NULL);
    for (size_t i = 0; i < rows->count; i++)
        write_row(fp, &rows->rows[i]);
}

/* The distinct thread counts and the points, one line each. */
static void write_points(FILE *fp, const gpx_bench_point *points, size_t npoints)
{
    fputs("threads: [", fp);
    int printed[64], nprinted = 0;
    for (size_t i = 0; i < npoints; i++) {
        int seen = 0;
        for (int k = 0; k < nprinted; k++)
            seen |= printed[k] == points[i].threads;
        if (!seen && nprinted < 64) {
            fprintf(fp, "%s%d", nprinted ? ", " : "", points[i].threads);
            printed[nprinted++] = points[i].threads;
        }
    }
    fputs("]\npoints:\n", fp);
    for (size_t i = 0; i < npoints; i++) {
        const gpx_bench_point *p = &points[i];
        fprintf(fp, "  - {id: \"%s\", op: %s, pass: %s, layout: %s, threads: %d, mode: %s, "
                    "shapes: %zu, variants: %zu}\n",
                p->id, gp_pool_op_name(p->op), gp_pass_name(p->pass), gp_layout_name(p->layout),
                p->threads, p->cold ? "cold" : "hot", p->nshapes, p->nvariants);
    }
}

/* How the rows ended, and what their columns mean. */
static void write_method(FILE *fp, const gpx_bench_run *ri, const gpx_bench_rows *rows)
{
    size_t ok = 0, mismatch = 0, error = 0;
    for (size_t i = 0; i < rows->count; i++) {
        const char *st = rows->rows[i].status;
        ok += !strcmp(st, "ok");
        mismatch += !strcmp(st, "mismatch");
        error += !strcmp(st, "error");
    }
    fprintf(fp, "rows: {planned: %zu, written: %zu, ok: %zu, mismatch: %zu, error: %zu}\n",
            ri->planned, rows->count, ok, mismatch, error);
    fputs("timing: \"a sample is k back-to-back calls lasting >= min_sample_ms after calibration "
          "and warm-up; median_s and min_s are per call over the samples; cold calls rotate "
          "through the buffers call by call\"\n", fp);
    fputs("gbps: \"bytes read + written per call / median_s / 1e9 (fwd: x + y; bwd avg: dy + dx; "
          "bwd max: x + dy + dx)\"\n", fp);
    fprintf(fp, "probe: \"just before each row, the read bandwidth of the row's own buffers "
                "(probe_set: x, or dx for avg backward) with the row's thread count: %d samples "
                "of at least probe_sample_ms each, median, best of the SIMD loops "
                "(probe_kernel); cold probes continue the row's rotation\"\n",
            GPX_PROBE_SAMPLES);
    fprintf(fp, "cold_rotation: \"buffer sets of more than cold_mib MiB (default 3 x L3 = %zu "
                "bytes) per shape, filled once\"\n",
            gpx_cold_bytes_default());
}

void gpx_bench_write_manifest(FILE *fp, const gpx_bench_run *ri, const ycfg *cfg,
                              const gpx_bench_point *points, size_t npoints,
                              const gpx_bench_rows *rows)
{
    gpx_manifest m = { "gpool bench manifest: how and where bench.csv was measured",
                       ri->argc, ri->argv, cfg, NULL, NULL, ri->started, NULL };
    gpx_manifest_write(fp, &m);
    fprintf(fp, "wall_seconds: %.1f\n", ri->wall_s);
    write_points(fp, points, npoints);
    gpx_manifest_string(fp, "skipped_variants", ri->skipped);
    write_method(fp, ri, rows);
    gpx_manifest_string(fp, "chart", ri->chart_status);
    fputs("files: [bench.csv, config.yaml, manifest.yaml", fp);
    if (!strcmp(ri->chart_status, "written"))
        fputs(", bench-chart.dat, bench.gp, bench.png, bench.svg", fp);
    fputs("]\n", fp);
}

