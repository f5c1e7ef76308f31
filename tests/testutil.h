/*
 * testutil.h - shared helpers for the cmocka tests: a seeded generator whose
 * seed is fresh per run (or GPOOL_TEST_SEED) and printed on failure.
 */
#ifndef GPOOL_TESTUTIL_H
#define GPOOL_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* splitmix64: small, fast, good enough for test data */
static uint64_t tu_state;

static inline uint64_t tu_next(void)
{
    uint64_t z = (tu_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static inline float tu_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)((tu_next() >> 40) * (1.0 / 16777216.0));
}

/* count floats uniform in [-1, 1), or NULL when malloc fails. */
static inline float *tu_random_floats(size_t count)
{
    float *v = (float *)malloc(count * sizeof *v);
    for (size_t i = 0; v && i < count; i++)
        v[i] = tu_uniform(-1.0f, 1.0f);
    return v;
}

/* Seed from GPOOL_TEST_SEED, else from time and pid; returns the seed so a
 * failing test can print it ("rerun with GPOOL_TEST_SEED=..."). */
static inline uint64_t tu_seed(void)
{
    const char *env = getenv("GPOOL_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0)
                        : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    tu_state = seed;
    return seed;
}

/* The seed drawn (tu_seed), printed for test_<test> so that a failure can
 * be rerun with it. */
static inline uint64_t tu_seed_announce(const char *test)
{
    uint64_t seed = tu_seed();
    fprintf(stderr, "# test_%s seed %llu (rerun with GPOOL_TEST_SEED=%llu)\n", test,
            (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

/* The seed drawn and printed for test (tu_seed_announce), and a fresh
 * directory /tmp/gpool-test-<test>-XXXXXX in dir: 0, or -1 (cmocka's group
 * setup). */
static inline int tu_group_setup(const char *test, uint64_t *seed, char *dir, size_t cap)
{
    *seed = tu_seed_announce(test);
    snprintf(dir, cap, "/tmp/gpool-test-%s-XXXXXX", test);
    return mkdtemp(dir) ? 0 : -1;
}

/* Remove what tu_group_setup made: 0, or -1. */
static inline int tu_group_teardown(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif /* GPOOL_TESTUTIL_H */
