/*
 * test_pool.c - every variant of the table (and automatic dispatch) against
 * a double-precision reference, through the public API only.
 *
 * One cmocka test per (op, layout, instruction set, threading) - the table
 * entry is looked up by those properties and skipped when this CPU or build
 * cannot run it - plus automatic dispatch, inputs of 1e4 + U(-1,1), special
 * values, argument errors and unknown names.
 *
 * What "correct" means (gpool.h, gpi_kernels.h):
 *   avg forward   |y - mean| <= 1e-6 * mean(|x|) of the plane + 4 ulps of y
 *                 (a NaN or infinite mean must come out the same);
 *   avg backward  every dx of a plane is exactly dy / (float)hw;
 *   max forward   bit for bit: the first NaN (NaN-ness only) or the maximum,
 *                 a zero maximum with the sign of the first zero;
 *   max backward  dx is +0.0 except at the first NaN, else the first
 *                 maximum in scan order (p = h * W + w ascending), = dy.
 *
 * Data are random with a fresh seed per run (testutil.h); a failure prints
 * the seed and how to rerun with it. Outputs are prefilled with a sentinel
 * that no check accepts, so an element a kernel forgets is a failure.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool.h"
#include "testutil.h"

static uint64_t seed;
static char context[160]; /* what is being tested, for failure messages */

#define SENTINEL (-777.0f)

/* ------------------------------------------------------------ targets */

/* What one test runs: the table entry with these properties, or "auto". */
typedef struct {
    gp_pool_op op;
    gp_layout  layout;
    int        automatic;  /* 1: NULL / "auto" instead of a table entry */
    gp_isa     isa;
    int        threaded;
} target;

/* The table entry of t (its name and availability); fails if missing. */
static gp_variant_info entry_of(const target *t)
{
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        if (v.op == t->op && v.layout == t->layout && v.isa == t->isa &&
            v.threaded == t->threaded)
            return v;
    }
    fail_msg("no table entry for %s %s %s threaded=%d", gp_pool_op_name(t->op),
             gp_layout_name(t->layout), gp_isa_name(t->isa), t->threaded);
    gp_variant_info none = { 0 };
    return none;
}

/* ------------------------------------------------------------ tensors */

typedef struct {
    gp_pool_desc d;
    size_t       hw, planes, count; /* h*w, n*c, n*c*h*w */
} tensor_shape;

static tensor_shape shape_of(size_t n, size_t c, size_t h, size_t w, gp_layout layout,
                             gp_pool_op op)
{
    tensor_shape s = { { n, c, h, w, layout, op, 0 }, h * w, n * c, n * c * h * w };
    return s;
}

/* Index in x of element p of channel j of image b. */
static size_t xi(const tensor_shape *s, size_t b, size_t j, size_t p)
{
    if (s->d.layout == GP_LAYOUT_NCHW)
        return (b * s->d.c + j) * s->hw + p;
    return (b * s->hw + p) * s->d.c + j;
}

static void fill_uniform(float *x, size_t count, float base)
{
    for (size_t i = 0; i < count; i++)
        x[i] = base + tu_uniform(-1.0f, 1.0f);
}

/* dy: never zero, so that every backward check can fail. */
static void fill_dy(float *dy, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = tu_uniform(0.25f, 2.0f);
        dy[i] = tu_next() & 1 ? v : -v;
    }
}

static void fill_value(float *p, size_t count, float v)
{
    for (size_t i = 0; i < count; i++)
        p[i] = v;
}

/* ---------------------------------------------------------- reference */

/* Per plane, in double: sum, sum of |x|, and the element max selects. */
typedef struct {
    double sum, asum;
    float  best;
    size_t arg;  /* first NaN, else first maximum */
    int    nan;
} plane_ref;

static void ref_visit(plane_ref *r, float v, size_t p)
{
    r->sum += v;
    r->asum += fabs(v);
    if (p == 0) {
        r->best = v;
        r->arg = 0;
        r->nan = isnan(v);
    } else if (!r->nan && (isnan(v) || v > r->best)) {
        r->best = v;
        r->arg = p;
        r->nan = isnan(v);
    }
}

