/*
 * variants.c - the one table of pooling variants (the global avg and max
 * kernels, and the k-parameterised topk and adaptive pools), and everything
 * that reads it: availability, run-time dispatch, forcing by name, and the
 * OpenMP driver that splits a call into slices for the single-threaded
 * kernels.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpi.h"
#include "gpi_kernels.h"

typedef struct {
    const char           *name;
    gp_pool_op            op;
    gp_layout             layout;
    gp_isa                isa;
    int                   threaded;
    const gpi_kernel_set *kernels;   /* avg and max */
    const gpi_kpool_set  *kpool;     /* topk and the adaptive pools */
} gpi_variant;

/* Eight entries per instruction set: {avg, max} x {nchw, nhwc} x {1, N threads}. */
#define GPI_VARIANTS_OF(NAME, ISA, SET)                                   \
    { NAME, GP_POOL_AVG, GP_LAYOUT_NCHW, ISA, 0, SET, NULL },             \
    { NAME, GP_POOL_MAX, GP_LAYOUT_NCHW, ISA, 0, SET, NULL },             \
    { NAME, GP_POOL_AVG, GP_LAYOUT_NHWC, ISA, 0, SET, NULL },             \
    { NAME, GP_POOL_MAX, GP_LAYOUT_NHWC, ISA, 0, SET, NULL },             \
    { NAME "_omp", GP_POOL_AVG, GP_LAYOUT_NCHW, ISA, 1, SET, NULL },      \
    { NAME "_omp", GP_POOL_MAX, GP_LAYOUT_NCHW, ISA, 1, SET, NULL },      \
    { NAME "_omp", GP_POOL_AVG, GP_LAYOUT_NHWC, ISA, 1, SET, NULL },      \
    { NAME "_omp", GP_POOL_MAX, GP_LAYOUT_NHWC, ISA, 1, SET, NULL }

/* Six per instruction set: {topk, adaptive avg, adaptive max} x {1, N threads}, NCHW. */
#define GPI_KPOOL_VARIANTS_OF(NAME, ISA, SET)                                       \
    { NAME, GP_POOL_TOPK, GP_LAYOUT_NCHW, ISA, 0, NULL, SET },                      \
    { NAME, GP_POOL_ADAPTIVE_AVG, GP_LAYOUT_NCHW, ISA, 0, NULL, SET },              \
    { NAME, GP_POOL_ADAPTIVE_MAX, GP_LAYOUT_NCHW, ISA, 0, NULL, SET },              \
    { NAME "_omp", GP_POOL_TOPK, GP_LAYOUT_NCHW, ISA, 1, NULL, SET },               \
    { NAME "_omp", GP_POOL_ADAPTIVE_AVG, GP_LAYOUT_NCHW, ISA, 1, NULL, SET },       \
    { NAME "_omp", GP_POOL_ADAPTIVE_MAX, GP_LAYOUT_NCHW, ISA, 1, NULL, SET }

#ifdef GPOOL_HAVE_AVX2_KERNELS
#define GPI_AVX2_SET (&gpi_kernels_avx2)
#define GPI_AVX2_KPOOL (&gpi_kpool_avx2)
#else
#define GPI_AVX2_SET NULL
#define GPI_AVX2_KPOOL NULL
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
#define GPI_AVX512_SET (&gpi_kernels_avx512)
#define GPI_AVX512_KPOOL (&gpi_kpool_avx512)
#else
#define GPI_AVX512_SET NULL
#define GPI_AVX512_KPOOL NULL
#endif

/* Narrowest first; dispatch walks it backwards to find the widest. */
static const gpi_variant gpi_variants[] = {
    GPI_VARIANTS_OF("scalar", GP_ISA_SCALAR, &gpi_kernels_scalar),
    GPI_VARIANTS_OF("avx2", GP_ISA_AVX2, GPI_AVX2_SET),
    GPI_VARIANTS_OF("avx512", GP_ISA_AVX512, GPI_AVX512_SET),
    GPI_KPOOL_VARIANTS_OF("scalar", GP_ISA_SCALAR, &gpi_kpool_scalar),
    GPI_KPOOL_VARIANTS_OF("avx2", GP_ISA_AVX2, GPI_AVX2_KPOOL),
    GPI_KPOOL_VARIANTS_OF("avx512", GP_ISA_AVX512, GPI_AVX512_KPOOL),
};
#define GPI_NVARIANTS (sizeof gpi_variants / sizeof gpi_variants[0])

