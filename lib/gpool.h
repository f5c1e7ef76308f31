/*
 * gpool.h - global pooling kernels for CNN heads (public API of libgpool).
 *
 * Overview
 * --------
 * libgpool computes global average and global max pooling over the H x W
 * plane of float32 tensors, forward and backward, in NCHW or NHWC layout,
 * and, in NCHW, three reductions parameterised by a count k: top-k pooling
 * (the mean of the k largest of each plane) and adaptive average and max
 * pooling to a k x k grid of bins (PyTorch's AdaptiveAvgPool2d and
 * AdaptiveMaxPool2d).
 * Each (op, layout) has several implementations ("variants"): portable
 * scalar C, AVX2+FMA and AVX-512, each single-threaded or OpenMP-parallel.
 * One table of variants drives everything: automatic dispatch, forcing a
 * variant by name, the tests and the benchmark.
 *
 * Dispatch rule (variant = NULL or "auto"):
 *   1. the widest instruction set this CPU has and GPOOL_CPU_MASK leaves
 *      visible: avx512, else avx2, else scalar;
 *   2. the "_omp" form of it only when OpenMP may use more than one thread
 *      (omp_get_max_threads() > 1) and cutting the call between the threads
 *      takes at least GP_THREAD_MIN_OFFLOAD_BYTES of the tensor the pass
 *      streams through (x for forward, dx for backward) off the busiest
 *      thread. The cut is by whole NCHW planes, whole NHWC images, or
 *      16-channel NHWC slices when the images do not divide evenly; one NHWC
 *      image of fewer than 16 channels per thread cannot be cut.
 *
 * Environment:
 *   GPOOL_VARIANT=NAME   force variant NAME (e.g. "avx2_omp") for every call
 *                        that asks for "auto"; gp_force_variant() overrides.
 *   GPOOL_CPU_MASK=LIST  behave as if the CPU lacked the listed instruction
 *                        sets (comma separated: "avx512", "avx2"; hiding
 *                        avx2 hides avx512 too). gp_set_cpu_mask() overrides.
 *   GPOOL_POOL_TUNING=NAME  what the SIMD kernels assume about the core
 *                        (gp_pool_tuning): "intel", "amd", or "auto" (the
 *                        default: by the CPU vendor). gp_pool_tuning_force()
 *                        overrides. A tuning changes speed only, never a bit
 *                        of a result (docs/TUNING.md).
 *
 * Semantics:
 *   avg: the mean, accumulated in float lane sums of at most 8 terms that
 *        are flushed into double; no element passes through more than 12
 *        float additions, so the error is below 1e-6 x mean(|x|) for any
 *        H x W (about 7.8e-7 at worst).
 *   max: NaN propagates (as in PyTorch): the result is the first NaN in scan
 *        order, payload kept. Ties, including -0.0 against 0.0,
 *        go to the first element in scan order (p = h * W + w ascending);
 *        backward sends the whole gradient to that element (to the first
 *        NaN when there is one).
 *   topk: the k largest of each plane (1 <= k <= H x W) ranked by value,
 *        NaN above every number, ties (-0.0 against 0.0 among them) to the
 *        first in scan order; y = their sum in double, taken in descending
 *        order from +0.0, divided by k and rounded once to float, so every
 *        variant gives the same bits (a NaN in the plane gives NaN).
 *        Backward sends dy / k to each of the k. The variants differ in
 *        speed only; k <= 8 has SIMD paths, larger k a portable selection.
 *   adaptive_avg, adaptive_max: output bin (i, j) of k x k covers rows
 *        floor(i H / k) .. ceil((i + 1) H / k) - 1 and the same of the
 *        columns (bins overlap when k does not divide the size; k may exceed
 *        it). avg is the bin's mean with the error bound of avg above
 *        (float sums of at most 8 rows flushed into double); max follows max
 *        above within its bin (first NaN, else first maximum in row-major
 *        order; a zero with the first zero's sign), and its backward adds dy
 *        to that element (bins that overlap add up).
 *   The backward passes of topk and the adaptive pools are one portable
 *   kernel behind every variant name (they write dx, which is as fast
 *   from C).
 *
 * Errors: every function that can fail returns a gp_status; on failure
 * gp_last_error() describes what went wrong (thread-local). The library
 * never prints and never exits.
 *
 * Example
 * -------
 *     #include <gpool.h>
 *
 *     float x[2 * 3 * 4 * 4];               // N=2, C=3, H=W=4, NCHW
 *     float y[2 * 3];
 *     for (int i = 0; i < 96; i++) x[i] = (float)i;
 *
 *     gp_pool_desc d = { .n = 2, .c = 3, .h = 4, .w = 4,
 *                        .layout = GP_LAYOUT_NCHW, .op = GP_POOL_AVG };
 *     if (gp_global_pool_forward(&d, NULL, x, y) != GP_OK)
 *         fprintf(stderr, "gpool: %s\n", gp_last_error());
 *     // y[0] == 7.5f: the mean of 0..15
 *
 *     gp_variant_info v;
 *     gp_select_variant(&d, GP_PASS_FORWARD, &v);  // which one "auto" ran
 *     printf("%s (%s)\n", v.name, gp_isa_name(v.isa));
 *
 * Build against an installed copy with `pkg-config --cflags --libs gpool`.
 */
