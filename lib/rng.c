/* rng.c - xoshiro256** seeded by splitmix64: one reproducible stream per seed. */
#include "autoconfig.h"

#include <math.h>

#include "gpool_nn.h"

static uint64_t gpi_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t gpi_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void gp_rng_seed(gp_rng *rng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = gpi_splitmix64(&state);
}

uint64_t gp_rng_next(gp_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = gpi_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gpi_rotl(s[3], 45);
    return result;
}

/* 24 random bits: every float in [0, 1) this yields is exact. */
static float gpi_unit_float(gp_rng *rng)
{
    return (float)(gp_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

float gp_rng_uniform(gp_rng *rng, float lo, float hi)
{
    float u = lo + (hi - lo) * gpi_unit_float(rng);
    return u < hi ? u : lo;   /* rounding of lo + (hi-lo)u can reach hi */
}

double gp_rng_normal(gp_rng *rng)
{
    /* 53-bit uniform in (0, 1] so log() never sees 0 */
    double u1 = ((double)(gp_rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(gp_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t gp_rng_below(gp_rng *rng, uint64_t bound)
{
    if (bound <= 1)
        return 0;
    /* reject the top partial copy of [0, bound) so every value is equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = gp_rng_next(rng);
    while (r >= limit);
    return r % bound;
}

void gp_rng_shuffle(gp_rng *rng, int *idx, size_t count)
{
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)gp_rng_below(rng, i);
        int t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