/* ------------------------------------------------------------ names */

const char *gp_isa_name(gp_isa isa)
{
    switch (isa) {
    case GP_ISA_SCALAR: return "scalar";
    case GP_ISA_AVX2:   return "avx2";
    case GP_ISA_AVX512: return "avx512";
    }
    return "?";
}

const char *gp_pool_op_name(gp_pool_op op)
{
    static const char *const names[GP_POOL_NOPS] = { "avg", "max", "topk", "adaptive_avg",
                                                     "adaptive_max" };
    return (unsigned)op < GP_POOL_NOPS ? names[op] : "?";
}

/* 1 for the ops of the kpool kernels, which take d->k. */
static int is_kpool(gp_pool_op op)
{
    return op == GP_POOL_TOPK || op == GP_POOL_ADAPTIVE_AVG || op == GP_POOL_ADAPTIVE_MAX;
}

const char *gp_layout_name(gp_layout layout)
{
    return layout == GP_LAYOUT_NCHW ? "nchw" : layout == GP_LAYOUT_NHWC ? "nhwc" : "?";
}

const char *gp_pass_name(gp_pass pass)
{
    return pass == GP_PASS_FORWARD ? "fwd" : pass == GP_PASS_BACKWARD ? "bwd" : "?";
}

int gp_have_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int gp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* ------------------------------------------------------- availability */

/* visible: bit i set when ISA i may run (the CPU has it, the mask allows it). */
static int variant_runnable(const gpi_variant *v, unsigned visible)
{
    if (!(v->kernels || v->kpool) || !(visible & (1u << v->isa)))
        return 0;
    return !v->threaded || gp_have_openmp();
}

static int variant_available(const gpi_variant *v)
{
    return variant_runnable(v, gp_cpu_has(v->isa) ? 1u << v->isa : 0);
}

size_t gp_variant_count(void)
{
    return GPI_NVARIANTS;
}

static void fill_info(const gpi_variant *v, gp_variant_info *out)
{
    out->name = v->name;
    out->op = v->op;
    out->layout = v->layout;
    out->isa = v->isa;
    out->threaded = v->threaded;
    out->available = variant_available(v);
}

gp_status gp_variant_get(size_t i, gp_variant_info *out)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "gp_variant_get: out is NULL");
    if (i >= GPI_NVARIANTS)
        return gpi_fail(GP_ERR_ARG, "gp_variant_get: index %zu out of range (0..%zu)", i,
                        (size_t)GPI_NVARIANTS - 1);
    fill_info(&gpi_variants[i], out);
    return GP_OK;
}

static const gpi_variant *find_variant(const char *name, gp_pool_op op, gp_layout layout)
{
    for (size_t i = 0; i < GPI_NVARIANTS; i++) {
        const gpi_variant *v = &gpi_variants[i];
        if (v->op == op && v->layout == layout && !strcmp(v->name, name))
            return v;
    }
    return NULL;
}

static int name_exists(const char *name)
{
    for (size_t i = 0; i < GPI_NVARIANTS; i++)
        if (!strcmp(gpi_variants[i].name, name))
            return 1;
    return 0;
}

/* A name can be forced only when this CPU runs it for every op and layout
 * (all entries of one name share an instruction set and threading). */
static gp_status check_forcible(const char *name, const char *origin)
{
    if (!name_exists(name))
        return gpi_fail(GP_ERR_NOTFOUND, "%s: no variant named '%s' (see gpool bench --list-variants)",
                        origin, name);
    const gpi_variant *v = find_variant(name, GP_POOL_AVG, GP_LAYOUT_NCHW);
    if (!variant_available(v))
        return gpi_fail(GP_ERR_UNSUPPORTED,
                        "%s: variant '%s' needs %s%s, which this CPU or build lacks%s", origin,
                        name, gp_isa_name(v->isa), v->threaded ? " and OpenMP" : "",
                        gp_cpu_has_native(v->isa) ? " (hidden by GPOOL_CPU_MASK)" : "");
    return GP_OK;
}

