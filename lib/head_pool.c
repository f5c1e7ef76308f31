/* head_pool.c - placeholder while it is written */
#include "autoconfig.h"
typedef int gpi_placeholder_head_pool;