/* The reference for every plane, visiting x in memory order. */
static plane_ref *reference(const tensor_shape *s, const float *x)
{
    plane_ref *r = calloc(s->planes, sizeof *r);
    assert_non_null(r);
    const size_t n = s->d.n, c = s->d.c, hw = s->hw;
    for (size_t b = 0; b < n; b++) {
        if (s->d.layout == GP_LAYOUT_NCHW) {
            for (size_t j = 0; j < c; j++)
                for (size_t p = 0; p < hw; p++)
                    ref_visit(&r[b * c + j], x[xi(s, b, j, p)], p);
        } else {
            for (size_t p = 0; p < hw; p++)
                for (size_t j = 0; j < c; j++)
                    ref_visit(&r[b * c + j], x[xi(s, b, j, p)], p);
        }
    }
    return r;
}

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* -------------------------------------------------------------- checks */

#define FAIL_AT(s, what, name, b, j, ...)                                       \
    fail_msg("%s %s variant=%s n=%zu c=%zu h=%zu w=%zu (%s) image %zu channel %zu: " what \
             " (seed %llu: rerun with GPOOL_TEST_SEED=%llu)",                   \
             gp_pool_op_name((s)->d.op), gp_layout_name((s)->d.layout), (name) ? (name) : "NULL", \
             (s)->d.n, (s)->d.c, (s)->d.h, (s)->d.w, context, (size_t)(b), (size_t)(j), \
             __VA_ARGS__, (unsigned long long)seed, (unsigned long long)seed)

static void check_forward(const tensor_shape *s, const char *name, const plane_ref *ref,
                          const float *x, const float *y)
{
    for (size_t i = 0; i < s->planes; i++) {
        size_t b = i / s->d.c, j = i % s->d.c;
        const plane_ref *r = &ref[i];
        if (s->d.op == GP_POOL_MAX) {
            float want = x[xi(s, b, j, r->arg)];
            if (!(isnan(want) ? isnan(y[i]) : same_bits(y[i], want)))
                FAIL_AT(s, "max %a, want %a", name, b, j, (double)y[i], (double)want);
            continue;
        }
        double mean = r->sum / (double)s->hw;
        if (!isfinite(mean)) {
            if (!(isnan(mean) ? isnan(y[i]) : y[i] == (float)mean))
                FAIL_AT(s, "avg %g, want %g", name, b, j, (double)y[i], mean);
            continue;
        }
        double tol = 1e-6 * (r->asum / (double)s->hw) + 4.0 * ldexp(fabs(mean), -23);
        if (!(fabs((double)y[i] - mean) <= tol))
            FAIL_AT(s, "avg %.9g, want %.9g (error %.3g > %.3g)", name, b, j, (double)y[i],
                    mean, fabs((double)y[i] - mean), tol);
    }
}

static void check_backward(const tensor_shape *s, const char *name, const plane_ref *ref,
                           const float *dy, const float *dx)
{
    for (size_t i = 0; i < s->planes; i++) {
        size_t b = i / s->d.c, j = i % s->d.c;
        float g = dy[i] / (float)s->hw;
        for (size_t p = 0; p < s->hw; p++) {
            float got = dx[xi(s, b, j, p)];
            float want = s->d.op == GP_POOL_AVG ? g : p == ref[i].arg ? dy[i] : 0.0f;
            if (!same_bits(got, want))
                FAIL_AT(s, "dx[p=%zu] = %a, want %a (max at p=%zu)", name, b, j, p,
                        (double)got, (double)want, ref[i].arg);
        }
    }
}

/* Forward and backward of one tensor x through variant `name`. */
static void run_and_check(const tensor_shape *s, const char *name, const float *x)
{
    plane_ref *ref = reference(s, x);
    float *y = malloc(s->planes * sizeof *y), *dy = malloc(s->planes * sizeof *dy);
    float *dx = malloc(s->count * sizeof *dx);
    assert_true(y && dy && dx);

    fill_value(y, s->planes, SENTINEL);
    gp_status st = gp_global_pool_forward(&s->d, name, x, y);
    if (st != GP_OK)
        fail_msg("forward %s: status %d: %s", name ? name : "NULL", (int)st, gp_last_error());
    check_forward(s, name, ref, x, y);

    fill_dy(dy, s->planes);
    fill_value(dx, s->count, SENTINEL);
    st = gp_global_pool_backward(&s->d, name, s->d.op == GP_POOL_MAX ? x : NULL, dy, dx);
    if (st != GP_OK)
        fail_msg("backward %s: status %d: %s", name ? name : "NULL", (int)st, gp_last_error());
    check_backward(s, name, ref, dy, dx);

    free(ref);
    free(y);
    free(dy);
    free(dx);
}

/* ---------------------------------------------------------- the grid */