/* ------------------------------------------------------------ forcing */

static pthread_mutex_t gpi_force_lock = PTHREAD_MUTEX_INITIALIZER;
static char gpi_forced_name[32];
static atomic_int gpi_forced_by_api;       /* 1: the API decides, even "none" */

/* GPOOL_VARIANT is read once: a hot path of small calls must not pay for
 * getenv and a lock on every call. */
static pthread_once_t gpi_env_once = PTHREAD_ONCE_INIT;
static char gpi_env_variant[32];

static void read_env_variant(void)
{
    const char *env = getenv("GPOOL_VARIANT");
    if (env && strcmp(env, "auto"))
        snprintf(gpi_env_variant, sizeof gpi_env_variant, "%s", env);
}

gp_status gp_force_variant(const char *name)
{
    if (name && strlen(name) >= sizeof gpi_forced_name)
        return gpi_fail(GP_ERR_NOTFOUND, "gp_force_variant: no variant named '%s'", name);
    if (name && strcmp(name, "auto")) {
        gp_status st = check_forcible(name, "gp_force_variant");
        if (st != GP_OK)
            return st;
    }
    pthread_mutex_lock(&gpi_force_lock);
    snprintf(gpi_forced_name, sizeof gpi_forced_name, "%s", name && strcmp(name, "auto") ? name : "");
    atomic_store(&gpi_forced_by_api, 1);
    pthread_mutex_unlock(&gpi_force_lock);
    return GP_OK;
}

/* Copy the forced name (API first, then GPOOL_VARIANT) into buf; "" if none. */
static void forced_name(char *buf, size_t len)
{
    if (atomic_load(&gpi_forced_by_api)) {
        pthread_mutex_lock(&gpi_force_lock);
        snprintf(buf, len, "%s", gpi_forced_name);
        pthread_mutex_unlock(&gpi_force_lock);
        return;
    }
    pthread_once(&gpi_env_once, read_env_variant);
    snprintf(buf, len, "%s", gpi_env_variant);
}

/* ------------------------------------------------- cutting a call */

/* How a call is cut between threads: contiguous blocks of whole NCHW planes,
 * of whole NHWC images, or of 16-channel-aligned NHWC channel slices. */
typedef enum { GPI_CUT_PLANES, GPI_CUT_IMAGES, GPI_CUT_CHANNELS } gpi_cut;

typedef struct {
    size_t begin, end;
} gpi_range;

static gpi_range share_of(size_t total, size_t align, int tid, int nthreads)
{
    size_t units = (total + align - 1) / align;
    size_t per = units / (size_t)nthreads, extra = units % (size_t)nthreads;
    size_t b = (size_t)tid * per + ((size_t)tid < extra ? (size_t)tid : extra);
    size_t e = b + per + ((size_t)tid < extra);
    gpi_range r = { b * align, e * align };
    if (r.begin > total) r.begin = total;
    if (r.end > total) r.end = total;
    return r;
}

/* NHWC work goes by images when that balances, else by channel slices. */
static gpi_cut cut_of(gp_layout layout, size_t n, size_t c, int nthreads)
{
    size_t nt = (size_t)nthreads;
    if (layout == GP_LAYOUT_NCHW)
        return GPI_CUT_PLANES;
    if (n % nt == 0 || n >= 4 * nt)
        return GPI_CUT_IMAGES;
    return c >= 16 * nt ? GPI_CUT_CHANNELS : GPI_CUT_IMAGES;
}

