/*
 * interrupt.c - a command's SIGINT and SIGTERM handler (see interrupt.h).
 */
#include "autoconfig.h"

#include "util/interrupt.h"

#include <string.h>

void gpx_interrupts_catch(gpx_interrupts *s, void (*handler)(int sig), int once)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = once ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
}

void gpx_interrupts_restore(const gpx_interrupts *s)
{
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
}
