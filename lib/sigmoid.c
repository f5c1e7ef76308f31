/* sigmoid.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_sigmoid;
