/*
 * profile_rows.c - the table, profile.csv, summary.yaml and the roofline
 * chart of `gpool profile` (see profile_rows.h).
 */
#include "autoconfig.h"

#include "records/profile_rows.h"

#include <math.h>
#include <string.h>

#include "records/chart.h"
#include "records/manifest.h"
#include "records/results.h"
#include "util/util.h"

/* GFLOP/s or GB/s; 0 for a time that is not there. */
static double rate(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds / 1e9 : 0;
}

int gpx_profile_ratio_ok(const gpx_profile_totals *t)
{
    return t->ratio >= 0.9 && t->ratio <= 1.1;
}

/* A conv2d row's GFLOP/s over the FMA peak; -1 for the other rows. */
static double peak_fraction(const gpx_profile_row *r, const gpx_roofs *m)
{
    if (strcmp(r->part.kind, "conv2d") || !(m->peak_gflops > 0))
        return -1;
    return rate(r->part.flops, r->median_s) / m->peak_gflops;
}

/* The machine line: the compute roof named, then the bandwidth roofs. */
static void print_machine(FILE *out, const gpx_roofs *m)
{
    fprintf(out, "machine: FMA peak %.1f GFLOP/s (%s, %d thread%s; %.1f on 1), sgemm %dx%d "
                 "%.1f GFLOP/s; read bandwidth DRAM %.1f GB/s, cache %.1f GB/s\n",
            m->peak_gflops, m->peak_source, m->fma_threads, m->fma_threads == 1 ? "" : "s",
            m->fma_gflops_1t, m->sgemm_n, m->sgemm_n, m->sgemm_gflops, m->dram_gbps,
            m->cache_gbps);
}

void gpx_profile_print_table(FILE *out, const gpx_profile_report *rp)
{
    const gpx_roofs *m = rp->roofs;
    fprintf(out, "gpool profile: %s, head %s, batch %d, %d thread%s, median of %d\n",
            ycfg_name(rp->cfg), rp->head, rp->batch, rp->threads, rp->threads == 1 ? "" : "s",
            rp->repeats);
    print_machine(out, m);
    fprintf(out, "%3s  %-12s %-8s %-14s %-20s %9s %8s %6s %8s %7s %6s\n", "#", "kind", "pass",
            "output", "desc", "ms", "GFLOP/s", "peak", "GB/s", "FLOP/B", "share");
    for (int k = 0; k < rp->nrows; k++) {
        const gpx_profile_row *r = &rp->rows[k];
        const gpx_step_part *p = &r->part;
        char idx[16] = "-", peak[16] = "-";
        if (p->layer >= 0)
            snprintf(idx, sizeof idx, "%d", p->layer);
        if (peak_fraction(r, m) >= 0)
            snprintf(peak, sizeof peak, "%.1f%%", 100 * peak_fraction(r, m));
        fprintf(out, "%3s  %-12.12s %-8s %-14.14s %-20.20s %9.4f %8.2f %6s %8.2f %7.2f %5.1f%%\n",
                idx, p->kind, p->pass, p->shape, p->desc, 1e3 * r->median_s,
                rate(p->flops, r->median_s), peak, rate(p->bytes, r->median_s),
                p->bytes > 0 ? p->flops / p->bytes : 0, r->share);
    }
    const gpx_profile_totals *t = rp->totals;
    fprintf(out, "sum of row medians       %9.4f ms (layers forward %.4f, backward %.4f)\n",
            1e3 * t->sum_s, 1e3 * t->fwd_s, 1e3 * t->bwd_s);
    fprintf(out, "profiled step (median)   %9.4f ms\n", 1e3 * t->profiled_s);
    fprintf(out, "uninstrumented step      %9.4f ms (median of %d; wall clock %.4f ms, %.0f%% "
                 "of it waiting for a CPU)\n", 1e3 * t->step_s, rp->repeats,
            1e3 * t->step_wall_s, 100 * t->waited);
    fprintf(out, "ratio sum/step           %9.3f\n", t->ratio);
    fflush(out);
}