/* Thread tid's part: planes, images or channels, as cut says. */
static gpi_range part_of(gpi_cut cut, size_t n, size_t c, int tid, int nthreads)
{
    switch (cut) {
    case GPI_CUT_PLANES:   return share_of(n * c, 1, tid, nthreads);
    case GPI_CUT_CHANNELS: return share_of(c, 16, tid, nthreads);
    default:               return share_of(n, 1, tid, nthreads);
    }
}

/* ----------------------------------------------------------- dispatch */

/* Bytes the other threads take off the first (busiest) thread's part:
 * what threading saves, which is nothing when the call cannot be cut
 * (one NHWC image of few channels) and little when it cuts unevenly
 * (three planes between two threads). */
static size_t offloaded_bytes(const gp_pool_desc *d, int nthreads)
{
    gpi_cut cut = cut_of(d->layout, d->n, d->c, nthreads);
    gpi_range r = part_of(cut, d->n, d->c, 0, nthreads);
    size_t hw = d->h * d->w, units = r.end - r.begin;
    size_t per_unit = cut == GPI_CUT_PLANES ? hw : cut == GPI_CUT_IMAGES ? d->c * hw : d->n * hw;
    return (d->n * d->c * hw - units * per_unit) * sizeof(float);
}

static int want_threads(const gp_pool_desc *d)
{
#ifdef _OPENMP
    int nthreads = omp_get_max_threads();
    return nthreads > 1 && !omp_in_parallel() &&
           offloaded_bytes(d, nthreads) >= GP_THREAD_MIN_OFFLOAD_BYTES;
#else
    (void)d;
    return 0;
#endif
}

static const gpi_variant *auto_variant(const gp_pool_desc *d, unsigned visible)
{
    int threaded = want_threads(d);
    for (size_t i = GPI_NVARIANTS; i-- > 0;) {
        const gpi_variant *v = &gpi_variants[i];
        if (v->op == d->op && v->layout == d->layout && v->threaded == threaded &&
            variant_runnable(v, visible))
            return v;
    }
    return NULL; /* unreachable: the scalar entries are always available */
}

static gp_status resolve(const gp_pool_desc *d, const char *name, const gpi_variant **out)
{
    unsigned hidden;
    gp_status st = gpi_cpu_hidden(&hidden);
    if (st != GP_OK)
        return st;
    gp_pool_tuning tuning; /* an unknown GPOOL_POOL_TUNING fails every call, as GPOOL_VARIANT */
    if ((st = gp_pool_tuning_get(&tuning)) != GP_OK)
        return st;
    char forced[32];
    const char *origin = "variant";
    if (!name || !strcmp(name, "auto")) {
        forced_name(forced, sizeof forced);
        if (!forced[0]) {
            /* one mask read per call, not one per table entry scanned */
            unsigned visible = (gpi_cpu_native() & ~hidden) | (1u << GP_ISA_SCALAR);
            *out = auto_variant(d, visible);
            return GP_OK;
        }
        name = forced;
        origin = atomic_load(&gpi_forced_by_api) ? "gp_force_variant" : "GPOOL_VARIANT";
        st = check_forcible(name, origin);
        if (st == GP_ERR_NOTFOUND)
            return GP_ERR_ENV; /* only GPOOL_VARIANT can name nothing; message already set */
        if (st != GP_OK)
            return st;
    }
    const gpi_variant *v = find_variant(name, d->op, d->layout);
    if (!v)
        return gpi_fail(GP_ERR_NOTFOUND, "%s: no variant named '%s' for %s %s (see gpool bench --list-variants)",
                        origin, name, gp_pool_op_name(d->op), gp_layout_name(d->layout));
    if (!variant_available(v))
        return check_forcible(name, origin);
    *out = v;
    return GP_OK;
}

/* topk's k within the plane, an adaptive grid whose output fits size_t,
 * NCHW only. */
