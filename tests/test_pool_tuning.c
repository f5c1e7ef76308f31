/*
 * test_pool_tuning.c - a pool tuning (gp_pool_tuning) moves speed only:
 * every variant, op, layout and pass gives the same bits under each named
 * profile and under settings that drive every path the knobs choose
 * between (4 streams always or never, prefetch off or far), as under the
 * "intel" profile, the values the kernels were tuned with. Plus the API's
 * errors and what gp_pool_tuning_get reports.
 *
 * The shapes make the knobs matter: NCHW slices of 7 x 7 planes on both
 * sides of 1 and 2 MiB (stream_min_bytes), 14 x 14 planes (the AVX2 max
 * batches, or plane streams), NHWC images long enough for the flat
 * kernels' prefetch, long odd planes in a row count that is no multiple of
 * 4 (AVX2's plane streams with their remainders, only under "always").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gpool.h"
#include "testutil.h"

static uint64_t seed;

typedef struct {
    size_t n, c, h, w;
} shape;

static const shape shapes[] = {
    { 64, 512, 7, 7 },   /* 6.4 MB: streamed under every profile (1 thread) */
    { 32, 256, 7, 7 },   /* 1.6 MB: streamed under amd, one batch under intel */
    { 16, 96, 14, 14 },  /* 14 x 14 planes, 1.2 MB */
    { 4, 64, 56, 56 },   /* NHWC flat kernels over long images */
    { 3, 37, 5, 9 },     /* odd sizes: remainders everywhere */
    { 3, 37, 23, 29 },   /* long odd planes, 111 rows: the plane streams' tails */
};

/* Every setting the test forces: the profiles by name, then values past
 * both ends of each knob. */
static const gp_pool_tuning extremes[] = {
    { "always-stream-no-prefetch", 0, 0, 0 },
    { "never-stream-far-prefetch", 8192, SIZE_MAX, 4096 },
    { "near-prefetch", 64, (size_t)1 << 20, 64 },
};
static const char *const profiles[] = { "intel", "amd", "auto" };

static float *random_tensor(size_t count)
{
    float *x = tu_random_floats(count);
    assert_non_null(x);
    return x;
}

/* out = the pass of d under variant (forward: y; backward: dx from dy). */
static void run(const gp_pool_desc *d, const char *variant, gp_pass pass, const float *x,
                const float *dy, float *out)
{
    gp_status st = pass == GP_PASS_FORWARD ? gp_global_pool_forward(d, variant, x, out)
                                           : gp_global_pool_backward(d, variant, x, dy, out);
    if (st != GP_OK)
        fail_msg("%s %s: %s", variant, gp_pass_name(pass), gp_last_error());
}

/* Force setting k (the profiles first, then the extremes). */
static void force_setting(size_t k)
{
    size_t np = sizeof profiles / sizeof profiles[0];
    gp_status st = k < np ? gp_pool_tuning_force(profiles[k]) : gp_pool_tuning_set(&extremes[k - np]);
    assert_int_equal(st, GP_OK);
}

/* One variant, op, layout and pass on shape s: every setting against intel's bits. */
static void check_variant(const gp_variant_info *v, const shape *s, gp_pass pass)
{
    gp_pool_desc d = { s->n, s->c, s->h, s->w, v->layout, v->op, 0 };
    size_t nx = s->n * s->c * s->h * s->w, ny = s->n * s->c;
    size_t nout = pass == GP_PASS_FORWARD ? ny : nx;
    float *x = random_tensor(nx), *dy = random_tensor(ny);
    float *ref = malloc(nout * sizeof *ref), *got = malloc(nout * sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    assert_int_equal(gp_pool_tuning_force("intel"), GP_OK);
    run(&d, v->name, pass, x, dy, ref);
    size_t nsettings = sizeof profiles / sizeof profiles[0] + sizeof extremes / sizeof extremes[0];
    for (size_t k = 0; k < nsettings; k++) {
        force_setting(k);
        memset(got, 0xA5, nout * sizeof *got); /* a NaN pattern no kernel writes */
        run(&d, v->name, pass, x, dy, got);
        gp_pool_tuning t;
        assert_int_equal(gp_pool_tuning_get(&t), GP_OK);
        if (memcmp(ref, got, nout * sizeof *got))
            fail_msg("%s %s %s %s %zux%zux%zux%zu: tuning %s changed the result (seed %llu)",
                     v->name, gp_pool_op_name(v->op), gp_layout_name(v->layout),
                     gp_pass_name(pass), s->n, s->c, s->h, s->w, t.name,
                     (unsigned long long)seed);
    }
    free(x);
    free(dy);
    free(ref);
    free(got);
}

/* Every available avg and max variant (the SIMD ones are what the knobs touch). */
static void test_bits_unchanged(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < gp_variant_count(); i++) {
        gp_variant_info v;
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        if (!v.available || (v.op != GP_POOL_AVG && v.op != GP_POOL_MAX))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            check_variant(&v, &shapes[s], GP_PASS_FORWARD);
            check_variant(&v, &shapes[s], GP_PASS_BACKWARD);
        }
        checked++;
    }
    assert_true(checked >= 4); /* scalar at least: 2 ops x 2 layouts */
    assert_int_equal(gp_pool_tuning_force(NULL), GP_OK);
}

static void test_api(void **state)
{
    (void)state;
    gp_pool_tuning t;
    assert_int_equal(gp_pool_tuning_force("amd"), GP_OK);
    assert_int_equal(gp_pool_tuning_get(&t), GP_OK);
    assert_string_equal(t.name, "amd");
    assert_int_equal(gp_pool_tuning_force("intel"), GP_OK);
    assert_int_equal(gp_pool_tuning_get(&t), GP_OK);
    assert_string_equal(t.name, "intel");
    assert_int_equal(t.stream_min_bytes, (size_t)2 << 20);
    assert_int_equal(gp_pool_tuning_force("zen9"), GP_ERR_NOTFOUND);
    assert_non_null(strstr(gp_last_error(), "zen9"));
    assert_int_equal(gp_pool_tuning_get(&t), GP_OK); /* a failed force leaves intel */
    assert_string_equal(t.name, "intel");
    assert_int_equal(gp_pool_tuning_set(&extremes[1]), GP_OK);
    assert_int_equal(gp_pool_tuning_get(&t), GP_OK);
    assert_string_equal(t.name, extremes[1].name);
    assert_int_equal(t.batch_prefetch, 4096);
    gp_pool_tuning bad = { "far", 1 << 20, 0, 0 };
    assert_int_equal(gp_pool_tuning_set(&bad), GP_ERR_ARG);
    assert_int_equal(gp_pool_tuning_set(NULL), GP_ERR_ARG);
    assert_int_equal(gp_pool_tuning_get(NULL), GP_ERR_ARG);
    assert_int_equal(gp_pool_tuning_force("auto"), GP_OK);
    assert_int_equal(gp_pool_tuning_get(&t), GP_OK);
    assert_true(!strcmp(t.name, "intel") || !strcmp(t.name, "amd"));
}

int main(void)
{
    seed = tu_seed_announce("pool_tuning");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bits_unchanged),
        cmocka_unit_test(test_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
