/* decimal.c - floats as the decimals their writers meant. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "gpi.h"

void gpi_format_float(char *buf, size_t cap, float v)
{
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, cap, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

double gpi_float_decimal(float v)
{
    char text[32];
    gpi_format_float(text, sizeof text, v);
    return strtod(text, NULL);
}