#ifndef GPOOL_H
#define GPOOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; GP_OK is 0 and every error is negative. */
typedef enum {
    GP_OK              =  0,
    GP_ERR_ARG         = -1,  /* invalid argument (NULL pointer, zero size, ...) */
    GP_ERR_NOMEM       = -2,  /* allocation failed */
    GP_ERR_UNSUPPORTED = -3,  /* variant needs an instruction set this CPU lacks */
    GP_ERR_NOTFOUND    = -4,  /* no variant of that name for this op and layout */
    GP_ERR_ENV         = -5,  /* bad GPOOL_VARIANT or GPOOL_CPU_MASK value */
    GP_ERR_IO          = -6,  /* file could not be read or written */
    GP_ERR_PARSE       = -7   /* malformed input (config, data file) */
} gp_status;

/* Memory layout of a 4-D activation tensor. */
typedef enum { GP_LAYOUT_NCHW = 0, GP_LAYOUT_NHWC = 1 } gp_layout;

/* Pooling reduction, avg first as in every enum of the library: the global
 * kernels here, and the local pooling layers of gpool_nn.h (avg and max
 * only). topk and the adaptive pools take d->k and NCHW only. */
typedef enum {
    GP_POOL_AVG          = 0,
    GP_POOL_MAX          = 1,
    GP_POOL_TOPK         = 2,   /* mean of the k largest of each plane */
    GP_POOL_ADAPTIVE_AVG = 3,   /* mean of each of k x k bins */
    GP_POOL_ADAPTIVE_MAX = 4    /* max of each of k x k bins */
} gp_pool_op;

/* Number of gp_pool_op values. */
#define GP_POOL_NOPS 5

/* The largest k the SIMD top-k paths keep in registers; larger k runs one
 * portable selection under every variant name. */
#define GP_TOPK_SIMD_MAX 8

/* Direction of a kernel call. */
typedef enum { GP_PASS_FORWARD = 0, GP_PASS_BACKWARD = 1 } gp_pass;

/* Instruction sets, narrowest first. */
typedef enum { GP_ISA_SCALAR = 0, GP_ISA_AVX2 = 1, GP_ISA_AVX512 = 2 } gp_isa;

/* Bit mask of instruction sets for gp_set_cpu_mask(). */
#define GP_CPU_MASK_AVX2   (1u << GP_ISA_AVX2)
#define GP_CPU_MASK_AVX512 (1u << GP_ISA_AVX512)

/* Automatic dispatch runs a call threaded only when the other threads take
 * at least this many bytes (of x for forward, of dx for backward) off the
 * busiest thread. A parallel region costs about a microsecond: from L2 that
 * is what one core reads of about 120 KiB, so smaller offloads lose a little
 * there, while from DRAM the second thread gains from about 25 KiB on. */
#define GP_THREAD_MIN_OFFLOAD_BYTES ((size_t)96 << 10)

/* Shape and kind of one pooling call. x is n x c x h x w (NCHW) or
 * n x h x w x c (NHWC); y and dy are n x c in both layouts, n x c x k x k
 * for the adaptive pools. */
typedef struct {
    size_t     n, c, h, w;
    gp_layout  layout;
    gp_pool_op op;
    size_t     k;     /* topk: how many (1..h*w); adaptive: the output side
                       * (>= 1); unused by avg and max */
} gp_pool_desc;

