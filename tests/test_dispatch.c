/*
 * test_dispatch.c - the dispatch rule, tested as a rule (no timing):
 * widest visible ISA; threaded only with > 1 thread and when the cut takes at
 * least GP_THREAD_MIN_OFFLOAD_BYTES off the busiest thread; forcing by name
 * (API and GPOOL_VARIANT); hiding ISAs (API and GPOOL_CPU_MASK); clear errors
 * for what cannot run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpool.h"

/* NCHW avg shape whose x holds exactly `bytes` bytes (bytes % 4 == 0). */
static gp_pool_desc desc_of_bytes(size_t bytes, gp_layout layout, gp_pool_op op)
{
    gp_pool_desc d = { .n = 1, .c = 1, .h = 1, .w = bytes / sizeof(float),
                       .layout = layout, .op = op };
    return d;
}

static gp_isa widest_native(void)
{
    if (gp_cpu_has_native(GP_ISA_AVX512)) return GP_ISA_AVX512;
    if (gp_cpu_has_native(GP_ISA_AVX2)) return GP_ISA_AVX2;
    return GP_ISA_SCALAR;
}

static gp_variant_info select_for(size_t bytes)
{
    gp_variant_info v;
    gp_pool_desc d = desc_of_bytes(bytes, GP_LAYOUT_NCHW, GP_POOL_AVG);
    assert_int_equal(gp_select_variant(&d, GP_PASS_FORWARD, &v), GP_OK);
    return v;
}

/* Whether automatic dispatch threads an n x c x h x w call (forward and
 * backward must agree). */
static int threaded_for(size_t n, size_t c, size_t h, size_t w, gp_layout layout)
{
    gp_variant_info fwd, bwd;
    gp_pool_desc d = { .n = n, .c = c, .h = h, .w = w, .layout = layout, .op = GP_POOL_AVG };
    assert_int_equal(gp_select_variant(&d, GP_PASS_FORWARD, &fwd), GP_OK);
    d.op = GP_POOL_MAX;
    assert_int_equal(gp_select_variant(&d, GP_PASS_BACKWARD, &bwd), GP_OK);
    assert_int_equal(fwd.threaded, bwd.threaded);
    return fwd.threaded;
}

/* Run fn in a child with one environment variable set, before this process
 * has touched the library, so the child's one-time detection sees it. */
