/*
 * buffers.h - the buffers a measurement streams through: a set of equal
 * buffers carved from one allocation, used hot (buffer 0 again and again,
 * cache-resident if it fits) or cold (a rotation, call by call, over
 * buffers that total more than the caches, so each was last touched a
 * whole rotation ago).
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_BUFFERS_H
#define GPOOL_EXPERIMENTS_PROBE_BUFFERS_H

#include <stddef.h>
#include <stdint.h>

/* nbufs buffers of n floats each. */
typedef struct {
    float  *slab;
    float **ptr;
    size_t  nbufs, n;
} gpx_buffer_set;

/* nbufs buffers of n floats; page-aligned strides for big buffers (so the
 * shares of threads splitting one are 64-byte aligned), cache-line strides
 * for small ones. 0, or -1 when out of memory (s then empty). */
int    gpx_buffer_set_alloc(gpx_buffer_set *s, size_t nbufs, size_t n);

/* Random data in [-1, 1], never zero and never denormal, from seed (each
 * buffer its own stream); or zeros when random is 0 (outputs: touching them
 * now keeps page faults out of what is timed). Parallel over buffers. */
void   gpx_buffer_set_fill (gpx_buffer_set *s, uint64_t seed, int random);

void   gpx_buffer_set_free (gpx_buffer_set *s);

/* The bytes a cold rotation covers by default: "more than three times the
 * L3", three L3s (the rotation adds a buffer). */
size_t gpx_cold_bytes_default(void);

/* Buffers of buffer_bytes each in a cold rotation over more than
 * cold_bytes: at least 2. */
size_t gpx_cold_rotation(size_t cold_bytes, size_t buffer_bytes);

#endif /* GPOOL_EXPERIMENTS_PROBE_BUFFERS_H */
