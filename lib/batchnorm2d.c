/* batchnorm2d.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_batchnorm2d;