/* What the SIMD kernels assume about the core; every value keeps results
 * bit for bit the same and only moves speed. */
typedef struct {
    const char *name;             /* "intel" or "amd" */
    size_t      stream_prefetch;  /* bytes the AVX-512 4-stream batches prefetch ahead */
    size_t      stream_min_bytes; /* NCHW slices this large read 4 streams at once (avg,
                                   * max, top-k's long planes); smaller ones (maybe in
                                   * L2) one */
    size_t      batch_prefetch;   /* bytes single short-plane batches prefetch ahead (0: none) */
} gp_pool_tuning;

/* One entry of the variant table. */
typedef struct {
    const char *name;       /* e.g. "avx512_omp"; unique per (op, layout) */
    gp_pool_op  op;
    gp_layout   layout;
    gp_isa      isa;        /* instruction set the variant needs */
    int         threaded;   /* 1 when it runs an OpenMP parallel region */
    int         available;  /* 1 when this CPU (after the mask) and build can run it */
} gp_variant_info;

/* Message describing the last failure in this thread ("" if none). */
const char *gp_last_error      (void);

/* Library version string, e.g. "0.1.0". */
const char *gp_version         (void);

/* y = the pooling d->op of x. variant: a name from the table, or NULL/"auto". */
gp_status   gp_global_pool_forward (const gp_pool_desc *d, const char *variant,
                                    const float *x, float *y);

/* dx = gradient of the pooling w.r.t. x given dy. x is read by every op but
 * avg and adaptive_avg (to locate what the forward selected) and may be NULL
 * for those two. dx is overwritten. */
gp_status   gp_global_pool_backward(const gp_pool_desc *d, const char *variant,
                                    const float *x, const float *dy, float *dx);

/* Fill *out with the variant that d and pass would run under "auto"
 * (GP_ERR_ARG for a pass that is neither forward nor backward). */
gp_status   gp_select_variant  (const gp_pool_desc *d, gp_pass pass,
                                gp_variant_info *out);

/* Number of entries in the variant table (all ops and layouts). */
size_t      gp_variant_count   (void);

/* Entry i of the variant table, 0 <= i < gp_variant_count(). */
gp_status   gp_variant_get     (size_t i, gp_variant_info *out);

/* Force variant name for "auto" calls (NULL clears; overrides GPOOL_VARIANT).
 * Fails when no entry has that name or this CPU cannot run it. */
gp_status   gp_force_variant   (const char *name);

/* Use tuning name ("intel", "amd"; NULL or "auto": by the CPU vendor) for
 * every call from now on; overrides GPOOL_POOL_TUNING. */
gp_status   gp_pool_tuning_force(const char *name);

/* Fill *out with the tuning in effect (GP_ERR_ENV when GPOOL_POOL_TUNING
 * names none). */
gp_status   gp_pool_tuning_get (gp_pool_tuning *out);

/* Use the values of *t (a copy; its name goes into manifests) for every
 * call from now on; not while other threads pool. Overrides both above. */
gp_status   gp_pool_tuning_set (const gp_pool_tuning *t);

/* Hide instruction sets (GP_CPU_MASK_* bits) from dispatch and availability;
 * overrides GPOOL_CPU_MASK. 0 hides nothing. */
gp_status   gp_set_cpu_mask    (unsigned mask);

/* 1 when the CPU has isa and the mask does not hide it. */
int         gp_cpu_has         (gp_isa isa);

/* 1 when the CPU itself has isa, whatever the mask says. */
int         gp_cpu_has_native  (gp_isa isa);

/* "scalar", "avx2" or "avx512". */
const char *gp_isa_name        (gp_isa isa);

/* "avg", "max", "topk", "adaptive_avg" or "adaptive_max". */
const char *gp_pool_op_name    (gp_pool_op op);

/* "nchw" or "nhwc". */
const char *gp_layout_name     (gp_layout layout);

/* "fwd" or "bwd". */
const char *gp_pass_name       (gp_pass pass);

/* 1 when the library was built with OpenMP. */
int         gp_have_openmp     (void);

/* Threads an OpenMP variant would use now (1 without OpenMP). */
int         gp_max_threads     (void);

#ifdef __cplusplus
}
#endif

#endif /* GPOOL_H */