/* Channel counts and plane sizes: 1, vector-lane edges (7, 15, 16, 17, 63,
 * 64, 65), 1000 and 224 x 224. */
static const size_t grid_c[] = { 1, 2, 7, 15, 16, 17, 63, 64, 65, 1000, 50176 };
static const struct { size_t h, w; } grid_hw[] = {
    { 1, 1 }, { 1, 2 }, { 1, 7 }, { 3, 5 }, { 4, 4 }, { 1, 17 },
    { 7, 9 }, { 8, 8 }, { 5, 13 }, { 25, 40 }, { 224, 224 },
};
/* Pairs with more elements per image than this are left out (1000 x 50176,
 * 50176 x 1000, ...): they add run time and nothing the others miss. */
#define GRID_MAX_IMAGE ((size_t)4 << 20)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every (c, hw) pair of the grid with a batch of 1 to 3 images. */
static void run_grid(const target *t, const char *fixed_name)
{
    size_t call = 0;
    for (size_t ci = 0; ci < COUNT(grid_c); ci++) {
        for (size_t hi = 0; hi < COUNT(grid_hw); hi++) {
            size_t c = grid_c[ci], h = grid_hw[hi].h, w = grid_hw[hi].w;
            if (c * h * w > GRID_MAX_IMAGE)
                continue;
            size_t n = 1 + (size_t)(tu_next() % 3);
            tensor_shape s = shape_of(n, c, h, w, t->layout, t->op);
            float *x = malloc(s.count * sizeof *x);
            assert_non_null(x);
            fill_uniform(x, s.count, 0.0f);
            const char *name = fixed_name;
            if (!name && t->automatic)
                name = call % 2 ? "auto" : NULL;
            snprintf(context, sizeof context, "U(-1,1) data");
            run_and_check(&s, name, x);
            call++;
            free(x);
        }
    }
}

/* ---------------------------------------------------- special values */

typedef enum {
    SP_NAN_ONE,     /* one NaN */
    SP_NAN_TWO,     /* two NaNs: the first one counts */
    SP_NAN_AFTER_INF, /* +inf, then a NaN later */
    SP_POS_INF,     /* one +inf */
    SP_NEG_INF,     /* one -inf among finite values */
    SP_ALL_NEG_INF, /* every element -inf */
    SP_BOTH_INF,    /* +inf and -inf: avg is NaN */
    SP_TIE,         /* the maximum twice: the first one counts */
    SP_ZERO_NEG_FIRST, /* all < 0 but -0.0, then +0.0 */
    SP_ZERO_POS_FIRST, /* all < 0 but +0.0, then -0.0 */
    SP_COUNT
} special_kind;

static const char *const special_names[SP_COUNT] = {
    "one NaN", "two NaNs", "+inf then NaN", "+inf", "-inf", "all -inf", "+inf and -inf",
    "tie", "-0.0 before +0.0", "+0.0 before -0.0",
};

/* Position of the first special element in plane i: first, last, middle or
 * random in turn, so that vector heads and tails are all hit. */
static size_t special_pos(size_t i, size_t hw)
{
    switch (i % 4) {
    case 0: return 0;
    case 1: return hw - 1;
    case 2: return hw / 2;
    default: return (size_t)(tu_next() % hw);
    }
}

/* A second position after k, if there is room (else k itself). */
static size_t later_pos(size_t k, size_t hw)
{
    return k + 1 < hw ? k + 1 + (size_t)(tu_next() % (hw - k - 1)) : k;
}

static void set_special(const tensor_shape *s, float *x, size_t b, size_t j, special_kind kind,
                        size_t k)
{
    size_t hw = s->hw, k2 = later_pos(k, hw);
#define AT(p) x[xi(s, b, j, (p))]
    switch (kind) {
    case SP_NAN_ONE: AT(k) = NAN; break;
    case SP_NAN_TWO: AT(k) = NAN; AT(k2) = -NAN; break;
    case SP_NAN_AFTER_INF: AT(k) = INFINITY; if (k2 != k) AT(k2) = NAN; break;
    case SP_POS_INF: AT(k) = INFINITY; break;
    case SP_NEG_INF: AT(k) = -INFINITY; break;
    case SP_ALL_NEG_INF: for (size_t p = 0; p < hw; p++) AT(p) = -INFINITY; break;
    case SP_BOTH_INF: AT(k) = INFINITY; if (k2 != k) AT(k2) = -INFINITY; break;
    case SP_TIE: AT(k) = 2.0f; AT(k2) = 2.0f; break;
    case SP_ZERO_NEG_FIRST:
    case SP_ZERO_POS_FIRST:
        for (size_t p = 0; p < hw; p++)
            AT(p) = -tu_uniform(0.5f, 1.0f);
        AT(k) = kind == SP_ZERO_NEG_FIRST ? -0.0f : 0.0f;
        if (k2 != k)
            AT(k2) = kind == SP_ZERO_NEG_FIRST ? 0.0f : -0.0f;
        break;
    default: break;
    }
#undef AT
}