static int run_in_child_with_env(const char *var, const char *value, int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv(var, value, 1);
        _exit(fn());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int child_expect_env_error(void)
{
    gp_pool_desc d = desc_of_bytes(64, GP_LAYOUT_NCHW, GP_POOL_AVG);
    float x[16] = { 1 }, y[1];
    if (gp_global_pool_forward(&d, NULL, x, y) != GP_ERR_ENV)
        return 1;
    return strstr(gp_last_error(), "bogus") ? 0 : 2;
}

static int child_expect_avx2_or_less(void)
{
    gp_variant_info v = { 0 };
    gp_pool_desc d = desc_of_bytes(64, GP_LAYOUT_NHWC, GP_POOL_MAX);
    if (gp_select_variant(&d, GP_PASS_BACKWARD, &v) != GP_OK)
        return 1;
    gp_isa want = gp_cpu_has_native(GP_ISA_AVX2) ? GP_ISA_AVX2 : GP_ISA_SCALAR;
    if (v.isa != want || gp_cpu_has(GP_ISA_AVX512))
        return 2;
    return 0;
}

static int child_expect_scalar(void)
{
    gp_variant_info v = { 0 };
    gp_pool_desc d = desc_of_bytes(64, GP_LAYOUT_NCHW, GP_POOL_AVG);
    if (gp_select_variant(&d, GP_PASS_FORWARD, &v) != GP_OK)
        return 1;
    return v.isa == GP_ISA_SCALAR && !gp_cpu_has(GP_ISA_AVX2) ? 0 : 2;
}

static int child_expect_forced_avx2(void)
{
    if (!gp_cpu_has_native(GP_ISA_AVX2))
        return 0;
    gp_variant_info v = { 0 };
    gp_pool_desc d = desc_of_bytes(1 << 24, GP_LAYOUT_NHWC, GP_POOL_AVG);
    if (gp_select_variant(&d, GP_PASS_FORWARD, &v) != GP_OK)
        return 1;
    return strcmp(v.name, "avx2") ? 2 : 0;
}

static int child_expect_unknown_forced(void)
{
    gp_pool_desc d = desc_of_bytes(64, GP_LAYOUT_NCHW, GP_POOL_MAX);
    float x[16] = { 3 }, y[1];
    if (gp_global_pool_forward(&d, "auto", x, y) != GP_ERR_ENV)
        return 1;
    return strstr(gp_last_error(), "GPOOL_VARIANT") && strstr(gp_last_error(), "sse9") ? 0 : 2;
}

/* These come first: the parent must not have initialised the library. */
static void env_cpu_mask_bad_value_is_an_error(void **state)
{
    assert_int_equal(run_in_child_with_env("GPOOL_CPU_MASK", "avx2,bogus", child_expect_env_error), 0);
}

static void env_cpu_mask_hides_avx512(void **state)
{
    assert_int_equal(run_in_child_with_env("GPOOL_CPU_MASK", "avx512", child_expect_avx2_or_less), 0);
}

static void env_cpu_mask_avx2_hides_both(void **state)
{
    assert_int_equal(run_in_child_with_env("GPOOL_CPU_MASK", "avx2", child_expect_scalar), 0);
}

static void env_variant_forces_by_name(void **state)
{
    assert_int_equal(run_in_child_with_env("GPOOL_VARIANT", "avx2", child_expect_forced_avx2), 0);
}

static void env_variant_unknown_is_an_error(void **state)
{
    assert_int_equal(run_in_child_with_env("GPOOL_VARIANT", "sse9", child_expect_unknown_forced), 0);
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static void auto_picks_widest_isa_per_mask(void **state)
{
    static const unsigned masks[] = { 0, GP_CPU_MASK_AVX512, GP_CPU_MASK_AVX2 };
    set_threads(1);
    for (size_t m = 0; m < 3; m++) {
        assert_int_equal(gp_set_cpu_mask(masks[m]), GP_OK);
        gp_isa want = widest_native();
        if (masks[m] & GP_CPU_MASK_AVX2) want = GP_ISA_SCALAR;
        else if ((masks[m] & GP_CPU_MASK_AVX512) && want == GP_ISA_AVX512) want = GP_ISA_AVX2;
        for (int op = 0; op < 2; op++)
            for (int layout = 0; layout < 2; layout++) {
                gp_variant_info v;
                gp_pool_desc d = desc_of_bytes(4096, (gp_layout)layout, (gp_pool_op)op);
                assert_int_equal(gp_select_variant(&d, GP_PASS_FORWARD, &v), GP_OK);
                assert_int_equal(v.isa, want);
                assert_int_equal(v.op, op);
                assert_int_equal(v.layout, layout);
                assert_true(v.available);
            }
    }
    assert_int_equal(gp_set_cpu_mask(0), GP_OK);
}

/* Floats in an offload of exactly GP_THREAD_MIN_OFFLOAD_BYTES. */
#define T_FLOATS (GP_THREAD_MIN_OFFLOAD_BYTES / sizeof(float))

static void threads_only_when_the_cut_offloads_enough(void **state)
{
    if (!gp_have_openmp())
        skip();
    set_threads(2);
    /* two planes: the second thread takes one */
    assert_false(threaded_for(1, 2, 1, T_FLOATS - 1, GP_LAYOUT_NCHW));
    assert_true(threaded_for(1, 2, 1, T_FLOATS, GP_LAYOUT_NCHW));
    /* three planes: two stay on the first thread, whatever the total */
    assert_false(threaded_for(1, 3, 1, T_FLOATS - 1, GP_LAYOUT_NCHW));
    assert_true(threaded_for(1, 3, 1, T_FLOATS, GP_LAYOUT_NCHW));
    /* one plane, or one NHWC image of too few channels, cannot be cut */
    assert_false(threaded_for(1, 1, 64, T_FLOATS, GP_LAYOUT_NCHW));
    assert_false(threaded_for(1, 3, 64, T_FLOATS, GP_LAYOUT_NHWC));
    /* one NHWC image of 48 channels: slices of 32 and 16 channels */
    assert_false(threaded_for(1, 48, 1, T_FLOATS / 16 - 1, GP_LAYOUT_NHWC));
    assert_true(threaded_for(1, 48, 1, T_FLOATS / 16, GP_LAYOUT_NHWC));
    /* three NHWC images of 8 channels: whole images, two and one */
    assert_false(threaded_for(3, 8, 1, T_FLOATS / 8 - 1, GP_LAYOUT_NHWC));
    assert_true(threaded_for(3, 8, 1, T_FLOATS / 8, GP_LAYOUT_NHWC));
    set_threads(1);
    assert_false(threaded_for(64, 64, 64, 64, GP_LAYOUT_NCHW));
    assert_false(threaded_for(64, 64, 64, 64, GP_LAYOUT_NHWC));
}

static void every_name_has_all_ops_and_layouts(void **state)
{
    size_t count = gp_variant_count();
    assert_true(count >= 8);
    for (size_t i = 0; i < count; i++) {
        gp_variant_info a;
        assert_int_equal(gp_variant_get(i, &a), GP_OK);
        int seen = 0;
        for (size_t j = 0; j < count; j++) {
            gp_variant_info b;
            assert_int_equal(gp_variant_get(j, &b), GP_OK);
            if (strcmp(a.name, b.name)) continue;
            assert_int_equal(a.isa, b.isa);
            assert_int_equal(a.threaded, b.threaded);
            seen |= 1 << (b.op * 2 + b.layout);
        }
        /* avg and max in both layouts; topk and the adaptive pools in NCHW */
        assert_int_equal(seen, 0xf | 1 << (GP_POOL_TOPK * 2) | 1 << (GP_POOL_ADAPTIVE_AVG * 2) |
                                   1 << (GP_POOL_ADAPTIVE_MAX * 2));
        assert_int_equal(!!strstr(a.name, "_omp"), a.threaded);
        assert_string_equal(strncmp(a.name, gp_isa_name(a.isa), strlen(gp_isa_name(a.isa))) ? "" : "ok", "ok");
    }
    gp_variant_info v;
    assert_int_equal(gp_variant_get(count, &v), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "out of range"));
    /* a valid index with nowhere to write: the NULL is the mistake */
    assert_int_equal(gp_variant_get(0, NULL), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "out is NULL"));
    assert_null(strstr(gp_last_error(), "range"));
}

