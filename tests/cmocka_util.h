/*
 * cmocka_util.h - what the cmocka tests of layers share: the test file's
 * seed, printed with every failure so it can be rerun, and allocations that
 * assert they succeeded. Include after <cmocka.h> and testutil.h; the file's
 * main sets seed (tu_seed or tu_group_setup).
 */
#ifndef GPOOL_CMOCKA_UTIL_H
#define GPOOL_CMOCKA_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t seed;

#define FAILF(fmt, ...)                                                         \
    fail_msg(fmt " (seed %llu: rerun with GPOOL_TEST_SEED=%llu)", __VA_ARGS__,  \
             (unsigned long long)seed, (unsigned long long)seed)

/* count floats, every one NaN, so that an output a kernel forgot to write
 * fails the comparison instead of passing by luck */
static inline float *falloc_nan(size_t count)
{
    float *p = malloc((count ? count : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < count; i++)
        p[i] = NAN;
    return p;
}

/* count doubles, zeroed: accumulators of the double-precision references */
static inline double *dalloc(size_t count)
{
    double *p = calloc(count ? count : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

#endif /* GPOOL_CMOCKA_UTIL_H */
