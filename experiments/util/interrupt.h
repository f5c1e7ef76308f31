/*
 * interrupt.h - Ctrl-C (SIGINT) and SIGTERM sent to a command's handler
 * while it works, and the previous handlers put back when it is done. The
 * handler sets the command's flag; the command stops at its next check and
 * writes nothing half-done.
 */
#ifndef GPOOL_EXPERIMENTS_UTIL_INTERRUPT_H
#define GPOOL_EXPERIMENTS_UTIL_INTERRUPT_H

#include <signal.h>

/* The handlers there were before. */
typedef struct {
    struct sigaction old_int, old_term;
} gpx_interrupts;

/* Send SIGINT and SIGTERM to handler. once: only the first (a second
 * Ctrl-C kills at once). */
void gpx_interrupts_catch  (gpx_interrupts *s, void (*handler)(int sig), int once);
void gpx_interrupts_restore(const gpx_interrupts *s);

#endif /* GPOOL_EXPERIMENTS_UTIL_INTERRUPT_H */