static void write_row(FILE *fp, const gpx_profile_row *r, const gpx_roofs *m)
{
    const gpx_step_part *p = &r->part;
    const double ms[] = { 1e3 * r->median_s, 1e3 * r->min_s, 1e3 * r->wall_median_s };
    const double rest[] = { p->flops, p->bytes, rate(p->flops, r->median_s),
                            rate(p->bytes, r->median_s), p->bytes > 0 ? p->flops / p->bytes : 0,
                            r->share };
    gpx_row w;
    gpx_row_begin(&w, fp, &gpx_profile_file, NULL);
    if (p->layer >= 0)
        gpx_row_int(&w, p->layer);
    else
        gpx_row_empty(&w);
    gpx_row_text(&w, p->kind);
    gpx_row_text(&w, p->pass);
    gpx_row_text(&w, p->shape);
    for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
        gpx_row_real(&w, ms[k]);
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
        gpx_row_real(&w, rest[k]);
    if (peak_fraction(r, m) >= 0)
        gpx_row_real(&w, peak_fraction(r, m));
    else
        gpx_row_empty(&w);
    gpx_row_text(&w, p->desc);
    gpx_row_end(&w);
}

static void write_csv(FILE *fp, const void *ctx)
{
    const gpx_profile_report *rp = ctx;
    const gpx_roofs *m = rp->roofs;
    const gpx_profile_totals *t = rp->totals;
    fprintf(fp,
            "# gpool profile: config %s, head %s, batch %d, threads %d, repeats %d, warmup %d\n"
            "# times (ms): median and min over the profiled steps of wall clock less the time "
            "the calling thread waited for a CPU held by another process (run_delay in "
            "/proc/thread-self/schedstat); wall_median_ms: plain wall clock; share_pct: of the "
            "sum of the row medians\n"
            "# flops (2 per multiply-add): forward = n x the layer's FLOPs per image; backward: "
            "conv2d/dense 2 x multiply-adds (1 x for layer 0: no dx) + bias sum, batchnorm2d "
            "2 x forward, flatten 0, others 1 x forward\n"
            "# bytes (4 per float): forward = in + out + params; backward = in + dy + dx "
            "(not layer 0) + params + param grads; loss = logits + labels + dlogits; "
            "optimizer: Adam/AdamW 7 floats per param, SGD 3 (5 with momentum); a fused "
            "epilogue (kind epi ...: the layers after a conv2d that run in its call) moves "
            "out x 3 forward (x 2 relu alone), x 7 backward with bn+relu, x 5 bn, x 3 relu, "
            "and takes the call's time times the share the library timed in it\n"
            "# peak_frac: a conv2d row's gflop_s over peak_gflops, the FMA peak of a "
            "register-only loop of the widest instruction set on the profile's threads\n"
            "# machine: peak_gflops %.2f (%s, %d threads; 1 thread %.2f), sgemm_gflops %.2f "
            "(sgemm %d), dram_gbps %.2f (%s, %zu bytes), cache_gbps %.2f (%s, %zu bytes)\n"
            "# steps: sum_of_rows_ms %.4f, uninstrumented_step_ms %.4f (wall clock %.4f, "
            "%.1f%% of it waiting), profiled_step_ms %.4f, ratio %.4f\n",
            rp->config, rp->head, rp->batch, rp->threads, rp->repeats, rp->warmup,
            m->peak_gflops, m->peak_source, m->fma_threads, m->fma_gflops_1t, m->sgemm_gflops,
            m->sgemm_n, m->dram_gbps, m->dram_kernel, m->dram_bytes,
            m->cache_gbps, m->cache_kernel, m->cache_bytes, 1e3 * t->sum_s, 1e3 * t->step_s,
            1e3 * t->step_wall_s, 100 * t->waited, 1e3 * t->profiled_s, t->ratio);
    gpx_record_header(fp, &gpx_profile_file, NULL);
    for (int k = 0; k < rp->nrows; k++)
        write_row(fp, &rp->rows[k], m);
}

