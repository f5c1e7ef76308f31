/*
 * buffers.c - buffer sets for hot and cold measurements (see buffers.h).
 */
#include "autoconfig.h"

#include "probe/buffers.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "util/util.h"

void gpx_buffer_set_free(gpx_buffer_set *s)
{
    free(s->slab);
    free(s->ptr);
    memset(s, 0, sizeof *s);
}

int gpx_buffer_set_alloc(gpx_buffer_set *s, size_t nbufs, size_t n)
{
    size_t bytes = n * sizeof(float);
    size_t align = bytes >= 4096 ? 4096 : 64;
    size_t stride = (bytes + align - 1) / align * align;
    memset(s, 0, sizeof *s);
    void *slab = NULL;
    if (posix_memalign(&slab, 4096, stride * nbufs) != 0)
        return -1;
    s->slab = slab;
    s->ptr = calloc(nbufs, sizeof *s->ptr);
    if (!s->ptr) {
        gpx_buffer_set_free(s);
        return -1;
    }
    for (size_t k = 0; k < nbufs; k++)
        s->ptr[k] = (float *)((char *)slab + k * stride);
    s->nbufs = nbufs;
    s->n = n;
    return 0;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1], never zero (an odd integer times 2^-31), no denormals. */
static float nonzero_uniform(uint64_t *state)
{
    int32_t r = (int32_t)(splitmix64(state) >> 32) | 1;
    return (float)r * 0x1p-31f;
}

static int fill_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

void gpx_buffer_set_fill(gpx_buffer_set *s, uint64_t seed, int random)
{
    long nbufs = (long)s->nbufs;
    int nt = fill_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
#endif
    for (long k = 0; k < nbufs; k++) {
        float *p = s->ptr[k];
        if (!random) {
            memset(p, 0, s->n * sizeof *p);
            continue;
        }
        uint64_t state = seed * 0x100000001b3ull + (uint64_t)k;
        for (size_t i = 0; i < s->n; i++)
            p[i] = nonzero_uniform(&state);
    }
}

size_t gpx_cold_bytes_default(void)
{
    return 3 * gpx_l3_bytes(NULL);
}

size_t gpx_cold_rotation(size_t cold_bytes, size_t buffer_bytes)
{
    size_t nbufs = cold_bytes / buffer_bytes + 1;
    return nbufs < 2 ? 2 : nbufs;
}
