/*
 * test_kpool.c - the top-k and adaptive pooling variants of the table (and
 * automatic dispatch) against a double-precision reference, through the
 * public API only.
 *
 * One cmocka test per (op, instruction set, threading), the table entry
 * skipped when this CPU or build cannot run it. Shapes: every plane size
 * from 1 to 40 elements as 1 x hw and as odd h x w (so every tail of 8- and
 * 16-lane vectors, and of the 4-vector blocks, with and without whole
 * vectors before it), planes just past the short-plane limit, and long
 * ones; channel counts around the 8- and 16-plane batches; k = 1..8 (the
 * SIMD paths), 9 and h x w for top-k, 1..7 and past h for the adaptive grids.
 *
 * What "correct" means (gpool.h):
 *   topk forward      within 2 ulps of the double mean of the k largest, and
 *                     bit for bit the scalar variant's result; NaN in, NaN out;
 *   topk backward     dy / (float)k exactly at the k the ranking picks (NaN
 *                     above numbers, ties to the first in scan order), +0.0
 *                     elsewhere;
 *   adaptive avg      |y - mean| <= 1e-6 mean|x| of the bin + 4 ulps;
 *   adaptive max      bit for bit the first NaN or first maximum of the bin;
 *   backward          the bins' shares summed in bin order (in float).
 * Data: U(-1,1), values on a coarse grid (ties, zeros of both signs), and a
 * plane with NaN or infinities. Outputs are prefilled with a sentinel.
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
static char context[200];

#define SENTINEL (-777.0f)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define FAILF(fmt, ...)                                                                  \
    fail_msg("%s: " fmt " (seed %llu: rerun with GPOOL_TEST_SEED=%llu)", context,         \
             __VA_ARGS__, (unsigned long long)seed, (unsigned long long)seed)

typedef struct {
    gp_pool_op op;
    int        automatic;
    gp_isa     isa;
    int        threaded;
} target;

static const char *name_of(const target *t)
{
    if (t->automatic)
        return tu_next() & 1 ? "auto" : NULL;
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        if (v.op == t->op && v.isa == t->isa && v.threaded == t->threaded)
            return v.available ? v.name : "";
    }
    fail_msg("no table entry for %s %s threaded=%d", gp_pool_op_name(t->op),
             gp_isa_name(t->isa), t->threaded);
    return NULL;
}

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static size_t outs_per_plane(const gp_pool_desc *d)
{
    return d->op == GP_POOL_TOPK ? 1 : d->k * d->k;
}

/* ------------------------------------------------------------ data */

typedef enum { DATA_UNIFORM, DATA_GRID, DATA_SPECIAL } data_kind;

/* U(-1,1); or values on a grid of 1/4 in [-1, 1] (ties everywhere, zeros of
 * both signs); or the grid with a NaN, +inf or -inf planted in some planes. */
static void fill(float *x, size_t count, size_t hw, data_kind kind)
{
    for (size_t i = 0; i < count; i++) {
        float v = tu_uniform(-1.0f, 1.0f);
        x[i] = kind == DATA_UNIFORM ? v : (float)((int)(v * 4.0f)) / 4.0f;
        if (kind != DATA_UNIFORM && x[i] == 0.0f && (tu_next() & 1))
            x[i] = -0.0f;
    }
    if (kind != DATA_SPECIAL)
        return;
    static const float specials[] = { NAN, INFINITY, -INFINITY };
    for (size_t p = 0; p < count / hw; p++)
        if (tu_next() % 3 == 0)
            x[p * hw + tu_next() % hw] = specials[tu_next() % 3];
}

static void fill_dy(float *dy, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = tu_uniform(0.25f, 2.0f);
        dy[i] = tu_next() & 1 ? v : -v;
    }
}

/* ------------------------------------------------------------ reference */

/* 1 when a ranks above b (both in one plane: a at i, b at j): NaN above
 * every number, then by value, -0.0 equal to 0.0, then the earlier first. */
static int ranks_above(float a, size_t i, float b, size_t j)
{
    if (isnan(a) != isnan(b))
        return isnan(a);
    if (!isnan(a) && a != b)
        return a > b;
    return i < j;
}

