/*
 * pool_rows.h - the rows of `gpool bench`: one global pooling variant on
 * one shape, checked, probed and timed.
 *
 * For every row (sweep point x shape x variant):
 *   1. check: run the variant once on buffer 0 and compare with the scalar
 *      variant (max exactly, avg within 2e-6 x mean|x| of the plane); the
 *      scalar variant itself is checked against a double-precision reference.
 *      A mismatch becomes an error row and is never timed.
 *   2. probe: the read bandwidth of the row's own buffers with the row's
 *      thread count (probe.h) - the x set, or the dx set for avg backward
 *      (whose largest input, dy, is 1/(H*W) of what the call streams).
 *   3. time: samples of k back-to-back calls (k so that a sample lasts
 *      min_sample_s), calibration and warm-up first, then `reps` samples;
 *      per-call time = sample / k; median and minimum.
 *   Steps 2 and 3 are made again (up to `attempts` times) while the row's
 *   threads waited for a CPU more than max_cpu_wait of the time
 *   (cpuwait.h); the least disturbed measurement is kept.
 * Cold rows rotate call by call through buffer sets that total more than
 * cold_bytes (allocated and filled once per shape; the probe and the timing
 * share one rotation cursor, so every buffer was last touched a whole
 * rotation ago). Hot rows use buffer 0 of each set.
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_POOL_ROWS_H
#define GPOOL_EXPERIMENTS_PROBE_POOL_ROWS_H

#include <signal.h>
#include <stddef.h>

#include "gpool.h"
#include "probe/buffers.h"

typedef struct {
    size_t n, c, h, w;
} gpx_bench_shape;

/* One sweep point of a bench config, decoded (gpool bench does it). */
typedef struct {
    const char       *id;
    gp_pool_op        op;
    size_t            k;         /* gp_pool_desc.k of topk and the adaptive ops */
    gp_pass           pass;
    gp_layout         layout;
    int               threads;
    int               cold;
    int               reps, warmup;
    double            min_sample_s;
    double            probe_sample_s;
    int               check;
    size_t            cold_bytes;
    double            max_cpu_wait;
    int               attempts;
    gpx_bench_shape  *shapes;
    size_t            nshapes;
    const char      **variants;  /* names to time, "auto" last */
    size_t            nvariants;
} gpx_bench_point;

/* Reference outputs (scalar variant) for one shape, per [op][layout][pass]
 * (with the k they were made for), the per-plane statistics of x the avg
 * and max checks use, per layout, and the double-precision reference of one
 * (op, k) of the kpool ops, per output. */
typedef struct {
    float  *out[GP_POOL_NOPS][2][2];
    size_t  out_k[GP_POOL_NOPS][2][2];
    int     bad[GP_POOL_NOPS][2][2];      /* scalar disagreed with the double reference */
    char    bad_note[GP_POOL_NOPS][2][2][160];
    double *meanabs[2];
    double *mean[2];
    float  *max[2];
    double *kref, *kabs;       /* the exact result and mean |x| of what it reduces */
    int     kref_op;           /* what kref holds: op and k (kref NULL: nothing) */
    size_t  kref_k;
} gpx_bench_refs;

/* The buffers of one shape, shared by every row on it. */
typedef struct {
    gpx_bench_shape dims;
    int             need_cold, need_fwd, need_bwd;  /* set before gpx_bench_shape_prepare */
    size_t          outs_per_plane;                 /* likewise: the most any row writes */
    size_t          cold_bytes;                     /* likewise: the largest cold point's */
    size_t          nbufs;      /* rotation length (1 without cold rows) */
    size_t          cursor;     /* rotation position, shared by probe and timing */
    gpx_buffer_set  x, y, dy, dx;
    gpx_bench_refs  refs;
} gpx_bench_shape_data;

/* One row of bench.csv. */
typedef struct {
    const gpx_bench_point *point;
    gpx_bench_shape        shape;
    const char            *variant;
    char                   impl[32];
    const char            *isa;
    int                    threaded;
    size_t                 buffers, bytes, calls;
    int                    reps;
    double                 median_s, min_s, gbps, probe_gbps, frac;
    double                 cpu_wait;   /* share of the row's time its threads waited for a CPU */
    int                    attempts;
    const char            *probe_set, *probe_kernel;
    const char            *status;     /* ok, mismatch, error, interrupted */
    char                   note[256];
} gpx_bench_row;

typedef struct {
    gpx_bench_row *rows;
    size_t         count, cap;
} gpx_bench_rows;

/* n x c x h x w. */
size_t gpx_bench_shape_elems(const gpx_bench_shape *s);
/* "NxCxHxW". */
void   gpx_bench_shape_label(char *buf, size_t len, const gpx_bench_shape *s);

/* The library's variant name for op and layout into *out: 1, or 0 when
 * there is none. */
int    gpx_bench_find_variant(const char *name, gp_pool_op op, gp_layout layout,
                              gp_variant_info *out);

/* Allocate and fill the buffer sets the shape's rows need (dims, need_*
 * and cold_bytes set). 0, or -1 with err when out of memory (sd freed). */
int    gpx_bench_shape_prepare(gpx_bench_shape_data *sd, char *err, size_t errlen);
void   gpx_bench_shape_free   (gpx_bench_shape_data *sd);

/* Check, probe and time one row (see above) on the shape's buffers; its
 * status says how it ended ("interrupted" once *stop is set). */
void   gpx_bench_run_row(gpx_bench_shape_data *sd, const gpx_bench_point *p,
                         const char *variant, const volatile sig_atomic_t *stop,
                         gpx_bench_row *row);

/* One call of the variant (NULL: auto) on buffer k of the shape's sets.
 * Inline, as the timing loop calls it. */
static inline gp_status gpx_bench_call(const gp_pool_desc *d, gp_pass pass, const char *variant,
                                       gpx_bench_shape_data *sd, size_t k)
{
    if (pass == GP_PASS_FORWARD)
        return gp_global_pool_forward(d, variant, sd->x.ptr[k], sd->y.ptr[k]);
    return gp_global_pool_backward(d, variant, sd->x.ptr[k], sd->dy.ptr[k], sd->dx.ptr[k]);
}

/* 0 when variant's output on buffer 0 matches the scalar reference, else
 * -1 with why (pool_check.c). */
int    gpx_bench_check_row(gpx_bench_shape_data *sd, const gp_pool_desc *d, gp_pass pass,
                           const char *variant, char *why, size_t whylen);

/* Free the reference outputs (gpx_bench_shape_free does). */
void   gpx_bench_refs_free(gpx_bench_refs *r);

/* A new zeroed row at the end of the list (aborts when out of memory). */
gpx_bench_row *gpx_bench_rows_add(gpx_bench_rows *l);

#endif /* GPOOL_EXPERIMENTS_PROBE_POOL_ROWS_H */