static void write_summary(FILE *fp, const void *ctx)
{
    const gpx_profile_report *rp = ctx;
    const gpx_roofs *m = rp->roofs;
    const gpx_profile_totals *t = rp->totals;
    gpx_manifest man = { "gpool profile summary: the machine's roofs and a training step's times",
                         rp->argc, rp->argv, rp->cfg, NULL, NULL, rp->started, NULL };
    gpx_manifest_write(fp, &man);
    gpx_manifest_string(fp, "head", rp->head);
    fprintf(fp, "batch: %d\nthreads: %d\nrepeats: %d\nwarmup: %d\n", rp->batch, rp->threads,
            rp->repeats, rp->warmup);
    fprintf(fp,
            "machine:\n"
            "  peak_gflops: %.3f\n  peak_source: %s\n"
            "  fma_gflops: %.3f\n  fma_threads: %d\n  fma_gflops_1thread: %.3f\n"
            "  sgemm_gflops: %.3f\n  sgemm_n: %d\n"
            "  dram_gbps: %.3f\n  dram_kernel: %s\n  dram_probe_bytes: %zu\n"
            "  cache_gbps: %.3f\n  cache_kernel: %s\n  cache_probe_bytes: %zu\n"
            "step:\n"
            "  sum_of_rows_ms: %.6f\n  layers_forward_ms: %.6f\n  layers_backward_ms: %.6f\n"
            "  uninstrumented_ms: %.6f\n  uninstrumented_wall_ms: %.6f\n"
            "  waiting_for_cpu: %.4f\n  profiled_ms: %.6f\n  ratio: %.4f\n"
            "  ratio_within_10pct: %s\n",
            m->peak_gflops, m->peak_source, m->fma_gflops, m->fma_threads, m->fma_gflops_1t,
            m->sgemm_gflops, m->sgemm_n, m->dram_gbps, m->dram_kernel, m->dram_bytes,
            m->cache_gbps, m->cache_kernel, m->cache_bytes, 1e3 * t->sum_s, 1e3 * t->fwd_s,
            1e3 * t->bwd_s, 1e3 * t->step_s, 1e3 * t->step_wall_s, t->waited,
            1e3 * t->profiled_s, t->ratio, gpx_profile_ratio_ok(t) ? "true" : "false");
}

/* Plot group of a row: 0 forward, 1 backward, 2 loss and optimizer. */
static int row_group(const gpx_profile_row *r)
{
    return r->part.layer < 0 ? 2 : !strcmp(r->part.pass, "forward") ? 0 : 1;
}

/* A row's point on the chart (intensity, GFLOP/s): 1, or 0 for a row
 * without FLOPs or bytes (log axes have no zero). */
static int chart_point(const gpx_profile_row *r, double *x, double *y)
{
    const gpx_step_part *p = &r->part;
    if (p->flops <= 0 || p->bytes <= 0 || r->median_s <= 0)
        return 0;
    *x = p->flops / p->bytes;
    *y = rate(p->flops, r->median_s);
    return 1;
}

/* One line per point: intensity, GFLOP/s, group, label. */
static void write_chart_data(FILE *fp, const void *ctx)
{
    const gpx_profile_report *rp = ctx;
    fputs("# flop_per_byte gflop_s group(0 fwd, 1 bwd, 2 other) label\n", fp);
    for (int k = 0; k < rp->nrows; k++) {
        const gpx_profile_row *r = &rp->rows[k];
        const gpx_step_part *p = &r->part;
        double x, y;
        if (!chart_point(r, &x, &y))
            continue;
        char label[64];
        if (p->layer >= 0)
            snprintf(label, sizeof label, "%d%c %s", p->layer, p->pass[0], p->kind);
        else
            snprintf(label, sizeof label, "%s", p->kind);
        fprintf(fp, "%.6g %.6g %d \"%s\"\n", x, y, row_group(r), label);
    }
}

/* Axis ranges that hold every point and both roofs' knees. */
static void chart_ranges(const gpx_profile_report *rp, double *x0, double *x1, double *y0,
                         double *y1)
{
    const gpx_roofs *m = rp->roofs;
    double lo_x = m->peak_gflops / m->cache_gbps, hi_x = m->peak_gflops / m->dram_gbps;
    double lo_y = m->peak_gflops, hi_y = m->peak_gflops;
    lo_x = fmin(lo_x, hi_x);
    hi_x = fmax(lo_x, hi_x);
    for (int k = 0; k < rp->nrows; k++) {
        double x, y;
        if (!chart_point(&rp->rows[k], &x, &y))
            continue;
        lo_x = fmin(lo_x, x);
        hi_x = fmax(hi_x, x);
        lo_y = fmin(lo_y, y);
        hi_y = fmax(hi_y, y);
    }
    *x0 = lo_x / 2;
    *x1 = hi_x * 4;
    *y0 = lo_y / 3;
    *y1 = hi_y * 3;
}

