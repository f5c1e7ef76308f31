/*
 * bench_schema.c - the root schema of kernel benchmark configs
 * (configs/kernels*.yaml). Variant names come from libgpool's table.
 */
#include "autoconfig.h"

#include <string.h>

#include "core/schema.h"
#include "gpool.h"

#define DEFAULT_SHAPES                                                                  \
    "[[64, 512, 7, 7], [32, 256, 14, 14], [16, 64, 56, 56], [8, 2048, 7, 7], "          \
    "[256, 64, 7, 7], [128, 10, 7, 7], [1, 3, 224, 224], [1, 2048, 7, 7], "             \
    "[32, 128, 64, 64]]"


/* In gp_pool_op, gp_pass and gp_layout order: ycfg_enum gives the C value. */
static const char *const op_choices[] = { "avg", "max", "topk", "adaptive_avg", "adaptive_max",
                                           NULL };
static const char *const pass_choices[] = { "fwd", "bwd", NULL };
static const char *const layout_choices[] = { "nchw", "nhwc", NULL };
static const char *const mode_choices[] = { "hot", "cold", NULL };

/* Variant names come from the library's table (filled on first use), so a
 * typo in a config is caught at its line and column with a suggestion. */
static const char *variant_choices[GPX_MAX_VARIANT_NAMES + 3];

static const ycfg_schema dim_schema[] = {
    { NULL, YCFG_INT, NULL, .min = 1, .max = 1e9, .help = "a dimension" },
};
static const ycfg_schema shape_schema[] = {
    { NULL, YCFG_LIST, NULL, .min = 4, .max = 4, .items = dim_schema,
      .help = "[N, C, H, W]" },
};
static const ycfg_schema variant_schema[] = {
    { NULL, YCFG_ENUM, NULL, .choices = variant_choices,
      .help = "a variant name, 'all' or 'auto'" },
};

static const ycfg_schema bench_keys[] = {
    { "shapes", YCFG_LIST, DEFAULT_SHAPES, .min = 1, .max = 10000, .items = shape_schema,
      .help = "tensor shapes [N, C, H, W]" },
    { "variants", YCFG_LIST, "[all]", .min = 1, .max = 1000, .items = variant_schema,
      .help = "variants to time ('all' = every one of the op and layout); auto is always timed" },
    { "op", YCFG_ENUM, "avg", .choices = op_choices,
      .help = "pooling: avg, max, topk, adaptive_avg or adaptive_max" },
    { "k", YCFG_INT, "4", .min = 1, .max = 65536,
      .help = "topk: how many (at most H x W); adaptive: the output side; unused by avg, max" },
    { "pass", YCFG_ENUM, "fwd", .choices = pass_choices, .help = "fwd or bwd" },
    { "layout", YCFG_ENUM, "nchw", .choices = layout_choices, .help = "nchw or nhwc" },
    { "threads", YCFG_INT, "1", .min = 1, .max = 4096,
      .help = "OpenMP threads (omp_set_num_threads before each row)" },
    { "mode", YCFG_ENUM, "hot", .choices = mode_choices,
      .help = "hot: one buffer again and again; cold: rotate through > 3 x L3 of buffers" },
    { "repetitions", YCFG_INT, "21", .min = 20, .max = 1e6,
      .help = "timed samples per row (median and min are reported)" },
    { "warmup", YCFG_INT, "3", .min = 1, .max = 1e6,
      .help = "untimed samples after calibration" },
    { "min_sample_ms", YCFG_FLOAT, "1.0", .min = 0.01, .max = 10000,
      .help = "a sample is k back-to-back calls lasting at least this long" },
    { "probe_sample_ms", YCFG_FLOAT, "2.0", .min = 0.01, .max = 10000,
      .help = "a bandwidth-probe sample reads buffers for at least this long" },
    { "check", YCFG_BOOL, "true",
      .help = "compare every variant with the scalar one before timing it" },
    { "cold_mib", YCFG_INT, "0", .min = 0, .max = 1 << 30,
      .help = "MiB of x buffers a cold row rotates through; 0 = just over 3 x L3" },
    { "max_cpu_wait", YCFG_FLOAT, "0.02", .min = 0, .max = 1e6,
      .help = "a row whose threads waited for a CPU longer than this share of its time "
              "is measured again" },
    { "attempts", YCFG_INT, "3", .min = 1, .max = 100,
      .help = "measurements of a row at most (the least disturbed one is kept)" },
    { NULL },
};

static const ycfg_schema chart_keys[] = {
    { "op", YCFG_ENUM, "avg", .choices = op_choices, .help = "op shown in the chart" },
    { "pass", YCFG_ENUM, "fwd", .choices = pass_choices, .help = "pass shown in the chart" },
    { "layout", YCFG_ENUM, "nchw", .choices = layout_choices,
      .help = "layout shown in the chart (one panel per mode and thread count)" },
    { NULL },
};

static const ycfg_schema root_keys[] = {
    { "name", YCFG_STRING, "kernels", .check = gpx_name_problem, .help = "name of this benchmark" },
    { "output", YCFG_STRING, "results/kernels",
      .help = "output directory, relative to the working directory (--out overrides)" },
    { "bench", YCFG_MAP, "{}", .items = bench_keys, .help = "what to time and how" },
    { "chart", YCFG_MAP, "{}", .items = chart_keys, .help = "which results the chart shows" },
    { NULL },
};

const ycfg_schema *gpx_bench_schema(void)
{
    if (!variant_choices[0]) {
        size_t n = 0;
        for (size_t i = 0; i < gp_variant_count() && n < GPX_MAX_VARIANT_NAMES; i++) {
            gp_variant_info v;
            if (gp_variant_get(i, &v) != GP_OK)
                continue;
            int seen = 0;
            for (size_t j = 0; j < n; j++)
                seen |= !strcmp(variant_choices[j], v.name);
            if (!seen)
                variant_choices[n++] = v.name;
        }
        variant_choices[n++] = "all";
        variant_choices[n++] = "auto";
        variant_choices[n] = NULL;
    }
    return root_keys;
}