static void force_by_api_and_clear(void **state)
{
    set_threads(1);
    assert_int_equal(gp_force_variant("scalar"), GP_OK);
    assert_string_equal(select_for(1 << 24).name, "scalar");
    float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, y[1];
    gp_pool_desc d = { .n = 1, .c = 1, .h = 2, .w = 4, .layout = GP_LAYOUT_NCHW, .op = GP_POOL_AVG };
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_OK);
    assert_true(y[0] == 4.5f);
    assert_int_equal(gp_force_variant(NULL), GP_OK);
    assert_int_equal(select_for(4096).isa, widest_native());
    assert_int_equal(gp_force_variant("no_such_variant"), GP_ERR_NOTFOUND);
    assert_non_null(strstr(gp_last_error(), "no_such_variant"));
}

static void forcing_a_hidden_isa_is_a_clear_error(void **state)
{
    if (!gp_cpu_has_native(GP_ISA_AVX512))
        skip();
    assert_int_equal(gp_set_cpu_mask(GP_CPU_MASK_AVX512), GP_OK);
    assert_int_equal(gp_force_variant("avx512"), GP_ERR_UNSUPPORTED);
    assert_non_null(strstr(gp_last_error(), "avx512"));
    gp_pool_desc d = desc_of_bytes(64, GP_LAYOUT_NHWC, GP_POOL_MAX);
    float x[16] = { 1 }, y[1];
    assert_int_equal(gp_global_pool_forward(&d, "avx512_omp", x, y), GP_ERR_UNSUPPORTED);
    assert_non_null(strstr(gp_last_error(), "avx512"));
    gp_variant_info v;
    for (size_t i = 0; i < gp_variant_count(); i++) {
        assert_int_equal(gp_variant_get(i, &v), GP_OK);
        if (v.isa == GP_ISA_AVX512) assert_false(v.available);
    }
    assert_int_equal(gp_set_cpu_mask(0), GP_OK);
    assert_int_equal(gp_force_variant("avx512"), GP_OK);
    assert_int_equal(gp_force_variant(NULL), GP_OK);
}

static void bad_arguments_are_reported(void **state)
{
    float x[4] = { 1, 2, 3, 4 }, y[1];
    gp_pool_desc d = { .n = 1, .c = 1, .h = 2, .w = 2, .layout = GP_LAYOUT_NCHW, .op = GP_POOL_MAX };
    gp_variant_info v;
    assert_int_equal(gp_global_pool_forward(NULL, NULL, x, y), GP_ERR_ARG);
    assert_true(strlen(gp_last_error()) > 0);
    assert_int_equal(gp_global_pool_backward(&d, NULL, NULL, y, x), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "x"));
    d.w = 0;
    assert_int_equal(gp_select_variant(&d, GP_PASS_FORWARD, &v), GP_ERR_ARG);
    d.w = 2;
    assert_int_equal(gp_select_variant(&d, (gp_pass)2, &v), GP_ERR_ARG);
    assert_non_null(strstr(gp_last_error(), "unknown pass 2"));
    assert_int_equal(gp_select_variant(&d, (gp_pass)-1, &v), GP_ERR_ARG);
    assert_int_equal(gp_select_variant(&d, GP_PASS_BACKWARD, &v), GP_OK);
    d.layout = (gp_layout)7;
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    d.layout = GP_LAYOUT_NCHW;
    d.n = SIZE_MAX / 2;
    assert_int_equal(gp_global_pool_forward(&d, NULL, x, y), GP_ERR_ARG);
    assert_int_equal(gp_set_cpu_mask(1u << 9), GP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_cpu_mask_bad_value_is_an_error),
        cmocka_unit_test(env_cpu_mask_hides_avx512),
        cmocka_unit_test(env_cpu_mask_avx2_hides_both),
        cmocka_unit_test(env_variant_forces_by_name),
        cmocka_unit_test(env_variant_unknown_is_an_error),
        cmocka_unit_test(auto_picks_widest_isa_per_mask),
        cmocka_unit_test(threads_only_when_the_cut_offloads_enough),
        cmocka_unit_test(every_name_has_all_ops_and_layouts),
        cmocka_unit_test(force_by_api_and_clear),
        cmocka_unit_test(forcing_a_hidden_isa_is_a_clear_error),
        cmocka_unit_test(bad_arguments_are_reported),
    };
    return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
