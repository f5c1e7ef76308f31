/* conv_avx2.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_conv_avx2;
