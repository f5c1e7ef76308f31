/*
 * cpuwait.h - how long threads waited for a CPU that another process held,
 * from the kernel's schedstat run delay (runnable, not running), to tell a
 * measurement the machine disturbed from one it did not:
 *   - gpool bench sums it over the process's threads around a row, and
 *     measures the row again when they waited too long;
 *   - gpool profile takes the timing thread's waits out of every interval
 *     it times (gpx_interval_*), so that a 10 ms step, which loses a time
 *     slice on a busy machine nearly every time, stays comparable with the
 *     0.1 ms layer calls, which rarely do.
 * Only the calling thread's waits are exact for an interval: it is running
 * when it reads them, and it is on the critical path of every call. A
 * worker's run delay is counted only when it next runs, possibly in a later
 * interval, and its waits while parked at a barrier delay nothing.
 */
#ifndef GPOOL_EXPERIMENTS_PROBE_CPUWAIT_H
#define GPOOL_EXPERIMENTS_PROBE_CPUWAIT_H

#include "util/util.h"

/* Seconds that this process's threads have spent runnable but waiting for
 * a CPU (summed over threads); NAN where the kernel does not keep it. */
double gpx_process_cpu_wait_s(void);

/* The calling thread's run delay, read at will (its file stays open). */
typedef struct {
    int fd;   /* /proc/thread-self/schedstat, or -1 */
} gpx_thread_clock;

/* Open it on the calling thread (which must be the one that reads it). */
void   gpx_thread_clock_open (gpx_thread_clock *c);
void   gpx_thread_clock_close(gpx_thread_clock *c);
/* Seconds the thread has waited for a CPU so far; 0 where the kernel does
 * not say (the times are then plain wall clock). */
double gpx_thread_wait_s     (const gpx_thread_clock *c);

/* Samples of one timed thing, in seconds: wall clock, and wall clock less
 * the timing thread's waits for a CPU. */
typedef struct {
    double *wall, *busy;
} gpx_samples;

/* Room for n samples, zeroed. 0, or -1 when out of memory. */
int    gpx_samples_alloc(gpx_samples *p, int n);
void   gpx_samples_free (gpx_samples *p);

/* One timed interval. Inline, so that the clock reads are all that the
 * interval adds to what it times. */
typedef struct {
    double t0, w0;
} gpx_interval;

static inline void gpx_interval_start(const gpx_thread_clock *c, gpx_interval *iv)
{
    iv->w0 = gpx_thread_wait_s(c);
    iv->t0 = gpx_now();
}

/* The interval as sample r of p. */
static inline void gpx_interval_stop(const gpx_thread_clock *c, const gpx_interval *iv,
                                     gpx_samples *p, int r)
{
    double wall = gpx_now() - iv->t0;
    double waited = gpx_thread_wait_s(c) - iv->w0;
    p->wall[r] = wall;
    /* Waits that cover the whole interval leave nothing to measure (the
     * scheduler's clock and ours also differ by a little): keep the wall
     * clock, an upper bound, rather than a zero; a median shrugs it off. */
    p->busy[r] = waited < wall ? wall - waited : wall;
}

#endif /* GPOOL_EXPERIMENTS_PROBE_CPUWAIT_H */
