/* conv_avx512.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_conv_avx512;