/* sel[0..k): the indices the ranking puts first, best first (selection by
 * repeated scans: the planes are small). */
static void topk_ref_select(const float *p, size_t hw, size_t k, size_t *sel)
{
    for (size_t r = 0; r < k; r++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < hw; i++) {
            int used = 0;
            for (size_t q = 0; q < r; q++)
                used |= sel[q] == i;
            if (!used && (best == SIZE_MAX || ranks_above(p[i], i, p[best], best)))
                best = i;
        }
        sel[r] = best;
    }
}

static void check_topk_plane(const float *p, size_t hw, size_t k, float y, float dy,
                             const float *dx, size_t plane)
{
    size_t *sel = malloc(k * sizeof *sel);
    assert_non_null(sel);
    topk_ref_select(p, hw, k, sel);
    double s = 0;
    for (size_t r = 0; r < k; r++)
        s += p[sel[r]];
    double mean = s / (double)k;
    if (isnan(mean) || isinf(mean)) {
        if (!(isnan(mean) ? isnan(y) : y == (float)mean))
            FAILF("plane %zu k=%zu: topk %g, want %g", plane, k, (double)y, mean);
    } else if (!(fabs((double)y - mean) <= 2.0 * ldexp(fabs(mean), -23) + 1e-300)) {
        FAILF("plane %zu k=%zu: topk %.9g, want %.9g", plane, k, (double)y, mean);
    }
    float g = dy / (float)k;
    for (size_t i = 0; i < hw; i++) {
        int picked = 0;
        for (size_t r = 0; r < k; r++)
            picked |= sel[r] == i;
        if (!same_bits(dx[i], picked ? g : 0.0f))
            FAILF("plane %zu k=%zu: dx[%zu] = %a, want %a", plane, k, i, (double)dx[i],
                  (double)(picked ? g : 0.0f));
    }
    free(sel);
}

typedef struct {
    size_t r0, r1, c0, c1;
} bin;

static bin bin_of(size_t i, size_t j, size_t h, size_t w, size_t k)
{
    bin b = { i * h / k, ((i + 1) * h + k - 1) / k, j * w / k, ((j + 1) * w + k - 1) / k };
    return b;
}

/* First NaN of the bin, else its first maximum, in row-major order. */
static size_t bin_arg(const float *p, size_t w, bin b)
{
    size_t best = b.r0 * w + b.c0;
    for (size_t a = b.r0; a < b.r1; a++)
        for (size_t c = b.c0; c < b.c1; c++) {
            size_t at = a * w + c;
            if (isnan(p[best]))
                return best;
            if (isnan(p[at]) || p[at] > p[best])
                best = at;
        }
    return best;
}

static void check_adaptive_bin(const gp_pool_desc *d, const float *p, bin b, float y,
                               size_t plane, size_t o)
{
    if (d->op == GP_POOL_ADAPTIVE_MAX) {
        float want = p[bin_arg(p, d->w, b)];
        if (!(isnan(want) ? isnan(y) : same_bits(y, want)))
            FAILF("plane %zu bin %zu: max %a, want %a", plane, o, (double)y, (double)want);
        return;
    }
    double s = 0, as = 0, count = (double)((b.r1 - b.r0) * (b.c1 - b.c0));
    for (size_t a = b.r0; a < b.r1; a++)
        for (size_t c = b.c0; c < b.c1; c++) {
            s += p[a * d->w + c];
            as += fabs(p[a * d->w + c]);
        }
    double mean = s / count;
    if (!isfinite(mean)) {
        if (!(isnan(mean) ? isnan(y) : y == (float)mean))
            FAILF("plane %zu bin %zu: avg %g, want %g", plane, o, (double)y, mean);
        return;
    }
    double tol = 1e-6 * as / count + 4.0 * ldexp(fabs(mean), -23);
    if (!(fabs((double)y - mean) <= tol))
        FAILF("plane %zu bin %zu: avg %.9g, want %.9g", plane, o, (double)y, mean);
}

