/*
 * cpuwait.c - waits for a CPU from schedstat (see cpuwait.h).
 */
#include "autoconfig.h"

#include "probe/cpuwait.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* On a 2-core machine another process costs a 2-thread row a scheduler
 * slice per call, which this sees exactly, unlike the tick-sampled CPU
 * times of /proc/stat. */
double gpx_process_cpu_wait_s(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return NAN;
    double total = 0;
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        unsigned long long run_ns, wait_ns;
        if (fscanf(fp, "%llu %llu", &run_ns, &wait_ns) == 2) {
            total += (double)wait_ns * 1e-9;
            seen = 1;
        }
        fclose(fp);
    }
    closedir(dir);
    return seen ? total : NAN;
}

void gpx_thread_clock_open(gpx_thread_clock *c)
{
    c->fd = open("/proc/thread-self/schedstat", O_RDONLY);
}

void gpx_thread_clock_close(gpx_thread_clock *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* The run_delay field, by pread on the open file: no open per reading. */
double gpx_thread_wait_s(const gpx_thread_clock *c)
{
    char buf[128];
    unsigned long long run, delay;
    ssize_t got = c->fd >= 0 ? pread(c->fd, buf, sizeof buf - 1, 0) : -1;
    if (got <= 0)
        return 0;
    buf[got] = '\0';
    return sscanf(buf, "%llu %llu", &run, &delay) == 2 ? (double)delay * 1e-9 : 0;
}

int gpx_samples_alloc(gpx_samples *p, int n)
{
    p->wall = calloc((size_t)n, sizeof *p->wall);
    p->busy = calloc((size_t)n, sizeof *p->busy);
    return p->wall && p->busy ? 0 : -1;
}

void gpx_samples_free(gpx_samples *p)
{
    free(p->wall);
    free(p->busy);
    p->wall = p->busy = NULL;
}
