/* error.c - per-thread error messages: the library reports, the caller decides. */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>

#include "gpi.h"

#define GPI_ERROR_LEN 512

static _Thread_local char gpi_error_text[GPI_ERROR_LEN];

gp_status gpi_fail(gp_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gpi_error_text, sizeof gpi_error_text, fmt, ap);
    va_end(ap);
    return status;
}

void gpi_clear_error(void)
{
    gpi_error_text[0] = '\0';
}

const char *gp_last_error(void)
{
    return gpi_error_text;
}

const char *gp_version(void)
{
    return PACKAGE_VERSION;
}