/* The plane's dx: every bin's share added in bin order, in float. */
static void check_adaptive_backward(const gp_pool_desc *d, const float *p, const float *dy,
                                    const float *dx, size_t plane)
{
    size_t hw = d->h * d->w, k = d->k;
    float *want = calloc(hw, sizeof *want);
    assert_non_null(want);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            bin b = bin_of(i, j, d->h, d->w, k);
            if (d->op == GP_POOL_ADAPTIVE_MAX) {
                want[bin_arg(p, d->w, b)] += dy[i * k + j];
                continue;
            }
            float g = dy[i * k + j] / (float)((b.r1 - b.r0) * (b.c1 - b.c0));
            for (size_t a = b.r0; a < b.r1; a++)
                for (size_t c = b.c0; c < b.c1; c++)
                    want[a * d->w + c] += g;
        }
    for (size_t e = 0; e < hw; e++)
        if (!same_bits(dx[e], want[e]))
            FAILF("plane %zu: dx[%zu] = %a, want %a", plane, e, (double)dx[e], (double)want[e]);
    free(want);
}

/* ------------------------------------------------------------ one case */

static void check_plane(const gp_pool_desc *d, const float *x, const float *y,
                        const float *dy, const float *dx, size_t plane)
{
    size_t hw = d->h * d->w, outs = outs_per_plane(d);
    const float *p = x + plane * hw;
    if (d->op == GP_POOL_TOPK) {
        check_topk_plane(p, hw, d->k, y[plane], dy[plane], dx + plane * hw, plane);
        return;
    }
    for (size_t i = 0; i < d->k; i++)
        for (size_t j = 0; j < d->k; j++)
            check_adaptive_bin(d, p, bin_of(i, j, d->h, d->w, d->k),
                               y[plane * outs + i * d->k + j], plane, i * d->k + j);
    check_adaptive_backward(d, p, dy + plane * outs, dx + plane * hw, plane);
}

