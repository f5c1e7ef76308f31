/* placeholder while it is written */
#include "autoconfig.h"
typedef int gpx_placeholder_train;