static gp_status check_kpool(const gp_pool_desc *d, const char *fn)
{
    const char *op = gp_pool_op_name(d->op);
    if (d->layout != GP_LAYOUT_NCHW)
        return gpi_fail(GP_ERR_ARG, "%s: %s is NCHW only", fn, op);
    if (d->op == GP_POOL_TOPK && (d->k < 1 || d->k > d->h * d->w))
        return gpi_fail(GP_ERR_ARG, "%s: topk k=%zu outside 1..%zu (h x w)", fn, d->k,
                        d->h * d->w);
    if (d->op != GP_POOL_TOPK && (d->k < 1 || d->k > 65536 ||
                                  d->k * d->k > SIZE_MAX / sizeof(float) / (d->n * d->c)))
        return gpi_fail(GP_ERR_ARG, "%s: %s output side k=%zu outside 1..65536 or its output "
                        "overflows size_t", fn, op, d->k);
    return GP_OK;
}

static gp_status check_desc(const gp_pool_desc *d, const char *fn)
{
    if (!d)
        return gpi_fail(GP_ERR_ARG, "%s: descriptor is NULL", fn);
    if (d->n == 0 || d->c == 0 || d->h == 0 || d->w == 0)
        return gpi_fail(GP_ERR_ARG, "%s: empty shape n=%zu c=%zu h=%zu w=%zu", fn, d->n, d->c,
                        d->h, d->w);
    if ((unsigned)d->layout > GP_LAYOUT_NHWC || (unsigned)d->op >= GP_POOL_NOPS)
        return gpi_fail(GP_ERR_ARG, "%s: unknown layout %d or op %d", fn, (int)d->layout, (int)d->op);
    size_t limit = SIZE_MAX / sizeof(float);
    if (d->c > limit / d->n || d->h > limit / (d->n * d->c) ||
        d->w > limit / (d->n * d->c * d->h))
        return gpi_fail(GP_ERR_ARG, "%s: shape %zux%zux%zux%zu overflows size_t", fn, d->n, d->c,
                        d->h, d->w);
    return is_kpool(d->op) ? check_kpool(d, fn) : GP_OK;
}

gp_status gp_select_variant(const gp_pool_desc *d, gp_pass pass, gp_variant_info *out)
{
    gp_status st = check_desc(d, "gp_select_variant");
    if (st != GP_OK)
        return st;
    if (!out)
        return gpi_fail(GP_ERR_ARG, "gp_select_variant: out is NULL");
    /* forward and backward follow the same rule today, but a pass that is
     * neither is the caller's mistake all the same */
    if (pass != GP_PASS_FORWARD && pass != GP_PASS_BACKWARD)
        return gpi_fail(GP_ERR_ARG, "gp_select_variant: unknown pass %d", (int)pass);
    const gpi_variant *v;
    st = resolve(d, NULL, &v);
    if (st != GP_OK)
        return st;
    fill_info(v, out);
    return GP_OK;
}

/* ------------------------------------------------- threading driver */

typedef struct {
    const gpi_variant *v;
    gp_pass            pass;
    const float       *x, *dy;
    float             *y, *dx;
    size_t             n, c, hw;
    size_t             h, w, k;    /* the kpool ops' plane and parameter */
} gpi_call;

/* Planes [r0, r1) of a kpool op. */
static void run_kpool(const gpi_call *k, size_t r0, size_t r1)
{
    int op = (int)k->v->op - GP_POOL_TOPK;
    size_t outs = k->v->op == GP_POOL_TOPK ? 1 : k->k * k->k;
    if (k->pass == GP_PASS_FORWARD) {
        k->v->kpool->fwd[op](k->x + r0 * k->hw, k->y + r0 * outs, r1 - r0, k->h, k->w, k->k);
    } else {
        const float *x = k->x ? k->x + r0 * k->hw : NULL;
        gpi_kpool_backward[op](x, k->dy + r0 * outs, k->dx + r0 * k->hw, r1 - r0, k->h, k->w,
                               k->k);
    }
}

static void run_nchw(const gpi_call *k, size_t r0, size_t r1)
{
    const gpi_kernel_set *ks = k->v->kernels;
    size_t rows = r1 - r0, hw = k->hw;
    if (rows == 0)
        return;
    if (k->v->kpool) {
        run_kpool(k, r0, r1);
        return;
    }
    int avg = k->v->op == GP_POOL_AVG;
    if (k->pass == GP_PASS_FORWARD) {
        (avg ? ks->nchw_avg_fwd : ks->nchw_max_fwd)(k->x + r0 * hw, k->y + r0, rows, hw);
    } else {
        const float *x = k->x ? k->x + r0 * hw : NULL;
        (avg ? ks->nchw_avg_bwd : ks->nchw_max_bwd)(x, k->dy + r0, k->dx + r0 * hw, rows, hw);
    }
}

