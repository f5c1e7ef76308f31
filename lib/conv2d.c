/* conv2d.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_conv2d;