/* Shapes for the special values: plane sizes around 8- and 16-lane vectors,
 * enough planes for the kernels' batches of short planes, long planes, small
 * and large c (NHWC flat streams, row blocks, channel slices). */
static const size_t special_shapes[][4] = {
    { 1, 1, 1, 1 },    { 2, 3, 1, 7 },    { 1, 17, 1, 17 }, { 3, 10, 7, 7 },
    { 1, 2, 5, 13 },   { 2, 16, 7, 7 },   { 1, 40, 14, 14 }, { 1, 16, 15, 16 },
    { 1, 32, 11, 11 }, { 3, 33, 1, 9 },   { 2, 4, 1, 1025 }, { 17, 3, 1, 5 },
    { 1, 520, 1, 19 }, { 2, 64, 1, 3 },
};

/* Specials in a few planes among ordinary ones: a batch of short planes, or
 * a group of batches read together, must settle the odd plane without
 * disturbing its neighbours. Two are over 2 MiB, where the AVX-512 NCHW
 * kernel reads four runs of batches at once (pool_avx512.c,
 * STREAM_MIN_BYTES), and their batch counts leave a remainder after those
 * runs; the last two are NHWC images long enough for its flat max kernel
 * to read in four parts. */
static const size_t sparse_shapes[][4] = {
    { 1, 200, 7, 7 }, { 2, 130, 1, 33 }, { 1, 70, 14, 14 }, { 1, 300, 1, 1 },
    { 11, 1000, 7, 7 }, { 1, 2750, 14, 14 }, { 2, 64, 28, 28 }, { 1, 48, 30, 30 },
};
#define SPARSE_STRIDE 23 /* one plane in this many is special */

static void run_special_shapes(const target *t, const char *fixed_name, const size_t (*shapes)[4],
                               size_t nshapes, size_t stride, const char *what)
{
    size_t call = 0;
    for (size_t si = 0; si < nshapes; si++) {
        const size_t *sh = shapes[si];
        tensor_shape s = shape_of(sh[0], sh[1], sh[2], sh[3], t->layout, t->op);
        float *x = malloc(s.count * sizeof *x);
        assert_non_null(x);
        for (int kind = 0; kind < SP_COUNT; kind++) {
            fill_uniform(x, s.count, 0.0f);
            size_t first = (size_t)kind * 5 % stride;
            for (size_t i = first; i < s.planes; i += stride)
                set_special(&s, x, i / s.d.c, i % s.d.c, (special_kind)kind,
                            special_pos(i + (size_t)kind, s.hw));
            const char *name = fixed_name;
            if (!name && t->automatic)
                name = call % 2 ? "auto" : NULL;
            call++;
            snprintf(context, sizeof context, "%s: %s", what, special_names[kind]);
            run_and_check(&s, name, x);
        }
        free(x);
    }
}

static void run_specials(const target *t, const char *fixed_name)
{
    run_special_shapes(t, fixed_name, special_shapes, COUNT(special_shapes), 1,
                       "special values");
    run_special_shapes(t, fixed_name, sparse_shapes, COUNT(sparse_shapes), SPARSE_STRIDE,
                       "special values in a few planes");
}

/* ------------------------------------------------------------- tests */

static void variant_test(void **state)
{
    const target *t = *state;
    const char *name = NULL;
    if (!t->automatic) {
        gp_variant_info v = entry_of(t);
        if (!v.available)
            skip();
        name = v.name;
    }
    run_grid(t, name);
    run_specials(t, name);
}

/* Large offsets: 1e4 + U(-1,1), and a nearly constant 1e4 + 1/3 (+-2^-10),
 * whose rounding errors in a float running sum mostly go the same way. A plain
 * float accumulation of 224 x 224 of either is off by more than 1e-6
 * relative; every avg variant must hold the bound. */