static void write_chart_script(FILE *fp, const void *ctx)
{
    const gpx_profile_report *rp = ctx;
    const gpx_roofs *m = rp->roofs;
    char title[512], qtitle[1100];
    double x0, x1, y0, y1;
    chart_ranges(rp, &x0, &x1, &y0, &y1);
    snprintf(title, sizeof title, "gpool profile: %s, head %s, batch %d, %d thread%s",
             ycfg_name(rp->cfg), rp->head, rp->batch, rp->threads,
             rp->threads == 1 ? "" : "s");
    gpx_gnuplot_quote(qtitle, sizeof qtitle, title);
    fprintf(fp,
            "# Roofline of a training step, one point per layer and pass (written by gpool\n"
            "# profile). Redraw with: gnuplot roofline.gp (in this directory).\n"
            "if (!exists('datafile')) datafile = 'roofline.dat'\n"
            "if (!exists('outbase')) outbase = 'roofline'\n"
            "peak = %.6g; dram = %.6g; cache = %.6g; sgemm = %.6g\n"
            "roof(bw, x) = (bw * x < peak) ? bw * x : peak\n"
            "set title %s noenhanced\n"
            "set logscale xy\nset grid xtics ytics mxtics mytics\n"
            "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n"
            "set xlabel 'arithmetic intensity (FLOP/byte, analytic model)'\n"
            "set ylabel 'GFLOP/s'\nset key top left noenhanced\nset samples 1000\n"
            "do for [fmt in 'png svg'] {\n"
            "  if (fmt eq 'png') { set terminal pngcairo size 1200,800 font ',10' } "
            "else { set terminal svg size 1200,800 dynamic font ',10' }\n"
            "  set output outbase.'.'.fmt\n"
            "  plot roof(dram, x) with lines lw 2 lc rgb '#444444' "
            "title sprintf('DRAM %%.1f GB/s, FMA peak %%.1f GFLOP/s', dram, peak), \\\n"
            "       roof(cache, x) with lines lw 2 dt 2 lc rgb '#888888' "
            "title sprintf('cache-resident %%.1f GB/s', cache), \\\n"
            "       sgemm with lines lw 1 dt 3 lc rgb '#888888' "
            "title sprintf('OpenBLAS sgemm %%.1f GFLOP/s', sgemm), \\\n"
            "       datafile using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 1.2 "
            "lc rgb '#1f77b4' title 'forward', \\\n"
            "       datafile using 1:($3 == 1 ? $2 : 1/0) with points pt 5 ps 1.2 "
            "lc rgb '#d62728' title 'backward', \\\n"
            "       datafile using 1:($3 == 2 ? $2 : 1/0) with points pt 9 ps 1.4 "
            "lc rgb '#2ca02c' title 'loss, optimizer', \\\n"
            "       datafile using 1:2:4 with labels offset 0.6,0.6 left font ',7' "
            "noenhanced notitle\n"
            "  unset output\n"
            "}\n",
            m->peak_gflops, m->dram_gbps, m->cache_gbps, m->sgemm_gflops, qtitle, x0, x1, y0,
            y1);
}

int gpx_profile_write_files(const char *dir, const gpx_profile_report *r, char *err,
                            size_t errlen)
{
    return gpx_write_file(dir, "profile.csv", write_csv, r, err, errlen) ||
                   gpx_write_file(dir, "summary.yaml", write_summary, r, err, errlen)
               ? -1 : 0;
}

int gpx_profile_write_chart(const char *dir, const gpx_profile_report *r, char *err,
                            size_t errlen)
{
    gpx_chart chart = { dir, "roofline", NULL, write_chart_data, write_chart_script, NULL, NULL,
                        r };
    return gpx_chart_publish(&chart, err, errlen);
}
