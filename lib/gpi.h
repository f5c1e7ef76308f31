/*
 * gpi.h - internals shared by the library's own files (not installed).
 * Names are gpi_ so that the export filter (^gp_) keeps them private.
 */
#ifndef GPI_H
#define GPI_H

#include <stddef.h>

#include "gpool.h"

/* Record a printf-style message for gp_last_error() and return status. */
gp_status gpi_fail(gp_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clear the thread's last error (successful calls leave "" behind). */
void gpi_clear_error(void);

/* Instruction sets the CPU has natively, as GP_CPU_MASK_* bits (detected once). */
unsigned gpi_cpu_native(void);

/* Instruction sets hidden by gp_set_cpu_mask() or GPOOL_CPU_MASK.
 * Returns GP_OK, or GP_ERR_ENV when GPOOL_CPU_MASK cannot be parsed. */
gp_status gpi_cpu_hidden(unsigned *hidden);

/* The shortest decimal (at most 9 significant digits) that reads back as v,
 * "0.9" rather than "0.899999976", into buf (decimal.c). */
void gpi_format_float(char *buf, size_t cap, float v);

/* That decimal as a double: the number a caller who wrote the float meant,
 * as PyTorch takes hyper-parameters as Python floats (0.9, not 0.9f). */
double gpi_float_decimal(float v);

#endif /* GPI_H */