static void avg_large_offset(void **state)
{
    (void)state;
    static const size_t shapes[][4] = {
        { 1, 1, 224, 224 }, { 2, 3, 224, 224 }, { 1, 17, 224, 224 },
        { 3, 64, 25, 40 },  { 2, 1000, 7, 7 },  { 5, 16, 1, 15 },
    };
    for (int layout = 0; layout < 2; layout++) {
        for (size_t i = 0; i < gp_variant_count() + 1; i++) {
            const char *name = "auto";
            if (i < gp_variant_count()) {
                gp_variant_info v;
                assert_int_equal(gp_variant_get(i, &v), GP_OK);
                if (v.op != GP_POOL_AVG || v.layout != (gp_layout)layout || !v.available)
                    continue;
                name = v.name;
            }
            for (size_t k = 0; k < COUNT(shapes); k++) {
                const size_t *sh = shapes[k];
                tensor_shape s = shape_of(sh[0], sh[1], sh[2], sh[3], (gp_layout)layout,
                                          GP_POOL_AVG);
                float *x = malloc(s.count * sizeof *x);
                assert_non_null(x);
                fill_uniform(x, s.count, 1e4f);
                snprintf(context, sizeof context, "1e4 + U(-1,1) data");
                run_and_check(&s, name, x);
                for (size_t e = 0; e < s.count; e++)
                    x[e] = 1e4f + 1.0f / 3.0f + tu_uniform(-1.0f, 1.0f) / 1024.0f;
                snprintf(context, sizeof context, "1e4 + 1/3 + U(-1,1)/1024 data");
                run_and_check(&s, name, x);
                free(x);
            }
        }
    }
}

/* Each avg and max entry of the table must be one of the targets tested
 * above (the other ops' entries are test_kpool's). */
static void table_is_covered(void **state)
{
    (void)state;
    assert_true(gp_variant_count() > 0);
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        assert_non_null(v.name);
        if (v.op != GP_POOL_AVG && v.op != GP_POOL_MAX)
            continue;
        assert_true(v.layout == GP_LAYOUT_NCHW || v.layout == GP_LAYOUT_NHWC);
        assert_true(v.isa == GP_ISA_SCALAR || v.isa == GP_ISA_AVX2 || v.isa == GP_ISA_AVX512);
        assert_true(v.threaded == 0 || v.threaded == 1);
        if (v.isa == GP_ISA_SCALAR && !v.threaded)
            assert_true(v.available); /* the portable kernels always run */
    }
}

static void expect_arg_error(gp_status st)
{
    assert_int_equal(st, GP_ERR_ARG);
    assert_non_null(gp_last_error());
    assert_true(strlen(gp_last_error()) > 0);
}

static void argument_errors(void **state)
{
    (void)state;
    float x[24], y[2], dy[2], dx[24];
    fill_uniform(x, 24, 0.0f);
    fill_dy(dy, 2);
    for (int op = 0; op < 2; op++) {
        for (int layout = 0; layout < 2; layout++) {
            gp_pool_desc d = { 2, 1, 3, 4, (gp_layout)layout, (gp_pool_op)op, 0 };
            expect_arg_error(gp_global_pool_forward(NULL, NULL, x, y));
            expect_arg_error(gp_global_pool_forward(&d, NULL, NULL, y));
            expect_arg_error(gp_global_pool_forward(&d, NULL, x, NULL));
            expect_arg_error(gp_global_pool_backward(NULL, NULL, x, dy, dx));
            expect_arg_error(gp_global_pool_backward(&d, NULL, x, NULL, dx));
            expect_arg_error(gp_global_pool_backward(&d, NULL, x, dy, NULL));
            for (int field = 0; field < 4; field++) {
                gp_pool_desc z = d;
                size_t *dim[4] = { &z.n, &z.c, &z.h, &z.w };
                *dim[field] = 0;
                expect_arg_error(gp_global_pool_forward(&z, NULL, x, y));
                expect_arg_error(gp_global_pool_backward(&z, NULL, x, dy, dx));
            }
            /* the same call with valid arguments succeeds */
            assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_OK);
            assert_string_equal(gp_last_error(), "");
        }
    }
    /* max needs x to find the maximum; avg does not */
    gp_pool_desc dmax = { 2, 1, 3, 4, GP_LAYOUT_NCHW, GP_POOL_MAX, 0 };
    expect_arg_error(gp_global_pool_backward(&dmax, NULL, NULL, dy, dx));
    gp_pool_desc davg = { 2, 1, 3, 4, GP_LAYOUT_NCHW, GP_POOL_AVG, 0 };
    fill_value(dx, 24, SENTINEL);
    assert_int_equal(gp_global_pool_backward(&davg, NULL, NULL, dy, dx), GP_OK);
    assert_true(same_bits(dx[0], dy[0] / 12.0f) && same_bits(dx[23], dy[1] / 12.0f));
}