/* Images [b0, b1), channels [j0, j1). */
static void run_nhwc(const gpi_call *k, size_t b0, size_t b1, size_t j0, size_t j1)
{
    const gpi_kernel_set *ks = k->v->kernels;
    size_t n = b1 - b0, c = j1 - j0, ldc = k->c, hw = k->hw;
    if (n == 0 || c == 0)
        return;
    size_t xoff = b0 * hw * ldc + j0, yoff = b0 * ldc + j0;
    int avg = k->v->op == GP_POOL_AVG;
    if (k->pass == GP_PASS_FORWARD) {
        (avg ? ks->nhwc_avg_fwd : ks->nhwc_max_fwd)(k->x + xoff, k->y + yoff, n, c, hw, ldc);
    } else {
        const float *x = k->x ? k->x + xoff : NULL;
        (avg ? ks->nhwc_avg_bwd : ks->nhwc_max_bwd)(x, k->dy + yoff, k->dx + xoff, n, c, hw, ldc);
    }
}

static void run_share(const gpi_call *k, int tid, int nthreads)
{
    gpi_cut cut = cut_of(k->v->layout, k->n, k->c, nthreads);
    gpi_range r = part_of(cut, k->n, k->c, tid, nthreads);
    if (cut == GPI_CUT_PLANES)
        run_nchw(k, r.begin, r.end);
    else if (cut == GPI_CUT_CHANNELS)
        run_nhwc(k, 0, k->n, r.begin, r.end);
    else
        run_nhwc(k, r.begin, r.end, 0, k->c);
}

static void run_call(const gpi_call *k)
{
#ifdef _OPENMP
    if (k->v->threaded && omp_get_max_threads() > 1) {
#pragma omp parallel
        run_share(k, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    run_share(k, 0, 1);
}

/* --------------------------------------------------------- entry points */

gp_status gp_global_pool_forward(const gp_pool_desc *d, const char *variant, const float *x,
                                 float *y)
{
    gp_status st = check_desc(d, "gp_global_pool_forward");
    if (st != GP_OK)
        return st;
    if (!x || !y)
        return gpi_fail(GP_ERR_ARG, "gp_global_pool_forward: %s is NULL", !x ? "x" : "y");
    gpi_call k = { .pass = GP_PASS_FORWARD, .x = x, .y = y, .n = d->n, .c = d->c,
                   .hw = d->h * d->w, .h = d->h, .w = d->w, .k = d->k };
    st = resolve(d, variant, &k.v);
    if (st != GP_OK)
        return st;
    run_call(&k);
    gpi_clear_error();
    return GP_OK;
}

gp_status gp_global_pool_backward(const gp_pool_desc *d, const char *variant, const float *x,
                                  const float *dy, float *dx)
{
    gp_status st = check_desc(d, "gp_global_pool_backward");
    if (st != GP_OK)
        return st;
    int needs_x = d->op != GP_POOL_AVG && d->op != GP_POOL_ADAPTIVE_AVG;
    if (!dy || !dx || (needs_x && !x))
        return gpi_fail(GP_ERR_ARG, "gp_global_pool_backward: %s is NULL",
                        !dy ? "dy" : !dx ? "dx" : "x (the op needs the input)");
    gpi_call k = { .pass = GP_PASS_BACKWARD, .x = needs_x ? x : NULL, .dy = dy, .dx = dx,
                   .n = d->n, .c = d->c, .hw = d->h * d->w, .h = d->h, .w = d->w, .k = d->k };
    st = resolve(d, variant, &k.v);
    if (st != GP_OK)
        return st;
    run_call(&k);
    gpi_clear_error();
    return GP_OK;
}