static float *must_alloc(size_t count, float value)
{
    float *p = malloc((count ? count : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < count; i++)
        p[i] = value;
    return p;
}

/* Forward and backward of one shape through `name`, checked plane by
 * plane; topk also bit for bit against the scalar variant. */
static void run_case(gp_pool_op op, const char *name, size_t n, size_t c, size_t h, size_t w,
                     size_t k, data_kind kind)
{
    gp_pool_desc d = { n, c, h, w, GP_LAYOUT_NCHW, op, k };
    size_t planes = n * c, hw = h * w, outs = planes * outs_per_plane(&d);
    float *x = must_alloc(planes * hw, 0), *y = must_alloc(outs, SENTINEL);
    float *dy = must_alloc(outs, 0), *dx = must_alloc(planes * hw, SENTINEL);
    fill(x, planes * hw, hw, kind);
    fill_dy(dy, outs);
    snprintf(context, sizeof context, "%s variant=%s n=%zu c=%zu h=%zu w=%zu k=%zu data=%d",
             gp_pool_op_name(op), name ? name : "NULL", n, c, h, w, k, (int)kind);
    gp_status st = gp_global_pool_forward(&d, name, x, y);
    if (st != GP_OK)
        FAILF("forward: %s", gp_last_error());
    st = gp_global_pool_backward(&d, name, x, dy, dx);
    if (st != GP_OK)
        FAILF("backward: %s", gp_last_error());
    for (size_t plane = 0; plane < planes; plane++)
        check_plane(&d, x, y, dy, dx, plane);
    if (op == GP_POOL_TOPK) {
        float *ys = must_alloc(outs, SENTINEL);
        assert_int_equal(gp_global_pool_forward(&d, "scalar", x, ys), GP_OK);
        for (size_t i = 0; i < outs; i++)
            if (!same_bits(y[i], ys[i]) && !(isnan(y[i]) && isnan(ys[i])))
                FAILF("plane %zu: %a, the scalar variant %a", i, (double)y[i], (double)ys[i]);
        free(ys);
    }
    free(x);
    free(y);
    free(dy);
    free(dx);
}

/* ------------------------------------------------------------ grids */

/* Plane sizes: every hw of 1..40 as a row and as the most square odd
 * factorisation, then past the short-plane limit (160) and long planes. */
static const size_t long_hw[][2] = { { 13, 13 }, { 7, 23 }, { 17, 15 }, { 31, 33 },
                                     { 56, 56 }, { 3, 1000 } };
static const size_t channels[] = { 1, 3, 8, 9, 17 };

static void topk_grid(const char *fixed, const target *t)
{
    for (size_t hw = 1; hw <= 40; hw++)
        for (size_t k = 1; k <= 9 && k <= hw; k++) {
            size_t h = 1;
            for (size_t f = 1; f * f <= hw; f++)
                if (hw % f == 0)
                    h = f;
            const char *name = fixed ? fixed : name_of(t);
            size_t c = channels[tu_next() % COUNT(channels)], n = 1 + tu_next() % 2;
            run_case(GP_POOL_TOPK, name, n, c, h, hw / h, k, (data_kind)(tu_next() % 3));
            run_case(GP_POOL_TOPK, name, 1, c, 1, hw, k == 9 ? hw : k, DATA_GRID);
        }
    for (size_t s = 0; s < COUNT(long_hw); s++)
        for (size_t k = 1; k <= 9; k++) {
            const char *name = fixed ? fixed : name_of(t);
            size_t c = channels[tu_next() % COUNT(channels)];
            for (int kind = 0; kind < 3; kind++)
                run_case(GP_POOL_TOPK, name, 1, c, long_hw[s][0], long_hw[s][1],
                         k == 9 ? 40 : k, (data_kind)kind);
        }
}

static void adaptive_grid(gp_pool_op op, const char *fixed, const target *t)
{
    for (size_t h = 1; h <= 9; h++)
        for (size_t w = 1; w <= 35; w += 1 + (w > 20) * 3)
            for (size_t k = 1; k <= 7; k++) {
                const char *name = fixed ? fixed : name_of(t);
                size_t c = channels[tu_next() % COUNT(channels)], n = 1 + tu_next() % 2;
                run_case(op, name, n, c, h, w, k, (data_kind)(tu_next() % 3));
            }
    for (size_t s = 0; s < COUNT(long_hw); s++)
        for (size_t k = 1; k <= 8; k++)
            for (int kind = 0; kind < 3; kind++)
                run_case(op, fixed ? fixed : name_of(t), 1, 2, long_hw[s][0], long_hw[s][1],
                         k == 8 ? 14 : k, (data_kind)kind);
}

static void variant_test(void **state)
{
    const target *t = *state;
    const char *name = t->automatic ? NULL : name_of(t);
    if (name && !name[0])
        skip();
    if (t->op == GP_POOL_TOPK)
        topk_grid(name, t);
    else
        adaptive_grid(t->op, name, t);
}

/* The same under a tuning that streams every slice (stream_min_bytes 0),
 * so that the test's small tensors take the paths that read several planes
 * side by side from equal runs (top-k's long planes, k = 1's global max),
 * with the run remainders of 9 and 17 planes. */
static void variant_test_streamed(void **state)
{
    const gp_pool_tuning always = { "always-stream", 0, 0, 0 };
    assert_int_equal(gp_pool_tuning_set(&always), GP_OK);
    variant_test(state);
    assert_int_equal(gp_pool_tuning_force("auto"), GP_OK);
}

/* ------------------------------------------------------------ errors */

static void argument_errors(void **state)
{
    (void)state;
    float x[24] = { 0.5f }, y[36], dy[36] = { 1.0f }, dx[24];
    gp_pool_desc nhwc = { 2, 1, 3, 4, GP_LAYOUT_NHWC, GP_POOL_TOPK, 2 };
    assert_int_equal(gp_global_pool_forward(&nhwc, NULL, x, y), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "NCHW"));
    gp_pool_desc d = { 2, 1, 3, 4, GP_LAYOUT_NCHW, GP_POOL_TOPK, 13 };
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "k=13"));
    d.k = 0;
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    d.k = 12;
    assert_int_equal(gp_global_pool_backward(&d, NULL, NULL, dy, dx), GP_ERR_ARG);
    assert_int_equal(gp_global_pool_backward(&d, NULL, x, dy, dx), GP_OK);
    d.op = GP_POOL_ADAPTIVE_AVG;
    d.k = 0;
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    d.k = 3;   /* a grid finer than the plane is PyTorch's too */
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_OK);
    assert_int_equal(gp_global_pool_backward(&d, NULL, NULL, dy, dx), GP_OK);
    d.op = GP_POOL_ADAPTIVE_MAX;
    assert_int_equal(gp_global_pool_backward(&d, NULL, NULL, dy, dx), GP_ERR_ARG);
    d.op = (gp_pool_op)GP_POOL_NOPS;
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    assert_string_equal(gp_pool_op_name(GP_POOL_ADAPTIVE_MAX), "adaptive_max");
    assert_string_equal(gp_pool_op_name((gp_pool_op)GP_POOL_NOPS), "?");
}