static void unknown_variant(void **state)
{
    (void)state;
    float x[12], y[1], dy[1] = { 1.5f }, dx[12];
    fill_uniform(x, 12, 0.0f);
    for (int op = 0; op < 2; op++) {
        gp_pool_desc d = { 1, 1, 3, 4, GP_LAYOUT_NHWC, (gp_pool_op)op, 0 };
        assert_int_equal(gp_global_pool_forward(&d, "no_such_variant", x, y), GP_ERR_NOTFOUND);
        assert_true(strlen(gp_last_error()) > 0);
        assert_int_equal(gp_global_pool_backward(&d, "avx512x", x, dy, dx), GP_ERR_NOTFOUND);
        assert_true(strlen(gp_last_error()) > 0);
        assert_int_equal(gp_global_pool_forward(&d, "", x, y), GP_ERR_NOTFOUND);
    }
}

/* ------------------------------------------------------------- main */

#define T(OP, LAYOUT, ISA, THR) { OP, LAYOUT, 0, ISA, THR }
#define T4(ISA, THR)                                                            \
    T(GP_POOL_AVG, GP_LAYOUT_NCHW, ISA, THR), T(GP_POOL_MAX, GP_LAYOUT_NCHW, ISA, THR), \
    T(GP_POOL_AVG, GP_LAYOUT_NHWC, ISA, THR), T(GP_POOL_MAX, GP_LAYOUT_NHWC, ISA, THR)

static const target targets[] = {
    T4(GP_ISA_SCALAR, 0), T4(GP_ISA_SCALAR, 1),
    T4(GP_ISA_AVX2, 0),   T4(GP_ISA_AVX2, 1),
    T4(GP_ISA_AVX512, 0), T4(GP_ISA_AVX512, 1),
    { GP_POOL_AVG, GP_LAYOUT_NCHW, 1, GP_ISA_SCALAR, 0 },
    { GP_POOL_MAX, GP_LAYOUT_NCHW, 1, GP_ISA_SCALAR, 0 },
    { GP_POOL_AVG, GP_LAYOUT_NHWC, 1, GP_ISA_SCALAR, 0 },
    { GP_POOL_MAX, GP_LAYOUT_NHWC, 1, GP_ISA_SCALAR, 0 },
};

#define NAMED(i, label) { label, variant_test, NULL, NULL, (void *)&targets[i] }

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("pool");
#ifdef _OPENMP
    omp_set_num_threads(2); /* threaded variants really split, also for n = 1 */
#endif
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NAMED(0, "avg nchw scalar"),      NAMED(1, "max nchw scalar"),
        NAMED(2, "avg nhwc scalar"),      NAMED(3, "max nhwc scalar"),
        NAMED(4, "avg nchw scalar_omp"),  NAMED(5, "max nchw scalar_omp"),
        NAMED(6, "avg nhwc scalar_omp"),  NAMED(7, "max nhwc scalar_omp"),
        NAMED(8, "avg nchw avx2"),        NAMED(9, "max nchw avx2"),
        NAMED(10, "avg nhwc avx2"),       NAMED(11, "max nhwc avx2"),
        NAMED(12, "avg nchw avx2_omp"),   NAMED(13, "max nchw avx2_omp"),
        NAMED(14, "avg nhwc avx2_omp"),   NAMED(15, "max nhwc avx2_omp"),
        NAMED(16, "avg nchw avx512"),     NAMED(17, "max nchw avx512"),
        NAMED(18, "avg nhwc avx512"),     NAMED(19, "max nhwc avx512"),
        NAMED(20, "avg nchw avx512_omp"), NAMED(21, "max nchw avx512_omp"),
        NAMED(22, "avg nhwc avx512_omp"), NAMED(23, "max nhwc avx512_omp"),
        NAMED(24, "avg nchw auto"),       NAMED(25, "max nchw auto"),
        NAMED(26, "avg nhwc auto"),       NAMED(27, "max nhwc auto"),
        cmocka_unit_test(avg_large_offset),
        cmocka_unit_test(table_is_covered),
        cmocka_unit_test(argument_errors),
        cmocka_unit_test(unknown_variant),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
