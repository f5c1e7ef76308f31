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

#endif /* GPOOL_TESTUTIL_H */