/* Every kpool entry of the table is one of the targets below, NCHW. */
static void table_has_kpool_entries(void **state)
{
    (void)state;
    int seen[3][3][2] = { { { 0 } } };
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        if (v.op < GP_POOL_TOPK)
            continue;
        assert_true(v.op < GP_POOL_NOPS);
        assert_int_equal(v.layout, GP_LAYOUT_NCHW);
        seen[v.op - GP_POOL_TOPK][v.isa][v.threaded]++;
    }
    for (int op = 0; op < 3; op++)
        for (int isa = 0; isa < 3; isa++)
            for (int thr = 0; thr < 2; thr++)
                assert_int_equal(seen[op][isa][thr], 1);
}

/* ------------------------------------------------------------ main */

#define T(OP, ISA, THR) { OP, 0, ISA, THR }
#define T3(ISA, THR) T(GP_POOL_TOPK, ISA, THR), T(GP_POOL_ADAPTIVE_AVG, ISA, THR), \
                     T(GP_POOL_ADAPTIVE_MAX, ISA, THR)

static const target targets[] = {
    T3(GP_ISA_SCALAR, 0), T3(GP_ISA_SCALAR, 1), T3(GP_ISA_AVX2, 0), T3(GP_ISA_AVX2, 1),
    T3(GP_ISA_AVX512, 0), T3(GP_ISA_AVX512, 1),
    { GP_POOL_TOPK, 1, GP_ISA_SCALAR, 0 },
    { GP_POOL_ADAPTIVE_AVG, 1, GP_ISA_SCALAR, 0 },
    { GP_POOL_ADAPTIVE_MAX, 1, GP_ISA_SCALAR, 0 },
};

#define NAMED(i, label) { label, variant_test, NULL, NULL, (void *)&targets[i] }
#define STREAMED(i, label) { label, variant_test_streamed, NULL, NULL, (void *)&targets[i] }

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed_announce("kpool");
#ifdef _OPENMP
    omp_set_num_threads(2); /* threaded variants really split */
#endif
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NAMED(0, "topk scalar"),       NAMED(1, "adaptive_avg scalar"),
        NAMED(2, "adaptive_max scalar"),
        NAMED(3, "topk scalar_omp"),   NAMED(4, "adaptive_avg scalar_omp"),
        NAMED(5, "adaptive_max scalar_omp"),
        NAMED(6, "topk avx2"),         NAMED(7, "adaptive_avg avx2"),
        NAMED(8, "adaptive_max avx2"),
        NAMED(9, "topk avx2_omp"),     NAMED(10, "adaptive_avg avx2_omp"),
        NAMED(11, "adaptive_max avx2_omp"),
        NAMED(12, "topk avx512"),      NAMED(13, "adaptive_avg avx512"),
        NAMED(14, "adaptive_max avx512"),
        NAMED(15, "topk avx512_omp"),  NAMED(16, "adaptive_avg avx512_omp"),
        NAMED(17, "adaptive_max avx512_omp"),
        NAMED(18, "topk auto"),        NAMED(19, "adaptive_avg auto"),
        NAMED(20, "adaptive_max auto"),
        STREAMED(6, "topk avx2 streamed"), STREAMED(12, "topk avx512 streamed"),
        cmocka_unit_test(argument_errors),
        cmocka_unit_test(table_has_kpool_entries),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
